"""Draft themes: groups of answers that say similar things, with labels, terms and quotes.

Owns the data types (:class:`Answer`, :class:`Theme`, :class:`ThemeSet`) and the method
(:func:`find_themes`, :func:`split_theme`). Pure Python on numpy/scipy/scikit-learn, NLTK
stemmers and the WordLlama model shipped inside its wheel; nothing is downloaded.

Interface::

    Answer(id: str | int, text: str, language: str | None = "en", translation: str | None = None,
           segments: Mapping[str, str] = {})
    find_themes(answers: Iterable[Answer], *, k: int | None = None, k_min: int = 2,
                k_max: int = 20, seed: int = 0, names: Sequence[str] = (),
                vocabulary: Iterable[str] = ()) -> ThemeSet
    split_theme(theme_set: ThemeSet, answers: Iterable[Answer], theme_id: str, *, k: int = 2,
                seed: int | None = None, names: Sequence[str] = (), vocabulary: Iterable[str] = ()) -> ThemeSet

``names`` are always redacted; ``vocabulary`` (the session's own words) is never taken for a
likely personal name by :func:`analysis.text.redact`.

``ThemeSet`` has ``themes`` (largest first, ids ``"t1"``, ``"t2"``...), ``other`` (the explicit
"Other / unclear" group, id ``"other"``), ``contentless`` (ids of answers with no content),
``assignment`` (every answer id -> theme id, ``"other"`` or ``"contentless"``), ``k_chosen``,
``method`` (a plain-language note for reports), ``seed``, ``texts`` (redacted text of every
answer: quote these, never the raw text), ``k_scores`` (diagnostics of the choice of k) and
``languages``. ``Theme`` has ``id``, ``label``, ``top_terms``, ``size``, ``answer_ids`` (most
typical first), ``quotes`` (3 to 5 answer ids, typical and different from each other; fewer
only when the theme has fewer distinct answers), ``quote_texts`` (their redacted text),
``languages`` (answers per language) and ``single_language`` (the language code when every
answer of the theme is in one language while the whole set has several, else ``None``).

Method, in short: redact, set contentless answers aside, merge identical answers, represent
each distinct answer by three normalised blocks -- character n-gram TF-IDF reduced by LSA,
WordLlama static embeddings, stemmed word TF-IDF reduced by LSA -- remove each language's mean
from every block when several languages are present (so themes follow meaning, not language),
choose k by over-clustering a sample and merging groups whose centres are alike, run weighted k-means
and move answers far from their centroid to "Other / unclear". The translation, when given,
is what is analysed; the original is what is quoted.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from analysis import messages
from analysis import text as textmod

__all__ = [
    "Answer",
    "Theme",
    "ThemeSet",
    "find_themes",
    "split_theme",
    "OTHER_ID",
    "CONTENTLESS_ID",
    "PIVOT_LANGUAGE",
]

log = logging.getLogger(__name__)

AnswerId = Hashable
OTHER_ID = messages.OTHER_ID
CONTENTLESS_ID = "contentless"
# Language that provided translations are assumed to be in.
PIVOT_LANGUAGE = "en"

# Tuned on the benchmark (bench/themes_quality.py); see docs/themes.md.
_CHAR_LIMIT = 300  # characters of each answer the character block reads
_MAX_FEATURES = 40_000  # most frequent n-grams kept per TF-IDF block
_SVD_ITER = 2
_FIT_SAMPLE = 20_000  # beyond this many distinct answers, TF-IDF and LSA are fitted on a sample
_CHUNK = 5_000  # answers projected at a time on large input
_CHAR_DIMS = 100
_WORD_DIMS = 100
_BLOCK_WEIGHTS = (1.0, 1.0, 0.7)  # characters, WordLlama, stemmed words
_FOLD = True
_WORDLLAMA_ENGLISH = 1.3
_WORDLLAMA_OTHER_LANGUAGES = 0.5
_N_INIT = 4  # k-means restarts; more did not help on the benchmark and cost time
_FINAL_DIMS = 64  # dimensions after combining the blocks
_K_SAMPLE = 6000  # distinct answers sampled to choose k
_OVERCLUSTER = 30  # groups found before merging similar ones
_MERGE_DISTANCE = 0.9  # cosine distance under which two groups' centres are one theme
_SAME_MEANING = 0.1  # a theme's language parts less alike than this (cosine) are split apart
_OTHER_Z = 2.5  # answers this many SDs less typical than their theme's mean go to "other"
_SURFACE_SAMPLE = 100  # most typical answers of a theme read for its terms' written forms
_LABEL_COVERAGE = 0.1  # label terms should appear in at least this share of a theme
_MAX_QUOTES = 5
_MIN_QUOTES = 3


@dataclass(frozen=True)
class Answer:
    """One answer to one prompt: its text, language, optional translation and segments.

    ``language`` is a language tag ("es", "es-MX"); an empty one means nobody said, and the
    language is then detected from the text (:func:`analysis.languages.detect_languages`).
    """

    id: AnswerId
    text: str
    language: str | None = "en"
    translation: str | None = None
    segments: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Theme:
    """A draft theme: label, distinctive terms, members ranked by typicality, and quotes."""

    id: str
    label: str
    top_terms: tuple[str, ...]
    size: int
    answer_ids: tuple[AnswerId, ...]
    quotes: tuple[AnswerId, ...]
    quote_texts: tuple[str, ...]
    languages: Mapping[str, int]
    single_language: str | None

    @property
    def language_note(self) -> str:
        """Return a plain sentence on the languages of this theme's answers."""
        if self.single_language:
            return messages.SINGLE_LANGUAGE_NOTE.format(language=messages.language_name(self.single_language))
        names = ", ".join(messages.language_name(code) for code in self.languages)
        return messages.MULTI_LANGUAGE_NOTE.format(languages=names)


