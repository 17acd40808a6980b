"""Report assembly: a session's stored synthesis, read once into a :class:`SessionData`, becomes a :class:`Report`.

Pure (no Flask, no SQLite): the planners' loader in :mod:`analysis.review.queries` reads the
database into a :class:`SessionData`; ``chorus themes`` builds one from a CSV and its themes; then
:func:`assemble_report` turns it into the :class:`analysis.reports.Report` every writer takes,
and :func:`public_page` into what the residents' results page shows. Every count comes from one
disclosure-controlled release (:func:`release`); quotes only from answers whose authors allowed
quoting, through the session's one redaction.
"""
from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
import dataclasses
from dataclasses import dataclass
from typing import Iterable, Sequence

from analysis import numbers, reports
from analysis.redaction import redaction_of

MAX_CHOSEN_QUOTES = 5
SOURCE_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar", "ur", "fa", "he", "ps", "ckb", "yi"})


def base_language(language: str) -> str:
    """Return the language part of a tag, lower-cased: "ar_EG", "ar-EG" and "AR" are all "ar"."""
    return language.replace("-", "_").split("_")[0].lower()


def text_direction(language: str) -> str:
    """Return 'rtl' for right-to-left languages and 'ltr' for the rest."""
    return "rtl" if base_language(language) in RIGHT_TO_LEFT else "ltr"


def localized(texts: dict, owner: str, owner_id: int, field: str, language: str, fallback: str) -> str:
    """Pick a text in `language`, else in the session default `fallback`, else an empty string."""
    by_language = texts.get((owner, owner_id, field), {})
    return by_language.get(language) or by_language.get(fallback) or ""


@dataclass(frozen=True)
class SessionData:
    """Everything a session's synthesis says, read once for a page or a report (plain rows, no database).

    ``sources`` are the ways an answer may reach Chorus (one lens of "who took part"; empty for a
    CSV), ``choices`` the answers to choice and scale questions (``choices``, ``number``), ``notes`` are extra caveats a report prints under "Who took part", and ``method`` (a CSV
    run's) replaces the account of people's review in "How these themes were made".
    """

    session: dict
    texts: dict
    prompts: list[dict]
    scope: list[int]
    answers: list[dict]
    assignments: dict[int, dict]
    themes: list[dict]
    insights: list[dict]
    participants: list[dict]
    segments: dict[int, dict[int, int]]
    reference: dict[int, dict]
    priority: set[int]
    settings: dict
    run: dict | None
    public: dict
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    method: tuple[str, ...] = ()
    choices: list[dict] = dataclasses.field(default_factory=list)
    # Words given with a self-described choice, {participant: {prompt: words}}: for the internal export only.
    described: dict = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def redaction(self):
        """The session's redaction (its listed names and its own words), built once per load."""
        return redaction_of(self.texts, self.settings["name_list"])


def theme_answers(stored: SessionData) -> dict[int | str, list[dict]]:
    """Group the stored answers by theme id (or 'off_topic', 'contentless', 'unsorted'), most typical first."""
    grouped: dict[int | str, list[dict]] = defaultdict(list)
    for answer in stored.answers:
        placed = stored.assignments.get(answer["id"])
        if placed is None:
            key: int | str = "unsorted"
        elif placed["status"] != "theme":
            key = placed["status"]
        else:
            key = placed["theme_id"] if placed["theme_id"] is not None else "unsorted"
        grouped[key].append({**answer, "rank": placed["rank"] if placed else 10**6,
                             "quote": placed["quote"] if placed else None,
                             "pinned": bool(placed and placed["pinned"]),
                             "chosen": bool(placed and placed["chosen"])})
    for members in grouped.values():
        members.sort(key=lambda a: (a["rank"], a["id"]))
    return grouped


def prompt_text(stored: SessionData, prompt_id: int, language: str) -> str:
    """Return a prompt's wording in a language, falling back to the session's main language."""
    return localized(stored.texts, "prompt", prompt_id, "text", language, stored.session["default_language"])


def option_label(stored: SessionData, option: dict, language: str, prefer_not: str) -> str:
    """Return an option's label in a language (or the translated "Prefer not to say")."""
    if option["prefer_not"]:
        return prefer_not
    return localized(stored.texts, "option", option["id"], "label", language, stored.session["default_language"])


def gettext_with(translations):
    """Return a gettext that fills %(name)s placeholders from keyword arguments, like Flask-Babel's."""

    def gettext(message: str, **values) -> str:
        """Translate a message and fill in its placeholders ("%%" is a percent sign either way)."""
        translated = translations.gettext(message)
        return translated % values if values else translated.replace("%%", "%")

    return gettext


def language_label(code: str, language: str) -> str:
    """Return a language's name written in ``language`` (the report's or the page's)."""
    from babel import Locale

    try:
        return Locale.parse(code).get_display_name(language) or code
    except (ValueError, LookupError):
        return code


def quotes_for(stored: SessionData, members: Sequence[dict], limit: int = 3, chosen_limit: int = MAX_CHOSEN_QUOTES,
               terms: Sequence[str] = ()) -> list[dict]:
    """Pick a theme's quotes: up to ``chosen_limit`` that people chose, else up to ``limit``, the engine's picks first.

    Always consented answers only, through the session's redaction. Each carries its question,
    ``excerpt`` (a long answer cut to the sentence carrying the theme's ``terms``, marked "…") and
    its staff translation (redacted and cut the same way), which goes wherever the quote goes and
    nowhere else. The same words in answer to two questions are two quotes, not one.
    """
    consented = [a for a in members if a["quote_ok"]]
    chosen = [a for a in consented if a.get("chosen")]
    if chosen:
        consented, limit = chosen, chosen_limit
    return pick_quotes(stored, sorted(consented, key=quote_order), limit, terms)


def quote_order(answer: dict) -> tuple:
    """Order a theme's quote candidates: the engine's picks in its order, then the most typical (rank, then id)."""
    return (answer["quote"] is None, answer["quote"] if answer["quote"] is not None else 0, answer["rank"], answer["id"])


