"""REFI-QDA projects (.qdpx): take Chorus's coding out to NVivo, ATLAS.ti, MAXQDA or Taguette, and bring it back.

Owns writing a :class:`QdaProject` (sources, a code hierarchy, codings) as a REFI-QDA Project
Exchange file, the open standard those tools read (QDA-XML 1.0, namespace
``urn:QDA-XML:project:1.0``), and reading one back into the same dataclasses, so that a team
that recoded Chorus's answers in another tool can publish its coding through Chorus.

A ``.qdpx`` is a zip holding ``project.qde`` (the XML) and ``sources/<guid>.txt``, one plain
text file per source. Chorus writes one source per answer (the caller decides which: by default
only quote-consented, redacted answers), one code per theme with its definition as the code's
description and sub-themes as child codes, one coding per answer and theme over the answer's
whole text, and a staff translation of an answer as a note linked to its source (``<Note>`` with a
``<NoteRef>``: NVivo and MAXQDA show it as the answer's memo, and the answer's own words are coded). GUIDs are derived from the ids given (UUID 5), so the same snapshot always gives the
same file; each source is also named ``chorus-<id>`` so that its answer is found again after
another tool has renumbered the GUIDs.

Pure Python on lxml: no Flask, no SQLite.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from analysis import messages
from analysis.importing import ERROR, Issue, issue

__all__ = ["QdaCode", "QdaCoding", "QdaNote", "QdaProject", "QdaSource", "QdpxError", "code_guid", "note_guid", "read_qdpx",
           "source_guid", "write_qdpx", "write_qdpx_streamed"]

NS = "urn:QDA-XML:project:1.0"
_Q = f"{{{NS}}}"
# All of Chorus's GUIDs live under this namespace (UUID 5 of the kind and the app's id).
_NAMESPACE = uuid.UUID("5b0d7c1e-6a43-5c8e-9a51-0c40c0de0017")
SOURCE_PREFIX = "chorus-"
_SOURCE_NAME = re.compile(rf"^{re.escape(SOURCE_PREFIX)}([A-Za-z0-9_.:-]+)")
_MAX_UNPACKED = 512 * 1024 * 1024  # refuse zip bombs: a project of answers is far smaller
_RGB = re.compile(r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")


@dataclass(frozen=True)
class QdaCode:
    """A code: a theme (or sub-theme) with its definition as ``description`` and its sub-themes as ``children``.

    ``id`` is the app's theme id when writing; when reading it is the code's GUID in the file.
    """

    id: str
    name: str
    description: str = ""
    children: tuple[QdaCode, ...] = ()
    color: str = ""

    def walk(self) -> Iterable[tuple[QdaCode, str | None]]:
        """Yield this code and every code below it, each with its parent's id."""
        yield self, None
        for child in self.children:
            for code, parent in child.walk():
                yield code, parent if parent is not None else self.id


@dataclass(frozen=True)
class QdaNote:
    """A note (a memo, in NVivo and MAXQDA) on a source: for Chorus, a staff translation of the answer.

    Written as a REFI-QDA ``<Note>`` holding its text, referred to by a ``<NoteRef>`` on the source,
    so the QDA tool shows it beside the answer and codes the answer's own words.
    """

    name: str
    text: str


@dataclass(frozen=True)
class QdaSource:
    """A source: one answer's text, with its id in the app and what an analyst may sort it by.

    ``variables`` become REFI-QDA text variables (for example the question and the language);
    ``notes`` are linked notes (a staff translation of the answer).
    """

    id: str
    text: str
    label: str = ""
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    notes: tuple[QdaNote, ...] = ()


@dataclass(frozen=True)
class QdaCoding:
    """A coding: a code applied to a source's text from ``start`` to ``end`` (characters; None = to the end)."""

    source_id: str
    code_id: str
    start: int = 0
    end: int | None = None


@dataclass(frozen=True)
class QdaProject:
    """A snapshot to exchange: codes (a hierarchy), sources and codings linking them.

    When read back, ``unmatched_sources`` names the sources whose Chorus answer could not be
    recognised (their codings keep the source's GUID as ``source_id``).
    """

    name: str
    codes: tuple[QdaCode, ...]
    sources: tuple[QdaSource, ...]
    codings: tuple[QdaCoding, ...]
    description: str = ""
    origin: str = "Chorus"
    created_at: dt.datetime | None = None
    unmatched_sources: tuple[str, ...] = ()

    def all_codes(self) -> tuple[tuple[QdaCode, str | None], ...]:
        """Return every code of the hierarchy with its parent's id (None for a top-level code)."""
        return tuple(pair for code in self.codes for pair in code.walk())


