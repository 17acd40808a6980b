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
is what is analysed; the original is what is quoted. Beyond ``_SAMPLE_ABOVE`` distinct answers
all of this is done on a seeded sample, every other answer joins the nearest theme (or "Other /
unclear" by the same rules), and descriptions are drawn from each theme's sampled members.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import os
import re
import threading
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp

from analysis import forking
from analysis import headline as headline_mod
from analysis import messages
from analysis import text as textmod
from analysis.claims import Claim, find_claims

# scikit-learn is imported where it is used: importing it takes most of a second, which every
# `chorus` command (and the web app, which imports this module's types) would otherwise pay.

__all__ = [
    "Anchor",
    "Answer",
    "Claim",
    "Theme",
    "ThemeSet",
    "find_themes",
    "split_theme",
    "OTHER_ID",
    "CONTENTLESS_ID",
    "PIVOT_LANGUAGE",
    "stored_answer",
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
# Beyond this many distinct answers outside the sample, a forked helper process projects every other chunk (the
# second core of a background run; the same numbers).
_HELPER_ABOVE = 40_000
# Beyond this many distinct answers, themes are found on a seeded sample of _SAMPLE_SIZE distinct
# answers (the most repeated ones, then a random draw in each language's proportion): vocabulary,
# LSA, choice of k, k-means, coherence, labels, headlines, quotes and claims come from the sample,
# and every other answer joins the theme whose centre is nearest (the same "Other / unclear" rules).
_SAMPLE_ABOVE = 25_000
_SAMPLE_SIZE = 20_000
_SAMPLE_REPEATED = 0.25  # at most this share of the sample is taken by the most repeated answers first
_SAMPLE_PER_ANCHOR = 500  # distinct answers of each reviewed theme always in the sample
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
_UBIQUITOUS = 0.75  # a word in at least this share of answers is set aside (the place nearly every answer names)
_UBIQUITOUS_MIN_ANSWERS = 30  # ... when there are enough answers to say so
# Never set aside, even when every answer or the question uses them: what feedback is made of.
_NEVER_SURFACE_WORDS = "not no nothing none never nobody nada nunca nadie ningún rien jamais personne aucun"
_WEAK_QUANTILE = 0.05  # answers among the least typical 5%, ...
_TORN_MARGIN = 0.02  # ... and as close to another theme as to their own, are unclear
_MIXED_RELATIVE = 0.8  # a theme less coherent than 80% of the set's typical coherence is "mixed"
_DISSOLVE_RELATIVE = 0.55  # below 55% it is not a theme: its answers go to "Other / unclear"
_SECOND_MIN_WORDS = 8  # answers shorter than this raise one thing
_SECOND_GAP = 0.08  # a second theme nearly as close as the first
_SUB_MIN_ANSWERS = 12  # themes with fewer answers have no sub-themes
_SUB_MAX = 6
_SUB_MERGE_DISTANCE = 0.6  # sub-themes' centres closer than this are one sub-theme
_CLAIM_POOL = 400  # most typical answers read for claims
_JOIN_RELATIVE = 0.5  # a new answer this similar to a reviewed theme's centre, relative to its members' mean, joins it
# Share of the answer-length direction removed from the representation. 0: off. Removing it all
# cost 0.03-0.04 NMI on mtod-en and 0.01 on nhs9, half of it about the same (docs/themes.md).
_LENGTH_SHRINK = 0.0


@dataclass(frozen=True)
class Answer:
    """One answer to one prompt: its text, language, optional translation and segments.

    ``language`` is a language tag ("es", "es-MX"); an empty one means nobody said, and the
    language is then detected from the text (:func:`analysis.languages.detect_languages`).
    ``quotable`` is False when the person did not allow quoting: the answer still counts in its
    theme, but its words never become a headline, a claim's wording or a quote.
    ``translation_language`` is the language the translation is in (a session's main language;
    pooled answers of several sessions may differ); None means :data:`PIVOT_LANGUAGE`.
    """

    id: AnswerId
    text: str
    language: str | None = "en"
    translation: str | None = None
    segments: Mapping[str, str] = field(default_factory=dict, hash=False)
    quotable: bool = True
    translation_language: str | None = None


def stored_answer(row: Mapping, *, quotable: bool, segments: Mapping[str, str] | None = None) -> Answer:
    """Return an :class:`Answer` from a stored answer (a mapping with ``id``, ``text``, ``language`` and, when a
    person translated it, ``translation`` and ``translation_language``).

    Every theme run of the app builds its answers here (a session's, a split, a live draft, a campaign's
    pooled run), so a staff translation is analysed wherever the original would be, in its own language.
    """
    translation = row.get("translation") or None
    return Answer(id=row["id"], text=row["text"], language=row.get("language"), translation=translation,
                  translation_language=(row.get("translation_language") or None) if translation else None,
                  segments=dict(segments) if segments else _NO_SEGMENTS, quotable=quotable)


# The segments of an answer stored without any (a theme run's: the engine never reads them): one empty mapping for all.
_NO_SEGMENTS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Anchor:
    """A theme people reviewed: re-runs keep its answers and label, and new answers may join it."""

    id: str
    label: str
    answer_ids: tuple[AnswerId, ...]


@dataclass(frozen=True)
class Theme:
    """A draft theme: label, distinctive terms, members ranked by typicality, and quotes.

    ``label`` is the headline (or a reviewed theme's own label); ``headline`` is always the
    machine's extractive headline, in ``headline_language``; ``quote_excerpts`` are the quotes
    cut to the sentence that carries the point (``quote_texts`` stay whole); ``claims`` are short
    statements several people made, with counts; ``coherence`` is relative to the set's typical
    theme (1 is typical) and ``mixed`` asks for a review; ``parent`` is set on sub-themes;
    ``secondary_ids`` are answers that belong elsewhere but raise this theme too; ``reviewed``
    marks an anchor kept from people's review, ``overlaps`` the reviewed theme a new machine
    theme resembles; ``glossed`` counts answers grouped with a machine gloss.
    """

    id: str
    label: str
    top_terms: tuple[str, ...]
    size: int
    answer_ids: tuple[AnswerId, ...]
    quotes: tuple[AnswerId, ...]
    quote_texts: tuple[str, ...]
    languages: Mapping[str, int]
    single_language: str | None
    headline: str = ""
    headline_language: str | None = None
    headline_from_translation: bool = False
    quote_excerpts: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()
    coherence: float = 1.0
    mixed: bool = False
    parent: str | None = None
    subthemes: tuple[str, ...] = ()
    secondary_ids: tuple[AnswerId, ...] = ()
    reviewed: bool = False
    overlaps: str | None = None
    glossed: int = 0

    @property
    def status_note(self) -> str:
        """Return what a planner should know before trusting this theme ("" when nothing)."""
        notes = []
        if self.mixed:
            notes.append(messages.MIXED_NOTE)
        if self.overlaps:
            notes.append(messages.OVERLAP_NOTE.format(theme=self.overlaps))
        if self.headline_from_translation:
            notes.append(messages.HEADLINE_TRANSLATED_NOTE)
        return " ".join(notes)

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
    subthemes: tuple[Theme, ...] = ()
    sub_assignment: Mapping[AnswerId, str] = field(default_factory=lambda: MappingProxyType({}))
    secondary: Mapping[AnswerId, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    glosses: Mapping[AnswerId, str] = field(default_factory=lambda: MappingProxyType({}))
    main_language: str = "en"

    def theme(self, theme_id: str) -> Theme:
        """Return the theme (or the other group) with this id; raise ``KeyError`` if unknown."""
        if theme_id == self.other.id:
            return self.other
        for theme in (*self.themes, *self.subthemes):
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def label_of(self, theme_id: str) -> str:
        """Return the label of a theme id, including the other and contentless groups."""
        if theme_id == CONTENTLESS_ID:
            return messages.CONTENTLESS_LABEL
        return self.theme(theme_id).label


# --- model loading -------------------------------------------------------------------------


_WORDLLAMA_LOCK = threading.Lock()


def _wordllama():  # type: ignore[no-untyped-def]
    """Return WordLlama, loaded once; thread-safe (``chorus themes`` loads it in a second thread while it reads the CSV)."""
    with _WORDLLAMA_LOCK:
        return _load_wordllama()


@functools.cache
def _load_wordllama():  # type: ignore[no-untyped-def]
    """Load WordLlama from the weights inside its own package, never from the network."""
    try:
        import wordllama  # noqa: PLC0415 - heavy import, only when themes are computed

        return wordllama.WordLlama.load(
            cache_dir=os.path.dirname(wordllama.__file__), disable_download=True
        )
    except Exception as exc:  # the engine still works on characters and words alone
        log.warning("WordLlama unavailable, themes use characters and words only: %s", exc)
        return None


# WordLlama's default model (``WordLlama.load()``: config l2_supercat, 256 dimensions), as its package ships it.
_WORDLLAMA_FILES = ("weights/l2_supercat_256.safetensors", "tokenizers/l2_supercat_tokenizer_config.json")


@dataclass(frozen=True)
class _Embedder:
    """What the engine reads of WordLlama (:func:`_embed`): its tokenizer and its token embedding matrix."""

    tokenizer: object
    embedding: np.ndarray


def _embedder():  # type: ignore[no-untyped-def]
    """Return WordLlama's tokenizer and embeddings, loaded once; thread-safe; ``None`` without them.

    Read from the files inside WordLlama's package as ``WordLlama.load()`` reads them (the same
    tokenizer file, the same weights as float32, padding on and truncation off), without importing
    the package itself (pydantic, its trainers and algorithms: 0.3 s of ``chorus themes``'s start).
    The full model when something else loaded it already, or when the files are not where it keeps them.
    """
    with _WORDLLAMA_LOCK:
        if _load_wordllama.cache_info().currsize:
            return _load_wordllama()
        return _load_embedder()


@functools.cache
def _load_embedder():  # type: ignore[no-untyped-def]
    """Load WordLlama's tokenizer and weights from its package's files, or else the full model (:func:`_load_wordllama`)."""
    import importlib.util  # noqa: PLC0415

    try:
        spec = importlib.util.find_spec("wordllama")  # finds the package without running it
        root = os.path.dirname(spec.origin) if spec is not None and spec.origin else None
        weights, vocabulary = (os.path.join(root, name) for name in _WORDLLAMA_FILES) if root else (None, None)
        if weights is None or not (os.path.exists(weights) and os.path.exists(vocabulary)):
            return _load_wordllama()
        from safetensors import safe_open  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        tokenizer = Tokenizer.from_file(vocabulary)
        with safe_open(weights, framework="np", device="cpu") as handle:
            embedding = handle.get_tensor("embedding.weight")
        tokenizer.enable_padding()  # as WordLlamaInference sets them
        tokenizer.no_truncation()
        return _Embedder(tokenizer, np.ascontiguousarray(embedding.astype(np.float32)))
    except Exception:  # noqa: BLE001 - the full loader tries, and says why it cannot
        return _load_wordllama()


@functools.cache
def _malloc_trim():  # type: ignore[no-untyped-def]
    """Return glibc's ``malloc_trim``, or ``None`` where the C library has none (macOS, musl)."""
    try:
        import ctypes  # noqa: PLC0415

        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def _give_back() -> None:
    """Hand the memory the run freed back to the system (glibc's ``malloc_trim``), between the engine's phases.

    glibc keeps what a process frees for its next allocations: a large run's phases each free tens to hundreds of
    megabytes (the answers' preparation, the sample's fit, the projection's chunks) that the process then kept
    resident to its end, and every child forked after them started with them resident too (issue 19). A few
    milliseconds; nothing computed changes. A no-op without glibc.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


# --- features ------------------------------------------------------------------------------


def _l2(matrix: np.ndarray, copy: bool = True) -> np.ndarray:
    """Return the rows of ``matrix`` scaled to unit length (zero rows stay zero)."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1.0
    out = matrix if not copy else matrix.copy()
    out /= norms[:, None].astype(out.dtype)
    return out


def _kmeans_class() -> type:
    """Return scikit-learn's KMeans, imported from its own module.

    ``from sklearn.cluster import KMeans`` loads every clustering method first, and with them
    sklearn.metrics and scipy.stats (0.7 s of CPU), which ``chorus themes`` can then leave unloaded
    (``analysis.cli.defer_unused_imports``); elsewhere the package loads as before. Same class.
    """
    try:
        from sklearn.cluster._kmeans import KMeans  # noqa: PLC0415
    except ImportError:  # a scikit-learn that moved it
        from sklearn.cluster import KMeans  # noqa: PLC0415
    return KMeans


def _truncated_svd_class() -> type:
    """Return scikit-learn's TruncatedSVD, imported from its own module (see :func:`_kmeans_class`)."""
    try:
        from sklearn.decomposition._truncated_svd import TruncatedSVD  # noqa: PLC0415
    except ImportError:  # a scikit-learn that moved it
        from sklearn.decomposition import TruncatedSVD  # noqa: PLC0415
    return TruncatedSVD


def _reduce(matrix: sp.spmatrix, dims: int, seed: int) -> np.ndarray:
    """Return L2-normalised LSA coordinates of a sparse TF-IDF matrix (dense if tiny)."""
    n_docs, n_feats = matrix.shape
    comps = min(dims, n_docs - 1, n_feats - 1)
    if comps < 8:
        # Too few answers or features for LSA to mean anything: use the TF-IDF itself.
        dense = matrix[:, : min(n_feats, 4096)].toarray()
        return _l2(dense.astype(np.float32))
    TruncatedSVD = _truncated_svd_class()  # noqa: N806

    # Few power iterations and a capped vocabulary keep LSA to seconds on 100,000 answers.
    svd = TruncatedSVD(n_components=comps, random_state=seed, algorithm="randomized", n_iter=_SVD_ITER)
    return _l2(svd.fit_transform(matrix).astype(np.float32), copy=False)


_WORD_GRAM_CACHE = 300_000  # distinct words whose n-grams are kept while counting (then the cache starts again)
_WORD_GRAM_BLOCK = 2_000  # answers counted into one sparse block at a time
_WORD_GRAM_COLUMNS = 2**31 - 1  # column space while counting: ids are only known to be below the vocabulary's final size


# The character block's n-gram lengths, and each word's n-grams of those lengths made ahead of a run
# (:func:`grams_ahead`: `chorus themes`, while a child detects the languages); emptied when the run ends.
_CHAR_GRAMS = (2, 5)
_GRAMS_AHEAD: dict[str, list[str]] = {}


def _grams(word: str, lo: int, hi: int) -> list[str]:
    """Return one word's character n-grams, as scikit-learn's ``char_wb`` analyzer makes them.

    The word is padded with a space each side; for each length, every window, and a word shorter
    than a length gives one (padded) n-gram and no longer ones.
    """
    padded = " " + word + " "
    size = len(padded)
    grams: list[str] = []
    for n in range(lo, hi + 1):
        if size <= n:  # one (padded) n-gram of this length, and none longer
            grams.append(padded)
            break
        grams += [padded[offset : offset + n] for offset in range(size - n + 1)]
    return grams


def grams_ahead(texts: Iterable[str], stop: Callable[[], bool]) -> None:
    """Make the character block's n-grams of every word of ``texts`` (as quoted: redacted) ahead of a run, until ``stop()``.

    The words are those the character block reads (each text's analysis text, clipped, accents folded,
    lower-cased); a word's n-grams are the same whenever they are made, so the block is the same.
    """
    for number, text in enumerate(texts):
        if number % 200 == 0 and stop():
            return
        clipped = textmod.analysis_text(text)[:_CHAR_LIMIT]
        for word in (textmod.fold_accents(clipped) if _FOLD else clipped).lower().split():
            if word not in _GRAMS_AHEAD:
                _GRAMS_AHEAD[word] = _grams(word, *_CHAR_GRAMS)


def _word_grams(word: str, vocabulary: dict, lo: int, hi: int, fixed: bool) -> np.ndarray:
    """Return the feature ids of one word's character n-grams (:func:`_grams`, or those made ahead).

    With a ``fixed`` vocabulary unknown n-grams are skipped; otherwise each new n-gram gets the next
    id, as in ``_count_vocab``.
    """
    grams = _GRAMS_AHEAD.get(word) if (lo, hi) == _CHAR_GRAMS else None
    if grams is None:
        grams = _grams(word, lo, hi)
    if fixed:
        return np.array([i for i in map(vocabulary.get, grams) if i is not None], dtype=np.int64)
    return np.array(list(map(vocabulary.__getitem__, grams)), dtype=np.int64)


def _char_ids(doc: str, cache: dict[str, np.ndarray], vocabulary: dict, lo: int, hi: int, fixed: bool) -> list[np.ndarray]:
    """Return the ``char_wb`` n-gram ids of each word of one answer; ``cache`` keeps each word's (made once, in word order)."""
    words = doc.lower().split()
    found = list(map(cache.get, words))
    for position, ids in enumerate(found):
        if ids is None:  # a word not seen yet (or since the cache started again)
            word = words[position]
            ids = cache.get(word)
            if ids is None:
                if len(cache) >= _WORD_GRAM_CACHE:
                    cache.clear()
                ids = cache[word] = _word_grams(word, vocabulary, lo, hi, fixed)
            found[position] = ids
    return found


def _word_ids(doc: str, vocabulary: dict, lo: int, hi: int, fixed: bool) -> list[np.ndarray]:
    """Return the word n-gram ids of one answer (as one array in a list), for the word block's ``token_pattern=r"\\S+"``.

    ``\\S+`` finds what str.split() finds (both split on Py_UNICODE_ISSPACE); the n-grams are scikit-learn's
    ``_word_ngrams``, their ids looked up at C speed (new ones numbered in order, as ``_count_vocab`` does).
    """
    features = _word_ngrams(doc.lower().split(), lo, hi)
    if fixed:
        return [np.array([i for i in map(vocabulary.get, features) if i is not None], dtype=np.int64)]
    return [np.array(list(map(vocabulary.__getitem__, features)), dtype=np.int64)]


def _word_ngrams(tokens: list[str], lo: int, hi: int) -> list[str]:
    """Return a document's word n-grams as scikit-learn's ``_word_ngrams`` makes them (no stop words): the
    tokens themselves when ``lo`` is 1, then each longer length's windows joined by a space, in order."""
    if hi == 1:
        return tokens
    grams = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), min(hi + 1, len(tokens) + 1)):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


@functools.cache
def _vectorizer_class():  # type: ignore[no-untyped-def]
    """Return scikit-learn's TfidfVectorizer, counting ``char_wb`` n-grams a distinct word at a time.

    scikit-learn reads every n-gram of every word of every answer through a Python loop (most of
    the character block's time: 17 of 63 s of CPU on 100,000 answers). Words repeat, so each
    distinct word's n-gram ids are found once and an answer's counts are its words' ids counted;
    the matrix is the same, entry for entry (a test compares them), and the rest is scikit-learn's.
    """
    import sklearn  # noqa: PLC0415
    from sklearn.feature_extraction import text as sk_text  # noqa: PLC0415

    align = getattr(sk_text, "_align_api_if_sparse", None)
    # On the scikit-learn these were written against (1.9; ``_limit_features`` returns the matrix
    # alone, older ones also returned the removed terms), sorting and limiting the vocabulary
    # (500,000 n-grams on 10,000 answers) skip the parent's Python loop per feature. The same
    # vocabulary, order and matrix, entry for entry (a test compares); older versions use the parent's.
    fast_vocabulary = tuple(int(part) for part in sklearn.__version__.split(".")[:2] if part.isdigit()) >= (1, 9)

    class CharVectorizer(sk_text.TfidfVectorizer):
        """TfidfVectorizer whose ``char_wb`` counting reads each distinct word once, and whose word counting maps ids at C speed."""

        def _count_vocab(self, raw_documents, fixed_vocab):  # type: ignore[no-untyped-def]
            """Return the vocabulary and the count matrix, as the parent's but faster for ``char_wb`` and whitespace-split words."""
            words_split = (self.analyzer == "word" and self.token_pattern == r"\S+" and self.tokenizer is None
                           and self.stop_words is None)
            if ((self.analyzer != "char_wb" and not words_split) or self.preprocessor is not None or self.strip_accents is not None
                    or not self.lowercase or self.input != "content"):
                return super()._count_vocab(raw_documents, fixed_vocab)
            if fixed_vocab:
                vocabulary = self.vocabulary_
                # A fitted vectorizer transforms a large input chunk by chunk: each word's n-gram ids are
                # kept from one chunk to the next while the vocabulary is the same object (200,000 answers
                # read their words' n-grams once instead of once per chunk).
                kept = self.__dict__.get("_chorus_word_ids")
                if kept is None or kept[0] is not vocabulary:
                    kept = self.__dict__["_chorus_word_ids"] = (vocabulary, {})
                cache: dict[str, np.ndarray] = kept[1]
            else:
                vocabulary = defaultdict()
                vocabulary.default_factory = vocabulary.__len__
                cache = {}
            lo, hi = self.ngram_range
            blocks: list[sp.csr_matrix] = []
            parts: list[np.ndarray] = []
            lengths: list[int] = []

            def close_block() -> None:
                """Count the block's (answer, n-gram) pairs into a sparse matrix (duplicates summed, columns sorted)."""
                cols = np.concatenate(parts) if parts else np.zeros(0, np.int64)
                rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
                blocks.append(sp.coo_matrix((np.ones(len(cols), dtype=np.intc), (rows, cols)),
                                            shape=(len(lengths), _WORD_GRAM_COLUMNS)).tocsr())
                parts.clear()
                lengths.clear()

            for doc in raw_documents:
                found = (_word_ids(doc, vocabulary, lo, hi, fixed_vocab) if words_split
                         else _char_ids(doc, cache, vocabulary, lo, hi, fixed_vocab))
                parts += found
                lengths.append(sum(map(len, found)))
                if len(lengths) >= _WORD_GRAM_BLOCK:
                    close_block()
            if lengths or not blocks:
                close_block()
            counted = sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
            if not fixed_vocab:
                vocabulary = dict(vocabulary)
                if not vocabulary:
                    raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
            index_type = np.int64 if counted.nnz > np.iinfo(np.int32).max else np.int32
            make = sp.csr_array if align is not None else sp.csr_matrix
            matrix = make((counted.data.astype(np.intc), counted.indices.astype(index_type), counted.indptr.astype(index_type)),
                          shape=(counted.shape[0], len(vocabulary)), dtype=self.dtype)
            matrix.sort_indices()
            return vocabulary, (align(matrix) if align is not None else matrix)

        if fast_vocabulary:

            def _sort_features(self, X, vocabulary):  # type: ignore[no-untyped-def]  # noqa: N803
                """Renumber the features in name order, as the parent does, with no Python loop per feature."""
                return _sort_vocabulary(X, vocabulary)

            def _limit_features(self, X, vocabulary, high=None, low=None, limit=None):  # type: ignore[no-untyped-def]  # noqa: N803
                """Keep the features the parent keeps, numbered as it numbers them, with no Python loop per feature."""
                if high is None and low is None and limit is None:
                    return super()._limit_features(X, vocabulary, high, low, limit)
                return _limit_vocabulary(X, vocabulary, sk_text._document_frequency(X), high, low, limit)

    return CharVectorizer


def _sort_vocabulary(X, vocabulary: dict):  # type: ignore[no-untyped-def]  # noqa: N803
    """Renumber a count matrix's features in name order and change ``vocabulary`` in place, as scikit-learn's ``_sort_features``."""
    terms = sorted(vocabulary)
    old = np.fromiter(map(vocabulary.__getitem__, terms), dtype=np.int64, count=len(terms))
    map_index = np.empty(len(terms), dtype=X.indices.dtype)
    map_index[old] = np.arange(len(terms), dtype=X.indices.dtype)
    vocabulary.update(zip(terms, range(len(terms))))  # in place, keys in their order, as the parent
    X.indices = map_index.take(X.indices, mode="clip")
    return X


def _limit_vocabulary(X, vocabulary: dict, dfs: np.ndarray, high, low, limit):  # type: ignore[no-untyped-def]  # noqa: N803
    """Keep the features scikit-learn's ``_limit_features`` keeps (1.9), numbered and left in ``vocabulary`` as it leaves them."""
    mask = np.ones(len(dfs), dtype=bool)
    if high is not None:
        mask &= dfs <= high
    if low is not None:
        mask &= dfs >= low
    if limit is not None and mask.sum() > limit:
        tfs = np.asarray(X.sum(axis=0)).ravel()
        mask_inds = (-tfs[mask]).argsort()[:limit]
        new_mask = np.zeros(len(dfs), dtype=bool)
        new_mask[np.where(mask)[0][mask_inds]] = True
        mask = new_mask
    new_indices = np.cumsum(mask) - 1  # maps old indices to new
    terms = list(vocabulary)
    old = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
    kept = mask[old]
    vocabulary.clear()  # the kept terms, in their order, with numpy integers, as the parent leaves them
    vocabulary.update(zip(itertools.compress(terms, kept.tolist()), new_indices[old[kept]]))
    kept_indices = np.where(mask)[0]
    if len(kept_indices) == 0:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return X[:, kept_indices]


def _tfidf(docs: Sequence[str], **kwargs: object) -> sp.spmatrix | None:
    """Return a TF-IDF matrix, retrying with ``min_df=1`` on small input; ``None`` if empty."""
    TfidfVectorizer = _vectorizer_class()  # noqa: N806

    for min_df in (2, 1):
        try:
            vec = TfidfVectorizer(min_df=min_df, sublinear_tf=True, dtype=np.float32, **kwargs)
            matrix = vec.fit_transform(docs)
        except ValueError:  # empty vocabulary
            continue
        if matrix.shape[1] >= 2 or min_df == 1:
            return matrix
    return None


def _lsa_block(docs: Sequence[str], dims: int, seed: int, fit_rows: np.ndarray | None = None, **kwargs: object) -> np.ndarray | None:
    """Return LSA coordinates of TF-IDF vectors; on large input, fit on a sample, project in chunks.

    Up to ``_FIT_SAMPLE`` answers everything is fitted at once. Beyond, the vocabulary, IDF
    and LSA axes are learnt from a seeded sample and every answer is projected chunk by chunk,
    so that memory stays bounded (the full n-gram matrix of 100,000 answers needs gigabytes).
    ``fit_rows`` (sorted) gives the rows to fit on instead: the engine's own sample on large input.
    """
    if fit_rows is None and len(docs) <= _FIT_SAMPLE:
        matrix = _tfidf(docs, **kwargs)
        return None if matrix is None else _reduce(matrix, dims, seed)
    if fit_rows is None:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(len(docs), size=_FIT_SAMPLE, replace=False))
    else:
        sample = np.asarray(fit_rows)
    fit = _fit_vectorizer_and_axes([docs[i] for i in sample], dims, seed, **kwargs)
    if fit is None:
        return None
    vec, svd, fitted = fit
    out = np.empty((len(docs), svd.n_components), dtype=np.float32)
    out[sample] = svd.transform(fitted)
    del fitted, fit
    rest = np.setdiff1d(np.arange(len(docs)), sample)
    for start in range(0, len(rest), _CHUNK):
        rows = rest[start : start + _CHUNK]
        out[rows] = svd.transform(vec.transform([docs[i] for i in rows]))
    return _l2(out, copy=False)


