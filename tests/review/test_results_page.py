"""The residents' "we heard / we did" page: published on purpose, reviewed themes only, consented quotes only."""
from __future__ import annotations

import re

from analysis import assemble
from analysis.review import queries as synthesis
from tests.conftest import page, sign_in, submit

CASE = re.compile(r"\(case (\d+)\)")


def size_of(client, url: str) -> int:
    """Return how many bytes a static file sends, closing the response."""
    response = client.get(url)
    try:
        return len(response.data)
    finally:
        response.close()


def publish(client, themed, db, fields=None):
    """Review the largest theme and publish the page through the form."""
    sid = themed.session["id"]
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    sign_in(client, "lead@example.org", "a long password")
    data = {"published": "1", "0-we_did-en": "We will fund rides.", "0-we_did-es": "Vamos a pagar transporte.",
            f"{theme['id']}-label-es": "Llegar a la clínica", **(fields or {})}
    response = submit(client, f"/staff/review/{sid}/publish", data, form_index=1)
    assert response.status_code == 303
    return theme


def test_the_page_is_missing_until_published(client, themed):
    """Before the team publishes it, the residents' page does not exist."""
    assert client.get(f"/s/{themed.session['code']}/results").status_code == 404
    assert client.get("/s/NOPE99/results").status_code == 404


def test_published_page_shows_reviewed_themes_and_consented_quotes_only(client, themed, db):
    """The page lists only reviewed themes, quotes only people who allowed it, and what the coalition will do."""
    theme = publish(client, themed, db)
    response = client.get(f"/s/{themed.session['code']}/results?lang=en")
    assert response.status_code == 200
    soup = page(response)
    assert [h.get_text(strip=True) for h in soup.select("article h3")] == [theme["label"]]
    quotes = " ".join(q.get_text() for q in soup.select("blockquote"))
    unquotable = {int(n) for n in CASE.findall(" ".join(themed.unquotable))}
    assert not {int(n) for n in CASE.findall(quotes)} & unquotable
    assert "We will fund rides." in soup.get_text()
    assert themed.hidden not in soup.get_text() and themed.withdrawn not in soup.get_text()


def test_the_page_speaks_each_session_language(client, themed, db):
    """In Spanish the page uses the Spanish theme name and text, with lang set; it needs no JavaScript and is small."""
    publish(client, themed, db)
    response = client.get(f"/s/{themed.session['code']}/results?lang=es")
    soup = page(response)
    assert soup.html["lang"] == "es" and soup.html["dir"] == "ltr"
    assert "Llegar a la clínica" in [h.get_text(strip=True) for h in soup.select("article h3")]
    assert "Vamos a pagar transporte." in soup.get_text()
    assert all(script.get("src") and not script.string for script in soup.find_all("script"))
    assert not soup.select("[style]") and not soup.find("form")
    urls = [link["href"] for link in soup.select("link[rel=stylesheet]")] + [s["src"] for s in soup.find_all("script")]
    assert len(response.data) + sum(size_of(client, url) for url in urls) < 50 * 1024


def test_unpublishing_takes_the_page_down(client, themed, db):
    """Saving with the box unticked takes the page down again."""
    publish(client, themed, db)
    submit(client, f"/staff/review/{themed.session['id']}/publish", {}, form_index=1)
    assert client.get(f"/s/{themed.session['code']}/results").status_code == 404


def test_the_page_shows_two_of_the_quotes_planners_chose(client, themed, db):
    """Quotes a planner chose appear on the residents' page too, two at most, consented only."""
    sid = themed.session["id"]
    theme = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    stored = synthesis.load(db, sid)
    consented = [a for a in assemble.theme_answers(stored)[theme["id"]] if a["quote_ok"]][-3:]
    synthesis.choose_quotes(db, sid, theme["id"], [a["id"] for a in consented], chosen=True, user_id=themed.planner_id)
    publish(client, themed, db)
    quotes = [q.get_text(strip=True).strip("“”") for q in page(client.get(f"/s/{themed.session['code']}/results?lang=en")).select("blockquote")]
    assert len(quotes) == 2 and set(quotes) <= {a["text"] for a in consented}


def test_each_text_on_the_page_says_the_language_it_is_written_in(client, themed, db):
    """A text shown in the reader's language is marked with it; one that falls back to the main language is marked
    with the main language (so a screen reader reads it with the right voice), on both language pages."""
    sid = themed.session["id"]
    largest = max((t for t in synthesis.active_themes(db, sid) if t["kind"] == "theme"), key=lambda t: t["stored_size"])
    theme = publish(client, themed, db, {"0-summary-en": "We heard about buses.", "0-summary-es": "Escuchamos sobre autobuses.",
                                         f"{largest['id']}-we_did-en": "Rides on Sundays."})
    spanish = page(client.get(f"/s/{themed.session['code']}/results?lang=es"))
    heard = spanish.select_one("section[aria-labelledby=heard]")
    assert [(p["lang"], p.get_text(strip=True)) for p in heard.find_all("p", lang=True, recursive=False)] == [
        ("es", "Escuchamos sobre autobuses.")]
    assert [(h["lang"], h.get_text(strip=True)) for h in heard.select("article h3")] == [("es", "Llegar a la clínica")]
    assert [(s["lang"], s.get_text(strip=True)) for s in heard.select("article span[lang]")] == [("en", "Rides on Sundays.")]
    did = spanish.select_one("section[aria-labelledby=did] p")
    assert (did["lang"], did.get_text(strip=True)) == ("es", "Vamos a pagar transporte.")
    english = page(client.get(f"/s/{themed.session['code']}/results?lang=en"))
    assert [(p["lang"], p.get_text(strip=True)) for p in english.select("[lang][dir=auto]:not(blockquote)")] == [
        ("en", "We heard about buses."), ("en", theme["label"]), ("en", "Rides on Sundays."), ("en", "We will fund rides.")]


