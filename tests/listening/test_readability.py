"""The default English consent statement reads at grade 8 or below (bench/readability.py measures it)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from listening.consent import default_consent

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "readability.py"


def load_bench():
    """Import bench/readability.py, which is a script rather than part of a package."""
    spec = importlib.util.spec_from_file_location("bench_readability", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_syllable_counter_agrees_with_a_dictionary_on_common_words():
    """The small syllable counter gets everyday words right."""
    readability = load_bench()
    words = {"we": 1, "take": 1, "answers": 2, "people": 2, "community": 4, "comfortable": 4,
             "question": 2, "minutes": 2, "repeat": 2, "report": 2, "period": 3, "asked": 1}
    assert {w: readability.syllables(w) for w in words} == words


def test_default_consent_statement_is_grade_eight_or_below(app):
    """The default statement's Flesch-Kincaid grade and Coleman-Liau index are both 8 or below."""
    readability = load_bench()
    with app.app_context():
        text = default_consent("en", minutes=15, contact="Guilford listening team, (336) 555-0142")
    found = readability.scores(text)
    assert (found["grade"] <= 8, found["coleman_liau"] <= 8) == (True, True), found


def test_the_consent_summary_reads_no_harder_than_the_full_statement(app, client, db):
    """The five-point summary on the consent page scores at or below the full statement's grade (both at most 8)."""
    from tests.conftest import page
    from tests.factories import make_session

    readability = load_bench()
    session = make_session(db, contact="Guilford listening team, (336) 555-0142", minutes=15)
    soup = page(client.get(f"/s/{session['code']}/consent"))
    points = [li.get_text(" ", strip=True) for li in soup.select("#consent-summary li")]
    # Each point is a label and a sentence; end the label so it is not read as part of the sentence.
    summary = " ".join(point.replace(":", ".", 1) for point in points)
    with app.app_context():
        statement = default_consent("en", minutes=15, contact="Guilford listening team, (336) 555-0142")
    assert readability.scores(summary)["grade"] <= min(readability.scores(statement)["grade"], 8)
