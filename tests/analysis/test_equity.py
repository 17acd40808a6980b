"""Tests of the equity lens: suppression never leaks, over-representation, priority ranking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.equity import (
    MISSING_SEGMENT,
    determined_cells,
    overrepresented,
    rank_by_priority_groups,
    theme_by_segment,
)


def _assignment_from_counts(counts: list[list[int]]) -> tuple[dict[int, str], dict[int, str]]:
    """Build an assignment and a segment mapping realising a theme-by-segment count matrix."""
    assignment, segment = {}, {}
    n = 0
    for i, row in enumerate(counts):
        for j, c in enumerate(row):
            for _ in range(c):
                assignment[n] = f"t{i + 1}"
                segment[n] = f"s{j}"
                n += 1
    return assignment, segment


def _leaks(table, counts) -> list[str]:  # type: ignore[no-untyped-def]
    """Return every way a hidden small count could be read or recovered from the table."""
    problems = []
    themes, segments = table.themes, table.segments
    hidden = np.array([[table.cell(t, s).suppressed for s in segments] for t in themes])
    row_hidden = np.array([table.row_totals[t].suppressed for t in themes])
    col_hidden = np.array([table.column_totals[s].suppressed for s in segments])
    for i, t in enumerate(themes):
        for j, s in enumerate(segments):
            cell = table.cell(t, s)
            if cell.count is not None and 0 < cell.count < table.threshold:
                problems.append(f"small count shown at {t},{s}")
            if cell.suppressed and cell.share is not None:
                problems.append(f"share of a hidden cell shown at {t},{s}")
        total = table.row_totals[t]
        if total.count is not None and 0 < total.count < table.threshold:
            problems.append(f"small row total shown for {t}")
    for s in segments:
        total = table.column_totals[s]
        if total.count is not None and 0 < total.count < table.threshold:
            problems.append(f"small column total shown for {s}")
    # Differencing: a visible line total with exactly one hidden cell reveals it.
    for i in range(len(themes)):
        if not row_hidden[i] and hidden[i].sum() == 1:
            problems.append(f"row {themes[i]} has one hidden cell")
    for j in range(len(segments)):
        if not col_hidden[j] and hidden[:, j].sum() == 1:
            problems.append(f"column {segments[j]} has one hidden cell")
    # Exact audit: no hidden cell follows from all row, column and grand totals together.
    if hidden.any() and determined_cells(hidden, row_hidden, col_hidden):
        if not (len(themes) == 1 and len(segments) == 1):
            problems.append("a hidden cell is determined by the totals")
    return problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.integers(1, 5).flatmap(lambda r: st.lists(st.lists(st.integers(0, 40), min_size=r, max_size=r), min_size=1, max_size=6)),
    threshold=st.integers(5, 11),
)
def test_suppression_never_leaks_a_small_cell(counts: list[list[int]], threshold: int) -> None:
    """No small count can be read or recovered from cells, totals or shares (property test)."""
    assignment, segment = _assignment_from_counts(counts)
    if not assignment:
        return
    table = theme_by_segment(assignment, segment, threshold=threshold)
    matrix = np.array([[sum(1 for a in assignment if assignment[a] == t and segment[a] == s) for s in table.segments] for t in table.themes])
    assert _leaks(table, matrix) == []
    # Visible counts are the true counts.
    for i, t in enumerate(table.themes):
        for j, s in enumerate(table.segments):
            cell = table.cell(t, s)
            if not cell.suppressed:
                assert cell.count == matrix[i, j]


def test_default_threshold_hides_counts_below_ten() -> None:
    """Counts below 10 are hidden by default and every hidden cell shows the same mark."""
    assignment, segment = _assignment_from_counts([[50, 9, 30], [40, 20, 12]])
    table = theme_by_segment(assignment, segment)
    assert table.cell("t1", "s1").suppressed and table.cell("t1", "s1").display() == "*"
    assert table.cell("t1", "s1").share is None
    # The complementary cell in the same column is hidden too.
    assert table.cell("t2", "s1").suppressed and table.cell("t2", "s1").display() == "*"
    assert table.cell("t1", "s0").count == 50


@pytest.mark.parametrize("threshold", [4, 12, 0, "10"])
def test_threshold_validated(threshold: object) -> None:
    """Thresholds outside 5..11 are refused."""
    with pytest.raises(ValueError, match="threshold"):
        theme_by_segment({1: "t1"}, {1: "a"}, threshold=threshold)  # type: ignore[arg-type]


def test_missing_segment_values_are_explicit() -> None:
    """Answers without a segment value are counted in an explicit "not given" column."""
    table = theme_by_segment({i: "t1" for i in range(30)}, {i: ("a" if i < 15 else None) for i in range(30)})
    assert MISSING_SEGMENT in table.segments


def test_overrepresented_reports_test_and_effect() -> None:
    """An over-represented theme comes with Fisher's p-value and effect sizes, both."""
    assignment, segment = _assignment_from_counts([[80, 10], [20, 90]])
    found = overrepresented(assignment, segment)
    top = found[0]
    assert (top.theme, top.segment) in {("t1", "s0"), ("t2", "s1")}
    assert top.significant and top.p_value < 1e-6 and top.p_adjusted >= top.p_value
    assert top.risk_ratio > 1 and top.risk_difference > 0.5


def test_overrepresented_never_reports_small_cells() -> None:
    """A theme-segment pair with a count below the threshold is never reported."""
    assignment, segment = _assignment_from_counts([[100, 6], [100, 0]])
    assert all(o.count >= 10 for o in overrepresented(assignment, segment))
    assert not any(o.segment == "s1" for o in overrepresented(assignment, segment))


def test_rank_by_priority_groups() -> None:
    """Themes are ranked by priority groups' voice, next to their overall rank."""
    # t1 dominates overall; t2 is what the priority group (s1) raises most.
    assignment, segment = _assignment_from_counts([[200, 5], [20, 40], [30, 12]])
    ranks = rank_by_priority_groups(assignment, segment, ["s1"])
    assert ranks[0].theme == "t2" and ranks[0].overall_rank == 2 and ranks[0].rank_change == 1
    hidden = next(r for r in ranks if r.theme == "t1")
    assert hidden.priority_count is None  # 5 answers: below the threshold, not shown
    with pytest.raises(ValueError):
        rank_by_priority_groups(assignment, segment, [])


def test_priority_ranking_does_not_order_hidden_counts() -> None:
    """Themes with hidden priority counts follow in overall order, whatever those counts are.

    Ranking them by their hidden counts would say which of two small groups is larger.
    """
    orders = []
    for small in ([2, 8], [8, 2]):
        assignment, segment = _assignment_from_counts([[30, 40], [90, small[0]], [60, small[1]]])
        ranks = rank_by_priority_groups(assignment, segment, ["s1"])
        orders.append([(r.theme, r.priority_rank, r.priority_count) for r in ranks])
    assert orders[0] == orders[1] == [("t1", 1, 40), ("t2", 2, None), ("t3", 3, None)]
