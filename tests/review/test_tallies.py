"""The review, publish and residents' pages counted in SQL (issue 19, the cold path) equal what the full load of the
session computes, and never read every answer of the session into Python."""
from __future__ import annotations

import dataclasses
import json
import random

import pytest

from analysis import assemble, disclosure, equity
from analysis.review import queries as synthesis
from analysis.review import tallies, views
from facilitation import live_queries as lq
from listening import queries
from tests.factories import make_participant, make_session
from tests.review.conftest import answer
from tests.review.test_page_cache import assert_cached_matches_fresh
from tests.review.test_results_page import publish


def assert_same_as_full_load(db, sid: int) -> None:
    """Each page's data from SQL counts equals the one computed from the session's full load, in every language."""
    light = synthesis.load(db, sid, lenses=False)
    assert tallies.review_data(db, sid, "en") == views.review_data(light, "en")
    assert tallies.review_data(db, sid, "es") == views.review_data(light, "es")
    assert tallies.publish_data(db, sid) == views.publish_data(light)
    for language in ("en", "es"):
        assert tallies.public_summary(db, sid, language) == synthesis.public_summary(db, sid, language)
    assert_heard_same_as_full_load(db, sid, ("en", "es", "ar"))


def varied(client, themed, db) -> int:
    """Give the fixture's session what the pages show: choices of every kind, Spanish answers, chosen quotes, a
    translation, claims and sub-topics (with answers of others, withdrawn and unquotable), a move off-topic,
    an answer no run has placed yet, priority groups and reference shares, and the page published with every theme
    reviewed."""
    sid = themed.session["id"]
    single, multiple, scale = (next(p for p in themed.prompts if p["kind"] == kind) for kind in ("single", "multiple", "scale"))
    for n in range(14):
        person = make_participant(db, themed.session, quote_ok=n % 3 == 0, language="es" if n % 4 == 0 else "en")
        answer(db, themed.session, person, single, choices=[single["options"][n % 3]["id"]])
        answer(db, themed.session, person, multiple, choices=[o["id"] for o in multiple["options"][: 1 + n % 3]])
        answer(db, themed.session, person, scale, number=scale["scale_min"] + n % 3)
        answer(db, themed.session, person, themed.prompts[0], text=f"El autobús nunca llega a la clínica {n}", language="es")
    db.conn.commit()
    synthesis.run_themes(db, sid, user_id=themed.planner_id)
    themes = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    members = synthesis.current_members(db, sid)
    for theme in themes:
        synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    first, second = themes[0], themes[-1]
    ids = sorted(members[first["id"]])
    quotable = [r for r in ids if db.execute(
        "SELECT coalesce(c.quote_ok, 0) FROM responses r LEFT JOIN consents c ON c.participant_id = r.participant_id "
        "WHERE r.id = ?", (r,)).fetchone()[0]]
    synthesis.choose_quotes(db, sid, first["id"], quotable[:2], chosen=True, user_id=themed.planner_id)
    text = db.execute("SELECT text FROM responses WHERE id = ?", (quotable[0],)).fetchone()[0]
    words = " ".join(text.split()[:4])
    others = sorted(members[second["id"]])
    db.execute("UPDATE themes SET claims = ?, subthemes = ? WHERE id = ?", (
        json.dumps([{"text": words, "answer_ids": ids[:5] + others[:2]}, {"text": "Nobody said this", "answer_ids": ids},
                    {"text": words, "answer_ids": ids[:1]}]),
        json.dumps([{"label": words, "size": 3, "terms": ["bus", "clinic"], "answer_ids": ids[:3]},
                    {"label": "Unsaid words", "size": 4, "terms": ["late", "sunday"], "answer_ids": ids[1:5] + others[:3]}]),
        first["id"]))
    queries.store_answer_translation(db, quotable[0], "The bus never comes", language="en", user_id=themed.planner_id)
    synthesis.add_insight(db, sid, "insight", "Buses decide who reaches the clinic", theme_id=first["id"],
                          user_id=themed.planner_id)
    synthesis.add_insight(db, sid, "hmw", "How might we bring care to where people live?", theme_id=None,
                          user_id=themed.planner_id)
    synthesis.move_answer(db, sid, others[-1], None, user_id=themed.planner_id, off_topic=True)
    about = next(p for p in themed.prompts if p["kind"] == "about")
    synthesis.save_priority_groups(db, sid, [(about["id"], about["options"][1]["id"])], user_id=themed.planner_id)
    synthesis.save_reference(db, sid, about["id"], {about["options"][0]["id"]: 60.0, about["options"][1]["id"]: 40.0},
                             "Census", user_id=themed.planner_id)
    late = make_participant(db, themed.session, quote_ok=True)
    answer(db, themed.session, late, themed.prompts[0], text="Something nobody has sorted yet")
    db.conn.commit()
    publish(client, themed, db)
    return sid


