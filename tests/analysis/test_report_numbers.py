"""Reports write percentages, decimals and counts as their language does; data exports keep plain numbers."""

from __future__ import annotations

import csv
import io

import pytest
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from bs4 import BeautifulSoup

from analysis import numbers, reports
from analysis.assemble import assemble_report
from listening.i18n import TRANSLATIONS_DIR
from tests.analysis.test_assemble import session, with_choices

# What Babel's locale data says each language writes (Arabic follows Babel's data for "ar", whatever it holds).
WRITTEN = {
    "en": {"share": "57%", "count": "12,345", "decimal": "12.5"},
    "es": {"share": "57\xa0%", "count": "12.345", "decimal": "12,5"},
    "fr": {"share": "57\xa0%", "count": "12\u202f345", "decimal": "12,5"},
    "ar": {"share": format_percent(0.57, locale="ar"), "count": format_decimal(12345, locale="ar"),
           "decimal": format_decimal(12.5, locale="ar")},
}


def translated(language: str):
    """Return the compiled catalog of a language (English: none)."""
    return None if language == "en" else Translations.load(str(TRANSLATIONS_DIR), [language])


def test_the_number_helpers_write_each_languages_way() -> None:
    """numbers.share, percent, count and decimal follow Babel; an unknown tag falls back to English; None is the mark."""
    assert [numbers.share(0.42, "en"), numbers.share(0.42, "es"), numbers.share(0.42, "fr")] == ["42%", "42\xa0%", "42\xa0%"]
    assert [numbers.percent(12.5, "en"), numbers.percent(12.5, "es")] == ["12.5%", "12,5\xa0%"]
    assert [numbers.count(12345, code) for code in ("en", "es", "fr")] == ["12,345", "12.345", "12\u202f345"]
    assert numbers.count(12345, "xx-not-a-language") == "12,345" and numbers.count(None, "es", "*") == "*"
    assert numbers.signed_points(0.12, "en") == "+12" and numbers.signed_points(-0.05, "es") == "-5"


@pytest.mark.parametrize("language", ["en", "es", "fr", "ar"])
def test_a_reports_shares_and_counts_are_in_its_language(language) -> None:
    """A choice question's shares (20 of 35 people: 57%) and the sentences' counts print in the report's language, in every writer."""
    data = with_choices(session({1: 30, 2: 20}), {1: 20, 2: 15}, 12)
    report = assemble_report(data, language, translated(language) or __import__("gettext").NullTranslations())
    table = report.choice_results[0]
    assert table.rows[0][2] == WRITTEN[language]["share"]
    big = reports.Report(code="X", title="T", purpose="", language=language, direction="ltr", generated_at="",
                         questions=("Q",), participants=12345, answers=None, threshold=10,
                         themes=(reports.ThemeView(id="T1", label="Buses", definition="", size=12345, reviewed=True,
                                                   claims=(reports.ClaimView("late", 12345,
                                                                             shown_count=numbers.count(12345, language)),)),))
    html, md, docx = io.BytesIO(), io.BytesIO(), io.BytesIO()
    for fmt, out in (("html", html), ("md", md), ("docx", docx)):
        reports.write(big, fmt, out, translated(language))
    count = WRITTEN[language]["count"]
    soup = BeautifulSoup(html.getvalue().decode(), "html.parser")
    assert count in soup.select_one(".theme p").get_text() and f"×{count}" in soup.select_one(".claims").get_text()
    assert count in reports.people_sentence(big, translated(language))
    assert f"{count} " in md.getvalue().decode() or f" {count}" in md.getvalue().decode()
    from docx import Document

    assert any(count in p.text for p in Document(io.BytesIO(docx.getvalue())).paragraphs)
    if language == "en":
        assert table.rows[0][2] == "57%" and "12,345 people took part." == reports.people_sentence(big)


def test_csv_and_json_exports_keep_plain_numbers_in_a_spanish_report() -> None:
    """The codebook's answers column is 12345 (no grouping), a claim's count plain digits, JSON numbers numbers."""
    big = reports.Report(code="X", title="T", purpose="", language="es", direction="ltr", generated_at="",
                         questions=("Q",), participants=12345, answers=None, threshold=10,
                         themes=(reports.ThemeView(id="T1", label="Buses", definition="", size=12345, reviewed=True,
                                                   claims=(reports.ClaimView("late", 1234, shown_count="1.234"),)),))
    out = io.BytesIO()
    reports.write_codebook_csv(big, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows[0]["answers"] == "12345" and rows[0]["claims"] == "late ×1234"
    assert b'"participants": 12345' in b"".join(reports.json_chunks(big))


def test_a_design_reports_differences_use_the_languages_signs() -> None:
    """A priority group's difference is signed with the language's plus sign (Arabic's carries its direction mark)."""
    assert numbers.signed_points(0.12, "ar").endswith("+12") and numbers.signed_points(0, "ar") == "0"


def test_a_page_writes_a_large_count_the_readers_way(app) -> None:
    """Pages pluralise on the number and print it formatted ("12.345 respuestas" in Spanish, "12,345 answers" in English)."""
    from flask import render_template_string

    block = "{% trans count=size, n=size|format_number %}{{ n }} answer{% pluralize count %}{{ n }} answers{% endtrans %}"
    for language, written in (("es", "12.345 respuestas"), ("en", "12,345 answers"), ("fr", "12\u202f345 réponses")):
        with app.test_request_context(f"/?lang={language}"):
            app.preprocess_request()
            assert render_template_string(block, size=12345) == written


def test_the_synthesis_history_writes_counts_the_readers_way(app) -> None:
    """A run's "12,345 answers, 4 themes" in the history reads "12.345 …" in Spanish and keeps choosing the plural."""
    from analysis.review.views import describe_edit

    for language, start in (("es", "12.345 "), ("en", "12,345 answers")):
        with app.test_request_context(f"/?lang={language}"):
            app.preprocess_request()
            assert describe_edit("run", '{"answers": 12345, "themes": 1}', {}).startswith(start)
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        assert describe_edit("run", '{"answers": 1, "themes": 4}', {}) == "1 answer, 4 themes"
