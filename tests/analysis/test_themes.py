"""Tests of draft themes: determinism, edge cases, structure, languages and quotes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from analysis import messages
from analysis.text import tokenize
from analysis.themes import CONTENTLESS_ID, OTHER_ID, Anchor, Answer, find_themes, split_theme, stored_answer


def _ids(theme_set):  # type: ignore[no-untyped-def]
    """Return the assignment as a plain dict for comparisons."""
    return dict(theme_set.assignment)


def test_deterministic_for_seed_and_input(nhs_answers: list[Answer]) -> None:
    """The same input and seed give exactly the same themes, labels and quotes."""
    first = find_themes(nhs_answers, seed=3)
    second = find_themes(nhs_answers, seed=3)
    assert _ids(first) == _ids(second)
    assert [t.label for t in first.themes] == [t.label for t in second.themes]
    assert [t.quotes for t in first.themes] == [t.quotes for t in second.themes]


def test_every_answer_is_assigned_in_input_order(nhs_answers: list[Answer]) -> None:
    """Every answer gets exactly one theme, other or contentless id, in input order."""
    result = find_themes(nhs_answers, k=6)
    assert list(result.assignment) == [a.id for a in nhs_answers]
    valid = {t.id for t in result.themes} | {OTHER_ID, CONTENTLESS_ID}
    assert set(result.assignment.values()) <= valid
    assert sum(t.size for t in result.themes) + result.other.size + len(result.contentless) == len(nhs_answers)


def test_theme_structure(nhs_answers: list[Answer]) -> None:
    """Themes carry readable labels, terms, sizes, ranked members and 3 to 5 distinct quotes."""
    result = find_themes(nhs_answers, k=6)
    written = {w for text in result.texts.values() for w in tokenize(text)}
    assert result.k_chosen == len(result.themes) == 6
    assert [t.id for t in result.themes] == [f"t{i}" for i in range(1, 7)]
    assert [t.size for t in result.themes] == sorted((t.size for t in result.themes), reverse=True)
    for theme in result.themes:
        assert theme.label and theme.label != messages.UNTITLED_THEME
        # Terms are real words as people wrote them (the commonest form of the stem, capitals kept), not stems.
        assert all(word.casefold() in written for term in theme.top_terms for word in term.split())
        assert theme.size == len(theme.answer_ids)
        assert 3 <= len(theme.quotes) <= 5
        assert set(theme.quotes) <= set(theme.answer_ids)
        assert len({q.casefold() for q in theme.quote_texts}) == len(theme.quote_texts)
        assert theme.quote_texts == tuple(result.texts[q] for q in theme.quotes)
    assert result.other.id == OTHER_ID and result.other.label == messages.OTHER_LABEL
    assert "k-means" in result.method


def test_automatic_k_within_bounds(nhs_answers: list[Answer]) -> None:
    """The number of themes is chosen automatically within the user's bounds."""
    result = find_themes(nhs_answers, k_min=4, k_max=7)
    assert 4 <= result.k_chosen <= 7
    assert find_themes(nhs_answers).k_chosen <= 20


def test_empty_input() -> None:
    """No answers give an empty theme set, not an error."""
    result = find_themes([])
    assert result.themes == () and result.k_chosen == 0 and result.other.size == 0


def test_one_answer() -> None:
    """A single answer forms a single theme quoting it."""
    result = find_themes([Answer(1, "The buses are always late")])
    assert result.k_chosen == 1
    assert result.themes[0].answer_ids == (1,)
    assert result.themes[0].quotes == (1,)


def test_identical_answers_form_one_theme() -> None:
    """Identical answers form one theme, not several."""
    answers = [Answer(i, "More buses please") for i in range(50)]
    result = find_themes(answers, k=5)
    assert result.k_chosen == 1
    assert result.themes[0].size == 50
    assert len(result.themes[0].quotes) == 1  # one distinct text: never quoted twice


def test_only_empty_answers() -> None:
    """Only contentless answers give no themes and list them all as contentless."""
    answers = [Answer(i, t) for i, t in enumerate(["n/a", "", "idk", "😀", "...", "no sé"])]
    result = find_themes(answers)
    assert result.themes == ()
    assert set(result.contentless) == set(range(6))
    assert set(result.assignment.values()) == {CONTENTLESS_ID}


