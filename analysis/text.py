"""Text pipeline of the analysis engine: normalization, tokenization, stemming, stop words,
contentless-answer detection and redaction of personal details.

Public interface (used by the web app and by :mod:`analysis.themes`):

- ``normalize(text) -> str``: Unicode NFKC, control characters removed, whitespace collapsed.
- ``tokenize(text, language) -> list[str]``: case-folded word tokens; needs no NLTK data.
  Scripts written without spaces (Chinese, Japanese, Thai...) become character bigrams.
- ``terms(text, language) -> list[str]``: content terms for analysis: tokens without stop
  words, stemmed with Snowball (or ISRI for Arabic) where supported; Vietnamese syllables
  are joined into syllable pairs, since most Vietnamese words are two syllables.
- ``is_contentless(text, language=None) -> bool``: ``True`` for answers such as "n/a", "idk",
  "no sé", emoji or punctuation only. "nothing, it was all fine" is a real answer.
- ``redact(text, *, names=(), vocabulary=(), detect_names=True) -> str``: replaces emails, URLs,
  phone numbers, street addresses, the given names and likely personal names (see
  :mod:`analysis.names`; ``vocabulary`` holds the session's own words, never taken for names)
  with ``[email]``, ``[url]``, ``[phone]``, ``[address]``, ``[name]``; bidirectional override
  and isolate characters are removed (as :func:`normalize` does).
- ``Redaction(names, vocabulary)``: one session's redaction, called on each text shown to others.
- ``vocabulary_of(texts) -> frozenset[str]``: the words of a session's own texts, for ``Redaction``.
- ``strip_bidi(text) -> str``: ``text`` without bidirectional override and isolate characters.

Stop words are deliberately short lists of function words: generic lists (stopwordsiso's
English has 1,298 words) remove "nothing", "not", "good", "better", "help", which are what
feedback is made of.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from analysis import messages
from analysis.names import name_spans
from analysis.stopwords import base_language as _base_language
from analysis.stopwords import stop_words

__all__ = [
    "Redaction",
    "normalize",
    "tokenize",
    "terms",
    "stem",
    "stop_words",
    "is_contentless",
    "redact",
    "strip_bidi",
    "vocabulary_of",
    "analysis_text",
    "SNOWBALL_LANGUAGES",
]

# ISO 639-1 codes that NLTK's Snowball stemmer supports offline.
SNOWBALL_LANGUAGES: dict[str, str] = {
    "ar": "arabic",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "hu": "hungarian",
    "it": "italian",
    "no": "norwegian",
    "nb": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "es": "spanish",
    "sv": "swedish",
}

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE = re.compile(r"\s+")
# Bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069): in a quote
# shown to others they can make text display in an order other than the one written
# ("Trojan Source"), so they are removed, not replaced by a space.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_OR_CONTROL = re.compile(f"{_BIDI.pattern}|{_CONTROL.pattern}")
# A word: letters/digits/marks, with inner apostrophes or hyphens ("don't", "follow-up").
_WORD = re.compile(r"[^\W_](?:[\w\u0300-\u036f]|['’\-](?=[^\W_]))*")
# Scripts usually written without spaces between words: tokenized as character bigrams.
_NO_SPACE_SCRIPT = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]"
)
_PLACEHOLDER = re.compile(r"\[(?:email|phone|url|address|name)\]")


def normalize(text: str) -> str:
    """Return ``text`` in Unicode NFKC form with control characters removed and spaces collapsed."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    if _BIDI_OR_CONTROL.search(text):  # rare: one search rather than two substitutions on every text
        text = _BIDI.sub("", text)
        text = _CONTROL.sub(" ", text)
    # str.split() and the regular expression \s split on the same characters (Py_UNICODE_ISSPACE).
    return " ".join(text.split())


def strip_bidi(text: str) -> str:
    """Return ``text`` without bidirectional override and isolate characters, otherwise unchanged."""
    return _BIDI.sub("", text) if isinstance(text, str) else text


def tokenize(text: str, language: str | None = "en") -> list[str]:
    """Split ``text`` into case-folded word tokens without any downloaded NLTK data."""
    text = normalize(text).casefold()
    if "’" in text:
        # Both apostrophes are word characters between letters: replacing them first gives the same tokens.
        text = text.replace("’", "'")
    if not _NO_SPACE_SCRIPT.search(text):
        return _WORD.findall(text)
    tokens: list[str] = []
    for match in _WORD.finditer(text):
        token = match.group(0).replace("’", "'")
        if _NO_SPACE_SCRIPT.search(token):
            # Chinese, Japanese, Thai...: words are not separated, character bigrams are a
            # standard, dictionary-free approximation.
            chars = [c for c in token if not c.isspace()]
            if len(chars) == 1:
                tokens.append(chars[0])
            tokens.extend(a + b for a, b in zip(chars, chars[1:]))
        else:
            tokens.append(token)
    return tokens


