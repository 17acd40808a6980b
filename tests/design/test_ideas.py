"""Ideas questions and tables (issue 15, co-design): residents propose ideas to a "how might we" question, the team
reads them, people react; a table's notetaker types a table's ideas in; the projector, reports, exports and withdrawal
treat ideas as they treat statements. Everything through pages, without JavaScript."""
import io
import json

import pytest

from listening import queries
from listening import statements as st
from listening import tables as tb
from tests.conftest import download, form_data, page, submit, text_of
from tests.factories import count, make_participant, make_session, user_id


def ideas_session(db, make_user=None, *, mode="self_paced", languages=("en", "es", "ar"), extra=()):
    """Create an open session whose first question is an ideas question (and `extra` questions after it)."""
    owner = user_id(db, make_user("facilitator")) if make_user else None
    found = make_session(db, languages=languages, status="draft", mode=mode, created_by=owner,
                         prompts=[{"kind": "ideas", "text": "How might we make the clinic easier to reach?"}, *extra])
    queries.set_status(db, found["id"], "open")
    found = queries.session_by_id(db, found["id"])
    found["prompt"] = queries.prompts_for_session(db, found["id"])[0]
    return found


def join(client, found, lang="en"):
    """Join the session in `lang` and agree to take part."""
    client.get(f"/j/{found['code']}?lang={lang}")
    submit(client, f"/s/{found['code']}/consent", {"action": "agree", "take_part": "y"})


def own_form_index(response) -> int:
    """Return the index of the page's form that sends one's own idea."""
    forms = page(response).find_all("form")
    return next(i for i, f in enumerate(forms) if f.get("action", "").endswith("/statement"))


def test_the_builder_offers_the_ideas_kind_with_help_and_stores_its_translations(as_facilitator, db, make_user):
    """The question form offers "Ideas" with words about "how might we", and saves an ideas question in each language."""
    found = make_session(db, languages=("en", "es"), status="draft", prompts=[],
                         created_by=user_id(db, make_user("facilitator")))
    url = f"/staff/sessions/{found['id']}/prompts/new"
    label = page(as_facilitator.get(url)).find("label", attrs={"for": "kind-ideas"}).get_text(" ", strip=True)
    assert "how might we" in label and "propose ideas" in label
    response = submit(as_facilitator, url, {"kind": "ideas", "text_en": "How might we make mornings easier?",
                                            "text_es": "¿Cómo podríamos facilitar las mañanas?"})
    assert response.status_code == 302
    prompt = queries.prompts_for_session(db, found["id"])[0]
    assert prompt["kind"] == "ideas"
    texts = queries.texts_for_session(db, found["id"])
    assert texts[("prompt", prompt["id"], "text")] == {"en": "How might we make mornings easier?",
                                                       "es": "¿Cómo podríamos facilitar las mañanas?"}
    overview = page(as_facilitator.get(f"/staff/sessions/{found['id']}"))
    assert overview.find("a", href=f"/staff/sessions/{found['id']}/prompts/{prompt['id']}/statements") is not None


