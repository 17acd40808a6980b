"""A choice that lets people describe themselves: the box under the choices, its checks, and where the words go."""
import csv
import io
import json
import secrets

import pytest

from analysis import reports
from analysis.review import queries as synthesis
from analysis.review import reporting
from facilitation import live_queries
from listening import queries
from listening.retention import purge_text
from tests.conftest import form_data, page, submit
from tests.factories import count, make_participant, make_session

RACE = {"kind": "about", "text": "How do you describe your race or ethnicity?", "demographic": "race_ethnicity",
        "options": ["Asian", "White", "Prefer to self-describe"], "self_describe": True}
WORDS = "Garifuna and Honduran own-words-marker"


@pytest.fixture
def resident(client, db):
    """A resident who agreed to take part in a session whose second question has a self-described choice."""
    session = make_session(db, prompts=[{"kind": "open", "text": "What helps you?"}, RACE,
                                        {"kind": "single", "text": "How do you travel?", "options": ["Car", "Bus"]}])
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    client.session = session
    client.prompts = queries.prompts_for_session(db, session["id"])
    return client


def q(session, number, lang=""):
    """Return the URL of prompt `number`, in a language if given."""
    return f"/s/{session['code']}/q/{number}" + (f"?lang={lang}" if lang else "")


def option_id(prompts, number, position):
    """Return the id of the option at `position` (from 1) of prompt `number`."""
    return prompts[number - 1]["options"][position - 1]["id"]


def stored(db):
    """Return every stored answer as (prompt number, choices, text, described)."""
    return [tuple(r) for r in db.execute(
        "SELECT p.position, r.choices, r.text, r.described FROM responses r JOIN prompts p ON p.id = r.prompt_id ORDER BY r.id")]


@pytest.mark.parametrize("lang, label", [
    ("", "If you chose “Prefer to self-describe [en]”: in your own words (optional)"),
    ("es", "Si eligió «Prefer to self-describe [es]»: con sus propias palabras (opcional)"),
])
def test_the_box_is_always_shown_under_the_choices_and_named_by_its_choice(resident, lang, label):
    """The own-words box sits inside the question's fieldset, after the choices, labelled with that choice's own wording."""
    soup = page(resident.get(q(resident.session, 2, lang)))
    box = soup.find("input", attrs={"name": "described"})
    assert box is not None and box.get("type") == "text" and box.get("dir") == "auto" and not box.has_attr("hidden")
    assert soup.find("label", attrs={"for": box["id"]}).get_text(strip=True) == label
    assert box.find_parent("fieldset")["id"] == "answer"
    assert box.find_previous("div", class_="choices") is not None


def test_a_question_without_the_setting_has_no_box_and_ignores_posted_words(resident, db):
    """Only a question whose last choice describes people gets the box; words posted to another are not stored."""
    assert page(resident.get(q(resident.session, 3))).find("input", attrs={"name": "described"}) is None
    response = submit(resident, q(resident.session, 3), {"answer": str(option_id(resident.prompts, 3, 1)), "described": WORDS})
    assert response.status_code == 302
    assert stored(db)[-1][3] is None


def test_words_with_no_choice_pick_the_self_described_choice_and_stay_out_of_text(resident, db):
    """Typing words and no choice stores that choice, with the words in `described`, never in `text`."""
    response = submit(resident, q(resident.session, 2), {"described": WORDS})
    assert response.status_code == 302
    own = option_id(resident.prompts, 2, 3)
    assert stored(db) == [(2, json.dumps([own]), None, WORDS)]


def test_words_with_another_choice_get_a_translated_error_that_keeps_everything(resident, db):
    """Words with a different choice are refused in the resident's language; the words and the choice stay on screen."""
    asian = str(option_id(resident.prompts, 2, 1))
    response = submit(resident, q(resident.session, 2, "es"), {"answer": asian, "described": WORDS},
                      get_url=q(resident.session, 2, "es"))
    assert response.status_code == 400
    soup = page(response)
    assert soup.find(id="described-error").get_text(strip=True) == (
        "Escribió algo con sus propias palabras, pero eligió otra respuesta. Para guardar lo que escribió, "
        "elija «Prefer to self-describe [es]»; si no, borre la casilla.")
    box = soup.find("input", attrs={"name": "described"})
    assert box["value"] == WORDS and box["aria-invalid"] == "true"
    assert soup.find("input", attrs={"name": "answer", "value": asian}).has_attr("checked")
    assert count(db, "responses") == 0


