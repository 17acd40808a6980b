"""Benchmark: opinion groups measured by what groups are for, against Pol.is's own groups; and speed.

Owns the figures in docs/opinions.md. Quality, on every conversation of ``--data`` (default
``../shared/data/polis`` relative to the repository) that has a ``participants-votes.csv``
(Pol.is's export: one row per participant, Pol.is's ``group-id``, one column per statement):

1. Hide 20% of each participant's votes at random (a participant with 7 votes hides 1 or 2,
   with probabilities that make 20% on average), repeated ``--repeats`` times with different seeds
   (hiding seeds ``--first-seed`` onwards, so that a second run on fresh hidings can check that a
   difference is not noise).
2. Form Chorus's groups on the remaining votes (``analysis.opinions.find_opinion_groups``).
3. Predict every hidden vote by the most common vote of the person's group on that statement,
   counted on the remaining votes (ties: the value most common among everyone; a group that
   never voted on the statement, or a person without a group: everyone's most common vote).
4. Do the same with Pol.is's groups (which saw every vote, the hidden ones included) and, as
   references, with one group of everyone, with a plain reading of Pol.is's math on the
   remaining votes (PCA, k-means, k by silhouette), and with Pol.is's groups placed without the
   hidden votes (each person in the Pol.is group whose centre is nearest on a map of the
   remaining votes, the way Pol.is places people).

Scoring here is written out independently of the engine. Prints, per conversation: accuracy
(mean and standard error over repeats), the difference with Pol.is, the numbers of groups
chosen, whether every participant with a remaining vote was placed, and the adjusted Rand
index between Chorus's groups on all votes and Pol.is's groups.

Speed (``--speed``): synthetic votes (opinion groups with their own agree rates, participants
voting on a random number of statements, many on few) of 2,000 x 300 and 50,000 x 2,000
(about 2 million votes), each in a fresh process limited to ``--threads`` threads: time to
regroup (``find_opinion_groups`` on a ready ``VoteMatrix``) and peak memory of the process.
Goals: under 1 s, and under 10 s and 1 GB.

Usage: ``python bench/opinions.py [--data DIR] [--only NAME ...] [--repeats 10] [--first-seed 0] [--speed | --speed-only] [--threads 2]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from analysis.opinions import VoteMatrix, find_opinion_groups  # noqa: E402

META_COLUMNS = {"participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"}
HIDE = 0.2


@dataclass(frozen=True)
class Conversation:
    """One Pol.is conversation: dense votes (NaN: no vote), participant ids and Pol.is's groups (-1: none)."""

    name: str
    votes: np.ndarray
    participants: list[str]
    statements: list[str]
    polis: np.ndarray


