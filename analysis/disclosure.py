"""Disclosure control: the one place that decides which counts Chorus may show.

Chorus shows counts of people and of their answers on the planners' review pages, in the
synthesis report (HTML, Word, Markdown) and its charts, in the codebook and the data exports, on
the residents' results page, on the live console and projector, and in the ``chorus themes``
report. Each of them asks this module which counts it may print; none decides on its own.

The method (docs/privacy.md, "Small counts", gives it with its proof):

1. **Threshold.** ``t`` is 10 unless a planner raises it (:data:`MIN_THRESHOLD` is the floor).
2. **Tables, not cells.** Counts are published as tables: a :class:`Line` (a total and its
   breakdown, e.g. people by language) or a :class:`Grid` (answers by theme and group, whose row
   totals are the themes' published sizes). A line whose total is below ``t`` is *withheld*: its
   total reads "fewer than t" and no breakdown is shown. What else the output shows may narrow a
   withheld total to "at least 1" and no further (:func:`withheld_total_too_narrow`; answers are
   capped per person by :class:`Cap` and :class:`TotalCap`): a table whose counts would say more
   is withheld whole, totals included (``covered``).
3. **Primary suppression.** Every count from 1 to ``t - 1`` is hidden.
4. **Complementary suppression.** More counts are hidden until, for everything one output shows
   taken together (every table, its totals, and the links between tables in :class:`Cap` and
   :class:`Combined`), the values each hidden count could take span at least ``t`` for a hidden
   count below ``t``, and at least two values for any other hidden count. :func:`audit` computes
   those ranges with linear programming (scipy's HiGHS): the least and the most each hidden count
   can be, subject to every published equality and inequality and to counts never being
   negative. :func:`protect` hides more until :func:`audit` finds nothing; when that takes too
   long it withholds the two-way tables of that part of the output, which leaves lines whose
   hidden counts always sum to at least ``t`` (so each can be anything from 0 to that sum).
5. **Derived figures.** Shares, differences, ratios, tests, ranks and bar lengths are computed
   only from what :func:`protect` publishes (``None`` stands for hidden), so they add nothing.

Pure Python (numpy, scipy): no Flask, no SQLite.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from analysis import messages

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_THRESHOLD",
    "MAX_THRESHOLD",
    "MARK",
    "Line",
    "Grid",
    "Cap",
    "Combined",
    "TotalCap",
    "ShownLine",
    "ShownGrid",
    "Published",
    "Range",
    "validate_threshold",
    "threshold_in_use",
    "protect",
    "protect_line",
    "audit",
    "withheld_total_too_narrow",
    "PooledRow",
    "protect_pooled",
    "audit_pooled",
    "share",
]

DEFAULT_THRESHOLD = 10
# The README promises that counts below 10 are hidden everywhere: nobody can lower it.
MIN_THRESHOLD = 10
# The database's CHECK on synthesis_settings.threshold.
MAX_THRESHOLD = 11
MARK = messages.SUPPRESSED_MARK
# Rounds of "audit, then hide what pins a hidden count" before a part of the output falls back
# to showing its lines only.
MAX_ROUNDS = 12
_EPS = 1e-6


# --- what may be published --------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A one-way table to publish: a total and its breakdown by category (true counts)."""

    name: str
    categories: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Grid:
    """A two-way table to publish: answers by row (a theme) and column (a group), true counts.

    Its row totals must already be published (they are the themes' published sizes), so they
    are shown as they are and never hidden here.
    """

    name: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Cap:
    """What anyone may infer across tables: answers from some groups are at most ``per_person``
    times the people in them, because each person answers each question at most once.

    The sum of ``grid``'s column totals in ``columns`` is at most ``per_person`` times the sum
    of the people counts ``people`` (pairs of line name and category).
    """

    grid: str
    columns: tuple[str, ...]
    people: tuple[tuple[str, str], ...]
    per_person: int


@dataclass(frozen=True)
class Combined:
    """A grid column made of other grids' columns (priority groups named across questions).

    In every row (and in the column totals), ``grid``'s ``column`` is at least the sum over
    each part's columns, and at most the sum over all parts: a person in two priority groups
    counts once. With a single part it is exactly that part's sum.
    """

    grid: str
    column: str
    parts: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class TotalCap:
    """What anyone may infer from a total of answers: at most ``per_person`` answers per person.

    The total of ``answers`` (a line's total, or a grid's grand total: the sum of its row totals)
    is at most ``per_person`` times the total of the people line ``people``. When that people
    line is withheld ("fewer than t"), published answers would say how many people there are at
    least: :func:`protect` hides or withholds what would (see :func:`withheld_total_too_narrow`).
    """

    answers: str
    people: str
    per_person: int