def pick_quotes(stored: SessionData, ordered: Iterable[dict], limit: int, terms: Sequence[str] = ()) -> list[dict]:
    """Take up to ``limit`` quotes from consented candidates already in :func:`quote_order`, reading no more than needed.

    The candidates may come from a list or straight from a database cursor (a big theme's pages).
    """
    from analysis.headline import point

    redaction = stored.redaction
    numbers = {p["id"]: p.get("number") for p in stored.prompts}
    picked, seen = [], set()
    for answer in ordered:
        text = redaction(answer["text"]).strip()
        key = (answer.get("prompt_id"), text.lower())
        if not text or key in seen:
            continue
        seen.add(key)
        translation = redaction(answer.get("translation") or "").strip()
        translated_into = answer.get("translation_language") or stored.session.get("default_language") or ""
        picked.append({"text": text, "language": answer["language"], "id": answer["id"], "prompt_id": answer.get("prompt_id"),
                       "question": numbers.get(answer.get("prompt_id")),
                       "excerpt": point(text, answer["language"] or "en", _term_weights(terms, answer["language"])),
                       "translation": translation, "translation_language": translated_into if translation else "",
                       "translation_excerpt": point(translation, translated_into or "en", _term_weights(terms, translated_into))
                       if translation else ""})
        if len(picked) >= limit:
            break
    return picked


def _term_weights(terms: Sequence[str], language: str | None) -> dict[str, float]:
    """Return a theme's key terms as the stemmed weights :func:`analysis.headline.point` cuts a long quote by."""
    from analysis.text import terms as stems

    weights: dict[str, float] = {}
    for term in terms:
        for stem in stems(term, language or "en"):
            weights[stem] = weights.get(stem, 0.0) + 1.0
    return weights


def quote_source(quote: dict, gettext, language: str) -> str:
    """Say where a quote comes from, in a report's language: "— Question 2 · Spanish"."""
    parts = [gettext("Question %(n)s", n=quote["question"])] if quote.get("question") else []
    parts.append(language_label(quote["language"], language))
    return "— " + " · ".join(parts)


def questions_of(answer_ids, members: Sequence[dict], numbers: dict) -> tuple[int, ...]:
    """Return the numbers of the questions these answers of a theme answered, when the theme spans several; else ().

    A theme drafted across questions gathers answers to different ones: a claim (or a quote) then names
    which it answered, as a quote always does; a theme of one question's answers needs no such mark.
    """
    if len({a.get("prompt_id") for a in members}) < 2:
        return ()
    ids = set(answer_ids)
    return tuple(sorted({numbers[a["prompt_id"]] for a in members if a["id"] in ids and numbers.get(a.get("prompt_id"))}))


def questions_source(questions: Sequence[int], gettext) -> str:
    """Say which questions a claim answered, in a report's language: "— Question 2" or "— Questions 1, 3"; "" for none."""
    if not questions:
        return ""
    if len(questions) == 1:
        return "— " + gettext("Question %(n)s", n=questions[0])
    # TRANSLATORS: after a claim several people made in answer to different questions; numbers is a list such as "1, 3".
    return "— " + gettext("Questions %(numbers)s", numbers=", ".join(str(n) for n in questions))


def theme_sizes(stored: SessionData) -> tuple[dict, list[dict]]:
    """Return answers grouped by theme and the themes with answers, largest first (true sizes: staff only)."""
    grouped = theme_answers(stored)
    themes = [t for t in stored.themes if t["kind"] == "theme" and grouped.get(t["id"])]
    themes.sort(key=lambda t: (-len(grouped[t["id"]]), t["id"]))
    return grouped, themes


# --- what may be counted: one disclosure-controlled release per output ------------------------

# Groups an answer can be in besides a theme, in the order reports list them.
SET_ASIDE = ("other", "off_topic", "contentless", "unsorted")


def theme_key(theme: dict) -> str:
    """Return the key a theme has in reports and in the disclosure engine ("T12", or "other")."""
    return "other" if theme["kind"] == "other" else f"T{theme['id']}"


def about_prompts(stored: SessionData) -> list[dict]:
    """Return a session's "about you" questions, in order."""
    return [p for p in stored.prompts if p["kind"] == "about"]


def group_of(key: int | str, kinds: dict[int, dict]) -> str:
    """Return the group the disclosure engine counts an answer in, from its :func:`theme_answers` key (``kinds``: themes by id)."""
    if isinstance(key, int):
        theme = kinds.get(key)
        return "unsorted" if theme is None else theme_key(theme)
    return key if key in SET_ASIDE else "unsorted"


def about_lens(prompt_id: int) -> str:
    """Return the lens key of an "about you" question ("q12")."""
    return f"q{prompt_id}"


def lenses_of(stored: SessionData) -> tuple[tuple, tuple, tuple]:
    """Return a session's people lenses, answer lenses and priority groups, as the disclosure engine takes them."""
    from analysis import equity

    about = about_prompts(stored)
    languages = tuple(stored.session["languages"])
    sources = (equity.Lens("source", stored.sources, keep_empty=False),) if stored.sources else ()
    people_lenses = (equity.Lens("language", languages, keep_empty=False), *sources,
                     *(equity.Lens(about_lens(p["id"]), tuple(str(o["id"]) for o in p["options"]) + (equity.MISSING_SEGMENT,))
                       for p in about))
    answer_lenses = (equity.Lens("language", languages),
                     *(equity.Lens(about_lens(p["id"]), tuple(str(o["id"]) for o in p["options"])) for p in about))
    priority = tuple((about_lens(p["id"]), tuple(str(o["id"]) for o in p["options"] if o["id"] in stored.priority))
                     for p in about if any(o["id"] in stored.priority for o in p["options"]))
    return people_lenses, answer_lenses, priority


