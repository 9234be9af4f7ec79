"""What the hub asks a centre to do with care (`sync.merge` rule 3): each a command the
centre applies in its own transaction, answered "applied" or "refused" with why.

- `care_book`: a family member's or the hotline's booking (one, or a weekday series).
  It becomes the centre's own `requested` booking, whose `request_id` is the command's
  id, so the hub can tell the waiting request from the booking that answers it.
- `care_cancel`: refused once the visit started (the family reads the reason).
- `care_rate`: a satisfaction of 1-5 for a finished visit.
- `care_series_pause`, `care_series_resume`: the hotline pauses a series (the elder
  is in hospital) or resumes it, from a day (`recurring`).
- `family_order`: a family's grocery order for the elder (`groceries`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edge.domain.care import bookings, groceries, recurring
from edge.domain.care.bookings import BookingInput
from edge.domain.care.common import Actor
from edge.errors import BadRequest, NotFound
from edge.store import Tx


def _by(args: dict[str, Any]) -> Actor:
    return Actor(str(args.get("by") or args.get("requested_by") or "hub")[:40])


def book(tx: Tx, args: dict[str, Any]) -> str:
    channel = str(args.get("channel") or "family")
    if channel not in bookings.HUB_CHANNELS:
        raise BadRequest("a hub booking comes from the family or the hotline", field="channel")
    data = BookingInput(
        recipient_id=str(args.get("recipient_id") or ""),
        service_id=str(args.get("service_id") or ""),
        day=str(args.get("day") or ""),
        start=str(args.get("start") or ""),
        channel=channel,
        note=str(args.get("note") or ""),
        requested_by=str(args.get("requested_by") or ""),
        caller=str(args.get("caller") or ""),
        caller_relation=str(args.get("caller_relation") or ""),
        callback_phone=str(args.get("callback_phone") or ""),
        request_id=str(args.get("request_id") or "") or None,
    )
    if args.get("weekdays"):
        made = recurring.create_series(
            tx, data, args["weekdays"], str(args.get("until")), _by(args)
        )
        skipped = ",".join(s["day"] for s in made["skipped"])
        return f"series {made['series_id']}: {len(made['booked'])} booked" + (
            f"; closed, skipped: {skipped}" if skipped else ""
        )
    return bookings.create_booking(tx, data, _by(args))


def _booking_id(tx: Tx, args: dict[str, Any]) -> str:
    """The booking named by id, or by the request that made it (a cancel sent before
    the centre had answered the booking)."""
    booking_id = str(args.get("booking_id") or "")
    if booking_id:
        return booking_id
    row = tx.one(
        "SELECT id FROM care_bookings WHERE request_id = ? AND site_id = ? ORDER BY day LIMIT 1",
        (str(args.get("request_id") or ""), tx.site_id),
    )
    if row is None:
        raise NotFound("no booking for that request at this centre", field="request_id")
    return str(row["id"])


def cancel(tx: Tx, args: dict[str, Any]) -> str:
    booking_id = _booking_id(tx, args)
    return bookings.cancel(tx, booking_id, _by(args), str(args.get("reason") or ""))


def rate(tx: Tx, args: dict[str, Any]) -> str:
    booking_id = _booking_id(tx, args)
    bookings.rate(tx, booking_id, args.get("rating"), _by(args), str(args.get("note") or ""))
    return f"rated {args.get('rating')}"


def series_pause(tx: Tx, args: dict[str, Any]) -> str:
    series_id, day = str(args.get("series_id") or ""), str(args.get("from_day") or "")
    n = recurring.pause(tx, series_id, day, _by(args), str(args.get("reason") or ""))
    return f"paused from {day}: {n} cancelled"


def series_resume(tx: Tx, args: dict[str, Any]) -> str:
    series_id, day = str(args.get("series_id") or ""), str(args.get("from_day") or "")
    made = recurring.resume(tx, series_id, day, _by(args))
    skipped = ",".join(s["day"] for s in made["skipped"])
    return f"resumed from {day}: {len(made['booked'])} booked" + (
        f"; closed, skipped: {skipped}" if skipped else ""
    )


CARE_COMMANDS = {
    "care_book": book,
    "care_cancel": cancel,
    "care_rate": rate,
    "care_series_pause": series_pause,
    "care_series_resume": series_resume,
    # The box's local clock; a running centre registers it with its settings' clock.
    "family_order": groceries.handler(datetime.now),
}
