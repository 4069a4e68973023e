"""The last check before a report is written: no child's name anywhere in the file.

Every XML part is read (body, tables, headers, footers, comments, notes,
document properties, alt text, carried-over narrative and quoted evidence),
because a name can arrive by any of them: an auditor's evidence, an edit by
the comms team, a comment. What counts as a name of the child in a case:

- the full name, always (whole words, any case, any spacing);
- each part of the name of 3 or more letters, as a whole word in any case,
  unless the part is also an ordinary word: then only written with a
  capital (so a child called Hope is caught as "Hope" but "we hope" is not);
- a part that is also a word of the cycle's own vocabulary (an agency,
  priority area, standard or KLOE wording, e.g. "Early" in Early Help) is
  matched only as part of the full name, as it appears in the report anyway.

Text is compared NFC-normalised, with curly apostrophes and non-breaking
spaces made plain. A hit is reported by case reference and place, never by
printing the name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel

from ..findings import Findings, Quote
from ..models import Cycle
from ..ooxml.report_parts import iter_texts
from ..problems import CaseAuditError, ProblemReport

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


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return (text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
            .replace("\u00a0", " ").replace("\u2011", "-"))


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[^\W\d_]+", _plain(text))}


@dataclass(frozen=True)
class NameHit:
    case_ref: str
    which: str  # "full name", "given name", "name"
    part: str  # the package part
    where: str
    context: str  # the words around it, the name itself masked


@dataclass(frozen=True)
class _Term:
    case_ref: str
    which: str
    pattern: re.Pattern


def _terms(cycle: Cycle) -> list[_Term]:
    vocabulary: set[str] = set()
    texts = [cycle.settings.board_name, cycle.settings.report_title]
    texts += [p.name + " " + p.description for p in cycle.priority_areas]
    texts += [a.name + " " + a.short_name for a in cycle.agencies]
    texts += [k.question + " " + k.title for k in cycle.kloes]
    texts += [s.text + " " + s.finding_met + " " + s.finding_not_met for s in cycle.standards]
    for t in texts:
        vocabulary |= _words(t)
    terms: list[_Term] = []
    for case in cycle.cases:
        name = _plain(case.child_name).strip()
        if not name:
            continue
        parts = [p for p in re.split(r"\s+", name) if p]
        if len(parts) > 1:
            full = r"\s+".join(re.escape(p) for p in parts)
            terms.append(_Term(case.ref, "full name", re.compile(rf"(?<!\w){full}(?!\w)", re.IGNORECASE)))
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
                pattern = re.compile(rf"(?<!\w)(?:{re.escape(cap)}|{re.escape(piece.upper())})(?!\w)")
            else:
                pattern = re.compile(rf"(?<!\w){re.escape(piece)}(?!\w)", re.IGNORECASE)
            terms.append(_Term(case.ref, which, pattern))
    return terms


def _first_hit(text: str, terms: list[_Term], name_words: set[str]):
    """The first term naming a child in `text`, with its match, or None."""
    text = _plain(text)
    if name_words.isdisjoint(_words(text)):
        return None
    for term in terms:
        m = term.pattern.search(text)
        if m is not None:
            return term, text, m
    return None


def _name_words(cycle: Cycle) -> set[str]:
    words: set[str] = set()
    for case in cycle.cases:
        words |= _words(case.child_name)
    return words


SUMMARY_FIELDS = {"improvements": "improvements to be made", "partnership": "improving partnership working",
                  "comments": "other comments"}
QUOTE_FIELDS = {"reasons": "reason", "na_reasons": "'not applicable' reason", "evidence": "evidence"}


def refuse_if_quoted(findings: Findings, cycle: Cycle) -> None:
    """Before rendering: an agency's words that would be quoted and name a child, said by return and standard.

    The whole-document scan below catches the same words too, but can only say
    where they landed in the report; this says which return to correct.
    """
    terms, name_words = _terms(cycle), _name_words(cycle)
    if not terms:
        return
    report = ProblemReport()
    seen: set[tuple] = set()

    def check(text: str, case_ref: str, location: str) -> None:
        hit = _first_hit(text, terms, name_words)
        if hit is None or (hit[0].case_ref, location) in seen:
            return
        term, plain, m = hit
        seen.add((term.case_ref, location))
        report.add("report.child-named-in-return",
                   f"The {term.which} of the child in case {term.case_ref} is in words the report would quote: "
                   f"{_masked(plain, m)}",
                   f"Ask the agency to resend its form for case {case_ref} without the child's name (or correct "
                   "the copy in inbox/processed/, save it into inbox/ and run ingest); then run build-report again.",
                   location=location)

    def visit(obj, field: str = "", owner=None) -> None:
        if isinstance(obj, Quote):
            what = QUOTE_FIELDS.get(field, "words")
            check(obj.text, obj.case_ref, f"{obj.agency_name}, case {obj.case_ref}, standard {obj.standard} ({what})")
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                value = getattr(obj, name)
                if isinstance(value, str):
                    if name in SUMMARY_FIELDS and value:
                        agency = getattr(obj, "name", "") or getattr(obj, "code", "")
                        check(value, "summary", f"{agency} summary form ({SUMMARY_FIELDS[name]})")
                    elif name == "note" and value:
                        ref = getattr(obj, "case_ref", "") or ""
                        check(value, ref, f"{getattr(obj, 'agency', '')}, case {ref} (no-involvement reason)")
                else:
                    visit(value, name, obj)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, field, owner)
        elif isinstance(obj, dict):
            for item in obj.values():
                visit(item, field, owner)

    visit(findings)
    if report.problems:
        raise CaseAuditError(
            f"The report was not written: agencies' words it would quote name a child in {len(report.problems)} "
            "place(s).", report)


def find_child_names(parts: dict[str, bytes], cycle: Cycle) -> list[NameHit]:
    """Every place in the package where a child of the cycle is named."""
    terms = _terms(cycle)
    if not terms:
        return []
    # a text can only name a child if it contains one of the words of a name: a cheap first sieve
    name_words = set()
    for case in cycle.cases:
        name_words |= _words(case.child_name)
    hits: list[NameHit] = []
    seen: set[tuple[str, str, str]] = set()
    for spot in iter_texts(parts):
        text = _plain(spot.text)
        if name_words.isdisjoint(_words(text)):
            continue
        for term in terms:
            m = term.pattern.search(text)
            if m is None:
                continue
            key = (term.case_ref, spot.part, spot.where)
            if key in seen:
                continue
            seen.add(key)
            hits.append(NameHit(term.case_ref, term.which, spot.part, spot.where, _masked(text, m)))
    return hits


def _masked(text: str, m: re.Match) -> str:
    before = text[max(0, m.start() - 40):m.start()]
    after = text[m.end():m.end() + 40]
    return re.sub(r"\s+", " ", f"\u2026{before}[name]{after}\u2026").strip()


def refuse_if_named(parts: dict[str, bytes], cycle: Cycle, *, output_name: str) -> None:
    """Raise (so nothing is written) when any child of the cycle is named anywhere in the package."""
    hits = find_child_names(parts, cycle)
    if not hits:
        return
    report = ProblemReport()
    for hit in hits:
        report.add(
            "report.child-named",
            f"The {hit.which} of the child in case {hit.case_ref} appears in {_describe_part(hit.part)}: "
            f"{hit.context}",
            "Reword it (refer to the case by its reference) in the edited report, the return it was quoted "
            "from, or the cycle workbook, then run build-report again.",
            file=output_name, location=hit.where)
    raise CaseAuditError(
        f"The report was not written: it would name {_count(len({h.case_ref for h in hits}))} "
        f"in {_count(len(hits), 'place')}.", report)


def _count(n: int, what: str = "child") -> str:
    if what == "child":
        return "a child" if n == 1 else f"{n} children"
    return f"{n} {what}{'' if n == 1 else 's'}"


def _describe_part(part: str) -> str:
    if part == "word/document.xml":
        return "the report text"
    if part.startswith("word/header"):
        return "a page header"
    if part.startswith("word/footer"):
        return "a page footer"
    if part == "word/comments.xml":
        return "a comment"
    if part in ("word/footnotes.xml", "word/endnotes.xml"):
        return "a footnote"
    if part.startswith("docProps/"):
        return "the document properties"
    return part