def test_contentless_answers_do_not_form_a_theme(multilingual_answers: list[Answer]) -> None:
    """"n/a", "no sé" and emoji are set aside; "Nothing, it was all fine" is kept."""
    result = find_themes(multilingual_answers, k=3)
    assert set(result.contentless) == {"13", "14", "15"}
    assert result.assignment["16"] != CONTENTLESS_ID


def test_translation_analysed_original_quoted(multilingual_answers: list[Answer]) -> None:
    """Answers meaning the same in two languages share a theme, and quotes keep the original."""
    result = find_themes(multilingual_answers, k=3, seed=1)
    pairs = [("1", "2"), ("7", "8"), ("17", "18"), ("19", "20")]
    assert sum(result.assignment[a] == result.assignment[b] for a, b in pairs) >= 3
    quoted = [text for theme in result.themes for text in theme.quote_texts]
    assert any("autobús" in q or "parque" in q or "clínica" in q for q in quoted)


def test_single_language_theme_is_flagged() -> None:
    """A theme holding only one language says so when the set has several languages."""
    answers = [Answer(f"e{i}", f"The bus number {i} is late again", "en") for i in range(6)]
    answers += [Answer(f"s{i}", f"El parque {i} está muy sucio hoy", "es") for i in range(6)]
    result = find_themes(answers, k=2)
    flags = {t.single_language for t in result.themes}
    assert flags == {"en", "es"}
    assert "Only English answers" in next(t for t in result.themes if t.single_language == "en").language_note


def test_terms_read_in_the_themes_own_words() -> None:
    """A stem shared by two languages reads in the theme's language, and no term repeats.

    English "doctors" and Spanish "doctores" share the stem "doctor"; the Spanish theme's terms
    say "doctores", the English theme's "doctors", and a written form appears once per theme.
    """
    answers = [Answer(f"e{i}", f"The doctors never listen to me, visit {i}", "en") for i in range(8)]
    answers += [Answer(f"s{i}", f"Los doctores nunca me escuchan en la visita {i}", "es") for i in range(8)]
    result = find_themes(answers, k=2)
    english = next(t for t in result.themes if t.single_language == "en")
    spanish = next(t for t in result.themes if t.single_language == "es")
    assert not any("doctores" in term for term in english.top_terms)
    assert not any(word == "doctors" for term in spanish.top_terms for word in term.split())
    for theme in result.themes:
        forms = [term.casefold() for term in theme.top_terms]
        assert len(forms) == len(set(forms))


def test_label_does_not_repeat_its_own_words() -> None:
    """A phrase whose words the label already shows is not added again."""
    answers = [Answer(i, text) for i, text in enumerate(["no tengo seguro médico"] * 3 + ["no tengo seguro médico ahora", "no tengo seguro médico nunca", "yo no tengo seguro médico"])]
    answers = [Answer(a.id, a.text, "es") for a in answers]
    result = find_themes(answers, k=1)
    words = [word for term in result.themes[0].top_terms for word in term.split()]
    assert len(words) == len(set(words)), result.themes[0].top_terms


def test_unknown_languages_are_detected() -> None:
    """Answers whose language nobody gave are analysed in the language they are written in."""
    answers = [Answer(f"e{i}", f"The bus to the clinic is late again, day {i}", None) for i in range(6)]
    answers += [Answer(f"s{i}", f"El autobús a la clínica llega tarde otra vez, día {i}", "") for i in range(6)]
    result = find_themes(answers, k=2)
    assert dict(result.languages) == {"en": 6, "es": 6}
    assert {t.single_language for t in result.themes} == {"en", "es"}


