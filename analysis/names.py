"""Spotting likely personal names in an answer, for redaction: a name is a word written like a
name right after a cue that introduces a person.

Public interface (used by :func:`analysis.text.redact`):

- ``name_spans(text, *, vocabulary=frozenset()) -> list[tuple[int, int]]``: the character spans
  of likely names in ``text``, merged and in order.
- ``fold_word(word) -> str``: the form vocabulary words are compared in (case-folded, no accents).

The rule, in every language Chorus offers (English, Spanish, French, Vietnamese, Arabic, Urdu):

1. A cue introduces a person: a title ("Dr.", "Mr.", "Ms.", "nurse", "Sra.", "Mme",
   "bác sĩ", "الدكتورة", "ڈاکٹر"), an introduction ("my name is", "I'm", "me llamo",
   "je m'appelle", "tên tôi là", "اسمي", "میرا نام"), a relation ("my son", "mi hija",
   "ma fille") or "named". Urdu also puts an honorific after a name ("احمد صاحب").
2. In scripts with capital letters, the words right after the cue that start with a capital
   (up to four, with "de", "van", "bin"... between them) are the name. Arabic script has no
   capitals, so the one or two words after the cue are the name unless they are function
   words or common adjectives and verbs.
3. A word is never a name when it is in the session's own vocabulary (its title, purpose,
   questions and choices: "Guilford", "Cone Health", "WIC"), a function word, an identity
   ("Black", "Latina", "Muslim", "Vietnamese": "I'm Black" names no one), a month or a day,
   or a short acronym ("OB", "WIC").
4. Once a name is found, its other whole-word appearances in the same answer are names too
   ("Dr. Patel was kind. Patel listened." loses both).

Precision and recall on a hand-labelled set of synthetic sentences are measured in
``tests/analysis/test_names.py`` and reported in docs/privacy.md. What this cannot find: a name
with no cue ("Keisha helped me"), a name written in lower case, an Arabic or Urdu name after
a cue it does not know, nicknames that are ordinary words after a cue it does not know.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from analysis.stopwords import stop_words

__all__ = ["name_spans", "fold_word", "fold_vocabulary"]


def fold_word(word: str) -> str:
    """Return a word case-folded and without accents, the form names and vocabulary are compared in."""
    decomposed = unicodedata.normalize("NFD", word.replace("’", "'"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")).casefold()


@functools.lru_cache(maxsize=32)
def fold_vocabulary(vocabulary: frozenset[str]) -> frozenset[str]:
    """Return a vocabulary's words folded, computed once per distinct vocabulary."""
    return frozenset(fold_word(w) for w in vocabulary)


# --- cues --------------------------------------------------------------------------------------

# Titles and roles written before a person's name, one per line (case-insensitive). After a
# title, any capitalised word is taken as a name ("Dr. Will", "Nurse May").
_TITLES = """
dr. | dr | doctor | doc | prof. | prof | professor | nurse | nurse practitioner | midwife | doula
mr. | mr | mrs. | mrs | ms. | ms | miss | mx. | mx | sister | pastor | rev. | rev | reverend | officer
aunt | auntie | uncle | grandma | grandpa | granny | nana
dra. | dra | doctora | enfermera | enfermero | partera | comadrona | sr. | sr | sra. | sra | srta. | srta
señor | señora | señorita | don | doña | licenciada | licenciado | lic.
docteur | docteure | doctoresse | infirmière | infirmier | sage-femme | mme. | mme | mlle. | mlle
monsieur | madame | mademoiselle
bác sĩ | bác sỹ | bs. | y tá | điều dưỡng | nữ hộ sinh | ông | bà | cô | chị | anh | em | chú | dì | bé
"""
# Introductions and relations (case-insensitive). After these, function words and ordinary
# words are not names ("I'm So tired", "Soy De Honduras", "je suis La seule").
_INTRODUCTIONS = """
my name is | my name's | my names | name is | i'm | i’m | im | i am | call me | named
my son | my daughter | my baby | my husband | my wife | my partner | my boyfriend | my girlfriend
my fiancé | my fiance | my sister | my brother | my mom | my mother | my friend | my cousin
my neighbor | my neighbour | my caseworker | my case worker | my doctor | my nurse | my midwife
my doula | my ob | my pediatrician | our son | our daughter | our baby | her son | her daughter
me llamo | mi nombre es | yo soy | soy | llamada | llamado | mi hijo | mi hija | mi bebé | mi bebe
mi esposo | mi esposa | mi marido | mi pareja | mi novio | mi novia | mi hermana | mi hermano
mi mamá | mi amiga | mi amigo | mi vecina | mi doctora | mi doctor | mi enfermera
je m'appelle | je m’appelle | mon nom est | je suis | appelée | appelé | nommée | nommé | mon fils
ma fille | mon bébé | mon mari | ma femme | mon conjoint | ma conjointe | mon compagnon | ma compagne
ma sœur | ma soeur | mon frère | mon amie | mon ami | ma voisine | mon médecin | ma sage-femme
tên tôi là | tôi tên là | tôi tên | tên là | tôi là | em tên là | em tên
"""
# Titles written with a capital only, which would be ordinary words in lower case.
_CASED_TITLES = "M."

