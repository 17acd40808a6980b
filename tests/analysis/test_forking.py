"""Tests of how `chorus themes` saves time: the forked pieces give what the process itself computes, and WordLlama's files
read without its package give its own numbers."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from click.testing import CliRunner

from analysis import cli as analysis_cli
from analysis import forking, themes
from analysis.cli import themes_command

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform (Windows): chorus themes then runs in one process; Linux CI runs these")


@pytest.fixture()
def forks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fork on inputs of any size, and list the name of each piece a child computed."""
    monkeypatch.setattr(themes, "_FORK_ABOVE", 1)
    monkeypatch.setattr(analysis_cli, "_DETECT_BESIDE_BYTES", 0)
    monkeypatch.delenv(forking.ENV, raising=False)
    made: list[str] = []
    result = forking.Pending.result

    def counted(self: forking.Pending, *args: object, **kwargs: object) -> object:
        value = result(self, *args, **kwargs)
        if self.forked:
            made.append(self._function.__name__)
        return value

    monkeypatch.setattr(forking.Pending, "result", counted)
    return made


def _forked(forks: list[str]) -> list[str]:
    """Return the pieces children computed, sorted, leaving out the written words made while clustering: a child makes
    those only when this process did not make them all while it waited for the character block (which depends on timing)."""
    return sorted(name for name in forks if name != "_cased_words_of")


def _comments(fixtures_dir: Path) -> list[str]:
    """Return the first 80 comments of the Pol.is sample (seven themes)."""
    with (fixtures_dir / "polis_bowling_green_sample.csv").open(encoding="utf-8") as handle:
        return [row["comment-body"] for row in csv.DictReader(handle)][:80]


@needs_fork
def test_forked_run_is_the_in_process_run(fixtures_dir: Path, forks: list[str]) -> None:
    """With a child making the character block and describing half the themes, every field of every theme is the same."""
    answers = [themes.Answer(i, text) for i, text in enumerate(_comments(fixtures_dir))]
    here = themes.find_themes(answers, seed=3)
    assert forks == []  # off unless a command turns it on
    with forking.enable():
        beside = themes.find_themes(answers, seed=3)
    assert _forked(forks) == ["_char_block", "describe"]
    assert repr(beside) == repr(here) and beside == here


@needs_fork
def test_a_character_block_made_too_early_is_dropped(fixtures_dir: Path, forks: list[str]) -> None:
    """When the question's words are set aside, the child's character block (made from whole answers) is stopped and made here instead."""
    answers = [themes.Answer(i, text) for i, text in enumerate(_comments(fixtures_dir))]
    question = "What should Bowling Green do for the city and its people?"
    here = themes.find_themes(answers, seed=1, question=question)
    with forking.enable():
        beside = themes.find_themes(answers, seed=1, question=question)
    assert _forked(forks) == ["describe"]
    assert repr(beside) == repr(here)


