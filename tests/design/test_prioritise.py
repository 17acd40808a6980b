"""Prioritise questions: dot voting, ranking and a points budget, without JavaScript, with clear errors and live results."""
import json

import pytest

from facilitation import live_queries as lq
from listening import queries
from tests.conftest import form_data, page, text_of
from tests.factories import count, make_session, user_id

OPTIONS = ["Rides", "Food", "Doulas", "Childcare"]


@pytest.fixture
def resident(client, db):
    """A resident in a session with a dots (5), a ranking (top 3) and a budget (100) question."""
    found = make_session(db, prompts=[{"kind": k, "text": f"{k} question", "options": OPTIONS} for k in ("dots", "rank", "budget")])
    client.get(f"/j/{found['code']}")
    shown = client.get(f"/s/{found['code']}/consent")
    client.post(f"/s/{found['code']}/consent", data={**form_data(shown), "action": "agree", "take_part": "y"})
    client.s = found
    client.prompts = queries.prompts_for_session(db, found["id"])
    return client


def post(client, number, fields):
    """Post question `number`'s form with its hidden fields and `fields`."""
    url = f"/s/{client.s['code']}/q/{number}"
    data = form_data(client.get(url))
    data.update(fields)
    data.setdefault("action", "next")
    return client.post(url, data=data)


def test_dots_are_number_boxes_labelled_by_choice(resident):
    """Dot voting shows one labelled number box per choice, within the dots each person has."""
    soup = page(resident.get(f"/s/{resident.s['code']}/q/1"))
    boxes = soup.select("#choices input[type=number]")
    assert [soup.find("label", attrs={"for": b["id"]}).get_text(strip=True) for b in boxes] == [f"{o} [en]" for o in OPTIONS]
    assert all(b["max"] == "5" for b in boxes)
    assert "You have 5 dots." in soup.find(id="answer-hint").get_text()


def test_several_dots_on_one_choice_are_stored_and_counted(resident, db):
    """Three dots on one choice and two on another are kept as five entries and count as 3 and 2."""
    rides, food = resident.prompts[0]["options"][0]["id"], resident.prompts[0]["options"][1]["id"]
    response = post(resident, 1, {f"answer-{rides}": "3", f"answer-{food}": "2"})
    assert response.status_code == 302
    stored = json.loads(db.execute("SELECT choices FROM responses").fetchone()[0])
    assert sorted(stored) == sorted([rides] * 3 + [food] * 2)
    bars = lq.tallies(resident.prompts[0], queries.responses_for_session(db, resident.s["id"]))
    assert [(b["key"], b["count"]) for b in bars][:2] == [(rides, 3), (food, 2)]


@pytest.mark.parametrize("number,fields,message", [
    (1, {"answer-OPT0": "4", "answer-OPT1": "3"}, "You placed 7 dots, but you have 5. Please take some off."),
    (1, {"answer-OPT0": "-1"}, "Please use whole numbers: 0 or more in each box."),
    (3, {"answer-OPT0": "80", "answer-OPT1": "30"}, "Your points add up to 110, more than the 100 you have. Please take some off."),
    (2, {"answer-1": "OPT0", "answer-2": "OPT0"}, "You chose “Rides [en]” more than once. Each choice can have only one place."),
    (2, {"answer-2": "OPT1"}, "Please fill the places in order, starting with your first choice."),
])
def test_bad_allocations_are_refused_with_a_clear_error_and_change_nothing(resident, db, number, fields, message):
    """Over budget, negative, a choice ranked twice or a gap in the places: a translated error, nothing stored."""
    options = resident.prompts[number - 1]["options"]
    filled = {k.replace("OPT0", str(options[0]["id"])).replace("OPT1", str(options[1]["id"])):
              v.replace("OPT0", str(options[0]["id"])).replace("OPT1", str(options[1]["id"])) for k, v in fields.items()}
    response = post(resident, number, filled)
    assert response.status_code == 400
    assert message in text_of(response)
    assert count(db, "responses") == 0


