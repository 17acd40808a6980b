"""Benchmark: how well draft themes recover human theme labels, next to baselines.

Owns the quality table in docs/themes.md. Datasets (read from ``--data``, default
``../shared/data`` relative to the repository; nothing is copied):

- nhs9 / nhs44: NHS Friends and Family Test feedback, 9 themes / 44 sub-themes coded by people.
- mtod-en / mtod-es / mtod-mixed: short requests in English, Spanish and both together (12 intents).

Methods, each run with the true number of themes and the same seeds:

- word TF-IDF (generic stopwordsiso stop words, Snowball) -> LSA -> k-means (baseline)
- scikit-learn LDA on word counts (baseline)
- character n-gram TF-IDF -> LSA -> k-means (baseline)
- WordLlama static embeddings -> k-means (baseline)
- the engine, ``analysis.themes.find_themes``, with the true k and with k chosen automatically.

Scores are NMI and ARI against the human labels, averaged over seeds. The engine's "other /
unclear" and "contentless" answers count as groups of their own (no answer is dropped). On
the mixed set it also reports the share of themes that are more than 90% one language.

Usage: ``python bench/themes_quality.py [--data DIR] [--seeds 0 1 2] [--only nhs9 ...] [--markdown OUT.md]``
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import LatentDirichletAllocation, TruncatedSVD  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from analysis import text as textmod  # noqa: E402
from analysis.themes import Answer, _wordllama, find_themes  # noqa: E402

Dataset = tuple[list[str], list[str], list[str]]  # texts, labels, languages

# Published on the issue, measured with PyTorch (not available here): the quality reference.
MINILM_REFERENCE = {"nhs9": 0.24, "nhs44": 0.29, "mtod-en": 0.63, "mtod-es": 0.64, "mtod-mixed": 0.55}


def load_datasets(data: Path) -> dict[str, Dataset]:
    """Load the five labelled datasets from the shared data folder."""
    out: dict[str, Dataset] = {}
    with (data / "nhs-feedback" / "text_data.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["feedback"].strip()]
    texts = [r["feedback"] for r in rows]
    out["nhs9"] = (texts, [r["label"] for r in rows], ["en"] * len(rows))
    out["nhs44"] = (texts, [r["code"] for r in rows], ["en"] * len(rows))
    both: list[dict[str, str]] = []
    for lang in ("en", "es"):
        with (data / "mtod-en-es" / f"test-{lang}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        both += rows
        out[f"mtod-{lang}"] = ([r["text"] for r in rows], [r["label"] for r in rows], [lang] * len(rows))
    out["mtod-mixed"] = ([r["text"] for r in both], [r["label"] for r in both], [r["language"] for r in both])
    return out


def monolingual_share(groups: Sequence[str], languages: Sequence[str]) -> float:
    """Return the share of groups in which more than 90% of answers share one language."""
    by_group: dict[str, list[str]] = {}
    for g, lang in zip(groups, languages):
        by_group.setdefault(str(g), []).append(lang)
    mono = 0
    for langs in by_group.values():
        _, counts = np.unique(langs, return_counts=True)
        mono += counts.max() / len(langs) > 0.9
    return mono / len(by_group)


# --- baselines -----------------------------------------------------------------------------


def _stem_docs(texts: Sequence[str], languages: Sequence[str], generic_stops: bool) -> list[str]:
    """Return documents of Snowball stems, optionally without stopwordsiso's generic list."""
    import stopwordsiso  # noqa: PLC0415

    docs = []
    for t, lang in zip(texts, languages):
        stops = stopwordsiso.stopwords(lang) if generic_stops else set()
        docs.append(" ".join(textmod.stem(w, lang) for w in textmod.tokenize(t, lang) if w not in stops))
    return docs