def snapshot(stored: SessionData, *, lenses: bool = True):
    """Describe a session's people and counted open answers to the disclosure engine (no text).

    With ``lenses`` off only the theme sizes and the number of people matter (the residents'
    page); they come out the same either way.
    """
    from analysis import equity

    grouped = theme_answers(stored)
    kinds = {t["id"]: t for t in stored.themes}
    themes = [t for t in stored.themes if t["kind"] == "theme" and grouped.get(t["id"])]
    about = about_prompts(stored)

    known: dict[int, tuple] = {}

    def about_values(participant_id: int) -> tuple:
        """Return a participant's "about you" answers as (lens, option id) pairs (worked out once per participant)."""
        if participant_id not in known:
            chosen = stored.segments.get(participant_id, {})
            known[participant_id] = tuple((about_lens(p["id"]), str(chosen[p["id"]]) if p["id"] in chosen else None)
                                          for p in about)
        return known[participant_id]

    answers = []
    for key, members in grouped.items():
        group = group_of(key, kinds)
        for a in members:
            segments = (("language", a["language"]), *about_values(a["participant_id"])) if lenses else ()
            answers.append(equity.Reply(a["id"], group, a["participant_id"], segments))
    people = tuple(equity.Person(p["id"], (("language", p["language"]), ("source", p["source"]),
                                           *about_values(p["id"])) if lenses else ()) for p in stored.participants)
    people_lenses, answer_lenses, priority = lenses_of(stored) if lenses else ((), (), ())
    return equity.Snapshot(
        answers=tuple(sorted(answers, key=lambda a: a.id)),
        groups=tuple(theme_key(t) for t in themes) + SET_ASIDE, themes=tuple(theme_key(t) for t in themes),
        answer_lenses=answer_lenses, people=people, people_lenses=people_lenses, priority=priority,
        per_person=max(1, len(stored.scope)),
    )


def release(stored: SessionData, *, lenses: bool = True):
    """Decide what a session's outputs may count (see :mod:`analysis.disclosure`), at its threshold."""
    from analysis import equity

    return equity.release(snapshot(stored, lenses=lenses), threshold=stored.settings["threshold"])


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    """What a report calls things, in its language."""

    gettext: object
    language: str
    mark: str
    option_names: dict
    source_names: dict
    no_answer: str

    def segment(self, key: str, value: str) -> str:
        """Name one group of a lens ("Spanish", "Under 30", "No answer")."""
        from analysis import equity

        if value == equity.MISSING_SEGMENT:
            return self.no_answer
        if key == "language":
            return language_label(value, self.language)
        if key == "source":
            return self.source_names.get(value, value)
        return self.option_names.get(int(value), value)

    def count(self, value: int | None) -> str:
        """Show a count in the report's language ("12,345"; "12.345" in Spanish), or the mark when it is hidden."""
        return numbers.count(value, self.language, self.mark)

    def share(self, value: float | None) -> str:
        """Show a share as a whole percentage in the report's language, or "" when it is not published."""
        return numbers.share(value, self.language)


def _who_took_part(stored: SessionData, rel, words: _Words, reports) -> tuple[list, list, list]:
    """Return the participation tables, the comparisons with the reference population and their bars."""
    _ = words.gettext
    participation, representation, bars_by_prompt = [], [], []

    def line_table(title: str, key: str):
        """Return a group / people / share table from a published line (None when withheld)."""
        line = rel.people_lines.get(key)
        if line is None or line.withheld:
            return None
        body = tuple((words.segment(key, c), words.count(n), words.share(line.share(c)))
                     for c, n in zip(line.categories, line.counts))
        return reports.Table(title, (_("Group"), _("People"), _("Share")), body)

    for title, key in ((_("By language they answered in"), "language"), (_("By how they took part"), "source")):
        table = line_table(title, key)
        if table is not None:
            participation.append(table)
    for prompt in about_prompts(stored):
        title = prompt_text(stored, prompt["id"], words.language)
        key = f"q{prompt['id']}"
        table = line_table(title, key)
        if table is None:
            continue
        participation.append(table)
        shared = [o for o in prompt["options"] if o["id"] in stored.reference]
        if not shared:
            continue
        line = rel.people_lines[key]
        body, bars = [], []
        for option in shared:
            label = words.option_names[option["id"]]
            ref = stored.reference[option["id"]]["percent"]
            part = line.share(str(option["id"]))
            # Every figure here comes from the published count: a hidden group has no share, no
            # comparison and no bar.
            if part is None:
                verdict = ""
            else:
                ratio = 100 * part / ref if ref else None
                verdict = (_("Under-represented") if ratio is not None and ratio < 0.8 else
                           _("Over-represented") if ratio is not None and ratio > 1.25 else _("About in line"))
            body.append((label, words.mark if part is None else words.share(part), numbers.percent(ref, words.language), verdict))
            bars.append(reports.Bar(label, None if part is None else round(100 * part, 1), ref))
        source = next(iter(stored.reference[o["id"]]["source"] for o in shared))
        representation.append(reports.Table(
            _("%(question)s — compared with the reference population", question=title),
            (_("Group"), _("Share of people who took part"), _("Reference share"), _("Compared with reference")),
            tuple(body), _("Reference: %(source)s", source=source) if source else ""))
        bars_by_prompt.append((title, tuple(bars)))
    return participation, representation, bars_by_prompt


def _themes_by_group(stored: SessionData, rel, words: _Words, labels: dict, reports) -> tuple[list, list]:
    """Return the theme-by-group tables (with the themes a group raised more often) and the titles withheld."""
    _ = words.gettext
    lenses = [(_("Language of the answer"), "language")]
    lenses += [(prompt_text(stored, p["id"], words.language), f"q{p['id']}") for p in about_prompts(stored)]
    tables, withheld = [], []
    left_out = any(rel.sizes.count(theme) is None for theme in rel.sizes.categories if theme in labels)
    for title, key in lenses:
        grid = rel.grids.get(key)
        if grid is None:
            continue
        caption = _("%(question)s — answers in each theme", question=title)
        if grid.withheld:
            withheld.append(caption)
            continue
        body = []
        for row, total, cells in zip(grid.rows, grid.row_totals, grid.cells):
            shown = []
            for column, n in zip(grid.columns, cells):
                part = grid.column_share(row, column)
                shown.append(words.count(n) if not n or part is None else f"{words.count(n)} ({words.share(part)})")
            body.append((labels[row], *shown, words.count(total)))
        note = _("Counts below %(threshold)s are hidden (shown as %(mark)s), and so are counts that would reveal them. "
                 "Percentages are of each group's answers, and only where both counts are shown.",
                 threshold=words.count(rel.threshold), mark=words.mark)
        if left_out:
            # A theme of hidden size has no row, so the last row adds up the themes listed, not every theme.
            body.append((_("Themes listed"), *(words.count(n) for n in grid.column_totals), words.count(grid.total)))
            note += " " + _("Themes whose number of answers is hidden have no row here, so the last row adds up only the themes listed.")
        else:
            body.append((_("All themes"), *(words.count(n) for n in grid.column_totals), words.count(grid.total)))
        tables.append(reports.Table(
            caption, (_("Theme"), *(words.segment(key, c) for c in grid.columns), _("All groups")), tuple(body), note))
        raised = [o for o in rel.raised.get(key, ()) if o.significant]
        if raised:
            tables.append(reports.Table(
                _("%(question)s — themes a group raised more often than everyone else", question=title),
                (_("Theme"), _("Group"), _("Share of the group's answers"), _("Share of everyone else's answers")),
                tuple((labels[o.theme], words.segment(key, o.segment), words.share(o.share_in_segment),
                       words.share(o.share_elsewhere)) for o in raised),
                _("Fisher's exact test, adjusted for testing many pairs (Benjamini-Hochberg, 5%%). Only counts shown in the "
                  "table above are tested, so every figure here follows from it.")))
    return tables, withheld


