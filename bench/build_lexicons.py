"""Build the compact bilingual lexicons shipped in ``analysis/data/`` from Debian's packages.

Owns ``analysis/data/gloss-{es,fr,ar,ur}-en.tsv.gz`` and the attribution in
``analysis/data/LEXICONS.txt``. The installed app never needs apt: this script is run by a
developer, once, when a lexicon should be refreshed, and its output is committed.

Sources (every one GPL-2.0-or-later or GPL-3.0, so compatible with Chorus's AGPL-3.0):

- FreeDict (``apt-get install dict-freedict-spa-eng dict-freedict-eng-spa dict-freedict-fra-eng
  dict-freedict-eng-fra dict-freedict-ara-eng dict-freedict-eng-ara``): X -> English entries are
  read as they are, and English -> X entries are read backwards (the X word glosses as the English
  headword it translates), which roughly triples Spanish coverage.
- Urdu: no Urdu-English dictionary is packaged. Urdu and Hindi are one spoken language in two
  scripts, so FreeDict's English-Hindi (``dict-freedict-eng-hin``) is read backwards and each
  Hindi word is carried into Urdu script with Apertium's Hindi-Urdu pair (``apertium-urd-hin``,
  ``lttoolbox``'s ``lt-proc``).
- Vietnamese: no open Vietnamese-English lexicon is packaged by Debian or PyPI (checked
  2026-11-30); Vietnamese answers are not glossed.

Each line of a lexicon is ``word<TAB>gloss|gloss...`` (at most three English glosses, the most
direct first), words case-folded and, for Arabic and Urdu, without short-vowel marks.

Usage: ``python bench/build_lexicons.py [--dictd /usr/share/dictd] [--out analysis/data]``
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.gloss import lexicon_key  # noqa: E402

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_APERTIUM = Path("/usr/share/apertium/apertium-urd-hin")
_MAX_GLOSSES = 3
_MAX_WORDS = 3  # an English gloss longer than this is a definition, not a word


def _b64(value: str) -> int:
    """Decode dictd's base-64 offsets."""
    n = 0
    for c in value:
        n = n * 64 + _B64.index(c)
    return n


def read_dictd(dictd: Path, name: str) -> list[tuple[str, list[str]]]:
    """Return (headword, translations) for every entry of a dictd dictionary."""
    data = gzip.open(dictd / f"freedict-{name}.dict.dz").read()
    entries = []
    for line in (dictd / f"freedict-{name}.index").read_text(encoding="utf-8").splitlines():
        head, offset, length = line.split("\t")
        if head.startswith("00database") or head.startswith("00-database"):
            continue
        body = data[_b64(offset) : _b64(offset) + _b64(length)].decode("utf-8", "replace").splitlines()
        if not body:
            continue
        headword = re.split(r"\s+[/<]", body[0], maxsplit=1)[0].strip()
        translations: list[str] = []
        for raw in body[1:]:
            if raw.startswith(" ") or raw.startswith("\t") or raw.lstrip().startswith('"'):
                continue  # an example sentence
            raw = re.sub(r"^\d+\.\s*", "", raw.strip())
            raw = re.sub(r"\([^)]*\)|\[[^\]]*\]|<[^>]*>", " ", raw)
            for part in re.split(r"[,;]", raw):
                part = re.sub(r"\s+", " ", part.replace("~", " ")).strip(" .")
                if part:
                    translations.append(part)
        entries.append((headword, translations))
    return entries


def english_words(dictd: Path) -> frozenset[str]:
    """Return the single English words that head an English-X entry: the glosses' allowed words.

    Some FreeDict entries lost their spaces ("thereare", "middaymeal"); a gloss whose words
    are not all real headwords is dropped.
    """
    words: set[str] = set()
    for name in ("eng-spa", "eng-fra", "eng-ara", "eng-hin"):
        for head, _ in read_dictd(dictd, name):
            words.update(w for w in head.casefold().split() if w.isalpha())
    return frozenset(words)


_KNOWN: frozenset[str] = frozenset()


def _english(word: str) -> str | None:
    """Return an English gloss in the lexicon's form, or ``None`` for a definition or a name."""
    word = word.strip().casefold()
    if not word or len(word.split()) > _MAX_WORDS or not re.fullmatch(r"[a-z][a-z' -]*", word):
        return None
    word = re.sub(r"^(to|a|an|the) ", "", word)
    if _KNOWN and not all(w in _KNOWN for w in word.replace("-", " ").split()):
        return None
    return word


