"""The report as one self-contained, accessible web page, converted from the saved .docx with mammoth.

Why from the .docx, not from the build's context: the page must carry the
comms team's edits, and those live only in the Word file they saved (the
context holds the drafted wording). mammoth (maintained, BSD) maps Word styles
to semantic HTML - headings, lists, real tables with the header row as `th`,
pictures as embedded images with their alt text - and ignores Word's
formatting, which is what a web page wants. Here its output is finished:

- the report's title is the one `h1`; Heading 1-3 become `h2`-`h4`;
- the contents list becomes a `nav` (links, no page numbers: a page has none);
- each chart becomes a `figure` (image with its alt text, caption), with its
  figures table straight after it, and each table caption a `caption`;
- header cells get `scope="col"`;
- `lang`, `title`, a skip link to the report, and CSS readable on a phone and
  on paper. Images are embedded (data: URIs): one file to upload.
"""

from __future__ import annotations

import html
import io
import re

from .ooxml.accessibility import document_title_and_language
from .ooxml.contents import set_contents_pages

STYLE_MAP = """
p[style-name='Title'] => h1.title:fresh
p[style-name='Subtitle'] => p.subtitle:fresh
p[style-name='Cover Board'] => p.board:fresh
p[style-name='Cover Note'] => p.cover-note:fresh
p[style-name='TOC Heading'] => h2.contents-heading:fresh
p[style-name='toc 1'] => p.toc1:fresh
p[style-name='toc 2'] => p.toc2:fresh
p[style-name='toc 3'] => p.toc3:fresh
p[style-name='heading 1'] => h2:fresh
p[style-name='heading 2'] => h3:fresh
p[style-name='heading 3'] => h4:fresh
p[style-name='heading 4'] => h5:fresh
p[style-name='caption'] => p.caption:fresh
p[style-name='Note'] => p.note:fresh
p[style-name='Table Label'] => p.label:fresh
p[style-name='Table Heading'] => p:fresh
p[style-name='Table Text'] => p:fresh
p[style-name='Table Quote'] => p.quote:fresh
p[style-name='Table Bullet'] => ul > li:fresh
p[style-name='List Continue'] => p:fresh
p[style-name='Figure'] => p.figure:fresh
"""

CSS = """
:root { color: #1a1a1a; background: #ffffff; }
body { font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; font-size: 1.125rem; line-height: 1.5;
       margin: 0 auto; max-width: 48rem; padding: 1rem; }
h1, h2, h3, h4, h5 { color: #1f3864; line-height: 1.25; }
h1 { font-size: 2rem; } h2 { font-size: 1.6rem; border-bottom: 2px solid #1f3864; padding-bottom: .25rem;
       margin-top: 2.5rem; } h3 { font-size: 1.3rem; margin-top: 2rem; } h4 { font-size: 1.15rem; }
a { color: #0b4f8a; } a:focus { outline: 3px solid #ffbf47; outline-offset: 0; background: #ffbf47; color: #000; }
.skip-link { position: absolute; left: -9999px; top: 0; padding: .5rem 1rem; }
.skip-link:focus { left: 0; z-index: 10; }
.board { font-weight: bold; color: #1d5c7a; } .subtitle { font-size: 1.3rem; color: #1d5c7a; }
.note, .cover-note { color: #404040; }
nav.contents p { margin: .2rem 0; } nav.contents .toc2 { margin-left: 1.5rem; } nav.contents .toc3 { margin-left: 3rem; }
table { border-collapse: collapse; width: 100%; margin: 0; font-size: 1rem; }
.table-scroll { overflow-x: auto; margin: 1rem 0 2rem; } .table-scroll:focus { outline: 3px solid #ffbf47; }
caption, figcaption, .caption { font-weight: bold; text-align: left; color: #1f3864; padding: .5rem 0; }
th { background: #1f3864; color: #ffffff; text-align: left; }
th, td { border: 1px solid #8c8c8c; padding: .4rem .5rem; vertical-align: top; }
th p, td p { margin: 0 0 .3rem; }
figure { margin: 1.5rem 0 .5rem; } img { max-width: 100%; height: auto; }
@media (max-width: 40rem) {
  body { font-size: 1rem; padding: .75rem; }
  table { font-size: .9rem; } th, td { padding: .3rem; }
  th, td { min-width: 4.5rem; hyphens: auto; } th:first-child, td:first-child { min-width: 10rem; }
}
@media print {
  body { max-width: none; font-size: 11pt; padding: 0; }
  .skip-link { display: none; }
  h2 { break-after: avoid; } h3, h4 { break-after: avoid; }
  tr, figure, img { break-inside: avoid; } thead { display: table-header-group; }
  a { color: #000; text-decoration: none; }
  nav.contents { break-after: page; }
}
"""


