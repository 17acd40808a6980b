"""Mapping an outside export onto a session: which column answers which question, and what each row becomes.

Owns the second half of an import, after :func:`analysis.importing.read_table`:

1. :func:`propose_mapping` reads a :class:`~analysis.importing.Table` against a
   :class:`SessionQuestions` (the session's questions, their kinds and choice labels in each
   of its languages, filled by the app from its database) and proposes a :class:`ColumnMap`
   per column, with the reason shown beside it, and how each distinct value of a choice column
   maps (:class:`ValueMatch`), so a person can check the proposal before anything is stored.
2. :func:`plan_import` applies a (possibly corrected) mapping and a :class:`ConsentRule` to
   every row and returns an :class:`ImportPlan`: one :class:`ImportRecord` per consented row,
   with a stable ``key`` (the tool's own row id, or a fingerprint of the row) so that importing
   the same file twice stores nothing new, the rows refused for want of consent (counted, never
   read further), and an :class:`~analysis.importing.Issue` for every value that does not map,
   naming its row and column.

Choice values are matched whatever their wording: case, accents, numbering ("2. Hard"), the
session's other languages, the survey tool's codes ("somewhat_easy", LimeSurvey's "A2") and
"Prefer not to say". Pure Python: no Flask, no SQLite; the app stores the plan in one transaction.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from analysis import messages
from analysis.importing import ERROR, INFO, WARNING, Issue, Table, fold, issue
from analysis.languages import language_code

__all__ = [
    "Answer", "Choice", "ColumnMap", "ConsentRule", "Contact", "ImportPlan", "ImportRecord", "Question",
    "SessionQuestions", "ValueMatch", "match_choice", "plan_import", "propose_mapping", "row_key",
]

# What a column is mapped to (ColumnMap.target).
QUESTION = "question"  # answers one question (or, with choice_id, says whether one choice was chosen)
LANGUAGE = "language"
SOURCE = "source"
TIME = "time"
ROW_ID = "row_id"
TAKE_PART = "consent_take_part"
QUOTE = "consent_quote"
CONTACT = "consent_contact"
CONTACT_NAME = "contact_name"
CONTACT_PHONE = "contact_phone"
CONTACT_EMAIL = "contact_email"
IGNORE = "ignore"
TARGETS = (QUESTION, LANGUAGE, SOURCE, TIME, ROW_ID, TAKE_PART, QUOTE, CONTACT, CONTACT_NAME, CONTACT_PHONE,
           CONTACT_EMAIL, IGNORE)

KINDS = ("open", "single", "multiple", "scale", "about")
# Where an answer came from (participants.source, responses.source), as the app's SOURCES.
SOURCES = ("phone", "paper", "sticky", "phone_call", "interpreter")
_SOURCE_WORDS = {
    "phone": "phone", "mobile": "phone", "online": "phone", "web": "phone", "sms": "phone", "telefono movil": "phone",
    "paper": "paper", "paper card": "paper", "card": "paper", "papel": "paper", "tarjeta": "paper", "papier": "paper",
    "sticky": "sticky", "sticky note": "sticky", "post-it": "sticky", "post it": "sticky", "nota": "sticky",
    "phone call": "phone_call", "phone_call": "phone_call", "call": "phone_call", "llamada": "phone_call",
    "interpreter": "interpreter", "interpreted": "interpreter", "interprete": "interpreter", "interprete.": "interpreter",
}

_YES = {"yes", "y", "true", "1", "x", "si", "oui", "co", "agree", "i agree", "accept", "acepto", "de acuerdo", "consent",
        "consiento", "d'accord", "dong y", "نعم", "موافق", "موافقة", "ہاں", "جی ہاں", "جی", "ok", "checked", "selected",
        "accepte", "j'accepte", "yes i agree", "si acepto", "da"}
_NO = {"no", "n", "false", "0", "non", "khong", "لا", "نہیں", "decline", "declined", "i do not agree", "do not agree",
       "disagree", "refuse", "refused", "no acepto", "je refuse", "unchecked", "not selected"}
_PREFER_NOT = ("prefer not", "prefiero no", "rather not", "decline to", "prefere ne pas", "je prefere ne pas",
               "no deseo", "toi khong muon", "ترجیح", "أفضل عدم", "n/a - prefer")
_CONSENT_CUES = ("consent", "agree", "may we", "may i", "permission", "take part", "particip", "acept", "acuerdo",
                 "autoriz", "d'accord", "accept", "ok to", "can we", "podemos", "dong y", "موافق", "رضامند")
_QUOTE_WORDS = ("quote", "cita", "citer", "trich", "اقتباس", "حوالہ")
_CONTACT_WORDS = ("contact", "contactar", "contacter", "lien he", "اتصال", "رابطہ", "follow up", "follow-up")
_LANGUAGE_HEADERS = {"language", "lang", "idioma", "langue", "ngon ngu", "اللغة", "زبان", "startlanguage",
                     "start language", "language of answer", "response language"}
_SOURCE_HEADERS = {"source", "fuente", "origin", "channel", "how collected", "collected by", "method", "mode"}
_NAME_HEADERS = {"name", "first name", "last name", "full name", "your name", "nombre", "apellido", "nom", "prenom", "ho ten",
                 "الاسم", "نام"}
_ID_HEADERS = {"id", "card", "card id", "card number", "card no", "record", "record id", "row id", "response id", "respondent",
               "number", "no", "n", "#", "ref", "reference", "folio", "note", "note number", "sheet", "form", "form number",
               "tarjeta", "numero", "fiche"}
_PHONE_WORDS = ("phone", "telefono", "telephone", "mobile", "cell", "dien thoai", "هاتف", "فون")
_EMAIL_WORDS = ("email", "e-mail", "correo", "courriel", "البريد", "ای میل")
_NUMBERING = re.compile(r"^(?:q(?:uestion)?\s*)?(?:\d+|[a-z])\s*[.):\-]\s*|^q(?:uestion)?\s*\d+\s+")
_QUESTION_NUMBER = re.compile(r"^(?:q(?:uestion)?\s*)?(\d+)$")
_TOOL_CODE = re.compile(r"^(?:a|ao|sq|opt|option|choice|c)\s*0*(\d+)$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ t]\d{2}:\d{2}(?::\d{2})?)?$|^\d{1,2}/\d{1,2}/\d{2,4}$|^\d{1,2}-[a-z]{3}(?:-\d{2,4})?$")
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—−"})
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+)(?:\s*(?:[-–—:.)=]|$)\s*)")
_TIME_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M:%S",
                 "%d/%m/%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y")
_CLOSE = 0.85  # similarity above which two wordings are proposed as the same (marked "please check")


# --- what the app describes -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One choice of a question: its id in the app and its label in each language (code -> label)."""

    id: int
    labels: Mapping[str, str]
    prefer_not: bool = False


