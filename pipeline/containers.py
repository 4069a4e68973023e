"""Returns that arrive in the wrong shape: forms inside a .zip or a saved email, and forms LibreOffice can convert.

`unwrap` opens a container (a .zip, a saved email `.eml`, an Outlook `.msg`) and
lists what it holds, each file with its bytes, as if it had been saved into the
inbox by itself. Nothing is ever written under a member's own name, so a name
is only looked at, never trusted: an unsafe one (an absolute path, `..`, a drive
letter) is refused, and so is a container inside a container. Sizes are capped
with the inbox's own limit for a file (`MAX_PACKAGE_BYTES`).

`convert_for_reading` turns an OpenDocument (.odt) or old Word (.doc) return into
.docx through LibreOffice, where it is installed; the original stays what is archived.
"""

from __future__ import annotations

import email
import email.policy
import io
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import PurePosixPath
from typing import Iterator, Optional

from . import libreoffice
from .ooxml.package import MAX_PACKAGE_BYTES, PackageError, open_package, sniff
from .ooxml.reading import describe_ole2, describe_package

ZIP, EMAIL, OUTLOOK = "zip", "email", "outlook"
WHAT = {ZIP: "a zip file", EMAIL: "a saved email", OUTLOOK: "a saved Outlook email"}

OFFICE_SUFFIXES = {".docx", ".docm", ".dotx", ".dotm", ".doc", ".dot", ".odt", ".ott", ".rtf",
                   ".xlsx", ".xlsm", ".xltx", ".pptx", ".ods", ".odp"}
SYSTEM_FILES = {"thumbs.db", "desktop.ini", ".ds_store", "icon\r"}
TEMP_SUFFIXES = {".tmp", ".temp", ".crdownload", ".part", ".partial", ".download"}
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    fix: str


@dataclass
class Member:
    """One file found inside a container."""

    name: str  # as the container names it, made printable
    data: Optional[bytes]  # None when it could not be taken out (too large, damaged)
    refusal: Optional[Refusal] = None  # why it is not read as a return (its bytes, if any, are still archived)


@dataclass
class Unwrapped:
    kind: str  # zip | email | outlook
    members: list[Member] = field(default_factory=list)
    refusal: Optional[Refusal] = None  # the container itself could not be opened

    @property
    def what(self) -> str:
        return WHAT[self.kind]


def junk_reason(name: str) -> Optional[str]:
    """Why a file of this name is left alone wherever it is found (lock, hidden, system, temporary), or None."""
    lower = name.lower()
    if name.startswith("~$"):
        return "Word/Excel lock file (the document is open somewhere)"
    if name.startswith("."):
        return "hidden file"
    if lower in SYSTEM_FILES:
        return "system file"
    if (name.startswith("~") and lower.endswith(".tmp")) or PurePosixPath(lower).suffix in TEMP_SUFFIXES:
        return "temporary file"
    return None


# --- what is a container ------------------------------------------------------------


def container_kind(name: str, data: bytes) -> Optional[str]:
    """zip, email or outlook when the bytes are a container of files (not a Word or OpenDocument file), else None."""
    kind = sniff(data)
    if kind == "zip":
        if PurePosixPath(name.lower()).suffix in OFFICE_SUFFIXES:
            return None  # a damaged or odd Word file is said to be one, not unpacked
        try:
            names = open_package(data).names
        except PackageError:
            return ZIP if name.lower().endswith(".zip") else None  # a damaged zip: said as such by the unwrapping
        office = "[Content_Types].xml" in names or "mimetype" in names or "_rels/.rels" in names
        return None if office else ZIP
    if kind == "ole2":
        return OUTLOOK if describe_ole2(data) == "outlook-message" else None
    if _looks_like_email(data) or (name.lower().endswith(".eml") and kind == "unknown"):
        return EMAIL
    return None


def _looks_like_email(data: bytes) -> bool:
    head = data[:8192]
    return bool(_HEADER_LINE.match(head)) and b"\nmime-version:" in head.lower() and b"\ncontent-type:" in head.lower()