class QdpxError(ValueError):
    """The file is not a REFI-QDA project Chorus can read; ``issue`` says why, in words the app translates."""

    def __init__(self, found: Issue) -> None:
        """Keep the issue; the exception's text is the English message, for logs and tests."""
        super().__init__(found.render())
        self.issue = found


def source_guid(source_id: str) -> str:
    """Return the GUID Chorus gives the source of an answer id."""
    return str(uuid.uuid5(_NAMESPACE, f"source:{source_id}"))


def note_guid(source_id: str, index: int) -> str:
    """Return the GUID Chorus gives a source's ``index``-th note (its translation is the first)."""
    return str(uuid.uuid5(_NAMESPACE, f"note:{source_id}:{index}"))


def code_guid(code_id: str) -> str:
    """Return the GUID Chorus gives the code of a theme id."""
    return str(uuid.uuid5(_NAMESPACE, f"code:{code_id}"))


def _guid(kind: str, *parts: object) -> str:
    """Return a stable GUID for anything else in the file."""
    return str(uuid.uuid5(_NAMESPACE, ":".join([kind, *map(str, parts)])))


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters other than tab and line breaks)."""
    return "".join(c for c in text if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd") or c >= "\U00010000")


def _timestamp(moment: dt.datetime | None) -> str:
    """Return an xsd:dateTime in UTC."""
    moment = moment or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- writing --------------------------------------------------------------------------------


def project_xml(project: QdaProject) -> bytes:
    """Return the project.qde XML of a project (sources referenced as internal files)."""
    from lxml import etree  # noqa: PLC0415 - lxml only when exchanging with QDA tools

    when = _timestamp(project.created_at)
    user = _guid("user", project.origin)
    root = etree.Element(f"{_Q}Project", nsmap={None: NS}, attrib={
        "name": _clean(project.name) or "Chorus", "origin": _clean(project.origin), "creatingUserGUID": user,
        "creationDateTime": when})
    users = etree.SubElement(root, f"{_Q}Users")
    etree.SubElement(users, f"{_Q}User", guid=user, name=_clean(project.origin))
    known_codes = {code.id for code, _parent in project.all_codes()}
    if project.codes:
        codes = etree.SubElement(etree.SubElement(root, f"{_Q}CodeBook"), f"{_Q}Codes")
        for code in project.codes:
            _write_code(codes, code)
    names = sorted({name for source in project.sources for name in source.variables})
    variable_guids = {name: _guid("variable", name) for name in names}
    if names:
        variables = etree.SubElement(root, f"{_Q}Variables")
        for name in names:
            etree.SubElement(variables, f"{_Q}Variable", guid=variable_guids[name], name=_clean(name), typeOfVariable="Text")
    by_source: dict[str, list[QdaCoding]] = defaultdict(list)
    for coding in project.codings:
        if coding.code_id not in known_codes:
            raise ValueError(f"coding refers to an unknown code {coding.code_id!r}")
        by_source[coding.source_id].append(coding)
    if project.sources:
        sources = etree.SubElement(root, f"{_Q}Sources")
        for source in project.sources:
            _source_element(sources, source, by_source.get(source.id, ()), user, when, variable_guids)
    if any(source.notes for source in project.sources):
        notes = etree.SubElement(root, f"{_Q}Notes")
        for source in project.sources:
            _note_elements(notes, source, user, when)
    if project.description.strip():
        etree.SubElement(root, f"{_Q}Description").text = _clean(project.description)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _write_code(parent, code: QdaCode) -> None:  # type: ignore[no-untyped-def]
    """Write one code and its children under ``parent``."""
    from lxml import etree  # noqa: PLC0415

    attributes = {"guid": code_guid(code.id), "name": _clean(code.name) or code.id, "isCodable": "true"}
    if code.color and _RGB.match(code.color):
        attributes["color"] = code.color
    element = etree.SubElement(parent, f"{_Q}Code", attrib=attributes)
    if code.description.strip():
        etree.SubElement(element, f"{_Q}Description").text = _clean(code.description)
    for child in code.children:
        _write_code(element, child)


def _source_element(parent, source: QdaSource, codings: Iterable[QdaCoding], user: str, when: str,  # type: ignore[no-untyped-def]
                    variable_guids: Mapping[str, str]) -> None:
    """Write one source's ``<TextSource>`` (its codings' selections, note references and variables) under ``parent``,
    as :func:`project_xml` does."""
    from lxml import etree  # noqa: PLC0415

    guid = source_guid(source.id)
    text = _clean(source.text)
    name = f"{SOURCE_PREFIX}{source.id}" + (f" {_clean(source.label)}" if source.label.strip() else "")
    element = etree.SubElement(parent, f"{_Q}TextSource", guid=guid, name=name,
                               plainTextPath=f"internal://{guid}.txt", creatingUser=user, creationDateTime=when)
    spans: dict[tuple[int, int], list[QdaCoding]] = defaultdict(list)
    for coding in codings:
        end = len(text) if coding.end is None else min(coding.end, len(text))
        spans[(max(0, min(coding.start, end)), end)].append(coding)
    for (start, end), coded in sorted(spans.items()):
        selection = etree.SubElement(element, f"{_Q}PlainTextSelection", guid=_guid("selection", source.id, start, end),
                                     name=_clean(text[start:end][:60]), startPosition=str(start), endPosition=str(end),
                                     creatingUser=user, creationDateTime=when)
        for coding in coded:
            tag = etree.SubElement(selection, f"{_Q}Coding", guid=_guid("coding", source.id, coding.code_id, start, end),
                                   creatingUser=user, creationDateTime=when)
            etree.SubElement(tag, f"{_Q}CodeRef", targetGUID=code_guid(coding.code_id))
    for index, _note in enumerate(source.notes):
        etree.SubElement(element, f"{_Q}NoteRef", targetGUID=note_guid(source.id, index))
    for name_ in sorted(source.variables):
        value = etree.SubElement(element, f"{_Q}VariableValue")
        etree.SubElement(value, f"{_Q}VariableRef", targetGUID=variable_guids[name_])
        etree.SubElement(value, f"{_Q}TextValue").text = _clean(source.variables[name_])


def _note_elements(parent, source: QdaSource, user: str, when: str) -> None:  # type: ignore[no-untyped-def]
    """Write one source's ``<Note>`` elements under ``parent``, as :func:`project_xml` does."""
    from lxml import etree  # noqa: PLC0415

    for index, note in enumerate(source.notes):
        element = etree.SubElement(parent, f"{_Q}Note", guid=note_guid(source.id, index), name=_clean(note.name),
                                   creatingUser=user, creationDateTime=when)
        etree.SubElement(element, f"{_Q}PlainTextContent").text = _clean(note.text)


