"""Claims with counts: short statements that several people made, merged, with how many made them.

Owns :class:`Claim` and :func:`find_claims`. Within one theme, each answer's point (the
sentence that carries the theme, see :func:`analysis.headline.point`) is reduced to its content
words; statements with the same content words, or nearly the same (Jaccard similarity at least
0.75, so "staff were kind" and "the staff were very kind" meet), are one claim, shown in the
words most people used and counted once per answer ("Staff were kind ×12"). Pure Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

from analysis.headline import clause_key, clean

__all__ = ["Claim", "find_claims"]

_MAX_CLAIM_WORDS = 12  # longer statements are quotes, not claims
_SAME_CLAIM = 0.75  # Jaccard similarity of content words above which two statements are one
_MIN_COUNT = 2
_LIMIT = 8


@dataclass(frozen=True)
class Claim:
    """A short statement several people made: its wording, how many made it, and their answers."""

    text: str
    count: int
    answer_ids: tuple[Hashable, ...]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Return the Jaccard similarity of two word sets."""
    return len(a & b) / len(a | b) if a or b else 0.0


def find_claims(points: Sequence[tuple[Hashable, str, str]], *, min_count: int = _MIN_COUNT, limit: int = _LIMIT,
                quotable: Collection[Hashable] | None = None) -> tuple[Claim, ...]:
    """Return the statements made by at least ``min_count`` answers, most often made first.

    ``points`` are (answer id, the answer's point, its language), most typical first. With
    ``quotable`` (the answers whose people allowed quoting), a claim is worded only in a quotable
    answer's words and a claim no quotable answer made is left out; every answer still counts.
    """
    groups: dict[frozenset[str], list[tuple[Hashable, str]]] = {}
    for answer_id, text, language in points:
        if not text or len(text.split()) > _MAX_CLAIM_WORDS:
            continue
        key = clause_key(text, language)
        if key:
            groups.setdefault(key, []).append((answer_id, clean(text, language)))
    # Merge near-identical statements into the larger group, largest groups first.
    keys = sorted(groups, key=lambda k: (-len(groups[k]), sorted(k)))
    merged: list[tuple[frozenset[str], list[tuple[Hashable, str]]]] = []
    # Only statements sharing a word can be alike (the keys are never empty), so each is compared
    # with those alone, in the order they were merged: the first alike is the one a scan of all finds.
    having: dict[str, list[int]] = {}
    for key in keys:
        candidates = sorted({index for word in key for index in having.get(word, ())})
        home = next((merged[i] for i in candidates if _jaccard(merged[i][0], key) >= _SAME_CLAIM), None)
        if home is None:
            for word in key:
                having.setdefault(word, []).append(len(merged))
            merged.append((key, list(groups[key])))
        else:
            home[1].extend(groups[key])
    claims = []
    for _key, members in merged:
        ids = tuple(dict.fromkeys(answer_id for answer_id, _ in members))
        if len(ids) < min_count:
            continue
        # The wording most people used; among equals, the most typical answer's (members come most typical first).
        speakers = members if quotable is None else [(aid, text) for aid, text in members if aid in quotable]
        if not speakers:
            continue
        wording = Counter(text.casefold() for _, text in speakers)
        order = {text: n for n, text in reversed(list(enumerate(t.casefold() for _, t in speakers)))}
        top = max(wording.items(), key=lambda item: (item[1], -order[item[0]]))[0]
        shown = next(text for _, text in speakers if text.casefold() == top)
        claims.append(Claim(shown, len(ids), ids))
    claims.sort(key=lambda c: (-c.count, c.text))
    return tuple(claims[:limit])
