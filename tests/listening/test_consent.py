"""Consent: nothing stored before it, everything recorded with it, and nothing at all on a no."""
import json
from pathlib import Path

import pytest

from listening import queries
from tests.conftest import form_data, page, submit, text_of
from tests.factories import count, every_table, make_session


def consent_url(session):
    """Return a session's consent page."""
    return f"/s/{session['code']}/consent"


def test_declining_stores_nothing(client, db):
    """A resident who ticks every box, types contact details and then says no leaves no row anywhere."""
    session = make_session(db)
    before = every_table(db)
    response = submit(client, consent_url(session), {
        "action": "decline", "take_part": "y", "quote_ok": "y", "contact_ok": "y",
        "contact_name": "Ana Decline", "contact_phone": "336 555 0199", "contact_email": "ana@example.org"})
    assert response.status_code == 200
    assert "Nothing about you was saved" in text_of(response)
    assert every_table(db) == before
    with client.session_transaction() as cookie:
        assert not cookie.get("p") and not cookie.get("r")


def test_consent_records_version_language_time_and_method(client, db):
    """Agreeing records the consent version, language, time and method, and the optional choices."""
    session = make_session(db)
    response = submit(client, consent_url(session) + "?lang=es",
                      {"action": "agree", "take_part": "y", "quote_ok": "y"},
                      get_url=consent_url(session) + "?lang=es")
    assert response.status_code == 302
    row = dict(db.execute("SELECT * FROM consents").fetchone())
    assert (row["version"], row["language"], row["method"], row["quote_ok"], row["contact_ok"]) == (1, "es", "self", 1, 0)
    assert row["given_at"].endswith("+00:00")
    shown = db.execute("SELECT body FROM consent_versions WHERE id = ?", (row["consent_version_id"],)).fetchone()[0]
    assert shown == "Participar es su decisión."


def test_consent_page_shows_the_statement_and_purpose_in_the_residents_language(client, db):
    """The statement and purpose appear in Spanish, with the three choices labelled."""
    session = make_session(db)
    soup = page(client.get(consent_url(session) + "?lang=es"))
    assert "Participar es su decisión." in soup.find(id="statement").get_text()
    assert "Para saber qué ayuda." in soup.find(id="statement").get_text()
    for name in ("take_part", "quote_ok", "contact_ok"):
        box = soup.find("input", attrs={"name": name})
        assert soup.find("label", attrs={"for": box["id"]}) is not None


def test_continuing_without_agreeing_explains_and_stores_nothing(client, db):
    """Pressing continue without ticking 'take part' shows an error tied to the box."""
    session = make_session(db)
    response = submit(client, consent_url(session), {"action": "agree"})
    assert response.status_code == 400
    box = page(response).find("input", attrs={"name": "take_part"})
    assert box["aria-invalid"] == "true"
    assert page(response).find(id=box["aria-describedby"]) is not None
    assert count(db, "participants") == 0


def test_contact_details_are_kept_apart_from_answers(client, db):
    """Contact details go to their own table, only when the resident allows contact."""
    session = make_session(db)
    submit(client, consent_url(session), {"action": "agree", "take_part": "y", "contact_ok": "y",
                                          "contact_name": "Ana", "contact_phone": "336 555 0101"})
    contact = dict(db.execute("SELECT * FROM contacts").fetchone())
    assert (contact["name"], contact["phone"]) == ("Ana", "336 555 0101")
    assert "Ana" not in str(db.execute("SELECT * FROM responses").fetchall())


def test_contact_details_are_not_kept_without_permission(client, db):
    """Details typed without ticking 'may contact me' are dropped."""
    session = make_session(db)
    submit(client, consent_url(session), {"action": "agree", "take_part": "y", "contact_phone": "336 555 0101"})
    assert count(db, "participants") == 1
    assert count(db, "contacts") == 0


def test_missing_csrf_token_is_refused_and_changes_nothing(client, db):
    """A consent form without its CSRF token is refused with a clear message."""
    session = make_session(db)
    client.get(consent_url(session))
    response = client.post(consent_url(session), data={"action": "agree", "take_part": "y", "nonce": "abcdefghijklmnop"})
    assert response.status_code == 400
    assert page(response).find(role="alert") is not None
    assert count(db, "participants") == 0


