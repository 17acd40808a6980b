"""A react question on the live screens at any size (issue 19): the console's and projector's counts come from the counts
the triggers keep (m043: exact at once, a withdrawal included), and the opinion groups are the ones stored in the
database, worked out off the staff request for a big question, emptied by a deleted vote and never shown with a
withdrawn person's votes in them."""
from __future__ import annotations

import random

import pytest

from analysis.review import tallies
from facilitation import opinion_live
from listening import jobs, queries
from listening import statements as st
from tests.conftest import page, text_of
from tests.design.test_opinions_pages import two_camps
from tests.factories import make_participant, user_id


def live_react(db, owner: int, camp: int = 12):
    """Two camps on a react question (24 voters, 7 statements), the question on the live screens."""
    db.execute("PRAGMA synchronous = OFF")  # a test's throwaway database: no fsync per vote
    found, ids = two_camps(db, owner, camp=camp, priority_in_first=min(11, camp))
    react = queries.prompts_for_session(db, found["id"])[1]
    db.execute("UPDATE sessions SET mode = 'live', current_prompt_id = ?, answering_open = 1 WHERE id = ?",
               (react["id"], found["id"]))
    db.conn.commit()
    return found, react["id"], ids


def voters_counted(db, prompt_id: int) -> int:
    """The people with a vote on an approved statement, counted from every vote (the old path)."""
    return len({p for p, _s, _v in st.votes_for_prompt(db, prompt_id)})


def console_voters(client, session_id: int) -> str:
    """The console panel's words on who voted."""
    return page(client.get(f"/staff/sessions/{session_id}/live/panel")).select_one("#react").get_text(" ", strip=True)


def test_counts_equal_a_recount_after_votes_changes_decisions_merges_and_withdrawals(as_admin, db, make_user, big):
    """Votes, a changed vote, a statement declined, approved again, merged and deleted, and withdrawals keep the kept
    voters and counts equal to a recount; the console says the new number of voters on its next poll."""
    found, pid, ids = live_react(db, user_id(db, make_user("admin")), camp=4)
    staff = user_id(db, make_user("facilitator"))

    def same():
        assert tallies.recount_votes(db) == {}
        assert st.vote_totals(db, pid)["voters"] == voters_counted(db, pid)
        assert f"{voters_counted(db, pid)} people have voted" in console_voters(as_admin, found["id"])

    same()
    person = make_participant(db, found)
    st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=ids[0], vote=1, nonce="n-1", language="en")
    st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=ids[0], vote=-1, nonce="n-2", language="en")
    assert st.vote_totals(db, pid)["voters"] == 9
    same()
    st.decide_statement(db, found["id"], ids[0], "declined", by_user=staff)
    assert st.vote_totals(db, pid)["voters"] == 8  # the newcomer voted only on the declined statement
    same()
    st.decide_statement(db, found["id"], ids[0], "approved", by_user=staff)
    same()
    st.merge_statements(db, found["id"], ids[1], ids[2], by_user=staff)
    same()
    queries.withdraw(db, person.receipt)
    assert st.vote_totals(db, pid)["voters"] == 8
    same()
    victim = db.execute("SELECT participant_id FROM votes WHERE prompt_id = ? LIMIT 1", (pid,)).fetchone()[0]
    queries.withdraw_for(db, victim, reason="in_person", by_user=staff)
    assert st.vote_totals(db, pid)["voters"] == 7
    same()
    db.execute("DELETE FROM statements WHERE id = ?", (ids[6],))
    db.conn.commit()
    same()


