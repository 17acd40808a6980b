"""Tests of language detection for answers that arrive without a language."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analysis.languages import detect_languages

ENGLISH = [
    "The bus comes too rarely and I wait an hour",
    "Nobody at the clinic speaks my language",
    "I could not get an appointment for three weeks",
    "The nurses were kind but the waiting room was cold",
    "We need childcare during evening meetings",
    "My landlord will not fix the heating",
]
SPANISH = [
    "El autobús pasa muy poco y espero una hora",
    "Nadie en la clínica habla mi idioma",
    "No pude conseguir una cita en tres semanas",
    "Las enfermeras fueron amables pero la sala de espera estaba fría",
    "Necesitamos cuidado de niños durante las reuniones de la tarde",
    "Mi casero no quiere arreglar la calefacción",
]
ARABIC = [
    "الحافلة تتأخر كل يوم وأنتظر ساعة",
    "لا أحد في العيادة يتكلم لغتي",
    "لم أستطع الحصول على موعد لمدة ثلاثة أسابيع",
    "الممرضات كن لطيفات لكن غرفة الانتظار كانت باردة",
    "نحتاج إلى رعاية الأطفال أثناء الاجتماعات المسائية",
    "صاحب البيت لا يصلح التدفئة",
]
VIETNAMESE = [
    "Xe buýt đến quá ít và tôi phải đợi một tiếng",
    "Không ai ở phòng khám nói tiếng của tôi",
    "Tôi không thể lấy hẹn trong ba tuần",
    "Các y tá rất tử tế nhưng phòng chờ thì lạnh",
    "Chúng tôi cần người giữ trẻ trong các buổi họp buổi tối",
    "Chủ nhà không chịu sửa máy sưởi",
]


def test_each_language_of_a_mixed_file_is_found() -> None:
    """Full-sentence answers in four languages are each given their own language."""
    texts = ENGLISH + SPANISH + ARABIC + VIETNAMESE
    expected = ["en"] * 6 + ["es"] * 6 + ["ar"] * 6 + ["vi"] * 6
    assert detect_languages(texts) == expected


def test_a_one_language_file_is_all_that_language() -> None:
    """In a Spanish file, short and unclear answers are Spanish too, not stray guesses."""
    texts = SPANISH * 3 + ["Ok", "gracias", "no", "Bien", "sí, todo"]
    assert set(detect_languages(texts)) == {"es"}


def test_stray_guesses_in_an_english_file_are_english(fixtures_dir: Path) -> None:
    """Real English feedback ("Ok", "Brill", "Very good service") is all English."""
    with (fixtures_dir / "nhs_sample.csv").open(encoding="utf-8", newline="") as handle:
        texts = [row["feedback"] for row in csv.DictReader(handle)]
    assert set(detect_languages(texts)) == {"en"}


def test_answers_without_letters_take_the_main_language() -> None:
    """Empty answers, emoji and numbers get the file's main language; nothing at all gets the default."""
    texts = SPANISH + ["", None, "😀", "42"]
    assert detect_languages(texts)[-4:] == ["es"] * 4
    assert detect_languages(["", "😀"]) == ["en", "en"]
    assert detect_languages(["", "😀"], default="es") == ["es", "es"]
    assert detect_languages([]) == []


def test_the_fixture_languages_are_recovered(fixtures_dir: Path) -> None:
    """The bilingual fixture's language column is recovered from the text alone."""
    with (fixtures_dir / "multilingual.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert detect_languages([r["answer"] for r in rows]) == [r["language"] for r in rows]


def test_language_cells_from_survey_tools_become_codes() -> None:
    """Codes, three-letter codes and names in several languages all become the usual code."""
    from analysis.languages import language_code

    cases = {"es": "es", "ES": "es", "es-MX": "es-mx", "es_MX": "es-mx", "spa": "es", "Spanish": "es",
             "Español": "es", "ESPAÑOL": "es", "Arabic": "ar", "العربية": "ar", "árabe": "ar", "Tiếng Việt": "vi",
             "Vietnamese": "vi", "français": "fr", "Urdu": "ur", "اردو": "ur", "Kreyòl Ayisyen": "ht", "eng": "en"}
    assert {value: language_code(value) for value in cases} == cases
    for not_a_language in ("", "  ", None, "n/a", "na", "12", "Klingon"):
        assert language_code(not_a_language) is None


def test_feature_counts_of_all_answers_at_once_are_py3langids_own(fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting the language model's features for many answers at once gives, answer by answer, py3langid's own counts in its order."""
    from py3langid.langid import visit_counts

    from analysis import languages

    identifier = languages._identifier(tuple(languages.CANDIDATES))
    with (fixtures_dir / "multilingual.csv").open(encoding="utf-8", newline="") as handle:
        texts = [row["answer"] for row in csv.DictReader(handle)]
    with (fixtures_dir / "nhs_sample.csv").open(encoding="utf-8", newline="") as handle:
        texts += [row["feedback"] for row in csv.DictReader(handle)][:80]
    texts += ENGLISH + SPANISH + ARABIC + VIETNAMESE + ["", "a", "Ok", "ÉCOLE école", "مرحبا بكم في المدرسة", "x" * 700, "北京天气很好", "don't  stop", "ا"]
    encoded = [identifier._encode(text) for text in texts]
    expected = [list((visit_counts(identifier.tk_nextmove, identifier._rowbase, identifier.tk_output, e) or {}).items()) for e in encoded]
    for alone in (1, 5, 10_000):  # the walk together, a mix, and every answer in the plain loop
        monkeypatch.setattr(languages, "_WALK_ALONE", alone)
        indices, counts, indptr = languages._feature_counts(identifier, encoded)
        found = [list(zip(indices[indptr[i] : indptr[i + 1]].tolist(), counts[indptr[i] : indptr[i + 1]].tolist())) for i in range(len(texts))]
        assert found == expected
