"""Packing and home-delivery lists for a delivery day, sorted the way staff walk.

Packing goes household by household, sorted by building, unit and room, so
bags line up in the order volunteers carry them. The delivery list shows
masked phones unless the reader's role may see them.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from edge.domain import pickup
from edge.domain.households import address, mask_phone
from edge.store.statuses import ORDER_OPEN, sql_in


def packing_list(
    conn: sqlite3.Connection, day: str, *, sees_phones: bool, home_only: bool = False
) -> list[dict[str, Any]]:
    sql = (
        "SELECT o.id, o.pickup_code, o.status, o.delivery_mode, o.notes, o.placed_by,"
        " h.name, h.phone, h.building, h.unit, h.room"
        " FROM orders o LEFT JOIN households h ON h.id = o.household_id"
        f" WHERE o.pickup_date = ? AND o.status IN {sql_in(ORDER_OPEN)}"
    )
    if home_only:
        sql += " AND o.delivery_mode = 'home'"
    sql += (
        " ORDER BY CAST(h.building AS INTEGER), h.building, CAST(h.unit AS INTEGER),"
        " CAST(h.room AS INTEGER), h.room, o.created_at"
    )
    orders = [dict(r) for r in conn.execute(sql, (day,))]
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in conn.execute(
        "SELECT i.order_id, i.product_id, i.product_name, i.qty_unit, i.quantity, i.sold_by,"
        " i.allocated_qty, (i.allocated_qty IS NOT NULL AND i.allocated_qty < i.quantity) AS short"
        " FROM order_items i JOIN orders o ON o.id = i.order_id"
        f" WHERE o.pickup_date = ? AND o.status IN {sql_in(ORDER_OPEN)} ORDER BY i.line",
        (day,),
    ):
        # allocated_qty: what receiving shared out to the line (None: no shortage recorded)
        items[item["order_id"]].append({**dict(item), "short": bool(item["short"])})
    for order in orders:
        order["address"] = address(order) if order["name"] is not None else ""
        order["phone"] = (order["phone"] or "") if sees_phones else mask_phone(order["phone"] or "")
        order["items"] = items.get(order["id"], [])
    return orders


def product_totals(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """How much of each product the day's open orders need (what to lay out)."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT i.product_id, i.product_name, i.qty_unit, SUM(i.quantity) AS quantity,"
            " COUNT(DISTINCT i.order_id) AS orders"
            " FROM order_items i JOIN orders o ON o.id = i.order_id"
            f" WHERE o.pickup_date = ? AND o.status IN {sql_in(ORDER_OPEN)}"
            " GROUP BY i.product_id, i.product_name, i.qty_unit ORDER BY i.product_name",
            (day,),
        )
    ]


def delivery_round(
    conn: sqlite3.Connection, day: str, *, sees_phones: bool
) -> list[dict[str, Any]]:
    """The day's home deliveries, each with the one amount to collect at the door (the
    desk's number: weighed lines at their weight, the rest at the estimate) and the
    by-weight lines still to weigh at the centre before the bag can go."""
    rows = packing_list(conn, day, sees_phones=sees_phones, home_only=True)
    for order in rows:
        order["due_fen"] = pickup.amount_due(conn, order["id"])
        order["unweighed"] = pickup.unweighed(conn, order["id"])
    return rows
