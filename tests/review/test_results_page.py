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
