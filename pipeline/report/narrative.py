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
draft text written, a hash of the text now there, and a digest of the
figures the wording was written against (`findings.figures_digest` of the
findings it is about, plus the figures quoted in its draft) with those
figure sentences. On rebuild:

- text equals the draft written last time: untouched, so the new draft
  (with the new figures) replaces it;
- otherwise it was edited: the blocks are carried over unchanged, and if
  the figures it was written against differ from today's, the region is
  listed as stale with each changed figure, until someone edits it again.
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
from typing import Iterable, Optional

from docx import Document
from lxml import etree

from ..ooxml.package import PackageError, open_package
from ..ooxml.properties import read_custom_properties
from ..ooxml.regions import (
    W,
    W_P,
    W_SECTPR,
    W_TBL,
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
from ..ooxml.reading import text_of
from ..problems import CaseAuditError, ProblemReport, Severity

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

# A sentence states a figure when it has a percentage, an "a of b", or a count of things.
_FIGURE_RE = re.compile(
    r"\d+%|\b\d+ of (?:the )?\d+\b|\ball \d+\b|\bboth\b.*\bcases\b|\bnone of the \d+\b|"
    r"\b\d+ (?:cases?|forms?|answers?|returns?|practitioners?|agenc(?:y|ies))\b", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?\u201d])\s+(?=[A-Z\u201c\"'(])")


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


def figure_sentences(text: str) -> list[str]:
    """The sentences of a passage that quote figures, in order."""
    out = []
    for line in text.split("\n"):
        for sentence in _SENTENCE_SPLIT.split(line):
            sentence = sentence.strip()
            if sentence and _FIGURE_RE.search(sentence):
                out.append(sentence)
    return out


def figures_digest_for(section_digests: Iterable[str], sentences: list[str]) -> str:
    blob = json.dumps([list(section_digests), sentences], separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# --- the per-region record ---------------------------------------------------------------


@dataclass
class RegionRecord:
    heading: str
    draft: str  # hash of the draft text this build wrote
    text: str  # hash of the text now in the report
    written: str  # figures digest the wording was written against
    written_sentences: list[str]
    build: str  # figures digest of the build that wrote this report
    build_sentences: list[str]
    flagged: bool = False  # this build attached a "figures changed, please re-read" comment

    def to_value(self) -> str:
        payload = {"h": self.heading, "d": self.draft, "t": self.text, "w": self.written, "b": self.build,
                   "ws": self.written_sentences, "f": int(self.flagged)}
        if self.build_sentences != self.written_sentences:
            payload["bs"] = self.build_sentences
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return "z1:" + base64.b64encode(zlib.compress(raw, 9)).decode("ascii")

    @classmethod
    def from_value(cls, value: str) -> Optional["RegionRecord"]:
        try:
            if not value.startswith("z1:"):
                return None
            data = json.loads(zlib.decompress(base64.b64decode(value[3:])).decode("utf-8"))
            return cls(heading=data.get("h", ""), draft=data["d"], text=data["t"], written=data["w"],
                       written_sentences=list(data.get("ws", [])), build=data["b"],
                       build_sentences=list(data.get("bs", data.get("ws", []))), flagged=bool(data.get("f")))
        except (ValueError, KeyError, TypeError, zlib.error):
            return None


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

    def comments_in(self, blocks: list[etree._Element]) -> list[str]:
        """Authors of the comments anchored in these blocks."""
        ids = {el.get(f"{{{W}}}id") for b in blocks for el in b.iter(f"{{{W}}}commentRangeStart",
                                                                   f"{{{W}}}commentReference")}
        return [self.comment_authors.get(i, "") for i in ids if i is not None]

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

    def _is_heading(self, p: etree._Element) -> bool:
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
    authors = {}
    if pkg.has("word/comments.xml"):
        for c in pkg.xml("word/comments.xml").iter(f"{{{W}}}comment"):
            authors[c.get(f"{{{W}}}id")] = c.get(f"{{{W}}}author", "")
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
    begin: etree._Element
    end: etree._Element
    blocks: list[etree._Element]


def _find_regions(body: etree._Element, template_name: str) -> list[_Region]:
    problems = ProblemReport()
    found: list[_Region] = []
    open_region: Optional[tuple[str, etree._Element]] = None
    for p in body.iter(W_P):
        text = text_of(p).strip()
        if "[[case-audit narrative" not in text:
            continue
        where = f"near '{_preceding_text(p)}'"
        if p.getparent() is not body:
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
            found.append(_Region(open_region[0], open_region[1], p, _siblings_between(open_region[1], p)))
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
        before = region.begin.getprevious()
        if before is None or before.tag not in (W_P, W_TBL) or _is_sentinel(before):
            problems.add("report.template-region",
                         f"The narrative region '{region.region_id}' must follow a heading (or another paragraph "
                         "or table that the build writes), so that rebuilds can find it.",
                         "Put a heading directly above the narrative_begin tag in the template.",
                         file=template_name)
    problems.raise_if_errors(f"The report template {template_name} has misplaced narrative markers.")
    return found


def _siblings_between(begin: etree._Element, end: etree._Element) -> list[etree._Element]:
    out = []
    el = begin.getnext()
    while el is not None and el is not end:
        if el.tag != W_SECTPR:
            out.append(el)
        el = el.getnext()
    return out


def _is_sentinel(el: etree._Element) -> bool:
    return el.tag == W_P and "[[case-audit narrative" in text_of(el)


def _preceding_text(p: etree._Element) -> str:
    el = p.getprevious()
    while el is not None:
        text = text_of(el).strip()
        if text and "[[case-audit" not in text:
            return text[:50]
        el = el.getprevious()
    return "the start of the document"


def apply_narrative(doc, previous: Optional[PreviousReport], section_digests: dict[str, list[str]], *,
                    template_name: str) -> NarrativeOutcome:
    """Mark every region of the rendered report and put back the edited wording of `previous`."""
    outcome = NarrativeOutcome()
    body = doc.element.body
    regions = _find_regions(body, template_name)
    importer = BlockImporter(previous.doc, doc) if previous is not None else None
    for region in regions:
        rid, key = region.region_id, bookmark_key(region.region_id)
        before = region.begin.getprevious()
        after = region.end.getnext()
        if after is None or after.tag == W_SECTPR:
            after = etree.Element(W_P)
            region.end.addnext(after)
        heading = text_of(before).strip() if before.tag == W_P else ""
        draft_text = blocks_text(region.blocks)
        draft_hash = text_hash(draft_text)
        sentences = figure_sentences(draft_text)
        digest = figures_digest_for(section_digests.get(rid, []), sentences)
        record = RegionRecord(heading=heading, draft=draft_hash, text=draft_hash, written=digest,
                              written_sentences=sentences, build=digest, build_sentences=sentences)
        old = previous.records.get(rid) if previous is not None else None
        if previous is not None and old is not None:
            found = previous.find(rid)
            if found is None:
                outcome.problems.add(
                    "report.narrative-not-found",
                    f"The passage under '{old.heading or rid}' could not be found in {previous.path.name} "
                    "(its heading was changed or removed), so the draft wording was used.",
                    f"If that passage had been edited, copy the wording across from {previous.path.name}.",
                    file=previous.path.name, location=old.heading or rid, severity=Severity.WARNING)
                outcome.regenerated.append(rid)
            else:
                old_text = blocks_text(found.blocks)
                old_hash = text_hash(old_text)
                if old_hash == old.draft:
                    outcome.regenerated.append(rid)
                else:
                    fresh_edit = old_hash != old.text
                    authors = previous.comments_in(found.blocks)
                    # our "please re-read" comment deleted: someone re-read it against that build's figures
                    reviewed = old.flagged and COMMENT_AUTHOR not in authors
                    if fresh_edit or reviewed:
                        written, written_sentences = old.build, old.build_sentences
                    else:
                        written, written_sentences = old.written, old.written_sentences
                    if any(a != COMMENT_AUTHOR for a in authors):
                        outcome.problems.add(
                            "report.narrative-comments",
                            f"Comments on the passage under '{heading or rid}' were not carried into the new report.",
                            f"They are still in {previous.path.name}.", file=previous.path.name,
                            location=heading or rid, severity=Severity.WARNING)
                    record = RegionRecord(heading=heading, draft=draft_hash, text=old_hash, written=written,
                                          written_sentences=written_sentences, build=digest,
                                          build_sentences=sentences)
                    new_blocks = importer.copy(found.blocks)
                    for block in region.blocks:
                        body.remove(block)
                    anchor = region.begin
                    for block in new_blocks:
                        remove_bookmarks(block, lambda name: not _is_marker(name))
                        anchor.addnext(block)
                        anchor = block
                    outcome.carried.append(rid)
                    if written != digest:
                        stale = StaleRegion(rid, heading, describe_changes(written_sentences, sentences))
                        outcome.stale.append(stale)
                        record.flagged = _ask_to_reread(doc, new_blocks or [before], stale)
        else:
            outcome.regenerated.append(rid)
        body.remove(region.begin)
        body.remove(region.end)
        add_bookmark(before, START_PREFIX + key, last=True)
        add_bookmark(after, END_PREFIX + key)
        outcome.records[rid] = record
    if importer is not None and importer.notes.dropped:
        kinds = sorted(set(importer.notes.dropped))
        outcome.problems.add(
            "report.narrative-dropped-objects",
            f"Some things in the edited wording could not be carried into the new report: {', '.join(kinds)}.",
            f"Compare the new report with {previous.path.name} and add them again in Word.",
            file=previous.path.name, severity=Severity.WARNING)
    if previous is not None:
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
    return outcome


def _ask_to_reread(doc, blocks: list[etree._Element], stale: StaleRegion) -> bool:
    """A Word comment on the kept passage: what changed, and 'delete this comment once re-read'."""
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

    for block in blocks:
        for p in block.iter(W_P):
            for r in p.iter(f"{{{W}}}r"):
                if any((t.text or "").strip() for t in r.iter(f"{{{W}}}t")):
                    run = Run(r, Paragraph(p, doc._body))
                    text = ("The figures this passage was written against have changed: "
                            + "; ".join(stale.changes)
                            + ". Please re-read the passage and update it if needed, then delete this comment "
                            "(case-audit stops listing the passage once the comment is gone or the text is edited).")
                    doc.add_comment(run, text=text, author=COMMENT_AUTHOR, initials="CA")
                    return True
    return False


def _is_toc_block(el: etree._Element) -> bool:
    if el.tag == f"{{{W}}}sdt":
        gallery = el.find(f".//{{{W}}}docPartGallery")
        if gallery is not None and "contents" in (gallery.get(f"{{{W}}}val") or "").casefold():
            return True
    for i in el.iter(f"{{{W}}}instrText"):
        if (i.text or "").strip().upper().startswith("TOC"):
            return True
    for link in el.iter(f"{{{W}}}hyperlink"):
        if (link.get(f"{{{W}}}anchor") or "").startswith("_Toc"):
            return True
    return False


def generated_sections(body: etree._Element, narrative: list[list[etree._Element]],
                       top_heading_ids: set[str]) -> dict[str, str]:
    """A hash of the built (non-narrative) text under each top-level heading, contents list left out.

    Comparing these with the previous report shows edits made where the build
    rewrites everything: tables, headings, figures.
    """
    skip = {id(b) for blocks in narrative for b in blocks}
    sections: dict[str, list[etree._Element]] = {}
    current = "the cover"
    for block in body:
        if block.tag not in (W_P, W_TBL, f"{{{W}}}sdt") or id(block) in skip or _is_toc_block(block):
            continue
        if block.tag == W_P and paragraph_style(block) in top_heading_ids:
            current = text_of(block).strip() or current
        sections.setdefault(current, []).append(block)
    return {name: text_hash(blocks_text(blocks)) for name, blocks in sections.items()}


def top_heading_styles(styles_root: etree._Element) -> set[str]:
    found = set()
    for style in styles_root.iter(f"{{{W}}}style"):
        name = style.find(f"{{{W}}}name")
        if name is not None and (name.get(f"{{{W}}}val") or "").casefold() == "heading 1":
            found.add(style.get(f"{{{W}}}styleId", ""))
    return found


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


def _sentence_key(sentence: str) -> str:
    """What a figure sentence is about, without its numbers: 'In 82% of cases (9 of 11), X.' -> '|X.'"""
    low = sentence.casefold()
    m = re.match(r"^in [^,]*?(audited by [^,]+)?,\s*(.*)$", low)
    if m:
        return (m.group(1) or "") + "|" + re.sub(r"\d+", "#", m.group(2))
    return re.sub(r"\d+", "#", low)


def describe_changes(old: list[str], new: list[str]) -> list[str]:
    """Each figure the passage was written against that now reads differently, in plain words."""
    old_by_key = {_sentence_key(s): s for s in old}
    new_by_key = {_sentence_key(s): s for s in new}
    changes: list[str] = []
    for key, sentence in new_by_key.items():
        before = old_by_key.get(key)
        if before is None:
            changes.append(f"now also: \u201c{sentence}\u201d")
        elif before != sentence:
            changes.append(f"was \u201c{before}\u201d, now \u201c{sentence}\u201d")
    for key, sentence in old_by_key.items():
        if key not in new_by_key:
            changes.append(f"no longer: \u201c{sentence}\u201d")
    if not changes:
        changes.append("the returns behind this passage changed (ratings, reasons, 'not applicable' or blank "
                       "answers), although the figures quoted in its draft did not; check any reasons it quotes")
    return changes