@functools.cache
def _stemmer(language: str):  # type: ignore[no-untyped-def]
    """Return a cached stemming function for a base language code, or ``None``."""
    if language == "ar":
        from nltk.stem.isri import ISRIStemmer  # noqa: PLC0415

        return ISRIStemmer().stem
    name = SNOWBALL_LANGUAGES.get(language)
    if name is None:
        return None
    from nltk.stem.snowball import SnowballStemmer  # noqa: PLC0415

    return SnowballStemmer(name).stem


@functools.lru_cache(maxsize=200_000)
def stem(token: str, language: str | None = "en") -> str:
    """Return the stem of one token for ``language`` (the token itself where no stemmer exists)."""
    fn = _stemmer(_base_language(language))
    if fn is None or not token.isalpha():
        return token
    return fn(token)


def terms(text: str, language: str | None = "en") -> list[str]:
    """Return the content terms of ``text``: tokens without stop words or digits, stemmed."""
    lang = _base_language(language)
    stops = stop_words(lang)
    tokens = [t for t in tokenize(_PLACEHOLDER.sub(" ", text), lang) if t not in stops]
    tokens = [t for t in tokens if not t.isdigit()]
    if lang == "vi":
        # Vietnamese is written in syllables; most words are two syllables, so pairs of
        # neighbouring syllables approximate words without a segmenter.
        return tokens + [a + "_" + b for a, b in zip(tokens, tokens[1:])]
    return [stem(t, lang) for t in tokens]


def fold_accents(text: str) -> str:
    """Return ``text`` without combining accents ("está" -> "esta"); other characters kept."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    # Each distinct character is looked up once, not every character of the text.
    marks = {c: None for c in set(decomposed) if not c.isascii() and unicodedata.category(c) == "Mn"}
    return unicodedata.normalize("NFC", decomposed.translate(str.maketrans(marks)) if marks else decomposed)


def analysis_text(text: str) -> str:
    """Return the text the clustering sees: redaction placeholders removed, case-folded."""
    if "[" in text:
        text = _PLACEHOLDER.sub(" ", text)
    return " ".join(text.split()).casefold()


# --- contentless answers -----------------------------------------------------------------

# Whole answers (after case-folding and removing punctuation) that say nothing. "nothing" and
# "none" are NOT here: to "what could be better?" they are a real, common answer.
_CONTENTLESS_PHRASES = frozenset(
    """
