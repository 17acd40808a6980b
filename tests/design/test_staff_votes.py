"""A table's notetaker types in, person by person, what people at the table voted on paper: Agree / Disagree / Pass on a
react or ideas question's statements, and dots, rankings and points on a priority question. Staff-entered votes and
priorities are checked as a resident's own are and count wherever residents' do (issue 15, tables). Through pages."""
import csv
import io
import json

from analysis.opinions import VoteMatrix, find_opinion_groups
from analysis.review.queries import translations_for
from facilitation import live_queries as lq
from listening import queries
from listening import statements as st
from listening import tables as tb
from tests.conftest import download, form_data, page, submit, text_of
from tests.factories import count, make_participant, make_session, user_id

OPTIONS = ["Rides", "Food", "Doulas", "Childcare"]


def design_session(db, make_user, *, mode="live"):
    """An open session: a react question with four statements (Spanish translations), then a ranking (top 3) and dots (5)."""
    found = make_session(db, languages=("en", "es"), status="draft", mode=mode,
                         created_by=user_id(db, make_user("facilitator")),
                         prompts=[{"kind": "react", "text": "What should the clinic do?"},
                                  {"kind": "rank", "text": "Rank these", "options": OPTIONS},
                                  {"kind": "dots", "text": "Place your dots", "options": OPTIONS}])
    react, rank, dots = queries.prompts_for_session(db, found["id"])
    ids = [st.add_statement(db, found["id"], react["id"], language="en", body=f"Statement {i}",
                            translations={"es": f"Declaración {i}"}) for i in range(4)]
    queries.set_status(db, found["id"], "open")
    found = queries.session_by_id(db, found["id"])
    found.update(react=react, rank=rank, dots=dots, statements=ids)
    return found


def votes_url(found, **args) -> str:
    """Return the address of the votes entry page with its settings."""
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/staff/sessions/{found['id']}/entry/votes" + (f"?{query}" if query else "")


def enter_votes(client, found, choices: dict[int, str], *, same_person=False, **args):
    """Load the votes page with settings, choose a vote per statement and save; return the response to the POST."""
    fields = {f"vote-{sid}": choice for sid, choice in choices.items()}
    fields["consent_read"] = "y"
    if same_person:
        fields["same_person"] = "y"
    return submit(client, votes_url(found), fields, get_url=votes_url(found, **args))


def phone_votes(db, found, people: int, pattern) -> None:
    """Record `people` residents' own votes from their phones, each voting `pattern(i)` on every statement."""
    for i in range(people):
        person = make_participant(db, found)
        for sid in found["statements"]:
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=sid, vote=pattern(i, sid),
                         nonce=f"p-{i}-{sid}", language="en")


