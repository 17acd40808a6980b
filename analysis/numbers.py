"""Numbers as a report's language writes them: percentages, decimals and counts (Babel's locale data).

Pure (no Flask, no SQLite): reports, exports' human-readable parts and the pages that show a
report's figures call these with the report's or the reader's language, so a Spanish report says
"42 %" and "12.345", a French one "42 %" and "12 345", an English one "42%" and "12,345" — as
the web pages do (listening/i18n.py's filters make the same Babel calls). Machine-readable
exports (CSV, JSON, spreadsheet cells) keep plain numbers and never call these (docs/interchange.md).
"""
from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal, format_percent, get_minus_sign_symbol, get_plus_sign_symbol

FALLBACK = "en"


@functools.lru_cache(maxsize=64)
def locale_of(language: str | None) -> Locale:
    """Return the Babel locale of a language tag ("es", "ar-EG", "zh_Hant"), English when Babel does not know it."""
    try:
        return Locale.parse((language or FALLBACK).replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(FALLBACK)


def count(value: int | None, language: str, hidden: str = "") -> str:
    """Return a count with the language's grouping ("12,345"; "12.345" in Spanish), or ``hidden`` for None."""
    return hidden if value is None else format_decimal(value, locale=locale_of(language))


def decimal(value: float | None, language: str, hidden: str = "") -> str:
    """Return a decimal as written ("12.5"; "12,5" in French and Spanish), up to three decimals, or ``hidden``."""
    return hidden if value is None else format_decimal(value, locale=locale_of(language))


def share(value: float | None, language: str, hidden: str = "") -> str:
    """Return a share (0.42) as a whole percentage the language's way ("42%"; "42 %" in Spanish), or ``hidden``."""
    return hidden if value is None else format_percent(value, locale=locale_of(language))


def percent(value: float | None, language: str, hidden: str = "") -> str:
    """Return a percentage (42, or 12.5 kept as written) the language's way ("12,5 %" in Spanish), or ``hidden``."""
    if value is None:
        return hidden
    return format_percent(value / 100, locale=locale_of(language), decimal_quantization=False)


def signed_points(value: float | None, language: str, hidden: str = "") -> str:
    """Return a difference of shares (0.12) as signed whole percentage points ("+12", "−5"), the language's digits and signs."""
    if value is None:
        return hidden
    points = round(value * 100)
    locale = locale_of(language)
    sign = get_plus_sign_symbol(locale) if points > 0 else get_minus_sign_symbol(locale) if points < 0 else ""
    return sign + format_decimal(abs(points), locale=locale)
