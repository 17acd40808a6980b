"""Which language each answer is in, when nobody said: offline language identification.

Answers exported from another survey tool rarely carry a language column, and analysing Spanish
as English costs theme quality (stop words, stemming, the weight given to WordLlama) and fills
labels with "de" and "la". :func:`detect_languages` guesses each answer's language with
py3langid (the langid.py model, shipped inside its wheel: nothing is downloaded), restricted to
languages spoken in the communities Chorus serves, then cleans the guesses as a whole file: a
short answer ("Ok", "gracias") says too little to be trusted alone, so an answer keeps a
language other than the file's main one only when the guess is confident and that language is
not a stray few. Pure Python on numpy; no Flask, no SQLite.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence

__all__ = ["CANDIDATES", "detect_languages", "language_code"]

# Languages the guess may choose from: the app's languages and those most spoken by immigrant
# and refugee communities in the United States. A short list makes short answers less noisy.
CANDIDATES = (
    "en es fr ar vi sw pt zh ko ru ht ur hi fa so am tl ne my ps bn pa tr pl uk de it ja rw ti"
).split()
# Model labels folded into the codes used elsewhere (dialects into their language).
_ALIASES = {"ary": "ar", "arz": "ar", "yue": "zh", "wuu": "zh"}
_CONFIDENT = 0.9  # probability above which an answer's own guess may stand against the file's
_SETTLED = 0.6  # probability needed, choosing among the languages that stand, to leave the main one
_MIN_SHARE = 0.02  # a language needs this share of confident answers (and at least 5) to stand
_BATCH = 2_000  # answers scored together


_CODE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*")


@functools.cache
def _names() -> dict[str, str]:
    """Return language names (in English, Spanish, French and the language itself) -> code."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415 - only to read a language column

    names: dict[str, str] = {}
    for code in CANDIDATES:
        try:
            locale = Locale.parse(code)
        except (ValueError, UnknownLocaleError):
            continue
        for among in ("en", "es", "fr", code):
            name = locale.get_display_name(among)
            if name:
                names.setdefault(_fold(name.split(" (")[0]), code)
    return names


def _fold(text: str) -> str:
    """Return text case-folded without accents, for matching language names."""
    decomposed = unicodedata.normalize("NFD", text.strip().casefold())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def language_code(value: str | None) -> str | None:
    """Return a language code from a survey export's language cell, or ``None`` if it is not one.

    Survey tools write "es", "es-MX", "Spanish", "Español" or "español": codes are kept
    (lower-cased), names of the languages in :data:`CANDIDATES` are turned into their codes
    (written in English, Spanish, French or the language itself), and anything else gives
    ``None`` so that the caller can detect the language from the text instead.
    """
    if not value or not value.strip():
        return None
    folded = _fold(value)
    if _CODE.fullmatch(folded):
        known = _known_code(folded.replace("_", "-"))
        if known:
            return known
    return _names().get(folded)


@functools.cache
def _known_code(code: str) -> str | None:
    """Return a code Babel knows in its usual form ("es-mx", "eng" -> "en"), or ``None`` ("na")."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    base, _, region = code.partition("-")
    try:
        language = Locale.parse(base).language
    except (ValueError, UnknownLocaleError):
        return None
    return f"{language}-{region}" if region else language


_MODEL_LOCK = threading.Lock()


def _model():  # type: ignore[no-untyped-def]
    """Return py3langid's identifier over every language of its model (loaded once, offline: 0.4-0.7 s).

    Thread-safe: ``chorus themes`` loads it in a second thread (:func:`preload_model`) while the
    CSV is read, and a caller that needs it sooner waits for that load rather than making another.
    """
    with _MODEL_LOCK:
        return _load_model()


@functools.cache
def _load_model():  # type: ignore[no-untyped-def]
    """Load py3langid's identifier (LZMA decompression, which runs without the GIL, is most of it)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@functools.cache