def _char_block(texts: Sequence[str], seed: int, fit_rows: np.ndarray | None = None) -> np.ndarray | None:
    """Return the character block of distinct analysis texts (``None`` when there is none)."""
    # Accents are folded for the character block: messy answers often drop them ("recuerdame").
    # The character block reads the first _CHAR_LIMIT characters: long answers are still seen
    # whole by the other blocks, and this bounds memory on 100,000 answers.
    clipped = [t[:_CHAR_LIMIT] for t in texts]
    char_docs = [textmod.fold_accents(t) for t in clipped] if _FOLD else clipped
    return _lsa_block(char_docs, _CHAR_DIMS, seed, fit_rows, analyzer="char_wb", ngram_range=_CHAR_GRAMS, max_features=_MAX_FEATURES)


def _features(texts: Sequence[str], term_docs: Sequence[str], seed: int, *, embed_texts: Sequence[str] | None = None,
              fit_rows: np.ndarray | None = None, chars: forking.Pending | None = None,
              meanwhile: Callable[[Callable[[], bool]], None] | None = None) -> tuple[list[np.ndarray], list[str]]:
    """Return the normalised feature blocks for distinct analysis texts, and their names.

    ``embed_texts`` (default ``texts``) are what WordLlama reads: an English gloss where one was made;
    ``fit_rows`` are the texts the LSA blocks are fitted on (default: all, or a sample on large input);
    ``chars``, when given, is the character block of these ``texts`` already started (:func:`_early_char_block`),
    and ``meanwhile(ready)`` is called when the other blocks are made and the child's is not yet there
    (work done ahead, which stops once ``ready()`` says the block has come).
    """

    def others() -> tuple[np.ndarray | None, np.ndarray | None]:
        """Return the WordLlama block and the word block (``None`` where there is none)."""
        model = _embedder()
        embedded = _embed(model, texts if embed_texts is None else embed_texts) if model is not None else None
        words = _lsa_block(term_docs, _WORD_DIMS, seed, fit_rows, token_pattern=r"\S+", ngram_range=(1, 2), max_features=_MAX_FEATURES)
        return embedded, words

    # Up to _FIT_SAMPLE texts, the WordLlama and word blocks are made in a second thread while this one
    # makes the character block: each block is its own computation (the same numbers either way), and
    # their sparse products, SVDs and tokenizing run without the GIL, so two cores shorten the wait.
    # Larger input keeps one block at a time, which bounds the memory of a long background run.
    if chars is not None:  # the character block is being made in a forked child: the other two here meanwhile
        embedded, words = others()
        if meanwhile is not None and not chars.ready():
            meanwhile(chars.ready)
        return _named_blocks(chars.result(), embedded, words)
    beside = fit_rows is None and len(texts) <= _FIT_SAMPLE
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chorus-blocks") if beside else None
    try:
        pending = pool.submit(others) if pool is not None else None
        char_block = _char_block(texts, seed, fit_rows)
        embedded, words = pending.result() if pending is not None else others()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return _named_blocks(char_block, embedded, words)