def test_a_resident_proposes_ideas_which_wait_then_others_react_and_a_merge_moves_votes(client, app, db, make_user):
    """Without JavaScript: an idea is stored once per form as pending, unseen by others until approved; then another
    resident agrees with it; merging it into a duplicate moves that vote."""
    found = ideas_session(db, make_user)
    join(client, found)
    url = f"/s/{found['code']}/q/1"
    first = client.get(url)
    soup = page(first)
    assert soup.find("details", class_="own").has_attr("open")
    assert soup.find("label", attrs={"for": "body"}).get_text(strip=True) == "Your idea"
    assert "There are no ideas from others to react to yet." in text_of(first)
    data = form_data(first, own_form_index(first))
    data["body"] = "A free shuttle from the library"
    assert client.post(f"{url}/statement", data=data).status_code == 302
    assert client.post(f"{url}/statement", data=data).status_code == 302  # a double tap
    assert count(db, "statements") == 1
    thanks = client.get(f"{url}?added=1")
    assert "The team will read your idea before others see it" in text_of(thanks)
    idea = st.statements_for_prompt(db, found["prompt"]["id"])[0]
    assert idea["status"] == "pending"

    other = app.test_client()
    join(other, found, lang="es")
    assert page(other.get(url)).find("form", class_="vote") is None
    st.decide_statement(db, found["id"], idea["id"], "approved", by_user=None)
    shown = other.get(url)
    assert page(shown).find(class_="statement-text").get_text(strip=True) == "A free shuttle from the library"
    forms = page(shown).find_all("form")
    vote = form_data(shown, next(i for i, f in enumerate(forms) if "vote" in (f.get("class") or [])))
    vote["vote"] = "agree"
    assert other.post(f"{url}/vote", data=vote).status_code == 302
    assert [tuple(r) for r in db.execute("SELECT statement_id, vote FROM votes")] == [(idea["id"], 1)]

    staff = app.test_client()
    from tests.conftest import sign_in
    sign_in(staff, make_user("facilitator"))
    kept = st.add_statement(db, found["id"], found["prompt"]["id"], language="en", body="A shuttle bus")
    staff_url = f"/staff/sessions/{found['id']}/prompts/{found['prompt']['id']}/statements"
    listing = staff.get(staff_url)
    assert page(listing).find("h1").get_text(strip=True) == "Ideas for question 1"
    data = form_data(listing, 0)
    data.update(action="merge", into=str(kept))
    staff.post(f"{staff_url}/{idea['id']}", data=data)
    assert [tuple(r) for r in db.execute("SELECT statement_id, vote FROM votes")] == [(kept, 1)]


def test_an_empty_idea_is_refused_with_a_translated_error(client, db):
    """An idea of only spaces stores nothing and says so in the resident's language."""
    found = ideas_session(db)
    join(client, found, lang="es")
    url = f"/s/{found['code']}/q/1"
    shown = client.get(url)
    data = form_data(shown, own_form_index(shown))
    data["body"] = "   "
    response = client.post(f"{url}/statement", data=data)
    assert response.status_code == 400
    assert "Primero escriba su idea." in text_of(response)
    assert page(response).find(id="body")["aria-invalid"] == "true"
    assert count(db, "statements") == 0


def test_a_facilitator_adds_tables_and_a_blank_name_is_refused(as_facilitator, db, make_user):
    """The tables page adds a table with its language and note; a blank name is a 400 with a message, nothing stored."""
    found = ideas_session(db, make_user)
    url = f"/staff/sessions/{found['id']}/tables"
    bad = submit(as_facilitator, url, {"name": "  ", "language": "es"})
    assert bad.status_code == 400 and "Please give the table a name." in text_of(bad)
    assert count(db, "session_tables") == 0
    done = submit(as_facilitator, url, {"name": "Spanish table", "language": "es", "note": "with interpreter"})
    assert done.status_code == 303
    [table] = tb.tables_for_session(db, found["id"])
    assert (table["name"], table["language"], table["note"]) == ("Spanish table", "es", "with interpreter")
    listing = page(as_facilitator.get(url))
    link = next(a for a in listing.find_all("a") if "Notetaker's page" in a.get_text())
    assert f"table={table['id']}" in link["href"] and "language=es" in link["href"]