# Stands for the sources and the notes in the project's skeleton, replaced by them as they are written.
_PLACE = "ChorusStreamedHere"


def _fragment(container: str, write) -> bytes:  # type: ignore[no-untyped-def]
    """Return what ``write(container element)`` adds, as the whole project's pretty-printed XML would hold it.

    The element is built inside a small project of the same shape (the project, then ``container``),
    so its indentation and namespace are exactly those of :func:`project_xml`'s serialization.
    """
    from lxml import etree  # noqa: PLC0415

    root = etree.Element(f"{_Q}Project", nsmap={None: NS})
    write(etree.SubElement(root, f"{_Q}{container}"))
    data = etree.tostring(root, encoding="utf-8", pretty_print=True)
    start = data.index(f"<{container}>\n".encode()) + len(container) + 3
    return data[start:data.rindex(f"  </{container}>".encode())]


def write_qdpx_streamed(file, *, name: str, codes: tuple[QdaCode, ...], sources,  # type: ignore[no-untyped-def]
                        variable_names: Iterable[str] = (), origin: str = "Chorus", created_at: dt.datetime | None = None,
                        description: str = "") -> tuple[int, int]:
    """Write a .qdpx to a binary file as :func:`write_qdpx` would for the same project, without holding its sources.

    ``sources()`` yields each source with its codings, ``(QdaSource, [QdaCoding])``, in order; it is
    called twice (the project's XML, then one text file per source), so it reads them afresh each time
    (from a database, in one read snapshot). ``variable_names`` are the variables the sources carry (the
    project lists them before the sources). The same project gives the same bytes as :func:`write_qdpx`
    (``tests/analysis/test_qdpx.py`` checks it); memory holds one source at a time, and the notes.
    Returns how many sources and notes were written.
    """
    from lxml import etree  # noqa: PLC0415

    when = _timestamp(created_at)
    user = _guid("user", origin)
    known_codes = {found.id for top in codes for found, _parent in top.walk()}
    names = sorted(set(variable_names))
    variable_guids = {n: _guid("variable", n) for n in names}

    def skeleton(has_sources: bool, has_notes: bool) -> bytes:
        """Return the project's XML with a placeholder where the sources and the notes go."""
        root = etree.Element(f"{_Q}Project", nsmap={None: NS}, attrib={
            "name": _clean(name) or "Chorus", "origin": _clean(origin), "creatingUserGUID": user, "creationDateTime": when})
        users = etree.SubElement(root, f"{_Q}Users")
        etree.SubElement(users, f"{_Q}User", guid=user, name=_clean(origin))
        if codes:
            into = etree.SubElement(etree.SubElement(root, f"{_Q}CodeBook"), f"{_Q}Codes")
            for code in codes:
                _write_code(into, code)
        if names and has_sources:
            variables = etree.SubElement(root, f"{_Q}Variables")
            for n in names:
                etree.SubElement(variables, f"{_Q}Variable", guid=variable_guids[n], name=_clean(n), typeOfVariable="Text")
        if has_sources:
            etree.SubElement(etree.SubElement(root, f"{_Q}Sources"), f"{_Q}{_PLACE}")
        if has_notes:
            etree.SubElement(etree.SubElement(root, f"{_Q}Notes"), f"{_Q}{_PLACE}")
        if description.strip():
            etree.SubElement(root, f"{_Q}Description").text = _clean(description)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)

    place = f"    <{_PLACE}/>\n".encode()
    stamp = _timestamp(created_at)
    date_time = (int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19]))

    def info(member: str) -> zipfile.ZipInfo:
        """A member with the project's time, so the same snapshot gives the same bytes."""
        found = zipfile.ZipInfo(member, date_time=date_time)
        found.compress_type = zipfile.ZIP_DEFLATED
        return found

    written = notes = 0
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(info("project.qde"), "w") as qde:
            first = True
            kept: list[bytes] = []  # the notes' XML (staff translations: few), written after the sources
            for source, codings in sources():
                for coding in codings:
                    if coding.code_id not in known_codes:
                        raise ValueError(f"coding refers to an unknown code {coding.code_id!r}")
                if first:
                    qde.write(skeleton(True, False).split(place)[0])
                    first = False
                qde.write(_fragment("Sources", lambda parent, s=source, c=codings: _source_element(
                    parent, s, c, user, when, variable_guids)))
                if source.notes:
                    kept.append(_fragment("Notes", lambda parent, s=source: _note_elements(parent, s, user, when)))
                    notes += len(source.notes)
                written += 1
            if first:
                qde.write(skeleton(False, False))
            else:
                parts = skeleton(True, bool(kept)).split(place)
                qde.write(parts[1])
                if kept:
                    qde.write(b"".join(kept))
                    qde.write(parts[2])
        for source, _codings in sources():
            with archive.open(info(f"sources/{source_guid(source.id)}.txt"), "w") as member:
                member.write(_clean(source.text).encode("utf-8"))
    return written, notes