@dataclass(frozen=True)
class Question:
    """One question of the session as the app holds it (prompts, options and texts).

    ``kind`` is one of "open", "single", "multiple", "scale", "about" ("about you": a single
    choice); ``labels`` maps a language code to the question's wording; ``position`` is its
    number in the session (from 1).
    """

    id: int
    kind: str
    labels: Mapping[str, str]
    choices: tuple[Choice, ...] = ()
    position: int = 0
    scale_min: int | None = None
    scale_max: int | None = None
    demographic: str | None = None

    @property
    def takes_one(self) -> bool:
        """Tell whether the question takes a single choice."""
        return self.kind in ("single", "about")


@dataclass(frozen=True)
class SessionQuestions:
    """The session an export is imported into: its questions and languages (the first is its default)."""

    questions: tuple[Question, ...]
    languages: tuple[str, ...]

    def question(self, question_id: int) -> Question:
        """Return the question with this id."""
        return next(q for q in self.questions if q.id == question_id)


@dataclass(frozen=True)
class ColumnMap:
    """What one column of the table is read as; ``reason`` is the message id of why it was proposed.

    ``choice_id`` is set when the column holds one choice of a multiple-choice question
    (SurveyMonkey's and LimeSurvey's one column per choice, Kobo's split columns).
    """

    column: int
    target: str = IGNORE
    question_id: int | None = None
    choice_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class ValueMatch:
    """How one distinct value of a column maps onto a question's choices (empty ``choice_ids``: it does not)."""

    column: int
    value: str
    count: int
    choice_ids: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Proposal:
    """A proposed mapping of every column, and how each distinct value of each choice column maps."""

    columns: tuple[ColumnMap, ...]
    values: tuple[ValueMatch, ...] = ()

    def for_column(self, index: int) -> ColumnMap:
        """Return the mapping of one column."""
        return self.columns[index]


@dataclass(frozen=True)
class ConsentRule:
    """How the people in the file agreed, beside any consent columns the mapping names.

    ``statement`` is one statement covering the whole file (for example "collected under the
    health department's consent form of 2026-03"), recorded with ``version`` as the consent
    method; without a take-part column every row counts as consented under it, and
    ``quote_ok``/``contact_ok`` say whether it also covers quoting and contacting. A consent
    column, when mapped, decides for each row instead.
    """

    statement: str = ""
    version: str = ""
    quote_ok: bool = False
    contact_ok: bool = False


# --- what the app stores --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answer to store: text for an open question, choice ids, or a number on a scale."""

    question_id: int
    text: str | None = None
    choice_ids: tuple[int, ...] = ()
    number: int | None = None


@dataclass(frozen=True)
class Contact:
    """Contact details, kept only from people who agreed to be contacted."""

    name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ImportRecord:
    """One consented row, ready to store as a participant with a consent and answers.

    ``key`` is stable across imports of the same file (the tool's id, or a fingerprint of the
    row): the app stores a record only if no record with that key exists in the session.
    ``submitted_at`` is None when the file has no readable time (the app uses the import's); it
    is aware when the file says its zone (Kobo's ``_submission_time`` is UTC), otherwise naive:
    the time as the tool wrote it, which the app reads in the session's time zone.
    """

    key: str
    row: int
    language: str
    source: str
    submitted_at: dt.datetime | None
    quote_ok: bool
    contact_ok: bool
    answers: tuple[Answer, ...]
    contact: Contact | None = None


@dataclass(frozen=True)
class ImportPlan:
    """Everything an import would store, and everything a person should check first.

    ``refused_rows`` had no consent to take part (nothing from them is kept); ``empty_rows``
    consented but answered nothing; ``duplicate_rows`` repeat an earlier row's id. ``blocked``
    is true when nothing may be imported (no way to know who consented).
    """

    records: tuple[ImportRecord, ...]
    refused_rows: tuple[int, ...]
    empty_rows: tuple[int, ...]
    duplicate_rows: tuple[int, ...]
    issues: tuple[Issue, ...]
    consent_method: str  # "column" (a take-part column per row) or "statement" (one for the whole file)
    consent_statement: str = ""
    consent_version: str = ""
    blocked: bool = False
    counts: Mapping[str, int] = field(default_factory=dict, hash=False)

    def new_records(self, existing_keys: Collection[str]) -> tuple[ImportRecord, ...]:
        """Return the records whose key the session does not hold yet (a second import stores nothing new)."""
        return tuple(r for r in self.records if r.key not in existing_keys)

    def errors(self) -> tuple[Issue, ...]:
        """Return the issues about something that is not imported."""
        return tuple(i for i in self.issues if i.level == ERROR)


