"""React questions: one statement per screen, idempotent votes that can change, residents' own statements, withdrawal."""
import pytest

from listening import queries
from listening import statements as st
from tests.conftest import form_data, page, submit, text_of
from tests.factories import count, make_participant, make_session


def react_session(db, *, languages=("en", "es"), n=3, **kwargs):
    """Create an open session whose only question is a react question with `n` staff statements (Spanish translations)."""
    found = make_session(db, languages=languages, status="draft",
                         prompts=[{"kind": "react", "text": "What should the clinic do?"}], **kwargs)
    prompt = queries.prompts_for_session(db, found["id"])[0]
    ids = [st.add_statement(db, found["id"], prompt["id"], language="en", body=f"Statement {i}",
                            translations={"es": f"Declaración {i}"}) for i in range(n)]
    queries.set_status(db, found["id"], "open")
    found = queries.session_by_id(db, found["id"])
    found["prompt"], found["statements"] = prompt, ids
    return found


@pytest.fixture
def resident(client, db):
    """A resident who agreed to take part in a react session."""
    found = react_session(db)
    submit(client, f"/s/{found['code']}/consent", {"action": "agree", "take_part": "y"})
    client.s = found
    return client


def shown_statement(response) -> int:
    """Return the id of the statement a react screen offers to vote on."""
    return int(page(response).find("form", class_="vote").find("input", attrs={"name": "statement"})["value"])


def test_a_statement_is_shown_alone_with_three_labelled_buttons(resident):
    """The react screen shows one statement and Agree, Disagree and Pass buttons in one small form."""
    soup = page(resident.get(f"/s/{resident.s['code']}/q/1"))
    forms = soup.find_all("form", class_="vote")
    assert len(forms) == 1
    buttons = [(b["name"], b["value"], b.get_text(strip=True)) for b in forms[0].find_all("button")]
    assert buttons == [("vote", "agree", "Agree"), ("vote", "disagree", "Disagree"), ("vote", "pass", "Pass / Not sure")]
    assert soup.find(class_="statement-text").get_text(strip=True).startswith("Statement ")


def test_a_vote_is_stored_once_however_often_it_is_sent(resident, db):
    """Sending the same vote form twice (a double tap) stores one vote; the next screen shows another statement."""
    url = f"/s/{resident.s['code']}/q/1"
    shown = resident.get(url)
    data = form_data(shown, 0)
    data["vote"] = "agree"
    first = resident.post(f"{url}/vote", data=data)
    second = resident.post(f"{url}/vote", data=data)
    assert first.status_code == second.status_code == 302
    assert count(db, "votes") == 1
    nxt = resident.get(url)
    assert shown_statement(nxt) != int(data["statement"])


def test_a_vote_can_be_changed(resident, db):
    """Voting again on a statement from a new form replaces the earlier vote."""
    url = f"/s/{resident.s['code']}/q/1"
    sid = resident.s["statements"][0]
    submit(resident, f"{url}/vote", {"vote": "agree"}, get_url=f"{url}?statement={sid}", form_index=0)
    again = resident.get(f"{url}?statement={sid}")
    assert page(again).find(id="vote-now").find("strong").get_text(strip=True) == "Agree"
    submit(resident, f"{url}/vote", {"vote": "disagree"}, get_url=f"{url}?statement={sid}", form_index=0)
    assert [tuple(r) for r in db.execute("SELECT statement_id, vote FROM votes")] == [(sid, -1)]


def test_after_every_statement_the_screen_says_so_and_lists_the_votes(resident):
    """Once every statement has a vote, the screen thanks the resident and lists each vote with a link to change it."""
    url = f"/s/{resident.s['code']}/q/1"
    for _ in resident.s["statements"]:
        submit(resident, f"{url}/vote", {"vote": "pass"}, get_url=url, form_index=0)
    done = resident.get(url)
    soup = page(done)
    assert soup.find("form", class_="vote") is None
    assert "You have reacted to every statement for now" in text_of(done)
    assert len(soup.find("details", class_="mine").find_all("li")) == 3


