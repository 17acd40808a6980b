"""A campaign's long work off the request (issue 19): above CHORUS_JOBS_THRESHOLD answers over its sessions,
its pooled theme run, its report and its "who was heard" counts are background jobs on the same job page as
a session's, one at a time per campaign, cancellable, audited, and only for staff who see every session a
job counts: a partner never sees another partner's job, nor the backbone's."""
from __future__ import annotations

import re

import pytest

from listening import campaigns, jobs, queries
from listening.db import connect
from tests.campaigns.test_campaigns import about_world, backbone_job, world  # noqa: F401 - the campaign fixture
from tests.conftest import PASSWORD, form_data, migrated_app, page, sign_in, text_of
from tests.factories import make_participant


def big_app(world, **config):
    """An app on the campaign's database where every campaign counts as big (jobs inline unless `queued`)."""
    return migrated_app(world["app"].config["DATABASE"], JOBS_THRESHOLD=0, **config)


def client_of(app, actor: str, language: str | None = None):
    """Return a client signed in as `actor` and its CSRF token (pages in `language` if given)."""
    client = app.test_client()
    assert sign_in(client, f"{actor}@example.org", PASSWORD).status_code == 302
    if language:
        client.get(f"/staff/?lang={language}")
    return client, form_data(client.get("/staff/"), 0)["csrf_token"]


