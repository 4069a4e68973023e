"""Raw Office Open XML, kept in one place behind small functions.

Nothing here knows about audits: it reads and writes zip packages, custom
document properties, content controls and text. The stages above speak
in forms, returns and reports and call these functions.
"""
