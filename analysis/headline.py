"""Readable words for a theme: an extractive headline, cased key terms and quotes cut to the point.

Owns :func:`headline` (the most central short clause of a theme's most typical answers,
cleaned), :func:`point` (the sentence of an answer that carries a theme's point),
:func:`clean` (a clause made presentable: filler words never lead, capitals kept) and
:func:`cased_forms` (how people write a word when it is not at the start of a sentence, so
"WIC", "WKU" and "Nashville" keep their capitals). Nothing here invents words: every headline
is a piece of an answer. Pure Python.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from analysis import text as textmod

__all__ = ["clauses", "clean", "headline", "point", "cased_forms", "cased_words", "sentences", "clause_key"]

_SENTENCE = re.compile(r"(?<=[.!?؟。])\s+|\n+|(?<=[;])\s*")
# Clause boundaries inside a sentence: commas, colons, dashes, brackets, and "but"-like words.
_CLAUSE = re.compile(
    r"\s*[,:;()\[\]{}\"“”«»¿¡|]\s*|\s+[-–—]\s+|\s*[.!?؟]+\s*"
    r"|\s+(?=(?:but|however|although|though|pero|aunque|sin embargo|mais|cependant|nhưng|لكن|ولكن|لیکن|مگر)\b)",
    re.IGNORECASE,
)
# Words that may not lead a headline (after case-folding), by language; several words first.
_FILLER = {
    "en": "i think that|i think|i feel that|i feel|i would say|i guess|to be honest|honestly|in my opinion|"
    "well|so|and|but|also|just|um|umm|uh|oh|ok|okay|yes|yeah|like|because|as|then|however|although|though|really|actually|basically",
    "es": "creo que|pienso que|me parece que|la verdad|bueno|pues|y|e|pero|también|o sea|entonces|porque|ya|sí|este|eh",
    "fr": "je pense que|je crois que|à mon avis|bon|ben|alors|donc|et|mais|aussi|parce que|car|oui|euh",
    "vi": "tôi nghĩ là|tôi nghĩ|thì|và|nhưng|cũng|vì|dạ|vâng",
    "ar": "أعتقد أن|اعتقد ان|أظن|و|لكن|ولكن|أيضا|ايضا|يعني|نعم",
    "ur": "میرے خیال میں|اور|لیکن|بھی|جی|ہاں",
}
# Words that open a dependent clause: a headline starting with one is a fragment ("If we cut a program").
_SUBORDINATE = {
    "en": "if when whenever before after because since unless while until which who whom whose that than or nor",
    "es": "si cuando antes después porque aunque mientras hasta que quien cuyo o u ni",
    "fr": "si quand lorsque avant après parce puisque bien tandis jusqu que qui dont ou ni",
}
_FRAGMENT = 0.5  # a fragment's score is halved: used only when nothing whole says the point
_MIN_WORDS = 2
_BEST_WORDS = (3, 10)  # headlines of this many words read best
_MAX_WORDS = 14
_HEADLINE_POOL = 30  # most typical answers read for the headline
_POINT_WORDS = 30  # answers at most this long are quoted whole


# Abbreviations whose full stop ends no sentence ("Carril bici en Av. de la Paz").
_ABBREVIATION = re.compile(r"\b(Av|Avda|Dr|Dra|Sr|Sra|Sres|Srta|Mr|Mrs|Ms|St|Sta|Sto|Pza|Prof|Mme|Mlle|approx|aprox)\.(?=\s)")
_KEPT_DOT = "\u2024"  # ONE DOT LEADER: NFKC (and _restore) turn it back into "."


def _protect(text: str) -> str:
    """Return ``text`` with abbreviations' full stops hidden from sentence and clause splitting."""
    return _ABBREVIATION.sub(lambda m: m.group(1) + _KEPT_DOT, text)


def _restore(text: str) -> str:
    """Return ``text`` with abbreviations' full stops shown again."""
    return text.replace(_KEPT_DOT, ".")


def sentences(text: str) -> list[str]:
    """Return the sentences of ``text`` (split after . ! ? ; and at line breaks, not after "Dr." or "Av."), stripped."""
    return [_restore(s.strip()) for s in _SENTENCE.split(_protect(text)) if s and s.strip()]


