"""Answers and votes checked without building their form accept only what the form accepts, and refuse as before."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from wtforms.csrf.session import SessionCSRF

from listening import forms, queries
from listening import statements as st
from listening.cookies import copied
from tests.conftest import form_data, submit, text_of
from tests.factories import count, make_session

LONG_TIME = "This page was open for a long time. Please press the button again; your answer is still here."


@pytest.fixture
def resident(client, db):
    """A resident who agreed to take part in a five-prompt session (open, single, multiple, scale, about you)."""
    session = make_session(db)
    submit(client, f"/s/{session['code']}/consent", {"action": "agree", "take_part": "y"})
    client.s = session
    client.prompts = queries.prompts_for_session(db, session["id"])
    return client


def q(client, number):
    """Return the URL of prompt `number` of the resident's session."""
    return f"/s/{client.s['code']}/q/{number}"


def answers_for(prompt, limit: int) -> list:
    """Answers worth trying on a prompt: good ones, blanks, repeats, unknown choices, as long as allowed and one longer."""
    found = [None, "", " ", "x" * limit, "x" * (limit + 1), "None", "0", "abc", ["", ""]]
    if prompt["kind"] == "open":
        found += ["Rides to the clinic", "  spaces kept \n", ["first", "second"]]
    for option in prompt["options"]:
        found += [str(option["id"]), ["", str(option["id"])], [str(option["id"]), "999"], f" {option['id']}"]
    if prompt["kind"] == "scale":
        found += [str(n) for n in range(prompt["scale_min"] - 1, prompt["scale_max"] + 2)]
    return found


def test_a_checked_answer_is_one_the_form_accepts_with_the_same_values(app, resident):
    """For every kind of question and many posts (good and bad tokens, keys and answers), a post read without its form
    is one the form accepts, giving the same stored values; every good post of the kinds it reads is read so."""
    good = form_data(resident.get(q(resident, 1)))
    other_browser = form_data(app.test_client().get(f"/s/{resident.s['code']}/consent"))["csrf_token"]
    cookie = f"{app.config['SESSION_COOKIE_NAME']}={resident.get_cookie(app.config['SESSION_COOKIE_NAME']).value}"
    limit = app.config["MAX_ANSWER_LENGTH"]
    taken = 0
    for number, prompt in enumerate(resident.prompts, start=1):
        for token in (good["csrf_token"], other_browser, "", None, "x##y", good["csrf_token"] + "0"):
            for nonce in (good["nonce"], "short", "bad key with spaces!", "", None, "k" * 64, "k" * 65):
                for answer in answers_for(prompt, limit):
                    data = {name: value for name, value in (("csrf_token", token), ("nonce", nonce), ("answer", answer))
                            if value is not None}
                    with app.test_request_context(q(resident, number), method="POST", data=data, headers={"Cookie": cookie}):
                        from flask import request

                        checked = forms.checked_answer(prompt, request.form, limit)
                        form = forms.answer_form(prompt, {o["id"]: "" for o in prompt["options"]}, formdata=request.form)
                        accepted = form.validate()
                        if checked is None:
                            good_post = token == good["csrf_token"] and nonce == good["nonce"] and answer in (
                                "Rides to the clinic", str((prompt["options"] or [{"id": 0}])[0]["id"]))
                            assert not (good_post and accepted and prompt["kind"] in forms.CHECKED_KINDS), (number, data)
                            continue
                        taken += 1
                        assert accepted, (number, data, form.errors)
                        assert forms.answer_is_empty(checked) == forms.answer_is_empty(form), (number, data)
                        if not forms.answer_is_empty(form):
                            assert forms.answer_values(prompt, checked) == forms.answer_values(prompt, form), (number, data)
                        assert checked.nonce.data == form.nonce.data
    assert taken > 50


def test_a_checked_vote_is_one_the_vote_form_accepts(app, client, db):
    """A vote read without its form is one VoteForm accepts, with the same statement, vote and key."""
    found = make_session(db, status="draft", prompts=[{"kind": "react", "text": "What should the clinic do?"}])
    prompt = queries.prompts_for_session(db, found["id"])[0]
    st.add_statement(db, found["id"], prompt["id"], language="en", body="More hours")
    queries.set_status(db, found["id"], "open")
    submit(client, f"/s/{found['code']}/consent", {"action": "agree", "take_part": "y"})
    good = form_data(client.get(f"/s/{found['code']}/q/1"), 0)
    cookie = f"chorus={client.get_cookie('chorus').value}"
    taken = 0
    for token in (good["csrf_token"], "", None, "x##y"):
        for nonce in (good["nonce"], "short", None):
            for statement in (good["statement"], "12\n", "", None, "a1", "1" * 13, "-1"):
                for vote in ("agree", "disagree", "pass", "", None, "Agree", "maybe"):
                    data = {name: value for name, value in (("csrf_token", token), ("nonce", nonce), ("statement", statement),
                                                            ("vote", vote)) if value is not None}
                    with app.test_request_context("/", method="POST", data=data, headers={"Cookie": cookie}):
                        from flask import request

                        checked = forms.checked_vote(request.form)
                        accepted = forms.VoteForm(request.form).validate()
                        if checked is None:
                            assert not (accepted and token == good["csrf_token"] and nonce == good["nonce"]
                                        and statement == good["statement"]), data
                            continue
                        taken += 1
                        assert accepted, data
                        form = forms.VoteForm(request.form)
                        assert (checked.statement.data, checked.vote.data, checked.nonce.data) == (
                            form.statement.data, form.vote.data, form.nonce.data)
    assert taken >= 3


