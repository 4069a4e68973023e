"""The report as a web page (issue 15): semantic, self-contained, and 0 axe-core violations in headless Chromium.

The axe test needs Debian's chromium and chromium-driver, selenium, and
axe-core's axe.min.js (AXE_CORE_JS, set by .ci/run from npm); it skips, saying
which is missing, where they are absent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document

from pipeline.publish import HTML_NAME
from pipeline.report import build_report
from pipeline.web_page import report_html
from pipeline.workspace import init_workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def page(tmp_path_factory, example_cycle, simulated):
    """The web page of a built report the comms team edited (a sentence added, a heading reworded)."""
    ws = init_workspace(tmp_path_factory.mktemp("web") / "ws", example=True)
    built = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                         issued=())
    doc = Document(str(built.path))
    at = next(i for i, p in enumerate(doc.paragraphs) if p.style.name == "Heading 1" and p.text == "Introduction")
    doc.paragraphs[at + 1].text = "A sentence the communications team added before publishing."
    edited = built.path.with_name("Overview report (comms).docx")
    doc.save(str(edited))
    markup, _ = report_html(edited.read_bytes())
    target = edited.with_name(HTML_NAME)
    target.write_text(markup, encoding="utf-8")
    return target, markup


class Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parsed(markup: str) -> list[tuple[str, dict]]:
    outline = Outline()
    outline.feed(markup)
    return outline.tags


def test_the_page_is_one_file_with_language_title_skip_link_and_real_structure(page, example_cycle):
    target, markup = page
    tags = parsed(markup)
    html_tag = next(a for t, a in tags if t == "html")
    assert html_tag["lang"] == "en-GB"
    title = re.search(r"<title>(.*?)</title>", markup).group(1)
    assert title == f"{example_cycle.settings.report_title} {example_cycle.settings.cycle_name}"
    links = [a for t, a in tags if t == "a" and "href" in a]
    assert links[0]["href"] == "#report" and any(a.get("id") == "report" for _, a in tags)  # the skip link
    assert [t for t, _ in tags].count("h1") == 1
    levels = [int(t[1]) for t, _ in tags if re.fullmatch(r"h[1-6]", t)]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:]))  # no skipped levels
    headers = [a for t, a in tags if t == "th"]
    assert len(headers) > 50 and all(a.get("scope") == "col" for a in headers)
    images = [a for t, a in tags if t == "img"]
    assert len(images) == 6 and all(a["src"].startswith("data:image/png;base64,") for a in images)  # embedded
    assert all(len(a.get("alt", "")) > 40 for a in images)
    assert markup.count("<figure>") == 6 and markup.count("<figcaption>") == 6
    # each bar chart is followed by the table of its figures
    assert len(re.findall(r"</figure><div[^>]*><table><caption>Figures shown in Figure \d", markup)) == 5
    assert not any(t in ("script", "link", "iframe") for t, _ in tags)  # nothing fetched from elsewhere


def test_the_page_carries_the_comms_teams_edits_and_a_contents_nav_without_page_numbers(page):
    target, markup = page
    assert "A sentence the communications team added before publishing." in markup
    nav = re.search(r"<nav .*?</nav>", markup, re.S).group(0)
    entries = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', nav)
    assert len(entries) > 30
    assert not [text for _, text in entries if re.search(r"\d+\s*$", text) and "Development" not in text]
    ids = {a.get("id") for _, a in parsed(markup)}
    assert all(anchor in ids for anchor, _ in entries)  # every contents link lands on its heading


def _axe_script() -> Path | None:
    given = os.environ.get("AXE_CORE_JS")
    candidates = [Path(given)] if given else []
    candidates.append(ROOT / "node_modules" / "axe-core" / "axe.min.js")
    if shutil.which("npm"):
        root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip()
        if root:
            candidates.append(Path(root) / "axe-core" / "axe.min.js")
    return next((c for c in candidates if c.is_file()), None)


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Chromium and its driver are not installed (Debian: chromium chromium-driver; .ci/run installs them)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install '.[test]')")
    return browser, driver


def axe_violations(path: Path, script: Path) -> list[dict]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    browser, driver = _chromium()
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.binary_location = browser
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        chrome.set_script_timeout(120)
        chrome.get(path.as_uri())
        chrome.execute_script(script.read_text(encoding="utf-8"))
        found = chrome.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})))).catch(e => done([{id: 'axe-error', help: String(e)}]));")
    finally:
        chrome.quit()
    return found


def test_the_page_has_no_axe_core_violations_in_headless_chromium(page):
    _chromium()
    script = _axe_script()
    if script is None:
        pytest.skip("axe-core's axe.min.js not found: set AXE_CORE_JS (.ci/run installs axe-core from npm)")
    target, _ = page
    assert axe_violations(target, script) == []


def test_axe_catches_what_the_page_avoids(tmp_path):
    """The harness can fail: a page without lang, title, alt text or scoped headers has violations."""
    _chromium()
    script = _axe_script()
    if script is None:
        pytest.skip("axe-core's axe.min.js not found: set AXE_CORE_JS (.ci/run installs axe-core from npm)")
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head></head><body><img src='x.png'><table><tr><td>a</td></tr></table>"
                   "<a href='#'></a></body></html>", encoding="utf-8")
    found = {v["id"] for v in axe_violations(bad, script)}
    assert {"html-has-lang", "document-title", "image-alt", "link-name"} <= found
