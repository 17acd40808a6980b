"""Staff side of a self-described choice: the question form's setting, the standard race question, and staff entry."""
import json

import pytest

from listening import queries
from tests.conftest import page, submit
from tests.factories import make_session, share, user_id

SETTING = "The last choice lets people describe themselves in their own words"


@pytest.fixture
def draft(db, make_user):
    """An empty draft session in English and Spanish, owned by the facilitator."""
    return make_session(db, status="draft", created_by=user_id(db, make_user("facilitator")), prompts=[])


def new_prompt(client, session, fields):
    """Post the add-a-question form with empty wording in both languages plus `fields`."""
    data = {"text_en": "", "text_es": "", "options_en": "", "options_es": ""}
    data.update(fields)
    return submit(client, f"/staff/sessions/{session['id']}/prompts/new", data)


def test_the_question_form_has_the_setting_and_the_race_link_ticks_it(as_facilitator, draft):
    """The form offers the setting as a labelled checkbox; opening the standard race question ticks it, age does not."""
    url = f"/staff/sessions/{draft['id']}/prompts/new?kind=about&demographic="
    race = page(as_facilitator.get(url + "race_ethnicity")).find("input", id="self_describe")
    assert race.has_attr("checked")
    assert race.find_next_sibling("label").get_text(strip=True) == SETTING
    assert not page(as_facilitator.get(url + "age")).find("input", id="self_describe").has_attr("checked")


@pytest.mark.parametrize("topic, expected", [("race_ethnicity", 1), ("age", 0)])
def test_the_no_script_path_sets_it_for_the_standard_race_question(as_facilitator, db, draft, topic, expected):
    """Posting "About you" with a standard topic and empty boxes (no script) turns the setting on only for race."""
    assert new_prompt(as_facilitator, draft, {"kind": "about", "demographic": topic}).status_code == 302
    assert queries.prompts_for_session(db, draft["id"])[0]["self_describe"] == expected


def test_the_setting_can_be_turned_on_and_off_and_leaves_with_another_kind(as_facilitator, db, draft):
    """A facilitator ticks it for their own single-choice question, unticks it, and a multiple-choice question never has it."""
    new_prompt(as_facilitator, draft, {"kind": "single", "text_en": "Gender?", "options_en": "Woman\nMan\nIn my own words",
                                       "self_describe": "y"})
    prompt = queries.prompts_for_session(db, draft["id"])[0]
    assert prompt["self_describe"] == 1
    url = f"/staff/sessions/{draft['id']}/prompts/{prompt['id']}"
    submit(as_facilitator, url, {"kind": "single", "required": "", "demographic": "", "text_en": "Gender?",
                                 "options_en": "Woman\nMan\nIn my own words"})
    assert queries.prompts_for_session(db, draft["id"])[0]["self_describe"] == 0
    submit(as_facilitator, url, {"kind": "multiple", "self_describe": "y", "demographic": "", "text_en": "Gender?",
                                 "options_en": "Woman\nMan\nIn my own words"})
    assert queries.prompts_for_session(db, draft["id"])[0]["self_describe"] == 0


def test_staff_entry_has_the_same_box_and_stores_the_words_apart(as_facilitator, db, make_user):
    """Typing in a paper answer offers the own-words box; words alone pick the choice and go to `described`."""
    session = make_session(db, mode="live", created_by=user_id(db, make_user("facilitator")), prompts=[
        {"kind": "about", "text": "Race?", "demographic": "race_ethnicity", "options": ["Asian", "Prefer to self-describe"],
         "self_describe": True}])
    share(db, session, make_user("planner"))
    url = f"/staff/sessions/{session['id']}/entry"
    shown = page(as_facilitator.get(url + "?prompt=1&source=paper&language=es"))
    box = shown.find("input", attrs={"name": "described"})
    assert box["lang"] == "es"
    assert "Prefer to self-describe [es]" in shown.find("label", attrs={"for": box["id"]}).get_text()
    response = submit(as_facilitator, url, {"described": "Garífuna", "consent_read": "y"},
                      get_url=url + "?prompt=1&source=paper&language=es")
    assert response.status_code == 303
    own = queries.prompts_for_session(db, session["id"])[0]["options"][1]["id"]
    row = db.execute("SELECT choices, text, described FROM responses").fetchone()
    assert (json.loads(row[0]), row[1], row[2]) == ([own], None, "Garífuna")
