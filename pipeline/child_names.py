"""The one matcher of children's names, for every place a name must not travel.

The board report refuses to be written with a name in it (`report.privacy`);
ingest flags returns whose answers name a child and takes names out of the
feedback it writes; chase texts, the status workbook and the learning log are
checked the same way; the cycle workbook's case references and the forms' file
names may not contain one (`name_in_identifier`). What counts as a name of the
child in a case:

- the full name, always (whole words, any case, any spacing);
- each part of the name of 3 or more letters (and each piece of a hyphenated
  or apostrophised part), as a whole word in any case, unless the part is also
  an ordinary word: then only written with a capital first letter (so a child
  called Hope is caught as "Hope" or "HOPE" but "we hope" is not);
- a part that is also a word of the cycle's own vocabulary (an agency,
  priority area, standard or KLOE wording, e.g. "Early" in Early Help) is
  matched only as part of the full name, as it appears everywhere anyway.

Names and text are compared in a folded form (`fold`), so another spelling of
the same letters is the same name: Unicode compatibility forms (full-width
letters, ligatures, mathematical letters) made plain, accents removed ("Sian"
is "Siân", "Wymyslona" is "Wymyślona"), Latin letters that have no accent to
remove spelled in ASCII ("Michal" is "Michał"), case ignored, invisible format
characters (zero-width space or joiner, soft hyphen) dropped, and letters of
other scripts that look like Latin ones (Cyrillic "о", Greek "Α") read as
those Latin letters. Look-alikes come from the Unicode confusables data
shipped by `confusable-homoglyphs`; accent-less Latin letters are spelled by
`anyascii`, used for Latin letters only (it spells other scripts by sound,
which would make names written in them match unrelated words).

"Whole word" means not run into other letters or digits; an underscore counts
as a separator, as it does in file names ("POLICE_N-01_Surname.docx").
Identifiers (case references, file names) are checked more strictly: any part
of 3 or more letters, in any case, with digits as separators too ("AMY1").
Not matched: nicknames and short forms ("Sam" for Samantha), misspellings
beyond accents and look-alikes, names written in another script by sound
(a Latin-script name typed in Cyrillic), and names that are not in the cycle
workbook (a parent's or sibling's).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Optional, TYPE_CHECKING, Union

from anyascii import anyascii

if TYPE_CHECKING:  # annotations only: `status` imports this module without loading pydantic
    from .models import Cycle

# Ordinary English words that are also given names or surnames: matched only when capitalised.
ORDINARY_WORDS = frozenset("""
able april august autumn baker bell berry best bill black bloom blue bond brand bright brook brown buck
bush butcher carter case chance chase child christian church clay cliff close cook cooper cotton crane
cross dale dawn day dean dell dew diamond dove drake duke earl early east eve ever faith fair field fields
fish fisher ford forest fox frank free friend gay gift gill glen gold golden good grace grant gray green
grey guy hall hand hardy harmony hart hay heart heath hill holly home honey hope house hunter ivy jack
jay jewel joy judge june just king knight lake lamb lane law lee light lily little long love lucky major
march mark marsh mason may mercy mill miller mills moon moore moss may new north ocean page paris park
parker pat patience pearl penny pink piper poppy porter power price prince rain ray reed rich river
rivers robin rock rose ruby rush sage sandy savage scott shepherd short sky small smith snow sparrow spring
star steel stone storm strong summer sunny swan sweet taylor temple thorn tiger true trust tucker turner
victory violet wade walker wall ward warren waters way west white will wise wolf wood woods wren young
""".split())

MIN_PART_LETTERS = 3
REMOVED = "[name removed]"

# not run into a letter or digit (an underscore is a separator)
_BEFORE = r"(?<![^\W_])"
_AFTER = r"(?![^\W_])"
# identifiers: not run into a letter (digits and underscores separate)
_ID_BEFORE = r"(?<![^\W\d_])"
_ID_AFTER = r"(?![^\W\d_])"
_WORD = re.compile(r"[^\W\d_]+")

_APOSTROPHES = frozenset("\u2019\u2018\u02bc\u2032`\u00b4")
_DROPPED = frozenset({"Mn", "Me", "Cf"})  # combining marks (accents), format characters (zero-width, soft hyphen)
_LOOKALIKE_FIXES = {"\u0138": "k"}  # Cyrillic ka's look-alike is kra, which anyascii spells "q"


# --- folding ------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _lookalike(ch: str) -> str:
    """The Latin letter a letter of another script looks like (Unicode confusables), or the letter itself."""
    from confusable_homoglyphs import confusables  # loads its data (about 1 MB) on first use only

    found = confusables.is_confusable(ch, preferred_aliases=["latin"])
    for glyph in (found[0]["homoglyphs"] if found else ()):
        target = glyph["c"]
        if len(target) == 1 and target.isalpha() and _is_latin(target):
            if ch.isupper() and target == "l":  # capital iota and the like look like I; the data says l
                target = "I"
            return _LOOKALIKE_FIXES.get(target, target)
    return ch


def _is_latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


@lru_cache(maxsize=None)
def fold_char(ch: str) -> str:
    """One character in folded form: possibly several letters ("ß" -> "ss"), possibly none (an accent)."""
    if ch.isascii():
        return ch.lower()
    if ch in _APOSTROPHES:
        return "'"
    out = []
    for d in unicodedata.normalize("NFKD", ch):
        category = unicodedata.category(d)
        if category in _DROPPED:
            continue
        if category == "Pd":
            d = "-"
        elif category == "Zs":
            d = " "
        elif d.isalpha() and not d.isascii():
            if not _is_latin(d):
                d = _lookalike(d)
            if _is_latin(d) and not d.isascii():
                d = anyascii(d) or d
        out.append(d.casefold())
    return "".join(out)


@dataclass(frozen=True)
class Folded:
    """A text in folded form, with where each folded character came from in the original."""

    original: str
    text: str
    origin: Optional[tuple[int, ...]] = None  # folded index -> original index; None when one-to-one

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of folded [start, end), with any accents or invisible characters trailing it."""
        if self.origin is None:
            s, e = start, end
        else:
            s, e = self.origin[start], self.origin[end - 1] + 1
        while e < len(self.original) and not fold_char(self.original[e]):
            e += 1
        return s, e


