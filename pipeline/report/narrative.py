"""Narrative that survives rebuilds: the comms team's wording is carried into every new build.

How a region is made. The template wraps each passage the comms team owns
(introduction, each KLOE's commentary, each key area of development...) in
`{{ narrative_begin("id") }}` / `{{ narrative_end() }}` paragraphs, directly
under a heading. The first build writes the template's draft there. In the
built report the passage carries no marker of its own: a bookmark on the
heading above it (`_CaNarr_<id>`) and one on the block below it
(`_CaNEnd_<id>`) delimit it, so editing, deleting or adding paragraphs inside
the passage (in Word, python-docx or LibreOffice) cannot lose the markers.
Measured: LibreOffice 7.4 keeps bookmark names on a docx round trip and drops
content-control tags. When the bookmarks are gone (the heading was retyped),
the passage is found under a heading with the recorded text.

How a rebuild decides. Each region's record lives in the report's custom
document properties (they survive Word and LibreOffice saves): a hash of the
draft text written, a hash of the text now there, and the figures the
wording was written against, as numbers: a digest of the findings it is
about (`findings.figures_digest`) and the structured figures its draft
states (`findings.Figure`). Prose is never compared, so rewording a sentence
in `wording` changes no decision. On rebuild (`decide_region`, a pure step,
then the document surgery in `apply_narrative`):

- text equals the draft written last time: untouched, so the new draft
  (with the new figures) replaces it;
- otherwise it was edited: the blocks are carried over unchanged, and if
  the figures it was written against differ from today's, the region is
  listed as stale with each changed figure (said by `wording`), until
  someone edits it again or deletes the comment asking them to re-read it.

Reports built before figures were recorded as numbers (records "z1:") hold
a digest of prose that cannot be compared: an edited passage from such a
report is carried over and listed once as "re-read", saying why; re-reading
it (editing it, or deleting the comment) records today's figures.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from docx import Document

from ..findings import Figure
from ..ooxml.narrative_parts import (
    block_below,
    blocks_between,
    blocks_under_headings,
    comment_authors,
    comment_ids_in,
    first_text_run,
    follows_written_block,
    heading_1_style_ids,
    heading_above,
    marker_paragraphs,
    remove_paragraphs,
    replace_blocks,
    text_before,
)
from ..ooxml.package import Element, PackageError, open_package, sniff
from ..ooxml.properties import read_custom_properties
from ..ooxml.regions import (
    BlockImporter,
    MarkedRange,
    add_bookmark,
    blocks_text,
    find_marked_range,
    find_range_under_heading,
    outline_styles,
    paragraph_style,
    remove_bookmarks,
)
from ..problems import CaseAuditError, ProblemReport, Severity
from ..wording import FIGURES_OF_AN_EARLIER_VERSION, reread_comment

START_PREFIX = "_CaNarr_"
END_PREFIX = "_CaNEnd_"
PROP_PREFIX = "CaseAudit.Narrative."
PROP_REPORT = "CaseAudit.Report"
PROP_CYCLE = "CaseAudit.Cycle"
PROP_BUILT = "CaseAudit.Built"
PROP_REGIONS = "CaseAudit.Regions"
PROP_GENERATED = "CaseAudit.Generated"
COMMENT_AUTHOR = "case-audit"
REPORT_KIND = "overview-report"
CHUNK = 200  # Word keeps custom property text up to 255 characters; stay well below

_BEGIN = "[[case-audit narrative begin: {}]]"
_END = "[[case-audit narrative end]]"
_BEGIN_RE = re.compile(r"^\[\[case-audit narrative begin: ([a-z0-9][a-z0-9-]{0,30})\]\]$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")

def narrative_begin(region_id: str) -> str:
    """Template function: marks the start of a region the comms team owns."""
    region_id = str(region_id)
    if not _ID_RE.match(region_id):
        raise CaseAuditError.single(
            "report.template-region-id",
            f"The report template names a narrative region {region_id!r}; names may use only lower-case "
            "letters, digits and hyphens (at most 31).",
            "Rename the region in the template's narrative_begin(...) tag.")
    return _BEGIN.format(region_id)


def narrative_end() -> str:
    return _END


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RegionFigures:
    """What one narrative region is written about, as numbers.

    `sections`: the figures digests of the findings it discusses (any count in
    them moving makes an edited passage stale); `figures`: the figures its
    draft states, compared one by one to say what changed.
    """

    sections: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()

    def digest(self) -> str:
        blob = json.dumps([list(self.sections), [f.to_json() for f in self.figures]], separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class NarrativeFigures:
    """Every region's figures, and how to say in words what changed between two sets of them."""

    regions: dict[str, RegionFigures]
    describe: Callable[[Sequence[Figure], Sequence[Figure]], list[str]]