# --- matching -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    """Return text folded for matching, with dashes unified and a tool's underscores read as spaces."""
    return fold(text.translate(_DASHES).replace("_", " "))


@functools.lru_cache(maxsize=65536)
def _denumber(text: str) -> str:
    """Return folded text without a leading number or letter ("2. Hard", "b) Hard", "Q3 ...")."""
    return _NUMBERING.sub("", text, count=1).strip()


@dataclass(frozen=True)
class _Index:
    """A question's choice labels, folded, for matching values."""

    exact: Mapping[str, tuple[int, frozenset[str]]]
    denumbered: Mapping[str, tuple[int, frozenset[str]]]
    ordered: tuple[int, ...]
    prefer_not: int | None


def _index(question: Question) -> _Index:
    """Build the folded label index of a question's choices, in every language."""
    exact: dict[str, tuple[int, set[str]]] = {}
    denumbered: dict[str, tuple[int, set[str]]] = {}
    for choice in question.choices:
        for language, label in choice.labels.items():
            if not label.strip():
                continue
            key = _norm(label)
            exact.setdefault(key, (choice.id, set()))[1].add(language)
            denumbered.setdefault(_denumber(key), (choice.id, set()))[1].add(language)
    prefer = next((c.id for c in question.choices if c.prefer_not), None)
    return _Index({k: (v[0], frozenset(v[1])) for k, v in exact.items()},
                  {k: (v[0], frozenset(v[1])) for k, v in denumbered.items()},
                  tuple(c.id for c in question.choices), prefer)


def _match_one(value: str, index: _Index, default: str) -> tuple[int, str, frozenset[str]] | None:
    """Match one value to one choice: (choice id, reason, languages whose label it is) or None."""
    key = _norm(value)
    if not key:
        return None
    if key in index.exact:
        choice, languages = index.exact[key]
        return choice, (messages.MATCH_SAME_WORDING if default in languages else messages.MATCH_OTHER_LANGUAGE), languages
    bare = _denumber(key)
    if bare and bare in index.denumbered:
        return index.denumbered[bare][0], messages.MATCH_NUMBERED, index.denumbered[bare][1]
    if key.isdigit() and 1 <= int(key) <= len(index.ordered):
        return index.ordered[int(key) - 1], messages.MATCH_POSITION, frozenset()
    code = _TOOL_CODE.match(key)
    if code and 1 <= int(code.group(1)) <= len(index.ordered):
        return index.ordered[int(code.group(1)) - 1], messages.MATCH_CODE, frozenset()
    if index.prefer_not is not None and key.startswith(_PREFER_NOT):
        return index.prefer_not, messages.MATCH_PREFER_NOT, frozenset()
    # A tool's code that holds the label ("age_20_29" for "20-29"), or one word of it, unique among the choices.
    spaced = re.sub(r"[^\w]+", " ", key).strip()
    if spaced and re.fullmatch(r"[\w.\-]+", value.strip()):  # a code is one word: "age_20_29", not "Hard; Bus"
        found = {choice for label, (choice, _langs) in index.exact.items()
                 if (flat := re.sub(r"[^\w]+", " ", label).strip()) and (f" {flat} " in f" {spaced} " or f" {spaced} " in f" {flat} ")}
        if len(found) == 1:
            return found.pop(), messages.MATCH_CODE, frozenset()
    close = difflib.get_close_matches(key, list(index.exact), n=2, cutoff=_CLOSE)
    if len(close) == 1 or (len(close) == 2 and index.exact[close[0]][0] == index.exact[close[1]][0]):
        return index.exact[close[0]][0], messages.MATCH_CLOSE, index.exact[close[0]][1]
    return None


def match_choice(value: str, question: Question, default_language: str, *, index: _Index | None = None,
                 tool: str = "") -> tuple[tuple[int, ...], str, frozenset[str], tuple[str, ...]]:
    """Match a cell to a question's choices: (choice ids, reason, languages, parts that do not map).

    A single-choice cell is one value; a multiple-choice cell may list several, separated by
    ";", "|", a line break, "," (Google Forms) or spaces (Kobo's choice names). The reason is
    the weakest of the parts' reasons, so a "please check" is never hidden.
    """
    index = index or _index(question)
    whole = _match_one(value, index, default_language)
    if whole is not None and whole[1] != messages.MATCH_CLOSE:
        return (whole[0],), whole[1], whole[2], ()
    parts = [value]
    for separator in (";", "|", "\n", ","):
        if separator in value:
            parts = [p.strip() for p in value.split(separator) if p.strip()]
            break
    else:
        parts = _segment(value.split(), index, default_language) or parts
    found: list[int] = []
    reasons: list[str] = []
    languages: frozenset[str] | None = None
    missing: list[str] = []
    if len(parts) < 2:
        if whole is not None:  # a close spelling of one choice, and no list of choices
            return (whole[0],), whole[1], whole[2], ()
        return (), "", frozenset(), (value,)
    for part in parts:
        one = _match_one(part, index, default_language)
        if one is None:
            missing.append(part)
            continue
        if one[0] not in found:
            found.append(one[0])
        reasons.append(one[1])
        if one[2]:
            languages = one[2] if languages is None else languages & one[2]
    order = [messages.MATCH_CLOSE, messages.MATCH_CODE, messages.MATCH_POSITION, messages.MATCH_PREFER_NOT,
             messages.MATCH_NUMBERED, messages.MATCH_OTHER_LANGUAGE, messages.MATCH_SAME_WORDING]
    reason = next((r for r in order if r in reasons), "")
    return tuple(found), reason, languages or frozenset(), tuple(missing)


