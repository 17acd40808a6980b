"""Reports show claims only in the words of people who allowed quoting, with counts only at or above the
threshold, and sub-topics under their topic in the overview with sizes under the disclosure rule."""
from __future__ import annotations

import io
import json

from bs4 import BeautifulSoup
from docx import Document

from analysis import reports
from analysis.review import queries as synthesis
from analysis.review import reporting
from tests.review.test_results_page import publish
from tests.factories import make_participant
from tests.review.conftest import answer

QUOTED = "The bus to the clinic is always late"  # said by people who allowed quoting (odd cases)
UNQUOTED = "No bus goes near the clinic on Sundays"  # said by people who did not


def _bus_theme(db, sid: int) -> tuple[dict, list[dict]]:
    """Return the theme holding the quotable bus answers and its member answers."""
    answers = {a["id"]: a for a in synthesis.open_answers(db, sid)}
    members = synthesis.current_members(db, sid)
    theme = next(t for t in synthesis.active_themes(db, sid)
                 if any(answers[r]["text"].startswith(QUOTED) for r in members.get(t["id"], ())))
    return theme, [answers[r] for r in sorted(members[theme["id"]])]


def _grown_bus_theme(themed, db) -> tuple[dict, list[dict]]:
    """Return the bus theme after eight more quotable bus answers were placed in it (so it passes the threshold)."""
    sid = themed.session["id"]
    theme, _members = _bus_theme(db, sid)
    for n in range(8):
        person = make_participant(db, themed.session, quote_ok=True)
        rid = answer(db, themed.session, person, themed.prompts[0], text=f"Buses to the clinic are late, week {n}")
        db.execute("""INSERT INTO theme_assignments (response_id, session_id, theme_id, status, pinned, rank, updated_at)
                      VALUES (?, ?, ?, 'theme', 1, 100, '2026-01-01')""", (rid, sid, theme["id"]))
    db.conn.commit()
    return _bus_theme(db, sid)


def _set(db, theme_id: int, **columns) -> None:
    """Write JSON columns of a stored theme."""
    for name, value in columns.items():
        db.execute(f"UPDATE themes SET {name} = ? WHERE id = ?", (json.dumps(value), theme_id))
    db.conn.commit()