# --- the per-region record ---------------------------------------------------------------


@dataclass
class RegionRecord:
    heading: str
    draft: str  # hash of the draft text this build wrote
    text: str  # hash of the text now in the report
    written: str  # digest of the figures the wording was written against
    written_figures: Optional[list[Figure]]  # those figures; None when recorded by an earlier version (as prose)
    build: str  # digest of the figures of the build that wrote this report
    build_figures: Optional[list[Figure]]
    flagged: bool = False  # this build attached a "figures changed, please re-read" comment

    def to_value(self) -> str:
        payload = {"h": self.heading, "d": self.draft, "t": self.text, "w": self.written, "b": self.build,
                   "wf": _figures_json(self.written_figures), "f": int(self.flagged)}
        if self.build_figures != self.written_figures:
            payload["bf"] = _figures_json(self.build_figures)
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return "z2:" + base64.b64encode(zlib.compress(raw, 9)).decode("ascii")

    @classmethod
    def from_value(cls, value: str) -> Optional["RegionRecord"]:
        """A record as stored; "z1:" (figures kept as prose, before numbers) is read with its figures unknown."""
        try:
            if value[:3] not in ("z1:", "z2:"):
                return None
            data = json.loads(zlib.decompress(base64.b64decode(value[3:])).decode("utf-8"))
            written = _figures_from(data.get("wf")) if value.startswith("z2:") else None
            build = _figures_from(data["bf"]) if "bf" in data else written
            return cls(heading=data.get("h", ""), draft=data["d"], text=data["t"], written=data["w"],
                       written_figures=written, build=data["b"], build_figures=build, flagged=bool(data.get("f")))
        except (ValueError, KeyError, TypeError, zlib.error):
            return None


def _figures_json(figures: Optional[list[Figure]]):
    return None if figures is None else [f.to_json() for f in figures]


def _figures_from(data) -> Optional[list[Figure]]:
    return None if data is None else [Figure.from_json(item) for item in data]


def chunked(name: str, value: str) -> dict[str, str]:
    """One long value as several properties: name, name#2, name#3..."""
    pieces = [value[i:i + CHUNK] for i in range(0, len(value), CHUNK)] or [""]
    return {(name if i == 0 else f"{name}#{i + 1}"): piece for i, piece in enumerate(pieces)}


def unchunked(props: dict[str, str], name: str) -> Optional[str]:
    if name not in props:
        return None
    parts = [props[name]]
    n = 2
    while f"{name}#{n}" in props:
        parts.append(props[f"{name}#{n}"])
        n += 1
    return "".join(parts)