def test_the_pages_counted_in_sql_equal_the_full_load(client, themed, db):
    """Sizes, hidden sizes, languages, quotes (chosen and picked), claims, sub-topics and choice results all match."""
    sid = varied(client, themed, db)
    assert_same_as_full_load(db, sid)
    insights = tallies.review_data(db, sid, "en")["insights"]
    assert sorted((theme_id is None, i["body"]) for theme_id, found in insights.items() for i in found) == [
        (False, "Buses decide who reaches the clinic"), (True, "How might we bring care to where people live?")]
    summary = tallies.public_summary(db, sid, "en")
    assert summary["themes"] and summary["choices"] and any(t["claims"] for t in summary["themes"])
    heard = tallies.heard_data(db, sid, "en")[0]
    assert heard.participation and heard.representation and heard.theme_by_group and heard.priority


def test_they_stay_equal_after_a_withdrawal_a_hidden_answer_and_a_higher_threshold(client, themed, db):
    """A withdrawal, a moderator's hidden answer and a stricter threshold change both computations the same way."""
    sid = varied(client, themed, db)
    quoted = tallies.public_summary(db, sid, "en")["themes"][0]["quotes"][0]["id"]
    author = db.execute("SELECT participant_id FROM responses WHERE id = ?", (quoted,)).fetchone()[0]
    people = tallies.heard_data(db, sid, "en")[0].participants
    queries.withdraw_for(db, author, reason=sorted(queries.STAFF_WITHDRAWAL_REASONS)[0], by_user=themed.planner_id)
    db.conn.commit()
    assert tallies.heard_data(db, sid, "en")[0].participants == people - 1  # "who was heard" no longer counts them
    assert quoted not in {q["id"] for t in tallies.public_summary(db, sid, "en")["themes"] for q in t["quotes"]}
    assert_same_as_full_load(db, sid)
    shown = tallies.public_summary(db, sid, "en")["themes"][0]["quotes"][0]["id"]
    lq.hide_response(db, sid, shown, user_id=themed.planner_id, reason="abuse")
    db.conn.commit()
    assert shown not in {q["id"] for t in tallies.public_summary(db, sid, "en")["themes"] for q in t["quotes"]}
    assert_same_as_full_load(db, sid)
    synthesis.save_settings(db, sid, threshold=disclosure.MAX_THRESHOLD)
    db.conn.commit()
    assert_same_as_full_load(db, sid)


def test_the_cached_pages_still_equal_a_fresh_computation(client, themed, db):
    """Served from the page cache or computed again, each page is the same."""
    varied(client, themed, db)
    assert_cached_matches_fresh(client.application, client, themed, db)


