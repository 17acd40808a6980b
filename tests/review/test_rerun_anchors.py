"""Re-runs keep reviewed themes whole: they go to the engine as anchors, new answers join them, and
a new draft that resembles one is flagged for the planner instead of standing beside it."""
from __future__ import annotations

import json

from analysis import messages
from analysis.review import queries as synthesis
from tests.conftest import page, sign_in, submit
from tests.factories import make_participant
from tests.review.conftest import answer

MORE_BUS = ["The bus to the clinic came late again", "No bus on Sundays so I missed the clinic",
            "The bus ride to appointments is far too long", "I waited an hour for the bus to the clinic"]


def _theme_of(db, sid: int, text_part: str) -> dict:
    """Return the active theme holding most answers that contain this text."""
    texts = {a["id"]: a["text"] for a in synthesis.open_answers(db, sid)}
    members = synthesis.current_members(db, sid)
    return max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"),
               key=lambda t: sum(text_part in texts[r] for r in members.get(t["id"], ())))


def _add(db, heard, texts) -> list[int]:
    """Add answers from new residents who allowed quoting; return their ids."""
    prompt = heard.prompts[0]
    return [answer(db, heard.session, make_participant(db, heard.session, quote_ok=True), prompt, text=t) for t in texts]


def test_a_rerun_keeps_a_reviewed_theme_whole_and_new_answers_join_it(themed, db):
    """Reviewed themes keep their row, label and answers on a re-run with more answers; fitting new answers join them."""
    sid = themed.session["id"]
    bus = _theme_of(db, sid, "bus")
    synthesis.rename_theme(db, sid, bus["id"], "Getting to the clinic", user_id=themed.planner_id)
    synthesis.set_reviewed(db, sid, bus["id"], True, user_id=themed.planner_id)
    before = synthesis.current_members(db, sid)[bus["id"]]
    existing = {t["id"] for t in synthesis.active_themes(db, sid)}
    new_ids = _add(db, themed, MORE_BUS)
    synthesis.run_themes(db, sid, user_id=themed.planner_id)
    after = synthesis.current_members(db, sid)
    kept = synthesis.theme_in_session(db, sid, bus["id"])
    assert kept is not None and kept["label"] == "Getting to the clinic" and kept["reviewed"]
    assert before <= after[bus["id"]]
    assert len(set(new_ids) & after[bus["id"]]) >= 3
    # The new answers form no new theme beside the reviewed one.
    for theme_id, members in after.items():
        if theme_id not in existing:
            assert len(members & set(new_ids)) <= 1, theme_id


def test_a_rerun_tells_the_engine_the_question_and_the_main_language(themed, db):
    """The run's method names the question's words and the session's main language is the one themes speak."""
    run = synthesis.latest_run(db, themed.session["id"])
    assert messages.METHOD_QUESTION_NOTE in run["method"]
    texts = synthesis.question_texts(db, themed.session["id"], [themed.prompts[0]["id"]])
    assert len(texts) == len(themed.session["languages"]) and all(texts)


def test_an_overlapping_draft_is_stored_with_its_flag(themed, db, monkeypatch):
    """A new draft the engine flags as overlapping a reviewed theme is stored pointing at it; reviewing it clears the flag."""
    import dataclasses

    from analysis import themes as engine

    sid = themed.session["id"]
    doula = _theme_of(db, sid, "doula")
    synthesis.set_reviewed(db, sid, doula["id"], True, user_id=themed.planner_id)
    real = engine.find_themes
    seen: dict = {}

    def flagged(*args, **kwargs):  # type: ignore[no-untyped-def]
        """Run the real engine, then flag its first draft as overlapping the first anchor (as the engine may)."""
        result = real(*args, **kwargs)
        seen["anchors"] = kwargs["anchors"]
        drafts = [t for t in result.themes if not t.reviewed]
        marked = tuple(dataclasses.replace(t, overlaps=kwargs["anchors"][0].id) if t is drafts[0] else t for t in result.themes)
        return dataclasses.replace(result, themes=marked)

    monkeypatch.setattr(engine, "find_themes", flagged)
    synthesis.run_themes(db, sid, user_id=themed.planner_id)
    assert [a.id for a in seen["anchors"]] == [f"r{doula['id']}"]
    assert seen["anchors"][0].answer_ids and set(seen["anchors"][0].answer_ids) == synthesis.current_members(db, sid)[doula["id"]]
    flagged_rows = [t for t in synthesis.active_themes(db, sid) if t["overlaps_theme_id"] == doula["id"]]
    assert len(flagged_rows) == 1 and not flagged_rows[0]["reviewed"]
    synthesis.set_reviewed(db, sid, flagged_rows[0]["id"], True, user_id=themed.planner_id)
    assert synthesis.theme_in_session(db, sid, flagged_rows[0]["id"])["overlaps_theme_id"] is None


