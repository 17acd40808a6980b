"""The disclosure engine: small counts hidden, and nothing one output shows can recover them."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import disclosure
from analysis.disclosure import Cap, Combined, Grid, Line, TotalCap, audit, protect, protect_line
from tests.attack import Attack


def attack_of(lines, grids, links, published) -> tuple[Attack, dict]:
    """Write down what a protected output shows as an attacker would, and map each hidden count to its unknown."""
    t = published.threshold
    attack = Attack()
    unknown_of: dict = {}
    total_of: dict = {}
    for line in lines:
        shown = published.lines[line.name]
        if shown.withheld:
            # "Fewer than t" bounds a withheld total; a line withheld to cover one says nothing.
            total = attack.unknown(f"total:{line.name}", upper=None if getattr(shown, "covered", False) else t - 1)
            cells = [attack.unknown(f"cell:{line.name}:{c}") for c in line.categories]
        else:
            total = shown.total
            cells = []
            for c, v in zip(line.categories, shown.counts):
                cells.append(v if v is not None else attack.unknown(f"cell:{line.name}:{c}"))
                if v is None:
                    unknown_of[("cell", line.name, c)] = cells[-1]
        attack.equal([(1, x) for x in cells] + [(-1, total)])
        total_of[line.name] = total
    for grid in grids:
        shown = published.grids[grid.name]
        if getattr(shown, "covered", False):  # getattr: the same attacker reads outputs of older engines
            assert shown.withheld and shown.total is None
            row_totals = [attack.unknown(f"grow:{grid.name}:{r}") for r in grid.rows]
            grand = attack.unknown(f"gall:{grid.name}")
        else:
            assert shown.row_totals == tuple(sum(row) for row in grid.counts), "row totals are shown as they are"
            row_totals, grand = list(shown.row_totals), shown.total
        total_of[grid.name] = grand
        for i, row in enumerate(grid.rows):
            terms = []
            for j, column in enumerate(grid.columns):
                v = None if shown.withheld else shown.cells[i][j]
                name = attack.unknown(f"gcell:{grid.name}:{row}:{column}") if v is None else v
                if v is None and not shown.withheld:
                    unknown_of[("gcell", grid.name, row, column)] = name
                terms.append((1, name))
            attack.equal(terms + [(-1, row_totals[i])])
        totals = []
        for j, column in enumerate(grid.columns):
            v = None if shown.withheld else shown.column_totals[j]
            name = attack.unknown(f"gcol:{grid.name}:{column}") if v is None else v
            if v is None and not shown.withheld:
                unknown_of[("gcol", grid.name, column)] = name
            totals.append(name)
            cells = [shown.cells[i][j] if not shown.withheld and shown.cells[i][j] is not None
                     else f"gcell:{grid.name}:{r}:{column}" for i, r in enumerate(grid.rows)]
            attack.equal([(1, x) for x in cells] + [(-1, name)])
        attack.equal([(1, x) for x in totals] + [(-1, grand)])

    def value(kind: str, *key) -> str | int:
        """Return what the output shows for a count: its number, or its unknown."""
        name = ":".join([kind, *key])
        if name in attack.upper:
            return name
        if kind == "cell":
            return published.lines[key[0]].count(key[1])
        if kind == "gcol":
            return published.grids[key[0]].column_total(key[1])
        return published.grids[key[0]].cell(key[1], key[2])

    for link in links:
        if isinstance(link, TotalCap):
            attack.at_most([(1, total_of[link.answers]), (-link.per_person, total_of[link.people])])
        elif isinstance(link, Cap):
            attack.at_most([(1, value("gcol", link.grid, c)) for c in link.columns]
                           + [(-link.per_person, value("cell", name, c)) for name, c in link.people])
        else:
            rows = [*(("gcell", r) for r in published.grids[link.grid].rows), ("gcol", None)]
            for kind, row in rows:
                def at(grid_name, column, kind=kind, row=row):
                    """Return one count of a row (or a column total) of a grid."""
                    return value(kind, grid_name, column) if row is None else value(kind, grid_name, row, column)

                whole = at(link.grid, link.column)
                parts = [[(1, at(g, c)) for c in cs] for g, cs in link.parts]
                # Someone in several priority groups counts once: at least each part, at most all of them.
                attack.at_most([(1, whole)] + [(-1, x) for part in parts for _, x in part])
                for part in parts:
                    attack.at_most(part + [(-1, whole)])
    return attack, unknown_of


def true_values(lines, grids) -> dict:
    """Return every count of some tables by the keys the engine uses."""
    out = {}
    for line in lines:
        out.update({("cell", line.name, c): v for c, v in zip(line.categories, line.counts)})
    for grid in grids:
        for i, r in enumerate(grid.rows):
            out.update({("gcell", grid.name, r, c): grid.counts[i][j] for j, c in enumerate(grid.columns)})
        out.update({("gcol", grid.name, c): sum(row[j] for row in grid.counts) for j, c in enumerate(grid.columns)})
    return out


def assert_safe(lines, grids, links, published) -> None:
    """Nothing small is shown, and no hidden count can be narrowed below its protection range."""
    t = published.threshold
    truth = true_values(lines, grids)
    for line in lines:
        shown = published.lines[line.name]
        if shown.withheld:
            assert (getattr(shown, "covered", False) or sum(line.counts) < t) and all(v is None for v in shown.counts)
            continue
        assert shown.total == sum(line.counts)
        for category, v in zip(line.categories, shown.counts):
            assert v is None or (v == truth[("cell", line.name, category)] and not 0 < v < t)
    for grid in grids:
        shown = published.grids[grid.name]
        if shown.withheld:
            continue
        for i, row in enumerate(grid.rows):
            for j, column in enumerate(grid.columns):
                v = shown.cells[i][j]
                assert v is None or (v == grid.counts[i][j] and not 0 < v < t)
        for column, v in zip(grid.columns, shown.column_totals):
            assert v is None or (v == truth[("gcol", grid.name, column)] and not 0 < v < t)
    attack, unknown_of = attack_of(lines, grids, links, published)
    for line in lines:
        shown = published.lines[line.name]
        if shown.withheld and not getattr(shown, "covered", False):
            # The rule for a total shown as "fewer than t": the output may tell it is at least 1, no more.
            low, high = attack.range(f"total:{line.name}")
            assert low <= 1 and high == t - 1, f"{line.name}: fewer than {t}, but the output pins it to {low}..{high}"
    for key, name in unknown_of.items():
        low, high = attack.range(name)
        true = truth[key]
        assert low <= true <= high, (key, low, high, true)
        needed = t if 0 < true < t else 1
        assert high - low >= needed, f"{key}: true {true}, the output pins it to {low}..{high}"


def test_the_threshold_cannot_go_below_ten() -> None:
    """10 and 11 are accepted; 9, 5, 12, a string or a bool are refused (counts below 10 are hidden everywhere)."""
    assert disclosure.validate_threshold(10) == 10 and disclosure.validate_threshold(11) == 11
    for bad in (9, 5, 0, 12, "10", True):
        with pytest.raises(ValueError, match="threshold"):
            disclosure.validate_threshold(bad)


def test_a_line_below_the_threshold_shows_no_breakdown() -> None:
    """A total below the threshold is withheld: no count of it is shown, so "one * and the rest 0" cannot happen."""
    shown = protect_line("race", ["A", "B", "C"], [7, 0, 0])
    assert shown.withheld and shown.total is None and shown.counts == (None, None, None)
    edge = protect_line("race", ["A", "B", "C"], [10, 0, 0])
    assert edge.total == 10 and edge.counts == (10, 0, 0)


def test_hidden_counts_in_a_line_add_up_to_the_threshold() -> None:
    """One small count hides more until the hidden ones are at least two and sum to the threshold."""
    assert protect_line("x", "abcd", [25, 12, 3, 0]).counts == (25, None, None, 0)
    assert protect_line("x", "abc", [11, 1, 0]).counts == (None, None, 0)
    assert protect_line("x", "abc", [40, 9, 9]).counts == (40, None, None)


def test_the_issues_example_cannot_be_solved() -> None:
    """Total 49, themes 31 and 18 by groups A and B: no figure the grid shows recovers A1=30 or B1=1."""
    lines = []
    grids = [Grid("race", ("t1", "t2"), ("A", "B"), ((30, 1), (10, 8)))]
    published = protect(lines, grids)
    shown = published.grids["race"]
    assert shown.cell("t1", "B") is None and shown.row_totals == (31, 18)
    assert_safe(lines, grids, [], published)


def test_answers_capped_by_people_can_pin_a_hidden_count_unless_both_are_protected() -> None:
    """With one question and everyone answering, answers by group equal people by group: both tables hide alike."""
    people = Line("people", ("Black", "White", "Asian"), (25, 12, 3))
    grid = Grid("answers", ("t1", "t2"), ("Black", "White", "Asian"), ((15, 6, 2), (10, 6, 1)))
    links = [Cap("answers", (c,), (("people", c),), 1) for c in ("Black", "White", "Asian")]
    published = protect([people], [grid], links)
    assert published.lines["people"].count("Asian") is None
    assert_safe([people], [grid], links, published)


def test_audit_reports_the_range_of_every_hidden_count() -> None:
    """The engine's own audit gives each hidden count's least and most value, and the truth lies between."""
    line = Line("x", ("a", "b", "c"), (25, 12, 3))
    published = protect([line])
    ranges = audit([line], [], [], published)
    assert set(ranges) == {("cell", "x", "b"), ("cell", "x", "c")}
    assert ranges[("cell", "x", "c")] == disclosure.Range(0, 15, 3)


counts = st.integers(0, 30)


@st.composite
def outputs(draw):
    """Draw an output: people lines, answer grids capped by them, and sometimes a priority grid."""
    n_groups = draw(st.integers(2, 4))
    n_themes = draw(st.integers(1, 4))
    per_person = draw(st.integers(1, 2))
    groups = tuple(f"g{j}" for j in range(n_groups))
    themes = tuple(f"t{i}" for i in range(n_themes))
    cells = []
    for _ in themes:
        row = [draw(st.integers(0, 25)) for _ in groups]
        # Grid rows are themes with a published size: never below the threshold.
        row[draw(st.integers(0, n_groups - 1))] += max(0, 11 - sum(row))
        cells.append(row)
    column = [sum(row[j] for row in cells) for j in range(n_groups)]
    # People behind the answers: at least the answers divided by how many each may give.
    people = tuple(-(-c // per_person) + draw(st.integers(0, 6)) for c in column)
    lines = [Line("people", groups, people)]
    if draw(st.booleans()):
        lines.append(Line("other", ("x", "y", "z"), tuple(draw(counts) for _ in range(3))))
    grids = [Grid("answers", themes, groups, tuple(tuple(row) for row in cells))]
    links: list = [Cap("answers", (g,), (("people", g),), per_person) for g in groups]
    if draw(st.booleans()):
        links.append(TotalCap("answers", "people", per_person))
    if draw(st.booleans()):
        chosen = tuple(g for g in groups if draw(st.booleans())) or groups[:1]
        picked = [sum(row[j] for j, g in enumerate(groups) if g in chosen) for row in cells]
        grids.append(Grid("priority", themes, ("priority", "rest"),
                          tuple((p, sum(row) - p) for p, row in zip(picked, cells))))
        links.append(Combined("priority", "priority", (("answers", chosen),)))
        links.append(Cap("priority", ("priority",), tuple(("people", g) for g in chosen), per_person))
    return lines, grids, links


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(output=outputs(), threshold=st.sampled_from([10, 11]))
def test_no_hidden_count_can_be_recovered_from_everything_one_output_shows(output, threshold) -> None:
    """Random outputs (lines, grids, caps, priority columns): no small count shown, none pinned (property test)."""
    lines, grids, links = output
    published = protect(lines, grids, links, threshold=threshold)
    assert_safe(lines, grids, links, published)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.integers(0, 40), min_size=1, max_size=8), threshold=st.sampled_from([10, 11]))
def test_every_line_is_safe_on_its_own(values, threshold) -> None:
    """A single line (the projector's "about you" results): small counts hidden, each hidden one spans the threshold."""
    line = Line("x", tuple(f"c{i}" for i in range(len(values))), tuple(values))
    assert_safe([line], [], [], protect([line], threshold=threshold))


@pytest.mark.parametrize("threshold", [10, 11])
def test_exactly_at_and_below_the_threshold(threshold) -> None:
    """A count of threshold - 1 is hidden and a count of exactly the threshold is shown, for 10 and a raised 11."""
    below = protect_line("x", ["a", "b", "c"], [50, threshold - 1, 40], threshold=threshold)
    at = protect_line("x", ["a", "b", "c"], [50, threshold, 40], threshold=threshold)
    assert below.counts[1] is None and at.counts == (50, threshold, 40)
    assert protect_line("x", ["a"], [threshold - 1], threshold=threshold).withheld
    assert protect_line("x", ["a"], [threshold], threshold=threshold).total == threshold


# --- what the mutation run (issue 18) showed no test held --------------------------------------


@pytest.mark.parametrize("threshold", [10, 11])
def test_a_hidden_small_count_must_span_the_threshold_and_any_other_two_values(threshold) -> None:
    """The audit's rule: a hidden count from 1 to t - 1 needs a range t wide; 0, t and above need only two values."""
    for value in range(1, threshold):
        assert disclosure.required_width(value, threshold) == threshold
    for value in (0, threshold, threshold + 1, 100):
        assert disclosure.required_width(value, threshold) == 1


def test_a_line_hides_no_more_than_closing_it_needs() -> None:
    """Hidden counts stop at two or more summing to the threshold, and the complement is the smallest that gets there."""
    assert protect_line("x", "abcde", [40, 5, 3, 4, 30]).counts == (40, None, None, None, 30)
    assert protect_line("x", "abcd", [40, 6, 4, 30]).counts == (40, None, None, 30)
    assert protect_line("x", "abcd", [50, 3, 7, 20]).counts == (50, None, None, 20)


def test_a_grid_with_no_small_count_is_shown_whole_zeros_and_counts_of_exactly_the_threshold_included() -> None:
    """Nothing to hide means nothing hidden: every cell and column total is printed, 0 and 10 alike."""
    grids = [Grid("g", ("t1", "t2"), ("A", "B", "C"), ((10, 0, 20), (30, 0, 10)))]
    shown = protect([], grids).grids["g"]
    assert not shown.withheld and not shown.hidden_any()
    assert shown.cells == ((10, 0, 20), (30, 0, 10)) and shown.column_totals == (40, 0, 30)
    only_at_threshold = protect([], [Grid("g", ("t1", "t2"), ("A", "B"), ((10, 0), (10, 0)))]).grids["g"]
    assert only_at_threshold.cells == ((10, 0), (10, 0)) and only_at_threshold.column_totals == (20, 0)


def test_a_grid_of_only_small_counts_shows_nothing_but_its_row_totals() -> None:
    """Every cell below the threshold: the grid is withheld, its column totals of 10 included."""
    shown = protect([], [Grid("g", ("t1", "t2"), ("A", "B"), ((5, 5), (5, 5)))]).grids["g"]
    assert shown.withheld and shown.column_totals == (None, None) and shown.row_totals == (10, 10)


def test_a_withheld_table_does_not_stop_the_tables_after_it_being_protected() -> None:
    """A line or grid withheld first still leaves every later line and grid with its small counts hidden."""
    lines = [Line("small", ("a", "b"), (4, 3)), Line("x", ("a", "b", "c"), (40, 3, 20))]
    grids = [Grid("g1", ("t1",), ("A", "B"), ((5, 5),)), Grid("g2", ("t1", "t2"), ("A", "B"), ((20, 3), (15, 15)))]
    published = protect(lines, grids)
    assert published.lines["small"].withheld and published.lines["x"].counts == (40, None, None)
    assert published.grids["g2"].cell("t1", "B") is None
    assert_safe(lines, grids, [], published)


def test_answers_of_a_group_whose_people_are_withheld_do_not_give_their_number_away() -> None:
    """People "fewer than 10" and answers capped at 4 each: showing 20 and 16 answers would pin 5 and 4 people."""
    people = Line("people", ("Black", "White"), (5, 4))
    grid = Grid("answers", ("t1", "t2"), ("Black", "White"), ((10, 8), (10, 8)))
    links = [Cap("answers", (c,), (("people", c),), 4) for c in ("Black", "White")]
    published = protect([people], [grid], links)
    assert published.lines["people"].withheld
    assert published.grids["answers"].column_totals == (None, None)
    attack, _ = attack_of([people], [grid], links, published)
    for name in ("cell:people:Black", "cell:people:White"):
        low, high = attack.range(name)
        assert low == 0, f"{name} is at least {low}: the output shows the group is there"


def test_the_audit_hides_the_one_more_count_the_first_pass_left_recoverable_and_keeps_the_grid() -> None:
    """Rows and columns closed one by one can still pin a count together; the audit hides one more, not the grid."""
    grid = Grid("g", ("t0", "t1"), ("A", "B", "C"), ((5, 5, 12), (1, 12, 0)))
    published = protect([], [grid])
    shown = published.grids["g"]
    assert not shown.withheld
    assert shown.cells == ((None, None, None), (None, None, 0)) and shown.column_totals == (None, 17, None)
    assert_safe([], [grid], [], published)
    bigger = Grid("h", ("t0", "t1", "t2"), ("A", "B", "C"), ((20, 15, 12), (15, 1, 1), (12, 20, 1)))
    shown = protect([], [bigger]).grids["h"]
    assert shown.cells == ((None, None, None), (None, None, None), (None, 20, None))
    assert shown.column_totals == (47, 36, 14) and not shown.withheld


def test_a_count_nothing_but_fixed_totals_pin_withholds_its_grid_and_only_that_grid() -> None:
    """A one-column grid's cells are its row totals: hiding cannot help, so the grid is withheld; the other tables stay."""
    lines = [Line("x", ("a", "b"), (30, 12))]
    grids = [Grid("one", ("t1", "t2"), ("A",), ((5,), (15,))),
             Grid("g", ("t0", "t1"), ("A", "B", "C"), ((5, 5, 12), (1, 12, 0)))]
    published = protect(lines, grids)
    assert published.grids["one"].withheld and published.grids["one"].column_totals == (None,)
    assert not published.grids["g"].withheld and published.grids["g"].column_totals == (None, 17, None)
    assert published.lines["x"].counts == (30, 12)
    assert_safe(lines, grids, [], published)


def test_a_grid_whose_cells_are_all_hidden_still_shows_the_column_totals_it_safely_can() -> None:
    """Every cell hidden but column totals of 35 and 18 safe to print: the grid is shown with those totals."""
    shown = protect([], [Grid("g2", ("t1", "t2"), ("A", "B"), ((20, 3), (15, 15)))]).grids["g2"]
    assert shown.cells == ((None, None), (None, None)) and shown.column_totals == (35, 18) and not shown.withheld


# --- a total withheld as "fewer than t" is audited too (issue 18) ---------------------------------


@pytest.mark.parametrize("threshold", [10, 11])
def test_the_rule_for_a_withheld_total_is_at_least_one_and_at_most_the_threshold_less_one(threshold) -> None:
    """A "fewer than t" total may be narrowed to "at least 1" and no further; its top end must stay t - 1."""
    too_narrow = disclosure.withheld_total_too_narrow
    assert not too_narrow(disclosure.Range(0, threshold - 1, 9), threshold)
    assert not too_narrow(disclosure.Range(1, threshold - 1, 9), threshold)
    assert too_narrow(disclosure.Range(2, threshold - 1, 9), threshold)
    assert too_narrow(disclosure.Range(0, threshold - 2, 0), threshold)


def test_row_totals_that_pin_a_withheld_people_total_withhold_their_grid_with_them() -> None:
    """People 5 and 4 ("fewer than 10"), 36 answers capped at 4 each: showing the themes' sizes would say "exactly 9"."""
    people = Line("people", ("Black", "White"), (5, 4))
    grid = Grid("answers", ("t1", "t2"), ("Black", "White"), ((10, 8), (10, 8)))
    links = [Cap("answers", (c,), (("people", c),), 4) for c in ("Black", "White")]
    published = protect([people], [grid], links)
    shown = published.grids["answers"]
    assert published.lines["people"].withheld and not published.lines["people"].covered
    assert shown.covered and shown.withheld and shown.row_totals == (None, None) and shown.total is None
    attack, _ = attack_of([people], [grid], links, published)
    assert attack.range("total:people") == (0, 9)
    assert audit([people], [grid], links, published)[("total", "people")].low <= 1
    assert_safe([people], [grid], links, published)


def test_answers_counted_beside_a_withheld_number_of_people_are_withheld_when_they_would_narrow_it() -> None:
    """36 answers from "fewer than 10" people with 4 questions: the answer counts go; at 10 people, or 40 questions, they stay."""
    sizes = Line("sizes", ("t1", "t2", "other"), (20, 16, 0))
    for n, per_person, covered in ((9, 4, True), (10, 4, False), (9, 40, False), (1, 36, False), (1, 35, True)):
        lines = [sizes, Line("everyone", ("people",), (n,))]
        links = [TotalCap("sizes", "everyone", per_person)]
        published = protect(lines, links=links)
        assert published.lines["sizes"].covered is covered, (n, per_person)
        assert (published.lines["sizes"].total is None) is covered
        assert_safe(lines, [], links, published)


def test_a_withheld_total_pinned_through_a_grid_it_does_not_cap_directly_is_still_caught() -> None:
    """A total cap on a grid's grand total alone (no per-group cap) pins the people as surely: the grid is covered."""
    lines = [Line("people", ("a", "b", "c"), (3, 3, 2))]
    grids = [Grid("answers", ("t1", "t2"), ("x", "y"), ((12, 10), (10, 12)))]
    links = [TotalCap("answers", "people", 6)]
    published = protect(lines, grids, links)
    assert published.grids["answers"].covered
    assert_safe(lines, grids, links, published)
    # With enough questions per person the same grid says only "at least 1": it is shown whole.
    roomy = [TotalCap("answers", "people", 44)]
    published = protect(lines, grids, roomy)
    assert not published.grids["answers"].covered and published.grids["answers"].cells == ((12, 10), (10, 12))
    assert_safe(lines, grids, roomy, published)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(0, 30), min_size=1, max_size=5), people=st.integers(0, 14),
       per_person=st.integers(1, 12), threshold=st.sampled_from([10, 11]))
