"""Command line: ``chorus opinions VOTES.csv ...``: opinion groups from votes exported by any tool.

Owns reading votes (Pol.is's ``votes.csv``, one row per vote, and its ``participants-votes.csv``
matrix, one row per participant; or the same shapes with plain column names), statement texts
(Pol.is's ``comments.csv``; statements moderated out are left out), an optional priority group
read from a CSV of participants, running :func:`analysis.opinions.find_opinion_groups`, writing
``participant,group`` for every participant in input order (the group empty for anyone without a
vote), the printed summary, and the optional Markdown or HTML report. Like ``chorus themes``, it
needs no Flask app: the web app registers :data:`opinions_command`.

Usage::

    chorus opinions VOTES.csv --output GROUPS.csv [--comments COMMENTS.csv] [--report OUT.md|OUT.html]
        [--groups K | --min-groups N --max-groups N] [--seed N]
        [--segments FILE --segment-column C --priority-group VALUE ...] [--threshold 10]
"""

from __future__ import annotations

import csv
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from analysis import disclosure, messages
from analysis.cli import read_csv
from analysis.reports import clean_text, markdown_text, neutralise

__all__ = ["opinions_command", "read_votes", "read_statements"]

PARTICIPANT_COLUMNS = ("voter-id", "participant", "participant-id", "participant_id", "pid", "voter")
STATEMENT_COLUMNS = ("comment-id", "statement", "statement-id", "statement_id", "comment_id", "tid")
VOTE_COLUMNS = ("vote",)
TIME_COLUMNS = ("timestamp",)
TEXT_COLUMNS = ("comment-body", "text", "statement-text", "body", "comment")
# Pol.is's participants-votes.csv: these columns describe the participant; every other one is a statement.
MATRIX_META = ("participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")
VOTE_WORDS = {"agree": 1, "disagree": -1, "pass": 0, "a": 1, "d": -1, "p": 0, "+1": 1}
REPORT_SUFFIXES = {".md", ".markdown", ".html", ".htm"}


@dataclass(frozen=True)
class Votes:
    """Votes read from a file: participants in input order, statements in input order, the triples."""

    participants: tuple[str, ...]
    statements: tuple[str, ...]
    triples: tuple[tuple[str, str, int], ...]
    shape: str  # "votes" (one row per vote) or "matrix" (one row per participant)


def _pick(header: Sequence[str], names: Sequence[str]) -> str | None:
    """Return the first header column (compared case-insensitively) among ``names``, or None."""
    lowered = {h.casefold(): h for h in header}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _vote(cell: str, where: str) -> int | None:
    """Return a vote cell as 1, -1 or 0; None when empty; a clear error for anything else."""
    text = cell.strip().casefold()
    if not text:
        return None
    if text in VOTE_WORDS:
        return VOTE_WORDS[text]
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if number in (1.0, -1.0, 0.0):
        return int(number)
    raise click.ClickException(f"{where}: {cell.strip()!r} is not a vote; use 1 (agree), -1 (disagree) or 0 (pass)")


def read_votes(path: Path) -> Votes:
    """Read votes from a CSV in either Pol.is shape, with a clear error when it is neither."""
    header, rows = read_csv(path)
    participant = _pick(header, PARTICIPANT_COLUMNS)
    statement = _pick(header, STATEMENT_COLUMNS)
    vote = _pick(header, VOTE_COLUMNS)
    if participant and statement and vote:
        return _read_long(path, rows, participant, statement, vote, _pick(header, TIME_COLUMNS))
    if participant:
        meta = {h for h in header if h.casefold() in MATRIX_META} | {participant}
        statements = [h for h in header if h not in meta]
        if statements:
            return _read_matrix(path, rows, participant, statements)
    raise click.ClickException(
        f"{path} is not a votes file: expected Pol.is's votes.csv (columns voter-id, comment-id, vote) "
        f"or participants-votes.csv (a participant column and one column per statement); its columns are: {', '.join(header)}"
    )


