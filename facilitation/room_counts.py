"""What the live console, the projector and the answers page may count about people.

Counts of "about you" answers (age, race, language spoken...) and the sizes of draft themes on
the projector follow the same rule as every report: :mod:`analysis.disclosure` decides. A room of
four never sees "1 (25%)" beside a race: below the session's threshold the results wait, small
groups show the mark, and a percentage or a bar is drawn only from a published count.

Answers to ordinary choice and scale questions are opinions the room votes on in the open; they
are shown as they are (docs/privacy.md, "Small counts", says why).
"""
from __future__ import annotations

from collections.abc import Sequence

from analysis import disclosure
from listening import queries

MARK = disclosure.MARK


def threshold_for(db, session_id: int) -> int:
    """Return the session's disclosure threshold (10 unless a planner raised it)."""
    return disclosure.threshold_in_use(queries.synthesis_settings(db, session_id)["threshold"])


def about_results(bars: Sequence[dict], threshold: int) -> tuple[list[dict], bool]:
    """Return "about you" tallies as they may be shown, and whether they are withheld.

    Each bar keeps its key and labels; ``count`` is ``None`` when hidden and ``percent`` (of
    everyone who answered) is computed from published counts only, ``None`` otherwise. Withheld
    (fewer than ``threshold`` answers): every count is ``None``.
    """
    shown = disclosure.protect_line("about", [str(b["key"]) for b in bars], [b["count"] for b in bars],
                                    threshold=threshold)
    out = []
    for bar, count in zip(bars, shown.counts):
        part = disclosure.share(count, shown.total)
        out.append({**bar, "count": count, "percent": None if part is None else round(100 * part)})
    return out, shown.withheld


def draft_theme_sizes(draft: dict | None, threshold: int) -> list[dict]:
    """Return a draft of live themes as it may be shown: sizes hidden by the rule, published sizes first.

    Themes with a hidden size follow by label, so their order says nothing about their size.
    """
    if not draft:
        return []
    themes = draft["themes"]
    rest = max(int(draft.get("answer_count") or 0) - sum(int(t["size"]) for t in themes), 0)
    keys = [str(i) for i in range(len(themes))]
    shown = disclosure.protect_line("themes", [*keys, "rest"], [*(int(t["size"]) for t in themes), rest],
                                    threshold=threshold)
    sized = [{"label": t["label"], "size": shown.counts[i]} for i, t in enumerate(themes)]
    return sorted(sized, key=lambda t: (t["size"] is None, -(t["size"] or 0), t["label"].casefold()))
