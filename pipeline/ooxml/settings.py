"""word/settings.xml: the document-wide switches case-audit sets, each put where the schema wants it.

Word refuses (or "repairs") a settings part whose children are out of the order CT_Settings
declares, so the order is written here once and every switch is placed by it.
"""

from __future__ import annotations

from lxml import etree

from .namespaces import W

SETTINGS_PART = "word/settings.xml"
MATH = "http://schemas.openxmlformats.org/officeDocument/2006/math"
SCHEMA_LIBRARY = "http://schemas.openxmlformats.org/schemaLibrary/2006/main"

# CT_Settings (ECMA-376 Part 1, wml.xsd) in schema order. Extension elements (w14:, w15:, ...)
# come after all of these, as Word writes them.
_ORDER = (
    "writeProtection", "view", "zoom", "removePersonalInformation", "removeDateAndTime",
    "doNotDisplayPageBoundaries", "displayBackgroundShape", "printPostScriptOverText",
    "printFractionalCharacterWidth", "printFormsData", "embedTrueTypeFonts", "embedSystemFonts",
    "saveSubsetFonts", "saveFormsData", "mirrorMargins", "alignBordersAndEdges",
    "bordersDoNotSurroundHeader", "bordersDoNotSurroundFooter", "gutterAtTop", "hideSpellingErrors",
    "hideGrammaticalErrors", "activeWritingStyle", "proofState", "formsDesign", "attachedTemplate",
    "linkStyles", "stylePaneFormatFilter", "stylePaneSortMethod", "documentType", "mailMerge",
    "revisionView", "trackRevisions", "doNotTrackMoves", "doNotTrackFormatting", "documentProtection",
    "autoFormatOverride", "styleLockTheme", "styleLockQFSet", "defaultTabStop", "autoHyphenation",
    "consecutiveHyphenLimit", "hyphenationZone", "doNotHyphenateCaps", "showEnvelope", "summaryLength",
    "clickAndTypeStyle", "defaultTableStyle", "evenAndOddHeaders", "bookFoldRevPrinting", "bookFoldPrinting",
    "bookFoldPrintingSheets", "drawingGridHorizontalSpacing", "drawingGridVerticalSpacing",
    "displayHorizontalDrawingGridEvery", "displayVerticalDrawingGridEvery", "doNotUseMarginsForDrawingGridOrigin",
    "drawingGridHorizontalOrigin", "drawingGridVerticalOrigin", "doNotShadeFormData", "noPunctuationKerning",
    "characterSpacingControl", "printTwoOnOne", "strictFirstAndLastChars", "noLineBreaksAfter",
    "noLineBreaksBefore", "savePreviewPicture", "doNotValidateAgainstSchema", "saveInvalidXml",
    "ignoreMixedContent", "alwaysShowPlaceholderText", "doNotDemarcateInvalidXml", "saveXmlDataOnly",
    "useXSLTWhenSaving", "saveThroughXslt", "showXMLTags", "alwaysMergeEmptyNamespace", "updateFields",
    "hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", f"{{{MATH}}}mathPr",
    "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown", "smartTagType",
    f"{{{SCHEMA_LIBRARY}}}schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol", "listSeparator",
)
_RANK = {(name if name.startswith("{") else f"{{{W}}}{name}"): i for i, name in enumerate(_ORDER)}
# w:schemaLibrary has been seen in the w: namespace too; it sits in the same place.
_RANK.setdefault(f"{{{W}}}schemaLibrary", _RANK[f"{{{SCHEMA_LIBRARY}}}schemaLibrary"])


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


def _rank(tag: object) -> int:
    return _RANK.get(tag, len(_ORDER)) if isinstance(tag, str) else len(_ORDER)


def place(settings: etree._Element, element: etree._Element) -> None:
    """Insert `element` before the first child the schema puts after it (at the end if none)."""
    rank = _rank(element.tag)
    for i, child in enumerate(settings):
        if _rank(child.tag) > rank:
            settings.insert(i, element)
            return
    settings.append(element)


def set_forms_protection(settings: etree._Element, enabled: bool) -> None:
    """Word's 'Filling in forms' restriction without a password (guidance, not security), or none."""
    for old in settings.findall(_w("documentProtection")):
        settings.remove(old)
    if not enabled:
        return
    el = etree.Element(_w("documentProtection"))
    el.set(_w("edit"), "forms")
    el.set(_w("enforcement"), "1")
    place(settings, el)


def set_update_fields_on_open(settings: etree._Element) -> None:
    """Ask Word to refresh every field (the table of contents) when the document opens."""
    existing = settings.find(_w("updateFields"))
    if existing is None:
        existing = etree.Element(_w("updateFields"))
        place(settings, existing)
    existing.set(_w("val"), "true")