def clauses(text: str) -> list[str]:
    """Return the clauses of ``text``: sentences cut at commas, dashes, brackets and "but"-like words."""
    return [_restore(c.strip()) for c in _CLAUSE.split(_protect(text)) if c and c.strip()]


@functools.cache
def _filler(language: str) -> tuple[list[str], ...]:
    """Return the filler expressions of a language (English as a fallback), longest first."""
    words = _FILLER.get(language, "") + "|" + _FILLER["en"]
    found = {tuple(w.split()) for w in words.split("|") if w}
    return tuple(list(f) for f in sorted(found, key=lambda f: (-len(f), f)))


def clean(text: str, language: str = "en") -> str:
    """Return a clause fit to read as a headline or claim: filler removed from the front, first letter raised.

    Capitals inside the clause are kept as written ("WIC", "Dr. [name]"); a clause written all
    in capitals is shouted, not an acronym, and is put in sentence case.
    """
    text = textmod.normalize(text).strip(" \t-–—,.;:!?¿¡\"'“”«»()")
    lang = textmod._base_language(language)
    fillers = _filler(lang)
    changed = True
    while changed and text:
        changed = False
        words = text.split()
        folded = [w.casefold().strip(",.;:!") for w in words]
        for filler in fillers:
            if len(words) > len(filler) and folded[: len(filler)] == filler:
                text = " ".join(words[len(filler) :]).lstrip(" ,.;:-–—")
                changed = True
                break
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 12 and all(c.isupper() for c in letters):
        text = text.lower()
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text


def clause_key(text: str, language: str) -> frozenset[str]:
    """Return the stemmed content words of a clause: two clauses with the same key say the same."""
    return frozenset(textmod.terms(text, language))


def _candidate_clauses(text: str) -> list[str]:
    """Return the clauses of ``text`` short enough for a headline, and whole short sentences."""
    found = []
    for sentence in sentences(text):
        words = len(sentence.split())
        if _MIN_WORDS <= words <= _MAX_WORDS:
            found.append(sentence)
        for clause in clauses(sentence):
            if clause != sentence and _MIN_WORDS <= len(clause.split()) <= _MAX_WORDS:
                found.append(clause)
    return found


def _length_fit(words: int) -> float:
    """Return how well a headline of ``words`` words reads (1 is best)."""
    lo, hi = _BEST_WORDS
    if words < lo:
        return 0.75
    if words > hi:
        return max(0.5, 1.0 - 0.06 * (words - hi))
    return 1.0


def _score(key: frozenset[str], weights: Mapping[str, float]) -> float:
    """Return how much of the theme's weight a clause's words carry, per square root of its words."""
    if not key:
        return 0.0
    return sum(weights.get(t, 0.0) for t in key) / math.sqrt(len(key))


def _options(text: str, language: str) -> list[tuple[str, frozenset[str], str, bool]]:
    """Return a text's candidate clauses with content words: (clause, its content words, cleaned or "" when too short to read, whether a fragment)."""
    out = []
    for clause in _candidate_clauses(text):
        key = clause_key(clause, language)
        if not key:
            continue
        cleaned = clean(clause, language)
        if len(cleaned.split()) < _MIN_WORDS or not any(c.isalpha() for c in cleaned):
            out.append((clause, key, "", False))  # counts towards how many answers say it; never chosen
            continue
        out.append((clause, key, cleaned, _is_fragment(cleaned, language)))
    return out