def test_asking_for_more_themes_than_exist_says_so() -> None:
    """Asking for 5 themes from 3 distinct answers gives fewer themes, says so, and warns nobody."""
    import warnings  # noqa: PLC0415

    answers = [Answer(i, text) for i, text in enumerate(["The bus is late"] * 4 + ["The clinic is far"] * 4 + ["Staff were kind"] * 4)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = find_themes(answers, k=5)
    assert result.k_chosen == len(result.themes) == 3
    assert "5 themes requested, but only 3 distinct groups could be found" in result.method


def test_unrelated_answers_in_two_languages_are_not_one_theme() -> None:
    """Centring languages must not leave "the bus is late" and "there is no interpreter" in one theme.

    With the number of themes chosen automatically, a theme whose English and Arabic parts have
    nothing in common is split by language; a number of themes the user fixed is kept.
    """
    english = ["The bus is late every day", "Nobody at the clinic speaks my language", "The clinic is too far from home", "There is no interpreter at the hospital"]
    arabic = ["الحافلة تتأخر كل يوم وأنتظر ساعة", "لا أحد في العيادة يتكلم لغتي", "العيادة بعيدة جدا عن بيتي", "لا يوجد مترجم في المستشفى"]
    answers = [Answer(i, arabic[i % 4] if i % 2 else english[i % 4], "ar" if i % 2 else "en") for i in range(60)]
    result = find_themes(answers)
    texts = [{result.texts[a] for a in theme.answer_ids} for theme in result.themes]
    assert not any("The bus is late every day" in t and "لا يوجد مترجم في المستشفى" in t for t in texts)
    assert all(len({a.language for a in answers if a.id in theme.answer_ids}) == 1 for theme in result.themes)
    assert "split by language" in result.method
    assert len(find_themes(answers, k=3).themes) == 3


def test_mixed_scripts_and_very_long_answers() -> None:
    """Mixed scripts and very long answers are handled without error."""
    long_text = "The waiting room was cold and the staff were kind. " * 400
    answers = [Answer(0, long_text), Answer(1, "الخدمة ممتازة"), Answer(2, "服务很好，谢谢"), Answer(3, "Nhân viên rất thân thiện"), Answer(4, "Service was excellent"), Answer(5, "Cold waiting room")]
    result = find_themes(answers, k=2)
    assert len(result.assignment) == 6
    assert all(len(q) <= len(long_text) for t in result.themes for q in t.quote_texts)


def test_redaction_applies_to_quotes() -> None:
    """Quotes come from redacted text, including the facilitator's names."""
    answers = [Answer(i, f"Nurse Alice was lovely, call me on 07700 900{i:03d}") for i in range(5)]
    result = find_themes(answers, names=["Alice"])
    for text in result.texts.values():
        assert "Alice" not in text and "07700" not in text
        assert "[name]" in text and "[phone]" in text


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k_min": 5, "k_max": 2}, {"k_min": 0}])
def test_invalid_parameters_raise_clear_errors(kwargs: dict) -> None:
    """Impossible parameters raise ValueError with a message."""
    with pytest.raises(ValueError, match=r"\w"):
        find_themes([Answer(1, "x y z")], **kwargs)


def test_duplicate_ids_rejected() -> None:
    """Repeated answer ids are refused, since every answer needs its own theme."""
    with pytest.raises(ValueError, match="unique"):
        find_themes([Answer(1, "a b"), Answer(1, "c d")])


def test_split_theme(nhs_answers: list[Answer]) -> None:
    """Splitting a theme re-clusters only its answers into two sub-themes."""
    result = find_themes(nhs_answers, k=4)
    biggest = result.themes[0]
    split = split_theme(result, nhs_answers, biggest.id)
    assert split.k_chosen == 2
    assert set(split.assignment) == set(biggest.answer_ids)


def test_large_input_is_projected_as_if_every_answer_were_read_again(nhs_answers: list[Answer], monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the fitting sample, reusing the sample's rows gives the same LSA coordinates as projecting every answer."""
    import numpy as np
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from analysis import themes

    monkeypatch.setattr(themes, "_FIT_SAMPLE", 60)
    monkeypatch.setattr(themes, "_CHUNK", 25)
    docs = [a.text.casefold() for a in nhs_answers[:150]]
    options = {"analyzer": "char_wb", "ngram_range": (2, 4), "max_features": 2000}
    found = themes._lsa_block(docs, 20, 0, **options)
    sample = np.sort(np.random.default_rng(0).choice(len(docs), size=60, replace=False))
    vec = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32, **options)
    svd = TruncatedSVD(n_components=20, random_state=0, algorithm="randomized", n_iter=themes._SVD_ITER).fit(vec.fit_transform([docs[i] for i in sample]))
    expected = themes._l2(np.vstack([svd.transform(vec.transform(docs[s : s + 25])) for s in range(0, len(docs), 25)]).astype(np.float32))
    assert found is not None and np.array_equal(found, expected)


def test_character_ngrams_are_counted_as_scikit_learn_counts_them(nhs_answers: list[Answer], monkeypatch: pytest.MonkeyPatch) -> None:
    """The character block's vectorizer, which reads each distinct word once, gives scikit-learn's own vocabulary and
    matrices, entry for entry, when fitting and when projecting new answers (odd and empty answers included)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from analysis import themes

    monkeypatch.setattr(themes, "_WORD_GRAM_BLOCK", 7)
    monkeypatch.setattr(themes, "_WORD_GRAM_CACHE", 50)
    docs = [a.text for a in nhs_answers] + ["", "a", "ab", "x  y\tz", "ÉCOLE école", "北京天气很好", "don't  stop", ""]
    options = {"analyzer": "char_wb", "ngram_range": (2, 5), "max_features": 3000, "min_df": 2, "sublinear_tf": True, "dtype": np.float32}
    ours, theirs = themes._vectorizer_class()(**options), TfidfVectorizer(**options)
    pairs = [(ours.fit_transform(docs[:250]), theirs.fit_transform(docs[:250])), (ours.transform(docs[250:]), theirs.transform(docs[250:]))]
    assert ours.vocabulary_ == theirs.vocabulary_ and list(ours.vocabulary_) == list(theirs.vocabulary_)
    # Projected chunk by chunk (each word's n-gram ids kept from one chunk to the next), then fitted again on
    # other answers: the ids kept for the first vocabulary are not used with the second.
    pairs += [(ours.transform(docs[s : s + 40]), theirs.transform(docs[s : s + 40])) for s in range(200, 320, 40)]
    pairs.append((ours.fit_transform(docs[100:300]), theirs.fit_transform(docs[100:300])))
    pairs.append((ours.transform(docs[:120]), theirs.transform(docs[:120])))
    words = {"analyzer": "word", "token_pattern": r"\S+", "ngram_range": (1, 2), "max_features": 500, "min_df": 2, "sublinear_tf": True, "dtype": np.float32}
    word_pair = (themes._vectorizer_class()(**words), TfidfVectorizer(**words))
    pairs.append((word_pair[0].fit_transform(docs[:300]), word_pair[1].fit_transform(docs[:300])))
    assert list(word_pair[0].vocabulary_.items()) == list(word_pair[1].vocabulary_.items())
    pairs.append((word_pair[0].transform(docs[250:] + ["a\u00a0b\u2003c  d"]), word_pair[1].transform(docs[250:] + ["a\u00a0b\u2003c  d"])))
    for mine, expected in pairs:
        assert mine.dtype == expected.dtype and mine.shape == expected.shape
        assert np.array_equal(mine.indptr, expected.indptr) and np.array_equal(mine.indices, expected.indices)
        assert np.array_equal(mine.data, expected.data)


def test_above_the_sample_size_themes_are_found_on_a_sample_and_every_answer_gets_a_theme(
        nhs_answers: list[Answer], monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond _SAMPLE_ABOVE distinct answers the sampled path runs: every answer is placed (a theme, "Other /
    unclear" or contentless), each theme's members are all its answers, sub-themes cover their theme, a reviewed
    theme keeps its answers, and the result is the same on a second run."""
    from analysis import themes

    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", 150)
    monkeypatch.setattr(themes, "_SAMPLE_SIZE", 120)
    monkeypatch.setattr(themes, "_CHUNK", 50)
    called = []
    original = themes._find_themes_sampled
    monkeypatch.setattr(themes, "_find_themes_sampled", lambda *a, **kw: called.append(1) or original(*a, **kw))
    anchor = Anchor("r1", "Reviewed", tuple(a.id for a in nhs_answers[:5]))
    result = find_themes(nhs_answers, seed=0, anchors=[anchor])
    assert called and 120 <= result.k_scores["sampled_distinct_answers"] < len(nhs_answers)
    ids = [a.id for a in nhs_answers]
    assert list(result.assignment) == ids
    placed = [aid for t in result.themes for aid in t.answer_ids] + list(result.other.answer_ids) + list(result.contentless)
    assert sorted(map(str, placed)) == sorted(map(str, ids))
    for theme in result.themes:
        assert theme.size == len(theme.answer_ids) and all(result.assignment[a] == theme.id for a in theme.answer_ids)
        assert theme.quotes and set(theme.quotes) <= set(theme.answer_ids) and theme.label
        subs = [s for s in result.subthemes if s.parent == theme.id]
        if subs:
            assert sorted(map(str, (a for s in subs for a in s.answer_ids))) == sorted(map(str, theme.answer_ids))
    assert {result.assignment[a.id] for a in nhs_answers[:5]} <= {"r1", CONTENTLESS_ID} and result.themes[0].id == "r1"
    assert "sample" in result.method
    again = find_themes(nhs_answers, seed=0, anchors=[anchor])
    assert again.assignment == result.assignment and [t.label for t in again.themes] == [t.label for t in result.themes]
    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", len(nhs_answers))
    assert "sampled_distinct_answers" not in find_themes(nhs_answers, seed=0).k_scores


def test_a_translation_is_read_in_its_own_language() -> None:
    """In a Spanish session, Arabic answers translated into Spanish are analysed as Spanish: the theme's headline
    comes from the translations, in Spanish, and says so; with no language given, a translation is read as English."""
    parks = [Answer(f"s{i}", f"El parque del barrio está muy sucio, día {i}", "es") for i in range(8)]
    buses = ["لا توجد حافلة إلى العيادة", "الحافلة تتأخر دائما", "نحتاج حافلة إلى المستشفى", "الحافلة لا تأتي أبدا",
             "لا أستطيع الوصول إلى العيادة بالحافلة", "الحافلات قليلة جدا"]
    spanish = ["No hay autobús a la clínica", "El autobús siempre llega tarde", "Necesitamos un autobús al hospital",
               "El autobús nunca viene", "No puedo llegar a la clínica en autobús", "Hay muy pocos autobuses"]
    translated = [Answer(f"a{i}", text, "ar", translation=into, translation_language="es")
                  for i, (text, into) in enumerate(zip(buses, spanish))]
    result = find_themes(parks + translated, k=2, seed=0, main_language="es", gloss=False)
    bus = next(t for t in result.themes if "a0" in t.answer_ids)
    assert bus.headline_from_translation and bus.headline_language == "es"
    assert "autob" in bus.headline.casefold()
    assert stored_answer({"id": 1, "text": "x", "language": "ar", "translation": "y"}, quotable=True).translation_language is None
    assert stored_answer({"id": 1, "text": "x", "language": "ar", "translation": "", "translation_language": "es"},
                         quotable=False).translation is None


def test_combining_blocks_on_a_sample_projects_every_row_exactly_as_the_whole_concatenation_did(monkeypatch):
    """The features are put side by side only for the sample and then chunk by chunk (memory at 200,000 answers); the
    projection is bit for bit the one made from the whole weighted concatenation, and the blocks are let go."""
    import numpy as np

    from analysis import themes

    monkeypatch.setattr(themes, "_CHUNK", 40)
    rng = np.random.default_rng(3)
    blocks = [rng.standard_normal((230, width)).astype(np.float32) for width in (30, 20, 25)]
    weights = rng.integers(1, 4, 230).astype(np.float64)
    fit_rows = np.sort(rng.choice(230, 90, replace=False))
    # What _combine did before: the whole weighted concatenation, its sample's rows, then every row's projection.
    joined = np.hstack([np.float32(w) * b for w, b in zip(themes._BLOCK_WEIGHTS, blocks)]).astype(np.float32)
    fit, fit_weights = joined[fit_rows], weights[fit_rows]
    mean = themes._weighted_mean(fit, fit_weights)
    cov = np.zeros((fit.shape[1], fit.shape[1]))
    for start in range(0, len(fit), 40):
        part = fit[start : start + 40].astype(np.float64) - mean
        cov += (part * fit_weights[start : start + 40, None]).T @ part
    axes = np.linalg.eigh(cov)[1][:, ::-1][:, :themes._FINAL_DIMS]
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])] < 0, -1.0, 1.0)
    before = np.vstack([(joined[s : s + 40].astype(np.float64) - mean) @ axes for s in range(0, 230, 40)])
    given = list(blocks)
    after = themes._combine(given, weights, 0, fit_rows)
    assert given == []
    assert np.array_equal(after, themes._l2(before))


