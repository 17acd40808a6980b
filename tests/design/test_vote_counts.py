"""The per-statement vote counts the triggers keep (m042) and the phones' next-statement choice that reads them (issue 19):
after every write the app makes, and after random SQL writes, they equal the engine's tallies of every vote, and the
chooser picks the same statement as the old path (the tallies of every vote) for the same draw."""
from __future__ import annotations

import random

from analysis.opinions import VoteMatrix
from facilitation import live_queries as lq
from facilitation import opinion_live
from listening import queries
from listening import statements as st
from listening.retention import purge_session
from tests.factories import make_participant, make_session, user_id


def react_session(db, n=4):
    """An open session with a react question of `n` approved statements."""
    found = make_session(db, status="draft", prompts=[{"kind": "react", "text": "What should the clinic do?"}])
    prompt = queries.prompts_for_session(db, found["id"])[0]
    ids = [st.add_statement(db, found["id"], prompt["id"], language="en", body=f"Statement {i}") for i in range(n)]
    queries.set_status(db, found["id"], "open")
    found = queries.session_by_id(db, found["id"])
    found.update(prompt=prompt, statements=ids)
    return found


def approved(db, found) -> list[int]:
    return [s["id"] for s in st.statements_for_prompt(db, found["prompt"]["id"], status="approved")]


def matrix_counts(db, found) -> dict[int, tuple[int, int, int]]:
    """The engine's tallies of every vote (the old path), without statements nobody voted on."""
    matrix = VoteMatrix.from_votes(st.votes_for_prompt(db, found["prompt"]["id"]), statements=approved(db, found))
    return {t.statement: (t.agree, t.disagree, t.passes) for t in matrix.tallies() if t.votes}


def raw_counts(db) -> dict[tuple, int]:
    """Every vote grouped by question, statement and value, straight from the votes."""
    return {tuple(r[:3]): r[3] for r in db.execute(
        "SELECT prompt_id, statement_id, vote, count(*) FROM votes GROUP BY 1, 2, 3")}


def kept(db) -> dict[tuple, int]:
    return {tuple(r[:3]): r[3] for r in db.execute("SELECT prompt_id, statement_id, vote, n FROM vote_counts")}


def same(db, found):
    assert kept(db) == raw_counts(db)
    assert st.vote_tallies(db, found["prompt"]["id"]) == matrix_counts(db, found)
    assert db.execute("SELECT count(*) FROM vote_counts WHERE n <= 0").fetchone()[0] == 0


def test_counts_follow_every_app_write(db, make_user):
    """Votes, a changed vote, staff-entered votes, a merge, withdrawals by receipt and by staff and a purge keep the counts."""
    found = react_session(db)
    staff = user_id(db, make_user("facilitator"))
    a, b, c, d = found["statements"]
    people = [make_participant(db, found) for _ in range(5)]
    for i, person in enumerate(people):
        for j, sid in enumerate((a, b, c)):
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=sid,
                         vote=(i + j) % 3 - 1, nonce=f"count-{i}-{j}", language="en")
    same(db, found)
    st.cast_vote(db, session_id=found["id"], participant_id=people[0].id, statement_id=a, vote=1,
                 nonce="count-change", language="en")
    same(db, found)
    lq.enter_votes(db, found["id"], prompt_id=found["prompt"]["id"], votes={a: -1, d: 0}, language="en",
                   source="paper", user_id=staff, nonce="typed-count-1", table_id=None, participant_id=None)
    same(db, found)
    st.merge_statements(db, found["id"], c, b, by_user=staff)
    same(db, found)
    queries.withdraw(db, people[1].receipt)
    same(db, found)
    queries.withdraw_for(db, people[2].id, reason="in_person", by_user=staff)
    same(db, found)
    purge_session(db, found["id"], reason="test", by_user=staff)
    same(db, found)
    db.execute("DELETE FROM sessions WHERE id = ?", (found["id"],))
    assert kept(db) == {}


def test_counts_follow_random_sql_writes(db):
    """Inserts, changes of value, moves between statements and people, and deletes in SQL keep the counts exact."""
    found = react_session(db, n=5)
    people = [make_participant(db, found).id for _ in range(6)]
    rng = random.Random(19)
    sids = found["statements"]
    for step in range(300):
        kind = rng.random()
        row = db.execute("SELECT id FROM votes ORDER BY random() LIMIT 1").fetchone()
        if kind < 0.45 or row is None:
            db.execute("""INSERT OR IGNORE INTO votes (session_id, prompt_id, statement_id, participant_id, vote, language,
                          created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'en', 'x', 'x')""",
                       (found["id"], found["prompt"]["id"], rng.choice(sids), rng.choice(people), rng.choice((-1, 0, 1))))
        elif kind < 0.6:
            db.execute("UPDATE votes SET vote = ? WHERE id = ?", (rng.choice((-1, 0, 1)), row[0]))
        elif kind < 0.72:
            db.execute("UPDATE OR IGNORE votes SET statement_id = ? WHERE id = ?", (rng.choice(sids), row[0]))
        elif kind < 0.8:
            db.execute("UPDATE OR IGNORE votes SET participant_id = ?, vote = ? WHERE id = ?",
                       (rng.choice(people), rng.choice((-1, 0, 1)), row[0]))
        elif kind < 0.83:
            db.execute("UPDATE statements SET status = ? WHERE id = ?", (rng.choice(("approved", "declined")), rng.choice(sids)))
        else:
            db.execute("DELETE FROM votes WHERE id = ?", (row[0],))
        if step % 10 == 0:
            same(db, found)
    same(db, found)
    db.execute("DELETE FROM votes")
    assert kept(db) == {}


def test_the_chooser_picks_as_before_for_the_same_draw(db):
    """On a small session, with and without cached groups, the counts' chooser and the old one agree on every draw."""
    found = react_session(db, n=6)
    rng = random.Random(7)
    for i in range(12):
        person = make_participant(db, found)
        for j, sid in enumerate(rng.sample(found["statements"], 4)):
            st.cast_vote(db, session_id=found["id"], participant_id=person.id, statement_id=sid,
                         vote=rng.choice((-1, 0, 1)), nonce=f"draw-{i}-{j}", language="en")
    pid, ids = found["prompt"]["id"], approved(db, found)
    votes, counts = st.votes_for_prompt(db, pid), st.vote_tallies(db, pid)
    for groups in (None, opinion_live.compute_groups(votes, ids)):
        for draw in range(40):
            for done in (set(), set(ids[:2])):
                assert opinion_live.choose_next_counted(pid, counts, ids, done, draw / 40, groups) == \
                    opinion_live.choose_next(pid, votes, ids, done, draw / 40, groups)