def test_answer_counts_never_narrow_a_withheld_number_of_people(sizes, people, per_person, threshold) -> None:
    """Random answer counts beside a number of people, capped per person: a withheld number stays 0 or 1 to t - 1 (property test)."""
    people = max(people, -(-sum(sizes) // per_person))
    lines = [Line("sizes", tuple(f"t{i}" for i in range(len(sizes))), tuple(sizes)), Line("everyone", ("n",), (people,))]
    links = [TotalCap("sizes", "everyone", per_person)]
    assert_safe(lines, [], links, protect(lines, links=links, threshold=threshold))


def test_a_grid_with_some_cells_shown_and_every_column_total_hidden_is_shown() -> None:
    """Column totals all hidden (their people are) but a row of 11 and 0 safe to print: the grid is not withheld whole."""
    people = Line("people", ("A", "B"), (27, 9))
    grid = Grid("g", ("t1", "t2"), ("A", "B"), ((14, 9), (11, 0)))
    links = [Cap("g", (c,), (("people", c),), 1) for c in ("A", "B")]
    published = protect([people], [grid], links)
    shown = published.grids["g"]
    assert shown.column_totals == (None, None) and shown.cells == ((None, None), (11, 0))
    assert not shown.withheld and shown.row_totals == (23, 11)
    assert_safe([people], [grid], links, published)
