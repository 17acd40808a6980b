"""The one redaction of a session's answers, from its own wording and the names its team listed.

Pure: the planners' queries and the live console read the texts and names from the database and
pass them here, so every screen, report and page redacts a session's answers the same way.
"""
from __future__ import annotations

from typing import Sequence

from analysis.text import Redaction, vocabulary_of


def vocabulary_texts(texts: dict) -> list[str]:
    """Return a session's own wording (title, purpose, questions, choices) in every language.

    The consent statement is left out: its contact line may name a person.
    """
    return [body for (owner, _owner_id, field), by_language in texts.items()
            if not (owner == "session" and field == "consent") for body in by_language.values() if body]


def redaction_of(texts: dict, names: Sequence[str]):
    """Return the Redaction for a session's texts and the names its team listed."""
    return Redaction(tuple(names), vocabulary_of(vocabulary_texts(texts)))
