"""A session's answers for staff: counts for every question, then the written answers a page at a time.

Nothing here loads a whole session: counts and tallies are SQL aggregates and the written answers
come 50 at a time, newest first, filtered in SQL (`listening.lists`), with "Older" and "Newer"
links that work without JavaScript.
"""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from listening import lists, queries
from listening.accounts import requires
from listening.db import get_db
from listening.i18n import source_labels
from listening.paging import cursor

from . import room_counts
from .blueprint import READERS, bp, load_session, titled

# --- answers ----------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/answers")
@requires(*READERS)
def session_answers(session_id: int):
    """Show counts for each question and one page of written answers, filtered as asked."""
    found = load_session(session_id)
    db = get_db()
    texts = queries.texts_for_session(db, session_id)
    prompts = queries.prompts_for_session(db, session_id)
    tallies = lists.choice_counts(db, session_id)
    for prompt in prompts:
        tallies.setdefault(prompt["id"], {})
    withheld = about_tallies(db, session_id, prompts, tallies)
    choices = filter_choices(db, session_id, prompts)
    chosen, error = read_filter(choices)
    listing = lists.answers_page(db, session_id, chosen, before=cursor(request.args.get("before")),
                                 after=cursor(request.args.get("after")))
    return render_template(
        "facilitation/answers.html", s=found, title=titled(found, texts), texts=texts, prompts=prompts,
        answered=lists.answer_counts(db, session_id), tallies=tallies, counts={"participants": lists.people_count(db, session_id)},
        own_words=lists.own_words(db, session_id),
        withheld=withheld, threshold=room_counts.threshold_for(db, session_id), mark=room_counts.MARK,
        listing=listing, matching=lists.count_answers(db, session_id, chosen), cap=lists.COUNT_CAP, chosen=chosen,
        filter_args=chosen.args(), choices=choices, error=error, numbers={p["id"]: p["number"] for p in prompts},
    )


def filter_choices(db, session_id: int, prompts: list[dict]) -> dict:
    """Return what each answer filter may be set to on this session."""
    return {
        "prompts": [p for p in prompts if p["kind"] == "open"],
        "languages": lists.answer_languages(db, session_id),
        "sources": lists.answer_sources(db, session_id),
        "segments": [(p, o) for p in prompts if p["kind"] == "about" for o in p["options"]],
        "themes": lists.session_themes(db, session_id),
        "source_labels": source_labels(),
    }


def read_filter(choices: dict) -> tuple[lists.AnswerFilter, str]:
    """Read the filter from the query string; a value the session does not offer is dropped and named in the error."""
    args = request.args
    wrong = False

    def number(name: str, allowed: set[int]) -> int | None:
        """Return a whole-number filter value that is one of `allowed`, else None (noting a wrong one)."""
        nonlocal wrong
        raw = args.get(name, "")
        if not raw:
            return None
        value = cursor(raw)
        if value not in allowed:
            wrong = True
            return None
        return value

    def text(name: str, allowed) -> str:
        """Return a text filter value that is one of `allowed`, else "" (noting a wrong one)."""
        nonlocal wrong
        raw = args.get(name, "")
        if raw and raw not in allowed:
            wrong = True
            return ""
        return raw

    chosen = lists.AnswerFilter(
        prompt_id=number("prompt", {p["id"] for p in choices["prompts"]}),
        language=text("language", choices["languages"]),
        source=text("source", choices["sources"]),
        hidden=text("hidden", lists.HIDDEN_FILTERS),
        option_id=number("segment", {o["id"] for _p, o in choices["segments"]}),
        theme_id=number("theme", {t["id"] for t in choices["themes"]}),
    )
    error = _("One of the filters is not available in this session, so it was left out.") if wrong else ""
    return chosen, error


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