def _named_blocks(chars: np.ndarray | None, embedded: np.ndarray | None, words: np.ndarray | None) -> tuple[list[np.ndarray], list[str]]:
    """Return the blocks there are (characters, WordLlama, words, in that order) and their names."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    if chars is not None:
        blocks.append(chars)
        names.append("characters")
    if embedded is not None:
        blocks.append(embedded)
        names.append("wordllama")
    if words is not None:
        blocks.append(words)
        names.append("words")
    return blocks, names


def _without_word_cache(tokenizer) -> None:  # type: ignore[no-untyped-def]
    """Turn off the tokenizer's cache of each word's tokens (a BPE model's), which keeps its memory to the process's end.

    At 200,000 answers the cache held 65 MB (one thread) to 125 MB (the tokenizer's threads) in each process that
    embeds (the run and its projection helper) and saved no time (60,000 answers' tokens: 3.3 s of CPU without it,
    3.9 s with it); a word's tokens are the same either way (a test compares). Left alone where the tokenizers
    package cannot resize it (issue 19, docs/scaling.md).
    """
    resize = getattr(getattr(tokenizer, "model", None), "_resize_cache", None)
    if resize is not None:
        try:
            resize(0)
        except Exception:  # noqa: BLE001 - only memory is at stake
            pass


def _embed(model, texts: Sequence[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Return L2-normalised mean WordLlama token embeddings, pooled with one sparse product."""
    # WordLlama's own embed() pads each batch to its longest answer; a sparse averaging matrix
    # does the same mean pooling in a fraction of the time and memory on long, uneven answers.
    tokenizer = model.tokenizer
    _without_word_cache(tokenizer)
    tokenizer.no_padding()
    ids: list[np.ndarray] = []
    try:
        # In chunks, keeping only token ids: Encoding objects hold strings and offsets too. tokenizers 0.20 and
        # later can skip the offsets (the same ids; 10-20% less time).
        encode = getattr(tokenizer, "encode_batch_fast", None) or tokenizer.encode_batch
        for start in range(0, len(texts), _CHUNK):
            encoded = encode(list(texts[start : start + _CHUNK]), add_special_tokens=False)
            ids += [np.asarray(e.ids, dtype=np.int32) for e in encoded]
    finally:
        tokenizer.enable_padding()
    vocab = model.embedding.shape[0]
    lengths = np.array([len(i) for i in ids], dtype=np.int64)
    cols = np.clip(np.concatenate(ids) if len(ids) else np.zeros(0, np.int64), 0, vocab - 1)
    rows = np.repeat(np.arange(len(ids)), lengths)
    vals = (1.0 / np.maximum(lengths, 1))[rows].astype(np.float32)
    pool = sp.csr_matrix((vals, (rows, cols)), shape=(len(ids), vocab))
    del ids, cols, rows, vals
    # Pooled a chunk of rows at a time into one matrix, cleaned and scaled in place: the whole product, its
    # cleaned copy, their NaN and infinity masks and the normalised copy were about 1 GB at 200,000 answers.
    # Each row's mean is its own sum over its tokens, so the values are the same.
    out = np.empty((len(lengths), model.embedding.shape[1]), dtype=np.float32)
    for start in range(0, len(lengths), _CHUNK):
        part = np.asarray(pool[start : start + _CHUNK] @ model.embedding, dtype=np.float32)
        out[start : start + _CHUNK] = np.nan_to_num(part, copy=False)
    return _l2(out, copy=False)


def _center_languages(block: np.ndarray, langs: np.ndarray, weights: np.ndarray, groups: Sequence[str],
                      fit_rows: np.ndarray | None = None) -> np.ndarray:
    """Subtract each language's weighted mean (over ``fit_rows``, default all) so that language itself does not form themes.

    Done in place on ``block`` (its languages' rows are apart, so each mean is read before its rows change), a
    chunk of rows at a time: a copy of the block and of each language's rows (in float64) were about 800 MB of a
    200,000-answer run's peak. Returned normalised.
    """
    fit = np.zeros(len(block), dtype=bool)
    fit[slice(None) if fit_rows is None else fit_rows] = True
    for lang in groups:
        rows = langs == lang
        mean_rows = rows & fit
        w = weights[mean_rows][:, None]
        if w.sum() > 0:
            mean = (block[mean_rows] * w).sum(axis=0) / w.sum()
            where = np.flatnonzero(rows)
            for start in range(0, len(where), _CHUNK):
                part = where[start : start + _CHUNK]
                block[part] -= mean
    return _l2(block, copy=False)


def _joined(blocks: Sequence[np.ndarray], rows: slice | np.ndarray) -> np.ndarray:
    """Return the weighted blocks' ``rows`` side by side (float32), as one matrix."""
    parts = [block[rows] for block in blocks]
    joined = np.empty((len(parts[0]), sum(part.shape[1] for part in parts)), dtype=np.float32)
    column = 0
    for w, part in zip(_BLOCK_WEIGHTS, parts):
        np.multiply(part, np.float32(w), out=joined[:, column : column + part.shape[1]])
        column += part.shape[1]
    return joined


def _combine(blocks: list[np.ndarray], weights: np.ndarray, seed: int, fit_rows: np.ndarray | None = None) -> np.ndarray:
    """Concatenate weighted blocks and project them on their main axes (float64, L2-normalised).

    The axes come from ``fit_rows`` (default all rows); every row is projected on them. With
    ``fit_rows`` (a sample of a large input) only the sample is ever put side by side, and the rest
    chunk by chunk as it is projected: at 200,000 answers the concatenation of every row, the weighted
    copies it was made from and a copy of it held about 1.2 GB at once. ``blocks`` is emptied at the
    end (or as soon as it is copied), so that its memory can go (the caller's list is the only other reference).
    """
    n = len(blocks[0])
    if fit_rows is None:
        fit = joined = _joined(blocks, slice(None))
        blocks.clear()
    else:
        fit, joined = _joined(blocks, fit_rows), None
    fit_weights = weights if fit_rows is None else weights[fit_rows]
    dims = min(_FINAL_DIMS, fit.shape[0] - 1, fit.shape[1] - 1)
    if dims < 8:
        joined = _joined(blocks, slice(None)) if joined is None else joined
        blocks.clear()
        return _l2(joined.astype(np.float64))
    # A weighted PCA through the (small) covariance matrix: exact, deterministic, and fewer
    # dimensions make k-means faster and slightly less noisy. Done in chunks so that no
    # full-size float64 copy of the features is ever made.
    mean = (fit.astype(np.float64) * fit_weights[:, None]).sum(axis=0) / fit_weights.sum() if len(fit) <= _CHUNK else _weighted_mean(fit, fit_weights)
    cov = np.zeros((fit.shape[1], fit.shape[1]), dtype=np.float64)
    for start in range(0, len(fit), _CHUNK):
        part = fit[start : start + _CHUNK].astype(np.float64) - mean
        cov += (part * fit_weights[start : start + _CHUNK, None]).T @ part
    del fit, part
    _, vectors = np.linalg.eigh(cov)
    axes = vectors[:, ::-1][:, :dims]
    # Fix each axis's sign so results do not depend on the LAPACK build.
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), np.arange(dims)] < 0, -1.0, 1.0)
    out = np.empty((n, dims), dtype=np.float64)
    for start in range(0, n, _CHUNK):
        rows = slice(start, start + _CHUNK)
        chunk = joined[rows] if joined is not None else _joined(blocks, rows)
        out[rows] = (chunk.astype(np.float64) - mean) @ axes
    blocks.clear()
    # float64 avoids scikit-learn's slow chunked up-casting in k-means distance computations.
    return _l2(out, copy=False)


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
    from sklearn.exceptions import ConvergenceWarning  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _choose_k(z: np.ndarray, weights: np.ndarray, k_lo: int, k_hi: int, seed: int, *, merge_distance: float = _MERGE_DISTANCE) -> tuple[int, dict[str, float]]:
    """Choose the number of themes: over-cluster, then merge groups whose centres are alike.

    Silhouette keeps rising with k on short answers (near-duplicates make small clusters look
    good) and Calinski-Harabasz keeps falling, so neither chooses. Instead k-means is run with
    more groups than a planner wants, and groups are merged (complete linkage on the cosine
    distance between their centres) until every pair of remaining groups differs by at least
    ``_MERGE_DISTANCE``; the number left is the number of themes, clamped to the bounds.
    """
    KMeans = _kmeans_class()  # noqa: N806
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
    found = _groups_after_merging(_l2(km.cluster_centers_), merge_distance)
    chosen = max(k_lo, min(k_hi, found))
    return chosen, {"groups_before_merging": float(over), "groups_after_merging": float(found)}


def _groups_after_merging(centres: np.ndarray, merge_distance: float) -> int:
    """Return how many groups complete linkage on the cosine distance leaves when merging stops at ``merge_distance``.

    What scikit-learn's ``AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="complete",
    distance_threshold=merge_distance).fit(centres).n_clusters_`` is, computed as it computes it
    (SciPy's linkage; one group more than the merges at or beyond the threshold; zero vectors
    refused), without loading sklearn.metrics and scipy.stats for it. A test compares the two.
    """
    from scipy.cluster import hierarchy  # noqa: PLC0415

    if not np.all(np.any(centres, axis=1)):
        raise ValueError("Cosine affinity cannot be used when X contains zero vectors")
    return int(np.count_nonzero(hierarchy.linkage(centres, method="complete", metric="cosine")[:, 2] >= merge_distance)) + 1


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


def _term_occurrences(text: str, language: str, known: dict[str, _TokenStems] | None = None,
                      singles: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """Return (stemmed key, surface form) pairs for content words and two-word phrases.

    ``known`` (language -> :class:`_TokenStems`, one run's) remembers each token's stem across texts;
    ``singles``, when given, also receives the single words' pairs, in order.
    """
    lang = textmod._base_language(language)
    table = _token_stems(known, lang)
    out: list[tuple[str, str]] = []
    # Phrases never span punctuation: "Nothing, everything was fine" has no "nothing everything".
    for clause in _CLAUSE.split(textmod.analysis_text(text)):
        prev_key = prev_tok = None
        for tok in textmod.tokenize(clause, lang):
            key = table[tok][1]
            if key is None:  # a stop word, a number or a single character
                prev_key = None
                continue
            single = (key, tok)
            out.append(single)
            if singles is not None:
                singles.append(single)
            if prev_key is not None:
                out.append((prev_key + " " + key, prev_tok + " " + tok))
            prev_key, prev_tok = key, tok
    return out


class _TokenStems(dict):
    """One language's token -> (stem, the stem if the token is a content word else ``None``), filled on first sight.

    One run's: answers repeat their words, and a dictionary lookup costs far less per token than a
    stemmer call and the stop-word tests.
    """

    def __init__(self, language: str) -> None:
        """Start empty for ``language`` (a base code)."""
        super().__init__()
        self.language = language
        self.stops = textmod.stop_words(language)

    def __missing__(self, token: str) -> tuple[str, str | None]:
        """Stem a token not seen yet and remember it."""
        key = textmod.stem(token, self.language)
        found = self[token] = (key, None if (token in self.stops or token.isdigit() or len(token) < 2) else key)
        return found


def _token_stems(known: dict[str, _TokenStems] | None, language: str) -> _TokenStems:
    """Return ``known``'s table for ``language`` (a base code), made and kept there on first use (a fresh one without ``known``)."""
    table = known.get(language) if known is not None else None
    if table is None:
        table = _TokenStems(language)
        if known is not None:
            known[language] = table
    return table


class _TermIndex:
    """Integer ids for stemmed terms, and the commonest written form of each word.

    Storing each answer's terms as an array of ids (not lists of string tuples) keeps memory
    small on 100,000 answers; a phrase is shown as the written forms of its two words.
    """

    def __init__(self) -> None:
        """Start with no terms."""
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.forms: Counter[tuple[str, str]] = Counter()  # (word's key, written form) -> times written
        self._written: dict[str, list[tuple[str, int]]] | None = None  # key -> its forms, made on first read

    def add(self, occurrences: Sequence[tuple[str, str]], singles: Sequence[tuple[str, str]] | None = None) -> np.ndarray:
        """Register one answer's (key, surface) pairs; return its distinct term ids.

        ``singles`` are the single-word pairs among them (phrases hold a space), when the caller has them apart.
        """
        index, keys = self.index, self.keys
        ids = set()
        for key, _surface in occurrences:
            i = index.get(key)
            if i is None:
                i = index[key] = len(keys)
                keys.append(key)
            ids.add(i)
        self.forms.update(singles if singles is not None else [o for o in occurrences if " " not in o[0]])
        self._written = None
        return np.array(sorted(ids), dtype=np.int64)

    def surface(self, i: int) -> str:
        """Return the commonest written form of term ``i`` (ties broken alphabetically)."""
        key = self.keys[i]
        if " " in key:
            return " ".join(self.surface(self.index[part]) for part in key.split(" "))
        if self._written is None:
            written: dict[str, list[tuple[str, int]]] = defaultdict(list)
            for (word, form), n in self.forms.items():
                written[word].append((form, n))
            self._written = dict(written)
        return min(self._written[key], key=lambda item: (-item[1], item[0]))[0]


def _label_terms(
    members: Sequence[int],
    occ_ids: Sequence[np.ndarray],
    weights: np.ndarray,
    df_all: np.ndarray,
    vocab: _TermIndex,
    n_all: int,
    n_clusters: int,
    occurrences: Callable[[int], Sequence[tuple[str, str]]] | None = None,
    excluded: frozenset[int] = frozenset(),
    cased: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, float]]:
    """Return the written forms of a theme's most distinctive terms, by class-based TF-IDF.

    ``members`` are ranked most typical first. Where ``occurrences`` is given (an answer's
    (key, written form) pairs), each term is shown as this theme's own commonest written form
    among its most typical answers: a stem shared by two languages ("doctor" from "doctors" and
    "doctores") then reads in the theme's language, and a phrase keeps its own words.
    ``excluded`` term ids (words nearly every answer shares, the question's own words, and
    phrases holding them) are never shown; ``cased`` maps a case-folded word to the way people
    write it ("wic" -> "WIC").

    Also returns the weight of each of the theme's distinctive single words (stemmed), which
    the headline and quote trimming use.
    """
    if not members:
        return [], {}
    ids = np.concatenate([occ_ids[u] for u in members])
    w = np.concatenate([np.full(len(occ_ids[u]), weights[u]) for u in members])
    df = np.bincount(ids, weights=w, minlength=len(vocab.keys)) if len(ids) else np.zeros(len(vocab.keys))
    size = float(weights[list(members)].sum())
    avg = n_all / max(n_clusters, 1)
    min_df = 2 if size >= 6 and (df >= 2).any() else 1
    candidates = [i for i in np.flatnonzero(df >= min_df).tolist() if vocab.keys[i] not in _VAGUE and i not in excluded]
    scored = []
    weights_out: dict[str, float] = {}
    for i in candidates:
        score = (df[i] / size) * math.log(1 + avg / df_all[i])
        if " " in vocab.keys[i]:
            score *= 1.1  # phrases read better than single words when nearly as distinctive
        else:
            weights_out[vocab.keys[i]] = float(score)
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
        if cased:
            form = " ".join(cased.get(word, word) for word in form.split(" "))
        if form.casefold() not in seen:
            seen.add(form.casefold())
            shown.append(form)
    return shown, weights_out


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
    return Theme(theme_id, label, (), 0, (), (), (), MappingProxyType({}), None, headline=label)


def _checked(answers: Iterable[Answer]) -> list[Answer]:
    """Return the answers as a list, refusing repeated ids or missing text; unknown languages detected."""
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


@dataclass
class _Prepared:
    """Every answer as quoted and as analysed, and the distinct texts that are clustered."""

    items: list[Answer]
    redacted: list[str]  # what may be quoted
    analysed: list[str]  # what is analysed: the translation where one was given
    langs: list[str]  # language of the analysed text
    content_rows: list[int]
    contentless_rows: list[int]
    uniq_rows: list[int]  # one row per distinct analysed text
    member_of: list[int]  # for each content row, its distinct text
    weights: np.ndarray  # answers per distinct text
    glosses: dict[int, str]  # distinct text -> machine gloss, where one was used
    answer_langs: Counter[str]
    main_language: str
    used_translation: bool
    translations: dict[int, str]  # row -> redacted translation


# Fewest answers for which :func:`_prepare` redacts (and glosses) half of them in a forked child when forking is on:
# at 200,000 answers the two are about 17 s of Python in one process (issue 19), and a fork costs milliseconds.
_PREPARE_FORK_ABOVE = 20_000


def _in_two(work: Callable[[Sequence], list], items: Sequence) -> list:
    """Return ``work(items)``: the first half computed here and the second in a forked child (:mod:`analysis.forking`)
    when forking is on and there are ``_PREPARE_FORK_ABOVE`` items; ``work`` reads each item on its own, so the
    halves joined are what one call makes (a child that fails is computed here instead)."""
    if not forking.enabled() or len(items) < _PREPARE_FORK_ABOVE:
        return work(items)
    half = len(items) // 2
    with forking.beside(work, items[half:]) as pending:
        ours = work(items[:half])
        return ours + pending.result()


def _read_rows(items: Sequence[Answer], redaction: textmod.Redaction) -> list[tuple[str, str | None, str, bool, str]]:
    """Return, for each answer, what :func:`_prepare` reads of it alone: its redacted text, its redacted translation
    (``None`` without a usable one), the language of what is analysed, whether that is contentless, and (for an answer
    with content) its analysis text, which identical answers share."""
    out = []
    for a in items:
        redacted = redaction(a.text)
        translated = a.translation is not None and not textmod.is_contentless(a.translation)
        source = redaction(a.translation) if translated else redacted
        lang = ((textmod._base_language(a.translation_language) if a.translation_language else PIVOT_LANGUAGE)
                if translated else textmod._base_language(a.language))
        contentless = textmod.is_contentless(source, lang)
        out.append((redacted, source if translated else None, lang, contentless,
                    "" if contentless else textmod.analysis_text(source)))
    return out


def _glossed(pairs: Sequence[tuple[str, str]]) -> list[str | None]:
    """Return the English gloss of each (text, language) pair, ``None`` where there is none (:func:`analysis.gloss.gloss`)."""
    from analysis.gloss import GLOSS_LANGUAGES, gloss  # noqa: PLC0415 - loads lexicons only when needed

    return [gloss(text, lang) if lang in GLOSS_LANGUAGES else None for text, lang in pairs]


