"""The pickup desk: weigh, take payment, hand over (or mark delivered).

By-weight items are weighed at the desk; the final price is recomputed from
the actual grams at the price the order was taken at, and the change from
the estimate is shown. Payment is recorded in fen with its method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge import orders, products
from edge.auth import now_iso
from edge.errors import BadRequest, Conflict, NotFound
from edge.ids import new_id
from edge.store import Tx

PAYMENT_METHODS = ("cash", "wechat", "other")
MAX_GRAMS = 50_000


@dataclass(frozen=True, slots=True)
class Weighing:
    item_id: str
    grams: int


def record_weights(tx: Tx, order_id: str, weighings: list[Weighing]) -> int:
    """Store actual weights and recompute the order's final price; returns it in fen."""
    order = tx.one("SELECT status FROM orders WHERE id = ?", (order_id,))
    if order is None:
        raise NotFound(f"no order {order_id!r}")
    if order["status"] in orders.TERMINAL:
        raise Conflict(f"order is {order['status']}; weights can no longer change")
    items = {
        r["id"]: r for r in tx.execute("SELECT * FROM order_items WHERE order_id = ?", (order_id,))
    }
    for w in weighings:
        item = items.get(w.item_id)
        if item is None:
            raise BadRequest(f"item {w.item_id!r} is not in this order", field="item_id")
        if item["sold_by"] != "weight":
            raise BadRequest(f"{item['product_name']} is not sold by weight", field="grams")
        if not isinstance(w.grams, int) or not 1 <= w.grams <= MAX_GRAMS:
            raise BadRequest("grams must be 1 to 50000", field="grams")
        tx.update(
            "order_items",
            w.item_id,
            {
                "actual_grams": w.grams,
                "final_fen": products.fen_for_grams(w.grams, item["unit_price_fen"]),
            },
        )
    return _refresh_total(tx, order_id)


def _refresh_total(tx: Tx, order_id: str) -> int:
    total = 0
    for item in tx.execute("SELECT * FROM order_items WHERE order_id = ?", (order_id,)):
        if item["final_fen"] is not None:
            total += item["final_fen"]
        elif item["estimated_fen"] is not None:
            total += item["estimated_fen"]
    tx.update("orders", order_id, {"final_fen": total, "updated_at": now_iso()})
    return total


def unweighed(tx: Tx, order_id: str) -> list[str]:
    return [
        r["product_name"]
        for r in tx.execute(
            "SELECT product_name FROM order_items WHERE order_id = ? AND sold_by = 'weight'"
            " AND actual_grams IS NULL",
            (order_id,),
        )
    ]


def complete(
    tx: Tx,
    order_id: str,
    *,
    method: str,
    amount_fen: int,
    weighings: list[Weighing],
    delivered: bool = False,
    staff_id: str | None = None,
) -> dict[str, Any]:
    """Weigh what is left, take payment, and hand the order over, in one transaction.

    `amount_fen` is what the resident handed over; the payment recorded (and
    the day's takings) is the price, or less if less was given, and the rest
    is change due.
    """
    if method not in PAYMENT_METHODS:
        raise BadRequest(
            f"payment method must be one of {', '.join(PAYMENT_METHODS)}", field="method"
        )
    if (
        not isinstance(amount_fen, int)
        or isinstance(amount_fen, bool)
        or not (0 <= amount_fen <= 10_000_000)
    ):
        raise BadRequest(
            "amount_fen must be a whole number of fen, 0 to 10000000", field="amount_fen"
        )
    row = tx.one("SELECT status FROM orders WHERE id = ?", (order_id,))
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    final_status = "delivered" if delivered else "picked_up"
    if row["status"] == final_status:  # a retried hand-over: nothing more to do
        return {"status": final_status, "replayed": True}
    if not orders.can_move(row["status"], final_status):
        raise Conflict(f"order is {row['status']}; it cannot be handed over")
    total = record_weights(tx, order_id, weighings)
    missing = unweighed(tx, order_id)
    if missing:
        raise BadRequest(f"weigh these first: {', '.join(missing)}", field="weights")
    paid = min(amount_fen, total)
    tx.insert(
        "payments",
        {
            "id": new_id(),
            "site_id": tx.site_id,
            "order_id": order_id,
            "sale_id": None,
            "method": method,
            "amount_fen": paid,
            "staff_id": staff_id,
            "created_at": now_iso(),
        },
    )
    tx.update(
        "orders",
        order_id,
        {"paid_fen": paid, "payment_method": method, "updated_at": now_iso()},
    )
    orders.set_status(tx, order_id, final_status)
    return {
        "status": final_status,
        "final_fen": total,
        "paid_fen": paid,
        "change_due_fen": amount_fen - paid,
        "replayed": False,
    }
