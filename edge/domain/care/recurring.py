"""Recurring bookings: a weekday pattern over a date range (送餐 Monday to Friday for a month).

The series makes one booking per matching day at once, so the roster, the lunch
count and the family page see them like any other; a day the centre is closed
(a `closed` exception of its calendar) is skipped and said so. Pausing (the elder
is in hospital) cancels the open bookings from a day on; resuming books the days
from a later day again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from edge.domain import calendar
from edge.domain.care import bookings
from edge.domain.care.bookings import BookingInput
from edge.domain.care.common import Actor, now_iso
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import BOOKING_OPEN, SeriesStatus, sql_in

MAX_DAYS = 92


def _weekdays(value: Any) -> list[int]:
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= 7
        or any(type(d) is not int or not 0 <= d <= 6 for d in value)
    ):
        raise BadRequest("weekdays must list 1 to 7 numbers, 0 (Mon) to 6 (Sun)", field="weekdays")
    return sorted(set(value))


def _range(from_day: str, to_day: str) -> tuple[date, date]:
    first = calendar.parse_day(from_day, "from_day")
    last = calendar.parse_day(to_day, "to_day")
    if last < first:
        raise BadRequest("to_day is before from_day", field="to_day")
    if (last - first).days >= MAX_DAYS:
        raise BadRequest(f"a series covers at most {MAX_DAYS} days", field="to_day")
    return first, last


def create_series(
    tx: Tx,
    data: BookingInput,
    weekdays: Any,
    to_day: str,
    actor: Actor,
    *,
    allow_clash: bool = False,
) -> dict[str, Any]:
    """Book `data` on each of `weekdays` from `data.day` to `to_day`; closed days skipped."""
    days = _weekdays(weekdays)
    first, last = _range(data.day, to_day)
    series_id = new_id()
    tx.insert(
        "care_series",
        {
            "id": series_id,
            "site_id": tx.site_id,
            "recipient_id": data.recipient_id,
            "service_id": data.service_id,
            "weekdays": ",".join(str(d) for d in days),
            "start": data.start,
            "from_day": first.isoformat(),
            "to_day": last.isoformat(),
            "status": SeriesStatus.ACTIVE,
            "channel": data.channel,
            "request_id": data.request_id,
            "created_by": actor.name,
            "created_at": now_iso(),
        },
    )
    made = _book_days(tx, series_id, data, days, first, last, actor, allow_clash)
    return {"series_id": series_id, **made}


def _book_days(
    tx: Tx,
    series_id: str,
    data: BookingInput,
    days: list[int],
    first: date,
    last: date,
    actor: Actor,
    allow_clash: bool,
) -> dict[str, Any]:
    cal = calendar.load(tx.conn, tx.site_id)
    booked: list[str] = []
    skipped: list[dict[str, str]] = []
    day = first
    while day <= last:
        if day.weekday() in days:
            if day in cal.closed:
                skipped.append({"day": day.isoformat(), "why": "closed"})
            elif not tx.one(
                "SELECT 1 FROM care_bookings WHERE series_id = ? AND day = ?"
                " AND status NOT IN ('cancelled', 'declined')",
                (series_id, day.isoformat()),
            ):
                one = replace(data, day=day.isoformat(), series_id=series_id)
                booked.append(bookings.create_booking(tx, one, actor, allow_clash=allow_clash))
        day += timedelta(days=1)
    if not booked:
        raise BadRequest("no day of that range and those weekdays is open", field="weekdays")
    return {"booked": booked, "skipped": skipped}


def _series(tx: Tx, series_id: str) -> Any:
    row = tx.one("SELECT * FROM care_series WHERE id = ? AND site_id = ?", (series_id, tx.site_id))
    if row is None:
        raise NotFound(f"no series {series_id[:64]!r}", field="series_id")
    return row


def pause(tx: Tx, series_id: str, from_day: str, actor: Actor, reason: str = "") -> int:
    """Cancel the series' open bookings from `from_day` on; returns how many."""
    row = _series(tx, series_id)
    if row["status"] != SeriesStatus.ACTIVE:
        raise Conflict(f"the series is {row['status']}", field="status")
    day = calendar.parse_day(from_day, "from_day").isoformat()
    why = reason or "暂停 paused"
    ids = [
        r["id"]
        for r in tx.execute(
            "SELECT id FROM care_bookings WHERE series_id = ? AND day >= ?"
            f" AND status IN {sql_in(BOOKING_OPEN)}",
            (series_id, day),
        ).fetchall()
    ]
    for booking_id in ids:
        bookings.cancel(tx, booking_id, actor, why)
    tx.update("care_series", series_id, {"status": SeriesStatus.PAUSED, "paused_from": day})
    return len(ids)


def resume(tx: Tx, series_id: str, from_day: str, actor: Actor) -> dict[str, Any]:
    row = _series(tx, series_id)
    if row["status"] != SeriesStatus.PAUSED:
        raise Conflict(f"the series is {row['status']}, not paused", field="status")
    first = max(calendar.parse_day(from_day, "from_day"), date.fromisoformat(row["from_day"]))
    last = date.fromisoformat(row["to_day"])
    tx.update("care_series", series_id, {"status": SeriesStatus.ACTIVE, "paused_from": None})
    if first > last:
        return {"booked": [], "skipped": []}
    data = BookingInput(
        recipient_id=row["recipient_id"],
        service_id=row["service_id"],
        day=first.isoformat(),
        start=row["start"],
        channel=row["channel"],
    )
    days = [int(d) for d in row["weekdays"].split(",")]
    return _book_days(tx, series_id, data, days, first, last, actor, allow_clash=True)
