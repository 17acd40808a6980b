"""Planners review draft themes: run, rename, merge, split, move, off-topic, review, insights, history."""
from __future__ import annotations

import json

import pytest

from analysis import assemble
from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import queries
from tests.conftest import page, sign_in, submit
from tests.factories import high_ids


def themes_of(db, session_id):
    """Return the session's active themes keyed by label."""
    return {t["label"]: t for t in synthesis.active_themes(db, session_id) if t["kind"] == "theme"}


def members(db, session_id, theme_id):
    """Return the answer ids in a theme."""
    return synthesis.current_members(db, session_id).get(theme_id, set())


def test_running_the_engine_from_the_page_shows_draft_themes(client, heard, db):
    """A planner runs the engine; every theme shows a size, quotes and a visible draft mark."""
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/review/{heard.session['id']}"
    response = submit(client, f"{url}/run", get_url=url, form_index=1)
    assert response.status_code == 303
    shown = page(client.get(url))
    cards = shown.select("article.theme-card")
    assert len(cards) >= 2
    assert all(card.select_one(".badge.draft") for card in cards)
    quotes = [q.get_text(strip=True) for q in shown.select("article.theme-card blockquote")]
    assert quotes and all(q in heard.quotable for q in quotes)
    answers = page(client.get(f"{url}?theme={themes_of(db, heard.session['id']).popitem()[1]['id']}")).select(".open-answers li")
    assert answers


def test_hidden_and_withdrawn_answers_are_never_themed(themed, db):
    """Neither a hidden answer nor a withdrawn resident's answer is part of the synthesis."""
    stored = synthesis.load(db, themed.session["id"])
    texts = {a["text"] for a in stored.answers}
    assert themed.hidden not in texts and themed.withdrawn not in texts
    assert len(stored.assignments) == len(themed.quotable) + len(themed.unquotable)


def test_renamed_reviewed_and_moved_survive_a_rerun(themed, db):
    """Re-running keeps a person's label, reviewed mark and moved answers where they put them."""
    sid, uid = themed.session["id"], themed.planner_id
    first, second = list(themes_of(db, sid).values())[:2]
    synthesis.rename_theme(db, sid, first["id"], "Getting there", user_id=uid)
    synthesis.set_reviewed(db, sid, first["id"], True, user_id=uid)
    moved = sorted(members(db, sid, second["id"]))[0]
    synthesis.move_answer(db, sid, moved, first["id"], user_id=uid)
    kept = members(db, sid, first["id"])
    synthesis.run_themes(db, sid, user_id=uid)
    after = themes_of(db, sid)
    assert "Getting there" in after and after["Getting there"]["id"] == first["id"]
    assert after["Getting there"]["reviewed"]
    assert kept <= members(db, sid, first["id"])
    assert moved in members(db, sid, first["id"])


def test_merge_split_recluster_and_off_topic(themed, db):
    """Merging joins two themes; a split by choosing answers or by re-clustering makes new ones; off-topic leaves themes."""
    sid, uid = themed.session["id"], themed.planner_id
    themes = list(themes_of(db, sid).values())
    a, b = themes[0], themes[1]
    together = members(db, sid, a["id"]) | members(db, sid, b["id"])
    synthesis.merge_themes(db, sid, a["id"], b["id"], user_id=uid)
    assert members(db, sid, a["id"]) == together
    assert synthesis.theme_in_session(db, sid, b["id"]) is None
    chosen = sorted(together)[:2]
    new_id = synthesis.new_theme(db, sid, "Chosen by hand", user_id=uid, response_ids=chosen)
    assert members(db, sid, new_id) == set(chosen)
    created = synthesis.split_by_reclustering(db, sid, a["id"], user_id=uid)
    assert len(created) >= 2 and synthesis.theme_in_session(db, sid, a["id"]) is None
    assert set().union(*(members(db, sid, t) for t in created)) == together - set(chosen)
    synthesis.move_answer(db, sid, chosen[0], None, user_id=uid, off_topic=True)
    assert db.execute("SELECT status FROM theme_assignments WHERE response_id = ?", (chosen[0],)).fetchone()[0] == "off_topic"
    synthesis.run_themes(db, sid, user_id=uid)
    assert db.execute("SELECT status FROM theme_assignments WHERE response_id = ?", (chosen[0],)).fetchone()[0] == "off_topic"


