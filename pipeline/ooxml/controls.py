"""Word content controls (w:sdt): build them, lock them, set list items, fill them.

Reading them back is `reading.py`'s (`list_controls`, `read_control`).
Domain-free: controls are known by their `w:tag`, values are text or booleans.
Controls are built *inline* (inside a paragraph, around runs) on purpose:
LibreOffice 7.4 turns block-level and plain-text controls into input fields
and then loses text, while inline rich-text, drop-down and checkbox controls
survive a LibreOffice save with their text (tags and locks do not).
"""

from __future__ import annotations

import io
import zipfile
from typing import Iterable, Mapping, Optional
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .package import open_package, parse_xml
from .reading import control_kind

from .namespaces import W as NS_W, W14 as NS_W14
W = f"{{{NS_W}}}"
W14 = f"{{{NS_W14}}}"
NSMAP = {"w": NS_W, "w14": NS_W14}

DOCUMENT_PART = "word/document.xml"
SETTINGS_PART = "word/settings.xml"

CHECKED_GLYPH = "\u2612"  # ☒
UNCHECKED_GLYPH = "\u2610"  # ☐
CHECKBOX_FONT = "MS Gothic"
PLACEHOLDER_STYLE = "PlaceholderText"
MAX_TAG_LENGTH = 64  # Word refuses longer tags

# The order the schema (CT_SdtPr) puts w:sdtPr children in; the type element comes last.
_SDTPR_ORDER = ["rPr", "alias", "tag", "id", "lock", "placeholder", "temporary", "showingPlcHdr",
                "dataBinding", "label", "tabIndex", "docPartObj"]


# --- building (as XML text, for templates) ---------------------------------


def _check_tag(tag: str) -> None:
    if not tag or len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f"A content-control tag must be 1-{MAX_TAG_LENGTH} characters: {tag!r}")


def _sdt_pr(tag: str, alias: str, run_props: str, *, placeholder: bool, lock: bool) -> str:
    _check_tag(tag)
    parts = [f"<w:rPr>{run_props}</w:rPr>" if run_props else ""]
    if alias:
        parts.append(f"<w:alias w:val={quoteattr(alias)}/>")
    parts.append(f"<w:tag w:val={quoteattr(tag)}/>")
    parts.append('<w:id w:val="0"/>')
    if lock:
        parts.append('<w:lock w:val="sdtLocked"/>')
    if placeholder:
        parts.append("<w:showingPlcHdr/>")
    return "".join(parts)