def test_centring_languages_in_place_by_chunks_gives_the_same_features(monkeypatch):
    """Each language's mean is taken off its rows in place, a chunk at a time (memory at 200,000 answers), with the same
    values as subtracting it from a copy, on all rows or on a sample's means."""
    import numpy as np

    from analysis import themes

    monkeypatch.setattr(themes, "_CHUNK", 37)
    rng = np.random.default_rng(1)
    for fit_rows in (None, np.sort(rng.choice(500, 120, replace=False))):
        block = rng.standard_normal((500, 30)).astype(np.float32)
        langs, weights = rng.choice(["en", "es", "ar"], 500), rng.integers(1, 5, 500).astype(np.float64)
        expected = block.copy()
        fit = np.zeros(500, dtype=bool)
        fit[slice(None) if fit_rows is None else fit_rows] = True
        for lang in ("en", "es"):
            rows = langs == lang
            w = weights[rows & fit][:, None]
            expected[rows] -= (block[rows & fit] * w).sum(axis=0) / w.sum()
        assert np.array_equal(themes._center_languages(block, langs, weights, ["en", "es"], fit_rows), themes._l2(expected))


def test_merging_centres_counts_the_groups_scikit_learn_counts() -> None:
    """Choosing k counts the groups left by complete-linkage merging exactly as scikit-learn's AgglomerativeClustering does."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    from analysis import themes

    rng = np.random.default_rng(3)
    for size, dims, distance in [(2, 4, 0.5), (12, 8, 0.9), (60, 40, themes._MERGE_DISTANCE), (60, 40, 0.2), (80, 5, 1.5)]:
        centres = themes._l2(rng.normal(size=(size, dims)))
        centres[size // 2] = centres[0]  # a tie at distance zero
        expected = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="complete", distance_threshold=distance).fit(centres)
        assert themes._groups_after_merging(centres, distance) == expected.n_clusters_
    with pytest.raises(ValueError):
        themes._groups_after_merging(np.zeros((3, 4)), 0.5)


@pytest.mark.parametrize(("languages", "helper"), [(("en",), False), (("en", "es", "fr"), True)])
def test_reading_the_texts_outside_the_sample_a_chunk_at_a_time_gives_the_same_numbers(
        nhs_answers: list[Answer], monkeypatch: pytest.MonkeyPatch, languages: tuple[str, ...], helper: bool) -> None:
    """On large input the texts outside the sample are read, represented and projected a chunk at a time (memory at
    200,000 answers, issue 19), every other chunk by a forked helper process when there are many: every coordinate
    is bit for bit what fitting on the sample with every text's blocks held at once gives, with languages centred
    and glossed too."""
    import numpy as np

    from analysis import text as textmod
    from analysis import themes

    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", 150)
    monkeypatch.setattr(themes, "_SAMPLE_SIZE", 120)
    monkeypatch.setattr(themes, "_CHUNK", 45)
    monkeypatch.setattr(themes, "_HELPER_ABOVE", 0 if helper else 10**9)
    forked: list[int] = []
    fork = themes._fork_helper
    monkeypatch.setattr(themes, "_fork_helper", lambda work: forked.append(1) or fork(work))
    answers = [replace(a, language=languages[i % len(languages)]) for i, a in enumerate(nhs_answers)]
    p = themes._prepare(themes._checked(answers), textmod.Redaction((), frozenset()), True, None)
    sample = themes._sample(p, themes._anchor_rows(p, ()), 0)
    terms = themes._index_terms(themes._subset(p, sample), themes._question_stems("What could we improve?", set(p.langs)))
    position = np.full(len(p.uniq_rows), -1, dtype=np.int64)
    position[sample] = np.arange(len(sample))
    streamed = themes._represent_sampled(p, terms, 0, sample)
    at_once = themes._represent_at_once(p, terms, 0, sample, position)
    assert streamed is not None and streamed[1:] == at_once[1:] and streamed[1] == (len(languages) > 1)
    assert streamed[0].dtype == at_once[0].dtype and np.array_equal(streamed[0], at_once[0])
    assert forked == ([1] if helper else [])


def test_a_helper_that_dies_leaves_its_chunks_to_the_run(nhs_answers: list[Answer], monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper process that dies in the middle of a chunk it took: the run projects that chunk itself, the same numbers."""
    import os

    import numpy as np

    from analysis import text as textmod
    from analysis import themes

    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", 150)
    monkeypatch.setattr(themes, "_SAMPLE_SIZE", 120)
    monkeypatch.setattr(themes, "_CHUNK", 45)
    monkeypatch.setattr(themes, "_HELPER_ABOVE", 0)
    run, chunk = os.getpid(), themes._project_chunk
    monkeypatch.setattr(themes, "_project_chunk", lambda *a: chunk(*a) if os.getpid() == run else os._exit(3))
    p = themes._prepare(themes._checked(nhs_answers), textmod.Redaction((), frozenset()), True, None)
    sample = themes._sample(p, themes._anchor_rows(p, ()), 0)
    terms = themes._index_terms(themes._subset(p, sample), frozenset())
    position = np.full(len(p.uniq_rows), -1, dtype=np.int64)
    position[sample] = np.arange(len(sample))
    streamed = themes._represent_sampled(p, terms, 0, sample)
    assert streamed is not None and np.array_equal(streamed[0], themes._represent_at_once(p, terms, 0, sample, position)[0])


