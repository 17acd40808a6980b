"""The counts in SQL (analysis/review/tallies.py) on the sessions the varied fixture of test_tallies.py lacks: a theme
heard in several languages, many answers set aside, a claim only another resident's words hold, few people with
several questions each, and answers whose authors belong to another session. Each is small and built by hand (no
theme engine run), and each page is compared with the full load's as well as with what a resident or planner
should see. Written for the survivors of `bench/mutants.py --only public-counts` (docs/testing.md)."""
from __future__ import annotations

import json

from analysis import assemble
from analysis.review import queries as synthesis
from analysis.review import tallies
from tests.factories import make_participant, make_session
from tests.review.conftest import answer
from tests.conftest import sign_in
from tests.review.test_tallies import assert_same_as_full_load

TWO_OPEN = [{"kind": "open", "text": "What helps you?"}, {"kind": "open", "text": "What gets in the way?"}]


def build(db, people: int, *, prompts=TWO_OPEN, quote_ok=lambda n: False):
    """A session of `people` residents; return it, its open questions and the residents."""
    session = make_session(db, prompts=prompts)
    questions = [p for p in synthesis.prompts_for_session(db, session["id"]) if p["kind"] == "open"]
    residents = [make_participant(db, session, quote_ok=quote_ok(n)) for n in range(people)]
    return session, questions, residents


def published(db, sid: int, *theme_ids: int) -> None:
    """Review these themes and publish the residents' page."""
    for theme_id in theme_ids:
        synthesis.set_reviewed(db, sid, theme_id, True, user_id=None)
    synthesis.save_settings(db, sid, published=True)
    db.conn.commit()


def sizes(db, sid: int) -> list:
    """The theme sizes the residents' page shows (None: hidden), after checking it equals the full load's."""
    assert_same_as_full_load(db, sid)
    return [t["size"] for t in tallies.public_summary(db, sid, "en")["themes"]]


def test_eleven_answers_from_nine_people_keep_their_theme_size_hidden(db):
    """Nine people (shown as "fewer than 10") answered two questions: 11 answers in a theme say at least six people
    wrote them, so the size is hidden; the pages count in SQL exactly as the full load does."""
    session, (first, second), residents = build(db, 9)
    ids = [answer(db, session, person, first, text=f"The bus is late {n}") for n, person in enumerate(residents)]
    ids += [answer(db, session, person, second, text=f"The bus never came {n}") for n, person in enumerate(residents[:2])]
    theme = synthesis.new_theme(db, session["id"], "Buses", user_id=None, response_ids=ids)
    published(db, session["id"], theme)
    assert sizes(db, session["id"]) == [None]
    summary = tallies.public_summary(db, session["id"], "en")
    assert summary["participants"] is None
    assert tallies.review_data(db, session["id"], "en")["hidden_in_reports"] == {theme}


def test_answers_whose_authors_belong_to_another_session_drop_the_per_person_cap(db):
    """Answers kept in a session whose authors now belong to another one have no known author here: the cap of
    answers per person (16 answers from 5 people at most 2 each cannot be) is dropped, as the full load drops it,
    and the theme's size of 16 is shown as the full load shows it."""
    session, (first, second), residents = build(db, 8)
    ids = [answer(db, session, person, q, text=f"Rides help {n} {q['id']}")
           for n, person in enumerate(residents) for q in (first, second)]
    other = make_session(db)
    db.execute(f"UPDATE participants SET session_id = ? WHERE id IN ({', '.join('?' * 3)})",
               (other["id"], *[p.id for p in residents[:3]]))
    theme = synthesis.new_theme(db, session["id"], "Rides", user_id=None, response_ids=ids)
    published(db, session["id"], theme)
    assert sizes(db, session["id"]) == [16]


def test_answers_set_aside_are_counted_as_set_aside_not_as_unsorted(db):
    """Twelve answers off topic and one not yet sorted beside a theme of 11: the lone unsorted answer needs a second
    hidden count, the theme's; folding the off-topic answers into "unsorted" would print the 11."""
    session, (first,), residents = build(db, 24, prompts=TWO_OPEN[:1])
    ids = [answer(db, session, person, first, text=f"Words {n}") for n, person in enumerate(residents)]
    theme = synthesis.new_theme(db, session["id"], "Clinic", user_id=None, response_ids=ids[:11])
    aside = synthesis.new_theme(db, session["id"], "Set aside", user_id=None, response_ids=ids[11:23])
    for rid in ids[11:23]:
        synthesis.move_answer(db, session["id"], rid, None, user_id=None, off_topic=True)
    published(db, session["id"], theme, aside)
    assert tallies.review_data(db, session["id"], "en")["grouped"].keys() == {theme, "off_topic", "unsorted"}
    assert sizes(db, session["id"]) == [None]


