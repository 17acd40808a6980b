"""Campaigns (issue 16): who may open what (a table by role x partner, written by hand), pooled counts that
subtracting a session's published table cannot undo, pooled themes, rounds and the public page."""
from __future__ import annotations

import random

import pytest
from flask import url_for

from analysis import disclosure
from analysis.review import campaign_queries as pooled
from listening import access, campaigns, queries
from listening.accounts import create_user, user_by_email
from tests.conftest import PASSWORD, form_data, migrated_app, page, sign_in, text_of
from tests.factories import make_participant, make_session

LOGIN = "login"
ACTORS = ("signed_out", "admin", "bb_facilitator", "bb_planner", "a_facilitator", "a_planner", "b_facilitator",
          "other_campaign", "nobody")
ROLES = {"admin": "admin", "bb_facilitator": "facilitator", "bb_planner": "planner", "a_facilitator": "facilitator",
         "a_planner": "planner", "b_facilitator": "facilitator", "other_campaign": "facilitator", "nobody": "planner"}

# (endpoint, method): the answer for each of ACTORS, in order, on campaign 1 (partners A and B).
#                                              out    admin bb-f  bb-p  a-fac a-pla b-fac other nobody
ROUTES = {
    ("campaigns.index", "GET"):               (LOGIN, 200,  200,  200,  200,  200,  200,  200,  200),
    ("campaigns.index", "POST"):              (LOGIN, 400,  403,  403,  403,  403,  403,  403,  403),
    ("campaigns.dashboard", "GET"):           (LOGIN, 200,  200,  200,  200,  200,  200,  404,  404),
    ("campaigns.manage", "POST"):             (LOGIN, 303,  303,  403,  403,  403,  403,  404,  404),
    ("campaigns.heard", "GET"):               (LOGIN, 200,  200,  200,  200,  200,  200,  404,  404),
    ("campaigns.heard", "POST"):              (LOGIN, 303,  303,  303,  303,  303,  303,  404,  404),
    ("campaigns.themes", "GET"):              (LOGIN, 200,  200,  200,  403,  403,  403,  404,  404),
    ("campaigns.themes", "POST"):             (LOGIN, 303,  303,  303,  403,  403,  403,  404,  404),
    ("campaigns.rounds", "GET"):              (LOGIN, 200,  200,  200,  403,  403,  403,  404,  404),
    ("campaigns.commitments", "GET"):         (LOGIN, 200,  200,  200,  200,  200,  200,  404,  404),
    ("campaigns.commitments", "POST"):        (LOGIN, 400,  400,  400,  403,  403,  403,  404,  404),
    ("campaigns.export", "GET"):              (LOGIN, 200,  200,  200,  200,  200,  200,  404,  404),
    ("campaigns.export", "POST"):             (LOGIN, 400,  400,  400,  400,  400,  400,  404,  404),
    # issue 19: the backbone's finished "who was heard" job over both partners' sessions (a partner's job: below)
    ("campaigns.job", "GET"):                 (LOGIN, 200,  200,  200,  404,  404,  404,  404,  404),
    ("campaigns.job_cancel", "POST"):         (LOGIN, 303,  303,  303,  404,  404,  404,  404,  404),
    ("campaigns.job_restart", "POST"):        (LOGIN, 303,  303,  303,  404,  404,  404,  404,  404),
    ("campaigns.job_download", "POST"):       (LOGIN, 303,  303,  303,  404,  404,  404,  404,  404),
}
# Which of campaign 1's sessions (hosted by A, by B) each actor sees on every session page.
SEES = {"admin": {"a", "b"}, "bb_facilitator": {"a", "b"}, "bb_planner": {"a", "b"}, "a_facilitator": {"a"},
        "a_planner": {"a"}, "b_facilitator": {"b"}, "other_campaign": set(), "nobody": set()}


@pytest.fixture
def world(tmp_path):
    """Campaign 1 with partners A and B (a session each, with people), backbone staff, partner staff, and a
    second campaign with its own member."""
    from listening.db import connect

    app = migrated_app(tmp_path / "t.db")
    db = connect(app.config["DATABASE"])
    ids = {}
    for actor, role in ROLES.items():
        create_user(db, f"{actor}@example.org", PASSWORD, role)
        ids[actor] = user_by_email(db, f"{actor}@example.org")["id"]
    cid = campaigns.create_campaign(db, slug="guilford-2027", languages=["en", "es", "ar"], created_by=ids["admin"],
                                    texts={"name": {"en": "Healthy babies", "es": "Bebés sanos", "ar": "أطفال أصحاء"}})
    other = campaigns.create_campaign(db, slug="other-county", languages=["en"], created_by=ids["admin"],
                                      texts={"name": {"en": "Elsewhere"}})
    round_1 = campaigns.rounds_of(db, cid)[0]["id"]
    a = campaigns.add_partner(db, cid, "Clinic A")
    b = campaigns.add_partner(db, cid, "Church B")
    for actor, partner in (("bb_facilitator", None), ("bb_planner", None), ("a_facilitator", a), ("a_planner", a),
                           ("b_facilitator", b)):
        assert campaigns.set_member(db, cid, ids[actor], partner, given_by=ids["admin"])
    assert campaigns.set_member(db, other, ids["other_campaign"], None, given_by=ids["admin"])
    sessions = {}
    for key, partner in (("a", a), ("b", b)):
        found = make_session(db, created_by=ids["admin"])
        for _ in range(3):
            make_participant(db, found)
        campaigns.add_session(db, cid, found["id"], round_id=round_1, partner_id=partner, added_by=ids["admin"])
        sessions[key] = found
    question = campaigns.add_question(db, cid, kind="open", texts={"en": "What helps?", "es": "¿Qué ayuda?", "ar": "ما الذي يساعد؟"})
    job = backbone_job(db, cid, ids["bb_facilitator"], [s["id"] for s in sessions.values()])
    yield {"app": app, "db": db, "ids": ids, "cid": cid, "other": other, "sessions": sessions, "question": question,
           "partners": {"a": a, "b": b}, "round": round_1, "job": job}
    db.conn.close()


def backbone_job(db, campaign_id: int, who: int, session_ids: list[int], *, kind: str = "campaign_heard",
                 params: str = '{"standing": "backbone", "partner_id": null}') -> int:
    """Record a finished campaign job over these sessions, as a backbone member's would be."""
    stamp = queries.now()
    with db.conn:
        job = db.execute("INSERT INTO jobs (campaign_id, kind, params, state, created, started, finished, who, result) "
                         "VALUES (?, ?, ?, 'done', ?, ?, ?, ?, '{}')", (campaign_id, kind, params, stamp, stamp, stamp, who)).lastrowid
        db.conn.executemany("INSERT INTO job_sessions (job_id, session_id) VALUES (?, ?)", [(job, s) for s in session_ids])
    return job


def signed_in(world, actor):
    """Return a client signed in as `actor` (or signed out) and its CSRF token."""
    client = world["app"].test_client()
    if actor == "signed_out":
        return client, ""
    assert sign_in(client, f"{actor}@example.org").status_code == 302
    return client, form_data(client.get("/staff/"), 0)["csrf_token"]


