"""Tests of themes a planner can act on: headlines, claims, glosses, question words, honest groups, anchors, sub-themes."""

from __future__ import annotations

import ast
from pathlib import Path

from analysis import messages
from analysis.claims import find_claims
from analysis.gloss import GLOSS_LANGUAGES, gloss
from analysis.headline import clean, headline, point, sentences
from analysis.themes import OTHER_ID, Anchor, Answer, find_themes

ENGLISH_FILLER = ("i ", "well", "so ", "and ", "but ", "just ", "also ", "like ")


def test_clean_drops_leading_filler_and_keeps_acronyms() -> None:
    """Filler never leads a clause, the first letter is raised, and acronyms keep their capitals."""
    assert clean("I think that the WIC office is far", "en") == "The WIC office is far"
    assert clean("well, so the bus is late", "en") == "The bus is late"
    assert clean("creo que el WIC cierra temprano", "es") == "El WIC cierra temprano"
    assert clean("THE BUS IS ALWAYS LATE AND NOBODY CARES", "en") == "The bus is always late and nobody cares"


def test_headline_is_a_short_clause_of_the_answers() -> None:
    """The headline is a cleaned piece of one of the theme's own answers, short, capitals kept."""
    texts = ["I think the WIC office closes too early.", "The WIC office closes early, I could not go.", "WIC office hours are short"]
    found = headline(texts, "en", {"wic": 1.0, "offic": 1.0, "close": 0.8, "earli": 0.5})
    assert found is not None and "WIC" in found and len(found.split()) <= 14
    assert any(found.casefold() in t.casefold() for t in texts)
    assert not found.casefold().startswith(ENGLISH_FILLER)


def test_abbreviations_end_no_sentence() -> None:
    """"Av." and "Dr." do not cut a sentence or a headline in two, and keep their full stop."""
    assert sentences("Carril bici en Av. de la Paz. Es peligroso. Dr. Smith was kind.") == [
        "Carril bici en Av. de la Paz.", "Es peligroso.", "Dr. Smith was kind."]
    found = headline(["Carril bici en Av. de la Paz", "Queremos carril bici en Av. de la Paz ya"], "es", {"carril": 1.0, "bici": 1.0, "paz": 0.5})
    assert found is not None and "Av. de la Paz" in found


def test_point_cuts_long_answers_to_the_sentence_that_carries_it() -> None:
    """A long answer is cut to its sentence with the theme's words, marked with an ellipsis; short ones stay whole."""
    long = ("The staff were lovely and the ward was clean. "
            + "We waited a long time in the car park before anyone came and it was cold with no shelter at all. " * 2
            + "The nurses explained everything.")
    cut = point(long, "en", {"nurs": 1.0, "explain": 1.0})
    assert "nurses explained everything" in cut and cut.startswith("…") and len(cut) < len(long)
    assert point("The nurses explained everything.", "en", {"nurs": 1.0}) == "The nurses explained everything."


def test_claims_merge_near_duplicates_with_counts() -> None:
    """Short statements that say the same are one claim with how many people made it; one-offs are not claims."""
    claims = find_claims([(1, "Staff were kind", "en"), (2, "the staff were very kind", "en"), (3, "Staff were kind!", "en"),
                          (4, "parking is hard", "en"), (5, "A long answer " + "that goes on " * 10, "en")])
    assert len(claims) == 1
    assert claims[0].count == 3 and claims[0].answer_ids == (1, 2, 3)
    assert claims[0].text == "Staff were kind"


def test_claims_merge_into_the_first_alike_statement_as_a_scan_of_all_would(nhs_answers: list[Answer]) -> None:
    """Comparing a statement only with merged statements that share a word groups exactly as comparing it with every one."""
    from analysis.claims import _SAME_CLAIM, _jaccard
    from analysis.headline import clause_key

    points = [(a.id, " ".join(a.text.split()[:n]), "en") for n in (4, 6, 9) for a in nhs_answers]
    points += [(f"x{i}", text, "en") for i, text in enumerate(["staff kind", "staff were kind", "kind staff helpful", "helpful staff", "staff"])]
    # Alike to two merged statements (0.8 each, which are 0.6 apart): it joins the first, the larger.
    points += [(f"y{i}", text, "en") for i, text in enumerate(["staff kind helpful nurse"] * 3 + ["staff kind helpful doctor"] * 2
                                                              + ["staff kind helpful nurse doctor"])]
    groups: dict[frozenset[str], list] = {}
    for answer_id, text, language in points:
        key = clause_key(text, language)
        if key and len(text.split()) <= 12:
            groups.setdefault(key, []).append(answer_id)
    merged: list[tuple[frozenset[str], list]] = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), sorted(k))):  # every merged statement, in order
        home = next((m for m in merged if _jaccard(m[0], key) >= _SAME_CLAIM), None)
        merged.append((key, list(groups[key]))) if home is None else home[1].extend(groups[key])
    expected = sorted(tuple(dict.fromkeys(ids)) for _key, ids in merged)
    found = sorted(claim.answer_ids for claim in find_claims(points, min_count=1, limit=100_000))
    assert len(found) > 100 and found == expected
    joined = next(ids for ids in found if "y5" in ids)
    assert "y0" in joined and "y3" not in joined


