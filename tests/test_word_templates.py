"""The shipped Word templates are exactly what the dev/ scripts build today.

A change to a builder (a sentence moved into `pipeline/wording.py`, a new tag)
that is not followed by rebuilding templates/word/ would ship a template the
code no longer fills in: these tests catch it. Compared part by part, each XML
part in canonical form (c14n), so zip timestamps and attribute order do not
count but every word, tag and style does.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from pipeline.workspace import shipped_template

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "dev"
needs_checkout = pytest.mark.skipif(not (DEV / "build_report_template.py").is_file(),
                                    reason="needs a source checkout (the dev/ scripts)")


def _builder(name: str):
    spec = importlib.util.spec_from_file_location(name, DEV / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def canonical_parts(data: bytes) -> dict[str, bytes]:
    """Every part of a .docx by name: XML parts canonicalised, anything else (images) as stored."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            blob = zf.read(name)
            if name.endswith((".xml", ".rels")):
                blob = etree.tostring(etree.fromstring(blob), method="c14n")
            out[name] = blob
    return out


def differing_parts(built: bytes, shipped: bytes) -> list[str]:
    a, b = canonical_parts(built), canonical_parts(shipped)
    return sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))


@needs_checkout
def test_shipped_report_template_is_what_the_build_script_makes_today():
    built = _builder("build_report_template").build()
    shipped = shipped_template("word", "overview-report.docx").read_bytes()
    assert differing_parts(built, shipped) == [], \
        "templates/word/overview-report.docx is out of date: run python dev/build_report_template.py"


@needs_checkout
@pytest.mark.parametrize("name", ["audit-form.docx", "agency-summary.docx"])
def test_shipped_form_templates_are_what_the_build_script_makes_today(name):
    built = _builder("build_word_forms").build()[name]
    shipped = shipped_template("word", name).read_bytes()
    assert differing_parts(built, shipped) == [], \
        f"templates/word/{name} is out of date: run python dev/build_word_forms.py"


def test_the_comparison_sees_a_changed_word_and_ignores_zip_timestamps():
    """The check itself: a one-word change in document.xml is caught; re-zipping alone is not a change."""
    shipped = shipped_template("word", "overview-report.docx").read_bytes()

    def rezip(data: bytes, edit=lambda name, blob: blob) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                zi = zipfile.ZipInfo(info.filename, date_time=(2030, 6, 1, 12, 0, 0))
                dst.writestr(zi, edit(info.filename, src.read(info.filename)), zipfile.ZIP_DEFLATED)
        return out.getvalue()

    assert differing_parts(rezip(shipped), shipped) == []
    reworded = rezip(shipped, lambda name, blob: blob.replace(b"Executive Summary", b"Executive Overview")
                     if name == "word/document.xml" else blob)
    assert differing_parts(reworded, shipped) == ["word/document.xml"]