def test_the_table_lists_every_campaign_route(world):
    """Every staff campaign route has a row here (a new one must be decided for each role)."""
    routes = {(r.endpoint, m) for r in world["app"].url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}
              if r.endpoint.startswith("campaigns.")}
    assert routes == set(ROUTES)


@pytest.mark.parametrize("actor", ACTORS)
def test_each_campaign_route_answers_each_actor_as_the_table_says(world, actor):
    """Backbone staff open all of a campaign, partner staff read it but change nothing, outsiders get 404."""
    app = world["app"]
    client, token = signed_in(world, actor)
    wrong = []
    for (endpoint, method), answers in ROUTES.items():
        expected = answers[ACTORS.index(actor)]
        with app.test_request_context():
            url = url_for(endpoint, **({} if endpoint == "campaigns.index" else {"campaign_id": world["cid"]}),
                          **({"job_id": world["job"]} if endpoint.startswith("campaigns.job") else {}))
        response = client.open(url, method=method, data={"csrf_token": token, "what": "round", "name": ""}
                               if method == "POST" and token else None)
        got = response.status_code
        if got == 302 and "/staff/login" in response.headers.get("Location", ""):
            got = LOGIN
        if got != expected:
            wrong.append(f"{method} {url}: expected {expected}, got {got}")
    assert wrong == []


@pytest.mark.parametrize("actor", [a for a in ACTORS if a != "signed_out"])
def test_campaign_membership_decides_which_sessions_one_sees(world, actor):
    """A partner's staff see their partner's sessions on every session page; the backbone sees all; others none."""
    client, _ = signed_in(world, actor)
    for key, found in world["sessions"].items():
        for url in (f"/staff/sessions/{found['id']}", f"/staff/review/{found['id']}",
                    f"/staff/review/{found['id']}/export"):
            assert client.get(url).status_code == (200 if key in SEES[actor] else 404), (url, key)


# Which campaigns each actor finds listed on the campaigns page (1: Healthy babies; other: Elsewhere).
LISTS = {"admin": {"Healthy babies", "Elsewhere"}, "bb_facilitator": {"Healthy babies"}, "bb_planner": {"Healthy babies"},
         "a_facilitator": {"Healthy babies"}, "a_planner": {"Healthy babies"}, "b_facilitator": {"Healthy babies"},
         "other_campaign": {"Elsewhere"}, "nobody": set()}


def test_the_campaigns_page_lists_only_the_campaigns_one_is_a_member_of(world):
    """Admins find every campaign; staff only those they belong to (by partner or as backbone); others and deactivated
    accounts none, and the name of a campaign one may not open is never printed."""
    listed = {}
    for actor in LISTS:
        client, _ = signed_in(world, actor)
        listed[actor] = {link.get_text(strip=True) for link in page(client.get("/staff/campaigns/")).select("table a")}
    assert listed == LISTS
    # A staff account switched off keeps its membership rows but opens nothing: no campaign, no standing, no session.
    db = world["db"]
    db.execute("UPDATE users SET active = 0 WHERE id = ?", (world["ids"]["bb_facilitator"],))
    user = user_by_email(db, "bb_facilitator@example.org")
    sql, params = access.accessible_campaigns(user)
    assert campaigns.campaigns_among(db, (sql, params)) == []
    assert access.campaign_role(db, user, world["cid"]) is None
    assert db.execute(*access.campaign_sessions_for(user, world["cid"])).fetchall() == []


def test_another_campaign_answers_404_to_a_member_of_this_one(world):
    """Nobody sees another campaign: its id answers exactly as an id never used."""
    client, _ = signed_in(world, "bb_facilitator")
    assert client.get(f"/staff/campaigns/{world['other']}/").status_code == 404
    assert client.get("/staff/campaigns/99999/").status_code == 404



def test_a_campaign_page_that_forgets_to_load_its_campaign_still_answers_404_to_staff_outside_it(world):
    """The blueprint's own guard, not only each view's `load_campaign`: a new page under /staff/campaigns/<id>/ that
    never asks for the member's standing is still 404 for staff of another campaign or none, and for an unused id."""
    app = world["app"]
    app.add_url_rule("/staff/campaigns/<int:campaign_id>/probe", endpoint="campaigns.probe",
                     view_func=lambda campaign_id: "the page ran")
    answers = {}
    for actor in ("admin", "bb_planner", "a_facilitator", "b_facilitator", "other_campaign", "nobody"):
        client, _ = signed_in(world, actor)
        answers[actor] = client.get(f"/staff/campaigns/{world['cid']}/probe").status_code
    assert answers == {"admin": 200, "bb_planner": 200, "a_facilitator": 200, "b_facilitator": 200,
                       "other_campaign": 404, "nobody": 404}
    client, _ = signed_in(world, "admin")
    assert client.get("/staff/campaigns/99999/probe").status_code == 404


def test_a_partner_dashboard_counts_only_its_own_sessions(world):
    """Partner A's planner sees A's session on the overview, never B's."""
    client, _ = signed_in(world, "a_planner")
    codes = {cell.get_text(strip=True) for cell in page(client.get(f"/staff/campaigns/{world['cid']}/")).select("td")}
    assert world["sessions"]["a"]["code"] in codes and world["sessions"]["b"]["code"] not in codes


def test_every_campaign_change_is_audited(world):
    """Adding a partner writes who did it to the audit log."""
    client, token = signed_in(world, "bb_facilitator")
    response = client.post(f"/staff/campaigns/{world['cid']}/", data={"csrf_token": token, "what": "partner",
                                                                      "name": "Doulas C"})
    assert response.status_code == 303
    entry = world["db"].execute("SELECT user_id, action, target FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(entry) == (world["ids"]["bb_facilitator"], "campaign_partner_added", "campaign:guilford-2027")


def about_world(world, sizes):
    """Add an "about you" bank question asked in new sessions, with people answering as `sizes` says (session -> counts)."""
    db = world["db"]
    qid = campaigns.add_question(db, world["cid"], kind="about", texts={"en": "Where do you live?"},
                                 options={"en": ["North", "South", "East"]})
    question = campaigns.bank_question(db, world["cid"], qid)
    for counts in sizes:
        found = make_session(db, status="draft", prompts=[{"kind": "open", "text": "Hi"}])
        campaigns.add_session(db, world["cid"], found["id"], round_id=world["round"], partner_id=world["partners"]["a"],
                              added_by=None)
        prompt_id = campaigns.copy_into_session(db, question, queries.session_by_id(db, found["id"]))
        queries.set_status(db, found["id"], "open")
        options = queries.prompt_in_session(db, found["id"], prompt_id)["options"]
        for option, n in zip(options, counts):
            for _ in range(n):
                person = make_participant(db, found)
                queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt_id,
                                      nonce=f"n{random.random()}", choices=[option["id"]], language="en")
    return question


