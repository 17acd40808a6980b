"""The public campaign page writes a commitment's dates in the reader's language, not as stored (2027-06-01)."""
from __future__ import annotations

from analysis.review import campaign_queries as pooled
from listening import campaigns
from tests.conftest import text_of


def test_commitment_dates_are_written_in_the_pages_language(app, db):
    """In Spanish and Arabic a due date reads as a date of that language; the stored ISO form shows nowhere."""
    cid = campaigns.create_campaign(db, slug="babies", languages=["en", "es", "ar"], created_by=None,
                                    texts={"name": {"en": "Babies", "es": "Bebés", "ar": "أطفال"}})
    pooled.save_commitment(db, cid, None, texts={"will": {"en": "Evening hours", "es": "Horario de tarde", "ar": "ساعات مسائية"}},
                           owner="Clinic", status="in_progress", due_on="2027-06-01", done_on=None, published=True,
                           theme_ids=[], user_id=None)
    campaigns.set_published(db, cid, True)
    client = app.test_client()
    spanish = text_of(client.get("/c/babies?lang=es"))
    assert "1 de junio de 2027" in spanish and "2027-06-01" not in spanish
    arabic = text_of(client.get("/c/babies?lang=ar"))
    assert "يونيو" in arabic and "2027-06-01" not in arabic
    assert "June 1, 2027" in text_of(client.get("/c/babies?lang=en"))