def _segment(tokens: Sequence[str], index: _Index, default: str) -> list[str] | None:
    """Split space-separated choices into labels ("WIC Clinic van" -> "WIC", "Clinic van"), as Kobo writes them.

    Only whole labels in some language or one-word tool codes count, never a close spelling or a
    choice's number, and the split must use every word; None when there is no such split.
    """
    if len(tokens) < 2 or len(tokens) > 40:
        return None
    sure = (messages.MATCH_SAME_WORDING, messages.MATCH_OTHER_LANGUAGE, messages.MATCH_CODE, messages.MATCH_NUMBERED)
    best: list[list[str] | None] = [[]] + [None] * len(tokens)
    for end in range(1, len(tokens) + 1):
        for start in range(end):  # the longest label first: "Clinic van" before "Clinic" and "van"
            head = best[start]
            if head is None:
                continue
            part = " ".join(tokens[start:end])
            one = _match_one(part, index, default)
            if one is not None and one[1] in sure:
                best[end] = [*head, part]
                break
    return best[-1] if best[-1] and len(best[-1]) > 1 else None


@functools.lru_cache(maxsize=4096)
def _consent_value(value: str) -> bool | None:
    """Read a consent cell: True for a clear yes, False for a clear no, None when unclear."""
    key = fold(value)
    if key in _YES:
        return True
    if key in _NO or not key:
        return False
    first = re.split(r"[\s,;.!]+", key, maxsplit=1)[0]
    if first in _NO or " not " in f" {key} " or "n't" in key:
        return False
    if first in _YES:
        return True
    return None


@functools.lru_cache(maxsize=4096)
def _chosen(value: str) -> bool:
    """Tell whether a one-choice column's cell says the choice was chosen (a label, 1, yes, x)."""
    key = fold(value)
    return bool(key) and key not in _NO


def _parse_time(value: str) -> dt.datetime | None:
    """Read a submission time as survey tools write it (ISO 8601, US and European forms), or None."""
    text = value.strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for form in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, form)
        except ValueError:
            continue
    return None


# --- proposing ------------------------------------------------------------------------------


def _header_match(text: str, session: SessionQuestions, taken: set[int]) -> tuple[Question, str] | None:
    """Match a column header to a question's wording in any of the session's languages."""
    key = _norm(text)
    if not key:
        return None
    default = session.languages[0] if session.languages else ""
    free = [q for q in session.questions if q.id not in taken]
    for question in free:
        wordings = {_norm(label): language for language, label in question.labels.items() if label.strip()}
        if key in wordings:
            return question, (messages.MATCH_SAME_WORDING if wordings[key] == default else messages.MATCH_OTHER_LANGUAGE)
    bare = _denumber(key)
    for question in free:
        if bare and bare in {_denumber(_norm(label)) for label in question.labels.values() if label.strip()}:
            return question, messages.MATCH_NUMBERED
    best: tuple[float, Question] | None = None
    for question in free:
        for label in question.labels.values():
            ratio = difflib.SequenceMatcher(None, bare or key, _denumber(_norm(label))).ratio()
            if ratio >= _CLOSE and (best is None or ratio > best[0]):
                best = (ratio, question)
    if best is not None:
        return best[1], messages.MATCH_CLOSE
    if len(bare) >= 3:
        # A short header that is part of one question's wording ("Age" for "Your age").
        within = [q for q in free if any(f" {bare} " in f" {_norm(label)} " for label in q.labels.values())]
        if len(within) == 1:
            return within[0], messages.MATCH_CLOSE
    number = _QUESTION_NUMBER.match(key)
    if number:
        found = [q for q in free if q.position == int(number.group(1))]
        if found:
            return found[0], messages.MATCH_QUESTION_NUMBER
    return None


def _role(header: str, key: str) -> str | None:
    """Recognise a column that is not an answer by its header: consent, contact details, language, source."""
    norm = _norm(header.replace("/", " "))
    short = _norm(key)
    if norm in _LANGUAGE_HEADERS or short in _LANGUAGE_HEADERS:
        return LANGUAGE
    if norm in _SOURCE_HEADERS or short in _SOURCE_HEADERS:
        return SOURCE
    if any(cue in norm for cue in _CONSENT_CUES) or short in {"consent", "consentimiento", "consentement"}:
        if any(word in norm for word in _QUOTE_WORDS):
            return QUOTE
        if any(word in norm for word in _CONTACT_WORDS):
            return CONTACT
        return TAKE_PART
    if any(word in norm for word in _EMAIL_WORDS):
        return CONTACT_EMAIL
    if any(word in norm for word in _PHONE_WORDS):
        return CONTACT_PHONE
    if norm in _NAME_HEADERS or short in _NAME_HEADERS:
        return CONTACT_NAME
    return None


