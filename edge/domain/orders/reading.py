"""Reading orders: one with its lines and payments, and a day's list with search."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.domain.households import mask_phone
from edge.errors import NotFound

ORDER_COLUMNS = (
    "o.id, o.household_id, o.channel, o.pickup_date, o.delivery_mode, o.pickup_code,"
    " o.status, o.notes, o.placed_by, o.estimated_fen, o.final_fen, o.paid_fen,"
    " o.payment_method, o.created_at, o.updated_at,"
    " h.name AS household_name, h.phone, h.building, h.unit, h.room, h.wechat_nickname"
)


def _summary(row: sqlite3.Row, sees_phones: bool) -> dict[str, Any]:
    out = dict(row)
    out["phone"] = (row["phone"] or "") if sees_phones else mask_phone(row["phone"] or "")
    return out


def get_order(conn: sqlite3.Connection, order_id: str, *, sees_phones: bool) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN households h ON h.id = o.household_id"
        " WHERE o.id = ?",
        (order_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    order = _summary(row, sees_phones)
    order["items"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, product_id, product_name, sold_by, qty_unit, quantity, unit_price_fen,"
            " estimated_fen, actual_grams, final_fen, amount_fen, allocated_qty,"
            " (allocated_qty IS NOT NULL AND allocated_qty < quantity) AS short"
            " FROM order_items WHERE order_id = ? ORDER BY line",
            (order_id,),
        )
    ]
    for item in order["items"]:
        item["short"] = bool(item["short"])  # receiving shared out less than ordered
    # `undone`: reversed by a correction (edge/domain/corrections.py); no longer in the takings.
    order["payments"] = [
        {**dict(r), "undone": bool(r["undone"])}
        for r in conn.execute(
            "SELECT p.id, p.method, p.amount_fen, p.created_at, EXISTS (SELECT 1 FROM"
            " money_corrections c WHERE c.payment_id = p.id) AS undone FROM payments p"
            " WHERE p.order_id = ? ORDER BY p.created_at, p.id",
            (order_id,),
        )
    ]
    return order


def list_orders(
    conn: sqlite3.Connection,
    day: str,
    *,
    sees_phones: bool,
    status: str | None = None,
    q: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Orders for a pickup day, optionally filtered by status and a search term.

    The search matches a pickup code, the last digits of a phone (the whole
    phone too for readers who see phones), a name or a WeChat nickname; it
    stays within the day, so it is fast however many past orders the box holds.
    """
    sql = (
        f"SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN households h"
        " ON h.id = o.household_id WHERE o.pickup_date = ?"
    )
    params: list[Any] = [day]
    if status:
        sql += " AND o.status = ?"
        params.append(status)
    q = (q or "").strip()
    if q:
        if q.isdigit() and sees_phones:
            sql += " AND (o.pickup_code = ? OR h.phone_tail = ? OR h.phone = ?)"
            params += [q, q[-4:], q]
        elif q.isdigit():  # a masked reader may match the tail it sees, never a whole phone
            sql += " AND (o.pickup_code = ? OR h.phone_tail = ?)"
            params += [q, q]
        else:
            sql += " AND (h.name LIKE ? OR h.wechat_nickname LIKE ?)"
            params += [f"%{q}%", f"%{q}%"]
    sql += " ORDER BY h.building, h.unit, h.room, o.created_at LIMIT ?"
    params.append(limit)
    return [_summary(r, sees_phones) for r in conn.execute(sql, params)]