# Arabic and Urdu cues (no capitals in these scripts). Arabic words may carry a one-letter
# conjunction or preposition in front ("والدكتورة", "للدكتور").
_ARABIC_TITLES = """
د. | دكتور | دكتورة | الدكتور | الدكتورة | الطبيب | الطبيبة | الممرضة | الممرض | ممرضة | ممرض | القابلة
السيد | السيدة | الأستاذ | الأستاذة | الاستاذ | الاستاذة | الآنسة | الانسة | الحاج | الحاجة
اسمي | إسمي | أنا اسمي | انا اسمي | أدعى | ادعى
ڈاکٹر | ڈاکٹرنی | نرس | مسٹر | مسز | محترمہ | محترم | دائی | آپا | باجی | میرا نام
"""
# Urdu honorifics written after a name ("احمد صاحب").
_URDU_AFTER = ("صاحب", "صاحبہ", "بیگم")


def _phrases(block: str) -> list[str]:
    """Return the cue phrases of a block: separated by "|" or line breaks."""
    return [p.strip() for line in block.splitlines() for p in line.split("|") if p.strip()]


def _alternation(phrases: Iterable[str]) -> str:
    """Return a regex alternation of phrases, longest first, spaces matching any whitespace."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(r"\s+".join(re.escape(part) for part in p.split()) for p in ordered)


def _trie(phrases: Iterable[str]) -> str:
    """Return a regex matching any of ``phrases``, factored by shared prefixes so it runs fast.

    Python's ``re`` tries every branch of a flat alternation at every character; with the
    branches nested by their first letters it tries only the few that can still match.
    """
    root: dict = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:
        """Return the pattern for one trie node."""
        branches = [(r"\s+" if char == " " else re.escape(char)) + emit(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return emit(root)


# A cue ends in a full stop ("Dr.Smith" too) or in spaces, perhaps with a comma ("my nurse, Keisha").
# A title never takes a comma ("Dr, tables and meals" is a list); "N.M.C." holds no "M.".
_CUE_END = r"(?:(?<=\.)[ \t]*|[ \t]*[,:]?[ \t]+)"
_TITLE_END = r"(?:(?<=\.)[ \t]*|[ \t]+)"
_TITLE_CUE = re.compile(r"(?<![\w'’.])(?:" + _alternation(_phrases(_TITLES)) + r")" + _TITLE_END, re.IGNORECASE)
# "M. Dupont" has a space; "M.E.N.A.S." is an acronym.
_CASED_TITLE_CUE = re.compile(r"(?<![\w'’.])(?:" + _alternation(_phrases(_CASED_TITLES)) + r")[ \t]+")
_INTRODUCTION_CUE = re.compile(r"(?<![\w'’.])(?:" + _alternation(_phrases(_INTRODUCTIONS)) + r")" + _CUE_END,
                               re.IGNORECASE)

# "Nuestra Señora de Valverde" is a church or a place, not a person.
_OUR_LADY = re.compile(r"\bnuestra\s+$", re.IGNORECASE)
# Where a cue in a script with capitals may start: found in one pass of a prefix-factored
# pattern, then each place is matched against the cue patterns above.
_CUE_START = re.compile(
    r"(?<![\w'’.])" + _trie({p.casefold() for p in _phrases(_TITLES) + _phrases(_INTRODUCTIONS) + _phrases(_CASED_TITLES)})
    + r"(?:(?<=\.)|(?![\w'’]))",
    re.IGNORECASE,
)
# When capitals say nothing (a text in capitals or in Title Case), only these cues count.
_STRONG = """
my name is | my name's | name is | named | me llamo | mi nombre es | llamada | llamado | je m'appelle
je m’appelle | mon nom est | nommée | nommé | appelée | tên tôi là | tôi tên là
dr. | dr | dra. | dra | mr. | mr | mrs. | mrs | ms. | ms | sr. | sra. | srta. | mme | mlle | bác sĩ
"""
_STRONG_CUE = re.compile(r"(?<![\w'’.])(?:" + _alternation(_phrases(_STRONG)) + r")" + _TITLE_END, re.IGNORECASE)
# Arabic-script letters and marks, without Arabic punctuation (، ؛ ؟ ۔) and digits.
_AR = ("\u0610-\u061a\u0620-\u065f\u066e-\u06d3\u06d5-\u06ef\u06fa-\u06ff"
       "\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff")
_ARABIC_LETTER = re.compile(f"[{_AR}]")
_ARABIC_CUE = re.compile(
    rf"(?<![{_AR}])(?:[وفبل]|وب|ول)?(?:" + _alternation(_phrases(_ARABIC_TITLES)) + rf")(?![{_AR}])\s*"
)
_ARABIC_AFTER = re.compile(rf"([{_AR}]+)\s+(?:{'|'.join(_URDU_AFTER)})(?![{_AR}])")

# A word in a script with capitals: starts with a letter; inner apostrophes and hyphens kept.
_LATIN_WORD = re.compile(r"\s*([^\W\d_](?:[\w]|['’\-](?=[^\W\d_]))*)(\.?)")
_ARABIC_WORD = re.compile(rf"\s*([{_AR}]+)")
_WORDS = re.compile(r"[^\W\d_][\w'’\-]*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
# Words that join the parts of a name ("María de la Cruz", "Ludwig van Beethoven", "Ali bin Said").
_PARTICLES = frozenset("de del la las los da das do dos di du le van von der den ter bin ibn bint al el y e".split())


# --- words that are never names ------------------------------------------------------------------

_IDENTITIES = """
black white brown asian latina latino latinx latine hispanic hispana hispano native indigenous
american americana americano african afroamericana afroamericano afro-american african-american
caribbean biracial multiracial mixed arab arabe árabe muslim musulmana musulmán musulmane christian
cristiana cristiano chrétienne catholic católica católico catholique jewish baptist methodist
pentecostal hindu buddhist sikh mexican mexicana mexicano honduran hondureña hondureño guatemalan
guatemalteca guatemalteco salvadoran salvadoreña salvadoreño puerto rican puertorriqueña
dominican dominicana dominicano cuban cubana colombian colombiana venezuelan venezolana peruvian
vietnamese montagnard degar hmong burmese karenni congolese congolaise sudanese somali ethiopian
eritrean nigerian ghanaian liberian kenyan haitian haïtienne haïtien jamaican iraqi syrian afghan
pakistani indian bangladeshi nepali bhutanese chinese korean filipino filipina lumbee cherokee
french française français spanish española english inglés arabic urdu pashto dari swahili
africaine africain noire noir blanche blanc métisse marocaine algérienne tunisienne sénégalaise
camerounaise ivoirienne malienne guinéenne canadienne américaine
negra negro blanca blanco morena moreno indígena mestiza mestizo
deaf queer gay lesbian trans transgender nonbinary female male woman man libertarian conservative
liberal progressive democrat republican independent immigrant refugee citizen veteran disabled
việt mỹ thượng
""".split()
_ORDINARY = """
i a an the not no never always also just really still so very too here there from new old
happy sad tired grateful thankful glad sure sorry worried scared afraid fine good ok okay alone
single pregnant married separated divorced young older mom mother mama dad father papa parent
grandma grandmother abuela madre padre mamá papá embarazada soltera casada enceinte maman mère
père seule mariée
confused frustrated angry upset stressed anxious depressed lonely overwhelmed exhausted hopeful
disappointed
médico médica enfermero maestra maestro profesora profesor estudiante student teacher worker
trabajadora trabajador abogada abogado infirmier étudiante étudiant
yes sí oui thank thanks gracias merci hello hi hola bonjour
""".split()
# Capitalised words that follow a title without being a name ("Dr. Office", "Nurse Practitioner").
_NOT_AFTER_TITLE = """
medicaid medicare wic snap chip ebt god jesus lord dios dieu allah office offices visit visits
appointment appointments clinic hospital said told says practitioner assistant team staff unit ward
head
""".split()
_NEVER_AFTER_TITLE = frozenset(fold_word(w) for w in _NOT_AFTER_TITLE)
_NEVER_AFTER_INTRODUCTION = frozenset(fold_word(w) for w in _IDENTITIES + _ORDINARY) | _NEVER_AFTER_TITLE
# A title is not itself a name ("Chị Em" is "sisters", "Madame La Directrice" a post).
_TITLE_WORDS = frozenset(fold_word(p) for p in _phrases(_TITLES) if " " not in p and not p.endswith("."))

# Arabic and Urdu function words, and common words that follow a title as a description
# ("the nurse was kind"), never names. Short on purpose: longer lists would hide real names
# such as "لطيفة" (Latifa), which is also the adjective "kind".
_NEVER_ARABIC = frozenset("""
في من إلى الى على عن مع و أو او ثم لا لم لن ما هو هي هم كان كانت يكون تكون قال قالت قد كل بعد قبل
جدا جداً كثيرا كثيراً لي لنا له لها لكن التي الذي هذا هذه ذلك تلك هناك هنا ساعدتني ساعدني ساعدت
ساعد ممتاز ممتازة رائع رائعة جيد جيدة سيء سيئة طيب طيبة لطيف مريض مريضة عندي عنده عندها أيضا
ايضا يعني اللي
نے نے کو کا کی کے سے میں نہیں ہے ہیں تھا تھی تھے تھیں اور بھی بہت کہا کہتے ہوں ہو یہ وہ جی
اچھا اچھی اچھے بری برا ایک کیا کیں کرتے کرتی صاحب صاحبہ
""".split())


@functools.lru_cache(maxsize=4)
def _arabic_stop_words() -> frozenset[str]:
    """Return Arabic function words from stopwordsiso (loaded once) with Chorus's own short lists."""
    return frozenset(stop_words("ar")) | _NEVER_ARABIC


