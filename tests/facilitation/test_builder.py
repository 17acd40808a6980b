"""The session builder: sessions, prompts, texts in every language, opening and the QR flyer."""
import pytest

from listening import queries
from tests.conftest import page, submit, text_of
from tests.factories import count, every_table, make_session, user_id


def create(client, **fields):
    """Create a session through the form and return its overview response."""
    data = {"title": "Listening on transport", "purpose": "Learn what gets in the way", "default_language": "en",
            "languages": ["es"], "mode": "self_paced", "timezone": "America/New_York", "minutes": "20",
            "contact": "Ana, 336-555-0100"}
    data.update(fields)
    return submit(client, "/staff/sessions/new", data)


def test_creating_a_session_prefills_consent_in_every_language(as_facilitator, db):
    """A new session is a draft with the default consent statement in each offered language."""
    response = create(as_facilitator)
    assert response.status_code == 302
    session = queries.all_sessions(db)[0]
    assert session["status"] == "draft" and session["languages"] == ["en", "es"]
    consent = queries.texts_for_session(db, session["id"])[("session", session["id"], "consent")]
    assert set(consent) == {"en", "es"}
    assert "Ana, 336-555-0100" in consent["en"] and "20" in consent["es"]


def test_bad_session_settings_are_explained(as_facilitator, db):
    """A missing title and an unknown time zone each get a message, and nothing is created."""
    response = create(as_facilitator, title="", timezone="Mars/Olympus")
    assert response.status_code == 400
    problems = [li.get_text(strip=True) for li in page(response).select("#problems li")]
    assert len(problems) == 2
    assert queries.all_sessions(db) == []


@pytest.mark.parametrize("zone", ["America", "Europe/", "x" * 300, "posixrules", "zone.tab", "UTC\x00"])
def test_a_time_zone_that_is_not_a_place_is_explained_in_spanish(as_facilitator, db, zone):
    """A region name, a long word or a tz database file typed as a time zone gets the translated message, not a crash."""
    as_facilitator.get("/staff/?lang=es")
    response = create(as_facilitator, timezone=zone)
    assert response.status_code == 400
    assert "Elija una zona horaria de la lista" in text_of(response)
    assert queries.all_sessions(db) == []


def test_session_cannot_open_while_a_text_is_missing(as_facilitator, db):
    """Opening is refused while Spanish wording is missing, and the overview lists where."""
    create(as_facilitator)
    session = queries.all_sessions(db)[0]
    submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/new",
           {"kind": "single", "text_en": "How do you travel?", "options_en": "Car\nBus"})
    response = submit(as_facilitator, f"/staff/sessions/{session['id']}/status", {"status": "open"},
                      get_url=f"/staff/sessions/{session['id']}", form_index=0)
    assert queries.session_by_id(db, session["id"])["status"] == "draft"
    overview = as_facilitator.get(response.headers["Location"])
    missing = [li.get_text(" ", strip=True) for li in page(overview).select("#missing li")]
    assert missing == ["Español : Title", "Español : What it is for", "Español : Question 1: wording",
                       "Español : Question 1: choice 1", "Español : Question 1: choice 2"]


def test_filling_every_text_lets_the_session_open(as_facilitator, db):
    """With every text written in every language the session opens and records its consent version."""
    create(as_facilitator)
    session = queries.all_sessions(db)[0]
    submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/new",
           {"kind": "open", "text_en": "What helps?", "text_es": "¿Qué ayuda?"})
    shown = as_facilitator.get(f"/staff/sessions/{session['id']}/texts")
    fields = {box["name"]: box.get_text() or "filled" for box in page(shown).find_all("textarea")}
    submit(as_facilitator, f"/staff/sessions/{session['id']}/texts", fields)
    assert queries.missing_texts(db, session["id"]) == []
    submit(as_facilitator, f"/staff/sessions/{session['id']}/status", {"status": "open"},
           get_url=f"/staff/sessions/{session['id']}", form_index=0)
    assert queries.session_by_id(db, session["id"])["status"] == "open"
    assert queries.current_consent(db, session["id"], "es")["version"] == 1