def test_a_sampled_run_reports_how_far_its_projection_is_from_its_own_process_only(
        nhs_answers: list[Answer], monkeypatch: pytest.MonkeyPatch) -> None:
    """The projection of the texts outside the sample is most of a large run: a job's progress bar hears it move, a
    fraction between the second and the third step's ends after each chunk, rising to the whole, and never from the
    helper process that takes chunks too (a forked child must not write the job's progress)."""
    import os

    from analysis import themes

    monkeypatch.setattr(themes, "_SAMPLE_ABOVE", 150)
    monkeypatch.setattr(themes, "_SAMPLE_SIZE", 120)
    monkeypatch.setattr(themes, "_CHUNK", 45)
    monkeypatch.setattr(themes, "_HELPER_ABOVE", 0)
    heard: list[tuple[float, int, int]] = []
    result = themes.find_themes(nhs_answers, seed=0, on_step=lambda done, steps: heard.append((done, steps, os.getpid())))
    assert {pid for _, _, pid in heard} == {os.getpid()}
    steps = [done for done, _, _ in heard]
    inside = [done for done in steps if done != int(done)]
    assert inside and all(2 < done <= 3 for done in inside) and inside == sorted(inside)
    assert steps == sorted(steps) and steps[-1] == themes.ENGINE_STEPS
    assert repr(result) == repr(themes.find_themes(nhs_answers, seed=0))