def test_every_edit_is_recorded_and_shown(client, themed, db):
    """Each decision made through the page is in the history with who made it."""
    sid = themed.session["id"]
    theme = list(themes_of(db, sid).values())[0]
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/review/{sid}?theme={theme['id']}"
    assert submit(client, f"/staff/review/{sid}/edit", {"action": "rename", "theme_id": theme["id"], "label": "Buses",
                                                         "definition": "Getting to care by bus"}, get_url=url, form_index=1).status_code == 303
    assert submit(client, f"/staff/review/{sid}/edit", {"action": "review", "theme_id": theme["id"]},
                  get_url=url, form_index=1).status_code == 303
    assert submit(client, f"/staff/review/{sid}/edit", {"action": "hmw", "theme_id": theme["id"],
                                                         "body": "How might we get families to care without a car?"},
                  get_url=url, form_index=1).status_code == 303
    rows = page(client.get(f"/staff/review/{sid}/history")).select("table.data")[0].select("tbody tr")
    actions = [(r.select("td")[1].get_text(strip=True), r.select("td")[2].get_text(strip=True)) for r in rows]
    assert ("lead@example.org", "Renamed a theme") in actions and ("lead@example.org", "Marked a theme reviewed") in actions
    assert ("lead@example.org", "Wrote a “how might we” statement") in actions
    shown = page(client.get(url))
    assert shown.select_one("#theme-heading .badge.reviewed")


def test_the_history_says_each_decisions_details_in_words_in_the_readers_language(client, themed, db):
    """A run, a rename, a merge, a move and an export read as sentences (in Spanish for a Spanish reader), never as stored JSON."""
    sid, uid = themed.session["id"], themed.planner_id
    first, second = list(themes_of(db, sid).values())[:2]
    synthesis.rename_theme(db, sid, first["id"], "Buses", user_id=uid)
    moved = sorted(members(db, sid, second["id"]))[0]
    synthesis.move_answer(db, sid, moved, first["id"], user_id=uid)
    synthesis.merge_themes(db, sid, first["id"], second["id"], user_id=uid)
    sign_in(client, "lead@example.org", "a long password")
    assert submit(client, f"/staff/review/{sid}/export", {"format": "csv", "language": "es"}, form_index=0).status_code == 200
    english = page(client.get(f"/staff/review/{sid}/history"))
    details = " | ".join(td.get_text(strip=True) for td in english.select("table.data td"))
    assert "{" not in details and "format=" not in details
    assert f"“{first['label']}” to “Buses”" in details
    assert f"Was in “{second['label']}”" in details
    assert f"Merged in: “{second['label']}”" in details
    assert "CSV · Español" in details
    run = db.execute("SELECT detail FROM theme_edits WHERE session_id = ? AND action = 'run'", (sid,)).fetchone()[0]
    assert f"{json.loads(run)['answers']} answers, {json.loads(run)['themes']} themes" in details
    spanish = " | ".join(td.get_text(strip=True) for td in page(client.get(f"/staff/review/{sid}/history?lang=es")).select("table.data td"))
    assert "{" not in spanish and "answers," not in spanish and "respuestas" in spanish


def test_a_bad_edit_is_refused_clearly_and_changes_nothing(client, themed, db):
    """An empty label or an unknown theme gets a 400 with a message, and nothing changes."""
    sid = themed.session["id"]
    theme = list(themes_of(db, sid).values())[0]
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/review/{sid}?theme={theme['id']}"
    before = db.execute("SELECT count(*) FROM theme_edits").fetchone()[0]
    empty = submit(client, f"/staff/review/{sid}/edit", {"action": "rename", "theme_id": theme["id"], "label": " "},
                   get_url=url, form_index=1)
    unknown = submit(client, f"/staff/review/{sid}/edit", {"action": "review", "theme_id": "999999"},
                     get_url=url, form_index=1)
    assert empty.status_code == 400 and unknown.status_code == 400
    assert page(empty).select_one(".alert").get_text(strip=True)
    assert synthesis.theme_in_session(db, sid, theme["id"])["label"] == theme["label"]
    assert db.execute("SELECT count(*) FROM theme_edits").fetchone()[0] == before


