"""Tests of opinion groups: placement, what sets groups apart, priority groups, next statement, command line."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from markdown_it import MarkdownIt
from sklearn.metrics import adjusted_rand_score

from analysis.opinions import (
    AGREE,
    DISAGREE,
    PASS,
    StatementTally,
    VoteMatrix,
    compare_priority_group,
    find_opinion_groups,
    group_size_table,
    group_vote_table,
    next_statement,
    statement_priorities,
)
from analysis.opinions_cli import opinions_command

BREXIT_MATRIX = "polis_brexit_participants_votes.csv"
BREXIT_VOTES = "polis_brexit_votes.csv"
BREXIT_COMMENTS = "polis_brexit_comments.csv"


def planted(groups: int = 3, per_group: int = 40, statements: int = 24, vote_share: float = 0.7, seed: int = 1) -> tuple[VoteMatrix, dict[str, int]]:
    """Return votes from planted groups and each participant's true group.

    Statement 0 everyone agrees with; statement 1 everyone disagrees with; each group g has
    its own block of statements it agrees with and the other groups reject; the rest is mixed.
    Each participant votes on about ``vote_share`` of the statements (statements 0 and 1 always).
    """
    rng = np.random.default_rng(seed)
    block = max(1, (statements - 2) // groups)
    votes, truth = [], {}
    for g in range(groups):
        for i in range(per_group):
            pid = f"g{g}p{i}"
            truth[pid] = g
            for s in range(statements):
                if s > 1 and rng.random() > vote_share:
                    continue
                if s == 0:
                    p_agree = 0.95
                elif s == 1:
                    p_agree = 0.05
                elif 2 + g * block <= s < 2 + (g + 1) * block:
                    p_agree = 0.92
                elif s < 2 + groups * block:
                    p_agree = 0.08
                else:
                    p_agree = 0.5
                u = rng.random()
                vote = PASS if u < 0.04 else (AGREE if rng.random() < p_agree else DISAGREE)
                votes.append((pid, f"s{s}", vote))
    return VoteMatrix.from_votes(votes), truth


def labels_of(result, participants) -> list[str | None]:  # noqa: ANN001 - engine type
    """Return the group of each participant, in the given order."""
    return [result.assignment[p] for p in participants]


# --- groups ---------------------------------------------------------------------------------


def test_planted_groups_are_found_with_their_number() -> None:
    """Three planted groups are recovered (adjusted Rand index above 0.9) and k = 3 is chosen."""
    matrix, truth = planted()
    result = find_opinion_groups(matrix)
    assert result.k_chosen == 3
    people = list(truth)
    assert adjusted_rand_score([truth[p] for p in people], labels_of(result, people)) > 0.9
    assert [g.id for g in result.groups] == ["A", "B", "C"]
    assert sorted(g.size for g in result.groups) == [40, 40, 40]


def test_every_participant_with_a_vote_is_placed_even_with_one_vote() -> None:
    """Participants who voted once or twice get a group; a listed participant with no vote gets none."""
    matrix, _ = planted()
    extra = [("once", "s3", AGREE), ("twice", "s5", DISAGREE), ("twice", "s0", AGREE)]
    triples = [(matrix.participants[i], matrix.statements[j], int(v)) for i, j, v in zip(matrix.rows, matrix.cols, matrix.values)]
    bigger = VoteMatrix.from_votes(triples + extra, participants=["silent"])
    result = find_opinion_groups(bigger)
    assert result.assignment["silent"] is None
    assert result.assignment["once"] in {"A", "B", "C"} and result.assignment["twice"] in {"A", "B", "C"}
    assert result.n_placed == len(bigger.participants) - 1
    assert sum(g.size for g in result.groups) == result.n_placed


def test_same_seed_same_groups_and_fixed_k_is_respected() -> None:
    """The same votes and seed give the same groups; ``k`` fixes the number of groups."""
    matrix, _ = planted()
    first, second = find_opinion_groups(matrix, seed=4), find_opinion_groups(matrix, seed=4)
    assert dict(first.assignment) == dict(second.assignment)
    two = find_opinion_groups(matrix, k=2)
    assert two.k_chosen == 2 and "2 groups as requested" in two.method_note()
    assert "3 groups and votes read as" in first.method_note() and "chosen by how well" in first.method_note()
    assert find_opinion_groups(matrix, k=5).k_chosen == 5
    assert 2 <= find_opinion_groups(matrix, k_min=2, k_max=2).k_chosen <= 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 1}, "from 2 to 5"), ({"k": 6}, "from 2 to 5"), ({"k_max": 9}, "from 2 to 5"),
    ({"k_min": 4, "k_max": 3}, "must not exceed"), ({"k": 2.5}, "whole number"), ({"k": True}, "whole number"),
])
def test_impossible_numbers_of_groups_are_refused(kwargs: dict, message: str) -> None:
    """Asking for fewer than 2 or more than 5 groups, or a non-number, raises a clear ValueError."""
    matrix, _ = planted(per_group=5)
    with pytest.raises(ValueError, match=message):
        find_opinion_groups(matrix, **kwargs)


def test_no_votes_and_unanimous_votes() -> None:
    """Without votes there are no groups; when everyone voted alike there is one group with everyone in it."""
    empty = find_opinion_groups(VoteMatrix.from_votes([], participants=["a", "b"], statements=["s"]))
    assert empty.groups == () and dict(empty.assignment) == {"a": None, "b": None} and empty.k_chosen == 0
    same = VoteMatrix.from_votes([(f"p{i}", s, AGREE) for i in range(30) for s in ("x", "y", "z")])
    result = find_opinion_groups(same)
    assert result.k_chosen == 1 and result.groups[0].size == 30
    assert "fewer groups than asked (1)" in result.method_note()
    assert {c.statement for c in result.consensus} == set()  # consensus needs groups to agree across


def test_representative_statements_are_each_groups_own() -> None:
    """Each planted group's representative statements are agreed statements from its own block."""
    matrix, truth = planted()
    result = find_opinion_groups(matrix)
    for group in result.groups:
        members = [truth[p] for p in group.members]
        planted_group = max(set(members), key=members.count)
        own_block = {f"s{s}" for s in range(2 + planted_group * 7, 2 + (planted_group + 1) * 7)}
        assert group.representative, group.id
        agreed = [r.statement for r in group.representative if r.direction == "agree"]
        assert agreed and set(agreed) <= own_block
        assert all(r.share > 0.5 and r.share > r.others_share for r in group.representative)


