"""Guessing and probing session codes: one shared limit on every route that takes a code, draft and
closed sessions that answer like unknown codes, and limits that count once across worker processes."""
from __future__ import annotations

import re

import pytest

from listening import live_state
from listening.live_state import state_responses
from listening import queries, security
from listening.db import connect
from tests.conftest import migrated_app, page, submit, text_of
from tests.factories import make_session

UNKNOWN = "ZZZZ99"


def code_urls(code: str) -> list[str]:
    """Return one URL of every resident route that takes a session code."""
    return [f"/j/{code}", f"/?code={code}", f"/s/{code}/consent", f"/s/{code}/q/1", f"/s/{code}/live",
            f"/s/{code}/thanks", f"/s/{code}/state.json", f"/s/{code}/results"]


@pytest.fixture
def limited_app(tmp_path):
    """An app with rate limits on (counters in the default SQLite file) and a small code-guessing limit."""
    return migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True, UNKNOWN_CODE_LIMIT="8/minute")


@pytest.fixture
def limited_db(limited_app):
    """A connection to the rate-limited app's database."""
    conn = connect(limited_app.config["DATABASE"])
    yield conn
    conn.conn.close()


def test_every_route_that_takes_a_code_is_under_the_guessing_limit(app):
    """Every endpoint whose URL holds a <code>, and the start page's code form, shares the guessing limit."""
    with_code = {rule.endpoint for rule in app.url_map.iter_rules() if "code" in rule.arguments}
    assert {"listening.join", "listening.consent", "listening.answer", "listening.live", "listening.thanks",
            "listening.live_state", "results.page"} <= with_code
    assert set(security.code_endpoints(app)) == with_code | {"listening.index"}


