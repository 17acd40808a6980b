"""Time the phones' next-statement choice for a react question: with groups computed (cold) and cached (warm).

Usage: python bench/statement_choice.py [--sizes 100x30 300x60] [--seed 0]

Synthetic votes in two camps, each person voting on 20 statements. "cold" is the first call after
the projector computes the groups (what a staff screen waits for); "warm" is what a phone waits for
on every statement screen (the groups cached). Figures and what they mean: docs/opinions.md.
"""
from __future__ import annotations

import argparse
import random
import time

from facilitation import opinion_live


def synthetic_votes(people: int, statements: int, rng: random.Random) -> list[tuple[int, int, int]]:
    """Return votes of two camps: each person agrees with their camp's statements and disagrees or passes on the rest."""
    votes = []
    for person in range(people):
        camp = person % 2
        for statement in rng.sample(range(statements), k=min(statements, 20)):
            votes.append((person, statement, 1 if statement % 2 == camp else rng.choice((-1, 0))))
    return votes


def main() -> None:
    """Print cold (groups computed) and warm (groups cached) times for each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100x30", "300x60"], help="PEOPLExSTATEMENTS")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for size in args.sizes:
        people, statements = (int(n) for n in size.split("x"))
        votes = synthetic_votes(people, statements, rng)
        ids = list(range(statements))
        start = time.perf_counter()
        groups = opinion_live.compute_groups(votes, ids)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(20):
            opinion_live.choose_next(1, votes, ids, set(), rng.random(), groups)
        warm = (time.perf_counter() - start) / 20
        print(f"{people} people x {statements} statements, {len(votes)} votes: groups {cold * 1000:.0f} ms, "
              f"next statement with cached groups {warm * 1000:.1f} ms")


if __name__ == "__main__":
    main()