def _priority_table(stored: SessionData, rel, words: _Words, labels: dict, reports):
    """Return the ranking of themes by what the priority groups said (None without priority groups), and if it was withheld."""
    _ = words.gettext
    if rel.priority is None:
        return None, False
    groups = ", ".join(sorted(words.option_names.get(o, "") for o in stored.priority))
    if rel.priority.withheld:
        return None, True
    body = tuple(("" if r.priority_rank is None else words.count(r.priority_rank), labels[r.theme], words.count(r.priority_count),
                  words.share(r.priority_share), words.count(r.overall_rank)) for r in rel.ranks)
    return reports.Table(
        _("Priority groups: %(groups)s", groups=groups),
        (_("Rank for priority groups"), _("Theme"), _("Answers from priority groups"),
         _("Share of priority groups' answers"), _("Rank among everyone")), body,
        _("Ranked by how often priority groups raised each theme, not by overall size. Counts below %(threshold)s are "
          "hidden, and so are counts that would reveal them; themes with a hidden count have no rank and follow in their "
          "overall order.", threshold=words.count(rel.threshold))), False


def _method(stored: SessionData, views: list, words: _Words, ngettext, *, people_withheld: bool = False) -> list[str]:
    """Return the report's account of how themes were made, and their limits (a CSV run gives its own first paragraphs).

    The run's number of answers is printed only when it is at least the threshold and the number of
    people is published: beside "fewer than 10 people", answers capped per person would narrow it
    (docs/privacy.md, "A total shown as fewer than 10"); the mark stands in its place.
    """
    _ = words.gettext
    reviewed = sum(1 for v in views if v.reviewed)
    method = list(stored.method) if stored.method else [
        ngettext("Themes were first drafted by a computer program, then read and changed by people on the planning team. "
                 "%(reviewed)s of %(num)s theme has been reviewed by a person; any other is still a draft and marked so.",
                 "Themes were first drafted by a computer program, then read and changed by people on the planning team. "
                 "%(reviewed)s of %(num)s themes have been reviewed by a person; the others are still drafts and marked so.",
                 len(views)) % {"reviewed": words.count(reviewed), "num": words.count(len(views))},
        _("When the program runs again, people's decisions are kept: answers a person moved stay where they were put, "
          "reviewed themes keep their answers and names, and new drafts are matched to earlier themes by how many answers they share."),
        # TRANSLATORS: keep the bracketed placeholders [email], [url], [phone], [address] and [name] as they are: quotes show them.
        _("Quotes come only from people who said they may be quoted. Before a quote is shown anywhere, Chorus replaces emails, "
          "web addresses, phone numbers, street addresses, the names the planning team listed, and names written after a title "
          "or an introduction (such as “Dr.”, “Ms.”, “nurse” or “my name is”, in each language of the session) with [email], "
          "[url], [phone], [address] and [name]. It does not find a name written without such a word before it, a nickname, "
          "or other details that could point to a person (a workplace, a clinic, an unusual event), so a person should read "
          "every quote before it is shared. Answers hidden by moderators and answers from people who withdrew are not "
          "included anywhere."),
        _("Themes are not a vote and do not speak for everyone: they show what people who took part said, in the words of those who allowed quoting."),
    ]
    run = stored.run
    if run is None:
        return method
    if base_language(words.language) == SOURCE_LANGUAGE:
        # The engine's own note, in English, names every step and setting.
        method.append(run["method"])
    else:
        method.append(ngettext(
            "The program (seed %(seed)s) drafted %(num)s theme from %(answers)s answers. First it removed personal details and set "
            "aside answers with no content. Then it compared answers by their letters, their words and a small model of word "
            "meanings, and put similar answers together. Answers that fit no group are listed under \u201c%(other)s\u201d. "
            "The English version of this report describes each step in full.",
            "The program (seed %(seed)s) drafted %(num)s themes from %(answers)s answers. First it removed personal details and set "
            "aside answers with no content. Then it compared answers by their letters, their words and a small model of word "
            "meanings, and put similar answers together. Answers that fit no group are listed under \u201c%(other)s\u201d. "
            "The English version of this report describes each step in full.",
            run["k_chosen"]) % {"seed": run["seed"], "num": words.count(run["k_chosen"]), "other": _("Other or unclear answers"),
                                 "answers": words.count(run["answer_count"] if run["answer_count"] >= stored.settings["threshold"]
                                                        and not people_withheld else None)})
    return method


def described_columns(prompts: list[dict], about_keys: dict[int, str]) -> dict[int, str]:
    """Return the export's own-words column for each question whose last choice may be described ("about_race_own_words")."""
    return {p["id"]: f"{about_keys.get(p['id'], 'q' + str(p['number']))}_own_words"
            for p in prompts if p.get("self_describe") and p["kind"] in ("single", "about")}


