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

Usage: ``python bench/themes_quality.py [--data DIR] [--seeds 0 1 2] [--only nhs9 ...] [--markdown OUT.md] [--sample ABOVE SIZE]``
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
from analysis.themes import Anchor, Answer, _wordllama, find_themes  # noqa: E402

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


RUNS: dict[tuple[str, int, str], object] = {}  # (dataset, seed, method) -> ThemeSet, for the extra figures


def engine(texts: Sequence[str], languages: Sequence[str], k: int | None, seed: int, **options: object) -> tuple[list[str], int]:
    """Run the engine; return each answer's group (theme, other or contentless) and k chosen."""
    answers = [Answer(i, t, lang) for i, (t, lang) in enumerate(zip(texts, languages))]
    result = find_themes(answers, k=k, seed=seed, **options)
    engine.last = result  # type: ignore[attr-defined]
    return [result.assignment[i] for i in range(len(texts))], result.k_chosen


def sub_level(result) -> list[str]:  # type: ignore[no-untyped-def]
    """Return each answer's sub-theme (its theme where the theme has none), in input order."""
    return [result.sub_assignment.get(i, result.assignment[i]) for i in range(len(result.assignment))]


def purity(groups: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """Return each group's share of its commonest human label."""
    by_group: dict[str, list[str]] = {}
    for g, lab in zip(groups, labels):
        by_group.setdefault(str(g), []).append(lab)
    return {g: np.unique(labs, return_counts=True)[1].max() / len(labs) for g, labs in by_group.items()}


def length_eta2(groups: Sequence[str], texts: Sequence[str]) -> float:
    """Return the share of the variance of log answer length that the grouping explains (eta squared)."""
    y = np.log1p(np.array([len(t.split()) for t in texts], dtype=float))
    total = float(((y - y.mean()) ** 2).sum())
    between = 0.0
    for g in set(groups):
        rows = np.array([x == g for x in groups])
        between += rows.sum() * (y[rows].mean() - y.mean()) ** 2
    return between / total if total else 0.0


def coherence_check(result, labels: Sequence[str]) -> tuple[float, float, float, int]:  # type: ignore[no-untyped-def]
    """Return (Spearman of coherence vs purity, mean purity of mixed themes, of the others, mixed count)."""
    from scipy.stats import spearmanr  # noqa: PLC0415

    pred = [result.assignment[i] for i in range(len(labels))]
    pure = purity(pred, labels)
    themes = [t for t in result.themes if t.size >= 5]
    if len(themes) < 3:
        return float("nan"), float("nan"), float("nan"), 0
    rho = float(spearmanr([t.coherence for t in themes], [pure[t.id] for t in themes]).statistic)
    mixed = [pure[t.id] for t in themes if t.mixed]
    clear = [pure[t.id] for t in themes if not t.mixed]
    return rho, float(np.mean(mixed)) if mixed else float("nan"), float(np.mean(clear)) if clear else float("nan"), len(mixed)


def stability(texts: Sequence[str], languages: Sequence[str], labels: Sequence[str], seed: int, method: str) -> dict[str, float]:
    """Return agreement between a run on 10/11 of the answers and a run with 10% more answers.

    The base run holds a seeded 10/11 of the answers; the second run holds all of them. NMI and
    ARI are computed on the answers both runs share. For the engine, the second run is also made
    with the base run's themes given as reviewed anchors (``anchored``), as a planner's re-run
    would be, and the new answers' NMI against the human labels is reported.
    """
    rng = np.random.default_rng(1000 + seed)
    base = np.sort(rng.choice(len(texts), size=round(len(texts) * 10 / 11), replace=False))
    k_true = len(set(labels))
    base_t = [texts[i] for i in base]
    base_l = [languages[i] for i in base]
    out: dict[str, float] = {}
    if method in BASELINES:
        a = BASELINES[method](base_t, base_l, k_true, seed)
        b = BASELINES[method](texts, languages, k_true, seed)
        b_common = [b[i] for i in base]
        return {"nmi": normalized_mutual_info_score(a, b_common), "ari": adjusted_rand_score(a, b_common)}
    first = find_themes([Answer(int(i), texts[i], languages[i]) for i in base], seed=seed)
    second = find_themes([Answer(i, t, lang) for i, (t, lang) in enumerate(zip(texts, languages))], seed=seed)
    a = [first.assignment[int(i)] for i in base]
    b = [second.assignment[int(i)] for i in base]
    out["nmi"], out["ari"] = normalized_mutual_info_score(a, b), adjusted_rand_score(a, b)
    anchors = [Anchor(t.id, t.label, t.answer_ids) for t in first.themes]
    third = find_themes([Answer(i, t, lang) for i, (t, lang) in enumerate(zip(texts, languages))], seed=seed, anchors=anchors)
    c = [third.assignment[int(i)] for i in base]
    out["anchored_nmi"], out["anchored_ari"] = normalized_mutual_info_score(a, c), adjusted_rand_score(a, c)
    new = sorted(set(range(len(texts))) - set(base.tolist()))
    out["new_joined"] = float(np.mean([third.assignment[i] in {t.id for t in first.themes} for i in new]))
    out["new_nmi_anchored"] = normalized_mutual_info_score([labels[i] for i in new], [third.assignment[i] for i in new])
    out["new_nmi_free"] = normalized_mutual_info_score([labels[i] for i in new], [second.assignment[i] for i in new])
    out["overlaps"] = float(sum(t.overlaps is not None for t in third.themes))
    return out


ENGINE_METHODS = ["engine, true k", "engine, k chosen"]
# An ablation on the mixed set: the same engine without the machine gloss.
NO_GLOSS = "engine, k chosen, without machine gloss"


def run_engine_method(method: str, texts: Sequence[str], langs: Sequence[str], k_true: int, seed: int):  # type: ignore[no-untyped-def]
    """Run one engine variant and return (groups, k chosen, ThemeSet)."""
    k = k_true if method.endswith("true k") else None
    pred, k_found = engine(texts, langs, k, seed, gloss=method != NO_GLOSS)
    return pred, k_found, engine.last  # type: ignore[attr-defined]


def _mean(values: Sequence[float]) -> float:
    """Return the mean, ignoring NaN (nan when nothing is left)."""
    kept = [v for v in values if v == v]
    return float(np.mean(kept)) if kept else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every method on every dataset and print the tables (and write them as Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="datasets to run")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--no-stability", action="store_true", help="skip the re-run stability figures")
    parser.add_argument("--labels", action="store_true", help="print each engine theme's label and claims (k chosen, first seed)")
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables here as Markdown")
    parser.add_argument("--sample", type=int, nargs=2, metavar=("ABOVE", "SIZE"), default=None,
                        help="find themes on a sample of SIZE distinct answers above ABOVE (the engine's large-input "
                             "path, normally beyond 25,000 distinct answers), to measure it on these labelled sets")
    args = parser.parse_args(argv)
    if args.sample:
        from analysis import themes as engine  # noqa: PLC0415

        engine._SAMPLE_ABOVE, engine._SAMPLE_SIZE = args.sample
    if not (args.data / "nhs-feedback").exists():
        parser.error(f"no data at {args.data}; pass --data")
    datasets = load_datasets(args.data)
    names = args.only or list(datasets)
    baselines = [] if args.skip_baselines else list(BASELINES)
    methods = baselines + ENGINE_METHODS
    nmi: dict[tuple[str, str], list[float]] = {}
    ari: dict[tuple[str, str], list[float]] = {}
    mono: dict[str, list[float]] = {}
    k_chosen: dict[str, list[int]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    other: dict[tuple[str, str], list[float]] = {}
    eta2: dict[tuple[str, str], list[float]] = {}
    coherence: dict[str, list[tuple[float, float, float, int]]] = {}
    sub_nmi: dict[str, list[float]] = {}
    subs_count: dict[str, list[int]] = {}
    second_share: dict[str, list[float]] = {}
    stable: dict[tuple[str, str], list[dict[str, float]]] = {}
    for name in names:
        texts, labels, langs = datasets[name]
        k_true = len(set(labels))
        run_methods = methods + ([NO_GLOSS] if name == "mtod-mixed" else [])
        for seed in args.seeds:
            for method in run_methods:
                start = time.perf_counter()
                result = None
                if method in BASELINES:
                    pred = [str(p) for p in BASELINES[method](texts, langs, k_true, seed)]
                else:
                    pred, k, result = run_engine_method(method, texts, langs, k_true, seed)
                    if method == "engine, k chosen":
                        k_chosen.setdefault(name, []).append(k)
                seconds.setdefault((method, name), []).append(time.perf_counter() - start)
                nmi.setdefault((method, name), []).append(normalized_mutual_info_score(labels, pred))
                ari.setdefault((method, name), []).append(adjusted_rand_score(labels, pred))
                other.setdefault((method, name), []).append(float(np.mean([p == "other" for p in pred])))
                eta2.setdefault((method, name), []).append(length_eta2(pred, texts))
                if name == "mtod-mixed":
                    mono.setdefault(method, []).append(monolingual_share(pred, langs))
                if result is not None and method == "engine, k chosen":
                    coherence.setdefault(name, []).append(coherence_check(result, labels))
                    sub_nmi.setdefault(name, []).append(normalized_mutual_info_score(labels, sub_level(result)))
                    subs_count.setdefault(name, []).append(len(result.subthemes))
                    second_share.setdefault(name, []).append(len(result.secondary) / max(1, len(texts)))
                    if args.labels and seed == args.seeds[0]:
                        print_labels(name, result)
            if not args.no_stability:
                for method in baselines + ["engine, k chosen"]:
                    stable.setdefault((method, name), []).append(stability(texts, langs, labels, seed, method))
            print(f"  {name} seed {seed} done", file=sys.stderr, flush=True)
        if name == "mtod-mixed":
            mono["human labels"] = [monolingual_share(labels, langs)]
        eta2[("human labels", name)] = [length_eta2(labels, texts)]
    out = tables(args, names, datasets, methods, nmi, ari, mono, k_chosen, seconds, other, eta2, coherence, sub_nmi, subs_count, second_share, stable)
    text = "\n".join(out)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


def print_labels(name: str, result) -> None:  # type: ignore[no-untyped-def]
    """Print a run's themes as a planner would read them: label, terms, claims, sub-themes."""
    print(f"\n== {name}: {len(result.themes)} themes, other {result.other.size}", file=sys.stderr)
    for t in result.themes:
        flag = " [mixed]" if t.mixed else ""
        print(f"  {t.id} ({t.size}){flag} {t.label}  -- {', '.join(t.top_terms[:5])}", file=sys.stderr)
        for c in t.claims[:3]:
            print(f"      x{c.count} {c.text}", file=sys.stderr)
        for s in result.subthemes:
            if s.parent == t.id:
                print(f"      - {s.id} ({s.size}) {s.label}", file=sys.stderr)


def tables(args, names, datasets, methods, nmi, ari, mono, k_chosen, seconds, other, eta2, coherence, sub_nmi, subs_count, second_share, stable) -> list[str]:  # type: ignore[no-untyped-def]  # noqa: PLR0913
    """Return every table as Markdown lines."""
    seeds = ", ".join(map(str, args.seeds))

    def table(metric: dict[tuple[str, str], list[float]], title: str, fmt: str = "{:.3f}", rows: Sequence[str] = methods) -> list[str]:
        """Return a Markdown table of one metric (mean over seeds)."""
        lines = [f"### {title} (mean of seeds {seeds})", "", "| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for method in rows:
            if any((method, n) in metric for n in names):
                lines.append(f"| {method} | " + " | ".join(fmt.format(_mean(metric[(method, n)])) if (method, n) in metric else "-" for n in names) + " |")
        if title.startswith("NMI"):
            lines.append("| all-MiniLM-L6-v2 -> k-means (reference from the issue; needs PyTorch, not run) | " + " | ".join(f"{MINILM_REFERENCE.get(n, float('nan')):.2f}" for n in names) + " |")
            lines.append("| 90% of the MiniLM reference (goal) | " + " | ".join(f"{0.9 * MINILM_REFERENCE.get(n, float('nan')):.3f}" for n in names) + " |")
        return lines + [""]

    out = table(nmi, "NMI", rows=methods + [NO_GLOSS]) + table(ari, "ARI", rows=methods + [NO_GLOSS])
    if sub_nmi:
        out += [f"### Two levels: the engine's sub-themes (k chosen; mean of seeds {seeds})", "",
                "| dataset | human groups | engine themes | engine sub-themes | NMI, themes | NMI, sub-themes | answers with a second theme |", "|---|---|---|---|---|---|---|"]
        for n in names:
            if n in sub_nmi:
                out.append(f"| {n} | {len(set(datasets[n][1]))} | {_mean(k_chosen[n]):.1f} | {_mean(subs_count[n]):.1f} | "
                           f"{_mean(nmi[('engine, k chosen', n)]):.3f} | {_mean(sub_nmi[n]):.3f} | {_mean(second_share[n]):.1%} |")
        out.append("")
    out += ["### Number of themes chosen by the engine", "", "| dataset | true k | k chosen (per seed) |", "|---|---|---|"]
    for name in names:
        out.append(f"| {name} | {len(set(datasets[name][1]))} | {', '.join(map(str, k_chosen.get(name, [])))} |")
    out.append("")
    if mono:
        out += ["### mtod-mixed: share of groups more than 90% one language (lower follows meaning more)", "", "| method | share |", "|---|---|"]
        for method, values in mono.items():
            out.append(f"| {method} | {np.mean(values):.0%} |")
        out.append("")
    out += table(other, "Share of answers in Other / unclear", "{:.1%}", rows=methods + [NO_GLOSS])
    out += table(eta2, "Answer length explained by the groups (eta squared of log words; human labels for scale)", "{:.3f}",
                 rows=methods + ["human labels"])
    if coherence:
        out += [f"### Honest groups: coherence against purity (themes of 5+ answers, k chosen, mean of seeds {seeds})", "",
                "| dataset | Spearman (coherence, purity) | purity of mixed themes | purity of the others | mixed themes per run |", "|---|---|---|---|---|"]
        for n, rows in coherence.items():
            out.append(f"| {n} | {_mean([r[0] for r in rows]):.2f} | {_mean([r[1] for r in rows]):.2f} | {_mean([r[2] for r in rows]):.2f} | {_mean([r[3] for r in rows]):.1f} |")
        out.append("")
    if stable:
        out += [f"### Stability: a run with 10% more answers against the run without them (common answers; mean of seeds {seeds})", "",
                "| method | dataset | NMI | ARI | NMI with reviewed anchors | ARI with reviewed anchors | new answers joining reviewed themes | new answers' NMI, anchored / free | overlap flags |",
                "|---|---|---|---|---|---|---|---|---|"]
        for (method, n), rows in stable.items():
            if "anchored_nmi" in rows[0]:
                out.append(f"| {method} | {n} | {_mean([r['nmi'] for r in rows]):.3f} | {_mean([r['ari'] for r in rows]):.3f} | "
                           f"{_mean([r['anchored_nmi'] for r in rows]):.3f} | {_mean([r['anchored_ari'] for r in rows]):.3f} | "
                           f"{_mean([r['new_joined'] for r in rows]):.0%} | {_mean([r['new_nmi_anchored'] for r in rows]):.3f} / {_mean([r['new_nmi_free'] for r in rows]):.3f} | {_mean([r['overlaps'] for r in rows]):.1f} |")
            else:
                out.append(f"| {method} (true k) | {n} | {_mean([r['nmi'] for r in rows]):.3f} | {_mean([r['ari'] for r in rows]):.3f} | - | - | - | - | - |")
        out.append("")
    out += table({k: v for k, v in seconds.items()}, "Seconds per run (this machine)", "{:.1f}", rows=methods + [NO_GLOSS])
    return out


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
