"""Equity lens: who took part and who said what, released as one disclosure-controlled whole.

Owns the tables an output shows about people and their open answers, built from a
:class:`Snapshot` (the people who took part, their answers and the theme each answer is in):

- ``people_lines``: people by language, by how they took part, by each "about you" answer;
- ``sizes``: answers by theme (and "other", off-topic, no content, not yet sorted);
- ``grids``: answers in each theme by group, one table per lens (answer language, each
  "about you" question, or a CSV's segment column);
- ``priority``: answers in each theme from the priority groups a planner names, and from
  everyone else ("design at the margins").

:func:`release` hands all of them to :mod:`analysis.disclosure` together, with what links them
(answers from a group are at most ``per_person`` times its people; a priority column is made of
other columns), so that nothing one output shows can be combined to recover a hidden count.
Everything derived -- :func:`overrepresented` (Fisher's exact test, Benjamini-Hochberg adjusted,
risk ratio and difference) and :func:`rank_by_priority_groups` -- reads published counts only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from analysis import disclosure
from analysis.disclosure import Cap, Combined, Grid, Line, ShownGrid, ShownLine, TotalCap

__all__ = [
    "Lens",
    "Person",
    "Reply",
    "Snapshot",
    "Counts",
    "Release",
    "Overrepresentation",
    "PriorityRank",
    "release",
    "release_counts",
    "count",
    "segment_value",
    "release_sizes",
    "audit",
    "overrepresented",
    "rank_by_priority_groups",
    "published_order",
    "MISSING_SEGMENT",
    "PRIORITY",
    "EVERYONE_ELSE",
    "SIZES",
]

MISSING_SEGMENT = "(not given)"
PRIORITY = "priority"
EVERYONE_ELSE = "everyone else"
SIZES = "sizes"
EVERYONE_LINE = "people"  # the number of people who took part, as a line of one count
PEOPLE = "people:"
ANSWERS = "answers:"


@dataclass(frozen=True)
class Lens:
    """A way to group people or answers: a key, and its categories in the order to show them.

    A people table lists every category (zeros too) with ``keep_empty``, else only those seen.
    """

    key: str
    categories: tuple[str, ...] = ()
    keep_empty: bool = True


@dataclass(frozen=True)
class Person:
    """Someone who took part, with their value for each people lens (``None``: not given)."""

    id: Hashable
    segments: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Reply:
    """One open answer: who gave it (if known), the group it is in, and its value for each answer lens."""

    id: Hashable
    group: str
    person: Hashable | None = None
    segments: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """Everything an output may count: answers with their groups and, when known, the people.

    ``groups`` lists every group an answer can be in, in display order; ``themes`` the ones that
    are themes (the rows of group tables). ``priority`` names priority groups as pairs of an
    answer lens and its categories. ``per_person`` is the most answers one person can give
    (the number of open questions counted).
    """

    answers: tuple[Reply, ...]
    groups: tuple[str, ...]
    themes: tuple[str, ...]
    answer_lenses: tuple[Lens, ...] = ()
    people: tuple[Person, ...] | None = None
    people_lenses: tuple[Lens, ...] = ()
    priority: tuple[tuple[str, tuple[str, ...]], ...] = ()
    per_person: int = 1


@dataclass(frozen=True)
class Counts:
    """What :func:`release` decides from: a snapshot's answers and people as counts, no object per answer.

    ``sizes``: answers by group. ``people``: how many people (None: not known).
    ``most_per_person``: the cap on answers per person (the snapshot's ``per_person`` or the most one
    person gave, if more), None when some answer's author is not among the people. ``people_counts``:
    for each people lens, people by value (values as :func:`segment_value` gives them).
    ``answer_counts``: for each answer lens, answers by (group, value), every group.
    ``priority_counts``: answers by (group, whether the author is in a priority group), every group.
    ``follow``: for each lens that is both a people and an answer lens, whether every answer's value
    is its author's (so a group's answers are capped by its people). A database can count all of them
    with a few grouped queries (:mod:`analysis.review.tallies`); :func:`count` counts a snapshot.
    """

    groups: tuple[str, ...]
    themes: tuple[str, ...]
    sizes: dict[str, int]
    people: int | None
    most_per_person: int | None
    per_person: int = 1
    people_lenses: tuple[Lens, ...] = ()
    people_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    answer_lenses: tuple[Lens, ...] = ()
    answer_counts: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    priority: tuple[tuple[str, tuple[str, ...]], ...] = ()
    priority_counts: dict[tuple[str, bool], int] = field(default_factory=dict)
    follow: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Overrepresentation:
    """A theme raised more often in one group than by everyone else, from published counts only."""

    theme: str
    segment: str
    count: int  # answers of the group in the theme
    segment_total: int
    share_in_segment: float
    share_elsewhere: float
    risk_ratio: float
    risk_difference: float  # share_in_segment - share_elsewhere, in proportion points
    odds_ratio: float
    p_value: float  # Fisher's exact test, one-sided (greater)
    p_adjusted: float  # Benjamini-Hochberg over every published theme-group pair tested
    significant: bool


@dataclass(frozen=True)
class PriorityRank:
    """A theme's standing among priority groups next to its standing among everyone."""

    theme: str
    priority_count: int | None  # None when hidden
    priority_share: float | None
    priority_rank: int | None  # None when the count is hidden: a rank would compare it
    overall_count: int
    overall_share: float
    overall_rank: int
    rank_change: int | None  # positive: the theme ranks higher for the priority groups