def test_wrong_csrf_token_is_refused_and_changes_nothing(client, db):
    """A forged CSRF token is refused."""
    session = make_session(db)
    response = submit(client, consent_url(session), {"action": "agree", "take_part": "y", "csrf_token": "forged##token"})
    assert response.status_code == 400
    assert count(db, "participants") == 0


def test_replayed_consent_form_creates_one_participant(client, db):
    """Sending the same consent form twice (a double tap) creates one participant."""
    session = make_session(db)
    from tests.conftest import form_data

    data = form_data(client.get(consent_url(session)))
    data.update(action="agree", take_part="y")
    first = client.post(consent_url(session), data=data)
    with client.session_transaction() as cookie:
        cookie.pop("p", None)  # a second tap from a page that had not yet seen the first answer
    second = client.post(consent_url(session), data=data)
    assert first.status_code == second.status_code == 302
    assert count(db, "participants") == 1
    assert count(db, "consents") == 1


def test_contact_keeps_its_own_direction_inside_right_to_left_statements(app):
    """A phone number in an Arabic or Urdu statement is isolated, so it does not read '555-0142 (336)'."""
    from listening.consent import default_consent

    with app.app_context():
        for language in ("ar", "ur"):
            assert "\u2068(336) 555-0142\u2069" in default_consent(language, minutes=10, contact="(336) 555-0142")
        english = default_consent("en", minutes=10, contact="(336) 555-0142")
    assert english.endswith("Questions? Contact (336) 555-0142.")


def test_recording_the_same_consent_twice_returns_the_first_participant(db):
    """record_consent with a one-time key already used creates nothing and hands back the first participant, without a receipt."""
    from listening import queries

    session = make_session(db)
    statement = queries.current_consent(db, session["id"], "en")
    first = queries.record_consent(db, session["id"], consent_version_id=statement["id"], language="en",
                                   nonce="consent-once-0001", quote_ok=True, contact_ok=False)
    again = queries.record_consent(db, session["id"], consent_version_id=statement["id"], language="en",
                                   nonce="consent-once-0001", quote_ok=False, contact_ok=False)
    assert first.created and len(first.receipt) >= 12
    assert (again.id, again.receipt, again.created) == (first.id, "", False)
    assert count(db, "participants") == count(db, "consents") == 1
    assert db.execute("SELECT quote_ok FROM consents").fetchone()[0] == 1


def test_consent_page_leads_with_a_plain_summary_and_keeps_the_full_statement_one_tap_away(client, db):
    """Five plain points (who, what, what for, voluntary, withdrawable) come first; the statement waits in a <details>."""
    session = make_session(db, contact="Guilford listening team, (336) 555-0142", minutes=10)
    soup = page(client.get(consent_url(session)))
    points = [li.get_text(" ", strip=True) for li in soup.select("#consent-summary li")]
    assert [p.split(":")[0] for p in points] == [
        "Who we are", "What we ask", "What we do with it", "It is your choice", "You can take it back"]
    assert "Guilford listening team, (336) 555-0142" in points[0] and "about 10 minutes" in points[1]
    details = soup.select_one("details.full-statement")
    assert details.summary.get_text(strip=True) == "Read the full statement"
    assert "Taking part is your choice." in details.get_text() and "To learn what helps." in details.get_text()
    assert soup.select_one("#consent-summary").find_parent("details") is None


def test_the_quote_choice_says_words_may_go_on_the_rooms_screen(client, db):
    """The quote box says the words may show on the room's screen as well as in reports, in Spanish too."""
    session = make_session(db)
    for lang, expected in (("en", "room's screen"), ("es", "pantalla")):
        soup = page(client.get(consent_url(session) + f"?lang={lang}"))
        assert expected in soup.find("label", attrs={"for": "quote_ok"}).get_text()


def test_contact_fields_follow_the_contact_box(client, db):
    """The contact fieldset is the one the CSS hides until "you may contact me" is ticked; it stays in the page."""
    session = make_session(db)
    soup = page(client.get(consent_url(session)))
    fieldset = soup.select_one("fieldset#contact-details")
    assert [i["name"] for i in fieldset.select("input")] == ["contact_name", "contact_phone", "contact_email"]
    css = (Path(client.application.static_folder) / "chorus.css").read_text(encoding="utf-8")
    assert "form:has(#contact_ok:not(:checked)) fieldset.contact { display: none; }" in css
    assert "@supports selector(:has(*))" in css


