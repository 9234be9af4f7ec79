"""Undoing a money step: a voided hand-over, payment or walk-in sale.

History is never edited: a payment row or a sale row stays as it was taken,
and a `money_corrections` row reverses it, saying who, why, and which
manager's PIN let money leave the drawer (any amount given back needs one).
Each payment is reversed at most once (a unique index), so a double tap or a
replayed push cannot give the money back twice. The day's takings are the
payments nobody reversed; the co-op reconciliation counts a voided sale's
goods as unsold, and a reopened order as not handed over.

- void_handover: the order was handed over by mistake (the wrong 张, a weight
  typed wrong). It goes back to packed, every payment it took is reversed,
  and the desk can weigh and take payment again.
- void_payment: one payment of a handed-over order was wrong (recorded as
  cash, never paid). The order stays handed over and the amount is owed again.
- void_sale: a walk-in sale recorded by mistake; its goods count as unsold.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.domain.auth import now_iso
from edge.errors import BadRequest, Conflict, Forbidden, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import ORDER_HANDED_OVER, OrderStatus

KINDS = ("void_handover", "void_payment", "void_sale")
MAX_REASON = 200
# The status a voided hand-over goes back to: the goods were assembled for it.
REOPENED = OrderStatus.PACKED
HANDED_OVER = ORDER_HANDED_OVER


def live_payments(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """The order's payments nobody reversed, oldest first."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT p.* FROM payments p WHERE p.order_id = ? AND NOT EXISTS"
            " (SELECT 1 FROM money_corrections c WHERE c.payment_id = p.id)"
            " ORDER BY p.created_at, p.id",
            (order_id,),
        )
    ]


def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise BadRequest("say why (a reason is required)", field="reason")
    if len(text) > MAX_REASON:
        raise BadRequest(f"the reason is at most {MAX_REASON} characters", field="reason")
    return text


def _check_manager(tx: Tx, amount_back: int, manager_id: str | None) -> str | None:
    """Money leaving the drawer needs a manager (whose PIN the page checked)."""
    if amount_back <= 0:
        return manager_id
    if not manager_id:
        raise Forbidden(
            "money goes back out of the drawer: a station manager's PIN is needed",
            field="manager_pin",
        )
    row = tx.one("SELECT role, active FROM staff WHERE id = ?", (manager_id,))
    if row is None or row["role"] != "manager" or not row["active"]:
        raise Forbidden("only a station manager may give money back", field="manager_pin")
    return manager_id


def _insert(
    tx: Tx,
    kind: str,
    payment: dict[str, Any] | sqlite3.Row | None,
    day: str,
    reason: str,
    staff_id: str,
    manager_id: str | None,
    order_id: str | None = None,
) -> dict[str, Any]:
    row = {
        "id": new_id(),
        "site_id": tx.site_id,
        "kind": kind,
        "day": day,
        "order_id": payment["order_id"] if payment else order_id,
        "sale_id": payment["sale_id"] if payment else None,
        "payment_id": payment["id"] if payment else None,
        "amount_fen": -int(payment["amount_fen"]) if payment else 0,
        "reason": reason,
        "staff_id": staff_id,
        "manager_id": manager_id,
        "created_at": now_iso(),
    }
    tx.insert("money_corrections", row)
    return row


def void_handover(
    tx: Tx, order_id: str, *, reason: str, staff_id: str, manager_id: str | None = None
) -> dict[str, Any]:
    """Reopen a handed-over order and reverse every payment it took."""
    text = _reason(reason)
    order = tx.one("SELECT * FROM orders WHERE id = ?", (order_id,))
    if order is None:
        raise NotFound(f"no order {order_id!r}")
    if order["status"] not in HANDED_OVER:
        raise Conflict(f"order is {order['status']}: there is no hand-over to undo")
    paid = live_payments(tx.conn, order_id)
    back = sum(int(p["amount_fen"]) for p in paid)
    manager = _check_manager(tx, back, manager_id)
    day = order["pickup_date"]
    # At least one row, so the reopening is on record (and lets the hub move it back).
    targets: list[dict[str, Any] | None] = [*paid] if paid else [None]
    rows = [
        _insert(tx, "void_handover", p, day, text, staff_id, manager, order_id) for p in targets
    ]
    # The owner's deliberate move back; the hub lets it through because of the rows above.
    tx.update(
        "orders",
        order_id,
        {"status": REOPENED, "paid_fen": 0, "payment_method": None, "updated_at": now_iso()},
    )
    return {"order_id": order_id, "status": REOPENED, "given_back_fen": back, "corrections": rows}


