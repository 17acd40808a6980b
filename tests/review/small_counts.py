"""Builders and readers for the small-count tests: sessions with known counts, and reports read back."""
from __future__ import annotations

import re
import secrets
from collections import Counter
from dataclasses import dataclass, field

from analysis.reports import markdown_plain
from analysis.review import queries as synthesis
from listening import queries
from tests.factories import make_participant, make_session


@dataclass
class Built:
    """A session made to order, and the truth behind every count its outputs may show."""

    session: dict
    open_ids: list[int]
    about: list[dict]
    themes: dict[str, int] = field(default_factory=dict)  # label -> theme id
    people: list[dict] = field(default_factory=list)  # {"language", "about": {prompt_id: option label}}
    answers: list[dict] = field(default_factory=list)  # {"person", "language", "group"}


def option_label(prompt: dict, option: dict) -> str:
    """Return an option's English label as reports print it."""
    return "Prefer not to say" if option["prefer_not"] else f"{option['label']} [en]"


def build(db, *, people: list[dict], answers: list[tuple[int, str]], about: list[list[str]] | None = None,
          open_questions: int = 1, priority: list[tuple[int, str]] = (), threshold: int | None = None) -> Built:
    """Make a session: ``people`` give a language and an option label per "about you" question,
    ``answers`` are (person index, group) with groups a theme label, "other", "off_topic",
    "contentless" or "unsorted"."""
    about = about if about is not None else [["Black", "White", "Asian"]]
    prompts = [{"kind": "open", "text": f"Open question {i + 1}"} for i in range(open_questions)]
    prompts += [{"kind": "about", "text": f"About question {i + 1}", "demographic": f"d{i}", "options": options}
                for i, options in enumerate(about)]
    session = make_session(db, prompts=prompts)
    stored = queries.prompts_for_session(db, session["id"])
    texts = queries.texts_for_session(db, session["id"])
    for prompt in stored:
        for option in prompt.get("options", []):
            option["label"] = texts.get(("option", option["id"], "label"), {}).get("en", "").removesuffix(" [en]")
    made = Built(session, [p["id"] for p in stored if p["kind"] == "open"], [p for p in stored if p["kind"] == "about"])
    ids = []
    for spec in people:
        person = make_participant(db, session, language=spec.get("language", "en"), quote_ok=True)
        ids.append(person.id)
        chosen = {}
        for prompt, label in zip(made.about, spec.get("about", [])):
            if label is None:
                continue
            option = next(o for o in prompt["options"] if o["label"] == label or (label == "Prefer not to say" and o["prefer_not"]))
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce=secrets.token_urlsafe(9), language=spec.get("language", "en"), choices=[option["id"]])
            chosen[prompt["id"]] = option_label(prompt, option)
        made.people.append({"language": spec.get("language", "en"), "about": chosen})
    asked: Counter = Counter()
    placed = []
    for index, group in answers:
        prompt_id = made.open_ids[asked[index] % len(made.open_ids)]
        asked[index] += 1
        language = made.people[index]["language"]
        response = queries.save_response(db, session_id=session["id"], participant_id=ids[index], prompt_id=prompt_id,
                                         nonce=secrets.token_urlsafe(9), language=language,
                                         text=f"answer {len(placed)} about {group}")
        placed.append((response.response_id, group))
        made.answers.append({"person": index, "language": language, "group": group})
    stamp = queries.now()
    other = None
    for response_id, group in placed:
        if group == "unsorted":
            continue
        theme_id, status = None, "theme"
        if group in ("off_topic", "contentless"):
            status = group
        elif group == "other":
            other = other or synthesis.other_theme_id(db, session["id"])
            theme_id = other
        else:
            if group not in made.themes:
                made.themes[group] = db.execute(
                    "INSERT INTO themes (session_id, kind, label, machine_label, created_at, updated_at) "
                    "VALUES (?, 'theme', ?, ?, ?, ?)", (session["id"], group, group, stamp, stamp)).lastrowid
            theme_id = made.themes[group]
        db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, updated_at) "
                   "VALUES (?, ?, ?, ?, 1, 0, ?)", (response_id, session["id"], theme_id, status, stamp))
    db.conn.commit()
    if priority:
        pairs = []
        for q, label in priority:
            option = next(o for o in made.about[q]["options"] if o["label"] == label)
            pairs.append((made.about[q]["id"], option["id"]))
        synthesis.save_priority_groups(db, session["id"], pairs, user_id=None)
    if threshold is not None:
        synthesis.save_settings(db, session["id"], threshold=threshold)
    return made


