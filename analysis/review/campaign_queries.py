"""Across a campaign's sessions: pooled "who was heard", where to listen next, pooled themes, rounds, commitments.

Every function takes `db` first and the ids of the sessions the viewer may see (from
`listening.access.campaign_sessions_for`), so a partner's staff count only their partner's
sessions and nothing here decides access. Counts go through `analysis.disclosure`: each
session's own people table is published as its own report publishes it, and the pooled table
is protected together with those (`disclosure.protect_pooled`), so subtracting sessions'
published tables from a pooled one recovers no hidden count.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from analysis import disclosure, equity, themes
from listening import campaigns, queries
from listening.db import one, rows, transaction

from . import queries as synthesis

PREFER_NOT = "prefer_not"
NOT_GIVEN = equity.MISSING_SEGMENT
UNDER, OVER = 0.8, 1.25  # the session report's "under-/over-represented" bounds


@dataclass(frozen=True)
class Pooled:
    """Who was heard for one "about you" bank question across sessions, as published."""

    question: dict
    columns: tuple[str, ...]  # bank option ids (as text), then PREFER_NOT and NOT_GIVEN
    table: disclosure.ShownGrid | None  # None: no session asked it
    sessions: tuple[dict, ...]  # the sessions in the table, in row order
    left_out: tuple[dict, ...]  # sessions whose choices do not match the bank's, so they cannot be pooled


def session_thresholds(db: sqlite_utils.Database, session_ids: Sequence[int]) -> dict[int, int]:
    """Return each session's small-count threshold (one query for them all)."""
    stored: dict[int, int | None] = dict.fromkeys(session_ids)
    if session_ids:
        marks = ",".join("?" * len(session_ids))
        for row in rows(db, f"SELECT session_id, threshold FROM synthesis_settings WHERE session_id IN ({marks})",
                        tuple(session_ids)):
            stored[row["session_id"]] = row["threshold"]
    return {s: disclosure.threshold_in_use(t) for s, t in stored.items()}


def people_by_answer(db: sqlite_utils.Database, prompts: dict[int, int], people: dict[int, int]) -> dict[int, Counter]:
    """Count each session's taking-part people by their answer to one prompt ({session: prompt}), as its own
    report counts them: the first choice of an answer not skipped or hidden; the rest of `people` (each
    session's people taking part) are "not given"."""
    if not prompts:
        return {}
    marks = ",".join("?" * len(prompts))
    session_of = {prompt: session for session, prompt in prompts.items()}
    found: dict[int, Counter] = {session_id: Counter() for session_id in prompts}
    # A withdrawal deletes the person's answers in the same transaction that marks them withdrawn, so
    # counting answers needs no join to participants (the covering index of m014 answers it alone).
    for row in rows(db, f"""SELECT r.prompt_id, r.choices, count(*) AS n FROM responses r
                            WHERE r.prompt_id IN ({marks}) AND r.skipped = 0 {synthesis.visible_filter(db)}
                            GROUP BY r.prompt_id, r.choices""", tuple(prompts.values())):
        choices = json.loads(row["choices"]) if row["choices"] else []
        if choices:
            found[session_of[row["prompt_id"]]][str(choices[0])] += row["n"]
    for session_id, counted in found.items():
        counted[NOT_GIVEN] = people[session_id] - sum(counted.values())
    return found


