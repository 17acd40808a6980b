"""One click from a listening session's reviewed synthesis to a follow-up design session."""
from listening import queries
from listening import statements as st
from tests.conftest import form_data, page
from tests.factories import make_session, user_id


def reviewed_session(db, owner: int) -> dict:
    """Create a listening session with one reviewed theme (Spanish label on the residents' page), one draft theme and one "how might we"."""
    found = make_session(db, created_by=owner)
    stamp = queries.now()
    for label, reviewed in (("Rides to appointments", stamp), ("Unreviewed draft", None)):
        db.execute("INSERT INTO themes (session_id, label, reviewed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                   (found["id"], label, reviewed, stamp, stamp))
    theme_id = db.execute("SELECT id FROM themes WHERE label = 'Rides to appointments'").fetchone()[0]
    db.execute("INSERT INTO public_texts (session_id, theme_id, field, language, body, updated_at) VALUES (?, ?, 'label', 'es', ?, ?)",
               (found["id"], theme_id, "Transporte a las citas", stamp))
    db.execute("INSERT INTO insights (session_id, kind, body, created_at) VALUES (?, 'hmw', ?, ?)",
               (found["id"], "How might we make rides free?", stamp))
    db.conn.commit()
    return found


def test_one_click_makes_a_draft_design_session_with_statements_and_translations(as_facilitator, db, make_user):
    """The button creates a draft session with a react question whose statements are the reviewed theme and the HMW, Spanish carried over."""
    found = reviewed_session(db, user_id(db, make_user("facilitator")))
    soup = page(as_facilitator.get(f"/staff/review/{found['id']}"))
    button = soup.find("form", action=f"/staff/review/{found['id']}/follow-up")
    assert button.find("button").get_text(strip=True) == "Create a follow-up design session"
    data = {field["name"]: field["value"] for field in button.find_all("input", type="hidden")}
    response = as_facilitator.post(f"/staff/review/{found['id']}/follow-up", data=data)
    assert response.status_code == 303
    created = [s for s in queries.all_sessions(db) if s["id"] != found["id"]][0]
    assert created["status"] == "draft" and created["languages"] == found["languages"]
    prompts = queries.prompts_for_session(db, created["id"])
    assert [p["kind"] for p in prompts] == ["react"]
    seeded = st.statements_for_prompt(db, prompts[0]["id"])
    assert [(s["body"], s["origin"], s["translations"]) for s in seeded] == [
        ("Rides to appointments", "theme", {"es": "Transporte a las citas"}),
        ("How might we make rides free?", "hmw", {}),
    ]
    texts = queries.texts_for_session(db, created["id"])
    assert texts[("session", created["id"], "title")]["es"].startswith("Seguimiento")


def test_nothing_reviewed_creates_nothing_and_says_why(as_facilitator, db, make_user):
    """Without a reviewed theme or an insight, no session is created and the planner is told what to do."""
    found = make_session(db, created_by=user_id(db, make_user("facilitator")))
    shown = as_facilitator.get(f"/staff/review/{found['id']}")
    data = form_data(shown, 0)
    response = as_facilitator.post(f"/staff/review/{found['id']}/follow-up", data=data, follow_redirects=True)
    assert "Review at least one theme" in response.get_data(as_text=True)
    assert len(queries.all_sessions(db)) == 1


def test_a_follow_up_statement_drawn_from_a_withdrawn_answer_takes_the_themes_key_terms(as_facilitator, db, make_user):
    """A reviewed machine theme named by a clause of one answer seeds a follow-up statement; when its author withdraws,
    the statement (shown on phones, the projector and the follow-up's reports) loses their words as the theme does, and a
    statement seeded from a name a planner wrote stays."""
    import json

    from tests.factories import make_participant

    found = make_session(db, created_by=user_id(db, make_user("facilitator")), prompts=[{"kind": "open", "text": "Hard?"}])
    prompt = queries.prompts_for_session(db, found["id"])[0]
    person = make_participant(db, found, quote_ok=True)
    queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt["id"], nonce="n-okafor",
                          language="en", text="Nurse Okafor ignored my sister at the Eastside clinic")
    stamp = queries.now()
    for label, renamed in (("Nurse Okafor ignored my sister", 0), ("Eastside clinic sister", 1)):
        db.execute("INSERT INTO themes (session_id, label, machine_label, top_terms, renamed, reviewed_at, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (found["id"], label, label, json.dumps(["nurse", "respect"]), renamed,
                                                        stamp, stamp, stamp))
    db.conn.commit()
    follow_up = queries.all_sessions(db)  # before
    button = page(as_facilitator.get(f"/staff/review/{found['id']}")).find("form", action=f"/staff/review/{found['id']}/follow-up")
    data = {field["name"]: field["value"] for field in button.find_all("input", type="hidden")}
    assert as_facilitator.post(f"/staff/review/{found['id']}/follow-up", data=data).status_code == 303
    [follow_up] = [s for s in queries.all_sessions(db) if s["id"] not in {f["id"] for f in follow_up}]
    react = queries.prompts_for_session(db, follow_up["id"])[0]
    assert queries.withdraw(db, person.receipt).outcome == "withdrawn"
    bodies = sorted(s["body"] for s in st.statements_for_prompt(db, react["id"]))
    assert bodies == ["Eastside clinic sister", "Nurse, respect"]


def test_a_follow_up_statement_never_puts_words_allowed_only_in_reports_on_the_screen(as_facilitator, db, make_user):
    """A reviewed machine theme named by a clause of an answer whose author allowed quoting in reports only seeds its
    key terms (phones and the room's screen show statements); a clause of one allowed on the screen seeds as it is."""
    import json

    from tests.factories import make_participant

    found = make_session(db, created_by=user_id(db, make_user("facilitator")), prompts=[{"kind": "open", "text": "Hard?"}])
    prompt = queries.prompts_for_session(db, found["id"])[0]
    stamp = queries.now()
    for i, (words, scope) in enumerate((("The night bus skips our stop on Elm", "reports"),
                                        ("Clinic forms only come in English", "screen_and_reports"))):
        person = make_participant(db, found, quote_ok=True)
        db.execute("UPDATE consents SET quote_scope = ? WHERE participant_id = ?", (scope, person.id))
        answer = queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt["id"],
                                       nonce=f"n-{i}", language="en", text=words).response_id
        label = " ".join(words.split()[:5])
        theme = db.execute("INSERT INTO themes (session_id, label, machine_label, top_terms, reviewed_at, created_at, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", (found["id"], label, label, json.dumps([f"term{i}", "words"]),
                                                            stamp, stamp, stamp)).lastrowid
        db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, updated_at) VALUES (?, ?, ?, 'theme', ?)",
                   (answer, found["id"], theme, stamp))
    db.conn.commit()
    before = {s["id"] for s in queries.all_sessions(db)}
    button = page(as_facilitator.get(f"/staff/review/{found['id']}")).find("form", action=f"/staff/review/{found['id']}/follow-up")
    data = {field["name"]: field["value"] for field in button.find_all("input", type="hidden")}
    assert as_facilitator.post(f"/staff/review/{found['id']}/follow-up", data=data).status_code == 303
    [follow_up] = [s for s in queries.all_sessions(db) if s["id"] not in before]
    react = queries.prompts_for_session(db, follow_up["id"])[0]
    assert [s["body"] for s in st.statements_for_prompt(db, react["id"])] == ["Term0, words", "Clinic forms only come in"]