def _placeholder_run(text: str) -> str:
    return (f'<w:r><w:rPr><w:rStyle w:val="{PLACEHOLDER_STYLE}"/></w:rPr>'
            f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>')


def rich_text_control_xml(tag: str, placeholder: str, *, alias: str = "", run_props: str = "",
                          lock: bool = True) -> str:
    """An inline rich-text control showing `placeholder` until someone types in it."""
    pr = _sdt_pr(tag, alias, run_props, placeholder=True, lock=lock)
    return f"<w:sdt><w:sdtPr>{pr}</w:sdtPr><w:sdtContent>{_placeholder_run(placeholder)}</w:sdtContent></w:sdt>"


def dropdown_control_xml(tag: str, items: Iterable[str], placeholder: str, *, alias: str = "",
                         run_props: str = "", lock: bool = True) -> str:
    """An inline drop-down list; each item's displayed text and value are the same label."""
    pr = _sdt_pr(tag, alias, run_props, placeholder=True, lock=lock)
    listing = "".join(f"<w:listItem w:displayText={quoteattr(i)} w:value={quoteattr(i)}/>" for i in items)
    return (f"<w:sdt><w:sdtPr>{pr}<w:dropDownList>{listing}</w:dropDownList></w:sdtPr>"
            f"<w:sdtContent>{_placeholder_run(placeholder)}</w:sdtContent></w:sdt>")


def checkbox_control_xml(tag: str, *, checked: bool = False, alias: str = "", lock: bool = True) -> str:
    """An inline Word 2010 checkbox (needs the w14 namespace declared on the document)."""
    pr = _sdt_pr(tag, alias, "", placeholder=False, lock=lock)
    glyph = CHECKED_GLYPH if checked else UNCHECKED_GLYPH
    font = f'<w:rFonts w:ascii="{CHECKBOX_FONT}" w:eastAsia="{CHECKBOX_FONT}" w:hAnsi="{CHECKBOX_FONT}" w:hint="eastAsia"/>'
    return (
        f"<w:sdt><w:sdtPr>{pr}<w14:checkbox><w14:checked w14:val=\"{int(checked)}\"/>"
        f'<w14:checkedState w14:val="{ord(CHECKED_GLYPH):04X}" w14:font="{CHECKBOX_FONT}"/>'
        f'<w14:uncheckedState w14:val="{ord(UNCHECKED_GLYPH):04X}" w14:font="{CHECKBOX_FONT}"/>'
        f"</w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:rPr>{font}<w:sz w:val=\"28\"/></w:rPr>"
        f"<w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>"
    )


# --- changing structure ---------------------------------------------------------


def _val(el: Optional[etree._Element], ns: str = W) -> Optional[str]:
    return None if el is None else el.get(f"{ns}val")


def _insert_in_order(pr: etree._Element, child: etree._Element) -> None:
    name = etree.QName(child).localname
    rank = _SDTPR_ORDER.index(name)
    for i, existing in enumerate(pr):
        q = etree.QName(existing)
        if q.namespace != NS_W or q.localname not in _SDTPR_ORDER or _SDTPR_ORDER.index(q.localname) > rank:
            pr.insert(i, child)
            return
    pr.append(child)


def _sdt_pr_of(sdt: etree._Element) -> etree._Element:
    pr = sdt.find(W + "sdtPr")
    if pr is None:
        pr = etree.Element(W + "sdtPr")
        sdt.insert(0, pr)
    return pr


def lock_controls(root: etree._Element, lock: str = "sdtLocked") -> int:
    """Lock every control against deletion (contents stay editable); returns how many."""
    count = 0
    for sdt in root.iter(W + "sdt"):
        pr = _sdt_pr_of(sdt)
        el = pr.find(W + "lock")
        if el is None:
            el = etree.Element(W + "lock")
            _insert_in_order(pr, el)
        el.set(W + "val", lock)
        count += 1
    return count


def number_controls(root: etree._Element, start: int = 100001) -> None:
    """Give every control a distinct w:id (copies made by a template loop share one)."""
    for n, sdt in enumerate(root.iter(W + "sdt"), start=start):
        pr = _sdt_pr_of(sdt)
        el = pr.find(W + "id")
        if el is None:
            el = etree.Element(W + "id")
            _insert_in_order(pr, el)
        el.set(W + "val", str(n))


def set_list_items(root: etree._Element, items: Iterable[str], *, tag_prefix: str) -> int:
    """Replace the choices of every drop-down whose tag starts with `tag_prefix`; returns how many."""
    items = list(items)
    count = 0
    for sdt in root.iter(W + "sdt"):
        pr = sdt.find(W + "sdtPr")
        if pr is None or not (_val(pr.find(W + "tag")) or "").startswith(tag_prefix):
            continue
        lst = pr.find(W + "dropDownList")
        if lst is None:
            lst = pr.find(W + "comboBox")
        if lst is None:
            continue
        for old in lst.findall(W + "listItem"):
            lst.remove(old)
        for label in items:
            item = etree.SubElement(lst, W + "listItem")
            item.set(W + "displayText", label)
            item.set(W + "value", label)
        count += 1
    return count


# --- filling (as Word does when someone types or picks) ---------------------------


def _text_runs(text: str, rpr: Optional[etree._Element]) -> list[etree._Element]:
    """Runs holding `text`, newlines as line breaks and tabs as tabs."""
    run = etree.Element(W + "r")
    if rpr is not None and len(rpr):
        run.append(_copy(rpr))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for n, line in enumerate(lines):
        if n:
            etree.SubElement(run, W + "br")
        for m, piece in enumerate(line.split("\t")):
            if m:
                etree.SubElement(run, W + "tab")
            if piece:
                t = etree.SubElement(run, W + "t")
                t.text = piece
                if piece != piece.strip():
                    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return [run]


def _copy(el: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(el))


def _typed_rpr(sdt: etree._Element) -> Optional[etree._Element]:
    """The formatting Word gives typed text: the control's own run properties, never the placeholder style."""
    pr = sdt.find(W + "sdtPr")
    rpr = pr.find(W + "rPr") if pr is not None else None
    if rpr is None:
        return None
    rpr = _copy(rpr)
    for style in rpr.findall(W + "rStyle"):
        if style.get(W + "val") == PLACEHOLDER_STYLE:
            rpr.remove(style)
    return rpr


def _replace_content(sdt: etree._Element, runs: list[etree._Element]) -> None:
    content = sdt.find(W + "sdtContent")
    if content is None:
        content = etree.SubElement(sdt, W + "sdtContent")
    target = content
    paragraphs = list(content.iter(W + "p"))
    if paragraphs:  # block or cell level: the text goes into the first paragraph, the others go
        target = paragraphs[0]
        for extra in paragraphs[1:]:
            parent = extra.getparent()
            if parent is not None and len(parent.findall(W + "p")) > 1:
                parent.remove(extra)
        for child in list(target):
            if child.tag != W + "pPr":
                target.remove(child)
    else:
        for child in list(content):
            content.remove(child)
    for run in runs:
        target.append(run)


def _drop_placeholder_flag(sdt: etree._Element) -> None:
    pr = sdt.find(W + "sdtPr")
    if pr is not None:
        for flag in pr.findall(W + "showingPlcHdr"):
            pr.remove(flag)


def _as_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().casefold() in {"1", "true", "yes", "y", "x", "on", "checked", CHECKED_GLYPH}


def fill_control(sdt: etree._Element, value: str | bool) -> None:
    """Put `value` into one control the way Word would after a user typed, picked or ticked."""
    kind = control_kind(sdt)
    if kind == "checkbox":
        checked = _as_bool(value)
        box = sdt.find(f"{W}sdtPr/{W14}checkbox")
        state = box.find(W14 + "checked")
        if state is None:
            state = etree.SubElement(box, W14 + "checked")
            box.insert(0, state)
        state.set(W14 + "val", "1" if checked else "0")
        glyph_el = box.find(W14 + ("checkedState" if checked else "uncheckedState"))
        glyph = CHECKED_GLYPH if checked else UNCHECKED_GLYPH
        if glyph_el is not None and glyph_el.get(W14 + "val"):
            glyph = chr(int(glyph_el.get(W14 + "val"), 16))
        texts = list(sdt.find(W + "sdtContent").iter(W + "t"))
        if texts:
            texts[0].text = glyph
            for extra in texts[1:]:
                extra.text = ""
        return
    text = "" if value is None else str(value)
    if kind in ("dropdown", "combobox"):
        pr = sdt.find(W + "sdtPr")
        lst = pr.find(W + ("dropDownList" if kind == "dropdown" else "comboBox"))
        wanted = text.strip().casefold()
        for item in lst.iter(W + "listItem"):
            shown = item.get(W + "displayText") or item.get(W + "value") or ""
            if wanted in (shown.strip().casefold(), (item.get(W + "value") or "").strip().casefold()):
                text = shown
                break
        if kind == "dropdown":
            lst.set(W + "lastValue", text)
    if text == "":
        return  # an untouched control keeps its placeholder
    _replace_content(sdt, _text_runs(text, _typed_rpr(sdt)))
    _drop_placeholder_flag(sdt)


def fill_controls(docx_bytes: bytes, values: Mapping[str, str | bool]) -> bytes:
    """A copy of a document with the controls named by tag filled in, as Word would save it.

    Raises KeyError naming any tag the document does not have (a typo in a test or demo).
    """
    pkg = open_package(docx_bytes)
    root = parse_xml(pkg.read(DOCUMENT_PART), DOCUMENT_PART)
    by_tag: dict[str, list[etree._Element]] = {}
    for sdt in root.iter(W + "sdt"):
        tag = _val(sdt.find(f"{W}sdtPr/{W}tag"))
        if tag:
            by_tag.setdefault(tag, []).append(sdt)
    missing = sorted(set(values) - set(by_tag))
    if missing:
        raise KeyError(f"no content control tagged {', '.join(missing)}")
    for tag, value in values.items():
        for sdt in by_tag[tag]:
            fill_control(sdt, value)
    new_document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return replace_parts(docx_bytes, {DOCUMENT_PART: new_document})


def replace_parts(docx_bytes: bytes, replacements: Mapping[str, bytes]) -> bytes:
    """Re-zip a package with some parts replaced, every other part copied byte for byte."""
    src = zipfile.ZipFile(io.BytesIO(docx_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = replacements.get(info.filename)
            if data is None:
                data = src.read(info)
            new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = info.external_attr
            dst.writestr(new, data)
        for name, data in replacements.items():
            if name not in src.namelist():
                dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()