def test_a_themes_languages_are_listed_most_answers_first_and_ties_in_the_themes_own_order(db):
    """"Heard in" lists Spanish (4 answers) first, then Vietnamese before English (3 each: the theme's most typical
    answer is Vietnamese), then Arabic (1). Neither the languages' alphabetical order nor the order the answers were
    saved in (an English one first, a Vietnamese one last) gives that order."""
    session, (first,), residents = build(db, 11, prompts=TWO_OPEN[:1])
    ids = [answer(db, session, person, first, text=f"Words {n}") for n, person in enumerate(residents)]
    theme = synthesis.new_theme(db, session["id"], "Clinic", user_id=None, response_ids=ids)
    # In the order saved: (language, the theme's rank of the answer); Vietnamese holds rank 0.
    saved = [("en", 4), ("vi", 1), ("en", 2), ("vi", 0), ("en", 3), ("vi", 5),
             ("es", 6), ("es", 7), ("es", 8), ("es", 9), ("ar", 10)]
    for rid, (language, rank) in zip(ids, saved):
        db.execute("UPDATE theme_assignments SET rank = ? WHERE response_id = ?", (rank, rid))
        db.execute("UPDATE responses SET language = ? WHERE id = ?", (language, rid))
    published(db, session["id"], theme)
    assert_same_as_full_load(db, session["id"])
    heard = tallies.review_data(db, session["id"], "en")["heard_in"][theme]
    assert heard == [assemble.language_label(code, "en") for code in ("es", "vi", "en", "ar")]


def test_a_claim_made_by_residents_who_may_not_be_quoted_is_shown_when_another_residents_words_hold_it(db):
    """A claim pointing at two answers whose authors did not allow quoting is still printed when a resident who
    did allow it wrote the same words; one whose words nobody quotable wrote is left out."""
    session, (first,), residents = build(db, 4, prompts=TWO_OPEN[:1], quote_ok=lambda n: n == 3)
    texts = ["No bus on Sundays here", "No bus on Sundays at all", "Nobody speaks Spanish", "No bus on Sundays, ever"]
    ids = [answer(db, session, person, first, text=text) for person, text in zip(residents, texts)]
    theme = synthesis.new_theme(db, session["id"], "Buses", user_id=None, response_ids=ids)
    db.execute("UPDATE themes SET claims = ? WHERE id = ?", (json.dumps([
        {"text": "No bus on Sundays", "answer_ids": ids[:2]}, {"text": "Nobody speaks Spanish", "answer_ids": ids[1:3]}]),
        theme))
    published(db, session["id"], theme)
    assert_same_as_full_load(db, session["id"])
    shown = tallies.public_summary(db, session["id"], "en")["themes"][0]["claims"]
    assert [c["text"] for c in shown] == ["No bus on Sundays"]


def test_a_theme_whose_answers_were_all_moved_out_keeps_its_claims_out_and_every_page_working(client, db, make_user):
    """A planner moves every answer out of a theme that has claims and sub-topics: the emptied theme has no placement
    left, its claims point at nobody it holds, and the review, theme and residents' pages still answer and equal the
    full load (nothing from the moved answers is counted twice)."""
    session, (first,), residents = build(db, 12, prompts=TWO_OPEN[:1], quote_ok=lambda n: True)
    ids = [answer(db, session, person, first, text=f"No bus on Sundays {n}") for n, person in enumerate(residents)]
    emptied = synthesis.new_theme(db, session["id"], "Buses", user_id=None, response_ids=ids[:4])
    kept = synthesis.new_theme(db, session["id"], "Sundays", user_id=None, response_ids=ids[4:])
    db.execute("UPDATE themes SET claims = ?, subthemes = ? WHERE id = ?", (
        json.dumps([{"text": "No bus on Sundays", "answer_ids": ids[:3]}]),
        json.dumps([{"label": "Sundays", "answer_ids": ids[:4]}]), emptied))
    for rid in ids[:4]:
        synthesis.move_answer(db, session["id"], rid, kept, user_id=None)
    published(db, session["id"], emptied, kept)

    assert not db.execute("SELECT 1 FROM theme_assignments WHERE theme_id = ? AND status = 'theme'", (emptied,)).fetchall()
    assert sizes(db, session["id"]) == [12]
    counted = tallies.Counted(db, synthesis.load(db, session["id"], lenses=False, answers=False))
    assert counted.member_ids(emptied) == set() and counted.members({"id": emptied}).count_among(ids) == 0
    sign_in(client, make_user("admin"))
    for url in (f"/staff/review/{session['id']}", f"/staff/review/{session['id']}?theme={emptied}",
                f"/s/{session['code']}/results"):
        assert client.get(url).status_code == 200, url
