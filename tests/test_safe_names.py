"""One Windows-safe name helper (pipeline.workspace.safe_name) for form files, agency folders and feedback folders."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pipeline.forms import form_stem
from pipeline.ingest import UNIDENTIFIED, write_feedback
from pipeline.models import FormKind
from pipeline.store import ReceivedFile, Store
from pipeline.workspace import init_workspace, safe_name


def _rejected(agency):
    return ReceivedFile(sha256=hashlib.sha256(agency.encode()).hexdigest(), original_path=f"{agency or 'x'}_N-01.docx",
                        archive_name="a.docx", size=1, received_at=datetime(2099, 10, 1), outcome="rejected",
                        message="not a form", agency=agency)


def test_feedback_for_a_form_claiming_a_device_name_goes_to_a_folder_windows_can_make(tmp_path, example_cycle):
    # A returned form's identity is whatever its properties say: "CON" would be a folder Windows cannot create.
    ws = init_workspace(tmp_path / "ws", example=True)
    with Store.open(ws.store_path) as store:
        with store.transaction() as conn:
            for agency in ("CON", "lpt1", 'A<B>"C'):
                store.record_received_file(_rejected(agency), conn)
        written = write_feedback(ws, example_cycle, store)
    assert sorted(p.parent.name for p in written) == ["A-B--C", "_CON", "_lpt1"]


def test_form_files_and_feedback_folders_name_things_the_same_way():
    assert safe_name("NUL.txt") == "_NUL.txt" and safe_name("a/b. ") == "a-b"
    assert safe_name("", empty=UNIDENTIFIED) == UNIDENTIFIED == safe_name(UNIDENTIFIED)
    assert form_stem("COM1", FormKind.AUDIT, "N-01") == "_COM1_N-01"
