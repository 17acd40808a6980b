"""REFI-QDA projects: what Chorus writes is valid against the published schema and reads back the same."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from analysis import messages
from analysis.qdpx import (
    QdaCode, QdaCoding, QdaNote, QdaProject, QdaSource, QdpxError, code_guid, project_xml, read_qdpx, source_guid, write_qdpx,
)

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "interchange" / "Project-mrt2019.xsd"
NS = {"q": "urn:QDA-XML:project:1.0"}
SCHEMA_OBJECT = etree.XMLSchema(etree.parse(str(SCHEMA)))


def snapshot() -> QdaProject:
    """Build a small project: two themes (one with a sub-theme), four answers in three languages, five codings."""
    codes = (
        QdaCode("7", "Getting there", "Transport, distance and time off work.", children=(
            QdaCode("7.1", "Buses", "Routes and times of public buses."),), color="#1b9e77"),
        QdaCode("9", "Language", "Being understood: interpreters, forms in one's language."),
    )
    sources = (
        QdaSource("101", "The bus only comes twice a day.", "What made it hard?", {"language": "en", "question": "What made it hard?"}),
        QdaSource("102", "Nadie en la clínica hablaba español.", "", {"language": "es", "question": "What made it hard?"}),
        QdaSource("103", "لم يكن هناك مترجم ولا حافلة", "", {"language": "ar"}),
        QdaSource("104", "Control \x01 characters & <tags> are text.", ""),
    )
    codings = (QdaCoding("101", "7"), QdaCoding("101", "7.1"), QdaCoding("102", "9"), QdaCoding("103", "9"),
               QdaCoding("103", "7", start=17, end=26))
    return QdaProject("Prenatal care listening, spring 2026", codes, sources, codings,
                      description="Quote-consented, redacted answers.", created_at=dt.datetime(2026, 4, 2, 9, 30, tzinfo=dt.UTC))


def test_the_project_validates_against_the_refi_qda_schema() -> None:
    """project.qde inside the .qdpx is valid against REFI-QDA's published Project schema (QDA-XML 1.0)."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    with zipfile.ZipFile(io.BytesIO(write_qdpx(snapshot()))) as archive:
        document = etree.fromstring(archive.read("project.qde"))
    schema.assertValid(document)


def test_an_empty_project_is_valid_too() -> None:
    """A project with no codes, sources or codings still validates."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    schema.assertValid(etree.fromstring(project_xml(QdaProject("Empty", (), (), ()))))


def test_the_archive_holds_the_project_and_one_text_file_per_source() -> None:
    """The zip holds project.qde and sources/<guid>.txt in UTF-8, each named by its source's plainTextPath."""
    with zipfile.ZipFile(io.BytesIO(write_qdpx(snapshot()))) as archive:
        names = set(archive.namelist())
        document = etree.fromstring(archive.read("project.qde"))
        assert archive.read(f"sources/{source_guid('102')}.txt").decode("utf-8") == "Nadie en la clínica hablaba español."
    assert names == {"project.qde"} | {f"sources/{source_guid(i)}.txt" for i in ("101", "102", "103", "104")}
    paths = [s.get("plainTextPath") for s in document.iterfind("q:Sources/q:TextSource", NS)]
    assert paths == [f"internal://{source_guid(i)}.txt" for i in ("101", "102", "103", "104")]


def test_codes_carry_definitions_and_hierarchy_and_codings_cover_whole_answers() -> None:
    """Themes are codes with their definitions; a sub-theme is a child code; a coding selects the whole answer."""
    document = etree.fromstring(project_xml(snapshot()))
    top = document.findall("q:CodeBook/q:Codes/q:Code", NS)
    assert [c.get("name") for c in top] == ["Getting there", "Language"]
    assert top[0].findtext("q:Description", namespaces=NS) == "Transport, distance and time off work."
    assert [c.get("name") for c in top[0].findall("q:Code", NS)] == ["Buses"]
    source = document.find(f"q:Sources/q:TextSource[@guid='{source_guid('101')}']", NS)
    selection = source.find("q:PlainTextSelection", NS)
    assert (selection.get("startPosition"), selection.get("endPosition")) == ("0", str(len("The bus only comes twice a day.")))
    assert [r.get("targetGUID") for r in selection.iterfind("q:Coding/q:CodeRef", NS)] == [code_guid("7"), code_guid("7.1")]
    assert source.get("name") == "chorus-101 What made it hard?"