@dataclass(frozen=True)
class Release:
    """What one output may show about people and their answers, and what follows from it."""

    threshold: int
    people: int | None  # None: fewer than the threshold, or not known
    people_known: bool
    answers: int | None  # None: fewer than the threshold
    sizes: ShownLine
    people_lines: dict[str, ShownLine] = field(default_factory=dict)
    grids: dict[str, ShownGrid] = field(default_factory=dict)
    priority: ShownGrid | None = None
    raised: dict[str, tuple[Overrepresentation, ...]] = field(default_factory=dict)
    ranks: tuple[PriorityRank, ...] = ()

    @property
    def answers_covered(self) -> bool:
        """Tell whether answer counts are withheld because they would say how many of "fewer than t" people took part."""
        return self.sizes.covered

    def size(self, group: str) -> int | None:
        """Return a group's published number of answers, or ``None`` when hidden."""
        if group not in self.sizes.categories:
            return 0
        return self.sizes.count(group)


def segment_value(value) -> str:
    """Return a lens value as the tables count it: a missing or blank value is ``MISSING_SEGMENT``, any other a string."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING_SEGMENT
    return str(value)


def _value(segments: tuple[tuple[str, str | None], ...], key: str) -> str:
    """Return one lens's value from a segments tuple, with missing values made explicit."""
    for name, value in segments:
        if name == key:
            return segment_value(value)
    return MISSING_SEGMENT


def _categories(lens: Lens, seen: Sequence[str], *, keep_listed: bool) -> tuple[str, ...]:
    """Return a lens's categories: the listed ones (or those seen), then others seen, the missing value last."""
    counted = set(seen)
    listed = [c for c in lens.categories if keep_listed or c in counted]
    extra = sorted(counted - set(listed) - {MISSING_SEGMENT})
    out = listed + [c for c in extra if c not in listed]
    if MISSING_SEGMENT in counted and MISSING_SEGMENT not in out:
        out.append(MISSING_SEGMENT)
    return tuple(out)


def published_order(themes: Sequence[str], sizes: ShownLine, label_of=None) -> list[str]:
    """Order themes largest first by published size; hidden sizes follow by label, never by their size."""
    label_of = label_of or (lambda theme: str(theme))
    shown = [t for t in themes if t in sizes.categories and sizes.count(t) is not None]
    hidden = [t for t in themes if t not in shown]
    shown.sort(key=lambda t: (-sizes.count(t), str(label_of(t)).casefold(), str(t)))
    hidden.sort(key=lambda t: (str(label_of(t)).casefold(), str(t)))
    return shown + hidden


