"""What small-count protection costs: time, and how much of each table stays visible.

Usage: python bench/disclosure.py [--people 20 60 200 600] [--seed 0]

For made-up sessions of each size (three "about you" questions with skewed groups, two open
questions, ten themes, priority groups named across two questions) it times
``analysis.equity.release`` -- the whole report's tables protected together -- and prints how
many counts of each kind are shown, hidden or withheld, and the narrowest range the engine's own
audit finds for a hidden count below the threshold (it must be at least the threshold). Nothing
is read from disk or the network; figures are in docs/privacy.md.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RACES = (("Black", 34), ("White", 47), ("Hispanic", 10), ("Asian", 5), ("Two or more", 3), ("Another", 1))
AGES = (("Under 20", 8), ("20-29", 40), ("30-39", 37), ("40+", 15))
PLACES = (("Greensboro", 60), ("High Point", 30), ("Rural", 10))
THEMES = tuple(f"T{i}" for i in range(10))


def session(people: int, rng: random.Random):
    """Make a snapshot of a session with ``people`` residents, each answering up to two open questions."""
    from analysis.equity import Lens, Person, Reply, Snapshot

    def pick(groups):
        """Pick a group by its weight, or no answer one time in twenty."""
        return None if rng.random() < 0.05 else rng.choices([g for g, _ in groups], [w for _, w in groups])[0]

    persons, replies = [], []
    weights = [rng.random() ** 2 for _ in THEMES]
    for i in range(people):
        segments = (("race", pick(RACES)), ("age", pick(AGES)), ("place", pick(PLACES)),
                    ("language", rng.choices(["en", "es", "ar"], [80, 15, 5])[0]))
        persons.append(Person(i, segments + (("source", "phone"),)))
        for _ in range(rng.choice([1, 2, 2])):
            group = rng.choices([*THEMES, "other", "contentless"], [*weights, 0.1, 0.05])[0]
            replies.append(Reply(len(replies), group, i, segments))
    lenses = [Lens("race", tuple(g for g, _ in RACES)), Lens("age", tuple(g for g, _ in AGES)),
              Lens("place", tuple(g for g, _ in PLACES)), Lens("language", ("en", "es", "ar"))]
    missing = "(not given)"
    return Snapshot(
        answers=tuple(replies), groups=THEMES + ("other", "off_topic", "contentless", "unsorted"), themes=THEMES,
        answer_lenses=tuple(lenses), people=tuple(persons),
        people_lenses=tuple(Lens(lens.key, lens.categories + (missing,)) for lens in lenses) + (Lens("source", ("phone",)),),
        priority=(("race", ("Black", "Hispanic")), ("age", ("Under 20",))), per_person=2,
    )


def main() -> None:
    """Print one line per session size."""
    from analysis import disclosure, equity

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[20, 60, 200, 600])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    equity.release(session(30, random.Random(99)))  # load scipy before timing
    print(f"{'people':>6} {'answers':>7} {'seconds':>7}  {'people cells shown':>18}  {'group cells shown':>17}  "
          f"{'grids withheld':>14}  {'priority':>9}  narrowest small range")
    for n in args.people:
        snap = session(n, random.Random(args.seed))
        started = time.perf_counter()
        rel = equity.release(snap)
        seconds = time.perf_counter() - started
        people = [c for line in rel.people_lines.values() for c in line.counts]
        grids = [g for g in rel.grids.values()]
        cells = [c for g in grids if not g.withheld for row in g.cells for c in row]
        withheld = sum(g.withheld for g in grids)
        priority = "none" if rel.priority is None else ("withheld" if rel.priority.withheld else
                                                        f"{sum(r.priority_count is not None for r in rel.ranks)}/{len(rel.ranks)}")
        narrowest = narrowest_range(snap, rel, disclosure, equity)
        print(f"{n:>6} {len(snap.answers):>7} {seconds:>7.2f}  {sum(c is not None for c in people):>8}/{len(people):<9}  "
              f"{sum(c is not None for c in cells):>7}/{len(cells):<9}  {withheld:>7}/{len(grids):<6}  {priority:>9}  {narrowest}")


def narrowest_range(snap, rel, disclosure, equity) -> str:
    """Return the narrowest range the engine's audit finds for a hidden count below the threshold."""
    # A total withheld as "fewer than t" has its own rule (at least 0 or 1, at most t - 1), not a width.
    small = [r for key, r in equity.audit(snap, rel).items() if key[0] != "total" and 0 < r.true < rel.threshold]
    return "-" if not small else f"{min(r.width for r in small)} (of {len(small)} small counts hidden)"


if __name__ == "__main__":
    main()
