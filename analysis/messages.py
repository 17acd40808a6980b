"""User-facing strings of the analysis engine, in plain English, kept in one place.

The web layer may translate these (for example with ``gettext``/Babel, using the constant as
the message id); the engine itself never builds user-facing text anywhere else.
"""

from __future__ import annotations

OTHER_ID = "other"
OTHER_LABEL = "Other / unclear"
CONTENTLESS_LABEL = "No content (e.g. \"n/a\", \"idk\", emoji only)"
# Every hidden cell shows the same mark: a complementary cell may hold more than the
# threshold, and "<10" on it would be false and would narrow what the others can be.
SUPPRESSED_MARK = "*"
SUPPRESSED_NOTE = "* hidden: fewer than {threshold} answers, or a count that would reveal one."
SINGLE_LANGUAGE_NOTE = "Only {language} answers in this theme."
MULTI_LANGUAGE_NOTE = "Answers in {languages}."
UNTITLED_THEME = "Untitled theme"

PLACEHOLDER_EMAIL = "[email]"
PLACEHOLDER_PHONE = "[phone]"
PLACEHOLDER_URL = "[url]"
PLACEHOLDER_ADDRESS = "[address]"
PLACEHOLDER_NAME = "[name]"

METHOD_NOTE = (
    "Draft themes found by machine, to be reviewed by people. First, emails, web addresses, phone "
    "numbers, street addresses, the names supplied and names written after a title or an "
    "introduction (such as \"Dr.\", \"nurse\" or \"my name is\", in English, Spanish, French, "
    "Vietnamese, Arabic and Urdu) were replaced by [email], [url], [phone], [address] and [name]; "
    "other names and details that could identify a person were not, so read quotes before "
    "sharing them. Answers with no content (such as \"n/a\" or emoji only) were set aside. Each "
    "answer was represented by its character patterns, its stemmed words and a small offline "
    "word-embedding model (WordLlama){translation_note}{language_note}; answers were then "
    "grouped with k-means ({k_note}, seed {seed}){split_note}. Answers far from every group are listed "
    "as \"Other / unclear\" rather than forced into a theme. Labels are the words and phrases "
    "most distinctive of each group; quotes are typical of their theme and chosen to differ "
    "from each other."
)
METHOD_TRANSLATION_NOTE = "; where a translation was given, the translation was analysed and the original quoted"
METHOD_LANGUAGE_NOTE = "; differences typical of each language as a whole were removed so that themes follow meaning rather than language"
METHOD_SPLIT_NOTE_ONE = "; then one theme whose answers in different languages had nothing in common was split by language"
METHOD_SPLIT_NOTE_MANY = "; then {n} themes whose answers in different languages had nothing in common were split by language"
METHOD_HEADLINE_NOTE = (
    "Each theme's headline is a short clause taken from its own most typical answers (not written "
    "by the machine), with its most distinctive words beside it; quotes are cut to the sentence "
    "that carries the point, and short statements several people made are counted. Themes whose "
    "answers have little in common are marked for review, and answers that fit no theme well go "
    "to \"Other / unclear\"."
)
METHOD_GLOSS_NOTE = (
    "To bring answers in different languages together, answers in Spanish, French, Arabic and Urdu "
    "were also read through a word-by-word machine gloss into English from open dictionaries "
    "(FreeDict, Apertium); the gloss was used for grouping only and is not a translation."
)
METHOD_QUESTION_NOTE = "Words of the question itself, and words nearly every answer uses, were not allowed to form a theme."
METHOD_ANCHOR_NOTE = (
    "{n} reviewed themes were kept as people left them; new answers joined them where they fit, "
    "and a new theme that resembles a reviewed one is flagged."
)
MIXED_NOTE = "Mixed: its answers have less in common than most themes; please review."
OVERLAP_NOTE = "Resembles the reviewed theme {theme}: consider merging."
HEADLINE_TRANSLATED_NOTE = "Headline taken from a translation of the answers."
GLOSS_NOTE = "Machine gloss for grouping only, not a translation."
METHOD_K_AUTO = "{k} themes chosen automatically between {k_min} and {k_max}"
METHOD_K_FIXED = "{k} themes as requested"
METHOD_K_FEWER = "{k} themes requested, but only {found} distinct groups could be found"

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "ar": "Arabic",
    "vi": "Vietnamese",
    "sw": "Swahili",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "zh": "Chinese",
    "so": "Somali",
    "ru": "Russian",
    "und": "unknown language",
}


def language_name(code: str) -> str:
    """Return a plain English name for a language code, or the code itself if unknown."""
    return LANGUAGE_NAMES.get(code, code)

# Opinion groups (analysis.opinions): the report's fixed text.
OPINIONS_TITLE = "Opinion groups (draft)"
OPINIONS_DRAFT_NOTE = (
    "Groups of people who voted alike, found by machine: a draft for people to read, not a "
    "verdict on who belongs together. Groups are named by size (A is the largest)."
)
OPINIONS_METHOD = (
    "Method: principal component analysis of the votes (as Pol.is does; a missing vote counts as "
    "the statement's average), then k-means on the participants with enough votes; {choice} "
    "(seed {seed}). Everyone with at least one vote is placed. A statement represents a group "
    "when the group's share voting that way is above half and above the other groups' (one-sided "
    "tests at 90%, as Pol.is)."
)
OPINIONS_CHOICE_AUTO = (
    "{k} groups and votes read as {coding}, both chosen by how well the groups' most common votes "
    "predict votes held out of the analysis"
)
OPINIONS_CHOICE_FIXED = "{k} groups as requested; votes read as {coding}, chosen by how well the groups predict held-out votes"
OPINIONS_CHOICE_FEW = "{k} groups and votes read as {coding}: too few votes to choose by held-out votes"
OPINIONS_CHOICE_FEWER = "fewer groups than asked ({k}): too few distinct ways of voting; votes read as {coding}"
OPINIONS_SUPPRESSED_NOTE = "* hidden: fewer than {threshold} people or votes, or a count that would reveal one."
OPINIONS_CODINGS = {
    "signed": "a single scale (agree +1, pass 0, disagree -1)",
    "indicators": "three separate answers (agree, disagree, pass)",
}
