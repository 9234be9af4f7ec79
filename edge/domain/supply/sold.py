"""What a centre sold of a delivery day, per product line: handed over through orders
and sold walk-in. Both the return count (`returns.leftovers_expected`) and the day's
reconciliation read it, so it sits below both: neither imports the other for it."""

from __future__ import annotations

import sqlite3

from edge.domain.supply.lines import Key
from edge.store.statuses import ORDER_HANDED_OVER, sql_in


def sold_by_orders(conn: sqlite3.Connection, site_id: str, day: str) -> dict[Key, tuple[int, int]]:
    """Handed-over quantities and takings per line: weighed grams, else the allocated count."""
    out: dict[Key, tuple[int, int]] = {}
    for r in conn.execute(
        "SELECT i.product_id, i.qty_unit,"
        " SUM(CASE WHEN i.qty_unit = 'g' AND i.actual_grams IS NOT NULL THEN i.actual_grams"
        "     ELSE COALESCE(i.allocated_qty, i.quantity) END) AS q,"
        " SUM(COALESCE(i.final_fen, i.estimated_fen, 0)) AS fen"
        " FROM orders o JOIN order_items i ON i.order_id = o.id"
        f" WHERE o.site_id = ? AND o.pickup_date = ? AND o.status IN {sql_in(ORDER_HANDED_OVER)}"
        " GROUP BY i.product_id, i.qty_unit",
        (site_id, day),
    ):
        out[(r["product_id"], r["qty_unit"])] = (int(r["q"]), int(r["fen"]))
    return out


def sold_walkin(conn: sqlite3.Connection, site_id: str, day: str) -> dict[Key, tuple[int, int]]:
    out: dict[Key, tuple[int, int]] = {}
    for r in conn.execute(
        "SELECT w.product_id, w.qty_unit, SUM(w.quantity) AS q, SUM(w.fen) AS fen"
        " FROM walkin_sales s JOIN walkin_items w ON w.sale_id = s.id"
        " WHERE s.site_id = ? AND s.sold_on = ? AND NOT EXISTS"
        " (SELECT 1 FROM money_corrections c WHERE c.sale_id = s.id)"
        " GROUP BY w.product_id, w.qty_unit",
        (site_id, day),
    ):
        out[(r["product_id"], r["qty_unit"])] = (int(r["q"]), int(r["fen"]))
    return out