def fold(text: str) -> Folded:
    """`text` as names are compared: compatibility forms, accents, case, invisible characters and look-alikes folded."""
    if text.isascii():
        return Folded(text, text.lower())
    pieces, origin = [], []
    for i, ch in enumerate(text):
        f = fold_char(ch)
        pieces.append(f)
        origin.extend([i] * len(f))
    return Folded(text, "".join(pieces), tuple(origin))


def words(text: str) -> set[str]:
    """The letter-words of a text, folded."""
    return set(_WORD.findall(fold(text).text))


# --- terms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameTerm:
    """One way of writing the name of the child in a case (a pattern over folded text)."""

    case_ref: str
    which: str  # "full name", "given name", "name"
    pattern: re.Pattern
    capitalised_only: bool = False  # an ordinary word: a name only when its first letter is a capital


@dataclass(frozen=True)
class NameTerms:
    """Every term for a cycle's children, with the words of their names as a cheap first sieve."""

    terms: tuple[NameTerm, ...]
    name_words: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.terms)

    def __iter__(self):
        return iter(self.terms)


@dataclass(frozen=True)
class NameFound:
    term: NameTerm
    text: str  # the original text
    start: int  # the span of the name in the original text
    end: int


def cycle_vocabulary(cycle: Cycle) -> set[str]:
    """Words the cycle itself uses (agencies, priority areas, KLOEs, standards): never a name on their own."""
    texts = [cycle.settings.board_name, cycle.settings.report_title]
    texts += [p.name + " " + p.description for p in cycle.priority_areas]
    texts += [a.name + " " + a.short_name for a in cycle.agencies]
    texts += [k.question + " " + k.title for k in cycle.kloes]
    texts += [s.text + " " + s.finding_met + " " + s.finding_not_met for s in cycle.standards]
    vocabulary: set[str] = set()
    for t in texts:
        vocabulary |= words(t)
    return vocabulary


def _pieces(parts: list[str]) -> list[tuple[str, str]]:
    """Each part of a name with which part it is; hyphenated or apostrophised parts also piece by piece."""
    pieces: list[tuple[str, str]] = []
    for i, part in enumerate(parts):
        which = "given name" if i == 0 else "name"
        pieces.append((part, which))
        if "-" in part or "'" in part:
            pieces += [(sub, which) for sub in re.split(r"[-']", part) if sub]
    return pieces