def headline(texts: Sequence[str], language: str, weights: Mapping[str, float],
             memo: dict[tuple[str, str], list[tuple[str, frozenset[str], str, bool]]] | None = None) -> str | None:
    """Return the most central short clause of a theme's answers (most typical first), cleaned.

    Each candidate clause is scored by the theme's term weights it carries (divided by the
    square root of its content words, so a clause says the point and little else), how many of
    the typical answers share its content words (a statement many people made is central), its
    answer's rank, and its length. ``None`` when no answer has a usable clause.
    """
    lang = textmod._base_language(language)
    pool = texts[:_HEADLINE_POOL]
    options: list[tuple[frozenset[str], str, bool, int]] = []
    for rank, text in enumerate(pool):
        # A theme and its sub-themes read many of the same answers: ``memo`` (one run's) keeps each text's candidates.
        found = memo.get((text, lang)) if memo is not None else None
        if found is None:
            found = _options(text, lang)
            if memo is not None:
                memo[(text, lang)] = found
        options += [(key, cleaned, fragment, rank) for _clause, key, cleaned, fragment in found]
    if not options:
        return None
    # How many distinct answers make the same statement (same content words).
    by_answer: Counter[frozenset[str]] = Counter(key for key, _rank in {(key, rank) for key, _, _, rank in options})
    best: tuple[float, int, str] | None = None
    for key, cleaned, fragment, rank in options:
        if not cleaned:
            continue
        words = len(cleaned.split())
        score = _score(key, weights) * _length_fit(words) * (1.0 + 0.15 * math.log(by_answer[key])) / (1.0 + 0.02 * rank)
        if fragment:
            score *= _FRAGMENT
        candidate = (score, -rank, cleaned)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return None if best is None else best[2]


def _is_fragment(clause: str, language: str) -> bool:
    """Return whether a clause reads as a fragment: it opens a dependent clause or ends on a function word."""
    words = [w.strip(".,;:!?\"'()").casefold() for w in clause.split()]
    words = [w for w in words if w]
    if not words:
        return True
    opening = _SUBORDINATE.get(language, "").split() + _SUBORDINATE["en"].split()
    return words[0] in opening or words[-1] in textmod.stop_words(language) and words[-1] not in _KEEP_LAST


# Function words a whole statement may end on ("nothing helped at all", "no one was there").
_KEEP_LAST = frozenset("all not no none nothing enough too there here again anymore nada nunca aquí allí rien jamais assez".split())


def point(text: str, language: str, weights: Mapping[str, float]) -> str:
    """Return the sentence of ``text`` that carries the theme's point; short answers whole.

    An answer of at most 30 words is returned whole. A longer one is cut to its sentence (with
    the next one when it is very short) that carries most of the theme's term weight, marked
    with "…" where text was left out. The full answer stays with the caller.
    """
    if len(text.split()) <= _POINT_WORDS:
        return text
    lang = textmod._base_language(language)
    parts = sentences(text)
    if len(parts) <= 1:
        words = text.split()
        return " ".join(words[:_POINT_WORDS]) + " …"
    scores = [_score(clause_key(p, lang), weights) for p in parts]
    i = max(range(len(parts)), key=lambda n: (scores[n], -n))
    chosen = parts[i]
    if len(chosen.split()) < 5 and i + 1 < len(parts):
        chosen = chosen + " " + parts[i + 1]
    words = chosen.split()
    if len(words) > 2 * _POINT_WORDS:
        chosen = " ".join(words[: 2 * _POINT_WORDS]) + " …"
    return ("… " if i > 0 else "") + chosen + (" …" if not chosen.endswith("…") and i + 1 < len(parts) else "")


_WORD = re.compile(r"[^\W_](?:[\w\u0300-\u036f]|['’\-](?=[^\W_]))*")


def cased_forms(texts: Iterable[str]) -> dict[str, Counter[str]]:
    """Return, for each case-folded word, how people wrote it away from the start of a sentence.

    A word capitalised only because a sentence starts with it is counted as written in lower
    case, so that "Staff were kind" does not make "Staff" a proper noun, while "WIC", "WKU" and
    "Nashville", capitalised wherever they stand, keep their capitals.
    """
    forms: dict[str, Counter[str]] = {}
    for text in texts:
        for folded, word in cased_words(text):
            forms.setdefault(folded, Counter())[word] += 1
    return forms


def cased_words(text: str) -> list[tuple[str, str]]:
    """Return each word of ``text`` as (case-folded, as written), in order, a sentence's first capital lowered (see :func:`cased_forms`)."""
    out: list[tuple[str, str]] = []
    for sentence in sentences(textmod.normalize(text)):
        for n, match in enumerate(_WORD.finditer(sentence)):
            word = match.group(0).replace("’", "'")
            folded = word.casefold()
            if n == 0 and word[:1].isupper() and not word.isupper():
                word = folded  # sentence-initial capital says nothing about the word
            out.append((folded, word))
    return out