def _read_long(path: Path, rows: Sequence[Mapping[str, str]], participant: str, statement: str, vote: str, timestamp: str | None) -> Votes:
    """Read one vote per row; with a timestamp column, the latest vote of each pair wins, else the last row."""
    order = list(range(len(rows)))
    if timestamp is not None:
        def when(i: int) -> float:
            """Return a row's timestamp as a number (rows without one keep their place first)."""
            try:
                return float(rows[i][timestamp])
            except ValueError:
                return float("-inf")
        order.sort(key=when)
    participants: dict[str, None] = {}
    statements: dict[str, None] = {}
    triples = []
    for row in rows:  # input order for the output's participants and statements
        pid, sid = row[participant].strip(), row[statement].strip()
        if pid:
            participants.setdefault(pid)
        if sid:
            statements.setdefault(sid)
    for i in order:
        row = rows[i]
        pid, sid = row[participant].strip(), row[statement].strip()
        if not pid or not sid:
            raise click.ClickException(f"{path}, row {i + 2}: the {participant if not pid else statement} cell is empty")
        value = _vote(row[vote], f"{path}, row {i + 2}")
        if value is None:
            raise click.ClickException(f"{path}, row {i + 2}: the {vote} cell is empty")
        triples.append((pid, sid, value))
    return Votes(tuple(participants), tuple(statements), tuple(triples), "votes")


def _read_matrix(path: Path, rows: Sequence[Mapping[str, str]], participant: str, statements: Sequence[str]) -> Votes:
    """Read one participant per row and one statement per column (empty: no vote)."""
    participants: list[str] = []
    seen: set[str] = set()
    triples = []
    for number, row in enumerate(rows, start=2):
        pid = row[participant].strip()
        if not pid:
            raise click.ClickException(f"{path}, row {number}: the {participant} cell is empty")
        if pid in seen:
            raise click.ClickException(f"{path}, row {number}: participant {pid} appears twice")
        seen.add(pid)
        participants.append(pid)
        for sid in statements:
            value = _vote(row.get(sid, ""), f"{path}, row {number}, column {sid}")
            if value is not None:
                triples.append((pid, sid, value))
    return Votes(tuple(participants), tuple(statements), tuple(triples), "matrix")


def read_statements(path: Path) -> tuple[dict[str, str], set[str]]:
    """Read statement texts and the statements moderated out (Pol.is's ``moderated`` = -1)."""
    header, rows = read_csv(path)
    sid_col = _pick(header, STATEMENT_COLUMNS)
    text_col = _pick(header, TEXT_COLUMNS)
    if sid_col is None or text_col is None:
        raise click.UsageError(
            f"--comments: {path} needs a statement id column (comment-id or statement) and a text column "
            f"(comment-body or text); its columns are: {', '.join(header)}"
        )
    moderated_col = _pick(header, ("moderated",))
    texts: dict[str, str] = {}
    removed: set[str] = set()
    for row in rows:
        sid = row[sid_col].strip()
        if not sid:
            continue
        texts[sid] = row[text_col]
        if moderated_col is not None and row[moderated_col].strip() == "-1":
            removed.add(sid)
    return texts, removed


def _read_members(path: Path, column: str, values: Sequence[str]) -> set[str]:
    """Return the participants whose ``column`` cell is one of ``values`` (the priority group)."""
    header, rows = read_csv(path)
    participant = _pick(header, PARTICIPANT_COLUMNS)
    if participant is None:
        raise click.UsageError(f"--segments: {path} needs a participant column (participant or voter-id); its columns are: {', '.join(header)}")
    if column not in header:
        raise click.UsageError(f"--segment-column '{column}' is not a column of {path}; columns are: {', '.join(header)}")
    wanted = {v.strip().casefold() for v in values}
    return {row[participant].strip() for row in rows if row[column].strip().casefold() in wanted}


# --- the report: a few block types, rendered as Markdown (escaped) or HTML (escaped) -------------

Block = tuple  # ("h1"|"h2"|"h3"|"p", text) | ("list", [text]) | ("table", [header], [[cell]])


def _md(text: str) -> str:
    """Return text that Markdown shows as written (no HTML, links or images, one line), as the themes report does."""
    return markdown_text(clean_text(str(text)))