def test_reference_population_and_priority_groups(client, themed, db):
    """A planner enters reference shares and priority groups; a hidden group gets no share, comparison or ranking.

    The fixture's 36 people are 32 under 30 and 4 older: the 4 is hidden, and so is the 32 (it is
    the total minus the 4), so neither share nor an "under-represented" verdict may be shown, and
    a theme whose count from the priority group of 4 is hidden gets no rank.
    """
    sid = themed.session["id"]
    about = themed.prompts[4]
    young, older = about["options"][0], about["options"][1]
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/review/{sid}/heard"
    saved = submit(client, url, {"what": "reference", "prompt_id": about["id"], f"share-{young['id']}": "40",
                                 f"share-{older['id']}": "60", "source": "County, ACS 2023"}, form_index=1)
    assert saved.status_code == 303
    submit(client, url, {"what": "priority", "option_ids": [str(older["id"])]}, form_index=-2)
    shown = page(client.get(url))
    captions = [c.get_text(strip=True) for c in shown.select("table.data caption")]
    assert any("compared with the reference population" in c for c in captions)
    comparison = next(t for t in shown.select("table.data") if "reference population" in t.caption.get_text())
    rows = {r.th.get_text(strip=True): [td.get_text(strip=True) for td in r.select("td")] for r in comparison.select("tbody tr")}
    assert rows["Under 30 [en]"] == ["*", "40%", ""]
    assert rows["30 or older [en]"] == ["*", "60%", ""]
    ranking = next(t for t in shown.select("table.data") if t.caption.get_text(strip=True).startswith("Priority groups"))
    ranked = [[c.get_text(strip=True) for c in r.select("th, td")] for r in ranking.select("tbody tr")]
    assert all(row[0] == "" for row in ranked if row[2] == "*") and any(row[2] == "*" for row in ranked)
    assert all(row[0] == "1" for row in ranked if row[2] != "*")
    too_much = submit(client, url, {"what": "reference", "prompt_id": about["id"], f"share-{young['id']}": "140"}, form_index=1)
    assert too_much.status_code == 303
    assert synthesis.reference_shares(db, sid)[young["id"]]["percent"] == 40


def test_theme_cards_say_which_languages_they_hold(client, heard, db):
    """With answers in two languages, each card names its languages; a one-language theme says so."""
    from tests.factories import make_participant
    from tests.review.conftest import answer

    open_prompt = heard.prompts[0]
    spanish = ["No hay intérprete en la clínica", "Nunca hay intérprete cuando voy al médico",
               "Necesito un intérprete en mis citas", "En la clínica nadie habla español"]
    for round_ in range(4):
        for text in spanish:
            person = make_participant(db, heard.session, language="es", quote_ok=True)
            answer(db, heard.session, person, open_prompt, text=f"{text} ({round_})", language="es")
    synthesis.run_themes(db, heard.session["id"], user_id=heard.planner_id)
    sign_in(client, "lead@example.org", "a long password")
    notes = [p.get_text(strip=True) for p in page(client.get(f"/staff/review/{heard.session['id']}")).select("article.theme-card p.small")]
    assert "Only Spanish answers in this theme." in notes
    assert any(n in ("Only English answers in this theme.", "Answers in English, Spanish.") for n in notes)


def test_one_language_sessions_do_not_label_languages(client, themed):
    """When every answer is in one language, cards do not repeat it."""
    sign_in(client, "lead@example.org", "a long password")
    text = page(client.get(f"/staff/review/{themed.session['id']}")).get_text(" ")
    assert "answers in this theme" not in text and "Answers in" not in text


def _theme_with_both_kinds(db, heard):
    """Return a theme and, among its answers, one consented to quoting and one not."""
    stored = synthesis.load(db, heard.session["id"])
    grouped = assemble.theme_answers(stored)
    for theme in themes_of(db, heard.session["id"]).values():
        answers = grouped.get(theme["id"], [])
        yes = [a for a in answers if a["quote_ok"]]
        no = [a for a in answers if not a["quote_ok"]]
        if len(yes) >= 2 and no:
            return theme, yes, no
    raise AssertionError("the fixture should have a theme with both kinds of answers")


def test_planners_choose_a_themes_quotes_and_reports_use_them(client, themed, db):
    """Quotes a planner chooses replace the engine's picks in reports, survive a re-run and are logged."""
    sid = themed.session["id"]
    theme, yes, _no = _theme_with_both_kinds(db, themed)
    pick = yes[-1]  # the least typical consented answer: not one the engine would pick first
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/review/{sid}?theme={theme['id']}"
    answers_form = next(i for i, f in enumerate(page(client.get(url)).select("main form")) if f.select("input[name=answer_ids]"))
    response = submit(client, f"/staff/review/{sid}/edit", {"action": "quote", "theme_id": theme["id"], "answer_ids": pick["id"]},
                      get_url=url, form_index=answers_form)
    assert response.status_code == 303
    stored = synthesis.load(db, sid)
    quotes = assemble.quotes_for(stored, assemble.theme_answers(stored)[theme["id"]])
    assert [q["id"] for q in quotes] == [pick["id"]]
    synthesis.run_themes(db, sid, user_id=themed.planner_id)
    stored = synthesis.load(db, sid)
    assert [q["id"] for q in assemble.quotes_for(stored, assemble.theme_answers(stored)[theme["id"]])] == [pick["id"]]
    report = reporting.build_report(db, sid, "en")
    shown = next(t for t in report.themes if t.label == theme["label"])
    assert pick["text"] in [q.text for q in shown.quotes]
    assert "chosen as a quote" in page(client.get(url)).get_text(" ")
    actions = [r.select("td")[2].get_text(strip=True) for r in page(client.get(f"/staff/review/{sid}/history")).select("table.data")[0].select("tbody tr")]
    assert "Chose an answer as a quote" in actions