@functools.lru_cache(maxsize=4)
def _function_words() -> frozenset[str]:
    """Return the function words of English, Spanish and French, case-folded (accents kept).

    Vietnamese is left out: its function-word list holds syllables that are also given names
    ("Lan", "Minh", "Nam"), and after a cue Vietnamese writes a name with capitals anyway.
    """
    return frozenset(w.casefold() for lang in ("en", "es", "fr") for w in stop_words(lang)) - _NAME_LIKE_FUNCTION_WORDS


# Function words that are also common given names or family names ("Dr. Will", "Dr. Le", "An").
_NAME_LIKE_FUNCTION_WORDS = frozenset("will may an le ma do ho ha".split())


def _latin_name_like(word: str, vocabulary: frozenset[str], *, strict: bool) -> bool:
    """Tell whether a word written in a script with capitals may be a personal name.

    ``strict`` (the first word after an introduction such as "I'm", not after a title) also
    refuses identities and ordinary words ("I'm Black", "I'm Tired").
    """
    if not word[0].isupper():
        return False
    if word.isupper() and 1 < len(word) <= 3:
        return False  # an acronym: OB, ER, WIC
    folded = fold_word(word)
    if folded in vocabulary or folded in _NEVER_AFTER_TITLE or folded in _TITLE_WORDS:
        return False
    if word.casefold() in _function_words():
        return False
    return not (strict and folded in _NEVER_AFTER_INTRODUCTION)