def release(snapshot: Snapshot | Counts, *, threshold: int = disclosure.DEFAULT_THRESHOLD) -> Release:
    """Build every table an output shows about a snapshot and protect them together.

    The snapshot may come already counted (:class:`Counts`, as :func:`count` makes them: a report of a
    big session counts its answers and people in the database, never one object per answer); the
    decision is the same. Each report makes this decision once, and every table it shows reads it.
    """
    return release_counts(snapshot if isinstance(snapshot, Counts) else count(snapshot), threshold=threshold)


def count(snapshot: Snapshot) -> Counts:
    """Count a snapshot's answers and people as :func:`release_counts` takes them (one pass per lens, no table yet)."""
    size_line = _sizes_line(snapshot)
    people = most = None
    people_counts: dict[str, dict[str, int]] = {}
    follow: dict[str, bool] = {}
    if snapshot.people is not None:
        people = len(snapshot.people)
        people_of = {p.id: p for p in snapshot.people}
        given = Counter(a.person for a in snapshot.answers)
        # The cap holds only where every answer has a known author; a person with more answers
        # than questions counted (a question taken out of scope since) raises it, so it stays true.
        if all(person in people_of for person in given):
            most = max(1, snapshot.per_person, *given.values())
        for lens in snapshot.people_lenses:
            people_counts[lens.key] = dict(Counter(_value(p.segments, lens.key) for p in snapshot.people))
        answer_keys = {lens.key for lens in snapshot.answer_lenses}
        for lens in snapshot.people_lenses:
            if lens.key in answer_keys and lens.key not in follow:
                follow[lens.key] = _answers_follow_people(snapshot, lens.key, people_of)
    answer_counts = {lens.key: dict(Counter((a.group, _value(a.segments, lens.key)) for a in snapshot.answers))
                     for lens in snapshot.answer_lenses}
    wanted = {key: set(categories) for key, categories in snapshot.priority if categories}
    priority_counts = dict(Counter((a.group, in_priority(a.segments, wanted)) for a in snapshot.answers)) if wanted else {}
    return Counts(
        groups=tuple(snapshot.groups), themes=tuple(snapshot.themes), sizes={g: n for g, n in zip(size_line.categories, size_line.counts) if n},
        people=people, most_per_person=most, per_person=snapshot.per_person, people_lenses=tuple(snapshot.people_lenses),
        people_counts=people_counts, answer_lenses=tuple(snapshot.answer_lenses), answer_counts=answer_counts,
        priority=tuple(snapshot.priority), priority_counts=priority_counts, follow=follow,
    )


def in_priority(segments: tuple[tuple[str, str | None], ...], wanted: dict[str, set[str]]) -> bool:
    """Tell whether an answer (by its lens values) comes from anyone in a priority group (``wanted``: lens -> categories)."""
    return any(_value(segments, key) in cats for key, cats in wanted.items())


def release_counts(counts: Counts, *, threshold: int = disclosure.DEFAULT_THRESHOLD) -> Release:
    """Build every table an output shows from a snapshot's counts and protect them together (see :func:`release`)."""
    threshold = disclosure.validate_threshold(threshold)
    sizes = _sizes(counts, threshold)
    people_known = counts.people is not None
    enough_people = not people_known or counts.people >= threshold
    lines, grids, links = _tables(counts, sizes, threshold)
    published = disclosure.protect(lines, grids, links, threshold=threshold)
    shown_grids = {g.name[len(ANSWERS):]: published.grids[g.name] for g in grids if g.name.startswith(ANSWERS)}
    shown_priority = published.grids.get(PRIORITY)
    people_lines = {ln.name[len(PEOPLE):]: published.lines[ln.name] for ln in lines}
    if people_known and not enough_people:
        people_lines = {lens.key: ShownLine(PEOPLE + lens.key, (), (), None, threshold) for lens in counts.people_lenses}
    return Release(
        threshold=threshold, people=counts.people if people_known and enough_people else None,
        people_known=people_known, answers=sizes.total, sizes=sizes, people_lines=people_lines, grids=shown_grids,
        priority=shown_priority, raised={key: tuple(overrepresented(grid)) for key, grid in shown_grids.items()},
        ranks=tuple(rank_by_priority_groups(shown_priority)) if shown_priority is not None else (),
    )