def test_writing_the_same_snapshot_twice_gives_the_same_file() -> None:
    """GUIDs and zip times come from the snapshot, so the same snapshot gives byte-identical files."""
    assert write_qdpx(snapshot()) == write_qdpx(snapshot())


def test_round_trip_gives_the_same_codes_and_codings() -> None:
    """Writing and reading back gives the same code names, descriptions, hierarchy, sources and codings."""
    original = snapshot()
    back = read_qdpx(write_qdpx(original), source_ids=[s.id for s in original.sources])
    by_guid = {code_guid(code.id): code.id for code, _parent in original.all_codes()}
    assert [(by_guid[c.id], c.name, c.description, by_guid.get(p) if p else None) for c, p in back.all_codes()] == \
        [(c.id, c.name, c.description, p) for c, p in original.all_codes()]
    assert {(c.source_id, by_guid[c.code_id], c.start, c.end) for c in back.codings} == \
        {(c.source_id, c.code_id, c.start, c.end) for c in original.codings}
    assert [s.text for s in back.sources][:3] == [s.text for s in original.sources][:3]
    assert back.sources[0].variables == {"language": "en", "question": "What made it hard?"}
    assert back.name == original.name and back.description == original.description
    assert back.unmatched_sources == ()


def test_a_project_recoded_elsewhere_maps_codings_to_answers_by_name() -> None:
    """A project whose tool renumbered every GUID still maps its codings to Chorus answers by the sources' names."""
    xml = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Recoded in NVivo" origin="NVivo">
  <CodeBook><Codes>
    <Code guid="{AAAAAAAA-0000-0000-0000-000000000001}" name="Access" isCodable="true">
      <Description>Getting to care.</Description>
      <Code guid="AAAAAAAA-0000-0000-0000-000000000002" name="Transport" isCodable="true"/>
    </Code>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="BBBBBBBB-0000-0000-0000-000000000001" name="chorus-101 What made it hard?">
      <PlainTextContent>The bus only comes twice a day.</PlainTextContent>
      <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000001" startPosition="4" endPosition="7">
        <Coding guid="DDDDDDDD-0000-0000-0000-000000000001"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000002"/></Coding>
      </PlainTextSelection>
      <Coding guid="DDDDDDDD-0000-0000-0000-000000000002"><CodeRef targetGUID="aaaaaaaa-0000-0000-0000-000000000001"/></Coding>
    </TextSource>
    <TextSource guid="BBBBBBBB-0000-0000-0000-000000000009" name="Interview 3">
      <PlainTextContent>Something else.</PlainTextContent>
    </TextSource>
  </Sources>
</Project>""".encode()
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    schema.assertValid(etree.fromstring(xml))
    project = read_qdpx(xml)
    (access, parent), (transport, transport_parent) = project.all_codes()
    assert (access.name, access.description, parent) == ("Access", "Getting to care.", None)
    assert (transport.name, transport_parent) == ("Transport", access.id)
    assert {(c.source_id, c.code_id, c.start, c.end) for c in project.codings} == {
        ("101", transport.id, 4, 7), ("101", access.id, 0, None)}
    assert project.unmatched_sources == ("Interview 3",)


@pytest.mark.parametrize(("data", "message"), [
    (b"PK\x03\x04broken", messages.QDPX_NOT_A_PROJECT),
    (b"<Project", messages.QDPX_BROKEN_XML),
    (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", messages.QDPX_NOT_A_PROJECT),
])
def test_files_that_are_not_projects_raise_a_typed_issue(data, message) -> None:
    """A damaged zip, broken XML or another XML document raises QdpxError with a translatable message id."""
    with pytest.raises(QdpxError) as raised:
        read_qdpx(data)
    assert raised.value.issue.message == message
    raised.value.issue.render()


def test_a_zip_without_a_project_is_refused() -> None:
    """A zip that holds no project.qde is not a project."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(QdpxError) as raised:
        read_qdpx(out.getvalue())
    assert raised.value.issue.message == messages.QDPX_NOT_A_PROJECT