def test_words_over_the_limit_are_refused_and_kept(resident, db):
    """A self-description longer than the limit gets a clear message, keeps the words and stores nothing."""
    from listening.forms import MAX_DESCRIBED_LENGTH

    long_words = "x" * (MAX_DESCRIBED_LENGTH + 1)
    response = submit(resident, q(resident.session, 2), {"described": long_words})
    assert response.status_code == 400
    assert page(response).find("input", attrs={"name": "described"})["value"] == long_words
    assert str(MAX_DESCRIBED_LENGTH) in page(response).find(id="described-error").get_text()
    assert count(db, "responses") == 0


def test_saving_is_idempotent_going_back_shows_the_words_and_a_new_choice_clears_them(resident, db):
    """A replayed form stores one answer; going back shows the words; choosing another answer drops them."""
    data = form_data(resident.get(q(resident.session, 2)))
    data["described"] = WORDS
    assert resident.post(q(resident.session, 2), data=data).status_code == 302
    assert resident.post(q(resident.session, 2), data=data).status_code == 302
    assert count(db, "responses") == 1
    assert page(resident.get(q(resident.session, 2))).find("input", attrs={"name": "described"})["value"] == WORDS
    submit(resident, q(resident.session, 2), {"answer": str(option_id(resident.prompts, 2, 2)), "described": ""})
    assert stored(db) == [(2, json.dumps([option_id(resident.prompts, 2, 2)]), None, None)]


def test_skipping_keeps_no_words(resident, db):
    """Skipping a question stores a skip, never words typed before skipping."""
    submit(resident, q(resident.session, 2), {"described": WORDS, "action": "skip"})
    assert stored(db) == [(2, None, None, None)]


def test_answer_values_maps_words_only_with_their_choice():
    """answer_values (residents and staff entry) gives `described` only with the self-described choice."""
    from types import SimpleNamespace

    from listening.forms import answer_values

    def form(choice, words):
        """A validated form with a choice and words."""
        return SimpleNamespace(answer=SimpleNamespace(data=choice), described=SimpleNamespace(data=words),
                               self_described={"id": 9})

    assert answer_values({"kind": "about"}, form("9", WORDS)) == {"choices": [9], "described": WORDS}
    assert answer_values({"kind": "about"}, form("9", "   ")) == {"choices": [9], "described": None}
    assert answer_values({"kind": "about"}, form("3", WORDS)) == {"choices": [3], "described": None}


# --- where the words go, and where they never go ---------------------------------------------------------


@pytest.fixture
def described_session(db):
    """Twelve people answer an open question and the race question; one describes themselves, one answer is hidden."""
    session = make_session(db, prompts=[{"kind": "open", "text": "What helps you?"}, RACE])
    prompts = queries.prompts_for_session(db, session["id"])
    own = prompts[1]["options"][2]["id"]
    people = []
    for n in range(12):
        person = make_participant(db, session, quote_ok=True)
        people.append(person)
        for prompt, values in ((prompts[0], {"text": f"The bus is late {n}"}),
                               (prompts[1], {"choices": [own], "described": WORDS if n == 0 else None})):
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                  nonce=secrets.token_urlsafe(12), language="en", **values)
    return {"session": session, "prompts": prompts, "people": people, "own": own}


def exported(db, session, fmt):
    """Write a report or export of the session in English and return it as text."""
    out = io.BytesIO()
    report = reporting.build_report(db, session["id"], "en", records=fmt in ("csv", "xlsx", "json"))
    reports.write(report, fmt, out)
    return out.getvalue().decode("utf-8-sig")


def test_the_internal_exports_carry_the_words_in_their_own_column(db, described_session):
    """CSV and JSON exports give the words in an own-words column, next to the choice's segment column."""
    rows = list(csv.DictReader(io.StringIO(exported(db, described_session["session"], "csv"))))
    assert [r["about_race_ethnicity_own_words"] for r in rows].count(WORDS) == 1
    assert all(r["text"] != WORDS for r in rows)
    data = json.loads(exported(db, described_session["session"], "json"))
    assert [a["own_words"].get("about_race_ethnicity_own_words") for a in data["answers"]].count(WORDS) == 1


