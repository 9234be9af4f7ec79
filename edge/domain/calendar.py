"""The centre's delivery calendar: which days the co-op's van comes.

Deliveries run on fixed weekdays (Mon/Wed/Fri by default); an order must be
in by the cut-off the evening before. Exceptions close a usual day (a
holiday) or add an extra one. An order gets the first delivery day whose
cut-off it can still make.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from edge.errors import BadRequest
from edge.store import Tx
from edge.store.statuses import ORDER_OPEN, sql_in

WEEKDAY_NAMES_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
LOOKAHEAD_DAYS = 60


@dataclass(frozen=True, slots=True)
class Calendar:
    weekdays: frozenset[int]
    cutoff: time
    pickup_hours: str
    closed: frozenset[date]
    extra: frozenset[date]

    def is_delivery_day(self, day: date) -> bool:
        if day in self.closed:
            return False
        return day in self.extra or day.weekday() in self.weekdays

    def cutoff_for(self, day: date) -> datetime:
        """Orders for `day` must be in before this moment (the day before)."""
        return datetime.combine(day - timedelta(days=1), self.cutoff)

    def next_delivery_day(self, now: datetime) -> date:
        """The first delivery day whose cut-off is still ahead of `now`."""
        day = now.date()
        for _ in range(LOOKAHEAD_DAYS):
            if self.is_delivery_day(day) and now < self.cutoff_for(day):
                return day
            day += timedelta(days=1)
        raise BadRequest("no delivery day in the next 60 days; check the calendar")

    def first_delivery_day_after(self, today: date) -> date:
        """The first delivery day after today, cut-off or not."""
        day = today + timedelta(days=1)
        for _ in range(LOOKAHEAD_DAYS):
            if self.is_delivery_day(day):
                return day
            day += timedelta(days=1)
        return day

    def check_orderable(self, day: date, now: datetime) -> None:
        if not self.is_delivery_day(day):
            raise BadRequest(f"{day.isoformat()} is not a delivery day", field="pickup_date")
        if now >= self.cutoff_for(day):
            raise BadRequest(
                f"the cut-off for {day.isoformat()} has passed; next delivery day is "
                f"{self.next_delivery_day(now).isoformat()}",
                field="pickup_date",
            )


DEFAULT = Calendar(
    weekdays=frozenset({0, 2, 4}),
    cutoff=time(20, 0),
    pickup_hours="07:00-11:00",
    closed=frozenset(),
    extra=frozenset(),
)


# Days outside these years are typos (0001-01-01, 9999-12-31) and would overflow
# the date arithmetic around cut-offs.
FIRST_YEAR, LAST_YEAR = 2000, 2100


DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat also takes 20301207
HHMM_RE = re.compile(r"[0-9]{1,2}:[0-9]{2}")


def parse_day(value: Any, field: str = "date") -> date:
    """The one day parser: exactly YYYY-MM-DD within FIRST_YEAR..LAST_YEAR, else a
    BadRequest naming `field` (anything not text is refused the same way)."""
    try:
        if not DAY_RE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{field} must be a date as YYYY-MM-DD", field=field) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadRequest(
            f"{field} must be a date between {FIRST_YEAR} and {LAST_YEAR}", field=field
        )
    return day


def iso_day(value: Any, field: str = "date") -> str:
    """`parse_day`, answered as its YYYY-MM-DD text (what queries and replies use)."""
    return parse_day(value, field).isoformat()


def day_or(value: str | None, default: date, field: str = "day") -> str:
    """The day asked for (a query or form field) as YYYY-MM-DD; none or empty: `default`."""
    return parse_day(value, field).isoformat() if value else default.isoformat()


def parse_hhmm(value: str, field: str) -> time:
    try:
        if not HHMM_RE.fullmatch(value):
            raise ValueError(value)
        hh, mm = value.split(":")
        return time(int(hh), int(mm))
    except (AttributeError, ValueError):
        raise BadRequest(f"{field} must be a time as HH:MM", field=field) from None


def load(conn: sqlite3.Connection, site_id: str) -> Calendar:
    row = conn.execute(
        "SELECT weekdays, cutoff, pickup_hours FROM calendars WHERE id = ?", (site_id,)
    ).fetchone()
    closed: set[date] = set()
    extra: set[date] = set()
    for ex in conn.execute(
        "SELECT day, kind FROM calendar_exceptions WHERE calendar_id = ?", (site_id,)
    ):
        (closed if ex["kind"] == "closed" else extra).add(date.fromisoformat(ex["day"]))
    if row is None:
        weekdays, cutoff, hours = DEFAULT.weekdays, DEFAULT.cutoff, DEFAULT.pickup_hours
    else:
        weekdays = frozenset(int(d) for d in row["weekdays"].split(",") if d.strip())
        cutoff, hours = parse_hhmm(row["cutoff"], "cutoff"), row["pickup_hours"]
    return Calendar(
        weekdays=weekdays,
        cutoff=cutoff,
        pickup_hours=hours,
        closed=frozenset(closed),
        extra=frozenset(extra),
    )


def open_order_days(conn: sqlite3.Connection, site_id: str) -> dict[date, int]:
    """Days that still have orders waiting (placed or packed), with how many."""
    return {
        date.fromisoformat(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT pickup_date, COUNT(*) FROM orders WHERE site_id = ?"
            f" AND status IN {sql_in(ORDER_OPEN)} GROUP BY pickup_date",
            (site_id,),
        )
    }


def _refuse_stranding(stranded: dict[date, int], field: str) -> None:
    """A change that takes away a day residents have orders for must not leave them
    waiting for a van that will not come: move or cancel those orders first."""
    if stranded:
        days = ", ".join(f"{d.isoformat()} ({n})" for d, n in sorted(stranded.items()))
        raise BadRequest(
            f"orders are still waiting for {days}: move them to another delivery day "
            "or cancel them first",
            field=field,
        )


def save(tx: Tx, weekdays: list[int], cutoff: str, pickup_hours: str) -> None:
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise BadRequest("weekdays must be numbers 0 (Mon) to 6 (Sun)", field="weekdays")
    parse_hhmm(cutoff, "cutoff")
    after = replace(load(tx.conn, tx.site_id), weekdays=frozenset(weekdays))
    _refuse_stranding(
        {
            d: n
            for d, n in open_order_days(tx.conn, tx.site_id).items()
            if not after.is_delivery_day(d)
        },
        "weekdays",
    )
    fields: dict[str, Any] = {
        "weekdays": ",".join(str(d) for d in sorted(set(weekdays))),
        "cutoff": cutoff,
        "pickup_hours": pickup_hours,
    }
    if tx.one("SELECT 1 FROM calendars WHERE id = ?", (tx.site_id,)):
        tx.update("calendars", tx.site_id, fields)
    else:
        tx.insert("calendars", {"id": tx.site_id, "site_id": tx.site_id, **fields})


def add_exception(tx: Tx, day: date, kind: str, note: str = "") -> str:
    if kind not in ("closed", "extra"):
        raise BadRequest("kind must be 'closed' or 'extra'", field="kind")
    if kind == "closed":
        waiting = open_order_days(tx.conn, tx.site_id).get(day)
        _refuse_stranding({day: waiting} if waiting else {}, "day")
    from edge.store.ids import new_id

    row_id = new_id()
    existing = tx.one(
        "SELECT id FROM calendar_exceptions WHERE calendar_id = ? AND day = ?",
        (tx.site_id, day.isoformat()),
    )
    if existing:
        tx.update("calendar_exceptions", existing["id"], {"kind": kind, "note": note})
        return str(existing["id"])
    tx.insert(
        "calendar_exceptions",
        {
            "id": row_id,
            "site_id": tx.site_id,
            "calendar_id": tx.site_id,
            "day": day.isoformat(),
            "kind": kind,
            "note": note,
        },
    )
    return row_id
