"""Mutation testing of the code that holds Chorus's promises: does a test notice when a line breaks?

    python bench/mutants.py                 # every target below (about an hour on 2 shared cores)
    python bench/mutants.py --only access roles --keep /tmp/mutants
    python bench/mutants.py --list          # the targets, their functions and the tests that guard them
    python bench/mutants.py --only access --keep /tmp/mutants --survivors   # after new tests: re-try only
                                                                            # the survivors of that kept run
    python bench/mutants.py --only access --keep /tmp/mutants --resume      # run what a stopped run never reached
    python bench/mutants.py --only access --keep /tmp/mutants --report      # count a kept run, even one stopped
                                                                            # part-way, without running anything
    python bench/mutants.py --only public-counts --lines 93 107 --keep /tmp/mutants  # a fresh run of only these
                                                                            # lines (a kept run's survivors after
                                                                            # the module changed)

For each target (a module, the functions in it that keep a promise, and the test files that cover
them) it copies the working tree to a scratch folder, lets cosmic-ray (PyPI, MIT) mutate those
functions one change at a time (a comparison flipped, a condition negated, a decorator removed, a
number moved by one, an exception swallowed...), runs the chosen tests against each mutant, and
prints every mutant no test killed, with its diff. Survivors go into docs/testing.md, each killed
by a new test or explained. Only the scratch copy is mutated: the working tree is never touched,
so other tests can run meanwhile.

What it cannot see: cosmic-ray does not mutate strings, so SQL inside queries (the WHERE clause
that filters by session, say) is out of its reach; tests such as test_route_table.py and
test_answer_guard.py hold those lines.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Operators that only make noise here: swapping a variable for another name, or exotic arithmetic
# (a + b -> a << b). Kept: every comparison swap, and/or, not, True/False, numbers +-1, removed
# decorators (a @requires gone), exceptions replaced, loops that never run, break/continue.
NOISY = re.compile(
    r"VariableInserter|VariableReplacer"
    r"|ReplaceBinaryOperator_(?!Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Mul|BitOr_BitAnd|BitAnd_BitOr)"
)


@dataclass(frozen=True)
class Target:
    """A module, the functions in it that hold a promise, and the tests that should notice a change."""

    name: str
    module: str
    functions: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS = (
    Target("consent", "listening/queries.py", ("record_consent", "current_consent", "snapshot_consent"),
           ("tests/listening/test_consent.py", "tests/listening/test_concurrency.py", "tests/listening/test_join.py",
            "tests/facilitation/test_opening_rules.py")),
    Target("answers", "listening/queries.py", ("save_response", "answers_of", "responses_for_session"),
           ("tests/listening/test_answer_guard.py", "tests/listening/test_answers.py",
            "tests/listening/test_concurrency.py")),
    Target("withdrawal", "listening/queries.py",
           ("withdraw", "receipt_hash", "normalize_code", "format_receipt", "participant", "log_deletion"),
           ("tests/listening/test_withdraw.py", "tests/security/test_codes.py", "tests/listening/test_answer_guard.py",
            "tests/security/test_authorization.py")),
    Target("resident-pages", "listening/views.py",
           ("consent", "current_participant", "forget_participant", "remember_participant", "store_answer"),
           ("tests/listening/test_consent.py", "tests/listening/test_answers.py", "tests/listening/test_withdraw.py",
            "tests/listening/test_shared_device.py", "tests/security/test_authorization.py")),
    Target("access", "listening/access.py",
           ("accessible_sessions", "can_see_session", "visible_session", "sessions_for", "is_owner", "can_share",
            "could_be_given", "give_access", "take_access"),
           ("tests/facilitation/test_session_access.py", "tests/security/test_route_table.py")),
    Target("roles", "listening/accounts.py",
           ("requires", "public", "can_edit", "load_user", "guard_session_access", "check_login", "reserve_sign_in", "required_wait", "throttle_rules",
            "sign_in_succeeded", "end_sessions", "set_password", "change_user", "create_user"),
           ("tests/facilitation/test_access.py", "tests/security/test_rate_limits.py",
            "tests/facilitation/test_session_access.py", "tests/security/test_route_table.py")),
    Target("staff-pages", "facilitation/sessions.py",
           ("session_access", "keep_open_session_complete", "session_status", "dashboard"),
           ("tests/facilitation/test_session_access.py", "tests/facilitation/test_opening_rules.py",
            "tests/facilitation/test_access.py", "tests/security/test_route_table.py")),
    Target("staff-helpers", "facilitation/blueprint.py", ("load_session",),
           ("tests/facilitation/test_session_access.py", "tests/security/test_route_table.py")),
    Target("staff-sign-in", "facilitation/signin.py", ("safe_next",),
           ("tests/facilitation/test_access.py",)),
    Target("staff-users", "facilitation/users.py", ("change_user", "users"),
           ("tests/facilitation/test_access.py", "tests/security/test_route_table.py")),
    Target("live-room", "facilitation/live.py", ("console_action", "_start", "_show", "_answering", "_timer",
                                                 "projector_context", "wall_cards", "moderate"),
           ("tests/facilitation/test_opening_rules.py", "tests/facilitation/test_live.py",
            "tests/facilitation/test_room_counts.py", "tests/facilitation/test_wall.py",
            "tests/security/test_authorization.py", "tests/security/test_route_table.py")),
    Target("staff-entry", "facilitation/entry.py", ("staff_entry", "still_taking_part", "last_card"),
           ("tests/listening/test_answer_guard.py", "tests/facilitation/test_entry.py")),
    # Staff entry of votes: who may vote on what (the store, shared with a resident's own vote), the one
    # transaction that records a typed-in person's verbal consent with their votes, and the page that asks.
    Target("staff-votes", "listening/statements.py",
           ("enter_votes", "_check_staff_card", "_store_vote", "_open_participant", "_react_prompt", "cast_vote"),
           ("tests/design/test_vote_guard.py", "tests/design/test_staff_votes.py", "tests/design/test_react.py",
            "tests/design/test_ideas.py")),
    Target("staff-votes-store", "facilitation/live_queries.py", ("enter_votes", "_statement_card", "_verbal_consent"),
           ("tests/design/test_vote_guard.py", "tests/design/test_staff_votes.py", "tests/facilitation/test_entry.py", "tests/design/test_ideas.py")),
    Target("staff-votes-page", "facilitation/entry.py", ("why_not_this_person", "staff_entry_votes", "_store_votes"),
           ("tests/design/test_staff_votes.py", "tests/facilitation/test_entry.py", "tests/security/test_route_table.py")),
    Target("disclosure", "analysis/disclosure.py",
           ("validate_threshold", "required_width", "withheld_total_too_narrow", "_pick", "_close_line", "_first_pass",
            "_withhold_one", "_cover", "_needs_audit", "_settle", "_publish", "protect", "protect_line"),
           ("tests/analysis/test_disclosure.py", "tests/review/test_thresholds.py", "tests/review/test_withheld_totals.py")),
    Target("export-safety", "analysis/reports.py",
           ("neutralise", "looks_like_formula", "markdown_text", "clean_text", "_md", "answer_rows"),
           ("tests/review/test_export_safety.py", "tests/review/test_reports.py", "tests/security/test_escaping.py")),
    Target("public-counts", "analysis/review/tallies.py",
           ("Counted._count", "Counted.release", "Counted.quotes", "Counted.candidates", "Counted.quotable_among",
            "ThemeMembers.count_among", "ThemeMembers.holds", "review_data", "choice_tallies", "public_summary"),
           ("tests/review/test_tallies.py", "tests/review/test_tallies_edges.py", "tests/review/test_results_page.py",
            "tests/review/test_refreshing.py",
            "tests/review/test_thresholds.py")),
    # "Who was heard" from the trigger-kept segment counts (heard19, segments19) and the trigger-kept counts'
    # tie-break reads (after19).
    Target("heard-counts", "analysis/review/tallies.py",
           ("profile_values", "heard_counts", "heard_data", "Counted._first_answers", "Counted.member_ids"),
           ("tests/review/test_tallies.py", "tests/review/test_answer_tallies.py", "tests/review/test_tallies_edges.py",
            "tests/review/test_segment_tallies.py")),
    # public_summary here is the full load's residents' page, the reference test_tallies.py holds the SQL counts to.
    Target("quotes", "analysis/review/queries.py", ("choose_quotes", "public_summary", "visible_filter"),
           ("tests/review/test_review.py", "tests/review/test_results_page.py", "tests/review/test_reports.py",
            "tests/review/test_tallies.py")),
    Target("planner-decisions", "analysis/review/views.py", ("edit", "_merge", "_quote", "_split", "_move", "_note"),
           ("tests/review/test_review.py", "tests/security/test_route_table.py", "tests/security/test_authorization.py")),
    Target("report-assembly", "analysis/assemble.py", ("quotes_for", "public_page", "_theme_views", "assemble_report"),
           ("tests/analysis/test_assemble.py", "tests/review/test_review.py", "tests/review/test_results_page.py",
            "tests/review/test_reports.py", "tests/analysis/test_cli.py")),
    Target("exports", "analysis/review/reporting.py", ("export", "_votes_report", "build_report", "_export_streamed"),
           ("tests/review/test_reports.py", "tests/review/test_report_counts.py", "tests/review/test_streamed_exports.py",
            "tests/security/test_audit.py", "tests/design/test_design_reports.py")),
    # Reports counted in SQL (issue 19, memory): the one release every format's tables take.
    Target("report-counts", "analysis/review/tallies.py", ("report_data",),
           ("tests/review/test_report_counts.py", "tests/review/test_tallies.py", "tests/review/test_reports.py")),
    # Campaigns: a partner's staff see only their own sessions; only admins and the backbone change a campaign.
    Target("campaign-access", "listening/access.py", ("accessible_campaigns", "campaign_role", "campaign_sessions_for"),
           ("tests/campaigns/test_campaigns.py", "tests/security/test_route_table.py")),
    Target("campaign-pages", "analysis/review/campaigns.py", ("campaign_user", "load_campaign", "require_backbone"),
           ("tests/campaigns/test_campaigns.py", "tests/campaigns/test_campaign_jobs.py", "tests/security/test_route_table.py")),
    # A backup taken before a withdrawal or a purge brings nobody back when restored.
    Target("restore", "listening/backup.py", ("gather_ledger", "reapply", "restore"),
           ("tests/test_erasure.py", "tests/test_backup.py", "tests/review/test_answer_tallies.py",
            "tests/review/test_answer_translations.py", "tests/facilitation/test_imports.py")),
)


def function_lines(source: str, names: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Return the first and last line of each named top-level function, or method named `Class.method`
    (decorators included)."""
    found = {}
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    tree = ast.parse(source).body
    defined = [(node.name, node) for node in tree if isinstance(node, functions)]
    defined += [(f"{cls.name}.{node.name}", node) for cls in tree if isinstance(cls, ast.ClassDef)
                for node in cls.body if isinstance(node, functions)]
    for name, node in defined:
        if name in names:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found[name] = (first, node.end_lineno)
    missing = set(names) - set(found)
    if missing:
        raise SystemExit(f"functions not found: {sorted(missing)}")
    return found