def test_pooled_counts_cannot_be_recovered_by_subtracting_a_sessions_table(world):
    """Subtract every session's own published row from the pooled totals: no hidden count comes out narrower
    than its own report left it (integer programming over everything shown)."""
    from scipy.optimize import milp, LinearConstraint, Bounds
    import numpy as np

    rng = random.Random(7)
    sizes = [[rng.choice([0, 1, 2, 3, 6, 12, 15]) for _ in range(3)] for _ in range(6)] + [[3, 12, 11]]
    question = about_world(world, sizes)
    db = world["db"]
    sessions = campaigns.campaign_sessions(db, world["cid"], ("SELECT id FROM sessions", {}))
    result = pooled.pooled_heard(db, question, sessions)
    table = result.table
    assert table is not None and any(v is None for row in table.cells for v in row)
    # the attacker's model: every cell an unknown; known cells fixed; rows and published column totals add up
    n_rows, n_cols = len(table.rows), len(table.columns)
    index = {(i, j): i * n_cols + j for i in range(n_rows) for j in range(n_cols)}
    a, low, high = [], [], []
    for i in range(n_rows):
        row = np.zeros(n_rows * n_cols)
        for j in range(n_cols):
            row[index[(i, j)]] = 1
        a.append(row), low.append(table.row_totals[i]), high.append(table.row_totals[i])
    for j, total in enumerate(table.column_totals):
        if total is not None:
            row = np.zeros(n_rows * n_cols)
            for i in range(n_rows):
                row[index[(i, j)]] = 1
            a.append(row), low.append(total), high.append(total)
    lb = [table.cells[i][j] if table.cells[i][j] is not None else 0 for i in range(n_rows) for j in range(n_cols)]
    ub = [table.cells[i][j] if table.cells[i][j] is not None else np.inf for i in range(n_rows) for j in range(n_cols)]
    truth = {}
    parts = {f"s{s['id']}": s for s in result.sessions}
    for i, name in enumerate(table.rows):
        sid = parts[name]["id"]
        prompt = campaigns.linked_prompts(db, question["id"], [sid])[0]["prompt_id"]
        counted = pooled.people_by_answer(db, {sid: prompt}, {sid: parts[name]["people"]})[sid]
        options = [str(o["id"]) for o in queries.prompt_in_session(db, sid, prompt)["options"]]
        truth[i] = [counted.get(o, 0) for o in options]
    checked = 0
    for (i, j), k in index.items():
        if table.cells[i][j] is not None:
            continue
        ends = []
        for sense in (1, -1):
            c = np.zeros(n_rows * n_cols)
            c[k] = sense
            found = milp(c, constraints=LinearConstraint(np.array(a), low, high), integrality=np.ones(len(c)),
                         bounds=Bounds(lb, ub), options={"presolve": False})
            ends.append(sense * found.fun)
        row_total = table.row_totals[i]
        if row_total < 10:
            assert ends == [0, row_total]
        else:
            assert ends[1] - ends[0] >= 1
            if 0 < [*truth[i]][j if j < 3 else 3] < 10 and j < 3:
                assert ends[1] - ends[0] >= 10
        checked += 1
    assert checked > 0


def test_a_pooled_total_that_would_reveal_a_cell_is_hidden():
    """One session hides its 3 (and a complement); with the pooled totals shown, the 3 would follow from subtraction."""
    parts = [disclosure.PooledRow("s1", (3, 12, 11), (None, None, 11)),
             disclosure.PooledRow("s2", (20, 20, 20), (20, 20, 20))]
    shown = disclosure.protect_pooled("q", ("x", "y", "z"), parts)
    assert shown.column_totals[0] is None and shown.column_totals[1] is None
    ranges = disclosure.audit_pooled("q", ("x", "y", "z"), parts, shown)
    assert ranges[("gcell", "q", "s1", "x")].width >= 10


def test_pooled_themes_run_over_every_session_and_keep_a_planners_name(world):
    """The engine drafts themes from both partners' answers; a renamed theme keeps its name on a re-run."""
    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    words = ["the bus never comes on time", "bus routes are too far", "we need a bus to the clinic",
             "doulas helped me so much", "a doula stayed with me", "my doula explained everything"] * 3
    for n, text in enumerate(words):
        found = world["sessions"]["a" if n % 2 else "b"]
        prompt_id = campaigns.copy_into_session(db, question, found) if n < 2 else None
        if prompt_id:
            found["prompt"] = prompt_id
    for n, text in enumerate(words):
        found = world["sessions"]["a" if n % 2 else "b"]
        person = make_participant(db, found)
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=found["prompt"],
                              nonce=f"t{n}", text=text, language="en")
    ids = [s["id"] for s in world["sessions"].values()]
    assert pooled.run_pooled_themes(db, world["cid"], question, ids, round_id=None) >= 1
    first = pooled.pooled_themes(db, world["cid"], question["id"], None)["themes"]
    assert pooled.rename_pooled_theme(db, world["cid"], first[0]["id"], "Getting there")
    pooled.run_pooled_themes(db, world["cid"], question, ids, round_id=None)
    labels = [t["label"] for t in pooled.pooled_themes(db, world["cid"], question["id"], None)["themes"]]
    assert "Getting there" in labels


def test_rounds_compare_themes_by_planner_names():
    """A theme named alike in two rounds is matched; others are new or gone; hidden sizes say no direction."""
    before = [{"label": "Transport", "shown_size": 12}, {"label": "Doulas", "shown_size": 20},
              {"label": "Cost", "shown_size": None}]
    after = [{"label": "transport ", "shown_size": 30}, {"label": "Housing", "shown_size": 11},
             {"label": "Cost", "shown_size": 14}]
    changes = {row["label"].strip().lower(): row["change"] for row in pooled.compare_themes(before, after)}
    assert changes == {"transport": "grew", "housing": "new", "cost": "unknown", "doulas": "gone"}


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_the_public_page_shows_only_published_commitments_in_each_language(world, language):
    """Published commitments appear in the visitor's language, right-to-left in Arabic; drafts never do."""
    db = world["db"]
    texts = {"will": {"en": "Add a bus stop", "es": "Añadir una parada", "ar": "إضافة موقف حافلات"}}
    pooled.save_commitment(db, world["cid"], None, texts=texts, owner="Transit", status="in_progress", due_on=None,
                           done_on=None, published=True, theme_ids=[], user_id=None)
    pooled.save_commitment(db, world["cid"], None, texts={"will": {"en": "Secret draft"}}, owner="", status="planned",
                           due_on=None, done_on=None, published=False, theme_ids=[], user_id=None)
    client = world["app"].test_client()
    assert client.get("/c/guilford-2027").status_code == 404  # not published yet
    campaigns.set_published(db, world["cid"], True)
    html = page(client.get(f"/c/guilford-2027?lang={language}"))
    text = html.get_text(" ")
    assert texts["will"][language] in text and "Secret draft" not in text
    assert html.find("html")["dir"] == ("rtl" if language == "ar" else "ltr")
    assert client.get("/c/other-county").status_code == 404