def _arabic_name_like(word: str, vocabulary: frozenset[str]) -> bool:
    """Tell whether an Arabic-script word after a cue may be a personal name."""
    return len(word) >= 2 and word not in _arabic_stop_words() and fold_word(word) not in vocabulary


# --- finding names ---------------------------------------------------------------------------


def _latin_after(text: str, start: int, vocabulary: frozenset[str], *, strict: bool,
                 most: int = 4) -> tuple[int, int] | None:
    """Return the span of the capitalised name right after a cue ending at ``start``, if any."""
    pos, first, last, count, particles = start, None, None, 0, 0
    while count < most:
        m = _LATIN_WORD.match(text, pos)
        if m is None:
            break
        word = _POSSESSIVE.sub("", m.group(1))
        end = m.start(1) + len(word)
        # Only the first word after an introduction must pass the strict test: "I'm Black" names
        # no one, but "my name is Tanisha Brown" and "Tên tôi là Nguyễn Thị Lan" are whole names.
        initial = len(word) == 1 and word.isupper() and m.group(2) == "."
        if initial or _latin_name_like(word, vocabulary, strict=strict and first is None):
            first = m.start(1) if first is None else first
            last = end
            count += 1
            particles = 0
            # An initial keeps its full stop ("J. Smith"); a word's own possessive stays outside.
            pos = m.end() if (len(word) == 1 and m.group(2)) else end
            if len(word) != len(m.group(1)):
                break
            continue
        if fold_word(word) in _PARTICLES and particles < 2 and not m.group(2) and (first or not strict):
            particles += 1  # "María de la Cruz", "Dr. De Souza": at most two joining words in a row
            pos = end
            continue
        break
    return None if first is None else (first, last)