def child_terms(case_ref: str, child_name: str, vocabulary: frozenset[str] = frozenset(), *,
                strict: bool = False) -> list[NameTerm]:
    """The terms naming one child: full name first, then its parts.

    `strict` (identifiers): every part of 3 or more letters in any case, with
    digits as separators; no exception for ordinary or vocabulary words.
    """
    name = re.sub(r"\s+", " ", fold(child_name).text).strip()
    if not name:
        return []
    before, after = (_ID_BEFORE, _ID_AFTER) if strict else (_BEFORE, _AFTER)
    parts = name.split(" ")
    terms: list[NameTerm] = []
    if len(parts) > 1:
        full = r"[\s_]+".join(re.escape(p) for p in parts)
        terms.append(NameTerm(case_ref, "full name", re.compile(f"{before}{full}{after}")))
    for piece, which in _pieces(parts):
        letters = len(re.sub(r"[\W_]", "", piece))
        if letters < MIN_PART_LETTERS and (len(parts) > 1 or strict):
            continue
        ordinary = not strict and (piece in ORDINARY_WORDS or piece in vocabulary)
        if ordinary and piece in vocabulary and len(parts) > 1:
            continue
        terms.append(NameTerm(case_ref, which, re.compile(f"{before}{re.escape(piece)}{after}"), ordinary))
    return terms


def name_terms(cycle: Cycle) -> NameTerms:
    """The terms naming each child of the cycle."""
    vocabulary = frozenset(cycle_vocabulary(cycle))
    terms: list[NameTerm] = []
    name_words: set[str] = set()
    for case in cycle.cases:
        terms += child_terms(case.ref, case.child_name, vocabulary)
        name_words |= words(case.child_name)
    return NameTerms(tuple(terms), frozenset(name_words))


_LAST_TERMS: list = [None, None]  # (cycle, its terms): ingest asks once per file for the same cycle


def terms_for(cycle: Cycle) -> NameTerms:
    """`name_terms(cycle)`, built once for the same cycle object."""
    if _LAST_TERMS[0] is not cycle:
        _LAST_TERMS[:] = [cycle, name_terms(cycle)]
    return _LAST_TERMS[1]


def _as_terms(cycle_or_terms: Union[Cycle, NameTerms]) -> NameTerms:
    return cycle_or_terms if isinstance(cycle_or_terms, NameTerms) else name_terms(cycle_or_terms)


# --- finding --------------------------------------------------------------------------------


def _matches(folded: Folded, terms: Iterable[NameTerm]) -> Iterator[NameFound]:
    for term in terms:
        for m in term.pattern.finditer(folded.text):
            start, end = folded.span(m.start(), m.end())
            if term.capitalised_only and not folded.original[start].isupper():
                continue
            yield NameFound(term, folded.original, start, end)


def find_names(text: str, terms: Union[Cycle, NameTerms]) -> Iterator[NameFound]:
    """Every place in `text` a child is named, by every term, full names first (spans may overlap)."""
    terms = _as_terms(terms)
    if not text or not terms:
        return
    folded = fold(text)
    if terms.name_words.isdisjoint(_WORD.findall(folded.text)):
        return
    yield from _matches(folded, terms)


def find_name(text: str, terms: Union[Cycle, NameTerms]) -> Optional[NameFound]:
    """The first term naming a child in `text` (full names before parts), or None."""
    return next(find_names(text, terms), None)


def name_in_identifier(text: str, child_name: str) -> Optional[str]:
    """Which part of a child's name ("full name", "given name", "name") an identifier contains, if any.

    Case references and agency codes become file names, which travel by email:
    none may carry a piece of a child's name, in any spelling.
    """
    found = next(_matches(fold(text), child_terms("", child_name, strict=True)), None)
    return found.term.which if found else None


def _merged(found: Iterable[NameFound]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted((f.start, f.end) for f in found):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def redact(text: str, cycle_or_terms: Union[Cycle, NameTerms], replacement: str = REMOVED) -> str:
    """`text` with every child's name, or part of one, replaced; the rest exactly as it was."""
    spans = _merged(find_names(text, _as_terms(cycle_or_terms)))
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], replacement]
        at = end
    out.append(text[at:])
    return "".join(out)


def context(found: NameFound, terms: Union[Cycle, NameTerms], width: int = 40, mark: str = "[name]") -> str:
    """The words around a name found, every name in them masked, cut at whole words: safe to show anyone."""
    text = found.text
    before = redact(text[:found.start], terms, mark)
    after = redact(text[found.end:], terms, mark)
    if len(before) > width:
        before = before[-width:]
        before = before.split(None, 1)[1] if len(before.split(None, 1)) > 1 else ""
    if len(after) > width:
        after = after[:width]
        after = after.rsplit(None, 1)[0] if len(after.rsplit(None, 1)) > 1 else ""
    return re.sub(r"\s+", " ", f"\u2026{before}{mark}{after}\u2026").strip()
