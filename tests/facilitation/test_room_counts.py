""""About you" results in the room: the console, the projector and the answers page follow the same
small-count rule as every report (never "1 (25%)" for a race in a room of four)."""
from __future__ import annotations

import pytest

from facilitation import live_queries
from listening import live_state
from analysis.review import queries as synthesis
from listening import queries
from tests.conftest import page
from tests.factories import make_participant, make_session, user_id

ABOUT = {"kind": "about", "text": "Race", "demographic": "race", "options": ["Black", "White", "Asian", "Latina"]}


@pytest.fixture(autouse=True)
def fresh_state_cache(app):
    """Each test starts with an empty per-worker state cache."""
    live_state.state_responses(app).cache.clear()


@pytest.fixture
def session(db, make_user):
    """A live session (the facilitator's) whose only question is an "about you" race question, showing on the projector."""
    made = make_session(db, mode="live", status="open", prompts=[ABOUT], created_by=user_id(db, make_user("facilitator")))
    prompt = queries.prompts_for_session(db, made["id"])[0]
    live_queries.show_prompt(db, made["id"], prompt["id"])
    return made


def answer_race(db, session, labels: list[str]) -> None:
    """Let one new resident per label answer the race question with it."""
    prompt = queries.prompts_for_session(db, session["id"])[0]
    texts = queries.texts_for_session(db, session["id"])
    by_label = {texts[("option", o["id"], "label")]["en"]: o["id"] for o in prompt["options"] if not o["prefer_not"]}
    for i, label in enumerate(labels):
        person = make_participant(db, session)
        queries.save_response(db, session_id=session["id"], participant_id=person.id, prompt_id=prompt["id"],
                              nonce=f"race-{len(labels)}-{i}-xxxxxx", language="en", choices=[by_label[f"{label} [en]"]])


def projector_counts(client, session) -> tuple[list[str], list[str], list[str]]:
    """Return the projector's counts, the widths of its bars, and its notes."""
    soup = page(client.get(f"/staff/sessions/{session['id']}/projector/panel"))
    counts = [li.select_one(".count").get_text(strip=True) for li in soup.select(".bars li")]
    widths = [rect["width"] for rect in soup.select(".bars rect")]
    notes = [p.get_text(strip=True) for p in soup.select(".question .waiting, .question p.small")]
    return counts, widths, notes


def test_a_room_of_four_sees_no_about_you_results(as_facilitator, db, session):
    """Four people answered: the projector waits (in every language) and shows no count, share or bar."""
    answer_race(db, session, ["Black", "Black", "White", "Asian"])
    counts, widths, notes = projector_counts(as_facilitator, session)
    assert counts == [] and widths == []
    assert notes[0] == "Results appear once at least 10 people have answered."
    assert notes[1] == "Los resultados aparecerán cuando hayan respondido al menos 10 personas."
    assert "1 (25%)" not in page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector")).get_text()


def footer_count(client, session) -> list[str]:
    """Return the projector footer's "answers so far" in every language."""
    soup = page(client.get(f"/staff/sessions/{session['id']}/projector/panel"))
    return [span.get_text(strip=True) for span in soup.select(".room-footer .answers [lang]")]


def test_the_footer_never_counts_fewer_about_you_answers_than_the_threshold(as_facilitator, db, session):
    """Four "about you" answers: the footer says "fewer than 10", never 4; at 12 it gives the number."""
    answer_race(db, session, ["Black", "Black", "White", "Asian"])
    assert footer_count(as_facilitator, session)[0] == "Fewer than 10 answers so far"
    assert not any("4" in text for text in footer_count(as_facilitator, session))
    answer_race(db, session, ["Latina"] * 8)
    assert footer_count(as_facilitator, session)[0] == "12 answers so far"


@pytest.mark.parametrize("t", [10, 11])
def test_groups_below_the_threshold_are_hidden_on_the_projector(as_facilitator, db, session, t):
    """Groups of t - 1 show the mark and no bar; a group of exactly t shows its number, share and bar."""
    if t != 10:
        synthesis.save_settings(db, session["id"], threshold=t)
    answer_race(db, session, ["Black"] * (t - 1) + ["White"] * (t - 1) + ["Asian"] * t + ["Latina"] * 20)
    counts, widths, notes = projector_counts(as_facilitator, session)
    total = 2 * (t - 1) + t + 20
    assert counts == ["*", "*", f"{t} ({round(100 * t / total)}%)", f"20 ({round(100 * 20 / total)}%)", "0 (0%)"]
    assert widths == [str(round(100 * t / total)), str(round(100 * 20 / total)), "0.5"]
    assert notes[0].startswith("* To protect people, groups smaller than %d" % t)


