"""Readability of the default English consent statement: Flesch-Kincaid grade and Flesch reading ease.

    .venv/bin/python bench/readability.py [--minutes 15] [--contact "..."]

Prints the whole statement's scores (and the Coleman-Liau index as a check) and each sentence's grade, hardest first, so a writer
can see which sentences push the grade up. The goal for resident text is grade 8 or below.
A small syllable counter is used (vowel groups, with the usual English corrections), so the
figures may differ by a few tenths from other tools.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Sentence ends: . ! ? followed by space or the end; "e.g." style abbreviations are not used in the statement.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """Estimate the syllables of an English word by counting vowel groups, with common corrections."""
    word = word.lower().replace("'", "")
    if len(word) <= 3:
        return 1
    count = len(VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1  # silent final e: "take", "share", "name"
    if word.endswith(("ed",)) and not word.endswith(("ted", "ded")) and count > 1:
        count -= 1  # "asked", "used"
    if word.endswith("es") and not word.endswith(("ses", "xes", "zes", "ches", "shes", "ges", "ces")) and count > 1:
        count -= 1  # "minutes", "takes"
    if re.search(r"[^aeiou](ia|io|iu|ua|uo)", word) and not word.endswith(("tion", "sion", "cious", "tious")):
        count += 1  # "period", "community" keep both vowels
    return max(count, 1)


def sentences(text: str) -> list[str]:
    """Split text into sentences at . ! ? and blank lines."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        found += [s.strip() for s in SENTENCE_END.split(paragraph.strip()) if WORD.search(s)]
    return found


def scores(text: str) -> dict:
    """Return words, sentences, syllables, Flesch-Kincaid grade and Flesch reading ease of `text`."""
    parts = sentences(text)
    words = WORD.findall(text)
    syllable_count = sum(syllables(w) for w in words)
    per_sentence = len(words) / len(parts)
    per_word = syllable_count / len(words)
    return {
        "sentences": len(parts), "words": len(words), "syllables": syllable_count,
        "grade": round(0.39 * per_sentence + 11.8 * per_word - 15.59, 1),
        "ease": round(206.835 - 1.015 * per_sentence - 84.6 * per_word, 1),
        # Coleman-Liau counts letters, not syllables, so it checks the syllable counter.
        "coleman_liau": round(0.0588 * (100 * sum(map(len, words)) / len(words))
                              - 0.296 * (100 * len(parts) / len(words)) - 15.8, 1),
    }


def default_statement(minutes: int, contact: str) -> str:
    """Return the default English consent statement as residents see it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from listening.app import create_app
    from listening.consent import default_consent

    app = create_app({"TESTING": True, "DATABASE": ":memory:"})
    with app.app_context():
        return default_consent("en", minutes=minutes, contact=contact)


def main(argv: list[str] | None = None) -> int:
    """Print the statement's readability and its hardest sentences."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--contact", default="Guilford listening team, (336) 555-0142")
    args = parser.parse_args(argv)
    text = default_statement(args.minutes, args.contact)
    whole = scores(text)
    print(f"Default consent statement (en): {whole['sentences']} sentences, {whole['words']} words, "
          f"{whole['syllables']} syllables")
    print(f"Flesch-Kincaid grade: {whole['grade']}  (goal: 8 or below)")
    print(f"Coleman-Liau index:   {whole['coleman_liau']}")
    print(f"Flesch reading ease:  {whole['ease']}  (60-70 is plain English; higher is easier)")
    print("Hardest sentences of 8 words or more (grade of each on its own):")
    graded = sorted(((scores(s)["grade"], s) for s in sentences(text) if len(WORD.findall(s)) >= 8), reverse=True)
    for grade, sentence in graded[:5]:
        print(f"  {grade:5.1f}  {sentence}")
    return 0 if whole["grade"] <= 8 else 1


if __name__ == "__main__":
    sys.exit(main())
