"""A theme run holds only what its engine reads (issue 19's memory)."""

from __future__ import annotations

from analysis.review import queries as synthesis


def test_a_theme_run_never_reads_the_about_you_answers_and_its_themes_are_the_same(heard, db, monkeypatch):
    """The engine never looks at an answer's segments: a run reads no "about you" answers (100 MB of small dicts at
    200,000 answers, held to the run's end), and its themes are those the engine finds with each answer's segments."""
    sid = heard.session["id"]
    answers = synthesis.open_answers(db, sid, synthesis.scope_prompt_ids(db, sid))
    segments = synthesis.participant_segments(db, sid)
    assert any(segments.get(a["participant_id"]) for a in answers)
    with_segments = [synthesis.engine_answer(a, segments={f"q{k}": str(v) for k, v in segments.get(a["participant_id"], {}).items()})
                     for a in answers]

    def refuse(*_args, **_kwargs):
        """Fail the test: the run read every "about you" answer."""
        raise AssertionError("read the about-you answers")

    monkeypatch.setattr(synthesis, "participant_segments", refuse)
    given = synthesis.engine_answers(db, sid, answers)
    assert [a.segments for a in given] == [{}] * len(answers) and any(a.segments for a in with_segments)
    from analysis.themes import find_themes

    assert repr(find_themes(given, seed=synthesis.SEED)) == repr(find_themes(with_segments, seed=synthesis.SEED))
    synthesis.run_themes(db, sid, user_id=heard.planner_id)
    assert synthesis.active_themes(db, sid)
