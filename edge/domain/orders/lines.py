"""An order's lines: a product asked for becomes a line with its base quantity, price
and estimate; "add to that order" merges a product already on it into its line."""

from __future__ import annotations

from datetime import date
from typing import Any

from edge.domain import calendar, products
from edge.domain.auth import now_iso
from edge.domain.orders.rules import MAX_AMOUNT_FEN, MAX_ITEMS, Created, ItemInput
from edge.domain.orders.same_day import version_of
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id


def add_items(tx: Tx, order_id: str, items: list[ItemInput], *, seen: str | None = None) -> Created:
    """More for an order not packed yet ("add to that order"): a product already on it
    (same unit, not ordered as money) gets the quantity added to its line, others
    become new lines; the estimate follows. A packed bag is closed: make a new order.

    `seen` is the order's version as staff were shown it: if the order changed
    since (another add, a resend of this one), nothing is added and it is shown again."""
    row = tx.one(
        "SELECT id, pickup_date, pickup_code, status, updated_at FROM orders"
        " WHERE id = ? AND site_id = ?",
        (order_id, tx.site_id),
    )
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    lines = tx.execute(
        "SELECT quantity FROM order_items WHERE order_id = ?", (order_id,)
    ).fetchall()
    if seen is not None and version_of(row, lines) != seen:
        raise Conflict("the order changed since it was shown; look at it again", field="add_to")
    if row["status"] != "placed":
        raise Conflict(f"order is {row['status']}; make a separate order", field="add_to")
    if not items:
        raise BadRequest("an order needs at least one item", field="items")
    day = calendar.parse_day(row["pickup_date"], "pickup_date")
    existing = tx.execute(
        "SELECT id, line, product_id, qty_unit, quantity, amount_fen, unit_price_fen,"
        " sold_by FROM order_items WHERE order_id = ? ORDER BY line",
        (order_id,),
    ).fetchall()
    if len(existing) + len(items) > MAX_ITEMS:
        raise BadRequest(f"at most {MAX_ITEMS} items in one order", field="items")
    next_line = max((r["line"] for r in existing), default=-1) + 1
    for index, item in enumerate(items):
        line = make_line(tx, index, item, day)
        same = next(
            (
                r
                for r in existing
                if r["product_id"] == line["product_id"]
                and r["qty_unit"] == line["qty_unit"]
                and r["amount_fen"] is None
                and line["amount_fen"] is None
            ),
            None,
        )
        if same is not None:
            product = products.from_row(
                tx.one("SELECT * FROM products WHERE id = ?", (line["product_id"],))  # type: ignore[arg-type]
            )
            quantity = same["quantity"] + line["quantity"]
            tx.update(
                "order_items",
                same["id"],
                {
                    "quantity": quantity,
                    "estimated_fen": products.estimate_fen(
                        product, line["qty_unit"], quantity, day
                    ),
                },
            )
            continue
        tx.insert(
            "order_items",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "order_id": order_id,
                **line,
                "line": next_line,
            },
        )
        next_line += 1
    total = tx.one(
        "SELECT SUM(COALESCE(estimated_fen, 0)) AS fen FROM order_items WHERE order_id = ?",
        (order_id,),
    )
    tx.update(
        "orders",
        order_id,
        {"estimated_fen": int(total["fen"] or 0) if total else 0, "updated_at": now_iso()},
    )
    return Created(order_id, row["pickup_date"], row["pickup_code"])


def make_line(tx: Tx, index: int, item: ItemInput, day: date) -> dict[str, Any]:
    row = tx.one("SELECT * FROM products WHERE id = ? AND active = 1", (item.product_id,))
    if row is None:
        raise BadRequest(
            f"items[{index}]: no product {item.product_id!r}", field=f"items[{index}].product_id"
        )
    product = products.from_row(row)
    try:
        qty_unit, quantity = products.to_base_quantity(product, item.quantity, item.unit)
    except BadRequest as exc:
        raise BadRequest(
            f"items[{index}]: {exc.detail}", field=f"items[{index}].{exc.field}"
        ) from None
    amount = item.amount_fen
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT_FEN
    ):
        raise BadRequest(
            f"items[{index}]: amount_fen must be 1 to {MAX_AMOUNT_FEN}",
            field=f"items[{index}].amount_fen",
        )
    estimated = products.estimate_fen(product, qty_unit, quantity, day)
    return {
        "line": index,
        "product_id": product.id,
        "product_name": product.name,
        "sold_by": product.sold_by,
        "qty_unit": qty_unit,
        "quantity": quantity,
        "unit_price_fen": product.price_on(day),
        "estimated_fen": estimated if amount is None else amount,
        "actual_grams": None,
        "final_fen": None,
        "amount_fen": amount,
    }