def test_about_you_prompt_gets_prefer_not_to_say(as_facilitator, db):
    """An 'about you' prompt is marked demographic and always has a 'prefer not to say' option."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"), status="draft", prompts=[])
    submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/new",
           {"kind": "about", "demographic": "age", "text_en": "Age?", "text_es": "¿Edad?",
            "options_en": "Under 30\n30+", "options_es": "Menos de 30\n30+"})
    prompt = queries.prompts_for_session(db, session["id"])[0]
    assert prompt["demographic"] == "age"
    assert [o["prefer_not"] for o in prompt["options"]] == [0, 0, 1]


def test_scale_prompt_needs_an_upward_range(as_facilitator, db):
    """A scale from 5 down to 1 is refused with a message."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"), status="draft", prompts=[])
    response = submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/new",
                      {"kind": "scale", "scale_min": "5", "scale_max": "1", "text_en": "How?"})
    assert response.status_code == 400
    assert queries.prompts_for_session(db, session["id"]) == []


def test_prompts_can_be_reordered_in_a_draft(as_facilitator, db):
    """Moving the second prompt up puts it first."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"), status="draft")
    first, second = queries.prompts_for_session(db, session["id"])[:2]
    submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/{second['id']}/move", {"direction": "up"},
           get_url=f"/staff/sessions/{session['id']}", form_index=2)
    order = [p["id"] for p in queries.prompts_for_session(db, session["id"])]
    assert order[:2] == [second["id"], first["id"]]


def test_answered_choices_cannot_be_removed(as_facilitator, db):
    """Editing an open session cannot drop a choice people picked."""
    from tests.factories import make_participant

    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    prompt = queries.prompts_for_session(db, session["id"])[1]
    person = make_participant(db, session)
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                          nonce="x" * 16, language="en", choices=[prompt["options"][2]["id"]])
    response = submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/{prompt['id']}",
                      {"kind": "single", "text_en": "Travel?", "text_es": "¿Viaje?",
                       "options_en": "Car\nBus", "options_es": "Carro\nBus"}, form_index=0)
    assert response.status_code == 400
    assert len(queries.prompts_for_session(db, session["id"])[1]["options"]) == 3


def test_qr_codes_and_flyer(as_facilitator, db):
    """The QR code comes as SVG and PNG, and the flyer has the code and instructions per language."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    svg = as_facilitator.get(f"/staff/sessions/{session['id']}/qr.svg")
    png = as_facilitator.get(f"/staff/sessions/{session['id']}/qr.png")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    flyer = page(as_facilitator.get(f"/staff/sessions/{session['id']}/flyer"))
    assert flyer.select_one(".code").get_text(strip=True) == session["code"]
    assert [s["lang"] for s in flyer.select(".blocks section")] == ["en", "es"]


def test_a_join_link_that_points_to_this_computer_is_flagged_before_the_qr_code_is_shared(as_facilitator, app, db):
    """Opened on this computer's own address (the test client's is localhost; `chorus demo` prints 127.0.0.1), the
    overview and the flyer's form say phones cannot open the link, in the facilitator's language, and the printed
    flyer does not; with a public address (CHORUS_BASE_URL) nothing is said."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    as_facilitator.get("/staff/?lang=es")
    overview = page(as_facilitator.get(f"/staff/sessions/{session['id']}"))
    flyer = page(as_facilitator.get(f"/staff/sessions/{session['id']}/flyer"))
    for shown in (overview.select_one(".joinbox .local-link"), flyer.select_one("header .local-link")):
        assert shown is not None and "CHORUS_BASE_URL" in shown.get_text()
        assert "Los teléfonos no pueden abrir" in shown.get_text()
    assert flyer.select_one("main .local-link") is None
    app.config["BASE_URL"] = "https://chorus.example.org"
    assert page(as_facilitator.get(f"/staff/sessions/{session['id']}")).select_one(".local-link") is None
    assert page(as_facilitator.get(f"/staff/sessions/{session['id']}/flyer")).select_one(".local-link") is None


@pytest.mark.parametrize("url,local", [
    ("http://127.0.0.1:5000/j/KX7M3P", True), ("http://localhost:5000/j/KX7M3P", True), ("http://[::1]:5000/j/A", True),
    ("http://0.0.0.0:5000/j/A", True), ("http://127.1.2.3/j/A", True), ("http://chorus.localhost/j/A", True),
    ("http://192.168.1.20:5000/j/KX7M3P", False), ("https://chorus.example.org/j/KX7M3P", False),
    ("http://127.0.0.1.example.org/j/A", False), ("http://[bad/j/A", False),
])
def test_which_join_links_point_to_this_computer(url, local):
    """Loopback names and addresses count as this computer; a network or public address does not; a broken one is not."""
    from facilitation.blueprint import link_is_local

    assert link_is_local(url) is local


def test_the_flyer_says_when_where_what_for_which_languages_and_the_privacy_promise(as_facilitator, db):
    """Date, time and place typed on the flyer page appear in every language, with purpose, languages and privacy."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    before = every_table(db)
    flyer = page(as_facilitator.get(f"/staff/sessions/{session['id']}/flyer?when=2026-12-05T10:30&where=Grace+Church+hall"))
    assert every_table(db) == before  # nothing typed on the flyer page is stored
    assert flyer.select_one(".join .when").get_text(strip=True) == "When: Saturday, December 5, 2026, 10:30\u202fAM"
    assert flyer.select_one(".join .where").get_text(strip=True) == "Where: Grace Church hall"
    assert flyer.select_one(".join .languages").get_text(strip=True) == "Languages: English, Español"
    spanish = flyer.select_one(".blocks section[lang=es]")
    texts = [p.get_text(strip=True) for p in spanish.select("p")]
    assert texts[0] == "Para saber qué ayuda." and texts[1].startswith("Cuándo: sábado, 5 de diciembre de 2026")
    assert [s.select_one(".privacy").get_text(strip=True) != "" for s in flyer.select(".blocks section")] == [True, True]
    assert flyer.select_one("form.no-print input[name=when]")["value"] == "2026-12-05T10:30"