def test_ranking_keeps_the_order_and_live_results_show_borda_and_first_choices(resident, db):
    """A top-three ranking is stored in order; the results give Borda points and first-choice counts."""
    ids = [o["id"] for o in resident.prompts[1]["options"]]
    assert post(resident, 2, {"answer-1": str(ids[2]), "answer-2": str(ids[0]), "answer-3": str(ids[1])}).status_code == 302
    assert json.loads(db.execute("SELECT choices FROM responses").fetchone()[0]) == [ids[2], ids[0], ids[1]]
    bars = lq.tallies(resident.prompts[1], queries.responses_for_session(db, resident.s["id"]))
    assert [(b["key"], b["count"], b["first"]) for b in bars][:3] == [(ids[2], 4, 1), (ids[0], 3, 0), (ids[1], 2, 0)]
    again = page(resident.get(f"/s/{resident.s['code']}/q/2"))
    assert again.select_one("#answer-1 option[selected]")["value"] == str(ids[2])


def test_the_same_budget_form_sent_twice_is_stored_once(resident, db):
    """A double tap on the budget form stores one answer."""
    ids = [o["id"] for o in resident.prompts[2]["options"]]
    url = f"/s/{resident.s['code']}/q/3"
    data = {**form_data(resident.get(url)), f"answer-{ids[0]}": "60", f"answer-{ids[3]}": "40", "action": "next"}
    assert resident.post(url, data=data).status_code == 302
    assert resident.post(url, data=data).status_code == 302
    assert count(db, "responses") == 1
    assert len(json.loads(db.execute("SELECT choices FROM responses").fetchone()[0])) == 100


def test_facilitator_adds_a_top_three_ranking(as_facilitator, db, make_user):
    """The builder adds a ranking question with its places setting; an out-of-range setting is refused."""
    found = make_session(db, status="draft", prompts=[], created_by=user_id(db, make_user("facilitator")))
    url = f"/staff/sessions/{found['id']}/prompts/new"
    data = {**form_data(as_facilitator.get(url)), "kind": "rank", "points": "3", "text_en": "Order these",
            "options_en": "A\nB\nC\nD"}
    assert as_facilitator.post(url, data=data).status_code == 302
    prompt = queries.prompts_for_session(db, found["id"])[0]
    assert (prompt["kind"], prompt["points"], len(prompt["options"])) == ("rank", 3, 4)
    data["kind"], data["points"] = "dots", "50"
    response = as_facilitator.post(url, data={**form_data(as_facilitator.get(url)), **{k: v for k, v in data.items() if k != "csrf_token"}})
    assert response.status_code == 400
    assert "For this kind of question, use a number from 1 to 20." in text_of(response)


@pytest.mark.parametrize("current", [0, 1, 2])
def test_staff_pages_projector_and_exports_work_with_prioritise_answers(as_facilitator, db, make_user, current):
    """With answers to each prioritise kind, the console, projector, answers, review pages and every export answer 200."""
    from tests.conftest import download
    from tests.factories import make_participant

    found = make_session(db, mode="live", created_by=user_id(db, make_user("facilitator")),
                         prompts=[{"kind": k, "text": f"{k} question", "options": OPTIONS} for k in ("dots", "rank", "budget")])
    prompts = queries.prompts_for_session(db, found["id"])
    for i in range(3):
        person = make_participant(db, found)
        ids = [o["id"] for o in prompts[0]["options"]]
        for prompt, choices in zip(prompts, ([ids[0]] * 3 + [ids[1]] * 2, [o["id"] for o in prompts[1]["options"]][:3],
                                             [prompts[2]["options"][0]["id"]] * 100)):
            queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce=f"n-{i}-{prompt['id']}", language="en", choices=choices)
    db.execute("UPDATE sessions SET current_prompt_id = ?, answering_open = 1 WHERE id = ?", (prompts[current]["id"], found["id"]))
    db.conn.commit()
    sid = found["id"]
    for url in (f"/staff/sessions/{sid}/answers", f"/staff/sessions/{sid}/live/panel", f"/staff/sessions/{sid}/projector/panel",
                f"/staff/sessions/{sid}/entry", f"/staff/review/{sid}", f"/staff/review/{sid}/heard"):
        assert as_facilitator.get(url).status_code == 200, url
    for fmt in ("html", "md", "docx", "csv", "xlsx", "json"):
        assert download(as_facilitator, sid, fmt).status_code == 200, fmt
    if current == 1:
        soup = page(as_facilitator.get(f"/staff/sessions/{sid}/projector/panel"))
        assert "Ranked by points" in soup.get_text()