def _records(stored: SessionData, language: str, option_names: dict, reports) -> tuple[tuple, tuple[str, ...], tuple[str, ...]]:
    """Return every counted answer as a record for the team's internal data export, its segment and own-words columns."""
    from analysis.text import strip_bidi

    numbers = {p["id"]: p["number"] for p in stored.prompts}
    about_keys: dict[int, str] = {}
    segment_names: list[str] = []
    for prompt in about_prompts(stored):
        key = f"about_{prompt['demographic'] or 'other'}"
        key = key if key not in segment_names else f"{key}_{prompt['number']}"
        about_keys[prompt["id"]] = key
        segment_names.append(key)
    described_keys = described_columns(stored.prompts, about_keys)
    labels = {t["id"]: t for t in stored.themes}
    rows_out = []
    for answer in stored.answers:
        placed = stored.assignments.get(answer["id"])
        theme = labels.get(placed["theme_id"]) if placed and placed["theme_id"] else None
        status = placed["status"] if placed else "unsorted"
        if theme is not None and theme["kind"] == "other":
            status = "other"
        segs = stored.segments.get(answer["participant_id"], {})
        rows_out.append(reports.AnswerRecord(
            id=answer["id"], prompt_number=numbers.get(answer["prompt_id"], 0),
            prompt=prompt_text(stored, answer["prompt_id"], language), language=answer["language"],
            # Internal data keeps the words as written, but never a bidi override that would
            # show them to the team in another order than the resident wrote them.
            source=answer["source"], text=strip_bidi(answer["text"]),
            theme_id="" if theme is None else ("other" if theme["kind"] == "other" else f"T{theme['id']}"),
            theme="" if theme is None else theme["label"], status=status,
            reviewed=bool(theme and theme["reviewed"]), quote_ok=bool(answer["quote_ok"]),
            created_at=answer["created_at"], table=answer.get("table_name") or "",
            segments=tuple((about_keys[pid], option_names.get(oid, "")) for pid, oid in sorted(segs.items())
                           if pid in about_keys),
            described=tuple((described_keys[pid], strip_bidi(words)) for pid, words in
                            sorted(stored.described.get(answer["participant_id"], {}).items()) if pid in described_keys),
            translation=strip_bidi(answer.get("translation") or ""),
        ))
    return tuple(rows_out), tuple(segment_names), tuple(described_keys.values())


def assemble_report(stored: SessionData, language: str, translations, *, records: bool = False,
                    source_names: dict | None = None, generated_at: str = "", themes: bool = True,
                    rel=None, tallies: dict | None = None, people: int | None = None, counted=None) -> reports.Report:
    """Turn a session's data into the plain data of a synthesis report (with ``records``, also the answers export) in a language.

    Every count in it comes from one disclosure-controlled release of the session (:func:`release`).
    ``translations`` is a gettext translations object for ``language``; ``source_names`` names
    the ways answers arrive ("Own phone", ...) in that language. Without ``themes`` the report has
    who took part and the tables by group but no theme sections, overview or method (a page that
    shows only who was heard skips redacting, quoting and claiming every answer). Such a report may
    also take its counts already made (by the database: :mod:`analysis.review.tallies`): ``rel``, the
    release of the session's counts, ``tallies`` and ``people`` (see :func:`choice_lines`);
    ``stored`` then need not hold the answers, people or choices. ``counted`` (with those three) answers
    what the theme sections ask of each theme's answers from the database instead of ``stored.answers``
    (:class:`analysis.review.tallies.Counted`: its ``size(theme_id)``, ``members(theme)``, ``quotes(theme)``
    and ``languages``), so a report of any size holds a few of a theme's answers at a time, never all.
    """
    _ = gettext_with(translations)
    found = stored.session
    default = found["default_language"]
    if rel is None:
        rel = release(stored)
    option_names = {o["id"]: option_label(stored, o, language, _("Prefer not to say"))
                    for p in about_prompts(stored) for o in p["options"]}
    words = _Words(_, language, reports.MARK, option_names, dict(source_names or {}), _("No answer"))
    grouped = theme_answers(stored) if themes and counted is None else {}
    if counted is None:
        size_of = lambda theme_id: len(grouped.get(theme_id, ()))  # noqa: E731 - one of two ways to ask
        sections = _ThemeSections(
            members=lambda theme: grouped.get(theme["id"], []),
            quotes=lambda theme: quotes_for(stored, grouped.get(theme["id"], []), terms=theme["top_terms"]),
            languages=lambda theme: {a["language"] for a in grouped.get(theme["id"], [])})
    else:
        size_of = counted.size
        sections = _ThemeSections(members=counted.members, quotes=counted.quotes,
                                  languages=lambda theme: {code for code, _n in counted.languages.get(theme["id"], [])})
    themed = [t for t in stored.themes if t["kind"] == "theme" and size_of(t["id"])] if themes else []
    # Every theme's label: the tables name only rows of published size, themes with answers.
    labels = {theme_key(t): t["label"] for t in stored.themes if t["kind"] == "theme"}
    participation, representation, bars_by_prompt = _who_took_part(stored, rel, words, reports)
    theme_by_group, withheld = _themes_by_group(stored, rel, words, labels, reports)
    priority_table, priority_withheld = _priority_table(stored, rel, words, labels, reports)
    if priority_withheld:
        withheld.append(_("Themes ranked by what priority groups said"))
    theme_insights = insights_by_theme(stored)
    views = _theme_views(stored, rel, sections, themed, theme_insights, words) if themes else []
    choice_results = _choice_results(stored, words, withheld, tallies=tallies, people=people)
    other_theme = next((t for t in stored.themes if t["kind"] == "other"), None)
    other_view = None
    if themes and other_theme is not None and size_of(other_theme["id"]):
        other_view = reports.ThemeView(id="other", label=_("Other or unclear answers"), definition="",
                                       size=rel.size("other"), reviewed=other_theme["reviewed"])
    records_out, segment_names, described_names = _records(stored, language, option_names, reports) if records else ((), (), ())
    return reports.Report(
        code=found["code"],
        title=localized(stored.texts, "session", found["id"], "title", language, default),
        purpose=localized(stored.texts, "session", found["id"], "purpose", language, default),
        language=language, direction=text_direction(language), generated_at=generated_at,
        questions=tuple(localized(stored.texts, "prompt", p["id"], "text", language, default) for p in stored.prompts),
        participants=rel.people, answers=rel.answers, answers_covered=rel.answers_covered, threshold=rel.threshold, themes=tuple(views), other=other_view,
        contentless=rel.size("contentless"), off_topic=rel.size("off_topic"), participation=tuple(participation),
        choice_results=choice_results, overview=_overview(views, other_view, words),
        representation=tuple(representation), representation_bars=tuple(bars_by_prompt),
        theme_by_group=tuple(theme_by_group), priority=priority_table,
        insights=tuple(i["body"] for i in theme_insights.get(None, []) if i["kind"] == "insight"),
        hmw=tuple(i["body"] for i in theme_insights.get(None, []) if i["kind"] == "hmw"),
        caveats=_caveats(stored, rel, words, withheld),
        method=tuple(_method(stored, views, words, translations.ngettext, people_withheld=rel.people is None and rel.people_known)),
        records=records_out, segment_names=segment_names, described_names=described_names, withheld=tuple(withheld),
    )