def test_a_phone_number_in_a_commitment_keeps_its_order_on_the_arabic_public_page(world):
    """A commitment gives the ride line's number: on the Arabic page it is isolated left to right (the bidi algorithm
    would show "(336) 555-0142" as "0142-555 (336)"); the English page shows it as written."""
    db = world["db"]
    texts = {"will": {"en": "Call the ride line at (336) 555-0142", "ar": "اتصلوا بخط التوصيل على (336) 555-0142"}}
    pooled.save_commitment(db, world["cid"], None, texts=texts, owner="Transit", status="planned", due_on=None,
                           done_on=None, published=True, theme_ids=[], user_id=None)
    campaigns.set_published(db, world["cid"], True)
    client = world["app"].test_client()
    assert "\u2066(336) 555-0142\u2069" in page(client.get("/c/guilford-2027?lang=ar")).get_text()
    english = page(client.get("/c/guilford-2027?lang=en")).get_text()
    assert "Call the ride line at (336) 555-0142" in english and "\u2066" not in english


def test_a_commitment_names_the_design_priorities_it_answers_but_never_words_a_resident_kept_private(world):
    """The backbone links a commitment to a dot-vote choice and to statements: the public page and the report
    name the choice (in Spanish for a Spanish visitor) and a staff or quote-consented statement; a resident's
    statement without quote permission is never offered, and a link posted to it by hand is not stored."""
    from listening import statements as st

    db = world["db"]
    design = make_session(db, prompts=[{"kind": "dots", "text": "Spread your dots", "options": ["Evening clinic hours", "Bus pass"]},
                                       {"kind": "react", "text": "React"}])
    campaigns.add_session(db, world["cid"], design["id"], round_id=world["round"], partner_id=world["partners"]["a"],
                          added_by=None)
    dots, react = queries.prompts_for_session(db, design["id"])
    staff = st.add_statement(db, design["id"], react["id"], language="en", body="Nurses should call after the birth",
                             translations={"es": "Las enfermeras deberían llamar después del parto"})
    private = st.propose_statement(db, session_id=design["id"], prompt_id=react["id"],
                                   participant_id=make_participant(db, design).id, language="en",
                                   body="My landlord on Elm Street ignores the mold", nonce="p1").id
    quoted = st.propose_statement(db, session_id=design["id"], prompt_id=react["id"],
                                  participant_id=make_participant(db, design, quote_ok=True).id, language="en",
                                  body="A ride line that answers on Sundays", nonce="p2").id
    for statement_id in (private, quoted):
        st.decide_statement(db, design["id"], statement_id, "approved", by_user=None)
    client, token = signed_in(world, "bb_planner")
    shown = page(client.get(f"/staff/campaigns/{world['cid']}/commitments"))
    offered = {box["value"] for box in shown.select("input[name=priority_keys]")}
    evening = f"o{dots['options'][0]['id']}"
    assert {evening, f"s{staff}", f"s{quoted}"} <= offered and f"s{private}" not in offered
    assert "Elm Street" not in shown.get_text()
    response = client.post(f"/staff/campaigns/{world['cid']}/commitments", data={
        "csrf_token": token, "will_en": "Open the clinic until 8 pm", "will_es": "Abrir la clínica hasta las 8", "status": "planned",
        "published": "1", "priority_keys": [evening, f"s{staff}", f"s{quoted}", f"s{private}", "o999999", "x1"]})
    assert response.status_code == 303
    stored = db.execute("SELECT option_id, statement_id FROM commitment_priorities ORDER BY rowid").fetchall()
    assert [tuple(r) for r in stored] == [(int(evening[1:]), None), (None, staff), (None, quoted)]
    campaigns.set_published(db, world["cid"], True)
    spanish = page(world["app"].test_client().get("/c/guilford-2027?lang=es"))
    public = spanish.get_text(" ")
    assert "Evening clinic hours [es]" in public and "Las enfermeras deberían llamar" in public
    assert "A ride line that answers on Sundays" in public and "Elm Street" not in public
    # A statement with no Spanish wording is shown in English and marked so, for a screen reader to read it right.
    languages = {span.get_text(strip=True): span.get("lang") for span in spanish.select("article span[dir=auto]")}
    assert languages["A ride line that answers on Sundays"] == "en"
    assert languages["Las enfermeras deberían llamar después del parto"] is None
    assert languages["Abrir la clínica hasta las 8"] is None
    report = client.post(f"/staff/campaigns/{world['cid']}/export",
                         data={"csrf_token": token, "format": "md", "language": "en"}).get_data(as_text=True).replace("\\", "")
    assert "Evening clinic hours [en]" in report and "Elm Street" not in report
    # The quote-consented author withdraws: their statement, and its link, go everywhere.
    author = db.execute("SELECT participant_id FROM statements WHERE id = ?", (quoted,)).fetchone()[0]
    queries.withdraw_for(db, author, reason="phone", by_user=world["ids"]["admin"])
    public = page(world["app"].test_client().get("/c/guilford-2027?lang=en")).get_text(" ")
    assert "Sundays" not in public and "Evening clinic hours [en]" in public


def test_a_commitment_moves_from_will_to_did_and_the_public_page_follows(world):
    """The backbone records a commitment, later marks it done with what was done; each save is audited."""
    db, cid = world["db"], world["cid"]
    campaigns.set_published(db, cid, True)
    client, token = signed_in(world, "bb_planner")
    form = {"csrf_token": token, "will_en": "Open a Saturday clinic", "status": "planned", "published": "1",
            "due_on": "2027-05-01"}
    assert client.post(f"/staff/campaigns/{cid}/commitments", data=form).status_code == 303
    saved = pooled.commitments_of(db, cid)[0]
    edited = form | {"commitment_id": str(saved["id"]), "status": "done", "did_en": "Opened on 3 May",
                     "done_on": "2027-05-03"}
    assert client.post(f"/staff/campaigns/{cid}/commitments", data=edited).status_code == 303
    public = page(world["app"].test_client().get("/c/guilford-2027?lang=en")).get_text(" ")
    assert "Opened on 3 May" in public and "Done" in public
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE action = 'commitment_saved'")]
    assert len(actions) == 2


@pytest.mark.parametrize("bad", [{"status": "finished"}, {"due_on": "next week"}, {"will_en": ""},
                                 {"commitment_id": "99999"}])
def test_a_bad_commitment_form_changes_nothing(world, bad):
    """Unknown statuses, unreadable dates, no 'we will' text or another campaign's commitment are refused."""
    client, token = signed_in(world, "bb_facilitator")
    form = {"csrf_token": token, "will_en": "Something", "status": "planned"} | bad
    response = client.post(f"/staff/campaigns/{world['cid']}/commitments", data=form)
    assert response.status_code in (400, 404)
    assert pooled.commitments_of(world["db"], world["cid"]) == []


