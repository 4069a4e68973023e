"""Opening untrusted Office files safely: magic bytes, zip limits, XML without entities."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Optional, Sequence

from lxml import etree

# Limits for files that arrive by email. A real audit form is well under 1 MB.
MAX_PACKAGE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_TOTAL = 200 * 1024 * 1024
MAX_MEMBER_UNCOMPRESSED = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_MEMBERS = 5000

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"


class PackageError(Exception):
    """The file is not an Office package we can read. `code` is stable, `message` plain."""

    def __init__(self, code: str, message: str, fix: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix


def sniff(data: bytes) -> str:
    """What the first bytes say the file is: zip, ole2, pdf, rtf, image, empty, text or unknown."""
    if not data:
        return "empty"
    if data.startswith(ZIP_MAGIC) or data.startswith(EMPTY_ZIP_MAGIC):
        return "zip"
    if data.startswith(OLE2_MAGIC):
        return "ole2"
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"{\\rtf"):
        return "rtf"
    if data[:8] in (b"\x89PNG\r\n\x1a\n",) or data[:3] == b"\xff\xd8\xff" or data[:4] in (b"GIF8", b"II*\x00", b"MM\x00*"):
        return "image"
    head = data[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "xml"
    return "unknown"


_DOCTYPE_MARKS_UTF16 = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-16-le", "utf-16-be"))
# What XML allows before a document type declaration: a byte-order mark, spaces, the declaration, comments, PIs.
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)


def declares_doctype(data: bytes) -> bool:
    """Checked on the raw bytes: the parser's own entity limits would otherwise call a bomb merely 'damaged'.

    Only the prolog is looked at (a part is 60 KB, its prolog a line): XML allows a document type, and so
    entities, nowhere else; anywhere else the parser refuses the part as damaged.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        return any(mark in data for mark in _DOCTYPE_MARKS_UTF16)
    end = _PROLOG.match(data).end()
    return data.startswith(b"<!DOCTYPE", end) or data.startswith(b"<!ENTITY", end)


# Said to agencies and officers alike: plain words, no parser or zip library messages.
_TAMPERED = "The file holds markup that Word and Excel never write, so it may have been tampered with; it was not opened."

Element = etree._Element  # an XML element, for the type hints of modules that pass one along unopened

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, remove_blank_text=False,
)


def parse_xml(data: bytes, part: str = "") -> etree._Element:
    """Parse one XML part; a DOCTYPE (entity tricks, external references) is refused outright."""
    if declares_doctype(data):
        raise PackageError("package.doctype", _TAMPERED, "Do not open it; ask the sender for a fresh copy.")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise PackageError("package.bad-xml", "The file is damaged: part of its text cannot be read.",
                           "Ask the sender to save the file again in Word and resend it.") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise PackageError("package.doctype", _TAMPERED, "Do not open it; ask the sender for a fresh copy.")
    return root


@dataclass
class Package:
    """An opened Office zip package with its parts read lazily under the limits above."""

    zf: zipfile.ZipFile
    names: frozenset[str]
    data: Optional[bytes] = None  # the package's bytes, when it was opened from bytes

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> bytes:
        info = self.zf.getinfo(name)
        if info.file_size > MAX_MEMBER_UNCOMPRESSED:
            raise PackageError("package.too-large", "Part of the file is too large for an audit form.")
        if self.data is not None:
            data = _inflated(self.data, info)
            if data is not None:
                return data
        try:
            with self.zf.open(info) as fh:
                data = fh.read(MAX_MEMBER_UNCOMPRESSED + 1)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError, zlib.error) as exc:
            raise PackageError("package.corrupt", "The file is damaged: part of it cannot be read.",
                               "Ask the sender to save the file again and resend it.") from None
        except RuntimeError:  # encrypted member
            raise PackageError("package.encrypted", "Part of the file is locked with a password.",
                               "Ask the sender to remove the password and resend it.") from None
        if len(data) > MAX_MEMBER_UNCOMPRESSED:
            raise PackageError("package.too-large", "Part of the file is too large for an audit form.")
        return data

    def xml(self, name: str) -> Optional[etree._Element]:
        return parse_xml(self.read(name), name) if self.has(name) else None


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's local header: signature ... name and extra field lengths
_ENCRYPTED, _UTF8_NAME = 0x1, 0x800


def _inflated(package: bytes, info: zipfile.ZipInfo) -> Optional[bytes]:
    """A deflated member read straight from the package's bytes; None leaves it to zipfile.

    zipfile's member file objects cost about ten microseconds of Python each, and every return has
    four small parts read. Only the usual member is read here - deflated, not encrypted, its local
    header where the central directory (parsed and checked by zipfile) says, under the same name -
    and its size and CRC-32 are checked as zipfile checks them. Anything else, and any mismatch,
    goes to zipfile, which reads it or refuses it exactly as before.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & _ENCRYPTED:
        return None
    offset = info.header_offset
    if offset + _LOCAL_HEADER.size > len(package):
        return None
    signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(package, offset)
    name_start = offset + _LOCAL_HEADER.size
    start = name_start + name_length + extra_length
    end = start + info.compress_size
    if signature != ZIP_MAGIC or end > len(package):
        return None
    try:
        if package[name_start:name_start + name_length] != info.orig_filename.encode(
                "utf-8" if info.flag_bits & _UTF8_NAME else "cp437"):
            return None
        inflater = zlib.decompressobj(-15)
        data = inflater.decompress(memoryview(package)[start:end], MAX_MEMBER_UNCOMPRESSED + 1)
    except (UnicodeEncodeError, zlib.error):
        return None
    if len(data) != info.file_size or not inflater.eof or zlib.crc32(data) != info.CRC:
        return None
    return data


def open_package(data: bytes) -> Package:
    """Open bytes as an OOXML zip, refusing zip bombs and duplicate entries."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError("package.too-large", "The file is larger than any audit form could be.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
        raise PackageError("package.corrupt", "The file is damaged or incomplete and cannot be opened.",
                           "Ask the sender to save the file again and resend it.") from None
    if not infos:
        raise PackageError("package.empty", "The file is an empty zip archive, not a Word document.",
                           "Ask the sender to resend the completed form.")
    if len(infos) > MAX_MEMBERS:
        raise PackageError("package.too-many-parts", "The file has too many parts to be an audit form.")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise PackageError("package.duplicate-parts", "The file contains the same part twice; it is malformed or tampered with.",
                           "Ask the sender to save the file again in Word and resend it.")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_TOTAL:
        raise PackageError("package.zip-bomb", "The file expands to far more data than any audit form; refused as unsafe.")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
            raise PackageError("package.zip-bomb", "Part of the file is compressed suspiciously tightly; refused as unsafe.")
    return Package(zf=zf, names=frozenset(names), data=data)


def serialize(root: etree._Element) -> bytes:
    """An XML part as Word writes it: declaration, UTF-8, standalone."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def read_parts(data: bytes) -> dict[str, bytes]:
    """Every part of a package we wrote ourselves (trusted bytes), by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def add_part(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """A fixed timestamp, so the same parts always give the same bytes."""
    zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def write_parts(parts: dict[str, bytes], order: Sequence[str] = ()) -> bytes:
    """A package from its parts; [Content_Types].xml first, as some readers expect."""
    names = [n for n in order if n in parts] + sorted(n for n in parts if n not in order)
    names.sort(key=lambda n: n != "[Content_Types].xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in names:
            add_part(zf, name, parts[name])
    return out.getvalue()