def insights_by_theme(stored: SessionData) -> dict[int | None, list[dict]]:
    """Return the planners' insights and "how might we" statements by theme id (None: the session's own), in order."""
    grouped: dict[int | None, list[dict]] = {}
    for insight in stored.insights:
        grouped.setdefault(insight["theme_id"], []).append(insight)
    return grouped


def hidden_theme_ids(themes: Sequence[dict], sizes) -> set[int]:
    """Return the themes whose size reports and the residents' page hide (`sizes`: a release's sizes)."""
    return {t["id"] for t in themes if theme_key(t) in sizes.categories and sizes.count(theme_key(t)) is None}


@dataclass(frozen=True)
class _ThemeSections:
    """How a report asks about a theme's answers: its members (a list, or a :class:`Members`), its quotes, its languages."""

    members: object
    quotes: object
    languages: object


def _theme_views(stored: SessionData, rel, sections: _ThemeSections, themes: list[dict], theme_insights: dict,
                 words: _Words) -> list:
    """Return each theme with answers as a report shows it, in published order (hidden sizes last)."""
    from analysis import equity

    by_key = {theme_key(t): t for t in themes}
    views = []
    for key in equity.published_order(list(by_key), rel.sizes, label_of=lambda k: by_key[k]["label"]):
        theme = by_key[key]
        members = sections.members(theme)
        views.append(reports.ThemeView(
            id=key, label=theme["label"], definition=theme["definition"], size=rel.size(key),
            reviewed=theme["reviewed"], top_terms=tuple(theme["top_terms"]),
            quotes=tuple(reports.Quote(q["excerpt"], q["language"], quote_source(q, words.gettext, words.language),
                                       q["translation_excerpt"], q["translation_language"])
                         for q in sections.quotes(theme)),
            insights=tuple(i["body"] for i in theme_insights.get(theme["id"], []) if i["kind"] == "insight"),
            hmw=tuple(i["body"] for i in theme_insights.get(theme["id"], []) if i["kind"] == "hmw"),
            languages=tuple(sorted(sections.languages(theme))) if rel.size(key) is not None else (),
            claims=tuple(dataclasses.replace(c, source=questions_source(c.questions, words.gettext), shown_count=words.count(c.count))
                         for c in report_claims(stored, theme, members, rel.threshold, shown=rel.size(key) is not None)),
            subthemes=report_subthemes(_sub_labels_checked(stored, theme, members), members, rel.size(key), rel.threshold, key),
        ))
    return views


class Members:
    """A theme's current members as the claims and sub-topics of a report ask about them, from a list of answers.

    :mod:`analysis.review.tallies` answers the same questions from the database (counts and a few
    texts), so a big theme's claims and sub-topics need not hold its answers in memory.
    """

    def __init__(self, stored: SessionData, members: Sequence[dict]) -> None:
        """Keep the session (for its redaction) and the theme's answers."""
        self.stored, self.members = stored, members
        self._quotable: list[str] | None = None

    def count(self) -> int:
        """Return how many answers the theme has."""
        return len({a["id"] for a in self.members})

    def count_among(self, answer_ids: Sequence[int]) -> int:
        """Return how many of these answers are current members."""
        return len({a["id"] for a in self.members} & set(answer_ids))

    def holds(self, words: str, answer_ids: Sequence[int] = ()) -> bool:
        """Tell whether a consenting member's redacted answer holds these words (``answer_ids``: where to look first)."""
        if self._quotable is None:
            redaction = self.stored.redaction
            self._quotable = [words_of(redaction(a["text"])) for a in self.members if a["quote_ok"]]
        return any(words in q for q in self._quotable)

    def questions(self, answer_ids: Sequence[int], numbers: dict) -> tuple[int, ...]:
        """Return the numbers of the questions these answers answered, when the theme spans several (see :func:`questions_of`)."""
        return questions_of(answer_ids, self.members, numbers)


def _sub_labels_checked(stored: SessionData, theme: dict, members: Sequence[dict] | Members) -> dict:
    """Return the theme with each sub-topic's label kept only while a consenting current member's redacted answer holds its words, else its key terms.

    A sub-topic with neither gets no name ("": :func:`report_subthemes` leaves it out and counts its
    answers with those in no sub-topic), never the words of someone who did not allow quoting.
    """
    redaction = stored.redaction
    view = members if isinstance(members, Members) else Members(stored, members)
    subs = []
    for sub in theme.get("subthemes") or []:
        words = words_of(sub["label"])
        terms = ", ".join(sub.get("terms", [])[:3])
        label = sub["label"] if words.strip() and view.holds(words, sub.get("answer_ids", ())) else (terms[:1].upper() + terms[1:])
        subs.append({**sub, "label": redaction(label).strip()})
    return {**theme, "subthemes": subs}


def report_subthemes(theme: dict, members: Sequence[dict] | Members, size: int | None, threshold: int, key: str) -> tuple:
    """Return a theme's sub-topics as (label, published size), largest first, sizes under the disclosure rule.

    Sizes count the theme's current members; they and the answers in no sub-topic form one line
    protected by :func:`analysis.disclosure.protect_line` (so a hidden size cannot be worked out
    from the theme's size); all are hidden when the theme's own size is.
    """
    from analysis import disclosure

    view = members if isinstance(members, Members) else Members(None, members)
    subs = [(sub["label"], view.count_among(sub["answer_ids"])) for sub in theme.get("subthemes") or []]
    subs = sorted(((label, n) for label, n in subs if n and label), key=lambda item: -item[1])
    if not subs:
        return ()
    if size is None:
        return tuple((label, None) for label, _n in subs)
    rest = view.count() - sum(n for _label, n in subs)
    names = [str(i) for i in range(len(subs))] + ["rest"]
    shown = disclosure.protect_line(f"{key}-subthemes", names, [n for _label, n in subs] + [max(rest, 0)], threshold=threshold)
    if shown.withheld:
        return tuple((label, None) for label, _n in subs)
    return tuple((label, shown.counts[i]) for i, (label, _n) in enumerate(subs))


