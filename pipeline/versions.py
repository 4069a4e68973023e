"""Which version of a return counts: decided here, once, for the store, the findings and status.

Versions of one form share a slot: same kind, agency, case and KLOEs. A reissued
form (a new form id) lands in the slot of the form it replaced, and a form sent
again (resent, or corrected) lands in its own slot again. Of a slot's versions
the one received last counts; the earlier ones are kept and listed, never counted.
Ingest reads the inbox in the order the files were saved and the store keeps
versions in the order received, so of two copies sent together the later-saved
one counts.

Everything here takes versions already in the order received (oldest first):
the store's rows in the order recorded, or `in_order_received(returns)` for
returns gathered some other way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Sequence, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # annotations only: `status` imports this module without loading pydantic
    from .models import FormIdentity

V = TypeVar("V")


def return_slot(identity: FormIdentity) -> str:
    """Returns in the same slot are versions of one another: same agency, kind, case and KLOEs.

    A reissued form (new form id) lands in the same slot as the form it replaced.
    """
    kloes = ",".join(str(k) for k in sorted(identity.kloes))
    return f"{identity.kind.value}|{identity.agency}|{identity.case_ref or ''}|{kloes}"


def _slot_of_return(version) -> str:
    return return_slot(version.identity)


def versions_by_slot(versions: Iterable[V], slot: Callable[[V], str] = _slot_of_return) -> dict[str, list[V]]:
    """Every slot's versions, oldest first."""
    slots: dict[str, list[V]] = {}
    for version in versions:
        slots.setdefault(slot(version), []).append(version)
    return slots


def counting(slot_versions: Sequence[V]) -> V:
    """Of one slot's versions (oldest first), the one that counts: the one received last."""
    return slot_versions[-1]


def counting_versions(versions: Iterable[V], slot: Callable[[V], str] = _slot_of_return) -> dict[str, V]:
    """Each slot's version that counts, by slot, in the order the slots were first received."""
    return {key: counting(found) for key, found in versions_by_slot(versions, slot).items()}


def received_at(version) -> datetime:
    """When a return was received (one not yet received sorts first)."""
    return version.received_at or datetime.min


def in_order_received(returns: Iterable[V]) -> list[V]:
    """Returns in the order received; those received at the same moment keep the order given."""
    return sorted(returns, key=received_at)
