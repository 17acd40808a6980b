"""What a design session's residents decided together, as report tables: opinion groups and priorities.

The planners' opinions page (`review/opinions.html`) shows the same figures; reports (HTML, Word,
Markdown) carry them as plain tables under the same disclosure control: group sizes below the
threshold are hidden and such a group is not described, shares come only from published counts,
a priority group with too few voters shows nothing, and a prioritise question fewer people
answered than the threshold is withheld. A statement a resident wrote is quoted only if its
author allowed quoting, through the session's redaction, exactly like an answer.
"""
from __future__ import annotations

from typing import Callable

from analysis import disclosure, numbers, reports
from analysis.assemble import SOURCE_LANGUAGE, base_language
from listening import statements as st


def _percent(share: float | None, language: str) -> str:
    """Return a share as a whole-number percentage in the report's language ("42%", "42 %"), or "" when it is not published."""
    return numbers.share(share, language)


def _count(n: int | None, language: str) -> str:
    """Return a published count in the report's language ("1,234", "1.234"), or the hidden mark."""
    return numbers.count(n, language, disclosure.MARK)


def method_note(groups, gettext: Callable, language: str) -> str:
    """Return how a question's opinion groups were made: the engine's full note in English, a translated summary otherwise.

    The engine's note names every step and setting in English only; a Spanish or Arabic page or
    report printed it as it was (the themes' method paragraph already did this: assemble._method).
    """
    if base_language(language) == SOURCE_LANGUAGE:
        return groups.method_note()
    return gettext("The groups were drafted by a computer program (seed %(seed)s) from how people voted: it put people "
                   "who voted alike together, in %(k)s groups. A statement sets a group apart when most of the group voted "
                   "that way, more than in the other groups. The English version of this report describes each step in full.",
                   seed=groups.seed, k=groups.k_chosen)


def design_tables(views: list, priorities: list[dict], *, titles: dict[int, str], authored: dict[int, dict],
                  redaction: Callable[[str], str], gettext: Callable, threshold: int,
                  tallies: dict[int, tuple[int, int, int]] | None = None, language: str = SOURCE_LANGUAGE) -> tuple[tuple, tuple]:
    """Return the report tables of every react or ideas question (`views`) and prioritise question (`priorities`), and the titles withheld.

    `titles` maps a prompt id to "Question N: its words"; `authored` holds every approved
    statement by id (with its author's quote permission and table), `redaction` is the session's;
    `tallies` holds an idea's (agree, disagree, pass) counts.
    """
    tables: list = []
    withheld: list[str] = []
    for view in views:

        def words(statement_id: int, view=view) -> str:
            """Return a statement as a report may quote it."""
            statement = authored.get(statement_id)
            shown = view.statements.get(statement_id)
            if statement is None or shown is None:
                return "—"
            if not st.words_allowed(statement, "reports"):
                if view.prompt["kind"] == "ideas":
                    return gettext("A resident's idea (not quoted: its author did not allow quoting)")
                return gettext("A resident's statement (not quoted: its author did not allow quoting)")
            text = redaction(shown["text"]).strip() if statement["participant_id"] else shown["text"]
            return text + (" " + gettext("(translation)") if shown["translated"] else "")

        if view.prompt["kind"] == "ideas":
            tables.append(_ideas_table(view, titles[view.prompt["id"]], words, authored, tallies or {}, gettext, threshold, language))
        tables.extend(_opinion_tables(view, titles[view.prompt["id"]], words, gettext, threshold, language))
    for result in priorities:
        title = titles[result["prompt"]["id"]]
        if result["respondents"] < threshold:
            withheld.append(title)
            continue
        tables.extend(_priority_tables(result, title, gettext, threshold, language))
    return tuple(tables), tuple(withheld)


def _ideas_table(view, title: str, words: Callable, authored: dict[int, dict], tallies: dict, gettext: Callable,
                 threshold: int, language: str = SOURCE_LANGUAGE):
    """Return an ideas question's ideas, grouped by table (those sent from phones last), with how people reacted.

    An idea fewer than `threshold` people voted on shows no counts: a handful of votes is too few to report. The
    others' counts go through the disclosure control like a choice question's: one person disagreeing is not printed
    as "1", nor is a count that would give it away.
    """
    ideas = [authored[sid] for sid in view.statements if sid in authored]
    ideas.sort(key=lambda s: (s.get("table_id") is None, s.get("table_name") or "", s["id"]))
    body = []
    for idea in ideas:
        agree, disagree, passes = tallies.get(idea["id"], (0, 0, 0))
        shown = disclosure.protect_line(f"idea-{idea['id']}", ("agree", "disagree", "pass"), (agree, disagree, passes),
                                        threshold=threshold)
        counts = (disclosure.MARK,) * 3 if shown.withheld else tuple(_count(n, language) for n in shown.counts)
        body.append((words(idea["id"]), idea.get("table_name") or gettext("From phones"), *counts))
    return reports.Table(title + " — " + gettext("Ideas"),
                         (gettext("Idea"), gettext("Table"), gettext("Agree"), gettext("Disagree"), gettext("Pass")),
                         tuple(body),
                         gettext("Counts below %(n)s are hidden (%(mark)s), and so are counts that would reveal them.",
                                 n=_count(threshold, language), mark=disclosure.MARK)
                         if body else gettext("No ideas yet."))


