"""The answers page and the audit log stay small in big sessions: a page of 50 at a time, newest first,
filtered in SQL, with "Older" and "Newer" links that work without JavaScript."""
from __future__ import annotations

import pytest

from facilitation import live_queries
from listening import lists, queries
from listening.db import transaction
from tests.conftest import page
from tests.factories import make_participant, make_session, user_id

PROMPTS = [
    {"kind": "open", "text": "What helps you?"},
    {"kind": "open", "text": "What gets in the way?"},
    {"kind": "single", "text": "How do you travel?", "options": ["Car", "Bus", "Walk"]},
    {"kind": "about", "text": "How old are you?", "demographic": "age", "options": ["Under 30", "30 or older"]},
]


@pytest.fixture
def big(db, make_user):
    """A session of the facilitator's with 120 residents: each answers both open questions, a travel choice and their age."""
    session = make_session(db, prompts=PROMPTS, created_by=user_id(db, make_user("facilitator")))
    first, second, travel, age = queries.prompts_for_session(db, session["id"])
    with transaction(db):
        for i in range(120):
            language = "es" if i % 4 == 0 else "en"
            person = make_participant(db, session, language=language)
            for prompt, text in ((first, f"helps {i:03d}"), (second, f"hard {i:03d}")):
                queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                                      nonce=f"o{prompt['id']}-{i}", language=language, text=text)
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=travel["id"],
                                  nonce=f"t{i}", language=language, choices=[travel["options"][i % 3]["id"]])
            queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=age["id"],
                                  nonce=f"a{i}", language=language, choices=[age["options"][i % 2]["id"]])
    return {"session": session, "first": first, "second": second, "travel": travel, "age": age}


def listed(client, url: str) -> tuple[list[str], dict[str, str]]:
    """Return the written answers a page lists and its paging links by relation."""
    soup = page(client.get(url))
    texts = [li.p.get_text(strip=True) for li in soup.select(".written-answers .open-answers li")]
    links = {a["rel"][0]: a["href"] for a in soup.select(".pager-links a")}
    return texts, links


def test_the_answers_page_lists_fifty_written_answers_newest_first_and_pages_without_javascript(as_facilitator, big):
    """240 written answers: 50 on the first page, newest first; "Older" walks to the end and "Newer" back, none twice."""
    url = f"/staff/sessions/{big['session']['id']}/answers"
    texts, links = listed(as_facilitator, url)
    assert len(texts) == 50 and texts[:2] == ["hard 119", "helps 119"]
    assert set(links) == {"next"}
    seen = list(texts)
    while "next" in links:
        texts, links = listed(as_facilitator, links["next"])
        seen += texts
    assert len(seen) == 240 and len(set(seen)) == 240 and seen[-1] == "helps 000"
    assert "next" not in links and "prev" in links
    back, _links = listed(as_facilitator, links["prev"])
    assert back == seen[150:200]


def test_filters_narrow_the_answers_in_sql_and_keep_themselves_across_pages(as_facilitator, db, big):
    """Question, language, "about you" answer and hidden filters narrow the list and its count, and the Older link keeps them."""
    sid = big["session"]["id"]
    under_30 = big["age"]["options"][0]["id"]
    url = f"/staff/sessions/{sid}/answers?prompt={big['first']['id']}&language=en&segment={under_30}"
    soup = page(as_facilitator.get(url))
    # Residents 0..119: English when i % 4 != 0; under 30 when i is even: i % 4 == 2, 30 of them.
    assert soup.select_one(".written-answers [role=status]").get_text(strip=True).startswith("30 written answers match")
    texts, _links = listed(as_facilitator, url)
    assert texts == [f"helps {i:03d}" for i in range(118, -1, -1) if i % 4 == 2]
    hidden_id = lists.answers_page(db, sid, lists.AnswerFilter(prompt_id=big["second"]["id"])).rows[0]["id"]
    assert live_queries.hide_response(db, sid, hidden_id, user_id=None, reason="a name")
    texts, _links = listed(as_facilitator, f"/staff/sessions/{sid}/answers?hidden=hidden")
    assert texts == ["hard 119"]
    _texts, links = listed(as_facilitator, f"/staff/sessions/{sid}/answers?language=es")
    assert "language=es" in links["next"]


def test_choice_counts_come_from_sql_and_small_about_you_counts_stay_hidden(as_facilitator, big):
    """The travel question's counts are 40 each; the age counts (60 and 60) are shown as the rule allows."""
    soup = page(as_facilitator.get(f"/staff/sessions/{big['session']['id']}/answers"))
    tables = soup.select("table.data")
    travel = [[td.get_text(strip=True) for td in tr.select("td")] for tr in tables[0].select("tbody tr")]
    assert travel == [["Car [en]", "40"], ["Bus [en]", "40"], ["Walk [en]", "40"]]
    age = [[td.get_text(strip=True) for td in tr.select("td")] for tr in tables[1].select("tbody tr")]
    assert age[:2] == [["Under 30 [en]", "60"], ["30 or older [en]", "60"]]