def unsafe_name(name: str) -> bool:
    """A member name that would escape any folder it were saved into, or that no file system allows."""
    if not name or name.startswith(("/", "\\")) or _DRIVE.match(name) or _CONTROL.search(name):
        return True
    return any(part == ".." for part in re.split(r"[\\/]", name))


def unwrap(name: str, data: bytes) -> Unwrapped:
    """The files inside a container, each with its bytes or the reason it is refused."""
    kind = container_kind(name, data)
    opener = {ZIP: _zip_members, EMAIL: _email_members, OUTLOOK: _outlook_members}[kind or ZIP]
    result = Unwrapped(kind or ZIP)
    try:
        for member in opener(data):
            result.members.append(_checked(member))
    except _Unopenable as exc:
        result.refusal = exc.refusal
    return result


class _Unopenable(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message)
        self.refusal = refusal


def _checked(member: Member) -> Member:
    """Refuse a member whose name is unsafe or which is itself a container."""
    if member.refusal is not None or member.data is None:
        return member
    if unsafe_name(member.name):
        member.refusal = Refusal("container.unsafe-name", "The file's name inside the container is unsafe "
                                 "(a full path, '..' or a drive letter), so it was not read.",
                                 "Ask the agency to attach the completed .docx form to the email by itself.")
        member.name = _CONTROL.sub("?", member.name)
    elif container_kind(member.name, member.data) is not None:
        member.refusal = Refusal("container.nested", "The file is itself a zip file or saved email inside "
                                 "another one; files packed twice over are not unpacked.",
                                 "Ask the agency to attach the completed .docx form to the email by itself.")
    return member


def _too_large(name: str, size: int) -> Member:
    return Member(name, None, Refusal("file.too-large", f"{name} is {size / 1024 / 1024:.0f} MB; an audit form is "
                                      "well under 1 MB, so it was not taken out.",
                                      "Check the right attachment was sent; ask the agency to send the audit form on its own."))


# --- zip ------------------------------------------------------------------------------------


def _zip_members(data: bytes) -> Iterator[Member]:
    try:
        pkg = open_package(data)
    except PackageError as exc:
        raise _Unopenable(Refusal("container.unreadable", f"The zip file cannot be opened: {exc.message}",
                                  "Ask the agency to attach the completed .docx form to the email by itself.")) from None
    for info in sorted(pkg.zf.infolist(), key=lambda i: i.filename):
        name = info.filename
        if info.is_dir() or name.startswith("__MACOSX/") or junk_reason(name.replace("\\", "/").rsplit("/", 1)[-1]):
            continue
        if info.file_size > MAX_PACKAGE_BYTES:
            yield _too_large(name, info.file_size)
            continue
        try:
            yield Member(name, pkg.read(name))
        except PackageError as exc:
            yield Member(name, None, Refusal("container.member-unreadable",
                                             f"{name} inside the zip file cannot be taken out: {exc.message}",
                                             exc.fix or "Ask the agency to attach the .docx form by itself."))


# --- saved email (.eml) ---------------------------------------------------------------------


def _email_members(data: bytes) -> Iterator[Member]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    for number, part in enumerate(_attachments(message), start=1):
        name = part.get_filename() or f"attachment {number}{mimetypes.guess_extension(part.get_content_type()) or ''}"
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else part.get_payload()
            blob = inner.as_bytes() if hasattr(inner, "as_bytes") else bytes(str(inner), "utf-8")
            yield Member(name if name.lower().endswith(".eml") else f"{name}.eml", blob)
            continue
        payload = part.get_payload(decode=True) or b""
        if len(payload) > MAX_PACKAGE_BYTES:
            yield _too_large(name, len(payload))
        else:
            yield Member(name, payload)