def test_a_notetaker_types_a_tables_ideas_and_answers_tagged_with_the_table(as_facilitator, db, make_user):
    """Staff entry with a table chosen stores an idea (approved, the person's, consent read aloud) and an answer, both tagged."""
    found = ideas_session(db, make_user, extra=[{"kind": "open", "text": "Anything else?"}])
    table = tb.add_table(db, found["id"], name="Mesa 1", language="es", note="con intérprete")
    url = f"/staff/sessions/{found['id']}/entry?table={table}&language=es&prompt=1&source=interpreter"
    shown = as_facilitator.get(url)
    assert "Mesa 1" in text_of(shown)
    assert page(shown).find("label", attrs={"for": "answer"}).get_text(strip=True) == "Idea, as said at the table"
    saved = submit(as_facilitator, f"/staff/sessions/{found['id']}/entry",
                   {"answer": "Un autobús desde la iglesia", "consent_read": "y", "quote_ok": "y"}, get_url=url)
    assert saved.status_code == 303 and f"table={table}" in saved.headers["Location"]
    [idea] = st.statements_for_prompt(db, found["prompt"]["id"])
    assert (idea["status"], idea["table_id"], idea["language"], idea["table_name"]) == ("approved", table, "es", "Mesa 1")
    person = queries.participant(db, idea["participant_id"])
    assert person["method"] == "staff_verbal"
    again = submit(as_facilitator, f"/staff/sessions/{found['id']}/entry",
                   {"answer": "Otra idea", "consent_read": "y", "same_person": "y"}, get_url=url)
    assert again.status_code == 303
    assert count(db, "participants") == 1 and count(db, "statements") == 2
    answer_url = f"/staff/sessions/{found['id']}/entry?table={table}&language=es&prompt=2&source=interpreter"
    submit(as_facilitator, f"/staff/sessions/{found['id']}/entry", {"answer": "Más tiempo", "consent_read": "y"},
           get_url=answer_url)
    assert [tuple(r) for r in db.execute("SELECT text, table_id FROM responses")] == [("Más tiempo", table)]


def test_a_table_of_another_session_is_ignored_by_staff_entry(as_facilitator, db, make_user):
    """A table id from another session in the address tags nothing."""
    found = ideas_session(db, make_user)
    other = ideas_session(db, make_user)
    foreign = tb.add_table(db, other["id"], name="Elsewhere", language="en")
    url = f"/staff/sessions/{found['id']}/entry?table={foreign}&prompt=1"
    assert "Elsewhere" not in text_of(as_facilitator.get(url))
    submit(as_facilitator, f"/staff/sessions/{found['id']}/entry", {"answer": "An idea", "consent_read": "y"}, get_url=url)
    assert [r[0] for r in db.execute("SELECT table_id FROM statements")] == [None]


def test_the_projector_groups_approved_ideas_by_table_under_the_quote_rules(as_facilitator, db, make_user):
    """The room's screen shows each table's approved ideas under its name, phones' ideas apart, never a pending idea
    nor the words of an author who did not allow the screen (only counted)."""
    found = ideas_session(db, make_user, mode="live")
    pid = found["prompt"]["id"]
    one, two = (tb.add_table(db, found["id"], name=n, language="en") for n in ("Table One", "Table Two"))
    staff = user_id(db, make_user("facilitator"))

    def typed(words, table, quote_ok=True):
        """Type an idea in for a new person at a table."""
        person = make_participant(db, found, quote_ok=quote_ok)
        return st.enter_idea(db, session_id=found["id"], prompt_id=pid, participant_id=person.id, language="en",
                             body=words, table_id=table, user_id=staff)

    typed("Shuttle from the library", one)
    typed("Evening hours", two)
    typed("Secret words", two, quote_ok=False)
    db.conn.commit()
    phone = make_participant(db, found, quote_ok=True)
    waiting = st.propose_statement(db, session_id=found["id"], prompt_id=pid, participant_id=phone.id, language="en",
                                   body="Still waiting", nonce="n-wait").id
    approved = st.propose_statement(db, session_id=found["id"], prompt_id=pid, participant_id=phone.id, language="en",
                                    body="Text reminders", nonce="n-ok").id
    st.decide_statement(db, found["id"], approved, "approved", by_user=None)
    db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?", (pid, found["id"]))
    db.conn.commit()
    soup = page(as_facilitator.get(f"/staff/sessions/{found['id']}/projector/panel"))
    cards = soup.find("ul", class_="ideas").find_all("li")
    order = [(li.find(class_="table-tag").get_text(" ", strip=True), li.find(class_="idea-words").find(class_="main").get_text(strip=True))
             for li in cards if "idea-note" not in (li.get("class") or [])]
    assert order[:2] == [("Table One", "Shuttle from the library"), ("Table Two", "Evening hours")]
    assert order[2][0].startswith("From phones") and order[2][1] == "Text reminders" and len(order) == 3
    [note] = [li for li in cards if "idea-note" in (li.get("class") or [])]
    assert note["data-table"] == str(two)
    assert "and 1 more whose authors did not allow their words on the screen" in note.get_text(" ", strip=True)
    text = soup.get_text(" ", strip=True)
    assert "Secret words" not in text and "Still waiting" not in text
    assert waiting