@dataclass(frozen=True)
class ShownLine:
    """A line as published: ``None`` for a hidden count; a withheld line has no total or counts.

    A line is withheld because its total is below the threshold ("fewer than t"), or, with
    ``covered``, because its counts, however large, would say how many people a withheld people
    total stands for (answers capped per person): then nothing of it is shown, and it must not
    be described as small.
    """

    name: str
    categories: tuple[str, ...]
    counts: tuple[int | None, ...]
    total: int | None
    threshold: int
    covered: bool = False

    @property
    def withheld(self) -> bool:
        """Tell whether the line's total is below the threshold, so nothing of it is shown."""
        return self.total is None

    def count(self, category: str) -> int | None:
        """Return a category's published count, or ``None`` when hidden."""
        return self.counts[self.categories.index(category)]

    def share(self, category: str) -> float | None:
        """Return a category's share of the total, only when both are published."""
        return share(self.count(category), self.total)

    def hidden_any(self) -> bool:
        """Tell whether any count of this line is hidden."""
        return self.withheld or any(c is None for c in self.counts)


@dataclass(frozen=True)
class ShownGrid:
    """A grid as published: row totals always shown, ``None`` for a hidden cell or column total.

    The one exception is a ``covered`` grid: its row totals would pin a withheld people total
    (answers capped per person), so it is withheld with its row totals and total ``None``; the
    caller must not print those sizes anywhere else in the same output.
    """

    name: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    row_totals: tuple[int | None, ...]
    cells: tuple[tuple[int | None, ...], ...]
    column_totals: tuple[int | None, ...]
    total: int | None
    withheld: bool
    threshold: int
    covered: bool = False

    def cell(self, row: str, column: str) -> int | None:
        """Return one published cell, or ``None`` when hidden."""
        return self.cells[self.rows.index(row)][self.columns.index(column)]

    def row_total(self, row: str) -> int:
        """Return a row's total (a theme's published size)."""
        return self.row_totals[self.rows.index(row)]

    def column_total(self, column: str) -> int | None:
        """Return a column's published total, or ``None`` when hidden."""
        return self.column_totals[self.columns.index(column)]

    def column_share(self, row: str, column: str) -> float | None:
        """Return a cell as a share of its column (the group's answers), only from published counts."""
        return share(self.cell(row, column), self.column_total(column))

    def hidden_any(self) -> bool:
        """Tell whether any cell or column total is hidden."""
        return self.withheld or any(c is None for row in self.cells for c in row) or any(
            c is None for c in self.column_totals)


@dataclass(frozen=True)
class Published:
    """Everything one output may show, table by table, at one threshold."""

    threshold: int
    lines: dict[str, ShownLine]
    grids: dict[str, ShownGrid]


@dataclass(frozen=True)
class Range:
    """The values a hidden count could take given everything an output shows."""

    low: int
    high: int
    true: int

    @property
    def width(self) -> int:
        """Return how far apart the least and the most it could be are."""
        return self.high - self.low


def threshold_in_use(stored: int | None) -> int:
    """Return the threshold a session uses: the one stored, else the default, and never below the floor.

    A threshold stored before the floor was 10 is raised to it.
    """
    return max(int(DEFAULT_THRESHOLD if stored is None else stored), MIN_THRESHOLD)


def validate_threshold(threshold: int) -> int:
    """Return ``threshold`` if it is a whole number from the floor (10) to 11, else raise ``ValueError``."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise ValueError(f"suppression threshold must be an integer, not {threshold!r}")
    if not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"suppression threshold must be from {MIN_THRESHOLD} to {MAX_THRESHOLD}, not {threshold}")
    return int(threshold)


def share(part: int | None, whole: int | None) -> float | None:
    """Return ``part / whole`` when both are published and ``whole`` is positive, else ``None``."""
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def required_width(value: int, threshold: int) -> int:
    """Return how wide the range of a hidden count must be: ``t`` for a small count, else 2 values."""
    return threshold if 0 < value < threshold else 1


def withheld_total_too_narrow(found: Range, threshold: int) -> bool:
    """Tell whether a total shown as "fewer than t" is narrowed beyond what the label says.

    The rule: everything an output shows may tell that a withheld total is at least 1 (an output
    with any answer in it says someone took part) and, by its label, at most ``t - 1``; nothing
    more. So its least possible value must be 0 or 1, and its most ``t - 1``.
    """
    return found.low > 1 or found.high < threshold - 1


# --- the model: items, relations, and what is hidden -----------------------------------------
#
# Every count of an output is an item: ("cell", line, category), ("total", line),
# ("gcell", grid, row, column), ("gcol", grid, column), ("grow", grid, row), ("gall", grid).
# Tables and links become linear relations between items: sum(coef * item) == 0 or <= 0.


@dataclass(frozen=True)
class _Relation:
    """One linear relation between counts: ``sum(coef * item) == 0`` (or ``<= 0``)."""

    terms: tuple[tuple[tuple, float], ...]
    equal: bool


@dataclass
class _Model:
    """The true counts of one output, the relations between them, and what is hidden so far."""

    threshold: int
    values: dict
    relations: list[_Relation]
    fixed: set  # items always published as they are (grid row totals and grand totals)
    hidden: set  # items shown as the mark
    withheld_lines: set  # line names shown as "fewer than t"
    withheld_grids: set  # grid names not shown at all
    owner: dict  # item -> ("line", name) or ("grid", name)
    # Tables withheld whole, totals included, because they would pin a withheld people total
    # (a line here is in withheld_lines too, but its total is not bounded by "fewer than t").
    covered: set = field(default_factory=set)

    def table_of(self, item: tuple) -> tuple[str, str]:
        """Return which table an item belongs to."""
        return self.owner[item]

    def unpublished(self, item: tuple) -> bool:
        """Tell whether an item's value is not shown (hidden, or in a withheld table)."""
        kind, name = self.owner[item]
        if name in self.covered:
            return True
        if item in self.fixed:
            return False
        if kind == "line" and name in self.withheld_lines:
            return True
        if kind == "grid" and name in self.withheld_grids:
            return True
        return item in self.hidden

    def displayed_hidden(self, item: tuple) -> bool:
        """Tell whether an item is shown as the mark (not withheld, not fixed)."""
        kind, name = self.owner[item]
        if (kind == "line" and name in self.withheld_lines) or (kind == "grid" and name in self.withheld_grids):
            return False
        return item in self.hidden