_WORDS = re.compile(r"\w+")
MAX_REPORT_CLAIMS = 3


def words_of(text: str) -> str:
    """Return a text's words, case-folded and space-padded, for finding one text's words inside another."""
    return " " + " ".join(_WORDS.findall(text.casefold())) + " "


def report_claims(stored: SessionData, theme: dict, members: Sequence[dict] | Members, threshold: int, *, shown: bool = True) -> tuple:
    """Return up to three of a theme's claims as a report may print them.

    Only claims whose wording is still found in the redacted answer of a current member who allowed
    quoting (so a withdrawal, a move or a redacted name drops them), redacted again; the count is
    of current members who made it, shown only when it is at least the session's threshold and
    the theme's own size is published (``shown``): a count of answers beside a hidden size, or
    beside "fewer than 10 people", would say what the hidden one does not. A claim of a theme that
    spans several questions carries the numbers of the questions its people answered.
    """
    redaction = stored.redaction
    view = members if isinstance(members, Members) else Members(stored, members)
    numbers = {p["id"]: p.get("number") for p in stored.prompts}
    out = []
    for claim in theme.get("claims") or []:
        n = view.count_among(claim["answer_ids"])
        words = words_of(claim["text"])
        if n < 2 or not words.strip() or not view.holds(words, claim["answer_ids"]):
            continue
        out.append(reports.ClaimView(redaction(claim["text"]).strip(), n if shown and n >= threshold else None,
                                     view.questions(claim["answer_ids"], numbers)))
        if len(out) == MAX_REPORT_CLAIMS:
            break
    return tuple(out)


def choice_keys(prompt: dict) -> list[int]:
    """Return the values a choice or scale question counts: its options' ids, or the scale's points."""
    if prompt["kind"] == "scale":
        return list(range(prompt["scale_min"], prompt["scale_max"] + 1))
    return [o["id"] for o in prompt["options"]]


def choice_tallies(stored: SessionData) -> dict[int, tuple[Counter, int, int]]:
    """Count each choice or scale question's answers: {prompt: (count of each value, people who answered, most listed values one person gave)}."""
    out = {}
    for prompt in stored.prompts:
        if prompt["kind"] not in ("single", "multiple", "scale"):
            continue
        answered = [a for a in stored.choices if a["prompt_id"] == prompt["id"]]
        counts = Counter(value for a in answered for value in (a["choices"] if prompt["kind"] != "scale" else [a["number"]]))
        listed = set(choice_keys(prompt))
        ticks: Counter = Counter()  # counted values per person (an answer without a known author counts as its own person)
        for i, a in enumerate(answered, 1):
            values = a["choices"] if prompt["kind"] != "scale" else [a["number"]]
            ticks[a.get("participant_id", -i)] += sum(1 for v in values if v in listed)
        out[prompt["id"]] = (counts, len(ticks), max(ticks.values(), default=0))
    return out


def choice_lines(stored: SessionData, language: str, prefer_not: str, *, tallies: dict | None = None,
                 people: int | None = None) -> list[tuple[dict, str, list[str], object]]:
    """Return each choice or scale question with its title, answer names and disclosure-controlled counts, in order.

    Each question's counts go through :func:`analysis.disclosure.protect` at the session's
    threshold, with the number of people who took part: a count below it, and any count that
    would reveal one, is ``None`` (and has no share); a question fewer people answered than the
    threshold is withheld whole, and so is one whose choices would narrow "fewer than 10 people".
    ``tallies`` (see :func:`choice_tallies`) and ``people`` (who took part) may be counted elsewhere
    (by the database); by default they come from the session's answers and participants.
    """
    from analysis import disclosure

    default = stored.session["default_language"]
    tallies = choice_tallies(stored) if tallies is None else tallies
    people = len(stored.participants) if people is None else people
    out = []
    for prompt in stored.prompts:
        if prompt["kind"] not in ("single", "multiple", "scale"):
            continue
        keys = choice_keys(prompt)
        if prompt["kind"] == "scale":
            ends = {prompt["scale_min"]: localized(stored.texts, "prompt", prompt["id"], "min_label", language, default),
                    prompt["scale_max"]: localized(stored.texts, "prompt", prompt["id"], "max_label", language, default)}
            names = [f"{k} ({ends[k]})" if ends.get(k) else str(k) for k in keys]
        else:
            names = [option_label(stored, o, language, prefer_not) for o in prompt["options"]]
        counts, answering, most = tallies.get(prompt["id"], (Counter(), 0, 0))
        # Each person picks each answer once: the question's count of choices is at most that many
        # times the number of people, which must not narrow "fewer than 10 people took part".
        name = f"q{prompt['id']}"
        line = disclosure.Line(name, tuple(str(k) for k in keys), tuple(counts.get(k, 0) for k in keys))
        everyone = disclosure.Line("people", ("people",), (max(people, answering),))
        each = max(len(keys) if prompt["kind"] == "multiple" else 1, most, 1)
        cap = disclosure.TotalCap(name, "people", each)
        shown = disclosure.protect([line, everyone], links=[cap], threshold=stored.settings["threshold"]).lines[name]
        out.append((prompt, prompt_text(stored, prompt["id"], language), names, shown))
    return out


def _choice_results(stored: SessionData, words: _Words, withheld: list[str], *, tallies: dict | None = None,
                    people: int | None = None) -> tuple:
    """Return one report table per choice or scale question (see :func:`choice_lines`); withheld questions are named in ``withheld``."""
    _ = words.gettext
    tables = []
    for prompt, title, names, shown in choice_lines(stored, words.language, _("Prefer not to say"), tallies=tallies, people=people):
        if shown.withheld:
            withheld.append(title)
            continue
        body = tuple((name, words.count(n), words.share(shown.share(key)))
                     for name, key, n in zip(names, shown.categories, shown.counts))
        note = (_("People could choose more than one answer; shares are of all the answers chosen.")
                if prompt["kind"] == "multiple" else "")
        tables.append(reports.Table(title, (_("Answer"), _("People"), _("Share")), body, note))
    return tuple(tables)