def _attachments(part: EmailMessage) -> Iterator[EmailMessage]:
    """Every attached file, however deep in the email's parts; an attached email is one file, not opened."""
    if part.get_content_type() == "message/rfc822":
        yield part
        return
    if part.is_multipart():
        for sub in part.iter_parts():
            yield from _attachments(sub)
        return
    disposition = part.get_content_disposition()
    if disposition == "attachment" or (part.get_filename() and not (
            disposition == "inline" and part.get_content_maintype() in ("image", "text"))):
        yield part


# --- Outlook (.msg) -------------------------------------------------------------------------


def _outlook_members(data: bytes) -> Iterator[Member]:
    """Attachments of an Outlook message (MS-OXMSG): one storage each, its bytes and names as properties."""
    import olefile  # a maintained reader of the compound-file format underneath .msg

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except (OSError, ValueError, IndexError) as exc:
        raise _Unopenable(Refusal("container.unreadable", "The saved Outlook email cannot be opened; it may be damaged.",
                                  "Ask the agency to attach the completed .docx form to a new email.")) from exc
    with ole:
        storages = sorted({e[0] for e in ole.listdir(streams=True, storages=True)
                           if e and e[0].startswith("__attach_version1.0_")})
        for number, storage in enumerate(storages, start=1):
            name = _msg_text(ole, storage, "3707") or _msg_text(ole, storage, "3704") or f"attachment {number}"
            if ole.exists(f"{storage}/__substg1.0_3701000D"):  # an email or object attached inside the email
                yield Member(name, None, Refusal("container.nested", "The email has another email or object "
                                                "attached inside it; files packed twice over are not unpacked.",
                                                "Ask the agency to attach the completed .docx form to the email by itself."))
                continue
            stream = f"{storage}/__substg1.0_37010102"
            if not ole.exists(stream):
                continue
            size = ole.get_size(stream)
            if size > MAX_PACKAGE_BYTES:
                yield _too_large(name, size)
                continue
            yield Member(name, ole.openstream(stream).read())


def _msg_text(ole, storage: str, prop: str) -> Optional[str]:
    """A string property of an attachment: Unicode (001F) or 8-bit (001E)."""
    for kind, encoding in (("001F", "utf-16-le"), ("001E", "cp1252")):
        stream = f"{storage}/__substg1.0_{prop}{kind}"
        if ole.exists(stream):
            text = ole.openstream(stream).read().decode(encoding, "replace").rstrip("\x00").strip()
            if text:
                return text
    return None


# --- conversion through LibreOffice -----------------------------------------------------------

ODT, DOC = "odt", "doc"
CONVERTED_NOTE = {
    ODT: "The form arrived as a LibreOffice (OpenDocument, .odt) file; it was converted to Word to read it.",
    DOC: "The form arrived as an old-format Word 97-2003 (.doc) file; it was converted to Word (.docx) to read it",
}
SEND_DOCX = ("Please send .docx next time (in LibreOffice: File > Save As, choose 'Word 2007-365 (.docx)'; "
             "in Word: File > Save As > 'Word Document (*.docx)').")


def convertible(data: bytes) -> Optional[str]:
    """odt or doc when the file is a text document LibreOffice could turn into .docx, else None."""
    kind = sniff(data)
    if kind == "ole2":
        return DOC if describe_ole2(data) == "doc" and not _has_macros(data) else None
    if kind != "zip":
        return None
    try:
        what = describe_package(open_package(data))
    except PackageError:
        return None
    return ODT if what.family == "opendocument" and what.detail.startswith("application/vnd.oasis.opendocument.text") \
        else None


def _has_macros(data: bytes) -> bool:
    """A .doc carrying macros is not opened at all, not even by LibreOffice: it is refused as before."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return ole.exists("Macros") or ole.exists("_VBA_PROJECT_CUR")
    except (OSError, ValueError, IndexError):
        return True  # unreadable as a compound file: not handed to LibreOffice either


def convert_for_reading(data: bytes, kind: str) -> Optional[bytes]:
    """The .docx LibreOffice makes of an .odt or .doc return; None where LibreOffice is missing or fails."""
    return libreoffice.convert(data, f".{kind}", "docx:MS Word 2007 XML")