def propose_mapping(table: Table, session: SessionQuestions) -> Proposal:
    """Propose what each column of ``table`` is, for a person to check before :func:`plan_import`."""
    default = session.languages[0] if session.languages else ""
    tool = table.tool
    proposals: dict[int, ColumnMap] = {}
    taken: set[int] = set()
    for column in table.columns:
        i = column.index
        if i == tool.id_column:
            proposals[i] = ColumnMap(i, ROW_ID, reason=messages.MATCH_TOOL)
        elif i == tool.time_column:
            proposals[i] = ColumnMap(i, TIME, reason=messages.MATCH_TOOL)
        elif i == tool.language_column:
            proposals[i] = ColumnMap(i, LANGUAGE, reason=messages.MATCH_TOOL)
        elif i in tool.metadata:
            proposals[i] = ColumnMap(i, IGNORE, reason=messages.MATCH_TOOL)
        elif not column.group and (role := _role(column.header, column.key)) is not None:
            proposals[i] = ColumnMap(i, role, reason=messages.MATCH_NAME)
    values = _distinct_values(table)
    if tool.id_column is None:
        # A hand-made file's own numbering ("Card", "#"): every row has its own, so it identifies the row.
        for column in table.columns:
            if (column.index not in proposals and not column.group and _norm(column.header) in _ID_HEADERS
                    and values[column.index] and max(values[column.index].values()) == 1
                    and sum(values[column.index].values()) == len(table.rows)):
                proposals[column.index] = ColumnMap(column.index, ROW_ID, reason=messages.MATCH_NAME)
                break
    # Whole columns first (their headers, then their values), then one-choice columns by their question.
    whole = [c for c in table.columns if c.index not in proposals and not c.group]
    for column in whole:
        found = _header_match(column.header, session, taken) or _header_match(column.key, session, taken)
        if found:
            proposals[column.index] = ColumnMap(column.index, QUESTION, found[0].id, reason=found[1])
            taken.add(found[0].id)
    for column in whole:
        if column.index in proposals:
            continue
        found_q = _values_match(values[column.index], session, taken, default, tool.name)
        if found_q is not None:
            proposals[column.index] = ColumnMap(column.index, QUESTION, found_q.id, reason=messages.MATCH_VALUES)
            taken.add(found_q.id)
    groups: dict[str, int | None] = {}
    for column in table.columns:
        if column.index in proposals or not column.group:
            continue
        if column.group not in groups:
            parent = table.index_of(column.group)
            if parent is not None and parent in proposals and proposals[parent].target == QUESTION:
                groups[column.group] = None  # answered in the question's own column
            else:
                found = _header_match(column.group, session, taken)
                found = found or _header_match(column.group.rsplit("/", 1)[-1], session, taken)
                groups[column.group] = found[0].id if found and found[0].kind == "multiple" else None
                if groups[column.group] is not None:
                    taken.add(groups[column.group])
        parent = table.index_of(column.group)
        if groups[column.group] is None:
            reason = messages.MATCH_SPLIT_CHOICE if parent is not None and parent in proposals else ""
            proposals[column.index] = ColumnMap(column.index, IGNORE, reason=reason)
            continue
        question = session.question(groups[column.group])
        one = _match_one(column.sub, _index(question), default)
        if one is None:
            proposals[column.index] = ColumnMap(column.index, IGNORE)
        else:
            proposals[column.index] = ColumnMap(column.index, QUESTION, question.id, one[0], reason=one[1])
    _last_open_question(table, session, proposals, taken, values)
    columns = tuple(proposals.get(c.index, ColumnMap(c.index)) for c in table.columns)
    return Proposal(columns, _value_matches(table, session, columns, values))


def _distinct_values(table: Table) -> list[Counter[str]]:
    """Count the distinct non-blank values of every column."""
    counts: list[Counter[str]] = [Counter() for _ in table.columns]
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            if cell.strip():
                counts[i][cell.strip()] += 1
    return counts


def _values_match(values: Counter[str], session: SessionQuestions, taken: set[int], default: str, tool: str) -> Question | None:
    """Return the one free choice or scale question whose choices the column's values are, or None."""
    if not values:
        return None
    ordered = list(values)
    if (len(ordered) >= 3 and all(n == 1 for n in values.values()) and all(v.isdigit() for v in ordered)
            and [int(v) for v in ordered] == list(range(int(ordered[0]), int(ordered[0]) + len(ordered)))):
        return None  # 1, 2, 3, ... down the rows is a count of the rows, not answers
    fits = []
    for question in session.questions:
        if question.id in taken:
            continue
        if question.kind == "scale":
            low, high = question.scale_min or 0, question.scale_max or 0
            numbers = [_LEADING_NUMBER.match(v) for v in values]
            if all(numbers) and all(low <= int(m.group(1)) <= high for m in numbers if m):
                fits.append((1.5, question))
        elif question.choices:
            index = _index(question)
            # The 200 most common values decide: a column of free text has thousands, and none is a choice.
            results = [(match_choice(v, question, default, index=index, tool=tool), n) for v, n in values.most_common(200)]
            matched = sum(n for result, n in results if not result[3])
            share = matched / sum(n for _result, n in results)
            by_number = all(result[1] == messages.MATCH_POSITION for result, _n in results if not result[3])
            if share >= 0.8:
                # Wording beats a range of numbers, which beats choices' numbers alone.
                fits.append((share if by_number else share + 1, question))
    if not fits:
        return None
    fits.sort(key=lambda f: -f[0])
    if len(fits) > 1 and fits[0][0] == fits[1][0]:
        return None
    return fits[0][1]