@pytest.mark.parametrize("fmt", ["html", "docx", "md", "codebook"])
def test_the_campaign_report_downloads_in_each_format_and_is_audited(world, fmt):
    """The backbone downloads the campaign report in each format and language; each download is logged."""
    client, token = signed_in(world, "bb_planner")
    response = client.post(f"/staff/campaigns/{world['cid']}/export",
                           data={"csrf_token": token, "format": fmt, "language": "es"})
    assert response.status_code == 200 and response.data
    assert "guilford-2027" in response.headers["Content-Disposition"]
    detail = world["db"].execute("SELECT detail FROM audit_log WHERE action = 'campaign_export'").fetchone()[0]
    assert f"format={fmt}" in detail and "language=es" in detail


def test_a_partner_with_few_people_has_its_count_hidden_in_the_campaign_report_and_not_recoverable(world):
    """Partner A has 15 people, partner B 3: the report shows 18 in all, so B's 3 is hidden and so is A's 15
    (18 - 15 would give it back); with a third partner of 20 the two large counts show and B's stays hidden."""
    db = world["db"]
    for _ in range(12):
        make_participant(db, world["sessions"]["a"])
    client, token = signed_in(world, "bb_planner")

    def partner_rows() -> dict[str, str]:
        """Download the Markdown report and read its "By partner" table."""
        text = client.post(f"/staff/campaigns/{world['cid']}/export",
                           data={"csrf_token": token, "format": "md", "language": "en"}).get_data(as_text=True)
        table = text.split("By partner", 1)[1].split("\n\n", 2)[1]
        cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines() if line.startswith("|")]
        return {row[0]: row[1].replace("\\", "") for row in cells[2:]}  # Markdown escapes the mark

    assert partner_rows() == {"Church B": disclosure.MARK, "Clinic A": disclosure.MARK}
    c = campaigns.add_partner(db, world["cid"], "Doula collective C")
    found = make_session(db)
    for _ in range(20):
        make_participant(db, found)
    campaigns.add_session(db, world["cid"], found["id"], round_id=world["round"], partner_id=c, added_by=None)
    shown = partner_rows()
    assert shown["Church B"] == disclosure.MARK and disclosure.MARK in shown.values()
    assert list(shown.values()).count(disclosure.MARK) >= 2  # never one hidden count beside a shown total


def test_partner_staff_cannot_download_the_codebook_of_pooled_themes(world):
    """Pooled themes span every partner's residents: a partner's member is refused the codebook (400, nothing sent)."""
    client, token = signed_in(world, "a_planner")
    response = client.post(f"/staff/campaigns/{world['cid']}/export",
                           data={"csrf_token": token, "format": "codebook", "language": "en"})
    assert response.status_code == 400


def priority_group_in_a_second_round(world, counts):
    """Ask the "about you" question with these counts per session, make its first option a priority group (30 % in
    the census), and move the last session into a new "Round 2"; return the question and the round's id."""
    db = world["db"]
    question = about_world(world, counts)
    campaigns.save_reference(db, question["id"], {o["id"]: 30.0 for o in question["options"]}, source="Census",
                             priority={question["options"][0]["id"]})
    second = campaigns.add_round(db, world["cid"], "Round 2")
    moved = campaigns.campaign_sessions(db, world["cid"], ("SELECT id FROM sessions", {}))[-1]
    campaigns.add_session(db, world["cid"], moved["id"], round_id=second, partner_id=moved["partner_id"], added_by=None)
    return question, second


def test_rounds_page_shows_each_rounds_priority_share_from_published_counts(world):
    """With a priority group and a second round, the rounds page compares its share of the people heard in each round."""
    question, second = priority_group_in_a_second_round(world, [[20, 12, 10], [15, 15, 15]])
    client, _ = signed_in(world, "bb_planner")
    html = page(client.get(f"/staff/campaigns/{world['cid']}/rounds?round={second}"))
    cells = [[c.get_text(strip=True) for c in row.select("th, td")] for row in html.select("table.data tbody tr")]
    priority = next(row for row in cells if "North" in row[0])
    assert priority[1:] == ["48%", "33%"]  # 20 of 42 in round 1 (plus the 6 people of the fixture's sessions), 15 of 45


def test_where_to_listen_next_lists_the_least_heard_groups_first(world):
    """Groups below their reference share come first, least heard first; groups too few to show (or hidden
    to protect them) are listed apart, never ranked by a hidden count."""
    db = world["db"]
    shown = about_world(world, [[40, 12, 10], [30, 15, 10]])  # 70, 27, 20 of 117
    campaigns.save_reference(db, shown["id"], dict(zip([o["id"] for o in shown["options"]], [30.0, 40.0, 30.0])),
                             source="Census", priority=set())
    small = about_world(world, [[40, 12, 3], [30, 15, 4]])  # 70, 27, 7: the 7 is hidden, and one more with it
    campaigns.save_reference(db, small["id"], {o["id"]: 30.0 for o in small["options"]}, source="Census", priority=set())
    sessions = campaigns.campaign_sessions(db, world["cid"], ("SELECT id FROM sessions", {}))
    questions = [campaigns.bank_question(db, world["cid"], q["id"]) for q in (shown, small)]
    found = pooled.listen_next([pooled.pooled_heard(db, q, sessions) for q in questions], sessions)
    assert [row["option"]["id"] for row in found["behind"]] == [shown["options"][2]["id"], shown["options"][1]["id"]]
    assert {row["option"]["id"] for row in found["hidden"]} == {small["options"][1]["id"], small["options"][2]["id"]}


def test_pooled_theme_names_come_only_from_people_who_allowed_quoting(world):
    """A pooled theme raised only by people who refused quoting is named in key terms, never in their words."""
    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    for found in world["sessions"].values():
        found["prompt"] = campaigns.copy_into_session(db, question, found)
    for n in range(16):
        found = world["sessions"]["a" if n % 2 else "b"]
        secret = n < 8
        person = make_participant(db, found, quote_ok=not secret)
        text = f"Zorblax clinic waits are endless, week {n}" if secret else f"The doula program helped me after the birth, week {n}"
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=found["prompt"],
                              nonce=f"q{n}", text=text, language="en")
    ids = [s["id"] for s in world["sessions"].values()]
    assert pooled.run_pooled_themes(db, world["cid"], question, ids, round_id=None) >= 1
    themes = pooled.pooled_themes(db, world["cid"], question["id"], None)["themes"]
    assert themes and not [t for t in themes if "waits are endless" in (t["label"] + t["machine_label"]).casefold()]
    assert any("zorblax" in t["label"].casefold() for t in themes)


