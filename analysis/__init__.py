"""Chorus analysis engine: draft themes, redaction and an equity lens for open answers.

A pure-Python library (numpy, scipy, scikit-learn, NLTK stemmers, stopwordsiso, WordLlama): it
imports neither Flask nor SQLite, so it serves the web app and any CSV exported elsewhere.

- :mod:`analysis.text`: ``normalize``, ``tokenize``, ``terms``, ``is_contentless``, ``redact``.
- :mod:`analysis.themes`: ``Answer``, ``Theme``, ``ThemeSet``, ``find_themes``, ``split_theme``.
- :mod:`analysis.equity`: ``theme_by_segment``, ``overrepresented``, ``rank_by_priority_groups``.
- :mod:`analysis.cli`: the ``themes`` click command (``chorus themes`` / ``python -m analysis``).
- :mod:`analysis.messages`: every user-facing string, in plain English, for translation.

``analysis.views`` and ``analysis.reports`` belong to the web app.
"""

from analysis.equity import SuppressedTable, overrepresented, rank_by_priority_groups, theme_by_segment
from analysis.text import is_contentless, normalize, redact, tokenize
from analysis.themes import Answer, Theme, ThemeSet, find_themes, split_theme

__all__ = [
    "Answer",
    "SuppressedTable",
    "Theme",
    "ThemeSet",
    "find_themes",
    "is_contentless",
    "normalize",
    "overrepresented",
    "rank_by_priority_groups",
    "redact",
    "split_theme",
    "theme_by_segment",
    "tokenize",
]
