"""The residents' pages: join, consent, answer one prompt per screen, thank-you, withdraw.

Every page is server-rendered and works with JavaScript off. Nothing about a resident is
stored until they agree to take part; after that, their participant id lives in their signed
cookie, and each answer is acknowledged (redirected onward) only after it is committed.

A phone may be shared (a family's phone, a library computer), so the cookie is a browser-session
cookie, the receipt code in it is encrypted (`sealing`), and the browser forgets a participation
after CHORUS_RESIDENT_IDLE_MINUTES without a page load, or CHORUS_RESIDENT_FINISHED_MINUTES once
the resident has reached the thank-you page (which also offers "forget me" at once). Phones in a
live session that is still open stay joined, because people wait between questions.
"""
from __future__ import annotations

import functools
import random
import time
from datetime import datetime, timezone

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from . import live_state as phones
from . import queries
from . import statements as st
from .consent import shown_paragraphs
from .db import get_db
from .forms import (
    QUOTE_SCOPE,
    ConsentForm,
    ForgetForm,
    IdeaForm,
    JoinForm,
    StatementForm,
    VoteForm,
    WithdrawForm,
    answer_form,
    answer_is_empty,
    answer_values,
    checked_answer,
    checked_vote,
    new_nonce,
)
from .i18n import current_language, isolate_numbers, language_name, local_time, text_direction
from .sealing import seal, unseal

bp = Blueprint("listening", __name__, template_folder="templates")
# The phones' state cache goes in front of the app with the residents' blueprint.
bp.record_once(phones.install_state_responses)