def job_of(response) -> int:
    """Return the job id a start redirected to."""
    assert response.status_code == 303, response.status_code
    found = re.search(r"/jobs/(\d+)$", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def answered(world) -> None:
    """Give the campaign's open bank question answers in both partners' sessions."""
    db = world["db"]
    question = campaigns.bank_question(db, world["cid"], world["question"])
    words = ["the bus never comes on time", "bus routes are too far", "we need a bus to the clinic",
             "doulas helped me so much", "a doula stayed with me", "my doula explained everything"] * 3
    prompts = {key: campaigns.copy_into_session(db, question, found) for key, found in world["sessions"].items()}
    for n, text in enumerate(words):
        key = "a" if n % 2 else "b"
        person = make_participant(db, world["sessions"][key])
        queries.save_response(db, session_id=world["sessions"][key]["id"], participant_id=person.id, prompt_id=prompts[key],
                              nonce=f"j{n}", text=text, language="en")


def audit_actions(db, job_id: int) -> list[str]:
    """Return the audit log's actions that name this job, oldest first."""
    return [r[0] for r in db.execute("SELECT action, detail FROM audit_log ORDER BY id") if re.search(rf"\bjob={job_id}\b", r[1] or "")]


def test_a_big_campaigns_theme_run_is_a_job_whose_page_says_it_finished(world):
    """The backbone's "Draft themes" over a big campaign becomes a job; its page links to the themes; all is audited."""
    answered(world)
    client, token = client_of(big_app(world, JOBS_IMMEDIATE=True), "bb_planner")
    response = client.post(f"/staff/campaigns/{world['cid']}/themes", data={"csrf_token": token, "question": world["question"]})
    job_id = job_of(response)
    job = jobs.job_by_id(world["db"], job_id)
    assert (job["state"], job["kind"], job["campaign_id"], job["session_id"]) == ("done", "campaign_themes", world["cid"], None)
    assert job["result"]["themes"] >= 1 and job["progress"] == job["total"] > 1
    shown = client.get(response.headers["Location"])
    assert "Finished" in text_of(shown) and page(shown).find("a", string="See the themes") is not None
    assert audit_actions(world["db"], job_id) == ["job_queued", "campaign_themes_run", "job_done"]
    target = world["db"].execute("SELECT target FROM audit_log WHERE action = 'job_queued'").fetchone()[0]
    assert target == "campaign:guilford-2027"


def test_a_queued_campaign_job_shows_its_progress_without_javascript(world):
    """While the job waits and runs, its page shows a progress bar and a "Check again" form; the runner moves the bar."""
    app = big_app(world)
    client, token = client_of(app, "bb_facilitator")
    url = client.post(f"/staff/campaigns/{world['cid']}/heard", data={"csrf_token": token}).headers["Location"]
    job_id = int(url.rsplit("/", 1)[1])
    shown = page(client.get(url))
    assert shown.find("progress") is not None and shown.find("button", string="Check again") is not None
    assert "Waiting to start" in shown.get_text()
    seen = []
    original = jobs.Context.report

    def watch(self, done, total, **kwargs):
        """Record every progress report as the page would read it."""
        original(self, done, total, **kwargs)
        seen.append(tuple(world["db"].execute("SELECT progress, total FROM jobs WHERE id = ?", (job_id,)).fetchone()))

    with app.app_context():
        jobs.Context.report = watch
        try:
            assert jobs.execute(connect(app.config["DATABASE"]), job_id) == "done"
        finally:
            jobs.Context.report = original
    assert seen and all(total > 0 for _done, total in seen)
    heard = text_of(client.get(f"/staff/campaigns/{world['cid']}/heard"))
    assert "Count who was heard" not in heard and "Where to listen next" in heard


def test_a_partner_cannot_see_another_partners_campaign_job(world):
    """Partner A's job over A's session is A's staff's and the backbone's to follow; partner B and outsiders get 404."""
    app = big_app(world)
    client, token = client_of(app, "a_facilitator")
    job_id = job_of(client.post(f"/staff/campaigns/{world['cid']}/heard", data={"csrf_token": token}))
    assert jobs.job_session_ids(world["db"], job_id) == [world["sessions"]["a"]["id"]]
    url = f"/staff/campaigns/{world['cid']}/jobs/{job_id}"
    answers = {}
    for actor in ("a_facilitator", "a_planner", "b_facilitator", "bb_facilitator", "admin", "other_campaign"):
        other, other_token = client_of(app, actor)
        answers[actor] = (other.get(url).status_code,
                          other.post(f"{url}/cancel", data={"csrf_token": other_token}).status_code
                          if actor in ("b_facilitator", "other_campaign") else None)
    assert answers == {"a_facilitator": (200, None), "a_planner": (200, None), "b_facilitator": (404, 404),
                       "bb_facilitator": (200, None), "admin": (200, None), "other_campaign": (404, 404)}
    assert jobs.job_by_id(world["db"], job_id)["state"] == "queued"
    # Partner A's export page points to its running job; partner B's does not even say one runs.
    b_client, _ = client_of(app, "b_facilitator")
    assert page(client.get(f"/staff/campaigns/{world['cid']}/export")).find("a", string="See its progress") is not None
    assert "long task" not in text_of(b_client.get(f"/staff/campaigns/{world['cid']}/export"))
    # The backbone's job (over both partners' sessions) is not a partner's to see.
    a_client, _ = client_of(app, "a_facilitator")
    assert a_client.get(f"/staff/campaigns/{world['cid']}/jobs/{world['job']}").status_code == 404


def test_a_partners_download_is_refused_to_anyone_but_its_starter(world):
    """Partner A's staff may follow A's export job, but only its starter downloads the file."""
    app = big_app(world, JOBS_IMMEDIATE=True)
    client, token = client_of(app, "a_planner")
    response = client.post(f"/staff/campaigns/{world['cid']}/export", data={"csrf_token": token, "format": "md", "language": "en"})
    url = response.headers["Location"]
    job_id = job_of(response)
    got = client.post(f"{url}/download", data={"csrf_token": token})
    body = got.data
    got.close()
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store" and b"Healthy babies" in body
    colleague, colleague_token = client_of(app, "a_facilitator")
    assert colleague.post(f"{url}/download", data={"csrf_token": colleague_token}).status_code == 403
    b_client, b_token = client_of(app, "b_facilitator")
    assert b_client.post(f"{url}/download", data={"csrf_token": b_token}).status_code == 404
    assert jobs.job_by_id(world["db"], job_id)["params"] == {"format": "md", "language": "en", "partner_id": world["partners"]["a"],
                                                             "standing": "partner", "with_themes": False}


@pytest.mark.parametrize("language, message", [("en", "Another long task is running on this campaign."),
                                               ("es", "Hay otra tarea larga en curso en esta campaña.")])
def test_a_second_campaign_job_while_one_waits_is_refused_with_a_translated_message(world, language, message):
    """One job at a time per campaign: a theme run asked for while the count waits is refused, in the page's language."""
    app = big_app(world)
    client, token = client_of(app, "bb_facilitator", language)
    job_of(client.post(f"/staff/campaigns/{world['cid']}/heard", data={"csrf_token": token}))
    refused = client.post(f"/staff/campaigns/{world['cid']}/themes", data={"csrf_token": token, "question": world["question"]},
                          follow_redirects=True)
    assert message in text_of(refused)
    assert world["db"].execute("SELECT count(*) FROM jobs WHERE campaign_id = ? AND state = 'queued'",
                               (world["cid"],)).fetchone()[0] == 1


def test_cancelling_a_campaign_job_means_it_never_runs(world):
    """A queued campaign theme run cancelled from its page ends cancelled, writes no themes, and can be started again."""
    answered(world)
    app = big_app(world)
    client, token = client_of(app, "bb_facilitator")
    response = client.post(f"/staff/campaigns/{world['cid']}/themes", data={"csrf_token": token, "question": world["question"]})
    url, job_id = response.headers["Location"], job_of(response)
    assert client.post(f"{url}/cancel", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        assert jobs.execute(connect(app.config["DATABASE"]), job_id) == "cancelled"
    assert world["db"].execute("SELECT count(*) FROM campaign_themes").fetchone()[0] == 0
    shown = page(client.get(url))
    assert "Cancelled" in shown.get_text() and shown.find("button", string="Start again") is not None
    again = job_of(client.post(f"{url}/restart", data={"csrf_token": token}))
    assert jobs.job_by_id(world["db"], again)["restart_of"] == job_id
    assert audit_actions(world["db"], job_id)[:2] == ["job_queued", "job_cancelled"]


def test_a_withdrawal_deletes_a_campaign_export_file_that_counts_the_session(world):
    """A withdrawal in one of its sessions deletes a campaign export's file (and a "who was heard" count) at once."""
    app = big_app(world, JOBS_IMMEDIATE=True)
    client, token = client_of(app, "bb_facilitator")
    export = job_of(client.post(f"/staff/campaigns/{world['cid']}/export",
                                data={"csrf_token": token, "format": "codebook", "language": "en"}))
    heard = job_of(client.post(f"/staff/campaigns/{world['cid']}/heard", data={"csrf_token": token}))
    assert jobs.export_path(app.config, export).exists() and jobs.export_path(app.config, heard).exists()
    person = make_participant(world["db"], world["sessions"]["b"])
    queries.withdraw_for(world["db"], person.id, reason="in_person", by_user=world["ids"]["admin"])
    assert not jobs.export_path(app.config, export).exists() and not jobs.export_path(app.config, heard).exists()
    url = f"/staff/campaigns/{world['cid']}/jobs/{export}"
    assert "no longer kept" in text_of(client.post(f"{url}/download", data={"csrf_token": token}, follow_redirects=True))
    assert "Count who was heard" in text_of(client.get(f"/staff/campaigns/{world['cid']}/heard"))


def test_a_small_campaign_still_works_in_the_request(world):
    """Below the threshold the report downloads at once and no job is made."""
    client, token = client_of(migrated_app(world["app"].config["DATABASE"], JOBS_THRESHOLD=5000), "bb_planner")
    response = client.post(f"/staff/campaigns/{world['cid']}/export", data={"csrf_token": token, "format": "md", "language": "en"})
    assert response.status_code == 200
    assert world["db"].execute("SELECT count(*) FROM jobs WHERE campaign_id IS NOT NULL AND id != ?",
                               (world["job"],)).fetchone()[0] == 0


def test_an_interrupted_campaign_export_leaves_no_partial_file_and_starts_again(world):
    """After a crash the consumer marks the export interrupted and deletes its partial file; "Start again" makes it anew."""
    app = big_app(world, JOBS_IMMEDIATE=True)
    db = world["db"]
    job_id = backbone_job(db, world["cid"], world["ids"]["bb_facilitator"], [s["id"] for s in world["sessions"].values()],
                          kind="campaign_export",
                          params='{"format": "md", "language": "en", "with_themes": true, "standing": "backbone", "partner_id": null}')
    with db.conn:
        db.execute("UPDATE jobs SET state = 'running', finished = NULL WHERE id = ?", (job_id,))
    jobs.export_path(app.config, job_id).write_bytes(b"half a report")
    assert jobs.recover(db) == [job_id]
    assert not jobs.export_path(app.config, job_id).exists()
    client, token = client_of(app, "bb_facilitator")
    url = f"/staff/campaigns/{world['cid']}/jobs/{job_id}"
    assert "Interrupted" in text_of(client.get(url))
    again = job_of(client.post(f"{url}/restart", data={"csrf_token": token}))
    assert jobs.job_by_id(db, again)["state"] == "done" and jobs.export_path(app.config, again).exists()
    assert jobs.job_session_ids(db, again) == sorted(s["id"] for s in world["sessions"].values())


def test_a_counted_who_was_heard_says_when_answers_arrived_since(world):
    """The page shows the job's count; after a new answer it still shows it, says it is older, and offers "Count again"."""
    app = big_app(world, JOBS_IMMEDIATE=True)
    client, token = client_of(app, "bb_planner")
    assert "Count who was heard" in text_of(client.get(f"/staff/campaigns/{world['cid']}/heard"))
    job_of(client.post(f"/staff/campaigns/{world['cid']}/heard", data={"csrf_token": token}))
    fresh = text_of(client.get(f"/staff/campaigns/{world['cid']}/heard"))
    assert "Count again" not in fresh and "Count who was heard" not in fresh
    answered(world)
    later = page(client.get(f"/staff/campaigns/{world['cid']}/heard"))
    assert "Answers arrived or something changed since." in later.get_text()
    assert later.find("button", string="Count again") is not None


def test_a_purge_deletes_campaign_files_that_count_the_session_and_keeps_the_others(world):
    """A retention purge of partner B's session deletes the backbone's file (it counts B) but not partner A's."""
    from listening import retention

    answered(world)
    app = big_app(world, JOBS_IMMEDIATE=True)
    bb, bb_token = client_of(app, "bb_facilitator")
    a, a_token = client_of(app, "a_facilitator")
    both = job_of(bb.post(f"/staff/campaigns/{world['cid']}/export", data={"csrf_token": bb_token, "format": "md", "language": "en"}))
    only_a = job_of(a.post(f"/staff/campaigns/{world['cid']}/export", data={"csrf_token": a_token, "format": "md", "language": "en"}))
    assert retention.purge_session(world["db"], world["sessions"]["b"]["id"], reason="test") is not None
    assert not jobs.export_path(app.config, both).exists()
    assert jobs.export_path(app.config, only_a).exists()


class Killed(BaseException):
    """The consumer's process dies."""


def campaign_run_killed_before_writing(world, monkeypatch) -> tuple:
    """Start a campaign theme run in a queued app and kill its process after the engine, before the write; return
    (app, job id)."""
    from analysis.review import campaign_queries

    answered(world)
    app = big_app(world)
    client, token = client_of(app, "bb_planner")
    job_id = job_of(client.post(f"/staff/campaigns/{world['cid']}/themes", data={"csrf_token": token,
                                                                                  "question": world["question"]}))

    def dying(*args, **kwargs):
        """The process dies where the run reads the stored themes, just before its one write."""
        raise Killed()

    monkeypatch.setattr(campaign_queries, "_theme_members", dying)
    db = connect(app.config["DATABASE"])
    with app.app_context(), pytest.raises(Killed):
        jobs.execute(db, job_id)
    monkeypatch.undo()
    assert jobs.job_by_id(world["db"], job_id)["state"] == "running"
    return app, job_id


def test_a_campaign_run_killed_before_its_write_continues_with_what_the_engine_found(world, monkeypatch):
    """After a restart the campaign's run writes the themes its engine had found (kept in its file) without running
    the engine again, as it would have; its file is gone afterwards."""
    import analysis.themes
    from listening import erasures

    app, job_id = campaign_run_killed_before_writing(world, monkeypatch)
    assert erasures.checkpoint_file(app.config["DATABASE"], job_id).exists()
    calls = []
    real = analysis.themes.find_themes
    monkeypatch.setattr(analysis.themes, "find_themes", lambda *a, **k: calls.append(1) or real(*a, **k))
    db = world["db"]
    with app.test_request_context():
        assert jobs.recover(db) == [job_id]
        assert jobs.execute(db, job_id) == "done"
    assert calls == [] and jobs.job_by_id(db, job_id)["checkpoint"]["outcome"] == "continued"
    assert jobs.job_by_id(db, job_id)["result"]["themes"] >= 1
    assert db.execute("SELECT count(*) FROM campaign_theme_answers").fetchone()[0] == 18
    assert not erasures.checkpoint_file(app.config["DATABASE"], job_id).exists()


def test_a_campaign_run_whose_answers_changed_meanwhile_starts_again(world, monkeypatch):
    """A new answer while the consumer was down: the kept result no longer covers the campaign, so the engine runs
    again over the answers as they are."""
    import analysis.themes

    app, job_id = campaign_run_killed_before_writing(world, monkeypatch)
    db = world["db"]
    session = world["sessions"]["a"]
    prompt = db.execute("SELECT id FROM prompts WHERE session_id = ? AND kind = 'open' ORDER BY id DESC LIMIT 1",
                        (session["id"],)).fetchone()[0]
    person = make_participant(db, session)
    queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt, nonce="late",
                          text="the bus should run at night", language="en")
    calls = []
    real = analysis.themes.find_themes
    monkeypatch.setattr(analysis.themes, "find_themes", lambda *a, **k: calls.append(1) or real(*a, **k))
    with app.test_request_context():
        assert jobs.recover(db) == [job_id]
        assert jobs.execute(db, job_id) == "done"
    assert calls == [1] and jobs.job_by_id(db, job_id)["checkpoint"]["outcome"] == "again"
    assert jobs.job_by_id(db, job_id)["result"]["themes"] >= 1