def pooled_heard(db: sqlite_utils.Database, question: dict, sessions: Sequence[dict]) -> Pooled:
    """Pool people by their answer to an "about you" bank question over the sessions that asked it."""
    by_id = {s["id"]: s for s in sessions}
    prompts: dict[int, int] = {}
    for link in sorted(campaigns.linked_prompts(db, question["id"], list(by_id)), key=lambda x: x["prompt_id"]):
        prompts.setdefault(link["session_id"], link["prompt_id"])  # a session asking it twice counts its first
    mapping = campaigns.option_links(db, list(prompts.values()))
    counted = people_by_answer(db, prompts, {s['id']: s['people'] for s in sessions})
    columns = tuple(str(o["id"]) for o in question["options"]) + (PREFER_NOT, NOT_GIVEN)
    thresholds = session_thresholds(db, list(prompts))
    parts, included, left_out = [], [], []
    for session_id in sorted(prompts):
        to_bank = mapping[prompts[session_id]]
        targets = [PREFER_NOT if b == -1 else (None if b is None else str(b)) for b in to_bank.values()]
        if None in targets or len(set(targets)) != len(targets):
            left_out.append(by_id[session_id])
            continue
        categories = [str(o) for o in sorted(to_bank)] + [NOT_GIVEN]
        counts = [counted[session_id].get(c, 0) for c in categories]
        own = disclosure.protect_line(f"s{session_id}", categories, counts, threshold=thresholds[session_id])
        column_of = dict(zip([str(o) for o in to_bank], targets)) | {NOT_GIVEN: NOT_GIVEN}
        row_counts = dict.fromkeys(columns, 0)
        row_shown: dict[str, int | None] = dict.fromkeys(columns, 0)
        for category, count, shown in zip(categories, counts, own.counts):
            row_counts[column_of[category]] = count
            row_shown[column_of[category]] = None if own.withheld else shown
        parts.append(disclosure.PooledRow(f"s{session_id}", tuple(row_counts[c] for c in columns),
                                          tuple(row_shown[c] for c in columns)))
        included.append(by_id[session_id])
    if not parts:
        return Pooled(question, columns, None, (), tuple(left_out))
    threshold = max(thresholds.values(), default=disclosure.DEFAULT_THRESHOLD)
    table = disclosure.protect_pooled(f"q{question['id']}", columns, parts, threshold=threshold)
    return Pooled(question, columns, table, tuple(included), tuple(left_out))


def reference_rows(pooled: Pooled) -> list[dict]:
    """Compare each choice's pooled share with its reference share, from published counts only."""
    out = []
    if pooled.table is None:
        return out
    for option in pooled.question["options"]:
        count = pooled.table.column_total(str(option["id"]))
        share = disclosure.share(count, pooled.table.total)
        ref = option["reference_percent"]
        ratio = (100 * share / ref) if share is not None and ref else None
        verdict = None if ratio is None else ("under" if ratio < UNDER else "over" if ratio > OVER else "in_line")
        out.append({"option": option, "count": count, "share": share, "reference": ref, "ratio": ratio,
                    "verdict": verdict, "priority": bool(option["priority"])})
    return out


def listen_next(pooled_tables: Sequence[Pooled], sessions: Sequence[dict]) -> dict:
    """Return the groups and places least heard so far: published shares furthest below the reference first,
    then groups too few to show (hidden), priority groups first among equals."""
    behind, hidden = [], []
    for pooled in pooled_tables:
        for row in reference_rows(pooled):
            if row["reference"] is None or row["reference"] <= 0:
                continue
            item = {"question": pooled.question, **row}
            if row["ratio"] is None:
                hidden.append(item)
            elif row["ratio"] < UNDER:
                behind.append(item)
    behind.sort(key=lambda x: (x["ratio"], not x["priority"]))
    hidden.sort(key=lambda x: (not x["priority"], -x["reference"]))
    partners = Counter()
    for found in sessions:
        partners[found["partner"]] += found["people"]
    return {"behind": behind, "hidden": hidden, "quiet_partners": sorted(partners.items(), key=lambda x: (x[1], x[0]))[:3]}


def totals(sessions: Sequence[dict]) -> dict:
    """Return people by round and by partner (staff totals, as on the dashboard)."""
    by_round, by_partner = Counter(), Counter()
    for found in sessions:
        by_round[found["round"]] += found["people"]
        by_partner[found["partner"]] += found["people"]
    return {"people": sum(s["people"] for s in sessions), "sessions": len(sessions),
            "by_round": sorted(by_round.items()), "by_partner": sorted(by_partner.items())}


# --- pooled themes ---------------------------------------------------------------------------


def pooled_answers(db: sqlite_utils.Database, question_id: int, session_ids: Sequence[int]) -> list[dict]:
    """Return every counted answer (not withdrawn, not hidden, not skipped) to an open bank question in these sessions."""
    prompt_ids = [link["prompt_id"] for link in campaigns.linked_prompts(db, question_id, session_ids)]
    if not prompt_ids:
        return []
    marks = ",".join("?" * len(prompt_ids))
    return rows(db, f"""SELECT r.id, r.text, r.language, r.session_id, r.participant_id,
                               coalesce(c.quote_ok, 0) AS quote_ok, {queries.TRANSLATION_COLUMNS} FROM responses r
                        JOIN participants p ON p.id = r.participant_id
                        LEFT JOIN consents c ON c.participant_id = p.id
                        {queries.TRANSLATION_JOIN}
                        WHERE r.prompt_id IN ({marks}) AND r.skipped = 0 AND r.text IS NOT NULL AND trim(r.text) != ''
                          AND p.withdrawn_at IS NULL {synthesis.visible_filter(db)} ORDER BY r.id""", tuple(prompt_ids))


