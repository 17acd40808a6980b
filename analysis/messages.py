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
METHOD_SAMPLE_NOTE = (
    "There were {n:,} distinct answers: the themes, their labels, quotes and claims were found on a random "
    "sample of {sample:,} of them (the most repeated answers included), and every other answer was then placed "
    "in the theme whose centre it is nearest, or in \"Other / unclear\"."
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


def N_(message: str) -> str:
    """Mark an engine message for translation and return it unchanged.

    ``N_`` is one of pybabel's default keywords, so ``translations/refresh`` extracts these
    strings into every catalog; the app translates one with ``gettext(message) % params``.
    """
    return message


# Importing answers exported by other tools (analysis.importing, analysis.import_mapping).
# Each is the message id of an :class:`analysis.importing.Issue`; its placeholders are the
# issue's params. "Row" is the row number a spreadsheet shows (the header is row 1).
IMPORT_EMPTY = N_("The file is empty: it needs a header row and at least one row of answers.")
IMPORT_NOT_A_TABLE = N_("This is not a CSV file or a spreadsheet (.xlsx, .xls, .ods). Save it as “CSV UTF-8” or as an Excel workbook and try again.")
IMPORT_ENCODING = N_("The file could not be read as UTF-8 or Windows-1252 text. Save it as “CSV UTF-8” and try again.")
IMPORT_BROKEN_CSV = N_("Row %(row)s is not well-formed CSV: check its quotation marks and line breaks.")
IMPORT_BROKEN_WORKBOOK = N_("The spreadsheet could not be opened: it may be damaged or protected by a password.")
IMPORT_NO_SUCH_SHEET = N_("The workbook has no sheet called “%(sheet)s”.")
IMPORT_TOO_MANY_COLUMNS = N_("The file has %(columns)s columns; Chorus reads at most %(max)s. Delete the columns that hold no answers (and any empty ones after them) and try again.")
IMPORT_WORKBOOK_TOO_LARGE = N_("The workbook holds more than %(mb)s MB once unpacked, more than Chorus can read at once. Save the answers as “CSV UTF-8” and try again.")
IMPORT_TOO_BIG_SHEET = N_("The sheet “%(sheet)s” spans %(height)s rows and %(width)s columns, more cells than Chorus can read at once (%(limit)s). Delete the empty rows and columns after the answers, or save the sheet as “CSV UTF-8”, and try again.")
IMPORT_READ_UTF8 = N_("Read as UTF-8 text.")
IMPORT_READ_UTF8_BOM = N_("Read as UTF-8 text (with a byte-order mark).")
IMPORT_READ_UTF16 = N_("Read as UTF-16 text.")
IMPORT_READ_CP1252 = N_("Read as Windows-1252 text, because it is not UTF-8: check that accented letters look right in the preview.")
IMPORT_SHEET_CHOSEN = N_("This workbook has several sheets (%(sheets)s); the answers were read from “%(sheet)s”. Choose another sheet if they are elsewhere.")
IMPORT_REPEAT_SHEETS = N_("Sheets of repeated questions (%(sheets)s) are not imported.")
IMPORT_RECOGNISED = N_("Recognised as an export from %(tool)s.")
IMPORT_TWO_HEADER_ROWS = N_("The first two rows are both headers (as SurveyMonkey writes them): each column is named by both.")
IMPORT_REPEATED_HEADER = N_("Several columns are called “%(header)s”; they are numbered to tell them apart.")
IMPORT_UNNAMED_COLUMN = N_("Column %(column)s has no header, so it is called by its letter.")
IMPORT_EXTRA_CELLS = N_("Row %(row)s has %(found)s cells but the header has %(expected)s: check its quotation marks and commas. The row is not imported.")
IMPORT_FORMULA_VALUE = N_("Row %(row)s, column “%(column)s”: the cell holds a formula; the value it showed is read, never the formula.")
IMPORT_FORMULA_DROPPED = N_("Row %(row)s, column “%(column)s”: the cell holds a formula with no saved value, so it is read as blank.")
IMPORT_FORMULA_TEXT = N_("Row %(row)s, column “%(column)s”: the text starts like a spreadsheet formula; it is kept as plain text and never run.")
IMPORT_NO_CONSENT_RULE = N_("Say how people agreed before importing: choose the column that records consent to take part, or write the consent statement that covers the whole file.")
IMPORT_NOT_CONSENTED = N_("Row %(row)s: no consent to take part (“%(value)s”), so the row is refused and nothing from it is stored.")
IMPORT_CONSENT_UNCLEAR = N_("Row %(row)s, column “%(column)s”: “%(value)s” is not a clear yes, so it counts as no.")
IMPORT_CONTACT_LEFT_OUT = N_("Contact details left out for people who did not agree to be contacted: %(count)s.")
IMPORT_UNMAPPED_VALUE = N_("Row %(row)s, column “%(column)s”: “%(value)s” is not one of this question's choices, so it is not imported.")
IMPORT_SEVERAL_FOR_ONE = N_("Row %(row)s, column “%(column)s”: “%(value)s” gives several choices for a question that takes one, so it is not imported.")
IMPORT_TOO_LONG = N_("Row %(row)s, column “%(column)s”: the answer is %(length)s characters long, more than the %(max)s an answer may have, so it is not imported.")
IMPORT_NOT_ON_SCALE = N_("Row %(row)s, column “%(column)s”: “%(value)s” is not a number from %(low)s to %(high)s, so it is not imported.")
IMPORT_DATE_VALUE = N_("Row %(row)s, column “%(column)s”: “%(value)s” looks like a date; a spreadsheet may have turned a range such as 1-5 into a date.")
IMPORT_BLANK_CELLS = N_("Column “%(column)s”: blank cells: %(count)s (no answer is stored for them).")
IMPORT_UNKNOWN_LANGUAGE = N_("Row %(row)s, column “%(column)s”: “%(value)s” is not one of this session's languages, so the session's main language is used.")
IMPORT_UNKNOWN_SOURCE = N_("Row %(row)s, column “%(column)s”: “%(value)s” is not a source Chorus knows, so the file's source is used.")
IMPORT_BAD_TIME = N_("Row %(row)s, column “%(column)s”: “%(value)s” is not a date and time Chorus can read, so the time of the import is used.")
IMPORT_DUPLICATE_ROW = N_("Row %(row)s has the same “%(column)s” as row %(first)s, so only row %(first)s is imported.")
IMPORT_NO_ROW_ID = N_("Row %(row)s has no “%(column)s”, so a fingerprint of the row recognises it instead.")
IMPORT_NO_ANSWERS = N_("Row %(row)s has no answers, so nothing is stored for it.")
IMPORT_COLUMN_LEFT_OUT = N_("Column “%(column)s” is not imported (rows with something in it: %(count)s). Choose a question for it if it holds answers.")
IMPORT_SEVERAL_ANSWERS = N_("Row %(row)s: several columns answer “%(question)s”, a question that takes one answer; the first, “%(column)s”, is used.")

# Why a column or a value was read as it was (shown beside each proposal in the preview).
MATCH_SAME_WORDING = N_("same wording")
MATCH_OTHER_LANGUAGE = N_("same wording, in another of the session's languages")
MATCH_NUMBERED = N_("same wording, without its numbering")
MATCH_CLOSE = N_("close wording: please check")
MATCH_POSITION = N_("the choice's number")
MATCH_CODE = N_("the survey tool's code for the choice: please check")
MATCH_PREFER_NOT = N_("“Prefer not to say”")
MATCH_VALUES = N_("its answers are this question's choices")
MATCH_QUESTION_NUMBER = N_("the question's number: please check")
MATCH_NAME = N_("its name")
MATCH_TOOL = N_("a column the survey tool adds")
MATCH_SPLIT_CHOICE = N_("one choice of a question whose answers are read from another column")
MATCH_ONLY_OPEN = N_("the only open question left, and its answers are free text: please check")

# Reading a REFI-QDA project (analysis.qdpx): the message id of a QdpxError's issue.
QDPX_NOT_A_PROJECT = N_("This is not a REFI-QDA project: choose the .qdpx file your analysis software exported.")
QDPX_BROKEN_XML = N_("The project file is damaged near line %(line)s, so it cannot be read.")
QDPX_TOO_LARGE = N_("The project is too large to read (more than %(limit)s MB once unpacked).")