def test_the_consent_page_opens_clean(client, db):
    """Opening the consent page is a plain 200 with the form and no error or notice: nothing was sent yet."""
    session = make_session(db)
    response = client.get(consent_url(session))
    assert response.status_code == 200
    soup = page(response)
    assert soup.find("input", attrs={"name": "take_part"}) is not None
    assert not soup.select("[aria-invalid=true]") and soup.find(role="alert") is None


def test_a_no_from_a_page_left_open_too_long_is_still_honoured_and_stores_nothing(client, db):
    """Saying no from a page whose form token expired shows the same "nothing was saved" page: nothing is stored, and
    a resident who said no is not asked to say it twice."""
    session = make_session(db)
    before = every_table(db)
    response = submit(client, consent_url(session), {"action": "decline", "take_part": "y", "contact_ok": "y",
                                                      "contact_email": "ana@example.org", "csrf_token": "expired##token"})
    assert response.status_code == 200
    assert "Nothing about you was saved" in text_of(response)
    assert every_table(db) == before


@pytest.mark.parametrize("earlier_sessions", [0, 4])
def test_a_statement_changed_since_the_page_opened_is_shown_again_and_nothing_is_stored(client, db, earlier_sessions):
    """If the team changed the statement while the page was open, agreeing stores nothing: the resident gets a 409
    with the new statement to read (also when the statement's number grows a digit, 9 to 11)."""
    for _ in range(earlier_sessions):
        make_session(db)
    session = make_session(db)
    shown = form_data(client.get(consent_url(session)))
    queries.set_text(db, session["id"], "session", session["id"], "consent", "en", "Taking part is up to you. New wording.")
    queries.set_text(db, session["id"], "session", session["id"], "consent", "es", "Participar es su decisión. Texto nuevo.")
    queries.snapshot_consent(db, session["id"])
    new = queries.current_consent(db, session["id"], "en")["id"]
    if earlier_sessions:
        assert len(str(new)) > len(shown["version"])  # "11" sorts before "9" as text
    before = every_table(db)
    response = client.post(consent_url(session), data={**shown, "action": "agree", "take_part": "y"})
    assert response.status_code == 409
    assert "The statement has changed since you opened this page. Please read it again." in text_of(response)
    assert "New wording." in page(response).find(id="statement").get_text()
    assert form_data(response)["version"] == str(new)
    assert every_table(db) == before