@dataclass(frozen=True)
class ThemeSet:
    """The result of :func:`find_themes`: themes, the other group, and every answer's theme."""

    themes: tuple[Theme, ...]
    other: Theme
    contentless: tuple[AnswerId, ...]
    assignment: Mapping[AnswerId, str]
    k_chosen: int
    method: str
    seed: int
    texts: Mapping[AnswerId, str]
    k_scores: Mapping[str, float]
    languages: Mapping[str, int]

    def theme(self, theme_id: str) -> Theme:
        """Return the theme (or the other group) with this id; raise ``KeyError`` if unknown."""
        if theme_id == self.other.id:
            return self.other
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def label_of(self, theme_id: str) -> str:
        """Return the label of a theme id, including the other and contentless groups."""
        if theme_id == CONTENTLESS_ID:
            return messages.CONTENTLESS_LABEL
        return self.theme(theme_id).label


# --- model loading -------------------------------------------------------------------------


@functools.cache
def _wordllama():  # type: ignore[no-untyped-def]
    """Load WordLlama from the weights inside its own package, never from the network."""
    try:
        import wordllama  # noqa: PLC0415 - heavy import, only when themes are computed

        return wordllama.WordLlama.load(
            cache_dir=os.path.dirname(wordllama.__file__), disable_download=True
        )
    except Exception as exc:  # the engine still works on characters and words alone
        log.warning("WordLlama unavailable, themes use characters and words only: %s", exc)
        return None


# --- features ------------------------------------------------------------------------------


def _reduce(matrix: sp.spmatrix, dims: int, seed: int) -> np.ndarray:
    """Return L2-normalised LSA coordinates of a sparse TF-IDF matrix (dense if tiny)."""
    n_docs, n_feats = matrix.shape
    comps = min(dims, n_docs - 1, n_feats - 1)
    if comps < 8:
        # Too few answers or features for LSA to mean anything: use the TF-IDF itself.
        dense = matrix[:, : min(n_feats, 4096)].toarray()
        return l2_normalize(dense.astype(np.float32))
    # Few power iterations and a capped vocabulary keep LSA to seconds on 100,000 answers.
    svd = TruncatedSVD(n_components=comps, random_state=seed, algorithm="randomized", n_iter=_SVD_ITER)
    return l2_normalize(svd.fit_transform(matrix).astype(np.float32))


def _tfidf(docs: Sequence[str], **kwargs: object) -> sp.spmatrix | None:
    """Return a TF-IDF matrix, retrying with ``min_df=1`` on small input; ``None`` if empty."""
    for min_df in (2, 1):
        try:
            vec = TfidfVectorizer(min_df=min_df, sublinear_tf=True, dtype=np.float32, **kwargs)
            matrix = vec.fit_transform(docs)
        except ValueError:  # empty vocabulary
            continue
        if matrix.shape[1] >= 2 or min_df == 1:
            return matrix
    return None


def _lsa_block(docs: Sequence[str], dims: int, seed: int, **kwargs: object) -> np.ndarray | None:
    """Return LSA coordinates of TF-IDF vectors; on large input, fit on a sample, project in chunks.

    Up to ``_FIT_SAMPLE`` answers everything is fitted at once. Beyond, the vocabulary, IDF
    and LSA axes are learnt from a seeded sample and every answer is projected chunk by chunk,
    so that memory stays bounded (the full n-gram matrix of 100,000 answers needs gigabytes).
    """
    if len(docs) <= _FIT_SAMPLE:
        matrix = _tfidf(docs, **kwargs)
        return None if matrix is None else _reduce(matrix, dims, seed)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(docs), size=_FIT_SAMPLE, replace=False))
    vec = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32, **kwargs)
    try:
        fitted = vec.fit_transform([docs[i] for i in sample])
    except ValueError:  # empty vocabulary
        return None
    comps = min(dims, fitted.shape[0] - 1, fitted.shape[1] - 1)
    if comps < 8:
        return None
    svd = TruncatedSVD(n_components=comps, random_state=seed, algorithm="randomized", n_iter=_SVD_ITER).fit(fitted)
    del fitted
    out = np.empty((len(docs), comps), dtype=np.float32)
    for start in range(0, len(docs), _CHUNK):
        part = vec.transform(docs[start : start + _CHUNK])
        out[start : start + _CHUNK] = svd.transform(part)
    return l2_normalize(out)


