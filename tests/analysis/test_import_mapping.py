"""Mapping outside exports onto a session: columns, choice values, consent, row keys and typed issues."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from analysis import messages
from analysis.import_mapping import (
    CONTACT, CONTACT_PHONE, IGNORE, LANGUAGE, QUESTION, QUOTE, ROW_ID, SOURCE, TAKE_PART, TIME, Choice, ColumnMap,
    ConsentRule, Question, SessionQuestions, match_choice, plan_import, propose_mapping,
)
from analysis.importing import ERROR, read_table

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "interchange"

HARD, EASY, HELPED, SUPPORTED, AGE = 1, 2, 3, 4, 5
SESSION = SessionQuestions(
    languages=("en", "es"),
    questions=(
        Question(HARD, "open", {"en": "What made it hard to get care during your pregnancy?",
                                "es": "¿Qué le dificultó recibir atención durante su embarazo?"}, position=1),
        Question(EASY, "single", {"en": "How easy was it to get to your appointments?",
                                  "es": "¿Qué tan fácil fue llegar a sus citas?"}, position=2, choices=(
            Choice(21, {"en": "Very easy", "es": "Muy fácil"}),
            Choice(22, {"en": "Somewhat easy", "es": "Algo fácil"}),
            Choice(23, {"en": "Hard", "es": "Difícil"}),
            Choice(24, {"en": "Very hard", "es": "Muy difícil"}),
            Choice(25, {"en": "Prefer not to say", "es": "Prefiero no decir"}, prefer_not=True))),
        Question(HELPED, "multiple", {"en": "Which of these helped you?", "es": "¿Cuáles de estos le ayudaron?"}, position=3,
                 choices=(Choice(31, {"en": "WIC", "es": "WIC"}), Choice(32, {"en": "Doula", "es": "Doula"}),
                          Choice(33, {"en": "Clinic van", "es": "Camioneta de la clínica"}),
                          Choice(34, {"en": "Family", "es": "Familia"}))),
        Question(SUPPORTED, "scale", {"en": "How supported did you feel, from 1 to 5?",
                                      "es": "¿Qué tan apoyada se sintió, del 1 al 5?"}, position=4, scale_min=1, scale_max=5),
        Question(AGE, "about", {"en": "Your age", "es": "Su edad"}, position=5, demographic="age", choices=(
            Choice(51, {"en": "Under 20", "es": "Menos de 20"}), Choice(52, {"en": "20-29", "es": "20-29"}),
            Choice(53, {"en": "30-39", "es": "30-39"}), Choice(54, {"en": "40 or older", "es": "40 o más"}),
            Choice(55, {"en": "Prefer not to say", "es": "Prefiero no decir"}, prefer_not=True))),
    ),
)


def load(name: str):
    """Read a synthetic sample and propose its mapping onto the sample session."""
    table = read_table((SAMPLES / name).read_bytes(), name)
    return table, propose_mapping(table, SESSION)


def targets(table, proposal) -> dict[str, tuple]:
    """Return each column's name -> (target, question id, choice id)."""
    return {c.name: (m.target, m.question_id, m.choice_id) for c, m in zip(table.columns, proposal.columns, strict=True)}


def plan(name: str, rule: ConsentRule = ConsentRule(), **options):
    """Read, propose and plan a sample with the proposed mapping."""
    table, proposal = load(name)
    return table, plan_import(table, SESSION, proposal.columns, rule, **options)


def answers(record) -> dict[int, object]:
    """Return a record's answers as question id -> text, choice ids or number."""
    return {a.question_id: a.text if a.text is not None else (a.number if a.number is not None else a.choice_ids)
            for a in record.answers}


def test_kobo_xml_export_maps_by_values_codes_and_groups() -> None:
    """Kobo's XML-name export maps without hand mapping: choice names, split columns set aside, uuid and time."""
    table, proposal = load("kobo.csv")
    got = targets(table, proposal)
    assert got["consent/take_part"][0] == TAKE_PART and got["consent/quote_ok"][0] == QUOTE
    assert got["group_care/hard"] == (QUESTION, HARD, None)
    assert got["group_care/easy"] == (QUESTION, EASY, None)
    assert got["group_care/helped"] == (QUESTION, HELPED, None)
    assert got["group_care/helped/wic"][0] == IGNORE  # the same answer is read from group_care/helped
    assert got["group_care/supported"] == (QUESTION, SUPPORTED, None)
    assert got["about_you/age"] == (QUESTION, AGE, None)
    assert got["_uuid"][0] == ROW_ID and got["_submission_time"][0] == TIME
    ages = {v.value: (v.choice_ids, v.reason) for v in proposal.values if v.column == table.index_of("about_you/age")}
    assert ages["age_20_29"] == ((52,), messages.MATCH_CODE)
    assert ages["prefer_not"] == ((55,), messages.MATCH_PREFER_NOT)