def test_agreeing_goes_on_to_the_first_question(client, db):
    """After agreeing, a self-paced resident is taken to question 1, not past it."""
    session = make_session(db)
    response = submit(client, consent_url(session), {"action": "agree", "take_part": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/s/{session['code']}/q/1")


def test_consent_keeps_the_words_of_the_choices_as_the_resident_saw_them(client, db):
    """Agreeing in Spanish keeps, with the consent, the three choices' words exactly as the page showed them,
    and records that the quote permission's words named the room's screen."""
    session = make_session(db)
    soup = page(client.get(consent_url(session) + "?lang=es"))
    shown = {name: soup.find("label", attrs={"for": field}).get_text(" ", strip=True)
             for name, field in (("take_part", "take_part"), ("quote", "quote_ok"), ("contact", "contact_ok"))}
    submit(client, consent_url(session) + "?lang=es", {"action": "agree", "take_part": "y", "quote_ok": "y"},
           get_url=consent_url(session) + "?lang=es")
    row = db.execute("SELECT quote_scope, choice_labels FROM consents").fetchone()
    assert row["quote_scope"] == "screen_and_reports"
    assert json.loads(row["choice_labels"]) == shown
    assert "pantalla" in shown["quote"]


def test_an_unknown_quote_scope_is_refused_and_stores_nothing(db):
    """Recording a consent with a quote scope Chorus does not know raises and stores no participant."""
    session = make_session(db)
    statement = queries.current_consent(db, session["id"], "en")
    with pytest.raises(ValueError):
        queries.record_consent(db, session["id"], consent_version_id=statement["id"], language="en",
                               nonce="scope-test-nonce", quote_ok=True, contact_ok=False, quote_scope="everywhere")
    assert count(db, "participants") == 0


def test_a_consent_form_sent_again_reattaches_only_the_browser_that_sent_it(app, client, db):
    """A consent form's one-time key is a retry key, not a login: a lost reply or a double tap comes back to
    the same person, but another browser posting the key (or anyone, once that person has answered or
    much later) gets a fresh form and a new participation, never the first person's answers."""
    session = make_session(db)
    shown = client.get(consent_url(session))
    sent = {**form_data(shown), "action": "agree", "take_part": "y"}
    assert client.post(consent_url(session), data=sent).status_code == 302
    first = db.execute("SELECT id FROM participants").fetchone()[0]

    # The same browser sending the same form again (the first reply was lost) stays the same person.
    assert client.post(consent_url(session), data=sent).status_code == 302
    with client.session_transaction() as cookie:
        assert cookie["p"][session["code"]] == first

    # A double tap's second request, from a browser that never saw the first reply, within the idle limit.
    retrying = app.test_client()
    retrying_form = form_data(retrying.get(consent_url(session)))
    assert retrying.post(consent_url(session), data={**sent, "csrf_token": retrying_form["csrf_token"]}).status_code == 302
    with retrying.session_transaction() as cookie:
        assert cookie["p"][session["code"]] == first

    # Once the person has answered, the key no longer opens their participation anywhere else.
    submit(client, f"/s/{session['code']}/q/1", {"answer": "Words only Ana should see again"})
    other = app.test_client()
    other_form = form_data(other.get(consent_url(session)))
    refused = other.post(consent_url(session), data={**sent, "csrf_token": other_form["csrf_token"]})
    assert refused.status_code == 409
    assert "already sent" in text_of(refused)
    assert form_data(refused)["nonce"] != sent["nonce"]
    with other.session_transaction() as cookie:
        assert not cookie.get("p")
    assert count(db, "participants") == 1
    assert "Words only Ana" not in other.get(f"/s/{session['code']}/q/1").get_data(as_text=True)

    # Nor long after it was sent, even if nothing was answered.
    quiet = queries.record_consent(db, session["id"], consent_version_id=int(sent["version"]), language="en",
                                   nonce="quiet-consent-0001", quote_ok=False, contact_ok=False)
    db.execute("UPDATE submissions SET at = '2020-01-01T00:00:00.000000+00:00' WHERE nonce = 'quiet-consent-0001'")
    db.conn.commit()
    late = app.test_client()
    late_form = form_data(late.get(consent_url(session)))
    late_post = late.post(consent_url(session), data={**sent, "nonce": "quiet-consent-0001",
                                                       "csrf_token": late_form["csrf_token"]})
    assert late_post.status_code == 409
    with late.session_transaction() as cookie:
        assert quiet.id not in (cookie.get("p") or {}).values()


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_a_stale_token_is_explained_in_plain_words_without_the_libraries_csrf_jargon(client, db, language):
    """Consent, an answer, a statement of one's own and withdrawal sent with an expired or forged token say "this page
    was open for a long time" and nothing more: the summary listed WTForms' "The CSRF token is missing." (in
    Spanish "El token CSRF falta.") with a link to a box that does not exist, since the token field was renamed."""
    session = make_session(db, prompts=[{"kind": "open", "text": "What helps?"}, {"kind": "react", "text": "React"}])
    client.get(f"/j/{session['code']}?lang={language}")
    pages = [client.post(consent_url(session), data={"action": "agree", "take_part": "y", "csrf_token": "forged##token"})]
    submit(client, consent_url(session), {"action": "agree", "take_part": "y"})
    pages.append(client.post(f"/s/{session['code']}/q/1", data={"answer": "Buses", "action": "next",
                                                                   "nonce": "abcdefghijklmnopqrstuv", "csrf_token": "old##x"}))
    pages.append(client.post(f"/s/{session['code']}/q/2/statement", data={"body": "More buses", "nonce": "abcdefghijklmnopqrstuw",
                                                                        "csrf_token": "old##x"}))
    pages.append(client.post("/withdraw", data={"receipt": "ABCD-EFGH-JKMN", "confirm": "y", "csrf_token": "old##x"}))
    for response in pages:
        assert response.status_code == 400
        alert = page(response).select_one(".alert")
        assert alert is not None and "CSRF" not in text_of(response)
        assert alert.select("a[href='#csrf_token']") == [] and page(response).select("[autofocus]#csrf_token") == []