# --- reading a Markdown report back --------------------------------------------------------------

NUMBER = re.compile(r"^\d+$")


@dataclass
class Read:
    """What a Markdown report shows, as plain data."""

    people: int | None = None
    answers: int | None = None
    tables: dict[str, tuple[list[str], list[list[str]]]] = field(default_factory=dict)
    sizes: dict[str, int | None] = field(default_factory=dict)  # theme label (and "other") -> size
    off_topic: int | None = 0
    contentless: int | None = 0
    answers_stated: bool = False  # whether the report says anything about its number of answers


def count_of(cell: str) -> int | None:
    """Return the number a cell starts with ("12 (40%)" -> 12), or None for the mark."""
    cell = cell.strip()
    if cell == "*":
        return None
    return int(cell.split(" ", 1)[0])


def percent_of(cell: str) -> int | None:
    """Return the percentage in a cell ("12 (40%)" or "40%"), or None."""
    found = re.search(r"(\d+)%", cell)
    return int(found.group(1)) if found else None


def read_markdown(text: str) -> Read:
    """Parse a Markdown synthesis report into what it shows (its escaping undone)."""
    read = Read()
    lines = text.splitlines()
    section = ""
    heading = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section, heading = markdown_plain(line[3:]), ""
        elif line.startswith("### "):
            heading = markdown_plain(line[4:])
        elif line.startswith("**") and line.endswith("**") and i + 2 < len(lines) and lines[i + 2].startswith("| "):
            title = markdown_plain(line[2:-2])
            header = [markdown_plain(c.strip()) for c in lines[i + 2][2:-2].split(" | ")]
            rows = []
            j = i + 4
            while j < len(lines) and lines[j].startswith("| "):
                rows.append([markdown_plain(c.strip()) for c in lines[j][2:-2].split(" | ")])
                j += 1
            read.tables[title] = (header, rows)
            i = j
            continue
        elif section == "Who took part" and re.match(r"(Fewer than \d+|\d+) (?:people|person) took part\.", line):
            match = re.match(r"(Fewer than \d+|\d+) (?:people|person) took part\.(?: (Fewer than \d+|\d+) answers? to open)?", line)
            if match:
                read.people = None if match.group(1).startswith("Fewer") else int(match.group(1))
                # No number of answers at all: it is withheld with the number of people.
                read.answers = None if match.group(2) is None or match.group(2).startswith("Fewer") else int(match.group(2))
                read.answers_stated = match.group(2) is not None
        elif line.startswith("- ") and "set aside as off-topic" in line:
            match = re.match(r"- (\*|\d+) answers were set aside as off-topic and (\*|\d+) had no content\.", markdown_plain(line))
            read.off_topic = None if match.group(1) == "*" else int(match.group(1))
            read.contentless = None if match.group(2) == "*" else int(match.group(2))
        elif heading and section == "What we heard: themes" and (re.match(r"\d+ answers?( ·|$)", line)
                                                                 or markdown_plain(line).startswith("Number of answers hidden")):
            size = None if line.startswith("Number of answers hidden") else int(line.split(" ", 1)[0])
            read.sizes["other" if heading == "Other or unclear answers" else heading] = size
        i += 1
    return read