def signatures(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Return the spans of every function signature and annotation: `int | None` and a bare `*` there are
    not code, so swapping their operators makes mutants no test could (or should) notice."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            spans.append(((node.lineno, 0), (node.body[0].lineno, node.body[0].col_offset)))
        elif isinstance(node, ast.AnnAssign):
            spans.append(((node.annotation.lineno, node.annotation.col_offset),
                          (node.annotation.end_lineno, node.annotation.end_col_offset)))
    return spans


def scratch_copy(keep: Path | None) -> Path:
    """Copy the working tree (with compiled catalogs, without .git and the venv) to a scratch folder."""
    target = keep or Path(tempfile.mkdtemp(prefix="chorus-mutants-"))
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "instance", "test-artifacts", "*.egg-info", ".pytest_cache", ".hypothesis"))
    # The copy must be what the tests import, not the editable install of the working tree.
    where = subprocess.run([sys.executable, "-c", "import listening; print(listening.__file__)"], cwd=target,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(target)):
        raise SystemExit(f"tests would import {where}, not the scratch copy")
    precompile(target)
    return target


def precompile(copy: Path) -> None:
    """Compile the copy's Python once, as pycs checked against a hash of their source.

    Without pycs every mutant's run compiled the whole app again (PYTHONDONTWRITEBYTECODE is set on this
    machine). A hash-checked pyc is used only while its source is byte for byte the same, so the mutated
    module is always compiled afresh, however quickly one mutant follows another (a timestamp pyc could
    be taken for a same-sized mutant written within the same second).
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash",
                    *[str(copy / d) for d in ("listening", "facilitation", "analysis", "tests", "bench")]],
                   check=True, stdout=subprocess.DEVNULL)


def run_env(killers: Path | None = None) -> dict[str, str]:
    """The environment of the tests' runs: bytecode may be written, so pytest keeps its rewritten test modules
    (and the hypothesis plugin's) between mutants; every pyc it finds of the app is hash-checked (above).
    `killers` is where bench/mutant_plugin.py notes the tests that kill, to run them first next time."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CHORUS_MUTANT_KILLERS", None)
    if killers is not None:
        env["CHORUS_MUTANT_KILLERS"] = str(killers)
    return env


