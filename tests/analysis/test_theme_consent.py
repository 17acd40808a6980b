"""Tests that only the words of people who allowed quoting become headlines, claims or quotes."""

from __future__ import annotations

from analysis.claims import find_claims
from analysis.themes import Answer, find_themes


def _answers(quotable: bool) -> list[Answer]:
    """Return two clear topics whose "secret" answers have the given quote consent; the others never allowed quoting."""
    answers = [Answer(f"w{i}", "Zorblax clinic waits are endless", quotable=quotable) for i in range(8)]
    answers += [Answer(f"b{i}", f"The morning bus to the clinic is late again, day {i}", quotable=False) for i in range(8)]
    return answers


def _words(result) -> str:  # type: ignore[no-untyped-def]
    """Return every resident-facing string the engine chose, folded, in one text."""
    parts = []
    for theme in (*result.themes, *result.subthemes, result.other):
        parts += [theme.label, theme.headline, *theme.quote_texts, *theme.quote_excerpts, *(c.text for c in theme.claims)]
    return " ".join(parts).casefold()


def test_unquotable_words_never_become_headline_claim_or_quote() -> None:
    """With nobody allowing quoting, labels fall back to key terms and no quote or claim is picked."""
    result = find_themes(_answers(False), k=2)
    assert result.themes and all(a in result.assignment for a in ("w0", "b0"))
    assert "zorblax clinic waits are endless" not in _words(result)
    assert "late again" not in _words(result)
    for theme in result.themes:
        assert theme.quotes == () and theme.claims == () and theme.quote_excerpts == ()
        assert theme.headline_language is None
        # The key-terms label: a comma-separated list of words, not a resident's sentence.
        assert "," in theme.label or len(theme.label.split()) == 1


def test_quotable_words_still_make_the_headline_and_claims() -> None:
    """The same answers, quotable, give an extractive headline and a claim counted once per answer."""
    result = find_themes(_answers(True), k=2)
    theme = next(t for t in result.themes if "w0" in t.answer_ids)
    assert "zorblax" in theme.headline.casefold()
    assert theme.claims and theme.claims[0].count == 8
    assert set(theme.quotes) <= {f"w{i}" for i in range(8)}


def test_mixed_consent_theme_quotes_only_the_consented() -> None:
    """In a theme where some people allowed quoting, quotes, headline and claim wording come only from them."""
    answers = [Answer(f"y{i}", f"Zorblax clinic waits are endless for families, week {i}", quotable=True) for i in range(3)]
    answers += [Answer(f"n{i}", f"Zorblax clinic waits are endless, Quimbly said so, week {i}", quotable=False) for i in range(5)]
    answers += [Answer(f"b{i}", f"The morning bus to the town hall is late again, day {i}") for i in range(8)]
    result = find_themes(answers, k=2)
    theme = next(t for t in result.themes if "y0" in t.answer_ids)
    assert theme.quotes and all(str(q).startswith("y") for q in theme.quotes)
    assert "quimbly" not in _words(result)


def test_claim_wording_comes_from_quotable_answers_but_counts_everyone() -> None:
    """A claim is worded in a consenting person's words and counts everyone who made it; with no consenting speaker it is dropped."""
    points = [(1, "Staff were really kind", "en"), (2, "Staff were kind", "en"), (3, "Staff were kind", "en"),
              (4, "parking is hard", "en"), (5, "parking is hard", "en")]
    claims = find_claims(points, quotable={1})
    assert [(c.text, c.count) for c in claims] == [("Staff were really kind", 3)]
    assert find_claims(points, quotable=set()) == ()