def test_consensus_and_divisive_statements() -> None:
    """What everyone agrees with is consensus (and never divisive); a group's own block divides groups."""
    matrix, _ = planted()
    result = find_opinion_groups(matrix)
    consensus = {(c.statement, c.direction) for c in result.consensus}
    assert ("s0", "agree") in consensus and ("s1", "disagree") in consensus
    divisive = {d.statement for d in result.divisive}
    assert "s0" not in divisive and "s1" not in divisive
    assert {f"s{s}" for s in range(2, 23)} & divisive
    top = result.divisive[0]
    assert top.agreeing_group != top.disagreeing_group and top.agree_share > 0.5 and top.disagree_share > 0.5
    excluded = find_opinion_groups(matrix, exclude={"s0"})
    assert "s0" not in {c.statement for c in excluded.consensus}


def test_a_changed_vote_replaces_the_earlier_one_and_bad_votes_are_refused() -> None:
    """The last vote of a participant on a statement counts; a vote other than 1, -1 or 0 is refused."""
    matrix = VoteMatrix.from_votes([("p", "s", AGREE), ("q", "s", PASS), ("p", "s", DISAGREE)])
    assert matrix.n_votes == 2
    assert matrix.tallies()[0] == StatementTally("s", agree=0, disagree=1, passes=1)
    arrays = VoteMatrix.from_arrays(np.array([0, 0]), np.array([0, 0]), np.array([1, -1]), participants=["p"], statements=["s"])
    assert arrays.values.tolist() == [-1]
    for bad in (2, "yes", None, 0.5):
        with pytest.raises(ValueError, match="1, -1 or 0"):
            VoteMatrix.from_votes([("p", "s", bad)])
    with pytest.raises(ValueError, match="1 \\(agree\\)"):
        VoteMatrix.from_arrays(np.array([0]), np.array([0]), np.array([3]), participants=["p"], statements=["s"])