def _report(db, sid: int, fmt: str) -> str:
    """Export a report and return its text."""
    buffer = io.BytesIO()
    reporting.export(db, sid, buffer, fmt="html" if fmt == "raw-html" else fmt, language="en")
    data = buffer.getvalue()
    if fmt == "raw-html":
        return data.decode("utf-8")
    if fmt == "docx":
        document = Document(io.BytesIO(data))
        cells = [c.text for table in document.tables for row in table.rows for c in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    return page_text(data.decode("utf-8")) if fmt == "html" else data.decode("utf-8-sig")


def page_text(html: str) -> str:
    """Return the visible text of an HTML report."""
    return BeautifulSoup(html, "html.parser").get_text("\n")


def test_report_claims_follow_quote_consent_and_the_threshold(themed, db):
    """A claim worded by a consenting person shows ×N at or above the threshold and no number below it; one worded only by people who refused never shows."""
    sid = themed.session["id"]
    threshold = synthesis.settings(db, sid)["threshold"]
    theme, members = _grown_bus_theme(themed, db)
    ids = [a["id"] for a in members]
    assert len(ids) >= threshold + 1
    _set(db, theme["id"], claims=[
        {"text": QUOTED, "count": threshold + 1, "answer_ids": ids[:threshold + 1]},
        {"text": UNQUOTED, "count": 9, "answer_ids": ids[:9]},
        {"text": "Always late", "count": 2, "answer_ids": ids[:2]},
        {"text": "A bus that left the theme", "count": 5, "answer_ids": [10**6, 10**6 + 1]},
    ])
    for fmt in ("html", "md", "docx", "codebook"):
        text = _report(db, sid, fmt)
        assert f"{QUOTED} ×{threshold + 1}" in text, fmt
        assert UNQUOTED not in text.replace("\\", ""), fmt
        assert "Always late ×" not in text and "Always late" in text, fmt
        assert "A bus that left the theme" not in text, fmt
    built = reporting.build_report(db, sid, "en")
    view = next(v for v in built.themes if v.label == theme["label"])
    assert [c.line for c in view.claims] == [f"{QUOTED} ×{threshold + 1}", "Always late"]


def test_overview_lists_sub_topics_with_protected_sizes(themed, db):
    """Sub-topics sit under their topic in the overview as machine drafts; a size below the threshold is hidden."""
    sid = themed.session["id"]
    threshold = synthesis.settings(db, sid)["threshold"]
    theme, members = _grown_bus_theme(themed, db)
    ids = [a["id"] for a in members]
    big, small = ids[:len(ids) - 2], ids[len(ids) - 2:]
    assert len(big) >= threshold and len(small) < threshold
    _set(db, theme["id"], subthemes=[{"label": "Sunday service", "size": len(small), "terms": ["sunday", "service"],
                                      "answer_ids": small},
                                     {"label": "Buses to the clinic are late", "size": len(big), "terms": [], "answer_ids": big}])
    built = reporting.build_report(db, sid, "en")
    rows = list(built.overview.rows)
    at = [r[0] for r in rows].index(theme["label"])
    assert [r[0] for r in rows[at + 1:at + 3]] == ["↳ Buses to the clinic are late", "↳ Sunday, service"]
    assert rows[at + 2][1] == reports.MARK and rows[at + 2][2] == "Sub-topic: machine draft"
    assert rows[at + 1][1] in (str(len(big)), reports.MARK)
    html = BeautifulSoup(_report(db, sid, "raw-html"), "html.parser")
    table_rows = [[c.get_text(strip=True) for c in tr.select("th, td")] for tr in html.select("table tr")]
    sunday = next(r for r in table_rows if r and r[0] == "↳ Sunday, service")
    assert sunday[1] == reports.MARK


def test_a_sub_topic_named_in_words_nobody_consenting_said_is_named_by_its_terms(themed, db):
    """A sub-topic label no consenting member's answer holds (a withdrawal, a move) falls back to its key terms in reports."""
    sid = themed.session["id"]
    theme, members = _grown_bus_theme(themed, db)
    ids = [a["id"] for a in members]
    _set(db, theme["id"], subthemes=[{"label": UNQUOTED, "size": 6, "terms": ["Sundays", "bus"], "answer_ids": ids[:6]},
                                     {"label": QUOTED, "size": len(ids) - 6, "terms": ["late"], "answer_ids": ids[6:]}])
    labels = [r[0] for r in reporting.build_report(db, sid, "en").overview.rows]
    assert "↳ Sundays, bus" in labels and f"↳ {QUOTED}" in labels and f"↳ {UNQUOTED}" not in labels


def test_a_sub_topic_with_no_consented_words_and_no_key_terms_is_not_named_anywhere(client, themed, db):
    """A sub-topic named in words only people who did not allow quoting said, with no key terms to fall back on, is
    not listed by name in any report or on the residents' page; its answers count with those in no sub-topic."""
    sid = themed.session["id"]
    theme, members = _grown_bus_theme(themed, db)
    ids = [a["id"] for a in members]
    _set(db, theme["id"], subthemes=[{"label": UNQUOTED, "size": 6, "terms": [], "answer_ids": ids[:6]},
                                     {"label": QUOTED, "size": len(ids) - 6, "terms": ["late"], "answer_ids": ids[6:]}])
    built = reporting.build_report(db, sid, "en")
    view = next(v for v in built.themes if v.label == theme["label"])
    assert [label for label, _n in view.subthemes] == [QUOTED]
    for fmt in ("md", "raw-html"):
        assert UNQUOTED not in _report(db, sid, fmt), fmt
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    publish(client, themed, db)
    shown = client.get(f"/s/{themed.session['code']}/results").get_data(as_text=True)
    assert QUOTED in shown and UNQUOTED not in shown
