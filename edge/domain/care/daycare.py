"""The day-care room: check-in and check-out with one tap per person, and the lunch count.

A tap on a name checks the elder in, the next one out; a third does nothing (the
day's record stays). The kitchen's lunch count for a day is the meal bookings
(助餐 at the centre, 送餐 delivered) that still stand, plus checked-in regulars
having lunch without a booking, plus walk-ins counted at the desk (a wrong tap is
corrected by a row of -1, never by editing).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.domain.care.common import Actor, now_iso
from edge.domain.care.recipients import own
from edge.errors import BadRequest
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import BookingStatus as S
from edge.store.statuses import sql_in

MEAL_STATUSES = (S.REQUESTED, S.CONFIRMED, S.ASSIGNED, S.STARTED, S.DONE)


def tap(tx: Tx, recipient_id: str, day: str, actor: Actor, *, lunch: bool = True) -> str:
    """Check in, then out; answers the new state: 'in', 'out' (or 'out' again)."""
    own(tx.conn, tx.site_id, recipient_id)
    row = tx.one(
        "SELECT id, out_at FROM care_checkins WHERE site_id = ? AND day = ? AND recipient_id = ?",
        (tx.site_id, day, recipient_id),
    )
    if row is None:
        tx.insert(
            "care_checkins",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "recipient_id": recipient_id,
                "day": day,
                "in_at": now_iso(),
                "out_at": None,
                "lunch": int(lunch),
                "staff_id": actor.staff_id,
            },
        )
        return "in"
    if row["out_at"] is None:
        tx.update("care_checkins", row["id"], {"out_at": now_iso()})
    return "out"


def add_walkin_lunch(tx: Tx, day: str, count: int, actor: Actor) -> int:
    if count not in (1, -1):
        raise BadRequest("count must be 1 or -1 (a correction)", field="count")
    if count < 0 and lunch_count(tx.conn, day)["walk_ins"] <= 0:
        raise BadRequest("no walk-in lunch to take back", field="count")
    tx.insert(
        "care_walkin_lunches",
        {
            "id": new_id(),
            "site_id": tx.site_id,
            "day": day,
            "count": count,
            "staff_id": actor.staff_id,
            "created_at": now_iso(),
        },
    )
    return int(lunch_count(tx.conn, day)["total"])


def grid(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """Every day-care regular with today's state: '' (not yet), 'in', 'out'."""
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "state": "" if r["in_at"] is None else ("in" if r["out_at"] is None else "out"),
            "in_at": r["in_at"],
            "out_at": r["out_at"],
        }
        for r in conn.execute(
            "SELECT r.id, r.name, c.in_at, c.out_at FROM care_recipients r"
            " LEFT JOIN care_checkins c ON c.recipient_id = r.id AND c.day = ?"
            " WHERE r.active = 1 AND (r.day_care = 1 OR c.id IS NOT NULL) ORDER BY r.name",
            (day,),
        )
    ]


def lunch_count(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    booked_here = booked_out = 0
    booked_ids: set[str] = set()
    for r in conn.execute(
        "SELECT b.recipient_id, s.kind FROM care_bookings b"
        " JOIN care_services s ON s.id = b.service_id"
        f" WHERE b.day = ? AND s.meal = 1 AND b.status IN {sql_in(MEAL_STATUSES)}",
        (day,),
    ):
        booked_ids.add(r["recipient_id"])
        if r["kind"] == "at_centre":
            booked_here += 1
        else:
            booked_out += 1
    regulars = sum(
        1
        for r in conn.execute(
            "SELECT recipient_id FROM care_checkins WHERE day = ? AND lunch = 1", (day,)
        )
        if r["recipient_id"] not in booked_ids
    )
    walk_ins = int(
        conn.execute(
            "SELECT COALESCE(SUM(count), 0) FROM care_walkin_lunches WHERE day = ?", (day,)
        ).fetchone()[0]
    )
    return {
        "booked_at_centre": booked_here,
        "delivered": booked_out,
        "checked_in": regulars,
        "walk_ins": walk_ins,
        "total": booked_here + booked_out + regulars + walk_ins,
    }