def test_a_run_stores_the_engines_details(themed, db):
    """Each stored theme keeps coherence, the mixed mark, claims with true counts and sub-topics with sizes."""
    sid = themed.session["id"]
    stored = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    assert stored and all(t["coherence"] is not None for t in stored)
    members = synthesis.current_members(db, sid)
    for theme in stored:
        for claim in theme["claims"]:
            assert claim["count"] == len(claim["answer_ids"]) >= 2 and claim["text"]
        for sub in theme["subthemes"]:
            assert sub["size"] == len(sub["answer_ids"]) and set(sub["answer_ids"]) <= members[theme["id"]]
    raw = db.execute("SELECT claims, subthemes FROM themes WHERE session_id = ?", (sid,)).fetchall()
    assert all(isinstance(json.loads(c), list) and isinstance(json.loads(s), list) for c, s in raw)


def test_the_review_page_shows_the_engines_details(client, themed, db):
    """Cards show key terms, claims with true counts, sub-topics with sizes, the mixed mark, the overlap question and each quote's question."""
    sid = themed.session["id"]
    themes = [t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"]
    first, second = themes[0], themes[1]
    claims = [{"text": "The bus is late", "count": 7, "answer_ids": [1, 2, 3, 4, 5, 6, 7]}]
    subs = [{"label": "Sunday buses", "size": 5, "terms": ["Sunday"], "answer_ids": [1, 2, 3, 4, 5]}]
    db.execute("UPDATE themes SET claims = ?, subthemes = ?, mixed = 1 WHERE id = ?",
               (json.dumps(claims), json.dumps(subs), first["id"]))
    synthesis.set_reviewed(db, sid, second["id"], True, user_id=themed.planner_id)
    db.execute("UPDATE themes SET overlaps_theme_id = ? WHERE id = ?", (second["id"], first["id"]))
    db.conn.commit()
    sign_in(client, "lead@example.org", "a long password")
    soup = page(client.get(f"/staff/review/{sid}"))
    card = soup.find("h3", id=f"t-{first['id']}").find_parent("article")
    assert card.select_one(".badge.mixed").get_text(strip=True) == "Mixed — please review"
    assert [li.get_text(" ", strip=True) for li in card.select(".claims li")] == ["The bus is late ×7"]
    assert [li.get_text(" ", strip=True) for li in card.select(".subthemes li")] == ["Sunday buses (5 answers)"]
    assert card.select_one(".terms").get_text(strip=True).startswith("Words the engine found:")
    overlap = card.select_one(".overlap")
    assert second["label"] in overlap.get_text() and {b["value"] for b in overlap.select("button")} == {"merge", "review"}
    assert overlap.select_one("input[name=into]")["value"] == str(second["id"])
    sources = [p.get_text(strip=True) for p in soup.select(".quote-source")]
    assert sources and set(sources) == {"Question 1 · English"}  # its question and its language
    # Keeping it answers the question: the flag goes.
    index = [i for i, f in enumerate(soup.find_all("form")) if f.find_parent(class_="overlap")][0]
    response = submit(client, f"/staff/review/{sid}/edit", {"action": "review"}, get_url=f"/staff/review/{sid}", form_index=index)
    assert response.status_code in (302, 303)
    assert synthesis.theme_in_session(db, sid, first["id"])["overlaps_theme_id"] is None



def test_a_run_reads_placements_for_anchors_only_when_a_theme_was_reviewed(heard, db, monkeypatch):
    """With no reviewed theme a run's anchors are none, and every placement is not read for them (issue 19: 0.7 s
    at 200,000 answers)."""
    sid = heard.session["id"]
    monkeypatch.setattr(synthesis, "current_members", lambda *a: (_ for _ in ()).throw(AssertionError("read")))
    assert synthesis.reviewed_anchors(db, sid, {a["id"] for a in synthesis.open_answers(db, sid)}) == []
