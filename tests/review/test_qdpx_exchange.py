"""REFI-QDA (.qdpx) from the review pages: quote-consented and redacted by default, internal for admins only,
valid against the standard's schema, logged; and codes recoded elsewhere come back as draft themes."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from analysis import qdpx
from analysis.review import queries as synthesis
from tests.conftest import form_data, page, sign_in, text_of
from tests.factories import make_participant
from tests.review.conftest import answer

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).resolve().parents[1] / "fixtures" / "interchange" / "Project-mrt2019.xsd")))
NAMED = "Call Dr. Ramirez at 336-555-0123 about the bus (named-marker)"


@pytest.fixture
def themed(heard, db):
    """The heard session with a quotable answer naming a doctor and a phone, themed, and every theme reviewed."""
    person = make_participant(db, heard.session, quote_ok=True)
    answer(db, heard.session, person, heard.prompts[0], text=NAMED)
    synthesis.run_themes(db, heard.session["id"], user_id=heard.planner_id)
    for theme in synthesis.active_themes(db, heard.session["id"]):
        if theme["kind"] == "theme":
            synthesis.set_reviewed(db, heard.session["id"], theme["id"], True, user_id=heard.planner_id)
    return heard


def planner(client):
    """Sign the heard session's planner in."""
    sign_in(client, "lead@example.org", "a long password")
    return client


def export(client, session_id: int, **fields):
    """Press a .qdpx button on the exports page."""
    shown = client.get(f"/staff/review/{session_id}/export")
    return client.post(f"/staff/review/{session_id}/export/qdpx", data={**form_data(shown, 0), **fields})


def project_of(response):
    """Return the project.qde root and the source texts of a downloaded .qdpx."""
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        texts = [archive.read(n).decode() for n in archive.namelist() if n.startswith("sources/")]
    return root, texts


def test_the_default_project_holds_only_quote_consented_redacted_answers(client, db, themed):
    """Sources are quote-consented answers, redacted; nothing from people who did not allow quoting, withdrew or were hidden."""
    response = export(planner(client), themed.session["id"], set="quoted")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert re.search(r"\.qdpx", response.headers["Content-Disposition"])
    root, texts = project_of(response)
    SCHEMA.assertValid(root)
    joined = "\n".join(texts)
    assert any(t.startswith(q.split(" (case")[0]) for t in texts for q in themed.quotable)
    assert not any(u.split(" (case")[0] in joined and u in joined for u in themed.unquotable)
    assert "withdrawn-marker" not in joined and "hidden-marker" not in joined
    assert "Ramirez" not in joined and "336-555-0123" not in joined and "[phone]" in joined
    codes = root.findall(".//{urn:QDA-XML:project:1.0}Code")
    assert codes and all(not c.get("name").startswith("Draft:") for c in codes)
    assert root.findall(".//{urn:QDA-XML:project:1.0}Coding")
    audit = db.execute("SELECT detail FROM audit_log WHERE action = 'export'").fetchone()[0]
    assert "format=qdpx" in audit and "set=quoted" in audit


def test_the_internal_project_is_for_admins_only(client, app, db, themed, make_user):
    """A planner asking for every answer gets 403 and nothing is logged; an admin gets every consented answer, logged."""
    response = export(planner(client), themed.session["id"], set="internal")
    assert response.status_code == 403
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0] == 0
    admin = app.test_client()
    sign_in(admin, make_user("admin"))
    response = export(admin, themed.session["id"], set="internal")
    assert response.status_code == 200
    _root, texts = project_of(response)
    assert themed.unquotable[0] in texts and NAMED in texts
    assert "set=internal" in db.execute("SELECT detail FROM audit_log WHERE action = 'export'").fetchone()[0]