def audit(snapshot: Snapshot, released: Release) -> dict[tuple, disclosure.Range]:
    """Return the engine's own range for every hidden count of a release (see :func:`disclosure.audit`)."""
    counts = count(snapshot)
    size_lines, size_links = _sizes_tables(counts)
    everyone = disclosure.protect(size_lines, links=size_links, threshold=released.threshold).lines
    ranges = disclosure.audit(size_lines, [], size_links, disclosure.Published(
        released.threshold, {**everyone, SIZES: released.sizes}, {}))
    lines, grids, links = _tables(counts, released.sizes, released.threshold)
    shown = disclosure.Published(
        released.threshold, {ln.name: released.people_lines[ln.name[len(PEOPLE):]] for ln in lines},
        {g.name: (released.priority if g.name == PRIORITY else released.grids[g.name[len(ANSWERS):]]) for g in grids})
    ranges.update(disclosure.audit(lines, grids, links, shown))
    return ranges


def _sizes_line(snapshot: Snapshot) -> Line:
    """Count answers by group (themes, then the groups set aside)."""
    size_counts = Counter(a.group for a in snapshot.answers)
    unknown = set(size_counts) - set(snapshot.groups)
    if unknown:
        raise ValueError(f"answers are in groups the snapshot does not list: {sorted(unknown)}")
    if not set(snapshot.themes) <= set(snapshot.groups):
        raise ValueError("every theme must be one of the snapshot's groups")
    return Line(SIZES, tuple(snapshot.groups), tuple(size_counts.get(g, 0) for g in snapshot.groups))


def _sizes(counts: Counts, threshold: int) -> ShownLine:
    """Protect the theme sizes with the number of people: nothing else an output shows ties to them but totals.

    Each person gives at most ``per_person`` answers, so published answers say how many people
    there are at least. When fewer than the threshold took part ("fewer than 10 people"), that
    must not narrow the number below what the label says (:func:`disclosure.withheld_total_too_narrow`):
    the engine then withholds the sizes whole (``covered``), the number of answers included.
    """
    lines, links = _sizes_tables(counts)
    return disclosure.protect(lines, links=links, threshold=threshold).lines[SIZES]


def _sizes_tables(counts: Counts) -> tuple[list[Line], list[TotalCap]]:
    """Return the sizes line and, when every answer's author is known, the people's number capping it."""
    unknown = {g for g, n in counts.sizes.items() if n} - set(counts.groups)
    if unknown:
        raise ValueError(f"answers are in groups the snapshot does not list: {sorted(unknown)}")
    if not set(counts.themes) <= set(counts.groups):
        raise ValueError("every theme must be one of the snapshot's groups")
    sizes = Line(SIZES, tuple(counts.groups), tuple(counts.sizes.get(g, 0) for g in counts.groups))
    if counts.people is None or counts.most_per_person is None:
        return [sizes], []
    return [sizes, Line(EVERYONE_LINE, ("people",), (counts.people,))], [TotalCap(SIZES, EVERYONE_LINE, counts.most_per_person)]


def release_sizes(groups: Sequence[str], themes: Sequence[str], counts: dict[str, int], *, people: int,
                  most_per_person: int | None, threshold: int = disclosure.DEFAULT_THRESHOLD) -> Release:
    """Release what an output without lenses shows (theme sizes, the number of people) from counts already made.

    The same decision as :func:`release` of a snapshot without lenses whose answers are ``counts``
    by group and whose ``people`` wrote them (each at most ``most_per_person`` answers, at least the
    snapshot's ``per_person``; None when some answer's author is not among them, which drops the
    cap as :func:`release` does): a database counts those with a few grouped queries instead of
    holding one object per answer.
    """
    unknown = set(counts) - set(groups)
    if unknown:
        raise ValueError(f"answers are in groups the snapshot does not list: {sorted(unknown)}")
    return release_counts(Counts(groups=tuple(groups), themes=tuple(themes), sizes=dict(counts), people=people,
                                 most_per_person=None if most_per_person is None else max(1, most_per_person)),
                          threshold=threshold)