def test_counts_follow_random_sql_writes_to_votes_and_statements(db, make_user):
    """Inserts, changed values, moved votes, status changes and deletes of votes and statements, in SQL, keep every
    kept vote count equal to a recount."""
    found, pid, ids = live_react(db, user_id(db, make_user("admin")), camp=3)
    people = [r[0] for r in db.execute("SELECT id FROM participants WHERE session_id = ?", (found["id"],))]
    rng = random.Random(43)
    for step in range(250):
        kind = rng.random()
        row = db.execute("SELECT id FROM votes ORDER BY random() LIMIT 1").fetchone()
        if kind < 0.4 or row is None:
            db.execute("""INSERT OR IGNORE INTO votes (session_id, prompt_id, statement_id, participant_id, vote, language,
                          created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'en', 'x', 'x')""",
                       (found["id"], pid, rng.choice(ids[:6]), rng.choice(people), rng.choice((-1, 0, 1))))
        elif kind < 0.55:
            db.execute("UPDATE votes SET vote = ? WHERE id = ?", (rng.choice((-1, 0, 1)), row[0]))
        elif kind < 0.7:
            db.execute("UPDATE OR IGNORE votes SET statement_id = ?, participant_id = ? WHERE id = ?",
                       (rng.choice(ids[:6]), rng.choice(people), row[0]))
        elif kind < 0.85:
            db.execute("UPDATE statements SET status = ? WHERE id = ?",
                       (rng.choice(("approved", "declined", "pending")), rng.choice(ids[:6])))
        else:
            db.execute("DELETE FROM votes WHERE id = ?", (row[0],))
        if step % 25 == 0:
            assert tallies.recount_votes(db) == {}
            # What the consumer reads, a few votes at a time, is what one read of every vote gives, in the same order.
            assert st.votes_for_prompt_in_chunks(db, pid, chunk=7) == st.votes_for_prompt(db, pid)
    db.execute("DELETE FROM statements WHERE id = ?", (ids[6],))
    assert tallies.recount_votes(db) == {}
    db.execute("DELETE FROM sessions WHERE id = ?", (found["id"],))
    assert tallies.recount_votes(db) == {}
    assert db.execute("SELECT count(*) FROM vote_totals").fetchone()[0] == 0
    db.conn.commit()


@pytest.fixture
def big(monkeypatch):
    """Make every question "big": its groups are worked out by the job consumer, never in the staff request; what was
    asked of the consumer is recorded instead of queued."""
    asked = []
    monkeypatch.setattr(opinion_live, "GROUPS_IN_REQUEST_VOTES", 0)
    monkeypatch.setattr(jobs, "enqueue_quiet", lambda name, params: asked.append((name, params)))
    return asked