def test_gloss_is_for_catalog_languages_only() -> None:
    """Spanish, French, Arabic and Urdu answers get an English word gloss; other languages get none."""
    assert {"es", "fr", "ar", "ur"} <= GLOSS_LANGUAGES
    assert "interpreter" in (gloss("no hay intérprete", "es") or "").split()
    assert "hospital" in (gloss("il n'y a pas d'interprète à l'hôpital", "fr") or "").split()
    assert "hospital" in (gloss("لا يوجد مترجم في المستشفى", "ar") or "").split()
    assert gloss("xe buýt đến muộn", "vi") is None
    assert gloss("zzqx blorp", "es") is None


def _gloss_by_every_lookup(text: str, language: str) -> str | None:
    """Return :func:`gloss` as it was before its shortcuts: every pair of words looked up, every word read."""
    from analysis import gloss as gloss_mod
    from analysis import text as textmod

    words, _stems = gloss_mod._lexicon(language)
    stops = textmod.stop_words(language)
    tokens = gloss_mod._tokens(text, language)
    out: list[str] = []
    glossed = content = i = 0
    while i < len(tokens):
        token = tokens[i]
        if i + 1 < len(tokens):
            pair = words.get(gloss_mod.lexicon_key(token + " " + tokens[i + 1], language))
            if pair is not None:
                out.append(pair)
                glossed += 2
                content += 2
                i += 2
                continue
        i += 1
        if token in stops:
            continue
        content += 1
        english = gloss_mod._known(token, language)
        glossed += english is not None
        out.append(token if english is None else english)
    return None if not content or glossed / content < gloss_mod._MIN_GLOSSED else " ".join(out)