@pytest.mark.parametrize("older", [3, 10])
def test_review_shows_priorities_overall_and_by_segment_hiding_small_segments(as_planner, db, make_user, older):
    """Planners see dot totals overall; a segment under 10 people, and one that would reveal it, show only the mark."""
    from tests.factories import make_participant

    found = make_session(db, created_by=user_id(db, make_user("planner")), prompts=[
        {"kind": "about", "text": "Age?", "demographic": "age", "options": ["Under 30", "30 or older"]},
        {"kind": "dots", "text": "Dots", "options": OPTIONS}])
    about, dots = queries.prompts_for_session(db, found["id"])
    for i in range(11 + older):
        person = make_participant(db, found)
        young = i < 11
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=about["id"], nonce=f"a-{i}",
                              language="en", choices=[about["options"][0 if young else 1]["id"]])
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=dots["id"], nonce=f"d-{i}",
                              language="en", choices=[dots["options"][0 if young else 1]["id"]] * 5)
    soup = page(as_planner.get(f"/staff/review/{found['id']}/opinions"))
    section = soup.find(id=f"prio-{dots['id']}").parent
    overall = {r.find_all("td")[0].get_text(strip=True): r.find_all("td")[1].get_text(strip=True)
               for r in section.find_all("table")[0].find("tbody").find_all("tr")}
    assert overall["Rides [en]"] == "55" and overall["Food [en]"] == str(5 * older)
    heads = [th.get_text(strip=True) for th in section.find_all("table")[1].find("thead").find_all("th")]
    first_row = [td.get_text(strip=True) for td in section.find_all("table")[1].find("tbody").find_all("tr")[0].find_all("td")]
    if older == 3:
        # 3 people over 30 are too few; 11 under 30 would give the 3 away from the 14 who answered.
        assert heads[1:] == ["Under 30 [en] (*)", "30 or older [en] (*)", "Prefer not to say (0)"]
        assert first_row == ["Rides [en]", "*", "*", "*"]
    else:
        assert heads[1:] == ["Under 30 [en] (11)", "30 or older [en] (10)", "Prefer not to say (0)"]
        assert first_row == ["Rides [en]", "100%", "0%", "*"]


def test_review_hides_a_small_first_choice_count_as_the_report_does(as_planner, db, make_user):
    """Twelve people rank; one puts Food first: the opinions page shows neither Food's 1 nor Rides' 11 (12 − 11 = 1),
    as the report's First choice column does not."""
    from tests.factories import make_participant

    found = make_session(db, created_by=user_id(db, make_user("planner")),
                         prompts=[{"kind": "rank", "text": "Rank", "options": OPTIONS}])
    rank = queries.prompts_for_session(db, found["id"])[0]
    ids = [o["id"] for o in rank["options"]]
    for i in range(12):
        person = make_participant(db, found)
        queries.save_response(db, session_id=found["id"], participant_id=person.id, prompt_id=rank["id"], nonce=f"r-{i}",
                              language="en", choices=[ids[1], ids[0], ids[2]] if i == 0 else ids[:3])
    section = page(as_planner.get(f"/staff/review/{found['id']}/opinions")).find(id=f"prio-{rank['id']}").parent
    firsts = {r.find_all("td")[0].get_text(strip=True): r.find_all("td")[3].get_text(strip=True)
              for r in section.find("table").find("tbody").find_all("tr")}
    assert firsts["Food [en]"] == "*" and firsts["Rides [en]"] == "*"
    assert firsts["Doulas [en]"] == "0"


def test_a_residents_budget_hint_and_error_write_the_points_the_readers_way(client, db):
    """A 1,000-point budget reads "1,000" in English and "1.000" in Spanish, in the hint and in the error."""
    found = make_session(db, languages=["en", "es"], prompts=[{"kind": "budget", "text": "Share", "options": OPTIONS}])
    db.execute("UPDATE prompts SET points = 1000 WHERE session_id = ?", (found["id"],))
    db.conn.commit()
    client.get(f"/j/{found['code']}")
    shown = client.get(f"/s/{found['code']}/consent")
    client.post(f"/s/{found['code']}/consent", data={**form_data(shown), "action": "agree", "take_part": "y"})
    options = queries.prompts_for_session(db, found["id"])[0]["options"]
    url = f"/s/{found['code']}/q/1"
    assert "You have 1,000 points to share." in page(client.get(url)).find(id="answer-hint").get_text()
    refused = client.post(url, data={**form_data(client.get(url)), "action": "next",
                                     f"answer-{options[0]['id']}": "900", f"answer-{options[1]['id']}": "200"})
    assert "Your points add up to 1,100, more than the 1,000 you have." in text_of(refused)
    client.get(url + "?lang=es")
    assert "1.000" in page(client.get(url)).find(id="answer-hint").get_text()