def _build(lines: Sequence[Line], grids: Sequence[Grid], links: Sequence[Cap | Combined | TotalCap], threshold: int) -> _Model:
    """Turn tables and links into items and linear relations."""
    values: dict = {}
    owner: dict = {}
    relations: list[_Relation] = []
    fixed: set = set()
    names = set()
    for line in lines:
        if line.name in names:
            raise ValueError(f"two tables are named {line.name!r}")
        names.add(line.name)
        if len(line.categories) != len(line.counts) or len(set(line.categories)) != len(line.categories):
            raise ValueError(f"line {line.name!r}: categories and counts do not match")
        total = ("total", line.name)
        values[total] = sum(int(c) for c in line.counts)
        owner[total] = ("line", line.name)
        terms = [(total, -1.0)]
        for category, count in zip(line.categories, line.counts):
            if count < 0:
                raise ValueError("counts cannot be negative")
            item = ("cell", line.name, category)
            values[item] = int(count)
            owner[item] = ("line", line.name)
            terms.append((item, 1.0))
        relations.append(_Relation(tuple(terms), True))
    for grid in grids:
        if grid.name in names:
            raise ValueError(f"two tables are named {grid.name!r}")
        names.add(grid.name)
        counts = np.array(grid.counts, dtype=np.int64).reshape(len(grid.rows), len(grid.columns))
        if (counts < 0).any():
            raise ValueError("counts cannot be negative")
        everything = ("gall", grid.name)
        values[everything] = int(counts.sum())
        owner[everything] = ("grid", grid.name)
        fixed.add(everything)
        for i, row in enumerate(grid.rows):
            item = ("grow", grid.name, row)
            values[item] = int(counts[i].sum())
            owner[item] = ("grid", grid.name)
            fixed.add(item)
            relations.append(_Relation(tuple([(("gcell", grid.name, row, c), 1.0) for c in grid.columns] + [(item, -1.0)]), True))
        for j, column in enumerate(grid.columns):
            item = ("gcol", grid.name, column)
            values[item] = int(counts[:, j].sum())
            owner[item] = ("grid", grid.name)
            relations.append(_Relation(tuple([(("gcell", grid.name, r, column), 1.0) for r in grid.rows] + [(item, -1.0)]), True))
        relations.append(_Relation(tuple([(("gcol", grid.name, c), 1.0) for c in grid.columns] + [(everything, -1.0)]), True))
        for i, row in enumerate(grid.rows):
            for j, column in enumerate(grid.columns):
                item = ("gcell", grid.name, row, column)
                values[item] = int(counts[i, j])
                owner[item] = ("grid", grid.name)
    grid_by_name = {g.name: g for g in grids}
    line_names = {line.name for line in lines}
    for link in links:
        if isinstance(link, Cap):
            terms = [(("gcol", link.grid, c), 1.0) for c in link.columns]
            terms += [(("cell", name, category), -float(link.per_person)) for name, category in link.people]
            relations.append(_Relation(tuple(terms), False))
        elif isinstance(link, Combined):
            rows = grid_by_name[link.grid].rows
            for part_grid, _columns in link.parts:
                if grid_by_name[part_grid].rows != rows:
                    raise ValueError("a combined column needs grids with the same rows")
            for row in [*rows, None]:
                def item(grid_name: str, column: str, row=row) -> tuple:
                    """Return the cell of a row, or the column total for the totals' relation."""
                    return ("gcol", grid_name, column) if row is None else ("gcell", grid_name, row, column)

                whole = item(link.grid, link.column)
                every = [(item(g, c), 1.0) for g, cs in link.parts for c in cs]
                relations.append(_Relation(tuple([(whole, 1.0)] + [(i, -1.0) for i, _ in every]), len(link.parts) == 1))
                if len(link.parts) > 1:
                    for g, cs in link.parts:
                        relations.append(_Relation(tuple([(item(g, c), 1.0) for c in cs] + [(whole, -1.0)]), False))
        elif isinstance(link, TotalCap):
            if link.people not in line_names:
                raise ValueError(f"a total cap needs a people line, not {link.people!r}")
            answers = ("total", link.answers) if link.answers in line_names else ("gall", link.answers)
            relations.append(_Relation(((answers, 1.0), (("total", link.people), -float(link.per_person))), False))
        else:
            raise TypeError(f"unknown link {link!r}")
    for relation in relations:
        for item, _ in relation.terms:
            if item not in values:
                raise ValueError(f"a link names a count that no table has: {item!r}")
    return _Model(threshold, values, relations, fixed, set(), set(), set(), owner)


