"""Returns that arrive in the wrong shape (issue 10): forms inside a .zip or a saved email, .odt and .doc
returns converted by LibreOffice, and plain words for whatever the agency or the officer is told.

Every file is a real one: forms written by generate-forms and filled, zips written by zipfile, emails
written by the standard library's email package as a mail client saves them, and .odt/.doc files saved
by LibreOffice itself from a filled form.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline import containers, libreoffice
from pipeline.ingest import ACCEPTED, ACCEPTED_WITH_PROBLEMS, ALREADY_INGESTED, NOT_READ, REJECTED_LINE, ingest_inbox
from pipeline.problems import CaseAuditError
from pipeline.report.build import build_report
from pipeline.store import Store
from pipeline.workspace import Workspace

from test_ingest import drop, feedback_mentions, lines, records
from test_returns import Issued, complete_answers, issue_forms

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def issued(tmp_path, example_cycle) -> Issued:
    return issue_forms(tmp_path / "ws", example_cycle)


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def saved_email(attachments: dict[str, bytes], *, inline_logo: bool = False, attached_email: bytes = b"") -> bytes:
    """An email as Outlook, Thunderbird or a webmail client saves it (.eml): a body, and files attached."""
    msg = EmailMessage()
    msg["From"], msg["To"] = "auditor@police.example", "lscb@council.example"
    msg["Subject"] = "Case audit return"
    msg.set_content("Please find our audit form attached.")
    msg.add_alternative("<p>Please find our audit form attached.</p><img src='cid:logo'>", subtype="html")
    if inline_logo:
        msg.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image", "png", cid="<logo>",
                                         filename="logo.png", disposition="inline")
    for name, data in attachments.items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    if attached_email:
        msg.add_attachment(attached_email, maintype="message", subtype="rfc822", filename="forwarded.eml")
    return msg.as_bytes()


def archived(ws, data: bytes) -> list[Path]:
    sha = hashlib.sha256(data).hexdigest()
    return [p for p in ws.archive_dir.iterdir() if p.name.startswith(sha)]


def received(ws) -> dict:
    with Store.open(ws.store_path) as store:
        return {f.original_path: f for f in store.received_files()}


# --- .zip ----------------------------------------------------------------------------------------


def test_forms_inside_a_zip_are_each_read_as_if_saved_alone_and_the_zip_is_kept(issued):
    n01, n02 = issued.filled("POLICE", "N-01"), issued.filled("POLICE", "N-02")
    box = zipped({"audit/POLICE_N-01.docx": n01, "POLICE_N-02.docx": n02,
                  "__MACOSX/audit/._POLICE_N-01.docx": b"mac resource fork", "audit/": b""})
    drop(issued, "email 3/returns.zip", box)

    result = ingest_inbox(issued.ws, issued.cycle)

    got = lines(result)
    assert sorted(got) == ["email 3/returns.zip > POLICE_N-02.docx", "email 3/returns.zip > audit/POLICE_N-01.docx"]
    assert {f.outcome for f in result.files} == {ACCEPTED}
    assert got["email 3/returns.zip > POLICE_N-02.docx"].case_ref == "N-02"
    ws = issued.ws
    for data in (box, n01, n02):  # the container and each form, by their own sha256
        [copy] = archived(ws, data)
        assert copy.read_bytes() == data
    assert (ws.inbox / "processed" / "email 3" / "returns.zip").read_bytes() == box
    files = received(ws)
    container = files["email 3/returns.zip"]
    assert container.outcome == "accepted" and container.form_id is None
    assert container.message == "a zip file holding 2 files, each read on its own"
    member = files["email 3/returns.zip > audit/POLICE_N-01.docx"]
    assert member.form_id == issued.form_id("POLICE", "N-01") and member.archive_name.endswith(".docx")
    with Store.open(ws.store_path) as store:
        counted = {r.identity.case_ref: r.source_file for r in store.current_audit_returns()}
    assert counted == {"N-01": "email 3/returns.zip > audit/POLICE_N-01.docx",
                       "N-02": "email 3/returns.zip > POLICE_N-02.docx"}


def test_the_same_zip_again_or_its_forms_in_another_zip_are_not_ingested_twice(issued):
    n01 = issued.filled("POLICE", "N-01")
    box = zipped({"POLICE_N-01.docx": n01})
    drop(issued, "returns.zip", box)
    ingest_inbox(issued.ws, issued.cycle)
    before = records(issued.ws)

    drop(issued, "returns.zip", box)
    drop(issued, "resent/everything.zip", zipped({"POLICE_N-01.docx": n01, "POLICE_N-02.docx": issued.filled("POLICE", "N-02")}))
    again = ingest_inbox(issued.ws, issued.cycle)

    got = lines(again)
    assert got["returns.zip"].outcome == ALREADY_INGESTED
    assert got["resent/everything.zip > POLICE_N-01.docx"].outcome == ALREADY_INGESTED
    assert got["resent/everything.zip > POLICE_N-02.docx"].outcome == ACCEPTED
    with Store.open(issued.ws.store_path) as store:
        assert [r.identity.case_ref for r in store.return_history()] == ["N-01", "N-02"]
    assert set(before["files"]) < set(records(issued.ws)["files"])


KILLED_INGEST = textwrap.dedent("""
    import os, sys
    from pipeline import cli, store
    at, calls, original = int(sys.argv[1]), [0], store.Store.record_received_file
    def dies(*args, **kwargs):
        calls[0] += 1
        if calls[0] >= at:
            os._exit(137)
        return original(*args, **kwargs)
    store.Store.record_received_file = dies
    sys.argv = ["case-audit", "ingest", "-w", sys.argv[2]]
    cli.main()