def ideas_with_votes(db, make_user):
    """A session with a table, two ideas (one typed in at the table, one from a phone) and twelve people's votes."""
    found = ideas_session(db, make_user)
    pid = found["prompt"]["id"]
    table = tb.add_table(db, found["id"], name="Youth table", language="en")
    author = make_participant(db, found, quote_ok=True)
    typed = st.enter_idea(db, session_id=found["id"], prompt_id=pid, participant_id=author.id, language="en",
                          body="Teen nights at the clinic", table_id=table, user_id=user_id(db, make_user("facilitator")))
    db.conn.commit()
    phone = make_participant(db, found, quote_ok=True)
    sent = st.propose_statement(db, session_id=found["id"], prompt_id=pid, participant_id=phone.id, language="en",
                                body="Free bus passes", nonce="n-bus").id
    st.decide_statement(db, found["id"], sent, "approved", by_user=None)
    for i in range(12):
        person = make_participant(db, found)
        for j, idea in enumerate((typed, sent)):
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=idea,
                         vote=1 if (i + j) % 3 else -1, nonce=f"v-{i}-{j}", language="en")
    return found, typed, sent, author


def test_reports_and_exports_show_ideas_with_reactions_and_table(as_facilitator, db, make_user):
    """HTML, Markdown and Word reports carry an Ideas table (idea, table, counts); JSON and XLSX list every idea with
    its reactions and table; the votes CSV names each vote's table."""
    found, typed, sent, _author = ideas_with_votes(db, make_user)
    html = page(download(as_facilitator, found["id"], "html"))
    table = next(t for t in html.find_all("table") if "Idea" in [th.get_text(strip=True) for th in t.find_all("th")])
    body = [[td.get_text(strip=True) for td in tr.find_all(["td", "th"])] for tr in table.find("tbody").find_all("tr")]
    # 8 agreed and 4 disagreed: both below 10, hidden like a choice question's counts (the internal exports keep them).
    assert ["Teen nights at the clinic", "Youth table", "*", "*", "0"] in body
    assert ["Free bus passes", "From phones", "*", "*", "0"] in body
    md = download(as_facilitator, found["id"], "md").get_data(as_text=True)
    assert "Teen nights at the clinic" in md and "Youth table" in md
    docx = download(as_facilitator, found["id"], "docx")
    assert docx.status_code == 200
    data = json.loads(download(as_facilitator, found["id"], "json").get_data(as_text=True))
    ideas = {i["idea"]: i for i in data["ideas"]}
    assert ideas[f"S{typed}"]["table"] == "Youth table" and ideas[f"S{typed}"]["agree"] == 8
    assert ideas[f"S{sent}"]["table"] == "" and ideas[f"S{sent}"]["author"].startswith("P")
    assert {v["table"] for v in data["votes"] if v["statement"] == f"S{typed}"} == {"Youth table"}
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(download(as_facilitator, found["id"], "xlsx").data), read_only=True)
    rows = list(book["Ideas"].iter_rows(values_only=True))
    assert rows[0][:5] == ("idea", "question", "text", "language", "table")
    assert ("Teen nights at the clinic", "Youth table") in [(r[2], r[4]) for r in rows[1:]]
    votes_csv = download(as_facilitator, found["id"], "votes").get_data(as_text=True)
    assert votes_csv.splitlines()[0].split(",")[:9][-1] == "table" and "Youth table" in votes_csv


