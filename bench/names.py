"""Precision and recall of the likely-name detector on the hand-labelled synthetic answers.

Usage: ``python bench/names.py [--real FILE.csv --column C]``. Prints, for each set (DEV used while writing the detector,
HELDOUT written after its first version, HARD written to trip it) and each language, the name
words found, wrongly taken and missed, then precision and recall counted in words. Also times
``analysis.text.redact`` with detection on and off over the sets repeated to 10,000 answers.
With ``--real``, also runs the detector over one column of a CSV of real answers (for example
``../shared/data/nhs-feedback/text_data.csv``, column ``feedback``) and prints every detection
with its context, for a person to read and count the mistakes (real data has no name labels).
The figures are copied into docs/privacy.md.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.names import name_spans  # noqa: E402
from analysis.text import redact  # noqa: E402
from tests.analysis.name_cases import DEV, HARD, HELDOUT, VOCABULARY, parse, precision_recall, score  # noqa: E402


def read_real(path: str, column: str) -> None:
    """Print every detection in one column of a CSV of real answers, with a little context."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        texts = [row.get(column) or "" for row in csv.DictReader(handle)]
    found = 0
    for text in texts:
        spans = name_spans(text)
        if not spans:
            continue
        found += 1
        start, end = spans[0]
        context = text[max(0, start - 30):end + 15].replace("\n", " ")
        print(f"{found:4d} {[text[a:b] for a, b in spans]} | {context}")
    print(f"{found} of {len(texts):,} answers had a detection")


def main() -> None:
    """Print the detector's figures per set and language, and the time redaction takes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", help="a CSV of real answers to read detections in")
    parser.add_argument("--column", default="feedback", help="the column of answers in --real")
    args = parser.parse_args()
    print("| set | language | sentences | names marked | name words found | other words taken | name words missed "
          "| precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, cases in (("dev", DEV), ("heldout", HELDOUT), ("hard", HARD)):
        counts = score(cases, lambda text: name_spans(text, vocabulary=VOCABULARY))
        for language in ("en", "es", "fr", "vi", "ar", "ur", "all"):
            c = counts.get(language)
            if c is None:
                continue
            precision, recall = precision_recall(c)
            print(f"| {label} | {language} | {c['sentences']} | {c['names']} | {c['tp']} | {c['fp']} | {c['fn']} "
                  f"| {precision:.2f} | {recall:.2f} |")
    texts = [parse(marked)[0] for _, marked in (*DEV, *HELDOUT, *HARD)]
    texts = (texts * (10_000 // len(texts) + 1))[:10_000]
    for detect in (False, True):
        started = time.perf_counter()
        for text in texts:
            redact(text, vocabulary=VOCABULARY, detect_names=detect)
        took = time.perf_counter() - started
        print(f"redact, name detection {'on' if detect else 'off'}: {1e6 * took / len(texts):.0f} µs per answer "
              f"({len(texts):,} answers)")
    if args.real:
        read_real(args.real, args.column)


if __name__ == "__main__":
    main()
