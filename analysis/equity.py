"""Equity lens: who said what, without exposing small groups of people.

Owns three views of a theme assignment against a segment (any demographic answer, language or
source):

- ``theme_by_segment(assignment, segment_of, *, threshold=10) -> SuppressedTable``: counts,
  row and column totals and shares, with small-cell suppression. Counts below ``threshold``
  (5 to 11, default 10) are hidden; then complementary cells are hidden so that no hidden count
  can be recovered by subtracting visible cells from a row or column total; shares derived
  from hidden cells are hidden too. A total that is itself small is hidden, and its row or
  column with it.
- ``overrepresented(assignment, segment_of, *, threshold=10, alpha=0.05) -> list[Overrepresentation]``:
  themes raised more often in a segment than by everyone else, with Fisher's exact test
  (one-sided), a Benjamini-Hochberg adjusted p-value, and effect sizes (risk ratio and risk
  difference). Cells smaller than the threshold are never reported.
- ``rank_by_priority_groups(assignment, segment_of, priority, *, threshold=10) -> list[PriorityRank]``:
  themes ranked by how often the priority groups a planner names raised them ("design at the
  margins"), next to their rank among everyone.

Segments are given as a mapping (or callable) from answer id to segment value; answers without
a segment value are counted under ``MISSING_SEGMENT``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import false_discovery_control, fisher_exact

from analysis import messages

__all__ = [
    "SuppressedTable",
    "Cell",
    "Overrepresentation",
    "PriorityRank",
    "theme_by_segment",
    "overrepresented",
    "rank_by_priority_groups",
    "validate_threshold",
    "determined_cells",
    "MISSING_SEGMENT",
    "MIN_THRESHOLD",
    "MAX_THRESHOLD",
    "DEFAULT_THRESHOLD",
]

MISSING_SEGMENT = "(not given)"
MIN_THRESHOLD = 5
MAX_THRESHOLD = 11
DEFAULT_THRESHOLD = 10

SegmentOf = Mapping[Hashable, str | None] | Callable[[Hashable], str | None]


@dataclass(frozen=True)
class Cell:
    """One count of a suppressed table: its value, or ``None`` when hidden, and its share."""

    count: int | None
    share: float | None  # of the segment's (column's) answers; None when hidden
    suppressed: bool

    def display(self, threshold: int | None = None) -> str:
        """Return the count as shown to people: the number, or the suppression mark when hidden."""
        return messages.SUPPRESSED_MARK if self.suppressed else str(self.count)


@dataclass(frozen=True)
class SuppressedTable:
    """Theme-by-segment counts with small cells, and cells that would reveal them, hidden."""

    themes: tuple[str, ...]  # row keys
    segments: tuple[str, ...]  # column keys
    cells: Mapping[tuple[str, str], Cell]
    row_totals: Mapping[str, Cell]  # share: of all answers
    column_totals: Mapping[str, Cell]  # share: of all answers
    total: int
    threshold: int

    def cell(self, theme: str, segment: str) -> Cell:
        """Return the cell for one theme and one segment."""
        return self.cells[(theme, segment)]

    def visible_counts(self) -> dict[tuple[str, str], int | None]:
        """Return every cell's visible count (``None`` where suppressed)."""
        return {key: cell.count for key, cell in self.cells.items()}


@dataclass(frozen=True)
class Overrepresentation:
    """A theme raised more often in one segment than by everyone else, with test and effect."""

    theme: str
    segment: str
    count: int  # answers of the segment in the theme
    segment_total: int
    share_in_segment: float
    share_elsewhere: float
    risk_ratio: float
    risk_difference: float  # share_in_segment - share_elsewhere, in proportion points
    odds_ratio: float
    p_value: float  # Fisher's exact test, one-sided (greater)
    p_adjusted: float  # Benjamini-Hochberg over every theme-segment pair tested
    significant: bool


@dataclass(frozen=True)
class PriorityRank:
    """A theme's standing among priority groups next to its standing among everyone."""

    theme: str
    priority_count: int | None  # None when below the threshold
    priority_share: float | None
    priority_rank: int
    overall_count: int
    overall_share: float
    overall_rank: int
    rank_change: int  # positive: the theme ranks higher for the priority groups


def validate_threshold(threshold: int) -> int:
    """Return ``threshold`` if it is an integer from 5 to 11, else raise ``ValueError``."""
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ValueError(f"suppression threshold must be an integer, not {threshold!r}")
    if not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"suppression threshold must be from {MIN_THRESHOLD} to {MAX_THRESHOLD}, not {threshold}")
    return threshold