def no_engine(monkeypatch):
    """Fail if anything works groups out from here on."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("groups worked out in the request")

    monkeypatch.setattr(opinion_live, "find_opinion_groups", refuse)


def test_a_big_questions_screens_show_stored_groups_and_ask_the_consumer_once(as_admin, db, make_user, big, monkeypatch):
    """The screens never work a big question's groups out: they ask the job consumer once (claimed in the table), say the
    groups are being worked out, then show the stored ones with their time, while new votes only ask again later."""
    found, pid, ids = live_react(db, user_id(db, make_user("admin")))
    real = opinion_live.find_opinion_groups
    no_engine(monkeypatch)
    projector = f"/staff/sessions/{found['id']}/projector/panel"
    first = page(as_admin.get(projector))
    assert not first.select("ol.groups .count") and "The groups are being worked out." in first.get_text()
    assert "Opinion groups are being worked out" in console_voters(as_admin, found["id"])
    page(as_admin.get(projector))
    assert big == [("opinion_groups", {"prompt_id": pid})]  # one request, however many polls
    monkeypatch.setattr(opinion_live, "find_opinion_groups", real)
    opinion_live.opinion_groups_task(db, {"prompt_id": pid})  # what the consumer runs
    no_engine(monkeypatch)
    shown = page(as_admin.get(projector))
    assert [c.get_text(strip=True) for c in shown.select("ol.groups .count")] == ["12", "12"]
    assert shown.select_one(".groups-at") and "Groups as of" in shown.select_one(".groups-at").get_text()
    assert "worked out at" in console_voters(as_admin, found["id"]) and "from 168 votes" in console_voters(as_admin, found["id"])
    # New votes, a few seconds later: the stored groups stay on the screen, nothing is worked out or asked for yet.
    person = make_participant(db, found)
    st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=ids[0], vote=1, nonce="late", language="en")
    assert [c.get_text(strip=True) for c in page(as_admin.get(projector)).select("ol.groups .count")] == ["12", "12"]
    assert len(big) == 1
    # Past the refresh time with enough change, the screens ask again (once) and keep showing the stored groups.
    db.execute("UPDATE opinion_groups SET computed_at = '2026-01-01T00:00:00+00:00'")
    db.conn.commit()
    assert [c.get_text(strip=True) for c in page(as_admin.get(projector)).select("ol.groups .count")] == ["12", "12"]
    assert len(big) == 2


def test_a_withdrawal_empties_the_stored_groups_at_once(as_admin, db, make_user, big, monkeypatch):
    """A withdrawn voter's votes leave the stored groups with their votes: the row's summary is emptied in the same
    transaction, the projector shows no groups on its next poll and the consumer is asked for new ones."""
    found, pid, _ids = live_react(db, user_id(db, make_user("admin")))
    assert opinion_live.refresh_groups(db, pid) == "stored"
    db.execute("UPDATE opinion_groups SET requested_at = NULL")
    db.conn.commit()
    assert page(as_admin.get(f"/staff/sessions/{found['id']}/projector/panel")).select("ol.groups .count")
    victim = db.execute("SELECT participant_id FROM votes WHERE prompt_id = ? LIMIT 1", (pid,)).fetchone()[0]
    queries.withdraw_for(db, victim, reason="in_person", by_user=user_id(db, make_user("facilitator")))
    assert db.execute("SELECT summary FROM opinion_groups WHERE prompt_id = ?", (pid,)).fetchone()[0] is None
    assert tallies.recount_votes(db) == {}
    no_engine(monkeypatch)
    after = page(as_admin.get(f"/staff/sessions/{found['id']}/projector/panel"))
    assert not after.select("ol.groups .count") and "The groups are being worked out." in after.get_text()
    assert "23 answers so far" in after.get_text()
    assert big == [("opinion_groups", {"prompt_id": pid})]
    with as_admin.application.app_context():  # the phones' chooser has no groups to use either
        assert opinion_live.stored_groups(db, pid, [s["id"] for s in st.statements_for_prompt(db, pid, status="approved")]) is None


def test_groups_worked_out_while_someone_withdrew_are_not_stored(db, make_user, monkeypatch):
    """A computation that read a vote deleted before it finished stores nothing (the votes it read were a withdrawn
    person's), and asks again."""
    found, pid, _ids = live_react(db, user_id(db, make_user("admin")))
    staff = user_id(db, make_user("facilitator"))
    real = opinion_live.compute_groups

    def withdrawing(votes, statements):
        """Someone withdraws while the groups are worked out."""
        victim = db.execute("SELECT participant_id FROM votes WHERE prompt_id = ? LIMIT 1", (pid,)).fetchone()[0]
        queries.withdraw_for(db, victim, reason="in_person", by_user=staff)
        return real(votes, statements)

    monkeypatch.setattr(opinion_live, "compute_groups", withdrawing)
    assert opinion_live.refresh_groups(db, pid) == "stale"
    assert db.execute("SELECT count(*) FROM opinion_groups WHERE summary IS NOT NULL").fetchone()[0] == 0
    monkeypatch.setattr(opinion_live, "compute_groups", real)
    assert opinion_live.refresh_groups(db, pid) == "stored"
    assert tallies.recount_votes(db) == {}


def test_a_small_question_is_worked_out_in_the_request_and_shared_with_the_phones(as_admin, app, db, make_user):
    """Up to GROUPS_IN_REQUEST_VOTES votes the projector's request stores the groups itself; the phones' chooser then
    picks with exactly those groups, read from the database (no copy in a worker's memory)."""
    found, pid, ids = live_react(db, user_id(db, make_user("admin")))
    soup = page(as_admin.get(f"/staff/sessions/{found['id']}/projector/panel"))
    assert [c.get_text(strip=True) for c in soup.select("ol.groups .count")] == ["12", "12"]
    stored = db.execute("SELECT votes, voters, summary FROM opinion_groups WHERE prompt_id = ?", (pid,)).fetchone()
    assert (stored[0], stored[1]) == (168, 24) and '"members"' not in stored[2]
    counts = st.vote_tallies(db, pid)
    groups = opinion_live.compute_groups(st.votes_for_prompt(db, pid), ids)
    with app.app_context():
        for draw in range(20):
            assert opinion_live.choose_next_stored(pid, counts, ids, set(ids[:2]), draw / 20) == \
                opinion_live.choose_next_counted(pid, counts, ids, set(ids[:2]), draw / 20, groups)


def test_the_pages_without_javascript_show_the_same(as_admin, db, make_user):
    """The console page and the projector page (what a browser without JavaScript reloads) carry the kept counts and
    the stored groups as the panels do."""
    found, pid, _ids = live_react(db, user_id(db, make_user("admin")))
    console = text_of(as_admin.get(f"/staff/sessions/{found['id']}/live"))
    assert "24 people have voted" in console and "worked out at" in console
    projector = page(as_admin.get(f"/staff/sessions/{found['id']}/projector"))
    assert [c.get_text(strip=True) for c in projector.select("ol.groups .count")] == ["12", "12"]


def test_the_statements_page_counts_from_the_kept_counts(as_admin, db, make_user):
    """The staff statements page shows each statement's agree, disagree and pass counts without reading every vote."""
    found, pid, ids = live_react(db, user_id(db, make_user("admin")))
    response = as_admin.get(f"/staff/sessions/{found['id']}/prompts/{pid}/statements")
    assert response.status_code == 200
    assert "24" in text_of(response)


def test_the_consumers_work_goes_through_the_queue_without_a_jobs_row(tmp_path, monkeypatch):
    """Through the real queue (run at once with CHORUS_JOBS_IMMEDIATE), a big question's groups are stored by the
    registered quiet task; no `jobs` row or audit line is written and the session stays free for a long task."""
    from listening.accounts import create_user
    from listening.db import connect
    from tests.conftest import PASSWORD, migrated_app, sign_in

    app = migrated_app(tmp_path / "q.db", JOBS_IMMEDIATE=True)
    monkeypatch.setattr(opinion_live, "GROUPS_IN_REQUEST_VOTES", 0)
    db = connect(str(app.config["DATABASE"]))
    owner = create_user(db, "queue-admin@example.org", PASSWORD, "admin")
    found, pid, _ids = live_react(db, owner)
    client = app.test_client()
    sign_in(client, "queue-admin@example.org")
    client.get(f"/staff/sessions/{found['id']}/projector/panel")  # asks; the queue runs the task at once
    assert tuple(db.execute("SELECT votes, summary IS NOT NULL, requested_at FROM opinion_groups WHERE prompt_id = ?",
                      (pid,)).fetchone()) == (168, 1, None)
    shown = page(client.get(f"/staff/sessions/{found['id']}/projector/panel"))
    assert [c.get_text(strip=True) for c in shown.select("ol.groups .count")] == ["12", "12"]
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'job_%'").fetchone()[0] == 0
    db.conn.close()


def test_the_planners_page_shows_a_big_questions_stored_groups_as_worked_out_from_every_vote(as_admin, db, make_user,
                                                                                               monkeypatch):
    """Above GROUPS_IN_REQUEST_VOTES votes the review's opinions page never works the groups out in its request: it
    asks the job consumer once and says so, then shows the stored groups, which read as the page's own from every
    vote (sizes, what sets each group apart, consensus, divisive, agreement by group, the method), with when and
    from how many votes; priority groups are left to the report. A withdrawal empties them again."""
    from analysis.review import queries as synthesis
    from listening import opinion_store

    found, pid, ids = live_react(db, user_id(db, make_user("admin")))
    address = f"/staff/review/{found['id']}/opinions"
    in_request = page(as_admin.get(address))  # 168 votes: worked out in the request, from every vote

    def tables(soup):
        """The page's group tables and lists, without the notes that say how the groups were had."""
        return [t.get_text(" ", strip=True) for t in soup.select("section.panel table, section.panel ul")]

    asked = []
    monkeypatch.setattr(opinion_store, "GROUPS_IN_REQUEST_VOTES", 100)
    monkeypatch.setattr(jobs, "enqueue_quiet", lambda name, params: asked.append((name, params)))

    def refuse(*_args, **_kwargs):
        raise AssertionError("groups worked out in the request")

    real = synthesis.find_opinion_groups
    monkeypatch.setattr(synthesis, "find_opinion_groups", refuse)
    monkeypatch.setattr(opinion_live, "find_opinion_groups", refuse)
    waiting = page(as_admin.get(address)).get_text(" ", strip=True)
    assert "being worked out from its 168 votes" in waiting and asked == [("opinion_groups", {"prompt_id": pid})]
    page(as_admin.get(address))
    assert len(asked) == 1  # asked once, however many times the page is read
    monkeypatch.setattr(opinion_live, "find_opinion_groups", real)
    opinion_live.opinion_groups_task(db, {"prompt_id": pid})  # what the consumer runs
    monkeypatch.setattr(opinion_live, "find_opinion_groups", refuse)
    stored = page(as_admin.get(address))
    words = stored.get_text(" ", strip=True)
    assert "were worked out at" in words and "from 168 votes" in words and "newer groups" not in words
    assert "The reports (Reports and exports) compare them from every vote." in words
    assert tables(stored) == [t for t in tables(in_request) if "Agreed in this group" not in t]  # all but the priority group's
    notes = [p.get_text(" ", strip=True) for p in in_request.select("section.panel p.small")]
    assert notes[1] in words and "seed" in notes[1]  # the method note: how the groups were chosen, the same
    # A withdrawal: the stored groups go at once, and the page asks again.
    person = next(iter(st.votes_for_prompt(db, pid)))[0]
    queries.withdraw_for(db, person, reason="phone", by_user=user_id(db, make_user("facilitator")))
    again = page(as_admin.get(address)).get_text(" ", strip=True)
    assert "being worked out from its" in again and "were worked out at" not in again and len(asked) == 2
    monkeypatch.setattr(synthesis, "find_opinion_groups", real)


def test_a_design_session_with_many_votes_and_few_answers_is_big_for_its_exports(db, make_user):
    """Votes count towards CHORUS_JOBS_THRESHOLD at a fifth of an answer: a react question's reports work the groups
    out from every vote, so a session with few answers but many votes exports as a background job."""
    found, _pid, _ids = live_react(db, user_id(db, make_user("admin")))  # 24 answers, 168 votes
    answers = db.execute("SELECT count(*) FROM responses WHERE session_id = ?", (found["id"],)).fetchone()[0]
    assert answers == 24
    assert not jobs.background_wanted(db, found["id"], {"JOBS_THRESHOLD": 34})  # 168 votes <= 5 x 34
    assert jobs.background_wanted(db, found["id"], {"JOBS_THRESHOLD": 33})  # 168 votes > 5 x 33, 24 answers < 33
    assert jobs.background_wanted(db, found["id"], {"JOBS_THRESHOLD": 23})  # the answers alone


def test_a_backup_taken_before_a_withdrawal_restores_without_the_groups_that_held_their_votes(app, db, make_user, tmp_path):
    """Groups stored before a withdrawal are in a backup taken then; restoring it re-applies the withdrawal, which empties
    them as it did the first time, so no screen shows groups counting the withdrawn person."""
    from listening.backup import backup, restore
    from listening.db import connect

    found, pid, _ids = live_react(db, user_id(db, make_user("admin")))
    assert opinion_live.refresh_groups(db, pid) == "stored"
    copy = backup(app.config["DATABASE"], tmp_path / "backups" / "b.db")
    person = db.execute("SELECT p.id FROM participants p JOIN votes v ON v.participant_id = p.id LIMIT 1").fetchone()[0]
    queries.withdraw_for(db, person, reason="in_person", by_user=None)
    from listening.erasures import ledger_path

    assert restore(copy.path, tmp_path / "restored.db", ledgers=[ledger_path(app.config["DATABASE"])]).withdrawals == 1
    restored = connect(str(tmp_path / "restored.db"))
    try:
        assert restored.execute("SELECT summary FROM opinion_groups WHERE prompt_id = ?", (pid,)).fetchone()[0] is None
        assert restored.execute("SELECT count(*) FROM votes WHERE participant_id = ?", (person,)).fetchone()[0] == 0
    finally:
        restored.conn.close()
