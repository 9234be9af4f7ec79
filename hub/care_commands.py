"""Care at the hub: a family's or the hotline's booking, cancel and rating, sent to the
elder's centre as commands (`edge.domain.care.commands` applies them there).

A booking made while the centre is offline is a hub row (the command) until the
centre answers it with a booking of its own (`request_id` = the command's id); until
then the family and the hotline see it waiting, since when. What they do to a
booking the centre holds is a command too; a refusal (a cancel after the visit
started) comes back as the command's result and is shown with the booking.
Args are checked here, so a malformed one is a 400 now, not a refusal later.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from edge.domain.calendar import iso_day
from edge.domain.care.common import hhmm, text, whole
from edge.domain.households import normalise_phone
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import SeriesStatus

ID_MAX = 64
CARE_NAMES = ("care_book", "care_cancel", "care_rate", "care_series_pause", "care_series_resume")
SERIES_NAMES = ("care_series_pause", "care_series_resume")


def _id(args: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= ID_MAX:
        raise BadRequest(f"args.{key} must be an id", field=f"args.{key}")
    return value


def _book_args(args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request_id": _id(args, "request_id"),
        "recipient_id": _id(args, "recipient_id"),
        "service_id": _id(args, "service_id"),
        "day": iso_day(str(args.get("day") or ""), "args.day"),
        "start": hhmm(args.get("start"), "args.start"),
        "channel": args.get("channel", "family"),
        "requested_by": text(args.get("requested_by"), "args.requested_by", 40),
        "caller": text(args.get("caller"), "args.caller", 40),
        "caller_relation": text(args.get("caller_relation"), "args.caller_relation", 20),
        "callback_phone": text(args.get("callback_phone"), "args.callback_phone", 20),
        "note": text(args.get("note"), "args.note", 300),
    }
    if out["channel"] not in ("family", "hotline"):
        raise BadRequest("args.channel must be family or hotline", field="args.channel")
    try:
        normalise_phone(out["callback_phone"])
    except BadRequest:
        raise BadRequest(
            "args.callback_phone must be a phone number", field="args.callback_phone"
        ) from None
    if args.get("weekdays") is not None or args.get("until") is not None:
        days = args.get("weekdays")
        if (
            not isinstance(days, list)
            or not 0 < len(days) <= 7
            or any(type(d) is not int or not 0 <= d <= 6 for d in days)
        ):
            raise BadRequest("args.weekdays must list 0 (Mon) to 6 (Sun)", field="args.weekdays")
        out["weekdays"] = sorted(set(days))
        out["until"] = iso_day(str(args.get("until") or ""), "args.until")
    return out


def _cancel_args(args: dict[str, Any]) -> dict[str, Any]:
    out = {
        "reason": text(args.get("reason"), "args.reason", 200),
        "by": text(args.get("by"), "args.by", 40),
    }
    booking, request = (
        _id(args, "booking_id", required=False),
        _id(args, "request_id", required=False),
    )
    if not booking and not request:
        raise BadRequest(
            "args.booking_id or args.request_id names the booking", field="args.booking_id"
        )
    return {**out, **({"booking_id": booking} if booking else {"request_id": request})}


def _rate_args(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "booking_id": _id(args, "booking_id"),
        "rating": whole(args.get("rating"), "args.rating", 1, 5),
        "note": text(args.get("note"), "args.note", 200),
        "by": text(args.get("by"), "args.by", 40),
    }


def _series_args(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "series_id": _id(args, "series_id"),
        "from_day": iso_day(str(args.get("from_day") or ""), "args.from_day"),
        "reason": text(args.get("reason"), "args.reason", 200),
        "by": text(args.get("by"), "args.by", 40),
    }


BOOK_KEYS = frozenset(
    {
        "request_id",
        "recipient_id",
        "service_id",
        "day",
        "start",
        "channel",
        "requested_by",
        "caller",
        "caller_relation",
        "callback_phone",
        "note",
        "weekdays",
        "until",
    }
)
CARE_ARG_CHECKS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], frozenset[str]]] = {
    "care_book": (_book_args, BOOK_KEYS),
    "care_cancel": (_cancel_args, frozenset({"booking_id", "request_id", "reason", "by"})),
    "care_rate": (_rate_args, frozenset({"booking_id", "rating", "note", "by"})),
    "care_series_pause": (_series_args, frozenset({"series_id", "from_day", "reason", "by"})),
    "care_series_resume": (_series_args, frozenset({"series_id", "from_day", "reason", "by"})),
}


# --- what the family page and the hotline desk call ---------------------------------


def recipient(conn: sqlite3.Connection, recipient_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT r.*, h.building, h.unit, h.room, h.phone, c.name AS centre_name"
        " FROM care_recipients r LEFT JOIN households h ON h.id = r.household_id"
        " LEFT JOIN sync_centres c ON c.site_id = r.site_id WHERE r.id = ?",
        (recipient_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no elder {recipient_id[:64]!r}", field="recipient_id")
    return row


def book(tx: Tx, recipient_id: str, fields: dict[str, Any], by: str) -> str:
    """Queue a booking for the elder's centre; answers the request (command) id."""
    from hub.operations import send_command

    elder = recipient(tx.conn, recipient_id)
    service = tx.one(
        "SELECT site_id, active FROM care_services WHERE id = ?", (str(fields.get("service_id")),)
    )
    if (
        service is None
        or service["site_id"] not in (elder["site_id"], tx.site_id)
        or not service["active"]
    ):
        raise BadRequest("that service is not offered by the elder's centre", field="service_id")
    request_id = new_id()
    args = {**fields, "recipient_id": recipient_id, "request_id": request_id}
    return send_command(tx, elder["site_id"], "care_book", args, by, command_id=request_id)


