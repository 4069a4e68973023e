"""A package's parts are read from its bytes exactly as zipfile reads them, or by zipfile (issue 11).

`Package.read` inflates the usual member (deflated, not encrypted, local header where the central
directory says) straight from the file's bytes: zipfile's member objects cost more than the small
parts themselves. Checked here on real files - the shared corpus, forms as generate-forms writes
them, a form LibreOffice saved - and on members changed so that only zipfile should read them, or
nobody: stored, data-descriptor, renamed, wrong CRC, cut short.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from pipeline.ooxml import package as package_module
from pipeline.ooxml.package import PackageError, open_package
from pipeline.returns import Outcome

from test_returns import Issued, issue_forms

SHARED = Path(os.environ.get("CASE_AUDIT_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
CORPUS = SHARED / "corpus"


def _parts_as_zipfile_reads_them(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _read_both_ways(data: bytes, monkeypatch) -> tuple[dict[str, bytes], int]:
    """Every part through Package.read, and how many of them the fast path read itself."""
    fast = 0
    inflated = package_module._inflated

    def counting(package, info):
        nonlocal fast
        found = inflated(package, info)
        fast += found is not None
        return found

    monkeypatch.setattr(package_module, "_inflated", counting)
    pkg = open_package(data)
    return {name: pkg.read(name) for name in pkg.zf.namelist()}, fast


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS} (set CASE_AUDIT_SHARED)")
def test_every_part_of_every_corpus_file_reads_as_zipfile_reads_it(monkeypatch):
    files = fast = 0
    for path in sorted(p for kind in ("docx", "xlsx") for p in (CORPUS / kind).iterdir()):
        data = path.read_bytes()
        try:
            expected = _parts_as_zipfile_reads_them(data)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError, zlib.error, RuntimeError):
            continue  # a damaged sample: zipfile cannot read it either
        try:
            read, n = _read_both_ways(data, monkeypatch)
        except PackageError:
            continue  # refused before reading (too many parts, a bomb): nothing was read either way
        assert read == expected, path.name
        files, fast = files + 1, fast + n
    assert files > 50 and fast > 500, (files, fast)


@pytest.fixture
def issued(tmp_path, example_cycle) -> Issued:
    return issue_forms(tmp_path / "ws", example_cycle)


@pytest.mark.libreoffice
def test_a_form_as_written_and_as_libreoffice_saves_it_reads_as_zipfile_reads_it(issued, monkeypatch, tmp_path,
                                                                                 resave_with_libreoffice):
    filled = issued.filled("POLICE", "N-01")
    read, fast = _read_both_ways(filled, monkeypatch)
    assert read == _parts_as_zipfile_reads_them(filled) and fast == len(read)
    path = tmp_path / "POLICE_N-01.docx"
    path.write_bytes(filled)
    resave_with_libreoffice(path)
    resaved = path.read_bytes()
    read, fast = _read_both_ways(resaved, monkeypatch)
    assert read == _parts_as_zipfile_reads_them(resaved) and fast > 0


def _rewritten(data: bytes, change) -> bytes:
    """The package written again member by member, `change(info, payload)` giving each member's (info, payload)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new_info, payload = change(zipfile.ZipInfo(info.filename, info.date_time), src.read(info))
            dst.writestr(new_info, payload, compress_type=new_info.compress_type)
    return out.getvalue()


def _stored(info, payload):
    info.compress_type = zipfile.ZIP_STORED
    return info, payload


def _deflated(info, payload):
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, payload


def test_stored_members_go_to_zipfile_and_read_the_same(issued, monkeypatch):
    data = _rewritten(issued.filled("POLICE", "N-01"), _stored)
    read, fast = _read_both_ways(data, monkeypatch)
    assert read == _parts_as_zipfile_reads_them(data) and fast == 0
    assert issued.read(data).outcome is Outcome.ACCEPTED


def test_members_written_with_data_descriptors_read_the_same(issued, monkeypatch):
    """A zip streamed out (sizes after the data, as some mail gateways rewrite attachments) reads as zipfile reads it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(issued.filled("POLICE", "N-01"))) as src, \
            zipfile.ZipFile(_Unseekable(out), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            streamed = zipfile.ZipInfo(info.filename, info.date_time)
            streamed.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(streamed, "w") as fh:
                fh.write(src.read(info))
    data = out.getvalue()
    assert any(i.flag_bits & 0x08 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    read, fast = _read_both_ways(data, monkeypatch)
    assert read == _parts_as_zipfile_reads_them(data) and fast == len(read)


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes each member's sizes in a data descriptor after it."""

    def __init__(self, target: io.BytesIO):
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        return self.target.write(b)

    def flush(self) -> None:
        pass


def _local_header_offset(data: bytes, name: str) -> int:
    return zipfile.ZipFile(io.BytesIO(data)).getinfo(name).header_offset


def _central_entry(data: bytes, name: str) -> int:
    """Where the member's entry in the central directory starts."""
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_length] == name.encode():
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} is not in the central directory")


def test_a_member_whose_crc_does_not_match_is_refused_as_damaged(issued):
    data = bytearray(_rewritten(issued.filled("POLICE", "N-01"), _deflated))
    entry = _central_entry(bytes(data), "word/document.xml")
    struct.pack_into("<I", data, entry + 16, struct.unpack_from("<I", data, entry + 16)[0] ^ 0xFFFFFFFF)
    data = bytes(data)
    assert package_module._inflated(data, zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml")) is None
    outcome = issued.read(data)
    assert outcome.outcome is Outcome.REJECTED
    assert [p.code for p in outcome.problems] == ["file.corrupt"]


def test_a_member_whose_local_name_differs_from_the_directory_goes_to_zipfile(issued):
    """A tampered zip (the name in the member's own header is not the directory's) is zipfile's to refuse."""
    data = bytearray(_rewritten(issued.filled("POLICE", "N-01"), _deflated))
    offset = _local_header_offset(bytes(data), "word/document.xml")
    data[offset + 30:offset + 30 + len(b"word/document.xml")] = b"word/documenX.xml"
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml")
    assert package_module._inflated(bytes(data), info) is None
    outcome = issued.read(bytes(data))
    assert outcome.outcome is Outcome.REJECTED
    assert [p.code for p in outcome.problems] == ["file.corrupt"]


def test_a_member_cut_short_is_refused_as_damaged(issued):
    data = _rewritten(issued.filled("POLICE", "N-01"), _deflated)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename)
    # the document's compressed bytes made garbage half way, sizes left as they were
    middle = start + info.compress_size // 2
    broken = data[:middle] + bytes(64) + data[middle + 64:]
    assert package_module._inflated(broken, zipfile.ZipFile(io.BytesIO(broken)).getinfo("word/document.xml")) is None
    outcome = issued.read(broken)
    assert outcome.outcome is Outcome.REJECTED
    assert [p.code for p in outcome.problems] == ["file.corrupt"]
