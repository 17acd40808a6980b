"""Stop words of the analysis engine, and the base language they are chosen by.

A small leaf module: :mod:`analysis.text` (tokens and terms) and :mod:`analysis.names` (which
words are never names) both read it, so neither imports the other in a circle.

Stop words are deliberately short lists of function words: generic lists (stopwordsiso's
English has 1,298 words) remove "nothing", "not", "good", "better", "help", which are what
feedback is made of.
"""
from __future__ import annotations

import functools
import re

__all__ = ["base_language", "stop_words"]


def base_language(language: str | None) -> str:
    """Return the primary subtag of a language tag ("es-MX" -> "es"), lower-cased."""
    if not language:
        return "und"
    return _base_of(language)


@functools.lru_cache(maxsize=1024)
def _base_of(language: str) -> str:
    """Return the primary subtag of a non-empty tag; cached: a theme run asks about a few tags 100,000s of times."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or "und"


# Short stop-word lists of function words only. Negations, quantities and evaluative words
# ("not", "nothing", "no", "more", "good", "better", "help") are kept on purpose.
_STOP_EN = """
a an the and or but if so as of at by for from in into on onto to with without about over
under than then i me my mine myself we us our ours you your yours he him his she her hers it
its they them their theirs this that these those there here who whom whose which what when
where why how am is are was were be been being have has had having do does did doing will
would shall should can could may might must just also still yet because while until both
each either neither some such own same other another again further once up down out off
very really quite much many lot lots bit im i'm ive i've id i'd ill i'll youre you're weve
we've theyre they're its it's thats that's theres there's isnt wasnt dont doesnt didnt
s t d ll m re ve etc eg ie oh ok okay yes yeah please thank thanks thankyou
""".split()
_STOP_ES = """
el la los las un una unos unas lo al del de a en con por para sin sobre entre hacia hasta
desde y e o u pero si que qué como cómo cuando cuándo donde dónde quien quién cual cuál
cuyo yo me mi mis mío mía tú te ti tu tus usted ustedes él ella ello ellos ellas le les se
su sus nos nosotros nosotras vosotros os vuestro nuestro nuestra nuestros nuestras este
esta estos estas ese esa esos esas aquel aquella esto eso aquello es son era eran fue
fueron ser sido siendo está están estaba estaban estar estoy estamos he ha han había
habían haber hay hago hace hacer muy mucho mucha muchos muchas bastante pues ya también
tan así porque mientras otro otra otros otras mismo misma sí vale gracias favor por_favor
será serán sería serían estará estarán estaría estarían habrá habrán habría va van voy vas vamos iba iban ir
""".split()
_STOP_FR = """
le la les un une des du de d l à au aux en dans par pour sur sous avec sans et ou mais si
que qu qui quoi dont où je j me m moi mon ma mes tu te t toi ton ta tes il elle on nous
vous ils elles lui leur leurs se s son sa ses ce cet cette ces c est sont était étaient
être été ai as a avons avez ont avait avoir fait faire très bien aussi donc car alors comme
oui merci sera seront serait seraient va vais vas vont allons allez aller
""".split()
# Words stopwordsiso lists that carry meaning in feedback; kept in every language.
_KEEP = set(
    """
not no nothing none never nobody nowhere without more less better best worse worst good
bad help need needs needed want wanted problem problems time long short wait waiting
nada nunca nadie ninguno ninguna no más menos mejor peor bien mal ayuda necesita tiempo
rien jamais personne aucun pas non plus moins mieux pire aide besoin temps
""".split()
)


@functools.cache
def stop_words(language: str | None) -> frozenset[str]:
    """Return the stop words used for ``language``: short hand-made lists, or a filtered generic one."""
    lang = base_language(language)
    if lang == "en":
        return frozenset(_STOP_EN)
    if lang == "es":
        return frozenset(_STOP_ES)
    if lang == "fr":
        return frozenset(_STOP_FR)
    try:
        import stopwordsiso  # noqa: PLC0415 - only needed for the rarer languages

        words = stopwordsiso.stopwords(lang)
    except Exception:  # unknown language code: no stop words rather than a failure
        words = set()
    # Multi-word entries (Vietnamese "bao giờ") cannot match single tokens; drop them.
    return frozenset(w for w in words if " " not in w and w not in _KEEP)
