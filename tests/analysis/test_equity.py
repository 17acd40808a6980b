"""The equity lens: who took part and who said what, released together so nothing small leaks."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import disclosure
from analysis.equity import (
    EVERYONE_ELSE,
    MISSING_SEGMENT,
    PRIORITY,
    Lens,
    Person,
    Reply,
    Snapshot,
    overrepresented,
    published_order,
    rank_by_priority_groups,
    release,
)
from tests.attack import Attack

GROUPS_AFTER = ("other", "contentless")


def snapshot_of(people: list[tuple[str, str]], answers: list[tuple[int, str]], themes: tuple[str, ...],
                priority=(), per_person: int = 1) -> Snapshot:
    """Build a snapshot from people (race, age) and answers (person index, group)."""
    persons = tuple(Person(i, (("race", r), ("age", a))) for i, (r, a) in enumerate(people))
    replies = tuple(Reply(n, group, p, (("race", people[p][0]), ("age", people[p][1])))
                    for n, (p, group) in enumerate(answers))
    return Snapshot(
        answers=replies, groups=themes + GROUPS_AFTER, themes=themes,
        answer_lenses=(Lens("race", ("A", "B", "C", "D")), Lens("age", ("young", "old"))), people=persons,
        people_lenses=(Lens("race", ("A", "B", "C", "D")), Lens("age", ("young", "old"))),
        priority=priority, per_person=per_person,
    )


def attack_release(snap: Snapshot, rel) -> tuple[Attack, dict]:
    """Write down, as an attacker would, everything a release shows and how its tables fit together."""
    t = rel.threshold
    attack = Attack()
    hidden: dict = {}

    def shown(value, name, truth_key) -> str | int:
        """Return a published number, or a named unknown (remembering which true count it stands for)."""
        if value is not None:
            return value
        hidden[truth_key] = attack.unknown(name)
        return name

    n_people = rel.people if rel.people is not None else attack.unknown("people", upper=t - 1)
    # Answers withheld to cover the number of people are not said to be few: no upper bound then.
    answers_total = rel.answers if rel.answers is not None else attack.unknown(
        "answers", upper=None if rel.answers_covered else t - 1)
    attack.at_most([(1, answers_total), (-snap.per_person, n_people)])
    sizes = rel.sizes
    size_terms = []
    for group in sizes.categories:
        value = None if sizes.withheld else sizes.count(group)
        size_terms.append(shown(value, f"size:{group}", ("size", group)))
    attack.equal([(1, x) for x in size_terms] + [(-1, answers_total)])
    people_cells: dict = {}
    for key, line in rel.people_lines.items():
        if line.withheld:
            continue
        cells = [shown(v, f"people:{key}:{c}", ("people", key, c)) for c, v in zip(line.categories, line.counts)]
        people_cells[key] = dict(zip(line.categories, cells))
        attack.equal([(1, x) for x in cells] + [(-1, n_people)])
    grid_cells: dict = {}
    for key, grid in [*rel.grids.items(), *([(PRIORITY, rel.priority)] if rel.priority else [])]:
        cells = {}
        for i, row in enumerate(grid.rows):
            terms = []
            for j, column in enumerate(grid.columns):
                value = None if grid.withheld else grid.cells[i][j]
                name = f"cell:{key}:{row}:{column}"
                cells[(row, column)] = (shown(value, name, ("cell", key, row, column)) if not grid.withheld
                                        else attack.unknown(name))
                terms.append((1, cells[(row, column)]))
            # A row's total is its theme's published size.
            assert grid.row_totals[i] == sizes.count(row)
            attack.equal(terms + [(-1, grid.row_totals[i])])
        for j, column in enumerate(grid.columns):
            value = None if grid.withheld else grid.column_totals[j]
            name = f"col:{key}:{column}"
            cells[(None, column)] = (shown(value, name, ("col", key, column)) if not grid.withheld else attack.unknown(name))
            attack.equal([(1, cells[(r, column)]) for r in grid.rows] + [(-1, cells[(None, column)])])
        attack.equal([(1, cells[(None, c)]) for c in grid.columns], grid.total)
        grid_cells[key] = cells
        # Answers from a group are at most per_person times its people.
        for column in grid.columns:
            if key in people_cells and column in people_cells[key]:
                attack.at_most([(1, cells[(None, column)]), (-snap.per_person, people_cells[key][column])])
        for o in rel.raised.get(key, ()):
            attack.share(cells[(o.theme, o.segment)], cells[(None, o.segment)], round(100 * o.share_in_segment))
        for column in grid.columns:
            for row in grid.rows:
                part = grid.column_share(row, column)
                if part is not None:
                    attack.share(cells[(row, column)], cells[(None, column)], round(100 * part))
    if rel.priority is not None:
        wanted = dict(snap.priority)
        prio = grid_cells[PRIORITY]
        for row in [*rel.priority.rows, None]:
            parts = [[cell for (r, c), cell in grid_cells[key].items() if r == row and c in cats]
                     for key, cats in wanted.items() if key in grid_cells]
            attack.at_most([(1, prio[(row, PRIORITY)])] + [(-1, x) for part in parts for x in part])
            for part in parts:
                attack.at_most([(1, x) for x in part] + [(-1, prio[(row, PRIORITY)])])
        everyone = [people_cells[key][c] for key, cats in wanted.items() for c in cats if c in people_cells.get(key, {})]
        attack.at_most([(1, prio[(None, PRIORITY)])] + [(-snap.per_person, x) for x in everyone])
    return attack, hidden


def truth_of(snap: Snapshot, rel) -> dict:
    """Return the true value behind every count a release could show."""
    def value(segments, key):
        """Return an answer's or a person's value for a lens."""
        return dict(segments).get(key) or MISSING_SEGMENT

    truth: dict = {}
    sizes = Counter(a.group for a in snap.answers)
    truth.update({("size", g): sizes.get(g, 0) for g in snap.groups})
    for lens in snap.people_lenses:
        counts = Counter(value(p.segments, lens.key) for p in snap.people)
        truth.update({("people", lens.key, c): counts.get(c, 0) for c in rel.people_lines[lens.key].categories})
    wanted = dict(snap.priority)
    for key, grid in [*rel.grids.items(), *([(PRIORITY, rel.priority)] if rel.priority else [])]:
        for a in snap.answers:
            if a.group not in grid.rows:
                continue
            if key == PRIORITY:
                column = PRIORITY if any(value(a.segments, k) in cats for k, cats in wanted.items()) else EVERYONE_ELSE
            else:
                column = value(a.segments, key)
            truth[("cell", key, a.group, column)] = truth.get(("cell", key, a.group, column), 0) + 1
            truth[("col", key, column)] = truth.get(("col", key, column), 0) + 1
    return truth


def assert_release_safe(snap: Snapshot, rel) -> None:
    """Shown counts are true and never small; no hidden count is pinned or narrowed below the threshold."""
    t = rel.threshold
    truth = truth_of(snap, rel)
    for key, value in [(("size", g), rel.sizes.count(g)) for g in rel.sizes.categories if not rel.sizes.withheld]:
        assert value is None or (value == truth[key] and not 0 < value < t)
    attack, hidden = attack_release(snap, rel)
    if rel.people is None and rel.people_known:
        # "Fewer than t people took part" may be narrowed to "at least 1", never further.
        low, high = attack.range("people")
        assert low <= 1 and high == t - 1, f"fewer than {t} people, but the release pins them to {low}..{high}"
    for key, name in hidden.items():
        true = truth.get(key, 0)
        low, high = attack.range(name)
        assert low <= true <= high
        if key[0] == "size" and rel.answers_covered:
            assert low == 0, f"{key}: true {true}, at least {low}"
            continue
        if key[0] == "size" and rel.sizes.withheld:
            # Fewer than t answers in all: each theme could hold anything from none of them to all.
            assert (low, high) == (0, t - 1), f"{key}: true {true}, pinned to {low}..{high}"
            continue
        assert high - low >= (t if 0 < true < t else 1), f"{key}: true {true}, the release pins it to {low}..{high}"


@st.composite
def sessions(draw):
    """Draw a session: people with a race and an age, answers in themes, perhaps priority groups."""
    n_people = draw(st.integers(0, 45))
    races = draw(st.lists(st.sampled_from("AABBBCD"), min_size=n_people, max_size=n_people))
    ages = draw(st.lists(st.sampled_from(["young", "old", "old"]), min_size=n_people, max_size=n_people))
    people = list(zip(races, ages))
    n_themes = draw(st.integers(1, 3))
    themes = tuple(f"T{i}" for i in range(n_themes))
    per_person = draw(st.integers(1, 2))
    answers = []
    for p in range(n_people):
        for _ in range(draw(st.integers(0, per_person))):
            answers.append((p, draw(st.sampled_from(themes + themes + GROUPS_AFTER))))
    priority = draw(st.sampled_from([(), (("race", ("C",)),), (("race", ("A", "D")),), (("race", ("C",)), ("age", ("young",)))]))
    return snapshot_of(people, answers, themes, priority=priority, per_person=per_person)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snap=sessions(), threshold=st.sampled_from([10, 11]))
def test_no_hidden_count_of_a_release_can_be_recovered(snap, threshold) -> None:
    """Random sessions: people tables, theme sizes, group tables and priority ranking together leak nothing (property test)."""
    assert_release_safe(snap, release(snap, threshold=threshold))


def test_fewer_people_than_the_threshold_show_no_breakdown() -> None:
    """Nine people: the number reads "fewer than", and no table by group is built at all."""
    snap = snapshot_of([("A", "old")] * 9, [(p, "T0") for p in range(9)] * 2, ("T0",), per_person=2)
    rel = release(snap)
    assert rel.people is None and rel.grids == {} and rel.priority is None
    assert all(line.withheld for line in rel.people_lines.values())
    # 18 answers at most 2 each would say "at least 9" of "fewer than 10": the answer counts go too.
    assert rel.sizes.covered and rel.answers_covered and rel.answers is None and rel.size("T0") is None


def test_answer_counts_beside_fewer_people_than_the_threshold_stay_when_they_say_only_someone_took_part() -> None:
    """Nine people, one of whom gave 10 answers to 10 questions: 10 answers say "at least 1", so they are shown."""
    snap = snapshot_of([("A", "old")] * 9, [(0, "T0")] * 10, ("T0",), per_person=10)
    rel = release(snap)
    assert rel.people is None and not rel.answers_covered and rel.answers == 10 and rel.size("T0") == 10
    eleven = release(snapshot_of([("A", "old")] * 9, [(0, "T0")] * 10 + [(1, "T0")], ("T0",), per_person=10))
    assert eleven.answers_covered and eleven.answers is None  # 11 answers, at most 10 each: at least 2


def test_exactly_ten_people_show_their_table() -> None:
    """Ten people: the number and their table are shown."""
    snap = snapshot_of([("A", "old")] * 10, [(p, "T0") for p in range(10)], ("T0",))
    rel = release(snap)
    assert rel.people == 10 and rel.people_lines["race"].count("A") == 10


def test_hidden_theme_sizes_are_ordered_by_label_not_size() -> None:
    """Themes with hidden sizes follow the published ones in label order, whatever their sizes."""
    for small in ((3, 7), (7, 3)):
        answers = [(0, "T0")] * 30 + [(0, "T1")] * small[0] + [(0, "T2")] * small[1]
        snap = snapshot_of([("A", "old")], answers, ("T0", "T1", "T2"))
        snap = Snapshot(snap.answers, snap.groups, snap.themes)  # answers only, as from a CSV
        rel = release(snap)
        labels = {"T0": "zebra", "T1": "beta", "T2": "alpha"}
        assert published_order(["T0", "T1", "T2"], rel.sizes, label_of=labels.get) == ["T0", "T2", "T1"]


def test_groups_raised_more_often_come_from_published_counts_only() -> None:
    """Every figure of "themes a group raised more often" follows from the counts the group table shows."""
    people = [("A", "old")] * 60 + [("B", "old")] * 60
    answers = [(p, "T0") for p in range(50)] + [(p, "T1") for p in range(50, 60)]
    answers += [(p, "T1") for p in range(60, 110)] + [(p, "T0") for p in range(110, 120)]
    snap = snapshot_of(people, answers, ("T0", "T1"))
    rel = release(snap)
    grid = rel.grids["race"]
    found = rel.raised["race"]
    assert found and any(o.significant for o in found)
    for o in found:
        a, seg_n = grid.cell(o.theme, o.segment), grid.column_total(o.segment)
        assert a == o.count and seg_n == o.segment_total
        assert o.share_in_segment == a / seg_n
        assert o.share_elsewhere == (grid.row_total(o.theme) - a) / (grid.total - seg_n)
    assert not any(o.segment == "C" for o in found)


def test_overrepresented_skips_any_pair_with_a_hidden_count() -> None:
    """A pair whose cell or group total is hidden is never tested, so no share of it appears anywhere."""
    grid = disclosure.ShownGrid("g", ("t1", "t2"), ("a", "b"), (31, 18), ((None, None), (None, None)), (40, 9), 49,
                                False, 10)
    assert overrepresented(grid) == []


def test_priority_ranking_never_orders_hidden_counts() -> None:
    """Themes with hidden priority counts follow in overall order, whatever those counts are."""
    orders = []
    for small in ((2, 8), (8, 2)):
        grid = disclosure.ShownGrid("priority", ("t1", "t2", "t3"), (PRIORITY, EVERYONE_ELSE), (70, 92, 62),
                                    ((40, 30), (None, None), (None, None)), (50, 120), 224, False, 10)
        del small
        orders.append([(r.theme, r.priority_rank, r.priority_count) for r in rank_by_priority_groups(grid)])
    assert orders[0] == orders[1] == [("t1", 1, 40), ("t2", None, None), ("t3", None, None)]


def test_priority_groups_from_two_questions_are_protected_together() -> None:
    """A priority group named across race and age: the ranking and both group tables leak nothing together."""
    people = [("A", "old")] * 40 + [("C", "young")] * 6 + [("B", "young")] * 20
    answers = [(p, "T0" if p % 3 else "T1") for p in range(len(people))]
    snap = snapshot_of(people, answers, ("T0", "T1"), priority=(("race", ("C",)), ("age", ("young",))))
    rel = release(snap)
    assert rel.priority is not None
    assert_release_safe(snap, rel)


def test_missing_values_are_their_own_group() -> None:
    """People who did not answer an "about you" question are counted under "not given", never dropped."""
    snap = Snapshot(answers=(), groups=("T0",), themes=("T0",),
                    people=tuple(Person(i, (("race", "A" if i < 15 else None),)) for i in range(30)),
                    people_lenses=(Lens("race", ("A",)),))
    assert release(snap).people_lines["race"].categories == ("A", MISSING_SEGMENT)


def test_priority_groups_need_an_answer_lens() -> None:
    """Naming a priority group of a lens the answers do not carry is a developer's error, said plainly."""
    snap = snapshot_of([("A", "old")] * 12, [(p, "T0") for p in range(12)], ("T0",), priority=(("zip", ("1",)),))
    with pytest.raises(ValueError, match="answer lens"):
        release(snap)


def test_answers_of_the_big_group_do_not_reveal_the_small_one() -> None:
    """Eleven people of group A answer, one of group B does not: the group table must not show "11 and 0".

    Shown, A's 11 answers would prove at least 11 people of A, so at most 1 of B: the first pass
    alone leaves this open, and the audit closes it.
    """
    snap = snapshot_of([("A", "old")] * 11 + [("B", "old")], [(p, "T0") for p in range(11)], ("T0",))
    rel = release(snap)
    assert rel.people_lines["race"].count("B") is None
    assert rel.grids["race"].withheld or rel.grids["race"].cell("T0", "A") is None
    assert_release_safe(snap, rel)