def _identifier(candidates: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Return a py3langid identifier restricted to ``candidates``; every restriction shares the one loaded model."""
    model = _model()
    identifier = copy.copy(model)  # restricting replaces the copy's arrays, never the model's
    known = set(model.nb_classes)
    wanted = {c for c in candidates if c in known} | {a for a, c in _ALIASES.items() if c in candidates and a in known}
    identifier.set_languages(sorted(wanted))
    return identifier


def _classify(identifier, text: str) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """Return the likeliest language of ``text`` and its probability, dialects folded in.

    Moroccan and Egyptian Arabic are separate labels in the model; their probabilities are
    added to Arabic's, so that Arabic is not judged unsure for being split three ways.
    """
    folded: Counter[str] = Counter()
    for code, prob in identifier.rank(text):
        folded[_ALIASES.get(code, code)] += float(prob)
    code, prob = max(folded.items(), key=lambda item: (item[1], item[0]))
    return code, prob


def _classify_all(identifier, texts: Sequence[str]) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    """Return :func:`_classify` of every text, scored together: one sparse product instead of one per answer.

    The same naive Bayes scores as py3langid's own ``rank`` (its byte automaton, log counts, the
    square-root-of-length temperature and softmax), computed for all answers at once; 10,000
    answers took 1.2 s one by one. Falls back to one by one on a py3langid without these parts.
    """
    parts = ("_encode", "_rowbase", "tk_nextmove", "tk_output", "nb_ptc", "nb_pc", "nb_classes", "_alias_pairs")
    if not texts or not all(hasattr(identifier, part) for part in parts):
        return [_classify(identifier, text) for text in texts]
    if len(texts) > _BATCH:  # in batches: the features of 100,000 answers as Python lists would take hundreds of MB
        return [guess for start in range(0, len(texts), _BATCH) for guess in _classify_all(identifier, texts[start : start + _BATCH])]
    import numpy as np  # noqa: PLC0415
    import scipy.sparse as sp  # noqa: PLC0415

    encoded = [identifier._encode(text) for text in texts]
    lengths = [len(e) for e in encoded]
    indices, counts, indptr = _feature_counts(identifier, encoded)
    table = np.asarray(identifier.nb_ptc, dtype=np.float32)
    visits = sp.csr_matrix((np.log1p(counts.astype(np.float32)), indices, indptr), shape=(len(texts), table.shape[0]))
    scores = np.asarray(visits @ table, dtype=np.float32) + identifier.nb_pc
    featureless = np.diff(visits.indptr) == 0
    scores[featureless] = 0.0  # py3langid: no features is a uniform guess
    scores *= (1.0 / np.sqrt(np.maximum(np.asarray(lengths, dtype=np.float64), 1.0))).astype(np.float32)[:, None]
    np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    for i, j in identifier._alias_pairs:  # a label the model holds twice counts once
        scores[:, i] += scores[:, j]
        scores[:, j] = 0.0
    columns: dict[str, list[int]] = {}
    seen: set[str] = set()
    for column, label in enumerate(identifier.nb_classes):
        if label not in seen:
            seen.add(label)
            columns.setdefault(_ALIASES.get(label, label), []).append(column)
    codes = sorted(columns)  # ties go to the later code, as in _classify
    folded = np.stack([scores[:, columns[code]].astype(np.float64).sum(axis=1) for code in codes], axis=1)
    best = folded.shape[1] - 1 - np.argmax(folded[:, ::-1], axis=1)
    return [(codes[b], float(folded[row, b])) for row, b in enumerate(best)]


_WALK_ALONE = 64  # answers left in the byte walk below which each finishes in a plain loop


def _feature_counts(identifier, encoded: Sequence[bytes]):  # type: ignore[no-untyped-def]
    """Return the model's feature counts of each encoded text as CSR parts ``(indices, counts, indptr)``.

    What py3langid's ``visit_counts`` gives one text at a time (its byte automaton's output
    features, counted, in the order each feature is first met), for all texts at once: the
    automaton steps every text's byte at the same position together, longest texts first, and
    the few longest finish alone. 0.4 s of the 10,000-answer command's 0.7 s of detection went
    to that walk byte by byte in Python. A test compares the two on every kind of text.
    """
    import numpy as np  # noqa: PLC0415

    moves, rowbase, output = _dfa_arrays(identifier)
    count = len(encoded)
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=count)
    order = np.argsort(-lengths, kind="stable")  # longest first: the texts still walking are a prefix
    sorted_lengths = lengths[order]
    buffer = np.frombuffer(b"".join(encoded[i] for i in order), dtype=np.uint8) if count else np.zeros(0, np.uint8)
    starts = np.concatenate(([0], np.cumsum(sorted_lengths)[:-1])) if count else np.zeros(0, np.int64)
    state = np.zeros(count, dtype=np.int64)
    found_rows: list[np.ndarray] = []
    found_steps: list[np.ndarray] = []
    found_features: list[np.ndarray] = []
    step = 0
    walking = int(np.count_nonzero(sorted_lengths > 0))
    while walking >= _WALK_ALONE:
        letters = buffer[starts[:walking] + step]
        state[:walking] = moves[rowbase[state[:walking]] + letters]
        features = output[state[:walking]]
        hit = np.flatnonzero(features >= 0)
        if len(hit):
            found_rows.append(hit)
            found_steps.append(np.full(len(hit), step, dtype=np.int64))
            found_features.append(features[hit])
        step += 1
        while walking and sorted_lengths[walking - 1] <= step:
            walking -= 1
    if walking:  # the longest few: a plain loop over their remaining bytes
        moves_list, rowbase_list, output_list = identifier.tk_nextmove, identifier._rowbase, identifier.tk_output
        rows_alone: list[int] = []
        steps_alone: list[int] = []
        features_alone: list[int] = []
        for row in range(walking):
            current = int(state[row])
            for position, letter in enumerate(encoded[int(order[row])][step:], start=step):
                current = moves_list[rowbase_list[current] + letter]
                feature = output_list[current]
                if feature >= 0:
                    rows_alone.append(row)
                    steps_alone.append(position)
                    features_alone.append(feature)
        found_rows.append(np.asarray(rows_alone, dtype=np.int64))
        found_steps.append(np.asarray(steps_alone, dtype=np.int64))
        found_features.append(np.asarray(features_alone, dtype=np.int64))
    rows = order[np.concatenate(found_rows)] if found_rows else np.zeros(0, np.int64)
    steps = np.concatenate(found_steps) if found_steps else np.zeros(0, np.int64)
    features = np.concatenate(found_features).astype(np.int64) if found_features else np.zeros(0, np.int64)
    # Each text's features in the order first met, with how often: as Counter(...) of the walk.
    by_text = np.lexsort((steps, rows))
    rows, features = rows[by_text], features[by_text]
    keys = rows * (int(features.max()) + 1 if len(features) else 1) + features
    _unique, first, repeats = np.unique(keys, return_index=True, return_counts=True)
    met = np.argsort(first, kind="stable")
    first, repeats = first[met], repeats[met]
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[first], minlength=count), out=indptr[1:])
    return features[first].astype(np.intp), repeats, indptr


_DFA: dict[int, tuple] = {}  # id of a model's automaton -> (the automaton, its numpy arrays): restrictions share one


def _dfa_arrays(identifier):  # type: ignore[no-untyped-def]
    """Return the identifier's automaton as numpy arrays (next state, row offsets, output feature), made once per model."""
    import numpy as np  # noqa: PLC0415

    kept = _DFA.get(id(identifier.tk_nextmove))
    if kept is None or kept[0] is not identifier.tk_nextmove:
        arrays = (np.asarray(identifier.tk_nextmove),  # a view of py3langid's array, not a copy
                  np.asarray(identifier._rowbase, dtype=np.int64), np.asarray(identifier.tk_output, dtype=np.int64))
        kept = _DFA[id(identifier.tk_nextmove)] = (identifier.tk_nextmove, arrays)
    return kept[1]