def _prepare(items: list[Answer], redaction: textmod.Redaction, use_gloss: bool, main_language: str | None,
             on_distinct: Callable[[list[int], list[str]], None] | None = None) -> _Prepared:
    """Redact, set contentless answers aside, merge identical texts and gloss other languages.

    ``on_distinct(uniq_rows, analysed)`` hears the distinct texts as soon as they are known, before the
    glosses are made (:func:`_find_themes` starts the character block's child there). With forking on (a command or a background job that owns its process), a forked child reads half of the
    answers and glosses half of the distinct texts (:func:`_in_two`): the same values, on two cores.
    """
    read = _in_two(lambda part: _read_rows(part, redaction), items)
    redacted: list[str] = []
    analysed: list[str] = []
    langs: list[str] = []
    contentless_rows: list[int] = []
    content_rows: list[int] = []
    translations: dict[int, str] = {}
    keys: list[str] = []
    for row, (shown, translation, lang, contentless, key) in enumerate(read):
        redacted.append(shown)
        if translation is not None:
            translations[row] = translation
        analysed.append(shown if translation is None else translation)
        langs.append(lang)
        keys.append(key)
        (contentless_rows if contentless else content_rows).append(row)
    del read
    answer_langs = Counter(textmod._base_language(a.language) for a in items)
    content_langs = Counter(textmod._base_language(items[r].language) for r in content_rows)
    main = textmod._base_language(main_language) if main_language else (content_langs or answer_langs or Counter({"en": 1})).most_common(1)[0][0]
    # Merge identical analysis texts (same language): their features are identical, and
    # feedback repeats itself ("Nothing", "All good") far more than prose does.
    key_of: dict[tuple[str, str], int] = {}
    uniq_rows: list[int] = []
    member_of: list[int] = []
    for row in content_rows:
        key = (langs[row], keys[row])
        if key not in key_of:
            key_of[key] = len(uniq_rows)
            uniq_rows.append(row)
        member_of.append(key_of[key])
    del keys, key_of
    n_u = len(uniq_rows)
    weights = np.bincount(np.array(member_of, dtype=np.int64), minlength=n_u).astype(np.float64) if n_u else np.zeros(0)
    if on_distinct is not None:
        on_distinct(uniq_rows, analysed)
    glosses: dict[int, str] = {}
    analysed_langs = Counter(langs[r] for r in content_rows)
    if use_gloss and len([lang for lang, n in analysed_langs.items() if n >= 2]) >= 2:
        # Several languages: answers in a language with a lexicon get an English gloss, so that
        # the same words meet across languages. Used for grouping only, never shown as a translation.
        from analysis.gloss import GLOSS_LANGUAGES  # noqa: PLC0415 - loads lexicons only when needed

        wanted = [u for u, row in enumerate(uniq_rows) if langs[row] in GLOSS_LANGUAGES]
        for u, found in zip(wanted, _in_two(_glossed, [(analysed[uniq_rows[u]], langs[uniq_rows[u]]) for u in wanted])):
            if found:
                glosses[u] = found
    return _Prepared(items, redacted, analysed, langs, content_rows, contentless_rows, uniq_rows, member_of, weights,
                     glosses, answer_langs, main, bool(translations), translations)


@dataclass
class _Terms:
    """Stemmed terms of every distinct text, as integer ids, with their document frequencies."""

    vocab: _TermIndex
    occ_ids: list[np.ndarray]
    df_all: np.ndarray
    surface: frozenset[int]  # term ids set aside: shared by nearly every answer, or the question's own
    stems: list[list[str]]  # each distinct text's stemmed words in order, repeats kept (the word block reads these)
    # Each distinct text's (key, written form) pairs as read here, kept for the themes' descriptions (:class:`_Builder`)
    # when the caller asked (``keep``: a run of at most _SAMPLE_ABOVE distinct texts, a few MB); else ``None``, and the
    # descriptions re-read the few they need (a large run's sample keeps its memory).
    occurrences: list[list[tuple[str, str]]] | None = None


def _index_terms(p: _Prepared, question_stems: frozenset[str], *, keep: bool = False) -> _Terms:
    """Index each distinct text's terms and find those nearly every answer shares; ``keep`` keeps each text's occurrences."""
    vocab = _TermIndex()
    occ_ids = []
    stems: list[list[str]] = []
    known: dict[str, _TokenStems] = {}
    kept: list[list[tuple[str, str]]] | None = [] if keep else None
    for r in p.uniq_rows:
        singles: list[tuple[str, str]] = []
        occurrences = _term_occurrences(p.analysed[r], p.langs[r], known, singles)
        occ_ids.append(vocab.add(occurrences, singles))
        if kept is not None:
            kept.append(occurrences)
        # In order and with repeats: the word block's TF-IDF counts words and reads adjacent pairs.
        stems.append([key for key, _ in singles])
    lengths = np.array([len(o) for o in occ_ids], dtype=np.int64)
    all_ids = np.concatenate(occ_ids) if occ_ids else np.zeros(0, np.int64)
    df_all = np.bincount(all_ids, weights=np.repeat(p.weights, lengths), minlength=len(vocab.keys)) if len(all_ids) else np.zeros(len(vocab.keys))
    total = float(p.weights.sum())
    common = set()
    if total >= _UBIQUITOUS_MIN_ANSWERS:
        # A word in most answers (the place every answer names) says nothing about any one theme.
        common = {vocab.keys[i] for i in np.flatnonzero(df_all >= _UBIQUITOUS * total) if " " not in vocab.keys[i]}
    shared = (common | set(question_stems)) - _never_surface()
    surface = frozenset(i for i, key in enumerate(vocab.keys) if shared & set(key.split(" "))) if shared else frozenset()
    return _Terms(vocab, occ_ids, df_all, surface, stems, kept)


@functools.cache
def _never_surface() -> frozenset[str]:
    """Return the words (and their English stems) never set aside; made on first use, since stemming loads NLTK."""
    return frozenset(textmod.terms(_NEVER_SURFACE_WORDS, "en")) | frozenset(_NEVER_SURFACE_WORDS.split())


def _question_stems(question: str | Sequence[str] | None, languages: Iterable[str]) -> frozenset[str]:
    """Return the stems of the question's content words in each of the answers' languages."""
    if not question:
        return frozenset()
    texts = [question] if isinstance(question, str) else [q for q in question if q]
    stems: set[str] = set()
    for lang in set(languages):
        for text in texts:
            stems.update(textmod.terms(text, lang))
    return frozenset(stems)


def _without(text: str, language: str, stems: frozenset[str]) -> str:
    """Return ``text`` without the words whose stem is in ``stems`` (unchanged when none is there)."""
    if not stems:
        return text
    tokens = textmod.tokenize(text, language)
    kept = [t for t in tokens if textmod.stem(t, language) not in stems]
    return " ".join(kept) if len(kept) < len(tokens) and kept else text


def _surface_stems(terms: _Terms) -> frozenset[str]:
    """Return the single-word stems set aside (shared by nearly every answer, or the question's own)."""
    return frozenset(key for i, key in enumerate(terms.vocab.keys) if i in terms.surface and " " not in key)


def _words_once(text: str, language: str, surface_stems: frozenset[str],
                known: dict[str, _TokenStems] | None = None) -> tuple[list[str], str]:
    """Return a text's stemmed content words in order, repeats kept (the single words of :func:`_term_occurrences`),
    and what the character block reads (:func:`_without`), from one reading of its words.

    Words never span the punctuation that separates clauses, so reading the whole text gives the same words.
    ``known`` (language -> :class:`_TokenStems`, kept by the caller across texts) remembers each token's stem.
    """
    lang = textmod._base_language(language)
    table = _token_stems(known, lang)
    text = textmod.analysis_text(text)
    tokens = textmod.tokenize(text, lang)
    pairs = list(map(table.__getitem__, tokens))
    content = [key for _stem, key in pairs if key is not None]
    if not surface_stems:
        return content, text
    kept = [tok for tok, (key, _content) in zip(tokens, pairs) if key not in surface_stems]
    return content, " ".join(kept) if len(kept) < len(tokens) and kept else text


def _big_languages(p: _Prepared) -> list[str]:
    """Return the languages of at least 20 content answers and 5% of them, in order of first meeting: with two or
    more, each block is centred per language, so that themes do not form on the language alone."""
    lang_weight: Counter[str] = Counter()
    for row in p.content_rows:
        lang_weight[p.langs[row]] += 1
    n_content = len(p.content_rows)
    return [lang for lang, c in lang_weight.items() if c >= max(20, 0.05 * n_content)]


def _represent(p: _Prepared, terms: _Terms, seed: int, *, stems: Sequence[list[str]] | None = None,
               char_texts: Sequence[str] | None = None, fit_rows: np.ndarray | None = None,
               early_chars: forking.Pending | None = None,
               meanwhile: Callable[[Callable[[], bool]], None] | None = None) -> tuple[np.ndarray, bool, list[str]]:
    """Return each distinct text's combined, normalised representation; whether languages were centred.

    On a sample (``fit_rows``, the sampled distinct texts), ``terms`` index the sample only, and
    ``stems`` and ``char_texts`` give every distinct text's stemmed words and character text
    (:func:`_words_once`); the features are fitted on the sample and every text is projected on them.
    ``early_chars`` is :func:`_early_char_block`'s: used when no word was set aside, else stopped; while this process
    waits for it, ``meanwhile`` works ahead (see :func:`_features`).
    """
    n_u = len(p.uniq_rows)
    uniq_langs = np.array([p.langs[r] for r in p.uniq_rows])
    surface_stems = _surface_stems(terms)
    stems = terms.stems if stems is None else stems
    if char_texts is None:
        char_texts = [_without(textmod.analysis_text(p.analysed[r]), p.langs[r], surface_stems) for r in p.uniq_rows]
    if early_chars is not None and surface_stems:  # it read words that are now set aside: made again here
        early_chars.cancel()
        early_chars = None
    embed_texts = [p.glosses.get(u, text) for u, text in enumerate(char_texts)]
    term_docs = []
    for u in range(n_u):
        if u in p.glosses:
            term_docs.append(" ".join(t for t in textmod.terms(p.glosses[u], PIVOT_LANGUAGE) if t not in surface_stems))
        else:
            term_docs.append(" ".join(key for key in stems[u] if key not in surface_stems))
    blocks, block_names = _features(char_texts, term_docs, seed, embed_texts=embed_texts, fit_rows=fit_rows, chars=early_chars,
                                    meanwhile=meanwhile)
    big_langs = _big_languages(p)
    centred = len(big_langs) >= 2
    if centred:
        for position, block in enumerate(blocks):  # one block's copy at a time, not every block's
            blocks[position] = _center_languages(block, uniq_langs, p.weights, big_langs, fit_rows)
        block = None
    if "wordllama" in block_names:
        # WordLlama is distilled for English; elsewhere it is weaker than characters and words,
        # so its say is reduced for answers analysed in another language (an English gloss counts as English).
        english = (uniq_langs == "en") | np.array([u in p.glosses for u in range(n_u)], dtype=bool)
        scale = np.where(english, _WORDLLAMA_ENGLISH, _WORDLLAMA_OTHER_LANGUAGES).astype(np.float32)
        position = block_names.index("wordllama")
        blocks[position] *= scale[:, None]
    z = _combine(blocks, p.weights, seed, fit_rows) if blocks else np.ones((n_u, 1), np.float64)
    lengths = np.array([len(p.analysed[r].split()) for r in p.uniq_rows], dtype=np.float64)
    return _without_length(z, lengths, p.weights), centred, big_langs


