"""The one matcher of children's names, for every place a name must not travel.

The board report refuses to be written with a name in it (`report.privacy`);
feedback notes emailed to agencies have names taken out (`ingest`). Both ask
the same question, so both use this. What counts as a name of the child in a case:

- the full name, always (whole words, any case, any spacing);
- each part of the name of 3 or more letters (and each piece of a hyphenated
  or apostrophised part), as a whole word in any case, unless the part is also
  an ordinary word: then only written with a capital (so a child called Hope
  is caught as "Hope" but "we hope" is not);
- a part that is also a word of the cycle's own vocabulary (an agency,
  priority area, standard or KLOE wording, e.g. "Early" in Early Help) is
  matched only as part of the full name, as it appears everywhere anyway.

"Whole word" means not run into other letters or digits; an underscore counts
as a separator, as it does in file names ("POLICE_N-01_Surname.docx").
Text is compared NFC-normalised, with curly apostrophes and non-breaking
spaces made plain, so a name typed on a Mac (decomposed accents) is still found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Optional, Union

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


def plain(text: str) -> str:
    """The form names are compared in: NFC, straight apostrophes, plain spaces and hyphens."""
    text = unicodedata.normalize("NFC", text)
    return (text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
            .replace("\u00a0", " ").replace("\u2011", "-"))


def words(text: str) -> set[str]:
    """The letter-words of a text, case-folded."""
    return {w.casefold() for w in re.findall(r"[^\W\d_]+", plain(text))}


@dataclass(frozen=True)
class NameTerm:
    """One way of writing the name of the child in a case."""

    case_ref: str
    which: str  # "full name", "given name", "name"
    pattern: re.Pattern


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
    text: str  # the text as compared (plain)
    match: re.Match


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


def name_terms(cycle: Cycle) -> NameTerms:
    """The terms naming each child of the cycle: full name first, then its parts."""
    vocabulary = cycle_vocabulary(cycle)
    terms: list[NameTerm] = []
    name_words: set[str] = set()
    for case in cycle.cases:
        name = plain(case.child_name).strip()
        if not name:
            continue
        name_words |= words(name)
        parts = [p for p in re.split(r"\s+", name) if p]
        if len(parts) > 1:
            full = r"\s+".join(re.escape(p) for p in parts)
            terms.append(NameTerm(case.ref, "full name", re.compile(rf"{_BEFORE}{full}{_AFTER}", re.IGNORECASE)))
        pieces: list[tuple[str, str]] = []
        for i, part in enumerate(parts):
            which = "given name" if i == 0 else "name"
            pieces.append((part, which))
            if "-" in part or "'" in part:
                pieces += [(sub, which) for sub in re.split(r"[-']", part) if sub]
        for piece, which in pieces:
            if len(re.sub(r"[^\w]", "", piece)) < MIN_PART_LETTERS and len(parts) > 1:
                continue
            folded = piece.casefold()
            if folded in vocabulary and len(parts) > 1:
                continue
            if folded in ORDINARY_WORDS or folded in vocabulary:
                cap = piece[:1].upper() + piece[1:].lower()
                pattern = re.compile(rf"{_BEFORE}(?:{re.escape(cap)}|{re.escape(piece.upper())}){_AFTER}")
            else:
                pattern = re.compile(rf"{_BEFORE}{re.escape(piece)}{_AFTER}", re.IGNORECASE)
            terms.append(NameTerm(case.ref, which, pattern))
    return NameTerms(tuple(terms), frozenset(name_words))


def _as_terms(cycle_or_terms: Union[Cycle, NameTerms]) -> NameTerms:
    return cycle_or_terms if isinstance(cycle_or_terms, NameTerms) else name_terms(cycle_or_terms)


def find_name(text: str, terms: Union[Cycle, NameTerms]) -> Optional[NameFound]:
    """The first term naming a child in `text` (full names before parts), or None."""
    terms = _as_terms(terms)
    text = plain(text)
    if terms.name_words.isdisjoint(words(text)):
        return None
    for term in terms:
        m = term.pattern.search(text)
        if m is not None:
            return NameFound(term, text, m)
    return None


def find_names(text: str, terms: Union[Cycle, NameTerms]) -> Iterable[NameFound]:
    """Every place in `text` a child is named, by every term (spans may overlap)."""
    terms = _as_terms(terms)
    text = plain(text)
    if terms.name_words.isdisjoint(words(text)):
        return
    for term in terms:
        for m in term.pattern.finditer(text):
            yield NameFound(term, text, m)


def redact(text: str, cycle_or_terms: Union[Cycle, NameTerms], replacement: str = REMOVED) -> str:
    """`text` with every child's name, or part of one, replaced (the text comes back in plain form)."""
    terms = _as_terms(cycle_or_terms)
    spans = sorted((f.match.start(), f.match.end()) for f in find_names(text, terms))
    if not spans:
        return text
    text = plain(text)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out += [text[at:start], replacement]
        at = end
    out.append(text[at:])
    return "".join(out)