def test_kobo_plan_refuses_the_row_without_consent_and_keys_rows_by_uuid() -> None:
    """The Kobo row that said no is refused and counted; the others keep their uuid as key and their answers."""
    _table, result = plan("kobo.csv")
    assert result.refused_rows == (4,)
    assert [r.key for r in result.records] == ["kobo:5f0c7a2e-1111-4a1b-9c1d-000000000001", "kobo:5f0c7a2e-1111-4a1b-9c1d-000000000002",
                                               "kobo:5f0c7a2e-1111-4a1b-9c1d-000000000004"]
    first = result.records[0]
    assert answers(first) == {HARD: "The bus only comes twice a day.", EASY: (22,), HELPED: (31, 32), SUPPORTED: 3, AGE: (52,)}
    assert (first.quote_ok, result.records[1].quote_ok) == (True, False)
    assert first.submitted_at.isoformat() == "2026-03-02T15:04:12+00:00"  # Kobo's _submission_time is UTC
    assert result.consent_method == "column"
    refused = [i for i in result.issues if i.message == messages.IMPORT_NOT_CONSENTED]
    assert [(i.row, i.level) for i in refused] == [(4, ERROR)]


def test_kobo_labels_workbook_reads_spanish_rows_as_spanish() -> None:
    """In Kobo's labels export, a row whose choices are worded in Spanish is recorded as answered in Spanish."""
    _table, result = plan("kobo.xlsx")
    assert [r.language for r in result.records] == ["en", "es"]
    assert answers(result.records[1])[EASY] == (23,)
    assert answers(result.records[0])[HELPED] == (31, 32)


def test_google_forms_maps_consent_contact_and_reports_each_value_that_does_not_map() -> None:
    """Google Forms: the consent columns decide quote and contact; an unknown choice and a date in a scale are named by row and column."""
    table, result = plan("google_forms.csv")
    assert result.refused_rows == (4,)
    by_row = {r.row: r for r in result.records}
    assert answers(by_row[2])[HELPED] == (31, 34)  # "WIC, Family"
    assert by_row[3].contact is not None and by_row[3].contact.phone == "336-555-0142" and by_row[3].contact_ok
    assert by_row[2].contact is None and not by_row[2].contact_ok
    assert answers(by_row[5])[EASY] == (21,)  # "Muy fácil", the session's other language
    problems = {(i.message, i.row, i.column) for i in result.errors()}
    assert (messages.IMPORT_UNMAPPED_VALUE, 6, "Which of these helped you?") in problems
    assert (messages.IMPORT_DATE_VALUE, 6, "How supported did you feel, from 1 to 5?") in problems
    assert HELPED not in answers(by_row[6]) and answers(by_row[6])[AGE] == (54,)  # the rest of the row is kept
    assert by_row[2].submitted_at.isoformat() == "2026-03-14T10:22:05"


def test_surveymonkey_choice_columns_make_one_multiple_choice_answer() -> None:
    """SurveyMonkey's column per choice adds up to one answer; Respondent ID is the key; the Spanish row is Spanish."""
    table, proposal = load("surveymonkey.csv")
    got = targets(table, proposal)
    assert got["Which of these helped you? - Doula"] == (QUESTION, HELPED, 32)
    assert got["Email Address"][0] != QUESTION and got["I agree to take part in this survey."][0] == TAKE_PART
    result = plan_import(table, SESSION, proposal.columns, ConsentRule())
    assert [r.key for r in result.records] == ["surveymonkey:114000000001", "surveymonkey:114000000002"]
    assert answers(result.records[0])[HELPED] == (31, 34)
    assert result.records[1].language == "es"
    assert result.refused_rows == (5,)
    left_out = [(i.column, i.params["count"]) for i in result.issues if i.message == messages.IMPORT_COLUMN_LEFT_OUT]
    assert left_out == [("Which of these helped you? - Other (please specify)", 1)]  # "church ladies" is not lost unseen