class SessionUnavailable(Exception):
    """A join code that is unknown, or a session that is not open."""

    def __init__(self, reason: str, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@bp.app_errorhandler(SessionUnavailable)
def session_unavailable(error: SessionUnavailable):
    """Explain, in the resident's language, why this session cannot be joined."""
    status = {"unknown": 404, "draft": 403, "closed": 410}[error.reason]
    # Someone who took part in a session that has now ended is thanked and shown their receipt.
    receipt = sealed_receipt(error.code) if error.reason == "closed" else ""
    return render_template(
        "listening/unavailable.html", reason=error.reason, code=error.code, form=JoinForm(), receipt=receipt,
    ), status


def visible_session(code: str) -> dict | None:
    """Return the session a resident may learn exists: an open one, or one this browser took part in.

    A draft or closed session answers like an unknown code to everyone else, so a code cannot
    be probed for sessions that are not (or no longer) taking part.
    """
    found = queries.session_by_code(get_db(), code)
    if found is None or (found["status"] != "open" and found["code"] not in (session.get("p") or {})):
        return None
    return found


def open_session(code: str) -> dict:
    """Load an open session by join code and make its languages the ones offered."""
    found = visible_session(code)
    if found is None:
        raise SessionUnavailable("unknown", queries.normalize_code(code))
    g.session_languages = found["languages"]
    if found["status"] != "open":
        raise SessionUnavailable(found["status"], found["code"])
    return found


def session_texts(found: dict) -> dict:
    """Return a helper that picks a session text in the resident's language."""
    loaded: dict = {}

    def text(owner: str, owner_id: int, field: str) -> str:
        """Pick one text in the resident's language, falling back to the session default (texts read on first use)."""
        if not loaded:
            # A stored answer that redirects needs no text at all: read them only for a page that shows some.
            loaded["texts"] = queries.texts_for_session(get_db(), found["id"])
            loaded["language"] = current_language()
            loaded["rtl"] = text_direction(loaded["language"]) == "rtl"
        words = queries.localized(loaded["texts"], owner, owner_id, field, loaded["language"], found["default_language"])
        return isolate_numbers(words) if loaded["rtl"] else words

    return text


# A participation's last-seen time is rewritten at most this often, to keep Set-Cookie rare.
SEEN_GRANULARITY_SECONDS = 30
RESIDENT_KEYS = ("p", "r", "seen", "done")


def current_participant(found: dict) -> dict | None:
    """Return the participant this browser consented as in this session, if still taking part."""
    participant_id = session.get("p", {}).get(found["code"])
    if participant_id is None:
        return None
    participant = queries.participant(get_db(), participant_id)
    if participant is None or participant["session_id"] != found["id"] or participant["withdrawn_at"]:
        forget_participant(found["code"])
        return None
    touch_participation(found["code"])
    return participant


def touch_participation(code: str) -> None:
    """Note that this browser is still taking part in a session (for the idle limit)."""
    now = int(time.time())
    seen = session.get("seen", {})
    if not isinstance(seen.get(code), int) or now - seen[code] >= SEEN_GRANULARITY_SECONDS:
        session["seen"] = {**seen, code: now}


@bp.before_request
def expire_idle_participation() -> None:
    """Forget participations this browser has left idle too long, so the next person cannot see them."""
    if request.endpoint == "listening.live_state":
        return  # polls are shared from a cache and never set cookies; the next page load checks
    cookie = session._get_current_object()  # one context lookup for the reads below
    bound = cookie.get("p")
    if not bound:
        return
    now = int(time.time())
    seen, finished = cookie.get("seen", {}), cookie.get("done", {})
    config = current_app.config
    for code in list(bound):
        limit = config["RESIDENT_FINISHED_MINUTES" if code in finished else "RESIDENT_IDLE_MINUTES"] * 60
        last = seen.get(code)
        if isinstance(last, int) and now - last <= limit:
            continue
        if isinstance(last, int) and code not in finished and live_and_open(code):
            continue  # people wait in the room between questions
        forget_participant(code)
        session["forgotten"] = code
        forget_outbox(code)


def forget_outbox(code: str) -> None:
    """Have the page tell offline.js to drop the answers this browser still keeps to send for a session ("*": every
    session): a participation it forgot can never send them, and on a shared device the next person could read them."""
    g.forget_outbox = [*g.get("forget_outbox", []), code]


def live_and_open(code: str) -> bool:
    """Tell whether a session is a live one that is still open."""
    found = queries.session_by_code(get_db(), code)
    return bool(found) and found["mode"] == "live" and found["status"] == "open"


def forget_participant(code: str) -> None:
    """Drop a session's participant id, receipt and times from this browser's cookie."""
    for key in RESIDENT_KEYS:
        kept = dict(session.get(key, {}))
        if kept.pop(code, None) is not None:
            if kept:
                session[key] = kept
            else:
                session.pop(key)
    if session.get("new_receipt") == code:
        session.pop("new_receipt")


def remember_participant(code: str, participant_id: int, receipt: str) -> None:
    """Keep a new participant's id, and their receipt (encrypted) to show again, in this browser's cookie."""
    session["p"] = {**session.get("p", {}), code: participant_id}
    session["seen"] = {**session.get("seen", {}), code: int(time.time())}
    if receipt:
        session["r"] = {**session.get("r", {}), code: seal(queries.format_receipt(receipt))}
        # Shown once on the next screen, so someone who stops early still leaves with it.
        session["new_receipt"] = code


def repeat_may_attach(found: dict, participant_id: int) -> bool:
    """Tell whether a consent form sent again (its one-time key already used) may re-attach this browser.

    A repeat is a lost reply or a double tap: this browser already holds the participant, or the
    first send was within the idle limit and nothing came from the participant since. Anyone else
    posting the page's key (another browser, or much later) gets a fresh form, never that person.
    """
    if session.get("p", {}).get(found["code"]) == participant_id:
        return True
    repeat = queries.consent_repeat(get_db(), participant_id)
    if repeat["withdrawn_at"] or repeat["sent_more"] or not repeat["consented_at"]:
        return False
    age = datetime.now(timezone.utc) - datetime.fromisoformat(repeat["consented_at"])
    return age.total_seconds() <= current_app.config["RESIDENT_IDLE_MINUTES"] * 60


def sealed_receipt(code: str) -> str:
    """Return this browser's receipt code for a session, decrypted, or ''."""
    return unseal(session.get("r", {}).get(code))


@bp.route("/")
def index():
    """Let a resident type the short code they were given (a GET form, so links work too)."""
    form = JoinForm(request.args)
    if "code" in request.args and form.validate():
        # A join link pasted into the box ("https://.../j/KX7M3P?lang=es") means its code.
        code = queries.normalize_code(form.code.data.rsplit("/j/", 1)[-1].split("?")[0].split("#")[0])
        if visible_session(code) is not None:
            return redirect(url_for("listening.join", code=code))
        form.code.errors.append(_("We could not find an open session with that code. Please check it. "
                                  "If the session has not started yet, try again when it starts."))
        return render_template("listening/index.html", form=form), 404
    return render_template("listening/index.html", form=form), (400 if form.errors else 200)


@bp.route("/j/<code>")
def join(code: str):
    """Welcome a resident to a session: what it is for, and which language to use."""
    found = open_session(code)
    if code != found["code"]:
        return redirect(url_for("listening.join", code=found["code"], **request.args))
    return render_template(
        "listening/join.html", s=found, text=session_texts(found),
        participant=current_participant(found),
        prompt_count=len(queries.prompts_for_session(get_db(), found["id"])),
    )


@bp.route("/j/<code>/")
@bp.route("/J/<code>")
@bp.route("/J/<code>/")
def join_typed(code: str):
    """Send a join link typed with a capital J or given a trailing slash (a phone's keyboard, a messaging app) to the join page."""
    return redirect(url_for("listening.join", code=code, **request.args))


@bp.route("/s/<code>/consent", methods=["GET", "POST"])
def consent(code: str):
    """Show the consent statement and record the resident's choices, or store nothing if they decline."""
    found = open_session(code)
    db = get_db()
    participant = current_participant(found)
    if participant is not None:
        return redirect(next_step(found, first_unanswered(found, participant)))
    language = current_language()
    statement = queries.current_consent(db, found["id"], language) or queries.current_consent(
        db, found["id"], found["default_language"]
    )
    if statement is None:  # pragma: no cover - opening a session records its consent text
        abort(500)
    form = ConsentForm(request.form if request.method == "POST" else None)
    status = 200
    notice = ""
    if session.get("forgotten") == found["code"]:
        session.pop("forgotten")
        forget_outbox(found["code"])
        # TRANSLATORS: shown on the consent page when a shared phone or computer forgot the resident.
        notice = _("To protect your privacy, this device forgot you after %(minutes)s minutes without activity. "
                   "Answers you sent before that are saved. To go on, agree again: you will take part as a new person.",
                   minutes=current_app.config["RESIDENT_IDLE_MINUTES"])
    if request.method == "POST":
        if request.form.get("action") == "decline":
            # Honoured even from a page whose form token expired: a no stores nothing, so there is nothing to forge.
            return render_template("listening/declined.html", s=found, text=session_texts(found))
        if form.validate():
            if str(statement["id"]) != form.version.data:
                notice = _("The statement has changed since you opened this page. Please read it again.")
                status = 409
            else:
                created = queries.record_consent(
                    db, found["id"], consent_version_id=statement["id"], language=language,
                    nonce=form.nonce.data, quote_ok=form.quote_ok.data, contact_ok=form.contact_ok.data,
                    quote_scope=QUOTE_SCOPE, labels=form.choice_labels(),
                    contact={"name": form.contact_name.data, "phone": form.contact_phone.data,
                             "email": form.contact_email.data},
                )
                if created.created or repeat_may_attach(found, created.id):
                    remember_participant(found["code"], created.id, created.receipt)
                    return redirect(next_step(found, 1))
                # TRANSLATORS: shown on the consent page when its form had already been sent (from another device, or long ago).
                notice = _("This form was already sent. To take part, agree again: you will take part as a new person.")
                form.nonce.data = ""  # render_consent gives the page a fresh one-time key
                status = 409
        elif form.csrf_failed:
            notice = _("This page was open for a long time, so nothing was saved. Please look at your choices again and press the button.")
            status = 400
        else:
            status = 400
    return render_consent(found, statement, form, notice, status)


def render_consent(found: dict, statement: dict, form: ConsentForm, notice: str, status: int):
    """Render the consent page with a fresh one-time key when the form has none."""
    if not form.nonce.data or form.nonce.errors:
        form.nonce.data = new_nonce()
    form.version.data = str(statement["id"])
    return render_template(
        "listening/consent.html", s=found, text=session_texts(found), form=form, notice=notice,
        statement=shown_paragraphs(statement["body"], current_language()),
    ), status


def first_unanswered(found: dict, participant: dict) -> int:
    """Return the number of the first prompt this participant has not answered or skipped."""
    db = get_db()
    answered = set(queries.answers_of(db, participant["id"])) | st.prompts_reacted_to(db, participant["id"])
    for prompt in queries.prompts_for_session(db, found["id"]):
        if prompt["id"] not in answered:
            return prompt["number"]
    return len(answered) + 1


def next_step(found: dict, number: int) -> str:
    """Return where a participant goes to answer prompt `number` (or the live waiting room)."""
    if found["mode"] == "live":
        return remembered_url("listening.live", code=found["code"])
    count = len(queries.prompts_for_session(get_db(), found["id"]))
    if number > count:
        return remembered_url("listening.thanks", code=found["code"])
    return remembered_url("listening.answer", code=found["code"], number=number)


def remembered_url(endpoint: str, **values) -> str:
    """Return url_for(endpoint, **values), built once per worker: every answer and vote redirects to one of a few URLs.

    Building a URL was a tenth of an answer's CPU. A relative URL depends only on the endpoint, its
    values and where the app is mounted (`script_root`), which are the key; the app sets no URL
    defaults that could change it (tests/listening/test_answers.py checks that).
    """
    return _built_url(request.script_root, endpoint, tuple(sorted(values.items())))


@functools.lru_cache(maxsize=4096)
def _built_url(script_root: str, endpoint: str, values: tuple) -> str:
    """Build one URL with url_for (for remembered_url, which keys it by where the app is mounted)."""
    return url_for(endpoint, **dict(values))


@bp.route("/s/<code>/q/<int:number>", methods=["GET", "POST"])
def answer(code: str, number: int):
    """Show one prompt and store the resident's answer to it, once, however often it is sent."""
    found = open_session(code)
    participant = current_participant(found)
    if participant is None:
        return redirect(url_for("listening.consent", code=found["code"]))
    db = get_db()
    prompts = queries.prompts_for_session(db, found["id"])
    if not 1 <= number <= len(prompts):
        abort(404)
    prompt = prompts[number - 1]
    text = session_texts(found)
    if found["mode"] == "live" and not (found["current_prompt_id"] == prompt["id"] and found["answering_open"]):
        if request.method == "POST":
            current = next((p for p in prompts if p["id"] == found["current_prompt_id"]), None)
            return render_template(
                "listening/live.html", s=found, text=text, prompt=None, answered=False,
                notice=_("Answering for this question has closed, so your answer was not saved."),
                screen=phones.session_screen_key(found, current["number"] if current else None),
            ), 409
        return redirect(url_for("listening.live", code=found["code"]))
    if prompt["kind"] in queries.STATEMENT_KINDS:
        return react_screen(found, participant, prompt, number, len(prompts))
    if request.method == "POST":
        # A good post is stored without building the form; anything else (a message to show) takes the full form below.
        checked = checked_answer(prompt, request.form, current_app.config["MAX_ANSWER_LENGTH"])
        if checked is not None:
            skip = request.form.get("action") == "skip"
            empty = answer_is_empty(checked)
            if not (prompt["required"] and (skip or empty)):
                saved = store_answer(found, participant, prompt, checked, skipped=skip or empty)
                if saved is not None:
                    return redirect(next_step(found, number + 1))
    labels = {o["id"]: text("option", o["id"], "label") for o in prompt["options"]}
    for option in prompt["options"]:
        if option["prefer_not"]:
            labels[option["id"]] = _("Prefer not to say")
    status = 200
    notice = ""
    if request.method == "POST":
        form = answer_form(prompt, labels, formdata=request.form)
        skip = request.form.get("action") == "skip"
        if skip and prompt["required"]:
            notice = _("This question needs an answer before you go on.")
            status = 400
        elif form.validate():
            if answer_is_empty(form) and prompt["required"] and not skip:
                form.answer.errors.append(_("Please answer this question before you go on."))
                status = 400
            else:
                saved = store_answer(found, participant, prompt, form, skipped=skip or answer_is_empty(form))
                if saved is not None:
                    return redirect(next_step(found, number + 1))
                notice = _("Your answer could not be saved. Please try again.")
                status = 409
        elif form.csrf_failed:
            notice = _("This page was open for a long time. Please press the button again; your answer is still here.")
            status = 400
        else:
            status = 400
        if not form.nonce.data or form.nonce.errors:
            form.nonce.data = new_nonce()
    else:
        earlier = queries.answers_of(db, participant["id"]).get(prompt["id"])
        form = answer_form(prompt, labels, data={"nonce": new_nonce(), "answer": earlier_value(prompt, earlier),
                                                 "described": (earlier or {}).get("described") or ""})
    return render_template(
        "listening/answer.html", s=found, text=text, prompt=prompt, number=number, total=len(prompts),
        new_receipt=fresh_receipt(found),
        form=form, labels=labels, notice=notice,
        max_length=current_app.config["MAX_ANSWER_LENGTH"],
    ), status


def fresh_receipt(found: dict) -> str:
    """Return the receipt code to show once, on the first screen after agreeing, or ''."""
    if session.get("new_receipt") != found["code"]:
        return ""
    session.pop("new_receipt")
    return sealed_receipt(found["code"])


def earlier_value(prompt: dict, earlier: dict | None):
    """Turn a stored answer back into form data, so going back shows what was said."""
    if earlier is None or earlier["skipped"]:
        return None
    if prompt["kind"] == "open":
        return earlier["text"]
    if prompt["kind"] == "scale":
        return str(earlier["number"]) if earlier["number"] is not None else None
    if prompt["kind"] == "multiple":
        return [str(c) for c in earlier["choices"]]
    if prompt["kind"] in ("dots", "budget"):
        amounts: dict[int, int] = {}
        for option_id in earlier["choices"]:
            amounts[option_id] = amounts.get(option_id, 0) + 1
        return amounts
    if prompt["kind"] == "rank":
        return list(earlier["choices"])
    return str(earlier["choices"][0]) if earlier["choices"] else None


def store_answer(found: dict, participant: dict, prompt: dict, form, *, skipped: bool):
    """Save the validated answer; return the outcome, or None if the participant cannot answer."""
    kwargs = {} if skipped else answer_values(prompt, form)
    try:
        return queries.save_response(
            get_db(), session_id=found["id"], participant_id=participant["id"], prompt_id=prompt["id"],
            nonce=form.nonce.data, language=current_language(), skipped=skipped, **kwargs,
        )
    except ValueError:
        return None


# --- react questions (design sessions): one statement per screen ----------------------------------


def react_prompt(code: str, number: int) -> tuple[dict, dict | None, dict | None, int]:
    """Load the session, this browser's participant and react prompt `number` (None if not a react question open now)."""
    found = open_session(code)
    participant = current_participant(found)
    prompts = queries.prompts_for_session(get_db(), found["id"])
    if not 1 <= number <= len(prompts) or prompts[number - 1]["kind"] not in queries.STATEMENT_KINDS:
        abort(404)
    prompt = prompts[number - 1]
    if found["mode"] == "live" and not (found["current_prompt_id"] == prompt["id"] and found["answering_open"]):
        prompt = None
    return found, participant, prompt, len(prompts)


def choose_statement(prompt: dict, approved: list[dict], done: set[int]) -> dict | None:
    """Pick the next statement with the engine's scoring (installed by the app factory), among those not yet voted."""
    left = [s for s in approved if s["id"] not in done]
    if not left:
        return None
    chooser = current_app.extensions.get("chorus.next_statement")
    if chooser is None:  # pragma: no cover - create_app always installs it
        return left[0]
    picked = chooser(prompt["id"], st.vote_tallies(get_db(), prompt["id"]), [s["id"] for s in approved],
                     done, random.random())
    return next((s for s in left if s["id"] == picked), left[0])


def others_words(found: dict):
    """Return how a phone words a statement: a resident's words (another's, once approved) go through the session's
    redaction, as on the room's screen and in reports; staff statements as written. The redaction is built once, when a
    resident's statement is first shown (the residents' package may not import it: the composition root hands it over)."""
    built: list = []

    def word(statement: dict, text: str) -> str:
        """Return `text` (the statement's words in some language) as this phone may show it."""
        if statement.get("participant_id") is None:
            return text
        if not built:
            make = current_app.extensions.get("chorus.redaction")
            built.append(make(get_db(), found["id"]) if make is not None else None)
        return text if built[0] is None else built[0](text).strip()
    return word


def own_words_form(prompt: dict) -> type[StatementForm]:
    """Return the form for a resident's own words: an idea for an ideas question, else a statement."""
    return IdeaForm if prompt["kind"] == "ideas" else StatementForm


def react_screen(found: dict, participant: dict, prompt: dict, number: int, total: int, *,
                 vote_form: VoteForm | None = None, statement_form: StatementForm | None = None,
                 notice: str = "", status: int = 200):
    """Show a react question: one statement with Agree / Disagree / Pass, a box for one's own, and the way on."""
    db = get_db()
    language = current_language()
    statements = st.statements_for_prompt(db, prompt["id"])
    approved = [s for s in statements if s["status"] == "approved"]
    mine = st.votes_of(db, participant["id"], prompt["id"])
    own = {s["id"] for s in statements if s["participant_id"] == participant["id"]}
    wanted = request.args.get("statement", type=int)
    if vote_form is not None and vote_form.statement.data and vote_form.statement.data.isdigit():
        wanted = int(vote_form.statement.data)
    current = next((s for s in approved if s["id"] == wanted and s["id"] not in own), None)
    if current is None:  # nothing asked for, or a statement taken down since: the next one
        current = choose_statement(prompt, approved, set(mine) | own)
    shown = None
    others = others_words(found)
    if current is not None:
        words, translated = st.shown_text(current, language)
        shown = {"id": current["id"], "text": others(current, words), "translated": translated,
                 "lang": language if translated else current["language"],
                 "original": others(current, current["body"]), "original_lang": current["language"],
                 "original_language": language_name(current["language"]), "vote": mine.get(current["id"])}
        if vote_form is None:
            vote_form = VoteForm(data={"nonce": new_nonce(), "statement": str(current["id"])})
        elif not vote_form.nonce.data or vote_form.nonce.errors:
            vote_form.nonce.data = new_nonce()
    if statement_form is None:
        statement_form = own_words_form(prompt)(data={"nonce": new_nonce()})
    elif not statement_form.nonce.data or statement_form.nonce.errors:
        statement_form.nonce.data = new_nonce()
    voted = []
    for s in approved:
        if s["id"] in mine:
            words, translated = st.shown_text(s, language)
            voted.append({"id": s["id"], "text": others(s, words), "vote": mine[s["id"]]})
    text = session_texts(found)
    return render_template(
        "listening/react.html", s=found, text=text, prompt=prompt, number=number, total=total,
        statement=shown, vote_form=vote_form, statement_form=statement_form, notice=notice,
        voted=voted, seen=len([s for s in approved if s["id"] in mine]), count=len([s for s in approved if s["id"] not in own]),
        waiting=len([s for s in statements if s["id"] in own and s["status"] == "pending"]),
        added=request.args.get("added") == "1", new_receipt=fresh_receipt(found),
        next_url=next_step(found, number + 1), votes=st.VOTES,
    ), status


def closed_react(found: dict):
    """Answer a vote or statement sent after the facilitator closed the question (live sessions)."""
    prompts = queries.prompts_for_session(get_db(), found["id"])
    current = next((p for p in prompts if p["id"] == found["current_prompt_id"]), None)
    return render_template(
        "listening/live.html", s=found, text=session_texts(found), prompt=None, answered=False,
        notice=_("Answering for this question has closed, so your answer was not saved."),
        screen=phones.session_screen_key(found, current["number"] if current else None),
    ), 409


@bp.route("/s/<code>/q/<int:number>/vote", methods=["POST"])
def vote(code: str, number: int):
    """Store a resident's Agree / Disagree / Pass on one statement, once however often it is sent, then show the next."""
    found, participant, prompt, total = react_prompt(code, number)
    if participant is None:
        return redirect(url_for("listening.consent", code=found["code"]))
    if prompt is None:
        return closed_react(found)
    form = checked_vote(request.form) or VoteForm(request.form)  # a good vote needs no form built
    if form.validate():
        try:
            st.cast_vote(get_db(), session_id=found["id"], participant_id=participant["id"],
                         statement_id=int(form.statement.data), vote=st.VOTES[form.vote.data],
                         nonce=form.nonce.data, language=current_language())
        except ValueError:
            # TRANSLATORS: a resident voted on a statement the team has since taken down.
            return react_screen(found, participant, prompt, number, total,
                                notice=_("That idea is no longer open for votes. Here is another one.")
                                if prompt["kind"] == "ideas" else
                                _("That statement is no longer open for votes. Here is another one."), status=409)
        return redirect(remembered_url("listening.answer", code=found["code"], number=number))
    if form.csrf_failed:
        notice = _("This page was open for a long time. Please press the button again.")
    elif form.nonce.errors and not form.vote.errors:
        notice = form.nonce.errors[0]  # a damaged one-time key: the vote itself was fine, so do not ask for one
    else:
        notice = _("Please choose Agree, Disagree or Pass.")
    return react_screen(found, participant, prompt, number, total, vote_form=form, notice=notice, status=400)


@bp.route("/s/<code>/q/<int:number>/statement", methods=["POST"])
def propose(code: str, number: int):
    """Keep a resident's own statement for the team to review before others see it."""
    found, participant, prompt, total = react_prompt(code, number)
    if participant is None:
        return redirect(url_for("listening.consent", code=found["code"]))
    if prompt is None:
        return closed_react(found)
    form = own_words_form(prompt)(request.form)
    if form.validate():
        try:
            st.propose_statement(get_db(), session_id=found["id"], prompt_id=prompt["id"], participant_id=participant["id"],
                                 language=current_language(), body=form.body.data, nonce=form.nonce.data)
        except st.TooManyWaiting:
            return react_screen(found, participant, prompt, number, total, statement_form=form,
                                notice=_("Your ideas are waiting for the team to read them. Please wait until they have "
                                         "read some before you add more.") if prompt["kind"] == "ideas"
                                else _("Your statements are waiting for the team to read them. Please wait until they "
                                       "have read some before you add more."), status=429)
        except ValueError:
            return react_screen(found, participant, prompt, number, total, statement_form=form,
                                notice=_("Your idea could not be saved. Please try again.") if prompt["kind"] == "ideas"
                                else _("Your statement could not be saved. Please try again."), status=409)
        return redirect(url_for("listening.answer", code=found["code"], number=number, added=1))
    notice = _("This page was open for a long time. Please press the button again; your words are still here.") if form.csrf_failed else ""
    return react_screen(found, participant, prompt, number, total, statement_form=form, notice=notice, status=400)


@bp.route("/s/<code>/live")
def live(code: str):
    """In a live session, send the phone to the prompt the facilitator has open, or say we wait."""
    found = open_session(code)
    participant = current_participant(found)
    if participant is None:
        return redirect(url_for("listening.consent", code=found["code"]))
    if found["mode"] != "live":
        return redirect(url_for("listening.answer", code=found["code"], number=1))
    prompts = queries.prompts_for_session(get_db(), found["id"])
    current = next((p for p in prompts if p["id"] == found["current_prompt_id"]), None)
    answered = False
    if current is not None and found["answering_open"] and not found["paused"]:
        # A react or ideas question has no single answer: its screen says when every statement has a vote.
        answered = current["kind"] not in queries.STATEMENT_KINDS and current["id"] in queries.answers_of(get_db(), participant["id"])
        if not answered:
            return redirect(url_for("listening.answer", code=found["code"], number=current["number"]))
    return render_template(
        "listening/live.html", s=found, text=session_texts(found), prompt=current, answered=answered, notice="",
        new_receipt=fresh_receipt(found), forget_form=ForgetForm(),
        last=bool(answered and current["number"] == len(prompts)), receipt=sealed_receipt(found["code"]),
        screen=phones.session_screen_key(found, current["number"] if current else None),
    )


@bp.route("/s/<code>/state.json")
def live_state(code: str):
    """Tell a phone what the facilitator is showing: small JSON with a strong ETag (and 304 for repeats).

    A draft or closed session answers exactly as an unknown code (404), except to a browser whose
    cookie shows it took part, which needs to learn that its session ended; that answer is
    marked private so the shared cache never serves it to anyone else.
    """
    state = phones.live_state(get_db(), code)
    took_part = state is not None and queries.normalize_code(code) in (session.get("p") or {})
    if state is None or (state["status"] != "open" and not took_part):
        return jsonify({"error": "unknown"}), 404
    etag = f'"{state["screen"]}:{state["v"]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    else:
        response = jsonify(state)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache" if state["status"] == "open" else "private, no-cache"
    return response


@bp.route("/s/<code>/thanks")
def thanks(code: str):
    """Thank the resident, repeat their receipt code, say how to withdraw, and offer to forget this device.

    Reaching this page is finishing: from now on the browser forgets the participation after the
    shorter CHORUS_RESIDENT_FINISHED_MINUTES without a page load.
    """
    found = open_session(code)
    participant = current_participant(found)
    if participant is None:
        return redirect(url_for("listening.join", code=found["code"]))
    if found["code"] not in session.get("done", {}):
        session["done"] = {**session.get("done", {}), found["code"]: int(time.time())}
    return render_template(
        "listening/thanks.html", s=found, text=session_texts(found),
        receipt=sealed_receipt(found["code"]), forget_form=ForgetForm(),
        prompt_count=len(queries.prompts_for_session(get_db(), found["id"])),
    )


@bp.route("/forget", methods=["POST"])
def forget_me():
    """Make this browser forget everything Chorus gave it: participations, receipts, language, form keys.

    For a shared phone or library computer. The answers stay saved; the receipt still works.
    """
    form = ForgetForm(request.form)
    current_language()  # the confirmation stays in the language chosen before the cookie goes
    if form.validate() or not session.get("p"):
        session.clear()
        forget_outbox("*")
        return render_template("listening/forgotten.html", form=None)
    return render_template("listening/forgotten.html", form=form), 400


@bp.route("/withdraw", methods=["GET", "POST"])
def withdraw():
    """Delete a resident's answers and contact details when they enter their receipt code."""
    offer_languages_of_own_session()
    form = WithdrawForm(request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate():
            outcome = queries.withdraw(get_db(), form.receipt.data)
            if outcome.outcome == "withdrawn":
                for code, _pid in list(session.get("p", {}).items()):
                    found = queries.session_by_code(get_db(), code)
                    if found and found["id"] == outcome.session_id:
                        forget_participant(code)
                # An answer this browser still keeps to send (offline) is a copy of their words too.
                withdrawn_from = queries.session_by_id(get_db(), outcome.session_id) if outcome.session_id else None
                if withdrawn_from is not None:
                    forget_outbox(withdrawn_from["code"])
                return render_template("listening/withdrawn.html")
            if outcome.outcome == "already":
                form.receipt.errors.append(
                    _("The answers for this code were already deleted on %(date)s.",
                      date=local_time(outcome.at, withdrawn_timezone(outcome.session_id)))
                )
                return render_template("listening/withdraw.html", form=form), 409
            form.receipt.errors.append(_("We could not find that receipt code. Please check it and try again."))
            return render_template("listening/withdraw.html", form=form), 404
        return render_template(
            "listening/withdraw.html", form=form,
            notice=_("This page was open for a long time. Please try again.") if form.csrf_failed else "",
        ), 400
    return render_template("listening/withdraw.html", form=form)


def offer_languages_of_own_session() -> None:
    """Offer the languages of the session this resident came from (the link's, else the latest taken part in), in its order."""
    for code in [request.args.get("s", ""), *reversed(list(session.get("p") or {}))]:
        found = visible_session(code) if code else None
        if found is not None:
            g.session_languages = found["languages"]
            return


def withdrawn_timezone(session_id: int | None) -> str:
    """Return the time zone of the session a receipt belonged to."""
    found = queries.session_by_id(get_db(), session_id) if session_id else None
    return found["timezone"] if found else current_app.config["TIMEZONE"]