def test_a_notetaker_enters_three_peoples_votes_at_the_spanish_table_and_they_count_everywhere(as_facilitator, db, make_user):
    """Three people's paper votes typed in at the Spanish table: three people with consent read aloud, their votes tagged
    with the table, placed in opinion groups, counted on the console and projector, in the export with the table, audited."""
    found = design_session(db, make_user)
    sid = found["id"]
    first, second, third, fourth = found["statements"]
    phone_votes(db, found, 12, lambda i, s: 1 if (i < 6) == (s in (first, second)) else -1)
    table = tb.add_table(db, sid, name="Mesa española", language="es", note="con intérprete")
    db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?", (found["react"]["id"], sid))
    db.conn.commit()
    shown = as_facilitator.get(votes_url(found, prompt=1, table=table, language="es", source="paper"))
    assert shown.status_code == 200 and "Mesa española" in text_of(shown)
    legends = [f.find("legend").get_text(" ", strip=True) for f in page(shown).select("ol.entry-votes fieldset")]
    assert legends[0].startswith("Declaración 0") and "(translation)" in legends[0]
    labels = [label.get_text(strip=True) for label in page(shown).select(f"#vote-{first} label")]
    assert labels == ["Agree", "Disagree", "Pass", "No vote"]
    papers = [{first: "agree", second: "agree", third: "disagree", fourth: "pass"},
              {first: "agree", second: "pass", third: "disagree"},
              {first: "disagree", second: "disagree", third: "agree", fourth: "agree"}]
    for choices in papers:
        saved = enter_votes(as_facilitator, found, choices, prompt=1, table=table, language="es", source="paper")
        assert saved.status_code == 303 and f"table={table}" in saved.headers["Location"]
    typed = [dict(r) for r in db.execute(
        "SELECT v.*, c.method, p.source AS person_source FROM votes v JOIN participants p ON p.id = v.participant_id "
        "JOIN consents c ON c.participant_id = p.id "
        "WHERE v.entered_by IS NOT NULL ORDER BY v.id")]
    assert len(typed) == 11 and len({v["participant_id"] for v in typed}) == 3
    assert {(v["table_id"], v["source"], v["language"], v["method"], v["person_source"]) for v in typed} == \
        {(table, "paper", "es", "staff_verbal", "paper")}
    people = sorted({v["participant_id"] for v in typed})
    # Opinion groups: the three typed-in people are placed among the phones' people.
    votes = st.votes_for_prompt(db, found["react"]["id"])
    groups = find_opinion_groups(VoteMatrix.from_votes(votes, statements=found["statements"]), seed=0)
    assert all(groups.assignment.get(p) for p in people)
    # The console counts them with the phones' voters; the projector's groups are formed from all fifteen.
    panel = as_facilitator.get(f"/staff/sessions/{sid}/live/panel")
    assert "15 people have voted." in text_of(panel)
    link = next(a for a in page(panel).find_all("a") if a.get_text(strip=True) == "Type in votes")
    assert link["href"] == f"/staff/sessions/{sid}/entry/votes?prompt=1"
    projector = page(as_facilitator.get(f"/staff/sessions/{sid}/projector/panel"))
    assert projector.select(".react-heading")
    # The tables page counts the table's votes.
    row = page(as_facilitator.get(f"/staff/sessions/{sid}/tables")).find("tbody").find("tr")
    assert [td.get_text(strip=True) for td in row.find_all("td")][2:5] == ["0", "0", "11"]
    # The votes export names the table each vote was typed in at, and where it came from.
    exported = list(csv.DictReader(io.StringIO(download(as_facilitator, sid, "votes").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(exported) == 12 * 4 + 11
    assert {(r["source"], r["vote_table"]) for r in exported} == {("phone", ""), ("paper", "Mesa española")}
    assert all(r["group"] for r in exported if r["vote_table"])
    data = json.loads(download(as_facilitator, sid, "json").get_data(as_text=True))
    assert sum(1 for v in data["votes"] if v["vote_table"] == "Mesa española") == 11
    audit = [r[0] for r in db.execute("SELECT detail FROM audit_log WHERE action = 'staff_entry_votes' ORDER BY id")]
    assert len(audit) == 3 and all(f"table={table}" in d and "source=paper" in d for d in audit)
    assert "votes=4" in audit[0] and "votes=3" in audit[1]


def test_a_double_submit_stores_the_votes_once(as_facilitator, db, make_user):
    """The same form sent twice (a double tap, a retry) stores one person and their votes once, audited once."""
    found = design_session(db, make_user)
    url = votes_url(found, prompt=1)
    data = {**form_data(as_facilitator.get(url)), f"vote-{found['statements'][0]}": "agree",
            f"vote-{found['statements'][1]}": "disagree", "consent_read": "y"}
    assert as_facilitator.post(votes_url(found), data=data).status_code == 303
    assert as_facilitator.post(votes_url(found), data=data).status_code == 303
    assert count(db, "participants") == 1 and count(db, "votes") == 2
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'staff_entry_votes'").fetchone()[0] == 1


def test_same_person_keeps_one_person_across_votes_and_a_ranking(as_facilitator, db, make_user):
    """"Same person as the last entry" adds a ranking to the person whose votes were just typed in: one person, one receipt."""
    found = design_session(db, make_user)
    saved = enter_votes(as_facilitator, found, {found["statements"][0]: "pass"}, prompt=1, source="interpreter")
    after = as_facilitator.get(saved.headers["Location"])
    receipt = page(after).select_one(".entry-receipt .code").get_text(strip=True)
    assert "1 vote saved." in text_of(after)
    ids = [o["id"] for o in found["rank"]["options"]]
    url = f"/staff/sessions/{found['id']}/entry"
    ranked = submit(as_facilitator, url, {"answer-1": str(ids[1]), "answer-2": str(ids[0]), "consent_read": "y",
                                          "same_person": "y"}, get_url=f"{url}?prompt=2&source=interpreter")
    assert ranked.status_code == 303
    assert count(db, "participants") == 1
    person = queries.participant_by_receipt(db, receipt)
    assert json.loads(db.execute("SELECT choices FROM responses WHERE participant_id = ?", (person["id"],)).fetchone()[0]) \
        == [ids[1], ids[0]]


def test_a_bad_ranking_gets_the_translated_error_and_stores_nothing(as_facilitator, db, make_user):
    """A ranking with a gap, typed in by a Spanish-speaking notetaker, is refused with the residents' own check and
    message in Spanish: no person, no answer."""
    found = design_session(db, make_user)
    ids = [o["id"] for o in found["rank"]["options"]]
    url = f"/staff/sessions/{found['id']}/entry"
    shown = as_facilitator.get(f"{url}?prompt=2&lang=es")
    assert [s["name"] for s in page(shown).select("#choices select")] == ["answer-1", "answer-2", "answer-3"]
    refused = as_facilitator.post(url, data={**form_data(shown), "answer-2": str(ids[0]), "consent_read": "y"})
    message = translations_for("es").gettext("Please fill the places in order, starting with your first choice.")
    assert refused.status_code == 400
    assert message != "Please fill the places in order, starting with your first choice." and message in text_of(refused)
    assert count(db, "participants") == 0 and count(db, "responses") == 0
    twice = as_facilitator.post(url, data={**form_data(shown), "answer-1": str(ids[0]), "answer-2": str(ids[0]),
                                           "consent_read": "y"})
    assert twice.status_code == 400 and "más de una vez" in text_of(twice)
    assert count(db, "participants") == 0 and count(db, "responses") == 0


def test_dots_typed_in_at_a_table_count_in_live_results_and_planners_priorities(as_facilitator, db, make_user):
    """Five dots typed in at a table are checked and stored as a resident's are, carry the table, and count in the live
    tallies and the planners' priorities."""
    found = design_session(db, make_user)
    table = tb.add_table(db, found["id"], name="Youth table", language="en")
    ids = [o["id"] for o in found["dots"]["options"]]
    url = f"/staff/sessions/{found['id']}/entry"
    over = submit(as_facilitator, url, {f"answer-{ids[0]}": "4", f"answer-{ids[1]}": "3", "consent_read": "y"},
                  get_url=f"{url}?prompt=3&table={table}")
    assert over.status_code == 400 and "You placed 7 dots, but you have 5. Please take some off." in text_of(over)
    assert count(db, "responses") == 0
    saved = submit(as_facilitator, url, {f"answer-{ids[0]}": "3", f"answer-{ids[2]}": "2", "consent_read": "y"},
                   get_url=f"{url}?prompt=3&table={table}")
    assert saved.status_code == 303
    assert tuple(db.execute("SELECT table_id, source FROM responses").fetchone()) == (table, "paper")
    bars = lq.visible_tallies(db, found["id"], found["dots"])
    assert [(b["key"], b["count"]) for b in bars] == [(ids[0], 3), (ids[1], 0), (ids[2], 2), (ids[3], 0)]
    # Planners' priorities (the same table residents' dots fill) and the tables page count them too.
    section = page(as_facilitator.get(f"/staff/review/{found['id']}/opinions")).find(id=f"prio-{found['dots']['id']}").parent
    overall = {r.find_all("td")[0].get_text(strip=True): r.find_all("td")[1].get_text(strip=True)
               for r in section.find_all("table")[0].find("tbody").find_all("tr")}
    assert overall["Rides [en]"] == "3" and overall["Doulas [en]"] == "2"
    row = page(as_facilitator.get(f"/staff/sessions/{found['id']}/tables")).find("tbody").find("tr")
    assert [td.get_text(strip=True) for td in row.find_all("td")][2:5] == ["0", "1", "0"]


def test_a_bad_or_empty_votes_form_stores_nothing_and_says_why(as_facilitator, db, make_user):
    """No vote chosen, a vote that is not Agree, Disagree or Pass, or no consent read: a 400 with a message, nothing stored."""
    found = design_session(db, make_user)
    first = found["statements"][0]
    empty = enter_votes(as_facilitator, found, {}, prompt=1)
    assert empty.status_code == 400
    assert "Please choose Agree, Disagree or Pass for at least one statement." in text_of(empty)
    forged = enter_votes(as_facilitator, found, {first: "maybe"}, prompt=1)
    assert forged.status_code == 400 and "Please choose Agree, Disagree or Pass." in text_of(forged)
    unread = submit(as_facilitator, votes_url(found), {f"vote-{first}": "agree"}, get_url=votes_url(found, prompt=1))
    assert unread.status_code == 400
    assert "Please confirm that the consent statement was read to this person and they agreed." in text_of(unread)
    assert page(unread).find("input", id=f"vote-{first}-agree").has_attr("checked")
    assert count(db, "participants") == 0 and count(db, "votes") == 0


def test_a_statement_taken_down_meanwhile_stores_nothing(as_facilitator, db, make_user):
    """If a statement is declined while the form is open, the save says so and stores neither the person nor any vote."""
    found = design_session(db, make_user)
    first, second = found["statements"][:2]
    url = votes_url(found, prompt=1)
    data = {**form_data(as_facilitator.get(url)), f"vote-{first}": "agree", f"vote-{second}": "agree", "consent_read": "y"}
    st.decide_statement(db, found["id"], second, "declined", by_user=None)
    refused = as_facilitator.post(votes_url(found), data=data)
    assert refused.status_code == 409
    assert "A statement was taken down while you typed, so nothing was saved." in text_of(refused)
    assert count(db, "participants") == 0 and count(db, "votes") == 0
    assert page(refused).find("input", id=f"vote-{first}-agree").has_attr("checked")


def test_a_react_question_chosen_on_the_answers_page_opens_the_votes_page(as_facilitator, db, make_user):
    """Staff entry sends a react question to the page for votes, keeping the settings; an ideas question links to it."""
    found = design_session(db, make_user)
    moved = as_facilitator.get(f"/staff/sessions/{found['id']}/entry?prompt=1&language=es&source=paper")
    assert moved.status_code == 303
    assert moved.headers["Location"].startswith(f"/staff/sessions/{found['id']}/entry/votes?prompt=1")
    assert "language=es" in moved.headers["Location"]


def test_a_planner_cannot_type_in_votes(client, db, make_user):
    """Staff entry is for facilitators: a planner the session is shared with gets 403 and nothing is stored."""
    from tests.conftest import sign_in
    from tests.factories import share

    found = design_session(db, make_user)
    sign_in(client, make_user("planner"))
    share(db, found, "planner@example.org")
    assert client.get(votes_url(found, prompt=1)).status_code == 403
    posted = client.post(votes_url(found), data={"prompt": "1", f"vote-{found['statements'][0]}": "agree",
                                                 "consent_read": "y", "nonce": "abcdefghijklmnop"})
    assert posted.status_code == 403
    assert count(db, "participants") == 0 and count(db, "votes") == 0


def test_withdrawal_by_receipt_removes_typed_in_votes_and_a_removed_table_keeps_them(as_facilitator, client, db, make_user):
    """A typed-in person's receipt takes back their votes; removing a table keeps its other people's votes, untagged."""
    found = design_session(db, make_user)
    table = tb.add_table(db, found["id"], name="Mesa 1", language="es")
    first, second = found["statements"][:2]
    saved = enter_votes(as_facilitator, found, {first: "agree", second: "agree"}, prompt=1, table=table, language="es")
    receipt = page(as_facilitator.get(saved.headers["Location"])).select_one(".entry-receipt .code").get_text(strip=True)
    enter_votes(as_facilitator, found, {first: "disagree"}, prompt=1, table=table, language="es")
    assert count(db, "votes") == 3
    resident = client.application.test_client()
    assert submit(resident, "/withdraw", {"receipt": receipt, "confirm": "y"}).status_code == 200
    assert [tuple(r) for r in db.execute("SELECT statement_id, vote, table_id FROM votes")] == [(first, -1, table)]
    tb.remove_table(db, found["id"], table)
    assert [tuple(r) for r in db.execute("SELECT vote, table_id, entered_by IS NOT NULL FROM votes")] == [(-1, None, 1)]


def test_the_retention_purge_keeps_typed_in_votes_and_priorities(as_facilitator, db, make_user):
    """Votes and priority answers hold no words, so a retention purge keeps them, typed in or not."""
    from listening import retention

    found = design_session(db, make_user, mode="self_paced")
    enter_votes(as_facilitator, found, {found["statements"][0]: "agree"}, prompt=1)
    ids = [o["id"] for o in found["dots"]["options"]]
    url = f"/staff/sessions/{found['id']}/entry"
    submit(as_facilitator, url, {f"answer-{ids[0]}": "5", "consent_read": "y"}, get_url=f"{url}?prompt=3")
    queries.set_status(db, found["id"], "closed")
    retention.purge_session(db, found["id"], reason="retention")
    assert db.execute("SELECT purged_at FROM sessions WHERE id = ?", (found["id"],)).fetchone()[0]
    assert count(db, "votes") == 1
    assert json.loads(db.execute("SELECT choices FROM responses").fetchone()[0]) == [ids[0]] * 5


def test_the_entry_page_lists_typed_in_points_as_amounts(as_facilitator, db, make_user):
    """"What you typed in last" shows a budget or dots answer as each choice with its amount, not one entry per point."""
    found = design_session(db, make_user)
    ids = [o["id"] for o in found["dots"]["options"]]
    url = f"/staff/sessions/{found['id']}/entry"
    saved = submit(as_facilitator, url, {f"answer-{ids[1]}": "2", f"answer-{ids[0]}": "3", "consent_read": "y"},
                   get_url=f"{url}?prompt=3")
    recent = page(as_facilitator.get(saved.headers["Location"])).select_one(".entry-recent tbody tr")
    assert recent.find_all("td")[1].get_text(strip=True) == "Rides [en] (3), Food [en] (2)"


def test_priorities_typed_in_for_a_table_count_by_segment_under_the_small_count_rule(as_facilitator, db, make_user):
    """Eleven people typed in at a table (an "about you" answer, then dots, as "Same person") fill the planners'
    priorities by segment like phones' people do; a segment of three stays hidden."""
    staff = user_id(db, make_user("facilitator"))
    found = make_session(db, created_by=staff, prompts=[
        {"kind": "about", "text": "Age?", "demographic": "age", "options": ["Under 30", "30 or older"]},
        {"kind": "dots", "text": "Dots", "options": OPTIONS}])
    about, dots = queries.prompts_for_session(db, found["id"])
    table = tb.add_table(db, found["id"], name="Mesa 3", language="en")
    for i in range(14):
        young = i < 11
        person, _answer, _receipt = lq.enter_answer(
            db, found["id"], prompt_id=about["id"], language="en", source="paper", user_id=staff, nonce=f"about-{i:02d}x",
            choices=[about["options"][0 if young else 1]["id"]], table_id=table)
        lq.enter_answer(db, found["id"], prompt_id=dots["id"], language="en", source="paper", user_id=staff,
                        nonce=f"dots-{i:02d}xx", participant_id=person,
                        choices=[dots["options"][0 if young else 1]["id"]] * 5, table_id=table)
    section = page(as_facilitator.get(f"/staff/review/{found['id']}/opinions")).find(id=f"prio-{dots['id']}").parent
    overall = {r.find_all("td")[0].get_text(strip=True): r.find_all("td")[1].get_text(strip=True)
               for r in section.find_all("table")[0].find("tbody").find_all("tr")}
    assert overall["Rides [en]"] == "55" and overall["Food [en]"] == "15"
    heads = [th.get_text(strip=True) for th in section.find_all("table")[1].find("thead").find_all("th")]
    assert heads[1:3] == ["Under 30 [en] (*)", "30 or older [en] (*)"]
    assert tb.tables_for_session(db, found["id"])[0]["answers"] == 28


def test_same_person_needs_an_earlier_card_of_someone_still_taking_part(as_facilitator, db, make_user):
    """"Same person" before any card, or after the last card's person withdrew, is refused with a message that says
    why (400) and stores nothing; for a person still taking part it adds their votes to them."""
    from tests.factories import every_table

    found = design_session(db, make_user)
    first, second, third = found["statements"][:3]
    before = every_table(db)
    unknown = submit(as_facilitator, votes_url(found), {f"vote-{first}": "agree", "consent_read": "y", "same_person": "y"},
                     get_url=votes_url(found, prompt=1))
    assert unknown.status_code == 400 and "There is no earlier entry to continue." in text_of(unknown)
    assert every_table(db) == before
    saved = enter_votes(as_facilitator, found, {first: "agree"}, prompt=1)
    after = as_facilitator.get(saved.headers["Location"])
    receipt = page(after).select_one(".entry-receipt .code").get_text(strip=True)
    assert "1 vote typed in by staff so far." in text_of(after)
    again = enter_votes(as_facilitator, found, {second: "disagree"}, same_person=True, prompt=1)
    assert again.status_code == 303
    person = queries.participant_by_receipt(db, receipt)
    assert st.votes_of(db, person["id"], found["react"]["id"]) == {first: 1, second: -1}
    assert count(db, "participants") == 1
    queries.withdraw(db, receipt)
    before = every_table(db)
    gone = enter_votes(as_facilitator, found, {third: "pass"}, same_person=True, prompt=1)
    assert gone.status_code == 400
    assert "The person of the last entry has withdrawn, so nothing was saved." in text_of(gone)
    assert every_table(db) == before


def test_a_stale_votes_form_says_so_and_stores_nothing(as_facilitator, db, make_user):
    """A votes form whose token has expired (forged here) gets 400 and the "open for a long time" notice, nothing stored;
    the votes chosen stay chosen for the second press."""
    from tests.factories import every_table

    found = design_session(db, make_user)
    first = found["statements"][0]
    before = every_table(db)
    stale = submit(as_facilitator, votes_url(found), {f"vote-{first}": "disagree", "consent_read": "y",
                                                      "csrf_token": "forged##token"}, get_url=votes_url(found, prompt=1))
    assert stale.status_code == 400
    assert "This page was open for a long time. Please press Save again." in text_of(stale)
    assert page(stale).find("input", id=f"vote-{first}-disagree").has_attr("checked")
    assert every_table(db) == before


def test_the_votes_page_shows_each_statement_in_the_entry_language_and_marks_translations(as_facilitator, db, make_user):
    """At a Spanish table the notetaker reads each statement in Spanish, marked as a translation and as Spanish for a screen
    reader; one with no Spanish words is shown in its own language, marked as English; in English nothing is marked."""
    found = design_session(db, make_user)
    untranslated = st.add_statement(db, found["id"], found["react"]["id"], language="en", body="Open on Sundays")

    def legends(language):
        shown = as_facilitator.get(votes_url(found, prompt=1, language=language))
        assert shown.status_code == 200
        return {int(f["id"].removeprefix("vote-")): (f.legend.span["lang"], f.legend.span.get_text(strip=True),
                                                      "(translation)" in f.legend.get_text())
                for f in page(shown).select("ol.entry-votes fieldset")}

    spanish = legends("es")
    assert spanish[found["statements"][0]] == ("es", "Declaración 0", True)
    assert spanish[untranslated] == ("en", "Open on Sundays", False)
    english = legends("en")
    assert english[found["statements"][0]] == ("en", "Statement 0", False)
    assert set(english) == set(found["statements"]) | {untranslated}


def test_a_question_with_no_approved_statements_offers_no_votes_to_type_in(as_facilitator, db, make_user):
    """A react question whose only statement still waits for the team shows no votes form, and a post stores nothing."""
    from tests.factories import every_table

    found = make_session(db, languages=("en", "es"), status="draft", created_by=user_id(db, make_user("facilitator")),
                         prompts=[{"kind": "react", "text": "What should the clinic do?"}])
    queries.set_status(db, found["id"], "open")
    react = queries.prompts_for_session(db, found["id"])[0]
    resident = make_participant(db, found)
    waiting = st.propose_statement(db, session_id=found["id"], prompt_id=react["id"], participant_id=resident.id,
                                   language="en", body="Longer hours", nonce="waiting-0001").id
    shown = as_facilitator.get(votes_url(found, prompt=1))
    assert shown.status_code == 200
    assert "This question has no approved statements to vote on yet." in text_of(shown)
    assert page(shown).select("ol.entry-votes") == [] and "Save this person's votes" not in text_of(shown)
    before = every_table(db)
    posted = as_facilitator.post(votes_url(found), data={"prompt": "1", f"vote-{waiting}": "agree", "consent_read": "y",
                                                         "nonce": "abcdefghijklmnopqrstuv"})
    assert posted.status_code == 200
    assert every_table(db) == before


def test_a_statement_taken_down_at_the_moment_of_saving_stores_nothing_and_says_so(as_facilitator, db, make_user,
                                                                                    monkeypatch):
    """A moderator declines a statement in the instant between the page's checks and the save (the race the form
    check cannot see): the save stores neither the person nor any vote and answers 409 with the same message."""
    from tests.factories import every_table

    found = design_session(db, make_user)
    first, second = found["statements"][:2]
    store = lq.enter_votes

    def declined_meanwhile(conn, *args, **kwargs):
        """Decline the second statement just before the store runs, as a moderator on another screen would."""
        st.decide_statement(conn, found["id"], second, "declined", by_user=None)
        return store(conn, *args, **kwargs)

    monkeypatch.setattr(lq, "enter_votes", declined_meanwhile)
    url = votes_url(found, prompt=1)
    data = {**form_data(as_facilitator.get(url)), f"vote-{first}": "agree", f"vote-{second}": "agree", "consent_read": "y"}
    before = {table: n for table, n in every_table(db).items() if table not in ("statements", "audit_log")}
    refused = as_facilitator.post(votes_url(found), data=data)
    assert refused.status_code == 409
    assert "A statement was taken down while you typed, so nothing was saved." in text_of(refused)
    assert {table: n for table, n in every_table(db).items() if table not in ("statements", "audit_log")} == before
    assert count(db, "participants") == 0 and count(db, "votes") == 0


def test_the_votes_page_opens_with_no_permission_ticked(as_facilitator, db, make_user):
    """A fresh votes card has consent read, quote permission and "same person" unticked, and no vote chosen: a
    notetaker never saves a permission the person did not give because the page gave it for them."""
    found = design_session(db, make_user)
    enter_votes(as_facilitator, found, {found["statements"][0]: "agree"}, prompt=1)  # so "same person" is offered
    shown = as_facilitator.get(votes_url(found, prompt=1))
    assert shown.status_code == 200
    boxes = {box["id"]: box.has_attr("checked") for box in page(shown).select("input[type=checkbox]")}
    assert boxes == {"consent_read": False, "quote_ok": False, "same_person": False}
    chosen = [radio["id"] for radio in page(shown).select("ol.entry-votes input[type=radio][checked]")]
    assert chosen == [f"vote-{sid}-none" for sid in found["statements"]]


def test_a_broken_one_time_key_on_the_votes_page_is_replaced_so_the_next_save_works(as_facilitator, db, make_user):
    """A votes form sent with a malformed one-time key comes back with a new, valid one, and saving it then works."""
    found = design_session(db, make_user)
    url = votes_url(found, prompt=1)
    fields = {**form_data(as_facilitator.get(url)), f"vote-{found['statements'][0]}": "agree", "consent_read": "y",
              "nonce": "bad"}
    refused = as_facilitator.post(votes_url(found), data=fields)
    assert refused.status_code == 400 and count(db, "votes") == 0
    fresh = page(refused).find("input", attrs={"name": "nonce"})["value"]
    assert fresh != "bad" and len(fresh) >= 16
    assert as_facilitator.post(votes_url(found), data={**fields, "nonce": fresh}).status_code == 303
    assert count(db, "votes") == 1


def test_the_votes_page_names_the_table_a_statement_came_from(as_facilitator, db, make_user):
    """A statement first written at a table (an idea typed in there) names that table on the notetaker's card."""
    found = design_session(db, make_user)
    table = tb.add_table(db, found["id"], name="Table by the window", language="en")
    db.execute("UPDATE statements SET table_id = ? WHERE id = ?", (table, found["statements"][1]))
    db.conn.commit()
    shown = page(as_facilitator.get(votes_url(found, prompt=1)))
    legends = {f["id"]: f.legend.get_text(" ", strip=True) for f in shown.select("ol.entry-votes fieldset")}
    assert legends[f"vote-{found['statements'][1]}"].endswith("· Table by the window")
    assert "·" not in legends[f"vote-{found['statements'][0]}"]