def test_misses_on_every_code_route_count_against_one_limit(limited_app):
    """Eight unknown codes, one on each code route, use up the shared limit: the ninth, anywhere, gets 429."""
    client = limited_app.test_client()
    statuses = [client.get(code_urls(f"ZZZZ8{i}")[i]).status_code for i in range(8)]
    assert statuses == [404] * 8
    assert client.get("/j/ZZZZ98").status_code == 429
    assert client.get("/s/ZZZZ98/state.json").status_code == 429
    elsewhere = limited_app.test_client()
    assert elsewhere.get("/j/ZZZZ98", environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 404


def test_draft_and_closed_codes_count_as_misses(limited_app, limited_db):
    """Probing a draft or closed code uses up the limit exactly as an unknown one does."""
    codes = [make_session(limited_db, status="draft")["code"] for _ in range(4)]
    codes += [make_session(limited_db, status="closed")["code"] for _ in range(4)]
    client = limited_app.test_client()
    statuses = [client.get(code_urls(code)[i]).status_code for i, code in enumerate(codes)]
    assert statuses == [404] * 8
    assert client.get(f"/j/{codes[-1]}").status_code == 429


def test_real_codes_are_not_counted(limited_app, limited_db):
    """A room typing a real, open code many times never meets the guessing limit."""
    session = make_session(limited_db)
    client = limited_app.test_client()
    assert all(client.get(f"/j/{session['code']}").status_code == 200 for _ in range(20))
    assert all(client.get(f"/?code={session['code']}").status_code == 302 for _ in range(20))
    assert client.get(f"/j/{UNKNOWN}").status_code == 404


def test_a_hall_scanning_a_code_before_the_session_opens_is_not_locked_out(limited_app, limited_db):
    """Forty phones behind one address scanning a draft session's code, again and again on every code
    route, spend one miss between them; once the facilitator opens the session they all join (phones with
    no cookie yet share the address's limit, not one device counter that eighty scans would exhaust)."""
    session = make_session(limited_db, status="draft")
    hall = [limited_app.test_client() for _ in range(40)]
    statuses = {phone.get(url).status_code for phone in hall for url in code_urls(session["code"])[:3]}
    assert statuses == {404}
    queries.set_status(limited_db, session["id"], "open")
    assert {phone.get(f"/j/{session['code']}").status_code for phone in hall} == {200}


def test_a_guesser_spends_the_limit_on_new_codes_however_often_one_repeats(limited_app):
    """The same unknown code twenty times counts once (in any spelling); seven new codes then use up the
    limit of eight, and the next new code is refused."""
    client = limited_app.test_client()
    assert {client.get(f"/j/{UNKNOWN}").status_code for _ in range(10)} == {404}
    assert {client.get(f"/?code={UNKNOWN.lower()}").status_code for _ in range(10)} == {404}
    assert [client.get(f"/j/ZZZZ7{i}").status_code for i in range(7)] == [404] * 7
    assert client.get("/j/ZZZZ79").status_code == 429


def normalised(response, code: str) -> tuple:
    """Return what a response tells its reader, with the code it was asked about blanked out."""
    body = response.get_data(as_text=True).replace(code, "CODE").replace(code.lower(), "CODE")
    body = re.sub(r'name="csrf_token" [^>]*value="[^"]*"', 'name="csrf_token"', body)
    headers = sorted((k, v.replace(code, "CODE")) for k, v in response.headers.items()
                     if k not in ("Date", "Content-Length", "Set-Cookie", "Vary"))
    return response.status_code, body, headers, bool(response.headers.get("Set-Cookie"))


@pytest.mark.parametrize("status", ["draft", "closed"])
def test_draft_and_closed_codes_answer_exactly_as_unknown_ones(app, db, status):
    """On every code route, a draft or closed session's code gets the same status, page and headers as an unknown code."""
    session = make_session(db, status=status, languages=("es", "en"))
    for hidden_url, unknown_url in zip(code_urls(session["code"]), code_urls(UNKNOWN)):
        hidden = normalised(app.test_client().get(hidden_url), session["code"])
        unknown = normalised(app.test_client().get(unknown_url), UNKNOWN)
        assert hidden == unknown, hidden_url
        assert hidden[0] == 404, hidden_url


def test_the_unknown_code_page_helps_someone_who_came_early(client):
    """The one page for unknown, draft and closed codes says to check the code or come back when it starts."""
    response = client.get(f"/j/{UNKNOWN}?lang=es")
    assert response.status_code == 404
    assert page(response).find("html")["lang"] == "es"
    assert "no ha comenzado" in text_of(response)
    start = client.get(f"/?code={UNKNOWN}&lang=en")
    field = page(start).find("input", attrs={"name": "code"})
    messages = [page(start).find(id=name).get_text() for name in field["aria-describedby"].split()]
    assert any("has not started yet" in message for message in messages)


def test_a_resident_who_took_part_still_learns_their_session_ended(app, db):
    """After the session closes, a phone that took part is thanked and told it ended, and sees its state; others get 404 and no cached state."""
    session = make_session(db, mode="live")
    phone = app.test_client()
    submit(phone, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    assert phone.get(f"/s/{session['code']}/state.json").status_code == 200
    queries.set_status(db, session["id"], "closed")
    state_responses(app).forget(session["code"])
    ended = phone.get(f"/s/{session['code']}/live")
    assert ended.status_code == 410
    assert page(ended).find("h1").get_text() == "Thank you for taking part"
    assert "ended" in page(ended).find("h1").find_next("p").get_text()
    state = phone.get(f"/s/{session['code']}/state.json")
    assert state.status_code == 200 and state.get_json()["status"] == "closed"
    assert "private" in state.headers["Cache-Control"]
    stranger = app.test_client()
    assert stranger.get(f"/s/{session['code']}/state.json").status_code == 404
    assert stranger.get(f"/j/{session['code']}").status_code == 404
    assert phone.get(f"/j/{session['code']}").status_code == 410


def test_an_open_sessions_state_is_still_shared_by_the_cache(app, db):
    """An open session's state is served from the per-worker cache to every phone, as before."""
    session = make_session(db, mode="live")
    first = app.test_client().get(f"/s/{session['code']}/state.json")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache"
    assert session["code"] in state_responses(app).cache


def test_phones_that_took_part_are_never_refused_by_the_guessing_limit(limited_app, limited_db):
    """A hall that used up the guessing limit still follows and answers its own session."""
    session = make_session(limited_db, mode="live")
    phone = limited_app.test_client()
    submit(phone, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    guesser = limited_app.test_client()
    for n in range(8):
        guesser.get(f"/j/ZZZZ{n:02d}")
    assert guesser.get(f"/j/{session['code']}").status_code == 429
    queries.set_status(limited_db, session["id"], "closed")
    for _ in range(12):
        assert phone.get(f"/s/{session['code']}/state.json").status_code == 200
        assert phone.get(f"/s/{session['code']}/live").status_code == 410


def test_the_results_page_of_a_closed_published_session_still_shows(client, db):
    """Closing a session does not hide the results page its team published; unpublishing does."""
    from analysis.review import queries as synthesis

    session = make_session(db, status="closed")
    synthesis.save_settings(db, session["id"], published=True, published_by=None)
    assert client.get(f"/s/{session['code']}/results").status_code == 200
    synthesis.save_settings(db, session["id"], published=False, published_by=None)
    assert client.get(f"/s/{session['code']}/results").status_code == 404


def test_state_for_unknown_draft_and_closed_codes_is_the_same_404(client, db):
    """state.json says nothing about a draft or closed session: the same JSON 404 as an unknown code."""
    draft = make_session(db, status="draft", mode="live")
    closed = make_session(db, status="closed", mode="live")
    answers = [client.get(f"/s/{code}/state.json") for code in (UNKNOWN, draft["code"], closed["code"])]
    assert {(r.status_code, r.get_data(as_text=True)) for r in answers} == {(404, answers[0].get_data(as_text=True))}
    assert live_state.live_state(db, draft["code"])["status"] == "draft"  # the data is there, just not told


def test_limits_count_once_across_worker_processes(tmp_path):
    """Two app instances on one database (as two gunicorn workers are) share one guessing count."""
    first = migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True, UNKNOWN_CODE_LIMIT="6/minute")
    second = migrated_app(tmp_path / "t.db", RATELIMIT_ENABLED=True, UNKNOWN_CODE_LIMIT="6/minute")
    clients = [first.test_client(), second.test_client()]
    statuses = [clients[n % 2].get(f"/j/ZZZZ{n:02d}").status_code for n in range(7)]
    assert statuses == [404] * 6 + [429]
    assert (tmp_path / "t-ratelimits.db").is_file()


def test_memory_storage_would_count_each_worker_alone(tmp_path):
    """The reason for the default: with memory:// two workers each allow the whole limit."""
    config = {"RATELIMIT_ENABLED": True, "UNKNOWN_CODE_LIMIT": "6/minute", "RATELIMIT_STORAGE": "memory://"}
    first, second = migrated_app(tmp_path / "t.db", **config), migrated_app(tmp_path / "t.db", **config)
    clients = [first.test_client(), second.test_client()]
    statuses = [clients[n % 2].get(f"/j/ZZZZ{n:02d}").status_code for n in range(12)]
    assert statuses == [404] * 12


def test_an_ipv6_network_counts_as_one_address(limited_app):
    """Guesses from many addresses of one IPv6 /64 share one count, as a NAT address does; another /64 is apart."""
    client = limited_app.test_client()
    statuses = [client.get(f"/j/ZZZZ{n:02d}", environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n + 1:x}"}).status_code
                for n in range(9)]
    assert statuses == [404] * 8 + [429]
    assert client.get("/j/ZZZZ99", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 404
    assert client.get("/j/ZZZZ99", environ_base={"REMOTE_ADDR": "198.51.100.20"}).status_code == 404


def test_numbers_too_big_for_sqlite_are_no_page_not_a_server_error(as_admin, db):
    """An id or a page cursor beyond SQLite's integers (2**63 and up) answers 404 or the first page, never a 500
    (an OverflowError reached the database from /staff/sessions/<huge> and from ?before=<huge>)."""
    from tests.factories import make_session

    found = make_session(db)
    huge = str(2**63)
    for url in (f"/staff/sessions/{huge}", f"/staff/review/{huge}/export", f"/staff/sessions/{found['id']}/jobs/{huge}"):
        assert as_admin.get(url).status_code == 404, url
    for url in (f"/staff/sessions/{found['id']}/answers?before={huge}", f"/staff/sessions/{found['id']}/answers?after={huge}"):
        assert as_admin.get(url).status_code == 200, url
    assert as_admin.get(f"/staff/sessions/{2**63 - 1}").status_code == 404


def test_posted_ids_too_big_for_sqlite_are_a_bad_request_not_a_server_error(as_admin, db):
    """A forged form whose id field holds a number beyond SQLite's integers gets the translated 400 page, not a 500
    (moderating, the wall, deleting a note, sharing a session each sent it to the database as it came)."""
    from tests.conftest import form_data
    from tests.factories import make_session

    found = make_session(db)
    sid, huge = found["id"], str(2**70)
    token = form_data(as_admin.get("/staff/"), 0)["csrf_token"]
    for url, fields in ((f"/staff/sessions/{sid}/live/moderate", {"action": "hide", "response_id": huge, "reason": "x"}),
                        (f"/staff/sessions/{sid}/live/wall", {"action": "approve", "response_id": huge}),
                        (f"/staff/review/{sid}/edit", {"action": "delete_insight", "insight_id": huge}),
                        (f"/staff/sessions/{sid}/access", {"user_id": huge, "action": "remove"})):
        response = as_admin.post(url, data={"csrf_token": token, **fields})
        assert response.status_code in (303, 400), (url, response.status_code)