def report_html(docx: bytes) -> tuple[str, list[str]]:
    """The page's HTML, and mammoth's messages (styles it did not map, etc.; for developers)."""
    import mammoth

    unnumbered, _ = set_contents_pages(docx, {})  # a web page has no pages: the contents list without numbers
    converted = mammoth.convert_to_html(io.BytesIO(unnumbered), style_map=STYLE_MAP)
    title, language = document_title_and_language(docx)
    body = finish_body(converted.value)
    messages = sorted({m.message for m in converted.messages})
    return page(body, title=title or "Overview report", language=language or "en-GB"), messages


def finish_body(body: str) -> str:
    """mammoth's HTML made navigable: header cells scoped, captions, figures, the contents as a nav."""
    body = body.replace("<th>", '<th scope="col">')
    # "Figure n: ..." caption after a picture: one figure element
    body = re.sub(r'<p(?: class="figure")?>((?:<a id="[^"]*"></a>)*)(<img [^>]*/>)</p><p class="caption">'
                  r'((Figure \d+)[^<]*)</p>(<table>)?',
                  lambda m: f"{m[1]}<figure>{m[2]}<figcaption>{m[3]}</figcaption></figure>"
                            + (f"<table><caption>Figures shown in {m[4]}</caption>" if m[5] else ""), body)
    # a caption right before a table is the table's caption
    body = re.sub(r'<p class="caption">(.*?)</p><table>', r"<table><caption>\1</caption>", body)
    # on a phone a wide table scrolls sideways inside its own box (WCAG reflow allows it for data tables),
    # which a keyboard user can reach (tabindex) and a screen reader names (its caption)
    count = iter(range(1, 10_000))
    body = re.sub(r"<table>(<caption>(.*?)</caption>)?",
                  lambda m: f'<div class="table-scroll" role="region" tabindex="0" aria-label="'
                            f'{html.escape(re.sub("<[^>]+>", "", m[2] or "") or f"Table {next(count)}")}"><table>'
                            f'{m[1] or ""}', body)
    body = body.replace("</table>", "</table></div>")
    # the contents list: its heading and lines, as a nav of links
    body = re.sub(r'(<h2 class="contents-heading">.*?</h2>)((?:<p class="toc\d">.*?</p>)+)',
                  r'<nav class="contents" aria-labelledby="contents-heading">\1\2</nav>', body, count=1)
    body = body.replace('<h2 class="contents-heading">', '<h2 class="contents-heading" id="contents-heading">', 1)
    # the cover (everything before the contents, or before the first section) is the page's header
    cut = body.find('<nav class="contents"')
    if cut < 0:
        cut = body.find("<h2")
    if cut > 0:
        body = f"<header>{body[:cut]}</header>\n<main id=\"report\">{body[cut:]}</main>"
    else:
        body = f'<main id="report">{body}</main>'
    return body


def page(body: str, *, title: str, language: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(language)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f'<a class="skip-link" href="#report">Skip to the report</a>\n{body}\n</body>\n</html>\n')
