"""Stamping out many Word packages from one: parts cut at placeholders, values escaped into place.

A template rendered once holds placeholder strings where each copy differs. `RenderedPackage`
is that package's parts (the main document parsed, for the caller to adjust and check);
`cut` splits it into the parts that are the same in every copy, zipped once, and the parts that
hold placeholders, as text pieces. `Plate.stamp` makes one copy: the same zip with its own
pieces (values XML-escaped) and custom properties appended, one small compression per copy.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Optional
from xml.sax.saxutils import escape

from lxml import etree

from .package import PackageError, add_part, open_package, parse_xml, read_parts, serialize, write_parts
from .properties import CUSTOM_PART, custom_properties_xml, ensure_custom_part_declared, read_custom_properties
from .settings import SETTINGS_PART, set_forms_protection

DOCUMENT_PART = "word/document.xml"
_ESCAPES = {'"': "&quot;", "'": "&apos;"}


def escape_text(text: str) -> str:
    """Plain text as it may stand in element content or an attribute value."""
    return escape(text, _ESCAPES)


@dataclass
class Plate:
    """What `RenderedPackage.cut` leaves: the static parts zipped, the others as text around slots."""

    static_zip: bytes
    slotted: dict[str, list[str]]  # part -> [text, slot, text, slot, ..., text]

    def stamp(self, values: Mapping[str, str], properties: Mapping[str, str]) -> bytes:
        """One copy's bytes: each slot's value (plain text) escaped into place, `properties` as custom.xml."""
        escaped = {name: escape_text(v) for name, v in values.items()}
        out = io.BytesIO(self.static_zip)
        out.seek(0, io.SEEK_END)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for part, pieces in self.slotted.items():
                text = pieces[:]
                text[1::2] = [escaped[name] for name in pieces[1::2]]
                add_part(zf, part, "".join(text).encode("utf-8"))
            add_part(zf, CUSTOM_PART, custom_properties_xml(dict(properties)))
        return out.getvalue()


@dataclass
class RenderedPackage:
    """A package we rendered ourselves (trusted bytes), its main document parsed."""

    parts: dict[str, bytes]
    order: list[str]
    document: etree._Element = field(repr=False)

    @classmethod
    def read(cls, data: bytes) -> "RenderedPackage":
        parts = read_parts(data)
        return cls(parts, list(parts), parse_xml(parts[DOCUMENT_PART], DOCUMENT_PART))

    def xml_texts(self) -> Iterator[str]:
        """Every XML part as text (the document as it was rendered, before any change)."""
        for name, data in self.parts.items():
            if name.endswith(".xml"):
                yield data.decode("utf-8", "replace")

    def set_forms_protection(self, enabled: bool) -> None:
        if SETTINGS_PART in self.parts:
            settings = parse_xml(self.parts[SETTINGS_PART], SETTINGS_PART)
            set_forms_protection(settings, enabled)
            self.parts[SETTINGS_PART] = serialize(settings)

    def cut(self, slots: re.Pattern[str], names: Mapping[str, str], marker: str) -> Plate:
        """The plate for stamping: parts holding `marker` split at `slots` (each token named by `names`).

        The document as changed since `read` is what is cut; custom properties are left for each copy.
        """
        parts = dict(self.parts)
        parts[DOCUMENT_PART] = serialize(self.document)
        parts.pop(CUSTOM_PART, None)
        ensure_custom_part_declared(parts)
        static: dict[str, bytes] = {}
        slotted: dict[str, list[str]] = {}
        for name, data in parts.items():
            if not name.endswith(".xml") or marker.encode() not in data:
                static[name] = data
                continue
            pieces = slots.split(data.decode("utf-8"))
            pieces[1::2] = [names[token] for token in pieces[1::2]]
            slotted[name] = pieces
        return Plate(write_parts(static, self.order), slotted)


def custom_properties_of(data: bytes) -> Optional[dict[str, str]]:
    """A package's custom properties, or None when the bytes are not a package we can read."""
    try:
        return read_custom_properties(open_package(data))
    except (PackageError, etree.XMLSyntaxError):
        return None
