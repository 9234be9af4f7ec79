"""Walk-in sales: selling from today's stock to whoever comes in, no household.

A sale is never edited; a mistaken one is voided by a correction row
(edge/domain/corrections.py) and drops out of the takings and the reconciliation.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from edge.domain import products
from edge.domain.auth import now_iso
from edge.domain.pickup import PAYMENT_METHODS
from edge.errors import BadRequest
from edge.store import Tx
from edge.store.ids import new_id


@dataclass(frozen=True, slots=True)
class SaleLine:
    product_id: str
    quantity: float
    unit: str | None = None


def sell(
    tx: Tx,
    lines: list[SaleLine],
    method: str,
    day: date,
    staff_id: str | None = None,
    idempotency_key: str | None = None,
    given_fen: int | None = None,
) -> dict[str, Any]:
    """Record one walk-in sale; by-weight lines are weighed already, so priced now.

    The same `idempotency_key` twice (a double tap, a retry) answers the first sale.
    `given_fen`, what the buyer handed over, is only checked (not less than the
    total) and answered with the change; the takings are the total.
    """
    if idempotency_key:
        seen = tx.one(
            "SELECT id FROM walkin_sales WHERE site_id = ? AND idempotency_key = ?",
            (tx.site_id, idempotency_key),
        )
        if seen is not None:
            return {**_sale(tx, seen["id"]), "replayed": True}
    if method not in PAYMENT_METHODS:
        raise BadRequest(
            f"payment method must be one of {', '.join(PAYMENT_METHODS)}", field="method"
        )
    sale_id = new_id()
    rows = [
        {"id": new_id(), "site_id": tx.site_id, "sale_id": sale_id, **row}
        for row in price_lines(tx.conn, lines, day)
    ]
    total = sum(r["fen"] for r in rows)
    if given_fen is not None and given_fen < total:
        raise BadRequest(
            f"{given_fen} fen handed over is less than the total {total}", field="given"
        )
    stamp = now_iso()
    tx.insert(
        "walkin_sales",
        {
            "id": sale_id,
            "site_id": tx.site_id,
            "sold_on": day.isoformat(),
            "total_fen": total,
            "method": method,
            "staff_id": staff_id,
            "created_at": stamp,
            "idempotency_key": idempotency_key or None,
        },
    )
    for row in rows:
        tx.insert("walkin_items", row)
    tx.insert(
        "payments",
        {
            "id": new_id(),
            "site_id": tx.site_id,
            "order_id": None,
            "sale_id": sale_id,
            "method": method,
            "amount_fen": total,
            "staff_id": staff_id,
            "created_at": stamp,
        },
    )
    change = None if given_fen is None else given_fen - total
    return {
        "sale_id": sale_id,
        "total_fen": total,
        "change_due_fen": change,
        "lines": rows,
        "replayed": False,
    }


def price_lines(conn: sqlite3.Connection, lines: list[SaleLine], day: date) -> list[dict[str, Any]]:
    """Each line priced at the day's price, written nowhere: the walk-in page shows the
    total from this as quantities are typed, and `sell` records the same numbers."""
    if not lines or len(lines) > 50:
        raise BadRequest("a sale needs 1 to 50 lines", field="lines")
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        found = conn.execute(
            "SELECT * FROM products WHERE id = ? AND active = 1", (line.product_id,)
        ).fetchone()
        if found is None:
            raise BadRequest(
                f"lines[{i}]: no product {line.product_id!r}", field=f"lines[{i}].product_id"
            )
        product = products.from_row(found)
        try:
            qty_unit, quantity = products.to_base_quantity(product, line.quantity, line.unit)
        except BadRequest as exc:
            raise BadRequest(f"lines[{i}]: {exc.detail}", field=f"lines[{i}].{exc.field}") from None
        if product.sold_by == "weight" and qty_unit != "g":
            raise BadRequest(
                f"lines[{i}]: weigh {product.name} and give its weight", field=f"lines[{i}].unit"
            )
        rows.append(
            {
                "product_id": product.id,
                "product_name": product.name,
                "qty_unit": qty_unit,
                "quantity": quantity,
                "fen": products.estimate_fen(product, qty_unit, quantity, day) or 0,
            }
        )
    return rows


def sales_on(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """The day's walk-in sales, newest first, each with its lines and whether it was voided."""
    sales = [
        dict(r)
        for r in conn.execute(
            "SELECT s.*, st.name AS staff_name, EXISTS (SELECT 1 FROM money_corrections c"
            " WHERE c.sale_id = s.id) AS voided FROM walkin_sales s"
            " LEFT JOIN staff st ON st.id = s.staff_id WHERE s.sold_on = ?"
            " ORDER BY s.created_at DESC, s.id DESC",
            (day,),
        )
    ]
    lines: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(
        "SELECT w.* FROM walkin_items w JOIN walkin_sales s ON s.id = w.sale_id"
        " WHERE s.sold_on = ?",
        (day,),
    ):
        lines.setdefault(r["sale_id"], []).append(dict(r))
    for sale in sales:
        sale["voided"] = bool(sale["voided"])
        sale["lines"] = lines.get(sale["id"], [])
    return sales


def _sale(tx: Tx, sale_id: str) -> dict[str, Any]:
    sale = tx.one("SELECT total_fen FROM walkin_sales WHERE id = ?", (sale_id,))
    lines = [
        dict(r) for r in tx.execute("SELECT * FROM walkin_items WHERE sale_id = ?", (sale_id,))
    ]
    return {"sale_id": sale_id, "total_fen": sale["total_fen"] if sale else 0, "lines": lines}