def test_a_bad_vote_changes_nothing_and_says_why(resident, db):
    """A vote that is not agree, disagree or pass is refused with a translated message and stores nothing."""
    url = f"/s/{resident.s['code']}/q/1"
    data = form_data(resident.get(url), 0)
    data["vote"] = "maybe"
    response = resident.post(f"{url}/vote", data=data)
    assert response.status_code == 400
    assert "Please choose Agree, Disagree or Pass." in text_of(response)
    assert count(db, "votes") == 0


def test_a_vote_on_a_statement_of_another_session_is_refused(resident, db):
    """A forged statement id from another session stores nothing."""
    other = react_session(db)
    url = f"/s/{resident.s['code']}/q/1"
    data = form_data(resident.get(url), 0)
    data.update(vote="agree", statement=str(other["statements"][0]))
    response = resident.post(f"{url}/vote", data=data)
    assert response.status_code == 409
    assert count(db, "votes") == 0


def test_spanish_resident_sees_the_translation_marked_with_the_original_one_tap_away(client, db):
    """A statement written in English is shown in Spanish as a translation, with the English words in <details>."""
    found = react_session(db, n=1)
    client.get(f"/j/{found['code']}?lang=es")
    submit(client, f"/s/{found['code']}/consent", {"action": "agree", "take_part": "y"})
    soup = page(client.get(f"/s/{found['code']}/q/1"))
    quote = soup.find(class_="statement-text")
    assert quote.get_text(strip=True) == "Declaración 0" and quote["lang"] == "es"
    original = soup.find("details", class_="original")
    assert original.find("p")["lang"] == "en" and original.find("p").get_text(strip=True) == "Statement 0"
    assert soup.find(class_="translated") is not None


def test_own_statement_waits_for_moderation_and_is_stored_once(resident, db):
    """A resident's own statement is kept once per form as pending and is not shown to others until approved."""
    url = f"/s/{resident.s['code']}/q/1"
    data = form_data(resident.get(url), 1)
    data["body"] = "More evening hours"
    assert resident.post(f"{url}/statement", data=data).status_code == 302
    assert resident.post(f"{url}/statement", data=data).status_code == 302
    rows = [tuple(r) for r in db.execute("SELECT body, status, origin FROM statements WHERE participant_id IS NOT NULL")]
    assert rows == [("More evening hours", "pending", "resident")]
    other = make_participant(db, resident.s)
    assert all(s["body"] != "More evening hours" for s in st.statements_for_prompt(db, resident.s["prompt"]["id"], status="approved"))
    with pytest.raises(ValueError):
        st.cast_vote(db, session_id=resident.s["id"], participant_id=other.id,
                     statement_id=db.execute("SELECT id FROM statements WHERE participant_id IS NOT NULL").fetchone()[0],
                     vote=1, nonce="n-other-123", language="en")


def test_an_empty_or_long_statement_is_refused_with_a_clear_error(resident, db):
    """An empty or over-long statement is refused with a translated error and nothing is stored."""
    url = f"/s/{resident.s['code']}/q/1"
    for body, message in (("   ", "Please write your statement first."),
                          ("x" * 281, "Please keep your statement to 280 characters or fewer.")):
        data = form_data(resident.get(url), 1)
        data["body"] = body
        response = resident.post(f"{url}/statement", data=data)
        assert response.status_code == 400
        assert message in text_of(response)
    assert count(db, "statements") == 3


def test_nothing_is_stored_before_consent(client, db):
    """Someone who has not consented is sent to consent and no vote or statement is stored."""
    found = react_session(db)
    response = client.post(f"/s/{found['code']}/q/1/vote", data={"vote": "agree", "statement": found["statements"][0]})
    assert response.status_code == 302 and "/consent" in response.headers["Location"]
    assert count(db, "votes") == 0 and count(db, "participants") == 0