n a|na|n a n a|nil|null|idk|i dk|dk|dunno|i dunno|don t know|dont know|i don t know|i dont know
|do not know|i do not know|no idea|not sure|unsure|no comment|no comments|nc|ns nc|ns|n s
|not applicable|pass|skip|test|testing|asdf|qwerty|xxx|xx|x|blah|hmm|hm|um|umm|eh|meh
|no sé|no se|nose|no lo sé|no lo se|ni idea|no sabe|no contesta|ns nc|sin comentarios|sin comentario
|no aplica|no sabría decir|no sabria decir|je ne sais pas|je sais pas|jsp|sais pas|aucune idée
|sans avis|sans commentaire|non applicable|không biết|khong biet|không có ý kiến|sijui|sina maoni
|لا أعرف|لا اعرف|لا أدري|لا ادري|لا يوجد تعليق|weiß nicht|weiss nicht|keine ahnung|k a|ka
|não sei|nao sei|non so|?
""".replace("\n", "").split("|")
)
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_LONGEST_CONTENTLESS = max(len(phrase) for phrase in _CONTENTLESS_PHRASES)


def _letters_only(text: str) -> str:
    """Return ``text`` case-folded with punctuation, symbols and emoji turned into single spaces."""
    text = normalize(text).casefold().replace("’", "'").replace("'", " ")
    kept = "".join(c if (c.isalnum() or c.isspace() or unicodedata.category(c) == "Mn") else " " for c in text)
    return _SPACE.sub(" ", kept).strip()


def is_contentless(text: str | None, language: str | None = None) -> bool:
    """Return ``True`` when an answer has no content to theme ("n/a", "idk", emoji, punctuation)."""
    if text is None:
        return True
    text = _PLACEHOLDER.sub(" ", normalize(text))
    # Ordinary prose answers at once (the checks below read every character in Python): two different
    # words of letters only, longer together than any contentless phrase, make every check below false.
    words = {word for word in text.casefold().split() if word.isalpha()}
    if len(words) >= 2 and sum(map(len, words)) + len(words) - 1 > _LONGEST_CONTENTLESS:
        return False
    if not _LETTER_OR_DIGIT.search(text):
        return True  # empty, punctuation, symbols or emoji only
    plain = _letters_only(text)
    if not any(c.isalpha() for c in plain):
        return True  # numbers only: a rating or a typo, not an open answer
    if plain in _CONTENTLESS_PHRASES:
        return True
    # "n/a n/a", "idk idk": a contentless phrase repeated.
    words = plain.split()
    if len(set(words)) == 1 and words[0] in _CONTENTLESS_PHRASES:
        return True
    # "n/a." or "N.A." collapse to letters once spaces are removed.
    if plain.replace(" ", "") in {"na", "idk", "nc", "nsnc", "dk"}:
        return True
    return False


# --- redaction ---------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|gov|edu|io|co|info|uk|us|es|fr|de|mx|ca|au|nz|vn|ke|ly|me)"
    r"(?:/[^\s<>\"']*)?(?![\w@])",
    re.IGNORECASE,
)
# Phone numbers: optional +country code, then 7 to 15 digits in groups separated by spaces,
# dots, hyphens or brackets. Years, times and prices do not reach 7 digits in groups like this.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)?\d{1,4}?[\s.\-]?(?:\(\d{1,5}\)[\s.\-]?)?\d(?:[\s.\-]?\d){5,13}(?!\w)"
    r"|(?<![\w+])\(\d{2,5}\)[\s.\-]?\d{2,5}(?:[\s.\-]?\d{2,5}){1,3}(?!\w)"
)
_STREET_EN = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|"
    r"close|crescent|terrace|square|sq|highway|hwy|parkway|pkwy|circle|cir|gardens|grove|row"
)
_STREET_ROMANCE = (
    r"calle|c/|avenida|avda\.?|av\.?|paseo|plaza|pza\.?|carrera|cra\.?|camino|carretera|"
    r"calzada|callejón|rua|rue|boulevard|bd|allée|chemin|impasse|place|via|viale|piazza|"
    r"barabara|mtaa"
)
_ADDRESS = re.compile(
    # English: "221B Baker Street", "12 Main St.", "1600 Pennsylvania Avenue NW"
    rf"\b\d{{1,5}}[a-z]?,?\s+(?:[A-Z\u00c0-\u024f][\w'’.-]*\s+){{1,4}}(?:{_STREET_EN})\b\.?"
    rf"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    # Romance, Vietnamese, Swahili: "Calle Mayor 5", "C/ Alcalá 23", "15 rue de la Paix",
    # "Avenida de la Paz, 14", "số 12 đường Lê Lợi"
    rf"|(?:\b\d{{1,5}}[a-z]?,?\s+)?(?<!\w)(?:{_STREET_ROMANCE})\s+(?:[\w'’.-]+\s+){{0,4}}?[\w'’.-]+,?\s*(?:n[º°o.]\s*)?\d{{1,5}}[a-z]?\b"
    rf"|\b\d{{1,5}}[a-z]?,?\s+(?:{_STREET_ROMANCE})\s+(?:[\w'’-]+\s+){{0,3}}[A-Z\u00c0-\u024f][\w'’-]*",
    re.IGNORECASE,
)
# Arabic addresses: "شارع" (street) followed by words and a number.
_ADDRESS_AR = re.compile(r"(?:شارع|طريق)\s+(?:\S+\s+){0,3}?\d{1,5}")


_DIGIT = re.compile(r"\d")
# Cheap tests that rule a pattern out before it runs (each matches wherever the pattern could):
# a URL holds "://", "www." or a dot before one of _URL's endings; a phone number holds at least six
# digits (both of _PHONE's forms); a Vietnamese address "đường" or "phố", an Arabic one "شارع" or "طريق".
_URL_HINT = re.compile(r"://|www\.|\.(?:com|org|net|gov|edu|io|co|info|uk|us|es|fr|de|mx|ca|au|nz|vn|ke|ly|me)", re.IGNORECASE)
_PHONE_DIGITS = 6
_ADDRESS_VI_HINT = re.compile(r"đường|phố", re.IGNORECASE)
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
# Vietnamese: "số 12 đường Lê Lợi", "12 phố Huế".
_ADDRESS_VI = re.compile(r"(?:\bsố\s+)?\b\d{1,5}[a-z]?,?\s+(?:đường|phố)\s+(?:[^\W\d_]+\s+){0,3}[^\W\d_]+", re.IGNORECASE)


def _phone_or_date(match: re.Match[str]) -> str:
    """Return the phone placeholder for a phone-like match, or the match itself if it is a date."""
    found = match.group(0)
    return found if _DATE.fullmatch(found.strip()) else messages.PLACEHOLDER_PHONE


def _fold(char: str) -> str:
    """Return one character case-folded and without accents, keeping a one-to-one mapping."""
    base = unicodedata.normalize("NFD", char)[0]
    folded = base.casefold()
    return folded[0] if folded else char


@functools.lru_cache(maxsize=64)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Return one compiled, cached pattern matching any of ``names`` folded, longest first."""
    cleaned = sorted({normalize(n) for n in names if n and normalize(n)}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape("".join(_fold(c) for c in n)) for n in cleaned) + r")(?![^\W_])")


