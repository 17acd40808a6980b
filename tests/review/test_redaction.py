"""Every place that shows a resident's words to others shows them through the one session redaction."""
from __future__ import annotations

import csv
import io
import json

import pytest
from bs4 import BeautifulSoup
from docx import Document
from openpyxl import load_workbook

from analysis.reports import markdown_text
from analysis.review import queries as synthesis
from analysis.review import reporting
from listening import queries
from tests.conftest import page, sign_in
from tests.factories import make_participant, make_session, share
from tests.review.conftest import answer

# Quotable answers, each with a personal detail or a bidi control, and what others may see of them.
SENSITIVE = {
    "Dr. Patel at the bus stop listened (s1)": "Dr. [name] at the bus stop listened (s1)",
    "Email ana@example.org about the bus (s2)": "Email [email] about the bus (s2)",
    "Call 336-555-0182 about the bus (s3)": "Call [phone] about the bus (s3)",
    "My name is Tanisha and the bus is late (s4)": "My name is [name] and the bus is late (s4)",
    "the bus\u202e is late\u202c again (s5)": "the bus is late again (s5)",
}
SECRETS = ("Patel", "ana@example.org", "0182", "Tanisha", "\u202e", "\u202c")


@pytest.fixture
def published(db, make_user):
    """A session whose reviewed, published theme quotes the five sensitive answers (chosen by a planner);
    the facilitator and the planner may see it."""
    session = make_session(db)
    share(db, session, make_user("facilitator"), make_user("planner"))
    open_prompt = queries.prompts_for_session(db, session["id"])[0]
    ids = []
    for text in [*SENSITIVE, *(f"the bus is slow today ({n})" for n in range(12)), *(f"food is costly ({n})" for n in range(12))]:
        person = make_participant(db, session, quote_ok=True)
        ids.append(answer(db, session, person, open_prompt, text=text))
    synthesis.run_themes(db, session["id"], user_id=None)
    theme_id = synthesis.new_theme(db, session["id"], "Buses", user_id=None, response_ids=ids[:5])
    synthesis.choose_quotes(db, session["id"], theme_id, ids[:5], chosen=True, user_id=None)
    synthesis.set_reviewed(db, session["id"], theme_id, True, user_id=None)
    synthesis.save_settings(db, session["id"], published=True)
    return session


def export(db, session, fmt):
    """Export the session in a format and return the bytes."""
    buffer = io.BytesIO()
    reporting.export(db, session["id"], buffer, fmt=fmt, language="en")
    return buffer.getvalue()


def test_the_session_redaction_gives_what_others_may_see(db, published):
    """The one redaction removes each detail (and the bidi controls) exactly as expected."""
    redaction = synthesis.session_redaction(db, published["id"])
    assert {text: redaction(text) for text in SENSITIVE} == SENSITIVE


def test_every_report_format_quotes_through_the_redaction(db, published):
    """HTML, Word and Markdown reports quote the redacted words and never a detail."""
    html = BeautifulSoup(export(db, published, "html"), "html.parser")
    quotes = [q.get_text(strip=True) for q in html.select("blockquote")]
    assert set(SENSITIVE.values()) <= set(quotes)
    docx = Document(io.BytesIO(export(db, published, "docx")))
    assert set(SENSITIVE.values()) <= {p.text for p in docx.paragraphs if p.style.name == "Quote"}
    markdown = export(db, published, "md").decode("utf-8")
    assert all(f"> {markdown_text(quote)}" in markdown for quote in SENSITIVE.values())  # as Markdown escapes it
    for secret in SECRETS:
        assert secret not in html.get_text() and secret not in markdown
        assert all(secret not in p.text for p in docx.paragraphs)


def test_the_residents_page_quotes_through_the_redaction(client, db, published):
    """The public results page shows the redacted quotes, without bidi controls."""
    response = client.get(f"/s/{published['code']}/results?lang=en")
    quotes = [q.get_text(strip=True).strip("“”") for q in page(response).select("blockquote")]
    assert quotes and set(quotes) <= set(SENSITIVE.values())
    for secret in SECRETS:
        assert secret not in response.get_data(as_text=True)