def _last_open_question(table: Table, session: SessionQuestions, proposals: dict[int, ColumnMap], taken: set[int],
                        values: list[Counter[str]]) -> None:
    """Map the only free open question to the only unmapped column of free text (Kobo's XML headers)."""
    open_free = [q for q in session.questions if q.kind == "open" and q.id not in taken]
    texts = [c for c in table.columns if c.index not in proposals and not c.group and values[c.index]
             and sum(len(v) * n for v, n in values[c.index].items()) / sum(values[c.index].values()) >= 12
             and len(values[c.index]) >= 0.5 * sum(values[c.index].values())]
    if len(open_free) == 1 and len(texts) == 1:
        proposals[texts[0].index] = ColumnMap(texts[0].index, QUESTION, open_free[0].id, reason=messages.MATCH_ONLY_OPEN)
        taken.add(open_free[0].id)


def _value_matches(table: Table, session: SessionQuestions, columns: Sequence[ColumnMap], values: list[Counter[str]]) -> tuple[ValueMatch, ...]:
    """Say how each distinct value of each whole choice column maps, for the preview."""
    default = session.languages[0] if session.languages else ""
    out = []
    for mapping in columns:
        if mapping.target != QUESTION or mapping.choice_id is not None:
            continue
        question = session.question(mapping.question_id)
        if not question.choices:
            continue
        index = _index(question)
        for value, count in sorted(values[mapping.column].items(), key=lambda item: (-item[1], item[0])):
            ids, reason, _langs, missing = match_choice(value, question, default, index=index, tool=table.tool.name)
            out.append(ValueMatch(mapping.column, value, count, () if missing else ids, "" if missing else reason))
    return tuple(out)


# --- planning -------------------------------------------------------------------------------


def row_key(table: Table, cells: Sequence[str], id_column: int | None, seen: Counter[str]) -> tuple[str, bool]:
    """Return a row's stable key and whether it is the tool's own id.

    The tool's id gives "<tool>:<id>"; otherwise a fingerprint of every cell with its column's
    header (so re-ordered columns give the same key), numbered among identical rows so two
    identical paper cards stay two answers while a second import of the file stays idempotent.
    """
    if id_column is not None and cells[id_column].strip():
        return f"{table.tool.name or 'file'}:{cells[id_column].strip()}", True
    pairs = sorted(zip((c.header for c in table.columns), cells, strict=True))
    digest = hashlib.blake2b("\x1e".join(f"{h}\x1f{v.strip()}" for h, v in pairs).encode("utf-8"), digest_size=16).hexdigest()
    seen[digest] += 1
    return f"row:{digest}:{seen[digest]}", False


def plan_import(table: Table, session: SessionQuestions, columns: Sequence[ColumnMap], consent: ConsentRule, *,
                source: str = "phone", language: str | None = None, max_length: int | None = None) -> ImportPlan:
    """Apply a mapping and a consent rule to every row: what would be stored, what is refused, what to check.

    ``source`` is the file's source (the default for rows without a source column) and
    ``language`` the file's language (default: the session's first). A row whose take-part
    consent is not a clear yes is refused and nothing else of it is read. An open answer longer
    than ``max_length`` characters (the app's CHORUS_MAX_ANSWER_LENGTH) is left out and named.
    """
    default = language or (session.languages[0] if session.languages else "und")
    by_target: dict[str, list[ColumnMap]] = defaultdict(list)
    for mapping in columns:
        by_target[mapping.target].append(mapping)
    names = [c.name for c in table.columns]
    take_part = by_target[TAKE_PART][0].column if by_target[TAKE_PART] else None
    if take_part is None and not consent.statement.strip():
        return ImportPlan((), (), (), (), (issue(messages.IMPORT_NO_CONSENT_RULE, ERROR),), "", blocked=True)
    method = "column" if take_part is not None else "statement"
    quote_col = by_target[QUOTE][0].column if by_target[QUOTE] else None
    contact_col = by_target[CONTACT][0].column if by_target[CONTACT] else None
    id_col = by_target[ROW_ID][0].column if by_target[ROW_ID] else None
    time_col = by_target[TIME][0].column if by_target[TIME] else None
    language_col = by_target[LANGUAGE][0].column if by_target[LANGUAGE] else None
    source_col = by_target[SOURCE][0].column if by_target[SOURCE] else None
    # Questions: whole columns (first wins) and one-choice columns.
    whole: dict[int, list[int]] = defaultdict(list)
    split: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for mapping in by_target[QUESTION]:
        if mapping.choice_id is None:
            whole[mapping.question_id].append(mapping.column)
        else:
            split[mapping.question_id].append((mapping.column, mapping.choice_id))
    # Columns left out that are not the tool's own: said with how many rows have something in them.
    used = {m.column for m in columns if m.target != IGNORE}
    whole_columns = {m.column for m in columns if m.target == QUESTION and m.choice_id is None}
    left_out = [c.index for c in table.columns if c.index not in used and c.index not in table.tool.metadata
                and not (c.group and table.index_of(c.group) in whole_columns)]  # Kobo's split copies of a mapped column
    left_out_counts: Counter[int] = Counter()
    questions = {q.id: q for q in session.questions}
    indexes = {qid: _index(questions[qid]) for qid in whole if questions[qid].choices}
    cache: dict[tuple[int, str], tuple] = {}
    languages = {lang.split("-")[0]: lang for lang in session.languages}
    issues: list[Issue] = []
    records: list[ImportRecord] = []
    refused: list[int] = []
    empty: list[int] = []
    duplicates: list[int] = []
    first_with_id: dict[str, int] = {}
    seen: Counter[str] = Counter()
    blanks: dict[int, list[int]] = defaultdict(list)
    contacts_dropped = 0
    unknown_language: dict[str, str] = {}
    for row in table.rows:
        cells = row.cells
        # Consent first: nothing else of a refused row is read.
        if take_part is not None:
            agreed = _consent_value(cells[take_part])
            if agreed is None:
                issues.append(issue(messages.IMPORT_CONSENT_UNCLEAR, WARNING, row=row.number, column=names[take_part], value=cells[take_part]))
            if not agreed:
                refused.append(row.number)
                issues.append(issue(messages.IMPORT_NOT_CONSENTED, ERROR, row=row.number, value=cells[take_part].strip() or "—"))
                continue
        for column in left_out:
            if cells[column].strip():
                left_out_counts[column] += 1
        quote_ok = _row_consent(cells, quote_col, consent.quote_ok, row.number, names, issues)
        contact_ok = _row_consent(cells, contact_col, consent.contact_ok, row.number, names, issues)
        key, own_id = row_key(table, cells, id_col, seen)
        if id_col is not None and not own_id:
            issues.append(issue(messages.IMPORT_NO_ROW_ID, INFO, row=row.number, column=names[id_col]))
        if own_id:
            if key in first_with_id:
                duplicates.append(row.number)
                issues.append(issue(messages.IMPORT_DUPLICATE_ROW, ERROR, row=row.number, column=names[id_col], first=first_with_id[key]))
                continue
            first_with_id[key] = row.number
        answers, matched_languages = _row_answers(row.number, cells, whole, split, questions, indexes, cache, names,
                                                  default, table.tool.name, blanks, issues, max_length=max_length)
        if not answers:
            empty.append(row.number)
            issues.append(issue(messages.IMPORT_NO_ANSWERS, WARNING, row=row.number))
            continue
        row_language = _row_language(cells, row.number, names, language_col, language, default, languages,
                                     matched_languages, session.languages, unknown_language, issues)
        row_source = _row_source(cells, row.number, names, source_col, source, issues)
        submitted = _row_time(table, cells, row.number, names, time_col, issues)
        contact = _contact(cells, by_target)
        if contact is not None and not contact_ok:
            contact = None
            contacts_dropped += 1
        records.append(ImportRecord(key, row.number, row_language, row_source, submitted, quote_ok, contact_ok,
                                    tuple(answers), contact))
    issues.extend(_file_notes(names, blanks, left_out, left_out_counts, contacts_dropped))
    counts = {"rows": len(table.rows), "records": len(records), "refused": len(refused), "empty": len(empty),
              "duplicates": len(duplicates), "skipped": len(table.skipped_rows),
              "answers": sum(len(r.answers) for r in records)}
    return ImportPlan(tuple(records), tuple(refused), tuple(empty), tuple(duplicates), tuple(table.issues) + tuple(issues),
                      method, consent.statement.strip(), consent.version.strip(), counts=counts)