def test_a_flyer_date_that_is_not_a_date_is_explained(as_facilitator, db):
    """A date-time the browser did not send in its own format gets a translated error, and the flyer prints without it."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    response = as_facilitator.get(f"/staff/sessions/{session['id']}/flyer?when=next+tuesday")
    soup = page(response)
    assert response.status_code == 400
    assert soup.select_one("#when-error").get_text(strip=True) == "Please give a date and a time."
    assert soup.select_one(".join .when") is None


def test_facilitator_sees_the_answers(as_facilitator, client, db):
    """An answer a resident gave appears on the facilitator's answers page."""
    session = make_session(db, created_by=user_id(db, "facilitator@example.org"))
    resident = client.application.test_client()
    submit(resident, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    submit(resident, f"/s/{session['code']}/q/1", {"answer": "Mi prima me llevó"})
    answers = text_of(as_facilitator.get(f"/staff/sessions/{session['id']}/answers"))
    assert "Mi prima me llevó" in answers


def test_texts_page_is_a_grid_with_a_column_per_language_and_missing_boxes_marked(as_facilitator, db):
    """Texts in every language: a header per language, one row per text, and missing Spanish boxes marked."""
    session = make_session(db, status="draft", created_by=user_id(db, "facilitator@example.org"),
                           prompts=[{"kind": "open", "text": "What helps you?"}])
    queries.set_text(db, session["id"], "session", session["id"], "title", "es", "")
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/texts"))
    assert [h.get_text(strip=True) for h in soup.select(".grid-head [role=columnheader]")] == ["Text", "English (main)", "Español"]
    rows = soup.select(".grid-row:not(.grid-head)")
    assert all(len(row.select("textarea")) == 2 for row in rows)
    missing = [cell.textarea["name"] for cell in soup.select(".grid-cell.is-missing")]
    assert missing == [f"{rows[0].textarea['name'].split('--')[0]}--es"]
    assert soup.select_one("#missing-count").get_text(strip=True) == "1 text is missing."
    box = soup.select_one(".grid-cell.is-missing textarea")
    assert box["aria-labelledby"] == "row-1 col-es" and soup.find(id=box["aria-describedby"]) is not None


def test_preview_as_a_resident_walks_every_page_in_any_language_and_stores_nothing(as_facilitator, db):
    """Preview in Spanish: consent, each question and the thanks, forms that go to the next preview by GET, no row written."""
    session = make_session(db, status="draft", created_by=user_id(db, "facilitator@example.org"))
    prompts = queries.prompts_for_session(db, session["id"])
    before = every_table(db)
    overview = page(as_facilitator.get(f"/staff/sessions/{session['id']}"))
    links = [a["href"] for a in overview.select("a[href*='/preview']")]
    assert links == [f"/staff/sessions/{session['id']}/preview?lang=en", f"/staff/sessions/{session['id']}/preview?lang=es"]
    consent = page(as_facilitator.get(links[1]))
    assert consent.html["lang"] == "es" and "Participar es su decisión." in consent.find(id="statement").get_text()
    form = consent.select_one("main form")
    assert form["method"] == "get" and form.select("input[name=nonce]") == [] and form.select("input[name=csrf_token]") == []
    assert {i["name"]: i["value"] for i in form.select("input[type=hidden]")} == {"step": "1", "lang": "es"}
    assert consent.select_one(".preview-banner") is not None
    for number, prompt in enumerate(prompts, start=1):
        shown = page(as_facilitator.get(f"/staff/sessions/{session['id']}/preview?step={number}&lang=es&action=next&answer=x"))
        assert shown.select_one("h1.question").get_text(strip=True) == f"{prompt_text(prompt)} [es]"
    thanks = page(as_facilitator.get(f"/staff/sessions/{session['id']}/preview?step={len(prompts) + 1}&lang=es"))
    assert thanks.select_one(".receipt .code").get_text(strip=True) == "XXXX-XXXX-XXXX"
    assert every_table(db) == before
    assert as_facilitator.get(f"/staff/sessions/{session['id']}/preview?step=99").status_code == 404
    assert as_facilitator.get(f"/staff/sessions/{session['id']}/preview?step=x").status_code == 404


def prompt_text(prompt: dict) -> str:
    """Return the factory wording of a default prompt (without the language tag)."""
    from tests.factories import default_prompts

    return default_prompts()[prompt["number"] - 1]["text"]


def test_a_starter_makes_a_complete_bilingual_session_that_can_open(as_facilitator, db):
    """"A short community survey" in English and Spanish: four questions, every text in both languages, ready to open."""
    response = submit(as_facilitator, "/staff/sessions/new", {
        "starter": "survey", "title": "", "purpose": "", "default_language": "en", "languages": ["en", "es"],
        "mode": "self_paced", "timezone": "America/New_York", "minutes": "5", "contact": "Ana, 336-555-0101",
        "wall_moderation": "y"})
    assert response.status_code == 302
    session_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    prompts = queries.prompts_for_session(db, session_id)
    assert [p["kind"] for p in prompts] == ["open", "single", "scale", "about"]
    assert queries.missing_texts(db, session_id) == []
    texts = queries.texts_for_session(db, session_id)
    assert texts[("session", session_id, "title")] == {
        "en": "Our neighborhood, our health: a short survey", "es": "Nuestro barrio, nuestra salud: una encuesta corta"}
    about = prompts[3]
    assert about["demographic"] == "age"
    assert [texts[("option", o["id"], "label")]["es"] for o in about["options"] if not o["prefer_not"]][:2] == ["Menos de 18", "De 18 a 24"]


def test_a_typed_title_wins_over_the_starters(as_facilitator, db):
    """A title typed with a starter is the main-language title; the other languages are left to translate; the
    mode left "as the starter suggests" is the starter's."""
    response = submit(as_facilitator, "/staff/sessions/new", {
        "starter": "focus_group", "title": "Glenwood focus group", "purpose": "", "default_language": "en",
        "languages": ["en", "es"], "mode": "", "timezone": "America/New_York", "minutes": "60"})
    session_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    texts = queries.texts_for_session(db, session_id)
    assert texts[("session", session_id, "title")] == {"en": "Glenwood focus group"}
    assert queries.session_by_id(db, session_id)["mode"] == "live"
    assert len(queries.prompts_for_session(db, session_id)) == 4


@pytest.mark.parametrize("starter, picked", [("focus_group", "self_paced"), ("survey", "live")])
def test_a_mode_the_facilitator_picks_wins_over_the_starters(as_facilitator, db, starter, picked):
    """A focus group a facilitator wants to run self-paced runs self-paced, and a survey they want to run live
    runs live: the starter only suggests."""
    response = submit(as_facilitator, "/staff/sessions/new", {
        "starter": starter, "title": "", "purpose": "", "default_language": "en", "languages": ["en"],
        "mode": picked, "timezone": "America/New_York", "minutes": "30"})
    session_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert queries.session_by_id(db, session_id)["mode"] == picked


def test_a_blank_session_needs_a_mode_and_the_new_session_page_leaves_it_to_the_starter(as_facilitator, db):
    """The new-session page starts on "as the starter suggests"; a blank session left there is refused with a
    clear message and nothing is made."""
    soup = page(as_facilitator.get("/staff/sessions/new"))
    assert soup.find("input", attrs={"name": "mode", "checked": True})["value"] == ""
    response = submit(as_facilitator, "/staff/sessions/new", {
        "starter": "", "title": "Glenwood", "purpose": "Listen", "default_language": "en", "languages": ["en"],
        "mode": "", "timezone": "America/New_York", "minutes": "5"})
    assert response.status_code == 400
    assert "Please choose how the session runs." in text_of(response)
    assert count(db, "sessions") == 0


def test_a_blank_session_still_needs_a_title(as_facilitator, db):
    """Without a starter, a blank title is refused with the usual message and no session is made."""
    response = submit(as_facilitator, "/staff/sessions/new", {
        "starter": "", "title": " ", "purpose": "", "default_language": "en", "languages": ["en"],
        "mode": "self_paced", "timezone": "America/New_York", "minutes": "5"})
    assert response.status_code == 400
    assert "Please give the session a title." in text_of(response)


@pytest.mark.parametrize("topic, first_es", [("age", "Menos de 18"), ("race_ethnicity", "Indígena de las Américas o nativo/a de Alaska"),
                                             ("language", "Inglés")])
def test_a_standard_about_you_question_fills_itself_in_every_language(as_facilitator, db, topic, first_es):
    """"About you" with a standard topic and empty boxes saves the standard wording and choices in each language."""
    session = make_session(db, status="draft", created_by=user_id(db, "facilitator@example.org"), prompts=[])
    response = submit(as_facilitator, f"/staff/sessions/{session['id']}/prompts/new",
                      {"kind": "about", "demographic": topic, "text_en": "", "text_es": "", "options_en": "", "options_es": ""})
    assert response.status_code == 302
    prompt = queries.prompts_for_session(db, session["id"])[0]
    texts = queries.texts_for_session(db, session["id"])
    labels = [texts[("option", o["id"], "label")] for o in prompt["options"] if not o["prefer_not"]]
    assert labels[0]["es"] == first_es and labels[0]["en"] != first_es
    assert texts[("prompt", prompt["id"], "text")]["es"].startswith("¿")
    assert any(o["prefer_not"] for o in prompt["options"])


def test_the_standard_question_link_prefills_the_form(as_facilitator, db):
    """The overview's "Race or ethnicity" link opens the form with the census choices typed in both languages."""
    session = make_session(db, status="draft", created_by=user_id(db, "facilitator@example.org"), prompts=[])
    overview = page(as_facilitator.get(f"/staff/sessions/{session['id']}"))
    link = next(a["href"] for a in overview.select("a") if a.get_text(strip=True) == "Race or ethnicity")
    soup = page(as_facilitator.get(link))
    assert soup.select_one("#kind-about").has_attr("checked")
    assert soup.select_one("#demographic option[selected]")["value"] == "race_ethnicity"
    choices = soup.select_one("#options_es").get_text().split("\n")
    assert "Prefiero describirme con mis propias palabras" in choices and "De Medio Oriente o del norte de África" in choices


def test_each_language_can_name_its_own_contact_and_the_default_statement_follows(as_facilitator, client, db):
    """The translation grid has an optional "whom to contact" row: an Arabic team name there rewords the Arabic
    consent statement and summary, English keeps the settings' contact, and an empty box is never "missing"."""
    created = submit(as_facilitator, "/staff/sessions/new", {
        "starter": "survey", "title": "", "purpose": "", "default_language": "en", "languages": ["en", "ar"],
        "mode": "", "timezone": "America/New_York", "minutes": "5", "contact": "Guilford listening team, 336-555-0101"})
    session_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    url = f"/staff/sessions/{session_id}/texts"
    grid = page(as_facilitator.get(url))
    boxes = {box["name"]: box.get_text() for box in grid.select("textarea")}
    contact_box = f"session-{session_id}-contact--ar"
    assert contact_box in boxes and boxes[contact_box] == ""
    assert grid.select(".grid-cell.is-missing") == [] and "0 texts" in grid.select_one("#missing-count").get_text()
    arabic = "فريق الاستماع في غيلفورد، 336-555-0101"
    assert submit(as_facilitator, url, {**boxes, contact_box: arabic}).status_code == 302
    consent = queries.texts_for_session(db, session_id)[("session", session_id, "consent")]
    assert arabic in consent["ar"] and "Guilford listening team" not in consent["ar"]
    assert "Guilford listening team, 336-555-0101" in consent["en"]
    queries.set_status(db, session_id, "open")
    code = queries.session_by_id(db, session_id)["code"]
    summary = page(client.get(f"/s/{code}/consent?lang=ar")).select_one(".summary, #summary, main ul")
    # Shown with the phone number in a left-to-right isolate (invisible), so it reads "336-555-0101", not "0101-555-336".
    assert summary.get_text().count("فريق الاستماع في غيلفورد، \u2066336-555-0101\u2069") == 1
