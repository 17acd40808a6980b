"""Machine glosses: a word-by-word English rendering of an answer, for grouping only.

Owns the bilingual lexicons shipped in ``analysis/data/gloss-*-en.tsv.gz`` (built from Debian's
FreeDict and Apertium packages by ``bench/build_lexicons.py``; sources, licences and attribution
in ``analysis/data/LEXICONS.txt``) and :func:`gloss`. A gloss is never shown as a translation:
it only lets "no hay intérprete" and "there is no interpreter" share words when the engine
groups answers, and every result that used one says so. Pure Python; nothing is downloaded.

Interface::

    GLOSS_LANGUAGES: frozenset[str]                 # languages with a shipped lexicon
    gloss(text: str, language: str) -> str | None  # None: no lexicon, or nothing could be glossed
    lexicon_key(word: str, language: str) -> str   # the form lexicon words are stored in
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from importlib import resources

from analysis import text as textmod

__all__ = ["GLOSS_LANGUAGES", "gloss", "lexicon_key", "coverage"]

GLOSS_LANGUAGES = frozenset({"es", "fr", "ar", "ur"})
# Arabic-script short vowels, shadda, sukun, superscript alef and the tatweel: written
# inconsistently, so neither lexicon words nor answers keep them.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ك": "ک", "ۀ": "ه", "ہ": "ه", "ة": "ه", "ھ": "ه"})
# Arabic clitics written joined to the word: "and", "with/by", "for", "the", "like".
_ARABIC_PREFIXES = ("وال", "بال", "لل", "فال", "كال", "ال", "و", "ب", "ل", "ف")
_ELISION = re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)'")
_MIN_GLOSSED = 0.3  # below this share of words glossed, the gloss says too little to use


@functools.lru_cache(maxsize=500_000)
def lexicon_key(word: str, language: str) -> str:
    """Return ``word`` in the form lexicon entries are stored and looked up in (remembered: answers repeat words)."""
    word = unicodedata.normalize("NFKC", word).casefold().strip()
    if language in ("ar", "ur", "fa"):
        word = _ARABIC_MARKS.sub("", word).translate(_ARABIC_FOLD)
    return _SPACES.sub(" ", word)


_SPACES = re.compile(r"\s+")


@functools.cache
def _lexicon(language: str) -> tuple[dict[str, str], dict[str, str]]:
    """Load one lexicon: word -> first gloss, and stem -> first gloss (for inflected forms)."""
    words: dict[str, str] = {}
    stems: dict[str, str] = {}
    path = resources.files("analysis") / "data" / f"gloss-{language}-en.tsv.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        for line in handle:
            key, _, glosses = line.rstrip("\n").partition("\t")
            first = glosses.split("|", 1)[0]
            words[key] = first
            if " " not in key:
                stem = textmod.stem(key, language)
                # The shortest word of a stem speaks for it ("médico" rather than "médicos").
                if stem not in stems or len(key) < len(stems[stem][1]):
                    stems[stem] = (first, key)  # type: ignore[assignment]
    return words, {stem: value[0] for stem, value in stems.items()}  # type: ignore[index]


@functools.cache
def _pair_starts(language: str) -> frozenset[str]:
    """Return the first words of the lexicon's two-word (and longer) entries, as stored."""
    return frozenset(key.split(" ", 1)[0] for key in _lexicon(language)[0] if " " in key)


@functools.lru_cache(maxsize=500_000)
def _plain_key(token: str, language: str) -> str | None:
    """Return ``lexicon_key(token)`` when the token keeps no white space through it (``None`` otherwise).

    For two such tokens, ``lexicon_key(a + " " + b)`` is ``lexicon_key(a) + " " + lexicon_key(b)``: a space
    never composes with a neighbour under NFKC, case folding and the Arabic folding map each character on
    its own, so the pair can be an entry only if ``lexicon_key(a)`` starts one (:func:`_pair_starts`).
    A token of an answer never holds white space; the check keeps the shortcut exact for any string.
    """
    folded = unicodedata.normalize("NFKC", token).casefold()
    return None if not folded or any(c.isspace() for c in folded) else lexicon_key(token, language)