def _without_length(z: np.ndarray, lengths: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Remove the one direction of ``z`` that best predicts answer length, so length cannot form a theme.

    Short title-only answers and long paragraphs differ in their character and word profiles
    whatever they say; a weighted least-squares fit of log length on the representation gives
    that direction, and projecting it out leaves what the answers say. Off by default
    (``_LENGTH_SHRINK`` 0): on the labelled sets length carries meaning too, and removing it cost
    more agreement with people than it bought.
    """
    if _LENGTH_SHRINK == 0.0 or len(z) < 20 or z.shape[1] < 8:
        return z
    y = np.log1p(lengths)
    w = weights / weights.sum()
    y = y - float(w @ y)
    mean = w @ z
    xc = z - mean
    gram = (xc * w[:, None]).T @ xc + 1e-3 * np.eye(z.shape[1])
    beta = np.linalg.solve(gram, (xc * w[:, None]).T @ y)
    norm = float(np.linalg.norm(beta))
    if norm == 0.0 or not np.isfinite(norm):
        return z
    u = beta / norm
    return _l2(z - _LENGTH_SHRINK * np.outer(z @ u, u))


def _anchor_rows(p: _Prepared, anchors: Sequence[Anchor]) -> np.ndarray:
    """Return, for each distinct text, the index of the reviewed theme it belongs to, or -1."""
    anchored = np.full(len(p.uniq_rows), -1, dtype=np.int64)
    if not anchors:
        return anchored
    owner: dict[AnswerId, int] = {}
    for n, anchor in enumerate(anchors):
        for aid in anchor.answer_ids:
            owner.setdefault(aid, n)
    for row, u in zip(p.content_rows, p.member_of):
        n = owner.get(p.items[row].id)
        if n is not None and anchored[u] < 0:
            anchored[u] = n
    return anchored


def _choose_k_free(z: np.ndarray, weights: np.ndarray, k: int | None, k_min: int, k_max: int, seed: int) -> tuple[int, dict[str, float]]:
    """Return the number of themes for these distinct texts: the user's, or chosen within bounds."""
    n_u = len(weights)
    n_content = int(round(weights.sum()))
    if k is not None:
        return min(k, n_u), {}
    # Never more than distinct answers; chosen automatically with at least three answers per
    # theme on average, so that each can show three quotes.
    hi = min(k_max, n_u - 1, max(1, n_content // 3))
    lo = min(k_min, hi)
    if hi <= 1:
        return (1 if n_u == 1 or n_content < 2 * max(k_min, 2) else min(k_min, n_u)), {}
    if lo == hi:
        return lo, {}
    return _choose_k(z, weights, max(lo, 2), hi, seed)


def _kmeans(z: np.ndarray, weights: np.ndarray, k: int, seed: int, n_init: int = _N_INIT) -> np.ndarray:
    """Return weighted k-means labels (all zero for one group)."""
    if k <= 1 or len(z) <= 1:
        return np.zeros(len(z), dtype=np.int64)
    KMeans = _kmeans_class()  # noqa: N806 - scikit-learn loads only when themes are computed

    with _quiet_kmeans():
        return KMeans(n_clusters=min(k, len(z)), n_init=n_init, random_state=seed).fit_predict(z, sample_weight=weights).astype(np.int64)


def _cluster(z: np.ndarray, p: _Prepared, anchored: np.ndarray, big_langs: list[str], centred: bool,
             k: int | None, k_min: int, k_max: int, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """Group the distinct texts: reviewed themes first (they keep their answers and take in new ones that fit), then k-means on the rest.

    Labels ``0 .. len(anchors)-1`` are the reviewed themes; new machine themes follow.
    """
    labels = anchored.copy()
    n_anchor = int(anchored.max()) + 1 if len(anchored) and anchored.max() >= 0 else 0
    k_scores: dict[str, float] = {}
    if n_anchor:
        labels, joined = _join_anchors(z, labels, p.weights, n_anchor)
        k_scores["answers_joining_reviewed_themes"] = float(joined)
    free = np.flatnonzero(labels < 0)
    if len(free) == 0:
        return labels, k_scores
    zf, wf = z[free], p.weights[free]
    k_free = None if k is None else max(1, k - n_anchor)
    k_final, scores = _choose_k_free(zf, wf, k_free, max(1, k_min - n_anchor), max(1, k_max - n_anchor), seed)
    k_scores.update(scores)
    sub = _kmeans(zf, wf, k_final, seed)
    if centred and k is None:
        uniq_langs = np.array([p.langs[p.uniq_rows[u]] for u in free])
        sub, split_count = _split_unrelated_languages(zf, sub, uniq_langs, wf, big_langs, max(1, k_max - n_anchor))
        if split_count:
            k_scores["themes_split_by_language"] = float(split_count)
    labels[free] = n_anchor + sub
    return labels, k_scores


def _join_anchors(z: np.ndarray, labels: np.ndarray, weights: np.ndarray, n_anchor: int) -> tuple[np.ndarray, int]:
    """Let new answers join the reviewed theme they fit: as typical as its members usually are.

    An answer joins the reviewed theme whose centre it is nearest to when it would count as one
    of that theme's members: its similarity is no more than ``_OTHER_Z`` (2.5) standard
    deviations below the members' mean similarity (the line below which a member is "unclear",
    :func:`_shape`), or at least half that mean (people's reviewed themes are often tight, and
    the same concern in new words sits a little further out).
    """
    labels = labels.copy()
    centres, floors = [], []
    for a in range(n_anchor):
        rows = labels == a
        centre = _l2((z[rows] * weights[rows][:, None]).sum(axis=0, keepdims=True))[0]
        sims = z[rows] @ centre
        mean = float(np.average(sims, weights=weights[rows]))
        std = float(math.sqrt(np.average((sims - mean) ** 2, weights=weights[rows])))
        centres.append(centre)
        floors.append(min(mean - _OTHER_Z * std, _JOIN_RELATIVE * mean))
    free = np.flatnonzero(labels < 0)
    if not len(free):
        return labels, 0
    sims = z[free] @ np.array(centres).T
    best = sims.argmax(axis=1)
    fits = sims[np.arange(len(free)), best] >= np.array(floors)[best]
    labels[free[fits]] = best[fits]
    return labels, int(weights[free[fits]].sum())


@dataclass
class _Shape:
    """Centres, each distinct text's typicality, who is unclear, and each group's coherence."""

    centroids: np.ndarray
    sims: np.ndarray
    unclear: np.ndarray
    coherence: np.ndarray
    mixed: np.ndarray
    # The rules that made answers unclear, to apply them to answers placed later (a sample's rest):
    floors: np.ndarray | None = None  # per group: less similar than this is unclear (-inf: no floor)
    weak: float = -np.inf  # less similar than this, and torn between two groups, is unclear
    dissolved: np.ndarray | None = None  # per group: dissolved into "Other / unclear"


def _centroids(z: np.ndarray, labels: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Return the normalised weighted centre of each label (zero for an empty one)."""
    centroids = np.zeros((n, z.shape[1]), dtype=np.float64)
    np.add.at(centroids, labels, z * weights[:, None])
    return _l2(centroids)


def _shape(z: np.ndarray, labels: np.ndarray, weights: np.ndarray, anchored: np.ndarray, *, dissolve_weak: bool = True) -> _Shape:
    """Measure each group: typicality of its answers, coherence, and what goes to "Other / unclear".

    An answer much less typical than the rest of its theme (more than 2.5 SD below its mean
    similarity), or one that sits as close to another theme as to its own while being among the
    least typical of all answers, is unclear. A theme's coherence is its answers' mean similarity
    to its centre relative to the set's typical coherence; a theme well below it is marked mixed,
    and one far below it is dissolved into "Other / unclear" (reviewed themes never are, nor
    any theme when the user fixed the number of themes: ``dissolve_weak``).
    """
    n_clusters = int(labels.max()) + 1
    centroids = _centroids(z, labels, weights, n_clusters)
    all_sims = z @ centroids.T
    sims = all_sims[np.arange(len(z)), labels]
    unclear = np.zeros(len(z), dtype=bool)
    coherence = np.zeros(n_clusters)
    floors = np.full(n_clusters, -np.inf)
    for c in range(n_clusters):
        rows = np.flatnonzero(labels == c)
        w = weights[rows]
        if not len(rows):
            continue
        mean = float(np.average(sims[rows], weights=w))
        coherence[c] = mean
        if w.sum() < 8:
            continue
        std = float(math.sqrt(np.average((sims[rows] - mean) ** 2, weights=w)))
        floors[c] = mean - _OTHER_Z * std
        unclear[rows[sims[rows] < floors[c]]] = True
    low = -np.inf
    if n_clusters > 1 and len(z) >= 20:
        # Torn between two themes and untypical of both: not confidently anywhere.
        second = np.partition(all_sims, -2, axis=1)[:, -2]
        low = float(np.quantile(sims, _WEAK_QUANTILE))
        unclear |= (sims < low) & (sims - second < _TORN_MARGIN)
    sizes = np.bincount(labels, weights=weights, minlength=n_clusters)
    typical = float(np.average(coherence, weights=sizes)) if sizes.sum() else 0.0
    relative = coherence / typical if typical > 0 else np.ones(n_clusters)
    mixed = relative < _MIXED_RELATIVE
    dissolve = (relative < _DISSOLVE_RELATIVE) & (n_clusters > 1) & dissolve_weak
    is_anchor = np.zeros(n_clusters, dtype=bool)
    is_anchor[np.unique(labels[anchored >= 0])] = True
    for c in np.flatnonzero(dissolve & ~is_anchor):
        unclear[labels == c] = True
    unclear[anchored >= 0] = False  # people decided these; the engine does not overrule them
    mixed[is_anchor] = False
    return _Shape(centroids, sims, unclear, relative, mixed, floors, low, dissolve & ~is_anchor)


@dataclass
class _Builder:
    """Everything needed to describe a group of distinct texts as a theme."""

    p: _Prepared
    terms: _Terms
    z: np.ndarray
    sims: np.ndarray
    n_themes: int
    members_by_uniq: dict[int, list[int]]
    # Each distinct text's (key, written form) pairs, kept once read for a theme's terms: a
    # sub-theme re-reads many of its theme's most typical answers.
    _occurrences: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    _cased_words: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    _token_stems: dict = field(default_factory=dict)  # language -> _TokenStems
    _headlines: dict = field(default_factory=dict)  # (text, language) -> its headline candidates (analysis.headline)

    @functools.cached_property
    def uniq_texts(self) -> list[str]:
        """Return the redacted text of each distinct text (what quotes are picked from)."""
        return [self.p.redacted[row] for row in self.p.uniq_rows]

    def occurrences(self, u: int) -> list[tuple[str, str]]:
        """Return the (stemmed key, written form) pairs of distinct text ``u`` (as the terms were indexed, when they were kept)."""
        if self.terms.occurrences is not None:
            return self.terms.occurrences[u]
        found = self._occurrences.get(u)
        if found is None:
            found = self._occurrences[u] = _term_occurrences(self.p.analysed[self.p.uniq_rows[u]], self.p.langs[self.p.uniq_rows[u]],
                                                             self._token_stems)
        return found

    def cased_words(self, u: int) -> list[tuple[str, str]]:
        """Return the (case-folded, written) words of distinct text ``u``'s redacted text, kept once read (a sub-theme re-reads its theme's)."""
        found = self._cased_words.get(u)
        if found is None:
            found = self._cased_words[u] = headline_mod.cased_words(self.p.redacted[self.p.uniq_rows[u]])
        return found

    def theme(self, theme_id: str, uniq: np.ndarray, label: str | None, **extra: object) -> Theme:
        """Build one theme from the distinct texts ``uniq`` (indices into the distinct arrays)."""
        p, terms = self.p, self.terms
        ranked = sorted(uniq.tolist(), key=lambda u: (-self.sims[u], p.uniq_rows[u]))
        answer_rows = [row for u in ranked for row in self.members_by_uniq[u]]
        lang_counts = Counter(textmod._base_language(p.items[r].language) for r in answer_rows)
        cased = _cased([self.cased_words(u) for u in ranked[:_SURFACE_SAMPLE]])
        shown, weights = _label_terms(
            ranked, terms.occ_ids, p.weights, terms.df_all, terms.vocab, len(p.content_rows), max(self.n_themes, 1),
            occurrences=self.occurrences,
            excluded=terms.surface, cased=cased,
        )
        # Only the words of people who allowed quoting become a headline, a claim or a quote.
        quotable_rows = [r for r in answer_rows if p.items[r].quotable]
        head, head_lang, from_translation = self._headline(quotable_rows, lang_counts, weights)
        speaker = {u: next((r for r in self.members_by_uniq[u] if p.items[r].quotable), None) for u in ranked}
        picked = _pick_quotes([u for u in ranked if speaker[u] is not None], self.sims, self.z, self.uniq_texts)
        quote_rows = [speaker[u] for u in picked]
        excerpts = tuple(headline_mod.point(p.redacted[r], _lang(p, r), weights) for r in quote_rows)
        # Claims are counted for themes; a sub-theme's are its parent's, so they are not counted again.
        # Everyone who made a claim counts; its wording is taken only from people who allowed quoting.
        claims = () if extra.get("parent") else find_claims(
            [(p.items[r].id, headline_mod.point(p.redacted[r], _lang(p, r), weights), _lang(p, r)) for r in answer_rows[:_CLAIM_POOL]],
            quotable={p.items[r].id for r in quotable_rows})
        single = next(iter(lang_counts)) if len(lang_counts) == 1 and len(p.answer_langs) > 1 else None
        fallback = _make_label(shown) if shown else messages.UNTITLED_THEME
        return Theme(
            id=theme_id,
            label=label or head or fallback,
            top_terms=tuple(shown),
            size=len(answer_rows),
            answer_ids=tuple(p.items[r].id for r in answer_rows),
            quotes=tuple(p.items[r].id for r in quote_rows),
            quote_texts=tuple(p.redacted[r] for r in quote_rows),
            languages=MappingProxyType(dict(lang_counts.most_common())),
            single_language=single,
            headline=head or fallback,
            headline_language=head_lang,
            headline_from_translation=from_translation,
            quote_excerpts=excerpts,
            claims=claims,
            glossed=sum(len(self.members_by_uniq[u]) for u in ranked if u in p.glosses),
            **extra,  # type: ignore[arg-type]
        )

    def _headline(self, answer_rows: list[int], lang_counts: Counter[str], weights: dict[str, float]) -> tuple[str | None, str | None, bool]:
        """Return the theme's headline from the quotable ``answer_rows``, its language and whether it comes from a translation."""
        p = self.p
        if not lang_counts or not answer_rows:
            return None, None, False
        main = lang_counts.most_common(1)[0][0]
        translated = [r for r in answer_rows if r in p.translations]
        if main != p.main_language and translated:
            # The theme speaks mostly another language and people translated its answers: the
            # headline is drawn from their translations, in the session's main language, and says so.
            # Translations are analysed in their own language (row languages say which); the commonest one speaks.
            into = Counter(p.langs[r] for r in translated).most_common(1)[0][0]
            found = headline_mod.headline([p.translations[r] for r in translated if p.langs[r] == into], into, weights,
                                          memo=self._headlines)
            if found:
                return found, into, True
        texts = [p.redacted[r] for r in answer_rows if _lang(p, r) == main and r not in p.translations]
        texts = texts or [p.redacted[r] for r in answer_rows if _lang(p, r) == main]
        return headline_mod.headline(_distinct(texts), main, weights, memo=self._headlines), main, False


def _lang(p: _Prepared, row: int) -> str:
    """Return the base language an answer was written in."""
    return textmod._base_language(p.items[row].language)


def _distinct(texts: Iterable[str]) -> list[str]:
    """Return texts without repeats, in order (one voice per distinct wording for the headline)."""
    return list(dict.fromkeys(texts))


def _cased(words_of_texts: Iterable[Sequence[tuple[str, str]]]) -> dict[str, str]:
    """Return, for each case-folded word, the way people write it (capitals kept for names and acronyms).

    Reads each text's :func:`analysis.headline.cased_words`; the commonest written form wins, then
    the folded form, then the first in code-point order (as a minimum over
    :func:`analysis.headline.cased_forms`, counted at C speed).
    """
    counts: Counter[tuple[str, str]] = Counter()
    for words in words_of_texts:
        counts.update(words)
    best: dict[str, tuple[int, bool, str]] = {}
    for (folded, word), n in counts.items():
        key = (-n, word != folded, word)
        found = best.get(folded)
        if found is None or key < found:
            best[folded] = key
    return {folded: key[2] for folded, key in best.items()}


def _secondary(z: np.ndarray, labels: np.ndarray, shape: _Shape, order: Sequence[int], p: _Prepared) -> dict[int, int]:
    """Return distinct text -> second theme, for answers that raise a second theme as clearly as its own members.

    An answer of at least two sentences or clauses counts in a second theme when it is at least
    as similar to that theme's centre as the theme's typical (median) member is, and nearly as
    similar as to its own theme's centre.
    """
    if len(order) < 2:
        return {}
    in_theme = np.isin(labels, list(order)) & ~shape.unclear
    medians = {}
    for c in order:
        rows = np.flatnonzero((labels == c) & in_theme)
        medians[c] = float(np.median(shape.sims[rows])) if len(rows) else np.inf
    cols = np.array(list(order))
    out: dict[int, int] = {}
    # The similarities are checked first, in chunks, and the text (words, clauses) only of the few that pass.
    floor = np.array([medians[c] for c in cols])
    for start in range(0, len(z), _CHUNK):
        rows = np.flatnonzero(in_theme[start : start + _CHUNK]) + start
        if not len(rows):
            continue
        sims = z[rows] @ shape.centroids[cols].T
        sims[cols[None, :] == labels[rows][:, None]] = -np.inf
        best = sims.argmax(axis=1)
        near = sims[np.arange(len(rows)), best]
        passing = (near >= floor[best]) & (shape.sims[rows] - near <= _SECOND_GAP)
        for u, b in zip(rows[passing].tolist(), best[passing].tolist()):
            text = p.analysed[p.uniq_rows[u]]
            if len(text.split()) < _SECOND_MIN_WORDS or len(headline_mod.clauses(text)) < 2:
                continue
            out[int(u)] = int(cols[b])
    return out


def _subgroups(z: np.ndarray, weights: np.ndarray, rows: np.ndarray, seed: int) -> np.ndarray | None:
    """Return sub-theme labels for one theme's distinct texts, or ``None`` when it is too small to split."""
    if weights[rows].sum() < _SUB_MIN_ANSWERS or len(rows) < 6:
        return None
    zc, wc = z[rows], weights[rows]
    hi = min(_SUB_MAX, len(rows) // 3)
    if hi < 2:
        return None
    k_sub, _ = _choose_k(zc, wc, 2, hi, seed, merge_distance=_SUB_MERGE_DISTANCE)
    labels = _kmeans(zc, wc, k_sub, seed, n_init=2)
    return labels if len(np.unique(labels)) > 1 else None


# How many times find_themes reports a step's end to ``on_step``.
ENGINE_STEPS = 5


def find_themes(
    answers: Iterable[Answer],
    *,
    k: int | None = None,
    k_min: int = 2,
    k_max: int = 20,
    seed: int = 0,
    names: Sequence[str] = (),
    vocabulary: Iterable[str] = (),
    question: str | Sequence[str] | None = None,
    anchors: Sequence[Anchor] = (),
    main_language: str | None = None,
    gloss: bool = True,
    subthemes: bool = True,
    secondary: bool = True,
    on_step: Callable[[float, int], None] | None = None,
    redaction: textmod.Redaction | None = None,
) -> ThemeSet:
    """Find draft themes in ``answers``; ``k`` fixes the number, else it is chosen in ``[k_min, k_max]``.

    ``question`` (its text, in one or several languages) keeps its own words from forming a
    theme; ``anchors`` are themes people reviewed, which keep their answers and take in new ones
    that fit; ``main_language`` is the session's (translations are in it; by default the
    commonest language); ``gloss`` lets a machine gloss bring languages together for grouping.
    ``on_step(done, steps)`` hears each of the engine's steps end (a background job's progress
    bar; the steps are not of equal length), and within the longest (a large input's projection)
    how far it is, as a fraction (``2.5``: the third step half done); it may raise to stop the run. ``redaction``, a
    :class:`analysis.text.Redaction` of these ``names`` and ``vocabulary`` that already read some
    answers (``chorus themes`` reads them while their languages are detected), lends its memory.
    """
    # BLAS and OpenMP threads (LSA, k-means) only contend on a shared 2-core machine: with two,
    # a 10,000-answer run at load 5 took twice the CPU time (spinning threads) and twice as long,
    # for the same themes. The engine keeps to one, as opinion groups do.
    # Limits reach only the libraries already loaded: scikit-learn's OpenMP and SciPy's own
    # OpenBLAS are loaded first (the run would load them anyway).
    _kmeans_class()  # see the imports above
    _truncated_svd_class()
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - light; comes with scikit-learn

    try:
        with threadpool_limits(limits=1):
            return _find_themes(answers, k=k, k_min=k_min, k_max=k_max, seed=seed, names=names, vocabulary=vocabulary,
                                question=question, anchors=anchors, main_language=main_language, gloss=gloss,
                                subthemes=subthemes, secondary=secondary, on_step=on_step, redaction=redaction)
    finally:
        _GRAMS_AHEAD.clear()  # made for this run only
        _give_back()  # the run's working memory, before the caller writes what it found


def _find_themes(
    answers: Iterable[Answer],
    *,
    k: int | None,
    k_min: int,
    k_max: int,
    seed: int,
    names: Sequence[str],
    vocabulary: Iterable[str],
    question: str | Sequence[str] | None,
    anchors: Sequence[Anchor],
    main_language: str | None,
    gloss: bool,
    subthemes: bool,
    secondary: bool,
    on_step: Callable[[float, int], None] | None,
    redaction: textmod.Redaction | None = None,
) -> ThemeSet:
    """Do the work of :func:`find_themes` (in one BLAS/OpenMP thread)."""
    step = on_step or (lambda done, steps: None)
    _validate(k, k_min, k_max, seed)
    items = _checked(answers)
    made = textmod.Redaction(tuple(names), frozenset(vocabulary))
    redaction = redaction if redaction == made else made  # the same names and words: its memory is of the same texts
    with contextlib.ExitStack() as started:  # a child whose block is not used (or a run that fails) is stopped
        # The character block's child starts as soon as the distinct texts are known, while this process glosses.
        early: list[forking.Pending] = []

        def start_chars(uniq_rows: list[int], analysed: list[str]) -> None:
            """Start the character block of the distinct texts in a child (see :func:`_early_char_block`)."""
            pending = _early_char_block(uniq_rows, analysed, seed)
            if pending is not None:
                early.append(started.enter_context(pending))

        p = _prepare(items, redaction, gloss, main_language, on_distinct=start_chars)
        _give_back()  # what preparing freed, before the children of the next steps are forked
        early_chars = early[0] if early else None
        step(1, ENGINE_STEPS)
        texts = MappingProxyType({a.id: p.redacted[i] for i, a in enumerate(items)})
        if not p.uniq_rows:
            return _nothing_to_theme(p, texts, k, k_min, k_max, seed)
        anchors = tuple(anchors)
        sample = _sample(p, _anchor_rows(p, anchors), seed)
        if sample is not None:  # never with a child: it starts for at most _FIT_SAMPLE distinct texts
            started.close()
            return _find_themes_sampled(p, sample, texts, question=question, anchors=anchors, k=k, k_min=k_min, k_max=k_max,
                                        seed=seed, subthemes=subthemes, secondary=secondary, step=step)
        terms = _index_terms(p, _question_stems(question, set(p.langs)), keep=True)
        step(2, ENGINE_STEPS)
        cased_ahead: dict[int, list[tuple[str, str]]] = {}
        z, centred, big_langs = _represent(p, terms, seed, early_chars=early_chars,
                                           meanwhile=functools.partial(_cased_words_ahead, p, cased_ahead))
    step(3, ENGINE_STEPS)
    with _cased_words_beside(p, cased_ahead) or contextlib.nullcontext() as more:  # the second core is idle while this one clusters
        anchored = _anchor_rows(p, anchors)
        labels, k_scores = _cluster(z, p, anchored, big_langs, centred, k, k_min, k_max, seed)
        if more is not None:
            rest = [u for u in range(len(p.uniq_rows)) if u not in cased_ahead]
            cased_ahead.update(zip(rest, more.result(instead=list)))  # nothing from a child that failed: read when needed
    step(4, ENGINE_STEPS)
    shape = _shape(z, labels, p.weights, anchored, dissolve_weak=k is None)
    machine, kept_anchors = _order_groups(labels, shape, p.weights, len(anchors))
    members_by_uniq: dict[int, list[int]] = defaultdict(list)
    for row, u in zip(p.content_rows, p.member_of):
        members_by_uniq[u].append(row)
    builder = _Builder(p, terms, z, shape.sims, len(machine) + len(kept_anchors), members_by_uniq, _cased_words=cased_ahead)
    ids = _theme_ids(machine, kept_anchors, anchors)
    second = _secondary(z, labels, shape, kept_anchors + machine, p) if secondary else {}
    step(5, ENGINE_STEPS)
    themes, all_subs, assignment, sub_assignment = _describe_groups(
        builder, labels, shape, machine, kept_anchors, anchors, ids, second, seed, subthemes=subthemes)
    other_uniq = np.flatnonzero(shape.unclear)
    other = builder.theme(OTHER_ID, other_uniq, messages.OTHER_LABEL) if len(other_uniq) else _empty_theme(OTHER_ID, messages.OTHER_LABEL)
    other = replace(other, headline=messages.OTHER_LABEL, headline_language=None)
    for aid in other.answer_ids:
        assignment[aid] = OTHER_ID
    split = int(k_scores.get("themes_split_by_language", 0))
    return ThemeSet(
        themes=tuple(themes),
        other=other,
        contentless=tuple(items[r].id for r in p.contentless_rows),
        # Keep the input order in the mapping, which CSV writers and tests rely on.
        assignment=MappingProxyType({a.id: assignment[a.id] for a in items}),
        k_chosen=len(themes),
        method=_method_note(len(machine), k, k_min, k_max, seed, p.used_translation, centred, split,
                            glossed=len(p.glosses), anchored=len(kept_anchors), question=bool(question)),
        seed=seed,
        texts=texts,
        k_scores=MappingProxyType(k_scores),
        languages=MappingProxyType(dict(p.answer_langs)),
        subthemes=tuple(all_subs),
        sub_assignment=MappingProxyType(sub_assignment),
        secondary=MappingProxyType({items[r].id: (ids[c],) for u, c in second.items() for r in members_by_uniq[u]}),
        glosses=MappingProxyType({items[r].id: g for u, g in p.glosses.items() for r in members_by_uniq[u]}),
        main_language=p.main_language,
    )


# Fewest distinct texts for which a forked child makes the character block or describes themes (see analysis.forking):
# below, forking costs about what it saves.
_FORK_ABOVE = 2_000


def _cased_words_ahead(p: _Prepared, cased: dict[int, list[tuple[str, str]]], ready: Callable[[], bool]) -> None:
    """Fill ``cased`` (distinct text -> :meth:`_Builder.cased_words`) in order, until ``ready()``: the themes' descriptions read
    them for their most typical answers (in both processes once the descriptions fork), and this process would otherwise
    only wait for the character block. The same words as :meth:`_Builder.cased_words` reads (a test compares)."""
    for u, row in enumerate(p.uniq_rows):
        if u % 64 == 0 and ready():
            return
        cased[u] = headline_mod.cased_words(p.redacted[row])


def _cased_words_beside(p: _Prepared, cased: Mapping[int, list[tuple[str, str]]]) -> forking.Pending | None:
    """Start, in a forked child, the written words (:meth:`_Builder.cased_words`) of the distinct texts not in ``cased``, in order.

    Made while this process clusters (the child would otherwise be idle): the themes' descriptions read nearly every
    distinct text's words (each theme's and sub-theme's most typical ones), in both processes once they fork. ``None``
    (nothing started: the descriptions read them when needed) unless :mod:`analysis.forking` is on and there are
    ``_FORK_ABOVE`` to ``_FIT_SAMPLE`` distinct texts.
    """
    if not forking.enabled() or not _FORK_ABOVE <= len(p.uniq_rows) <= _FIT_SAMPLE:
        return None
    texts = [p.redacted[row] for u, row in enumerate(p.uniq_rows) if u not in cased]
    return forking.beside(_cased_words_of, texts) if texts else None


def _cased_words_of(texts: Sequence[str]) -> list[list[tuple[str, str]]]:
    """Return :func:`analysis.headline.cased_words` of each text."""
    return [headline_mod.cased_words(text) for text in texts]


def _early_char_block(uniq_rows: Sequence[int], analysed: Sequence[str], seed: int) -> forking.Pending | None:
    """Start the character block of every distinct text (``analysed[r]`` for ``r`` in ``uniq_rows``) in a forked child,
    before the glosses are made and the terms indexed.

    The character block reads each distinct text without the words set aside (:func:`_without`),
    which are known only once the terms are indexed; almost always there are none (no question, no
    word in three quarters of the answers), and the block made now from the whole texts is the one
    :func:`_represent` would make. When some are set aside, :func:`_represent` stops the child and
    makes the block itself. Forks only when :mod:`analysis.forking` is on, for ``_FORK_ABOVE`` to
    ``_FIT_SAMPLE`` distinct texts; otherwise returns ``None`` (the threads of :func:`_features` do the work).
    """
    if not forking.enabled() or not _FORK_ABOVE <= len(uniq_rows) <= _FIT_SAMPLE:
        return None
    pending = forking.beside(_char_block, [textmod.analysis_text(analysed[r]) for r in uniq_rows], seed)
    if pending.forked_now:
        _GRAMS_AHEAD.clear()  # the child has its copy; this process needs them no more
    return pending


def _sample(p: _Prepared, anchored: np.ndarray, seed: int) -> np.ndarray | None:
    """Return the sorted distinct texts themes are found on when there are more than ``_SAMPLE_ABOVE``, else ``None``.

    Deterministic for a given input and seed: the most repeated texts first (given at least twice,
    up to ``_SAMPLE_REPEATED`` of the sample), up to ``_SAMPLE_PER_ANCHOR`` texts of each reviewed
    theme, then a seeded random draw from each language in proportion to its distinct texts.
    """
    n_u = len(p.uniq_rows)
    if n_u <= _SAMPLE_ABOVE:
        return None
    rng = np.random.default_rng(seed)
    chosen = np.zeros(n_u, dtype=bool)
    repeated = np.flatnonzero(p.weights >= 2)
    if len(repeated):
        # Heaviest first; ties by first appearance (a stable sort).
        chosen[repeated[np.argsort(-p.weights[repeated], kind="stable")][: int(_SAMPLE_REPEATED * _SAMPLE_SIZE)]] = True
    for a in np.unique(anchored[anchored >= 0]):
        rows = np.flatnonzero(anchored == a)
        chosen[rows if len(rows) <= _SAMPLE_PER_ANCHOR else rng.choice(rows, _SAMPLE_PER_ANCHOR, replace=False)] = True
    langs = np.array([p.langs[r] for r in p.uniq_rows])
    room = max(0, _SAMPLE_SIZE - int(chosen.sum()))
    for lang in sorted(set(langs.tolist())):
        rows = np.flatnonzero((langs == lang) & ~chosen)
        take = min(len(rows), max(1, round(room * int((langs == lang).sum()) / n_u)))
        if take:
            chosen[rng.choice(rows, take, replace=False)] = True
    return np.flatnonzero(chosen)


def _subset(p: _Prepared, sample: np.ndarray) -> _Prepared:
    """Return the prepared input restricted to the sampled distinct texts (rows keep their numbers)."""
    position = np.full(len(p.uniq_rows), -1, dtype=np.int64)
    position[sample] = np.arange(len(sample))
    content_rows: list[int] = []
    member_of: list[int] = []
    for row, u in zip(p.content_rows, p.member_of):
        if position[u] >= 0:
            content_rows.append(row)
            member_of.append(int(position[u]))
    return replace(p, content_rows=content_rows, uniq_rows=[p.uniq_rows[u] for u in sample], member_of=member_of,
                   weights=p.weights[sample], glosses={int(position[u]): g for u, g in p.glosses.items() if position[u] >= 0})


def _place_rest(z_all: np.ndarray, sample: np.ndarray, labels: np.ndarray, shape: _Shape,
                anchored_all: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place every distinct text outside the sample in the group whose centre is nearest.

    Returns labels, similarities to their group's centre and unclear flags for every distinct
    text. The sample keeps its own; the others are unclear by the sample's rules (less similar
    than their group's floor, untypical and torn between two groups, or in a dissolved group).
    A text of a reviewed theme stays in it; a group with no clear sampled answer takes none.
    """
    n_u = len(z_all)
    n_groups = len(shape.centroids)
    alive = np.zeros(n_groups, dtype=bool)
    alive[np.unique(labels[~shape.unclear])] = True
    exists = np.zeros(n_groups, dtype=bool)
    exists[np.unique(labels)] = True
    labels_all = np.full(n_u, -1, dtype=np.int64)
    sims_all = np.zeros(n_u, dtype=np.float64)
    unclear_all = np.zeros(n_u, dtype=bool)
    labels_all[sample] = labels
    sims_all[sample] = shape.sims
    unclear_all[sample] = shape.unclear
    in_sample = np.zeros(n_u, dtype=bool)
    in_sample[sample] = True
    rest = np.flatnonzero(~in_sample)
    floors = shape.floors if shape.floors is not None else np.full(n_groups, -np.inf)
    dissolved = shape.dissolved if shape.dissolved is not None else np.zeros(n_groups, dtype=bool)
    for start in range(0, len(rest), _CHUNK):
        rows = rest[start : start + _CHUNK]
        sims = z_all[rows] @ shape.centroids.T
        sims[:, ~exists] = -np.inf
        best = sims.argmax(axis=1)
        anchor = anchored_all[rows]
        kept = (anchor >= 0) & (anchor < n_groups)
        kept[kept] = exists[anchor[kept]]
        best[kept] = anchor[kept]
        own = sims[np.arange(len(rows)), best]
        if n_groups > 1:
            second = np.partition(sims, -2, axis=1)[:, -2]
            torn = (own < shape.weak) & (own - second < _TORN_MARGIN)
        else:
            torn = np.zeros(len(rows), dtype=bool)
        unclear = (own < floors[best]) | torn | dissolved[best] | ~alive[best]
        unclear[kept] = False
        labels_all[rows] = best
        sims_all[rows] = own
        unclear_all[rows] = unclear
    return labels_all, sims_all, unclear_all


def _find_themes_sampled(p: _Prepared, sample: np.ndarray, texts: Mapping[AnswerId, str], *, question: str | Sequence[str] | None,
                         anchors: tuple[Anchor, ...], k: int | None, k_min: int, k_max: int, seed: int, subthemes: bool,
                         secondary: bool, step: Callable[[float, int], None]) -> ThemeSet:
    """Find themes on a sample of the distinct texts, then place every other answer (see ``_SAMPLE_ABOVE``)."""
    items = p.items
    ps = _subset(p, sample)
    terms = _index_terms(ps, _question_stems(question, set(p.langs)))
    position = np.full(len(p.uniq_rows), -1, dtype=np.int64)
    position[sample] = np.arange(len(sample))
    step(2, ENGINE_STEPS)
    # The projection of every other text is most of a sampled run: the progress bar moves with its chunks.
    represented = _represent_sampled(p, terms, seed, sample, progress=lambda share: step(2 + share, ENGINE_STEPS))
    if represented is not None:
        z_all, centred, big_langs = represented
    else:
        z_all, centred, big_langs = _represent_at_once(p, terms, seed, sample, position)
    del represented
    _give_back()  # the projection's chunks, before clustering and the descriptions' child
    step(3, ENGINE_STEPS)
    anchored_all = _anchor_rows(p, anchors)
    anchored = anchored_all[sample]
    z = z_all[sample]
    labels, k_scores = _cluster(z, ps, anchored, big_langs, centred, k, k_min, k_max, seed)
    step(4, ENGINE_STEPS)
    shape = _shape(z, labels, ps.weights, anchored, dissolve_weak=k is None)
    labels_all, sims_all, unclear_all = _place_rest(z_all, sample, labels, shape, anchored_all)
    shape_all = replace(shape, sims=sims_all, unclear=unclear_all)
    machine, kept_anchors = _order_groups(labels_all, shape_all, p.weights, len(anchors))
    members_all: dict[int, list[int]] = defaultdict(list)
    for row, u in zip(p.content_rows, p.member_of):
        members_all[u].append(row)
    members_sample = {int(position[u]): rows for u, rows in members_all.items() if position[u] >= 0}
    ids = _theme_ids(machine, kept_anchors, anchors)
    second = _secondary(z_all, labels_all, shape_all, kept_anchors + machine, p) if secondary else {}
    step(5, ENGINE_STEPS)
    # Described from the sample: labels, headlines, quotes and claims; then every answer is counted.
    builder = _Builder(ps, terms, z, shape.sims, len(machine) + len(kept_anchors), members_sample)
    themes, all_subs, _assignment, _sub = _describe_groups(
        builder, labels, shape, machine, kept_anchors, anchors, ids, {}, seed, subthemes=subthemes)
    second_of: dict[int, list[int]] = defaultdict(list)
    for u, c in second.items():
        second_of[c].append(u)
    group_of = {ids[c]: c for c in kept_anchors + machine}
    assignment: dict[AnswerId, str] = {items[r].id: CONTENTLESS_ID for r in p.contentless_rows}
    sub_assignment: dict[AnswerId, str] = {}
    subs_of: dict[str, list[Theme]] = defaultdict(list)
    for sub in all_subs:
        subs_of[sub.parent or ""].append(sub)
    widened_subs: list[Theme] = []
    widened: list[Theme] = []
    widening = _Widening.of(p)
    for theme in themes:
        c = group_of[theme.id]
        uniq = np.flatnonzero((labels_all == c) & ~unclear_all)
        theme = _widen(theme, uniq, p, sims_all, members_all, widening,
                       secondary_ids=tuple(items[r].id for u in second_of.get(c, []) for r in members_all[u]))
        widened.append(theme)
        assignment.update({aid: theme.id for aid in theme.answer_ids})
        subs = subs_of.get(theme.id, [])
        if subs:
            for sub, sub_uniq in zip(subs, _split_by_subthemes(subs, uniq, position, sample, ps, z_all, p.weights)):
                sub = _widen(sub, sub_uniq, p, sims_all, members_all, widening)
                widened_subs.append(sub)
                sub_assignment.update({aid: sub.id for aid in sub.answer_ids})
    other_sample = np.flatnonzero(shape.unclear)
    other = builder.theme(OTHER_ID, other_sample, messages.OTHER_LABEL) if len(other_sample) else _empty_theme(OTHER_ID, messages.OTHER_LABEL)
    other_uniq = np.flatnonzero(unclear_all)
    other = _widen(other, other_uniq, p, sims_all, members_all, widening) if len(other_uniq) else other
    other = replace(other, headline=messages.OTHER_LABEL, headline_language=None)
    for aid in other.answer_ids:
        assignment[aid] = OTHER_ID
    k_scores["sampled_distinct_answers"] = float(len(sample))
    split = int(k_scores.get("themes_split_by_language", 0))
    method = _method_note(len(machine), k, k_min, k_max, seed, p.used_translation, centred, split,
                          glossed=len(p.glosses), anchored=len(kept_anchors), question=bool(question))
    method += " " + messages.METHOD_SAMPLE_NOTE.format(n=len(p.uniq_rows), sample=len(sample))
    return ThemeSet(
        themes=tuple(widened),
        other=other,
        contentless=tuple(items[r].id for r in p.contentless_rows),
        assignment=MappingProxyType({a.id: assignment[a.id] for a in items}),
        k_chosen=len(widened),
        method=method,
        seed=seed,
        texts=texts,
        k_scores=MappingProxyType(k_scores),
        languages=MappingProxyType(dict(p.answer_langs)),
        subthemes=tuple(widened_subs),
        sub_assignment=MappingProxyType(sub_assignment),
        secondary=MappingProxyType({items[r].id: (ids[c],) for u, c in second.items() for r in members_all[u]}),
        glosses=MappingProxyType({items[r].id: g for u, g in p.glosses.items() for r in members_all[u]}),
        main_language=p.main_language,
    )


# --- large input: fitted on the sample, every other text read a chunk at a time ------------------------


def _represent_at_once(p: _Prepared, terms: _Terms, seed: int, sample: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, bool, list[str]]:
    """Return :func:`_represent` fitted on ``sample``, every text's words and blocks held at once (the way before
    :func:`_represent_sampled`; kept for the cases it leaves, and to check it gives the same numbers)."""
    surface_stems = _surface_stems(terms)
    # Every text's stemmed words (the word block reads them; the sample's are already read) and character text.
    stems: list[list[str]] = []
    char_texts: list[str] = []
    known: dict[str, _TokenStems] = {}
    for u, r in enumerate(p.uniq_rows):
        if position[u] >= 0:
            stems.append(terms.stems[position[u]])
            char_texts.append(_without(textmod.analysis_text(p.analysed[r]), p.langs[r], surface_stems))
        else:
            found, text = _words_once(p.analysed[r], p.langs[r], surface_stems, known)
            stems.append(found)
            char_texts.append(text)
    del known
    return _represent(p, terms, seed, stems=stems, char_texts=char_texts, fit_rows=sample)


@dataclass
class _FittedLsa:
    """A TF-IDF vocabulary and LSA axes learnt from the sample (the fit path of :func:`_lsa_block`)."""

    vec: object
    svd: object

    def project(self, docs: Sequence[str]) -> np.ndarray:
        """Return the texts' normalised LSA coordinates (float32), each row from its own text alone."""
        out = np.asarray(self.svd.transform(self.vec.transform(docs)), dtype=np.float32)
        return _l2(out, copy=False)


def _fit_lsa(docs: Sequence[str], dims: int, seed: int, **kwargs: object) -> tuple[_FittedLsa, np.ndarray] | None:
    """Fit a TF-IDF and LSA block on the sample's ``docs`` as :func:`_lsa_block` does with ``fit_rows``; return it
    and the sample's own normalised coordinates (``None`` where there is no block)."""
    fit = _fit_vectorizer_and_axes(docs, dims, seed, **kwargs)
    if fit is None:
        return None
    vec, svd, fitted = fit
    own = np.asarray(svd.transform(fitted), dtype=np.float32)
    return _FittedLsa(vec, svd), _l2(own, copy=False)


def _fit_vectorizer_and_axes(docs: Sequence[str], dims: int, seed: int, **kwargs: object):
    """Learn a TF-IDF vocabulary and LSA axes from the sample's ``docs``; return the vectorizer, the axes and the
    sample's TF-IDF rows (``None`` when there is no vocabulary or fewer than 8 axes). The rows have their entries in
    column order, so projecting them gives, bit for bit, what ``transform()`` would (checked), each row on its own."""
    TruncatedSVD = _truncated_svd_class()  # noqa: N806
    TfidfVectorizer = _vectorizer_class()  # noqa: N806
    vec = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32, **kwargs)
    try:
        fitted = vec.fit_transform(docs)
    except ValueError:  # empty vocabulary
        return None
    comps = min(dims, fitted.shape[0] - 1, fitted.shape[1] - 1)
    if comps < 8:
        return None
    svd = TruncatedSVD(n_components=comps, random_state=seed, algorithm="randomized", n_iter=_SVD_ITER).fit(fitted)
    fitted.sort_indices()
    return vec, svd, fitted


@dataclass
class _TextsOf:
    """What each feature block reads of some distinct texts (see :func:`_represent`)."""

    char_docs: list[str]
    embed_texts: list[str]
    term_docs: list[str]


def _texts_of(p: _Prepared, uniq: Sequence[int], stems: Sequence[list[str]], char_texts: Sequence[str],
              surface_stems: frozenset[str]) -> _TextsOf:
    """Return what the blocks read of the distinct texts ``uniq``, given their stems and character texts."""
    char_docs = _char_docs(char_texts)
    embed_texts = [p.glosses.get(u, text) for u, text in zip(uniq, char_texts)]
    term_docs = []
    for u, found in zip(uniq, stems):
        if u in p.glosses:
            term_docs.append(" ".join(t for t in textmod.terms(p.glosses[u], PIVOT_LANGUAGE) if t not in surface_stems))
        else:
            term_docs.append(" ".join(key for key in found if key not in surface_stems))
    return _TextsOf(char_docs, embed_texts, term_docs)


def _char_docs(char_texts: Sequence[str]) -> list[str]:
    """Return what the character block reads of each text: clipped to ``_CHAR_LIMIT`` characters, accents folded."""
    clipped = [t[:_CHAR_LIMIT] for t in char_texts]
    return [textmod.fold_accents(t) for t in clipped] if _FOLD else clipped


@dataclass
class _Streamed:
    """The sample's fitted blocks, and how any distinct text's blocks are made and combined like the sample's."""

    chars: _FittedLsa | None
    model: object
    words: _FittedLsa | None
    centre_means: list[dict[str, np.ndarray]]  # per block, each big language's mean over the sample
    wordllama_scale: np.ndarray  # per distinct text
    names: list[str]

    def blocks(self, texts: _TextsOf, uniq: np.ndarray, uniq_langs: np.ndarray, centred: bool) -> list[np.ndarray]:
        """Return the normalised, centred and weighted blocks of some distinct texts, as :func:`_represent` makes them."""
        blocks: list[np.ndarray] = []
        if self.chars is not None:
            blocks.append(self.chars.project(texts.char_docs))
        if self.model is not None:
            blocks.append(_embed(self.model, texts.embed_texts))
        if self.words is not None:
            blocks.append(self.words.project(texts.term_docs))
        return self.finish(blocks, uniq, uniq_langs, centred)

    def finish(self, blocks: list[np.ndarray], uniq: np.ndarray, uniq_langs: np.ndarray, centred: bool) -> list[np.ndarray]:
        """Centre each block's languages on the sample's means and weigh WordLlama (in place), as :func:`_represent` does."""
        langs = uniq_langs[uniq]
        if centred:
            for position, block in enumerate(blocks):
                for lang, mean in self.centre_means[position].items():
                    rows = np.flatnonzero(langs == lang)
                    if len(rows):
                        block[rows] -= mean
                blocks[position] = _l2(block, copy=False)
        if "wordllama" in self.names:
            blocks[self.names.index("wordllama")] *= self.wordllama_scale[uniq][:, None]
        return blocks


def _represent_sampled(p: _Prepared, terms: _Terms, seed: int, sample: np.ndarray,
                       progress: Callable[[float], None] | None = None) -> tuple[np.ndarray, bool, list[str]] | None:
    """Return what :func:`_represent` returns with ``fit_rows=sample``, the same numbers, in memory that does not grow with
    the input: the blocks are fitted on the sample, and the other texts are read, represented and projected a chunk
    at a time (only their final coordinates are kept). ``None`` in the rare cases it leaves to :func:`_represent`.

    Each row of every step (TF-IDF, LSA, WordLlama pooling, centring, normalising) depends on its own text only;
    the final projection runs on the same chunks of rows as :func:`_combine`'s. With :mod:`analysis.forking` on, a
    child fits the character block (:func:`_sample_chars_beside`) while this process embeds and fits the word block.
    ``progress(share)`` hears the share of the projection's chunks taken so far (:func:`_project_rest`).
    """
    n_u = len(p.uniq_rows)
    uniq_langs = np.array([p.langs[r] for r in p.uniq_rows])
    surface_stems = _surface_stems(terms)
    own = [_without(textmod.analysis_text(p.analysed[p.uniq_rows[u]]), p.langs[p.uniq_rows[u]], surface_stems) for u in sample]
    with _sample_chars_beside(own, seed) or contextlib.nullcontext() as chars:
        texts = _texts_of(p, sample.tolist(), terms.stems, own, surface_stems)
        del own
        char_docs = texts.char_docs
        if chars is None:
            fitted_chars = _fit_sample_chars(char_docs, seed)
        model = _embedder()  # WordLlama's files, as the smaller runs read them (a job's warm-up may have read them)
        embedded = _embed(model, texts.embed_texts) if model is not None else None
        fitted_words = _fit_lsa(texts.term_docs, _WORD_DIMS, seed, token_pattern=r"\S+", ngram_range=(1, 2), max_features=_MAX_FEATURES)
        # Read while the character block's child may still be working (used once every text is projected).
        lengths = np.array([len(p.analysed[r].split()) for r in p.uniq_rows], dtype=np.float64)
        if chars is not None:
            fitted_chars = _unpacked_lsa(chars.result(instead=lambda: _packed_lsa(_fit_sample_chars(char_docs, seed))))
    del texts, char_docs
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for name, block in (("characters", fitted_chars and fitted_chars[1]), ("wordllama", embedded), ("words", fitted_words and fitted_words[1])):
        if block is not None:
            blocks.append(block)
            names.append(name)
    if not blocks:
        return None
    big_langs = _big_languages(p)
    centred = len(big_langs) >= 2
    sample_langs = uniq_langs[sample]
    sample_weights = p.weights[sample]
    means: list[dict[str, np.ndarray]] = []
    for block in blocks:
        found: dict[str, np.ndarray] = {}
        for lang in big_langs if centred else ():
            mean_rows = sample_langs == lang
            w = sample_weights[mean_rows][:, None]
            if w.sum() > 0:
                found[lang] = (block[mean_rows] * w).sum(axis=0) / w.sum()
        means.append(found)
    english = (uniq_langs == "en") | np.array([u in p.glosses for u in range(n_u)], dtype=bool)
    scale = np.where(english, _WORDLLAMA_ENGLISH, _WORDLLAMA_OTHER_LANGUAGES).astype(np.float32)
    streamed = _Streamed(fitted_chars and fitted_chars[0], model if embedded is not None else None,
                         fitted_words and fitted_words[0], means, scale, names)
    blocks = streamed.finish(blocks, sample, uniq_langs, centred)
    axes = _pca_axes(_joined(blocks, slice(None)), sample_weights)
    if axes is None:
        return None
    mean, axes = axes
    _give_back()  # the sample's fit (its TF-IDF counts, WordLlama's token ids), before the projection's helper forks
    z = _project_rest(p, sample, blocks, streamed, uniq_langs, centred, surface_stems, mean, axes, progress=progress)
    return _without_length(z, lengths, p.weights), centred, big_langs


def _fit_sample_chars(char_docs: Sequence[str], seed: int) -> tuple[_FittedLsa, np.ndarray] | None:
    """Return the character block fitted on the sample's ``char_docs`` (:func:`_fit_lsa`)."""
    return _fit_lsa(char_docs, _CHAR_DIMS, seed, analyzer="char_wb", ngram_range=_CHAR_GRAMS, max_features=_MAX_FEATURES)


def _sample_chars_beside(own: Sequence[str], seed: int) -> forking.Pending | None:
    """Start, in a forked child, the character block's fit on the sample's texts ``own`` (each without the words set
    aside), which this process would make before embedding the sample and fitting the word block: those are made
    meanwhile (issue 19: 3 to 4 s of one core at 200,000 answers, the other idle). ``None`` (made here) unless
    :mod:`analysis.forking` is on."""
    return forking.beside(_sample_chars, own, seed) if forking.enabled() else None


def _sample_chars(own: Sequence[str], seed: int) -> tuple | None:
    """Return the character block fitted on the sample's texts ``own`` as a child sends it (:func:`_packed_lsa`)."""
    return _packed_lsa(_fit_sample_chars(_char_docs(own), seed))


def _packed_lsa(fitted: tuple[_FittedLsa, np.ndarray] | None) -> tuple | None:
    """Return a fitted block as a child sends it: its vectorizer's class is made in a function (:func:`_vectorizer_class`),
    which pickle cannot name, so its attributes travel instead (:func:`_unpacked_lsa` makes it again)."""
    if fitted is None:
        return None
    lsa, own = fitted
    return dict(lsa.vec.__dict__), lsa.svd, own


def _unpacked_lsa(packed: tuple | None) -> tuple[_FittedLsa, np.ndarray] | None:
    """Return the fitted block :func:`_packed_lsa` packed: the same vocabulary, weights and axes."""
    if packed is None:
        return None
    state, svd, own = packed
    vec = _vectorizer_class().__new__(_vectorizer_class())
    vec.__dict__.update(state)
    return _FittedLsa(vec, svd), own


def _pca_axes(fit: np.ndarray, fit_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the weighted mean and main axes :func:`_combine` finds for the joined blocks ``fit`` (the same steps;
    ``None`` when it would not project)."""
    dims = min(_FINAL_DIMS, fit.shape[0] - 1, fit.shape[1] - 1)
    if dims < 8:
        return None
    mean = (fit.astype(np.float64) * fit_weights[:, None]).sum(axis=0) / fit_weights.sum() if len(fit) <= _CHUNK else _weighted_mean(fit, fit_weights)
    cov = np.zeros((fit.shape[1], fit.shape[1]), dtype=np.float64)
    for start in range(0, len(fit), _CHUNK):
        part = fit[start : start + _CHUNK].astype(np.float64) - mean
        cov += (part * fit_weights[start : start + _CHUNK, None]).T @ part
    _, vectors = np.linalg.eigh(cov)
    axes = vectors[:, ::-1][:, :dims]
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), np.arange(dims)] < 0, -1.0, 1.0)
    return mean, axes


def _project_rest(p: _Prepared, sample: np.ndarray, sample_blocks: list[np.ndarray], streamed: _Streamed,
                  uniq_langs: np.ndarray, centred: bool, surface_stems: frozenset[str], mean: np.ndarray,
                  axes: np.ndarray, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Return every distinct text's combined coordinates (L2-normalised, float64), a chunk of rows at a time: the
    sample's from its blocks, every other text's words read, its blocks made and projected, then let go.

    With more than ``_HELPER_ABOVE`` texts outside the sample, a forked helper process, at a lower priority, takes
    chunks too, from the same queue, and writes their rows into the same (shared) array: a background run uses the
    machine's second core when it is idle, and leaves it to the web workers when it is not. Each chunk is the same
    computation wherever it runs; a chunk the helper did not finish (it died) is projected here.

    ``progress(share)``, called in this process only (never in the helper), hears after each chunk it projects the share
    of the chunks taken by either process; it may raise to stop the run (the helper is stopped too).
    """
    n_u = len(p.uniq_rows)
    position = np.full(n_u, -1, dtype=np.int64)
    position[sample] = np.arange(len(sample))
    starts = list(range(0, n_u, _CHUNK))
    helped = n_u - len(sample) > _HELPER_ABOVE and hasattr(os, "fork")
    out = _shared(n_u * axes.shape[1], np.float64).reshape(n_u, axes.shape[1]) if helped else np.empty((n_u, axes.shape[1]))
    done = _shared(len(starts), np.uint8)
    taken = _shared(1, np.int64)
    import multiprocessing  # noqa: PLC0415 - a lock that works across a fork

    lock = multiprocessing.get_context("fork").Lock() if helped else None

    def project(report: Callable[[float], None] | None = None) -> None:
        """Project chunks into ``out`` until none is left to take (or the queue's lock is stuck: a helper died holding it);
        ``report(share)`` hears after each chunk how many of them are taken (see above)."""
        known: dict[str, _TokenStems] = {}
        while True:
            if lock is not None and not lock.acquire(timeout=10):
                return
            try:
                c = int(taken[0])
                taken[0] = c + 1
            finally:
                if lock is not None:
                    lock.release()
            if c >= len(starts):
                return
            rows = np.arange(starts[c], min(starts[c] + _CHUNK, n_u))
            out[rows] = _project_chunk(p, rows, position, sample_blocks, streamed, uniq_langs, centred, surface_stems,
                                       known, mean, axes)
            done[c] = 1
            if report is not None:
                report(min(1.0, int(taken[0]) / len(starts)))

    helper = _fork_helper(project) if helped else None
    try:
        project(progress)
        # What the helper has not finished (the chunk it is on, or one it died on) is done here rather than waited
        # for (a helper at a lower priority may be kept waiting): the same values, so a row both write is the same.
        known: dict[str, _TokenStems] = {}
        for c in np.flatnonzero(done == 0).tolist():
            rows = np.arange(starts[c], min(starts[c] + _CHUNK, n_u))
            out[rows] = _project_chunk(p, rows, position, sample_blocks, streamed, uniq_langs, centred, surface_stems,
                                       known, mean, axes)
    finally:
        if helper is not None:
            _stop_helper(helper)
    return _l2(out, copy=False)


def _project_chunk(p: _Prepared, rows: np.ndarray, position: np.ndarray, sample_blocks: list[np.ndarray], streamed: _Streamed,
                   uniq_langs: np.ndarray, centred: bool, surface_stems: frozenset[str], known: dict[str, _TokenStems],
                   mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Return one chunk of distinct texts' projected coordinates (before the final normalising)."""
    inside = position[rows] >= 0
    rest = rows[~inside]
    stems: list[list[str]] = []
    char_texts: list[str] = []
    for u in rest.tolist():
        r = p.uniq_rows[u]
        found, text = _words_once(p.analysed[r], p.langs[r], surface_stems, known)
        stems.append(found)
        char_texts.append(text)
    made = streamed.blocks(_texts_of(p, rest.tolist(), stems, char_texts, surface_stems), rest, uniq_langs, centred) if len(rest) else []
    parts = []
    for b, block in enumerate(sample_blocks):
        part = np.empty((len(rows), block.shape[1]), dtype=block.dtype)
        part[inside] = block[position[rows[inside]]]
        if len(rest):
            part[~inside] = made[b]
        parts.append(part)
    chunk = _joined(parts, slice(None))
    return (chunk.astype(np.float64) - mean) @ axes


def _shared(n: int, dtype: type) -> np.ndarray:
    """Return ``n`` zeros in memory a forked helper writes into and this process reads."""
    import mmap  # noqa: PLC0415

    return np.frombuffer(mmap.mmap(-1, max(1, n * np.dtype(dtype).itemsize), flags=mmap.MAP_SHARED), dtype=dtype, count=n)


def _fork_helper(work: Callable[[], None]) -> int | None:
    """Run ``work()`` in a forked helper process and return its id (``None`` if it could not start)."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    code = 1
    try:
        # Tokenizers' own threads do not survive a fork; it would say so on every call.
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        os.nice(10)  # residents' requests come first; the run takes the chunks the helper does not
        try:  # end with the run if it ends (Linux)
            import ctypes  # noqa: PLC0415
            import signal  # noqa: PLC0415

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
        work()
        code = 0
    except BaseException:  # noqa: BLE001 - the run projects the helper's chunks itself
        log.exception("The theme engine's helper process failed; its chunks are projected again")
    finally:
        os._exit(code)


def _stop_helper(pid: int) -> None:
    """End a helper (its work is done or done again here) and wait for it, so that it writes nothing more."""
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


@dataclass
class _Widening:
    """What :func:`_widen` reads of every answer, made once for all of a run's themes and sub-themes (issue 19: read
    again for each of them, it was most of their 1.6 s at 200,000 answers)."""

    uniq_rows: np.ndarray  # each distinct text's first row
    languages: list[str]  # each answer's base language
    ids: list[AnswerId]

    @classmethod
    def of(cls, p: _Prepared) -> _Widening:
        """Return what :func:`_widen` reads of ``p``'s answers."""
        return cls(np.asarray(p.uniq_rows, dtype=np.int64), [textmod._base_language(a.language) for a in p.items],
                   [a.id for a in p.items])


def _ranked(uniq: np.ndarray, sims: np.ndarray, uniq_rows: np.ndarray) -> list[int]:
    """Return the distinct texts ``uniq`` most similar first, ties by their first row: what ``sorted`` by
    ``(-sims[u], uniq_rows[u])`` gives (first rows differ, so no tie is left), sorted by numpy (in Python with a NaN)."""
    found = sims[uniq]
    if np.isnan(found).any():
        return sorted(uniq.tolist(), key=lambda u: (-sims[u], uniq_rows[u]))
    return uniq[np.lexsort((uniq_rows[uniq], -found))].tolist()


def _widen(theme: Theme, uniq: np.ndarray, p: _Prepared, sims: np.ndarray, members: Mapping[int, list[int]],
           widening: _Widening | None = None, **extra: object) -> Theme:
    """Return a theme described from a sample with every one of its answers (distinct texts ``uniq``), most typical first."""
    widening = widening or _Widening.of(p)
    rows = [row for u in _ranked(uniq, sims, widening.uniq_rows) for row in members[u]]
    lang_counts = Counter(map(widening.languages.__getitem__, rows))
    single = next(iter(lang_counts)) if len(lang_counts) == 1 and len(p.answer_langs) > 1 else None
    return replace(theme, size=len(rows), answer_ids=tuple(map(widening.ids.__getitem__, rows)),
                   languages=MappingProxyType(dict(lang_counts.most_common())), single_language=single,
                   glossed=sum(len(members[u]) for u in uniq.tolist() if u in p.glosses) if p.glosses else 0,
                   **extra)  # type: ignore[arg-type]


def _split_by_subthemes(subs: Sequence[Theme], uniq: np.ndarray, position: np.ndarray, sample: np.ndarray,
                        ps: _Prepared, z_all: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Return each sub-theme's distinct texts (full numbering): its sampled ones, and the theme's others by nearest sub-centre."""
    sample_of: dict[AnswerId, int] = {}
    for row, s in zip(ps.content_rows, ps.member_of):
        sample_of[ps.items[row].id] = int(sample[s])
    parts = [np.unique(np.array([sample_of[aid] for aid in sub.answer_ids], dtype=np.int64)) for sub in subs]
    centres = _l2(np.vstack([(z_all[part] * weights[part][:, None]).sum(axis=0) for part in parts]))
    rest = uniq[position[uniq] < 0]
    nearest = (z_all[rest] @ centres.T).argmax(axis=1) if len(rest) else np.zeros(0, dtype=np.int64)
    return [np.concatenate([part, rest[nearest == n]]) for n, part in enumerate(parts)]


def _order_groups(labels: np.ndarray, shape: _Shape, weights: np.ndarray, n_anchor: int) -> tuple[list[int], list[int]]:
    """Return the machine groups by size (largest first, ties by first appearance) and the reviewed groups still holding answers."""
    n_clusters = int(labels.max()) + 1
    sizes = np.bincount(labels[~shape.unclear], weights=weights[~shape.unclear], minlength=n_clusters)
    first = [int(np.flatnonzero(labels == c)[0]) if (labels == c).any() else len(labels) for c in range(n_clusters)]
    machine = sorted((c for c in range(n_anchor, n_clusters) if sizes[c] > 0), key=lambda c: (-sizes[c], first[c]))
    kept_anchors = [c for c in range(n_anchor) if (labels == c).any()]
    return machine, kept_anchors


def _describe_groups(builder: _Builder, labels: np.ndarray, shape: _Shape, machine: list[int], kept_anchors: list[int],
                     anchors: Sequence[Anchor], ids: Mapping[int, str], second: Mapping[int, int], seed: int, *,
                     subthemes: bool) -> tuple[list[Theme], list[Theme], dict[AnswerId, str], dict[AnswerId, str]]:
    """Describe every group as a theme (with its sub-themes); return themes, sub-themes, assignment and sub-assignment."""
    p = builder.p
    n_anchor = len(anchors)
    second_of: dict[int, list[int]] = defaultdict(list)
    for u, c in second.items():
        second_of[c].append(u)
    overlaps = _overlaps(shape.centroids, machine, kept_anchors, labels, shape)
    themes: list[Theme] = []
    all_subs: list[Theme] = []
    assignment: dict[AnswerId, str] = {p.items[r].id: CONTENTLESS_ID for r in p.contentless_rows}
    sub_assignment: dict[AnswerId, str] = {}
    members = {c: np.flatnonzero((labels == c) & ~shape.unclear) for c in kept_anchors + machine}

    def describe(groups: Sequence[int]) -> list[tuple[Theme, list[Theme]]]:
        """Return each group's theme (with its sub-themes' ids) and its sub-themes."""
        described = []
        for c in groups:
            uniq = members[c]
            extra = {
                "coherence": round(float(shape.coherence[c]), 3),
                "mixed": bool(shape.mixed[c]),
                "reviewed": c < n_anchor,
                "overlaps": ids.get(overlaps[c]) if c in overlaps else None,
                "secondary_ids": tuple(p.items[r].id for u in second_of.get(c, []) for r in builder.members_by_uniq[u]),
            }
            theme = builder.theme(ids[c], uniq, anchors[c].label if c < n_anchor else None, **extra)
            subs: list[Theme] = []
            if subthemes:
                subs = _build_subthemes(builder, theme, uniq, builder.z, p.weights, seed)
                theme = replace(theme, subthemes=tuple(sub.id for sub in subs))
            described.append((theme, subs))
        return described

    for theme, subs in _described_in_two(describe, kept_anchors + machine, {c: len(m) for c, m in members.items()}):
        all_subs += subs
        sub_assignment.update({aid: sub.id for sub in subs for aid in sub.answer_ids})
        themes.append(theme)
        assignment.update({aid: theme.id for aid in theme.answer_ids})
    return themes, all_subs, assignment, sub_assignment


def _described_in_two(describe: Callable[[Sequence[int]], list], groups: Sequence[int], sizes: Mapping[int, int]) -> list:
    """Return ``describe(groups)``, made by this process and a forked child, half of the work each, when forking is on.

    Each group's theme is its own computation (the builder's caches only remember what they read),
    so the child's themes are the ones this process would make. The child takes groups, largest
    first, while it holds less than half of the distinct texts; ``_FORK_ABOVE`` distinct texts at least.
    """
    if not forking.enabled() or len(groups) < 2 or sum(sizes.values()) < _FORK_ABOVE:
        return describe(groups)
    theirs: set[int] = set()
    held = [0, 0]  # distinct texts: this process's, the child's
    for c in sorted(groups, key=lambda c: -sizes[c]):
        side = 1 if held[1] < held[0] else 0
        held[side] += sizes[c]
        if side:
            theirs.add(c)
    with forking.beside(describe, [c for c in groups if c in theirs]) as pending:
        ours = iter(describe([c for c in groups if c not in theirs]))
        others = iter(pending.result())
    return [next(others) if c in theirs else next(ours) for c in groups]


def _theme_ids(machine: Sequence[int], kept_anchors: Sequence[int], anchors: Sequence[Anchor]) -> dict[int, str]:
    """Return each group's theme id: a reviewed theme keeps its own, machine themes are t1, t2... by size."""
    ids = {c: str(anchors[c].id) for c in kept_anchors}
    taken = set(ids.values())
    n = 0
    for c in machine:
        n += 1
        while f"t{n}" in taken:
            n += 1
        ids[c] = f"t{n}"
    return ids


def _overlaps(centroids: np.ndarray, machine: Sequence[int], kept_anchors: Sequence[int], labels: np.ndarray, shape: _Shape) -> dict[int, int]:
    """Return machine theme -> reviewed theme it overlaps.

    A machine theme overlaps the reviewed theme nearest to it when its centre is as close to that
    theme's centre as the theme's own answers are, or when the two centres are close enough that
    choosing k would have made them one theme (cosine distance under ``_MERGE_DISTANCE``).
    """
    out: dict[int, int] = {}
    if not kept_anchors:
        return out
    for c in machine:
        sims = [(float(centroids[c] @ centroids[a]), a) for a in kept_anchors]
        best, a = max(sims)
        if best >= min(float(np.mean(shape.sims[labels == a])), 1.0 - _MERGE_DISTANCE):
            out[c] = a
    return out


def _build_subthemes(builder: _Builder, theme: Theme, uniq: np.ndarray, z: np.ndarray, weights: np.ndarray, seed: int) -> list[Theme]:
    """Return a theme's sub-themes (ids ``t1.1``, ``t1.2``... by size), or none when it is too small."""
    sub = _subgroups(z, weights, uniq, seed) if len(uniq) else None
    if sub is None:
        return []
    sizes = np.bincount(sub, weights=weights[uniq])
    order = sorted(range(len(sizes)), key=lambda s: (-sizes[s], int(np.flatnonzero(sub == s)[0])))
    return [builder.theme(f"{theme.id}.{n}", uniq[sub == s], None, parent=theme.id) for n, s in enumerate(order, start=1) if sizes[s] > 0]


def _nothing_to_theme(p: _Prepared, texts: Mapping[AnswerId, str], k: int | None, k_min: int, k_max: int, seed: int) -> ThemeSet:
    """Return the result for input with no answer to theme (empty, or contentless only)."""
    return ThemeSet(
        themes=(),
        other=_empty_theme(OTHER_ID, messages.OTHER_LABEL),
        contentless=tuple(p.items[r].id for r in p.contentless_rows),
        assignment=MappingProxyType({p.items[r].id: CONTENTLESS_ID for r in p.contentless_rows}),
        k_chosen=0,
        method=_method_note(0, k, k_min, k_max, seed, p.used_translation, False),
        seed=seed,
        texts=texts,
        k_scores=MappingProxyType({}),
        languages=MappingProxyType(dict(p.answer_langs)),
        main_language=p.main_language,
    )


def _method_note(k_chosen: int, k: int | None, k_min: int, k_max: int, seed: int, translated: bool, centred: bool, split: int = 0,
                 *, glossed: int = 0, anchored: int = 0, question: bool = False) -> str:
    """Return the plain-language method note for a report (``split``: themes split by language)."""
    if k is None:
        # Splitting comes after k-means: the note counts the themes k-means made, then the splits.
        k_note = messages.METHOD_K_AUTO.format(k=k_chosen - split, k_min=k_min, k_max=k_max)
    elif k_chosen + anchored < k:
        # Fewer answers than themes asked for, or answers the engine cannot tell apart.
        k_note = messages.METHOD_K_FEWER.format(k=k, found=k_chosen + anchored)
    else:
        k_note = messages.METHOD_K_FIXED.format(k=k_chosen + anchored)
    note = messages.METHOD_NOTE.format(
        translation_note=messages.METHOD_TRANSLATION_NOTE if translated else "",
        language_note=messages.METHOD_LANGUAGE_NOTE if centred else "",
        split_note=(messages.METHOD_SPLIT_NOTE_ONE if split == 1 else messages.METHOD_SPLIT_NOTE_MANY.format(n=split)) if split else "",
        k_note=k_note,
        seed=seed,
    )
    extras = [messages.METHOD_HEADLINE_NOTE]
    if glossed:
        extras.append(messages.METHOD_GLOSS_NOTE)
    if question:
        extras.append(messages.METHOD_QUESTION_NOTE)
    if anchored:
        extras.append(messages.METHOD_ANCHOR_NOTE.format(n=anchored))
    return note + " " + " ".join(extras)


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
                       vocabulary=vocabulary, subthemes=False, secondary=False)