def test_the_pages_never_read_every_answer(client, themed, db, monkeypatch):
    """Counting in SQL, the review, theme, publish, residents' and "who was heard" pages never load the session's
    answers, people or "about you" answers."""
    sid = varied(client, themed, db)

    def refuse(*_args, **_kwargs):
        """Fail the test: the full list of answers or people was asked for."""
        raise AssertionError("read every answer")

    monkeypatch.setattr(synthesis, "open_answers", refuse)
    monkeypatch.setattr(synthesis, "taking_part", refuse)
    monkeypatch.setattr(synthesis, "choice_answers", refuse)
    monkeypatch.setattr(synthesis, "counted_answers", refuse)
    monkeypatch.setattr(synthesis, "participant_segments", refuse)
    client.application.extensions.pop("chorus.page_cache", None)
    theme = next(t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme")
    for url in (f"/staff/review/{sid}", f"/staff/review/{sid}?theme={theme['id']}", f"/staff/review/{sid}/publish",
                f"/s/{themed.session['code']}/results?lang=es", f"/staff/review/{sid}/heard"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("seed", range(40))
def test_releasing_sizes_from_counts_equals_releasing_a_snapshot_without_lenses(seed):
    """equity.release_sizes, given a snapshot's counts, decides exactly what equity.release of the snapshot does."""
    rng = random.Random(seed)
    themes = tuple(f"T{i}" for i in range(rng.randint(0, 6)))
    groups = themes + assemble.SET_ASIDE
    people = [equity.Person(i) for i in range(rng.randint(0, 40))]
    replies = []
    for n in range(rng.randint(0, 120) if people else 0):
        replies.append(equity.Reply(n, rng.choice(groups), rng.choice(people).id))
    stranger = seed % 5 == 0  # an answer whose author is not among the people: no cap from their number
    if stranger:
        replies.append(equity.Reply(10**6, rng.choice(groups), "someone else"))
    per_person = rng.randint(1, 3)
    snapshot = equity.Snapshot(answers=tuple(replies), groups=groups, themes=themes, people=tuple(people), per_person=per_person)
    threshold = rng.choice([disclosure.MIN_THRESHOLD, disclosure.MAX_THRESHOLD])
    counts: dict = {}
    given: dict = {}
    for reply in replies:
        counts[reply.group] = counts.get(reply.group, 0) + 1
        given[reply.person] = given.get(reply.person, 0) + 1
    most = None if stranger else max(per_person, *given.values(), 0)
    assert equity.release_sizes(groups, themes, counts, people=len(people), most_per_person=most,
                                threshold=threshold) == equity.release(snapshot, threshold=threshold)


def test_an_unpublished_session_has_no_residents_summary_even_when_asked_directly(client, themed, db):
    """The results page refuses an unpublished session before asking; the summary itself refuses too, so a new
    caller (a cache warmer, an export) cannot show residents what the team has not published."""
    sid = themed.session["id"]
    assert not synthesis.settings(db, sid)["published"]
    assert tallies.public_summary(db, sid, "en") is None
    assert tallies.public_summary(db, 99999, "en") is None


# --- who was heard ---------------------------------------------------------------------------------


def same_report(a, b) -> bool:
    """Tell whether two reports are the same but for the minute they were made."""
    return dataclasses.replace(a, generated_at="") == dataclasses.replace(b, generated_at="")


def assert_heard_same_as_full_load(db, sid: int, languages=("en",)) -> None:
    """"Who was heard"'s counts, release and report from SQL equal those of the session's full load (the page before)."""
    full = synthesis.load(db, sid, texts=False)
    counts = tallies.heard_counts(db, synthesis.load(db, sid, lenses=False, answers=False))
    assert counts == equity.count(assemble.snapshot(full))
    threshold = full.settings["threshold"]
    assert equity.release_counts(counts, threshold=threshold) == assemble.release(full)
    for language in languages:
        report, stored = tallies.heard_data(db, sid, language)
        expected, slim = views.heard_data(db, sid, language)
        assert same_report(report, expected), language
        assert (stored.prompts, stored.reference, stored.priority, stored.settings) == (
            slim.prompts, slim.reference, slim.priority, slim.settings)


def random_session(db, seed: int) -> int:
    """Build a small session at random, written straight into the tables: people in several languages and ways of
    taking part, two open and two "about you" questions (answered, skipped, blank, hidden, several or no choices),
    placements of every kind (a retired theme, a theme without id, off-topic, contentless, none), withdrawn people
    whose answers stay, priority groups, a threshold and, sometimes, an answer by another session's person."""
    rng = random.Random(seed)
    languages = ("en", "es", "vi")
    session = make_session(db, languages=languages, prompts=[
        {"kind": "open", "text": "What helps?"}, {"kind": "open", "text": "What is missing?"},
        {"kind": "single", "text": "How do you travel?", "options": ["Car", "Bus"]},
        {"kind": "about", "text": "Age?", "demographic": "age", "options": ["Under 30", "30 to 60", "Over 60"]},
        {"kind": "about", "text": "Where?", "demographic": "other", "options": ["North", "South"]}])
    sid = session["id"]
    prompts = queries.prompts_for_session(db, sid)
    opens = [p for p in prompts if p["kind"] == "open"]
    single = next(p for p in prompts if p["kind"] == "single")
    abouts = [p for p in prompts if p["kind"] == "about"]
    stamp = queries.now()
    themes = [db.execute("INSERT INTO themes (session_id, kind, label, machine_label, created_at, updated_at) "
                         "VALUES (?, ?, ?, '', ?, ?)", (sid, kind, f"Theme {n}", stamp, stamp)).lastrowid
              for n, kind in enumerate(["theme"] * rng.randint(1, 3) + ["other"])]
    if rng.random() < 0.3:
        db.execute("UPDATE themes SET retired_at = ? WHERE id = ?", (stamp, themes[0]))
    ids = iter(range(1, 10**6))

    def respond(person: int, prompt: dict, language: str, **values) -> int:
        """Write one answer row."""
        columns = {"session_id": sid, "participant_id": person, "prompt_id": prompt["id"], "language": language,
                   "created_at": stamp, "updated_at": stamp, "hidden_at": stamp if rng.random() < 0.06 else None, **values}
        return db.execute(f"INSERT INTO responses ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                          list(columns.values())).lastrowid

    db.execute("BEGIN")
    for n in range(rng.choice([rng.randint(0, 12), rng.randint(60, 240)])):
        joined_in = rng.choice(("en",) * 6 + languages)
        person = db.execute(
            "INSERT INTO participants (session_id, receipt_hash, language, source, created_at, withdrawn_at) VALUES (?, ?, ?, ?, ?, ?)",
            (sid, f"r{seed}-{next(ids)}", joined_in, rng.choice(["phone"] * 4 + ["paper", "voice"]), stamp,
             stamp if rng.random() < 0.07 else None)).lastrowid
        for prompt in abouts:
            roll = rng.random()
            if roll < 0.1:
                continue
            if roll < 0.14:
                respond(person, prompt, joined_in, skipped=1)
            elif roll < 0.17:
                respond(person, prompt, joined_in, choices=rng.choice(["[]", "", None]))
            else:
                options = [o["id"] for o in prompt["options"]]
                picked = [rng.choice(options[:1] * 5 + options)] + ([rng.choice(options)] if rng.random() < 0.1 else [])
                respond(person, prompt, joined_in, choices=json.dumps(picked))
        if rng.random() < 0.5:
            respond(person, single, joined_in, choices=json.dumps([rng.choice(single["options"])["id"]]))
        for prompt in opens:
            if rng.random() < 0.15:
                continue
            text = rng.choice(["The bus is late", "More clinics", "   ", "Doulas help", None])
            language = joined_in if seed % 3 == 0 or rng.random() < 0.9 else rng.choice(languages)
            rid = respond(person, prompt, language, text=text, skipped=int(rng.random() < 0.05))
            placed = rng.random()
            if placed < 0.75:
                db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, rank, updated_at) "
                           "VALUES (?, ?, ?, 'theme', ?, ?)", (rid, sid, rng.choice(themes[:1] * 4 + themes * 4 + [None]), n, stamp))
            elif placed < 0.9:
                db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, updated_at) "
                           "VALUES (?, ?, NULL, ?, ?)", (rid, sid, rng.choice(["off_topic", "contentless"]), stamp))
    db.conn.commit()
    if seed % 5 == 3:  # an answer whose author is another session's person: no cap from people, nothing follows them
        stranger = make_participant(db, make_session(db))
        respond(stranger.id, opens[0], "en", text="From elsewhere")
    picked = [(p["id"], o["id"]) for p in abouts for o in p["options"] if rng.random() < 0.3]
    synthesis.save_priority_groups(db, sid, picked, user_id=None)
    synthesis.save_settings(db, sid, threshold=rng.choice([disclosure.MIN_THRESHOLD, disclosure.MIN_THRESHOLD, disclosure.MAX_THRESHOLD]))
    db.conn.commit()
    return sid