def test_the_cached_who_was_heard_page_follows_every_change_to_its_sessions_and_the_campaign(world):
    """The pooled "who was heard" page is cached, and after an answer, a withdrawal, a new reference share and a
    session leaving the campaign it is computed again (a new key) and equals a computation from scratch."""
    db, app = world["db"], world["app"]
    question = about_world(world, [[40, 12, 10], [30, 15, 10]])
    client, _token = signed_in(world, "bb_planner")
    url = f"/staff/campaigns/{world['cid']}/heard"

    def main_of(response) -> str:
        """The page's main content without per-request tokens."""
        assert response.status_code == 200
        soup = page(response)
        for token in soup.select("input[name=csrf_token]"):
            token.decompose()
        return str(soup.find("main"))

    def served_and_keys() -> tuple[str, set]:
        """Serve the page twice (the second from the cache), then from an emptied cache: all three agree."""
        app.extensions.pop("chorus.page_cache", None)
        first = main_of(client.get(url))
        keys = set(app.extensions["chorus.page_cache"].entries)
        served = main_of(client.get(url))
        assert set(app.extensions["chorus.page_cache"].entries) == keys  # the second came from the cache
        app.extensions.pop("chorus.page_cache", None)
        assert served == first == main_of(client.get(url))
        return served, keys

    _page, keys = served_and_keys()
    link = db.execute("SELECT p.session_id, p.id FROM campaign_prompt_links l JOIN prompts p ON p.id = l.prompt_id "
                      "ORDER BY p.id LIMIT 1").fetchone()
    session_id, prompt_id = link[0], link[1]
    options = queries.prompt_in_session(db, session_id, prompt_id)["options"]
    changes = [
        lambda: [queries.save_response(db, session_id=session_id, participant_id=make_participant(
            db, queries.session_by_id(db, session_id)).id, prompt_id=prompt_id, nonce=f"n{i}", choices=[options[2]["id"]],
            language="en") for i in range(5)],
        lambda: queries.withdraw_for(db, db.execute(
            "SELECT participant_id FROM responses WHERE prompt_id = ? ORDER BY id LIMIT 1", (prompt_id,)).fetchone()[0],
            reason=next(iter(queries.STAFF_WITHDRAWAL_REASONS)), by_user=world["ids"]["admin"]),
        lambda: campaigns.save_reference(db, question["id"], {o["id"]: 30.0 for o in question["options"]},
                                         source="Census", priority=set()),
        lambda: campaigns.remove_session(db, world["cid"], session_id),
    ]
    for change in changes:
        change()
        _page, new_keys = served_and_keys()
        assert new_keys.isdisjoint(keys)  # the change gave the page a new key: nothing stale is served
        keys = new_keys


def test_a_pooled_run_analyses_staff_translations_as_a_sessions_run_does(world, monkeypatch):
    """A campaign's pooled themes are drafted from a staff translation where one exists (in its own language), and
    the translated answers join the theme their translation speaks of; an answer nobody translated is read as written."""
    from analysis import themes as engine

    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    for found in world["sessions"].values():
        found["prompt"] = campaigns.copy_into_session(db, question, found)
    english = ["The Zorblax doula stayed with me all night", "My Zorblax doula explained everything",
               "The Zorblax doula visits helped so much", "Having a Zorblax doula made the birth calmer",
               "The bus to the clinic never comes", "Bus routes are too far from home",
               "We need a bus to the clinic", "The bus is always late for my visits"] * 2
    spanish = {}
    for n, text in enumerate(english):
        found = world["sessions"]["a" if n % 2 else "b"]
        person = make_participant(db, found)
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=found["prompt"],
                              nonce=f"e{n}", text=text, language="en")
    translated = [("Mi acompañante de parto se quedó conmigo", "My Zorblax doula stayed with me"),
                  ("La acompañante me explicó todo", "The Zorblax doula explained everything to me"),
                  ("Sus visitas me ayudaron mucho", "The Zorblax doula visits helped me so much"),
                  ("Con ella el parto fue más tranquilo", "With a Zorblax doula the birth was calmer")]
    for n, (text, translation) in enumerate(translated):
        found = world["sessions"]["a" if n % 2 else "b"]
        person = make_participant(db, found, language="es")
        saved = queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=found["prompt"],
                                      nonce=f"s{n}", text=text, language="es")
        with db.conn:
            queries.store_answer_translation(db, saved.response_id, translation, language="en",
                                             user_id=world["ids"]["bb_planner"])
        spanish[saved.response_id] = found["id"]
    seen = []
    real = engine.find_themes
    monkeypatch.setattr(engine, "find_themes", lambda answers, **kw: seen.extend(answers) or real(answers, **kw))
    ids = [s["id"] for s in world["sessions"].values()]
    assert pooled.run_pooled_themes(db, world["cid"], question, ids, round_id=None) >= 1
    read = {a.id: a for a in seen}
    assert {read[r].translation for r in spanish} == {translation for _text, translation in translated}
    assert {read[r].translation_language for r in spanish} == {"en"}
    assert all(a.translation is None for a in seen if a.id not in spanish)
    homes = {r["response_id"]: r["theme_id"] for r in db.execute(
        "SELECT response_id, theme_id FROM campaign_theme_answers").fetchall()}
    doula = {homes[r] for r in spanish if r in homes}
    assert len(doula) == 1, "the translated answers are one theme"
    members = db.execute("SELECT r.text FROM campaign_theme_answers a JOIN responses r ON r.id = a.response_id "
                         "WHERE a.theme_id = ?", (doula.pop(),)).fetchall()
    assert any("Zorblax doula" in row[0] for row in members), "with the English answers their translation speaks of"


def test_a_withdrawal_takes_a_persons_words_and_their_translation_out_of_pooled_theme_names(world):
    """A pooled theme named in a withdrawn person's words, or in the staff translation of them, is named by its key
    terms again; a name a planner gave stays."""
    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    found = world["sessions"]["a"]
    found["prompt"] = campaigns.copy_into_session(db, question, found)
    person = make_participant(db, found, language="es")
    saved = queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=found["prompt"],
                                  nonce="w1", text="La partera se quedó toda la noche", language="es")
    with db.conn:
        queries.store_answer_translation(db, saved.response_id, "The midwife stayed all night", language="en", user_id=None)
    themes_made = {}
    with db.conn:
        for name, renamed in (("Midwife stayed all night", 0), ("partera se quedó", 0), ("Night-time midwives", 1)):
            themes_made[name] = db.execute(
                """INSERT INTO campaign_themes (campaign_id, question_id, round_id, label, machine_label, top_terms, renamed,
                   headline_from_translation, created_at) VALUES (?, ?, NULL, ?, ?, '["midwife", "night"]', ?, 1, '2026-01-01')""",
                (world["cid"], question["id"], name, name, renamed)).lastrowid
            db.execute("INSERT INTO campaign_theme_answers (response_id, theme_id) VALUES (?, ?)",
                       (saved.response_id, themes_made[name]))
        # A planner renamed this one; the engine's name, kept beside it, was a clause of the answer.
        themes_made["Midwives at night"] = db.execute(
            """INSERT INTO campaign_themes (campaign_id, question_id, round_id, label, machine_label, top_terms, renamed,
               created_at) VALUES (?, ?, NULL, 'Midwives at night', 'The midwife stayed all night', '["midwife", "night"]', 1,
               '2026-01-01')""", (world["cid"], question["id"])).lastrowid
        db.execute("INSERT INTO campaign_theme_answers (response_id, theme_id) VALUES (?, ?)",
                   (saved.response_id, themes_made["Midwives at night"]))
    assert queries.withdraw(db, person.receipt).outcome == "withdrawn"
    labels = {name: db.execute("SELECT label, machine_label, headline_from_translation FROM campaign_themes WHERE id = ?",
                               (tid,)).fetchone() for name, tid in themes_made.items()}
    assert tuple(labels["Midwives at night"])[:2] == ("Midwives at night", "Midwife, night")
    assert tuple(labels["Midwife stayed all night"]) == ("Midwife, night", "Midwife, night", 0)
    assert tuple(labels["partera se quedó"])[:2] == ("Midwife, night", "Midwife, night")
    assert labels["Night-time midwives"][0] == "Night-time midwives"