def test_review_quote_previews_are_redacted_and_the_answer_list_loses_bidi_controls(client, db, make_user, published):
    """Theme cards quote as reports do; the planner's full answer list keeps words but not bidi controls."""
    sign_in(client, make_user("planner"))
    soup = page(client.get(f"/staff/review/{published['id']}"))
    previews = {q.get_text(strip=True) for q in soup.select(".theme-card blockquote")}
    assert set(SENSITIVE.values()) <= previews
    theme = next(t for t in synthesis.active_themes(db, published["id"]) if t["label"] == "Buses")
    focused = client.get(f"/staff/review/{published['id']}?theme={theme['id']}").get_data(as_text=True)
    assert "\u202e" not in focused and "Dr. Patel" in focused


def test_internal_exports_keep_words_but_drop_bidi_controls(db, published):
    """CSV, JSON and Excel keep the team's raw answers (names included) but never a bidi override."""
    rows = list(csv.DictReader(io.StringIO(export(db, published, "csv").decode("utf-8-sig"))))
    texts = {r["text"] for r in rows}
    assert "the bus is late again (s5)" in texts and "Dr. Patel at the bus stop listened (s1)" in texts
    data = json.loads(export(db, published, "json"))
    assert all("\u202e" not in a["text"] for a in data["answers"])
    book = load_workbook(io.BytesIO(export(db, published, "xlsx")))
    cells = [c.value for row in book["Answers"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("\u202e" in c or "\u202c" in c for c in cells)


def test_staff_answer_pages_show_no_bidi_controls(client, db, make_user, published):
    """The facilitator's answers page shows the words without their bidi controls."""
    sign_in(client, make_user("facilitator"))
    body = client.get(f"/staff/sessions/{published['id']}/answers").get_data(as_text=True)
    assert "the bus is late again (s5)" in body and "\u202e" not in body


PLACEHOLDERS = ("[email]", "[url]", "[phone]", "[address]", "[name]")


def test_the_report_method_says_exactly_what_is_removed_in_every_language(db):
    """Each report language's method section names every placeholder and says what is not found."""
    languages = ("en", "es", "fr", "vi", "ar", "ur")
    session = make_session(db, languages=languages)
    person = make_participant(db, session, quote_ok=True)
    answer(db, session, person, queries.prompts_for_session(db, session["id"])[0], text="the bus is late")
    for language in languages:
        buffer = io.BytesIO()
        reporting.export(db, session["id"], buffer, fmt="html", language=language)
        method = BeautifulSoup(buffer.getvalue(), "html.parser").select_one("#method").get_text(" ")
        assert all(p in method for p in PLACEHOLDERS), language
    english = reporting.build_report(db, session["id"], "en").method
    assert any("It does not find a name written without such a word" in p for p in english)
    assert not any("with names, phone numbers, emails and addresses removed" in p for p in english)


def test_the_engine_method_note_says_what_is_and_is_not_redacted():
    """The engine's own method note (the CLI report and English reports) lists what it removes and what it does not."""
    from analysis import messages

    assert "names written after a title or an introduction" in messages.METHOD_NOTE
    assert "other names and details that could identify a person were not" in messages.METHOD_NOTE


def test_staff_and_resident_pages_say_what_redaction_removes(client, db, make_user, published):
    """The review hint, the privacy settings hint and the residents' page no longer promise "without names"."""
    public = page(client.get(f"/s/{published['code']}/results?lang=en")).get_text(" ")
    assert "without names" not in public and "A computer can miss a name" in public
    sign_in(client, make_user("planner"))
    review = page(client.get(f"/staff/review/{published['id']}")).get_text(" ")
    assert "names written after a title or an introduction" in review and "read each quote" in review
    heard = page(client.get(f"/staff/review/{published['id']}/heard"))
    assert "names written after a title or an introduction" in heard.find(id="names-hint").get_text()