def test_limesurvey_reads_language_column_and_yes_columns() -> None:
    """LimeSurvey: startlanguage sets each row's language, "Sí" in choice columns chooses, the incomplete row is refused."""
    _table, result = plan("limesurvey.csv")
    assert [(r.key, r.language) for r in result.records] == [("limesurvey:1", "en"), ("limesurvey:2", "es")]
    assert answers(result.records[1])[HELPED] == (32, 34)
    assert answers(result.records[1])[EASY] == (24,)
    assert result.refused_rows == (4,)


def test_a_file_without_consent_columns_needs_a_statement() -> None:
    """Without a consent column nothing can be imported until a statement for the whole file is given; then it is recorded."""
    table, proposal = load("generic_cp1252.csv")
    blocked = plan_import(table, SESSION, proposal.columns, ConsentRule())
    assert blocked.blocked and blocked.records == ()
    assert [i.message for i in blocked.issues] == [messages.IMPORT_NO_CONSENT_RULE]
    rule = ConsentRule(statement="Collected under the coalition's card consent of 2026-03", version="2026-03")
    result = plan_import(table, SESSION, proposal.columns, rule, source="paper")
    assert not result.blocked and result.consent_method == "statement"
    assert (result.consent_statement, result.consent_version) == (rule.statement, "2026-03")
    assert all(not r.quote_ok and not r.contact_ok for r in result.records)
    assert [r.key for r in result.records] == ["file:A-01", "file:A-02", "file:A-03", "file:A-04"]


def test_generic_csv_maps_numbered_headers_languages_and_numbered_choices() -> None:
    """A typed-up CSV: numbered headers, language names, "3. Hard", a choice's number and an en dash all map; "Unknown" is named."""
    table, proposal = load("generic_cp1252.csv")
    got = targets(table, proposal)
    assert got["Language"][0] == LANGUAGE and got["Source"][0] == SOURCE and got["Card"][0] == ROW_ID
    assert got["Age"] == (QUESTION, AGE, None)
    result = plan_import(table, SESSION, proposal.columns, ConsentRule(statement="cards"), source="sticky")
    by_row = {r.row: r for r in result.records}
    assert [by_row[n].language for n in (2, 3, 4, 5)] == ["es", "en", "es", "en"]
    assert {r.source for r in result.records} == {"paper"}
    assert [answers(by_row[n])[EASY] for n in (2, 3, 4, 5)] == [(23,), (22,), (23,), (21,)]
    assert answers(by_row[4])[AGE] == (52,)
    unmapped = [i for i in result.errors() if i.message == messages.IMPORT_UNMAPPED_VALUE]
    assert [(i.row, i.column, i.params["value"]) for i in unmapped] == [(5, "Age", "Unknown")]


def test_generic_workbook_keeps_its_own_numbers_and_skips_the_formula_row() -> None:
    """A hand-made workbook's note numbers are its keys; the row left blank by a formula has no answers and is not stored."""
    _table, result = plan("generic.xlsx", ConsentRule(statement="wall notes, verbal consent"))
    assert [r.key for r in result.records] == ["file:1", "file:2"]
    assert result.empty_rows == (4,)
    assert [r.language for r in result.records] == ["en", "es"]


@pytest.mark.parametrize("name", ["kobo.csv", "kobo.xlsx", "google_forms.csv", "surveymonkey.csv", "limesurvey.csv",
                                  "generic_cp1252.csv", "generic.xlsx"])
def test_planning_the_same_file_twice_gives_the_same_keys(name) -> None:
    """Reading and planning a file again gives the same keys in the same order, so a second import stores nothing new."""
    rule = ConsentRule(statement="whole file")
    first = plan(name, rule)[1]
    second = plan(name, rule)[1]
    keys = [r.key for r in first.records]
    assert keys and keys == [r.key for r in second.records]
    assert len(set(keys)) == len(keys)
    assert second.new_records(set(keys)) == ()


def test_rows_without_an_id_are_fingerprinted_and_identical_cards_both_kept() -> None:
    """Without an id, a row's key is a fingerprint of its cells: stable when columns move, distinct for two identical cards."""
    session = SessionQuestions(SESSION.questions[:1], ("en",))
    header = "What made it hard to get care during your pregnancy?,Language"
    one = read_table(f"{header}\nThe bus.,en\nThe bus.,en\nRent.,en\n".encode(), "a.csv")
    moved = read_table(b"Language,What made it hard to get care during your pregnancy?\nen,The bus.\nen,The bus.\nen,Rent.\n", "b.csv")
    keys = []
    for table in (one, moved):
        result = plan_import(table, session, propose_mapping(table, session).columns, ConsentRule(statement="s"))
        keys.append([r.key for r in result.records])
    assert keys[0] == keys[1]
    assert len(set(keys[0])) == 3


