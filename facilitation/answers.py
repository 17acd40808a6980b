"""A session's answers for staff: every answer by question, with the tallies of choice questions.
"""
from __future__ import annotations

from flask import render_template

from listening import queries
from listening.accounts import requires
from listening.db import get_db

from . import room_counts
from .blueprint import READERS, bp, load_session, titled

# --- answers ----------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/answers")
@requires(*READERS)
def session_answers(session_id: int):
    """Show every answer to each question, with counts for choice and scale questions."""
    found = load_session(session_id)
    db = get_db()
    texts = queries.texts_for_session(db, session_id)
    prompts = queries.prompts_for_session(db, session_id)
    answers = queries.responses_for_session(db, session_id)
    by_prompt: dict[int, list[dict]] = {p["id"]: [] for p in prompts}
    for row in answers:
        by_prompt.setdefault(row["prompt_id"], []).append(row)
    tallies = {}
    for prompt in prompts:
        if prompt["kind"] == "open":
            continue
        counts: dict = {}
        for row in by_prompt[prompt["id"]]:
            if row["skipped"]:
                continue
            values = row["choices"] if prompt["kind"] != "scale" else [row["number"]]
            for value in values:
                counts[value] = counts.get(value, 0) + 1
        tallies[prompt["id"]] = counts
    withheld = about_tallies(db, session_id, prompts, tallies)
    return render_template(
        "facilitation/answers.html", s=found, title=titled(found, texts), texts=texts, prompts=prompts,
        by_prompt=by_prompt, tallies=tallies, counts=queries.session_counts(db, session_id),
        own_words={p["id"]: own_words(by_prompt[p["id"]]) for p in prompts},
        withheld=withheld, threshold=room_counts.threshold_for(db, session_id), mark=room_counts.MARK,
    )


def own_words(answers: list[dict]) -> list[dict]:
    """Return the words people gave with a self-described choice (not hidden), sorted so no list order points to a person."""
    found = [{"words": r["described"], "language": r["language"]} for r in answers
             if not r["skipped"] and (r["described"] or "").strip() and not r.get("hidden_at")]
    return sorted(found, key=lambda w: (w["words"].casefold(), w["language"]))


def about_tallies(db, session_id: int, prompts: list[dict], tallies: dict) -> set[int]:
    """Put "about you" counts through the disclosure rule in place (hidden: None); return the prompts withheld."""
    threshold = room_counts.threshold_for(db, session_id)
    withheld = set()
    for prompt in prompts:
        if prompt["kind"] != "about":
            continue
        bars = [{"key": o["id"], "count": tallies[prompt["id"]].get(o["id"], 0)} for o in prompt["options"]]
        shown, held = room_counts.about_results(bars, threshold)
        tallies[prompt["id"]] = {bar["key"]: bar["count"] for bar in shown}
        if held:
            withheld.add(prompt["id"])
    return withheld