def _h(text: str) -> str:
    """Return text escaped for HTML, without characters no document can hold."""
    return html.escape(clean_text(str(text)))


def _render_markdown(blocks: Sequence[Block]) -> str:
    """Return the report as Markdown, every piece of text escaped."""
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + " " + _md(block[1]), ""]
        elif kind == "p":
            out += [_md(block[1]), ""]
        elif kind == "list":
            out += [f"- {_md(item)}" for item in block[1]] + [""]
        elif kind == "table":
            out.append("| " + " | ".join(_md(h) for h in block[1]) + " |")
            out.append("|" + "---|" * len(block[1]))
            out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in block[2]]
            out.append("")
    return "\n".join(out)


def _render_html(blocks: Sequence[Block], title: str) -> str:
    """Return the report as a standalone HTML page, every piece of text escaped; statements keep their own direction."""
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind} dir=\"auto\">{_h(block[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p dir=\"auto\">{_h(block[1])}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li dir=\"auto\">{_h(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th scope=\"col\">{_h(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td dir=\"auto\">{_h(c)}</td>" for c in row) + "</tr>" for row in block[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_h(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:auto;line-height:1.5;padding:0 1rem}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #aaa;padding:0.2em 0.5em;text-align:start}</style>"
        "</head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _pct(share: float | None) -> str:
    """Return a share as a whole percentage, or the suppression mark when hidden."""
    return messages.SUPPRESSED_MARK if share is None else f"{share:.0%}"


def _count(count: int | None) -> str:
    """Return a count as shown, or the suppression mark when hidden."""
    return messages.SUPPRESSED_MARK if count is None else f"{count:,}"


def _report_blocks(result, texts: Mapping[str, str], comparison, threshold: int, removed: int) -> list[Block]:  # noqa: ANN001 - engine types
    """Return the report's blocks: method, groups, consensus, divisive statements, priority group."""
    from analysis.opinions import describe_groups, group_size_table, group_vote_table  # noqa: PLC0415 - numpy only when reporting

    def said(sid: str) -> str:
        """Return a statement's text with its id, or the id alone."""
        text = (texts.get(sid) or "").strip()
        return f"{text} (#{sid})" if text else f"#{sid}"

    blocks: list[Block] = [("h1", messages.OPINIONS_TITLE)]
    blocks.append(("p", messages.OPINIONS_DRAFT_NOTE))
    blocks.append(("p", result.method_note()))
    overview = (f"{result.n_participants:,} participants, {result.n_placed:,} placed in a group (everyone with at least one vote); "
                f"{result.n_statements:,} statements; {result.n_votes:,} votes.")
    if removed:
        overview += f" {removed} statements moderated out were left out."
    blocks.append(("p", overview))
    blocks.append(("p", messages.OPINIONS_SUPPRESSED_NOTE.format(threshold=threshold)))
    sizes = group_size_table(result, threshold=threshold)
    # Every share below comes from counts the disclosure control publishes: a group is never described by a
    # statement a handful of its members voted on (`describe_groups`).
    described = describe_groups(result, threshold=threshold)
    blocks.append(("h2", "Groups"))
    blocks.append(("table", ["group", "participants"], [[g.id, _count(sizes[g.id])] for g in result.groups]))
    for group in result.groups:
        blocks.append(("h2", f"Group {group.id}: what sets it apart"))
        if sizes[group.id] is None:
            blocks.append(("p", f"Too few people to show how this group voted (fewer than {threshold}, or a size that would reveal one)."))
            continue
        apart = described.representative.get(group.id, ())
        if not apart:
            blocks.append(("p", "No statement sets this group clearly apart from the others."))
            continue
        blocks.append(("table", ["statement", "the group mostly", "group", "other groups"], [
            [said(r.statement), "agreed" if r.direction == "agree" else "disagreed", _pct(r.share), _pct(r.others_share)]
            for r in apart
        ]))
    if len(result.groups) >= 2:
        blocks.append(("h2", "Consensus: what every group agreed on"))
        if described.consensus:
            note = "the share is that of the least convinced group, shown when every group's votes on it can be"
            blocks.append(("p", f"Statements that a clear majority of every group agreed with (or disagreed with); {note}."))
            blocks.append(("list", [f"{'Agreed' if c.direction == 'agree' else 'Disagreed'}: {said(c.statement)} "
                                    f"(at least {_pct(c.weakest)} in every group)" for c in described.consensus[:10]]))
        elif described.consensus_withheld:
            blocks.append(("p", "Not shown while a group is too small to describe: it would tell how most of that group voted."))
        else:
            blocks.append(("p", "No statement had a clear majority in every group."))
        blocks.append(("h2", "Divisive: where groups part ways"))
        if described.divisive:
            blocks.append(("list", [f"{said(d.statement)}: group {d.agreeing_group} mostly agreed ({_pct(d.agree_share)}), "
                                    f"group {d.disagreeing_group} mostly disagreed ({_pct(d.disagree_share)})"
                                    if d.agreeing_group is not None else f"{said(d.statement)}: the groups part ways"
                                    for d in described.divisive[:10]]))
        else:
            blocks.append(("p", "No statement had one group mostly agreeing and another mostly disagreeing."))
        shown = [c.statement for c in described.consensus[:5]] + [d.statement for d in result.divisive[:5]]
        if shown:
            blocks.append(("h3", "Share of each group that agreed with these statements"))
            rows = []
            for sid in dict.fromkeys(shown):
                table = group_vote_table(result, sid, threshold=threshold)
                cells = [_pct(table.share("agree", group.id)) for group in result.groups]
                rows.append([said(sid), *cells])
            blocks.append(("table", ["statement", *[f"group {g.id}" for g in result.groups]], rows))
    if comparison is not None:
        blocks.append(("h2", f"{comparison.label} compared with everyone"))
        blocks.append(("p", f"{_count(comparison.members_voting)} participants of the priority group voted. "
                            "Shares are of the votes on each statement; the largest visible differences come first."))
        rows = [[said(a.statement), _pct(a.priority_agree), _pct(a.everyone_agree),
                 messages.SUPPRESSED_MARK if a.difference is None else f"{a.difference * 100:+.0f} points"]
                for a in comparison.statements[:20]]
        blocks.append(("table", ["statement", "priority group agreed", "everyone agreed", "difference"], rows))
    return blocks


def _write_groups(path: Path, participants: Sequence[str], assignment: Mapping[str, str | None]) -> None:
    """Write ``participant,group`` for every participant, in input order."""
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["participant", "group"])
            for pid in participants:
                # An id from someone else's file is written as it came, but never as a formula (OWASP).
                writer.writerow([neutralise(clean_text(pid)), assignment.get(pid) or ""])
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