def test_a_repeated_tool_id_is_imported_once_and_named() -> None:
    """Two rows with the same tool id: the first is planned, the second is named as a duplicate of it."""
    data = b"_uuid,_submission_time,consent,What made it hard to get care during your pregnancy?\nu1,,yes,A\nu1,,yes,B\n,,yes,C\n"
    table = read_table(data, "k.csv")
    result = plan_import(table, SESSION, propose_mapping(table, SESSION).columns, ConsentRule())
    assert [r.row for r in result.records] == [2, 4]
    assert result.duplicate_rows == (3,)
    dup = next(i for i in result.issues if i.message == messages.IMPORT_DUPLICATE_ROW)
    assert (dup.row, dup.params["first"]) == (3, 2)
    assert any(i.message == messages.IMPORT_NO_ROW_ID and i.row == 4 for i in result.issues)
    assert result.records[1].key.startswith("row:")


def test_unclear_consent_counts_as_no_and_is_named() -> None:
    """A consent cell that is neither yes nor no refuses the row and says which cell; a quote "maybe" means no quote."""
    data = "consent,May we quote you?,What made it hard to get care during your pregnancy?\nmaybe,yes,A\nSí,maybe,B\n".encode()
    table = read_table(data, "c.csv")
    result = plan_import(table, SESSION, propose_mapping(table, SESSION).columns, ConsentRule(quote_ok=True, statement="ignored"))
    assert result.refused_rows == (2,)
    assert [(r.row, r.quote_ok) for r in result.records] == [(3, False)]
    unclear = [(i.row, i.column) for i in result.issues if i.message == messages.IMPORT_CONSENT_UNCLEAR]
    assert unclear == [(2, "consent"), (3, "May we quote you?")]


def test_a_refused_row_is_never_read_further() -> None:
    """Nothing of a refused row is reported or kept, even a value that would not map."""
    data = b"consent,Your age\nno,Martian\n"
    table = read_table(data, "r.csv")
    result = plan_import(table, SESSION, propose_mapping(table, SESSION).columns, ConsentRule())
    assert result.records == () and result.refused_rows == (2,)
    assert not any("Martian" in i.render() for i in result.issues if i.message != messages.IMPORT_NOT_CONSENTED)


def test_a_single_choice_cell_with_two_choices_is_not_imported() -> None:
    """"Hard; Very hard" for a one-choice question is named and left out; the same for a multiple-choice question is two choices."""
    assert match_choice("Hard; Very hard", SESSION.question(EASY), "en")[0] == (23, 24)
    assert match_choice("Bus", SESSION.question(EASY), "en")[3] == ("Bus",)
    assert match_choice("wic;doula", SESSION.question(HELPED), "en")[0] == (31, 32)
    table = read_table(b"consent,How easy was it to get to your appointments?\nyes,Hard; Very hard\nyes,Hard; Bus\n", "s.csv")
    result = plan_import(table, SESSION, [ColumnMap(0, TAKE_PART), ColumnMap(1, QUESTION, EASY)], ConsentRule())
    assert result.empty_rows == (2, 3)
    named = [(i.message, i.row, i.params.get("value")) for i in result.errors()]
    assert named == [(messages.IMPORT_SEVERAL_FOR_ONE, 2, "Hard; Very hard"), (messages.IMPORT_SEVERAL_FOR_ONE, 3, "Hard; Bus")]


@pytest.mark.parametrize(("value", "choice", "reason"), [
    ("very EASY", 21, messages.MATCH_SAME_WORDING), ("Algo facil", 22, messages.MATCH_OTHER_LANGUAGE),
    ("4) Very hard", 24, messages.MATCH_NUMBERED), ("3", 23, messages.MATCH_POSITION), ("A2", 22, messages.MATCH_CODE),
    ("very_hard", 24, messages.MATCH_SAME_WORDING), ("Prefer not to answer", 25, messages.MATCH_PREFER_NOT),
    ("Somewhat eassy", 22, messages.MATCH_CLOSE), ("٣", 23, messages.MATCH_POSITION),
])
def test_choice_values_map_whatever_their_wording(value, choice, reason) -> None:
    """A choice written with other case, accents, numbering, language, tool code, digits or a typo maps, with why."""
    ids, why, _languages, missing = match_choice(value, SESSION.question(EASY), "en")
    assert (ids, why, missing) == ((choice,), reason, ())