def run_pooled_themes(db: sqlite_utils.Database, campaign_id: int, question: dict, session_ids: Sequence[int], *,
                      round_id: int | None, seed: int = 0, progress=None, checkpoint=None) -> int:
    """Draft themes over every session's answers to an open bank question (one round, or all), keeping
    planners' names: a new theme that shares most answers with an earlier one keeps its row and name.

    `progress(done, total, cancellable=True)` (a background job's report) hears the engine's steps and may
    raise to cancel until the themes are written, all in one transaction at the end: a run stopped or
    interrupted before then leaves the campaign's earlier themes as they were.

    `checkpoint` (a background job's `listening.jobs.Context`) keeps the engine's result in the job's file; a
    job resumed after a restart (`jobs.recover`) writes that result instead of running the engine again if the
    answers are as the engine read them (`synthesis.answers_fingerprint`), else says so and starts again.
    """
    report = progress or (lambda done, total, cancellable=True: None)
    read_at = queries.now()
    answers = pooled_answers(db, question["id"], session_ids)
    fingerprint = synthesis.answers_fingerprint([question["id"], round_id, *session_ids, seed], answers)
    found = None
    if checkpoint is not None and checkpoint.checkpoint.get("resumed"):
        kept = checkpoint.kept()
        if kept is not None and kept["fingerprint"] == fingerprint:
            found = kept["result"]
            with transaction(db):
                checkpoint.mark(outcome="continued")
        else:
            checkpoint.forget_kept()
            with transaction(db):
                checkpoint.mark(outcome="again")
    if found is None:
        # Each session's name list and vocabulary redact what a theme's name may quote, as in its own review.
        redactions = [synthesis.session_redaction(db, sid) for sid in sorted({a["session_id"] for a in answers})]
        names = sorted({n for r in redactions for n in r.names})
        vocabulary = frozenset().union(*(r.vocabulary for r in redactions))
        # Theme names are drafted only from the words of people who allowed quoting; a staff translation is
        # analysed in place of the original, as in each session's own run.
        given = [synthesis.engine_answer(a) for a in answers]
        found = synthesis.at_low_priority(lambda: themes.find_themes(
            given, seed=seed, names=names, vocabulary=vocabulary, question=tuple(question["texts"].values()),
            subthemes=False, secondary=False, on_step=lambda done, steps: report(done, steps + 1)))
        if checkpoint is not None:
            checkpoint.keep({"fingerprint": fingerprint, "result": found})
    report(themes.ENGINE_STEPS, themes.ENGINE_STEPS + 1)
    old = _theme_members(db, campaign_id, question["id"], round_id)
    stamp = queries.now()
    with transaction(db):
        taken: set[int] = set()
        # Answers a facilitator hid since the engine read them leave the themes; their words, and those of answers
        # deleted since, leave the names the engine drew (`unname_pooled_themes`), as a withdrawal does afterwards.
        hidden = _hidden_since(db, session_ids, read_at)
        # An answer its author rewrote or skipped since leaves the names with the words it no longer has.
        prompt_ids = [link["prompt_id"] for link in campaigns.linked_prompts(db, question["id"], session_ids)]
        gone: set[int] = set(hidden) | {a["id"] for a in queries.replaced_since(db, answers, prompt_ids, read_at)}
        for theme in found.themes:
            members = {a for a, t in found.assignment.items() if t == theme.id}
            match = max(((len(members & m) / max(1, len(members | m)), tid) for tid, m in old.items() if tid not in taken),
                        default=(0.0, None))
            if match[0] >= 0.5:
                theme_id = match[1]
                db.execute("""UPDATE campaign_themes SET machine_label = ?, top_terms = ?, headline_from_translation = ?,
                              label = CASE WHEN renamed THEN label ELSE ? END WHERE id = ?""",
                           (theme.label, json.dumps(list(theme.top_terms)), int(theme.headline_from_translation),
                            theme.label, theme_id))
                db.execute("DELETE FROM campaign_theme_answers WHERE theme_id = ?", (theme_id,))
            else:
                theme_id = db.execute(
                    """INSERT INTO campaign_themes (campaign_id, question_id, round_id, label, machine_label, top_terms,
                                                      headline_from_translation, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                    (campaign_id, question["id"], round_id, theme.label, theme.label, json.dumps(list(theme.top_terms)),
                     int(theme.headline_from_translation), stamp)).lastrowid
            taken.add(theme_id)
            members -= hidden
            # An answer deleted since the engine read it (its author withdrew, its import was undone) is not linked.
            linked = db.conn.executemany(
                "INSERT INTO campaign_theme_answers (response_id, theme_id) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM responses WHERE id = ?)",
                [(a, theme_id, a) for a in sorted(members)]).rowcount
            if linked != len(members):
                still = {r[0] for r in db.execute("SELECT id FROM responses WHERE id IN (SELECT value FROM json_each(?))",
                                                  (json.dumps(sorted(members)),))}
                gone |= members - still
        for theme_id in set(old) - taken:
            db.execute("DELETE FROM campaign_theme_answers WHERE theme_id = ?", (theme_id,))
            db.execute("""DELETE FROM campaign_themes WHERE id = ? AND renamed = 0
                          AND id NOT IN (SELECT theme_id FROM commitment_themes)""", (theme_id,))
        if gone:
            queries.unname_pooled_themes(db, sorted(taken), [a for a in answers if a["id"] in gone])
    return len(found.themes)


def _hidden_since(db: sqlite_utils.Database, session_ids: Sequence[int], since: str) -> set[int]:
    """Return the answers of these sessions a facilitator hid since `since` (from the small moderation log)."""
    if not session_ids:
        return set()
    return {r[0] for r in db.execute(
        """SELECT response_id FROM moderation_log WHERE action = 'hide' AND at >= ?
           AND session_id IN (SELECT value FROM json_each(?))""", (since, json.dumps(sorted(int(s) for s in session_ids))))}


def _theme_members(db: sqlite_utils.Database, campaign_id: int, question_id: int, round_id: int | None) -> dict[int, set[int]]:
    """Return the stored pooled themes of one question and round with their answers."""
    members: dict[int, set[int]] = {}
    for row in rows(db, """SELECT t.id, a.response_id FROM campaign_themes t LEFT JOIN campaign_theme_answers a ON a.theme_id = t.id
                           WHERE t.campaign_id = ? AND t.question_id = ? AND t.round_id IS ?""",
                    (campaign_id, question_id, round_id)):
        members.setdefault(row["id"], set())
        if row["response_id"] is not None:
            members[row["id"]].add(row["response_id"])
    return members


def pooled_themes(db: sqlite_utils.Database, campaign_id: int, question_id: int, round_id: int | None,
                  threshold: int = disclosure.DEFAULT_THRESHOLD) -> dict:
    """Return the stored pooled themes of a question (and round) with sizes as published, largest first."""
    found = rows(db, """SELECT t.*, (SELECT count(*) FROM campaign_theme_answers a WHERE a.theme_id = t.id) AS size,
                        (SELECT count(DISTINCT r.session_id) FROM campaign_theme_answers a JOIN responses r ON r.id = a.response_id
                         WHERE a.theme_id = t.id) AS sessions
                        FROM campaign_themes t WHERE t.campaign_id = ? AND t.question_id = ? AND t.round_id IS ?""",
                     (campaign_id, question_id, round_id))
    line = disclosure.protect_line("sizes", [str(t["id"]) for t in found], [t["size"] for t in found], threshold=threshold)
    for theme in found:
        theme["shown_size"] = None if line.withheld else line.count(str(theme["id"]))
        theme["top_terms"] = json.loads(theme["top_terms"])
    order = equity.published_order([str(t["id"]) for t in found], line,
                                   label_of=lambda key: next(t["label"] for t in found if str(t["id"]) == key))
    by_key = {str(t["id"]): t for t in found}
    return {"themes": [by_key[k] for k in order], "total": line.total}


def rename_pooled_theme(db: sqlite_utils.Database, campaign_id: int, theme_id: int, label: str) -> bool:
    """Give a pooled theme a planner's name (the name carried across rounds); False if it is not this campaign's."""
    with transaction(db):
        return db.execute("UPDATE campaign_themes SET label = ?, renamed = 1 WHERE id = ? AND campaign_id = ?",
                          (label.strip(), theme_id, campaign_id)).rowcount == 1


def campaign_theme(db: sqlite_utils.Database, campaign_id: int, theme_id: int) -> dict | None:
    """Return one pooled theme of this campaign, or None."""
    return one(db, "SELECT * FROM campaign_themes WHERE id = ? AND campaign_id = ?", (theme_id, campaign_id))


def all_campaign_themes(db: sqlite_utils.Database, campaign_id: int) -> list[dict]:
    """Return every pooled theme of a campaign (for linking commitments), by label."""
    return rows(db, "SELECT * FROM campaign_themes WHERE campaign_id = ? ORDER BY label COLLATE NOCASE", (campaign_id,))


# --- rounds ----------------------------------------------------------------------------------


def compare_themes(before: Sequence[dict], after: Sequence[dict]) -> list[dict]:
    """Match two rounds' themes by their planner-given names and say which grew, shrank, are new or gone.

    Sizes are the published ones; a change is named only when both sizes are shown.
    """
    def key(theme: dict) -> str:
        """Return the name a theme is matched by across rounds."""
        return " ".join(theme["label"].casefold().split())

    old = {key(t): t for t in before}
    new = {key(t): t for t in after}
    out = []
    for name in list(new) + [n for n in old if n not in new]:
        a, b = old.get(name), new.get(name)
        if a is None:
            change = "new"
        elif b is None:
            change = "gone"
        elif a["shown_size"] is None or b["shown_size"] is None:
            change = "unknown"
        else:
            change = "grew" if b["shown_size"] > a["shown_size"] else "shrank" if b["shown_size"] < a["shown_size"] else "same"
        out.append({"label": (b or a)["label"], "before": a and a["shown_size"], "after": b and b["shown_size"],
                    "change": change})
    return out


def priority_participation(db: sqlite_utils.Database, bank: Sequence[dict], sessions_by_round: dict[int, list[dict]],
                           every_round: dict[int, list[dict]] | None = None) -> list[dict]:
    """For each priority group, its published share of the people heard in each round (from pooled tables).

    `every_round` holds the sessions of every round the viewer sees (default: `sessions_by_round`). "Who was heard"
    pools them all, and publishes a group's count there: with one round's count hidden, the others' published counts
    would give it back by subtraction (19 - 16 = 3). So a group hidden in any round shows no round's share while its
    campaign count is published.
    """
    every_round = sessions_by_round if every_round is None else every_round
    everyone = [found for sessions in every_round.values() for found in sessions]
    out = []
    for question in bank:
        if question["kind"] != "about" or not any(o["priority"] for o in question["options"]):
            continue
        tables = {rid: pooled_heard(db, question, found) for rid, found in sessions_by_round.items()}
        rounds = {rid: tables[rid] if rid in tables else pooled_heard(db, question, found) for rid, found in every_round.items()}
        campaign = pooled_heard(db, question, everyone).table
        for option in question["options"]:
            if not option["priority"]:
                continue
            column = str(option["id"])
            hidden_somewhere = any(r.table is not None and r.table.column_total(column) is None for r in rounds.values())
            recoverable = hidden_somewhere and campaign is not None and campaign.column_total(column) is not None
            shares = {}
            for rid, pooled in tables.items():
                table = pooled.table
                shares[rid] = None if table is None or recoverable else disclosure.share(table.column_total(column), table.total)
            out.append({"question": question, "option": option, "shares": shares})
    return out


# --- commitments -----------------------------------------------------------------------------


PRIORITY_KINDS = ("dots", "rank", "budget")


def campaign_priorities(db: sqlite_utils.Database, campaign_id: int) -> dict[str, dict]:
    """Return what residents set as priorities in the campaign's sessions, by key ("o<option id>", "s<statement id>"):
    the choices of its dots, rank and budget questions, and the statements residents reacted to.

    Each has its wording by language ("texts"), its question's ("question") and its session's code. A
    statement a resident wrote is listed only while their quote permission lets its words into
    reports (`listening.statements.words_allowed`), through its session's redaction; withdrawn with its author, it
    is gone.
    """
    from analysis.redaction import redaction_of
    from listening.statements import words_allowed

    marks = ",".join("?" * len(PRIORITY_KINDS))
    options = rows(db, f"""SELECT o.id, o.prompt_id, s.code FROM options o JOIN prompts p ON p.id = o.prompt_id
                           JOIN campaign_sessions cs ON cs.session_id = p.session_id JOIN sessions s ON s.id = p.session_id
                           WHERE cs.campaign_id = ? AND p.kind IN ({marks}) AND o.prefer_not = 0
                           ORDER BY p.session_id, p.position, o.position""", (campaign_id, *PRIORITY_KINDS))
    statements = [row for row in rows(
        db, """SELECT st.id, st.prompt_id, st.body, st.language, st.participant_id, st.session_id, s.code,
                      c.quote_ok AS author_quote_ok, c.quote_scope AS author_quote_scope
               FROM statements st JOIN campaign_sessions cs ON cs.session_id = st.session_id
               JOIN sessions s ON s.id = st.session_id LEFT JOIN consents c ON c.participant_id = st.participant_id
               WHERE cs.campaign_id = ? AND st.status = 'approved' ORDER BY st.session_id, st.id""", (campaign_id,))
        if words_allowed(row, "reports")]
    texts: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for row in rows(db, """SELECT t.owner, t.owner_id, t.language, t.body FROM texts t
                           JOIN campaign_sessions cs ON cs.session_id = t.session_id
                           WHERE cs.campaign_id = ? AND ((t.owner = 'option' AND t.field = 'label')
                                                         OR (t.owner = 'prompt' AND t.field = 'text'))""", (campaign_id,)):
        texts[(row["owner"], row["owner_id"])][row["language"]] = row["body"]
    for row in rows(db, """SELECT t.statement_id, t.language, t.body FROM statement_texts t
                           JOIN statements st ON st.id = t.statement_id JOIN campaign_sessions cs ON cs.session_id = st.session_id
                           WHERE cs.campaign_id = ?""", (campaign_id,)):
        texts[("statement", row["statement_id"])][row["language"]] = row["body"]
    found = {f"o{o['id']}": {"key": f"o{o['id']}", "texts": texts[("option", o["id"])],
                             "question": texts[("prompt", o["prompt_id"])], "session": o["code"]} for o in options}
    redactions: dict[int, object] = {}
    for st in statements:
        worded = {**texts[("statement", st["id"])], st["language"]: st["body"]}
        if st["participant_id"] is not None:
            # A resident's words are quoted as every report quotes them: through their session's redaction.
            if st["session_id"] not in redactions:
                redactions[st["session_id"]] = redaction_of(queries.texts_for_session(db, st["session_id"]),
                                                            queries.synthesis_settings(db, st["session_id"])["name_list"])
            worded = {code: redactions[st["session_id"]](body).strip() for code, body in worded.items()}
        found[f"s{st['id']}"] = {"key": f"s{st['id']}", "texts": worded,
                                 "question": texts[("prompt", st["prompt_id"])], "session": st["code"]}
    return found


def save_commitment(db: sqlite_utils.Database, campaign_id: int, commitment_id: int | None, *, texts: dict[str, dict[str, str]],
                    owner: str, status: str, due_on: str | None, done_on: str | None, published: bool,
                    theme_ids: Sequence[int], user_id: int | None,
                    priority_keys: Sequence[str] = ()) -> int:
    """Create or change a commitment with its "we heard / we will / we did" wording per language, its themes and
    the design-session priorities it answers (keys of :func:`campaign_priorities`; others are ignored)."""
    if status not in campaigns.COMMITMENT_STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    stamp = queries.now()
    with transaction(db):
        if commitment_id is None:
            commitment_id = db.execute(
                """INSERT INTO commitments (campaign_id, owner, status, due_on, done_on, published, created_by, created_at,
                   updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (campaign_id, owner, status, due_on, done_on, int(published), user_id, stamp, stamp)).lastrowid
        else:
            db.execute("""UPDATE commitments SET owner = ?, status = ?, due_on = ?, done_on = ?, published = ?, updated_at = ?
                          WHERE id = ? AND campaign_id = ?""",
                       (owner, status, due_on, done_on, int(published), stamp, commitment_id, campaign_id))
        db.execute("DELETE FROM commitment_texts WHERE commitment_id = ?", (commitment_id,))
        for field, by_language in texts.items():
            for language, body in by_language.items():
                if body.strip():
                    db.execute("INSERT INTO commitment_texts (commitment_id, field, language, body) VALUES (?, ?, ?, ?)",
                               (commitment_id, field, language, body.strip()))
        db.execute("DELETE FROM commitment_themes WHERE commitment_id = ?", (commitment_id,))
        db.conn.executemany("""INSERT INTO commitment_themes (commitment_id, theme_id)
                          SELECT ?, id FROM campaign_themes WHERE id = ? AND campaign_id = ?""",
                       [(commitment_id, t, campaign_id) for t in theme_ids])
        db.execute("DELETE FROM commitment_priorities WHERE commitment_id = ?", (commitment_id,))
        allowed = campaign_priorities(db, campaign_id) if priority_keys else {}
        for key in dict.fromkeys(k for k in priority_keys if k in allowed):
            column = "option_id" if key[0] == "o" else "statement_id"
            db.execute(f"INSERT INTO commitment_priorities (commitment_id, {column}) VALUES (?, ?)", (commitment_id, int(key[1:])))
    return commitment_id


def commitments_of(db: sqlite_utils.Database, campaign_id: int, *, published_only: bool = False) -> list[dict]:
    """Return a campaign's commitments with their wording ({(field, language): body}), linked themes and the
    design-session priorities they answer (those whose words may still be shown)."""
    found = rows(db, f"""SELECT * FROM commitments WHERE campaign_id = ? {'AND published = 1' if published_only else ''}
                         ORDER BY CASE status WHEN 'in_progress' THEN 0 WHEN 'planned' THEN 1 WHEN 'done' THEN 2 ELSE 3 END,
                         coalesce(due_on, '9999'), id""", (campaign_id,))
    texts = defaultdict(dict)
    for row in rows(db, """SELECT t.* FROM commitment_texts t JOIN commitments c ON c.id = t.commitment_id
                           WHERE c.campaign_id = ?""", (campaign_id,)):
        texts[row["commitment_id"]][(row["field"], row["language"])] = row["body"]
    linked = defaultdict(list)
    for row in rows(db, """SELECT ct.commitment_id, t.id, t.label FROM commitment_themes ct
                           JOIN campaign_themes t ON t.id = ct.theme_id WHERE t.campaign_id = ? ORDER BY t.label""",
                    (campaign_id,)):
        linked[row["commitment_id"]].append({"id": row["id"], "label": row["label"]})
    priorities = campaign_priorities(db, campaign_id) if found else {}
    answers = defaultdict(list)
    for row in rows(db, """SELECT p.commitment_id, p.option_id, p.statement_id FROM commitment_priorities p
                           JOIN commitments c ON c.id = p.commitment_id WHERE c.campaign_id = ?
                           ORDER BY p.rowid""", (campaign_id,)):
        key = f"o{row['option_id']}" if row["option_id"] is not None else f"s{row['statement_id']}"
        if key in priorities:  # still a priority whose words may be shown
            answers[row["commitment_id"]].append(priorities[key])
    for commitment in found:
        commitment["texts"] = texts[commitment["id"]]
        commitment["themes"] = linked[commitment["id"]]
        commitment["priorities"] = answers[commitment["id"]]
    return found


def commitment(db: sqlite_utils.Database, campaign_id: int, commitment_id: int) -> dict | None:
    """Return one commitment of this campaign, or None."""
    return next((c for c in commitments_of(db, campaign_id) if c["id"] == commitment_id), None)


def published_sessions(db: sqlite_utils.Database, campaign_id: int) -> list[dict]:
    """Return the campaign's sessions whose residents' page is published (code and title), for the public page."""
    return rows(db, """SELECT s.code, s.id FROM campaign_sessions cs JOIN sessions s ON s.id = cs.session_id
                       JOIN synthesis_settings t ON t.session_id = s.id
                       WHERE cs.campaign_id = ? AND t.published = 1 ORDER BY s.id""", (campaign_id,))


# --- the campaign report -----------------------------------------------------------------------


def campaign_report(db: sqlite_utils.Database, found: dict, sessions: Sequence[dict], language: str, *,
                    with_themes: bool, progress=None):
    """Build a campaign's report (for every writer in `analysis.reports`) over these sessions, in a language.

    Counts are the pooled, disclosure-controlled ones of the "who was heard" page; themes (for
    the backbone) are the pooled themes of all rounds with their published sizes and no quotes;
    the coalition's commitments are its insights. No answer text is included. `progress(done, total)`
    hears one step per "about you" question pooled (the work), then one for the themes.
    """
    from analysis import numbers, reports
    from listening.i18n import text_direction

    translations = synthesis.translations_for(language)
    _ = synthesis.gettext_with(translations)
    default = found["default_language"]
    bank = campaigns.bank_of(db, found["id"])
    about = [q for q in bank if q["kind"] == "about"]
    step = progress or (lambda done, total: None)
    tables = []
    for question in about:
        step(len(tables), len(about) + 2)
        tables.append(pooled_heard(db, question, sessions))
    step(len(about), len(about) + 2)
    mark = reports.MARK
    people = sum(s["people"] for s in sessions)
    threshold = max(session_thresholds(db, [s["id"] for s in sessions]).values(), default=disclosure.DEFAULT_THRESHOLD)
    shown_people = people if people >= threshold else None
    # A partner's people are a count like any other: one with a single small session would otherwise show the
    # number its session's own report hides. Protected as a line whose total the report shows.
    by_partner = totals(sessions)["by_partner"]
    partner_line = disclosure.protect_line("partners", [str(p) for p, _n in by_partner], [n for _p, n in by_partner],
                                           threshold=threshold)
    participation = [reports.Table(_("By partner"), (_("Partner"), _("People")),
                                   tuple((p, numbers.count(n, language, mark)) for (p, _count), n in zip(by_partner, partner_line.counts)))
                     ] if shown_people else []
    representation = []
    for pooled in tables:
        if pooled.table is None:
            continue
        title = campaigns.wording(pooled.question["texts"], language, default)
        body = tuple((campaigns.wording(r["option"]["texts"], language, default), numbers.count(r["count"], language, mark),
                      numbers.share(r["share"], language), numbers.percent(r["reference"], language),
                      {"under": _("Under-represented"), "over": _("Over-represented"),
                       "in_line": _("About in line")}.get(r["verdict"], "")) for r in reference_rows(pooled))
        representation.append(reports.Table(title, (_("Group"), _("People"), _("Share of people who took part"),
                                                    _("Reference share"), _("Compared with reference")), body))
    views = []
    if with_themes:
        for question in (q for q in bank if q["kind"] == "open"):
            for theme in pooled_themes(db, found["id"], question["id"], None)["themes"]:
                views.append(reports.ThemeView(id=f"C{theme['id']}", label=theme["label"], definition="",
                                               size=theme["shown_size"], reviewed=bool(theme["renamed"]),
                                               top_terms=tuple(theme["top_terms"])))
    step(len(about) + 1, len(about) + 2)
    statuses = {"planned": _("Planned"), "in_progress": _("In progress"), "done": _("Done"), "dropped": _("Not going ahead")}

    def pick(item: dict, field: str) -> str:
        """Return a commitment's wording in the report's language, else the campaign's."""
        return item["texts"].get((field, language)) or item["texts"].get((field, default), "")

    commitments = tuple(" ".join(part for part in (
        f"{_('We heard:')} {pick(c, 'heard')}" if pick(c, "heard") else "", f"{_('We will:')} {pick(c, 'will')}",
        f"{_('We did:')} {pick(c, 'did')}" if pick(c, "did") else "", f"({statuses[c['status']]})",
        f"{_('It answers what residents set as priorities in design sessions:')} "
        f"{'; '.join(campaigns.wording(p['texts'], language, default) for p in c['priorities'])}" if c["priorities"] else "")
        if part)
        for c in commitments_of(db, found["id"], published_only=not with_themes))
    return reports.Report(
        code=found["slug"], title=campaigns.campaign_text(found, "name", language),
        purpose=campaigns.campaign_text(found, "purpose", language), language=language,
        direction=text_direction(language), generated_at=queries.now()[:16].replace("T", " ") + " UTC",
        questions=tuple(campaigns.wording(q["texts"], language, default) for q in bank),
        participants=shown_people, answers=None, threshold=threshold, themes=tuple(views),
        participation=tuple(participation), representation=tuple(representation), insights=commitments,
        caveats=(_("People chose to take part. They are not a random sample, so these answers do not speak for everyone who lives here."),
                 _("To protect people, counts below %(threshold)s are hidden and shown as %(mark)s, and so are counts that would reveal them.",
                   threshold=numbers.count(threshold, language), mark=mark)),
    )


def heard_data(db: sqlite_utils.Database, campaign_id: int, sessions: Sequence[dict], progress=None) -> tuple:
    """Pool every "about you" bank question over these sessions: the tables, where to listen next, and each
    table's comparison with the reference population (what the "who was heard" page shows)."""
    step = progress or (lambda done, total: None)
    about = [q for q in campaigns.bank_of(db, campaign_id) if q["kind"] == "about"]
    tables = []
    for question in about:
        step(len(tables), len(about) + 1)
        tables.append(pooled_heard(db, question, sessions))
    step(len(about), len(about) + 1)
    return tables, listen_next(tables, sessions), {t.question["id"]: reference_rows(t) for t in tables}