def _segment_lookup(segment_of: SegmentOf) -> Callable[[Hashable], str]:
    """Return a function giving an answer's segment, with missing values made explicit."""
    if callable(segment_of) and not isinstance(segment_of, Mapping):
        fn = segment_of
    else:
        mapping = segment_of

        def fn(answer_id: Hashable) -> str | None:
            """Look the answer up in the mapping."""
            return mapping.get(answer_id)

    def lookup(answer_id: Hashable) -> str:
        """Return the segment value, or ``MISSING_SEGMENT``."""
        value = fn(answer_id)
        if value is None or (isinstance(value, str) and not value.strip()):
            return MISSING_SEGMENT
        return str(value)

    return lookup


def _crosstab(assignment: Mapping[Hashable, str], segment_of: SegmentOf) -> tuple[list[str], list[str], np.ndarray]:
    """Return row keys, column keys and the count matrix of theme by segment."""
    lookup = _segment_lookup(segment_of)
    pairs = Counter((theme, lookup(aid)) for aid, theme in assignment.items())
    themes = sorted({t for t, _ in pairs}, key=_theme_sort_key)
    segments = sorted({s for _, s in pairs}, key=lambda s: (s == MISSING_SEGMENT, s))
    counts = np.zeros((len(themes), len(segments)), dtype=np.int64)
    ti = {t: i for i, t in enumerate(themes)}
    si = {s: j for j, s in enumerate(segments)}
    for (t, s), c in pairs.items():
        counts[ti[t], si[s]] = c
    return themes, segments, counts


def _theme_sort_key(theme_id: str) -> tuple[int, int, str]:
    """Sort theme ids as t1, t2, ..., t10, then other groups."""
    if theme_id.startswith("t") and theme_id[1:].isdigit():
        return (0, int(theme_id[1:]), theme_id)
    return (1, 0, theme_id)


