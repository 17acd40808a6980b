"""Bad input, tried: random Unicode, control characters, null bytes, direction overrides, huge and
malformed input on every form and on the CSV import. Each gets a clear error or is stored exactly,
and nothing crashes (no 500)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from listening import queries
from listening.db import connect
from tests.conftest import PASSWORD, form_data, migrated_app, page, sign_in
from tests.factories import make_session

SPECIALS = ["\x00", "\u202e", "\u2066", "\u200f", "\ufeff", "\r\n", "\t", "e\u0301", "👩🏽‍🍼", "<script>", "' OR 1=1 --",
            "%s%n", "{{ 7*7 }}", "\x1b[31m", "\u0000\u0001\u007f", "مرحبا", "ﷺ" * 20]
nasty = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
    st.lists(st.sampled_from(SPECIALS), max_size=8).map("".join),
    st.sampled_from(["x" * 2001, "é" * 5000, "\x00" * 3000, "\u202e" * 1000]),
)
EXAMPLES = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def world():
    """One app and database for the whole module: an open session, a staff account and a draft session."""
    directory = Path(tempfile.mkdtemp(prefix="chorus-bad-input-"))
    app = migrated_app(directory / "t.db")
    db = connect(app.config["DATABASE"])
    from listening.accounts import create_user

    create_user(db, "admin@example.org", PASSWORD, "admin")
    session = make_session(db)
    draft = make_session(db, status="draft")
    yield {"app": app, "db": db, "session": session, "draft": draft}
    db.conn.close()


def resident(world):
    """A new phone that has agreed to take part; returns the client."""
    client = world["app"].test_client()
    shown = client.get(f"/s/{world['session']['code']}/consent")
    client.post(f"/s/{world['session']['code']}/consent", data={**form_data(shown), "action": "agree", "take_part": "y"})
    return client


def post_form(client, url: str, fields: dict, form_index: int = -1):
    """Load a page, then post its hidden fields plus `fields`."""
    shown = client.get(url)
    return client.post(url, data={**form_data(shown, form_index), **fields})


def clear_error(response) -> bool:
    """Tell whether a refused form says what is wrong (an error summary, a field error or a notice)."""
    soup = page(response)
    return bool(soup.select("[role=alert], .error, .errors, .alert, [aria-invalid=true]"))


@EXAMPLES
@given(text=nasty)
def test_open_answers_are_stored_exactly_or_refused_clearly(world, text):
    """Any text answer is stored byte for byte, or refused with a message and nothing stored."""
    client = resident(world)
    before = world["db"].execute("SELECT count(*) FROM responses").fetchone()[0]
    response = post_form(client, f"/s/{world['session']['code']}/q/1", {"answer": text, "action": "next"})
    assert response.status_code in (302, 400), response.status_code
    after = world["db"].execute("SELECT count(*) FROM responses").fetchone()[0]
    if response.status_code == 302:
        stored = world["db"].execute("SELECT text, skipped FROM responses ORDER BY id DESC LIMIT 1").fetchone()
        assert (stored[0] == text) or (stored[1] == 1 and not text.strip())
    else:
        assert after == before and clear_error(response)


@EXAMPLES
@given(values=st.lists(nasty, max_size=4), number=st.integers(min_value=2, max_value=4))
@example(values=[""], number=3)  # once a 500: a blank value for a multiple-choice question
@example(values=["", "junk"], number=3)
def test_choice_answers_accept_only_their_own_options(world, values, number):
    """Random values for choice and scale questions are refused with a message, never stored or crashing."""
    client = resident(world)
    shown = client.get(f"/s/{world['session']['code']}/q/{number}")
    data = [(k, v) for k, v in form_data(shown).items()] + [("answer", v) for v in values] + [("action", "next")]
    from werkzeug.datastructures import MultiDict

    response = client.post(f"/s/{world['session']['code']}/q/{number}", data=MultiDict(data))
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert clear_error(response)


@EXAMPLES
@given(name=nasty, phone=nasty, email=nasty)
def test_consent_contact_details_are_stored_exactly_or_refused(world, name, phone, email):
    """Contact details are kept as typed (without surrounding spaces) or refused with a message."""
    client = world["app"].test_client()
    url = f"/s/{world['session']['code']}/consent"
    response = post_form(client, url, {"action": "agree", "take_part": "y", "contact_ok": "y", "contact_name": name,
                                       "contact_phone": phone, "contact_email": email})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        with client.session_transaction() as cookie:
            participant_id = cookie["p"][world["session"]["code"]]
        row = world["db"].execute("SELECT name, phone, email FROM contacts WHERE participant_id = ?",
                                  (participant_id,)).fetchone()
        typed = (name.strip(), phone.strip(), email.strip())
        if any(typed):  # agreed to contact and gave details: they are kept, exactly, never dropped
            assert row is not None and tuple(row) == typed
        else:
            assert row is None
    else:
        assert clear_error(response)


@EXAMPLES
@given(code=nasty)
def test_join_codes_of_any_shape_get_a_clear_answer(world, code):
    """Typing anything as a join code leads to the session, a 'not found' or a form error, never a crash."""
    client = world["app"].test_client()
    assert client.get("/", query_string={"code": code}).status_code in (200, 302, 400, 404)
    safe = code.replace("/", "").replace("?", "").replace("#", "")[:300] or "X"
    assert client.get(f"/j/{safe}").status_code in (200, 302, 404, 410)


@EXAMPLES
@given(receipt=nasty, confirm=st.booleans())
def test_withdraw_with_any_receipt_is_refused_clearly(world, receipt, confirm):
    """A made-up receipt code is refused (not found, or a form error), and nothing is deleted."""
    client = world["app"].test_client()
    before = world["db"].execute("SELECT count(*) FROM responses").fetchone()[0]
    response = post_form(client, "/withdraw", {"receipt": receipt, **({"confirm": "y"} if confirm else {})})
    assert response.status_code in (400, 404)
    assert clear_error(response)
    assert world["db"].execute("SELECT count(*) FROM responses").fetchone()[0] == before


@EXAMPLES
@given(email=nasty, password=nasty)
def test_sign_in_with_any_input_is_refused_clearly(world, email, password):
    """Random sign-in details get 400 or 401 with a message."""
    client = world["app"].test_client()
    # From an address of its own: its failures slow that address down, not the module's other tests' sign-ins.
    client.environ_base["REMOTE_ADDR"] = "198.51.100.250"
    response = post_form(client, "/staff/login", {"email": email, "password": password})
    assert response.status_code in (400, 401, 429)
    assert clear_error(response)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=nasty, purpose=nasty, contact=nasty, question=nasty, options=nasty, email=nasty)
def test_staff_forms_store_exactly_or_refuse_clearly(world, title, purpose, contact, question, options, email):
    """Session, question and account forms take any text without crashing; titles are stored as typed, trimmed."""
    client = world["app"].test_client()
    sign_in(client, "admin@example.org")
    created = post_form(client, "/staff/sessions/new", {
        "title": title, "purpose": purpose, "contact": contact, "default_language": "en", "mode": "self_paced",
        "timezone": "America/New_York", "minutes": "15"})
    assert created.status_code in (302, 400)
    if created.status_code == 302:
        session_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
        texts = queries.texts_for_session(world["db"], session_id)
        assert texts[("session", session_id, "title")]["en"] == title.strip()  # surrounding blanks are trimmed
    draft = world["draft"]["id"]
    added = post_form(client, f"/staff/sessions/{draft}/prompts/new", {
        "kind": "single", "text_en": question, "text_es": question, "options_en": options, "options_es": options})
    assert added.status_code in (302, 400)
    user = post_form(client, "/staff/users", {"email": email, "role": "planner", "password": "long enough pw"})
    assert user.status_code in (302, 400)


csv_bytes = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.lists(nasty, min_size=1, max_size=4), min_size=1, max_size=6).map(
        lambda rows: "\n".join(",".join(row) for row in rows).encode("utf-8")),
    st.sampled_from([b"", b"\xef\xbb\xbf", b'text\n"unterminated', b"text\n\x00\x00", b"a,b\n1,2,3,4\n",
                     "text\n".encode("utf-16"), b"\xff\xfe\xfa"]),
)


@settings(max_examples=50, deadline=None)
@given(raw=csv_bytes)
def test_csv_import_reads_or_refuses_clearly(raw):
    """The CSV reader behind `chorus themes` returns rows or raises a ClickException with a message."""
    from analysis.cli import read_csv

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "in.csv"
        path.write_bytes(raw)
        try:
            header, rows = read_csv(path)
        except click.ClickException as exc:
            assert exc.message
        else:
            assert isinstance(header, list) and all(isinstance(row, dict) for row in rows)


@settings(max_examples=8, deadline=None)
@given(raw=csv_bytes)
def test_themes_command_never_crashes_on_malformed_csv(raw):
    """`chorus themes` on malformed input exits with a message, not a traceback."""
    from click.testing import CliRunner

    from listening.cli import cli

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "in.csv"
        path.write_bytes(raw)
        result = CliRunner().invoke(cli, ["themes", str(path), "--text-column", "text", "--output",
                                          str(Path(directory) / "out.csv")])
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.mark.parametrize("step", ["consent", "q/1"])
def test_a_damaged_one_time_key_is_refused_with_a_translated_message(world, step):
    """A form whose hidden one-time key was damaged is refused with words saying so (in the resident's
    language), not a bare 400 that shows the same page again; nothing is stored."""
    code = world["session"]["code"]
    client = resident(world) if step != "consent" else world["app"].test_client()
    client.get(f"/j/{code}?lang=es")
    before = world["db"].execute("SELECT (SELECT count(*) FROM responses) + (SELECT count(*) FROM participants)").fetchone()[0]
    response = post_form(client, f"/s/{code}/{step}", {"nonce": "not a key!", "take_part": "y", "answer": "Hola", "action": "next"})
    assert response.status_code == 400
    alert = page(response).select_one("[role=alert]")
    assert alert is not None and "Este formulario tiene un error" in alert.get_text(), response.get_data(as_text=True)[:500]
    after = world["db"].execute("SELECT (SELECT count(*) FROM responses) + (SELECT count(*) FROM participants)").fetchone()[0]
    assert after == before


def test_a_vote_with_a_damaged_one_time_key_says_so_and_does_not_ask_for_a_vote(app, db):
    """A vote whose one-time key was damaged is refused with that reason (in Spanish), not "Please choose Agree,
    Disagree or Pass" when the button pressed was one of them; no vote is stored."""
    from listening import statements as st

    found = make_session(db, status="draft", prompts=[{"kind": "react", "text": "What should change?"}])
    react = queries.prompts_for_session(db, found["id"])[0]
    st.add_statement(db, found["id"], react["id"], language="en", body="Idea", translations={"es": "Idea es"})
    queries.set_status(db, found["id"], "open")
    client = app.test_client()
    client.get(f"/j/{found['code']}?lang=es")
    shown = client.get(f"/s/{found['code']}/consent")
    client.post(f"/s/{found['code']}/consent", data={**form_data(shown), "take_part": "y"})
    screen = client.get(f"/s/{found['code']}/q/1")
    vote_form = page(screen).find("form", action=f"/s/{found['code']}/q/1/vote")
    data = {field["name"]: field.get("value", "") for field in vote_form.find_all("input", type="hidden")}
    response = client.post(f"/s/{found['code']}/q/1/vote", data={**data, "nonce": "not a key!", "vote": "agree"})
    assert response.status_code == 400
    alert = page(response).select_one("[role=alert]").get_text()
    assert "Este formulario tiene un error" in alert and "De acuerdo, En desacuerdo" not in alert
    assert db.execute("SELECT count(*) FROM votes").fetchone()[0] == 0