def detect_languages(texts: Sequence[str | None], *, candidates: Sequence[str] = CANDIDATES, default: str = "en") -> list[str]:
    """Return a language code for each text, cleaned so that stray guesses do not stand.

    Each answer is first guessed among ``candidates``. The file's main language is the one with
    the most probability over all answers. Another language *stands* when at least 5 answers,
    and 2% of the confident ones, are guessed as it with 90% certainty. If only the main language
    stands, every answer gets it. Otherwise each answer is guessed again among the standing
    languages alone and keeps that guess when it is at least 60% sure, else the main language.
    Empty answers and answers without letters get the main language; ``default`` is used
    when no answer has any letters at all.
    """
    if not texts:
        return []
    identifier = _identifier(tuple(candidates))
    lettered = [row for row, text in enumerate(texts) if text and any(c.isalpha() for c in text)]
    guesses: list[tuple[str, float] | None] = [None] * len(texts)
    weight: Counter[str] = Counter()
    for row, (code, prob) in zip(lettered, _classify_all(identifier, [texts[row] for row in lettered])):  # type: ignore[misc]
        guesses[row] = (code, prob)
        weight[code] += float(prob)
    if not weight:
        return [default] * len(texts)
    main = max(weight.items(), key=lambda item: (item[1], item[0] == default, item[0]))[0]
    confident = Counter(g[0] for g in guesses if g is not None and g[1] >= _CONFIDENT)
    total = sum(confident.values())
    standing = {code for code, n in confident.items() if n >= max(5, _MIN_SHARE * total)} | {main}
    if len(standing) == 1:
        return [main] * len(texts)
    # Several languages stand: guess again among those alone, which is far surer on short
    # answers ("Pon una alarma" is plainly Spanish once the choice is Spanish or English).
    narrow = _identifier(tuple(sorted(standing)))
    out: list[str] = [main] * len(texts)
    unsettled: list[int] = []
    for row, guess in enumerate(guesses):
        if guess is None:
            continue
        if guess[0] in standing and guess[1] >= _SETTLED:
            # Leaving languages out only raises the share of those kept, so a first guess already
            # settled on a standing language is what the narrow guess would say (half the time saved).
            out[row] = guess[0]
        else:
            unsettled.append(row)
    for row, (code, prob) in zip(unsettled, _classify_all(narrow, [texts[row] for row in unsettled])):  # type: ignore[misc]
        if prob >= _SETTLED and code in standing:
            out[row] = code
    return out