def test_a_project_never_names_who_answered(client, db, themed):
    """No participant id, receipt or "about you" answer is in the project: sources are named by answer id."""
    root, _texts = project_of(export(planner(client), themed.session["id"], set="quoted"))
    names = [s.get("name") for s in root.iter("{urn:QDA-XML:project:1.0}TextSource")]
    assert names and all(re.match(r"^chorus-\d+ Q\d+$", n) for n in names)
    variables = {v.get("name") for v in root.iter("{urn:QDA-XML:project:1.0}Variable")}
    assert variables == {"language", "question"}


def test_recoded_codes_come_back_as_draft_themes_after_confirmation(client, db, themed):
    """Uploading a recoded project shows the codes and their answers; confirming makes draft themes with them, logged."""
    sid = themed.session["id"]
    ids = [r[0] for r in db.execute("SELECT r.id FROM responses r JOIN participants p ON p.id = r.participant_id "
                                    "WHERE r.session_id = ? AND r.text LIKE '%bus%' AND p.withdrawn_at IS NULL "
                                    "AND r.hidden_at IS NULL", (sid,))]
    project = qdpx.QdaProject("recoded", codes=(qdpx.QdaCode("c1", "Transport barriers", "Getting to care"),),
                              sources=tuple(qdpx.QdaSource(str(i), "x") for i in ids),
                              codings=tuple(qdpx.QdaCoding(str(i), "c1") for i in ids))
    data = qdpx.write_qdpx(project)
    before = {t["id"] for t in synthesis.active_themes(db, sid)}
    client = planner(client)
    shown = client.get(f"/staff/review/{sid}/import-codes")
    preview = client.post(f"/staff/review/{sid}/import-codes", content_type="multipart/form-data",
                          data={**form_data(shown, 0), "file": (io.BytesIO(data), "recoded.qdpx")})
    assert preview.status_code == 200
    rows = [[c.get_text(" ", strip=True) for c in tr.find_all("td")] for tr in page(preview).select("table.qdpx-codes tbody tr")]
    assert rows == [["Transport barriers Getting to care", str(len(ids))]]
    assert {t["id"] for t in synthesis.active_themes(db, sid)} == before, "the preview changes nothing"
    done = client.post(f"/staff/review/{sid}/import-codes", data={**form_data(preview), "action": "confirm"})
    assert done.status_code == 303
    made = [t for t in synthesis.active_themes(db, sid) if t["id"] not in before]
    assert [(t["label"], t["definition"], t["reviewed"]) for t in made] == [("Transport barriers", "Getting to care", False)]
    members = synthesis.current_members(db, sid)[made[0]["id"]]
    assert members == set(ids)
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'qdpx_import'").fetchone()[0] == 1


def test_an_altered_confirmation_is_refused(client, db, themed):
    """A confirmation whose signed plan was changed makes no theme."""
    sid = themed.session["id"]
    client = planner(client)
    before = len(synthesis.active_themes(db, sid))
    shown = client.get(f"/staff/review/{sid}/import-codes")
    response = client.post(f"/staff/review/{sid}/import-codes", data={**form_data(shown, 0), "action": "confirm", "plan": "x.y.z"})
    assert response.status_code == 400 and "too old or was changed" in text_of(response)
    assert len(synthesis.active_themes(db, sid)) == before


@pytest.mark.parametrize("data,message", [
    (b"not a project", "The project file is damaged"),
    (b"PK\x03\x04broken", "This is not a REFI-QDA project"),
    (b"<?xml version='1.0'?><Other/>", "This is not a REFI-QDA project"),
])
def test_a_bad_project_file_gets_a_clear_message(client, db, themed, data, message):
    """A file that is not a REFI-QDA project is named as such and changes nothing."""
    sid = themed.session["id"]
    client = planner(client)
    before = len(synthesis.active_themes(db, sid))
    shown = client.get(f"/staff/review/{sid}/import-codes")
    response = client.post(f"/staff/review/{sid}/import-codes", content_type="multipart/form-data",
                           data={**form_data(shown, 0), "file": (io.BytesIO(data), "x.qdpx")})
    assert response.status_code == 400 and message in page(response).select_one(".alert").get_text()
    assert len(synthesis.active_themes(db, sid)) == before