def _suppress(counts: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return hidden-masks for cells, row totals and column totals, closed under recovery.

    Primary suppression hides cells with ``0 < count < threshold``. A hidden cell could be
    recovered from its row total if it were the only hidden cell of that row (total minus the
    visible cells), so a second cell is hidden in that row -- the smallest visible one, which
    loses the least information -- and likewise for columns; this repeats until stable. A
    small total is hidden with its row or column.
    """
    n_rows, n_cols = counts.shape
    hidden = (counts > 0) & (counts < threshold)
    row_tot = counts.sum(axis=1)
    col_tot = counts.sum(axis=0)
    row_hidden = (row_tot > 0) & (row_tot < threshold)
    col_hidden = (col_tot > 0) & (col_tot < threshold)
    # A row whose total is hidden shows nothing: its cells sum to a small number anyway.
    hidden[row_hidden, :] = True
    hidden[:, col_hidden] = True
    grand = int(counts.sum())
    changed = True
    while changed:
        changed = False
        # Rows: with a visible total, a row must not have exactly one hidden cell.
        for i in range(n_rows):
            if row_hidden[i]:
                continue
            if hidden[i].sum() == 1:
                changed |= _hide_one_more(hidden, counts, i, axis=0)
        for j in range(n_cols):
            if col_hidden[j]:
                continue
            if hidden[:, j].sum() == 1:
                changed |= _hide_one_more(hidden, counts, j, axis=1)
        # Hidden totals: if exactly one row total is hidden, it equals the grand total minus
        # the visible ones; hide a second total (and its row's cells) in that case.
        for mask, tot, axis in ((row_hidden, row_tot, 0), (col_hidden, col_tot, 1)):
            if mask.sum() == 1 and grand >= threshold:
                candidates = [(int(tot[x]), x) for x in range(len(tot)) if not mask[x] and tot[x] > 0]
                if candidates:
                    _, x = min(candidates)
                    mask[x] = True
                    if axis == 0:
                        hidden[x, :] = True
                    else:
                        hidden[:, x] = True
                    changed = True
        if not changed:
            # Two hidden cells per line can still leave one determined (a "bridge" between
            # two blocks of hidden cells); an exact audit finds these and closes a rectangle.
            changed = _close_determined(hidden, counts, row_hidden, col_hidden)
    return hidden, row_hidden, col_hidden


def determined_cells(hidden: np.ndarray, row_hidden: np.ndarray, col_hidden: np.ndarray) -> list[tuple[int, int]]:
    """Return hidden cells whose value follows exactly from the visible cells and totals.

    Unknowns are the hidden cells and hidden totals; each row, each column and the grand total
    gives one linear equation. An unknown is determined exactly when it is zero in every
    vector of the equations' null space.
    """
    n_rows, n_cols = hidden.shape
    cells = [(i, j) for i in range(n_rows) for j in range(n_cols) if hidden[i, j]]
    if not cells:
        return []
    index = {c: k for k, c in enumerate(cells)}
    rows_h = [i for i in range(n_rows) if row_hidden[i]]
    cols_h = [j for j in range(n_cols) if col_hidden[j]]
    n_vars = len(cells) + len(rows_h) + len(cols_h)
    equations: list[np.ndarray] = []
    for i in range(n_rows):
        eq = np.zeros(n_vars)
        for j in range(n_cols):
            if hidden[i, j]:
                eq[index[(i, j)]] = 1.0
        if row_hidden[i]:
            eq[len(cells) + rows_h.index(i)] = -1.0
        equations.append(eq)
    for j in range(n_cols):
        eq = np.zeros(n_vars)
        for i in range(n_rows):
            if hidden[i, j]:
                eq[index[(i, j)]] = 1.0
        if col_hidden[j]:
            eq[len(cells) + len(rows_h) + cols_h.index(j)] = -1.0
        equations.append(eq)
    for offset, members in ((len(cells), rows_h), (len(cells) + len(rows_h), cols_h)):
        eq = np.zeros(n_vars)
        eq[offset : offset + len(members)] = 1.0
        equations.append(eq)
    matrix = np.array(equations)
    _, sing, vt = np.linalg.svd(matrix)
    rank = int((sing > 1e-9).sum())
    null = vt[rank:]
    free = np.abs(null[:, : len(cells)]).max(axis=0) > 1e-9 if len(null) else np.zeros(len(cells), bool)
    return [c for c, f in zip(cells, free) if not f]


def _close_determined(hidden: np.ndarray, counts: np.ndarray, row_hidden: np.ndarray, col_hidden: np.ndarray) -> bool:
    """Hide a rectangle through one determined cell, if any; return whether anything changed."""
    stuck = determined_cells(hidden, row_hidden, col_hidden)
    if not stuck:
        return False
    i, j = stuck[0]
    n_rows, n_cols = counts.shape
    best: tuple[int, int, int] | None = None
    for i2 in range(n_rows):
        for j2 in range(n_cols):
            if i2 == i or j2 == j:
                continue
            corners = [(i, j2), (i2, j), (i2, j2)]
            cost = sum(int(counts[c]) for c in corners if not hidden[c])
            if best is None or cost < best[0]:
                best = (cost, i2, j2)
    if best is None:
        if hidden.all() and (row_hidden.all() if n_rows == 1 else col_hidden.all()):
            return False  # a one-cell table equals the grand total; nothing more can be hidden
        # A single row or column: its cells equal the totals; hide the whole line's totals.
        if n_rows == 1:
            col_hidden[:] = True
            hidden[:, :] = True
        else:
            row_hidden[:] = True
            hidden[:, :] = True
        return True
    _, i2, j2 = best
    for c in [(i, j2), (i2, j), (i2, j2)]:
        hidden[c] = True
    return True


def _hide_one_more(hidden: np.ndarray, counts: np.ndarray, index: int, axis: int) -> bool:
    """Hide the smallest visible cell in a row (axis 0) or column (axis 1); return whether one was."""
    line_hidden = hidden[index] if axis == 0 else hidden[:, index]
    line_counts = counts[index] if axis == 0 else counts[:, index]
    # Zero cells may be "hidden" too: a visible 0 would still reveal the hidden value, and
    # showing "<10" for a true 0 is the usual price of complementary suppression.
    candidates = [(int(line_counts[x]), x) for x in range(len(line_counts)) if not line_hidden[x]]
    if not candidates:
        return False
    _, x = min(candidates)
    if axis == 0:
        hidden[index, x] = True
    else:
        hidden[x, index] = True
    return True


def theme_by_segment(
    assignment: Mapping[Hashable, str],
    segment_of: SegmentOf,
    *,
    threshold: int = DEFAULT_THRESHOLD,
) -> SuppressedTable:
    """Return the theme-by-segment table with small counts and their complements suppressed."""
    validate_threshold(threshold)
    themes, segments, counts = _crosstab(assignment, segment_of)
    if counts.size == 0:
        return SuppressedTable((), (), {}, {}, {}, 0, threshold)
    hidden, row_hidden, col_hidden = _suppress(counts, threshold)
    total = int(counts.sum())
    col_tot = counts.sum(axis=0)
    row_tot = counts.sum(axis=1)
    cells: dict[tuple[str, str], Cell] = {}
    for i, t in enumerate(themes):
        for j, s in enumerate(segments):
            if hidden[i, j] or col_hidden[j]:
                cells[(t, s)] = Cell(None, None, True)
            else:
                share = float(counts[i, j] / col_tot[j]) if col_tot[j] else 0.0
                cells[(t, s)] = Cell(int(counts[i, j]), share, False)
    row_cells = {
        t: Cell(None, None, True) if row_hidden[i] else Cell(int(row_tot[i]), float(row_tot[i] / total), False)
        for i, t in enumerate(themes)
    }
    col_cells = {
        s: Cell(None, None, True) if col_hidden[j] else Cell(int(col_tot[j]), float(col_tot[j] / total), False)
        for j, s in enumerate(segments)
    }
    return SuppressedTable(tuple(themes), tuple(segments), cells, row_cells, col_cells, total, threshold)


def overrepresented(
    assignment: Mapping[Hashable, str],
    segment_of: SegmentOf,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    alpha: float = 0.05,
    exclude: Iterable[str] = ("contentless",),
) -> list[Overrepresentation]:
    """Return themes over-represented in a segment versus everyone else, most significant first."""
    validate_threshold(threshold)
    skip = set(exclude)
    themes, segments, counts = _crosstab({a: t for a, t in assignment.items() if t not in skip}, segment_of)
    total = int(counts.sum())
    col_tot = counts.sum(axis=0)
    row_tot = counts.sum(axis=1)
    raw: list[tuple[int, int, float, float, float, float]] = []
    for i in range(len(themes)):
        for j in range(len(segments)):
            a = int(counts[i, j])
            seg_n = int(col_tot[j])
            rest_n = total - seg_n
            c = int(row_tot[i]) - a
            # Only cells that may be shown: a small count is never reported, whatever its p.
            if a < threshold or seg_n - a < threshold or rest_n == 0:
                continue
            odds, p = fisher_exact([[a, seg_n - a], [c, rest_n - c]], alternative="greater")
            share_in = a / seg_n
            share_out = c / rest_n
            ratio = share_in / share_out if share_out > 0 else float("inf")
            raw.append((i, j, float(p), float(odds), share_in, share_out))
            del ratio
    if not raw:
        return []
    adjusted = false_discovery_control([r[2] for r in raw], method="bh")
    out = []
    for (i, j, p, odds, share_in, share_out), p_adj in zip(raw, adjusted):
        if share_in <= share_out:
            continue
        out.append(
            Overrepresentation(
                theme=themes[i],
                segment=segments[j],
                count=int(counts[i, j]),
                segment_total=int(col_tot[j]),
                share_in_segment=share_in,
                share_elsewhere=share_out,
                risk_ratio=share_in / share_out if share_out > 0 else float("inf"),
                risk_difference=share_in - share_out,
                odds_ratio=odds,
                p_value=p,
                p_adjusted=float(p_adj),
                significant=bool(p_adj < alpha),
            )
        )
    out.sort(key=lambda o: (o.p_adjusted, -o.risk_difference, o.theme, o.segment))
    return out


def rank_by_priority_groups(
    assignment: Mapping[Hashable, str],
    segment_of: SegmentOf,
    priority: Sequence[str],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    exclude: Iterable[str] = ("contentless", messages.OTHER_ID),
) -> list[PriorityRank]:
    """Rank themes by their share among the priority groups' answers (design at the margins)."""
    validate_threshold(threshold)
    if not priority:
        raise ValueError("name at least one priority group")
    lookup = _segment_lookup(segment_of)
    wanted = {str(p) for p in priority}
    skip = set(exclude)
    overall: Counter[str] = Counter()
    prio: Counter[str] = Counter()
    for aid, theme in assignment.items():
        if theme in skip:
            continue
        overall[theme] += 1
        if lookup(aid) in wanted:
            prio[theme] += 1
    n_all = sum(overall.values())
    n_prio = sum(prio.values())
    if n_all == 0:
        return []
    themes = sorted(overall, key=_theme_sort_key)
    overall_rank = {t: r for r, t in enumerate(sorted(themes, key=lambda t: (-overall[t], _theme_sort_key(t))), 1)}
    # Themes whose priority count can be shown are ranked by it. The rest (counts below the
    # threshold) follow in their overall order: ranking them by their hidden counts would tell
    # which of two small groups is larger, which suppression exists to keep back.
    def shown_count(t: str) -> bool:
        return prio[t] >= threshold and n_prio >= threshold

    prio_order = sorted(
        themes,
        key=lambda t: (0, -prio[t], -overall[t], _theme_sort_key(t)) if shown_count(t) else (1, 0, overall_rank[t], ""),
    )
    out = []
    for r, t in enumerate(prio_order, 1):
        shown = shown_count(t)
        out.append(
            PriorityRank(
                theme=t,
                priority_count=prio[t] if shown else None,
                priority_share=(prio[t] / n_prio) if shown else None,
                priority_rank=r,
                overall_count=overall[t],
                overall_share=overall[t] / n_all,
                overall_rank=overall_rank[t],
                rank_change=overall_rank[t] - r,
            )
        )
    return out