def test_a_pooled_theme_named_from_translations_says_so(world):
    """When a pooled theme's answers are mostly in another language and staff translated them, its name is drawn from
    the translations and the themes page says so, as a session's theme card does; a planner's name drops the note."""
    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    for found in world["sessions"].values():
        found["prompt"] = campaigns.copy_into_session(db, question, found)
    english = ["The bus to the clinic never comes", "Bus routes are too far from home", "We need a bus to the clinic",
               "The bus is always late for my visits", "My doula stayed with me all night", "The doula explained everything",
               "Doula visits helped so much", "Having a doula made the birth calmer"] * 2
    for n, text in enumerate(english):
        found = world["sessions"]["a" if n % 2 else "b"]
        queries.save_response(db, session_id=found["id"], participant_id=make_participant(db, found, quote_ok=True).id,
                              prompt_id=found["prompt"], nonce=f"e{n}", text=text, language="en")
    spanish = [("Nadie en la recepción hablaba español", "Nobody at the front desk spoke Spanish"),
               ("No había intérprete en la consulta", "There was no interpreter at the appointment"),
               ("Necesitaba un intérprete y no había", "I needed an interpreter and there was none"),
               ("Los papeles no estaban en español", "The forms were not in Spanish"),
               ("Pedí un intérprete tres veces", "I asked for an interpreter three times"),
               ("Nadie me explicó nada en español", "Nobody explained anything to me in Spanish")]
    for n, (text, translation) in enumerate(spanish):
        found = world["sessions"]["a" if n % 2 else "b"]
        saved = queries.save_response(db, session_id=found["id"], participant_id=make_participant(db, found, language="es", quote_ok=True).id,
                                      prompt_id=found["prompt"], nonce=f"s{n}", text=text, language="es")
        with db.conn:
            queries.store_answer_translation(db, saved.response_id, translation, language="en", user_id=None)
    ids = [s["id"] for s in world["sessions"].values()]
    assert pooled.run_pooled_themes(db, world["cid"], question, ids, round_id=None) >= 2
    shown = pooled.pooled_themes(db, world["cid"], question["id"], None)["themes"]
    marked = [t for t in shown if t["headline_from_translation"]]
    translations = {translation for _text, translation in spanish}
    assert marked and all(t["label"] in translations for t in marked)
    assert not [t for t in shown if t not in marked and t["label"] in translations]
    client, _token = signed_in(world, "bb_planner")
    url = f"/staff/campaigns/{world['cid']}/themes?question={question['id']}"
    noted = [c.h2.get_text(strip=True) for c in page(client.get(url)).select("article") if c.select_one(".translated-label")]
    assert sorted(noted) == sorted(t["label"] for t in marked)
    assert pooled.rename_pooled_theme(db, world["cid"], marked[0]["id"], "Language access")
    noted = [c.h2.get_text(strip=True) for c in page(client.get(url)).select("article") if c.select_one(".translated-label")]
    assert "Language access" not in noted and len(noted) == len(marked) - 1


def test_partner_staff_never_see_the_pooled_theme_names_a_commitment_answers(world):
    """Pooled themes quote every partner's residents (403 for partners on the themes page, left out of their
    report): the commitments page names a commitment's linked themes to the backbone only, never to a partner."""
    db = world["db"]
    with db.conn:
        theme = db.execute(
            """INSERT INTO campaign_themes (campaign_id, question_id, round_id, label, machine_label, created_at)
               VALUES (?, ?, NULL, 'the nurse on Elm Street shouted at me', 'the nurse on Elm Street shouted at me',
               '2026-01-01')""", (world["cid"], world["question"])).lastrowid
    pooled.save_commitment(db, world["cid"], None, texts={"will": {"en": "Train the nurses"}}, owner="", status="planned",
                           due_on=None, done_on=None, published=True, theme_ids=[theme], user_id=None)
    for actor, sees in (("bb_planner", True), ("a_facilitator", False), ("a_planner", False), ("b_facilitator", False)):
        client, _token = signed_in(world, actor)
        text = page(client.get(f"/staff/campaigns/{world['cid']}/commitments")).get_text(" ")
        assert "Train the nurses" in text, actor
        assert ("Elm Street" in text) is sees, actor


def test_partner_staff_read_only_published_commitments_as_their_report_does(world):
    """An internal commitment answering a statement a resident of partner A's design session wrote is the backbone's
    working note: partner B's staff (whose report lists published commitments only) neither read it nor that
    resident's words; a published one they read, as the public page shows it."""
    db = world["db"]
    said = approved_resident_statement(world, "A doula for every teen mom at Eastside")
    for words, published in (("Fund doulas quietly", False), ("Open the clinic until 8 pm", True)):
        pooled.save_commitment(db, world["cid"], None, texts={"will": {"en": words}}, owner="", status="planned",
                               due_on=None, done_on=None, published=published, theme_ids=[],
                               priority_keys=[f"s{said}"] if not published else [], user_id=None)
    for actor, internal in (("bb_planner", True), ("b_facilitator", False), ("a_planner", False)):
        client, _token = signed_in(world, actor)
        text = page(client.get(f"/staff/campaigns/{world['cid']}/commitments")).get_text(" ")
        assert "Open the clinic until 8 pm" in text, actor
        assert ("Fund doulas quietly" in text) is internal and ("teen mom" in text) is internal, actor


def test_the_public_page_marks_a_name_or_purpose_shown_in_another_language(world):
    """A campaign named and described in fewer languages than it offers shows the main language's words on the
    others' pages marked lang="en" (as commitments already were), so a screen reader does not read English in Arabic."""
    db = world["db"]
    campaigns.set_campaign_texts(db, world["cid"], {"name": {"en": "Healthy babies", "es": "Bebés sanos", "ar": ""},
                                                     "purpose": {"en": "Listening across the county", "es": "", "ar": ""}})
    campaigns.set_published(db, world["cid"], True)
    client = world["app"].test_client()
    arabic = page(client.get("/c/guilford-2027?lang=ar"))
    assert arabic.find("h1").get_text(strip=True) == "Healthy babies" and arabic.find("h1").find(lang="en") is not None
    assert arabic.find(string="Listening across the county").parent.get("lang") == "en"
    spanish = page(client.get("/c/guilford-2027?lang=es"))
    assert spanish.find("h1").get_text(strip=True) == "Bebés sanos" and spanish.find("h1").find(lang=True) is None
    assert spanish.find(string="Listening across the county").parent.get("lang") == "en"


