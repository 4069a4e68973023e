"""Custom document properties (docProps/custom.xml).

The one place in a .docx measured to survive Word, Word Online, LibreOffice
save, double save and .odt round trips: forms carry their identity here.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .package import Package

CUSTOM_PART = "docProps/custom.xml"
CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
NS_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
NS_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def custom_properties_xml(props: dict[str, str]) -> bytes:
    """The whole custom.xml part for string-valued properties, in the order given."""
    items = []
    for pid, (name, value) in enumerate(props.items(), start=2):
        items.append(
            f'<property fmtid="{FMTID}" pid="{pid}" name={quoteattr(name)}>'
            f"<vt:lpwstr>{escape(str(value))}</vt:lpwstr></property>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{NS_CUSTOM}" xmlns:vt="{NS_VT}">' + "".join(items) + "</Properties>"
    ).encode("utf-8")


def ensure_custom_part_declared(parts: dict[str, bytes]) -> None:
    """Register docProps/custom.xml in [Content_Types].xml and _rels/.rels if it is not yet."""
    ct = etree.fromstring(parts["[Content_Types].xml"])
    target = "/" + CUSTOM_PART
    if not any(el.get("PartName") == target for el in ct.iter(f"{{{NS_CT}}}Override")):
        el = etree.SubElement(ct, f"{{{NS_CT}}}Override")
        el.set("PartName", target)
        el.set("ContentType", CUSTOM_CT)
        parts["[Content_Types].xml"] = etree.tostring(ct, xml_declaration=True, encoding="UTF-8", standalone=True)
    rels = etree.fromstring(parts["_rels/.rels"])
    if not any(el.get("Type") == CUSTOM_REL for el in rels.iter(f"{{{NS_REL}}}Relationship")):
        ids = {el.get("Id") for el in rels}
        n = 1
        while f"rId{n}" in ids:
            n += 1
        el = etree.SubElement(rels, f"{{{NS_REL}}}Relationship")
        el.set("Id", f"rId{n}")
        el.set("Type", CUSTOM_REL)
        el.set("Target", CUSTOM_PART)
        parts["_rels/.rels"] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)


def set_custom_properties(parts: dict[str, bytes], props: dict[str, str]) -> None:
    """Replace the package's custom properties with `props` (a dict of part name -> bytes)."""
    ensure_custom_part_declared(parts)
    parts[CUSTOM_PART] = custom_properties_xml(props)


def read_custom_properties(pkg: Package) -> dict[str, str]:
    """Every custom property as text, whatever value type the saving program chose."""
    root = pkg.xml(CUSTOM_PART)
    if root is None:
        return {}
    found: dict[str, str] = {}
    for prop in root.iter(f"{{{NS_CUSTOM}}}property"):
        name = prop.get("name")
        if not name:
            continue
        value = "".join(child.text or "" for child in prop)
        found[name] = value.strip()
    return found