def test_polis_conversation_every_voter_placed_and_close_to_polis_with_two_groups(fixtures_dir: Path) -> None:
    """On a real Pol.is conversation everyone with a vote is placed, in 2 to 5 groups; asked for 2, the groups resemble Pol.is's."""
    with (fixtures_dir / BREXIT_MATRIX).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    statements = [c for c in rows[0] if c.isdigit()]
    triples = [(r["participant"], s, int(r[s])) for r in rows for s in statements if r[s] != ""]
    matrix = VoteMatrix.from_votes(triples, participants=[r["participant"] for r in rows], statements=statements)
    result = find_opinion_groups(matrix)
    assert 2 <= result.k_chosen <= 5 and result.n_placed == len(rows)
    two = find_opinion_groups(matrix, k=2)
    placed_by_polis = [r for r in rows if r["group-id"] != ""]
    ari = adjusted_rand_score([r["group-id"] for r in placed_by_polis], [two.assignment[r["participant"]] for r in placed_by_polis])
    assert ari > 0.7


# --- disclosure control -----------------------------------------------------------------------


def test_priority_group_compared_with_everyone_and_small_groups_hidden() -> None:
    """A priority group that agrees more shows the difference; counts under the threshold, and shares from them, are hidden."""
    votes = []
    for i in range(40):  # the priority group: 24 of 40 agree with x; 38 of 40 agree with y, 2 pass
        votes += [(f"p{i}", "x", AGREE if i < 24 else DISAGREE), (f"p{i}", "y", AGREE if i < 38 else PASS)]
    for i in range(60):  # everyone else: 12 of 60 agree with x; all agree with y
        votes += [(f"o{i}", "x", AGREE if i < 12 else DISAGREE), (f"o{i}", "y", AGREE)]
    matrix = VoteMatrix.from_votes(votes)
    comparison = compare_priority_group(matrix, {f"p{i}" for i in range(40)}, label="Group zero", threshold=10)
    assert comparison.members_voting == 40 and comparison.label == "Group zero"
    x, y = comparison.statements  # the visible difference first
    assert x.statement == "x" and x.priority_votes == 40 and x.everyone_votes == 100
    assert x.priority_agree == pytest.approx(0.6) and x.everyone_agree == pytest.approx(0.36)
    assert x.difference == pytest.approx(0.24) and not x.suppressed
    # 2 passes hide themselves, and the 38 agreeing that would give them away.
    assert y.statement == "y" and y.suppressed and y.priority_agree is None and y.difference is None
    small = compare_priority_group(matrix, {"p0", "p1", "p2", "p3"}, threshold=10)
    assert small.members_voting is None
    assert all(a.priority_votes is None and a.priority_agree is None and a.difference is None for a in small.statements)
    with pytest.raises(ValueError):
        compare_priority_group(matrix, {"p0"}, threshold=3)