def pytest_command(tests: tuple[str, ...]) -> list[str]:
    """Return the command that runs a target's tests, stopping at the first failure (bench/mutant_plugin.py
    lowers scrypt's cost; the tests are the same)."""
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "bench.mutant_plugin",
            "--no-header", *tests]


NOT_RUN = "not run in the kept run (stopped part-way)"


def refresh_copy(target: Target, copy: Path) -> Path:
    """Bring a kept copy up to date with the working tree and point its test command at today's tests.

    The target module must be the one the kept run mutated: the same as the working tree's, or different
    only on the lines of one of its mutants (a run stopped mid-mutant leaves that mutant applied; it is put
    back here, so it cannot "kill" every mutant that follows). Everything else (tests, and code merged since)
    is copied over: the mutants' line numbers only depend on the target module.
    """
    from cosmic_ray.work_db import WorkDB, use_db

    session = copy / f"mutants-{target.name}.sqlite"
    kept = (copy / target.module).read_text(encoding="utf-8").splitlines()
    ours = (ROOT / target.module).read_text(encoding="utf-8").splitlines()
    if kept != ours:
        differing = {n + 1 for n, (a, b) in enumerate(zip(kept, ours)) if a != b}
        with use_db(str(session), WorkDB.Mode.open) as db:
            spans = [set(range(m.start_pos[0], m.end_pos[0] + 1)) for m in
                     (item.mutations[0] for item in db.work_items)]
        if len(kept) != len(ours) or not any(differing <= span for span in spans):
            raise SystemExit(f"{target.module} changed since the kept run: run the target again "
                             "(--lines for the lines you need)")
        print(f"{target.name}: a mutant left applied on line(s) {sorted(differing)} of the kept copy is put back",
              flush=True)
    shutil.copytree(ROOT, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "instance", "test-artifacts", "*.egg-info", ".pytest_cache", ".hypothesis"))
    precompile(copy)
    config = copy / f"mutants-{target.name}.toml"
    # Today's tests (files added to the target since the kept run too), run by this interpreter.
    if config.exists():
        config.write_text(re.sub(r"(?m)^test-command = .*$", lambda _: f"test-command = '{' '.join(pytest_command(target.tests))}'",
                                 config.read_text(encoding="utf-8")), encoding="utf-8")
    return session


