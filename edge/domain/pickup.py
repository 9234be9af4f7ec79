"""The pickup desk: weigh, take payment, hand over (or mark delivered).

By-weight items are weighed at the desk; the final price is recomputed from
the actual grams at the price the order was taken at, and the change from
the estimate is shown. An item that receiving shared nothing out to
(`allocated_qty = 0`: none of it arrived) is not weighed and costs 0; NULL
means no shortage was recorded. Payment is recorded in fen with its method.

The desk takes the whole price. Less is refused unless the hand-over says it
is on credit (an elderly resident who pays next time, "下次给"); then what was
given is recorded and the rest, `final_fen - paid_fen`, is still owed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from edge.domain import orders, products
from edge.domain.auth import now_iso
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id

PAYMENT_METHODS = ("cash", "wechat", "other")
MAX_GRAMS = 50_000


@dataclass(frozen=True, slots=True)
class Weighing:
    item_id: str
    grams: int


class PriceChanged(Conflict):
    """The price is no longer the one on the screen the staff member tapped: nothing is
    written, and the page shows the new price to confirm (never a silently changed
    amount). Checked inside the hand-over's own transaction."""

    def __init__(self, total_fen: int, shown_fen: int) -> None:
        super().__init__(
            f"the price is now {total_fen} fen, not the {shown_fen} shown", field="amount"
        )
        self.total_fen = total_fen
        self.shown_fen = shown_fen


class Underpaid(BadRequest):
    """Less than the price was handed over and the hand-over did not say "on credit"."""

    def __init__(self, amount_fen: int, total_fen: int) -> None:
        super().__init__(
            f"amount_fen {amount_fen} is less than the price {total_fen}: take the full"
            f" amount, or hand over on credit (on_credit: true) to record"
            f" {total_fen - amount_fen} fen as still owed",
            field="amount_fen",
        )
        self.amount_fen = amount_fen
        self.total_fen = total_fen


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
        item = _weighed_item(items, w)
        tx.update(
            "order_items",
            w.item_id,
            {
                "actual_grams": w.grams,
                # Ordered as money ("十块钱的"): weighed to about it, charged the amount.
                "final_fen": item["amount_fen"]
                if item["amount_fen"] is not None
                else products.fen_for_grams(w.grams, item["unit_price_fen"]),
            },
        )
    return _refresh_total(tx, order_id)


def _weighed_item(items: dict[str, Any], w: Weighing) -> Any:
    """The order line a weighing is for, if the weighing may stand."""
    item = items.get(w.item_id)
    if item is None:
        raise BadRequest(f"item {w.item_id!r} is not in this order", field="item_id")
    if item["sold_by"] != "weight":
        raise BadRequest(f"{item['product_name']} is not sold by weight", field="grams")
    if not isinstance(w.grams, int) or not 1 <= w.grams <= MAX_GRAMS:
        raise BadRequest("grams must be 1 to 50000", field="grams")
    return item


def quote(conn: sqlite3.Connection, order_id: str, weighings: list[Weighing]) -> dict[str, Any]:
    """The price with these weights, written nowhere: what the desk shows while typing.

    The same arithmetic as `record_weights` + `amount_due`, so the number the desk
    shows is the number the hand-over records.
    """
    rows = conn.execute("SELECT * FROM order_items WHERE order_id = ? ORDER BY line", (order_id,))
    items = {r["id"]: r for r in rows}
    known = conn.execute("SELECT 1 FROM orders WHERE id = ?", (order_id,)).fetchone()
    if known is None:
        raise NotFound(f"no order {order_id!r}")
    typed: dict[str, int] = {}
    for w in weighings:
        _weighed_item(items, w)
        typed[w.item_id] = w.grams
    line_fen: dict[str, int] = {}
    unweighed_names: list[str] = []
    for item_id, item in items.items():
        if item_id in typed:
            line_fen[item_id] = products.fen_for_grams(typed[item_id], item["unit_price_fen"])
            continue
        line_fen[item_id] = _item_fen(item)
        if (
            item["sold_by"] == "weight"
            and item["actual_grams"] is None
            and (item["allocated_qty"] is None or item["allocated_qty"] > 0)
        ):
            unweighed_names.append(item["product_name"])
    return {"total_fen": sum(line_fen.values()), "line_fen": line_fen, "unweighed": unweighed_names}


def _item_fen(item: sqlite3.Row) -> int:
    if item["final_fen"] is not None:  # weighed: what was on the scale went out
        return int(item["final_fen"])
    if item["allocated_qty"] == 0:  # none arrived: nothing to pay, whatever the estimate
        return 0
    return int(item["estimated_fen"] or 0)


def amount_due(conn: sqlite3.Connection, order_id: str) -> int:
    """The price as it stands: weighed items at their weight, the rest at the estimate."""
    rows = conn.execute("SELECT * FROM order_items WHERE order_id = ?", (order_id,))
    return sum(_item_fen(r) for r in rows)