def test_group_tables_hide_small_groups_and_what_would_reveal_them() -> None:
    """In reports a group under the threshold has its size and its votes hidden, with another count to protect it."""
    matrix, _ = planted(groups=2, per_group=30)
    loner = [(f"odd{n}", f"s{s}", AGREE if s % 2 else DISAGREE) for n in (1, 2) for s in range(24)]
    triples = [(matrix.participants[i], matrix.statements[j], int(v)) for i, j, v in zip(matrix.rows, matrix.cols, matrix.values)]
    result = find_opinion_groups(VoteMatrix.from_votes(triples + loner), k=3)
    sizes = group_size_table(result, threshold=10)
    small = [g.id for g in result.groups if g.size < 10]
    assert small and all(sizes[g] is None for g in small)
    assert list(sizes.values()).count(None) >= 2  # the total would otherwise give the small one away
    big = [g.id for g in result.groups if g.size >= 10]
    table = group_vote_table(result, "s3", threshold=10)
    for gid in small:
        assert table.totals[gid] is None and table.share("agree", gid) is None
        assert all(table.counts[(vote, gid)] in (None, 0) for vote in ("agree", "not"))  # a zero gives nobody away
    visible = [table.share("agree", g) for g in big if table.share("agree", g) is not None]
    assert all(0.0 <= v <= 1.0 for v in visible)
    # Two groups of 40 split 25/15 and 12/28 on a statement: every count can be shown.
    votes = [(f"a{i}", f"s{s}", AGREE if s % 2 else DISAGREE) for i in range(40) for s in range(12)]
    votes += [(f"b{i}", f"s{s}", DISAGREE if s % 2 else AGREE) for i in range(40) for s in range(12)]
    votes += [(f"a{i}", "mixed", AGREE if i < 25 else DISAGREE) for i in range(40)] + [(f"b{i}", "mixed", AGREE if i < 12 else PASS) for i in range(40)]
    balanced = find_opinion_groups(VoteMatrix.from_votes(votes), k=2)
    table = group_vote_table(balanced, "mixed", threshold=10)
    assert sorted(table.share("agree", g.id) for g in balanced.groups) == [pytest.approx(0.3), pytest.approx(0.625)]


# --- next statement ---------------------------------------------------------------------------


def test_new_statements_and_ones_that_separate_or_unite_come_first() -> None:
    """A statement with few votes outranks a well-voted one; a dividing or uniting statement outranks a muddled one."""
    fresh = StatementTally("new", 1, 0, 0)
    old = StatementTally("old", 60, 30, 10)
    weights = statement_priorities([fresh, old])
    assert weights["new"] > weights["old"]
    matrix, _ = planted()
    result = find_opinion_groups(matrix)
    weights = statement_priorities(result.tallies, result, exclude={"s1"})
    muddled = [f"s{s}" for s in range(23, 24)]
    assert weights["s3"] > max(weights[s] for s in muddled)
    assert weights["s0"] > max(weights[s] for s in muddled)
    assert weights["s1"] == 0.0


def test_next_statement_skips_voted_ones_and_follows_the_weights() -> None:
    """The next statement is never one already voted; draws follow the weights; nothing left gives None."""
    weights = {"a": 1.0, "b": 3.0, "c": 0.0}
    assert next_statement(weights, {"b"}, draw=0.99) == "a"
    assert next_statement(weights, set(), draw=0.0) == "a"
    assert next_statement(weights, set(), draw=0.3) == "b"
    assert next_statement(weights, {"a", "b", "c"}, draw=0.5) is None
    assert next_statement({"a": 0.0, "b": 0.0}, set(), draw=0.75) == "b"  # all zero: uniform
    counts = {"a": 0, "b": 0}
    for u in np.linspace(0, 0.999, 400):
        counts[next_statement(weights, set(), draw=float(u))] += 1
    assert counts["b"] == pytest.approx(3 * counts["a"], rel=0.05)
    with pytest.raises(ValueError):
        next_statement(weights, set(), draw=1.0)


# --- command line -----------------------------------------------------------------------------


@pytest.fixture()
def runner() -> CliRunner:
    """Return a click test runner."""
    return CliRunner()