def retry_survivors(target: Target, copy: Path) -> Path:
    """Bring the kept copy's tests up to date and forget the survivors' results (and the timed-out ones'), so `exec`
    tries them again.

    Mutants a stopped run never reached are marked as not run, so only the survivors are tried: the
    re-run takes minutes, not the hour the rest of the target would.
    """
    session = refresh_copy(target, copy)
    forget_survivors(session)
    return session


def forget_survivors(session: Path) -> None:
    """Mark a kept run's never-run mutants as not run and forget its survivors' and timeouts' results."""
    import sqlite3

    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        never_run = [item.job_id for item in db.pending_work_items]
        db.set_multiple_results(never_run, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=NOT_RUN))
    with sqlite3.connect(session) as conn:
        conn.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED' OR trim(lower(output)) = ?", (TIMED_OUT,))


def run_target(target: Target, copy: Path, timeout_floor: float, survivors_only: bool = False,
               only_lines: frozenset[int] = frozenset(), resume: bool = False) -> dict:
    """Mutate one target's functions in the copy, run its tests on each mutant, return counts and survivors."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    started = time.monotonic()
    config = copy / f"mutants-{target.name}.toml"
    if survivors_only or resume:
        session = refresh_copy(target, copy)
        kept = float(re.search(r"(?m)^timeout = (\S+)$", config.read_text(encoding="utf-8")).group(1))
        if timeout_floor > kept:  # a --timeout above the kept run's (a more loaded machine now)
            config.write_text(re.sub(r"(?m)^timeout = .*$", f"timeout = {timeout_floor:.0f}", config.read_text(encoding="utf-8")),
                              encoding="utf-8")
        source = (copy / target.module).read_text(encoding="utf-8")
        lines = function_lines(source, target.functions)
        # Today's tests must pass on the unmutated copy first: a test that fails anyway (a merge that left one
        # stale) would "kill" every mutant tried.
        baseline = subprocess.run(pytest_command(target.tests), cwd=copy, capture_output=True, text=True, env=run_env())
        if baseline.returncode != 0:
            raise SystemExit(f"{target.name}: the tests fail before any mutation:\n{baseline.stdout[-3000:]}")
        if survivors_only:
            forget_survivors(session)
        print(f"{target.name}: trying " + ("the survivors again" if survivors_only else "the mutants never run")
              + " with today's tests", flush=True)
        subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "exec", str(config), str(session)], cwd=copy, check=True,
                       env=run_env(copy / f"killers-{target.name}.txt"))
        return report(target, session, lines, started)
    baseline = subprocess.run(pytest_command(target.tests), cwd=copy, capture_output=True, text=True, env=run_env())
    if baseline.returncode != 0:
        raise SystemExit(f"{target.name}: the tests fail before any mutation:\n{baseline.stdout[-3000:]}")
    timeout = max(timeout_floor, 3 * (time.monotonic() - started))
    session = copy / f"mutants-{target.name}.sqlite"
    command = " ".join(pytest_command(target.tests))
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target.module}"\n'
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = '{command}'\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n',
        encoding="utf-8",
    )
    session.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "init", str(config), str(session)], cwd=copy, check=True)
    source = (copy / target.module).read_text(encoding="utf-8")
    lines = function_lines(source, target.functions)
    not_code = signatures(source)

    def owner(line: int) -> str | None:
        """Return the chosen function a line belongs to, if any."""
        return next((name for name, (first, last) in lines.items() if first <= line <= last), None)

    def in_signature(mutation) -> bool:
        """Tell whether an operator swap falls in a signature or annotation."""
        return "BinaryOperator" in mutation.operator_name and any(
            start <= tuple(mutation.start_pos) < end for start, end in not_code)

    with use_db(str(session), WorkDB.Mode.open) as db:
        skip = [item.job_id for item in db.pending_work_items
                if owner(item.mutations[0].start_pos[0]) is None or NOISY.search(item.mutations[0].operator_name)
                or in_signature(item.mutations[0])
                or (only_lines and item.mutations[0].start_pos[0] not in only_lines)]
        db.set_multiple_results(skip, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not a target"))
        planned = db.num_work_items - len(skip)
    print(f"{target.name}: {planned} mutants in {', '.join(target.functions)} ({target.module}); "
          f"tests: {' '.join(target.tests)}; timeout {timeout:.0f} s", flush=True)
    subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "exec", str(config), str(session)], cwd=copy, check=True,
                       env=run_env(copy / f"killers-{target.name}.txt"))
    return report(target, session, lines, started)


TIMED_OUT = "timeout"


def timed_out(result) -> bool:
    """Tell whether a mutant's tests ran out of time: cosmic-ray records that as killed, with the output "timeout"
    (a slow run on a loaded machine, not a test that noticed: counted apart, and tried again by --survivors)."""
    return (result.output or "").strip().lower() == TIMED_OUT or (
        result.worker_outcome.name == "ABNORMAL" and TIMED_OUT in (result.output or "").lower())


def report(target: Target, session: Path, lines: dict[str, tuple[int, int]], started: float) -> dict:
    """Count a finished session's outcomes and collect its survivors with their diffs."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    def owner(line: int) -> str | None:
        """Return the chosen function a line belongs to, if any."""
        return next((name for name, (first, last) in lines.items() if first <= line <= last), None)

    counts = {"killed": 0, "survived": 0, "incompetent": 0, "timeout": 0}
    survivors, timeouts = [], []
    not_run = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        not_run += len(db.pending_work_items)
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                not_run += result.output == NOT_RUN
                continue
            mutation = item.mutations[0]
            if timed_out(result):
                counts["timeout"] += 1
                timeouts.append(f"{target.module}:{mutation.start_pos[0]} ({mutation.operator_name.replace('core/', '')})")
            elif result.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                survivors.append({"line": mutation.start_pos[0], "function": owner(mutation.start_pos[0]),
                                  "operator": mutation.operator_name.replace("core/", ""),
                                  "diff": "\n".join(l for l in (result.diff or "").splitlines()
                                                    if l.startswith(("+", "-")) and not l.startswith(("+++", "---")))})
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            else:
                counts["killed"] += 1
    survivors.sort(key=lambda s: s["line"])
    return {"target": target, "counts": counts, "survivors": survivors, "timeouts": timeouts, "not_run": not_run,
            "seconds": time.monotonic() - started}


