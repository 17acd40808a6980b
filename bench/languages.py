"""Benchmark: language detection for answers that come without a language, and what it buys.

Owns the language-detection figures in docs/themes.md. For each labelled set it prints how
often :func:`analysis.languages.detect_languages` agrees with the language each set is in
(mtod labels each request; NHS feedback is all English) and how long it takes; then, on the
Spanish set, the engine's NMI (true number of themes, mean over seeds) with the languages
given, detected, and all assumed English (what the command line did before it detected them).

Usage: ``python bench/languages.py [--data DIR] [--seeds 0 1 2 3 4]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sklearn.metrics import normalized_mutual_info_score  # noqa: E402

from analysis.languages import detect_languages  # noqa: E402
from themes_quality import engine, load_datasets  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Print detection agreement and speed, then NMI with given, detected and assumed languages."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    data = load_datasets(args.data)
    detect_languages(["warm up the model"])
    print("| dataset | answers | agree with the set's language labels | seconds |")
    print("|---|---|---|---|")
    detected: dict[str, list[str]] = {}
    for name in ("nhs9", "mtod-en", "mtod-es", "mtod-mixed"):
        texts, _labels, languages = data[name]
        start = time.perf_counter()
        detected[name] = detect_languages(texts)
        seconds = time.perf_counter() - start
        agree = np.mean([d == g for d, g in zip(detected[name], languages)])
        print(f"| {name} | {len(texts):,} | {agree:.1%} | {seconds:.2f} |", flush=True)
    print()
    texts, labels, languages = data["mtod-es"]
    k = len(set(labels))
    print(f"| mtod-es, true k, seeds {', '.join(map(str, args.seeds))} | NMI |")
    print("|---|---|")
    for title, langs in (("languages given", languages), ("languages detected", detected["mtod-es"]), ("all assumed English", ["en"] * len(texts))):
        scores = [normalized_mutual_info_score(labels, engine(texts, langs, k, seed)[0]) for seed in args.seeds]
        print(f"| {title} | {np.mean(scores):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
