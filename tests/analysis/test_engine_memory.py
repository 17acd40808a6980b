"""Tests of what keeps a large theme run's memory down (issue 19): each saving leaves the engine's result as it was."""

from __future__ import annotations

import csv
import os
from dataclasses import replace

import numpy as np
import pytest

from analysis import forking, themes
from analysis.themes import Answer


def test_themes_are_the_same_whatever_the_answers_segments(nhs_answers: list[Answer]) -> None:
    """The engine never reads an answer's segments: a run's answers without them (a theme job's) give the same themes."""
    without = [replace(a, segments={}) for a in nhs_answers]
    assert any(a.segments for a in nhs_answers)
    assert repr(themes.find_themes(without, seed=3)) == repr(themes.find_themes(nhs_answers, seed=3))


def test_an_answer_stored_without_segments_shares_one_empty_read_only_mapping() -> None:
    """Answers stored without segments hold one shared empty mapping (200,000 empty dicts were 13 MB), which no one can
    fill; given segments are copied as before."""
    first = themes.stored_answer({"id": 1, "text": "a"}, quotable=True)
    second = themes.stored_answer({"id": 2, "text": "b"}, quotable=False, segments={})
    assert first.segments is second.segments and first.segments == {}
    with pytest.raises(TypeError):
        first.segments["q1"] = "2"  # type: ignore[index]
    given = {"q6": "13"}
    third = themes.stored_answer({"id": 3, "text": "c"}, quotable=True, segments=given)
    assert third.segments == given and third.segments is not given


def test_wordllama_gives_the_same_tokens_and_embeddings_without_its_word_cache(fixtures_dir) -> None:
    """With the tokenizer's word cache turned off (it kept about 65 MB per process), every text's tokens and pooled
    embedding are the same, bit for bit, as a tokenizer that caches gives."""
    cached = themes._load_embedder.__wrapped__()
    plain = themes._load_embedder.__wrapped__()
    assert isinstance(cached, themes._Embedder) and isinstance(plain, themes._Embedder)
    with (fixtures_dir / "polis_bowling_green_sample.csv").open(encoding="utf-8") as handle:
        comments = [row["comment-body"] for row in csv.DictReader(handle)][:80]
    texts = comments * 2 + ["", "Café, niños y WIC: ¿por qué no?", "مترجم"]
    themes._without_word_cache(plain.tokenizer)
    cached.tokenizer.no_padding()
    plain.tokenizer.no_padding()
    assert ([e.ids for e in plain.tokenizer.encode_batch(texts, add_special_tokens=False)]
            == [e.ids for e in cached.tokenizer.encode_batch(texts, add_special_tokens=False)])
    cached.tokenizer.enable_padding()
    plain.tokenizer.enable_padding()
    # _embed turns the cache off itself; the first call through `cached` compares with the tokens cached above.
    assert np.array_equal(themes._embed(plain, texts), themes._embed(cached, texts))
    themes._without_word_cache(object())  # a tokenizer without one is left alone


def test_memory_is_handed_back_between_phases_without_changing_a_sampled_run(nhs_answers: list[Answer],
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A sampled run hands freed memory back after preparing, after the sample's fit, after the projection and at its
    end, in the run and (with forking) around its children: the themes are the same as a run that never does, and a
    C library without ``malloc_trim`` is no error."""
    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", 150)
    monkeypatch.setattr(themes, "_SAMPLE_SIZE", 120)
    monkeypatch.setattr(themes, "_CHUNK", 45)
    calls: list[int] = []
    real = themes._give_back
    monkeypatch.setattr(themes, "_give_back", lambda: calls.append(1) or real())
    trimmed = themes.find_themes(nhs_answers, seed=2)
    assert len(calls) >= 4
    monkeypatch.setattr(themes, "_give_back", lambda: None)
    assert repr(themes.find_themes(nhs_answers, seed=2)) == repr(trimmed)
    if hasattr(os, "fork"):
        monkeypatch.setattr(themes, "_give_back", real)
        with forking.enable():
            assert repr(themes.find_themes(nhs_answers, seed=2)) == repr(trimmed)
    monkeypatch.setattr(themes, "_malloc_trim", lambda: None)
    real()  # nothing to call: nothing happens
