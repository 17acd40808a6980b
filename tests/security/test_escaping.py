"""HTML and script in answers are shown as text on every page that shows answers, never run."""

import pytest

from listening import queries
from listening.db import transaction
from tests.conftest import download, page, sign_in, submit
from tests.factories import make_participant, make_session

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">y</a>"\'&'
# Things that only appear in a page if the payload was not escaped.
UNESCAPED = ("<script>alert", "<img src=x", 'href="javascript:')


def assert_inert(response, where: str) -> None:
    """Assert an HTML page shows the payload only as text: no script body, no handler, no javascript: link."""
    html = response.get_data(as_text=True)
    for fragment in UNESCAPED:
        assert fragment not in html, (where, fragment)
    soup = page(response)
    assert [s for s in soup.find_all("script") if not s.get("src")] == [], where
    assert soup.find(attrs={"onerror": True}) is None, where
    assert not [a for a in soup.find_all("a", href=True) if a["href"].lower().startswith("javascript:")], where


@pytest.fixture
def hostile(db):
    """A live session whose open prompt is showing, with one hostile answer and a hostile title."""
    session = make_session(db, mode="live")
    prompt = queries.prompts_for_session(db, session["id"])[0]
    queries.set_text(db, session["id"], "session", session["id"], "title", "en", PAYLOAD)
    person = make_participant(db, session)
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                          nonce="hostile-1", language="en", text=PAYLOAD)
    with transaction(db):
        db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?",
                   (prompt["id"], session["id"]))
    return queries.session_by_id(db, session["id"])


def test_the_resident_sees_their_own_answer_as_text(client, db):
    """Going back to a question shows the earlier answer inside the text box, escaped."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    submit(client, f"/s/{session['code']}/q/1", {"answer": PAYLOAD})
    shown = client.get(f"/s/{session['code']}/q/1")
    assert_inert(shown, "answer page")
    assert page(shown).find("textarea", attrs={"name": "answer"}).get_text() == PAYLOAD


def test_every_staff_page_of_the_session_escapes_answers(app, client, make_user, hostile):
    """Answers, console, projector, review and report pages (whatever is built) show the payload as text."""
    sign_in(client, make_user("admin"))
    visited = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments - {"session_id"}:
            continue
        if rule.endpoint.split(".")[0] not in ("facilitation", "review") or "session_id" not in rule.arguments:
            continue
        url = rule.rule.replace("<int:session_id>", str(hostile["id"]))
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype.startswith("text/html"):
            continue
        assert_inert(response, rule.rule)
        visited.append(rule.endpoint)
    assert "facilitation.session_answers" in visited
    shows_answer = [endpoint for endpoint in visited
                    if "alert(" in page(client.get(url_for_endpoint(app, endpoint, hostile["id"]))).get_text()]
    assert "facilitation.session_answers" in shows_answer


def url_for_endpoint(app, endpoint: str, session_id: int) -> str:
    """Return the URL of a session page from its endpoint."""
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, session_id=session_id)


def test_resident_pages_escape_session_texts(client, hostile):
    """A hostile session title (staff-written) is still shown as text to residents."""
    for url in (f"/j/{hostile['code']}", f"/s/{hostile['code']}/consent"):
        response = client.get(url)
        assert_inert(response, url)


def test_downloaded_reports_escape_answers_and_neutralise_formulas(app, client, db, make_user, hostile):
    """Every export format: HTML escapes the payload, spreadsheets never start a cell with a formula."""
    from analysis import reports

    person = make_participant(db, hostile)
    prompt = queries.prompts_for_session(db, hostile["id"])[0]
    queries.save_response(db, session_id=hostile["id"], participant_id=person.id, prompt_id=prompt["id"],
                          nonce="hostile-2", language="en", text='=HYPERLINK("http://evil.example","x")')
    sign_in(client, make_user("admin"))
    checked = []
    for fmt in reports.FORMATS:
        response = download(client, hostile["id"], fmt)
        assert response.status_code == 200, fmt
        assert response.headers["Content-Disposition"].startswith("attachment"), fmt
        body = response.get_data()
        if fmt in ("html",) or response.mimetype == "text/html":
            text = body.decode("utf-8")
            for fragment in UNESCAPED:
                assert fragment not in text, (fmt, fragment)
            checked.append(fmt)
        if response.mimetype == "text/csv":
            import csv
            import io

            cells = [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
            assert not [c for c in cells if c[:1] in ("=", "+", "-", "@") and c.startswith("=HYPERLINK")], fmt
            checked.append(fmt)
    assert checked
