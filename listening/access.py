"""Who may see which session: the one rule every staff page, export and list goes through.

Admins see every session. Anyone else sees a session they created (they own it) or one its
owner or an admin gave them (a row in `session_access`). What they may *do* with a session
they see still depends on their role (facilitators change and run sessions, planners read and
analyse). A session someone may not see answers 404, exactly like a session that does not
exist, so a guessed id reveals nothing.

The rule lives in `accessible_sessions` (SQL, for lists) and `can_see_session` (one session),
and nowhere else. Campaigns (issue 16) are one more UNION branch: a campaign's partner staff
see the sessions their partner hosts, its backbone staff every session of the campaign; and
`accessible_campaigns` / `campaign_role` say who may open a campaign at all (its members and
admins; anyone else gets 404).
"""
from __future__ import annotations

import sqlite_utils
from werkzeug.exceptions import NotFound

from . import queries
from .db import one, rows, transaction


def accessible_sessions(user: dict | None) -> tuple[str, dict]:
    """Return SQL selecting the ids (column `id`) of the sessions `user` may see, with its parameters."""
    if user is None or not user["active"]:
        return "SELECT id FROM sessions WHERE 0", {}
    if user["role"] == "admin":
        return "SELECT id FROM sessions", {}
    return (
        "SELECT id FROM sessions WHERE created_by = :viewer "
        "UNION SELECT session_id FROM session_access WHERE user_id = :viewer "
        # a campaign's partner staff see their partner's sessions; its backbone staff (no partner) all of it
        "UNION SELECT cs.session_id FROM campaign_sessions cs JOIN campaign_members m ON m.campaign_id = cs.campaign_id "
        "WHERE m.user_id = :viewer AND (m.partner_id IS NULL OR m.partner_id = cs.partner_id)",
        {"viewer": user["id"]},
    )


def accessible_campaigns(user: dict | None) -> tuple[str, dict]:
    """Return SQL selecting the ids of the campaigns `user` may open: admins all, staff those they are members of."""
    if user is None or not user["active"]:
        return "SELECT id FROM campaigns WHERE 0", {}
    if user["role"] == "admin":
        return "SELECT id FROM campaigns", {}
    return "SELECT campaign_id FROM campaign_members WHERE user_id = :viewer", {"viewer": user["id"]}


def campaign_role(db: sqlite_utils.Database, user: dict | None, campaign_id: int) -> str | None:
    """Return how `user` stands in a campaign: 'admin', 'backbone', 'partner', or None (may not see it)."""
    if user is None or not user["active"]:
        return None
    exists = one(db, "SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,))
    if exists is None:
        return None
    if user["role"] == "admin":
        return "admin"
    member = one(db, "SELECT partner_id FROM campaign_members WHERE campaign_id = ? AND user_id = ?",
                 (campaign_id, user["id"]))
    if member is None:
        return None
    return "backbone" if member["partner_id"] is None else "partner"


def campaign_sessions_for(user: dict | None, campaign_id: int) -> tuple[str, dict]:
    """Return SQL selecting the ids of a campaign's sessions `user` may see (the same rule as every session page)."""
    sql, params = accessible_sessions(user)
    return (f"SELECT session_id FROM campaign_sessions WHERE campaign_id = :campaign_scope AND session_id IN ({sql})",
            {**params, "campaign_scope": campaign_id})


def can_see_session(db: sqlite_utils.Database, user: dict | None, session_id: int) -> bool:
    """Tell whether `user` may see the session with this id (False for a session that does not exist)."""
    sql, params = accessible_sessions(user)
    found = one(
        db, f"SELECT 1 FROM sessions WHERE id = :session_id AND id IN ({sql})", {**params, "session_id": session_id},
    )
    return found is not None


def visible_session(db: sqlite_utils.Database, user: dict | None, session_id: int) -> dict:
    """Return the session if `user` may see it; otherwise raise 404, as for a session that does not exist."""
    if not can_see_session(db, user, session_id):
        raise NotFound()
    found = queries.session_by_id(db, session_id)
    if found is None:  # pragma: no cover - deleted between the two reads
        raise NotFound()
    return found


def sessions_for(db: sqlite_utils.Database, user: dict | None) -> list[dict]:
    """Return the sessions `user` may see, newest first, with titles and counts."""
    return queries.all_sessions(db, among=accessible_sessions(user))


def is_owner(found: dict, user: dict | None) -> bool:
    """Tell whether `user` created (owns) this session."""
    return bool(user) and found.get("created_by") is not None and found["created_by"] == user["id"]


def can_share(found: dict, user: dict | None) -> bool:
    """Tell whether `user` may give or take away access to this session: its owner or an admin."""
    return bool(user) and (user["role"] == "admin" or (user["role"] == "facilitator" and is_owner(found, user)))


def people_with_access(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """Return the staff given access to a session (not its owner or the admins), by email."""
    return rows(
        db,
        """SELECT u.id, u.email, u.role, u.active, a.given_at, g.email AS given_by_email
           FROM session_access a JOIN users u ON u.id = a.user_id LEFT JOIN users g ON g.id = a.given_by
           WHERE a.session_id = ? ORDER BY u.email""",
        (session_id,),
    )


def could_be_given(db: sqlite_utils.Database, found: dict) -> list[dict]:
    """Return active facilitators and planners who cannot see this session yet, by email."""
    return rows(
        db,
        """SELECT id, email, role FROM users
           WHERE active = 1 AND role IN ('facilitator', 'planner') AND id IS NOT ?
             AND id NOT IN (SELECT user_id FROM session_access WHERE session_id = ?)
           ORDER BY email""",
        (found["created_by"], found["id"]),
    )


def give_access(db: sqlite_utils.Database, session_id: int, user_id: int, *, given_by: int | None) -> bool:
    """Let a facilitator or planner see a session; False if they already could or cannot be given it."""
    with transaction(db):
        person = one(db, "SELECT role, active FROM users WHERE id = ?", (user_id,))
        owner = one(db, "SELECT created_by FROM sessions WHERE id = ?", (session_id,))
        if person is None or owner is None or person["role"] not in ("facilitator", "planner") \
                or not person["active"] or owner["created_by"] == user_id:
            return False
        cursor = db.execute(
            "INSERT OR IGNORE INTO session_access (session_id, user_id, given_by, given_at) VALUES (?, ?, ?, ?)",
            (session_id, user_id, given_by, queries.now()),
        )
        return cursor.rowcount == 1


def take_access(db: sqlite_utils.Database, session_id: int, user_id: int) -> bool:
    """Stop someone who was given access from seeing a session; False if they had not been given it."""
    with transaction(db):
        cursor = db.execute("DELETE FROM session_access WHERE session_id = ? AND user_id = ?", (session_id, user_id))
        return cursor.rowcount == 1
