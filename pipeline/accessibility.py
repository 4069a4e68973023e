"""The accessibility check a reviewer would run on the report, built in (publish and build-report run it).

Rules (GOV.UK's guidance for published documents, WCAG 2.1 AA):
- heading levels never skip (a Heading 3 straight under a Heading 1);
- every picture has alt text;
- every table has a header row (marked to repeat: what Word and PDF tag as headers);
- the title and the language are set;
- no body text below 11 pt (body text: paragraphs in Normal, Body Text and list
  styles outside tables; notes, captions, the contents list and table text are
  not body text);
- link text means something out of context (not "click here", "here", a bare address);
- each style's text colour against its background: contrast of at least 4.5:1.
Each failure is an error Problem; the files are written (and kept) either way.
"""

from __future__ import annotations

import re

from .ooxml.accessibility import DocumentFacts, read_document_facts
from .problems import Problem, make_problem

MIN_CONTRAST = 4.5
VAGUE_LINKS = {"click here", "here", "click", "this", "this link", "link", "more", "read more", "more info",
               "more information", "find out more", "go", "this page", "details"}


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two RRGGBB colours (1 to 21)."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_document(docx: bytes, *, file: str) -> list[Problem]:
    """Every accessibility rule checked on the Word document; one error Problem per failure."""
    return check_facts(read_document_facts(docx), file=file)


def check_facts(facts: DocumentFacts, *, file: str) -> list[Problem]:
    found: list[Problem] = []

    def add(code: str, **fields) -> None:
        found.append(make_problem(code, file=file, **fields))

    previous = 0
    for heading in facts.headings:
        if previous and heading.level > previous + 1:
            add("accessibility.heading-skip", value=heading.text, level=heading.level, previous=previous,
                expected=previous + 1)
        previous = heading.level
    for image in facts.images:
        if not image.alt:
            add("accessibility.image-alt", location=image.where)
    for table in facts.tables:
        if not table.header_row:
            add("accessibility.table-header", location=table.where)
    if not facts.title:
        add("accessibility.title")
    if not facts.language:
        add("accessibility.language")
    for small in facts.small_text:
        add("accessibility.small-text", value=f"{small.points:g}", location=small.where)
    for link in facts.links:
        if _vague(link.text):
            add("accessibility.link-text", value=link.text, location=link.where)
    for style in facts.colours:
        ratio = contrast_ratio(style.colour, style.background)
        if ratio < MIN_CONTRAST:
            add("accessibility.contrast", location=style.style, value=f"#{style.colour}",
                background=f"#{style.background}", ratio=f"{ratio:.1f}")
    return found


def _vague(text: str) -> bool:
    words = re.sub(r"[^\w\s]", "", text).strip().casefold()
    return not words or words in VAGUE_LINKS or bool(re.fullmatch(r"(https?://|www\.)\S+", text.strip()))


def summary_line(problems: list[Problem]) -> str:
    """One line for the command line: passed, or how many failures of how many rules."""
    ours = [p for p in problems if p.code.startswith("accessibility.")]
    if not ours:
        return "Accessibility check: passed (headings, alt text, table headers, title, language, text size, " \
               "link text, colour contrast)."
    rules = len({p.code for p in ours})
    return f"Accessibility check: {len(ours)} problem(s) under {rules} rule(s) - see below."
