"""One look at an Office package before any library reads it: what it is, whether it is safe.

`inspect_package` parses every XML part (a DOCTYPE or damaged XML anywhere raises PackageError
before anything else happens) and reads what the content list and relationships say the
package is: its main part and that part's content type, Strict Open XML, macros. The stage
that asked (the cycle workbook, a returned form) decides what each fact means to its user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from lxml import etree

from .namespaces import CONTENT_TYPES, PACKAGE_REL
from .package import Package, PackageError, declares_doctype, parse_xml
from .reading import describe_ole2

STRICT_PREFIX = "http://purl.oclc.org/ooxml/"
OFFICE_DOCUMENT_REL = "/officeDocument"
_XML_SUFFIXES = (".xml", ".rels", ".vml")


@dataclass(frozen=True)
class PackageFacts:
    """What a package's content list and relationships say it is (never its file name)."""

    office_lists: bool  # [Content_Types].xml and _rels/.rels are both there
    strict_relationships: bool = False  # a package relationship in the Strict Open XML namespace
    macros: bool = False  # a macro-enabled content type, a VBA project or Excel 4 macro sheets
    main_part: Optional[str] = None  # the officeDocument relationship's target
    main_type: str = ""  # that part's content type ("" when the content list has none)
    main_present: bool = False


def inspect_package(package: Package) -> PackageFacts:
    """Every XML part parsed first, then what the package says it is; PackageError for unsafe or damaged XML."""
    for name in sorted(package.names):
        lowered = name.lower()
        if not name.endswith("/") and (lowered.endswith(_XML_SUFFIXES) or lowered == "[content_types].xml"):
            body = package.read(name)
            if declares_doctype(body):
                raise PackageError("package.doctype", f"The part {name} declares a DOCTYPE.")
            parse_xml(body, name)
    content_types = package.xml("[Content_Types].xml")
    rels = package.xml("_rels/.rels")
    if content_types is None or rels is None:
        return PackageFacts(office_lists=False)
    types, defaults = _content_types(content_types)
    rel_types = [(el.get("Type") or "", (el.get("Target") or "").lstrip("/"))
                 for el in rels if el.tag == f"{{{PACKAGE_REL}}}Relationship"]
    all_types = " ".join(list(types.values()) + list(defaults.values())).lower()
    macros = ("macroenabled" in all_types or "vbaproject" in all_types
              or any(n.lower().startswith("xl/macrosheets/") or n.lower().endswith("vbaproject.bin")
                     for n in package.names))
    main = next((target for t, target in rel_types if t.endswith(OFFICE_DOCUMENT_REL)), None)
    main_type = types.get(main or "") or defaults.get((main or "").rsplit(".", 1)[-1].lower(), "")
    return PackageFacts(office_lists=True, strict_relationships=any(t.startswith(STRICT_PREFIX) for t, _ in rel_types),
                        macros=macros, main_part=main, main_type=main_type,
                        main_present=main is not None and package.has(main))


def _content_types(root: etree._Element) -> tuple[dict[str, str], dict[str, str]]:
    """Part name -> content type (Override), and extension -> content type (Default)."""
    types, defaults = {}, {}
    for el in root:
        if el.tag == f"{{{CONTENT_TYPES}}}Override":
            types[(el.get("PartName") or "").lstrip("/")] = el.get("ContentType") or ""
        elif el.tag == f"{{{CONTENT_TYPES}}}Default":
            defaults[(el.get("Extension") or "").lower()] = el.get("ContentType") or ""
    return types, defaults


def workbook_sheets(package: Package, facts: PackageFacts) -> Optional[list[str]]:
    """The workbook's sheet names in order, from its main part; None when that part is Strict Open XML."""
    root = package.xml(facts.main_part) if facts.main_present else None
    if root is None:
        return []
    if root.tag.startswith("{" + STRICT_PREFIX):
        return None
    return [el.get("name") for el in root.iter()
            if isinstance(el.tag, str) and el.tag.endswith("}sheet") and el.get("name") is not None]


def legacy_office_kind(data: bytes) -> str:
    """What an old-style (OLE2 compound) Office file holds: see `reading.describe_ole2`."""
    return describe_ole2(data)