def baseline_word_lsa(texts: Sequence[str], languages: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Word TF-IDF with generic stop words and Snowball stems, LSA (100 dims), k-means."""
    x = TfidfVectorizer(token_pattern=r"\S+", min_df=2, sublinear_tf=True).fit_transform(_stem_docs(texts, languages, True))
    z = normalize(TruncatedSVD(min(100, x.shape[1] - 1), random_state=seed).fit_transform(x))
    return KMeans(k, n_init=4, random_state=seed).fit_predict(z)


def baseline_lda(texts: Sequence[str], languages: Sequence[str], k: int, seed: int) -> np.ndarray:
    """scikit-learn LDA on stemmed word counts (generic stop words); each answer's top topic."""
    x = CountVectorizer(token_pattern=r"\S+", min_df=2).fit_transform(_stem_docs(texts, languages, True))
    lda = LatentDirichletAllocation(k, random_state=seed, learning_method="batch", max_iter=20)
    return lda.fit_transform(x).argmax(axis=1)


def baseline_char_lsa(texts: Sequence[str], languages: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Character 2-5-gram TF-IDF, LSA (150 dims), k-means."""
    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True).fit_transform([t.casefold() for t in texts])
    z = normalize(TruncatedSVD(150, random_state=seed).fit_transform(x))
    return KMeans(k, n_init=4, random_state=seed).fit_predict(z)


def baseline_wordllama(texts: Sequence[str], languages: Sequence[str], k: int, seed: int) -> np.ndarray:
    """WordLlama static embeddings (its own mean pooling), k-means."""
    z = normalize(_wordllama().embed(list(texts)))
    return KMeans(k, n_init=4, random_state=seed).fit_predict(z)


BASELINES: dict[str, Callable[[Sequence[str], Sequence[str], int, int], np.ndarray]] = {
    "word TF-IDF (generic stop words, Snowball) -> LSA -> k-means": baseline_word_lsa,
    "scikit-learn LDA": baseline_lda,
    "character n-gram TF-IDF -> LSA -> k-means": baseline_char_lsa,
    "WordLlama static embeddings -> k-means": baseline_wordllama,
}


def engine(texts: Sequence[str], languages: Sequence[str], k: int | None, seed: int) -> tuple[list[str], int]:
    """Run the engine; return each answer's group (theme, other or contentless) and k chosen."""
    answers = [Answer(i, t, lang) for i, (t, lang) in enumerate(zip(texts, languages))]
    result = find_themes(answers, k=k, seed=seed)
    return [result.assignment[i] for i in range(len(texts))], result.k_chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run every method on every dataset and print the table (and write it as Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="datasets to run")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables here as Markdown")
    args = parser.parse_args(argv)
    if not (args.data / "nhs-feedback").exists():
        parser.error(f"no data at {args.data}; pass --data")
    datasets = load_datasets(args.data)
    names = args.only or list(datasets)
    methods = ([] if args.skip_baselines else list(BASELINES)) + ["engine, true k", "engine, k chosen"]
    nmi: dict[tuple[str, str], list[float]] = {}
    ari: dict[tuple[str, str], list[float]] = {}
    mono: dict[str, list[float]] = {}
    k_chosen: dict[str, list[int]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    for name in names:
        texts, labels, langs = datasets[name]
        k_true = len(set(labels))
        for seed in args.seeds:
            for method in methods:
                start = time.perf_counter()
                if method in BASELINES:
                    pred = [str(p) for p in BASELINES[method](texts, langs, k_true, seed)]
                else:
                    pred, k = engine(texts, langs, k_true if method.endswith("true k") else None, seed)
                    if method.endswith("chosen"):
                        k_chosen.setdefault(name, []).append(k)
                seconds.setdefault((method, name), []).append(time.perf_counter() - start)
                nmi.setdefault((method, name), []).append(normalized_mutual_info_score(labels, pred))
                ari.setdefault((method, name), []).append(adjusted_rand_score(labels, pred))
                if name == "mtod-mixed":
                    mono.setdefault(method, []).append(monolingual_share(pred, langs))
            print(f"  {name} seed {seed} done", file=sys.stderr, flush=True)
        if name == "mtod-mixed":
            mono["human labels"] = [monolingual_share(labels, langs)]

    def table(metric: dict[tuple[str, str], list[float]], title: str) -> list[str]:
        """Return a Markdown table of one metric (mean over seeds)."""
        lines = [f"### {title} (mean of seeds {', '.join(map(str, args.seeds))})", "", "| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for method in methods:
            lines.append(f"| {method} | " + " | ".join(f"{np.mean(metric[(method, n)]):.3f}" for n in names) + " |")
        if title.startswith("NMI"):
            lines.append("| all-MiniLM-L6-v2 -> k-means (reference from the issue; needs PyTorch, not run) | " + " | ".join(f"{MINILM_REFERENCE.get(n, float('nan')):.2f}" for n in names) + " |")
            lines.append("| 90% of the MiniLM reference (goal) | " + " | ".join(f"{0.9 * MINILM_REFERENCE.get(n, float('nan')):.3f}" for n in names) + " |")
        return lines + [""]

    out = table(nmi, "NMI") + table(ari, "ARI")
    out += ["### Number of themes chosen by the engine", "", "| dataset | true k | k chosen (per seed) |", "|---|---|---|"]
    for name in names:
        out.append(f"| {name} | {len(set(datasets[name][1]))} | {', '.join(map(str, k_chosen.get(name, [])))} |")
    out.append("")
    if mono:
        out += ["### mtod-mixed: share of groups more than 90% one language (lower follows meaning more)", "", "| method | share |", "|---|---|"]
        for method, values in mono.items():
            out.append(f"| {method} | {np.mean(values):.0%} |")
        out.append("")
    out += ["### Seconds per run (this machine)", "", "| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for method in methods:
        out.append(f"| {method} | " + " | ".join(f"{np.mean(seconds[(method, n)]):.1f}" for n in names) + " |")
    out.append("")
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