def test_the_words_never_reach_themes_reports_or_the_room(db, described_session):
    """Themes, public report formats and the wall read only answer text, so the words are in none of them."""
    session = described_session["session"]
    assert all(WORDS not in (a["text"] or "") for a in synthesis.open_answers(db, session["id"]))
    for fmt in ("html", "md"):
        assert "own-words-marker" not in exported(db, session, fmt)
    assert all("own-words-marker" not in (r["text"] or "") for r in live_queries.visible_responses(db, session["id"]))


def test_breakdowns_count_the_choice_and_never_show_the_words(db, described_session, as_facilitator):
    """The answers page counts the self-described choice like any other and lists the words apart, for staff."""
    from tests.factories import share

    share(db, described_session["session"], "facilitator@example.org")
    soup = page(as_facilitator.get(f"/staff/sessions/{described_session['session']['id']}/answers"))
    table = soup.find("table", class_="data")
    cells = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
    assert ["Prefer to self-describe [en]", "12"] in cells
    assert "own-words-marker" not in table.get_text()
    assert [li.get_text(strip=True) for li in soup.select("ul.own-words li")] == [WORDS]


def test_own_words_wait_for_the_threshold_like_the_counts_they_belong_to(db, as_facilitator):
    """With fewer people than the threshold, an "about you" question's counts are withheld, and so is its list of own words."""
    from tests.factories import share

    session = make_session(db, prompts=[{"kind": "open", "text": "What helps you?"}, RACE])
    share(db, session, "facilitator@example.org")
    prompts = queries.prompts_for_session(db, session["id"])
    own = prompts[1]["options"][2]["id"]
    for _ in range(2):
        queries.save_response(db, session_id=session["id"], participant_id=make_participant(db, session).id,
                              prompt_id=prompts[1]["id"], nonce=secrets.token_urlsafe(12), language="en",
                              choices=[own], described=WORDS)
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/answers"))
    assert "own-words-marker" not in soup.get_text() and not soup.select("ul.own-words")


def test_hidden_answers_keep_their_words_out_of_the_export_and_answers_page(db, described_session):
    """An answer staff hid takes its words out of the export with it."""
    rid = db.execute("SELECT id FROM responses WHERE described IS NOT NULL").fetchone()[0]
    live_queries.hide_response(db, described_session["session"]["id"], rid, user_id=None, reason="names a person")
    assert "own-words-marker" not in exported(db, described_session["session"], "csv")
    from listening import lists

    listed = lists.own_words(db, described_session["session"]["id"])
    assert not any("own-words-marker" in w["words"] for entry in listed.values() for w in entry["words"])


def test_withdrawal_and_the_retention_purge_erase_the_words(db, described_session):
    """Withdrawing deletes the words with the answer; a retention purge blanks them like answer text."""
    session = described_session["session"]
    queries.save_response(db, session_id=session["id"], participant_id=described_session["people"][1].id,
                          prompt_id=described_session["prompts"][1]["id"], nonce=secrets.token_urlsafe(12),
                          language="en", choices=[described_session["own"]], described="second-words")
    queries.withdraw(db, described_session["people"][0].receipt)
    assert [r[0] for r in db.execute("SELECT described FROM responses WHERE described IS NOT NULL")] == ["second-words"]
    with db.conn:
        answers, _contacts = purge_text(db, session["id"], before=None)
    assert answers == 12  # 11 open texts and one self-description
    assert db.execute("SELECT count(*) FROM responses WHERE described IS NOT NULL OR text IS NOT NULL").fetchone()[0] == 0


def test_a_purge_reapplied_after_restore_blanks_only_words_older_than_it(db, described_session):
    """Re-applying a purge (as a restore does) blanks words last changed before it, not later ones."""
    session = described_session["session"]
    db.execute("UPDATE responses SET updated_at = '2026-01-01T00:00:00' WHERE described IS NOT NULL")
    db.conn.commit()
    with db.conn:
        purge_text(db, session["id"], before="2026-02-01T00:00:00")
    assert db.execute("SELECT count(*) FROM responses WHERE described IS NOT NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM responses WHERE text IS NOT NULL").fetchone()[0] == 12

