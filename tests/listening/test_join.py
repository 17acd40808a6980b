"""Joining a session by code: easy codes, and clear messages for wrong, draft or closed ones."""
from listening import queries
from tests.conftest import page, submit, text_of
from tests.factories import every_table, make_session


def test_join_codes_avoid_characters_that_are_easy_to_confuse(db):
    """Join codes use no 0/O or 1/I/L and are six characters long."""
    codes = {make_session(db, prompts=[])["code"] for _ in range(30)}
    for code in codes:
        assert len(code) == 6
        assert not set(code) & set("0O1IL")


def test_typed_code_is_forgiving_about_case_and_spaces(client, db):
    """A code typed in lower case with a space still finds the session."""
    session = make_session(db)
    typed = session["code"][:3].lower() + " " + session["code"][3:].lower()
    response = client.get("/", query_string={"code": typed})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/j/{session['code']}")


def test_a_code_typed_on_an_arabic_or_urdu_keyboard_finds_the_session(client, db):
    """Digits typed as Arabic-Indic (٣) or Urdu (۳) digits, or full-width letters, are read as the code's own."""
    session = make_session(db)
    db.execute("UPDATE sessions SET code = 'KX7M3P' WHERE id = ?", [session["id"]])  # with digits, whatever was drawn
    session = queries.session_by_id(db, session["id"])
    for zero in ("\u0660", "\u06f0", "\uff10"):
        typed = "".join(chr(ord(zero) + int(c)) if c.isdigit() else c for c in session["code"])
        if zero == "\uff10":
            typed = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in typed)  # ＡＢＣ
        assert typed != session["code"]
        response = client.get("/", query_string={"code": typed})
        assert response.status_code == 302, typed
        assert response.headers["Location"].endswith(f"/j/{session['code']}")


def test_a_pasted_join_link_in_the_code_box_finds_the_session(client, db):
    """Someone who pastes the link they were sent (with ?lang=) into the code box is taken to the session."""
    session = make_session(db)
    for pasted in (f"http://127.0.0.1:5000/j/{session['code']}", f" https://chorus.example.org/j/{session['code'].lower()}?lang=es "):
        response = client.get("/", query_string={"code": pasted})
        assert response.status_code == 302, pasted
        assert response.headers["Location"].endswith(f"/j/{session['code']}")


def test_the_code_box_stops_a_paste_long_enough_to_make_the_address_too_long(client):
    """The code box takes at most 200 characters: a long paste never builds an address the server refuses in English."""
    box = page(client.get("/?lang=ar")).select_one("input#code")
    assert box["maxlength"] == "200"
    response = client.get("/", query_string={"code": "x" * 201, "lang": "ar"})
    assert response.status_code == 400 and page(response).select_one("#code-error")


def test_a_join_link_typed_with_a_capital_j_or_a_trailing_slash_finds_the_session(client, db):
    """/J/CODE and /j/CODE/ (a phone's capital letter, a slash a messaging app added) lead to the join page, language kept."""
    session = make_session(db)
    for typed in (f"/J/{session['code']}", f"/j/{session['code']}/", f"/J/{session['code'].lower()}/"):
        response = client.get(typed, query_string={"lang": "es"})
        assert response.status_code in (301, 302, 308), typed
        followed = client.get(response.headers["Location"], follow_redirects=True)
        assert followed.status_code == 200 and followed.request.path == f"/j/{session['code']}", typed
        assert page(followed).html["lang"] == "es"


def test_unknown_code_says_so_in_spanish(client):
    """An unknown code gets a clear message in the resident's language, with the form to retry."""
    response = client.get("/j/ZZZZZZ", headers={"Accept-Language": "es"})
    assert response.status_code == 404
    assert page(response).html["lang"] == "es"
    assert "ZZZZZZ" in text_of(response)
    assert page(response).find("input", attrs={"name": "code"}) is not None


