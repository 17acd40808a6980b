"""Chorus analysis engine: draft themes, redaction and an equity lens for open answers; opinion groups for votes.

A pure-Python library (numpy, scipy, scikit-learn, NLTK stemmers, stopwordsiso, WordLlama): it
imports neither Flask nor SQLite, so it serves the web app and any CSV exported elsewhere.

- :mod:`analysis.text`: ``normalize``, ``tokenize``, ``terms``, ``is_contentless``, ``redact``.
- :mod:`analysis.themes`: ``Answer``, ``Theme``, ``ThemeSet``, ``find_themes``, ``split_theme``.
- :mod:`analysis.disclosure`: ``protect``, ``audit``: the one place that decides which counts may be shown.
- :mod:`analysis.equity`: ``release`` (who took part and who said what, protected together),
  ``overrepresented``, ``rank_by_priority_groups``.
- :mod:`analysis.opinions`: ``VoteMatrix``, ``find_opinion_groups``, ``compare_priority_group``,
  ``statement_priorities``, ``next_statement``: opinion groups from agree / disagree / pass votes.
- :mod:`analysis.cli`: the ``themes`` click command (``chorus themes`` / ``python -m analysis``);
  :mod:`analysis.opinions_cli`: the ``opinions`` command (``chorus opinions``).
- :mod:`analysis.messages`: every user-facing string, in plain English, for translation.

``analysis.review`` (views and queries) belongs to the web app.
"""

from importlib import import_module

# Names are loaded on first use (PEP 562), so that importing a light module such as
# analysis.text or analysis.messages (the web app does) does not pull in numpy, scipy and
# scikit-learn through this package's own imports.
_HOME = {
    "Snapshot": "analysis.equity",
    "release": "analysis.equity",
    "overrepresented": "analysis.equity",
    "rank_by_priority_groups": "analysis.equity",
    "protect": "analysis.disclosure",
    "audit": "analysis.disclosure",
    "is_contentless": "analysis.text",
    "normalize": "analysis.text",
    "redact": "analysis.text",
    "tokenize": "analysis.text",
    "Answer": "analysis.themes",
    "Theme": "analysis.themes",
    "ThemeSet": "analysis.themes",
    "find_themes": "analysis.themes",
    "split_theme": "analysis.themes",
    "VoteMatrix": "analysis.opinions",
    "find_opinion_groups": "analysis.opinions",
}


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute hook
    """Import a public name from its module the first time it is asked for."""
    if name not in _HOME:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(import_module(_HOME[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "Answer",
    "Snapshot",
    "Theme",
    "ThemeSet",
    "VoteMatrix",
    "audit",
    "find_opinion_groups",
    "find_themes",
    "is_contentless",
    "normalize",
    "overrepresented",
    "protect",
    "rank_by_priority_groups",
    "redact",
    "release",
    "split_theme",
    "tokenize",
]