def _refresh_total(tx: Tx, order_id: str) -> int:
    total = amount_due(tx.conn, order_id)
    tx.update("orders", order_id, {"final_fen": total, "updated_at": now_iso()})
    return total


def none_arrived(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """The order's items of which nothing arrived and nothing was weighed out."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT id, product_name, sold_by, final_fen FROM order_items WHERE order_id = ?"
            " AND allocated_qty = 0 AND COALESCE(actual_grams, 0) = 0 ORDER BY line",
            (order_id,),
        )
    ]


def unweighed(conn: sqlite3.Connection, order_id: str) -> list[str]:
    """Names of by-weight items still to weigh (not those of which nothing arrived)."""
    return [
        r["product_name"]
        for r in conn.execute(
            "SELECT product_name FROM order_items WHERE order_id = ? AND sold_by = 'weight'"
            " AND actual_grams IS NULL AND (allocated_qty IS NULL OR allocated_qty > 0)"
            " ORDER BY line",
            (order_id,),
        )
    ]


def _check_method(method: str) -> None:
    if method not in PAYMENT_METHODS:
        raise BadRequest(
            f"payment method must be one of {', '.join(PAYMENT_METHODS)}", field="method"
        )


def _record_payment(tx: Tx, order_id: str, method: str, paid: int, staff_id: str | None) -> None:
    """A payment row: what counts in the day's takings (never the change given back)."""
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


def complete(
    tx: Tx,
    order_id: str,
    *,
    method: str,
    amount_fen: int,
    weighings: list[Weighing],
    delivered: bool = False,
    on_credit: bool = False,
    staff_id: str | None = None,
    shown_fen: int | None = None,
) -> dict[str, Any]:
    """Weigh what is left, take payment, and hand the order over, in one transaction.

    `shown_fen`: the price on the screen when staff tapped; another price raises
    `PriceChanged` and writes nothing.

    `amount_fen` is what the resident handed over; the payment recorded (and
    the day's takings) is the price, and anything above it is change due.
    Less than the price raises `Underpaid` (nothing is written) unless
    `on_credit`: then the amount given is recorded and the rest is `owed_fen`.
    Items of which nothing arrived need no weight and are handed over at 0 fen.
    """
    _check_method(method)
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
    final_status = orders.OrderStatus.DELIVERED if delivered else orders.OrderStatus.PICKED_UP
    if row["status"] == final_status:  # a retried hand-over: nothing more to do
        return {"status": final_status, "replayed": True}
    if not orders.can_move(row["status"], final_status):
        raise Conflict(f"order is {row['status']}; it cannot be handed over")
    total = record_weights(tx, order_id, weighings)
    missing = unweighed(tx.conn, order_id)
    if missing:
        raise BadRequest(f"weigh these first: {', '.join(missing)}", field="weights")
    if shown_fen is not None and shown_fen != total:
        raise PriceChanged(total, shown_fen)
    if amount_fen < total and not on_credit:
        raise Underpaid(amount_fen, total)
    for item in none_arrived(tx.conn, order_id):
        if item["final_fen"] is None:
            # Handed over empty: priced 0 on the record, so the lines of a handed-over
            # order add up to its final price without knowing about shortages.
            tx.update("order_items", item["id"], {"final_fen": 0})
    paid = min(amount_fen, total)
    _record_payment(tx, order_id, method, paid, staff_id)
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
        "owed_fen": total - paid,
        "replayed": False,
    }


def settle(
    tx: Tx,
    order_id: str,
    *,
    method: str,
    amount_fen: int,
    owed_fen: int,
    staff_id: str | None = None,
) -> dict[str, Any]:
    """A resident pays (some of) what an on-credit hand-over left owing.

    `owed_fen` is the amount the tablet showed: if it no longer matches (a
    double tap, another tablet settled first) nothing is recorded, so a
    retried payment never counts twice. Above what is owed is change due.
    """
    _check_method(method)
    if amount_fen <= 0:
        raise BadRequest("amount_fen must be more than 0", field="amount_fen")
    row = tx.one("SELECT status, final_fen, paid_fen FROM orders WHERE id = ?", (order_id,))
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    if row["status"] not in orders.HANDED_OVER:
        raise Conflict(f"order is {row['status']}: take payment at the hand-over")
    owed = int(row["final_fen"] or 0) - int(row["paid_fen"] or 0)
    if owed <= 0:
        raise Conflict("nothing is owed on this order")
    if owed != owed_fen:
        raise Conflict(f"{owed} fen is owed now, not {owed_fen}: reload and check")
    paid = min(amount_fen, owed)
    _record_payment(tx, order_id, method, paid, staff_id)
    tx.update(
        "orders",
        order_id,
        {"paid_fen": int(row["paid_fen"] or 0) + paid, "updated_at": now_iso()},
    )
    return {
        "paid_fen": int(row["paid_fen"] or 0) + paid,
        "change_due_fen": amount_fen - paid,
        "owed_fen": owed - paid,
    }