def _lookup(token: str, language: str, words: dict[str, str], stems: dict[str, str]) -> str | None:
    """Return the English gloss of one token, trying its stem and Arabic clitics; else ``None``."""
    key = lexicon_key(token, language)
    found = words.get(key)
    if found is None and language in ("ar", "ur"):
        for prefix in _ARABIC_PREFIXES if language == "ar" else ():
            if key.startswith(prefix) and len(key) - len(prefix) >= 2 and key[len(prefix):] in words:
                return words[key[len(prefix):]]
    if found is None:
        # Only a stem long enough to be a word's own: "sábado" and "saber" share "sab".
        stem = textmod.stem(key, language)
        if len(stem) >= 4 and len(stem) >= 0.6 * len(key):
            found = stems.get(stem)
    return found


@functools.lru_cache(maxsize=500_000)
def _known(token: str, language: str) -> str | None:
    """Return :func:`_lookup` of one token in its language's lexicon, remembered (200,000 answers repeat their words)."""
    words, stems = _lexicon(language)
    return _lookup(token, language, words, stems)


def gloss(text: str, language: str) -> str | None:
    """Return an English word-by-word gloss of ``text``, or ``None`` when it cannot help.

    Function words are left out; two-word entries ("seguro médico") are tried before single
    words; a word the lexicon lacks is kept as written (names and cognates still match). The
    result is ``None`` without a lexicon for ``language`` or when under a third of the words
    could be glossed.
    """
    lang = textmod._base_language(language)
    if lang not in GLOSS_LANGUAGES:
        return None
    words, stems = _lexicon(lang)
    starts = _pair_starts(lang)
    stops = textmod.stop_words(lang)
    tokens = _tokens(text, lang)
    out: list[str] = []
    glossed = content = 0
    i = 0
    n = len(tokens)
    while i < n:
        # Even if every word left were glossed, under a third would be (each word adds at most one to both
        # counts, and glossed <= content): the answer is None already (issue 19: most of 200,000 answers).
        if (glossed + n - i) / (content + n - i) < _MIN_GLOSSED:
            return None
        token = tokens[i]
        if i + 1 < n:
            # A two-word entry is looked up only when its first word starts one (see _plain_key).
            first = _plain_key(token, lang)
            if first is None or first in starts or _plain_key(tokens[i + 1], lang) is None:
                pair = words.get(lexicon_key(token + " " + tokens[i + 1], lang))
            else:
                pair = None
            if pair is not None:
                out.append(pair)
                glossed += 2
                content += 2
                i += 2
                continue
        i += 1
        if token in stops:
            continue
        content += 1
        english = _known(token, lang)
        if english is None:
            out.append(token)
        else:
            glossed += 1
            out.append(english)
    if not content or glossed / content < _MIN_GLOSSED:
        return None
    return " ".join(out)


def _tokens(text: str, language: str) -> list[str]:
    """Return the words of ``text`` to gloss, French elisions split off ("l'hôpital" -> "hôpital")."""
    tokens = [t for t in textmod.tokenize(textmod.analysis_text(text), language) if not t.isdigit()]
    if language in ("fr", "it"):
        tokens = [_ELISION.sub("", t) for t in tokens]
    return tokens


def coverage(texts: list[str], language: str) -> float:
    """Return the share of content words of ``texts`` that the lexicon glosses (for benchmarks)."""
    lang = textmod._base_language(language)
    if lang not in GLOSS_LANGUAGES:
        return 0.0
    words, stems = _lexicon(lang)
    stops = textmod.stop_words(lang)
    hits = total = 0
    for text in texts:
        for token in _tokens(text, lang):
            if token in stops:
                continue
            total += 1
            hits += _lookup(token, lang, words, stems) is not None
    return hits / total if total else 0.0