def test_withdrawal_deletes_votes_and_own_statements_with_the_votes_on_them(db):
    """Withdrawing with the receipt deletes the person's votes, their own statements and others' votes on those."""
    found = react_session(db)
    person, other = make_participant(db, found), make_participant(db, found)
    own = st.propose_statement(db, session_id=found["id"], prompt_id=found["prompt"]["id"], participant_id=person.id,
                               language="en", body="Mine", nonce="nonce-own-1").id
    st.decide_statement(db, found["id"], own, "approved", by_user=None)
    st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=found["statements"][0], vote=1,
                 nonce="nonce-vote-1", language="en")
    st.cast_vote(db, session_id=found["id"], participant_id=other.id, statement_id=own, vote=-1,
                 nonce="nonce-vote-2", language="en")
    st.cast_vote(db, session_id=found["id"], participant_id=other.id, statement_id=found["statements"][1], vote=1,
                 nonce="nonce-vote-3", language="en")
    outcome = queries.withdraw(db, person.receipt)
    assert outcome.outcome == "withdrawn"
    assert [tuple(r) for r in db.execute("SELECT participant_id, statement_id FROM votes")] == [(other.id, found["statements"][1])]
    assert count(db, "statements") == 3
    detail = db.execute("SELECT detail FROM deletion_log WHERE kind = 'withdrawal'").fetchone()[0]
    assert "votes=1 statements=1" in detail


def test_next_statement_favours_statements_with_few_votes(db, app):
    """The engine's scoring sends a phone to a statement nobody has voted on before well-voted ones."""
    found = react_session(db, n=2)
    voted, fresh = found["statements"]
    for i in range(30):
        person = make_participant(db, found)
        st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=voted, vote=1,
                     nonce=f"nonce-many-{i:03d}", language="en")
    chooser = app.extensions["chorus.next_statement"]
    counts = st.vote_tallies(db, found["prompt"]["id"])
    with app.app_context():  # the chooser reads the question's stored groups from the app's database
        picks = [chooser(found["prompt"]["id"], counts, [voted, fresh], set(), draw / 20) for draw in range(20)]
    assert picks.count(fresh) > picks.count(voted)


def staff_react_session(db, make_user):
    """Create a react session owned by the signed-in facilitator."""
    from tests.factories import user_id

    return react_session(db, created_by=user_id(db, make_user("facilitator")))


def test_facilitator_seeds_a_statement_with_its_translation(as_facilitator, db, make_user):
    """A facilitator adds a statement written in Spanish with an English translation; residents can vote on it at once."""
    found = staff_react_session(db, make_user)
    url = f"/staff/sessions/{found['id']}/prompts/{found['prompt']['id']}/statements"
    response = submit(as_facilitator, url, {"written_in": "es", "text_es": "Más horarios de noche", "text_en": "More evening hours"},
                      form_index=-1)
    assert response.status_code == 302
    added = st.statements_for_prompt(db, found["prompt"]["id"])[-1]
    assert (added["language"], added["body"], added["status"], added["translations"]) == (
        "es", "Más horarios de noche", "approved", {"en": "More evening hours"})


def test_a_seed_without_its_original_words_is_refused(as_facilitator, db, make_user):
    """A statement whose original-language box is empty is refused with a clear error and nothing is stored."""
    found = staff_react_session(db, make_user)
    url = f"/staff/sessions/{found['id']}/prompts/{found['prompt']['id']}/statements"
    response = submit(as_facilitator, url, {"written_in": "es", "text_en": "Only English"}, form_index=-1)
    assert response.status_code == 400
    assert "Please write the statement in the language it was written in." in text_of(response)
    assert count(db, "statements") == 3


def test_facilitator_approves_a_residents_statement_and_phones_then_show_it(as_facilitator, db, make_user):
    """A resident's statement waits in the queue; once approved it can be voted on by others."""
    found = staff_react_session(db, make_user)
    person, other = make_participant(db, found), make_participant(db, found)
    own = st.propose_statement(db, session_id=found["id"], prompt_id=found["prompt"]["id"], participant_id=person.id,
                               language="es", body="Transporte gratis", nonce="nonce-prop-1").id
    url = f"/staff/sessions/{found['id']}/prompts/{found['prompt']['id']}/statements"
    shown = as_facilitator.get(url)
    queue = page(shown).find("ol", class_="statements")
    assert queue.find("p").get_text(strip=True) == "Transporte gratis"
    data = form_data(shown, 0)
    data["action"] = "approved"
    assert as_facilitator.post(f"{url}/{own}", data=data).status_code == 302
    assert st.cast_vote(db, session_id=found["id"], participant_id=other.id, statement_id=own, vote=1,
                        nonce="nonce-vote-9", language="en").id is not None