def record_properties(cycle_id: str, built: str, records: dict[str, RegionRecord],
                      generated: dict[str, str]) -> dict[str, str]:
    props = {PROP_REPORT: REPORT_KIND, PROP_CYCLE: cycle_id, PROP_BUILT: built}
    props.update(chunked(PROP_REGIONS, ",".join(records)))
    raw = json.dumps(generated, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    props.update(chunked(PROP_GENERATED, base64.b64encode(zlib.compress(raw, 9)).decode("ascii")))
    for region_id, record in records.items():
        props.update(chunked(PROP_PREFIX + region_id, record.to_value()))
    return props


def is_own_property(name: str) -> bool:
    return name.startswith("CaseAudit.")


# --- the previous report ----------------------------------------------------------------------


@dataclass
class PreviousReport:
    path: Path
    doc: object  # python-docx Document
    cycle_id: str
    records: dict[str, RegionRecord]
    headings: set[str]
    comment_authors: dict[str, str] = field(default_factory=dict)  # comment id -> author
    generated: dict[str, str] = field(default_factory=dict)  # section heading -> hash of its built text

    def comments_in(self, blocks: list[Element]) -> list[str]:
        """Authors of the comments anchored in these blocks."""
        return [self.comment_authors.get(i, "") for i in comment_ids_in(blocks)]

    def find(self, region_id: str) -> Optional[MarkedRange]:
        key = bookmark_key(region_id)
        body = self.doc.element.body
        found = find_marked_range(body, START_PREFIX + key, END_PREFIX + key, _is_marker)
        if found is not None:
            return found
        record = self.records.get(region_id)
        if record is None or not record.heading:
            return None
        return find_range_under_heading(body, record.heading, self._is_heading, _is_marker)

    def _is_heading(self, p: Element) -> bool:
        return paragraph_style(p) in self.headings


def bookmark_key(region_id: str) -> str:
    """Word accepts letters, digits and underscores in bookmark names."""
    return region_id.replace("-", "_")


def _is_marker(name: str) -> bool:
    return name.startswith(START_PREFIX) or name.startswith(END_PREFIX)


def read_previous(path: Path) -> PreviousReport:
    """Open an earlier (perhaps edited) report to take its narrative from; refuse anything that is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except PermissionError:
        raise CaseAuditError.single(
            "file.locked", f"Could not read {path.name}: it is open in another program.",
            "Close the report in Word, then run build-report again.", file=path) from None
    except OSError as exc:
        raise CaseAuditError.single("report.narrative-unreadable", f"Could not read {path.name} ({exc.strerror}).",
                                    "Check the file name and that the file is still there.", file=path) from None
    if sniff(data) == "pdf":  # said as what it is: a PDF is not damaged, it just has no editable narrative
        raise CaseAuditError.single(
            "report.narrative-pdf", f"{path.name} is a PDF: a PDF cannot carry the report's editable narrative.",
            "Give --narrative-from the .docx report saved from Word.", file=path)
    try:
        pkg = open_package(data)
        if not pkg.has("word/document.xml"):
            raise PackageError("package.not-word", "The file is not a Word document.")
        for part in ("word/document.xml", "word/styles.xml"):
            pkg.xml(part)  # refuses DOCTYPEs and damaged XML before python-docx reads the file
        props = read_custom_properties(pkg)
    except PackageError as exc:
        raise CaseAuditError.single(
            "report.narrative-unreadable", f"{path.name} cannot be read as a Word report: {exc.message}",
            exc.fix or "Open it in Word, save it as a Word document (.docx), and run build-report again.",
            file=path) from None
    if props.get(PROP_REPORT) != REPORT_KIND:
        raise CaseAuditError.single(
            "report.narrative-not-a-report",
            f"{path.name} is not an overview report built by case-audit (its record of the narrative "
            "passages is missing), so its wording cannot be matched to the report's sections.",
            "Pass an overview report that build-report wrote (and the comms team edited) to --narrative-from.",
            file=path)
    try:
        doc = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds on odd packages
        raise CaseAuditError.single(
            "report.narrative-unreadable", f"{path.name} cannot be read as a Word report ({type(exc).__name__}).",
            "Open it in Word, save it again as a Word document (.docx), and run build-report again.",
            file=path) from None
    records = {}
    for region_id in filter(None, (unchunked(props, PROP_REGIONS) or "").split(",")):
        record = RegionRecord.from_value(unchunked(props, PROP_PREFIX + region_id) or "")
        if record is not None:
            records[region_id] = record
    authors = comment_authors(pkg)
    generated = {}
    raw = unchunked(props, PROP_GENERATED)
    if raw:
        try:
            generated = json.loads(zlib.decompress(base64.b64decode(raw)).decode("utf-8"))
        except (ValueError, zlib.error):
            generated = {}
    return PreviousReport(path=path, doc=doc, cycle_id=props.get(PROP_CYCLE, ""), records=records,
                          headings=outline_styles(doc.styles.element), comment_authors=authors, generated=generated)


# --- applying the narrative to a freshly rendered report --------------------------------------


@dataclass
class StaleRegion:
    """An edited passage kept from the previous report whose figures have changed since it was written."""

    region: str
    heading: str
    changes: list[str]


@dataclass
class NarrativeOutcome:
    carried: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    stale: list[StaleRegion] = field(default_factory=list)
    records: dict[str, RegionRecord] = field(default_factory=dict)
    problems: ProblemReport = field(default_factory=ProblemReport)


@dataclass
class _Region:
    region_id: str
    begin: Element
    end: Element
    blocks: list[Element]


_MARK = "[[case-audit narrative"


def _find_regions(body: Element, template_name: str) -> list[_Region]:
    problems = ProblemReport()
    found: list[_Region] = []
    open_region: Optional[tuple[str, Element]] = None
    for p, text, in_body in marker_paragraphs(body, _MARK):
        where = f"near '{text_before(p, '[[case-audit')}'"
        if not in_body:
            problems.add("report.template-region", "A narrative marker sits inside a table or box; it must be a "
                         "paragraph of its own in the body of the document.",
                         "Move the narrative_begin/narrative_end tag out of the table in the template.",
                         file=template_name, location=where)
            continue
        m = _BEGIN_RE.match(text)
        if m:
            if open_region is not None:
                problems.add("report.template-region", f"The narrative region '{open_region[0]}' is not closed before "
                             f"'{m.group(1)}' begins.", "Add {{ narrative_end() }} after the region's text.",
                             file=template_name, location=where)
            open_region = (m.group(1), p)
        elif text == _END:
            if open_region is None:
                problems.add("report.template-region", "A narrative_end() has no narrative_begin(...) before it.",
                             "Remove it, or add the matching narrative_begin(\"name\").",
                             file=template_name, location=where)
                continue
            found.append(_Region(open_region[0], open_region[1], p, blocks_between(open_region[1], p)))
            open_region = None
        else:
            problems.add("report.template-region", "A narrative marker shares its paragraph with other text.",
                         "Put each narrative_begin/narrative_end tag on a paragraph of its own.",
                         file=template_name, location=where)
    if open_region is not None:
        problems.add("report.template-region", f"The narrative region '{open_region[0]}' is never closed.",
                     "Add {{ narrative_end() }} after the region's text.", file=template_name)
    seen: set[str] = set()
    for region in found:
        if region.region_id in seen:
            problems.add("report.template-region", f"The narrative region '{region.region_id}' appears twice.",
                         "Give every narrative_begin(...) its own name.", file=template_name)
        seen.add(region.region_id)
        if not follows_written_block(region.begin, _MARK):
            problems.add("report.template-region",
                         f"The narrative region '{region.region_id}' must follow a heading (or another paragraph "
                         "or table that the build writes), so that rebuilds can find it.",
                         "Put a heading directly above the narrative_begin tag in the template.",
                         file=template_name)
    problems.raise_if_errors(f"The report template {template_name} has misplaced narrative markers.")
    return found


@dataclass
class Decision:
    """What a rebuild does with one region: the pure outcome of comparing records and figures."""

    carry: bool  # keep the edited wording of the previous report (else write the new draft)
    record: RegionRecord  # what this build records for the region
    stale: Optional[StaleRegion] = None  # carried, and its figures changed since it was written
    not_found: bool = False  # the previous report had the region but its passage could not be found
    foreign_comments: bool = False  # someone else's comments sit on the carried passage (not carried)


def decide_region(region_id: str, heading: str, draft_hash: str, now: RegionFigures, old: Optional[RegionRecord],
                  found_hash: Optional[str], authors: Sequence[str],
                  describe: Callable[[Sequence[Figure], Sequence[Figure]], list[str]]) -> Decision:
    """Regenerate or carry one region, and whether it is stale: numbers and hashes in, a decision out.

    `old` is the previous report's record of the region, `found_hash` the hash of
    the passage now there (None when it could not be found), `authors` those of
    the comments on it.
    """
    digest, figures = now.digest(), list(now.figures)
    fresh = RegionRecord(heading=heading, draft=draft_hash, text=draft_hash, written=digest,
                         written_figures=figures, build=digest, build_figures=figures)
    if old is None:
        return Decision(carry=False, record=fresh)
    if found_hash is None:
        return Decision(carry=False, record=fresh, not_found=True)
    if found_hash == old.draft:
        return Decision(carry=False, record=fresh)
    fresh_edit = found_hash != old.text
    # our "please re-read" comment deleted: someone re-read it against that build's figures
    reviewed = old.flagged and COMMENT_AUTHOR not in authors
    if fresh_edit or reviewed:
        written, written_figures = old.build, old.build_figures
    else:
        written, written_figures = old.written, old.written_figures
    if written_figures is None and not (now.sections or now.figures):
        written, written_figures = digest, figures  # an earlier version's record, but no figure to re-check
    record = RegionRecord(heading=heading, draft=draft_hash, text=found_hash, written=written,
                          written_figures=written_figures, build=digest, build_figures=figures)
    stale = None
    if written != digest:
        changes = describe(written_figures, figures) if written_figures is not None \
            else [FIGURES_OF_AN_EARLIER_VERSION]
        stale = StaleRegion(region_id, heading, changes)
    return Decision(carry=True, record=record, stale=stale,
                    foreign_comments=any(a != COMMENT_AUTHOR for a in authors))


def apply_narrative(doc, previous: Optional[PreviousReport], figures: NarrativeFigures, *,
                    template_name: str) -> NarrativeOutcome:
    """Mark every region of the rendered report and put back the edited wording of `previous`."""
    outcome = NarrativeOutcome()
    body = doc.element.body
    importer = BlockImporter(previous.doc, doc) if previous is not None else None
    for region in _find_regions(body, template_name):
        rid = region.region_id
        before, heading = heading_above(region.begin)
        after = block_below(region.end)
        old = previous.records.get(rid) if previous is not None else None
        found = previous.find(rid) if old is not None else None
        decision = decide_region(
            rid, heading, text_hash(blocks_text(region.blocks)), figures.regions.get(rid, RegionFigures()), old,
            text_hash(blocks_text(found.blocks)) if found is not None else None,
            previous.comments_in(found.blocks) if found is not None else [], figures.describe)
        _note(outcome.problems, decision, rid, heading, old, previous)
        if decision.carry:
            new_blocks = _replace_blocks(region, importer.copy(found.blocks))
            outcome.carried.append(rid)
            if decision.stale is not None:
                outcome.stale.append(decision.stale)
                decision.record.flagged = _ask_to_reread(doc, new_blocks or [before], decision.stale)
        else:
            outcome.regenerated.append(rid)
        remove_paragraphs(region.begin, region.end)
        add_bookmark(before, START_PREFIX + bookmark_key(rid), last=True)
        add_bookmark(after, END_PREFIX + bookmark_key(rid))
        outcome.records[rid] = decision.record
    if previous is not None:
        _note_left_behind(outcome, previous, importer)
    return outcome


def _replace_blocks(region: _Region, new_blocks: list[Element]) -> list[Element]:
    """Put the carried blocks where the draft was (our region bookmarks in them dropped)."""
    for block in new_blocks:
        remove_bookmarks(block, lambda name: not _is_marker(name))
    replace_blocks(region.begin, region.blocks, new_blocks)
    return new_blocks


def _note(problems: ProblemReport, decision: Decision, rid: str, heading: str, old: Optional[RegionRecord],
          previous: Optional[PreviousReport]) -> None:
    if decision.not_found:
        problems.add(
            "report.narrative-not-found",
            f"The passage under '{old.heading or rid}' could not be found in {previous.path.name} "
            "(its heading was changed or removed), so the draft wording was used.",
            f"If that passage had been edited, copy the wording across from {previous.path.name}.",
            file=previous.path.name, location=old.heading or rid, severity=Severity.WARNING)
    if decision.foreign_comments:
        problems.add(
            "report.narrative-comments",
            f"Comments on the passage under '{heading or rid}' were not carried into the new report.",
            f"They are still in {previous.path.name}.", file=previous.path.name,
            location=heading or rid, severity=Severity.WARNING)


def _note_left_behind(outcome: NarrativeOutcome, previous: PreviousReport, importer: BlockImporter) -> None:
    """Warn about what could not come across: objects in the carried wording, edited passages with no place."""
    if importer.notes.dropped:
        kinds = sorted(set(importer.notes.dropped))
        outcome.problems.add(
            "report.narrative-dropped-objects",
            f"Some things in the edited wording could not be carried into the new report: {', '.join(kinds)}.",
            f"Compare the new report with {previous.path.name} and add them again in Word.",
            file=previous.path.name, severity=Severity.WARNING)
    for rid, old in previous.records.items():
        if rid in outcome.records:
            continue
        found = previous.find(rid)
        if found is not None and text_hash(blocks_text(found.blocks)) != old.draft:
            outcome.problems.add(
                "report.narrative-dropped",
                f"The edited passage under '{old.heading or rid}' has no place in the new report (that section "
                "is no longer in the template or the workbook), so it was not carried over.",
                f"Its wording is still in {previous.path.name}; copy it into the new report if it is needed.",
                file=previous.path.name, location=old.heading or rid, severity=Severity.WARNING)


def _ask_to_reread(doc, blocks: list[Element], stale: StaleRegion) -> bool:
    """A Word comment on the kept passage: what changed, and 'delete this comment once re-read'."""
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

    found = first_text_run(blocks)
    if found is None:
        return False
    p, r = found
    doc.add_comment(Run(r, Paragraph(p, doc._body)), text=reread_comment(stale.changes), author=COMMENT_AUTHOR,
                    initials="CA")
    return True


def generated_sections(body: Element, narrative: list[list[Element]], top_heading_ids: set[str]) -> dict[str, str]:
    """A hash of the built (non-narrative) text under each top-level heading, contents list left out.

    Comparing these with the previous report shows edits made where the build
    rewrites everything: tables, headings, figures.
    """
    skip = {id(b) for blocks in narrative for b in blocks}
    sections = blocks_under_headings(body, top_heading_ids, "the cover", lambda block: id(block) in skip)
    return {name: text_hash(blocks_text(blocks)) for name, blocks in sections.items()}


def top_heading_styles(styles_root: Element) -> set[str]:
    return heading_1_style_ids(styles_root)


def built_sections(doc, region_ids: Iterable[str]) -> dict[str, str]:
    """`generated_sections` of a report this build has just marked up."""
    body = doc.element.body
    narrative = []
    for rid in region_ids:
        key = bookmark_key(rid)
        found = find_marked_range(body, START_PREFIX + key, END_PREFIX + key, _is_marker)
        if found is not None:
            narrative.append(found.blocks)
    return generated_sections(body, narrative, top_heading_styles(doc.styles.element))


def edited_outside_narrative(previous: PreviousReport) -> list[str]:
    """Top-level sections of the previous report whose built text (tables, headings, figures) someone changed."""
    if not previous.generated:
        return []
    narrative = [found.blocks for rid in previous.records if (found := previous.find(rid)) is not None]
    now = generated_sections(previous.doc.element.body, narrative, top_heading_styles(previous.doc.styles.element))
    return [name for name, digest in now.items() if name in previous.generated and previous.generated[name] != digest]