""")


@pytest.mark.parametrize("at", [2, 3])  # killed after the first form is recorded; after both, before the zip
def test_a_run_killed_inside_a_zip_is_safe_to_run_again(tmp_path, example_cycle, at):
    clean = issue_forms(tmp_path / "clean", example_cycle)
    drop(clean, "returns.zip", zipped({"POLICE_N-01.docx": clean.filled("POLICE", "N-01"),
                                       "POLICE_N-02.docx": clean.filled("POLICE", "N-02")}))
    shutil.copytree(clean.ws.root, tmp_path / "crashed")
    crashed = Issued(Workspace(tmp_path / "crashed"), example_cycle, clean.generated)
    ingest_inbox(clean.ws, example_cycle)

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(at), str(crashed.ws.root)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 137, done.stdout + done.stderr
    assert (crashed.ws.inbox / "returns.zip").is_file()  # the zip is not done with until all of it is recorded
    rerun = ingest_inbox(crashed.ws, example_cycle)

    assert {f.outcome for f in rerun.files} <= {ACCEPTED, ALREADY_INGESTED}
    assert records(crashed.ws) == records(clean.ws)
    assert (crashed.ws.inbox / "processed" / "returns.zip").is_file()


def test_a_zip_inside_a_zip_and_unsafe_names_are_refused_clearly_and_nothing_is_written_by_their_names(issued):
    inner = zipped({"POLICE_N-01.docx": issued.filled("POLICE", "N-01")})
    form = issued.filled("POLICE", "N-02")
    box = zipped({"POLICE_N-03.docx": issued.filled("POLICE", "N-03"), "forms.zip": inner,
                  "../POLICE_N-02.docx": form, "/etc/POLICE_N-04.docx": form + b" ", "C:/POLICE_N-05.docx": form + b"  "})
    drop(issued, "POLICE returns.zip", box)

    result = ingest_inbox(issued.ws, issued.cycle)

    got = lines(result)
    assert got["POLICE returns.zip > POLICE_N-03.docx"].outcome == ACCEPTED
    nested = got["POLICE returns.zip > forms.zip"]
    assert nested.outcome == REJECTED_LINE and nested.problems[0].code == "container.nested"
    assert "inside another one" in nested.message
    for name in ("../POLICE_N-02.docx", "/etc/POLICE_N-04.docx", "C:/POLICE_N-05.docx"):
        line = got[f"POLICE returns.zip > {name}"]
        assert line.outcome == REJECTED_LINE and line.problems[0].code == "container.unsafe-name", name
    assert not (issued.ws.root / "POLICE_N-02.docx").exists() and not (issued.ws.inbox / "POLICE_N-02.docx").exists()
    with Store.open(issued.ws.store_path) as store:
        assert [r.identity.case_ref for r in store.return_history()] == ["N-03"]  # nothing read from a refused file
    assert archived(issued.ws, inner) and archived(issued.ws, form)  # refused, but kept: nothing is lost
    notes = "".join(p.read_text(encoding="utf-8-sig") for p in result.feedback_files)
    assert "File: POLICE returns.zip > forms.zip" in notes and "attach the completed .docx form" in notes


def test_a_zip_bomb_and_a_member_over_the_inbox_size_cap_are_refused_and_the_zip_rejected(issued, monkeypatch):
    bomb = zipped({"POLICE_N-01.docx": b"\0" * (20 * 1024 * 1024)})  # 20 MB of zeros in about 20 KB
    drop(issued, "bomb.zip", bomb)
    form = issued.filled("POLICE", "N-02")
    monkeypatch.setattr(containers, "MAX_PACKAGE_BYTES", len(form) - 1)  # the inbox's own cap, made small
    drop(issued, "big.zip", zipped({"POLICE_N-02.docx": form}))

    result = ingest_inbox(issued.ws, issued.cycle)

    got = lines(result)
    assert got["bomb.zip"].outcome == REJECTED_LINE
    assert [p.code for p in got["bomb.zip"].problems] == ["container.unreadable"]
    assert "refused as unsafe" in got["bomb.zip"].message
    assert got["big.zip > POLICE_N-02.docx"].outcome == REJECTED_LINE and "MB" in got["big.zip > POLICE_N-02.docx"].message
    assert got["big.zip"].outcome == REJECTED_LINE and got["big.zip"].problems[0].code == "file.too-large"
    assert sorted(p.name for p in (issued.ws.inbox / "rejected").iterdir()) == ["big.zip", "bomb.zip"]
    assert not archived(issued.ws, form)


# --- saved email (.eml) ------------------------------------------------------------------------------


def test_a_saved_email_gives_its_attached_forms_and_refuses_an_email_attached_inside_it(issued):
    inner = saved_email({"POLICE_N-03.docx": issued.filled("POLICE", "N-03")})
    eml = saved_email({"POLICE_N-01.docx": issued.filled("POLICE", "N-01"), "POLICE_summary.docx": issued.filled("POLICE")},
                      inline_logo=True, attached_email=inner)
    drop(issued, "Case audit return.eml", eml)

    result = ingest_inbox(issued.ws, issued.cycle)

    got = lines(result)
    assert sorted(got) == ["Case audit return.eml > POLICE_N-01.docx", "Case audit return.eml > POLICE_summary.docx",
                           "Case audit return.eml > forwarded.eml"]  # the signature logo is not a return
    assert got["Case audit return.eml > POLICE_N-01.docx"].outcome == ACCEPTED
    assert got["Case audit return.eml > POLICE_summary.docx"].outcome == ACCEPTED
    assert got["Case audit return.eml > forwarded.eml"].problems[0].code == "container.nested"
    assert (issued.ws.inbox / "processed" / "Case audit return.eml").read_bytes() == eml
    assert feedback_mentions(issued.ws) == {"_unidentified": ["Case audit return.eml > forwarded.eml"]}


def test_an_email_with_nothing_attached_is_rejected_as_such(issued):
    drop(issued, "thanks.eml", saved_email({}))
    result = ingest_inbox(issued.ws, issued.cycle)
    [line] = result.files
    assert line.outcome == REJECTED_LINE and line.problems[0].code == "container.empty"
    assert line.message == "The file is a saved email with no files in it."


def test_before_the_fix_a_zip_was_rejected_as_not_a_word_document(issued):
    """What issue 10 saw: the form was inside, yet the officer was told to ask for it again."""
    box = zipped({"POLICE_N-01.docx": issued.filled("POLICE", "N-01")})
    assert issued.read(box, "returns.zip").problems.errors[0].code == "file.not-word"  # read_return alone
    drop(issued, "returns.zip", box)
    [line] = ingest_inbox(issued.ws, issued.cycle).files  # ingest unwraps it
    assert line.outcome == ACCEPTED


# --- .odt and .doc through LibreOffice -----------------------------------------------------------------


@pytest.fixture
def saved_by_libreoffice(issued, tmp_path, convert_with_libreoffice):
    """A filled POLICE N-01 form saved by LibreOffice as `to` ("odt", "doc:MS Word 97")."""
    source = tmp_path / "POLICE_N-01.docx"
    source.write_bytes(issued.filled("POLICE", "N-01", complete_answers(issued.cycle, S4=("Not met", "", "Seen late."))))

    def save(to: str) -> bytes:
        [saved] = convert_with_libreoffice([source], tmp_path / to.split(":")[0], to)
        return saved.read_bytes()
    return save


@pytest.mark.libreoffice
@pytest.mark.parametrize("to, says", [("odt", "LibreOffice (OpenDocument, .odt)"), ("doc:MS Word 97", "Word 97-2003 (.doc)")])
def test_an_odt_or_doc_return_is_converted_read_and_the_agency_told(issued, saved_by_libreoffice, to, says):
    data = saved_by_libreoffice(to)
    name = f"POLICE_N-01.{to.split(':')[0]}"
    assert issued.read(data, name).outcome.value == "rejected"  # read as it came, it cannot be
    drop(issued, name, data)

    result = ingest_inbox(issued.ws, issued.cycle)

    [line] = result.files
    assert line.outcome == ACCEPTED and line.case_ref == "N-01"  # nothing for the officer to do: a note
    assert [p.code for p in line.problems] == ["file.converted"] and says in line.message
    with Store.open(issued.ws.store_path) as store:
        [ret] = store.current_audit_returns()
    assert ret.file_sha256 == hashlib.sha256(data).hexdigest()  # the original is what is recorded and archived
    assert {a.standard: (a.rating.value if a.rating else None) for a in ret.answers}[4] == "not met"
    assert archived(issued.ws, data)[0].suffix == f".{to.split(':')[0]}"
    [note] = result.feedback_files
    text = note.read_text(encoding="utf-8-sig")
    assert note.parent.name == "POLICE" and "ACCEPTED and counted - please see the note below" in text
    assert says in text and "Please send .docx next time" in text


@pytest.mark.libreoffice
def test_without_libreoffice_an_odt_is_rejected_with_the_save_as_instruction(issued, saved_by_libreoffice, monkeypatch):
    data = saved_by_libreoffice("odt")
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    drop(issued, "POLICE_N-01.odt", data)

    [line] = ingest_inbox(issued.ws, issued.cycle).files

    assert line.outcome == REJECTED_LINE
    [problem] = line.problems
    assert problem.message == "The file is a LibreOffice (OpenDocument) file, not a Word form."
    assert "File > Save As" in problem.fix and problem.value is None


def test_libreoffice_conversion_gives_none_when_it_is_missing_or_too_slow(monkeypatch, tmp_path):
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    assert libreoffice.convert(b"x", ".odt", "docx") is None
    slow = tmp_path / "soffice"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: str(slow))
    if os.name == "posix":
        assert libreoffice.convert(b"x", ".odt", "docx", timeout=0.5) is None


# --- plain words ----------------------------------------------------------------------------------------

TECHNICAL = re.compile(r"application/|vnd\.|opendocument\.text|BadZip|zipfile|magic number|Errno|Traceback|"
                       r"XMLSyntax|\bpart \w+/|central directory", re.IGNORECASE)


def test_agency_facing_text_carries_no_technical_strings(issued):
    odt_like = zipped({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office:document/>"})
    damaged = issued.filled("POLICE", "N-01")[: 3000]
    bad_xml = zipped({"[Content_Types].xml": b"<Types", "_rels/.rels": b"<Relationships"})
    for name, data in {"POLICE_N-01.odt": odt_like, "POLICE_N-02.docx": damaged, "POLICE_N-03.docx": bad_xml,
                       "POLICE_N-04.pdf": b"%PDF-1.4\n"}.items():
        drop(issued, name, data)
    original_find = libreoffice.find_soffice
    libreoffice.find_soffice = lambda: None  # as on a laptop without LibreOffice
    try:
        result = ingest_inbox(issued.ws, issued.cycle)
    finally:
        libreoffice.find_soffice = original_find

    assert result.totals()[REJECTED_LINE] == 4
    for line in result.files:
        for text in [line.message] + [f"{p.message} {p.value or ''} {p.fix}" for p in line.problems]:
            assert not TECHNICAL.search(text), (line.file, text)
    notes = "".join(p.read_text(encoding="utf-8-sig") for p in result.feedback_files)
    assert "LibreOffice (OpenDocument)" in notes and "damaged" in notes and "PDF" in notes
    assert not TECHNICAL.search(notes), notes


def test_a_pdf_given_as_the_narrative_is_said_to_be_a_pdf_not_damaged(issued, tmp_path):
    pdf = tmp_path / "overview-report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with pytest.raises(CaseAuditError) as caught:
        build_report(issued.ws, issued.cycle, narrative_from=pdf)
    [problem] = caught.value.report.problems
    assert problem.code == "report.narrative-pdf"
    assert "a PDF cannot carry the report's editable narrative" in problem.message and "damaged" not in problem.message
    assert ".docx" in problem.fix


def test_a_file_from_a_zip_is_named_to_its_agency_with_the_zip_it_came_in(issued):
    drop(issued, "returns.zip", zipped({"POLICE_N-01.pdf": b"%PDF-1.4\n% printed form\n"}))
    result = ingest_inbox(issued.ws, issued.cycle)
    assert lines(result)["returns.zip > POLICE_N-01.pdf"].outcome == REJECTED_LINE
    [note] = result.feedback_files
    assert note.parent.name == "POLICE"
    assert "1. File: POLICE_N-01.pdf (inside returns.zip)" in note.read_text(encoding="utf-8-sig")


def test_a_fault_inside_case_audit_leaves_the_whole_zip_waiting_and_a_rerun_reads_it(issued, monkeypatch):
    from pipeline import ingest as ingest_module
    box = zipped({"POLICE_N-01.docx": issued.filled("POLICE", "N-01"), "POLICE_N-02.docx": issued.filled("POLICE", "N-02")})
    drop(issued, "returns.zip", box)
    drop(issued, "bundle.zip", zipped({"POLICE_N-03.docx": issued.filled("POLICE", "N-03")}))
    real_read, real_unwrap = ingest_module.read_return, ingest_module.unwrap

    def faulty_read(data, *, filename, **kwargs):
        if filename.endswith("POLICE_N-02.docx"):
            raise ValueError("something case-audit did not expect")
        return real_read(data, filename=filename, **kwargs)

    def faulty_unwrap(name, data):
        if name == "bundle.zip":
            raise KeyError("olefile surprise")
        return real_unwrap(name, data)

    monkeypatch.setattr(ingest_module, "read_return", faulty_read)
    monkeypatch.setattr(ingest_module, "unwrap", faulty_unwrap)
    first = ingest_inbox(issued.ws, issued.cycle)

    got = lines(first)
    assert got["returns.zip > POLICE_N-01.docx"].outcome == ACCEPTED
    assert got["returns.zip > POLICE_N-02.docx"].outcome == NOT_READ and got["returns.zip"].outcome == NOT_READ
    assert got["bundle.zip"].outcome == NOT_READ and "unpacked" in got["bundle.zip"].message
    assert sorted(p.code for p in first.problems) == ["ingest.internal-error"] * 2
    assert sorted(p.name for p in issued.ws.inbox.iterdir() if p.is_file()) == ["bundle.zip", "returns.zip"]

    monkeypatch.setattr(ingest_module, "read_return", real_read)
    monkeypatch.setattr(ingest_module, "unwrap", real_unwrap)
    second = lines(ingest_inbox(issued.ws, issued.cycle))
    assert second["returns.zip > POLICE_N-01.docx"].outcome == ALREADY_INGESTED
    assert second["returns.zip > POLICE_N-02.docx"].outcome == ACCEPTED
    assert second["bundle.zip > POLICE_N-03.docx"].outcome == ACCEPTED
