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

import functools
import re
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


@functools.cache
def _identifier(candidates: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Return a py3langid identifier restricted to ``candidates`` (loaded once, offline)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415 - 0.4 s to load

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    known = set(identifier.nb_classes)
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
    guesses: list[tuple[str, float] | None] = []
    weight: Counter[str] = Counter()
    for text in texts:
        if not text or not any(c.isalpha() for c in text):
            guesses.append(None)
            continue
        code, prob = _classify(identifier, text)
        guesses.append((code, prob))
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
    out: list[str] = []
    for text, guess in zip(texts, guesses):
        if guess is None:
            out.append(main)
            continue
        if guess[0] in standing and guess[1] >= _SETTLED:
            # Leaving languages out only raises the share of those kept, so a first guess already
            # settled on a standing language is what the narrow guess would say (half the time saved).
            out.append(guess[0])
            continue
        code, prob = _classify(narrow, text)
        out.append(code if prob >= _SETTLED and code in standing else main)
    return out