def test_who_was_heard_from_sql_equals_the_full_load_on_random_sessions(app, db):
    """On random small sessions, "who was heard" counted in SQL shows and hides exactly what the full load does."""
    with app.test_request_context():
        for seed in range(10):
            sid = random_session(db, seed)
            try:
                assert_heard_same_as_full_load(db, sid, ("en", "es") if seed % 4 == 0 else ("en",))
            except AssertionError as failed:
                raise AssertionError(f"random session {seed}") from failed


def test_who_was_heard_from_sql_sees_an_answer_given_in_another_language_than_its_author_joined_in(app, db):
    """One Spanish- or Vietnamese-speaking resident answers in English, everyone else in the language they joined in:
    answers no longer follow people by language, and the SQL counts must say so exactly as the full load does."""
    with app.test_request_context():
        for seed in (0, 3, 6):  # every answer in its author's language (seed % 3 == 0)
            sid = random_session(db, seed)
            found = db.execute(
                """SELECT r.id FROM responses r JOIN participants p ON p.id = r.participant_id JOIN prompts q ON q.id = r.prompt_id
                   WHERE r.session_id = ? AND p.language IN ('es', 'vi') AND q.kind = 'open' AND r.skipped = 0
                     AND trim(coalesce(r.text, '')) != '' AND r.hidden_at IS NULL AND p.withdrawn_at IS NULL LIMIT 1""",
                (sid,)).fetchone()
            if found is None:
                continue
            db.execute("UPDATE responses SET language = 'en' WHERE id = ?", (found[0],))
            db.conn.commit()
            assert_heard_same_as_full_load(db, sid)
            return
    raise AssertionError("no random session had a Spanish or Vietnamese speaker's counted answer")