def _tables(counts: Counts, sizes: ShownLine, threshold: int) -> tuple[list[Line], list[Grid], list]:
    """Build the people lines, group grids (rows: themes of published size) and priority grid, with their links.

    Group breakdowns need at least ``threshold`` people behind them: below that, a session's
    report says "fewer than 10 people took part" and shows no table of groups at all.
    """
    people_known = counts.people is not None
    enough_people = not people_known or counts.people >= threshold
    lines = _people_lines(counts) if people_known and enough_people else []
    rows = tuple(t for t in counts.themes if sizes.count(t)) if enough_people else ()
    grids, links = [], []
    for lens in counts.answer_lenses:
        grid = _grid(ANSWERS + lens.key, rows, counts.answer_counts.get(lens.key, {}), lens)
        if grid is None:
            continue
        grids.append(grid)
        line = next((ln for ln in lines if ln.name == PEOPLE + lens.key), None)
        if line is not None and counts.follow.get(lens.key, False):
            links += [Cap(grid.name, (column,), ((line.name, column),), counts.per_person)
                      for column in grid.columns if column in line.categories]
    priority_grid = _priority_grid(counts, rows, grids, lines, links)
    if priority_grid is not None:
        grids.append(priority_grid)
    return lines, grids, links


def _people_lines(counts: Counts) -> list[Line]:
    """Count the people by each people lens."""
    lines = []
    for lens in counts.people_lenses:
        found = counts.people_counts.get(lens.key, {})
        categories = _categories(lens, [c for c, n in found.items() if n], keep_listed=lens.keep_empty)
        lines.append(Line(PEOPLE + lens.key, categories, tuple(found.get(c, 0) for c in categories)))
    return lines


def _answers_follow_people(snapshot: Snapshot, key: str, people_of: dict) -> bool:
    """Tell whether every answer's value for a lens is its author's, so answers per group are capped by people."""
    if snapshot.people is None:
        return False
    for answer in snapshot.answers:
        person = people_of.get(answer.person)
        if person is None or _value(person.segments, key) != _value(answer.segments, key):
            return False
    return True


def _grid(name: str, rows: tuple[str, ...], counted: dict[tuple[str, str], int], lens: Lens) -> Grid | None:
    """Count answers by theme and one lens's groups (``counted``: answers by group and value, every group).

    Every listed group has a column, with no answers too: a column left out would say "none of
    this group's answers are here" as plainly as a 0, and such a 0 may have to be hidden.
    """
    if not rows:
        return None
    shown = set(rows)
    pairs = {(r, c): n for (r, c), n in counted.items() if r in shown and n}
    columns = _categories(lens, [c for _, c in pairs], keep_listed=True)
    return Grid(name, rows, columns, tuple(tuple(pairs.get((r, c), 0) for c in columns) for r in rows))


def _priority_grid(counts: Counts, rows, grids, lines, links) -> Grid | None:
    """Count answers by theme from the priority groups and from everyone else, and link them to the lenses."""
    wanted = {key: set(categories) for key, categories in counts.priority if categories}
    if not wanted or not rows:
        return None
    found = counts.priority_counts
    grid = Grid(PRIORITY, rows, (PRIORITY, EVERYONE_ELSE),
                tuple((found.get((r, True), 0), found.get((r, False), 0)) for r in rows))
    by_name = {g.name: g for g in grids}
    parts = []
    for key, cats in wanted.items():
        if ANSWERS + key not in by_name:
            raise ValueError(f"priority groups must come from an answer lens; {key!r} is not one")
        columns = tuple(c for c in by_name[ANSWERS + key].columns if c in cats)
        if columns:
            parts.append((ANSWERS + key, columns))
    if parts:
        links.append(Combined(PRIORITY, PRIORITY, tuple(parts)))
    line_names = {ln.name: ln for ln in lines}
    people = []
    for key, cats in wanted.items():
        line = line_names.get(PEOPLE + key)
        if line is None or not counts.follow.get(key, False):
            return grid  # the people cap only holds when every priority lens counts people too
        people += [(line.name, c) for c in line.categories if c in cats]
    if people:
        links.append(Cap(PRIORITY, (PRIORITY,), tuple(people), counts.per_person))
    return grid