def _opinion_tables(view, title: str, words: Callable, gettext: Callable, threshold: int, language: str) -> list:
    """Return one react question's tables: its groups, consensus, divisive statements and priority-group comparisons."""
    if view.groups is None:
        return [reports.Table(title, (gettext("Statement"),), (), gettext("No votes yet."))]
    out = []
    rows = []
    described = view.described
    for group in view.groups.groups:
        size = view.sizes.get(group.id)
        if size is None:
            said = gettext("Too few people to describe this group.")
        else:
            said = "; ".join(
                words(r.statement) + " — " + (gettext("%(share)s agreed", share=_percent(r.share, language)) if r.direction == "agree"
                                              else gettext("%(share)s disagreed", share=_percent(r.share, language)))
                for r in described.representative.get(group.id, ())) or gettext("No statement sets this group clearly apart yet.")
        rows.append((gettext("Group %(name)s", name=group.id), _count(size, language), said))
    out.append(reports.Table(title + " — " + gettext("Opinion groups"),
                             (gettext("Group"), gettext("People"), gettext("What sets this group apart")), tuple(rows),
                             method_note(view.groups, gettext, language)))
    consensus = tuple(
        (words(c.statement), (gettext("every group agreed") if c.direction == "agree" else gettext("every group disagreed"))
         + ("" if c.weakest is None else " (" + gettext("at least %(share)s in each group", share=_percent(c.weakest, language)) + ")"))
        for c in described.consensus)
    out.append(reports.Table(gettext("Consensus: what every group agreed on"), (gettext("Statement"), gettext("Groups")),
                             consensus, "" if consensus else (
                                 gettext("Agreement across every group is not shown while a group is too small to describe: it would tell how most of that group voted.") if described.consensus_withheld
                                 else gettext("No statement has clear agreement across every group yet."))))
    divisive = tuple(
        (words(d.statement),
         gettext("group %(a)s agreed (%(a_share)s), group %(b)s disagreed (%(b_share)s)", a=d.agreeing_group,
                 a_share=_percent(d.agree_share, language), b=d.disagreeing_group, b_share=_percent(d.disagree_share, language))
         if d.agreeing_group is not None else gettext("groups disagree"))
        for d in described.divisive)
    out.append(reports.Table(gettext("Divisive: where groups part ways"), (gettext("Statement"), gettext("Groups")),
                             divisive, "" if divisive else gettext("No statement clearly divides the groups yet.")))
    for comparison in view.priorities:
        heading = gettext("Priority group: %(label)s, compared with everyone", label=comparison.label)
        columns = (gettext("Statement"), gettext("Agreed in this group"), gettext("Agreed overall"), gettext("Difference"))
        if comparison.members_voting is None:
            out.append(reports.Table(heading, columns, (), gettext(
                "Fewer than %(n)s people of this group voted, so nothing about them is shown.", n=_count(threshold, language))))
            continue
        body = tuple((words(row.statement), _percent(row.priority_agree, language) or disclosure.MARK,
                      _percent(row.everyone_agree, language) or disclosure.MARK,
                      numbers.signed_points(row.difference, language, disclosure.MARK))
                     for row in comparison.statements)
        out.append(reports.Table(heading, columns, body))
    return out


def _priority_tables(result: dict, title: str, gettext: Callable, threshold: int, language: str = SOURCE_LANGUAGE) -> list:
    """Return one prioritise question's tables: everyone's scores, then each "about you" question's groups' shares."""
    kind = result["prompt"]["kind"]
    overall = result["overall"]
    score_name = {"rank": gettext("Borda points"), "dots": gettext("Dots")}.get(kind, gettext("Points"))
    order = sorted(result["labels"], key=lambda o: (-overall["scores"][o], o))
    columns = (gettext("Choice"), score_name, gettext("Share"))
    firsts = result.get("firsts_shown")
    if firsts is not None:
        columns += (gettext("First choice"),)
    body = tuple((result["labels"][o], numbers.decimal(overall["scores"][o], language), _percent(overall["shares"][o], language))
                 + ((_count(firsts[o], language),) if firsts is not None else ())
                 for o in order)
    note = gettext("Ranked by Borda points: with N choices a first place earns N points, a second N − 1, and so on.") \
        if kind == "rank" else ""
    out = [reports.Table(title, columns, body, note)]
    for segment in result["segments"]:
        groups = segment["groups"]
        heads = tuple(f"{g['label'] or gettext('Prefer not to say')} ({_count(g['size'], language)})" for g in groups)
        rows = tuple((result["labels"][o], *(_percent(g["result"]["shares"][o], language) or disclosure.MARK if g["result"] else disclosure.MARK
                                              for g in groups)) for o in order)
        out.append(reports.Table(gettext("By answer to: %(question)s", question=segment["label"]),
                                 (gettext("Choice"), *heads), rows,
                                 gettext("Counts below %(n)s are hidden (%(mark)s), and so are counts that would reveal them.",
                                         n=_count(threshold, language), mark=disclosure.MARK)))
    return out