# --- primary and first complementary suppression -------------------------------------------


def _pick(candidates: Iterable[tuple], values: dict, hidden_sum: int, threshold: int) -> tuple | None:
    """Choose the count to hide next in a line of counts: the smallest that lifts the hidden sum to
    the threshold, else the largest (zeros only when nothing else is left)."""
    candidates = list(candidates)
    if not candidates:
        return None
    need = threshold - hidden_sum
    enough = sorted((values[c], c) for c in candidates if values[c] >= max(need, 1))
    if enough:
        return enough[0][1]
    return max(candidates, key=lambda c: (values[c], c))


def _close_line(model: _Model, items: Sequence[tuple]) -> bool:
    """Hide more of a line of counts until its hidden ones (if any) are two or more and sum to ``t``."""
    changed = False
    while True:
        hidden = [i for i in items if i in model.hidden]
        if not hidden:
            return changed
        hidden_sum = sum(model.values[i] for i in hidden)
        if len(hidden) >= 2 and hidden_sum >= model.threshold:
            return changed
        visible = [i for i in items if i not in model.hidden and i not in model.fixed]
        choice = _pick(visible, model.values, hidden_sum, model.threshold)
        if choice is None:
            return changed
        model.hidden.add(choice)
        changed = True


def _first_pass(model: _Model, lines: Sequence[Line], grids: Sequence[Grid], links: Sequence[Cap | Combined | TotalCap] = ()) -> None:
    """Withhold small lines, hide small counts, and close every line and grid row and column.

    Linked tables hide alike: where a people count is hidden, the answers of that group are hidden
    too (its column total), as statistical offices suppress the same cells in linked tables.
    """
    t = model.threshold
    for line in lines:
        if model.values[("total", line.name)] < t:
            model.withheld_lines.add(line.name)
            continue
        model.fixed.add(("total", line.name))  # a line is shown with its total, or not at all
        items = [("cell", line.name, c) for c in line.categories]
        model.hidden.update(i for i in items if 0 < model.values[i] < t)
        _close_line(model, items)
    linked = defaultdict(list)
    for link in links:
        if isinstance(link, Cap):
            for column in link.columns:
                linked[("gcol", link.grid, column)] += [("cell", name, category) for name, category in link.people]
    for grid in grids:
        cells = [("gcell", grid.name, r, c) for r in grid.rows for c in grid.columns]
        if not grid.rows or not any(model.values[i] >= t for i in cells):
            model.withheld_grids.add(grid.name)  # nothing in it could be shown but zeros
            continue
        columns = [("gcol", grid.name, c) for c in grid.columns]
        model.hidden.update(i for i in cells + columns if 0 < model.values[i] < t)
        model.hidden.update(c for c in columns if any(p in model.hidden or model.owner[p][1] in model.withheld_lines
                                                      for p in linked.get(c, ())))
        for _ in range(len(cells) + len(columns)):
            changed = False
            for row in grid.rows:
                changed |= _close_line(model, [("gcell", grid.name, row, c) for c in grid.columns])
            for column in grid.columns:
                if ("gcol", grid.name, column) not in model.hidden:
                    changed |= _close_line(model, [("gcell", grid.name, r, column) for r in grid.rows])
            changed |= _close_line(model, columns)
            if not changed:
                break


# --- the audit --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    """A hidden count whose range is too narrow, and the published counts that narrow it."""

    item: tuple
    range: Range
    culprits: tuple[tuple, ...]
    pins: tuple[tuple, ...] = ()  # counts published as they are (row totals, shown line totals) that narrow it


def _components(model: _Model) -> list[set[tuple[str, str]]]:
    """Group the tables that relations tie together (a withheld grid's counts are unknowns that still tie)."""
    parent: dict = {}

    def find(x):
        """Return a table's group representative."""
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for relation in model.relations:
        first, *rest = {model.owner[item] for item, _ in relation.terms}
        find(first)
        for other in rest:
            parent[find(other)] = find(first)
    groups: dict = defaultdict(set)
    for table in set(model.owner.values()):
        groups[find(table)].add(table)
    return list(groups.values())


