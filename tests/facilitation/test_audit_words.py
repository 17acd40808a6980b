"""The admin logs say what happened in the reader's language, with each entry's stored code beside the words."""
from __future__ import annotations

import re
from pathlib import Path

from facilitation import audit_words
from facilitation.live import ANYTIME_ACTIONS, OPEN_ACTIONS
from listening import queries
from tests.conftest import page
from tests.factories import make_session

ROOT = Path(__file__).resolve().parents[2]
# Codes written through a variable: the values the code base puts in them.
DYNAMIC = ({f"live_{a}" for a in (*ANYTIME_ACTIONS, *OPEN_ACTIONS)}
           | {f"session_{s}" for s in ("draft", "open", "closed")}
           | {"statement_approved", "statement_declined", "answer_hide", "answer_restore", "wall_approve",
              "wall_decline", "wall_moderation_off", "staff_entry", "staff_entry_idea", "results_saved",
              "withdrawal", "withdrawal_by_staff", "campaign_unpublished", "job_done", "job_failed", "job_cancelled"})


def written_codes() -> set[str]:
    """Every audit action code the code base writes literally (record_audit, the jobs' and campaigns' helpers)."""
    found: set[str] = set()
    for path in [*ROOT.glob("listening/*.py"), *ROOT.glob("facilitation/*.py"), *ROOT.glob("analysis/**/*.py")]:
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"record_audit\(", source):
            found |= set(re.findall(r'action="([a-z_]+)"', source[call.end():call.end() + 300].split("\n\n")[0])[:1])
        found |= {code for line in source.splitlines() if "_audit(db" in line for code in re.findall(r'"(job_[a-z]+)"', line)}
        found |= set(re.findall(r'\baudit\("([a-z_]+)"', source))
    return found


def test_every_action_the_code_base_records_has_words():
    codes = written_codes() | DYNAMIC
    assert {"export", "login", "job_queued", "campaign_partner_added", "live_next"} <= codes
    assert sorted(codes - set(audit_words.ACTION_LABELS)) == []


def test_the_audit_log_says_actions_and_details_in_spanish_with_the_code_beside(as_admin, db):
    queries.record_audit(db, user_id=None, action="export", target="ABC123",
                         detail="format=csv language=ar file=chorus-ABC123.csv")
    queries.record_audit(db, user_id=None, action="answer_hide", target="ABC123",
                         detail="response=12 reason=off topic, and rude = yes")
    soup = page(as_admin.get("/staff/audit?lang=es"))
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select("table.data tbody tr")]
    hide, export = rows[0], rows[1]
    assert export[2] == "Exportó un informe o datos export"
    assert export[4] == "Formato: CSV · Idioma: العربية · Archivo: chorus-ABC123.csv"
    assert hide[2].startswith("Ocultó una respuesta") and hide[4] == "Respuesta: 12 · Motivo: off topic, and rude = yes"
    options = {o["value"]: o.get_text(strip=True) for o in soup.select("#f-action option") if o["value"]}
    assert options == {"answer_hide": "Ocultó una respuesta", "export": "Exportó un informe o datos", "login": "Inició sesión"}
    assert list(options) == ["export", "login", "answer_hide"]  # in the order of their words


def test_an_unknown_code_and_free_detail_are_shown_as_stored(as_admin, db):
    queries.record_audit(db, user_id=None, action="some_future_action", target="X", detail="plain words, no keys")
    cells = [td.get_text(" ", strip=True) for td in page(as_admin.get("/staff/audit?lang=es")).select("table.data tbody tr td")]
    assert cells[2] == "some_future_action some_future_action" and cells[4] == "plain words, no keys"


def test_details_split_on_known_keys_only():
    lead, pairs = audit_words.detail_pairs("ana@example.org partner=3 reason=a=b c")
    assert lead == "ana@example.org" and pairs == [("partner", "3"), ("reason", "a=b c")]
    assert audit_words.detail_pairs("") == ("", [])


def test_the_deletion_log_says_kinds_and_reasons_in_arabic(as_admin, db):
    session = make_session(db)
    queries.log_deletion(db, session_id=session["id"], kind="withdrawal", detail="answers=3 contact_details=1",
                         reason="withdrawn by staff on the person's behalf: asked by phone")
    queries.log_deletion(db, session_id=session["id"], kind="retention_purge", detail="answer_texts=40 contact_details=2",
                         reason="retention purge of 2026-11-02T10:00:00 UTC re-applied after restoring a backup")
    soup = page(as_admin.get("/staff/deletions?lang=ar"))
    codes = [c.get_text() for c in soup.select("table.data tbody code")]
    assert sorted(codes) == ["retention_purge", "withdrawal"]  # each entry's stored kind, beside its words
    for code in soup.select("table.data tbody code"):
        code.decompose()
    texts = " ".join(" ".join(td.get_text(" ", strip=True) for td in tr.select("td")) for tr in soup.select("table.data tbody tr"))
    for english in ("withdrawn by staff", "asked by phone", "re-applied", "answer_texts", "contact_details", "withdrawal"):
        assert english not in texts
    assert "2026-11-02T10:00:00" in texts