def test_a_filter_the_session_does_not_offer_is_dropped_with_a_clear_message(as_facilitator, big):
    """An unknown question, language or cursor is not an error page: the filter is left out and the page says so."""
    sid = big["session"]["id"]
    response = as_facilitator.get(f"/staff/sessions/{sid}/answers?prompt={big['travel']['id']}&language=xx&before=abc")
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one(".written-answers [role=alert]").get_text(strip=True).startswith("One of the filters")
    assert len(soup.select(".written-answers .open-answers li")) == 50


def test_the_theme_filter_lists_only_that_themes_answers(as_facilitator, db, big):
    """Answers placed in a theme by the planners' store are the only ones its filter shows."""
    sid = big["session"]["id"]
    with transaction(db):
        theme = db.execute("INSERT INTO themes (session_id, label, created_at, updated_at) VALUES (?, 'Buses', '2026-01-01', '2026-01-01')",
                           (sid,)).lastrowid
        chosen = lists.answers_page(db, sid, lists.AnswerFilter(), size=3).rows
        for row in chosen:
            db.execute("INSERT INTO theme_assignments (response_id, session_id, theme_id, status, updated_at) "
                       "VALUES (?, ?, ?, 'theme', '2026-01-01')", (row["id"], sid, theme))
    texts, links = listed(as_facilitator, f"/staff/sessions/{sid}/answers?theme={theme}")
    assert texts == [row["text"] for row in chosen] and links == {}


def test_the_audit_log_pages_and_filters_by_kind(as_admin, db):
    """250 audit entries: 100 a page, newest first; the kind filter narrows them and the Older link keeps it."""
    for i in range(250):
        queries.record_audit(db, user_id=None, action="export" if i % 2 else "themes_run", target=f"T{i:03d}")
    soup = page(as_admin.get("/staff/audit"))
    targets = [tr.select("td")[3].get_text(strip=True) for tr in soup.select("table.data tbody tr")]
    assert len(targets) == 100 and targets[0] == "T249"
    soup = page(as_admin.get("/staff/audit?action=export"))
    targets = [tr.select("td")[3].get_text(strip=True) for tr in soup.select("table.data tbody tr")]
    assert targets[:2] == ["T249", "T247"] and len(targets) == 100
    older = soup.select_one(".pager-links a[rel=next]")["href"]
    assert "action=export" in older
    rest = page(as_admin.get(older))
    assert len(rest.select("table.data tbody tr")) == 25
    assert page(as_admin.get("/staff/audit?action=nope")).select_one("[role=alert]") is not None


def test_the_answers_query_uses_an_index_in_order_not_a_sort_of_the_session(db, big):
    """The page query walks the session's index by id (no temporary B-tree for ORDER BY)."""
    conditions, params = lists._answer_conditions(db, big["session"]["id"], lists.AnswerFilter())
    plan = " ".join(row[3] for row in db.execute(
        f"EXPLAIN QUERY PLAN {lists.ANSWER_SELECT} WHERE {' AND '.join(conditions)} ORDER BY r.id DESC LIMIT 51", params))
    assert "USE TEMP B-TREE" not in plan and "INDEX" in plan


def test_the_theme_filter_starts_from_the_themes_own_answers(db, big):
    """Filtering by a theme reads that theme's assignments (in answer order), not every answer of the session.

    A small theme in a 100,000-resident session took a second per page and per count when each
    of the session's answers was checked against it (docs/scaling.md).
    """
    conditions, params = lists._answer_conditions(db, big["session"]["id"], lists.AnswerFilter(theme_id=1))
    plan = " ".join(row[3] for row in db.execute(
        f"EXPLAIN QUERY PLAN {lists.ANSWER_SELECT} WHERE {' AND '.join(conditions)} ORDER BY r.id DESC LIMIT 51", params))
    assert "theme_assignments_by_theme" in plan and "USE TEMP B-TREE" not in plan
    assert "CORRELATED" not in plan


def test_a_count_past_the_cap_says_more_than(as_facilitator, big, monkeypatch):
    """Counting stops past the cap, and the page says "More than" rather than a number it did not finish."""
    from listening import lists as lists_module

    monkeypatch.setattr(lists_module, "COUNT_CAP", 100)
    soup = page(as_facilitator.get(f"/staff/sessions/{big['session']['id']}/answers"))
    assert soup.select_one(".written-answers [role=status]").get_text(strip=True) == "More than 100 written answers match, newest first."
