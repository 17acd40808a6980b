"""Benchmark: time and peak memory of draft themes on 10,000 and 100,000 answers.

Owns the speed figures in docs/themes.md. Answers are real text from ``--data`` (NHS feedback,
Pol.is comments, mtod requests); beyond the distinct texts available, new distinct answers are
made by joining two real ones, so that merging identical answers does not flatter the figures.
Each size runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own;
the time (wall and CPU) is end to end inside that process: building answers, redaction, contentless
detection, features, choosing k, clustering, labels and quotes (model loading included).

Goals (2 cores): 10,000 answers in under 5 s, 100,000 in under 60 s, peak memory under 1.5 GB.

The engine is given the answers with no language (``Answer``'s default, English). ``--cli`` times
what the issue's goal names instead: ``chorus themes`` on a CSV of the same answers (one column,
``text``, written to a temporary folder first), from process start to CSV written, languages
detected and k chosen by the command; the wall time, CPU time and peak memory are the child's own
(``os.wait4``), and the load average before each run is printed, since the machine is shared.

``--cli --stages`` also prints where the time goes in each run: the command is run by a child
Python that times its stages (imports, reading the CSV, languages, each engine step, writing), each
stage's start, wall time and CPU time in the command's own process, and how long it waited for
each forked child (analysis/forking.py) to hand over its piece.

Usage: ``python bench/themes_speed.py [--data DIR] [--sizes 10000 100000] [--threads 2] [--cli [--stages]] [--repeat N]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def real_texts(data: Path) -> list[str]:
    """Return every distinct non-empty answer text available in the shared data."""
    texts: list[str] = []
    with (data / "nhs-feedback" / "text_data.csv").open(encoding="utf-8", newline="") as handle:
        texts += [r["feedback"] for r in csv.DictReader(handle)]
    for lang in ("en", "es"):
        with (data / "mtod-en-es" / f"test-{lang}.csv").open(encoding="utf-8", newline="") as handle:
            texts += [r["text"] for r in csv.DictReader(handle)]
    for path in sorted((data / "polis").glob("*/comments.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            texts += [r.get("comment-body", "") for r in csv.DictReader(handle)]
    return sorted({t.strip() for t in texts if t and t.strip()})


def make_answers(pool: list[str], size: int, seed: int = 0) -> list[str]:
    """Return ``size`` distinct answers: the real pool first, then pairs of real answers joined."""
    rng = random.Random(seed)
    texts = pool[:]
    rng.shuffle(texts)
    out = texts[:size]
    seen = set(out)
    while len(out) < size:
        joined = rng.choice(pool) + " " + rng.choice(pool)
        if joined not in seen:
            seen.add(joined)
            out.append(joined)
    return out


def run_one(size: int, data: Path) -> dict[str, float]:
    """Time one size in this process and return seconds, peak memory and themes found."""
    import resource  # noqa: PLC0415
    import time  # noqa: PLC0415

    sys.path.insert(0, str(REPO))
    texts = make_answers(real_texts(data), size)
    start, cpu = time.perf_counter(), time.process_time()
    from analysis.themes import Answer, find_themes  # noqa: PLC0415 - import time is part of the run

    answers = [Answer(i, t) for i, t in enumerate(texts)]
    result = find_themes(answers, seed=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The engine's helper process (a second core on large input) counts too: its CPU is added, its peak shown apart.
    helper = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"answers": size, "seconds": round(seconds, 2), "cpu": round(cpu + helper.ru_utime + helper.ru_stime, 2),
            "load": os.getloadavg()[0], "peak_mb": round(peak_mb), "helper_peak_mb": round(helper.ru_maxrss / 1024),
            "themes": result.k_chosen, "other": result.other.size, "contentless": len(result.contentless)}


def run_cli(size: int, data: Path, env: dict[str, str], folder: Path, stages: bool = False) -> dict:
    """Write ``size`` answers to a CSV and time ``chorus themes`` on it in a child process."""
    source = folder / f"answers-{size}.csv"
    if not source.exists():
        with source.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([t] for t in make_answers(real_texts(data), size))
    chorus = Path(sys.executable).parent / "chorus"
    command = [str(chorus)] if chorus.exists() else [sys.executable, "-c", "from listening.cli import main; main()"]
    if stages:
        command = [sys.executable, __file__, "--stage-child"]
    command += ["themes", str(source), "--text-column", "text", "--output", str(folder / f"themes-{size}.csv")]
    load = os.getloadavg()[0]
    with (folder / "stdout.txt").open("w+", encoding="utf-8") as out, (folder / "stderr.txt").open("w+", encoding="utf-8") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)  # the child's own CPU time and peak memory
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, warned = out.read(), err.read()
    if child.returncode != 0:
        print(warned, file=sys.stderr)
        raise SystemExit(child.returncode)
    themes = int(printed.split(" themes from ", 1)[0].rsplit("\n", 1)[-1]) if " themes from " in printed else -1
    timed = json.loads(warned.split("STAGES ", 1)[1]) if "STAGES " in warned else []
    warned = warned.split("STAGES ", 1)[0]
    return {"answers": size, "seconds": round(seconds, 2), "cpu": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(usage.ru_maxrss / 1024), "load": load, "themes": themes,
            "languages": warned.strip().split("answers: ", 1)[-1].split(" (", 1)[0], "stages": timed}


# The stages --stages times: (module, function) in the command's process.
STAGES = (("analysis.cli", "defer_unused_imports"), ("analysis.cli", "_warm_up"), ("analysis.cli", "read_csv"),
          ("analysis.cli", "_redaction_ahead"), ("analysis.cli", "_languages"), ("analysis.themes", "find_themes"),
          ("analysis.themes", "_prepare"), ("analysis.themes", "_index_terms"), ("analysis.themes", "_represent"),
          ("analysis.themes", "_cluster"), ("analysis.themes", "_describe_groups"), ("analysis.cli", "_write_csv"))


def stage_child(argv: list[str]) -> None:
    """Run ``chorus themes`` with ``argv`` in this process, timing :data:`STAGES`; print them as JSON on stderr at the end."""
    import functools  # noqa: PLC0415
    import importlib  # noqa: PLC0415

    start, cpu = time.perf_counter(), time.process_time()
    rows: list[list] = []

    def timed(label: str, function):  # type: ignore[no-untyped-def]
        @functools.wraps(function)
        def run(*a, **k):  # type: ignore[no-untyped-def]
            began, used = time.perf_counter(), time.process_time()
            try:
                return function(*a, **k)
            finally:
                rows.append([label, round(began - start, 2), round(time.perf_counter() - began, 2), round(time.process_time() - used, 2)])
        return run

    sys.path.insert(0, str(REPO))
    import analysis.cli  # noqa: PLC0415, F401 - the themes command, as `chorus themes` imports it
    from listening import cli  # noqa: PLC0415
    rows.append(["start: Python, `chorus` and the themes command imported", 0.0, round(time.perf_counter() - start, 2), round(time.process_time() - cpu, 2)])
    for module_name, name in STAGES:
        module = importlib.import_module(module_name)
        setattr(module, name, timed(name, getattr(module, name)))
    from analysis import forking  # noqa: PLC0415

    result = forking.Pending.result

    def waited(self, *a, **k):  # type: ignore[no-untyped-def]
        try:
            return timed(f"waits for child: {self._function.__name__}", result)(self, *a, **k)
        finally:
            rows[-1][0] += f" (the child's CPU: {self.child_cpu:.2f} s)"

    forking.Pending.result = waited
    try:
        sys.argv = ["chorus", "themes", *argv]
        cli.main()  # as the `chorus` script runs it (without Flask); it exits
    except SystemExit as done:
        if done.code:
            raise
    finally:
        rows.append(["total", 0.0, round(time.perf_counter() - start, 2), round(time.process_time() - cpu, 2)])
        print("STAGES " + json.dumps(rows), file=sys.stderr, flush=True)


def main_cli(args: argparse.Namespace, env: dict[str, str]) -> int:
    """Time ``chorus themes`` end to end on each size, ``--repeat`` times, and print the figures."""
    import tempfile  # noqa: PLC0415

    print(f"| answers | load before | seconds (wall) | CPU seconds | peak memory (MB) | themes | languages detected |  (chorus themes, {os.cpu_count()} cores)")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            for _ in range(args.repeat):
                r = run_cli(size, args.data, env, Path(folder), args.stages)
                print(f"| {r['answers']:,} | {r['load']:.1f} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['peak_mb']:,} | {r['themes']} | {r['languages']} |", flush=True)
                if r["stages"]:
                    print("\n| stage | starts at (s) | wall (s) | CPU, this process (s) |\n|---|---|---|---|")
                    for label, began, wall, cpu in r["stages"]:
                        print(f"| {label} | {began:.2f} | {wall:.2f} | {cpu:.2f} |")
                    print(flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run each size in a child process limited to ``--threads`` threads and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cli", action="store_true", help="time `chorus themes` on a CSV of the answers, end to end")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each size (with --cli)")
    parser.add_argument("--stages", action="store_true", help="with --cli: print each stage's start, wall and CPU time")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--stage-child"]:
        stage_child(argv[2:])  # ["--stage-child", "themes", ...]: the command's own arguments
        return 0
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.data)))
        return 0
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[var] = str(args.threads)
    if args.cli:
        return main_cli(args, env)
    goals = {10_000: 5.0, 100_000: 60.0, 200_000: 60.0}  # 200,000 distinct answers: issue 19, in CPU seconds
    print(f"| answers | seconds (wall) | CPU seconds (with the engine's helper) | load at the end | goal | peak memory (MB) | themes | other / unclear | contentless |  ({args.threads} threads, {os.cpu_count()} cores)")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--child", str(size)], capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        goal = goals.get(size)
        print(f"| {r['answers']:,} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['load']:.1f} | {'< %g s' % goal if goal else '-'} | {r['peak_mb']:,}{' (helper %s)' % format(r['helper_peak_mb'], ',') if r.get('helper_peak_mb') else ''} (goal < 1,536) | {r['themes']} | {r['other']} | {r['contentless']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
