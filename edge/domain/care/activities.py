"""Neighbourhood activities (优惠帮 group buys, 结伴行 outings, 邻里情 gatherings): a day,
a time, a place and a capacity; people sign up at the desk.

A sign-up is `booked` while places are left, else `waiting`, in the order people came.
When a booked person cancels, the first one waiting takes the place (`promoted_at`
says when), so the desk can ring them. The same elder (or the same name and phone)
cannot hold two sign-ups for one activity. Cancelling twice changes nothing.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.domain.calendar import parse_day
from edge.domain.care.common import Actor, hhmm, now_iso, row_dict, text, whole
from edge.domain.care.recipients import own
from edge.errors import Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import SIGNUP_HOLDING, SignupStatus, sql_in


def create_activity(tx: Tx, fields: dict[str, Any], actor: Actor) -> str:
    activity_id = new_id()
    tx.insert(
        "care_activities",
        {
            "id": activity_id,
            "site_id": tx.site_id,
            "title": text(fields.get("title"), "title", 40, required=True),
            "day": parse_day(str(fields.get("day") or ""), "day").isoformat(),
            "start": hhmm(fields.get("start")),
            "minutes": whole(fields.get("minutes", 60), "minutes", 5, 720),
            "place": text(fields.get("place"), "place", 40),
            "capacity": whole(fields.get("capacity"), "capacity", 1, 500),
            "note": text(fields.get("note"), "note", 200),
            "created_by": actor.name,
            "created_at": now_iso(),
        },
    )
    return activity_id


def _activity(conn: sqlite3.Connection, activity_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM care_activities WHERE id = ?", (activity_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no activity {activity_id[:64]!r}", field="activity_id")
    return row


def _booked(conn: sqlite3.Connection, activity_id: str) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM care_signups WHERE activity_id = ? AND status = ?",
            (activity_id, SignupStatus.BOOKED),
        ).fetchone()[0]
    )


def sign_up(
    tx: Tx,
    activity_id: str,
    actor: Actor,
    *,
    recipient_id: str | None = None,
    name: str = "",
    phone: str = "",
) -> dict[str, Any]:
    """Book a place, or a place on the waiting list; answers {id, status, position}."""
    from edge.domain.households import normalise_phone

    activity = _activity(tx.conn, activity_id)
    if activity["site_id"] != tx.site_id:
        raise NotFound(f"no activity {activity_id[:64]!r} at this centre", field="activity_id")
    if recipient_id:
        name = own(tx.conn, tx.site_id, recipient_id)["name"]
        same = tx.one(
            "SELECT 1 FROM care_signups WHERE activity_id = ? AND recipient_id = ?"
            f" AND status IN {sql_in(SIGNUP_HOLDING)}",
            (activity_id, recipient_id),
        )
    else:
        name = text(name, "name", 40, required=True)
        phone = normalise_phone(text(phone, "phone", 20))
        same = tx.one(
            "SELECT 1 FROM care_signups WHERE activity_id = ? AND name = ? AND phone = ?"
            f" AND status IN {sql_in(SIGNUP_HOLDING)}",
            (activity_id, name, phone),
        )
    if same:
        raise Conflict(f"{name} has already signed up for this activity", field="name")
    status = (
        SignupStatus.BOOKED
        if _booked(tx.conn, activity_id) < activity["capacity"]
        else SignupStatus.WAITING
    )
    signup_id, stamp = new_id(), now_iso()
    tx.insert(
        "care_signups",
        {
            "id": signup_id,
            "site_id": tx.site_id,
            "activity_id": activity_id,
            "recipient_id": recipient_id or None,
            "name": name,
            "phone": phone,
            "status": status,
            "created_by": actor.name,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    position = 0
    if status == SignupStatus.WAITING:
        position = len(view(tx.conn, activity_id)["waiting"])
    return {"id": signup_id, "status": status, "position": position}


def cancel(tx: Tx, signup_id: str, actor: Actor) -> str | None:
    """Cancel a sign-up; a freed place goes to the first waiting, whose id is answered."""
    row = tx.one(
        "SELECT id, activity_id, status FROM care_signups WHERE id = ? AND site_id = ?",
        (signup_id, tx.site_id),
    )
    if row is None:
        raise NotFound(f"no sign-up {signup_id[:64]!r}", field="signup_id")
    if row["status"] == SignupStatus.CANCELLED:
        return None
    stamp = now_iso()
    tx.update("care_signups", signup_id, {"status": SignupStatus.CANCELLED, "updated_at": stamp})
    if row["status"] != SignupStatus.BOOKED:
        return None
    first = tx.one(
        "SELECT id FROM care_signups WHERE activity_id = ? AND status = ?"
        " ORDER BY created_at, id LIMIT 1",
        (row["activity_id"], SignupStatus.WAITING),
    )
    if first is None:
        return None
    tx.update(
        "care_signups",
        first["id"],
        {"status": SignupStatus.BOOKED, "promoted_at": stamp, "updated_at": stamp},
    )
    return str(first["id"])


def view(conn: sqlite3.Connection, activity_id: str) -> dict[str, Any]:
    activity = row_dict(_activity(conn, activity_id))
    people = [
        row_dict(r)
        for r in conn.execute(
            "SELECT id, recipient_id, name, phone, status, promoted_at, created_at"
            f" FROM care_signups WHERE activity_id = ? AND status IN {sql_in(SIGNUP_HOLDING)}"
            " ORDER BY created_at, id",
            (activity_id,),
        )
    ]
    booked = [p for p in people if p["status"] == SignupStatus.BOOKED]
    waiting = [p for p in people if p["status"] == SignupStatus.WAITING]
    for i, p in enumerate(waiting, 1):
        p["position"] = i
    left = max(0, activity["capacity"] - len(booked))
    return {"activity": activity, "booked": booked, "waiting": waiting, "left": left}


def list_activities(conn: sqlite3.Connection, from_day: str) -> list[dict[str, Any]]:
    """Activities from `from_day` on, with how many are booked and waiting."""
    return [
        row_dict(r)
        for r in conn.execute(
            "SELECT a.*, (SELECT COUNT(*) FROM care_signups s WHERE s.activity_id = a.id"
            "  AND s.status = ?) AS booked,"
            " (SELECT COUNT(*) FROM care_signups s WHERE s.activity_id = a.id"
            "  AND s.status = ?) AS waiting"
            " FROM care_activities a WHERE a.day >= ? ORDER BY a.day, a.start LIMIT 200",
            (SignupStatus.BOOKED, SignupStatus.WAITING, from_day),
        )
    ]
