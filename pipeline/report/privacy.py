"""The last check before a report is written: no child's name anywhere in the file.

Every XML part is read (body, tables, headers, footers, comments, notes,
document properties, alt text, carried-over narrative and quoted evidence),
because a name can arrive by any of them: an auditor's evidence, an edit by
the comms team, a comment. What counts as a name is `pipeline.child_names`'
one matcher, shared with the feedback notes ingest writes. A hit is reported
by case reference and place, never by printing the name.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from ..child_names import context, find_name, find_names, terms_for
from ..findings import Findings, Quote
from ..models import Cycle
from ..ooxml.report_parts import iter_texts
from ..problems import CaseAuditError, ProblemReport


@dataclass(frozen=True)
class NameHit:
    case_ref: str
    which: str  # "full name", "given name", "name"
    part: str  # the package part
    where: str
    context: str  # the words around it, the name itself masked


SUMMARY_FIELDS = {"improvements": "improvements to be made", "partnership": "improving partnership working",
                  "comments": "other comments"}
QUOTE_FIELDS = {"reasons": "reason", "na_reasons": "'not applicable' reason", "evidence": "evidence"}
# Counts, flags and missing values: no words in them (a bare string in a list is not read either, as before).
_NOTHING_TO_READ = frozenset({int, bool, float, type(None), str})


def refuse_if_quoted(findings: Findings, cycle: Cycle) -> None:
    """Before rendering: an agency's words that would be quoted and name a child, said by return and standard.

    The whole-document scan below catches the same words too, but can only say
    where they landed in the report; this says which return to correct.
    """
    terms = terms_for(cycle)  # built once per cycle: the report's other scans use the same
    if not terms:
        return
    report = ProblemReport()
    seen: set[tuple] = set()
    visited: set[int] = set()  # a standard is also its KLOE's: each model is read once
    named: dict[str, bool] = {}  # agencies' words recur across returns: each text is matched once, keyed on it

    def check(text: str, form: str, location: str) -> None:
        hit = find_name(text, terms)
        if hit is None or (hit.term.case_ref, location) in seen:
            return
        term = hit.term
        seen.add((term.case_ref, location))
        report.add("report.child-named-in-return", which=term.which, case_ref=term.case_ref,
                   context=context(hit, terms), form=form, location=location)

    def visit(obj, field: str = "") -> None:
        if isinstance(obj, Quote):  # also reached through its agency's findings: `seen` says each place once
            text = obj.text
            if text not in named:
                named[text] = find_name(text, terms) is not None
            if named[text]:  # the place is worded only for a name found
                what = QUOTE_FIELDS.get(field, "words")
                check(text, f"its form for case {obj.case_ref}",
                      f"{obj.agency_name}, case {obj.case_ref}, standard {obj.standard} ({what})")
        elif isinstance(obj, BaseModel):
            if id(obj) in visited:
                return
            visited.add(id(obj))
            for name in type(obj).model_fields:
                value = getattr(obj, name)
                if isinstance(value, str):
                    if name in SUMMARY_FIELDS and value:
                        agency = getattr(obj, "name", "") or getattr(obj, "code", "")
                        check(value, "its agency summary form", f"{agency} summary form ({SUMMARY_FIELDS[name]})")
                    elif name == "note" and value:
                        ref = getattr(obj, "case_ref", "") or ""
                        check(value, f"its form for case {ref}",
                              f"{getattr(obj, 'agency', '')}, case {ref} (no-involvement reason)")
                elif type(value) not in _NOTHING_TO_READ:
                    visit(value, name)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                if type(item) not in _NOTHING_TO_READ:
                    visit(item, field)
        elif isinstance(obj, dict):
            for item in obj.values():
                visit(item, field)

    visit(findings)
    if report.problems:
        raise CaseAuditError(
            f"The report was not written: agencies' words it would quote name a child in {len(report.problems)} "
            "place(s).", report)


def find_child_names(parts: dict[str, bytes], cycle: Cycle) -> list[NameHit]:
    """Every place in the package where a child of the cycle is named."""
    terms = terms_for(cycle)  # built once per cycle: the report's other scans use the same
    if not terms:
        return []
    hits: list[NameHit] = []
    seen: set[tuple[str, str, str]] = set()
    found_in: dict[str, list] = {}  # the same words recur (styles' values, table cells): each is matched once

    def names(text: str) -> list:
        if text not in found_in:
            found_in[text] = list(find_names(text, terms))
        return found_in[text]

    # a styles or properties part none of whose texts names a child is passed over whole
    for spot in iter_texts(parts, sieve=lambda text: bool(names(text))):
        for found in names(spot.text):
            key = (found.term.case_ref, spot.part, spot.where)
            if key in seen:
                continue
            seen.add(key)
            hits.append(NameHit(found.term.case_ref, found.term.which, spot.part, spot.where, context(found, terms)))
    return hits


def refuse_if_named(parts: dict[str, bytes], cycle: Cycle, *, output_name: str) -> None:
    """Raise (so nothing is written) when any child of the cycle is named anywhere in the package."""
    hits = find_child_names(parts, cycle)
    if not hits:
        return
    report = ProblemReport()
    for hit in hits:
        report.add("report.child-named", which=hit.which, case_ref=hit.case_ref, part=_describe_part(hit.part),
                   context=hit.context, file=output_name, location=hit.where)
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

