"""Where a received file came from, read from the path it was recorded under.

A file saved straight into inbox/ is recorded by its path there
("from email/POLICE_N-01.docx"); a file that came inside a .zip or saved email
as "returns.zip > POLICE_N-01.docx" ('>' cannot be in a Windows file name, so
this never misleads). Kept apart from `containers` and `ingest` so that
`status` and `results` can say who sent a file without loading the form reader.
"""

from __future__ import annotations

from typing import Optional, TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: `status` imports this module without loading pydantic
    from .models import Cycle

ORIGIN_SEP = " > "


def member_path(container: str, member: str) -> str:
    """How a file inside a container is named in the listing, the records and feedback."""
    return f"{container}{ORIGIN_SEP}{member}"


def split_origin(original_path: str) -> tuple[Optional[str], str]:
    """(container, member name) for a file that came inside a container, else (None, the path)."""
    container, sep, member = original_path.partition(ORIGIN_SEP)
    return (container, member) if sep else (None, original_path)


def file_name(original_path: str) -> str:
    """The file's own name, without the inbox sub-folders it was saved under (and the .zip or email it came in)."""
    container, member = split_origin(original_path)
    name = member.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name} (inside {file_name(container)})" if container else name


def agency_from_file_name(original_path: str, cycle: Cycle) -> Optional[str]:
    """The agency a file's name says sent it ("POLICE_N-01.pdf"): the forms are issued named that way."""
    name = file_name(split_origin(original_path)[1]).casefold()
    for agency in sorted(cycle.agencies, key=lambda a: len(a.code), reverse=True):
        if name.startswith(agency.code.casefold() + "_"):
            return agency.code
    return None