def test_a_report_does_not_quote_an_idea_whose_author_did_not_allow_it(as_facilitator, db, make_user):
    """An idea from a resident without quote permission appears in the report as a note, never its words."""
    found = ideas_session(db, make_user)
    pid = found["prompt"]["id"]
    shy = make_participant(db, found, quote_ok=False)
    idea = st.propose_statement(db, session_id=found["id"], prompt_id=pid, participant_id=shy.id, language="en",
                                body="My private idea", nonce="n-shy").id
    st.decide_statement(db, found["id"], idea, "approved", by_user=None)
    html = download(as_facilitator, found["id"], "html").get_data(as_text=True)
    assert "My private idea" not in html
    assert "A resident&#39;s idea (not quoted" in html or "A resident's idea (not quoted" in html


def test_withdrawal_removes_a_table_entered_persons_ideas_and_the_votes_on_them(as_facilitator, db, make_user):
    """The receipt of a person a notetaker typed in takes back their ideas (and others' votes on them) and their votes."""
    found, typed, sent, author = ideas_with_votes(db, make_user)
    st.cast_vote(db, session_id=found["id"], participant_id=author.id, statement_id=sent, vote=1, nonce="own-v",
                 language="en")
    before = count(db, "votes")
    outcome = queries.withdraw(db, author.receipt)
    assert outcome.outcome == "withdrawn"
    assert [r[0] for r in db.execute("SELECT id FROM statements")] == [sent]
    assert count(db, "votes") == before - 12 - 1
    data = json.loads(download(as_facilitator, found["id"], "json").get_data(as_text=True))
    assert [i["idea"] for i in data["ideas"]] == [f"S{sent}"]


@pytest.mark.parametrize("lang", ["ar", "ur"])
def test_the_ideas_screen_is_translated_and_right_to_left(client, db, lang):
    """In Arabic and Urdu the ideas screen is right to left and its words are translated."""
    found = ideas_session(db, languages=("en", "ar", "ur"))
    join(client, found, lang=lang)
    response = client.get(f"/s/{found['code']}/q/1")
    soup = page(response)
    assert soup.find("html")["dir"] == "rtl" and soup.find("html")["lang"] == lang
    label = soup.find("label", attrs={"for": "body"}).get_text(strip=True)
    assert label and label != "Your idea"
    assert "Send my idea" not in text_of(response)


def test_removing_a_table_keeps_its_ideas_and_another_sessions_table_is_not_found(as_facilitator, db, make_user):
    """Removing a table untags what was typed in for it; a table of another session answers 404 and stays."""
    found, typed, _sent, _author = ideas_with_votes(db, make_user)
    other = ideas_session(db, make_user)
    foreign = tb.add_table(db, other["id"], name="Theirs", language="en")
    [table] = tb.tables_for_session(db, found["id"])
    url = f"/staff/sessions/{found['id']}/tables"
    token = form_data(as_facilitator.get(url), -1)["csrf_token"]
    assert as_facilitator.post(f"{url}/{foreign}/remove", data={"csrf_token": token}).status_code == 404
    assert as_facilitator.post(f"{url}/{table['id']}/remove", data={"csrf_token": token}).status_code == 303
    assert tb.tables_for_session(db, found["id"]) == [] and len(tb.tables_for_session(db, other["id"])) == 1
    assert db.execute("SELECT table_id FROM statements WHERE id = ?", (typed,)).fetchone()[0] is None