def build(dictd: Path, forward: str, backward: str, language: str) -> dict[str, list[str]]:
    """Return word -> English glosses from an X-English and an English-X dictionary."""
    ranked: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for head, translations in read_dictd(dictd, forward):
        key = lexicon_key(head, language)
        for position, english in enumerate(translations):
            gloss = _english(english)
            if key and gloss:
                ranked[key].append((0, position, gloss))
    for head, translations in read_dictd(dictd, backward):
        gloss = _english(head)
        if not gloss:
            continue
        for position, word in enumerate(translations):
            key = lexicon_key(word, language)
            if key and len(key.split()) <= 2:
                ranked[key].append((1, position, gloss))
    return _best(ranked)


def _best(ranked: dict[str, list[tuple[int, int, str]]]) -> dict[str, list[str]]:
    """Keep each word's most direct glosses, shortest first among equals, without repeats."""
    out: dict[str, list[str]] = {}
    for key, options in ranked.items():
        seen: list[str] = []
        for _source, _position, gloss in sorted(options, key=lambda o: (o[0], o[1], len(o[2].split()), o[2])):
            if gloss not in seen:
                seen.append(gloss)
            if len(seen) >= _MAX_GLOSSES:
                break
        out[key] = seen
    return out


def build_urdu(dictd: Path) -> dict[str, list[str]]:
    """Return Urdu word -> English glosses: English-Hindi read backwards, Hindi carried into Urdu script."""
    hindi: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for head, translations in read_dictd(dictd, "eng-hin"):
        gloss = _english(head)
        if not gloss:
            continue
        for position, word in enumerate(translations):
            # lttoolbox's stream format reserves these characters.
            if len(word.split()) == 1 and not re.search(r"[\^$/<>\[\]{}\\@*#+]", word):
                hindi[word].append((1, position, gloss))
    words = sorted(hindi)
    analysed = _lt_proc(["lt-proc", str(_APERTIUM / "hin-urd.automorf.bin")], words)
    lemmas = []
    for word, analysis in zip(words, analysed):
        # ^word/lemma<n><m><sg><nom>/...$ : the reading whose lemma is the word itself, else the first
        readings = re.findall(r"/([^<$/]+)((?:<[^>]+>)+)", analysis)
        reading = next((r for r in readings if r[0] == word), readings[0] if readings else None)
        lemmas.append(f"^{reading[0]}{reading[1]}$" if reading else None)
    transferred = _lt_proc(["lt-proc", "-b", str(_APERTIUM / "hin-urd.autobil.bin")], [l or "^x$" for l in lemmas])
    ranked: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for word, lemma, urdu in zip(words, lemmas, transferred):
        found = re.match(r"\^[^/]*/([^<$/@]+)", urdu) if lemma else None
        if found:
            key = lexicon_key(found.group(1), "ur")
            if key:
                ranked[key] += hindi[word]
    return _best(ranked)


def _lt_proc(command: list[str], items: list[str]) -> list[str]:
    """Run one lttoolbox step on items, one per line, and return its output lines."""
    out = subprocess.run(command, input="\n".join(items) + "\n", capture_output=True, text=True, check=True).stdout
    lines = out.split("\n")
    return (lines + [""] * len(items))[: len(items)]


def write(path: Path, lexicon: dict[str, list[str]]) -> None:
    """Write a lexicon as sorted, gzipped TSV (reproducible: no timestamp in the header)."""
    text = "".join(f"{key}\t{'|'.join(glosses)}\n" for key, glosses in sorted(lexicon.items()))
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as handle:
        handle.write(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Build every lexicon and print its size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dictd", type=Path, default=Path("/usr/share/dictd"))
    parser.add_argument("--out", type=Path, default=REPO / "analysis" / "data")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    global _KNOWN  # noqa: PLW0603 - one build per process
    _KNOWN = english_words(args.dictd)
    for language, forward, backward in (("es", "spa-eng", "eng-spa"), ("fr", "fra-eng", "eng-fra"), ("ar", "ara-eng", "eng-ara")):
        lexicon = build(args.dictd, forward, backward, language)
        write(args.out / f"gloss-{language}-en.tsv.gz", lexicon)
        print(f"{language}: {len(lexicon):,} words")
    lexicon = build_urdu(args.dictd)
    write(args.out / "gloss-ur-en.tsv.gz", lexicon)
    print(f"ur: {len(lexicon):,} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