def test_the_console_shows_what_the_projector_shows(as_facilitator, db, session):
    """The console's results table hides the same groups, and its feed never lists "about you" answers one by one."""
    answer_race(db, session, ["Black"] * 9 + ["White"] * 9 + ["Asian"] * 10 + ["Latina"] * 20)
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/live/panel"))
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in soup.select("table.results tbody tr")]
    assert [r[1:] for r in rows[:4]] == [["*", ""], ["*", ""], ["10", "21%"], ["20", "42%"]]  # shares as the reader writes them
    feed = [li.p.get_text(strip=True) for li in soup.select(".feed li")]
    assert feed and set(feed) == {"An “about you” answer: these are not shown one by one."}
    few = make_session(db, mode="live", status="open", prompts=[ABOUT], created_by=session["created_by"])
    live_queries.show_prompt(db, few["id"], queries.prompts_for_session(db, few["id"])[0]["id"])
    answer_race(db, few, ["Black", "White", "Asian"])
    soup = page(as_facilitator.get(f"/staff/sessions/{few['id']}/live/panel"))
    assert soup.select("table.results") == [] and "appear once at least 10 people" in soup.select_one("#question").get_text()


def test_the_answers_page_hides_small_about_you_counts(as_facilitator, db, session):
    """The staff answers page counts "about you" answers by the same rule (ordinary choices are shown as they are)."""
    answer_race(db, session, ["Black"] * 9 + ["White"] * 9 + ["Asian"] * 10 + ["Latina"] * 20)
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/answers"))
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in soup.select("table.data tbody tr")]
    assert rows[:4] == [["Black [en]", "*"], ["White [en]", "*"], ["Asian [en]", "10"], ["Latina [en]", "20"]]


def test_draft_theme_sizes_on_the_projector_follow_the_rule(as_facilitator, db, session):
    """Approved draft themes show sizes of at least 10; smaller ones show the mark and come after, by label."""
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    draft = live_queries.save_live_themes(db, session["id"], prompt_id,
                                          [{"label": "Zebra crossings", "size": 14}, {"label": "Buses", "size": 3},
                                           {"label": "Alleys", "size": 9}], answer_count=26, user_id=None)
    live_queries.approve_live_themes(db, session["id"], draft, user_id=None)
    db.execute("UPDATE prompts SET kind = 'open' WHERE id = ?", (prompt_id,))
    db.conn.commit()
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    shown = [(li.span.get_text(strip=True), li.select_one(".count").get_text(strip=True)) for li in soup.select(".themes li")]
    assert shown == [("Zebra crossings", "14"), ("Alleys", "*"), ("Buses", "*")]
    console = page(as_facilitator.get(f"/staff/sessions/{session['id']}/live/panel"))
    assert [li.get_text(" ", strip=True) for li in console.select("#themes .themes li")] == [
        "Zebra crossings (14)", "Alleys (*)", "Buses (*)"]


def test_a_big_draft_themes_size_is_written_the_readers_way_on_the_projector(as_facilitator, db, session):
    """A draft theme of 1,200 answers reads "1,200" on the room's screen, as every other count there does."""
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    draft = live_queries.save_live_themes(db, session["id"], prompt_id, [{"label": "Buses", "size": 1200}],
                                          answer_count=1300, user_id=None)
    live_queries.approve_live_themes(db, session["id"], draft, user_id=None)
    db.execute("UPDATE prompts SET kind = 'open' WHERE id = ?", (prompt_id,))
    db.conn.commit()
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert [li.select_one(".count").get_text(strip=True) for li in soup.select(".themes li")] == ["1,200"]


def test_the_projectors_answer_count_is_written_the_readers_way(as_facilitator, db, session, monkeypatch):
    """The footer's "1,234 answers so far" groups its digits as every other count on the room's screen does."""
    prompt_id = queries.prompts_for_session(db, session["id"])[0]["id"]
    db.execute("UPDATE prompts SET kind = 'open' WHERE id = ?", (prompt_id,))
    db.conn.commit()
    monkeypatch.setattr(live_queries, "visible_count", lambda db, session_id, prompt_id: 1234)
    soup = page(as_facilitator.get(f"/staff/sessions/{session['id']}/projector/panel"))
    assert "1,234 answers so far" in soup.select_one("p.answers").get_text(" ", strip=True)