@pytest.mark.parametrize("mode", ["self_paced", "live"])
def test_every_staff_page_and_export_works_with_an_ideas_question(as_facilitator, db, make_user, mode):
    """Overview, answers, entry, tables, console, projector, preview, review and every export answer without error."""
    found = ideas_session(db, make_user, mode=mode, extra=[{"kind": "open", "text": "Why?"}])
    pid = found["prompt"]["id"]
    table = tb.add_table(db, found["id"], name="Table 1", language="es")
    author = make_participant(db, found, quote_ok=True)
    st.enter_idea(db, session_id=found["id"], prompt_id=pid, participant_id=author.id, language="es", body="Una idea",
                  table_id=table, user_id=user_id(db, make_user("facilitator")))
    db.conn.commit()
    if mode == "live":
        db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?", (pid, found["id"]))
        db.conn.commit()
    sid = found["id"]
    for url in (f"/staff/sessions/{sid}", f"/staff/sessions/{sid}/answers", f"/staff/sessions/{sid}/entry",
                f"/staff/sessions/{sid}/entry?prompt=1&table={table}", f"/staff/sessions/{sid}/tables",
                f"/staff/sessions/{sid}/live", f"/staff/sessions/{sid}/live/panel", f"/staff/sessions/{sid}/projector",
                f"/staff/sessions/{sid}/projector/panel", f"/staff/sessions/{sid}/preview?lang=ar",
                f"/staff/review/{sid}", f"/staff/review/{sid}/opinions", f"/staff/sessions/{sid}/prompts/{pid}",
                f"/staff/sessions/{sid}/prompts/{pid}/statements"):
        assert as_facilitator.get(url).status_code == 200, url
    for fmt in ("html", "md", "docx", "csv", "xlsx", "json", "votes", "codebook"):
        assert download(as_facilitator, sid, fmt).status_code == 200, fmt


def test_the_answers_export_names_the_table_an_answer_was_typed_in_for(as_facilitator, db, make_user):
    """An open answer a notetaker typed in for a table carries the table's name in the CSV and JSON answers export."""
    import csv

    found = ideas_session(db, make_user, extra=[{"kind": "open", "text": "Anything else?"}])
    table = tb.add_table(db, found["id"], name="Mesa 2", language="es")
    url = f"/staff/sessions/{found['id']}/entry?table={table}&language=es&prompt=2&source=paper"
    submit(as_facilitator, f"/staff/sessions/{found['id']}/entry", {"answer": "Más autobuses", "consent_read": "y"},
           get_url=url)
    rows = list(csv.DictReader(io.StringIO(download(as_facilitator, found["id"], "csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["text"], r["table"]) for r in rows] == [("Más autobuses", "Mesa 2")]
    data = json.loads(download(as_facilitator, found["id"], "json").get_data(as_text=True))
    assert [(a["text"], a["table"]) for a in data["answers"]] == [("Más autobuses", "Mesa 2")]


def test_the_projector_shows_a_tables_most_agreed_ideas_and_counts_the_rest(as_facilitator, db, make_user):
    """A table with more ideas than fit shows its six most agreed with, and says how many more there are."""
    found = ideas_session(db, make_user, mode="live")
    pid = found["prompt"]["id"]
    table = tb.add_table(db, found["id"], name="Busy table", language="en")
    staff = user_id(db, make_user("facilitator"))
    ideas = []
    for i in range(8):
        person = make_participant(db, found, quote_ok=True)
        ideas.append(st.enter_idea(db, session_id=found["id"], prompt_id=pid, participant_id=person.id, language="en",
                                   body=f"Idea {i}", table_id=table, user_id=staff))
    db.conn.commit()
    voter = make_participant(db, found)
    st.cast_vote(db, session_id=found["id"], participant_id=voter.id, statement_id=ideas[7], vote=1, nonce="v-7",
                 language="en")
    db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?", (pid, found["id"]))
    db.conn.commit()
    soup = page(as_facilitator.get(f"/staff/sessions/{found['id']}/projector/panel"))
    cards = soup.find("ul", class_="ideas").find_all("li")
    shown = [li.find(class_="idea-words").find(class_="main").get_text(strip=True) for li in cards if "idea-note" not in (li.get("class") or [])]
    assert shown == ["Idea 7", "Idea 0", "Idea 1", "Idea 2", "Idea 3", "Idea 4"]
    assert "and 2 more ideas" in cards[-1].get_text(" ", strip=True)
    assert "1 agreed" in cards[0].get_text(" ", strip=True)