def void_payment(
    tx: Tx, payment_id: str, *, reason: str, staff_id: str, manager_id: str | None = None
) -> dict[str, Any]:
    """Reverse one payment of a handed-over order; its amount is owed again."""
    text = _reason(reason)
    payment = tx.one("SELECT * FROM payments WHERE id = ?", (payment_id,))
    if payment is None:
        raise NotFound(f"no payment {payment_id!r}")
    if payment["order_id"] is None:
        raise BadRequest("this payment is a walk-in sale: undo the sale", field="payment_id")
    if tx.one("SELECT 1 FROM money_corrections WHERE payment_id = ?", (payment_id,)):
        raise Conflict("this payment was already undone")
    order = tx.one("SELECT * FROM orders WHERE id = ?", (payment["order_id"],))
    assert order is not None  # a payment always names an existing order (foreign key)
    if order["status"] not in HANDED_OVER:
        raise Conflict(f"order is {order['status']}: no payment of it stands to undo")
    amount = int(payment["amount_fen"])
    manager = _check_manager(tx, amount, manager_id)
    row = _insert(tx, "void_payment", payment, order["pickup_date"], text, staff_id, manager)
    tx.update(
        "orders",
        order["id"],
        {"paid_fen": max(0, int(order["paid_fen"] or 0) - amount), "updated_at": now_iso()},
    )
    owed = int(order["final_fen"] or 0) - max(0, int(order["paid_fen"] or 0) - amount)
    return {"order_id": order["id"], "given_back_fen": amount, "owed_fen": owed, "correction": row}


def void_sale(
    tx: Tx, sale_id: str, *, reason: str, staff_id: str, manager_id: str | None = None
) -> dict[str, Any]:
    """Reverse a walk-in sale: its money goes back, its goods count as unsold."""
    text = _reason(reason)
    sale = tx.one("SELECT * FROM walkin_sales WHERE id = ?", (sale_id,))
    if sale is None:
        raise NotFound(f"no walk-in sale {sale_id!r}")
    payment = tx.one("SELECT * FROM payments WHERE sale_id = ?", (sale_id,))
    if payment is None:
        raise Conflict("this sale took no payment to undo")
    if tx.one("SELECT 1 FROM money_corrections WHERE payment_id = ?", (payment["id"],)):
        raise Conflict("this sale was already undone")
    manager = _check_manager(tx, int(payment["amount_fen"]), manager_id)
    row = _insert(tx, "void_sale", payment, sale["sold_on"], text, staff_id, manager)
    return {"sale_id": sale_id, "given_back_fen": int(payment["amount_fen"]), "correction": row}


def voided_sales(conn: sqlite3.Connection, day: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT sale_id FROM money_corrections WHERE day = ? AND kind = 'void_sale'", (day,)
        )
    }


def for_order(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """The order's corrections, oldest first, with who did them."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT c.*, s.name AS staff_name, m.name AS manager_name FROM money_corrections c"
            " LEFT JOIN staff s ON s.id = c.staff_id LEFT JOIN staff m ON m.id = c.manager_id"
            " WHERE c.order_id = ? ORDER BY c.created_at, c.id",
            (order_id,),
        )
    ]


def for_day(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """The day's corrections, oldest first: the Today page lists them under the takings."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT c.*, s.name AS staff_name, m.name AS manager_name, o.pickup_code"
            " FROM money_corrections c LEFT JOIN staff s ON s.id = c.staff_id"
            " LEFT JOIN staff m ON m.id = c.manager_id LEFT JOIN orders o ON o.id = c.order_id"
            " WHERE c.day = ? ORDER BY c.created_at, c.id",
            (day,),
        )
    ]