def test_an_answer_without_quote_consent_cannot_be_chosen(client, themed, db):
    """Choosing an answer whose author did not allow quoting is refused with a clear message; nothing changes."""
    sid = themed.session["id"]
    theme, yes, no = _theme_with_both_kinds(db, themed)
    sign_in(client, "lead@example.org", "a long password")
    url = f"/staff/review/{sid}?theme={theme['id']}"
    answers_form = next(i for i, f in enumerate(page(client.get(url)).select("main form")) if f.select("input[name=answer_ids]"))
    response = submit(client, f"/staff/review/{sid}/edit", {"action": "quote", "theme_id": theme["id"], "answer_ids": [yes[0]["id"], no[0]["id"]]},
                      get_url=url, form_index=answers_form)
    assert response.status_code == 400
    assert "Only answers from people who allowed quoting can be quotes. Nothing was changed." in page(response).get_text(" ")
    assert db.execute("SELECT count(*) FROM theme_assignments WHERE session_id = ? AND chosen = 1", (sid,)).fetchone()[0] == 0


def test_a_chosen_quote_moved_to_another_theme_is_no_longer_chosen(themed, db):
    """A quote belongs to its theme: moving the answer away clears the choice, and it cannot be chosen there again."""
    sid, uid = themed.session["id"], themed.planner_id
    theme, yes, _no = _theme_with_both_kinds(db, themed)
    synthesis.choose_quotes(db, sid, theme["id"], [yes[0]["id"]], chosen=True, user_id=uid)
    other = next(t for t in themes_of(db, sid).values() if t["id"] != theme["id"])
    synthesis.move_answer(db, sid, yes[0]["id"], other["id"], user_id=uid)
    assert db.execute("SELECT chosen FROM theme_assignments WHERE response_id = ?", (yes[0]["id"],)).fetchone()[0] == 0
    with pytest.raises(synthesis.QuoteChoiceError):
        synthesis.choose_quotes(db, sid, theme["id"], [yes[0]["id"]], chosen=True, user_id=uid)  # not in this theme now


@pytest.fixture
def theme_ids_above_1000(db):
    """Make the next theme ids start above 1000 (a placeholder theme of a placeholder session), as in a database that
    has run for a while: a comparison written with `is` instead of `==` fails there as it would in production."""
    high_ids(db)
    stamp = queries.now()
    db.execute("INSERT INTO themes (id, session_id, label, created_at, updated_at) VALUES (1000, 1000, 'placeholder', ?, ?)",
               (stamp, stamp))
    db.conn.commit()


def choose(client, sid: int, theme_id: int, answer_ids: list[int], action: str = "quote"):
    """Tick answers on a theme's review page and press "use as quotes" (or "stop using as quotes")."""
    url = f"/staff/review/{sid}?theme={theme_id}"
    answers_form = next(i for i, f in enumerate(page(client.get(url)).select("main form")) if f.select("input[name=answer_ids]"))
    return submit(client, f"/staff/review/{sid}/edit", {"action": action, "theme_id": theme_id, "answer_ids": answer_ids},
                  get_url=url, form_index=answers_form)


def chosen_ids(db, sid: int) -> set[int]:
    """Return the answers chosen as quotes in a session."""
    return {r[0] for r in db.execute("SELECT response_id FROM theme_assignments WHERE session_id = ? AND chosen = 1", (sid,))}


def quote_log(db, sid: int) -> list[tuple[str, int]]:
    """Return the quote choices logged for a session, in order: (action, answer id)."""
    return [tuple(r) for r in db.execute("SELECT action, response_id FROM theme_edits WHERE session_id = ? AND action IN "
                                         "('quote', 'unquote') ORDER BY id", (sid,))]


