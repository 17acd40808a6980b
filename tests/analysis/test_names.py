"""Likely personal names are found after cues in every offered language; bidi controls are removed."""
from __future__ import annotations

import pytest

from analysis.names import name_spans
from analysis.text import Redaction, redact, strip_bidi, vocabulary_of
from tests.analysis.name_cases import DEV, HARD, HELDOUT, VOCABULARY, parse, precision_recall, score


def found(text: str, vocabulary=VOCABULARY) -> list[str]:
    """Return the names the detector takes in a text."""
    return [text[a:b] for a, b in name_spans(text, vocabulary=vocabulary)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I saw Dr. Patel and Nurse Keisha Brown.", ["Patel", "Keisha Brown"]),
        ("My name is Maria de la Cruz.", ["Maria de la Cruz"]),
        ("Me llamo Ana y la Dra. García me ayudó.", ["Ana", "García"]),
        ("Je m'appelle Fatou. Mme Diallo m'a aidée.", ["Fatou", "Diallo"]),
        ("Bác sĩ Nguyễn Văn An rất tốt, chị Lan cũng vậy.", ["Nguyễn Văn An", "Lan"]),
        ("الدكتورة سارة كانت لطيفة جدا.", ["سارة"]),
        ("میرا نام احمد ہے۔", ["احمد"]),
        ("فاطمہ بیگم نے مدد کی۔", ["فاطمہ"]),
        ("Dr. J. Smith's office", ["J. Smith"]),
    ],
)
def test_names_after_cues_are_found_in_each_offered_language(text: str, expected: list[str]) -> None:
    """A capitalised word after a title or an introduction is a name, in en, es, fr, vi, ar and ur."""
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm Black and nobody believed my pain.",
        "Soy Latina y no había intérprete.",
        "Je suis Congolaise.",
        "I'm so tired of Dr. appointments.",
        "I am a single mom.",
        "Soy de Honduras.",
        "I MISS HOME AND MY FAMILY.",
        "I'm Really Grateful For The Doulas.",
        "My OB said the WIC office was closed.",
    ],
)
def test_identities_function_words_and_acronyms_after_cues_are_not_names(text: str) -> None:
    """"I'm Black", "Soy Latina", "Dr. appointments", capitals everywhere: no one is named."""
    assert found(text) == []


def test_the_sessions_own_words_are_never_names() -> None:
    """A capitalised word from the session's own texts ("Guilford", "Cone") is not a name after a cue."""
    vocabulary = vocabulary_of(["Healthy babies in Guilford County", "Did Cone Health help?"])
    assert found("I'm Guilford born and Dr. Cone Health staff helped", vocabulary) == []
    assert found("I'm Guilford born", frozenset()) == ["Guilford"]


def test_a_found_name_is_removed_wherever_it_appears_again() -> None:
    """Once "Dr. Patel" is found, "Patel" alone later in the answer is removed too."""
    assert redact("Dr. Patel was kind. Patel listened to me.") == "Dr. [name] was kind. [name] listened to me."


def test_redaction_removes_detected_and_listed_names_together() -> None:
    """The team's list and the detector both apply; the detector can be turned off."""
    assert redact("Keisha and Dr. Patel", names=["Keisha"]) == "[name] and Dr. [name]"
    assert redact("Keisha and Dr. Patel", names=["Keisha"], detect_names=False) == "[name] and Dr. Patel"


def test_a_redaction_carries_a_sessions_names_and_vocabulary() -> None:
    """A Redaction is the one call every screen and report uses for a session."""
    redaction = Redaction(("Rosa",), vocabulary_of(["Ask Nurse Line about it"]))
    assert redaction("Rosa called the Nurse Line; nurse Joy answered at 336-555-0182") == (
        "[name] called the Nurse Line; nurse [name] answered at [phone]")


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"])
def test_bidirectional_controls_are_removed_from_redacted_text(char: str) -> None:
    """Every override and isolate character (U+202A-U+202E, U+2066-U+2069) is removed, not spaced."""
    assert redact(f"good{char}doctor") == "gooddoctor"
    assert strip_bidi(f"a{char}b\u200fc") == "ab\u200fc"


def test_a_right_to_left_override_cannot_reorder_a_quote() -> None:
    """An answer that hides a phone number behind U+202E is shown in writing order, and redacted."""
    assert redact("call me \u202e2810-555-633\u202c please") == "call me [phone] please"


def test_measured_precision_and_recall_hold() -> None:
    """On the hand-labelled synthetic answers the detector keeps the figures docs/privacy.md reports."""
    figures = {}
    for label, cases in (("dev", DEV), ("heldout", HELDOUT), ("hard", HARD)):
        counts = score(cases, lambda text: name_spans(text, vocabulary=VOCABULARY))["all"]
        figures[label] = precision_recall(counts)
    assert figures["dev"][0] >= 0.95 and figures["dev"][1] >= 0.85
    assert figures["heldout"][0] >= 0.95 and figures["heldout"][1] >= 0.8
    # The adversarial set is where it is weak; this only stops it getting worse unnoticed.
    assert figures["hard"][0] >= 0.3 and figures["hard"][1] >= 0.6


def test_the_labelled_set_marks_names_as_it_says() -> None:
    """The bracket markup gives the plain sentence and the exact span of each name."""
    text, spans = parse("Dr. [[Ana Lopez]] and [[Rosa]].")
    assert text == "Dr. Ana Lopez and Rosa." and [text[a:b] for a, b in spans] == ["Ana Lopez", "Rosa"]