def read_groups(path: Path) -> list[dict[str, str]]:
    """Return the rows of a groups CSV."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_reads_both_polis_shapes_and_writes_a_group_per_participant(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """votes.csv and participants-votes.csv give participant,group rows in input order, every voter with a group."""
    out = tmp_path / "groups.csv"
    result = runner.invoke(opinions_command, [str(fixtures_dir / BREXIT_MATRIX), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_groups(out)
    with (fixtures_dir / BREXIT_MATRIX).open(encoding="utf-8", newline="") as handle:
        source = [r["participant"] for r in csv.DictReader(handle)]
    assert list(rows[0]) == ["participant", "group"] and [r["participant"] for r in rows] == source
    assert all(r["group"] in {"A", "B", "C", "D", "E"} for r in rows)
    assert "opinion groups from 204 participants (204 placed)" in result.output
    out2 = tmp_path / "groups2.csv"
    result = runner.invoke(opinions_command, [str(fixtures_dir / BREXIT_VOTES), "--output", str(out2)])
    assert result.exit_code == 0, result.output
    rows2 = read_groups(out2)
    assert len(rows2) == 60 and all(r["group"] for r in rows2)


def test_cli_matrix_row_without_votes_gets_an_empty_group(runner: CliRunner, tmp_path: Path) -> None:
    """A participant row with no vote at all is written with an empty group."""
    lines = ["participant,group-id,n-votes,s1,s2,s3"] + [f"p{i},,3,{1 if i % 2 else -1},{1 if i % 2 else -1},1" for i in range(20)] + ["quiet,,0,,,"]
    path = tmp_path / "pv.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "g.csv"
    result = runner.invoke(opinions_command, [str(path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    groups = {r["participant"]: r["group"] for r in read_groups(out)}
    assert groups["quiet"] == "" and all(groups[f"p{i}"] for i in range(20))
    assert groups["p0"] != groups["p1"]


def test_cli_latest_vote_counts(runner: CliRunner, tmp_path: Path) -> None:
    """In votes.csv the vote with the latest timestamp counts, whatever the row order."""
    rows = ["timestamp,comment-id,voter-id,vote"]
    for i in range(20):
        side = 1 if i < 10 else -1
        rows += [f"{100 + i},a,{i},{side}", f"{200 + i},b,{i},{-side}", f"{300 + i},c,{i},1"]
    rows += ["50,a,0,-1"]  # an older vote, written last: it must not count
    path = tmp_path / "votes.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "g.csv"
    result = runner.invoke(opinions_command, [str(path), "--output", str(out), "--groups", "2"])
    assert result.exit_code == 0, result.output
    groups = {r["participant"]: r["group"] for r in read_groups(out)}
    assert len({groups[str(i)] for i in range(10)}) == 1 and groups["0"] != groups["10"]


def test_cli_report_markdown_and_html_escape_statements(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """The report names groups, consensus and divisive statements; HTML and Markdown escape statement text."""
    comments = tmp_path / "comments.csv"
    with (fixtures_dir / BREXIT_COMMENTS).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["comment-id"] in {"1", "2", "7"}:
            row["comment-body"] = "<script>alert(1)</script> | *bold* " + row["comment-body"]
    with comments.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    html_path, md_path = tmp_path / "r.html", tmp_path / "r.md"
    for report in (html_path, md_path):
        result = runner.invoke(opinions_command, [str(fixtures_dir / BREXIT_MATRIX), "--comments", str(comments), "--groups", "2", "--output", str(tmp_path / "g.csv"), "--report", str(report)])
        assert result.exit_code == 0, result.output
    soup = BeautifulSoup(html_path.read_text(encoding="utf-8"), "html.parser")
    assert soup.find("script") is None
    headings = [h.get_text() for h in soup.find_all(["h1", "h2"])]
    assert headings[0] == "Opinion groups (draft)"
    assert "Group A: what sets it apart" in headings and "Group B: what sets it apart" in headings
    assert any(h.startswith("Consensus") for h in headings) and any(h.startswith("Divisive") for h in headings)
    cells = [td.get_text() for td in soup.find_all("td")]
    assert any(c.startswith("<script>alert(1)</script> | *bold*") for c in cells)
    size_rows = soup.find_all("table")[0].find_all("tr")[1:]
    assert [tr.find_all("td")[0].get_text() for tr in size_rows] == ["A", "B"]
    markdown = md_path.read_text(encoding="utf-8")
    assert "<script>" not in markdown
    rendered = BeautifulSoup(MarkdownIt("commonmark").enable("table").render(markdown), "html.parser")
    assert rendered.find("script") is None and rendered.find("a") is None
    assert any(td.get_text().startswith("<script>alert(1)</script> | *bold*") for td in rendered.find_all("td"))


def test_cli_output_and_reports_are_safe_to_open(runner: CliRunner, tmp_path: Path) -> None:
    """Participant ids that look like formulas are defused in GROUPS.csv; hostile statements show as text in both reports."""
    hostile = ["<script>alert(1)</script>", "[x](javascript:alert(2))", "![i](http://evil.example/i.png)", "<b>bold</b>"]
    rows = ["voter-id,comment-id,vote"]
    for i in range(40):
        pid = "=cmd|' /C calc'!A0" if i == 0 else f"p{i}"
        side = 1 if i % 2 else -1
        rows += [f'"{pid}",{s},{side if s % 2 else -side}' for s in range(8)]
    votes = tmp_path / "votes.csv"
    votes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    comments = tmp_path / "comments.csv"
    with comments.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["comment-id", "comment-body"])
        writer.writerows([[s, hostile[s % len(hostile)] + f" statement {s}"] for s in range(8)])
    out = tmp_path / "g.csv"
    for report in (tmp_path / "r.md", tmp_path / "r.html"):
        result = runner.invoke(opinions_command, [str(votes), "--comments", str(comments), "--output", str(out), "--report", str(report), "--groups", "2"])
        assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        ids = [r["participant"] for r in csv.DictReader(handle)]
    assert ids[0] == "'=cmd|' /C calc'!A0" and ids[1] == "p1"
    from markdown import markdown as python_markdown  # noqa: PLC0415 - test-only dependency

    md_text = (tmp_path / "r.md").read_text(encoding="utf-8")
    for soup in (BeautifulSoup(MarkdownIt("commonmark").enable("table").render(md_text), "html.parser"),
                 BeautifulSoup(python_markdown(md_text, extensions=["tables"]), "html.parser"),
                 BeautifulSoup((tmp_path / "r.html").read_text(encoding="utf-8"), "html.parser")):
        assert soup.find("script") is None and soup.find("a") is None and soup.find("img") is None and soup.find("b") is None
        assert "<script>alert(1)</script> statement 0" in soup.get_text()


def test_cli_report_never_prints_a_small_groups_shares(runner: CliRunner, tmp_path: Path) -> None:
    """A group under the threshold appears with a hidden size, and no consensus, divisive or representative share of it is printed."""
    rows = ["voter-id,comment-id,vote"]
    for i in range(60):  # two large camps and a group of three who disagree with everything
        camp = "a" if i < 30 else "b"
        rows += [f"{camp}{i},{s},{(1 if s % 2 else -1) * (1 if camp == 'a' else -1)}" for s in range(10)]
        rows += [f"{camp}{i},10,1"]
    for i in range(3):
        rows += [f"odd{i},{s},-1" for s in range(11)]
    votes = tmp_path / "votes.csv"
    votes.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "r.html"
    result = runner.invoke(opinions_command, [str(votes), "--output", str(tmp_path / "g.csv"), "--report", str(report), "--groups", "3"])
    assert result.exit_code == 0, result.output
    soup = BeautifulSoup(report.read_text(encoding="utf-8"), "html.parser")
    sizes = {tr.find_all("td")[0].get_text(): tr.find_all("td")[1].get_text() for tr in soup.find_all("table")[0].find_all("tr")[1:]}
    assert sizes["C"] == "*" and sorted(sizes.values()) == ["*", "*", "30"]  # the three, and a 30 that would give them away
    small = [g for g, n in sizes.items() if n == "*"]
    for g in small:
        heading = soup.find("h2", string=f"Group {g}: what sets it apart")
        assert "Too few people" in heading.find_next("p").get_text()
    for item in soup.find_all("li"):
        text = item.get_text()
        for g in small:
            if f"group {g} mostly" in text:
                assert f"group {g} mostly agreed (*)" in text or f"group {g} mostly disagreed (*)" in text


def test_cli_moderated_out_statements_are_left_out(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """Statements Pol.is marked moderated = -1 take no part, and the summary says so."""
    comments = tmp_path / "comments.csv"
    with (fixtures_dir / BREXIT_COMMENTS).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows[:3]:
        row["moderated"] = "-1"
    with comments.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(opinions_command, [str(fixtures_dir / BREXIT_MATRIX), "--comments", str(comments), "--output", str(tmp_path / "g.csv")])
    assert result.exit_code == 0, result.output
    assert "47 statements" in result.output and "3 statements moderated out were left out" in result.output


def test_cli_priority_group_section_hides_small_counts(runner: CliRunner, fixtures_dir: Path, tmp_path: Path) -> None:
    """With --segments the report compares the priority group with everyone; a small group's figures are hidden."""
    segments = tmp_path / "segments.csv"
    with (fixtures_dir / BREXIT_MATRIX).open(encoding="utf-8", newline="") as handle:
        people = [r["participant"] for r in csv.DictReader(handle)]
    segments.write_text("participant,language\n" + "".join(f"{p},{'es' if n % 3 == 0 else 'en'}\n" for n, p in enumerate(people)), encoding="utf-8")
    for value, hidden in (("es", False), ("none-such", True)):
        report = tmp_path / f"r-{value}.html"
        result = runner.invoke(opinions_command, [str(fixtures_dir / BREXIT_MATRIX), "--output", str(tmp_path / "g.csv"), "--report", str(report),
                                                  "--segments", str(segments), "--segment-column", "language", "--priority-group", value])
        assert result.exit_code == 0, result.output
        soup = BeautifulSoup(report.read_text(encoding="utf-8"), "html.parser")
        heading = soup.find("h2", string=lambda s: bool(s) and "compared with everyone" in s)
        assert heading is not None and "language: " + value in heading.get_text()
        table = heading.find_next("table")
        priority_cells = [tr.find_all("td")[1].get_text() for tr in table.find_all("tr")[1:]]
        assert priority_cells
        assert all(c == "*" for c in priority_cells) == hidden


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("", [], "empty"),
        ("a,b\n1,2\n", [], "not a votes file"),
        ("voter-id,comment-id,vote\n1,2,yes\n", [], "is not a vote"),
        ("voter-id,comment-id,vote\n1,2,1\n", ["--report", "r.pdf"], ".md or .html"),
        ("voter-id,comment-id,vote\n1,2,1\n", ["--groups", "7"], "7"),
        ("voter-id,comment-id,vote\n1,2,1\n", ["--min-groups", "4", "--max-groups", "3"], "must not exceed"),
        ("voter-id,comment-id,vote\n1,2,1\n", ["--segment-column", "x"], "need --segments"),
        ("voter-id,comment-id,vote\n1,2,1\n", ["--comments", "nope.csv"], "does not exist"),
        ("participant,s1\n1,1\n1,-1\n", [], "appears twice"),
    ],
)
def test_cli_bad_input_gives_a_clear_error(runner: CliRunner, tmp_path: Path, content: str, extra: list[str], message: str) -> None:
    """Malformed files and impossible options give a clear error and no traceback."""
    path = tmp_path / "in.csv"
    path.write_text(content, encoding="utf-8")
    args = [str(path), "--output", str(tmp_path / "o.csv"), *[str(tmp_path / a) if a.endswith(".csv") or a.endswith(".pdf") else a for a in extra]]
    result = runner.invoke(opinions_command, args)
    assert result.exit_code != 0
    assert message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_kept_groups_read_back_as_the_same_groups_without_their_members() -> None:
    """What a database keeps of groups (`summary_of`, through JSON) gives back every table a page shows, the same,
    and never who is in which group."""
    import json

    from analysis.opinions import groups_from_summary, summary_of

    matrix, _truth = planted()
    found = find_opinion_groups(matrix, seed=0)
    back = groups_from_summary(json.loads(json.dumps(summary_of(found))))
    assert not back.assignment and all(g.members == () for g in back.groups)
    assert [(g.id, g.size, g.centre, g.representative) for g in back.groups] == \
        [(g.id, g.size, tuple(g.centre), g.representative) for g in found.groups]
    assert back.consensus == found.consensus and back.divisive == found.divisive and back.tallies == found.tallies
    assert dict(back.stances) == dict(found.stances) and dict(back.extremity) == dict(found.extremity)
    assert back.method_note() == found.method_note()
    for sid in matrix.statements:
        assert group_vote_table(back, sid, threshold=10) == group_vote_table(found, sid, threshold=10)
    assert groups_from_summary(summary_of(None)) is None


