"""Clashes, found before a booking is saved: the same person twice at once, a full slot.

A slot is a morning (before 12:00) or an afternoon of one day; a service's
`capacity` says how many confirmed bookings one slot holds (助浴: two a morning).
A provider already out on a visit that overlaps cannot take another: that clash
is never overridden. An elder booked twice at overlapping times, or a full slot,
may be overridden by the desk (`allow_clash`): squeezing in a third bath is a
manager's call, but one made knowingly.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from edge.domain.care.common import minutes_of
from edge.errors import Conflict
from edge.store.statuses import BookingStatus, sql_in

HARD = ("provider_busy",)
S = BookingStatus
COUNTED = (S.CONFIRMED, S.ASSIGNED, S.STARTED, S.DONE)  # what fills a slot
BUSY = (S.REQUESTED, S.CONFIRMED, S.ASSIGNED, S.STARTED)


@dataclass(frozen=True, slots=True)
class Clash:
    kind: str  # provider_busy, recipient_busy, slot_full
    detail: str
    booking_id: str = ""

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "booking_id": self.booking_id}


class ClashError(Conflict):
    error = "clash"

    def __init__(self, clashes: list[Clash]) -> None:
        hard = any(c.kind in HARD for c in clashes)
        tail = "" if hard else " (send allow_clash to book anyway)"
        super().__init__("; ".join(c.detail for c in clashes) + tail, field="clash")
        self.clashes = clashes


def period(start: str) -> str:
    return "am" if start < "12:00" else "pm"


def _overlaps(a_start: str, a_min: int, b_start: str, b_min: int) -> bool:
    a0, b0 = minutes_of(a_start), minutes_of(b_start)
    return a0 < b0 + b_min and b0 < a0 + a_min


def find(
    conn: sqlite3.Connection,
    *,
    service: dict[str, Any],
    recipient_id: str,
    day: str,
    start: str,
    minutes: int,
    provider_id: str | None = None,
    exclude: str = "",
    counts_in_slot: bool = True,
) -> list[Clash]:
    out: list[Clash] = []
    if provider_id:
        for r in conn.execute(
            "SELECT b.id, b.start, b.minutes, s.name FROM care_bookings b"
            " JOIN care_services s ON s.id = b.service_id WHERE b.provider_id = ?"
            " AND b.day = ? AND b.status IN ('assigned', 'started') AND b.id != ?",
            (provider_id, day, exclude),
        ):
            if _overlaps(start, minutes, r["start"], r["minutes"]):
                out.append(
                    Clash(
                        "provider_busy",
                        f"the provider is already on {r['name']} at {r['start']} that day",
                        r["id"],
                    )
                )
    for r in conn.execute(
        "SELECT b.id, b.start, b.minutes, s.name, s.kind FROM care_bookings b"
        " JOIN care_services s ON s.id = b.service_id WHERE b.recipient_id = ? AND b.day = ?"
        f" AND b.status IN {sql_in(BUSY)} AND b.id != ?",
        (recipient_id, day, exclude),
    ):
        both_here = r["kind"] == "at_centre" and service["kind"] == "at_centre"
        if not both_here and _overlaps(start, minutes, r["start"], r["minutes"]):
            out.append(
                Clash(
                    "recipient_busy",
                    f"the elder already has {r['name']} at {r['start']} that day",
                    r["id"],
                )
            )
    if counts_in_slot and service["capacity"]:
        taken = sum(
            1
            for r in conn.execute(
                "SELECT start FROM care_bookings WHERE service_id = ? AND day = ?"
                f" AND status IN {sql_in(COUNTED)} AND id != ?",
                (service["id"], day, exclude),
            )
            if period(r["start"]) == period(start)
        )
        if taken >= service["capacity"]:
            half = "morning" if period(start) == "am" else "afternoon"
            out.append(
                Clash(
                    "slot_full",
                    f"{service['name']} is full that {half} ({taken} of {service['capacity']})",
                )
            )
    return out


def refuse(clashes: list[Clash], allow_clash: bool) -> None:
    """Raise unless there is nothing, or only what the desk chose to override."""
    if any(c.kind in HARD for c in clashes) or (clashes and not allow_clash):
        raise ClashError(clashes)