def _audit_tables(model: _Model, tables: set[tuple[str, str]], *, want_culprits: bool,
                  everything: bool = False, only: set | None = None) -> list[_Finding]:
    """Compute the range of every shown hidden count of some tables (or of ``only`` those); return
    the ones too narrow (or all of them with ``everything``)."""
    from scipy.optimize import linprog

    relations = [r for r in model.relations if {model.owner[i] for i, _ in r.terms} <= tables]
    variables = sorted({i for r in relations for i, _ in r.terms if model.unpublished(i)} |
                       {i for i in model.owner if model.owner[i] in tables and model.unpublished(i)})
    if not variables:
        return []
    index = {v: k for k, v in enumerate(variables)}
    # Connected groups of unknowns: a count's range depends only on its own group.
    parent = list(range(len(variables)))

    def find(x: int) -> int:
        """Return an unknown's group representative."""
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rows = []
    for relation in relations:
        unknown = [index[i] for i, _ in relation.terms if i in index]
        if not unknown:
            continue
        for other in unknown[1:]:
            parent[find(other)] = find(unknown[0])
        constant = sum(coef * model.values[i] for i, coef in relation.terms if i not in index)
        culprits = tuple(i for i, _ in relation.terms if i not in index and i not in model.fixed)
        pins = tuple(i for i, _ in relation.terms if i not in index and i in model.fixed)
        rows.append((relation, unknown, constant, culprits, pins))
    # A line withheld as "fewer than t" says its total is at most t - 1; a covered one says nothing.
    withheld_totals = {index[("total", name)] for kind, name in tables
                       if kind == "line" and name in model.withheld_lines and name not in model.covered}
    findings = []
    by_group: dict[int, list[int]] = defaultdict(list)
    for k in range(len(variables)):
        by_group[find(k)].append(k)
    for members in by_group.values():
        local = {k: n for n, k in enumerate(members)}
        group_rows = [r for r in rows if find(r[1][0]) == find(members[0])]
        a_eq, b_eq, eq_culprits, a_ub, b_ub, ub_culprits = [], [], [], [], [], []
        for relation, _unknown, constant, culprits, pins in group_rows:
            row = np.zeros(len(members))
            for item, coef in relation.terms:
                if item in index:
                    row[local[index[item]]] += coef
            (a_eq if relation.equal else a_ub).append(row)
            (b_eq if relation.equal else b_ub).append(-constant)
            (eq_culprits if relation.equal else ub_culprits).append((culprits, pins))
        bounds = [(0, model.threshold - 1 if k in withheld_totals else None) for k in members]
        for k in members:
            item = variables[k]
            total = k in withheld_totals
            if not (total or model.displayed_hidden(item)) or (only is not None and item not in only):
                continue
            ends, used, pinned = [], set(), set()
            # Presolve off: these programs are tiny, and HiGHS's presolve has been known to answer
            # small models wrongly (its MIP presolve does here; see tests/attack.py).
            for sense in (1.0, -1.0):
                objective = np.zeros(len(members))
                objective[local[k]] = sense
                result = linprog(objective, A_ub=np.array(a_ub) if a_ub else None, b_ub=np.array(b_ub) if b_ub else None,
                                 A_eq=np.array(a_eq) if a_eq else None, b_eq=np.array(b_eq) if b_eq else None,
                                 bounds=bounds, method="highs", options={"presolve": False})
                if result.status != 0:
                    raise RuntimeError(f"disclosure audit could not solve its linear program: {result.message}")
                ends.append(sense * result.fun)
                if want_culprits:
                    for marginals, culprits in ((getattr(result.eqlin, "marginals", ()), eq_culprits),
                                                (getattr(result.ineqlin, "marginals", ()), ub_culprits)):
                        for dual, (names, fixed) in zip(marginals, culprits):
                            if abs(dual) > _EPS:
                                used.update(names)
                                pinned.update(fixed)
            low, high = math.ceil(ends[0] - _EPS), math.floor(ends[1] + _EPS)
            found = Range(low, high, model.values[item])
            narrow = (withheld_total_too_narrow(found, model.threshold) if total
                      else found.width < required_width(found.true, model.threshold))
            if everything or narrow:
                findings.append(_Finding(item, found, tuple(sorted(used)), tuple(sorted(pinned))))
    return findings


def _cost(model: _Model, item: tuple, derived: set[str]) -> tuple:
    """Rank a count by what hiding it costs readers: derived tables first, people tables last."""
    kind, name = model.owner[item]
    if kind == "grid" and name in derived:
        rank = 0
    elif item[0] == "gcell":
        rank = 1
    elif item[0] == "gcol":
        rank = 2
    else:
        rank = 3
    value = model.values[item]
    # Among equals, the smallest count that is not itself small: it hides least and widens most.
    return (rank, 0 if value >= model.threshold else 1, value if value >= model.threshold else -value, item)


def _withhold_one(model: _Model, tables: set[tuple[str, str]], derived: set[str], findings: list[_Finding]) -> bool:
    """Withhold one more grid of a part of the output (derived ones first); False when none is left."""
    shown = [name for kind, name in tables if kind == "grid" and name not in model.withheld_grids]
    if not shown:
        return False
    blamed = Counter(model.owner[f.item][1] for f in findings if model.owner[f.item][0] == "grid")
    shown.sort(key=lambda name: (name not in derived, -blamed.get(name, 0), name))
    model.withheld_grids.add(shown[0])
    return True