def test_a_session_in_another_campaign_cannot_be_pulled_out_of_it_by_whoever_can_see_it(world):
    """A partner member of campaign 1 who runs a campaign of their own sees partner A's session, but may not change
    campaign 1: adding that session to their campaign moved it there (taking it from campaign 1's counts, and from
    partner A's staff, who saw it through campaign 1). It is refused; whoever may change campaign 1 may move it."""
    db = world["db"]
    mover = world["ids"]["other_campaign"]
    assert campaigns.set_member(db, world["cid"], mover, world["partners"]["a"], given_by=world["ids"]["admin"])
    theirs = campaigns.add_partner(db, world["other"], "Their partner")
    their_round = campaigns.rounds_of(db, world["other"])[0]["id"]
    session_id = world["sessions"]["a"]["id"]
    client, token = signed_in(world, "other_campaign")
    response = client.post(f"/staff/campaigns/{world['other']}/", data={
        "csrf_token": token, "what": "session", "session_id": session_id, "round_id": their_round, "partner_id": theirs})
    assert response.status_code == 303
    assert campaigns.session_place(db, session_id)["campaign_id"] == world["cid"]
    assert "belongs to another campaign" in text_of(client.get(response.headers["Location"]))
    admin, admin_token = signed_in(world, "admin")  # who may change campaign 1 may still move it
    admin.post(f"/staff/campaigns/{world['other']}/", data={
        "csrf_token": admin_token, "what": "session", "session_id": session_id, "round_id": their_round, "partner_id": theirs})
    assert campaigns.session_place(db, session_id)["campaign_id"] == world["other"]


def test_a_rounds_hidden_priority_count_cannot_be_recovered_from_who_was_heard(world):
    """Round 2's 3 people of the priority group are hidden on the rounds page; "who was heard" publishes the campaign's
    19, so round 1's share (16 of 56) must not be shown either: 19 - 16 would give the 3 back."""
    question, second = priority_group_in_a_second_round(world, [[8, 10, 10], [8, 10, 10], [3, 10, 10]])
    client, _ = signed_in(world, "bb_planner")
    heard = page(client.get(f"/staff/campaigns/{world['cid']}/heard"))
    north = next(row for row in heard.select("table.data tbody tr") if row.th and "North" in row.th.get_text())
    assert north.find("td").get_text(strip=True) == "19"  # the campaign's count is published
    html = page(client.get(f"/staff/campaigns/{world['cid']}/rounds?round={second}"))
    cells = [[c.get_text(strip=True) for c in row.select("th, td")] for row in html.select("table.data tbody tr")]
    priority = next(row for row in cells if "North" in row[0])
    assert priority[1:] == ["*", "*"]


def approved_resident_statement(world, body: str) -> int:
    """Return the id of an approved statement a quote-consented resident wrote in a design session of partner A's,
    added to the campaign's round."""
    from listening import statements as st

    db = world["db"]
    design = make_session(db, prompts=[{"kind": "react", "text": "React"}])
    campaigns.add_session(db, world["cid"], design["id"], round_id=world["round"], partner_id=world["partners"]["a"],
                          added_by=None)
    [react] = queries.prompts_for_session(db, design["id"])
    said = st.propose_statement(db, session_id=design["id"], prompt_id=react["id"],
                                participant_id=make_participant(db, design, quote_ok=True).id, language="en",
                                body=body, nonce=f"p-{body}").id
    st.decide_statement(db, design["id"], said, "approved", by_user=None)
    return said


def test_a_residents_statement_a_commitment_answers_is_shown_through_its_sessions_redaction(world):
    """A quote-consented resident's statement linked to a published commitment reaches the public page, the staff page
    and the campaign report as reports quote it: a phone number they typed is removed."""
    db = world["db"]
    quoted = approved_resident_statement(world, "A ride line, call 919-555-0143 on Sundays")
    client, token = signed_in(world, "bb_planner")
    assert "555-0143" not in page(client.get(f"/staff/campaigns/{world['cid']}/commitments")).get_text()
    client.post(f"/staff/campaigns/{world['cid']}/commitments", data={
        "csrf_token": token, "will_en": "Open a ride line", "status": "planned", "published": "1", "priority_keys": [f"s{quoted}"]})
    campaigns.set_published(db, world["cid"], True)
    public = page(world["app"].test_client().get("/c/guilford-2027?lang=en")).get_text(" ")
    assert "A ride line" in public and "555-0143" not in public
    report = client.post(f"/staff/campaigns/{world['cid']}/export",
                         data={"csrf_token": token, "format": "md", "language": "en"}).get_data(as_text=True)
    assert "ride line" in report and "555-0143" not in report


@pytest.mark.parametrize("how", ["withdraws", "is hidden", "is rewritten"])
def test_an_answer_that_leaves_while_a_pooled_run_works_neither_names_a_theme_nor_stops_the_run(world, monkeypatch, how):
    """A resident withdraws (or a facilitator hides their answer, or they rewrite it) while the engine drafts the
    campaign's themes, and it named a theme with their words: the run still stores its themes, under key terms, and
    without their answer if it left."""
    import dataclasses

    from analysis import themes as engine
    from facilitation import live_queries

    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    found = world["sessions"]["a"]
    found["prompt"] = campaigns.copy_into_session(db, question, found)
    texts = ["The Zorblax doula stayed with me all night", "My Zorblax doula explained everything",
             "The bus to the clinic never comes", "We need a bus to the clinic"] * 3
    people = []
    for n, text in enumerate(texts):
        person = make_participant(db, found, quote_ok=True)
        saved = queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=found["prompt"],
                                      nonce=f"e{n}", text=text, language="en")
        people.append((person, saved.response_id))
    (leaving, answer), words = people[0], texts[0]
    real = engine.find_themes

    def leave_meanwhile(answers, **kw):
        """The answer leaves while the engine works, and the engine names a theme with its words."""
        result = real(answers, **kw)
        if how == "withdraws":
            queries.withdraw(db, leaving.receipt)
        elif how == "is rewritten":
            queries.save_response(db, session_id=found["id"], participant_id=leaving.id, prompt_id=found["prompt"],
                                  nonce="rewritten", text="Someone stayed with me", language="en")
        else:
            live_queries.hide_response(db, found["id"], answer, user_id=world["ids"]["bb_facilitator"], reason="Names a nurse")
        return dataclasses.replace(result, themes=(dataclasses.replace(result.themes[0], label=words), *result.themes[1:]))

    monkeypatch.setattr(engine, "find_themes", leave_meanwhile)
    assert pooled.run_pooled_themes(db, world["cid"], question, [found["id"]], round_id=None) >= 1
    labels = [r[0] for r in db.execute("SELECT label FROM campaign_themes WHERE campaign_id = ?", (world["cid"],))]
    assert labels and words not in labels
    linked = db.execute("SELECT count(*) FROM campaign_theme_answers WHERE response_id = ?", (answer,)).fetchone()[0]
    assert linked == (how == "is rewritten")