def _starts_sentence(text: str, start: int) -> bool:
    """Tell whether the word at ``start`` begins the text or a sentence."""
    before = text[max(0, start - 8):start].rstrip()
    return start == 0 or not text[:start].strip() or before[-1:] in ".!?¡¿:;\n"


def _capitals_say_nothing(text: str) -> bool:
    """Tell whether a text is written in capitals or in Title Case, so a capital marks no name.

    Title Case shows in function words: in ordinary writing "for", "the", "de" are lower case
    except at the start of a sentence.
    """
    words = [(m.start(), m.group(0)) for m in _WORDS.finditer(text)]
    if len(words) >= 3 and text.upper() == text:
        return True
    inner = [w for start, w in words if w.casefold() in _function_words() and not _starts_sentence(text, start)]
    capitalised = sum(1 for w in inner if w[0].isupper())
    return capitalised >= 2 and capitalised >= 0.5 * len(inner)


def _arabic_after(text: str, start: int, vocabulary: frozenset[str], limit: int) -> tuple[int, int] | None:
    """Return the span of up to ``limit`` Arabic-script words right after a cue, if they may be a name."""
    pos, first, last = start, None, None
    for _ in range(limit):
        m = _ARABIC_WORD.match(text, pos)
        if m is None or not _arabic_name_like(m.group(1), vocabulary):
            break
        first = m.start(1) if first is None else first
        last = pos = m.end(1)
    return None if first is None else (first, last)


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Merge overlapping spans and spans separated only by spaces, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def name_spans(text: str, *, vocabulary: frozenset[str] | Iterable[str] = frozenset()) -> list[tuple[int, int]]:
    """Return the spans of likely personal names in ``text``: capitalised words after a cue, and their repeats."""
    if not text:
        return []
    vocab = fold_vocabulary(vocabulary if isinstance(vocabulary, frozenset) else frozenset(vocabulary))
    spans: list[tuple[int, int]] = []
    # Cues are tried only where one can start (one pass of a prefix-factored pattern), instead
    # of three long alternations tried at every character.
    found_after: list[tuple[int, tuple[int, int]]] = []
    for word in _CUE_START.finditer(text):
        if _OUR_LADY.search(text, max(0, word.start() - 12), word.start()):
            continue  # "Nuestra Señora de Valverde" is a church or a place, not a person
        for pattern, strict in ((_TITLE_CUE, False), (_CASED_TITLE_CUE, False), (_INTRODUCTION_CUE, True)):
            cue = pattern.match(text, word.start())
            if cue is not None:
                span = _latin_after(text, cue.end(), vocab, strict=strict)
                if span:
                    found_after.append((word.start(), span))
                break
    if found_after and _capitals_say_nothing(text):
        # "I MISS HOME", "The Nurse Line Was Closed": only a plain introduction or a short title counts.
        kept = []
        for start, _span in found_after:
            cue = _STRONG_CUE.match(text, start)
            span = _latin_after(text, cue.end(), vocab, strict=True, most=2) if cue else None
            if span:
                kept.append((start, span))
        found_after = kept
    spans += [span for _start, span in found_after]
    if _ARABIC_LETTER.search(text):
        for cue in _ARABIC_CUE.finditer(text):
            # One word: the word after a name in Arabic is as often a verb as a family name
            # ("اسمي فاطمة ولدي"); Urdu's "میرا نام ... ہے" closes the name itself.
            limit = 3 if cue.group(0).strip().endswith("نام") else 1
            found = _arabic_after(text, cue.end(), vocab, limit)
            if found:
                spans.append(found)
        for m in _ARABIC_AFTER.finditer(text):
            if _arabic_name_like(m.group(1), vocab) and not _ARABIC_CUE.fullmatch(m.group(1)):
                spans.append((m.start(1), m.end(1)))
    if not spans:
        return []
    # The same name written again in the answer, without its cue, is the same person.
    words = {w for start, end in spans for w in re.findall(rf"[^\W\d_][\w'’\-]*|[{_AR}]+", text[start:end])
             if len(w) > 1 and fold_word(w) not in _PARTICLES}
    for word in words:
        for m in re.finditer(rf"(?<![\w'’]){re.escape(word)}(?![^\W_])", text):
            spans.append((m.start(), m.end()))
    return _merge(spans, text)