@pytest.mark.parametrize("mode", ["self_paced", "live"])
def test_every_staff_page_and_export_works_with_a_react_question(as_facilitator, db, make_user, mode):
    """Overview, answers, entry, console, projector, review and every export answer without error for a session with votes."""
    from tests.factories import user_id

    found = react_session(db, mode=mode, created_by=user_id(db, make_user("facilitator")))
    queries.add_prompt(db, found["id"], kind="open", texts={"en": "Why?", "es": "¿Por qué?"})
    for i in range(12):
        person = make_participant(db, found)
        for j, sid in enumerate(found["statements"]):
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=sid,
                         vote=(1 if (i + j) % 3 else -1), nonce=f"nonce-{i:02d}-{j:02d}", language="en")
    if mode == "live":
        db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?", (found["prompt"]["id"], found["id"]))
        db.conn.commit()
    sid = found["id"]
    for url in (f"/staff/sessions/{sid}", f"/staff/sessions/{sid}/answers", f"/staff/sessions/{sid}/entry",
                f"/staff/sessions/{sid}/entry?prompt={found['prompt']['id']}",
                f"/staff/sessions/{sid}/live", f"/staff/sessions/{sid}/live/panel", f"/staff/sessions/{sid}/projector",
                f"/staff/sessions/{sid}/projector/panel", f"/staff/review/{sid}", f"/staff/review/{sid}/heard", f"/staff/review/{sid}/opinions",
                f"/staff/sessions/{sid}/prompts/{found['prompt']['id']}", f"/staff/sessions/{sid}/entry/votes"):
        # Staff entry sends a react question on to the page where a person's votes are typed in.
        assert as_facilitator.get(url, follow_redirects=True).status_code == 200, url
    from tests.conftest import download

    for fmt in ("html", "md", "docx", "csv", "xlsx", "json"):
        assert download(as_facilitator, sid, fmt).status_code == 200, fmt


def test_a_vote_on_a_statement_taken_down_meanwhile_says_so_and_offers_another(resident, db):
    """When the team declines a statement while a resident reads it, the vote is refused with a message and another statement is shown."""
    url = f"/s/{resident.s['code']}/q/1"
    sid = resident.s["statements"][0]
    data = form_data(resident.get(f"{url}?statement={sid}"), 0)
    st.decide_statement(db, resident.s["id"], sid, "declined", by_user=None)
    data["vote"] = "agree"
    response = resident.post(f"{url}/vote", data=data)
    assert response.status_code == 409
    assert "That statement is no longer open for votes. Here is another one." in text_of(response)
    assert shown_statement(response) in resident.s["statements"][1:]
    assert count(db, "votes") == 0


def test_merging_a_duplicate_moves_its_votes_and_keeps_one_vote_per_person(as_facilitator, db, make_user):
    """A resident's duplicate idea merged into a staff statement: votes only on the duplicate follow it, a person who voted
    on both keeps their vote on the statement kept, the duplicate leaves the vote, and the merge is in the audit log."""
    found = staff_react_session(db, make_user)
    kept_id = found["statements"][0]
    author, both, only_duplicate = (make_participant(db, found) for _ in range(3))
    duplicate = st.propose_statement(db, session_id=found["id"], prompt_id=found["prompt"]["id"], participant_id=author.id,
                                     language="en", body="statement 0!", nonce="nonce-dup").id
    st.decide_statement(db, found["id"], duplicate, "approved", by_user=None)
    for person, statement_id, vote, nonce in ((both, kept_id, st.AGREE, "v1"), (both, duplicate, st.DISAGREE, "v2"),
                                              (only_duplicate, duplicate, st.AGREE, "v3")):
        st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=statement_id, vote=vote,
                     nonce=nonce, language="en")
    url = f"/staff/sessions/{found['id']}/prompts/{found['prompt']['id']}/statements"
    shown = as_facilitator.get(url)
    select = page(shown).find("select", id=f"into-{duplicate}")
    assert kept_id in [int(o["value"]) for o in select.find_all("option")]
    data = form_data(shown, 0)
    data.update(action="merge", into=str(kept_id))
    done = as_facilitator.post(f"{url}/{duplicate}", data=data, follow_redirects=True)
    assert "Merged. Votes that moved with it: 1." in text_of(done)
    votes = sorted(tuple(r) for r in db.execute("SELECT participant_id, statement_id, vote FROM votes"))
    assert votes == sorted([(both.id, kept_id, st.AGREE), (only_duplicate.id, kept_id, st.AGREE)])
    row = db.execute("SELECT status, merged_into FROM statements WHERE id = ?", (duplicate,)).fetchone()
    assert tuple(row) == ("declined", kept_id)
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'statement_merged'").fetchone()[0] == 1


