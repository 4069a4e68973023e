"""word/settings.xml switches go where the schema (CT_Settings) puts them, from the one order list."""

from __future__ import annotations

import io
import zipfile

import pytest

from pipeline.ooxml.namespaces import W
from pipeline.ooxml.package import parse_xml
from pipeline.ooxml.settings import SETTINGS_PART, set_forms_protection, set_update_fields_on_open
from pipeline.workspace import shipped_template

W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


def names(settings) -> list[str]:
    return [child.tag.split("}")[1] for child in settings]


def settings_of(xml_children: str):
    return parse_xml(f'<w:settings xmlns:w="{W}" xmlns:w14="{W14}">{xml_children}</w:settings>'.encode())


def test_update_fields_goes_before_compat_and_before_word_2010_extensions():
    settings = settings_of("<w:zoom w:percent='100'/><w14:docId w14:val='1'/>")
    set_update_fields_on_open(settings)
    assert names(settings) == ["zoom", "updateFields", "docId"]
    settings = settings_of("<w:zoom w:percent='100'/><w:compat/><w:rsids/><w14:docId w14:val='1'/>")
    set_update_fields_on_open(settings)
    set_update_fields_on_open(settings)  # once only
    assert names(settings) == ["zoom", "updateFields", "compat", "rsids", "docId"]


def test_forms_protection_goes_after_track_revisions_and_before_the_tab_stop():
    settings = settings_of("<w:zoom/><w:trackRevisions/><w:defaultTabStop w:val='720'/><w:compat/>")
    set_forms_protection(settings, True)
    assert names(settings) == ["zoom", "trackRevisions", "documentProtection", "defaultTabStop", "compat"]
    set_forms_protection(settings, False)
    assert names(settings) == ["zoom", "trackRevisions", "defaultTabStop", "compat"]


@pytest.mark.parametrize("template", [("word", "audit-form.docx"), ("word", "overview-report.docx")])
def test_both_switches_keep_a_shipped_template_in_schema_order(template):
    with zipfile.ZipFile(io.BytesIO(shipped_template(*template).read_bytes())) as zf:
        settings = parse_xml(zf.read(SETTINGS_PART))
    before = names(settings)
    set_forms_protection(settings, True)
    set_update_fields_on_open(settings)
    after = names(settings)
    assert [n for n in after if n not in ("documentProtection", "updateFields")] == [
        n for n in before if n not in ("documentProtection", "updateFields")]
    assert after.index("documentProtection") < after.index("defaultTabStop") < after.index("updateFields") \
        < after.index("compat")
