"""The only place Chorus's schema is defined: ordered migrations, each in its own transaction.

Add a change as a new function at the end (`m002_...`); never edit one that has been applied.
Consent records, contact details and answers live in separate tables so each can be kept,
purged or withdrawn on its own terms.
"""
from __future__ import annotations

import re

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("chorus")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """Create users, sessions with their texts and prompts, participants, consent and answers."""
    _run(
        db,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'facilitator', 'planner')),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            last_login_at TEXT
        );

        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            mode TEXT NOT NULL CHECK (mode IN ('live', 'self_paced')),
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
            languages TEXT NOT NULL,            -- JSON list; the first is the session's default
            timezone TEXT NOT NULL,
            minutes INTEGER NOT NULL DEFAULT 15, -- how long it takes, for the consent statement
            contact TEXT NOT NULL DEFAULT '',    -- whom to contact, for the consent statement
            current_prompt_id INTEGER,           -- live mode: the prompt the facilitator shows
            answering_open INTEGER NOT NULL DEFAULT 0,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            opened_at TEXT,
            closed_at TEXT
        );

        CREATE TABLE prompts (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('open', 'single', 'multiple', 'scale', 'about')),
            required INTEGER NOT NULL DEFAULT 0,
            demographic TEXT,                    -- 'about' prompts: which segment they measure
            scale_min INTEGER,
            scale_max INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE INDEX prompts_by_session ON prompts(session_id, position);

        CREATE TABLE options (
            id INTEGER PRIMARY KEY,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            prefer_not INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX options_by_prompt ON options(prompt_id, position);

        -- Every piece of session text, one row per language.
        CREATE TABLE texts (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            owner TEXT NOT NULL CHECK (owner IN ('session', 'prompt', 'option')),
            owner_id INTEGER NOT NULL,
            field TEXT NOT NULL,
            language TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (owner, owner_id, field, language)
        );
        CREATE INDEX texts_by_session ON texts(session_id);

        -- The exact consent statement each participant was shown.
        CREATE TABLE consent_versions (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            language TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (session_id, version, language)
        );

        CREATE TABLE participants (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            receipt_hash TEXT NOT NULL UNIQUE,
            language TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'phone',
            entered_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            withdrawn_at TEXT
        );
        CREATE INDEX participants_by_session ON participants(session_id);

        CREATE TABLE consents (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL UNIQUE REFERENCES participants(id) ON DELETE CASCADE,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            consent_version_id INTEGER NOT NULL REFERENCES consent_versions(id),
            version INTEGER NOT NULL,
            language TEXT NOT NULL,
            method TEXT NOT NULL CHECK (method IN ('self', 'staff_verbal')),
            take_part INTEGER NOT NULL CHECK (take_part = 1),
            quote_ok INTEGER NOT NULL DEFAULT 0,
            contact_ok INTEGER NOT NULL DEFAULT 0,
            given_at TEXT NOT NULL,
            recorded_by INTEGER REFERENCES users(id)
        );

        -- Contact details live apart from answers and go on withdrawal.
        CREATE TABLE contacts (
            participant_id INTEGER PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );

        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'phone',
            text TEXT,
            choices TEXT,                        -- JSON list of option ids
            number INTEGER,
            skipped INTEGER NOT NULL DEFAULT 0,
            entered_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (participant_id, prompt_id)
        );
        CREATE INDEX responses_by_prompt ON responses(prompt_id);
        CREATE INDEX responses_by_session ON responses(session_id);

        -- Idempotency ledger: a form's one-time key, so a retry or double tap changes nothing.
        CREATE TABLE submissions (
            nonce TEXT PRIMARY KEY,
            participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            at TEXT NOT NULL
        );

        -- What kind of data was deleted, when and why; never the content.
        CREATE TABLE deletion_log (
            id INTEGER PRIMARY KEY,
            session_id INTEGER,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL,
            by_user INTEGER
        );

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_id INTEGER,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT ''
        );
        """
    )


def _run(db: sqlite_utils.Database, script: str) -> None:
    """Run a script statement by statement, inside the migration's transaction.

    `executescript` would commit first and break the all-or-nothing promise.
    """
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every pending migration and return the names of those applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


@migrations()
def m002_live(db: sqlite_utils.Database) -> None:
    """Run live sessions: pause, timer, equity pause and a state counter; moderation; reflection notes.

    `state_version` goes up by one (through a trigger, whoever changes the row) every time
    something a phone or projector follows changes, so it can serve as a cheap ETag.
    """
    _run(
        db,
        """
        ALTER TABLE sessions ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN equity_pause INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN timer_ends_at TEXT;
        ALTER TABLE sessions ADD COLUMN state_version INTEGER NOT NULL DEFAULT 1;

        CREATE TRIGGER sessions_state_version AFTER UPDATE OF
            status, current_prompt_id, answering_open, paused, equity_pause, timer_ends_at ON sessions
        WHEN OLD.status IS NOT NEW.status OR OLD.current_prompt_id IS NOT NEW.current_prompt_id
          OR OLD.answering_open IS NOT NEW.answering_open OR OLD.paused IS NOT NEW.paused
          OR OLD.equity_pause IS NOT NEW.equity_pause OR OLD.timer_ends_at IS NOT NEW.timer_ends_at
        BEGIN UPDATE sessions SET state_version = state_version + 1 WHERE id = NEW.id; END;

        ALTER TABLE responses ADD COLUMN hidden_at TEXT;
        ALTER TABLE responses ADD COLUMN hidden_by INTEGER REFERENCES users(id);
        ALTER TABLE responses ADD COLUMN hidden_reason TEXT;

        -- Every hide and restore: who, when, why. Never deleted with the answer's text.
        CREATE TABLE moderation_log (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            response_id INTEGER,
            action TEXT NOT NULL CHECK (action IN ('hide', 'restore')),
            reason TEXT NOT NULL DEFAULT '',
            user_id INTEGER REFERENCES users(id),
            at TEXT NOT NULL
        );
        CREATE INDEX moderation_log_by_session ON moderation_log(session_id);

        -- Equity pauses: what the team noticed (who is not in the room, whose voice dominated, power).
        CREATE TABLE equity_notes (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_id INTEGER REFERENCES prompts(id) ON DELETE SET NULL,
            topic TEXT NOT NULL CHECK (topic IN ('absent', 'dominant', 'power', 'other')),
            body TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id),
            at TEXT NOT NULL
        );
        CREATE INDEX equity_notes_by_session ON equity_notes(session_id);

        -- Draft themes for a live prompt: shown on the projector only once a facilitator approves.
        CREATE TABLE live_themes (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            themes TEXT NOT NULL,                -- JSON list of {"label", "size"}; never quotes
            answer_count INTEGER NOT NULL,
            drafted_by INTEGER REFERENCES users(id),
            drafted_at TEXT NOT NULL,
            approved_by INTEGER REFERENCES users(id),
            approved_at TEXT
        );
        CREATE INDEX live_themes_by_prompt ON live_themes(prompt_id);
        """
    )


@migrations()
def m003_synthesis(db: sqlite_utils.Database) -> None:
    """Keep planners' synthesis: engine runs, reviewed themes, assignments, edits, insights, equity settings.

    Assignments cascade with their answer, so a withdrawal (which deletes answers) removes them too.
    """
    _run(
        db,
        """
        CREATE TABLE synthesis_settings (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_ids TEXT NOT NULL DEFAULT '[]',   -- JSON list of open prompts analysed; [] = all
            names TEXT NOT NULL DEFAULT '',          -- extra names to redact from quotes, one per line
            threshold INTEGER NOT NULL DEFAULT 10 CHECK (threshold BETWEEN 5 AND 11),
            published INTEGER NOT NULL DEFAULT 0,    -- the residents' "we heard / we did" page
            published_at TEXT,
            published_by INTEGER REFERENCES users(id),
            updated_at TEXT NOT NULL
        );

        CREATE TABLE theme_runs (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_ids TEXT NOT NULL,
            seed INTEGER NOT NULL,
            k_chosen INTEGER NOT NULL,
            answer_count INTEGER NOT NULL,
            method TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX theme_runs_by_session ON theme_runs(session_id);

        CREATE TABLE themes (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            run_id INTEGER REFERENCES theme_runs(id) ON DELETE SET NULL,
            kind TEXT NOT NULL DEFAULT 'theme' CHECK (kind IN ('theme', 'other')),
            label TEXT NOT NULL,
            machine_label TEXT NOT NULL DEFAULT '',
            top_terms TEXT NOT NULL DEFAULT '[]',
            definition TEXT NOT NULL DEFAULT '',
            renamed INTEGER NOT NULL DEFAULT 0,
            manual INTEGER NOT NULL DEFAULT 0,       -- shaped by a person (split, merge)
            reviewed_by INTEGER REFERENCES users(id),
            reviewed_at TEXT,
            merged_into INTEGER REFERENCES themes(id) ON DELETE SET NULL,
            retired_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX themes_by_session ON themes(session_id);

        CREATE TABLE theme_assignments (
            response_id INTEGER PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            theme_id INTEGER REFERENCES themes(id) ON DELETE SET NULL,
            status TEXT NOT NULL CHECK (status IN ('theme', 'contentless', 'off_topic')),
            pinned INTEGER NOT NULL DEFAULT 0,       -- placed by a person: re-runs leave it alone
            rank INTEGER NOT NULL DEFAULT 0,         -- typicality within its theme, 0 = most typical
            quote INTEGER,                           -- the engine's quote order, NULL if not a quote
            updated_at TEXT NOT NULL
        );
        CREATE INDEX theme_assignments_by_theme ON theme_assignments(theme_id);
        CREATE INDEX theme_assignments_by_session ON theme_assignments(session_id);

        -- Every planner decision: who, when, what.
        CREATE TABLE theme_edits (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            theme_id INTEGER,
            response_id INTEGER,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            user_id INTEGER REFERENCES users(id),
            at TEXT NOT NULL
        );
        CREATE INDEX theme_edits_by_session ON theme_edits(session_id);

        CREATE TABLE insights (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            theme_id INTEGER REFERENCES themes(id) ON DELETE SET NULL,
            kind TEXT NOT NULL CHECK (kind IN ('insight', 'hmw')),
            body TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX insights_by_session ON insights(session_id);

        -- Who lives here: a planner's reference shares for the options of an "about you" question.
        CREATE TABLE reference_shares (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            option_id INTEGER NOT NULL REFERENCES options(id) ON DELETE CASCADE,
            percent REAL NOT NULL CHECK (percent >= 0 AND percent <= 100),
            source TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (prompt_id, option_id)
        );

        CREATE TABLE priority_groups (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            option_id INTEGER NOT NULL REFERENCES options(id) ON DELETE CASCADE,
            PRIMARY KEY (session_id, option_id)
        );

        -- The residents' page in each language: a theme's plain label and what the coalition will do.
        CREATE TABLE public_texts (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            theme_id INTEGER NOT NULL DEFAULT 0,     -- 0 = the page as a whole
            field TEXT NOT NULL CHECK (field IN ('label', 'we_did', 'summary')),
            language TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (session_id, theme_id, field, language)
        );
        """
    )


@migrations()
def m004_hardening(db: sqlite_utils.Database) -> None:
    """Per-session retention and legal hold; an index for counting recent failed sign-ins."""
    _run(
        db,
        """
        -- retention_days NULL means CHORUS_RETENTION_DAYS; purged_at is when raw text was last purged.
        ALTER TABLE sessions ADD COLUMN retention_days INTEGER;
        ALTER TABLE sessions ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN purged_at TEXT;
        CREATE INDEX audit_log_by_action ON audit_log(action, target, at);
        """
    )


@migrations()
def m005_chosen_quotes(db: sqlite_utils.Database) -> None:
    """Planners choose which consented answers a theme quotes; re-runs keep their choice."""
    _run(
        db,
        """
        -- 1 = a person chose this answer as one of its theme's quotes (it is pinned too).
        ALTER TABLE theme_assignments ADD COLUMN chosen INTEGER NOT NULL DEFAULT 0;
        """
    )


@migrations()
def m006_wall_moderation(db: sqlite_utils.Database) -> None:
    """The projector wall's moderation queue: a per-session setting, each answer's wall decision, logged.

    `wall_moderation` starts on (1) for every session, existing ones included: Chorus cannot
    tell from the wording whether a session touches health or identity, and this coalition's
    sessions all do. With it on, an open answer reaches the wall only once a facilitator
    approves it. A changed answer waits again (the trigger), so nobody can swap approved words
    for others. The moderation log is rebuilt to accept the new actions; its rows are kept.
    """
    _run(
        db,
        """
        ALTER TABLE sessions ADD COLUMN wall_moderation INTEGER NOT NULL DEFAULT 1;

        -- NULL: waiting (or never needed); 'approved': may be on the wall; 'declined': kept off it.
        ALTER TABLE responses ADD COLUMN wall_status TEXT CHECK (wall_status IN ('approved', 'declined'));
        ALTER TABLE responses ADD COLUMN wall_decided_at TEXT;
        ALTER TABLE responses ADD COLUMN wall_decided_by INTEGER REFERENCES users(id);

        CREATE TRIGGER responses_wall_recheck AFTER UPDATE OF text ON responses
        WHEN OLD.text IS NOT NEW.text AND NEW.wall_status IS NOT NULL
        BEGIN UPDATE responses SET wall_status = NULL, wall_decided_at = NULL, wall_decided_by = NULL WHERE id = NEW.id; END;

        CREATE TABLE moderation_log_new (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            response_id INTEGER,
            action TEXT NOT NULL CHECK (action IN ('hide', 'restore', 'approve', 'decline', 'wall_on', 'wall_off')),
            reason TEXT NOT NULL DEFAULT '',
            user_id INTEGER REFERENCES users(id),
            at TEXT NOT NULL
        );
        INSERT INTO moderation_log_new (id, session_id, response_id, action, reason, user_id, at)
            SELECT id, session_id, response_id, action, reason, user_id, at FROM moderation_log;
        DROP TABLE moderation_log;
        ALTER TABLE moderation_log_new RENAME TO moderation_log;
        CREATE INDEX moderation_log_by_session ON moderation_log(session_id);
        CREATE INDEX responses_wall_queue ON responses(prompt_id, wall_status);
        """
    )


@migrations()
def m007_threshold_floor(db: sqlite_utils.Database) -> None:
    """Counts below 10 are hidden everywhere: raise any lower small-count threshold to 10, log it, refuse lower ones.

    Planners may raise the threshold (to 11, the CHECK's ceiling) but no one may lower it; the
    triggers hold the floor even for a write that bypasses the app.
    """
    _run(
        db,
        """
        INSERT INTO audit_log (at, user_id, action, target, detail)
            SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), NULL, 'synthesis_settings', s.code,
                   'threshold=10 (raised from ' || t.threshold || ': counts below 10 are hidden everywhere)'
            FROM synthesis_settings t JOIN sessions s ON s.id = t.session_id WHERE t.threshold < 10;
        UPDATE synthesis_settings SET threshold = 10 WHERE threshold < 10;
        CREATE TRIGGER synthesis_threshold_floor_insert BEFORE INSERT ON synthesis_settings WHEN NEW.threshold < 10 BEGIN SELECT RAISE(ABORT, 'the small-count threshold cannot be below 10'); END;
        CREATE TRIGGER synthesis_threshold_floor_update BEFORE UPDATE OF threshold ON synthesis_settings WHEN NEW.threshold < 10 BEGIN SELECT RAISE(ABORT, 'the small-count threshold cannot be below 10'); END;
        """
    )


@migrations()
def m008_erasure_ledger(db: sqlite_utils.Database) -> None:
    """Keep a content-free ledger of withdrawals and retention purges, so a restored backup honours them.

    A withdrawal is identified by the receipt hash the participants table already holds (never the
    receipt, never what was said); a purge by its session's code. Both carry the time they happened.
    Existing withdrawals and purges are copied in, so backups taken from now on carry them too.
    """
    _run(
        db,
        """
        CREATE TABLE erasure_ledger (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('withdrawal', 'retention_purge')),
            session_code TEXT NOT NULL,
            receipt_hash TEXT NOT NULL DEFAULT '',   -- withdrawals: which participant; '' for purges
            at TEXT NOT NULL,
            UNIQUE (kind, session_code, receipt_hash, at)
        );

        INSERT OR IGNORE INTO erasure_ledger (kind, session_code, receipt_hash, at)
            SELECT 'withdrawal', s.code, p.receipt_hash, p.withdrawn_at
            FROM participants p JOIN sessions s ON s.id = p.session_id
            WHERE p.withdrawn_at IS NOT NULL;

        INSERT OR IGNORE INTO erasure_ledger (kind, session_code, receipt_hash, at)
            SELECT 'retention_purge', s.code, '', d.at
            FROM deletion_log d JOIN sessions s ON s.id = d.session_id
            WHERE d.kind = 'retention_purge'
        """
    )


@migrations()
def m009_staff_sessions(db: sqlite_utils.Database) -> None:
    """Make staff sign-ins revocable and sign-in throttling atomic.

    `session_version` is copied into a staff member's cookie at sign-in and compared on every
    request: signing out, changing the password or the role adds one and so ends every cookie
    issued before. `sign_in_throttle` counts failed sign-ins per account, per known device and
    per address in one row each, updated inside the write lock, so parallel tries cannot overshoot.
    """
    _run(
        db,
        """
        ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN password_changed_at TEXT;

        CREATE TABLE sign_in_throttle (
            key TEXT PRIMARY KEY,                    -- 'account:<email>', 'device:<id>:<email>' or 'address:<ip>'
            failures INTEGER NOT NULL,
            last_failure_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m010_session_access(db: sqlite_utils.Database) -> None:
    """Per-session access for staff: who, besides its creator and the admins, may see a session."""
    _run(
        db,
        """
        -- A session's creator (sessions.created_by) owns it; admins see every session; anyone else
        -- sees only the sessions listed here for them (facilitation.access holds the rule).
        CREATE TABLE session_access (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            given_by INTEGER REFERENCES users(id),
            given_at TEXT NOT NULL,
            PRIMARY KEY (session_id, user_id)
        );
        CREATE INDEX session_access_by_user ON session_access(user_id, session_id);
        CREATE INDEX sessions_by_creator ON sessions(created_by)
        """
    )


@migrations()
def m011_consent_choices(db: sqlite_utils.Database) -> None:
    """Record, with each consent, the words of the choices it was given under and what quoting covered.

    The consent statement's body was versioned but its checkboxes were not, so a "you may quote me"
    given before the label named the room's screen could not be told from one given after.
    `quote_scope` says what a quote permission covered: 'screen_and_reports' (the label named the
    room's screen), 'reports', or NULL for consents recorded before this migration (nobody can
    say which words they saw, so none of them goes on a screen). `choice_labels` keeps the labels
    as shown (JSON: take_part, quote, contact), in the language of the consent.
    """
    _run(
        db,
        """
        ALTER TABLE consents ADD COLUMN quote_scope TEXT
            CHECK (quote_scope IS NULL OR quote_scope IN ('reports', 'screen_and_reports'));
        ALTER TABLE consents ADD COLUMN choice_labels TEXT
        """
    )


@migrations()
def m012_big_indexes(db: sqlite_utils.Database) -> None:
    """Indexes that keep big sessions' live counts, feeds and theme pages short, and when a theme run finished (issue 19)."""
    _run(
        db,
        """
        -- The console's and projector's counts by language and source read this index alone.
        CREATE INDEX responses_live_counts ON responses(prompt_id, skipped, language, source);
        -- Choice and scale tallies (staff answers page, console, projector) read this index alone.
        CREATE INDEX responses_tallies ON responses(prompt_id, skipped, hidden_at, choices, number);
        -- The answers page's "only hidden answers": the few hidden ones, without reading the session.
        CREATE INDEX responses_hidden ON responses(session_id, id) WHERE hidden_at IS NOT NULL;
        -- The console's people counts by language and source read this index alone.
        CREATE INDEX participants_live ON participants(session_id, withdrawn_at, language, source);
        -- The console's feed (newest 200 to a question) walks this index instead of sorting them all.
        CREATE INDEX responses_feed ON responses(prompt_id, updated_at);
        -- A theme's answers, most typical first, a page at a time.
        CREATE INDEX theme_assignments_by_rank ON theme_assignments(theme_id, rank, response_id);
        -- A run writes its placements in short batches; until it sets this, no other run of the session starts.
        ALTER TABLE theme_runs ADD COLUMN finished_at TEXT;
        UPDATE theme_runs SET finished_at = created_at
        """
    )


@migrations()
def m013_self_describe(db: sqlite_utils.Database) -> None:
    """Let a choice question's last choice be described in the person's own words, kept apart from answer text.

    `prompts.self_describe` (single and "about you" questions) says the last choice before
    "Prefer not to say" comes with a box for one's own words. `responses.described` holds those
    words: never in `responses.text`, so themes, quotes, the room's screen and public reports,
    which read only `text`, cannot show them; withdrawal, retention purges and restores erase
    them exactly like answer text.
    """
    _run(
        db,
        """
        ALTER TABLE prompts ADD COLUMN self_describe INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE responses ADD COLUMN described TEXT
        """
    )


@migrations()
def m014_imports(db: sqlite_utils.Database) -> None:
    """Answers imported from other tools' exports: each import, its rows' keys, and consent "by import".

    `imports` records every file brought into a session (name, SHA-256, sheet, mapping, consent
    rule, who, when, counts); an undo keeps the row and says when. Each imported participant
    carries its import and the row's stable key (`import_key`, unique in its session), so a
    second upload of the same file stores only rows not seen before, and a person who withdrew
    is never imported again. Consents gain the method 'import': the statement and version the
    file was collected under live on the import, so such a consent has no consent_versions row.
    The consents table is rebuilt to widen its CHECK; its rows are kept.
    """
    _run(
        db,
        """
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            file_hash TEXT NOT NULL,                 -- SHA-256 of the file's bytes
            sheet TEXT NOT NULL DEFAULT '',
            tool TEXT NOT NULL DEFAULT '',           -- the survey tool recognised ('kobo', 'surveymonkey'...)
            mapping TEXT NOT NULL,                   -- JSON: column name -> what it was read as
            consent_method TEXT NOT NULL CHECK (consent_method IN ('column', 'statement')),
            consent_statement TEXT NOT NULL DEFAULT '',
            consent_version TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            language TEXT NOT NULL,
            counts TEXT NOT NULL,                    -- JSON: rows, stored, already, refused, empty, duplicates...
            imported_by INTEGER REFERENCES users(id),
            imported_at TEXT NOT NULL,
            undone_at TEXT,
            undone_by INTEGER REFERENCES users(id)
        );
        CREATE INDEX imports_by_session ON imports(session_id, id);

        ALTER TABLE participants ADD COLUMN import_id INTEGER REFERENCES imports(id);
        ALTER TABLE participants ADD COLUMN import_key TEXT;
        CREATE UNIQUE INDEX participants_by_import_key ON participants(session_id, import_key)
            WHERE import_key IS NOT NULL;
        CREATE INDEX participants_by_import ON participants(import_id) WHERE import_id IS NOT NULL;

        CREATE TABLE consents_new (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL UNIQUE REFERENCES participants(id) ON DELETE CASCADE,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            consent_version_id INTEGER REFERENCES consent_versions(id),   -- NULL only for 'import'
            version INTEGER,                                              -- NULL only for 'import'
            language TEXT NOT NULL,
            method TEXT NOT NULL CHECK (method IN ('self', 'staff_verbal', 'import')),
            take_part INTEGER NOT NULL CHECK (take_part = 1),
            quote_ok INTEGER NOT NULL DEFAULT 0,
            contact_ok INTEGER NOT NULL DEFAULT 0,
            given_at TEXT NOT NULL,
            recorded_by INTEGER REFERENCES users(id),
            quote_scope TEXT CHECK (quote_scope IS NULL OR quote_scope IN ('reports', 'screen_and_reports')),
            choice_labels TEXT,
            import_id INTEGER REFERENCES imports(id),
            CHECK (method = 'import' OR (consent_version_id IS NOT NULL AND version IS NOT NULL)),
            CHECK ((method = 'import') = (import_id IS NOT NULL))
        );
        INSERT INTO consents_new (id, participant_id, session_id, consent_version_id, version, language, method,
                                  take_part, quote_ok, contact_ok, given_at, recorded_by, quote_scope, choice_labels)
            SELECT id, participant_id, session_id, consent_version_id, version, language, method,
                   take_part, quote_ok, contact_ok, given_at, recorded_by, quote_scope, choice_labels FROM consents;
        DROP TABLE consents;
        ALTER TABLE consents_new RENAME TO consents
        """
    )


@migrations(transactional=False)
def m015_design_statements(db: sqlite_utils.Database) -> None:
    """Design sessions: "react" questions (statements, their translations, votes) and the prioritise kinds (dots, rank, budget).

    The prompts table's CHECK on `kind` must accept 'react', 'dots', 'rank' and 'budget' (with a
    `points` setting: dots to spread, how many to rank, points to share), and SQLite cannot change a CHECK in
    place: the table is rebuilt by SQLite's documented procedure (foreign keys off, copy, drop,
    rename, indexes back, foreign_key_check, on again). Dropping it with foreign keys on would
    cascade into every answer, so this migration runs outside the runner's transaction and opens
    its own; it is safe to run twice (it looks for 'react' in the CHECK first).
    A resident's own statement cascades with the participant (withdrawal deletes it and the votes
    on it); votes cascade with their participant and their statement.
    """
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'prompts'").fetchone()[0]
    if "'react'" not in sql:
        extras = [row[0] for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'prompts' AND type IN ('index', 'trigger') AND sql IS NOT NULL")]
        widened = sql.replace("'scale', 'about')", "'scale', 'about', 'react', 'dots', 'rank', 'budget')", 1)
        widened = widened.replace("CREATE TABLE prompts", "CREATE TABLE prompts_widened", 1)
        if widened == sql or "'react'" not in widened:  # pragma: no cover - a schema this code did not write
            raise RuntimeError("prompts table not in the expected shape; cannot add the 'react' kind")
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            with db.atomic():
                db.execute(widened)
                db.execute("INSERT INTO prompts_widened SELECT * FROM prompts")
                db.execute("DROP TABLE prompts")
                db.execute("ALTER TABLE prompts_widened RENAME TO prompts")
                for statement in extras:
                    db.execute(statement)
                if db.execute("PRAGMA foreign_key_check").fetchall():  # pragma: no cover - copied row for row
                    raise RuntimeError("foreign keys broken while widening prompts")
        finally:
            db.execute("PRAGMA foreign_keys = ON")
    with db.atomic():
        if "points" not in {row[1] for row in db.execute("PRAGMA table_info(prompts)")}:
            # Prioritise questions: dots to spread (dots), how many to rank (rank; NULL = all), points to share (budget).
            db.execute("ALTER TABLE prompts ADD COLUMN points INTEGER")
        _run(
            db,
            """
            -- A statement as written: by staff (participant_id NULL) or by a resident, in one language.
            CREATE TABLE IF NOT EXISTS statements (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
                language TEXT NOT NULL,
                body TEXT NOT NULL,
                participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE,
                -- 'pending': waits for moderation (residents' own); 'approved': shown; 'declined': never shown.
                status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
                -- where it came from: written here, or carried over from a listening session's synthesis
                origin TEXT NOT NULL DEFAULT 'staff' CHECK (origin IN ('staff', 'resident', 'theme', 'insight', 'hmw')),
                origin_id INTEGER,
                created_by INTEGER REFERENCES users(id),
                created_at TEXT NOT NULL,
                decided_by INTEGER REFERENCES users(id),
                decided_at TEXT
            );
            CREATE INDEX IF NOT EXISTS statements_by_prompt ON statements(prompt_id, status);
            CREATE INDEX IF NOT EXISTS statements_by_participant ON statements(participant_id);

            -- Staff translations of a statement into the session's other languages.
            CREATE TABLE IF NOT EXISTS statement_texts (
                statement_id INTEGER NOT NULL REFERENCES statements(id) ON DELETE CASCADE,
                language TEXT NOT NULL,
                body TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (statement_id, language)
            );

            -- One vote per participant and statement: 1 agree, -1 disagree, 0 pass; a changed vote replaces it.
            CREATE TABLE IF NOT EXISTS votes (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
                statement_id INTEGER NOT NULL REFERENCES statements(id) ON DELETE CASCADE,
                participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
                vote INTEGER NOT NULL CHECK (vote IN (-1, 0, 1)),
                language TEXT NOT NULL,
                source TEXT NOT NULL DEFAULT 'phone',
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (participant_id, statement_id)
            );
            CREATE INDEX IF NOT EXISTS votes_by_prompt ON votes(prompt_id, statement_id);
            CREATE INDEX IF NOT EXISTS votes_by_session ON votes(session_id)
            """,
        )


@migrations()
def m016_campaigns(db: sqlite_utils.Database) -> None:
    """Campaigns: sessions grouped under a purpose, with rounds, partner organisations and their staff,
    a shared question bank (answers pooled across sessions and languages), pooled themes, and the
    coalition's commitments ("we heard / we will / we did").

    Who may see a campaign's sessions is one more branch of `listening.access.accessible_sessions`.
    """
    _run(
        db,
        """
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,               -- the public page's address: /c/<slug>
            languages TEXT NOT NULL,                 -- JSON list; the first is the campaign's default
            starts_on TEXT, ends_on TEXT,
            published INTEGER NOT NULL DEFAULT 0,    -- the public campaign page
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- name and purpose, one row per language
        CREATE TABLE campaign_texts (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            field TEXT NOT NULL CHECK (field IN ('name', 'purpose')),
            language TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (campaign_id, field, language)
        );
        CREATE TABLE campaign_rounds (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            starts_on TEXT, ends_on TEXT,
            UNIQUE (campaign_id, position)
        );
        CREATE TABLE campaign_partners (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            UNIQUE (campaign_id, name)
        );
        -- staff of a campaign: partner_id NULL = the backbone (sees the whole campaign)
        CREATE TABLE campaign_members (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            partner_id INTEGER REFERENCES campaign_partners(id) ON DELETE CASCADE,
            given_by INTEGER REFERENCES users(id),
            given_at TEXT NOT NULL,
            PRIMARY KEY (campaign_id, user_id)
        );
        CREATE INDEX campaign_members_by_user ON campaign_members(user_id, campaign_id, partner_id);
        CREATE TABLE campaign_sessions (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            round_id INTEGER NOT NULL REFERENCES campaign_rounds(id),
            partner_id INTEGER NOT NULL REFERENCES campaign_partners(id),
            added_by INTEGER REFERENCES users(id),
            added_at TEXT NOT NULL
        );
        CREATE INDEX campaign_sessions_by_campaign ON campaign_sessions(campaign_id, round_id, partner_id);
        CREATE INDEX campaign_sessions_by_partner ON campaign_sessions(partner_id);
        -- the question bank: open questions and "about you" questions with their choices
        CREATE TABLE campaign_questions (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('open', 'about')),
            demographic TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE campaign_options (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES campaign_questions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            reference_percent REAL CHECK (reference_percent IS NULL OR reference_percent BETWEEN 0 AND 100),
            priority INTEGER NOT NULL DEFAULT 0      -- a priority group the campaign means to hear from
        );
        -- a bank question's wording (option_id 0) and its choices' wording, one row per language
        CREATE TABLE campaign_question_texts (
            question_id INTEGER NOT NULL REFERENCES campaign_questions(id) ON DELETE CASCADE,
            option_id INTEGER NOT NULL DEFAULT 0,
            language TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (question_id, option_id, language)
        );
        CREATE TABLE campaign_reference_sources (
            question_id INTEGER PRIMARY KEY REFERENCES campaign_questions(id) ON DELETE CASCADE,
            source TEXT NOT NULL DEFAULT ''
        );
        -- which session prompt asks which bank question, and which choice is which bank choice
        CREATE TABLE campaign_prompt_links (
            prompt_id INTEGER PRIMARY KEY REFERENCES prompts(id) ON DELETE CASCADE,
            question_id INTEGER NOT NULL REFERENCES campaign_questions(id) ON DELETE CASCADE
        );
        CREATE INDEX campaign_prompt_links_by_question ON campaign_prompt_links(question_id);
        -- pooled "who was heard" counts answers by choice from m012's responses_tallies index alone
        CREATE TABLE campaign_option_links (
            option_id INTEGER PRIMARY KEY REFERENCES options(id) ON DELETE CASCADE,
            bank_option_id INTEGER NOT NULL REFERENCES campaign_options(id) ON DELETE CASCADE
        );
        -- themes drafted by the engine over every session's answers to one bank question (in one round)
        CREATE TABLE campaign_themes (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            question_id INTEGER NOT NULL REFERENCES campaign_questions(id) ON DELETE CASCADE,
            round_id INTEGER REFERENCES campaign_rounds(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            machine_label TEXT NOT NULL DEFAULT '',
            top_terms TEXT NOT NULL DEFAULT '[]',
            renamed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX campaign_themes_by_question ON campaign_themes(campaign_id, question_id, round_id);
        CREATE TABLE campaign_theme_answers (
            response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            theme_id INTEGER NOT NULL REFERENCES campaign_themes(id) ON DELETE CASCADE,
            PRIMARY KEY (theme_id, response_id)
        );
        CREATE INDEX campaign_theme_answers_by_response ON campaign_theme_answers(response_id);
        -- what the coalition said it would do, and did
        CREATE TABLE commitments (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            owner TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'done', 'dropped')),
            due_on TEXT, done_on TEXT,
            published INTEGER NOT NULL DEFAULT 0,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE commitment_texts (
            commitment_id INTEGER NOT NULL REFERENCES commitments(id) ON DELETE CASCADE,
            field TEXT NOT NULL CHECK (field IN ('heard', 'will', 'did')),
            language TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (commitment_id, field, language)
        );
        CREATE TABLE commitment_themes (
            commitment_id INTEGER NOT NULL REFERENCES commitments(id) ON DELETE CASCADE,
            theme_id INTEGER NOT NULL REFERENCES campaign_themes(id) ON DELETE CASCADE,
            PRIMARY KEY (commitment_id, theme_id)
        )
        """
    )


@migrations()
def m018_statement_merges(db: sqlite_utils.Database) -> None:
    """Let a facilitator merge a duplicate statement (or idea) into another: its votes follow, it records where it went.

    A merged statement leaves the vote (status 'declined') with `merged_into` naming the one it
    joined, so the staff page, the audit log and reports can tell a merge from a decision.
    """
    _run(
        db,
        """
        ALTER TABLE statements ADD COLUMN merged_into INTEGER REFERENCES statements(id) ON DELETE SET NULL
        """
    )


# Tables whose rows carry a session_id and feed what the review pages, reports or the residents' page show.
_VERSIONED = ("responses", "participants", "consents", "theme_assignments", "themes", "insights", "texts", "prompts",
              "reference_shares", "priority_groups", "synthesis_settings", "public_texts", "theme_runs", "equity_notes",
              "statements", "votes")


@migrations()
def m019_data_versions(db: sqlite_utils.Database) -> None:
    """A per-session counter that every write a synthesis page could show bumps, so pages can be cached by it (issue 19)."""
    bump = ("INSERT INTO data_versions (session_id, version) {source} "
            "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    one = bump.format(source="SELECT {row}.session_id, 1 WHERE {row}.session_id IS NOT NULL")
    statements = ["CREATE TABLE data_versions (session_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)"]
    for table in _VERSIONED:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            statements.append(f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} "
                              f"BEGIN {one.format(row=row)}; END")
    # An option belongs to a session through its question, a statement's translation through its statement.
    for table, parent, key in (("options", "prompts", "prompt_id"), ("statement_texts", "statements", "statement_id")):
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            source = f"SELECT session_id, 1 FROM {parent} WHERE id = {row}.{key}"
            statements.append(f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} "
                              f"BEGIN {bump.format(source=source)}; END")
    # What a session is (not its live state: the console's moves must not throw the pages' cache away).
    statements.append(
        "CREATE TRIGGER sessions_version_update AFTER UPDATE OF code, mode, status, languages, timezone, minutes, contact, "
        "retention_days, purged_at, wall_moderation ON sessions "
        f"BEGIN {bump.format(source='SELECT NEW.id, 1')}; END")
    # Pages name who ran and reviewed: a changed address changes every session's pages.
    statements.append("CREATE TRIGGER users_version_update AFTER UPDATE OF email ON users "
                      "BEGIN UPDATE data_versions SET version = version + 1; END")
    for statement in statements:
        db.execute(statement)


@migrations()
def m020_theme_details(db: sqlite_utils.Database) -> None:
    """Keep what the theme engine says about each theme (issue 14): whether its headline came from a
    translation, its coherence and "mixed" mark, its claims with counts (JSON [{text, count,
    answer_ids}]), the reviewed theme a new machine theme overlaps, and its sub-topics (JSON
    [{label, size, terms, answer_ids}], so the rest of the app keeps one row per theme)."""
    _run(
        db,
        """
        ALTER TABLE themes ADD COLUMN headline_from_translation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE themes ADD COLUMN coherence REAL;
        ALTER TABLE themes ADD COLUMN mixed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE themes ADD COLUMN claims TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE themes ADD COLUMN overlaps_theme_id INTEGER REFERENCES themes(id) ON DELETE SET NULL;
        ALTER TABLE themes ADD COLUMN subthemes TEXT NOT NULL DEFAULT '[]'
        """,
    )


@migrations()
def m023_import_undo_ledger(db: sqlite_utils.Database) -> None:
    """Let the erasure ledger hold an undone import, so restoring a backup taken before the undo does not bring
    its people back.

    An import undo is identified by its session's code, the file's SHA-256 (`receipt_hash` holds it for
    this kind) and when it was undone: every import of that file in that session made before then is
    undone again. SQLite cannot widen a CHECK, so the table is rebuilt with its rows; undos made
    before this migration are copied in from the imports table.
    """
    _run(
        db,
        """
        CREATE TABLE erasure_ledger_new (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('withdrawal', 'retention_purge', 'import_undo')),
            session_code TEXT NOT NULL,
            receipt_hash TEXT NOT NULL DEFAULT '',   -- withdrawals: the participant's; import undos: the file's hash
            at TEXT NOT NULL,
            UNIQUE (kind, session_code, receipt_hash, at)
        );
        INSERT INTO erasure_ledger_new (id, kind, session_code, receipt_hash, at)
            SELECT id, kind, session_code, receipt_hash, at FROM erasure_ledger;
        DROP TABLE erasure_ledger;
        ALTER TABLE erasure_ledger_new RENAME TO erasure_ledger;

        INSERT OR IGNORE INTO erasure_ledger (kind, session_code, receipt_hash, at)
            SELECT 'import_undo', s.code, i.file_hash, i.undone_at
            FROM imports i JOIN sessions s ON s.id = i.session_id
            WHERE i.undone_at IS NOT NULL
        """,
    )


@migrations()
def m024_campaign_versions(db: sqlite_utils.Database) -> None:
    """A counter that every write to a campaign table bumps, so campaign pages can be cached by it (issue 16).

    Campaign pages are keyed by this and by the data version of each session they count (m019), so
    a page is recomputed after any change to the campaign (its bank, links, references, partners,
    members, themes, commitments and their texts) or to one of its sessions. One counter for every campaign: they
    change rarely, far less often than answers arrive. A campaign table added later needs its own
    triggers in its migration.
    """
    db.execute("CREATE TABLE campaign_data_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")
    db.execute("INSERT INTO campaign_data_version (id, version) VALUES (1, 0)")
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'campaigns' OR name LIKE 'campaign\\_%' ESCAPE '\\' "
        "OR name LIKE 'commitment%') AND name != 'campaign_data_version' ORDER BY name")]
    for table in tables:
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(f"CREATE TRIGGER {table}_campaign_version_{event.lower()} AFTER {event} ON {table} "
                       "BEGIN UPDATE campaign_data_version SET version = version + 1 WHERE id = 1; END")


@migrations()
def m025_commitment_priorities(db: sqlite_utils.Database) -> None:
    """Link a commitment to the design-session priorities it answers (issue 16): a choice of a dots, rank or
    budget question, or a statement residents reacted to. A statement withdrawn with its author goes, and so
    does its link; the campaign tables' counter (m024) follows this table too."""
    _run(
        db,
        """
        CREATE TABLE commitment_priorities (
            commitment_id INTEGER NOT NULL REFERENCES commitments(id) ON DELETE CASCADE,
            option_id INTEGER REFERENCES options(id) ON DELETE CASCADE,
            statement_id INTEGER REFERENCES statements(id) ON DELETE CASCADE,
            CHECK ((option_id IS NULL) + (statement_id IS NULL) = 1)
        );
        CREATE UNIQUE INDEX commitment_priorities_by_option ON commitment_priorities(commitment_id, option_id)
            WHERE option_id IS NOT NULL;
        CREATE UNIQUE INDEX commitment_priorities_by_statement ON commitment_priorities(commitment_id, statement_id)
            WHERE statement_id IS NOT NULL;
        CREATE TRIGGER commitment_priorities_campaign_version_insert AFTER INSERT ON commitment_priorities
            BEGIN UPDATE campaign_data_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER commitment_priorities_campaign_version_update AFTER UPDATE ON commitment_priorities
            BEGIN UPDATE campaign_data_version SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER commitment_priorities_campaign_version_delete AFTER DELETE ON commitment_priorities
            BEGIN UPDATE campaign_data_version SET version = version + 1 WHERE id = 1; END
        """,
    )


@migrations(transactional=False)
def m026_ideas_tables(db: sqlite_utils.Database) -> None:
    """Co-design (issue 15): the "ideas" question kind, and tables a facilitator splits the room into.

    An ideas question keeps its ideas in `statements` (residents propose, staff moderate, everyone
    reacts with the same votes), so only the prompts CHECK widens, rebuilt by SQLite's documented
    procedure as m015 did (foreign keys off, copy, drop, rename, indexes and triggers back,
    foreign_key_check, on again); it is safe to run twice. A table ("Spanish table with
    interpreter") belongs to a session; ideas and answers a table's notetaker types in carry its
    id, and keep their words if the table is removed (the tag goes).
    """
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'prompts'").fetchone()[0]
    if "'ideas'" not in sql:
        extras = [row[0] for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'prompts' AND type IN ('index', 'trigger') AND sql IS NOT NULL")]
        widened = sql.replace("'rank', 'budget')", "'rank', 'budget', 'ideas')", 1)
        # After m015's rename SQLite writes the name quoted: CREATE TABLE "prompts".
        widened = re.sub(r'^CREATE TABLE "?prompts"?', "CREATE TABLE prompts_widened", widened, count=1)
        if "'ideas'" not in widened or "prompts_widened" not in widened:  # pragma: no cover - a schema this code did not write
            raise RuntimeError("prompts table not in the expected shape; cannot add the 'ideas' kind")
        db.execute("PRAGMA foreign_keys = OFF")
        legacy = db.execute("PRAGMA legacy_alter_table").fetchone()[0]
        # Other tables' triggers name prompts in their bodies: with the legacy rename, SQLite leaves them as written.
        db.execute("PRAGMA legacy_alter_table = ON")
        try:
            with db.atomic():
                db.execute(widened)
                db.execute("INSERT INTO prompts_widened SELECT * FROM prompts")
                db.execute("DROP TABLE prompts")
                db.execute("ALTER TABLE prompts_widened RENAME TO prompts")
                for statement in extras:
                    db.execute(statement)
                if db.execute("PRAGMA foreign_key_check").fetchall():  # pragma: no cover - copied row for row
                    raise RuntimeError("foreign keys broken while widening prompts")
        finally:
            db.execute(f"PRAGMA legacy_alter_table = {int(legacy)}")
            db.execute("PRAGMA foreign_keys = ON")
    with db.atomic():
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_tables'").fetchone():
            return
        _run(
            db,
            """
            -- A small group of the room: its name ("Table 2"), the language it works in, a note ("with interpreter").
            CREATE TABLE session_tables (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                language TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT '',
                position INTEGER NOT NULL,
                created_by INTEGER REFERENCES users(id),
                created_at TEXT NOT NULL
            );
            CREATE INDEX session_tables_by_session ON session_tables(session_id, position);
            ALTER TABLE statements ADD COLUMN table_id INTEGER REFERENCES session_tables(id) ON DELETE SET NULL;
            ALTER TABLE responses ADD COLUMN table_id INTEGER REFERENCES session_tables(id) ON DELETE SET NULL;
            CREATE TRIGGER session_tables_version_insert AFTER INSERT ON session_tables
                BEGIN INSERT INTO data_versions (session_id, version) SELECT NEW.session_id, 1
                      ON CONFLICT (session_id) DO UPDATE SET version = version + 1; END;
            CREATE TRIGGER session_tables_version_update AFTER UPDATE ON session_tables
                BEGIN INSERT INTO data_versions (session_id, version) SELECT NEW.session_id, 1
                      ON CONFLICT (session_id) DO UPDATE SET version = version + 1; END;
            CREATE TRIGGER session_tables_version_delete AFTER DELETE ON session_tables
                BEGIN INSERT INTO data_versions (session_id, version) SELECT OLD.session_id, 1
                      ON CONFLICT (session_id) DO UPDATE SET version = version + 1; END
            """,
        )


@migrations()
def m027_answer_translations(db: sqlite_utils.Database) -> None:
    """Staff translations of residents' answers into the session's main language (issue 14).

    One per answer: its words, the language they are in, who wrote them and when. A translation is a
    copy of the answer, so it goes with it: deleted with the answer (a withdrawal, an import undone,
    their replay on a restored backup) and whenever the answer's words change or are blanked (an edit,
    a resident answering again, a retention purge). The pages' cache counter (m019) follows it.
    """
    db.execute(
        """CREATE TABLE answer_translations (
            response_id INTEGER PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            text TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        "CREATE TRIGGER responses_text_drops_translation AFTER UPDATE OF text ON responses "
        "WHEN OLD.text IS NOT NEW.text BEGIN DELETE FROM answer_translations WHERE response_id = NEW.id; END"
    )
    bump = ("INSERT INTO data_versions (session_id, version) SELECT session_id, 1 FROM responses WHERE id = {row}.response_id "
            "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        db.execute(f"CREATE TRIGGER answer_translations_version_{event.lower()} AFTER {event} ON answer_translations "
                   f"BEGIN {bump.format(row=row)}; END")


@migrations()
def m028_jobs(db: sqlite_utils.Database) -> None:
    """Long work off the request (issue 19): one row per background job (a theme run, a live draft, a large
    export) with what staff see of it: its state, progress out of a total, who started it and when, and the
    error if it failed. A partial unique index keeps one unfinished job per session."""
    _run(
        db,
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('themes', 'live_themes', 'export')),
            params TEXT NOT NULL DEFAULT '{}',   -- JSON: what to do (questions, format, language); never answers
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'cancelling', 'done', 'failed', 'cancelled',
                                                 'interrupted')),
            progress INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            started TEXT,
            finished TEXT,
            error TEXT,                           -- a developer's summary (English), never answers
            result TEXT,                          -- JSON: what the finished job made (a run's counts, a file's name)
            who INTEGER REFERENCES users(id) ON DELETE SET NULL,
            restart_of INTEGER REFERENCES jobs(id) ON DELETE SET NULL
        );
        CREATE UNIQUE INDEX jobs_one_per_session ON jobs(session_id) WHERE state IN ('queued', 'running', 'cancelling');
        CREATE INDEX jobs_by_session ON jobs(session_id, id);
        """,
    )


@migrations()
def m029_placement_versions(db: sqlite_utils.Database) -> None:
    """A per-session counter of changes to the answers' placements in themes (issue 19).

    A theme run reads every placement (200,000 rows at 100,000 residents: about two seconds) before it
    takes the write lock; inside the lock it compares this counter with the one it read and reads the
    placements again only if something moved meanwhile. The pages' data version (m019) would not do:
    every new answer bumps it, and answers keep arriving during a run.
    """
    bump = ("INSERT INTO placement_versions (session_id, version) SELECT {row}.session_id, 1 "
            "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    db.execute("CREATE TABLE placement_versions (session_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)")
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        db.execute(f"CREATE TRIGGER theme_assignments_placement_{event.lower()} AFTER {event} ON theme_assignments "
                   f"BEGIN {bump.format(row=row)}; END")


@migrations()
def m031_translation_reach(db: sqlite_utils.Database) -> None:
    """A campaign's pooled theme says when the engine drew its name from staff translations (issue 14), as a
    session's theme does (`themes.headline_from_translation`, m020): pooled runs now analyse translations too.
    A withdrawal that takes a name drawn from a translation away clears the mark with the name."""
    db.execute("ALTER TABLE campaign_themes ADD COLUMN headline_from_translation INTEGER NOT NULL DEFAULT 0")


@migrations()
def m030_staff_entry_votes(db: sqlite_utils.Database) -> None:
    """Votes a table's notetaker typed in for a person (issue 15): which table they were cast at and which staff
    member typed them, as answers carry (`responses.table_id`, `responses.entered_by`). Removing the table keeps
    the votes (the tag goes); the vote's `source` already says paper, interpreter and so on."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(votes)")}
    if "table_id" not in columns:
        db.execute("ALTER TABLE votes ADD COLUMN table_id INTEGER REFERENCES session_tables(id) ON DELETE SET NULL")
    if "entered_by" not in columns:
        db.execute("ALTER TABLE votes ADD COLUMN entered_by INTEGER REFERENCES users(id)")


@migrations(transactional=False)
def m033_campaign_jobs(db: sqlite_utils.Database) -> None:
    """A campaign's long work as background jobs too (issue 19): its pooled theme run, its report and exports,
    and its "who was heard" page, above CHORUS_JOBS_THRESHOLD answers counted over its sessions.

    A job now belongs to a session or to a campaign (exactly one), one unfinished job per campaign as per
    session, and `job_sessions` lists the sessions a campaign job counts: who may see it (a partner only
    jobs over sessions they see) and which files an erasure deletes (a campaign export holds the session's
    counts). The `jobs` CHECKs cannot change in place, so the table is rebuilt by SQLite's documented
    procedure (foreign keys off, copy, drop, rename, indexes back, foreign_key_check, on again), outside
    the runner's transaction like m015; it is safe to run twice (it looks for `campaign_id` first).
    `job_sessions` is not a campaign table: its rows must not bump the campaign pages' version (m024).
    """
    if "campaign_id" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}:
        columns = "id, session_id, kind, params, state, progress, total, created, started, finished, error, result, who, restart_of"
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            with db.atomic():
                _run(
                    db,
                    f"""
                    CREATE TABLE jobs_widened (
                        id INTEGER PRIMARY KEY,
                        session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
                        campaign_id INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
                        kind TEXT NOT NULL CHECK (kind IN ('themes', 'live_themes', 'export', 'campaign_themes',
                                                           'campaign_export', 'campaign_heard')),
                        params TEXT NOT NULL DEFAULT '{{}}',   -- JSON: what to do (questions, format, language); never answers
                        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'cancelling', 'done', 'failed', 'cancelled',
                                                             'interrupted')),
                        progress INTEGER NOT NULL DEFAULT 0,
                        total INTEGER NOT NULL DEFAULT 0,
                        created TEXT NOT NULL,
                        started TEXT,
                        finished TEXT,
                        error TEXT,                           -- a developer's summary (English), never answers
                        result TEXT,                          -- JSON: what the finished job made (a run's counts, a file's name)
                        who INTEGER REFERENCES users(id) ON DELETE SET NULL,
                        restart_of INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
                        CHECK ((session_id IS NULL) + (campaign_id IS NULL) = 1)
                    );
                    INSERT INTO jobs_widened ({columns}) SELECT {columns} FROM jobs;
                    DROP TABLE jobs;
                    ALTER TABLE jobs_widened RENAME TO jobs;
                    CREATE UNIQUE INDEX jobs_one_per_session ON jobs(session_id) WHERE state IN ('queued', 'running', 'cancelling');
                    CREATE INDEX jobs_by_session ON jobs(session_id, id);
                    CREATE UNIQUE INDEX jobs_one_per_campaign ON jobs(campaign_id) WHERE state IN ('queued', 'running', 'cancelling');
                    CREATE INDEX jobs_by_campaign ON jobs(campaign_id, id)
                    """,
                )
                if db.execute("PRAGMA foreign_key_check").fetchall():  # pragma: no cover - copied row for row
                    raise RuntimeError("foreign keys broken while widening jobs")
        finally:
            db.execute("PRAGMA foreign_keys = ON")
    with db.atomic():
        _run(
            db,
            """
            CREATE TABLE IF NOT EXISTS job_sessions (
                job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                PRIMARY KEY (job_id, session_id)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS job_sessions_by_session ON job_sessions(session_id)
            """,
        )


@migrations()
def m034_cold19(db: sqlite_utils.Database) -> None:
    """A per-session counter of arrivals: new answers, new people and their consents (issue 19, the synthesis pages' cold path).

    Every such insert also bumps the session's data version (m019) by one, so the data version minus
    the arrivals changes on every other write (a withdrawal, a hidden or changed answer, a revoked
    consent, a planner's edit, a setting) and never on an arrival. A synthesis page computed since the
    last such change may be served while it is computed again in the background: newer answers are
    missing from it, but nothing in it was withdrawn, hidden or changed (`analysis/review/page_cache.py`).
    """
    bump = ("INSERT INTO arrival_versions (session_id, version) SELECT NEW.session_id, 1 WHERE NEW.session_id IS NOT NULL "
            "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    db.execute("CREATE TABLE arrival_versions (session_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)")
    for table in ("responses", "participants", "consents"):
        db.execute(f"CREATE TRIGGER {table}_arrival_insert AFTER INSERT ON {table} BEGIN {bump}; END")


# What one answer adds to `answer_tallies` (m036): its session and question, its placement, whether it has
# text, its language, its choices and number, whether its author belongs to another session. {r}, {p} and
# {a} name where the answer, its author and its placement come from (a table alias, OLD or NEW); {status}
# and {theme} are the placement's columns, or '' and 0 for an answer no run has placed.
_TALLY_KEY = "session_id, prompt_id, status, theme_id, has_text, language, choices, no_number, number, foreign_author"
_TALLY = (
    "INSERT INTO answer_tallies (" + _TALLY_KEY + ", n) "
    "SELECT {r}.session_id, {r}.prompt_id, {status}, {theme}, "
    "({r}.text IS NOT NULL AND trim({r}.text) != ''), {r}.language, coalesce({r}.choices, ''), "
    "{r}.number IS NULL, coalesce({r}.number, 0), {p}.session_id != {r}.session_id, {sign} * count(*) "
    "{source} WHERE {where} AND {p}.withdrawn_at IS NULL AND {r}.skipped = 0 AND {r}.hidden_at IS NULL "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 "
    "ON CONFLICT (" + _TALLY_KEY + ") DO UPDATE SET n = n + excluded.n"
)
_PLACED = {"status": "coalesce({a}.status, '')", "theme": "coalesce({a}.theme_id, 0)"}
_UNPLACED = {"status": "''", "theme": "0"}


def _tally(sign: int, *, r: str = "r", p: str = "p", a: str | None = "a", source: str, where: str) -> str:
    """Return the statement that adds (sign 1) or takes away (-1) what the answers found count in `answer_tallies`."""
    placement = {key: value.format(a=a) for key, value in _PLACED.items()} if a else _UNPLACED
    return _TALLY.format(r=r, p=p, sign=sign, source=source, where=where, **placement)


def _answer_changes(row: str, sign: int) -> str:
    """The tally change of one answer row (OLD or NEW), its author and placement read as they are now."""
    return _tally(sign, r=row, source=f"FROM participants p LEFT JOIN theme_assignments a ON a.response_id = {row}.id "
                                      f"AND a.session_id = {row}.session_id", where=f"p.id = {row}.participant_id")


def _author_changes(row: str, sign: int) -> str:
    """The tally change of an author row's (OLD or NEW) answers, as they and their placements are now."""
    return _tally(sign, p=row, source="FROM responses r LEFT JOIN theme_assignments a ON a.response_id = r.id "
                                      "AND a.session_id = r.session_id", where=f"r.participant_id = {row}.id")


def _placement_changes(row: str, placed_sign: int) -> list[str]:
    """The tally change of placing (1) or unplacing (-1) one answer by a placement row (OLD or NEW)."""
    source = "FROM responses r JOIN participants p ON p.id = r.participant_id"
    where = f"r.id = {row}.response_id AND r.session_id = {row}.session_id"
    return [_tally(-placed_sign, a=None, source=source, where=where), _tally(placed_sign, a=row, source=source, where=where)]


@migrations()
def m036_after19(db: sqlite_utils.Database) -> None:
    """Each session's answers counted by question, placement, language and choices, kept by triggers (issue 19).

    The review, theme, publish and residents' results pages read these counts instead of the
    session's 800,000 answer rows (at 100,000 residents) after every change that removes or changes
    something. A row counts what the pages count: answers not skipped, not hidden, whose author exists
    and has not withdrawn. Triggers keep it exact on every write of an answer, its author or its
    placement: an insert or update adds what the row counts now and (updates) takes away what it
    counted before; a delete takes away what the row counted just before it goes (BEFORE DELETE, so
    the rows a cascade deletes afterwards count nothing any more). Writes that a SQL REPLACE would
    delete silently are not seen: Chorus writes none. A row whose count falls to 0 is deleted at the
    end of the trigger (a partial index finds it), so a withdrawn person's answer leaves no trace here,
    not even which choices in which language someone once gave. `analysis/review/tallies.py` reads
    it; `tallies.recount` is the check.

    Three indexes let those pages read a theme's placements without its answers: its members'
    ids (covering), its chosen quotes and the engine's quote picks (partial: a few rows per theme).
    """
    spent = "DELETE FROM answer_tallies WHERE n = 0"
    statements = [
        f"""CREATE TABLE answer_tallies (
                session_id INTEGER NOT NULL, prompt_id INTEGER NOT NULL,
                status TEXT NOT NULL,            -- the placement's status, '' for an answer no run has placed
                theme_id INTEGER NOT NULL,       -- the placement's theme, 0 for none
                has_text INTEGER NOT NULL,       -- text neither NULL nor blank
                language TEXT NOT NULL, choices TEXT NOT NULL,  -- choices: '' for NULL
                no_number INTEGER NOT NULL, number INTEGER NOT NULL,  -- number: 0 when no_number
                foreign_author INTEGER NOT NULL, -- its author is another session's person
                n INTEGER NOT NULL,
                PRIMARY KEY ({_TALLY_KEY})
            ) WITHOUT ROWID""",
        "CREATE INDEX answer_tallies_spent ON answer_tallies(n) WHERE n = 0",
        f"CREATE TRIGGER responses_tally_insert AFTER INSERT ON responses BEGIN {_answer_changes('NEW', 1)}; END",
        f"CREATE TRIGGER responses_tally_delete BEFORE DELETE ON responses BEGIN {_answer_changes('OLD', -1)}; {spent}; END",
        "CREATE TRIGGER responses_tally_update AFTER UPDATE OF id, session_id, participant_id, prompt_id, language, text, "
        f"choices, number, skipped, hidden_at ON responses BEGIN {_answer_changes('OLD', -1)}; {_answer_changes('NEW', 1)}; "
        f"{spent}; END",
        f"CREATE TRIGGER participants_tally_insert AFTER INSERT ON participants BEGIN {_author_changes('NEW', 1)}; END",
        f"CREATE TRIGGER participants_tally_delete BEFORE DELETE ON participants BEGIN {_author_changes('OLD', -1)}; {spent}; END",
        "CREATE TRIGGER participants_tally_update AFTER UPDATE OF id, session_id, withdrawn_at ON participants "
        "WHEN OLD.id IS NOT NEW.id OR OLD.session_id IS NOT NEW.session_id OR OLD.withdrawn_at IS NOT NEW.withdrawn_at "
        f"BEGIN {_author_changes('OLD', -1)}; {_author_changes('NEW', 1)}; {spent}; END",
        f"CREATE TRIGGER theme_assignments_tally_insert AFTER INSERT ON theme_assignments BEGIN "
        f"{'; '.join(_placement_changes('NEW', 1))}; {spent}; END",
        f"CREATE TRIGGER theme_assignments_tally_delete BEFORE DELETE ON theme_assignments BEGIN "
        f"{'; '.join(_placement_changes('OLD', -1))}; {spent}; END",
        "CREATE TRIGGER theme_assignments_tally_update AFTER UPDATE OF response_id, session_id, theme_id, status "
        "ON theme_assignments WHEN OLD.response_id IS NOT NEW.response_id OR OLD.session_id IS NOT NEW.session_id "
        "OR OLD.theme_id IS NOT NEW.theme_id OR OLD.status IS NOT NEW.status "
        f"BEGIN {'; '.join(_placement_changes('OLD', -1) + _placement_changes('NEW', 1))}; {spent}; END",
        "CREATE INDEX theme_assignments_members ON theme_assignments(theme_id, status, session_id, response_id)",
        "CREATE INDEX theme_assignments_chosen ON theme_assignments(theme_id) WHERE chosen",
        "CREATE INDEX theme_assignments_picks ON theme_assignments(theme_id) WHERE quote IS NOT NULL",
        # What is there already, counted once.
        _tally(1, source="FROM responses r JOIN participants p ON p.id = r.participant_id LEFT JOIN theme_assignments a "
                         "ON a.response_id = r.id AND a.session_id = r.session_id", where="1"),
    ]
    with db.atomic():
        for statement in statements:
            db.execute(statement)


# --- m037: "who was heard" counted by segment (issue 19) ---------------------------------------------------
# A person's "about you" answers in a session, as the page reads them: the first choice of each answer to an
# "about" question that is not skipped, not hidden and has choices, as a JSON list of [question id, choice]
# pairs in question order ('[]': none). {x} and {s} name the person and the session; {extra} narrows the
# questions (a question about to be deleted).
_PROFILE = (
    "(SELECT json_group_array(json_array(pid, v)) FROM ("
    "SELECT q.prompt_id AS pid, CASE WHEN json_valid(q.choices) THEN q.choices ->> '$[0]' END AS v "
    "FROM responses q JOIN prompts pr ON pr.id = q.prompt_id AND pr.kind = 'about' {extra} "
    "WHERE q.participant_id = {x} AND +q.session_id = {s} AND q.skipped = 0 AND q.choices IS NOT NULL "
    "AND q.choices != '' AND q.hidden_at IS NULL ORDER BY q.prompt_id) WHERE v IS NOT NULL)"
)
# The profile the counts were made with: kept per person and session in `heard_profiles` (none: '[]').
_KEPT = "coalesce((SELECT profile FROM heard_profiles WHERE participant_id = {x} AND session_id = {s}), '[]')"
_HEARD_PEOPLE_KEY = "session_id, language, source, profile"
_HEARD_ANSWERS_KEY = "session_id, prompt_id, status, theme_id, language, author_language, profile, foreign_author"


def _people_change(sign: int, *, p: str = "p", source: str, where: str) -> str:
    """Return the statement that adds (1) or takes away (-1) the people found from `heard_people`, with their kept profiles."""
    return (f"INSERT INTO heard_people ({_HEARD_PEOPLE_KEY}, n) SELECT {p}.session_id, {p}.language, {p}.source, "
            f"{_KEPT.format(x=f'{p}.id', s=f'{p}.session_id')}, {sign} * count(*) {source} "
            f"WHERE {where} AND {p}.withdrawn_at IS NULL GROUP BY 1, 2, 3, 4 "
            f"ON CONFLICT ({_HEARD_PEOPLE_KEY}) DO UPDATE SET n = n + excluded.n")


def _answers_change(sign: int, *, r: str = "r", p: str = "p", a: str | None = "a", source: str, where: str) -> str:
    """Return the statement that adds (1) or takes away (-1) the counted answers found from `heard_answers`."""
    status, theme = (f"coalesce({a}.status, '')", f"coalesce({a}.theme_id, 0)") if a else ("''", "0")
    return (f"INSERT INTO heard_answers ({_HEARD_ANSWERS_KEY}, n) SELECT {r}.session_id, {r}.prompt_id, {status}, {theme}, "
            f"{r}.language, {p}.language, {_KEPT.format(x=f'{p}.id', s=f'{r}.session_id')}, {p}.session_id != {r}.session_id, "
            f"{sign} * count(*) {source} WHERE {where} AND {p}.withdrawn_at IS NULL AND {r}.skipped = 0 "
            f"AND {r}.hidden_at IS NULL AND {r}.text IS NOT NULL AND trim({r}.text) != '' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 "
            f"ON CONFLICT ({_HEARD_ANSWERS_KEY}) DO UPDATE SET n = n + excluded.n")


_HEARD_SPENT = "DELETE FROM heard_people WHERE n = 0; DELETE FROM heard_answers WHERE n = 0"
_ANSWER_SOURCE = ("FROM participants p LEFT JOIN theme_assignments a ON a.response_id = {row}.id "
                  "AND a.session_id = {row}.session_id")
_AUTHOR_SOURCE = "FROM responses r LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id"


def _heard_answer(row: str, sign: int) -> str:
    """The change of one answer row (OLD or NEW) to `heard_answers`, its author and placement as they are now."""
    return _answers_change(sign, r=row, source=_ANSWER_SOURCE.format(row=row), where=f"p.id = {row}.participant_id")


def _heard_author(row: str, sign: int) -> list[str]:
    """The change of an author row (OLD or NEW): the person and their counted answers, with the kept profiles."""
    return [_people_change(sign, p=row, source="", where="1"),
            _answers_change(sign, p=row, source=_AUTHOR_SOURCE, where=f"r.participant_id = {row}.id")]


def _heard_placement(row: str, placed_sign: int) -> list[str]:
    """The change of placing (1) or unplacing (-1) one answer by a placement row (OLD or NEW)."""
    source = "FROM responses r JOIN participants p ON p.id = r.participant_id"
    where = f"r.id = {row}.response_id AND r.session_id = {row}.session_id"
    return [_answers_change(-placed_sign, a=None, source=source, where=where),
            _answers_change(placed_sign, a=row, source=source, where=where)]


def _profiles_refresh(pairs: str, extra: str = "") -> list[str]:
    """Bring the kept profiles of these (person, session) pairs up to date, and the counts made with them.

    `pairs` is a query of distinct (x, s) rows: a participant's id and a session's. The counts that read
    a pair's kept profile (the person, in their own session; their counted answers in that session) are
    taken away, the profile is read again, and they are added back with it. Only a person who exists and
    has not withdrawn keeps one, and only when it is not empty.
    """
    people = f"FROM ({pairs}) k CROSS JOIN participants p ON p.id = k.x"
    # The unary + keeps SQLite on the person's answers (UNIQUE (participant_id, prompt_id)), off the session's.
    answers = (f"FROM ({pairs}) k CROSS JOIN responses r ON r.participant_id = k.x AND +r.session_id = k.s "
               "CROSS JOIN participants p ON p.id = r.participant_id "
               "LEFT JOIN theme_assignments a ON a.response_id = r.id AND a.session_id = r.session_id")
    return [
        _people_change(-1, source=people, where="+p.session_id = k.s"),
        _answers_change(-1, source=answers, where="1"),
        f"DELETE FROM heard_profiles WHERE (participant_id, session_id) IN (SELECT x, s FROM ({pairs}))",
        "INSERT INTO heard_profiles (participant_id, session_id, profile) SELECT x, s, profile FROM ("
        f"SELECT k.x AS x, k.s AS s, {_PROFILE.format(x='k.x', s='k.s', extra=extra)} AS profile "
        f"FROM ({pairs}) k CROSS JOIN participants p ON p.id = k.x WHERE p.withdrawn_at IS NULL) WHERE profile != '[]'",
        _people_change(1, source=people, where="+p.session_id = k.s"),
        _answers_change(1, source=answers, where="1"),
    ]


_ABOUT = "EXISTS (SELECT 1 FROM prompts WHERE id IN ({ids}) AND kind = 'about')"


@migrations()
def m037_segments19(db: sqlite_utils.Database) -> None:
    """Each session's people and counted answers by segment ("about you" answers, language, source), kept by triggers (issue 19).

    "Who was heard" read every counted answer of the session and each person's "about you" answers
    after every change (817,116 answers at 100,000 residents): about 2 s. It now reads these counts
    instead, a few thousand rows. `heard_people` counts the people of a session who have not withdrawn
    by language, way of taking part and profile; `heard_answers` counts the answers the pages count
    (not skipped, not hidden, not blank, their author there and not withdrawn) by question, placement,
    language, their author's language, the author's profile in the answer's session and whether the
    author belongs to another session. A profile is a person's first choice in each "about you" answer
    of a session (JSON pairs of question and choice, in question order); `heard_profiles` keeps the one
    the counts were made with, per person and session, so a change can take away exactly what it added:
    only for people who exist, have not withdrawn and answered an "about you" question.

    Triggers keep all three exact on every write of an answer, a person, a placement or a question's
    kind, as m036 does for `answer_tallies`: an answer's own change first (with the kept profiles),
    then, when an "about you" answer or a person changed, the profiles of the people and sessions
    concerned are read again and the counts made with them moved (`_profiles_refresh`). A count that
    falls to 0 is deleted at the end of the trigger, and a withdrawn person's profile with it: no trace
    of them stays. `analysis/review/tallies.py` (`heard_counts`) reads the counts; `tallies.recount`
    checks all three tables against the answers.
    """
    about_new, about_old = _ABOUT.format(ids="NEW.prompt_id"), _ABOUT.format(ids="OLD.prompt_id")
    about_either = _ABOUT.format(ids="OLD.prompt_id, NEW.prompt_id")
    answer_pairs = "SELECT {row}.participant_id AS x, {row}.session_id AS s"
    person_pairs = ("SELECT {row}.id AS x, {row}.session_id AS s UNION SELECT participant_id, session_id FROM responses "
                    "WHERE participant_id = {row}.id UNION SELECT participant_id, session_id FROM heard_profiles "
                    "WHERE participant_id = {row}.id")
    prompt_pairs = "SELECT DISTINCT participant_id AS x, session_id AS s FROM responses WHERE prompt_id = {row}.id"
    answer_update = [_heard_answer("OLD", -1), _heard_answer("NEW", 1)]
    author_update = _heard_author("OLD", -1) + _heard_author("NEW", 1)
    response_columns = "id, session_id, participant_id, prompt_id, language, text, choices, skipped, hidden_at"

    def trigger(name: str, when: str, statements: list[str], condition: str = "") -> str:
        """Return a CREATE TRIGGER with the statements, then the spent counts' removal."""
        return (f"CREATE TRIGGER {name} {when} {('WHEN ' + condition) if condition else ''} BEGIN "
                + "; ".join(statements + [_HEARD_SPENT]) + "; END")

    statements = [
        f"""CREATE TABLE heard_profiles (
                participant_id INTEGER NOT NULL, session_id INTEGER NOT NULL,
                profile TEXT NOT NULL,           -- JSON [[question id, first choice], ...], never '[]'
                PRIMARY KEY (participant_id, session_id)
            ) WITHOUT ROWID""",
        f"""CREATE TABLE heard_people (
                session_id INTEGER NOT NULL, language TEXT NOT NULL, source TEXT NOT NULL, profile TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY ({_HEARD_PEOPLE_KEY})
            ) WITHOUT ROWID""",
        f"""CREATE TABLE heard_answers (
                session_id INTEGER NOT NULL, prompt_id INTEGER NOT NULL,
                status TEXT NOT NULL,            -- the placement's status, '' for an answer no run has placed
                theme_id INTEGER NOT NULL,       -- the placement's theme, 0 for none
                language TEXT NOT NULL, author_language TEXT NOT NULL, profile TEXT NOT NULL,
                foreign_author INTEGER NOT NULL, -- its author is another session's person
                n INTEGER NOT NULL,
                PRIMARY KEY ({_HEARD_ANSWERS_KEY})
            ) WITHOUT ROWID""",
        "CREATE INDEX heard_people_spent ON heard_people(n) WHERE n = 0",
        "CREATE INDEX heard_answers_spent ON heard_answers(n) WHERE n = 0",
        # Answers: their own change; an "about you" answer's also moves its author's counts to the new profile.
        trigger("responses_heard_tally_insert", "AFTER INSERT ON responses", [_heard_answer("NEW", 1)], f"NOT {about_new}"),
        trigger("responses_heard_tally_insert_about", "AFTER INSERT ON responses",
                [_heard_answer("NEW", 1)] + _profiles_refresh(answer_pairs.format(row="NEW")), about_new),
        trigger("responses_heard_tally_delete", "BEFORE DELETE ON responses", [_heard_answer("OLD", -1)]),
        # After the delete (and its cascades): the profile read without the answer. Its question gone (a
        # question's delete cascading), it is no "about you" answer: the question's trigger saw to it.
        trigger("responses_heard_tally_delete_about", "AFTER DELETE ON responses",
                _profiles_refresh(answer_pairs.format(row="OLD")), about_old),
        trigger("responses_heard_tally_update", f"AFTER UPDATE OF {response_columns} ON responses", answer_update,
                f"NOT {about_either}"),
        trigger("responses_heard_tally_update_about", f"AFTER UPDATE OF {response_columns} ON responses",
                answer_update + _profiles_refresh(f"{answer_pairs.format(row='OLD')} UNION {answer_pairs.format(row='NEW')}"),
                about_either),
        # People: their own change, then their profiles read again (a withdrawn person keeps none).
        trigger("participants_heard_tally_insert", "AFTER INSERT ON participants",
                _heard_author("NEW", 1) + _profiles_refresh(person_pairs.format(row="NEW"))),
        trigger("participants_heard_tally_delete", "BEFORE DELETE ON participants",
                _heard_author("OLD", -1) + ["DELETE FROM heard_profiles WHERE participant_id = OLD.id"]),
        trigger("participants_heard_tally_update", "AFTER UPDATE OF id, session_id, language, source, withdrawn_at ON participants",
                author_update + _profiles_refresh(f"{person_pairs.format(row='OLD')} UNION {person_pairs.format(row='NEW')}"),
                "OLD.id IS NOT NEW.id OR OLD.session_id IS NOT NEW.session_id OR OLD.language IS NOT NEW.language "
                "OR OLD.source IS NOT NEW.source OR OLD.withdrawn_at IS NOT NEW.withdrawn_at"),
        # Placements.
        trigger("theme_assignments_heard_tally_insert", "AFTER INSERT ON theme_assignments", _heard_placement("NEW", 1)),
        trigger("theme_assignments_heard_tally_delete", "BEFORE DELETE ON theme_assignments", _heard_placement("OLD", -1)),
        trigger("theme_assignments_heard_tally_update", "AFTER UPDATE OF response_id, session_id, theme_id, status ON theme_assignments",
                _heard_placement("OLD", -1) + _heard_placement("NEW", 1),
                "OLD.response_id IS NOT NEW.response_id OR OLD.session_id IS NOT NEW.session_id "
                "OR OLD.theme_id IS NOT NEW.theme_id OR OLD.status IS NOT NEW.status"),
        # Questions: one that becomes or stops being "about you" changes its answerers' profiles; one deleted
        # changes them before its answers go (read without it).
        trigger("prompts_heard_tally_update", "AFTER UPDATE OF id, kind ON prompts",
                _profiles_refresh(f"{prompt_pairs.format(row='OLD')} UNION {prompt_pairs.format(row='NEW')}"),
                "OLD.id IS NOT NEW.id OR (OLD.kind = 'about') IS NOT (NEW.kind = 'about')"),
        trigger("prompts_heard_tally_delete", "BEFORE DELETE ON prompts",
                _profiles_refresh(prompt_pairs.format(row="OLD"), extra="AND pr.id != OLD.id"), "OLD.kind = 'about'"),
        # What is there already, counted once.
        "INSERT INTO heard_profiles (participant_id, session_id, profile) SELECT x, s, profile FROM ("
        f"SELECT k.x AS x, k.s AS s, {_PROFILE.format(x='k.x', s='k.s', extra='')} AS profile FROM ("
        "SELECT DISTINCT q.participant_id AS x, q.session_id AS s FROM responses q JOIN prompts pr ON pr.id = q.prompt_id "
        "AND pr.kind = 'about') k CROSS JOIN participants p ON p.id = k.x WHERE p.withdrawn_at IS NULL) WHERE profile != '[]'",
        _people_change(1, source="FROM participants p", where="1"),
        _answers_change(1, source="FROM responses r JOIN participants p ON p.id = r.participant_id LEFT JOIN theme_assignments a "
                                  "ON a.response_id = r.id AND a.session_id = r.session_id", where="1"),
    ]
    with db.atomic():
        for statement in statements:
            db.execute(statement)


# An answer may go on the projector wall when it is written and its author's consent allowed quoting
# on the room's screen: `wall_ok`, kept by triggers, as SQL over one answer row `row`.
_WALL_OK = ("({row}.text IS NOT NULL AND trim({row}.text, ' ' || char(9, 10, 13)) != '' AND EXISTS (SELECT 1 FROM consents c "
            "WHERE c.participant_id = {row}.participant_id AND c.quote_ok = 1 AND c.quote_scope = 'screen_and_reports'))")


@migrations()
def m040_console19(db: sqlite_utils.Database) -> None:
    """Mark the answers that may go on the projector wall and index them, so the console and projector find the wall's
    newest and the oldest waiting answers without walking a big question's answers (issue 19).

    `responses.wall_ok` is 1 for a written answer whose author allowed quoting on the room's screen,
    kept by triggers on every write of an answer's text or author and of a consent. The partial index
    `responses_wall` holds only those (not hidden, not skipped), by question, wall decision and id: at
    100,000 residents where nobody allowed the wall it is empty, and the queue's first 30 and the
    wall's newest 30 are read from it directly. The queries still check the consent row itself
    (`facilitation.live_queries.CANDIDATE_SQL`): the flag only narrows the search, it never lets an
    answer up that the consent does not allow.
    """
    answer = _WALL_OK.format(row="NEW")
    statements = [
        "ALTER TABLE responses ADD COLUMN wall_ok INTEGER NOT NULL DEFAULT 0",
        f"UPDATE responses SET wall_ok = 1 WHERE {_WALL_OK.format(row='responses')}",
        "CREATE INDEX responses_wall ON responses(prompt_id, wall_status, id) "
        "WHERE wall_ok = 1 AND hidden_at IS NULL AND skipped = 0",
        # A choice or scale answer has no text: the insert trigger does nothing for it.
        f"CREATE TRIGGER responses_wall_ok_insert AFTER INSERT ON responses WHEN NEW.text IS NOT NULL "
        f"BEGIN UPDATE responses SET wall_ok = 1 WHERE id = NEW.id AND {answer}; END",
        "CREATE TRIGGER responses_wall_ok_update AFTER UPDATE OF text, participant_id ON responses "
        "WHEN OLD.text IS NOT NEW.text OR OLD.participant_id IS NOT NEW.participant_id "
        f"BEGIN UPDATE responses SET wall_ok = {answer} WHERE id = NEW.id; END",
        # A consent's answers are found by the (participant_id, prompt_id) unique index.
        "CREATE TRIGGER consents_wall_ok_insert AFTER INSERT ON consents "
        f"BEGIN UPDATE responses SET wall_ok = {_WALL_OK.format(row='responses')} WHERE participant_id = NEW.participant_id; END",
        "CREATE TRIGGER consents_wall_ok_update AFTER UPDATE OF participant_id, quote_ok, quote_scope ON consents "
        "WHEN OLD.participant_id IS NOT NEW.participant_id OR OLD.quote_ok IS NOT NEW.quote_ok "
        "OR OLD.quote_scope IS NOT NEW.quote_scope "
        f"BEGIN UPDATE responses SET wall_ok = {_WALL_OK.format(row='responses')} "
        "WHERE participant_id IN (OLD.participant_id, NEW.participant_id); END",
        "CREATE TRIGGER consents_wall_ok_delete AFTER DELETE ON consents "
        "BEGIN UPDATE responses SET wall_ok = 0 WHERE participant_id = OLD.participant_id AND wall_ok = 1; END",
    ]
    with db.atomic():
        for statement in statements:
            db.execute(statement)


@migrations()
def m041_wall_arrivals(db: sqlite_utils.Database) -> None:
    """Count a new answer's wall mark (m040) as part of its arrival (m034), so a quotable answer arriving keeps the
    synthesis pages' settled version, as any other arrival does.

    m040 marks a new answer whose author allowed the wall by updating it right after its insert, and every
    update of an answer bumps the session's data version (m019): without this the version less the
    arrivals moved on each such arrival, and every synthesis page was computed again in the request
    instead of served while it is counted in the background. A mark changed by anything else (a new
    text, a consent changed or deleted) comes with that write's own bump, so the settled version still
    moves for it.
    """
    bump = ("INSERT INTO arrival_versions (session_id, version) SELECT NEW.session_id, 1 WHERE NEW.session_id IS NOT NULL "
            "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    db.execute("CREATE TRIGGER responses_wall_ok_arrival AFTER UPDATE OF wall_ok ON responses "
               f"WHEN OLD.wall_ok IS NOT NEW.wall_ok BEGIN {bump}; END")


@migrations()
def m042_votes19(db: sqlite_utils.Database) -> None:
    """Count each statement's agree, disagree and pass votes in `vote_counts`, kept by triggers on every write of a
    vote, so a resident's phone picks its next statement from the counts instead of reading every vote of the
    question (issue 19: 875,000 votes at 100,000 residents).

    One row per (question, statement, vote value) with its number `n`; a count that reaches 0 is deleted.
    Deletes by cascade (a withdrawal, an erasure, a statement or session deleted, a retention purge) fire
    the delete trigger, and a vote moved to another statement, person or value (a merge of statements, a
    change of vote) moves its count. The chooser reads only the approved statements' rows, as
    `statements.votes_for_prompt` reads only their votes.
    """
    add = ("INSERT INTO vote_counts (prompt_id, statement_id, vote, n) VALUES (NEW.prompt_id, NEW.statement_id, NEW.vote, 1) "
           "ON CONFLICT (prompt_id, statement_id, vote) DO UPDATE SET n = n + 1;")
    drop = ("UPDATE vote_counts SET n = n - 1 WHERE prompt_id = OLD.prompt_id AND statement_id = OLD.statement_id "
            "AND vote = OLD.vote; DELETE FROM vote_counts WHERE prompt_id = OLD.prompt_id AND "
            "statement_id = OLD.statement_id AND vote = OLD.vote AND n <= 0;")
    statements = [
        "CREATE TABLE vote_counts (prompt_id INTEGER NOT NULL, statement_id INTEGER NOT NULL, vote INTEGER NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (prompt_id, statement_id, vote)) WITHOUT ROWID",
        "INSERT INTO vote_counts (prompt_id, statement_id, vote, n) "
        "SELECT prompt_id, statement_id, vote, count(*) FROM votes GROUP BY prompt_id, statement_id, vote",
        f"CREATE TRIGGER votes_count_insert AFTER INSERT ON votes BEGIN {add} END",
        f"CREATE TRIGGER votes_count_delete AFTER DELETE ON votes BEGIN {drop} END",
        "CREATE TRIGGER votes_count_update AFTER UPDATE OF prompt_id, statement_id, vote ON votes "
        "WHEN OLD.prompt_id IS NOT NEW.prompt_id OR OLD.statement_id IS NOT NEW.statement_id OR OLD.vote IS NOT NEW.vote "
        f"BEGIN {drop} {add} END",
    ]
    with db.atomic():
        for statement in statements:
            db.execute(statement)


@migrations()
def m043_react19(db: sqlite_utils.Database) -> None:
    """Count a react or ideas question's voters and its changes by triggers, and keep its latest opinion groups
    (issue 19: the console and projector read 875,000 votes every 20 s in each worker for these numbers and
    computed the groups in the request).

    `vote_people` holds, per question and person, how many of their votes are on the question's approved
    statements (a row that reaches 0 is deleted), so `vote_totals.voters` (the number of those rows) is
    the "people have voted" of `statements.votes_for_prompt`. `vote_totals.version` rises with every
    write of a vote and every statement entering or leaving "approved"; `removed` with every deleted vote
    (a withdrawal, an erasure, a merge's dropped duplicate, a deleted statement). `opinion_groups` keeps
    the groups last computed for a question (sizes, stances, consensus: never who is in which group) with
    the version and `removed` they were computed from; a deleted vote empties its `summary` at once, so a
    withdrawn person's votes never stay in stored groups. A statement deleted while approved takes its
    voters off before the cascade deletes its votes (the cascade's votes no longer see it approved).
    """
    approved = "EXISTS (SELECT 1 FROM statements WHERE id = {v}.statement_id AND status = 'approved')"
    add = ("INSERT INTO vote_people (prompt_id, participant_id, n) SELECT NEW.prompt_id, NEW.participant_id, 1 "
           f"WHERE {approved.format(v='NEW')} ON CONFLICT (prompt_id, participant_id) DO UPDATE SET n = n + 1;")
    drop = (f"UPDATE vote_people SET n = n - 1 WHERE prompt_id = OLD.prompt_id AND participant_id = OLD.participant_id "
            f"AND {approved.format(v='OLD')}; DELETE FROM vote_people WHERE prompt_id = OLD.prompt_id "
            "AND participant_id = OLD.participant_id AND n <= 0;")
    bump = ("INSERT INTO vote_totals (prompt_id, voters, version, removed) VALUES (NEW.prompt_id, 0, 1, 0) "
            "ON CONFLICT (prompt_id) DO UPDATE SET version = version + 1;")
    statements = [
        "CREATE TABLE vote_people (prompt_id INTEGER NOT NULL, participant_id INTEGER NOT NULL, n INTEGER NOT NULL, "
        "PRIMARY KEY (prompt_id, participant_id)) WITHOUT ROWID",
        "CREATE TABLE vote_totals (prompt_id INTEGER PRIMARY KEY, voters INTEGER NOT NULL DEFAULT 0, "
        "version INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0)",
        """CREATE TABLE opinion_groups (
               prompt_id INTEGER PRIMARY KEY,
               version INTEGER NOT NULL DEFAULT 0,     -- vote_totals.version the groups were computed from
               removed INTEGER NOT NULL DEFAULT 0,     -- vote_totals.removed then
               statements TEXT NOT NULL DEFAULT '[]',  -- JSON: the approved statements they cover, in order
               votes INTEGER NOT NULL DEFAULT 0,
               voters INTEGER NOT NULL DEFAULT 0,
               summary TEXT,                           -- JSON: groups' sizes, stances, consensus; NULL: none to show
               computed_at TEXT,
               requested_at REAL                       -- when a worker last asked the job consumer to compute them
           )""",
        "INSERT INTO vote_people (prompt_id, participant_id, n) SELECT v.prompt_id, v.participant_id, count(*) "
        "FROM votes v JOIN statements s ON s.id = v.statement_id WHERE s.status = 'approved' GROUP BY 1, 2",
        "INSERT INTO vote_totals (prompt_id, voters) SELECT p.id, (SELECT count(*) FROM vote_people x WHERE x.prompt_id = p.id) "
        "FROM prompts p WHERE p.kind IN ('react', 'ideas') OR EXISTS (SELECT 1 FROM votes v WHERE v.prompt_id = p.id)",
        "CREATE TRIGGER vote_people_insert AFTER INSERT ON vote_people BEGIN "
        "INSERT INTO vote_totals (prompt_id, voters) VALUES (NEW.prompt_id, 1) "
        "ON CONFLICT (prompt_id) DO UPDATE SET voters = voters + 1; END",
        "CREATE TRIGGER vote_people_delete AFTER DELETE ON vote_people BEGIN "
        "UPDATE vote_totals SET voters = voters - 1 WHERE prompt_id = OLD.prompt_id; END",
        f"CREATE TRIGGER votes_people_insert AFTER INSERT ON votes BEGIN {bump} {add} END",
        "CREATE TRIGGER votes_people_delete AFTER DELETE ON votes BEGIN "
        "UPDATE vote_totals SET version = version + 1, removed = removed + 1 WHERE prompt_id = OLD.prompt_id; "
        f"{drop} UPDATE opinion_groups SET summary = NULL WHERE prompt_id = OLD.prompt_id AND summary IS NOT NULL; END",
        "CREATE TRIGGER votes_people_update AFTER UPDATE OF prompt_id, statement_id, participant_id, vote ON votes "
        "WHEN OLD.prompt_id IS NOT NEW.prompt_id OR OLD.statement_id IS NOT NEW.statement_id "
        "OR OLD.participant_id IS NOT NEW.participant_id OR OLD.vote IS NOT NEW.vote "
        f"BEGIN {bump} {drop} {add} END",
        "CREATE TRIGGER statements_people_status AFTER UPDATE OF status ON statements "
        "WHEN (OLD.status = 'approved') IS NOT (NEW.status = 'approved') BEGIN "
        "UPDATE vote_people SET n = n - 1 WHERE OLD.status = 'approved' AND prompt_id = NEW.prompt_id AND participant_id IN "
        "(SELECT participant_id FROM votes WHERE statement_id = NEW.id); "
        "DELETE FROM vote_people WHERE OLD.status = 'approved' AND prompt_id = NEW.prompt_id AND n <= 0 AND participant_id IN "
        "(SELECT participant_id FROM votes WHERE statement_id = NEW.id); "
        "INSERT INTO vote_people (prompt_id, participant_id, n) SELECT prompt_id, participant_id, 1 FROM votes "
        "WHERE NEW.status = 'approved' AND statement_id = NEW.id ON CONFLICT (prompt_id, participant_id) DO UPDATE SET n = n + 1; "
        "UPDATE vote_totals SET version = version + 1 WHERE prompt_id = NEW.prompt_id; END",
        "CREATE TRIGGER statements_people_delete BEFORE DELETE ON statements WHEN OLD.status = 'approved' BEGIN "
        "UPDATE vote_people SET n = n - 1 WHERE prompt_id = OLD.prompt_id AND participant_id IN "
        "(SELECT participant_id FROM votes WHERE statement_id = OLD.id); "
        "DELETE FROM vote_people WHERE prompt_id = OLD.prompt_id AND n <= 0 AND participant_id IN "
        "(SELECT participant_id FROM votes WHERE statement_id = OLD.id); END",
        "CREATE TRIGGER prompts_vote_totals_delete AFTER DELETE ON prompts BEGIN "
        "DELETE FROM vote_people WHERE prompt_id = OLD.id; DELETE FROM vote_totals WHERE prompt_id = OLD.id; "
        "DELETE FROM opinion_groups WHERE prompt_id = OLD.id; END",
    ]
    for statement in statements:
        db.execute(statement)


@migrations()
def m044_jobs19(db: sqlite_utils.Database) -> None:
    """Where a resumable job stopped (issue 19): `jobs.checkpoint`, JSON of ids and counts only (a theme run's run
    id, its machine themes' rows and how many answers it has placed), written in the same transaction as the
    work it describes, so a job continued after a restart starts from its last committed batch. What the engine
    found is kept in a file beside the database (`listening.erasures.checkpoint_file`), deleted like an export's."""
    db.execute("ALTER TABLE jobs ADD COLUMN checkpoint TEXT")


@migrations()
def m045_place19(db: sqlite_utils.Database) -> None:
    """A theme run's placements counted once per batch instead of once per row (issue 19): `bulk_placing`.

    Every write of a placement ran its triggers: the data version (m019), the placements' counter
    (m029), `answer_tallies` (m036) and `heard_answers` (m037), a dozen statements a row. Writing a
    run's 218,287 placements spent most of its time in them. The twelve triggers are made again with
    the same statements and one more condition: no row in `bulk_placing`. A run's batch inserts that
    row at the start of its own transaction and deletes it before the commit, so no other connection
    ever sees it; in between it takes away what its answers count, writes their placements, adds
    back what they count now, and bumps both counters, each once for the batch, with grouped
    statements (`analysis.review.placing`). Every other write of a placement keeps its triggers.
    """
    versioned = ("INSERT INTO data_versions (session_id, version) SELECT {row}.session_id, 1 WHERE {row}.session_id IS NOT NULL "
                 "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    placed = ("INSERT INTO placement_versions (session_id, version) SELECT {row}.session_id, 1 "
              "ON CONFLICT (session_id) DO UPDATE SET version = version + 1")
    changed = ("OLD.response_id IS NOT NEW.response_id OR OLD.session_id IS NOT NEW.session_id "
               "OR OLD.theme_id IS NOT NEW.theme_id OR OLD.status IS NOT NEW.status")
    spent = "DELETE FROM answer_tallies WHERE n = 0"
    columns = "UPDATE OF response_id, session_id, theme_id, status"
    # name: (when and which event, the condition it had, its statements), as m019, m029, m036 and m037 made them.
    triggers = {
        "theme_assignments_version_insert": ("AFTER INSERT", "", [versioned.format(row="NEW")]),
        "theme_assignments_version_update": ("AFTER UPDATE", "", [versioned.format(row="NEW")]),
        "theme_assignments_version_delete": ("AFTER DELETE", "", [versioned.format(row="OLD")]),
        "theme_assignments_placement_insert": ("AFTER INSERT", "", [placed.format(row="NEW")]),
        "theme_assignments_placement_update": ("AFTER UPDATE", "", [placed.format(row="NEW")]),
        "theme_assignments_placement_delete": ("AFTER DELETE", "", [placed.format(row="OLD")]),
        "theme_assignments_tally_insert": ("AFTER INSERT", "", _placement_changes("NEW", 1) + [spent]),
        "theme_assignments_tally_delete": ("BEFORE DELETE", "", _placement_changes("OLD", -1) + [spent]),
        "theme_assignments_tally_update": (f"AFTER {columns}", changed,
                                           _placement_changes("OLD", -1) + _placement_changes("NEW", 1) + [spent]),
        "theme_assignments_heard_tally_insert": ("AFTER INSERT", "", _heard_placement("NEW", 1) + [_HEARD_SPENT]),
        "theme_assignments_heard_tally_delete": ("BEFORE DELETE", "", _heard_placement("OLD", -1) + [_HEARD_SPENT]),
        "theme_assignments_heard_tally_update": (f"AFTER {columns}", changed,
                                                 _heard_placement("OLD", -1) + _heard_placement("NEW", 1) + [_HEARD_SPENT]),
    }
    with db.atomic():
        # One row at most, and only ever inside the transaction of the batch that inserted it.
        db.execute("CREATE TABLE bulk_placing (id INTEGER PRIMARY KEY CHECK (id = 1))")
        for name, (event, condition, statements) in triggers.items():
            when = f"({condition}) AND NOT EXISTS (SELECT 1 FROM bulk_placing)" if condition else "NOT EXISTS (SELECT 1 FROM bulk_placing)"
            db.execute(f"DROP TRIGGER {name}")
            db.execute(f"CREATE TRIGGER {name} {event} ON theme_assignments WHEN {when} BEGIN {'; '.join(statements)}; END")