def test_a_theme_takes_five_chosen_quotes_and_refuses_a_sixth(client, themed, db):
    """A planner can choose up to five quotes for a theme, the fifth too; a sixth is refused with a clear message and
    nothing changes."""
    sid = themed.session["id"]
    theme, yes, _no = _theme_with_both_kinds(db, themed)
    grouped = assemble.theme_answers(synthesis.load(db, sid))
    for other in themes_of(db, sid).values():
        for extra in (a for a in grouped.get(other["id"], []) if a["quote_ok"] and other["id"] != theme["id"]):
            if len(yes) < 6:
                synthesis.move_answer(db, sid, extra["id"], theme["id"], user_id=themed.planner_id)
                yes.append(extra)
    assert len(yes) >= 6
    sign_in(client, "lead@example.org", "a long password")
    assert choose(client, sid, theme["id"], [a["id"] for a in yes[:4]]).status_code == 303
    assert choose(client, sid, theme["id"], [yes[4]["id"]]).status_code == 303
    assert chosen_ids(db, sid) == {a["id"] for a in yes[:5]}
    refused = choose(client, sid, theme["id"], [yes[5]["id"]])
    assert refused.status_code == 400
    assert "A theme can have at most 5 chosen quotes. Nothing was changed." in page(refused).get_text(" ")
    assert chosen_ids(db, sid) == {a["id"] for a in yes[:5]}


def test_only_answers_now_in_this_theme_can_be_its_quotes(client, theme_ids_above_1000, themed, db):
    """Answers of a theme made before or after this one, or set aside as off-topic, cannot be chosen as its quotes
    (a 400, nothing changes); its own consented answers can, also once theme ids pass 256."""
    sid = themed.session["id"]
    grouped = assemble.theme_answers(synthesis.load(db, sid))
    themes = sorted((t for t in themes_of(db, sid).values() if any(a["quote_ok"] for a in grouped.get(t["id"], []))),
                    key=lambda t: t["id"])
    assert len(themes) >= 3 and themes[0]["id"] > 1000
    earlier, theme, later = themes[0], themes[1], themes[-1]
    consented = {t["id"]: [a for a in grouped[t["id"]] if a["quote_ok"]] for t in themes}
    aside = consented[theme["id"]][-1]
    synthesis.move_answer(db, sid, aside["id"], None, user_id=themed.planner_id, off_topic=True)
    sign_in(client, "lead@example.org", "a long password")
    for stranger in (consented[earlier["id"]][0], consented[later["id"]][0], aside):
        refused = choose(client, sid, theme["id"], [consented[theme["id"]][0]["id"], stranger["id"]])
        assert refused.status_code == 400
        assert "Please tick answers from this theme only. Nothing was changed." in page(refused).get_text(" ")
    assert chosen_ids(db, sid) == set() and quote_log(db, sid) == []
    assert choose(client, sid, theme["id"], [consented[theme["id"]][0]["id"]]).status_code == 303
    assert chosen_ids(db, sid) == {consented[theme["id"]][0]["id"]}


def test_choosing_again_or_taking_back_changes_and_logs_only_what_differs(client, themed, db):
    """Choosing an already chosen quote with a new one chooses the new one and logs it once; taking one back un-chooses
    it, logs it, and leaves the other chosen."""
    sid = themed.session["id"]
    theme, yes, _no = _theme_with_both_kinds(db, themed)
    first, second = yes[0]["id"], yes[1]["id"]
    sign_in(client, "lead@example.org", "a long password")
    assert choose(client, sid, theme["id"], [first]).status_code == 303
    assert choose(client, sid, theme["id"], [first, second]).status_code == 303
    assert chosen_ids(db, sid) == {first, second}
    assert quote_log(db, sid) == [("quote", first), ("quote", second)]
    assert choose(client, sid, theme["id"], [first], action="unquote").status_code == 303
    assert chosen_ids(db, sid) == {second}
    assert quote_log(db, sid) == [("quote", first), ("quote", second), ("unquote", first)]


def test_a_choice_naming_no_answer_or_an_unknown_one_is_refused_and_changes_nothing(themed, db):
    """Choosing nothing, or a real answer with one that does not exist, is refused as "not in this theme"."""
    sid = themed.session["id"]
    theme, yes, _no = _theme_with_both_kinds(db, themed)
    for ids in ([], [yes[0]["id"], 99_999_999]):
        with pytest.raises(synthesis.QuoteChoiceError) as refused:
            synthesis.choose_quotes(db, sid, theme["id"], ids, chosen=True, user_id=themed.planner_id)
        assert refused.value.reason == "not_in_theme"
    assert chosen_ids(db, sid) == set() and quote_log(db, sid) == []
