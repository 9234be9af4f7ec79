"""One booked visit and its status, which only moves forward; every step says who and when.

    requested ─┬─▶ confirmed ─▶ assigned ─▶ started ─┬─▶ done
               ├─▶ declined (with a reason)          └─▶ not_at_home
               └─▶ (assign confirms too)    cancelled from requested, confirmed, assigned

A booking from the desk (tablet, phone, walk-in) starts confirmed; one from the hub
(family, hotline) arrives requested and waits for the manager. A cancel after the
visit started is refused, and the refusal says why (the family reads it). The price is
fixed when booked: `charged_fen` (the subsidised price for an eligible elder) plus
`subsidy_fen` is `price_fen`, to the fen.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.domain.calendar import parse_day
from edge.domain.care import clashes
from edge.domain.care.catalog import get_service
from edge.domain.care.common import Actor, hhmm, now_iso, row_dict, text, whole
from edge.domain.care.providers import get_provider
from edge.domain.care.recipients import own
from edge.errors import BadRequest, Conflict, Forbidden, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import BOOKING_OPEN, BOOKING_VISITED, BookingStatus

S = BookingStatus
STATUSES = tuple(BookingStatus)
STATUS_ZH = {
    S.REQUESTED: "待确认",
    S.CONFIRMED: "已确认",
    S.DECLINED: "已婉拒",
    S.ASSIGNED: "已派人",
    S.STARTED: "服务中",
    S.DONE: "已完成",
    S.NOT_AT_HOME: "上门未遇",
    S.CANCELLED: "已取消",
}
FORWARD = {
    S.REQUESTED: (S.CONFIRMED, S.DECLINED, S.ASSIGNED, S.CANCELLED),
    S.CONFIRMED: (S.ASSIGNED, S.CANCELLED),
    S.ASSIGNED: (S.ASSIGNED, S.STARTED, S.NOT_AT_HOME, S.CANCELLED),
    S.STARTED: (S.DONE, S.NOT_AT_HOME),
}
OPEN = BOOKING_OPEN
CHANNELS = ("tablet", "phone", "walkin", "family", "hotline")
HUB_CHANNELS = ("family", "hotline")


@dataclass(frozen=True, slots=True)
class BookingInput:
    recipient_id: str
    service_id: str
    day: str
    start: str
    channel: str = "tablet"
    minutes: int | None = None
    note: str = ""
    requested_by: str = ""
    caller: str = ""
    caller_relation: str = ""
    callback_phone: str = ""
    request_id: str | None = None
    series_id: str | None = None


def create_booking(tx: Tx, data: BookingInput, actor: Actor, *, allow_clash: bool = False) -> str:
    """A new booking; a clash raises `ClashError` (409) before anything is saved."""
    row = _checked(tx, data)
    service = get_service(tx.conn, data.service_id)
    from_desk = data.channel not in HUB_CHANNELS
    found = clashes.find(
        tx.conn,
        service=service,
        recipient_id=data.recipient_id,
        day=row["day"],
        start=row["start"],
        minutes=row["minutes"],
        counts_in_slot=from_desk,
    )
    clashes.refuse(found, allow_clash or not from_desk)  # the manager sees hub requests
    recipient = own(tx.conn, tx.site_id, data.recipient_id)
    charged = service["subsidised_fen"] if recipient["subsidy"] else service["price_fen"]
    booking_id = new_id()
    stamp = now_iso()
    tx.insert(
        "care_bookings",
        {
            "id": booking_id,
            "site_id": tx.site_id,
            **row,
            "status": S.CONFIRMED if from_desk else S.REQUESTED,
            "price_fen": service["price_fen"],
            "charged_fen": charged,
            "subsidy_fen": service["price_fen"] - charged,
            "created_by": actor.name,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    step(tx, booking_id, S.REQUESTED, actor, row["note"])
    if from_desk:
        step(tx, booking_id, S.CONFIRMED, actor)
    return booking_id


def _checked(tx: Tx, data: BookingInput) -> dict[str, Any]:
    from edge.domain.households import normalise_phone

    if data.channel not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    own(tx.conn, tx.site_id, data.recipient_id)
    service = get_service(tx.conn, data.service_id)
    if not service["active"]:
        raise BadRequest(f"{service['name']} is no longer offered", field="service_id")
    minutes = service["minutes"] if data.minutes is None else data.minutes
    return {
        "recipient_id": data.recipient_id,
        "service_id": data.service_id,
        "series_id": data.series_id,
        "day": parse_day(data.day, "day").isoformat(),
        "start": hhmm(data.start),
        "minutes": whole(minutes, "minutes", 5, 720),
        "channel": data.channel,
        "request_id": data.request_id,
        "note": text(data.note, "note", 300),
        "requested_by": text(data.requested_by, "requested_by", 40),
        "caller": text(data.caller, "caller", 40),
        "caller_relation": text(data.caller_relation, "caller_relation", 20),
        "callback_phone": normalise_phone(text(data.callback_phone, "callback_phone", 20)),
    }


def step(tx: Tx, booking_id: str, status: str, actor: Actor, note: str = "") -> None:
    tx.insert(
        "care_booking_steps",
        {
            "id": new_id(),
            "site_id": tx.site_id,
            "booking_id": booking_id,
            "status": status,
            "by_name": actor.name,
            "staff_id": actor.staff_id,
            "note": note,
            "at": now_iso(),
        },
    )


def _load(tx: Tx, booking_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = tx.one(
        "SELECT b.*, p.staff_id AS provider_staff_id FROM care_bookings b"
        " LEFT JOIN care_providers p ON p.id = b.provider_id WHERE b.id = ? AND b.site_id = ?",
        (booking_id, tx.site_id),
    )
    if row is None:
        raise NotFound(f"no booking {booking_id[:64]!r}", field="booking_id")
    return row


def _move(
    tx: Tx, row: sqlite3.Row, status: str, actor: Actor, note: str = "", **fields: Any
) -> str:
    current = row["status"]
    if status not in FORWARD.get(current, ()):
        raise Conflict(
            f"this booking is {current}; it cannot become {status} (statuses only move forward)",
            field="status",
        )
    tx.update("care_bookings", row["id"], {"status": status, **fields, "updated_at": now_iso()})
    step(tx, row["id"], status, actor, note)
    return status


def _desk(actor: Actor) -> None:
    if not actor.runs_the_desk:
        raise Forbidden("only staff or the station manager may do this")


def confirm(tx: Tx, booking_id: str, actor: Actor, *, allow_clash: bool = False) -> str:
    _desk(actor)
    row = _load(tx, booking_id)
    _check_slot(tx, row, allow_clash)
    return _move(tx, row, S.CONFIRMED, actor)


def _check_slot(
    tx: Tx, row: sqlite3.Row, allow_clash: bool, provider_id: str | None = None
) -> None:
    found = clashes.find(
        tx.conn,
        service=get_service(tx.conn, row["service_id"]),
        recipient_id=row["recipient_id"],
        day=row["day"],
        start=row["start"],
        minutes=row["minutes"],
        provider_id=provider_id,
        exclude=row["id"],
        counts_in_slot=row["status"] == S.REQUESTED,
    )
    clashes.refuse(found, allow_clash)


def decline(tx: Tx, booking_id: str, actor: Actor, reason: str) -> str:
    _desk(actor)
    why = text(reason, "reason", 200, required=True)
    return _move(tx, _load(tx, booking_id), "declined", actor, why, reason=why)


def assign(
    tx: Tx, booking_id: str, provider_id: str, actor: Actor, *, allow_clash: bool = False
) -> str:
    """Assign (or re-assign) a person; a requested booking is confirmed on the way."""
    _desk(actor)
    row = _load(tx, booking_id)
    provider = get_provider(tx.conn, tx.site_id, provider_id)
    _check_slot(tx, row, allow_clash, provider_id)
    if row["status"] == S.REQUESTED:
        _move(tx, row, S.CONFIRMED, actor)
        row = _load(tx, booking_id)
    return _move(tx, row, S.ASSIGNED, actor, provider["name"], provider_id=provider_id)


def _doer(actor: Actor, row: sqlite3.Row) -> None:
    """The assignee carries the visit out; the desk may record it for them."""
    if actor.runs_the_desk or (actor.staff_id and actor.staff_id == row["provider_staff_id"]):
        return
    raise Forbidden("only the person assigned to this visit, staff or the manager may do this")


def start(tx: Tx, booking_id: str, actor: Actor) -> str:
    row = _load(tx, booking_id)
    _doer(actor, row)
    return _move(tx, row, S.STARTED, actor)


def finish(
    tx: Tx,
    booking_id: str,
    actor: Actor,
    *,
    outcome: str = S.DONE,
    minutes: int | None = None,
    note: str = "",
) -> str:
    if outcome not in BOOKING_VISITED:
        raise BadRequest("outcome must be done or not_at_home", field="outcome")
    row = _load(tx, booking_id)
    _doer(actor, row)
    fields: dict[str, Any] = {"visit_note": text(note, "note", 500)}
    if outcome == S.DONE:
        fields["actual_minutes"] = whole(
            row["minutes"] if minutes is None else minutes, "minutes", 1, 720
        )
    elif minutes is not None:
        raise BadRequest("no duration for a visit where no one was at home", field="minutes")
    return _move(tx, row, outcome, actor, **fields)


def cancel(tx: Tx, booking_id: str, actor: Actor, reason: str = "") -> str:
    if actor.role == "volunteer":
        raise Forbidden("only staff or the station manager may cancel a booking")
    row = _load(tx, booking_id)
    why = text(reason, "reason", 200)
    if row["status"] == S.STARTED:
        raise Conflict(
            f"服务已于 {_started_at(tx, booking_id)} 开始，不能取消 / the visit already "
            "started; it can no longer be cancelled",
            field="status",
        )
    if row["status"] == S.CANCELLED:
        return S.CANCELLED  # a cancel asked twice changes nothing
    return _move(tx, row, S.CANCELLED, actor, why, reason=why)


def _started_at(tx: Tx, booking_id: str) -> str:
    found = tx.one(
        "SELECT at FROM care_booking_steps WHERE booking_id = ? AND status = 'started'",
        (booking_id,),
    )
    return local_hhmm(found["at"]) if found else ""


def local_hhmm(stamp: str | None) -> str:
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone().strftime("%H:%M")


def rate(tx: Tx, booking_id: str, rating: Any, actor: Actor, note: str = "") -> None:
    row = _load(tx, booking_id)
    if row["status"] != S.DONE:
        raise Conflict(
            f"only a finished visit can be rated; this one is {row['status']}", field="status"
        )
    tx.update(
        "care_bookings",
        booking_id,
        {
            "rating": whole(rating, "rating", 1, 5),
            "rating_note": text(note, "note", 200),
            "updated_at": now_iso(),
        },
    )
    step(tx, booking_id, "rated", actor, f"{rating}")


def sees_notes(viewer: Actor | None, provider_staff_id: str | None) -> bool:
    """Care notes: the manager, and the person assigned to the visit."""
    if viewer is None:
        return False
    return viewer.is_manager or bool(viewer.staff_id and viewer.staff_id == provider_staff_id)


DETAIL_SQL = (
    "SELECT b.*, s.name AS service_name, s.kind AS service_kind, r.name AS recipient_name,"
    " r.care_notes, r.diet_notes, r.mobility, h.building, h.unit, h.room, h.phone,"
    " p.name AS provider_name, p.staff_id AS provider_staff_id FROM care_bookings b"
    " JOIN care_services s ON s.id = b.service_id"
    " JOIN care_recipients r ON r.id = b.recipient_id"
    " LEFT JOIN households h ON h.id = r.household_id"
    " LEFT JOIN care_providers p ON p.id = b.provider_id"
)


def as_dict(row: sqlite3.Row, viewer: Actor | None) -> dict[str, Any]:
    from edge.domain.care.recipients import address

    d = row_dict(row)
    d["address"] = address(d)
    d["status_zh"] = STATUS_ZH.get(d["status"], d["status"])
    if not sees_notes(viewer, d.get("provider_staff_id")):
        d.pop("care_notes", None)
        d["visit_note"] = None
    return d


def get_booking(conn: sqlite3.Connection, booking_id: str, viewer: Actor | None) -> dict[str, Any]:
    row = conn.execute(DETAIL_SQL + " WHERE b.id = ?", (booking_id,)).fetchone()
    if row is None:
        raise NotFound(f"no booking {booking_id[:64]!r}", field="booking_id")
    d = as_dict(row, viewer)
    d["steps"] = [
        dict(s)
        for s in conn.execute(
            "SELECT status, by_name, note, at FROM care_booking_steps WHERE booking_id = ?"
            " ORDER BY at, rowid",
            (booking_id,),
        )
    ]
    return d


def list_bookings(
    conn: sqlite3.Connection,
    viewer: Actor | None,
    *,
    status: str | None = None,
    recipient_id: str | None = None,
    day: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    sql, params = DETAIL_SQL + " WHERE 1 = 1", list[Any]()
    if status:
        sql += " AND b.status = ?"
        params.append(status)
    if recipient_id:
        sql += " AND b.recipient_id = ?"
        params.append(recipient_id)
    if day:
        sql += " AND b.day = ?"
        params.append(day)
    sql += " ORDER BY b.day, b.start LIMIT ?"
    params.append(limit)
    return [as_dict(r, viewer) for r in conn.execute(sql, params)]


def preview(
    conn: sqlite3.Connection,
    data: BookingInput | None = None,
    *,
    booking_id: str | None = None,
    provider_id: str | None = None,
) -> list[clashes.Clash]:
    """The clashes a new booking (`data`), or assigning `provider_id` to an existing one,
    would meet: what the desk shows before anyone presses save."""
    if booking_id is not None:
        row = conn.execute("SELECT * FROM care_bookings WHERE id = ?", (booking_id,)).fetchone()
        if row is None:
            raise NotFound(f"no booking {booking_id[:64]!r}", field="booking_id")
        service_id, recipient_id, day, start_at, minutes = (
            row["service_id"],
            row["recipient_id"],
            row["day"],
            row["start"],
            row["minutes"],
        )
        in_slot = row["status"] == S.REQUESTED
    elif data is not None:
        service_id, recipient_id = data.service_id, data.recipient_id
        day, start_at = parse_day(data.day, "day").isoformat(), hhmm(data.start)
        in_slot = data.channel not in HUB_CHANNELS
        minutes = data.minutes
    else:
        raise BadRequest("name a booking or describe one", field="booking_id")
    service = get_service(conn, service_id)
    return clashes.find(
        conn,
        service=service,
        recipient_id=recipient_id,
        day=day,
        start=start_at,
        minutes=whole(service["minutes"] if minutes is None else minutes, "minutes", 5, 720),
        provider_id=provider_id,
        exclude=booking_id or "",
        counts_in_slot=in_slot,
    )