def overrepresented(grid: ShownGrid, *, alpha: float = 0.05) -> list[Overrepresentation]:
    """Return themes raised more often by a group than by everyone else, using published counts only.

    A theme-group pair is tested only when its count, its group's total, its theme's total and
    the table's total are all published, so every figure (shares, ratio, difference, p-values
    and which pairs are significant, adjusted with Benjamini-Hochberg over the pairs tested)
    follows from what the table shows.
    """
    from scipy.stats import false_discovery_control, fisher_exact

    if grid.withheld:
        return []
    total = grid.total
    raw = []
    for i, theme in enumerate(grid.rows):
        for j, segment in enumerate(grid.columns):
            a, seg_n, theme_n = grid.cells[i][j], grid.column_totals[j], grid.row_totals[i]
            if a is None or seg_n is None or a == 0:
                continue
            rest_n = total - seg_n
            c = theme_n - a
            if rest_n <= 0:
                continue
            odds, p = fisher_exact([[a, seg_n - a], [c, rest_n - c]], alternative="greater")
            raw.append((theme, segment, a, seg_n, float(p), float(odds), a / seg_n, c / rest_n))
    if not raw:
        return []
    adjusted = false_discovery_control([r[4] for r in raw], method="bh")
    out = []
    for (theme, segment, a, seg_n, p, odds, share_in, share_out), p_adj in zip(raw, adjusted):
        if share_in <= share_out:
            continue
        out.append(Overrepresentation(
            theme=theme, segment=segment, count=a, segment_total=seg_n, share_in_segment=share_in,
            share_elsewhere=share_out, risk_ratio=share_in / share_out if share_out > 0 else float("inf"),
            risk_difference=share_in - share_out, odds_ratio=odds, p_value=p, p_adjusted=float(p_adj),
            significant=bool(p_adj < alpha),
        ))
    out.sort(key=lambda o: (o.p_adjusted, -o.risk_difference, o.theme, o.segment))
    return out


def rank_by_priority_groups(grid: ShownGrid, label_of=None) -> list[PriorityRank]:
    """Rank themes by what the priority groups said (design at the margins), from published counts only.

    Themes whose priority count is published are ranked, most answers first; the rest follow in
    their overall order with no rank, because ranking them by hidden counts would say which is larger.
    """
    if grid.withheld:
        return []
    label_of = label_of or (lambda theme: str(theme))
    n_all = grid.total
    n_prio = grid.column_total(PRIORITY)
    overall = {t: grid.row_total(t) for t in grid.rows}
    overall_order = sorted(grid.rows, key=lambda t: (-overall[t], str(label_of(t)).casefold(), str(t)))
    overall_rank = {t: r for r, t in enumerate(overall_order, 1)}

    def count(theme: str) -> int | None:
        """Return a theme's published priority count."""
        return grid.cell(theme, PRIORITY)

    prio_order = sorted(grid.rows, key=lambda t: (0, -count(t), overall_rank[t]) if count(t) is not None
                        else (1, 0, overall_rank[t]))
    out = []
    for r, t in enumerate(prio_order, 1):
        rank = r if count(t) is not None else None
        out.append(PriorityRank(
            theme=t, priority_count=count(t), priority_share=disclosure.share(count(t), n_prio), priority_rank=rank,
            overall_count=overall[t], overall_share=overall[t] / n_all, overall_rank=overall_rank[t],
            rank_change=None if rank is None else overall_rank[t] - rank,
        ))
    return out