def _file_notes(names: Sequence[str], blanks: dict, left_out: Sequence[int], left_out_counts: Counter,
                contacts_dropped: int) -> list[Issue]:
    """The notes about the whole file: blank cells per column, columns left out that hold data, contacts left out."""
    notes = [issue(messages.IMPORT_BLANK_CELLS, INFO, column=names[column], rows=rows, count=len(rows))
             for column, rows in blanks.items()]
    notes += [issue(messages.IMPORT_COLUMN_LEFT_OUT, WARNING, column=names[column], count=left_out_counts[column])
              for column in left_out if left_out_counts[column]]
    if contacts_dropped:
        notes.append(issue(messages.IMPORT_CONTACT_LEFT_OUT, INFO, count=contacts_dropped))
    return notes

def _row_answers(number: int, cells: Sequence[str], whole: dict, split: dict, questions: dict, indexes: dict, cache: dict,
                 names: Sequence[str], default: str, tool: str, blanks: dict, issues: list[Issue], *,
                 max_length: int | None = None):
    """One row's answers from its whole-question and one-choice columns, with the languages its choices matched."""
    answers: list[Answer] = []
    matched_languages: frozenset[str] | None = None
    for question_id, cols in whole.items():
        question = questions[question_id]
        filled = [c for c in cols if cells[c].strip()]
        if not filled and question_id not in split:
            blanks[cols[0]].append(number)
            continue
        if len(filled) > 1 and question.kind != "multiple":
            issues.append(issue(messages.IMPORT_SEVERAL_ANSWERS, WARNING, row=number, column=names[filled[0]],
                                question=question.labels.get(default) or next(iter(question.labels.values()), "")))
        if not filled:
            continue
        answer, langs = _answer(question, filled if question.kind == "multiple" else filled[:1], cells, number, names,
                                default, indexes.get(question_id), cache, issues, tool, max_length=max_length)
        if answer is not None:
            answers.append(answer)
            if langs:
                matched_languages = langs if matched_languages is None else matched_languages & langs
    for question_id, pairs in split.items():
        chosen = [choice for column, choice in pairs if _chosen(cells[column])]
        existing = next((a for a in answers if a.question_id == question_id), None)
        if existing is not None:
            answers.remove(existing)
            chosen = list(existing.choice_ids) + [c for c in chosen if c not in existing.choice_ids]
        if chosen:
            answers.append(Answer(question_id, choice_ids=tuple(chosen)))
    return answers, matched_languages


