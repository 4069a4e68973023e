"""The package's layout rules, checked on the source itself (issue 9, point 4).

Raw Office Open XML - zip members, lxml trees, escaping for XML - is handled only in
`pipeline/ooxml/`: every other module speaks in forms, returns and reports and calls the named
functions there. The rule is read from the modules' own import statements (with `ast`, so an
import inside a function, or `import xml.sax.saxutils as x`, counts too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pipeline

PACKAGE = Path(pipeline.__file__).resolve().parent
RAW_XML_MODULES = ("lxml", "zipfile", "defusedxml", "xml")

# Modules outside ooxml/ still allowed to break the rule, each with the reason. Empty is the goal:
# an entry here is work left, named in the report that added it.
ALLOWED: dict[str, str] = {}


def raw_xml_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a raw-XML module in `source`, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m.split(".")[0] in RAW_XML_MODULES]
    return found


def test_the_scan_sees_every_form_of_import():
    source = ("import zipfile\nfrom lxml import etree\nimport xml.sax.saxutils as sx\n"
              "def f():\n    from defusedxml import ElementTree\n"
              "from .ooxml.package import open_package\nimport json\n")
    assert [m for _, m in raw_xml_imports(source)] == ["zipfile", "lxml", "xml.sax.saxutils", "defusedxml"]


def test_raw_xml_is_imported_only_inside_ooxml():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("ooxml/") or rel in ALLOWED:
            continue
        offenders += [f"pipeline/{rel}:{line} imports {module}"
                      for line, module in raw_xml_imports(path.read_text(encoding="utf-8"))]
    assert not offenders, "Raw XML belongs in pipeline/ooxml/:\n" + "\n".join(offenders)


def test_the_allow_list_names_only_files_that_still_need_it():
    for rel in ALLOWED:
        path = PACKAGE / rel
        assert path.is_file() and raw_xml_imports(path.read_text(encoding="utf-8")), (
            f"pipeline/{rel} no longer imports raw XML: take it off the allow-list")