def test_entities_are_never_expanded() -> None:
    """An XML entity in a project is not resolved, so a crafted file cannot read local files or expand without bound."""
    xml = b"""<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>"""
    try:
        name = read_qdpx(xml).name
    except QdpxError as refused:  # refusing the file is as good as not expanding it
        assert refused.issue.message == messages.QDPX_BROKEN_XML
        return
    assert "root:" not in name


def test_a_coding_to_an_unknown_code_is_refused_on_writing() -> None:
    """Writing a coding that names no code of the project is a programming error, caught before a broken file leaves."""
    with pytest.raises(ValueError, match="unknown code"):
        write_qdpx(QdaProject("x", (), (QdaSource("1", "a"),), (QdaCoding("1", "nope"),)))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
                 st.text(max_size=200).map(lambda t: f'<Project xmlns="urn:QDA-XML:project:1.0" name="x">{t}</Project>'.encode())))
def test_any_bytes_give_a_project_or_a_typed_refusal(data) -> None:
    """Whatever bytes arrive, reading gives a project or QdpxError with a message id, never another exception."""
    try:
        read_qdpx(data)
    except QdpxError as refused:
        assert refused.issue.message and refused.issue.render()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=30), st.text(max_size=80)), min_size=1, max_size=6))
def test_any_names_and_texts_round_trip_and_validate(items) -> None:
    """Codes and answers with any text (controls, bidi marks, emoji) give a valid project that reads back the same."""
    codes = tuple(QdaCode(str(i), name) for i, (name, _text) in enumerate(items))
    sources = tuple(QdaSource(str(i), text) for i, (_name, text) in enumerate(items))
    codings = tuple(QdaCoding(str(i), str(i)) for i in range(len(items)))
    project = QdaProject("p", codes, sources, codings)
    data = write_qdpx(project)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        SCHEMA_OBJECT.assertValid(etree.fromstring(archive.read("project.qde")))
    back = read_qdpx(data)
    assert len(back.codings) == len(items) and [s.id for s in back.sources] == [s.id for s in sources]


def test_a_translation_is_a_note_linked_to_its_answer_and_reads_back() -> None:
    """A source's translation is a REFI-QDA Note (its text inline) referred to by a NoteRef on the source; the project
    still validates, the answer's own words stay the coded text, and reading the file back gives the note to its source."""
    base = snapshot()
    translated = QdaSource("102", "Nadie en la clínica hablaba español.", "", {"language": "es"},
                           notes=(QdaNote("Translation: chorus-102 (en)", "Nobody at the clinic spoke Spanish."),))
    project = QdaProject(base.name, base.codes, (base.sources[0], translated, *base.sources[2:]), base.codings,
                         created_at=base.created_at)
    data = write_qdpx(project)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        document = etree.fromstring(archive.read("project.qde"))
        assert archive.read(f"sources/{source_guid('102')}.txt").decode("utf-8") == "Nadie en la clínica hablaba español."
    SCHEMA_OBJECT.assertValid(document)
    note = document.find("q:Notes/q:Note", NS)
    assert note.get("name") == "Translation: chorus-102 (en)"
    assert note.findtext("q:PlainTextContent", namespaces=NS) == "Nobody at the clinic spoke Spanish."
    source = document.find(f"q:Sources/q:TextSource[@guid='{source_guid('102')}']", NS)
    assert [r.get("targetGUID") for r in source.iterfind("q:NoteRef", NS)] == [note.get("guid")]
    back = {s.id: s for s in read_qdpx(data).sources}
    assert back["102"].notes == translated.notes and back["101"].notes == ()