def _row_language(cells: Sequence[str], number: int, names: Sequence[str], language_col: int | None, language: str | None,
                  default: str, languages: dict, matched_languages, session_languages, unknown_language: dict,
                  issues: list[Issue]) -> str:
    """A row's language: its language column, else the one language its choices were worded in, else the default."""
    row_language = default
    if language_col is not None and cells[language_col].strip():
        value = cells[language_col].strip()
        code = language_code(value)
        found = languages.get(code.split("-")[0]) if code else None
        if found is None:
            unknown_language.setdefault(value, "")
            issues.append(issue(messages.IMPORT_UNKNOWN_LANGUAGE, WARNING, row=number, column=names[language_col], value=value))
        else:
            row_language = found
    elif language_col is None and language is None and matched_languages and default not in matched_languages:
        # The row's choices are worded in one other language of the session: it was answered in that language.
        candidates = [lang for lang in session_languages if lang in matched_languages]
        if len(candidates) == 1:
            row_language = candidates[0]
    return row_language


def _row_source(cells: Sequence[str], number: int, names: Sequence[str], source_col: int | None, source: str,
                issues: list[Issue]) -> str:
    """A row's source: its source column when it names a known source, else the file's source."""
    row_source = source
    if source_col is not None and cells[source_col].strip():
        value = cells[source_col].strip()
        found_source = _SOURCE_WORDS.get(fold(value)) or (fold(value) if fold(value) in SOURCES else None)
        if found_source is None:
            issues.append(issue(messages.IMPORT_UNKNOWN_SOURCE, WARNING, row=number, column=names[source_col], value=value))
        else:
            row_source = found_source
    return row_source


def _row_time(table: Table, cells: Sequence[str], number: int, names: Sequence[str], time_col: int | None,
              issues: list[Issue]):
    """When a row was submitted, read from its time column (Kobo's server time is UTC), or None."""
    submitted = None
    if time_col is not None and cells[time_col].strip():
        submitted = _parse_time(cells[time_col])
        if submitted is not None and submitted.tzinfo is None and table.columns[time_col].header == "_submission_time":
            submitted = submitted.replace(tzinfo=dt.UTC)  # Kobo writes its server's time in UTC, without saying so
        if submitted is None:
            issues.append(issue(messages.IMPORT_BAD_TIME, WARNING, row=number, column=names[time_col], value=cells[time_col]))
    return submitted


def _row_consent(cells: Sequence[str], column: int | None, default: bool, row: int, names: Sequence[str], issues: list[Issue]) -> bool:
    """Read a row's quote or contact consent from its column (unclear counts as no), else the file's rule."""
    if column is None:
        return default
    agreed = _consent_value(cells[column])
    if agreed is None:
        issues.append(issue(messages.IMPORT_CONSENT_UNCLEAR, WARNING, row=row, column=names[column], value=cells[column]))
    return bool(agreed)


def _contact(cells: Sequence[str], by_target: Mapping[str, list[ColumnMap]]) -> Contact | None:
    """Return the row's contact details, or None when it gives none."""
    name = " ".join(cells[m.column].strip() for m in by_target.get(CONTACT_NAME, ()) if cells[m.column].strip())
    phone = next((cells[m.column].strip() for m in by_target.get(CONTACT_PHONE, ()) if cells[m.column].strip()), "")
    email = next((cells[m.column].strip() for m in by_target.get(CONTACT_EMAIL, ()) if cells[m.column].strip()), "")
    if not (name or phone or email):
        return None
    return Contact(name, phone, email)


def _answer(question: Question, columns: Sequence[int], cells: Sequence[str], row: int, names: Sequence[str], default: str,
            index: _Index | None, cache: dict, issues: list[Issue], tool: str, *,
            max_length: int | None = None) -> tuple[Answer | None, frozenset[str]]:
    """Read one question's answer from its column(s); report each value that does not map."""
    column = columns[0]
    value = cells[column].strip()
    if question.kind == "open":
        if max_length is not None and len(value) > max_length:
            issues.append(issue(messages.IMPORT_TOO_LONG, ERROR, row=row, column=names[column], length=len(value),
                                max=max_length))
            return None, frozenset()
        return Answer(question.id, text=value), frozenset()
    if question.kind == "scale":
        low, high = question.scale_min or 0, question.scale_max or 0
        number = _LEADING_NUMBER.match(value.translate(_DASHES))
        if number and low <= int(number.group(1)) <= high and not _DATE_LIKE.match(fold(value)):
            return Answer(question.id, number=int(number.group(1))), frozenset()
        message = messages.IMPORT_DATE_VALUE if _DATE_LIKE.match(fold(value)) else messages.IMPORT_NOT_ON_SCALE
        issues.append(issue(message, ERROR, row=row, column=names[column], value=value, low=low, high=high))
        return None, frozenset()
    found: list[int] = []
    languages: frozenset[str] | None = None
    for col in columns:
        text = cells[col].strip()
        key = (question.id, text)
        if key not in cache:
            cache[key] = match_choice(text, question, default, index=index, tool=tool)
        ids, _reason, langs, missing = cache[key]
        if question.takes_one and len(ids) + len(missing) > 1 and ids:
            issues.append(issue(messages.IMPORT_SEVERAL_FOR_ONE, ERROR, row=row, column=names[col], value=text))
            return None, frozenset()
        if question.takes_one and missing:
            missing = (text,)
        if missing:
            for part in missing:
                message = messages.IMPORT_DATE_VALUE if _DATE_LIKE.match(fold(part)) else messages.IMPORT_UNMAPPED_VALUE
                issues.append(issue(message, ERROR, row=row, column=names[col], value=part))
        if question.takes_one and missing:
            return None, frozenset()
        found += [i for i in ids if i not in found]
        if langs:
            languages = langs if languages is None else languages & langs
    if not found:
        return None, frozenset()
    return Answer(question.id, choice_ids=tuple(found)), languages or frozenset()
