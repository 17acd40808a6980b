"""Fixtures for the planners' review: a session with answers in clear topics, consent both ways,
a withdrawn resident, a hidden answer and a formula-looking answer."""
from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field

import pytest

from listening.accounts import create_user, user_by_email
from analysis.review import queries as synthesis
from listening import queries
from listening.db import connect
from tests.conftest import migrated_template
from tests.factories import make_participant, make_session, share

TOPICS = {
    "bus": ["The bus to the clinic is always late", "No bus goes near the clinic on Sundays",
            "I missed visits because the bus never came", "The bus ride to my appointments takes two hours"],
    "doula": ["My doula stayed with me the whole birth", "The doula program helped me after the baby came",
              "A doula explained every choice to me", "Having a doula made me feel safe"],
    "interpreter": ["There was no interpreter at my appointments", "Papers were only in English, no interpreter",
                    "I needed an interpreter and nobody came", "They used my child as an interpreter"],
}


@dataclass
class Heard:
    """What the fixture made: the session, the planner, and answer texts by who may be quoted."""

    session: dict
    planner_id: int
    quotable: list[str] = field(default_factory=list)
    unquotable: list[str] = field(default_factory=list)
    withdrawn: str = ""
    hidden: str = ""
    formula: str = "=HYPERLINK(\"http://evil.example\",\"click\") bus"
    prompts: list[dict] = field(default_factory=list)


def answer(db, session: dict, person, prompt: dict, **values) -> int:
    """Save one answer for a test resident and return its id."""
    return queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                 nonce=secrets.token_urlsafe(12), language=values.pop("language", "en"), **values).response_id


@pytest.fixture
def heard(db) -> Heard:
    """A session with 36 answers in three topics: odd people allow quoting, even people do not;
    most are under 30 (a group of 4 is 30 or older), one resident withdrew and one answer is hidden.
    The planner lead@example.org was given access to it.

    Made once per run: a test whose database is still empty gets a copy of the first one made
    (SQLite's backup, page for page) instead of the ~80 commits that make it. A test that wrote
    something before asking for it gets it made afresh on top.
    """
    if not as_migrated(db):
        return make_heard(db)
    if "db" not in _heard_copy:
        made = make_heard(db)
        kept = connect(str(migrated_template()["folder"] / "heard.db"))
        db.conn.backup(kept.conn)
        _heard_copy.update(db=kept, made=copy.deepcopy(made))
        return made
    _heard_copy["db"].conn.backup(db.conn)
    return copy.deepcopy(_heard_copy["made"])


_heard_copy: dict = {}


def as_migrated(db) -> bool:
    """Tell whether every table holds exactly the rows of the migrated template (nothing written since)."""
    if "rows" not in _heard_copy:
        template = connect(str(migrated_template()["database"]))
        _heard_copy["rows"] = every_row(template)
        template.conn.close()
    return every_row(db) == _heard_copy["rows"]


def every_row(db) -> dict[str, list[tuple]]:
    """Return every row of every table (a migrated database holds a few dozen)."""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {name: [tuple(row) for row in db.execute(f"SELECT * FROM [{name}]")] for name in names}


def make_heard(db) -> Heard:
    """Build the `heard` session in `db` and return what was made."""
    create_user(db, "lead@example.org", "a long password", "planner")
    planner_id = user_by_email(db, "lead@example.org")["id"]
    session = make_session(db)
    share(db, session, "lead@example.org")
    prompts = queries.prompts_for_session(db, session["id"])
    open_prompt, about = prompts[0], prompts[4]
    made = Heard(session=session, planner_id=planner_id, prompts=prompts)
    number = 0
    for round_ in range(3):
        for topic, texts in TOPICS.items():
            for text in texts:
                number += 1
                quote_ok = number % 2 == 1
                person = make_participant(db, session, quote_ok=quote_ok)
                body = f"{text} (case {number})"
                answer(db, session, person, open_prompt, text=body)
                option = about["options"][1 if number <= 4 else 0]
                answer(db, session, person, about, choices=[option["id"]])
                (made.quotable if quote_ok else made.unquotable).append(body)
    person = make_participant(db, session, quote_ok=False)
    answer(db, session, person, open_prompt, text=made.formula)
    made.unquotable.append(made.formula)
    leaving = make_participant(db, session, quote_ok=True)
    made.withdrawn = "The bus never comes and I gave up (withdrawn-marker)"
    answer(db, session, leaving, open_prompt, text=made.withdrawn)
    queries.withdraw(db, leaving.receipt)
    hidden_person = make_participant(db, session, quote_ok=True)
    made.hidden = "A doula is great but this is a rude hidden-marker remark"
    hidden_id = answer(db, session, hidden_person, open_prompt, text=made.hidden)
    db.execute("UPDATE responses SET hidden_at = ?, hidden_by = ?, hidden_reason = 'abuse' WHERE id = ?",
               (queries.now(), planner_id, hidden_id))
    db.conn.commit()
    return made


@pytest.fixture
def themed(heard, db) -> Heard:
    """The same session after one run of the theme engine."""
    synthesis.run_themes(db, heard.session["id"], user_id=heard.planner_id)
    return heard
