"""The demo's follow-up design session: statements in four languages, simulated voters, groups and priorities to look at."""
from listening import queries
from listening import statements as st
from listening.demo import CONTACTS
from listening.demo_design import ensure_demo_design
from tests.conftest import page
from tests.factories import user_id


def test_demo_design_session_has_votes_groups_and_dots_and_is_made_once(app, db, as_facilitator, make_user):
    """The follow-up demo session is open, has translated statements, 36 voters in two groups and dot votes; a second call adds nothing."""
    owner = user_id(db, make_user("facilitator"))
    with app.app_context():
        code = ensure_demo_design(db, languages=["en", "es", "ar", "ur"], user_id=owner, contact=CONTACTS)
        assert ensure_demo_design(db, languages=["en", "es", "ar", "ur"], user_id=owner, contact=CONTACTS) == code
    found = queries.session_by_code(db, code)
    react, dots, ideas = queries.prompts_for_session(db, found["id"])
    statements = st.statements_for_prompt(db, react["id"])
    assert len(statements) == 7 and {s["language"] for s in statements} == {"en", "es", "ar"}
    assert all(len(s["translations"]) == 3 for s in statements)
    assert len({p for p, _s, _v in st.votes_for_prompt(db, react["id"])}) == 36
    soup = page(as_facilitator.get(f"/staff/review/{found['id']}/opinions"))
    assert len(soup.find_all("table")[0].find("tbody").find_all("tr")) >= 2
    assert soup.find(id=f"prio-{dots['id']}") is not None
    assert ideas["kind"] == "ideas"
    typed = [i for i in st.statements_for_prompt(db, ideas["id"]) if i["status"] == "approved"]
    assert len(typed) == 6 and {i["language"] for i in typed} >= {"en", "es", "ar", "ur"}
    # Every idea reads in every language of the demo (an Urdu idea on an Arabic phone is shown in Arabic).
    assert all({i["language"], *i["translations"]} == {"en", "es", "ar", "ur"} for i in typed)
    assert {i["table_name"] for i in typed} == {"Mesa en español", "طاولة العربية والأردية", None}
    assert len({p for p, _s, _v in st.votes_for_prompt(db, ideas["id"])}) == 24