def test_answers_with_a_bad_token_are_refused_with_the_same_message(app, resident, db, monkeypatch):
    """Another browser's token, a forged one, none, or one shown more than 12 hours ago: the answer is not stored and
    the page says why, in the resident's language, as before."""
    url = q(resident, 1)
    data = {**form_data(resident.get(url)), "answer": "Rides"}
    other = form_data(app.test_client().get(f"/s/{resident.s['code']}/consent"))["csrf_token"]
    for token in (other, "x##y", ""):
        response = resident.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 400 and LONG_TIME in text_of(response)
    later = datetime.now() + timedelta(hours=12, minutes=5)
    with monkeypatch.context() as patched:
        patched.setattr(SessionCSRF, "now", lambda self: later)
        response = resident.post(url, data=data)
        assert response.status_code == 400 and LONG_TIME in text_of(response)
    spanish = resident.post(f"{url}?lang=es", data={**data, "csrf_token": other})
    assert spanish.status_code == 400
    assert "Esta página estuvo abierta mucho tiempo. Presione el botón otra vez; su respuesta sigue aquí." in text_of(spanish)
    assert count(db, "responses") == 0
    assert resident.post(url, data=data).status_code == 302 and count(db, "responses") == 1


def test_a_good_answer_is_stored_without_building_its_form(resident, db, monkeypatch):
    """The common case (a good post to an open, single-choice or scale question) never builds a WTForms form."""
    def no_form(*args, **kwargs):
        raise AssertionError("the form was built")

    for number, answer in ((1, "Rides"), (2, str(resident.prompts[1]["options"][0]["id"])), (4, "3")):
        data = {**form_data(resident.get(q(resident, number))), "answer": answer}
        with monkeypatch.context() as patched:
            patched.setattr("listening.views.answer_form", no_form)
            assert resident.post(q(resident, number), data=data).status_code == 302
    assert count(db, "responses") == 3


def test_a_required_question_left_empty_still_gets_its_message(client, db):
    """An empty answer to a required question goes to the full form, which says so in the resident's language."""
    found = make_session(db, prompts=[{"kind": "open", "text": "Why?", "required": True}])
    submit(client, f"/s/{found['code']}/consent", {"action": "agree", "take_part": "y"})
    response = submit(client, f"/s/{found['code']}/q/1", {"answer": "   "})
    assert response.status_code == 400
    assert "Please answer this question before you go on." in text_of(response)
    skipped = submit(client, f"/s/{found['code']}/q/1", {"answer": "", "action": "skip"})
    assert skipped.status_code == 400 and "This question needs an answer before you go on." in text_of(skipped)
    assert count(db, "responses") == 0


def test_remembered_urls_are_what_url_for_builds_wherever_the_app_is_mounted(app):
    """A URL built once per worker is url_for's, also under a path prefix, and the app sets no URL defaults that could change it."""
    from flask import url_for

    from listening.views import remembered_url

    assert not any(app.url_default_functions.values()) and not any(app.url_value_preprocessors.values())
    for root in ("", "/chorus"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            for endpoint, values in (("listening.live", {"code": "ABC123"}), ("listening.answer", {"code": "ABC123", "number": 2}),
                                     ("listening.thanks", {"code": "ÄBC"})):
                assert remembered_url(endpoint, **values) == url_for(endpoint, **values)
                assert remembered_url(endpoint, **values).startswith(root + "/s/")


def test_a_cookies_contents_are_copied_as_deepcopy_would():
    """Each request's copy of a remembered cookie's contents is equal to it and shares nothing that could change."""
    contents = {"p": {"ABC": 3}, "seen": {"ABC": 17}, "csrf": "abc", "list": [1, {"a": (2, [3])}], "when": datetime(2026, 1, 1),
                "id": UUID(int=5), "b": b"x", "none": None, "f": 1.5}
    mine = copied(contents)
    assert mine == contents == copy.deepcopy(contents)
    mine["p"]["ABC"] = 4
    mine["list"][1]["a"][1].append(4)
    assert contents["p"]["ABC"] == 3 and contents["list"][1]["a"][1] == [3]