@needs_fork
def test_cli_forked_and_in_process_write_the_same_file(fixtures_dir: Path, forks: list[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`chorus themes` writes the same file and summary with its child (languages, characters, themes) and with CHORUS_THEMES_PROCESSES=1."""
    runner = CliRunner()
    source = tmp_path / "comments.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["comment-body"]] + [[text] for text in _comments(fixtures_dir)])
    outputs = []
    for processes in ("2", "1"):
        monkeypatch.setenv(forking.ENV, processes)
        out = tmp_path / f"out-{processes}.csv"
        result = runner.invoke(themes_command, [str(source), "--text-column", "comment-body", "--output", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), result.output.replace(str(out), "OUT")))
        if processes == "2":
            assert _forked(forks) == ["_char_block", "_detected_languages", "describe"]
            forks.clear()
    assert forks == []  # CHORUS_THEMES_PROCESSES=1: nothing forked
    assert outputs[0] == outputs[1]
    assert not forking.enabled()  # the command turns forking off again when it ends


@needs_fork
def test_a_child_that_fails_leaves_the_work_to_this_process() -> None:
    """An error in the child is met again here, as without a child; a child that dies is computed here; read-only mappings travel."""

    def fails() -> None:
        raise ValueError("no answers")

    with forking.enable():
        with pytest.raises(ValueError, match="no answers"):
            forking.beside(fails).result()
        dying = forking.beside(os._exit, 3)
        assert dying.result(instead=lambda: "here") == "here" and not dying.forked
        pending = forking.beside(lambda: MappingProxyType({"en": 2}))
        value = pending.result()
        assert pending.forked and isinstance(value, MappingProxyType) and value == {"en": 2}
        stopped = forking.beside(pow, 2, 10)
        stopped.cancel()
        assert stopped.result() == 1024 and not stopped.forked


def test_wordllama_read_from_its_files_embeds_as_wordllama(fixtures_dir: Path) -> None:
    """The tokenizer and weights read from WordLlama's package files (without importing it) give WordLlama.load()'s embeddings, bit for bit."""
    light = themes._load_embedder.__wrapped__()
    full = themes._load_wordllama()
    assert isinstance(light, themes._Embedder) and full is not None
    texts = _comments(fixtures_dir) + ["", "Café, niños y WIC: ¿por qué no?", "مترجم"]
    assert np.array_equal(themes._embed(light, texts), themes._embed(full, texts))
    assert light.tokenizer.padding == full.tokenizer.padding and light.tokenizer.truncation == full.tokenizer.truncation


def test_character_ngrams_made_ahead_give_the_same_block(fixtures_dir: Path) -> None:
    """The character block is the same, bit for bit, with every word's n-grams made ahead (as `chorus themes` makes them while it waits)."""
    texts = _comments(fixtures_dir) + ["Café au lait, ÉCOLE, niños", "x"]
    try:
        plain = themes._char_block(texts, 0)
        themes.grams_ahead(texts, lambda: False)
        assert themes._GRAMS_AHEAD["x"] == [" x", "x ", " x "] and "cafe" in themes._GRAMS_AHEAD
        ahead = themes._char_block(texts, 0)
    finally:
        themes._GRAMS_AHEAD.clear()
    assert np.array_equal(plain, ahead)


@needs_fork
def test_answers_read_and_glossed_by_two_processes_are_read_as_by_one(multilingual_answers: list[themes.Answer],
                                                                      forks: list[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A job or command that forks reads half of the answers (redaction, translations, contentless ones, repeats) and
    glosses half of the distinct texts in a child (issue 19): every field of every theme is what one process makes."""
    from dataclasses import replace

    monkeypatch.setattr(themes, "_PREPARE_FORK_ABOVE", 1)
    answers = [replace(a, translation=None) if i % 3 == 0 else a for i, a in enumerate(multilingual_answers)]
    answers += [themes.Answer(f"x{i}", text, language=lang) for i, (text, lang) in enumerate(
        [("n/a", "en"), ("No sé", "es"), ("El autobús pasa muy poco y espero una hora", "es"),
         ("Call Dr. Rosa Mendez at 555-201-3344", "en"), ("Mi doctora Ana Ruiz no tiene citas", "es")])]
    here = themes.find_themes(answers, seed=2, names=("Mendez",), vocabulary={"autobús"})
    assert here.glosses and here.contentless
    with forking.enable():
        beside = themes.find_themes(answers, seed=2, names=("Mendez",), vocabulary={"autobús"})
    assert {"<lambda>", "_glossed"} <= set(forks)
    assert repr(beside) == repr(here) and beside == here


def test_halves_are_joined_in_order_and_a_failed_child_is_computed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_in_two` gives what one call gives: in process when forking is off or the input small, and from a child whose
    work failed too (computed again here)."""
    monkeypatch.setattr(themes, "_PREPARE_FORK_ABOVE", 4)
    monkeypatch.delenv(forking.ENV, raising=False)
    items = list(range(9))
    assert themes._in_two(lambda part: [i * i for i in part], items) == [i * i for i in items]
    with forking.enable():
        assert themes._in_two(lambda part: [i * i for i in part], items) == [i * i for i in items]
        assert themes._in_two(lambda part: [-i for i in part], items[:3]) == [0, -1, -2]
        here = os.getpid()

        def fails_in_a_child(part: list[int]) -> list[int]:
            if os.getpid() != here:
                raise RuntimeError("the child fails")
            return [i + 1 for i in part]

        assert themes._in_two(fails_in_a_child, items) == [i + 1 for i in items]


def _mixed(fixtures_dir: Path) -> list[themes.Answer]:
    """Return the Pol.is comments in English and the multilingual sample's answers in their languages (glossed: two languages)."""
    with (fixtures_dir / "multilingual.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [(text, "en") for text in _comments(fixtures_dir)] + [(row["answer"], row["language"]) for row in rows]
    return [themes.Answer(i, text, language=language) for i, (text, language) in enumerate(texts)]


@needs_fork
def test_character_block_started_before_the_glosses_gives_the_same_run(fixtures_dir: Path, forks: list[str]) -> None:
    """The character block's child starts before the glosses are made (they never reach it): the same themes as in one process."""
    answers = _mixed(fixtures_dir)
    here = themes.find_themes(answers, seed=2)
    assert here.glosses  # Spanish answers were glossed
    with forking.enable():
        beside = themes.find_themes(answers, seed=2)
    assert _forked(forks) == ["_char_block", "describe"]
    assert repr(beside) == repr(here) and beside == here


def test_terms_kept_while_indexing_are_what_the_descriptions_read(fixtures_dir: Path) -> None:
    """Each distinct text's occurrences kept by _index_terms (keep=True) are _term_occurrences of it; without keep none are kept."""
    p = themes._prepare(_mixed(fixtures_dir), themes.textmod.Redaction((), frozenset()), True, None)
    kept = themes._index_terms(p, frozenset(), keep=True)
    assert themes._index_terms(p, frozenset()).occurrences is None
    assert kept.occurrences == [themes._term_occurrences(p.analysed[r], p.langs[r]) for r in p.uniq_rows]


def test_written_words_made_ahead_are_the_builders_and_stop_when_ready(fixtures_dir: Path) -> None:
    """_cased_words_ahead fills what _Builder.cased_words reads, in order, and stops as soon as the awaited block is ready."""
    p = themes._prepare(_mixed(fixtures_dir), themes.textmod.Redaction((), frozenset()), True, None)
    cased: dict[int, list[tuple[str, str]]] = {}
    themes._cased_words_ahead(p, cased, lambda: False)
    assert cased == {u: themes.headline_mod.cased_words(p.redacted[r]) for u, r in enumerate(p.uniq_rows)}
    stopped: dict[int, list[tuple[str, str]]] = {}
    themes._cased_words_ahead(p, stopped, lambda: True)
    assert stopped == {}


@needs_fork
def test_written_words_made_beside_while_clustering_are_the_builders(fixtures_dir: Path, forks: list[str]) -> None:
    """The child started while this process clusters makes the written words of the texts not made yet, in order, as the builder reads them."""
    p = themes._prepare(_mixed(fixtures_dir), themes.textmod.Redaction((), frozenset()), True, None)
    assert themes._cased_words_beside(p, {}) is None  # forking off: nothing started
    done = {0: themes.headline_mod.cased_words(p.redacted[p.uniq_rows[0]])}
    with forking.enable():
        pending = themes._cased_words_beside(p, done)
        assert pending is not None and pending.forked_now
        with pending:
            made = pending.result()
        assert themes._cased_words_beside(p, {u: [] for u in range(len(p.uniq_rows))}) is None  # nothing left to make
    assert forks == ["_cased_words_of"]
    assert made == [themes.headline_mod.cased_words(p.redacted[r]) for r in p.uniq_rows[1:]]


@needs_fork
@pytest.mark.parametrize("question", [None, "What could the NHS improve for patients?"])
def test_sampled_character_block_fitted_by_a_child_gives_the_same_run(nhs_answers: list[themes.Answer], forks: list[str],
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      question: str | None) -> None:
    """On large input a child fits the sample's character block (each text without the question's words, when they are
    set aside) while this process embeds the sample and fits the word block (issue 19): every field of every theme is
    what one process makes."""
    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", 150)
    monkeypatch.setattr(themes, "_SAMPLE_SIZE", 120)
    monkeypatch.setattr(themes, "_CHUNK", 45)
    here = themes.find_themes(nhs_answers, seed=1, question=question)
    assert here.k_scores["sampled_distinct_answers"] == 120
    with forking.enable():
        beside = themes.find_themes(nhs_answers, seed=1, question=question)
    assert "_sample_chars" in forks
    assert repr(beside) == repr(here) and beside == here


def test_a_fitted_block_sent_by_a_child_projects_as_the_one_fitted_here(nhs_answers: list[themes.Answer]) -> None:
    """The character block's vectorizer (a class pickle cannot name) travels as its attributes: the one made again from
    them projects every text bit for bit as the one fitted here, and a block that was not made stays ``None``."""
    import pickle

    docs = themes._char_docs([a.text.casefold() for a in nhs_answers])
    fitted = themes._fit_sample_chars(docs[:200], 0)
    assert fitted is not None
    sent = themes._unpacked_lsa(pickle.loads(forking._dumps(themes._packed_lsa(fitted))))
    assert type(sent[0].vec) is type(fitted[0].vec) and np.array_equal(sent[1], fitted[1])
    assert np.array_equal(sent[0].project(docs[200:]), fitted[0].project(docs[200:]))
    assert themes._packed_lsa(None) is None and themes._unpacked_lsa(None) is None
