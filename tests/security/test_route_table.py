"""Who may use which staff route, written out by hand: every route x every role x the answer expected.

The expectations come from this table, never from the code under test (a decorator's own
`required_roles`), so loosening or tightening any route fails here. A route the table does not
list fails too: a new route must be added, with a decision for every role.

Columns: signed out; an admin; the facilitator who created the session (owner); a facilitator
and a planner the owner gave access to; a facilitator and a planner who were not given it (the
session is "another facilitator's session" to them). Sample POSTs carry a valid CSRF token and
nothing else, so an admitted request reaches the view's own checks (400 or a 303 back to the
page) and a refused one is answered before it: 302 to sign in, 403 (wrong role) or 404 (a
session you may not see looks like one that does not exist).
"""
from __future__ import annotations

import pytest
from flask import url_for

from listening.accounts import user_by_email
from listening import queries
from tests.conftest import PASSWORD, form_data, migrated_app, sign_in
from tests.factories import high_ids, make_session, share

LOGIN = "login"  # a 302 to the sign-in page
ACTORS = ("signed_out", "admin", "owner", "facilitator", "planner", "other_facilitator", "other_planner")
ROLES = {"admin": "admin", "owner": "facilitator", "facilitator": "facilitator", "planner": "planner",
         "other_facilitator": "facilitator", "other_planner": "planner"}