def test_groups_are_described_only_by_shares_of_published_counts() -> None:
    """Two camps of 12; one person of camp A (and all of camp B) voted on a third statement: the engine calls it
    representative of group A, but `describe_groups` leaves it out of A's list and no other share comes from that vote."""
    from analysis.opinions import describe_groups

    votes = []
    for i in range(24):
        first = i < 12
        votes += [(f"p{i}", "s0", AGREE if first else DISAGREE), (f"p{i}", "s1", DISAGREE if first else AGREE)]
        if i == 0 or not first:
            votes.append((f"p{i}", "lone", AGREE if first else DISAGREE))
    groups = find_opinion_groups(VoteMatrix.from_votes(votes), seed=0)
    lone_group = next(g for g in groups.groups if "p0" in g.members)
    assert any(r.statement == "lone" and r.count == 1 for r in lone_group.representative)
    described = describe_groups(groups, threshold=10)
    assert described.sizes == {"A": 12, "B": 12}
    assert "lone" not in {r.statement for r in described.representative[lone_group.id]}
    assert {r.statement for r in described.representative[lone_group.id]} == {"s0", "s1"}
    for shown in described.representative.values():
        for r in shown:
            assert r.statement != "lone" or r.others_share is None
    assert all(d.agreeing_group is None for d in described.divisive if d.statement == "lone")


