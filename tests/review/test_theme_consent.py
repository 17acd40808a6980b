"""A theme's name, headline and claims are residents' words: they come only from people who allowed quoting."""
from __future__ import annotations

import io
import json

import pytest
from docx import Document

from analysis import reports
from analysis.review import queries as synthesis
from analysis.review import reporting
from tests.conftest import page, sign_in, submit
from tests.factories import make_participant, make_session, share
from tests.review.conftest import answer
from tests.review.test_export_safety import spreadsheet_cells

SECRET = "waits are endless"


@pytest.fixture
def private(db):
    """A session where everyone who spoke about clinic waits refused quoting and everyone on doulas allowed it."""
    from listening.accounts import create_user, user_by_email
    from listening import queries

    create_user(db, "lead@example.org", "a long password", "planner")
    session = make_session(db)
    share(db, session, "lead@example.org")
    prompt = queries.prompts_for_session(db, session["id"])[0]
    for i in range(10):
        person = make_participant(db, session, quote_ok=False)
        answer(db, session, person, prompt, text=f"Zorblax clinic {SECRET}, week {i}")
        person = make_participant(db, session, quote_ok=True)
        answer(db, session, person, prompt, text=f"The doula program helped me after the birth, week {i}")
    synthesis.run_themes(db, session["id"], user_id=user_by_email(db, "lead@example.org")["id"])
    return session


def _secret_theme(db, session) -> dict:
    """Return the stored theme holding the unconsented answers."""
    members = synthesis.current_members(db, session["id"])
    texts = {a["id"]: a["text"] for a in synthesis.open_answers(db, session["id"])}
    return next(t for t in synthesis.active_themes(db, session["id"])
                if t["kind"] == "theme" and any(SECRET in texts[r] for r in members.get(t["id"], ())))


def _export(db, session, fmt: str) -> bytes:
    """Export the session in one format."""
    buffer = io.BytesIO()
    reporting.export(db, session["id"], buffer, fmt=fmt, language="en")
    return buffer.getvalue()


def test_unconsented_words_never_name_a_stored_theme(private, db):
    """The theme of unconsented answers is stored with a key-terms label, never a resident's clause."""
    theme = _secret_theme(db, private)
    assert SECRET not in theme["label"].casefold() and SECRET not in theme["machine_label"].casefold()
    assert "zorblax" in theme["label"].casefold()  # key terms still say what it is about


def test_unconsented_words_never_reach_the_review_page_labels(client, private, db):
    """On the planners' page the theme's name fields never carry the unconsented words."""
    sign_in(client, "lead@example.org", "a long password")
    soup = page(client.get(f"/staff/review/{private['id']}"))
    names = [h.get_text(" ", strip=True) for h in soup.select("h2, h3, h4, legend, summary")]
    names += [i.get("value", "") for i in soup.select("input[name=label]")]
    assert names and not [n for n in names if SECRET in n.casefold()]


def test_unconsented_words_never_reach_a_report(private, db):
    """HTML, Markdown, Word and codebook reports never carry the unconsented words (names, claims or quotes)."""
    html = page_text(_export(db, private, "html").decode("utf-8"))
    markdown = _export(db, private, "md").decode("utf-8")
    word = " ".join(p.text for p in Document(io.BytesIO(_export(db, private, "docx"))).paragraphs)
    codebook = " ".join(spreadsheet_cells("codebook", _export(db, private, "codebook")))
    for fmt, text in {"html": html, "md": markdown, "docx": word, "codebook": codebook}.items():
        assert SECRET not in text.casefold(), fmt
        assert "doula" in text.casefold(), fmt


def page_text(html: str) -> str:
    """Return the visible text of an HTML document."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text(" ")


def test_data_exports_name_the_theme_in_key_terms(private, db):
    """CSV, XLSX and JSON keep every answer for the team, but the theme column never holds unconsented words."""
    theme = _secret_theme(db, private)
    for fmt in ("csv", "xlsx"):
        cells = spreadsheet_cells(fmt, _export(db, private, fmt))
        assert theme["label"] in cells, fmt
        assert not [c for c in cells if SECRET in c.casefold() and "week" not in c], fmt
    records = json.loads(_export(db, private, "json"))
    labels = json.dumps([{k: v for k, v in r.items() if k != "text"} for r in records["answers"]], ensure_ascii=False)
    assert SECRET not in labels.casefold()
    assert theme["label"] in labels


def test_unconsented_words_never_reach_the_residents_page(client, private, db):
    """Published with the theme reviewed, the residents' page names it in key terms, not in someone's words."""
    theme = _secret_theme(db, private)
    synthesis.set_reviewed(db, private["id"], theme["id"], True, user_id=None)
    sign_in(client, "lead@example.org", "a long password")
    submit(client, f"/staff/review/{private['id']}/publish",
           {"published": "1", "0-we_did-en": "We will open late.", "0-we_did-es": "Abriremos tarde."}, form_index=1)
    soup = page(client.get(f"/s/{private['code']}/results?lang=en"))
    assert theme["label"] in [h.get_text(strip=True) for h in soup.select("article h3")]
    assert SECRET not in soup.get_text(" ").casefold()


def test_reports_and_cli_formats_are_all_covered(private, db):
    """Every report format is checked above or here (a new format must be added to these tests); the votes CSV names no theme."""
    assert set(reports.FORMATS) == {"html", "docx", "md", "csv", "xlsx", "json", "codebook", "votes"}
    assert SECRET not in _export(db, private, "votes").decode("utf-8-sig").casefold()