def _redact_names(text: str, names: Iterable[str]) -> str:
    """Replace each listed name (accent- and case-insensitive, whole words) with ``[name]``."""
    pattern = _names_pattern(tuple(names))
    if pattern is None:
        return text
    folded = "".join(_fold(c) for c in text)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(folded):
        out.append(text[last : m.start()])
        out.append(messages.PLACEHOLDER_NAME)
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _redact_detected_names(text: str, vocabulary: Iterable[str]) -> str:
    """Replace the likely personal names :func:`analysis.names.name_spans` finds with ``[name]``."""
    spans = name_spans(text, vocabulary=vocabulary)
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(messages.PLACEHOLDER_NAME)
        last = end
    out.append(text[last:])
    return "".join(out)


def redact(
    text: str,
    *,
    names: Sequence[str] | Iterable[str] = (),
    vocabulary: frozenset[str] | Iterable[str] = frozenset(),
    detect_names: bool = True,
) -> str:
    """Return ``text`` with emails, URLs, phone numbers, street addresses, ``names`` and likely names replaced.

    Likely names are capitalised words after a cue such as "Dr.", "my name is" or "nurse" (in
    every language Chorus offers) that are not among the session's own words, ``vocabulary``.
    """
    text = normalize(text)
    # Cheap guards first: most answers hold no "@", no dot and no digit, and every pattern
    # below needs one of them, so the regular expressions are skipped for those answers.
    if "@" in text:
        text = _EMAIL.sub(messages.PLACEHOLDER_EMAIL, text)
    if ("." in text or "/" in text) and _URL_HINT.search(text):
        text = _URL.sub(messages.PLACEHOLDER_URL, text)
    if _DIGIT.search(text):
        # Phones before addresses, so that a phone number is not read as a house number.
        if len(_DIGIT.findall(text)) >= _PHONE_DIGITS:
            text = _PHONE.sub(_phone_or_date, text)
        if _ADDRESS_VI_HINT.search(text):
            text = _ADDRESS_VI.sub(messages.PLACEHOLDER_ADDRESS, text)
        text = _ADDRESS.sub(messages.PLACEHOLDER_ADDRESS, text)  # starts at a digit: no cheaper test found
        if "شارع" in text or "طريق" in text:
            text = _ADDRESS_AR.sub(messages.PLACEHOLDER_ADDRESS, text)
    text = _redact_names(text, names)
    return _redact_detected_names(text, vocabulary) if detect_names else text


def vocabulary_of(texts: Iterable[str]) -> frozenset[str]:
    """Return the words of a session's own texts (title, purpose, questions, choices), folded.

    A capitalised word the session itself uses ("Guilford", "Cone Health", "WIC") is never
    taken for a personal name.
    """
    from analysis.names import fold_word  # noqa: PLC0415 - a small helper of the names module

    words: set[str] = set()
    for text in texts:
        if text:
            words.update(fold_word(m.group(0)) for m in _WORD.finditer(normalize(text)))
    return frozenset(words)


REDACTION_MEMO = 20000


@dataclass(frozen=True)
class Redaction:
    """One session's redaction: the names its team listed and its own words; call it on a text.

    Everything Chorus shows to people other than the person who wrote it (the projector wall,
    live themes, quotes in every report, the residents' results page, review previews) passes
    through this one call.
    """

    names: tuple[str, ...] = ()
    vocabulary: frozenset[str] = frozenset()
    # Texts already redacted by this one: a report redacts each answer for its quotes, claims and
    # sub-topic names (about 2 s at 10,000 residents when done three times). Not part of its identity.
    # Emptied when it holds REDACTION_MEMO texts, so an export that redacts every answer once (a
    # REFI-QDA project of 200,000) does not keep them all.
    done: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __call__(self, text: str) -> str:
        """Return ``text`` as others may see it."""
        shown = self.done.get(text)
        if shown is None:
            if len(self.done) >= REDACTION_MEMO:
                self.done.clear()
            shown = self.done[text] = redact(text, names=self.names, vocabulary=self.vocabulary)
        return shown