def _cover(model: _Model, finding: _Finding) -> set:
    """Withhold whole, totals included, the tables whose fixed counts pin a withheld total; return what changed.

    A grid's row totals and a shown line's total are published as they are, so hiding cells
    cannot widen a withheld total they pin (answers capped per person: 36 answers, at most 4
    each, say "at least 9" of "fewer than 10"). The table that prints them is withheld instead.
    """
    changed = set()
    for pin in finding.pins:
        kind, name = model.owner[pin]
        if name in model.covered:
            continue
        model.covered.add(name)
        (model.withheld_lines if kind == "line" else model.withheld_grids).add(name)
        changed.add(("covered", name))
    return changed


def _needs_audit(model: _Model, tables: set[tuple[str, str]]) -> bool:
    """Tell whether a part of the output may still hide a count too narrow: a shown grid, or a withheld total tied to other tables."""
    if any(kind == "grid" and name not in model.withheld_grids for kind, name in tables):
        return True
    if all(kind == "line" and name in model.withheld_lines for kind, name in tables):
        return False  # nothing of the part is published: nothing can narrow its totals
    return len(tables) > 1 and any(kind == "line" and name in model.withheld_lines and name not in model.covered
                                   for kind, name in tables)


def _settle(model: _Model, derived: set[str]) -> None:
    """Hide more, part by part of the output, until the audit finds no hidden count or withheld total too narrow.

    Each round audits one part (tables tied by relations), then hides, for each hidden count
    found too narrow, one published count of a relation that bounds it -- the cheapest to lose,
    and only if no count hidden in this round already bounds it. A withheld total ("fewer than
    t") pinned only by counts published as they are (row totals, a line's total) has the tables
    printing them withheld whole (:func:`_cover`). A part that does not settle within
    :data:`MAX_ROUNDS` loses a grid (derived ones first) and starts again; with every grid
    withheld only lines are left, and those are safe as the first pass left them unless a
    total cap ties them, which the audit goes on checking.
    """
    for tables in _components(model):
        rounds = 0
        # Hiding more only widens every range (a published constant becomes one more unknown), so
        # after the first round only the counts still too narrow and the newly hidden need a look.
        recheck: set | None = None
        while _needs_audit(model, tables):
            findings = _audit_tables(model, tables, want_culprits=True, only=recheck)
            if not findings:
                break
            rounds += 1
            added: set = set()
            for finding in findings:
                candidates = [c for c in finding.culprits if c not in model.hidden]
                if not candidates and finding.item[0] == "total":
                    added |= _cover(model, finding)
                    continue
                if not candidates or added & set(finding.culprits):
                    continue
                choice = min(candidates, key=lambda c: _cost(model, c, derived))
                model.hidden.add(choice)
                added.add(choice)
            recheck = {f.item for f in findings} | added
            if not added or rounds >= MAX_ROUNDS:
                if not _withhold_one(model, tables, derived, findings) and not added:
                    # Every grid is withheld and a withheld total is still narrow: withhold every
                    # other table of the part whole, so nothing published ties to it any more.
                    for kind, name in tables:
                        if name not in model.covered and not (kind == "line" and name in model.withheld_lines):
                            model.covered.add(name)
                            (model.withheld_lines if kind == "line" else model.withheld_grids).add(name)
                rounds = 0


# --- the results ------------------------------------------------------------------------------


def _publish(model: _Model, lines: Sequence[Line], grids: Sequence[Grid]) -> Published:
    """Read the published tables off the model: hidden counts become ``None``."""
    shown_lines = {}
    for line in lines:
        if line.name in model.withheld_lines:
            shown_lines[line.name] = ShownLine(line.name, line.categories, tuple(None for _ in line.categories), None,
                                               model.threshold, covered=line.name in model.covered)
            continue
        counts = tuple(None if ("cell", line.name, c) in model.hidden else model.values[("cell", line.name, c)]
                       for c in line.categories)
        shown_lines[line.name] = ShownLine(line.name, line.categories, counts, model.values[("total", line.name)],
                                           model.threshold)
    shown_grids = {}
    for grid in grids:
        withheld = grid.name in model.withheld_grids
        cells = tuple(tuple(None if withheld or ("gcell", grid.name, r, c) in model.hidden
                            else model.values[("gcell", grid.name, r, c)] for c in grid.columns) for r in grid.rows)
        columns = tuple(None if withheld or ("gcol", grid.name, c) in model.hidden else model.values[("gcol", grid.name, c)]
                        for c in grid.columns)
        if all(v is None for row in cells for v in row) and all(v is None for v in columns):
            withheld = True  # every count hidden: the grid says nothing its row totals do not
        if grid.name in model.covered:
            shown_grids[grid.name] = ShownGrid(grid.name, grid.rows, grid.columns, tuple(None for _ in grid.rows), cells,
                                               columns, None, True, model.threshold, covered=True)
            continue
        shown_grids[grid.name] = ShownGrid(
            grid.name, grid.rows, grid.columns, tuple(model.values[("grow", grid.name, r)] for r in grid.rows), cells,
            columns, model.values[("gall", grid.name)], withheld, model.threshold)
    return Published(model.threshold, shown_lines, shown_grids)