# (endpoint, method): answer for each of ACTORS, in order.
#                                                 out    admin owner facil plann o-fac o-pla
ROUTES = {
    ("facilitation.login", "GET"):                (200,   200,  200,  200,  200,  200,  200),
    ("facilitation.login", "POST"):               (400,   400,  400,  400,  400,  400,  400),
    ("facilitation.dashboard", "GET"):            (LOGIN, 200,  200,  200,  200,  200,  200),
    ("facilitation.new_session", "GET"):          (LOGIN, 200,  200,  200,  403,  200,  403),
    ("facilitation.new_session", "POST"):         (LOGIN, 400,  400,  400,  403,  400,  403),
    ("facilitation.users", "GET"):                (LOGIN, 200,  403,  403,  403,  403,  403),
    ("facilitation.users", "POST"):               (LOGIN, 400,  403,  403,  403,  403,  403),
    ("facilitation.change_user", "POST"):         (LOGIN, 303,  403,  403,  403,  403,  403),
    ("facilitation.audit", "GET"):                (LOGIN, 200,  403,  403,  403,  403,  403),
    ("facilitation.deletions", "GET"):            (LOGIN, 200,  403,  403,  403,  403,  403),
    ("facilitation.account", "GET"):              (LOGIN, 200,  200,  200,  200,  200,  200),
    ("facilitation.account", "POST"):             (LOGIN, 400,  400,  400,  400,  400,  400),
    ("facilitation.reset_password", "POST"):      (LOGIN, 303,  403,  403,  403,  403,  403),
    ("facilitation.staff_withdraw", "GET"):       (LOGIN, 200,  403,  403,  403,  403,  403),
    ("facilitation.staff_withdraw", "POST"):      (LOGIN, 400,  403,  403,  403,  403,  403),
    # one session: reading it
    ("facilitation.session_overview", "GET"):     (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.session_access", "GET"):       (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.session_answers", "GET"):      (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.qr_code_svg", "GET"):          (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.qr_code_png", "GET"):          (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.flyer", "GET"):                (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.preview", "GET"):              (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.console", "GET"):              (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.console_panel", "GET"):        (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.projector", "GET"):            (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.projector_panel", "GET"):      (LOGIN, 200,  200,  200,  200,  404,  404),
    # one session: changing and running it (facilitators; planners only keep equity-pause notes)
    ("facilitation.session_access", "POST"):      (LOGIN, 303,  303,  403,  403,  404,  404),
    ("facilitation.session_settings", "GET"):     (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.session_settings", "POST"):    (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.session_texts", "GET"):        (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.session_texts", "POST"):       (LOGIN, 302,  302,  302,  403,  404,  404),
    ("facilitation.session_status", "POST"):      (LOGIN, 303,  303,  303,  403,  404,  404),
    ("facilitation.session_retention", "POST"):   (LOGIN, 303,  303,  303,  403,  404,  404),
    ("facilitation.new_prompt", "GET"):           (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.new_prompt", "POST"):          (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.edit_prompt", "GET"):          (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.edit_prompt", "POST"):         (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.move_prompt", "POST"):         (LOGIN, 303,  303,  303,  403,  404,  404),
    ("facilitation.delete_prompt", "POST"):       (LOGIN, 303,  303,  303,  403,  404,  404),
    ("facilitation.staff_entry", "GET"):          (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.staff_entry", "POST"):         (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.entry_slip", "GET"):           (LOGIN, 200,  200,  200,  403,  404,  404),
    # a person's votes typed in by staff (a table's notetaker); the sample session has no react question: a page saying so
    ("facilitation.staff_entry_votes", "GET"):    (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.staff_entry_votes", "POST"):   (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.import_start", "GET"):         (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.import_start", "POST"):        (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.import_preview", "GET"):       (LOGIN, 404,  404,  404,  403,  404,  404),
    ("facilitation.import_preview", "POST"):      (LOGIN, 404,  404,  404,  403,  404,  404),
    ("facilitation.import_done", "GET"):          (LOGIN, 404,  404,  404,  403,  404,  404),
    ("facilitation.import_undo", "POST"):         (LOGIN, 404,  404,  404,  403,  404,  404),
    ("facilitation.console_action", "POST"):      (LOGIN, 303,  303,  303,  403,  404,  404),
    ("facilitation.moderate", "POST"):            (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.wall_decision", "POST"):       (LOGIN, 400,  400,  400,  403,  404,  404),
    ("facilitation.live_themes", "POST"):         (LOGIN, 303,  303,  303,  403,  404,  404),
    ("facilitation.equity_note", "POST"):         (LOGIN, 303,  303,  303,  303,  404,  404),
    # react questions' statements: the sample prompt is an open question, so an admitted editor gets 404
    ("facilitation.statements", "GET"):           (LOGIN, 404,  404,  404,  403,  404,  404),
    ("facilitation.statements", "POST"):          (LOGIN, 404,  404,  404,  403,  404,  404),
    # tables (small groups) of a design session and their notetakers' links
    ("facilitation.session_tables", "GET"):       (LOGIN, 200,  200,  200,  403,  404,  404),
    ("facilitation.session_tables", "POST"):      (LOGIN, 400,  400,  400,  403,  404,  404),
    # the sample table id is not one of the session's, so an admitted editor gets 404
    ("facilitation.remove_table", "POST"):        (LOGIN, 404,  404,  404,  403,  404,  404),
    ("facilitation.statement_decision", "POST"):  (LOGIN, 404,  404,  404,  403,  404,  404),
    # review and synthesis (planners and facilitators alike)
    ("review.index", "GET"):                      (LOGIN, 200,  200,  200,  200,  200,  200),
    ("review.session", "GET"):                    (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.run", "POST"):                       (LOGIN, 303,  303,  303,  303,  404,  404),
    ("review.edit", "POST"):                      (LOGIN, 400,  400,  400,  400,  404,  404),
    ("review.follow_up", "POST"):                 (LOGIN, 303,  303,  303,  403,  404,  404),
    ("review.opinions", "GET"):                   (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.heard", "GET"):                      (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.heard_save", "POST"):                (LOGIN, 303,  303,  303,  303,  404,  404),
    ("review.history", "GET"):                    (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.export", "GET"):                     (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.export", "POST"):                    (LOGIN, 400,  400,  400,  400,  404,  404),
    ("review.export_qdpx", "POST"):               (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.import_codes", "GET"):               (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.import_codes", "POST"):              (LOGIN, 400,  400,  400,  400,  404,  404),
    ("review.publish", "GET"):                    (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.publish", "POST"):                   (LOGIN, 303,  303,  303,  303,  404,  404),
    ("review.translation", "GET"):                (LOGIN, 200,  200,  200,  200,  404,  404),
    ("review.translation", "POST"):               (LOGIN, 303,  303,  303,  303,  404,  404),
    # background jobs (issue 19): a finished theme run of the session; cancel/restart/download say why not and change nothing
    ("facilitation.job", "GET"):                  (LOGIN, 200,  200,  200,  200,  404,  404),
    ("facilitation.job_cancel", "POST"):          (LOGIN, 303,  303,  303,  303,  404,  404),
    ("facilitation.job_restart", "POST"):         (LOGIN, 303,  303,  303,  303,  404,  404),
    ("facilitation.job_download", "POST"):        (LOGIN, 303,  303,  303,  303,  404,  404),
    # campaigns (issue 16): a campaign none of these actors is a member of (tests/campaigns has the table by partner)
    ("campaigns.index", "GET"):                   (LOGIN, 200,  200,  200,  200,  200,  200),
    ("campaigns.index", "POST"):                  (LOGIN, 400,  403,  403,  403,  403,  403),
    ("campaigns.dashboard", "GET"):               (LOGIN, 200,  404,  404,  404,  404,  404),
    ("campaigns.manage", "POST"):                 (LOGIN, 303,  404,  404,  404,  404,  404),
    ("campaigns.heard", "GET"):                   (LOGIN, 200,  404,  404,  404,  404,  404),
    ("campaigns.themes", "GET"):                  (LOGIN, 200,  404,  404,  404,  404,  404),
    ("campaigns.themes", "POST"):                 (LOGIN, 303,  404,  404,  404,  404,  404),
    ("campaigns.rounds", "GET"):                  (LOGIN, 200,  404,  404,  404,  404,  404),
    ("campaigns.commitments", "GET"):             (LOGIN, 200,  404,  404,  404,  404,  404),
    ("campaigns.commitments", "POST"):            (LOGIN, 400,  404,  404,  404,  404,  404),
    ("campaigns.export", "GET"):                  (LOGIN, 200,  404,  404,  404,  404,  404),
    ("campaigns.export", "POST"):                 (LOGIN, 400,  404,  404,  404,  404,  404),
    ("campaigns.heard", "POST"):                  (LOGIN, 303,  404,  404,  404,  404,  404),
    # a campaign's job pages (issue 19): the job here is a session's, so not the campaign's (404 even for an admin)
    ("campaigns.job", "GET"):                     (LOGIN, 404,  404,  404,  404,  404,  404),
    ("campaigns.job_cancel", "POST"):             (LOGIN, 404,  404,  404,  404,  404,  404),
    ("campaigns.job_restart", "POST"):            (LOGIN, 404,  404,  404,  404,  404,  404),
    ("campaigns.job_download", "POST"):           (LOGIN, 404,  404,  404,  404,  404,  404),
    # last: it ends the signed-in session
    ("facilitation.logout", "POST"):              (302,   302,  302,  302,  302,  302,  302),
}
# Routes anyone may use (residents, the public results page, static files): not staff routes.
PUBLIC = {
    ("static", "GET"), ("results.static", "GET"), ("results.page", "GET"),
    ("listening.index", "GET"), ("listening.join", "GET"), ("listening.join_typed", "GET"), ("listening.consent", "GET"),
    ("listening.consent", "POST"),
    ("listening.answer", "GET"), ("listening.answer", "POST"), ("listening.thanks", "GET"), ("listening.live", "GET"),
    ("listening.live_state", "GET"), ("listening.withdraw", "GET"), ("listening.withdraw", "POST"),
    ("listening.forget_me", "POST"), ("listening.vote", "POST"), ("listening.propose", "POST"),
    ("campaign_public.page", "GET"),
}
# Routes whose sample request would destroy what later rows need: walked after every other one.
LAST = ("facilitation.delete_prompt", "facilitation.logout")


def app_routes(app) -> set[tuple[str, str]]:
    """Return every (endpoint, method) the app answers, leaving out HEAD and OPTIONS."""
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def snapshot(db) -> dict[str, list]:
    """Return every row of every table, to prove a refused request changed nothing."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: [tuple(row) for row in db.execute(f"SELECT * FROM [{table}]")] for table in tables}


@pytest.fixture
def world(tmp_path):
    """An app with one account per actor, a draft session owned by 'owner' and shared with two
    others, and a second session owned by 'other_facilitator'."""
    from listening.accounts import create_user
    from listening.db import connect

    app = migrated_app(tmp_path / "t.db")
    db = connect(app.config["DATABASE"])
    high_ids(db)  # ids above 256, as in a database that has run for a while
    ids = {}
    for actor, role in ROLES.items():
        create_user(db, f"{actor}@example.org", PASSWORD, role)
        ids[actor] = user_by_email(db, f"{actor}@example.org")["id"]
    session = make_session(db, status="draft", created_by=ids["owner"])
    share(db, session, "facilitator@example.org", "planner@example.org")
    theirs = make_session(db, status="draft", created_by=ids["other_facilitator"])
    prompt = queries.prompts_for_session(db, session["id"])[0]
    # One resident's answer, for the routes that act on an answer (a staff translation).
    person = db.execute("INSERT INTO participants (session_id, receipt_hash, language, created_at) VALUES (?, 'table-receipt', 'es', '2026-01-01T00:00:00+00:00')",
                        (session["id"],)).lastrowid
    answer_id = db.execute("INSERT INTO responses (session_id, participant_id, prompt_id, language, text, created_at, updated_at) "
                           "VALUES (?, ?, ?, 'es', 'El autobús llega tarde', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
                           (session["id"], person, prompt["id"])).lastrowid
    db.conn.commit()
    from listening import campaigns

    campaign = campaigns.create_campaign(db, slug="table-campaign", languages=["en"], created_by=ids["admin"],
                                         texts={"name": {"en": "A campaign"}})
    job = db.execute("INSERT INTO jobs (session_id, kind, params, state, created, started, finished, who) "
                     "VALUES (?, 'themes', '{}', 'done', ?, ?, ?, ?)",
                     (session["id"], queries.now(), queries.now(), queries.now(), ids["owner"])).lastrowid
    db.conn.commit()
    yield {"app": app, "db": db, "ids": ids, "session": session, "theirs": theirs,
           "args": {"session_id": session["id"], "prompt_id": prompt["id"], "user_id": ids["planner"],
                    "token": "no-such-upload", "import_id": 1, "statement_id": 1, "campaign_id": campaign,
                    "answer_id": answer_id, "table_id": 1, "job_id": job}}
    db.conn.close()


def test_the_table_lists_every_route_and_only_real_ones(world):
    """A route added without a row here, or a row for a route that is gone, fails."""
    routes = app_routes(world["app"])
    assert sorted(routes - set(ROUTES) - PUBLIC) == [], "new routes: add them to ROUTES (staff) or PUBLIC"
    assert sorted((set(ROUTES) | PUBLIC) - routes) == [], "rows for routes that no longer exist"


def test_public_routes_are_not_staff_routes(world):
    """Nothing under /staff/ hides in the public list."""
    rules = {(rule.endpoint, m): rule.rule for rule in world["app"].url_map.iter_rules() for m in rule.methods}
    assert [key for key in PUBLIC if rules[key].startswith("/staff/")] == []


@pytest.mark.parametrize("actor", ACTORS)
def test_each_route_answers_each_actor_as_the_table_says(world, actor):
    """Every staff route gives this actor exactly the answer in the table, and a refusal changes nothing."""
    app, db = world["app"], world["db"]
    client = app.test_client()
    token = ""
    if actor != "signed_out":
        assert sign_in(client, f"{actor}@example.org").status_code == 302
        token = form_data(client.get("/staff/"), 0)["csrf_token"]
    column = ACTORS.index(actor)
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    order = sorted(ROUTES, key=lambda key: (key[0] in LAST, LAST.index(key[0]) if key[0] in LAST else 0, key[1] == "POST"))
    wrong = []
    for endpoint, method in order:
        expected = ROUTES[(endpoint, method)][column]
        with app.test_request_context():
            url = url_for(endpoint, **{name: world["args"][name] for name in rules[endpoint].arguments})
        before = snapshot(db) if expected in (LOGIN, 403, 404) else None
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" and token else None)
        got = response.status_code
        if got == 302 and "/staff/login" in response.headers.get("Location", "") and endpoint != "facilitation.logout":
            got = LOGIN
        if got != expected:
            wrong.append(f"{method} {url} ({endpoint}): expected {expected}, got {got}")
        elif before is not None:
            after = snapshot(db)
            changed = [table for table in before if before[table] != after[table] and table != "audit_log"]
            if changed:
                wrong.append(f"{method} {url} ({endpoint}) was refused but changed {changed}")
    assert wrong == []


def listed(client, url: str) -> set[str]:
    """Return the join codes shown in a page's table of sessions."""
    from tests.conftest import page

    return {cell.get_text(strip=True) for cell in page(client.get(url)).select("table.data td")
            if cell.get_text(strip=True).isalnum() and cell.get_text(strip=True).isupper()}


@pytest.mark.parametrize("actor,sees", [
    ("admin", {"session", "theirs"}), ("owner", {"session"}), ("facilitator", {"session"}), ("planner", {"session"}),
    ("other_facilitator", {"theirs"}), ("other_planner", set()),
])
def test_session_lists_show_only_the_sessions_one_may_see(world, actor, sees):
    """The dashboard and the review index list exactly the sessions this actor may see."""
    client = world["app"].test_client()
    sign_in(client, f"{actor}@example.org")
    codes = {world[name]["code"] for name in sees}
    everything = {world["session"]["code"], world["theirs"]["code"]}
    for url in ("/staff/", "/staff/review/"):
        assert listed(client, url) & everything == codes, url