@click.command("opinions")
@click.argument("votes_csv", metavar="VOTES.csv", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--output", required=True, type=click.Path(path_type=Path, dir_okay=False), help="CSV to write: participant,group (group empty for anyone without a vote).")
@click.option("--comments", "comments", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Statement texts (Pol.is's comments.csv: comment-id, comment-body, moderated); moderated-out statements are left out.")
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Readable summary to write, .md or .html.")
@click.option("--groups", "k", type=click.IntRange(2, 5), default=None, help="Number of opinion groups (default: chosen from 2 to 5 by held-out votes).")
@click.option("--min-groups", "k_min", type=click.IntRange(2, 5), default=2, show_default=True, help="Fewest groups when choosing.")
@click.option("--max-groups", "k_max", type=click.IntRange(2, 5), default=5, show_default=True, help="Most groups when choosing.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed and votes give the same groups.")
@click.option("--segments", type=click.Path(path_type=Path, dir_okay=False), default=None, help="CSV of participants (participant or voter-id column) with columns such as race or language.")
@click.option("--segment-column", default=None, help="Column of --segments that names the priority group.")
@click.option("--priority-group", "priority_groups", multiple=True, help="Value of --segment-column whose agreement is compared with everyone's (repeatable).")
@click.option("--threshold", type=click.IntRange(disclosure.MIN_THRESHOLD, disclosure.MAX_THRESHOLD), default=disclosure.DEFAULT_THRESHOLD, show_default=True, help="Hide counts below this in the report (10 at least).")
def opinions_command(
    votes_csv: Path,
    output: Path,
    comments: Path | None,
    report: Path | None,
    k: int | None,
    k_min: int,
    k_max: int,
    seed: int,
    segments: Path | None,
    segment_column: str | None,
    priority_groups: tuple[str, ...],
    threshold: int,
) -> None:
    """Place voters in opinion groups (agree / disagree / pass votes on statements) and write them next to each participant."""
    if k_min > k_max:
        raise click.UsageError(f"--min-groups ({k_min}) must not exceed --max-groups ({k_max})")
    if report is not None and report.suffix.lower() not in REPORT_SUFFIXES:
        raise click.UsageError("--report must end in .md or .html")
    if segments is not None and (not segment_column or not priority_groups):
        raise click.UsageError("--segments needs --segment-column and at least one --priority-group")
    if segments is None and (segment_column or priority_groups):
        raise click.UsageError("--segment-column and --priority-group need --segments")
    for given, option in ((votes_csv, "input file"), (comments, "--comments file"), (segments, "--segments file")):
        if given is not None and not given.exists():
            raise click.UsageError(f"{option} {given} does not exist")
    votes = read_votes(votes_csv)
    if not votes.participants:
        raise click.ClickException(f"{votes_csv} has a header but no votes")
    texts, removed = read_statements(comments) if comments is not None else ({}, set())
    members = _read_members(segments, segment_column, priority_groups) if segments is not None else None

    from analysis.opinions import VoteMatrix, compare_priority_group, find_opinion_groups  # noqa: PLC0415 - numpy only when running

    matrix = VoteMatrix.from_votes(votes.triples, participants=votes.participants, statements=votes.statements)
    removed_here = [s for s in matrix.statements if s in removed]
    if removed_here:
        matrix = matrix.subset_statements([s for s in matrix.statements if s not in removed])
    result = find_opinion_groups(matrix, k=k, k_min=k_min, k_max=k_max, seed=seed)
    _write_groups(output, votes.participants, result.assignment)
    click.echo(_summary(result, texts, len(removed_here)))
    click.echo(f"Wrote {output}")
    if report is not None:
        comparison = None
        if members is not None:
            label = f"Priority group ({segment_column}: {', '.join(priority_groups)})"
            comparison = compare_priority_group(matrix, members, label=label, threshold=threshold)
        blocks = _report_blocks(result, texts, comparison, threshold, len(removed_here))
        text = _render_html(blocks, messages.OPINIONS_TITLE) if report.suffix.lower() in {".html", ".htm"} else _render_markdown(blocks)
        try:
            report.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {report}: {exc.strerror or exc}") from None
        click.echo(f"Wrote {report}")


def _summary(result, texts: Mapping[str, str], removed: int) -> str:  # noqa: ANN001 - engine type
    """Return the printed summary: groups, sizes, and each group's most representative statement."""
    coding = messages.OPINIONS_CODINGS.get(result.coding, result.coding)
    lines = [f"{result.k_chosen} opinion groups from {result.n_participants:,} participants ({result.n_placed:,} placed), "
             f"{result.n_statements:,} statements and {result.n_votes:,} votes; votes read as {coding}"]
    if removed:
        lines.append(f"  {removed} statements moderated out were left out")
    for group in result.groups:
        top = group.representative[0] if group.representative else None
        note = ""
        if top is not None:
            text = (texts.get(str(top.statement)) or "").strip().replace("\n", " ")
            text = text if len(text) <= 70 else text[:67] + "..."
            note = f"  mostly {'agreed' if top.direction == 'agree' else 'disagreed'}: #{top.statement} {text}".rstrip()
        lines.append(f"  {group.id}  {group.size:>7,}{note}")
    if result.n_placed < result.n_participants:
        lines.append(f"  not placed (no vote): {result.n_participants - result.n_placed:,}")
    return "\n".join(lines)