def test_gloss_shortcuts_give_what_every_lookup_gives(fixtures_dir: Path) -> None:
    """A pair of words is looked up only when the first starts a lexicon entry, and the gloss stops once under a third
    of the words could still be glossed (issue 19): the same gloss, or the same None, as reading everything."""
    import csv

    from analysis import gloss as gloss_mod

    with (fixtures_dir / "multilingual.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (fixtures_dir / "nhs_sample.csv").open(encoding="utf-8") as handle:
        english = [row["feedback"] for row in csv.DictReader(handle)][:60]
    texts = [(row["answer"], lang) for row in rows for lang in ("es", "fr", "ar", "ur")]
    texts += [(text, lang) for text in english for lang in ("es", "ar")]
    starts = sorted(gloss_mod._pair_starts("es"))[:20]
    texts += [(f"{first} {key.split(' ', 1)[1]} hospital", "es") for first in starts
              for key in gloss_mod._lexicon("es")[0] if key.startswith(first + " ")][:40]
    texts += [("el seguro médico no cubre nada", "es"), ("ﷺ والمستشفى ـ بعيد", "ar"), ("", "es"), ("de la", "es")]
    found = [(gloss(text, lang), _gloss_by_every_lookup(text, lang)) for text, lang in texts]
    assert all(new == old for new, old in found)
    assert sum(new is not None for new, _old in found) > 20 and sum(new is None for new, _old in found) > 20
    assert gloss_mod._plain_key("\ufe70", "ar") is None and gloss_mod._plain_key("médico", "es") == "médico"


def _bilingual() -> list[Answer]:
    """Return answers about interpreters and about buses, each in English and in Spanish."""
    answers = [Answer(f"ei{i}", f"There is no interpreter at the clinic, visit {i}", "en") for i in range(8)]
    answers += [Answer(f"si{i}", f"No hay intérprete en la consulta, visita {i}", "es") for i in range(8)]
    answers += [Answer(f"eb{i}", f"The bus is always late in the morning, day {i}", "en") for i in range(8)]
    answers += [Answer(f"sb{i}", f"El autobús siempre llega tarde por la mañana, día {i}", "es") for i in range(8)]
    return answers


def test_machine_gloss_brings_languages_together_and_says_so() -> None:
    """Answers that say the same in English and Spanish share a theme; the gloss is recorded and named in the method."""
    result = find_themes(_bilingual(), k=2)
    assert result.assignment["ei0"] == result.assignment["si0"]
    assert result.assignment["eb0"] == result.assignment["sb0"]
    assert result.assignment["ei0"] != result.assignment["eb0"]
    assert result.glosses and all(str(aid).startswith("s") for aid in result.glosses)
    assert "gloss" in result.method
    assert all(t.single_language is None for t in result.themes)


def test_headline_from_translation_is_flagged() -> None:
    """A theme mostly in another language takes its headline from people's translations, and says so."""
    answers = [Answer(f"s{i}", f"No hay intérprete en la clínica {i}", "es", translation=f"There is no interpreter at the clinic {i}") for i in range(6)]
    answers += [Answer(f"e{i}", f"The bus is late again on route {i}", "en") for i in range(10)]
    result = find_themes(answers, k=2, main_language="en")
    theme = next(t for t in result.themes if "s0" in t.answer_ids)
    assert theme.headline_from_translation and theme.headline_language == "en"
    assert "interpreter" in theme.headline.casefold()
    assert messages.HEADLINE_TRANSLATED_NOTE in theme.status_note
    assert all(q.startswith("No hay") for q in theme.quote_texts)


def test_question_words_never_label_a_theme() -> None:
    """Words of the question itself are not shown as a theme's terms."""
    answers = [Answer(f"a{i}", f"The clinic is too far from my home, answer {i}") for i in range(10)]
    answers += [Answer(f"b{i}", f"The clinic never has an interpreter for me, answer {i}") for i in range(10)]
    result = find_themes(answers, k=2, question="What makes it hard to use the clinic?")
    for theme in result.themes:
        assert not any("clinic" in term.casefold() for term in theme.top_terms), theme.top_terms
    assert messages.METHOD_QUESTION_NOTE in result.method


def test_every_theme_has_a_coherence_and_noise_is_not_a_confident_theme() -> None:
    """Unrelated one-off answers end in Other / unclear or in a theme marked mixed, never hidden in a clear theme."""
    answers = [Answer(f"b{i}", f"The bus is late again today, number {i}") for i in range(25)]
    answers += [Answer(f"w{i}", f"The waiting room is full and hot, visit {i}") for i in range(25)]
    noise = ["purple elephants dance", "my cousin sells tyres", "quantum physics homework", "the moon looked orange",
             "grandma knits scarves", "football on saturday", "violin lessons cost money", "snow in april"]
    answers += [Answer(f"n{i}", text) for i, text in enumerate(noise)]
    result = find_themes(answers, seed=0)
    assert all(t.coherence > 0 for t in result.themes)
    for i in range(len(noise)):
        group = result.assignment[f"n{i}"]
        if group != OTHER_ID:
            theme = result.theme(group)
            clean_members = [a for a in theme.answer_ids if str(a)[0] in "bw"]
            assert theme.mixed or len(clean_members) < theme.size / 2 or theme.size - len(clean_members) <= 2


BUS = ["The bus is late again", "Buses never come on time", "I waited an hour for the bus", "The bus was late so I missed my appointment",
       "No bus on Sundays", "The bus stop is far and the bus is late", "Bus drivers skip our stop", "The bus comes too rarely",
       "Late buses every morning", "I missed the bus because it came early", "There are not enough buses", "The bus is always full",
       "Bus service is unreliable", "The bus schedule changes without notice", "The bus takes two hours to the clinic"]
ROOM = ["The waiting room is full and hot", "Too many people in the waiting room", "We wait for hours in a crowded room",
        "The waiting room has no chairs", "It is hot in the waiting room", "Waiting room is dirty", "The waiting area is too small",
        "Nowhere to sit while waiting", "The waiting room is noisy", "Long waits in a packed room", "No air conditioning in the waiting room",
        "The waiting room is crowded every day", "Kids have nowhere to play in the waiting room", "Waiting room smells bad", "The room is so full we stand"]


def test_anchors_keep_reviewed_themes_and_take_new_answers() -> None:
    """A re-run with reviewed themes keeps their ids, labels and members; new answers that fit join them, others do not."""
    first_answers = [Answer(f"b{i}", t) for i, t in enumerate(BUS[:12])] + [Answer(f"w{i}", t) for i, t in enumerate(ROOM[:12])]
    first = find_themes(first_answers, k=2)
    bus = next(t for t in first.themes if "b0" in t.answer_ids)
    assert not any(str(a).startswith("w") for a in bus.answer_ids)
    anchors = [Anchor("bus-reviewed", "Buses are late", bus.answer_ids)]
    more = first_answers + [Answer(f"nb{i}", t) for i, t in enumerate(BUS[12:])] + [Answer(f"nw{i}", t) for i, t in enumerate(ROOM[12:])]
    second = find_themes(more, anchors=anchors)
    reviewed = second.theme("bus-reviewed")
    assert reviewed.reviewed and reviewed.label == "Buses are late" and not reviewed.mixed
    assert set(bus.answer_ids) <= set(reviewed.answer_ids)
    assert sum(second.assignment[f"nb{i}"] == "bus-reviewed" for i in range(3)) >= 2
    assert not any(second.assignment[f"nw{i}"] == "bus-reviewed" for i in range(3))
    assert second.k_scores["answers_joining_reviewed_themes"] >= 2
    assert "reviewed" in second.method


def test_overlapping_new_theme_is_flagged() -> None:
    """A machine theme that resembles a reviewed theme names it instead of standing beside it unmarked."""
    answers = [Answer(f"b{i}", t) for i, t in enumerate(BUS)] + [Answer(f"w{i}", t) for i, t in enumerate(ROOM)]
    # People reviewed the waiting-room theme from only its first answers; the same concern, worded
    # differently, either joins it or, where it forms a theme of its own, that theme says whom it resembles.
    anchors = [Anchor("room", "Crowded waiting room", tuple(f"w{i}" for i in range(4)))]
    result = find_themes(answers, k=4, anchors=anchors)
    for theme in result.themes:
        if not theme.reviewed and sum(str(a).startswith("w") for a in theme.answer_ids) > theme.size / 2:
            assert theme.overlaps == "room" and "room" in theme.status_note
    assert not any(t.overlaps for t in result.themes if t.size and all(str(a).startswith("b") for a in t.answer_ids))


def test_subthemes_nest_in_their_theme(nhs_answers: list[Answer]) -> None:
    """Sub-themes belong to one parent, hold only its answers, and every second theme is another theme."""
    result = find_themes(nhs_answers, seed=0)
    assert result.subthemes
    by_id = {t.id: t for t in result.themes}
    for sub in result.subthemes:
        parent = by_id[sub.parent]
        assert sub.id.startswith(parent.id + ".") and sub.id in parent.subthemes
        assert set(sub.answer_ids) <= set(parent.answer_ids)
    for aid, sub_id in result.sub_assignment.items():
        assert result.assignment[aid] == result.theme(sub_id).parent
    for aid, seconds in result.secondary.items():
        assert all(s != result.assignment[aid] and s in by_id for s in seconds)
        assert all(aid in by_id[s].secondary_ids for s in seconds)


def test_theme_engine_functions_stay_short() -> None:
    """No function of the theme engine runs over 100 lines (find_themes is a sequence of named steps)."""
    root = Path(__file__).resolve().parents[2] / "analysis"
    for name in ("themes.py", "headline.py", "claims.py", "gloss.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 <= 100, f"{name}: {node.name}"


def test_a_theme_and_its_sub_themes_share_one_reading_of_each_text_with_the_same_words() -> None:
    """Cased words counted from each text's own reading give the forms cased_forms gives, and a headline drawn with a
    run's memo of candidates is the headline drawn without it, the first time and when the memo is full."""
    from analysis import themes
    from analysis.headline import cased_forms, cased_words

    texts = ["WIC helped us. The wic office was far", "Staff were kind. WIC staff too", "We went to WIC, Nashville",
             "nashville has WIC and Wic", "", "Dr. [name] at the WKU clinic"]
    expected = {folded: min(forms.items(), key=lambda item: (-item[1], item[0] != folded, item[0]))[0]
                for folded, forms in cased_forms(texts).items()}
    assert themes._cased([cased_words(t) for t in texts]) == expected
    weights = {"wic": 2.0, "staff": 1.0, "nashvill": 0.5, "kind": 0.7}
    memo: dict = {}
    plain = headline(texts, "en", weights)
    assert plain and headline(texts, "en", weights, memo=memo) == plain and memo
    assert headline(texts, "en", weights, memo=memo) == plain
    assert headline(texts[2:], "en", weights, memo=memo) == headline(texts[2:], "en", weights)