def test_a_jobs_progress_moves_between_the_engines_step_ends() -> None:
    """A theme job's bar: each step's end at its measured share of the engine, a fraction of a step in between."""
    from analysis.review.queries import ENGINE_SHARES, engine_share

    assert [engine_share(n) for n in range(1, len(ENGINE_SHARES) + 1)] == list(ENGINE_SHARES)
    assert engine_share(0) == 0.0
    assert engine_share(2.5) == pytest.approx((ENGINE_SHARES[1] + ENGINE_SHARES[2]) / 2)
    assert engine_share(len(ENGINE_SHARES) + 0.5) == ENGINE_SHARES[-1]


def test_widened_themes_rank_their_answers_as_sorting_in_python_does() -> None:
    """A sampled run's themes list every answer most typical first, ties by first appearance: numpy's order (issue 19)
    is what sorting in Python gives, with equal, negative-zero and NaN similarities too."""
    import numpy as np

    from analysis import themes

    rng = np.random.default_rng(4)
    sims = rng.choice([0.5, 0.25, -0.0, 0.0, -0.125, 0.75], size=300).astype(np.float64)
    uniq_rows = rng.permutation(1000)[:300].astype(np.int64)
    uniq = rng.permutation(300)[:200]
    expected = sorted(uniq.tolist(), key=lambda u: (-sims[u], uniq_rows[u]))
    assert themes._ranked(uniq, sims, uniq_rows) == expected
    sims[uniq[3]] = np.nan
    assert themes._ranked(uniq, sims, uniq_rows) == sorted(uniq.tolist(), key=lambda u: (-sims[u], uniq_rows[u]))