def test_no_consensus_is_listed_while_a_group_is_too_small_to_show() -> None:
    """Every voter agrees with s0; two camps part ways on the others. "Every group agreed" would say how most of a
    camp of 4 voted, so while that group is hidden no consensus is listed (page, reports, CLI, the screen); with
    camps of 14 and 10, both shown, the same consensus is listed."""
    from analysis.opinions import consensus_shown, describe_groups, group_size_table

    def camps(big: int, small: int):
        votes = []
        for i in range(big + small):
            first = i < big
            votes += [(f"p{i}", "s0", AGREE), (f"p{i}", "s1", AGREE if first else DISAGREE),
                      (f"p{i}", "s2", DISAGREE if first else AGREE), (f"p{i}", "s3", AGREE if first else DISAGREE)]
        return find_opinion_groups(VoteMatrix.from_votes(votes), seed=0)

    small = camps(14, 4)
    assert len(small.groups) == 2 and any(c.statement == "s0" for c in small.consensus)
    hidden = describe_groups(small, threshold=10)
    assert None in hidden.sizes.values()
    assert hidden.consensus == () and hidden.consensus_withheld
    assert consensus_shown(small, group_size_table(small, threshold=10)) == ()
    both = camps(14, 10)
    shown = describe_groups(both, threshold=10)
    assert None not in shown.sizes.values()
    assert "s0" in {c.statement for c in shown.consensus} and not shown.consensus_withheld
    assert consensus_shown(both, group_size_table(both, threshold=10)) == tuple(both.consensus)
