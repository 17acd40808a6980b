"""Tests of the text pipeline: normalization, tokens, stems, contentless answers, redaction."""

from __future__ import annotations

import pytest

from analysis.text import is_contentless, normalize, redact, terms, tokenize


def test_normalize_nfkc_and_spaces() -> None:
    """Normalization applies NFKC, drops control characters and collapses whitespace."""
    assert normalize("  ｆｕｌｌ\u200bwidth\t\n text  ") == "full width text"
    assert normalize("cafe\u0301") == "café"


def test_tokenize_without_nltk_data() -> None:
    """Tokenization keeps apostrophes inside words and needs no downloaded data."""
    assert tokenize("Don’t know — the staff were GREAT!", "en") == ["don't", "know", "the", "staff", "were", "great"]
    assert tokenize("¿Cómo estás? ¡Muy bien!", "es") == ["cómo", "estás", "muy", "bien"]


def test_tokenize_mixed_scripts() -> None:
    """Mixed scripts are tokenized: Arabic words, Latin words and Chinese character bigrams."""
    tokens = tokenize("الخدمة ممتازة and 服务很好", "ar")
    assert tokens[:3] == ["الخدمة", "ممتازة", "and"]
    assert "服务" in tokens and "很好" in tokens


def test_terms_keep_feedback_words() -> None:
    """Stop words are function words only: negations and evaluative words survive."""
    result = terms("Nothing, it was not good enough, they could help better", "en")
    for word in ("noth", "not", "good", "help", "better"):
        assert word in result
    assert "it" not in result and "was" not in result


def test_terms_stem_spanish_and_pair_vietnamese() -> None:
    """Spanish is stemmed with Snowball; Vietnamese syllables are paired into words."""
    assert "enfermer" in terms("Las enfermeras", "es")
    assert "nhân_viên" in terms("Nhân viên thân thiện", "vi")


@pytest.mark.parametrize(
    "answer",
    ["n/a", "N/A.", "NA", "idk", "IDK!!", "no sé", "No lo sé", "ns/nc", "😀😀😀", "...", "?", "", "   ", "-", "👍", "12", "je ne sais pas", "không biết", "sijui", "لا أعرف"],
)
def test_contentless_answers(answer: str) -> None:
    """Answers with no content are recognised in several languages."""
    assert is_contentless(answer)


@pytest.mark.parametrize("answer", ["Nothing, it was all fine", "Nothing", "none", "No", "ok", "More buses", "Más autobuses", "👍 great staff"])
def test_real_answers_are_not_contentless(answer: str) -> None:
    """Short real answers, including "nothing", count as content."""
    assert not is_contentless(answer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Email jo.smith+x@example.co.uk now", "Email [email] now"),
        ("Mi correo es ana.lopez@correo.es", "Mi correo es [email]"),
        ("Écrivez à marie@exemple.fr merci", "Écrivez à [email] merci"),
        ("See https://example.org/a?b=1 for details", "See [url] for details"),
        ("Mira www.ayuntamiento.es/foro", "Mira [url]"),
        ("Call +44 20 7946 0958 today", "Call [phone] today"),
        ("Call (555) 123-4567 or 555.123.4567", "Call [phone] or [phone]"),
        ("Llámame al 612 34 56 78", "Llámame al [phone]"),
        ("Appelez le 06 12 34 56 78", "Appelez le [phone]"),
        ("Gọi 090 123 4567 nhé", "Gọi [phone] nhé"),
        ("Nipigie 0712 345 678", "Nipigie [phone]"),
        ("اتصل 0501234567", "اتصل [phone]"),
        ("I live at 221B Baker Street, London", "I live at [address], London"),
        ("Parking at 12 Main St. is awful", "Parking at [address] is awful"),
        ("Vivo en Calle Mayor 5, Madrid", "Vivo en [address], Madrid"),
        ("Vivo en C/ Alcalá 23", "Vivo en [address]"),
        ("J'habite 15 rue de la Paix", "J'habite [address]"),
        ("Tôi ở số 12 đường Lê Lợi", "Tôi ở [address]"),
        ("أسكن في شارع الملك 12", "أسكن في [address]"),
    ],
)
def test_redaction_formats(text: str, expected: str) -> None:
    """Each claimed personal-detail format is redacted, in several languages."""
    assert redact(text) == expected


def test_redaction_leaves_dates_times_and_amounts() -> None:
    """Dates, times, years, prices and small counts are not mistaken for phone numbers."""
    text = "On 2024-05-01 at 10:30 I paid £25 for 3 kids; in 2019 I waited 45 minutes (12/05/2024)"
    assert redact(text) == text


def test_redaction_of_names_is_accent_and_case_insensitive() -> None:
    """Names from the facilitator's list are replaced as whole words, whatever the accents or case."""
    out = redact("José and MARIA's kids; jose was kind. Josephine came too.", names=["José", "María"])
    assert out == "[name] and [name]'s kids; [name] was kind. Josephine came too."


def test_redaction_of_multiword_names() -> None:
    """A full name is replaced whole, before any shorter name inside it."""
    assert redact("Thanks to Dr Ana Lopez and Ana", names=["Ana", "Ana Lopez"]) == "Thanks to Dr [name] and [name]"


def _redact_every_pattern(text: str) -> str:
    """Redact as before the cheap tests existed: every pattern runs whenever its first test (a dot, a digit) passes."""
    from analysis import messages
    from analysis import text as textmod

    text = normalize(text)
    if "@" in text:
        text = textmod._EMAIL.sub(messages.PLACEHOLDER_EMAIL, text)
    if "." in text or "/" in text:
        text = textmod._URL.sub(messages.PLACEHOLDER_URL, text)
    if textmod._DIGIT.search(text):
        text = textmod._PHONE.sub(textmod._phone_or_date, text)
        text = textmod._ADDRESS_VI.sub(messages.PLACEHOLDER_ADDRESS, text)
        text = textmod._ADDRESS.sub(messages.PLACEHOLDER_ADDRESS, text)
        text = textmod._ADDRESS_AR.sub(messages.PLACEHOLDER_ADDRESS, text)
    return textmod._redact_detected_names(text, frozenset())


@pytest.mark.parametrize("text", [
    "see HTTP://Example.ORG/x or WWW.SITE.COM, ftp://files.example.net/a", "mail me at a.b@c.co.uk, site clinic.ES/form",
    "call 555 123 4567 or (020) 7946 0958 or +44 20 7946 0958", "call 12345 then 1.2.3.4.5.6", "dates 2024-01-02 and 12/03/2024 at 10.30",
    "số 12 đường Lê Lợi, Quận 1", "12 PHỐ Huế", "شارع الملك فهد 12", "طريق المطار 7", "221B Baker Street, 12 Main St. NW",
    "Calle Mayor 5 y C/ Alcalá 23", "15 rue de la Paix", "Avenida de la Paz, 14", "done. nothing else.", "v1.2 of the app, 3 kids",
    "no digits, no dots", "1 2 3 4 5", "1-2-3-4-5-6", "٠١٢٣٤٥٦٧٨٩ رقمي", "the .com bubble and www dot",
])
def test_redaction_skips_only_patterns_that_cannot_match(text: str) -> None:
    """The cheap tests before the URL, phone and Vietnamese and Arabic address patterns skip them only where they
    could not match: the text is redacted exactly as when every pattern runs."""
    assert redact(text) == _redact_every_pattern(text)