def _overview(views: list, other, words: _Words):
    """Return the contents table of themes: each theme's published size and whether a person reviewed it."""
    _ = words.gettext
    if not views:
        return None
    body = []
    for v in views:
        body.append((v.label, words.count(v.size), _("Reviewed by the planning team") if v.reviewed else _("Draft: not yet reviewed by a person")))
        # Sub-topics are the engine's drafts under their topic, even when a person reviewed the topic.
        body += [(f"↳ {label}", words.count(n), _("Sub-topic: machine draft")) for label, n in v.subthemes]
    if other is not None and other.size != 0:
        body.append((other.label, words.count(other.size), ""))
    return reports.Table(_("Overview of themes"), (_("Theme"), _("Answers"), _("Status")), tuple(body))


def _caveats(stored: SessionData, rel, words: _Words, withheld: list[str]) -> tuple[str, ...]:
    """Return the report's caveats: who took part is not a sample, themes are not a vote, what is hidden and why."""
    _ = words.gettext
    off_topic, contentless = rel.size("off_topic"), rel.size("contentless")
    caveats = [
        _("People chose to take part. They are not a random sample, so these answers do not speak for everyone who lives here."),
        _("Themes are not a vote. A large theme is not more important than a small one, and one person's answer can matter a lot."),
        _("To protect people, counts below %(threshold)s are hidden and shown as %(mark)s, and so are counts that would reveal them.",
          threshold=words.count(rel.threshold), mark=words.mark),
        *stored.notes,
    ]
    if rel.people is None:
        caveats.append(_("Fewer than %(threshold)s people took part, so no counts by group are shown.", threshold=words.count(rel.threshold)))
    if (off_topic != 0 or contentless != 0) and not rel.answers_covered:  # covered: not even whether any were set aside
        caveats.append(_("%(off)s answers were set aside as off-topic and %(empty)s had no content.",
                         off=words.count(off_topic), empty=words.count(contentless)))
    if withheld:
        caveats.append(_("Not shown, because every way of showing them would reveal a small group: %(tables)s.",
                         tables="; ".join(withheld)))
    return tuple(caveats)


def public_page(stored: SessionData, language: str) -> dict | None:
    """Return what the residents' results page shows in a language, or None if it is not published.

    Theme sizes and the number of people follow the same disclosure rule as every report: a
    hidden size is ``None``, and themes are ordered by published size only.
    """
    if not stored.settings["published"]:
        return None
    grouped, themes = theme_sizes(stored)
    return public_page_from(
        stored, language, themes, release(stored, lenses=False),
        members_of=lambda theme: Members(stored, grouped[theme["id"]]),
        quotes_of=lambda theme: quotes_for(stored, grouped[theme["id"]], limit=2, chosen_limit=2, terms=theme["top_terms"]),
        choices=public_choices(stored, language))


def public_page_from(stored: SessionData, language: str, themes: list[dict], rel, *, members_of, quotes_of,
                     choices: list[dict]) -> dict:
    """Return the residents' results page of a published session from its themes with answers (largest first),
    their release without lenses, each theme's :class:`Members` and quotes, and the choice results.

    :func:`public_page` takes them from a session's answers; :mod:`analysis.review.tallies` from the database.
    """
    from analysis import equity

    session_id = stored.session["id"]
    default = stored.session["default_language"]

    def pick(theme_id: int, field_name: str, fallback: str = "") -> str:
        """Pick a residents' page text in the language, else the main language, else the fallback."""
        found = stored.public.get((theme_id, field_name), {})
        return found.get(language) or found.get(default) or fallback

    def lang_of(theme_id: int, field_name: str) -> str:
        """Return the language the picked text is written in."""
        return language if stored.public.get((theme_id, field_name), {}).get(language) else default

    reviewed = {theme_key(t): t for t in themes if t["reviewed"]}  # never a machine draft
    shown = []
    for key in equity.published_order(list(reviewed), rel.sizes, label_of=lambda k: reviewed[k]["label"]):
        theme = reviewed[key]
        members = members_of(theme)
        shown.append({
            "label": pick(theme["id"], "label", theme["label"]),
            "label_language": language if stored.public.get((theme["id"], "label"), {}).get(language) else default,
            "size": rel.size(key),
            "we_did": pick(theme["id"], "we_did"),
            "we_did_language": lang_of(theme["id"], "we_did"),
            "quotes": quotes_of(theme),
            # What reports print of the theme, under the same rule: a count below the threshold (or of a
            # theme whose size is hidden) is not shown, only the words.
            "claims": [{"text": c.text, "count": c.count if rel.size(key) is not None else None, "questions": list(c.questions)}
                       for c in report_claims(stored, theme, members, rel.threshold)],
            "subthemes": [{"label": label, "count": n} for label, n in
                          report_subthemes(_sub_labels_checked(stored, theme, members), members, rel.size(key), rel.threshold, key)],
        })
    return {
        "title": localized(stored.texts, "session", session_id, "title", language, default),
        "summary": pick(0, "summary"),
        "summary_language": lang_of(0, "summary"),
        "we_did": pick(0, "we_did"),
        "we_did_language": lang_of(0, "we_did"),
        "questions": [localized(stored.texts, "prompt", p["id"], "text", language, default)
                      for p in stored.prompts if p["id"] in stored.scope],
        "participants": rel.people,
        "threshold": rel.threshold,
        "themes": shown,
        "choices": choices,
    }


def public_choices(stored: SessionData, language: str, *, tallies: dict | None = None, people: int | None = None) -> list[dict]:
    """Return the residents' page's choice and scale results: each shown question's answers with their counts (None: hidden)."""
    out = []
    for prompt, title, names, shown in choice_lines(stored, language, "", tallies=tallies, people=people):
        if shown.withheld:
            continue
        rows = [{"label": name, "count": n, "percent": None if shown.share(key) is None else round(100 * shown.share(key))}
                for name, key, n in zip(names, shown.categories, shown.counts) if name]
        out.append({"title": title, "rows": rows, "multiple": prompt["kind"] == "multiple"})
    return out

