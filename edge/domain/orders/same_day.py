"""The open-order rule: a household's orders for a day that are not finished yet.

Every way an order comes in (WeChat, tablet, phone) asks this before making a second
order for the same household and day: a second order is a decision (OpenOrderExists),
and the version staff were shown (`version`) keeps an add from landing on an order
that changed since."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import Any

from edge.domain.orders.rules import OPEN_STATUSES
from edge.errors import Conflict


def last_channel(conn: sqlite3.Connection, staff_id: str | None, among: tuple[str, ...]) -> str:
    """How this staff member's last typed order came in (one of `among`): the way they
    most likely take the next (the hotline volunteer keeps 电话/12349, the desk 平板)."""
    marks = ", ".join("?" for _ in among)
    row = conn.execute(
        f"SELECT channel FROM orders WHERE staff_id = ? AND channel IN ({marks})"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        (staff_id, *among),
    ).fetchone()
    return str(row[0]) if row else "tablet"


def open_orders(
    conn: sqlite3.Connection,
    site_id: str,
    household_id: str,
    pickup_date: str,
    *,
    exclude: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The household's orders for that day that are not finished yet, with their items.

    Every way an order comes in (WeChat, tablet, phone) asks this before making a
    second order for the same household and day: a second order is a decision."""
    found = []
    for row in conn.execute(
        "SELECT id, pickup_code, status, channel, updated_at FROM orders WHERE site_id = ?"
        " AND household_id = ? AND pickup_date = ? AND status IN (?, ?) ORDER BY created_at, id",
        (site_id, household_id, pickup_date, *OPEN_STATUSES),
    ):
        if row["id"] in exclude:
            continue
        items = conn.execute(
            "SELECT product_id, product_name, qty_unit, quantity FROM order_items"
            " WHERE order_id = ? ORDER BY line",
            (row["id"],),
        ).fetchall()
        found.append(
            {**dict(row), "items": [dict(i) for i in items], "version": version_of(row, items)}
        )
    return found


def version_of(row: sqlite3.Row, items: list[sqlite3.Row]) -> str:
    """What staff saw of an order: when it last changed and what is on it (every add
    changes the quantities, whatever the clock's one-second steps say)."""
    total = sum(float(i["quantity"] or 0) for i in items)
    return f"{row['updated_at']}/{len(items)}/{total:g}"


class OpenOrderExists(Conflict):
    """The household already has an order for that day; staff must say "a separate one"."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        codes = ", ".join(o["pickup_code"] for o in found)
        super().__init__(
            f"this household already has an order for that day ({codes})", field="separate"
        )
        self.orders = found