def test_draft_session_answers_like_an_unknown_code(client, db):
    """A draft session's code does not reveal the session: the page says no open session has it, and offers no way in."""
    session = make_session(db, status="draft")
    response = client.get(f"/j/{session['code']}")
    assert response.status_code == 404
    assert page(response).find("h1").get_text(strip=True) == "We could not find that session"
    assert "has not started yet" in text_of(response)
    assert client.get(f"/s/{session['code']}/consent").status_code == 404


def test_a_session_put_back_in_draft_tells_those_who_joined(client, db):
    """Someone who joined before the session went back to draft learns it has not (re)started."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    queries.set_status(db, session["id"], "draft")
    response = client.get(f"/j/{session['code']}")
    assert response.status_code == 403
    assert page(response).find("h1").get_text(strip=True) == "This session has not started yet"


def test_closed_session_has_ended_for_those_who_took_part(client, db):
    """A closed session's code thanks a browser that took part (saying it has ended), and is unknown to others."""
    session = make_session(db)
    assert client.get(f"/j/{session['code']}").status_code == 200
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    queries.set_status(db, session["id"], "closed")
    response = client.get(f"/j/{session['code']}")
    assert response.status_code == 410
    assert page(response).find("h1").get_text(strip=True) == "Thank you for taking part"
    assert page(response).find("h1").find_next("p").get_text(strip=True).startswith("This session has ended.")
    assert client.application.test_client().get(f"/j/{session['code']}").status_code == 404


def test_join_page_shows_title_and_purpose_in_the_chosen_language(client, db):
    """?lang=es shows the Spanish title and marks the page as Spanish."""
    session = make_session(db)
    response = client.get(f"/j/{session['code']}?lang=es")
    soup = page(response)
    assert soup.html["lang"] == "es" and soup.html["dir"] == "ltr"
    assert soup.find("h1").get_text(strip=True) == "Qué ayuda a las familias"


def test_language_switcher_offers_only_the_sessions_languages(client, db):
    """The switcher on a session page lists the session's languages, each marked with its lang."""
    session = make_session(db, languages=("es", "en"))
    soup = page(client.get(f"/j/{session['code']}"))
    links = soup.select("nav.languages a")
    assert [a["lang"] for a in links] == ["es", "en"]
    assert soup.html["lang"] == "es"  # the session's default when nothing else decides


def test_no_request_stores_anything_before_consent(client, db):
    """Visiting every page a resident sees before agreeing writes no row to any table."""
    session = make_session(db, mode="live")
    before = every_table(db)
    for url in (f"/?code={session['code']}", f"/j/{session['code']}", f"/j/{session['code']}?lang=es",
                f"/s/{session['code']}/consent", f"/s/{session['code']}/consent?lang=es",
                f"/s/{session['code']}/state.json", f"/s/{session['code']}/q/1", f"/s/{session['code']}/live",
                f"/s/{session['code']}/thanks", "/withdraw"):
        assert client.get(url).status_code in (200, 302), url
    assert every_table(db) == before
    assert "participants" in before and "consents" in before and "contacts" in before


def test_join_page_counts_questions_and_minutes_each_in_its_own_plural(client, db):
    """One question and one minute read in the singular; the two counts are plural on their own."""
    one = make_session(db, minutes=1, prompts=[{"kind": "open", "text": "What helps you?"}])
    assert "There is 1 question. It takes about 1 minute." in text_of(client.get(f"/j/{one['code']}"))
    assert "Hay 1 pregunta. Toma más o menos 1 minuto." in text_of(client.get(f"/j/{one['code']}?lang=es"))
    many = make_session(db, minutes=1)
    assert "There are 5 questions. It takes about 1 minute." in text_of(client.get(f"/j/{many['code']}?lang=en"))
    long = make_session(db, minutes=20, prompts=[{"kind": "open", "text": "What helps you?"}])
    assert "There is 1 question. It takes about 20 minutes." in text_of(client.get(f"/j/{long['code']}?lang=en"))