def test_a_summary_written_only_in_the_main_language_is_shown_and_marked_as_such(client, themed, db):
    """A page text the team wrote only in the main language is shown on the other language's page, marked as English."""
    publish(client, themed, db, {"0-summary-en": "We heard about buses.", "0-we_did-es": ""})
    spanish = page(client.get(f"/s/{themed.session['code']}/results?lang=es"))
    summary = spanish.select_one("section[aria-labelledby=heard] > p[lang]")
    assert (summary["lang"], summary.get_text(strip=True)) == ("en", "We heard about buses.")
    did = spanish.select_one("section[aria-labelledby=did] p")
    assert (did["lang"], did.get_text(strip=True)) == ("en", "We will fund rides.")


def test_without_chosen_quotes_each_theme_quotes_two_consented_answers(client, themed, db):
    """When no planner chose quotes, each theme on the page quotes two answers (the engine's picks), consented only."""
    publish(client, themed, db)
    articles = page(client.get(f"/s/{themed.session['code']}/results?lang=en")).select("article")
    assert articles
    for article in articles:
        quotes = [q.get_text(strip=True).strip("“”") for q in article.select("blockquote")]
        assert len(quotes) == 2 and set(quotes) <= set(themed.quotable)


def test_the_page_shows_each_theme_s_claims_and_sub_topics_under_the_small_count_rule(client, themed, db):
    """A reviewed theme shows "N people said: …" at or above the threshold, the words alone below it, never a claim
    worded only by people who refused quoting, and its sub-topics with their sizes (a small one without a number)."""
    from tests.review.test_report_claims import QUOTED, UNQUOTED, _grown_bus_theme, _set

    sid = themed.session["id"]
    threshold = synthesis.settings(db, sid)["threshold"]
    theme, members = _grown_bus_theme(themed, db)
    ids = [a["id"] for a in members]
    _set(db, theme["id"], claims=[{"text": QUOTED, "count": threshold + 1, "answer_ids": ids[:threshold + 1]},
                                  {"text": "Always late", "count": 2, "answer_ids": ids[:2]},
                                  {"text": UNQUOTED, "count": 9, "answer_ids": ids[:9]}],
         subthemes=[{"label": "Sunday service", "size": 2, "terms": ["sunday", "service"], "answer_ids": ids[-2:]},
                    {"label": "Buses to the clinic are late", "size": len(ids) - 2, "terms": [], "answer_ids": ids[:-2]}])
    synthesis.set_reviewed(db, sid, theme["id"], True, user_id=themed.planner_id)
    sign_in(client, "lead@example.org", "a long password")
    assert submit(client, f"/staff/review/{sid}/publish", {"published": "1"}, form_index=1).status_code == 303
    soup = page(client.get(f"/s/{themed.session['code']}/results?lang=en"))
    article = next(a for a in soup.select("article") if a.h3.get_text(strip=True) == theme["label"])
    claims = [li.get_text(" ", strip=True) for li in article.select("ul.claims li")]
    assert claims == [f"{threshold + 1} people said: {QUOTED}", "Always late"]
    subs = [li.get_text(" ", strip=True) for li in article.select("ul.subthemes li")]
    assert subs[1] == "Sunday, service" and subs[0].startswith("Buses to the clinic are late")
    spanish = page(client.get(f"/s/{themed.session['code']}/results?lang=es"))
    assert f"{threshold + 1} personas dijeron: {QUOTED}" in [li.get_text(" ", strip=True) for li in spanish.select("ul.claims li")]
    assert UNQUOTED not in spanish.get_text()


def test_a_phone_number_the_team_wrote_keeps_its_order_on_the_arabic_page(client, themed, db):
    """"What we will do" in Arabic with the ride line's number: the number is isolated left to right (else the page
    shows "(336) 555-0142" as "0142-555 (336)"), and the English page's text is as the team wrote it."""
    db.execute("UPDATE sessions SET languages = ? WHERE id = ?", ('["en", "es", "ar"]', themed.session["id"]))
    db.conn.commit()
    publish(client, themed, db, {"0-we_did-ar": "اتصلوا بخط التوصيل على (336) 555-0142",
                                 "0-we_did-en": "Call the ride line at (336) 555-0142"})
    arabic = page(client.get(f"/s/{themed.session['code']}/results?lang=ar"))
    assert arabic.html["dir"] == "rtl"
    assert "\u2066(336) 555-0142\u2069" in arabic.get_text()
    english = page(client.get(f"/s/{themed.session['code']}/results?lang=en")).get_text()
    assert "Call the ride line at (336) 555-0142" in english and "\u2066" not in english