def _booking(tx: Tx, booking_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = tx.one("SELECT * FROM care_bookings WHERE id = ?", (booking_id,))
    if row is None:
        raise NotFound(f"no booking {booking_id[:64]!r}", field="booking_id")
    return row


def cancel(tx: Tx, site_id: str, target: dict[str, str], reason: str, by: str) -> str:
    """`target`: {"booking_id"} or {"request_id"} (a booking still waiting at the hub)."""
    from hub.operations import send_command

    if "booking_id" in target and _booking(tx, target["booking_id"])["status"] in (
        "started",
        "done",
        "not_at_home",
    ):
        raise Conflict("服务已开始，不能取消 / the visit already started", field="status")
    return send_command(tx, site_id, "care_cancel", {**target, "reason": reason, "by": by}, by)


def rate(tx: Tx, booking_id: str, rating: Any, note: str, by: str) -> str:
    from hub.operations import send_command

    row = _booking(tx, booking_id)
    if row["status"] != "done":
        raise Conflict("只能评价已完成的服务 / only a finished visit can be rated", field="status")
    args = {"booking_id": booking_id, "rating": rating, "note": note, "by": by}
    return send_command(tx, row["site_id"], "care_rate", args, by)


def series_step(
    tx: Tx, recipient_id: str, series_id: str, step: str, from_day: str, reason: str, by: str
) -> str:
    """Pause (the elder is in hospital) or resume a recurring series of this elder from a
    day: a command the series' centre applies (`recurring.pause` / `resume`)."""
    from hub.operations import send_command

    row = tx.one("SELECT site_id, status, recipient_id FROM care_series WHERE id = ?", (series_id,))
    if row is None or row["recipient_id"] != recipient_id:
        raise NotFound("没有这个重复预约 / no such series for this elder", field="series_id")
    if step not in ("pause", "resume"):
        raise BadRequest("step must be pause or resume", field="step")
    want = SeriesStatus.ACTIVE if step == "pause" else SeriesStatus.PAUSED
    if row["status"] != want:
        raise Conflict(
            "这个重复预约已暂停 / the series is already paused"
            if step == "pause"
            else "这个重复预约没有暂停 / the series is not paused",
            field="status",
        )
    args = {"series_id": series_id, "from_day": from_day, "reason": reason, "by": by}
    return send_command(tx, row["site_id"], f"care_series_{step}", args, by)


def series(conn: sqlite3.Connection, recipient_id: str) -> list[dict[str, Any]]:
    """The elder's recurring series as the hub holds them, each with its pause or resume
    still waiting for the centre (since when) and the last one the centre refused."""
    rows = [
        dict(r)
        for r in conn.execute(
            "SELECT s.id, s.site_id, s.weekdays, s.start, s.from_day, s.to_day, s.status,"
            " s.paused_from, v.name AS service_name FROM care_series s"
            " JOIN care_services v ON v.id = s.service_id WHERE s.recipient_id = ?"
            " ORDER BY s.from_day DESC, s.id LIMIT 50",
            (recipient_id,),
        )
    ]
    if not rows:
        return rows
    sites = sorted({r["site_id"] for r in rows})
    marks = ",".join("?" * len(sites))
    steps: dict[str, list[dict[str, Any]]] = {}
    for c in conn.execute(
        "SELECT m.id, m.name, m.args, m.created_at, r.outcome, r.detail FROM sync_commands m"
        " LEFT JOIN sync_command_results r ON r.id = m.id"
        f" WHERE m.name IN (?, ?) AND m.target_site IN ({marks})"
        " AND (r.id IS NULL OR r.outcome = 'refused') ORDER BY m.created_at, m.id",
        (*SERIES_NAMES, *sites),
    ):
        args = json.loads(c["args"])
        steps.setdefault(str(args.get("series_id")), []).append(
            {
                **args,
                "name": c["name"],
                "outcome": c["outcome"],
                "detail": c["detail"],
                "since": local_time(c["created_at"]),
            }
        )
    for r in rows:
        r["weekdays"] = [int(d) for d in str(r["weekdays"]).split(",") if d.strip()]
        mine = steps.get(r["id"], [])
        r["waiting"] = next((c for c in mine if c["outcome"] is None), None)
        r["refused"] = next((c for c in reversed(mine) if c["outcome"] == "refused"), None)
    return rows


def local_time(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime("%m-%d %H:%M")


def visits(conn: sqlite3.Connection, recipient_id: str) -> dict[str, Any]:
    """The elder's bookings as the hub holds them, requests still waiting for the centre
    (with since when), refused requests, and per booking the last refused command."""
    from edge.domain.care.bookings import STATUS_ZH

    rows = [
        dict(r)
        for r in conn.execute(
            "SELECT b.id, b.day, b.start, b.status, b.reason, b.rating, b.request_id,"
            " b.channel, s.name AS service_name, p.name AS provider_name FROM care_bookings b"
            " JOIN care_services s ON s.id = b.service_id"
            " LEFT JOIN care_providers p ON p.id = b.provider_id"
            " WHERE b.recipient_id = ? ORDER BY b.day DESC, b.start DESC LIMIT 200",
            (recipient_id,),
        )
    ]
    answered = {r["request_id"] for r in rows if r["request_id"]}
    # By the indexes of m110: the elder's booking requests, then the cancels and
    # ratings naming one of the elder's bookings or requests.
    sql = (
        "SELECT m.id, m.name, m.args, m.created_at, r.outcome, r.detail FROM sync_commands m"
        " LEFT JOIN sync_command_results r ON r.id = m.id WHERE "
    )
    books = conn.execute(
        sql + "m.name = 'care_book' AND json_extract(m.args, '$.recipient_id') = ?",
        (recipient_id,),
    ).fetchall()
    mine = sorted({r["id"] for r in rows} | answered | {c["id"] for c in books})
    marks = ",".join("?" * len(mine))
    others = conn.execute(
        sql + "m.name IN ('care_cancel', 'care_rate') AND coalesce("
        "json_extract(m.args, '$.booking_id'), json_extract(m.args, '$.request_id'))"
        f" IN ({marks})",
        mine,
    ).fetchall()
    waiting, refused = [], []
    for c in sorted([*books, *others], key=lambda c: (c["created_at"], c["id"])):
        if c["outcome"] == "applied":
            continue
        args = json.loads(c["args"])
        item = {
            **args,
            "command_id": c["id"],
            "name": c["name"],
            "since": local_time(c["created_at"]),
        }
        if c["outcome"] is None:
            if c["name"] == "care_book" and c["id"] not in answered:
                waiting.append(item)
            elif c["name"] == "care_cancel":
                waiting.append(item)
        else:
            refused.append({**item, "detail": c["detail"]})
    refusals = {r.get("booking_id") or r.get("request_id"): r["detail"] for r in refused}
    for b in rows:
        b["status_zh"] = STATUS_ZH.get(b["status"], b["status"])
        b["refused"] = refusals.get(b["id"]) or refusals.get(b["request_id"])
    return {
        "visits": rows,
        "waiting": [w for w in waiting if w["name"] == "care_book"],
        "cancels_waiting": [w for w in waiting if w["name"] == "care_cancel"],
        "refused": [r for r in refused if r["name"] == "care_book"],
    }