def load(folder: Path) -> Conversation:
    """Read a Pol.is ``participants-votes.csv`` export."""
    with (folder / "participants-votes.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    statements = [c for c in rows[0] if c not in META_COLUMNS]
    votes = np.full((len(rows), len(statements)), np.nan)
    for i, row in enumerate(rows):
        for j, sid in enumerate(statements):
            if row[sid].strip() != "":
                votes[i, j] = float(row[sid])
    polis = np.array([int(r["group-id"]) if r["group-id"].strip() != "" else -1 for r in rows])
    return Conversation(folder.name, votes, [r["participant"] for r in rows], statements, polis)


def hide(votes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return the votes with 20% of each participant's hidden (NaN), and the hidden (row, column) pairs."""
    train = votes.copy()
    hidden = []
    for i in range(votes.shape[0]):
        voted = np.flatnonzero(~np.isnan(votes[i]))
        wanted = HIDE * voted.size
        count = int(wanted) + int(rng.random() < wanted - int(wanted))
        if count:
            chosen = rng.choice(voted, count, replace=False)
            train[i, chosen] = np.nan
            hidden += [(i, j) for j in chosen]
    return train, np.array(hidden, dtype=np.int64).reshape(-1, 2)


def to_matrix(votes: np.ndarray, participants: list[str], statements: list[str]) -> VoteMatrix:
    """Return a dense vote array (NaN: no vote) as the engine's sparse ``VoteMatrix``."""
    rows, cols = np.nonzero(~np.isnan(votes))
    return VoteMatrix.from_arrays(rows, cols, votes[rows, cols].astype(np.int8), participants=participants, statements=statements)


def accuracy(truth: np.ndarray, train: np.ndarray, hidden: np.ndarray, labels: np.ndarray) -> float:
    """Return the share of hidden votes equal to the most common remaining vote of the person's group."""
    values = np.array([1.0, -1.0, 0.0])
    overall = np.stack([(train == v).sum(0) for v in values])  # 3 x statements
    rank = np.argsort(np.argsort(-overall, axis=0, kind="stable"), axis=0, kind="stable")
    everyone = values[rank.argmin(0)]
    modes = {}
    for g in set(labels.tolist()) - {-1}:
        counts = np.stack([(train[labels == g] == v).sum(0) for v in values])
        tied = counts == counts.max(0)
        mode = values[np.where(tied, rank, 9).argmin(0)]
        mode[counts.sum(0) == 0] = everyone[counts.sum(0) == 0]
        modes[g] = mode
    predicted = np.array([modes[labels[i]][j] if labels[i] >= 0 else everyone[j] for i, j in hidden])
    return float((predicted == truth[hidden[:, 0], hidden[:, 1]]).mean())


def polis_placed_honestly(train: np.ndarray, polis: np.ndarray) -> np.ndarray:
    """Return Pol.is's groups re-placed from the remaining votes: nearest Pol.is group centre on the map.

    The map is Pol.is's: PCA of the votes with missing votes at the statement mean, positions
    stretched by sqrt(statements / own votes).
    """
    seen = ~np.isnan(train)
    mean = np.where(seen.any(0), np.nansum(train, 0) / np.maximum(seen.sum(0), 1), 0.0)
    centred = np.where(seen, train - mean, 0.0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    own = seen.sum(1)
    pos = centred @ vt[:2].T * np.sqrt(seen.any(0).sum() / np.maximum(own, 1))[:, None]
    groups = sorted(set(polis.tolist()) - {-1})
    centres = np.stack([pos[(polis == g) & (own > 0)].mean(0) for g in groups])
    placed = np.array(groups)[((pos[:, None, :] - centres[None]) ** 2).sum(2).argmin(1)]
    return np.where(own > 0, placed, -1)


def plain_polis_like(train: np.ndarray, seed: int) -> np.ndarray:
    """Return groups by a plain reading of Pol.is's math on the remaining votes: the reference method.

    PCA with missing votes at the statement mean, positions stretched by sqrt(statements / own
    votes), k-means (k from 2 to 5, chosen by silhouette) on participants with at least
    min(7, statements) votes, everyone else with a vote placed at the nearest centre. No base
    clusters, warm starts or smoother (those depend on the order votes arrived).
    """
    from sklearn.cluster import KMeans  # noqa: PLC0415
    from sklearn.metrics import silhouette_score  # noqa: PLC0415

    seen = ~np.isnan(train)
    mean = np.where(seen.any(0), np.nansum(train, 0) / np.maximum(seen.sum(0), 1), 0.0)
    centred = np.where(seen, train - mean, 0.0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    own = seen.sum(1)
    pos = centred @ vt[:2].T * np.sqrt(seen.any(0).sum() / np.maximum(own, 1))[:, None]
    core = own >= min(7, int(seen.any(0).sum()))
    best = None
    for k in range(2, 6):
        model = KMeans(k, n_init=10, random_state=seed).fit(pos[core])
        score = silhouette_score(pos[core], model.labels_)
        if best is None or score > best[0]:
            best = (score, model)
    labels = best[1].predict(pos)
    return np.where(own > 0, labels, -1)


def measure(conv: Conversation, repeats: int, first_seed: int = 0) -> dict[str, object]:
    """Return the quality figures of one conversation over ``repeats`` random hidings (seeds from ``first_seed``)."""
    scores: dict[str, list[float]] = {"chorus": [], "polis": [], "one": [], "polis_honest": [], "plain": []}
    ks: Counter[int] = Counter()
    codings: Counter[str] = Counter()
    all_placed = True
    seconds = []
    for r in range(first_seed, first_seed + repeats):
        rng = np.random.default_rng(r)
        train, hidden = hide(conv.votes, rng)
        start = time.perf_counter()
        result = find_opinion_groups(to_matrix(train, conv.participants, conv.statements), seed=r)
        seconds.append(time.perf_counter() - start)
        ids = {g.id: n for n, g in enumerate(result.groups)}
        labels = np.array([ids[result.assignment[p]] if result.assignment[p] is not None else -1 for p in conv.participants])
        has_vote = (~np.isnan(train)).any(1)
        all_placed &= bool((labels[has_vote] >= 0).all())
        ks[result.k_chosen] += 1
        codings[result.coding] += 1
        scores["chorus"].append(accuracy(conv.votes, train, hidden, labels))
        scores["polis"].append(accuracy(conv.votes, train, hidden, conv.polis))
        scores["one"].append(accuracy(conv.votes, train, hidden, np.where(has_vote, 0, -1)))
        scores["polis_honest"].append(accuracy(conv.votes, train, hidden, polis_placed_honestly(train, conv.polis)))
        scores["plain"].append(accuracy(conv.votes, train, hidden, plain_polis_like(train, r)))
    full = find_opinion_groups(to_matrix(conv.votes, conv.participants, conv.statements), seed=0)
    mine = [full.assignment[p] for p, g in zip(conv.participants, conv.polis) if g >= 0]
    theirs = [int(g) for g in conv.polis if g >= 0]
    diffs = np.array(scores["chorus"]) - np.array(scores["polis"])
    return {
        "name": conv.name,
        "participants": len(conv.participants),
        "statements": len(conv.statements),
        "votes": int((~np.isnan(conv.votes)).sum()),
        "polis_groups": len(set(theirs)),
        "polis_unplaced": int((conv.polis < 0).sum()),
        **{key: float(np.mean(v)) for key, v in scores.items()},
        "diff": float(diffs.mean()),
        "diff_se": float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0,
        "wins": int((diffs >= 0).sum()),
        "ks": dict(sorted(ks.items())),
        "codings": dict(codings),
        "all_placed": all_placed,
        "ari": float(adjusted_rand_score(theirs, mine)),
        "full_k": full.k_chosen,
        "seconds": float(np.mean(seconds)),
    }


def quality(data: Path, only: list[str], repeats: int, first_seed: int = 0) -> int:
    """Print the quality table and the target checks; return 1 if a target is missed."""
    folders = sorted(p.parent for p in data.glob("*/participants-votes.csv"))
    if only:
        folders = [f for f in folders if f.name in only]
    if not folders:
        print(f"no participants-votes.csv under {data}", file=sys.stderr)
        return 2
    print(f"Hidden-vote accuracy, {repeats} repeats (hiding seeds {first_seed} to {first_seed + repeats - 1}; 20% of each participant's votes hidden); mean over repeats.")
    print("| conversation | participants x statements (votes) | Chorus | Pol.is (saw every vote) | difference (SE) | repeats Chorus >= Pol.is | one group | plain PCA + k-means (silhouette) | Pol.is placed without hidden votes | Chorus groups (repeats) | coding | every voter placed | ARI vs Pol.is (Pol.is groups; unplaced by Pol.is) | s per run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for folder in folders:
        r = measure(load(folder), repeats, first_seed)
        results.append(r)
        ks = ", ".join(f"{k}: {n}" for k, n in r["ks"].items())
        codings = ", ".join(f"{c} {n}" for c, n in r["codings"].items())
        print(f"| {r['name']} | {r['participants']} x {r['statements']} ({r['votes']:,}) | {r['chorus']:.4f} | {r['polis']:.4f} | "
              f"{r['diff'] * 100:+.2f} pts ({r['diff_se'] * 100:.2f}) | {r['wins']}/{repeats} | {r['one']:.4f} | {r['plain']:.4f} | {r['polis_honest']:.4f} | {ks} | {codings} | "
              f"{'yes' if r['all_placed'] else 'NO'} | {r['ari']:.2f} ({r['polis_groups']}; {r['polis_unplaced']}) | {r['seconds']:.2f} |", flush=True)
    mean_diff = float(np.mean([r["diff"] for r in results]))
    print(f"\nAverage difference, Chorus - Pol.is: {mean_diff * 100:+.2f} points of accuracy")
    failed = False
    for r in results:
        checks = {
            "at least as good as Pol.is": r["diff"] >= 0,
            "2 to 5 groups in every repeat": all(2 <= k <= 5 for k in r["ks"]),
            "every participant with a vote placed": r["all_placed"],
        }
        missed = [name for name, ok in checks.items() if not ok]
        failed |= bool(missed)
        print(f"{r['name']}: {'all targets met' if not missed else 'MISSED: ' + '; '.join(missed)}")
    better = mean_diff > 0
    failed |= not better
    print(f"better than Pol.is on average: {'yes' if better else 'NO'}")
    return 1 if failed else 0


# --- speed --------------------------------------------------------------------------------------


def synthetic(participants: int, statements: int, votes: int, seed: int = 0) -> VoteMatrix:
    """Return synthetic votes: 4 opinion groups with their own agree/disagree/pass rates per statement.

    Participants vote on a random number of statements (geometric: many vote on a few, some on
    many), drawn with a preference for early statements, as in a real conversation.
    """
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 4, participants)
    agree = rng.beta(2, 2, (4, statements))
    passes = rng.uniform(0.02, 0.2, (4, statements))
    mean_votes = votes / participants
    own = np.minimum(rng.geometric(1.0 / mean_votes, participants), statements)
    own = np.clip((own * votes / own.sum()).round().astype(np.int64), 1, statements)
    popularity = 1.0 / np.arange(1, statements + 1) ** 0.5
    popularity /= popularity.sum()
    rows = np.repeat(np.arange(participants), own)
    # Sample statements per participant without replacement via Gumbel top-k over a shared popularity.
    cols = np.empty(rows.size, dtype=np.int64)
    start = 0
    keys = np.log(popularity)
    for i, n in enumerate(own):
        scores = keys + rng.gumbel(size=statements)
        cols[start : start + n] = np.argpartition(-scores, n - 1)[:n]
        start += n
    u = rng.random(rows.size)
    g = groups[rows]
    p_pass = passes[g, cols]
    p_agree = (1 - p_pass) * agree[g, cols]
    values = np.where(u < p_pass, 0, np.where(u < p_pass + p_agree, 1, -1)).astype(np.int8)
    return VoteMatrix.from_arrays(rows, cols, values, participants=list(range(participants)), statements=list(range(statements)))


def speed_one(participants: int, statements: int, votes: int) -> dict[str, float]:
    """Time one regrouping in this process; return seconds, peak memory and groups."""
    import resource  # noqa: PLC0415

    matrix = synthetic(participants, statements, votes)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = find_opinion_groups(matrix, seed=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"participants": participants, "statements": statements, "votes": matrix.n_votes, "seconds": round(seconds, 2), "cpu": round(cpu, 2),
            "peak_mb": round(peak_mb), "groups": result.k_chosen, "placed": result.n_placed}


def speed(threads: int) -> int:
    """Run each size in a child process limited to ``threads`` threads; print figures; 1 if a goal is missed."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    sizes = [(2_000, 300, 120_000, 1.0), (50_000, 2_000, 2_000_000, 10.0)]
    print(f"\n| participants x statements | votes | seconds | goal | CPU seconds | peak memory (MB, goal < 1,024) | groups | placed |  ({threads} threads, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for n, m, v, goal in sizes:
        proc = subprocess.run([sys.executable, __file__, "--child", json.dumps([n, m, v])], capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        failed |= r["seconds"] >= goal or (v > 1_000_000 and r["peak_mb"] >= 1024)
        print(f"| {n:,} x {m:,} | {r['votes']:,} | {r['seconds']:.2f} | < {goal:g} s | {r['cpu']:.2f} | {r['peak_mb']:,} | {r['groups']} | {r['placed']:,} |", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the quality benchmark (and the speed one with ``--speed``) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "polis")
    parser.add_argument("--only", nargs="*", default=[], help="conversation folder names to run (default: all with votes)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first hiding (fresh hidings: a different start)")
    parser.add_argument("--speed", action="store_true", help="also run the speed benchmark")
    parser.add_argument("--speed-only", action="store_true", help="run only the speed benchmark")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(speed_one(*json.loads(args.child))))
        return 0
    status = 0
    if not args.speed_only:
        status |= quality(args.data, args.only, args.repeats, args.first_seed)
    if args.speed or args.speed_only:
        status |= speed(args.threads)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
