"""case-audit: the LSCB multi-agency case audit, from blank forms to the board report."""