def write_qdpx(project: QdaProject) -> bytes:
    """Return a .qdpx file (a zip of project.qde and one UTF-8 text file per source) for the project."""
    out = io.BytesIO()
    stamp = _timestamp(project.created_at)
    date_time = (int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19]))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes) -> None:
            """Add one member with the project's time, so the same snapshot gives the same bytes."""
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        add("project.qde", project_xml(project))
        for source in project.sources:
            add(f"sources/{source_guid(source.id)}.txt", _clean(source.text).encode("utf-8"))
    return out.getvalue()


# --- reading --------------------------------------------------------------------------------


def read_qdpx(data: bytes, *, source_ids: Iterable[str] = ()) -> QdaProject:
    """Read a .qdpx (or a bare project.qde) into a :class:`QdaProject`; raise :class:`QdpxError` if it is none.

    Codes keep their GUIDs as ids, with hierarchy and descriptions. A coding's ``source_id`` is
    the Chorus answer id: found from the GUID Chorus gave it (for ids in ``source_ids``) or from
    the source's ``chorus-<id>`` name; otherwise it is the source's GUID, and the source is
    listed in ``unmatched_sources``. A coding on part of a text keeps its start and end.
    """
    from lxml import etree  # noqa: PLC0415

    texts: dict[str, str] = {}
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = {info.filename: info for info in archive.infolist()}
                if sum(info.file_size for info in members.values()) > _MAX_UNPACKED:
                    raise QdpxError(issue(messages.QDPX_TOO_LARGE, ERROR, limit=_MAX_UNPACKED // (1024 * 1024)))
                qde = next((name for name in members if name.lower().endswith(".qde") and "/" not in name.strip("/")), None)
                if qde is None:
                    raise QdpxError(issue(messages.QDPX_NOT_A_PROJECT, ERROR))
                xml = archive.read(qde)
                for name in members:
                    if name.startswith("sources/") and name.lower().endswith(".txt"):
                        texts[name[len("sources/"):]] = archive.read(name).decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
            raise QdpxError(issue(messages.QDPX_NOT_A_PROJECT, ERROR)) from None
    else:
        xml = data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        raise QdpxError(issue(messages.QDPX_BROKEN_XML, ERROR, line=error.lineno or 1)) from None
    if root.tag != f"{_Q}Project":
        raise QdpxError(issue(messages.QDPX_NOT_A_PROJECT, ERROR))
    codes = tuple(_read_code(element) for element in root.findall(f"{_Q}CodeBook/{_Q}Codes/{_Q}Code"))
    by_guid = {source_guid(str(i)).lower(): str(i) for i in source_ids}
    variable_names = {v.get("guid", "").lower(): v.get("name", "") for v in root.findall(f"{_Q}Variables/{_Q}Variable")}
    notes = {n.get("guid", "").strip("{}").lower(): QdaNote(n.get("name", ""), _source_text(n, texts))
             for n in root.findall(f"{_Q}Notes/{_Q}Note")}
    sources: list[QdaSource] = []
    codings: list[QdaCoding] = []
    unmatched: list[str] = []
    for element in root.findall(f"{_Q}Sources/{_Q}TextSource"):
        guid = element.get("guid", "").strip("{}").lower()
        name = element.get("name", "")
        match = _SOURCE_NAME.match(name)
        source_id = by_guid.get(guid) or (match.group(1) if match else None)
        if source_id is None:
            unmatched.append(name or guid)
            source_id = guid
        text = _source_text(element, texts)
        label = name[match.end():].strip() if match else name
        variables = {}
        for value in element.findall(f"{_Q}VariableValue"):
            ref = value.find(f"{_Q}VariableRef")
            content = next((child.text or "" for child in value if child.tag != f"{_Q}VariableRef"), "")
            if ref is not None:
                variables[variable_names.get(ref.get("targetGUID", "").strip("{}").lower(), "")] = content
        linked = tuple(notes[guid] for ref in element.findall(f"{_Q}NoteRef")
                       if (guid := ref.get("targetGUID", "").strip("{}").lower()) in notes)
        sources.append(QdaSource(source_id, text, label=label, variables=variables, notes=linked))
        for coding in element.findall(f"{_Q}Coding/{_Q}CodeRef"):
            codings.append(QdaCoding(source_id, coding.get("targetGUID", "").strip("{}").lower(), 0, None))
        for selection in element.findall(f"{_Q}PlainTextSelection"):
            start = _int(selection.get("startPosition"), 0)
            end = _int(selection.get("endPosition"), len(text))
            whole = start <= 0 and end >= len(text)
            for ref in selection.findall(f"{_Q}Coding/{_Q}CodeRef"):
                codings.append(QdaCoding(source_id, ref.get("targetGUID", "").strip("{}").lower(), 0 if whole else start,
                                         None if whole else end))
    created = root.get("creationDateTime")
    description = root.find(f"{_Q}Description")
    return QdaProject(root.get("name", ""), codes, tuple(sources), tuple(dict.fromkeys(codings)),
                      description=(description.text or "") if description is not None else "",
                      origin=root.get("origin", ""), created_at=_parse_datetime(created), unmatched_sources=tuple(unmatched))


def _read_code(element) -> QdaCode:  # type: ignore[no-untyped-def]
    """Read one code and its children, its GUID as its id."""
    description = element.find(f"{_Q}Description")
    return QdaCode(element.get("guid", "").strip("{}").lower(), element.get("name", ""),
                   (description.text or "") if description is not None else "",
                   tuple(_read_code(child) for child in element.findall(f"{_Q}Code")), element.get("color", ""))


def _source_text(element, texts: Mapping[str, str]) -> str:  # type: ignore[no-untyped-def]
    """Return a text source's text: its PlainTextContent, or its internal plain text file."""
    content = element.find(f"{_Q}PlainTextContent")
    if content is not None:
        return content.text or ""
    path = element.get("plainTextPath", "")
    if path.startswith("internal://"):
        return texts.get(path[len("internal://"):], "")
    return ""


def _int(value: str | None, default: int) -> int:
    """Read an integer attribute, or the default."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _parse_datetime(value: str | None) -> dt.datetime | None:
    """Read an xsd:dateTime, or None."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
