"""A Word package written from XML text: for the dev/ builders of the shipped templates.

Escaping, the well-formedness check and the zip live here so that the builders
hold only layout and words; `package.write_parts` is the runtime writer.
"""

from __future__ import annotations

import io
import zipfile
from typing import Mapping
from xml.sax.saxutils import escape as _escape

from .package import parse_xml, read_parts

TEMPLATE_DATE = (2024, 1, 1, 0, 0, 0)  # a fixed timestamp: the same parts always give the same bytes


def xml_text(text: str) -> str:
    """`text` escaped for element content or a double-quoted attribute (&, < and > replaced)."""
    return _escape(text)


def package_from_text(parts: Mapping[str, str], date_time: tuple[int, ...] = TEMPLATE_DATE) -> bytes:
    """A package of these XML parts (UTF-8, deflated, in the order given)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=date_time), text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def check_well_formed(data: bytes) -> None:
    """Raise (PackageError) unless every part of the package is well-formed XML."""
    for name, blob in read_parts(data).items():
        parse_xml(blob, name)
