"""Today at a glance: how many orders, packed, picked up, still waiting, takings and owed.

Takings are what was paid and not given back: a payment reversed by a
correction (edge/domain/corrections.py) no longer counts, and the corrections are
listed with who made them and why. Orders handed over on credit (paid less
than their price, "下次给") are listed with what is still owed, so the money
taken and the goods sold at price can be told apart.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.domain import corrections
from edge.store.statuses import ORDER_HANDED_OVER, sql_in


def today(conn: sqlite3.Connection, day: str) -> dict[str, Any]:
    counts = {
        r["status"]: r["n"]
        for r in conn.execute(
            "SELECT status, COUNT(*) AS n FROM orders WHERE pickup_date = ? GROUP BY status", (day,)
        )
    }
    orders_takings = conn.execute(
        "SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments p JOIN orders o ON o.id = p.order_id"
        " WHERE o.pickup_date = ? AND NOT EXISTS"
        " (SELECT 1 FROM money_corrections c WHERE c.payment_id = p.id)",
        (day,),
    ).fetchone()[0]
    walkin = conn.execute(
        "SELECT COALESCE(SUM(total_fen), 0), COUNT(*) FROM walkin_sales s WHERE sold_on = ?"
        " AND NOT EXISTS (SELECT 1 FROM money_corrections c WHERE c.sale_id = s.id)",
        (day,),
    ).fetchone()
    undone = corrections.for_day(conn, day)
    owing = [
        dict(r)
        for r in conn.execute(
            "SELECT o.id AS order_id, o.pickup_code, h.name AS household_name,"
            " o.final_fen - o.paid_fen AS owed_fen FROM orders o"
            " LEFT JOIN households h ON h.id = o.household_id"
            f" WHERE o.pickup_date = ? AND o.status IN {sql_in(ORDER_HANDED_OVER)}"
            " AND o.paid_fen < o.final_fen ORDER BY o.updated_at, o.id",
            (day,),
        )
    ]
    total = sum(counts.values())
    done = counts.get("picked_up", 0) + counts.get("delivered", 0)
    return {
        "day": day,
        "orders": total,
        "placed": counts.get("placed", 0),
        "packed": counts.get("packed", 0),
        "picked_up": counts.get("picked_up", 0),
        "delivered": counts.get("delivered", 0),
        "cancelled": counts.get("cancelled", 0),
        "no_show": counts.get("no_show", 0),
        "waiting": counts.get("placed", 0) + counts.get("packed", 0),
        "done": done,
        "orders_takings_fen": int(orders_takings),
        "walkin_takings_fen": int(walkin[0]),
        "walkin_sales": int(walkin[1]),
        "takings_fen": int(orders_takings) + int(walkin[0]),
        "owed_fen": sum(int(o["owed_fen"]) for o in owing),
        "owing": owing,
        "corrections": undone,
        "given_back_fen": -sum(int(c["amount_fen"]) for c in undone),
    }