def main() -> None:
    """Run the chosen targets and print a summary table and every survivor."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="TARGET", help="run only these targets")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--keep", type=Path, help="scratch folder to use and keep (default: a new temporary one)")
    parser.add_argument("--timeout", type=float, default=60, help="least seconds a mutant's tests may take")
    parser.add_argument("--survivors", action="store_true",
                        help="with --keep: re-try only the survivors of the kept run, with the current tests")
    parser.add_argument("--resume", action="store_true",
                        help="with --keep: run the mutants a stopped run never reached (its results are kept)")
    parser.add_argument("--report", action="store_true",
                        help="with --keep: only count the kept run (also one stopped part-way) and print its survivors")
    parser.add_argument("--lines", nargs="+", type=int, default=(), metavar="LINE",
                        help="with one --only target: mutate only these lines of its module (a fresh run of a kept "
                             "run's survivors once the module has changed, so --survivors refuses it)")
    args = parser.parse_args()
    chosen = [t for t in TARGETS if not args.only or t.name in args.only]
    if args.lines and (len(chosen) != 1 or args.survivors or args.report or args.resume):
        raise SystemExit("--lines needs exactly one --only target, and a fresh run")
    if args.only and len(chosen) != len(set(args.only)):
        raise SystemExit(f"unknown target; choose from {', '.join(t.name for t in TARGETS)}")
    if args.list:
        for t in chosen:
            print(f"{t.name:18} {t.module}: {', '.join(t.functions)}\n{'':18} tests: {' '.join(t.tests)}")
        return
    if args.survivors and args.resume:
        raise SystemExit("--survivors marks the mutants never run as not run; --resume runs them: choose one")
    if args.survivors or args.report or args.resume:
        if not args.keep or not args.keep.exists():
            raise SystemExit("--survivors, --resume and --report need the --keep folder of an earlier run")
        copy = args.keep
    else:
        copy = scratch_copy(args.keep)
    if args.report:
        results = [report(t, copy / f"mutants-{t.name}.sqlite",
                          function_lines((copy / t.module).read_text(encoding="utf-8"), t.functions), time.monotonic())
                   for t in chosen]
    else:
        results = [run_target(t, copy, args.timeout, args.survivors, frozenset(args.lines), args.resume) for t in chosen]
    print("\n| target | module | mutants run | killed | survived | timeout | incompetent | not run | minutes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        c = r["counts"]
        total = sum(c.values())
        print(f"| {r['target'].name} | {r['target'].module} | {total} | {c['killed']} | {c['survived']} | "
              f"{c['timeout']} | {c['incompetent']} | {r['not_run']} | {r['seconds'] / 60:.1f} |")
    for r in results:
        if r["timeouts"]:
            print(f"\nTIMED OUT (not a verdict; --survivors tries them again): {', '.join(r['timeouts'])}")
        for s in r["survivors"]:
            print(f"\nSURVIVED {r['target'].module}:{s['line']} in {s['function']} ({s['operator']})\n{s['diff']}")
    if not args.keep:
        shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    main()