def test_every_issue_renders_and_names_its_row() -> None:
    """Every issue of every sample fills its placeholders, and every issue about a cell names row and column."""
    for name in ("kobo.csv", "kobo.xlsx", "google_forms.csv", "surveymonkey.csv", "limesurvey.csv", "generic_cp1252.csv", "generic.xlsx"):
        _table, result = plan(name, ConsentRule(statement="s"))
        for found in result.issues:
            text = found.render(lambda message: message)
            assert "%(" not in text
            if found.column is not None and "value" in found.params:
                assert found.row is not None


def test_unknown_language_source_and_time_fall_back_and_are_named() -> None:
    """An unknown language, source or time is named by row and column, and the file's defaults are used."""
    data = b"consent,Language,Source,Timestamp,What made it hard to get care during your pregnancy?\nyes,Klingon,drone,yesterday,A\n"
    table = read_table(data, "u.csv")
    columns = list(propose_mapping(table, SESSION).columns)
    columns[3] = ColumnMap(3, TIME)
    result = plan_import(table, SESSION, columns, ConsentRule(), source="paper")
    record = result.records[0]
    assert (record.language, record.source, record.submitted_at) == ("en", "paper", None)
    named = {i.message for i in result.issues if i.row == 2}
    assert {messages.IMPORT_UNKNOWN_LANGUAGE, messages.IMPORT_UNKNOWN_SOURCE, messages.IMPORT_BAD_TIME} <= named


def test_contact_details_are_kept_only_with_consent_to_contact() -> None:
    """A phone number from someone who did not agree to be contacted is left out and counted."""
    table, result = plan("google_forms.csv")
    assert [r.row for r in result.records if r.contact] == [3]
    got = targets(table, propose_mapping(table, SESSION))
    assert got["Phone number"][0] == CONTACT_PHONE and got["May we contact you about the results?"][0] == CONTACT
    data = b"consent,May we contact you?,Phone,What made it hard to get care during your pregnancy?\nyes,no,555-0100,A\n"
    table = read_table(data, "p.csv")
    result = plan_import(table, SESSION, propose_mapping(table, SESSION).columns, ConsentRule())
    assert result.records[0].contact is None
    assert any(i.message == messages.IMPORT_CONTACT_LEFT_OUT and i.params["count"] == 1 for i in result.issues)


def test_fifty_thousand_rows_are_mapped_and_planned() -> None:
    """A 50,000-row Kobo-shaped export is read, mapped and planned whole (bench/import_speed.py measures how fast)."""
    lines = ["_uuid;_submission_time;consent/take_part;group_care/hard;group_care/easy;group_care/helped;about_you/age"]
    easy = ["very_easy", "somewhat_easy", "hard", "very_hard"]
    lines += [f"u-{i};2026-03-01T10:{i % 60:02d}:00;{'yes' if i % 10 else 'no'};answer number {i} about the bus;"
              f"{easy[i % 4]};wic doula;age_20_29" for i in range(50_000)]
    table = read_table("\n".join(lines).encode(), "big.csv")
    proposal = propose_mapping(table, SESSION)
    result = plan_import(table, SESSION, proposal.columns, ConsentRule())
    assert len(result.records) == 45_000 and len(result.refused_rows) == 5_000
    assert answers(result.records[0]) == {HARD: "answer number 1 about the bus", EASY: (22,), HELPED: (31, 32), AGE: (52,)}


def test_space_separated_labels_are_split_into_whole_choices() -> None:
    """Kobo's labels export joins choices with spaces: "WIC Clinic van" is WIC and Clinic van, in either language; "WIC Bus" is named."""
    helped = SESSION.question(HELPED)
    assert match_choice("WIC Clinic van", helped, "en")[:2] == ((31, 33), messages.MATCH_SAME_WORDING)
    assert match_choice("Familia Camioneta de la clínica", helped, "en")[:2] == ((34, 33), messages.MATCH_OTHER_LANGUAGE)
    assert match_choice("WIC Bus", helped, "en")[3] == ("WIC Bus",)
    assert match_choice("Dula", helped, "en")[:2] == ((32,), messages.MATCH_CLOSE)