@lru_cache(maxsize=256)
def _protect_cached(lines: tuple[Line, ...], grids: tuple[Grid, ...], links: tuple, threshold: int) -> Published:
    """Protect tables (cached: a page and its exports ask about the same counts)."""
    model = _build(lines, grids, links, threshold)
    _first_pass(model, lines, grids, links)
    _settle(model, {link.grid for link in links if isinstance(link, Combined)})
    return _publish(model, lines, grids)


def protect(lines: Sequence[Line] = (), grids: Sequence[Grid] = (), links: Sequence[Cap | Combined | TotalCap] = (), *,
            threshold: int = DEFAULT_THRESHOLD) -> Published:
    """Decide what one output may show of its tables, taken together; return them as published."""
    threshold = validate_threshold(threshold)
    lines = tuple(Line(line.name, tuple(line.categories), tuple(int(c) for c in line.counts)) for line in lines)
    grids = tuple(Grid(g.name, tuple(g.rows), tuple(g.columns), tuple(tuple(int(c) for c in row) for row in g.counts))
                  for g in grids)
    return _protect_cached(lines, grids, tuple(links), threshold)


def protect_line(name: str, categories: Sequence[str], counts: Sequence[int], *,
                 threshold: int = DEFAULT_THRESHOLD) -> ShownLine:
    """Decide what a single line of counts may show (the projector's "about you" results)."""
    return protect([Line(name, tuple(categories), tuple(counts))], threshold=threshold).lines[name]


def audit(lines: Sequence[Line], grids: Sequence[Grid], links: Sequence[Cap | Combined | TotalCap], published: Published) -> dict[tuple, Range]:
    """Return the range of every hidden count ``published`` shows, given all it shows together.

    Keys are ("cell", line, category), ("gcell", grid, row, column) and ("gcol", grid, column),
    and ("total", line) for a line withheld as "fewer than t" that other tables tie to (its range
    must pass :func:`withheld_total_too_narrow`).
    The ranges come from the linear programs :func:`protect` relies on; tests check them again
    with integer programming.
    """
    model = _build(lines, grids, links, published.threshold)
    for name, shown in published.lines.items():
        if shown.withheld:
            model.withheld_lines.add(name)
        if shown.covered:
            model.covered.add(name)
        model.hidden.update(("cell", name, c) for c, v in zip(shown.categories, shown.counts) if v is None)
    for name, shown in published.grids.items():
        if shown.covered:
            model.covered.add(name)
        if shown.withheld:
            model.withheld_grids.add(name)
            continue
        for r, row in zip(shown.rows, shown.cells):
            model.hidden.update(("gcell", name, r, c) for c, v in zip(shown.columns, row) if v is None)
        model.hidden.update(("gcol", name, c) for c, v in zip(shown.columns, shown.column_totals) if v is None)
    ranges: dict[tuple, Range] = {}
    for tables in _components(model):
        for finding in _audit_tables(model, tables, want_culprits=False, everything=True):
            ranges[finding.item] = finding.range
    return ranges


# --- pooled tables: one table summed over outputs that are already published -----------------


@dataclass(frozen=True)
class PooledRow:
    """One part of a pooled table (a session's people by group) and what its own output already shows.

    ``shown`` is the part's line as its own output publishes it (``None`` for a hidden count,
    all ``None`` when that line is withheld); its total is always known (staff see it).
    """

    name: str
    counts: tuple[int, ...]
    shown: tuple[int | None, ...]


def protect_pooled(name: str, columns: Sequence[str], parts: Sequence[PooledRow], *,
                   threshold: int = DEFAULT_THRESHOLD) -> ShownGrid:
    """Decide which pooled counts (column totals) may be shown beside the parts' own published lines.

    The parts were published before and cannot be taken back, so only pooled counts may be
    hidden. Everything is audited together: each part's published counts and total, and the
    pooled counts, with the pooled count being the sum of the parts. A hidden count of a part
    must stay as wide as that part's own output left it (at least ``t`` for a small count, or
    its whole total when the part shows "fewer than t"), so subtracting parts' published tables
    from the pooled table recovers nothing. A pooled total below ``t`` shows nothing.
    """
    threshold = validate_threshold(threshold)
    columns = tuple(columns)
    rows_ = tuple(p.name for p in parts)
    counts = tuple(tuple(int(c) for c in p.counts) for p in parts)
    grid = Grid(name, rows_, columns, counts)
    return _protect_pooled_cached(grid, tuple(tuple(p.shown) for p in parts), threshold)


def _pooled_needs(model: _Model, item: tuple, found: Range) -> bool:
    """Tell whether a hidden count of a pooled table is too narrow (rows shown as "fewer than t" need their whole total)."""
    if item[0] == "gcell":
        row_total = model.values[("grow", item[1], item[2])]
        if row_total < model.threshold:
            return found.low > 0 or found.high < row_total
    return found.width < required_width(found.true, model.threshold)


