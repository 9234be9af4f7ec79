"""A day's roster: who goes where when, with the address and the notes the reader may see.

Open and finished visits of the day, by time; declined and cancelled ones are left
out. Each line carries the care notes only for the manager and the assignee
(`bookings.sees_notes`), so the printed roster a manager hands out keeps them,
a volunteer's screen shows only their own.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.domain.care.bookings import DETAIL_SQL, as_dict
from edge.domain.care.common import Actor
from edge.store.statuses import BookingStatus as S
from edge.store.statuses import sql_in

SHOWN = (S.CONFIRMED, S.ASSIGNED, S.STARTED, S.DONE, S.NOT_AT_HOME)


def roster(conn: sqlite3.Connection, day: str, viewer: Actor | None) -> dict[str, Any]:
    rows = conn.execute(
        DETAIL_SQL + f" WHERE b.day = ? AND b.status IN {sql_in(SHOWN)} ORDER BY b.start, s.sort",
        (day,),
    ).fetchall()
    visits = [as_dict(r, viewer) for r in rows]
    unassigned = sum(1 for v in visits if v["status"] == "confirmed")
    return {"day": day, "visits": visits, "unassigned": unassigned, "total": len(visits)}


def requests(
    conn: sqlite3.Connection, viewer: Actor | None, limit: int = 200
) -> list[dict[str, Any]]:
    """New requests waiting for the manager, oldest day first."""
    rows = conn.execute(
        DETAIL_SQL + f" WHERE b.status = '{S.REQUESTED}' ORDER BY b.day, b.start LIMIT ?", (limit,)
    ).fetchall()
    return [as_dict(r, viewer) for r in rows]