def _features(texts: Sequence[str], term_docs: Sequence[str], seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Return the normalised feature blocks for distinct analysis texts, and their names."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    # Accents are folded for the character block: messy answers often drop them ("recuerdame").
    # The character block reads the first _CHAR_LIMIT characters: long answers are still seen
    # whole by the other blocks, and this bounds memory on 100,000 answers.
    clipped = [t[:_CHAR_LIMIT] for t in texts]
    char_docs = [textmod.fold_accents(t) for t in clipped] if _FOLD else clipped
    chars = _lsa_block(char_docs, _CHAR_DIMS, seed, analyzer="char_wb", ngram_range=(2, 5), max_features=_MAX_FEATURES)
    if chars is not None:
        blocks.append(chars)
        names.append("characters")
    model = _wordllama()
    if model is not None:
        blocks.append(_embed(model, texts))
        names.append("wordllama")
    words = _lsa_block(term_docs, _WORD_DIMS, seed, token_pattern=r"\S+", ngram_range=(1, 2), max_features=_MAX_FEATURES)
    if words is not None:
        blocks.append(words)
        names.append("words")
    return blocks, names


def _embed(model, texts: Sequence[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Return L2-normalised mean WordLlama token embeddings, pooled with one sparse product."""
    # WordLlama's own embed() pads each batch to its longest answer; a sparse averaging matrix
    # does the same mean pooling in a fraction of the time and memory on long, uneven answers.
    tokenizer = model.tokenizer
    tokenizer.no_padding()
    ids: list[np.ndarray] = []
    try:
        # In chunks, keeping only token ids: Encoding objects hold strings and offsets too.
        for start in range(0, len(texts), _CHUNK):
            encoded = tokenizer.encode_batch(list(texts[start : start + _CHUNK]), add_special_tokens=False)
            ids += [np.asarray(e.ids, dtype=np.int32) for e in encoded]
    finally:
        tokenizer.enable_padding()
    vocab = model.embedding.shape[0]
    lengths = np.array([len(i) for i in ids], dtype=np.int64)
    cols = np.clip(np.concatenate(ids) if len(ids) else np.zeros(0, np.int64), 0, vocab - 1)
    rows = np.repeat(np.arange(len(ids)), lengths)
    vals = (1.0 / np.maximum(lengths, 1))[rows].astype(np.float32)
    pool = sp.csr_matrix((vals, (rows, cols)), shape=(len(ids), vocab))
    return l2_normalize(np.nan_to_num(np.asarray(pool @ model.embedding, dtype=np.float32)))


def _center_languages(block: np.ndarray, langs: np.ndarray, weights: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Subtract each language's weighted mean so that language itself does not form themes."""
    out = block.copy()
    for lang in groups:
        rows = langs == lang
        w = weights[rows][:, None]
        out[rows] -= (block[rows] * w).sum(axis=0) / w.sum()
    return l2_normalize(out)


def _combine(blocks: Sequence[np.ndarray], weights: np.ndarray, seed: int) -> np.ndarray:
    """Concatenate weighted blocks and project them on their main axes (float64, L2-normalised)."""
    joined = np.hstack([np.float32(w) * b for w, b in zip(_BLOCK_WEIGHTS, blocks)]).astype(np.float32)
    dims = min(_FINAL_DIMS, joined.shape[0] - 1, joined.shape[1] - 1)
    if dims < 8:
        return l2_normalize(joined.astype(np.float64))
    # A weighted PCA through the (small) covariance matrix: exact, deterministic, and fewer
    # dimensions make k-means faster and slightly less noisy. Done in chunks so that no
    # full-size float64 copy of the features is ever made.
    mean = (joined.astype(np.float64) * weights[:, None]).sum(axis=0) / weights.sum() if len(joined) <= _CHUNK else _weighted_mean(joined, weights)
    cov = np.zeros((joined.shape[1], joined.shape[1]), dtype=np.float64)
    for start in range(0, len(joined), _CHUNK):
        part = joined[start : start + _CHUNK].astype(np.float64) - mean
        cov += (part * weights[start : start + _CHUNK, None]).T @ part
    _, vectors = np.linalg.eigh(cov)
    axes = vectors[:, ::-1][:, :dims]
    # Fix each axis's sign so results do not depend on the LAPACK build.
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), np.arange(dims)] < 0, -1.0, 1.0)
    out = np.empty((len(joined), dims), dtype=np.float64)
    for start in range(0, len(joined), _CHUNK):
        out[start : start + _CHUNK] = (joined[start : start + _CHUNK].astype(np.float64) - mean) @ axes
    # float64 avoids scikit-learn's slow chunked up-casting in k-means distance computations.
    return l2_normalize(out, copy=False)