def _certified(model: _Model, grid: Grid, item: tuple) -> bool:
    """Tell cheaply whether a hidden cell of a pooled table is wide enough, without linear programming.

    Moving counts around a cycle of hidden cells (up in this cell and another row's cell of a
    second column, down in the two others) keeps every row and published column total, so each
    such move is another table the attacker cannot tell from the true one; the moves found here
    (greedily, so a lower bound) give a range at least this wide. Cells they do not certify go to
    the linear programs.
    """
    _, name, i, c = item
    value = model.values[item]
    hidden = model.hidden
    free_column = lambda d: ("gcol", name, d) in hidden  # noqa: E731 - a column whose total is not shown
    row_cells = {d: model.values[("gcell", name, i, d)] for d in grid.columns
                 if d != c and ("gcell", name, i, d) in hidden}
    up = down = 0
    if free_column(c):
        free = [d for d in row_cells if free_column(d)]
        if free:
            down = value
            for d in free:
                up += row_cells.pop(d)
    column_cells = {j: model.values[("gcell", name, j, c)] for j in grid.rows
                    if j != i and ("gcell", name, j, c) in hidden}
    spare_up, spare_down = dict(row_cells), dict(row_cells)
    for j, in_column in sorted(column_cells.items(), key=lambda x: -x[1]):
        room = in_column  # up: this row's cell in column c gives way
        for d in spare_up:
            if room and spare_up[d] and ("gcell", name, j, d) in hidden:
                moved = min(room, spare_up[d])
                spare_up[d] -= moved
                room -= moved
                up += moved
        for d in spare_down:  # down: this row's cell in column d gives way, column c's cell takes it
            if down < value and ("gcell", name, j, d) in hidden:
                down += min(value - down, model.values[("gcell", name, j, d)])
    down = min(down, value)
    row_total = model.values[("grow", name, i)]
    if row_total < model.threshold:
        return down >= value and value + up >= row_total
    return up + down >= required_width(value, model.threshold)


@lru_cache(maxsize=64)
def _protect_pooled_cached(grid: Grid, shown: tuple[tuple[int | None, ...], ...], threshold: int) -> ShownGrid:
    """Protect one pooled table (cached: the dashboard and its exports ask about the same counts)."""
    model = _build([], [grid], [], threshold)
    for row, row_shown in zip(grid.rows, shown):
        model.hidden.update(("gcell", grid.name, row, c) for c, v in zip(grid.columns, row_shown) if v is None)
    columns = [("gcol", grid.name, c) for c in grid.columns]
    if model.values[("gall", grid.name)] < threshold:
        model.hidden.update(columns)
    model.hidden.update(c for c in columns if 0 < model.values[c] < threshold)
    _close_line(model, columns)
    tables = {("grid", grid.name)}
    for _ in range(len(columns) + 1):
        unsure = {item for item in model.hidden if item[0] == "gcell" and not _certified(model, grid, item)}
        unsure |= {c for c in columns if c in model.hidden}
        findings = [f for f in _audit_tables(model, tables, want_culprits=True, everything=True, only=unsure)
                    if _pooled_needs(model, f.item, f.range)] if unsure else []
        if not findings:
            break
        choices = {c for f in findings for c in f.culprits if c[0] == "gcol" and c not in model.hidden}
        if not choices:
            model.hidden.update(columns)  # nothing else may move: the pooled breakdown is not shown
            break
        model.hidden.add(min(choices, key=lambda c: (model.values[c] < threshold, model.values[c], c)))
        _close_line(model, columns)
    cells = tuple(tuple(None if ("gcell", grid.name, r, c) in model.hidden else model.values[("gcell", grid.name, r, c)]
                        for c in grid.columns) for r in grid.rows)
    totals = tuple(None if c in model.hidden else model.values[c] for c in columns)
    return ShownGrid(grid.name, grid.rows, grid.columns, tuple(model.values[("grow", grid.name, r)] for r in grid.rows),
                     cells, totals, model.values[("gall", grid.name)], all(v is None for v in totals), threshold)


def audit_pooled(name: str, columns: Sequence[str], parts: Sequence[PooledRow], published: ShownGrid) -> dict[tuple, Range]:
    """Return the range of every hidden count of a pooled table and its parts, given all they show together."""
    grid = Grid(name, tuple(p.name for p in parts), tuple(columns), tuple(tuple(p.counts) for p in parts))
    model = _build([], [grid], [], published.threshold)
    for row, row_shown in zip(grid.rows, published.cells):
        model.hidden.update(("gcell", name, row, c) for c, v in zip(grid.columns, row_shown) if v is None)
    model.hidden.update(("gcol", name, c) for c, v in zip(grid.columns, published.column_totals) if v is None)
    return {f.item: f.range for f in _audit_tables(model, {("grid", name)}, want_culprits=False, everything=True)}