def test_a_merged_header_over_choice_columns_maps_to_one_question() -> None:
    """A hand-made workbook with a merged header over one column per choice reads as that question's choices."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Card", "Which of these helped you?", None, "Consent"])
    sheet.append([None, "WIC", "Doula", None])
    sheet.merge_cells("B1:C1")
    sheet.append(["c1", "x", None, "yes"])
    sheet.append(["c2", "x", "x", "yes"])
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue(), "merged.xlsx")
    assert table.header_rows == 2
    proposal = propose_mapping(table, SESSION)
    got = targets(table, proposal)
    assert got["Which of these helped you? - WIC"] == (QUESTION, HELPED, 31)
    assert got["Which of these helped you? - Doula"] == (QUESTION, HELPED, 32)
    result = plan_import(table, SESSION, proposal.columns, ConsentRule())
    assert [(r.key, answers(r)[HELPED]) for r in result.records] == [("file:c1", (31,)), ("file:c2", (31, 32))]


def test_limesurvey_code_export_maps_by_question_numbers_and_answer_codes() -> None:
    """LimeSurvey's "answer codes" export (Q2 = A3, Q3[SQ002] = Y) maps by the questions' numbers and the choices' codes."""
    data = (b"id,submitdate,lastpage,startlanguage,consent,Q1,Q2,Q3[SQ001],Q3[SQ002],Q3[SQ003],Q3[SQ004],Q5\n"
            b"7,2026-04-02 10:00:00,3,es,Y,Nadie me explic\xc3\xb3 nada.,A3,,Y,,Y,A2\n")
    table = read_table(data, "lime_codes.csv")
    proposal = propose_mapping(table, SESSION)
    got = targets(table, proposal)
    assert got["Q2"] == (QUESTION, EASY, None) and got["Q3[SQ002]"] == (QUESTION, HELPED, 32)
    result = plan_import(table, SESSION, proposal.columns, ConsentRule())
    (record,) = result.records
    assert (record.key, record.language) == ("limesurvey:7", "es")
    assert answers(record) == {HARD: "Nadie me explicó nada.", EASY: (23,), HELPED: (32, 34), AGE: (52,)}


def test_odk_central_export_is_keyed_by_its_key_column() -> None:
    """ODK Central's CSV (SubmissionDate, group-question paths, KEY) is recognised and keyed by KEY, its time read with its zone."""
    data = (b"SubmissionDate,start,consent,group_care-easy,group_care-helped,meta-instanceID,KEY,SubmitterID,Status\n"
            b"2026-03-09T14:01:02.000Z,2026-03-09T09:55:00.000-05:00,yes,very_hard,wic family,uuid:1a2b,uuid:1a2b,5,\n")
    table = read_table(data, "odk.csv")
    assert table.tool.name == "odk"
    result = plan_import(table, SESSION, propose_mapping(table, SESSION).columns, ConsentRule())
    (record,) = result.records
    assert record.key == "odk:uuid:1a2b"
    assert record.submitted_at == dt.datetime(2026, 3, 9, 14, 1, 2, tzinfo=dt.UTC)
    assert answers(record) == {EASY: (24,), HELPED: (31, 34)}


def test_an_open_answer_longer_than_the_answers_limit_is_not_imported_and_named() -> None:
    """A cell longer than CHORUS_MAX_ANSWER_LENGTH (a resident's own limit) is left out with an error naming its row,
    column and length; the row's other answers and a cell exactly at the limit are imported. An import stored a
    15-million-character answer, which every report, theme run and screen then carried."""
    data = ("consent,What made it hard to get care during your pregnancy?,How supported did you feel from 1 to 5?\r\n"
            f"yes,{'a' * 2001},4\r\nyes,{'b' * 2000},3\r\n").encode()
    table = read_table(data, "long.csv")
    columns = (ColumnMap(0, TAKE_PART), ColumnMap(1, QUESTION, HARD), ColumnMap(2, QUESTION, SUPPORTED))
    result = plan_import(table, SESSION, columns, ConsentRule(), max_length=2000)
    assert [answers(r) for r in result.records] == [{SUPPORTED: 4}, {HARD: "b" * 2000, SUPPORTED: 3}]
    long = [i for i in result.issues if i.message == messages.IMPORT_TOO_LONG]
    assert [(i.level, i.row, i.params["length"], i.params["max"]) for i in long] == [(ERROR, 2, 2001, 2000)]
    assert long[0].column == "What made it hard to get care during your pregnancy?"