def _weighted_mean(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the weighted column mean of a large float32 matrix, chunk by chunk, in float64."""
    total = np.zeros(matrix.shape[1], dtype=np.float64)
    for start in range(0, len(matrix), _CHUNK):
        total += (matrix[start : start + _CHUNK].astype(np.float64) * weights[start : start + _CHUNK, None]).sum(axis=0)
    return total / weights.sum()


# --- choosing k ----------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_kmeans() -> Iterator[None]:
    """Silence k-means's warning that fewer distinct groups exist than were asked for.

    It happens when different answers look identical to the engine; empty groups are dropped
    and the result reports how many themes it found, so a user of the command line should
    not see a library warning for it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _choose_k(z: np.ndarray, weights: np.ndarray, k_lo: int, k_hi: int, seed: int) -> tuple[int, dict[str, float]]:
    """Choose the number of themes: over-cluster, then merge groups whose centres are alike.

    Silhouette keeps rising with k on short answers (near-duplicates make small clusters look
    good) and Calinski-Harabasz keeps falling, so neither chooses. Instead k-means is run with
    more groups than a planner wants, and groups are merged (complete linkage on the cosine
    distance between their centres) until every pair of remaining groups differs by at least
    ``_MERGE_DISTANCE``; the number left is the number of themes, clamped to the bounds.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(len(weights))
    if len(rows) > _K_SAMPLE:
        # Distinct answers sampled in proportion to how often they were given.
        rows = np.unique(rng.choice(len(weights), size=_K_SAMPLE, replace=True, p=weights / weights.sum()))
    # Small sessions get fewer candidate groups: about the square root of the answers given.
    over = min(_OVERCLUSTER, len(rows) - 1, max(2 * k_lo, round(math.sqrt(weights.sum()))))
    if over < 2:
        return k_lo, {}
    with _quiet_kmeans():
        km = KMeans(n_clusters=over, n_init=2, random_state=seed).fit(z[rows], sample_weight=weights[rows])
    centres = l2_normalize(km.cluster_centers_)
    merged = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="complete", distance_threshold=_MERGE_DISTANCE
    ).fit(centres)
    found = int(merged.n_clusters_)
    chosen = max(k_lo, min(k_hi, found))
    return chosen, {"groups_before_merging": float(over), "groups_after_merging": float(found)}


def _split_unrelated_languages(
    z: np.ndarray, labels: np.ndarray, langs: np.ndarray, weights: np.ndarray, groups: Sequence[str], k_max: int
) -> tuple[np.ndarray, int]:
    """Split a theme whose languages have nothing in common into one theme per language.

    Centring each language makes the languages overlap, so k-means can put unrelated answers
    in different languages into one theme (English "the bus is late" with Arabic "there is no
    interpreter"). Where answers that say the same thing do meet, the centres of a theme's
    answers in each language stay alike (cosine 0.26 to 0.68 on the mixed benchmark); where
    they are unrelated, they are not (below 0.1). A theme whose language parts are less alike
    than ``_SAME_MEANING`` is split, largest part kept, while there are fewer than ``k_max``
    themes. Returns the new labels and how many themes were split.
    """
    labels = labels.copy()
    n_themes = int(labels.max()) + 1 if len(labels) else 0
    split = 0
    for theme in range(n_themes):
        members = labels == theme
        total = float(weights[members].sum())
        parts = []
        for lang in groups:
            rows = members & (langs == lang)
            w = float(weights[rows].sum())
            if w >= max(3.0, 0.1 * total):
                centre = (z[rows] * weights[rows][:, None]).sum(axis=0)
                parts.append((w, lang, centre / (np.linalg.norm(centre) or 1.0)))
        if len(parts) < 2:
            continue
        parts.sort(key=lambda part: (-part[0], part[1]))
        # Languages join the part they resemble; a language like none of them starts its own.
        joined: list[list[tuple[float, str, np.ndarray]]] = []
        for part in parts:
            home = next((group for group in joined if any(float(part[2] @ other[2]) >= _SAME_MEANING for other in group)), None)
            if home is None:
                joined.append([part])
            else:
                home.append(part)
        for group in joined[1:]:
            if n_themes >= k_max:
                break
            for _w, lang, _centre in group:
                labels[members & (langs == lang)] = n_themes
            n_themes += 1
            split += 1
    return labels, split


# --- labels and terms ----------------------------------------------------------------------


_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”«»¿¡/|\n]+|\s[-–—]\s|\s&\s")
# Words kept for clustering and phrases, but too vague to stand alone in a label.
_VAGUE = frozenset(
    "not no yes all any more less very also really can could would nt "
    # Negated auxiliaries and light verbs say little on their own ("don't", "get"), though
    # phrases built on them do ("don't listen", "get appointments").
    "don't dont can't cant won't didn't doesn't isn't wasn't couldn't wouldn't "
    "get got go went goe make made take took come came give gave thing way lot etc usw".split()
)


def _term_occurrences(text: str, language: str) -> list[tuple[str, str]]:
    """Return (stemmed key, surface form) pairs for content words and two-word phrases."""
    lang = textmod._base_language(language)
    stops = textmod.stop_words(lang)
    out: list[tuple[str, str]] = []
    # Phrases never span punctuation: "Nothing, everything was fine" has no "nothing everything".
    for clause in _CLAUSE.split(textmod.analysis_text(text)):
        prev: tuple[str, str] | None = None
        for tok in textmod.tokenize(clause, lang):
            if tok in stops or tok.isdigit() or len(tok) < 2:
                prev = None
                continue
            key = textmod.stem(tok, lang)
            out.append((key, tok))
            if prev is not None:
                out.append((prev[0] + " " + key, prev[1] + " " + tok))
            prev = (key, tok)
    return out


class _TermIndex:
    """Integer ids for stemmed terms, and the commonest written form of each word.

    Storing each answer's terms as an array of ids (not lists of string tuples) keeps memory
    small on 100,000 answers; a phrase is shown as the written forms of its two words.
    """

    def __init__(self) -> None:
        """Start with no terms."""
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.surfaces: dict[int, Counter[str]] = defaultdict(Counter)

    def add(self, occurrences: Sequence[tuple[str, str]]) -> np.ndarray:
        """Register one answer's (key, surface) pairs; return its distinct term ids."""
        ids = set()
        for key, surface in occurrences:
            i = self.index.get(key)
            if i is None:
                i = self.index[key] = len(self.keys)
                self.keys.append(key)
            if " " not in key:
                self.surfaces[i][surface] += 1
            ids.add(i)
        return np.array(sorted(ids), dtype=np.int64)

    def surface(self, i: int) -> str:
        """Return the commonest written form of term ``i`` (ties broken alphabetically)."""
        key = self.keys[i]
        if " " in key:
            return " ".join(self.surface(self.index[part]) for part in key.split(" "))
        return min(self.surfaces[i].items(), key=lambda item: (-item[1], item[0]))[0]


def _label_terms(
    members: Sequence[int],
    occ_ids: Sequence[np.ndarray],
    weights: np.ndarray,
    df_all: np.ndarray,
    vocab: _TermIndex,
    n_all: int,
    n_clusters: int,
    occurrences: Callable[[int], Sequence[tuple[str, str]]] | None = None,
) -> list[str]:
    """Return the written forms of a theme's most distinctive terms, by class-based TF-IDF.

    ``members`` are ranked most typical first. Where ``occurrences`` is given (an answer's
    (key, written form) pairs), each term is shown as this theme's own commonest written form
    among its most typical answers: a stem shared by two languages ("doctor" from "doctors" and
    "doctores") then reads in the theme's language, and a phrase keeps its own words.
    """
    if not members:
        return []
    ids = np.concatenate([occ_ids[u] for u in members])
    w = np.concatenate([np.full(len(occ_ids[u]), weights[u]) for u in members])
    df = np.bincount(ids, weights=w, minlength=len(vocab.keys)) if len(ids) else np.zeros(len(vocab.keys))
    size = float(weights[list(members)].sum())
    avg = n_all / max(n_clusters, 1)
    min_df = 2 if size >= 6 and (df >= 2).any() else 1
    candidates = [i for i in np.flatnonzero(df >= min_df).tolist() if vocab.keys[i] not in _VAGUE]
    scored = []
    for i in candidates:
        score = (df[i] / size) * math.log(1 + avg / df_all[i])
        if " " in vocab.keys[i]:
            score *= 1.1  # phrases read better than single words when nearly as distinctive
        scored.append((-score, vocab.keys[i], i))
    scored.sort()
    chosen_keys: list[str] = []
    chosen_ids: list[int] = []
    for _score, key, i in scored:
        parts = set(key.split())
        # Skip a phrase whose words are all shown already ("no tengo", "seguro médico", then
        # "tengo seguro"): it repeats rather than adds.
        if len(parts) > 1 and parts <= {p for c in chosen_keys for p in c.split()}:
            continue
        # Skip a word already inside a chosen phrase, and a phrase repeating chosen words.
        if any(parts <= set(c.split()) or set(c.split()) <= parts for c in chosen_keys):
            if not any(set(c.split()) < parts for c in chosen_keys):
                continue
            keep = [n for n, c in enumerate(chosen_keys) if not set(c.split()) < parts]
            chosen_keys = [chosen_keys[n] for n in keep]
            chosen_ids = [chosen_ids[n] for n in keep]
        chosen_keys.append(key)
        chosen_ids.append(i)
        if len(chosen_ids) >= 8:
            break
    # Order so that terms shared by a fair part of the theme come first: the label is made
    # of the first ones, and a phrase two answers share does not describe twenty.
    common = max(2, math.ceil(_LABEL_COVERAGE * size)) if size >= 6 else 1
    chosen_ids.sort(key=lambda i: df[i] < common)
    # Written forms are re-read from at most _SURFACE_SAMPLE answers a theme rather than kept for
    # every answer from the first pass: on 100,000 answers that would cost hundreds of MB.
    local: dict[str, Counter[str]] = defaultdict(Counter)
    if occurrences is not None:
        wanted = {vocab.keys[i] for i in chosen_ids}
        for u in members[:_SURFACE_SAMPLE]:
            for key, surface in occurrences(u):
                if key in wanted:
                    local[key][surface] += float(weights[u])
    # Two stems can share a written form across languages ("hospit" in English, "hospital" in
    # Spanish): show each form once.
    shown: list[str] = []
    seen: set[str] = set()
    for i in chosen_ids:
        forms = local.get(vocab.keys[i])
        form = min(forms.items(), key=lambda item: (-item[1], item[0]))[0] if forms else vocab.surface(i)
        if form.casefold() not in seen:
            seen.add(form.casefold())
            shown.append(form)
    return shown


def _make_label(terms: Sequence[str]) -> str:
    """Return a short readable label from a theme's top terms."""
    if not terms:
        return messages.UNTITLED_THEME
    label = ", ".join(terms[:3])
    return label[0].upper() + label[1:]


# --- quotes --------------------------------------------------------------------------------


def _pick_quotes(order: Sequence[int], sims: np.ndarray, z: np.ndarray, texts: Sequence[str]) -> list[int]:
    """Pick 3 to 5 rows that are typical of the theme and different from each other (MMR)."""
    candidates: list[int] = []
    seen: set[str] = set()
    for row in order:
        key = " ".join(textmod.tokenize(texts[row], None))
        if not key or key in seen:
            continue
        seen.add(key)
        candidates.append(row)
        if len(candidates) >= 40:
            break
    if not candidates:
        return []
    words = np.array([len(texts[r].split()) for r in candidates])
    # Very short or very long answers make poor quotes; prefer 4 to 60 words.
    fit = np.where(words < 3, 0.85, np.where(words > 60, 0.75, np.where(words > 30, 0.9, 1.0)))
    relevance = sims[candidates] * fit
    picked: list[int] = []
    cand_z = z[candidates]
    max_sim = np.full(len(candidates), -np.inf)
    for _ in range(min(_MAX_QUOTES, len(candidates))):
        score = relevance - 0.6 * np.where(np.isfinite(max_sim), max_sim, 0.0)
        score[[candidates.index(p) for p in picked]] = -np.inf
        best = int(np.argmax(score))
        picked.append(candidates[best])
        max_sim = np.maximum(max_sim, cand_z @ cand_z[best])
    return picked


# --- the method ----------------------------------------------------------------------------


def _validate(k: int | None, k_min: int, k_max: int, seed: int) -> None:
    """Raise ``ValueError`` with a clear message for impossible parameters."""
    if not isinstance(seed, int):
        raise ValueError("seed must be an integer")
    if k is not None and (not isinstance(k, int) or k < 1):
        raise ValueError(f"k must be a positive integer, not {k!r}")
    if k_min < 1 or k_max < 1:
        raise ValueError("k_min and k_max must be at least 1")
    if k_min > k_max:
        raise ValueError(f"k_min ({k_min}) must not exceed k_max ({k_max})")


def _empty_theme(theme_id: str, label: str) -> Theme:
    """Return a theme with no answers (used for an empty other group)."""
    return Theme(theme_id, label, (), 0, (), (), (), MappingProxyType({}), None)


def find_themes(
    answers: Iterable[Answer],
    *,
    k: int | None = None,
    k_min: int = 2,
    k_max: int = 20,
    seed: int = 0,
    names: Sequence[str] = (),
    vocabulary: Iterable[str] = (),
) -> ThemeSet:
    """Find draft themes in ``answers``; ``k`` fixes the number, else it is chosen in ``[k_min, k_max]``."""
    _validate(k, k_min, k_max, seed)
    items = _checked_answers(answers)

    redaction = textmod.Redaction(tuple(names), frozenset(vocabulary))
    redacted, analysed, langs, contentless_rows, content_rows = _analysis_rows(items, redaction)
    answer_langs = Counter(textmod._base_language(a.language) for a in items)
    assignment: dict[AnswerId, str] = {items[r].id: CONTENTLESS_ID for r in contentless_rows}
    texts = MappingProxyType({a.id: redacted[i] for i, a in enumerate(items)})
    used_translation = any(a.translation is not None for a in items)

    uniq_rows, member_of, weights = _merge_identical(content_rows, langs, analysed)
    n_u = len(uniq_rows)

    if n_u == 0:
        return ThemeSet(
            themes=(),
            other=_empty_theme(OTHER_ID, messages.OTHER_LABEL),
            contentless=tuple(items[r].id for r in contentless_rows),
            assignment=MappingProxyType(assignment),
            k_chosen=0,
            method=_method_note(0, k, k_min, k_max, seed, used_translation, False),
            seed=seed,
            texts=texts,
            k_scores=MappingProxyType({}),
            languages=MappingProxyType(dict(answer_langs)),
        )

    n_content = len(content_rows)
    z, uniq_langs, vocab, occ_ids, centred, big_langs = _embedding(uniq_rows, analysed, langs, content_rows, weights, seed)

    labels, k_scores = _clusters(z, weights, uniq_langs, big_langs, centred, k=k, k_min=k_min, k_max=k_max,
                                 n_content=n_content, seed=seed)

    sims, unclear, order = _typical_and_unclear(z, labels, weights)

    df_all = _weighted_document_frequencies(occ_ids, weights, vocab)
    members_by_uniq: dict[int, list[int]] = defaultdict(list)
    for row, u in zip(content_rows, member_of):
        members_by_uniq[u].append(row)

    def build(theme_id: str, uniq: np.ndarray, label: str | None) -> Theme:
        """Build one theme from the distinct answers ``uniq`` (indices into the unique arrays)."""
        ranked = sorted(uniq.tolist(), key=lambda u: (-sims[u], uniq_rows[u]))
        answer_rows = [row for u in ranked for row in members_by_uniq[u]]
        terms = _label_terms(
            ranked, occ_ids, weights, df_all, vocab, n_content, max(len(order), 1),
            occurrences=lambda u: _term_occurrences(analysed[uniq_rows[u]], langs[uniq_rows[u]]),
        )
        picked = _pick_quotes(ranked, sims, z, [redacted[uniq_rows[u]] for u in range(n_u)])
        quote_rows = [uniq_rows[u] for u in picked]
        lang_counts = Counter(textmod._base_language(items[r].language) for r in answer_rows)
        single = next(iter(lang_counts)) if len(lang_counts) == 1 and len(answer_langs) > 1 else None
        return Theme(
            id=theme_id,
            label=label or _make_label(terms),
            top_terms=tuple(terms),
            size=len(answer_rows),
            answer_ids=tuple(items[r].id for r in answer_rows),
            quotes=tuple(items[r].id for r in quote_rows),
            quote_texts=tuple(redacted[r] for r in quote_rows),
            languages=MappingProxyType(dict(lang_counts.most_common())),
            single_language=single,
        )

    themes: list[Theme] = []
    for position, c in enumerate(order, start=1):
        theme = build(f"t{position}", np.flatnonzero((labels == c) & ~unclear), None)
        themes.append(theme)
        for aid in theme.answer_ids:
            assignment[aid] = theme.id
    other_uniq = np.flatnonzero(unclear)
    other = build(OTHER_ID, other_uniq, messages.OTHER_LABEL) if len(other_uniq) else _empty_theme(OTHER_ID, messages.OTHER_LABEL)
    for aid in other.answer_ids:
        assignment[aid] = OTHER_ID
    # Keep the input order in the mapping, which CSV writers and tests rely on.
    ordered = {a.id: assignment[a.id] for a in items}
    return ThemeSet(
        themes=tuple(themes),
        other=other,
        contentless=tuple(items[r].id for r in contentless_rows),
        assignment=MappingProxyType(ordered),
        k_chosen=len(themes),
        method=_method_note(len(themes), k, k_min, k_max, seed, used_translation, centred, int(k_scores.get("themes_split_by_language", 0))),
        seed=seed,
        texts=texts,
        k_scores=MappingProxyType(k_scores),
        languages=MappingProxyType(dict(answer_langs)),
    )


def _weighted_document_frequencies(occ_ids: list[np.ndarray], weights: np.ndarray, vocab) -> np.ndarray:
    """Return each term's document frequency over the distinct answers, each weighted by its repeats."""
    lengths = np.array([len(o) for o in occ_ids], dtype=np.int64)
    all_ids = np.concatenate(occ_ids) if len(occ_ids) else np.zeros(0, np.int64)
    return np.bincount(all_ids, weights=np.repeat(weights, lengths), minlength=len(vocab.keys)) if len(all_ids) else np.zeros(len(vocab.keys))


def _checked_answers(answers: Iterable[Answer]) -> list[Answer]:
    """Refuse repeated ids and answers without text; guess the language of answers that name none."""
    items = list(answers)
    ids = [a.id for a in items]
    if len(set(ids)) != len(ids):
        dupes = sorted({str(i) for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"answer ids must be unique; repeated: {', '.join(dupes)}")
    for a in items:
        if not isinstance(a.text, str):
            raise ValueError(f"answer {a.id!r} has no text (got {type(a.text).__name__})")
    unknown = [row for row, a in enumerate(items) if not (a.language or "").strip()]
    if unknown:
        # Nobody said which language these are in: guess from the text, offline.
        from analysis.languages import detect_languages  # noqa: PLC0415 - loads a model, only when needed

        for row, code in zip(unknown, detect_languages([items[row].text for row in unknown])):
            items[row] = replace(items[row], language=code)
    return items


def _analysis_rows(items: list[Answer], redaction) -> tuple[list[str], list[str], list[str], list[int], list[int]]:
    """Redact every answer and choose what is analysed (its translation, if any) and in which language.

    Returns the redacted texts, the analysed texts, their languages, and the rows without and with content.
    """
    redacted = [redaction(a.text) for a in items]
    analysed: list[str] = []
    langs: list[str] = []
    contentless_rows: list[int] = []
    content_rows: list[int] = []
    for row, a in enumerate(items):
        translated = a.translation is not None and not textmod.is_contentless(a.translation)
        source = redaction(a.translation) if translated else redacted[row]
        analysed.append(source)
        langs.append(PIVOT_LANGUAGE if translated else textmod._base_language(a.language))
        if textmod.is_contentless(source, langs[-1]):
            contentless_rows.append(row)
        else:
            content_rows.append(row)
    return redacted, analysed, langs, contentless_rows, content_rows


def _merge_identical(content_rows: list[int], langs: list[str], analysed: list[str]) -> tuple[list[int], list[int], np.ndarray]:
    """Merge identical analysis texts (same language); return the distinct rows, each row's distinct index, and weights."""
    # Merge identical analysis texts (same language): their features are identical, and
    # feedback repeats itself ("Nothing", "All good") far more than prose does.
    key_of: dict[tuple[str, str], int] = {}
    uniq_rows: list[int] = []
    member_of: list[int] = []
    for row in content_rows:
        key = (langs[row], textmod.analysis_text(analysed[row]))
        if key not in key_of:
            key_of[key] = len(uniq_rows)
            uniq_rows.append(row)
        member_of.append(key_of[key])
    n_u = len(uniq_rows)
    weights = np.bincount(np.array(member_of, dtype=np.int64), minlength=n_u).astype(np.float64) if n_u else np.zeros(0)
    return uniq_rows, member_of, weights


def _embedding(uniq_rows: list[int], analysed: list[str], langs: list[str], content_rows: list[int],
               weights: np.ndarray, seed: int):
    """Embed the distinct answers (characters, words, WordLlama), centring languages when several are large.

    Returns the combined vectors, the answers' languages, the term index and occurrences, whether
    languages were centred, and the large languages.
    """
    n_u = len(uniq_rows)
    uniq_texts = [textmod.analysis_text(analysed[r]) for r in uniq_rows]
    uniq_langs = np.array([langs[r] for r in uniq_rows])
    vocab = _TermIndex()
    occ_ids: list[np.ndarray] = []
    term_docs: list[str] = []
    for r in uniq_rows:
        occ = _term_occurrences(analysed[r], langs[r])
        occ_ids.append(vocab.add(occ))
        term_docs.append(" ".join(key for key, _ in occ if " " not in key))

    blocks, block_names = _features(uniq_texts, term_docs, seed)
    lang_weight = Counter()
    for row in content_rows:
        lang_weight[langs[row]] += 1
    n_content = len(content_rows)
    big_langs = [lang for lang, c in lang_weight.items() if c >= max(20, 0.05 * n_content)]
    centred = len(big_langs) >= 2
    if centred:
        blocks = [_center_languages(b, uniq_langs, weights, big_langs) for b in blocks]
    if "wordllama" in block_names:
        # WordLlama is distilled for English; elsewhere it is weaker than characters and words,
        # so its say is reduced for answers analysed in another language.
        scale = np.where(uniq_langs == "en", _WORDLLAMA_ENGLISH, _WORDLLAMA_OTHER_LANGUAGES).astype(np.float32)
        position = block_names.index("wordllama")
        blocks[position] = blocks[position] * scale[:, None]
    z = _combine(blocks, weights, seed) if blocks else np.ones((n_u, 1), np.float64)
    return z, uniq_langs, vocab, occ_ids, centred, big_langs


def _clusters(z: np.ndarray, weights: np.ndarray, uniq_langs: np.ndarray, big_langs: list[str], centred: bool, *,
              k: int | None, k_min: int, k_max: int, n_content: int, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """Choose the number of themes (unless fixed) and cluster the distinct answers; return labels and k scores."""
    n_u = z.shape[0]
    # Number of themes: never more than distinct answers; chosen automatically with at least
    # three answers per theme on average, so that each can show three quotes.
    k_scores: dict[str, float] = {}
    if k is not None:
        k_final = min(k, n_u)
    else:
        hi = min(k_max, n_u - 1, max(1, n_content // 3))
        lo = min(k_min, hi)
        if hi <= 1:
            k_final = 1 if n_u == 1 or n_content < 2 * max(k_min, 2) else min(k_min, n_u)
        elif lo == hi:
            k_final = lo
        else:
            k_final, k_scores = _choose_k(z, weights, max(lo, 2), hi, seed)
    if k_final <= 1:
        labels = np.zeros(n_u, dtype=np.int64)
    else:
        km = KMeans(n_clusters=k_final, n_init=_N_INIT, random_state=seed)
        with _quiet_kmeans():
            labels = km.fit_predict(z, sample_weight=weights)
    if centred and k is None:
        labels, split_count = _split_unrelated_languages(z, labels, uniq_langs, weights, big_langs, k_max)
        if split_count:
            k_scores["themes_split_by_language"] = float(split_count)
    return labels, k_scores


def _typical_and_unclear(z: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Score each answer's typicality, mark the much less typical as unclear, and order clusters by size."""
    n_u = z.shape[0]
    # Typicality: cosine similarity to the (weighted) centroid of the answer's cluster.
    n_clusters = int(labels.max()) + 1
    centroids = np.zeros((n_clusters, z.shape[1]), dtype=np.float32)
    for c in range(n_clusters):
        rows = labels == c
        centroids[c] = (z[rows] * weights[rows][:, None]).sum(axis=0)
    centroids = l2_normalize(centroids)
    sims = np.einsum("ij,ij->i", z, centroids[labels])

    # "Other / unclear": answers much less typical than the rest of their cluster.
    unclear = np.zeros(n_u, dtype=bool)
    for c in range(n_clusters):
        rows = np.flatnonzero(labels == c)
        w = weights[rows]
        if w.sum() < 8:
            continue
        mean = float(np.average(sims[rows], weights=w))
        std = float(math.sqrt(np.average((sims[rows] - mean) ** 2, weights=w)))
        unclear[rows[sims[rows] < mean - _OTHER_Z * std]] = True

    # Theme ids by size, largest first; ties broken by first appearance for determinism.
    sizes = np.bincount(labels[~unclear], weights=weights[~unclear], minlength=n_clusters)
    first = [int(np.flatnonzero(labels == c)[0]) if (labels == c).any() else n_u for c in range(n_clusters)]
    order = sorted((c for c in range(n_clusters) if sizes[c] > 0), key=lambda c: (-sizes[c], first[c]))
    return sims, unclear, order


def _method_note(k_chosen: int, k: int | None, k_min: int, k_max: int, seed: int, translated: bool, centred: bool, split: int = 0) -> str:
    """Return the plain-language method note for a report (``split``: themes split by language)."""
    if k is None:
        # Splitting comes after k-means: the note counts the themes k-means made, then the splits.
        k_note = messages.METHOD_K_AUTO.format(k=k_chosen - split, k_min=k_min, k_max=k_max)
    elif k_chosen < k:
        # Fewer answers than themes asked for, or answers the engine cannot tell apart.
        k_note = messages.METHOD_K_FEWER.format(k=k, found=k_chosen)
    else:
        k_note = messages.METHOD_K_FIXED.format(k=k_chosen)
    return messages.METHOD_NOTE.format(
        translation_note=messages.METHOD_TRANSLATION_NOTE if translated else "",
        language_note=messages.METHOD_LANGUAGE_NOTE if centred else "",
        split_note=(messages.METHOD_SPLIT_NOTE_ONE if split == 1 else messages.METHOD_SPLIT_NOTE_MANY.format(n=split)) if split else "",
        k_note=k_note,
        seed=seed,
    )


def split_theme(
    theme_set: ThemeSet,
    answers: Iterable[Answer],
    theme_id: str,
    *,
    k: int = 2,
    seed: int | None = None,
    names: Sequence[str] = (),
    vocabulary: Iterable[str] = (),
) -> ThemeSet:
    """Re-cluster the answers of one theme into ``k`` sub-themes (a planner's "split")."""
    members = set(theme_set.theme(theme_id).answer_ids)
    subset = [a for a in answers if a.id in members]
    return find_themes(subset, k=k, seed=theme_set.seed if seed is None else seed, names=names,
                       vocabulary=vocabulary)