@pytest.mark.parametrize("into", ["", "abc", "999999", "self"])
def test_a_merge_into_nothing_or_itself_changes_nothing(as_facilitator, db, make_user, into):
    """Merging into a missing, malformed or the same statement says so and changes no vote or statement."""
    from tests.factories import every_table

    found = staff_react_session(db, make_user)
    first = found["statements"][0]
    url = f"/staff/sessions/{found['id']}/prompts/{found['prompt']['id']}/statements"
    shown = as_facilitator.get(url)
    data = form_data(shown, 0)
    data.update(action="merge", into=str(first) if into == "self" else into)
    before = every_table(db)
    done = as_facilitator.post(f"{url}/{first}", data=data, follow_redirects=True)
    assert done.status_code == 200 and "Nothing was changed." in text_of(done)
    after = every_table(db)
    assert {k: v for k, v in after.items() if k not in ("audit_log", "staff_sessions")} == \
        {k: v for k, v in before.items() if k not in ("audit_log", "staff_sessions")}


def test_a_resident_with_many_statements_waiting_is_asked_to_wait_for_the_team(resident, db):
    """One phone posted 150 statements for the team to read in seconds: a resident may have MAX_WAITING statements
    waiting on a question; the next is refused, in their language, until the team has read some; then they may add."""
    url = f"/s/{resident.s['code']}/q/1"
    for n in range(st.MAX_WAITING):
        data = form_data(resident.get(url), 1)
        assert resident.post(f"{url}/statement", data={**data, "body": f"Idea {n}"}).status_code == 302
    data = form_data(resident.get(f"{url}?lang=es"), 1)
    refused = resident.post(f"{url}/statement?lang=es", data={**data, "body": "One more"})
    assert refused.status_code == 429
    assert "esperan a que el equipo las lea" in text_of(refused)
    assert count(db, "statements") == 3 + st.MAX_WAITING
    first = db.execute("SELECT id FROM statements WHERE body = 'Idea 0'").fetchone()[0]
    st.decide_statement(db, resident.s["id"], first, "approved", by_user=None)
    data = form_data(resident.get(url), 1)
    assert resident.post(f"{url}/statement", data={**data, "body": "One more"}).status_code == 302


def test_another_residents_statement_reaches_phones_through_the_sessions_redaction(client, db):
    """A resident's approved statement goes to the other phones as every other copy of their words goes to others: the
    phone number and email they typed are redacted, in the statement and in its original; staff statements stay whole."""
    found = react_session(db, languages=("en",), n=0)
    author = make_participant(db, found)
    own = st.propose_statement(db, session_id=found["id"], prompt_id=found["prompt"]["id"], participant_id=author.id,
                               language="en", body="Call the clinic line 555-201-0143 or mary@example.org",
                               nonce="nonce-prop-r").id
    st.decide_statement(db, found["id"], own, "approved", by_user=None)
    submit(client, f"/s/{found['code']}/consent", {"action": "agree", "take_part": "y"})
    shown = text_of(client.get(f"/s/{found['code']}/q/1"))
    assert "Call the clinic line" in shown
    assert "555-201-0143" not in shown and "mary@example.org" not in shown
