"""Status changes: an order only moves forward; repeating a move that already happened
is a no-op, so retries stay harmless. Packing, moving a closed day's orders, a cancel
and close of day's no-shows."""

from __future__ import annotations

from datetime import date

from edge.domain import calendar
from edge.domain.auth import now_iso
from edge.domain.orders.creating import free_pickup_code
from edge.domain.orders.rules import OPEN, STATUSES, can_move
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.statuses import OrderStatus, sql_in


def set_status(tx: Tx, order_id: str, new: str) -> str:
    """Move an order forward; returns the status it ends in."""
    if new not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", field="status")
    row = tx.one("SELECT status FROM orders WHERE id = ?", (order_id,))
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    current = row["status"]
    if current == new:
        return current
    if not can_move(current, new):
        raise Conflict(f"order is {current}; it cannot become {new}")
    tx.update("orders", order_id, {"status": new, "updated_at": now_iso()})
    return new


# The only move a client may ask for by name; the others each go through the
# step that records what they mean (weights and payment, a cancel, close of day).
OTHER_ROUTES = {
    "picked_up": "hand it over with POST /api/v1/orders/{id}/pickup (weights and payment)",
    "delivered": "hand it over with POST /api/v1/orders/{id}/pickup (weights and payment)",
    "cancelled": "use POST /api/v1/orders/{id}/cancel",
    "no_show": "orders become no-shows at close of day (POST /api/v1/close-day)",
}


def mark_packed(tx: Tx, order_id: str, requested: str = "packed") -> str:
    """The packing step: the one status change a tablet asks for directly. Asking
    for "placed" is a backward move (409) or a no-op, as set_status decides."""
    if requested not in OPEN:
        hint = OTHER_ROUTES.get(requested)
        if hint is None:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}", field="status")
        raise BadRequest(f"status can only be set to packed here; {hint}", field="status")
    return set_status(tx, order_id, requested)


def move_open_orders(tx: Tx, from_day: date, to_day: date) -> int:
    """Orders still waiting for `from_day` (a day being closed) move to `to_day`,
    which must be a delivery day; each keeps its pickup code unless `to_day`
    already uses it. Returns how many moved."""
    if to_day == from_day:
        raise BadRequest("orders must move to another day", field="move_orders_to")
    if not calendar.load(tx.conn, tx.site_id).is_delivery_day(to_day):
        raise BadRequest(f"{to_day.isoformat()} is not a delivery day", field="move_orders_to")
    rows = tx.execute(
        "SELECT id, pickup_code FROM orders WHERE site_id = ? AND pickup_date = ?"
        f" AND status IN {sql_in(OPEN)} ORDER BY created_at",
        (tx.site_id, from_day.isoformat()),
    ).fetchall()
    for row in rows:
        code = row["pickup_code"]
        if tx.one(
            "SELECT 1 FROM orders WHERE site_id = ? AND pickup_date = ? AND pickup_code = ?",
            (tx.site_id, to_day.isoformat(), code),
        ):
            code = free_pickup_code(tx, to_day)
        tx.update(
            "orders",
            row["id"],
            {"pickup_date": to_day.isoformat(), "pickup_code": code, "updated_at": now_iso()},
        )
    return len(rows)


def cancel(tx: Tx, order_id: str) -> str:
    """Cancel unless already ended; a cancel never undoes a pickup (invariant 5)."""
    return set_status(tx, order_id, OrderStatus.CANCELLED)


def mark_no_shows(tx: Tx, day: str, today: date) -> int:
    """Close of day: pickup orders nobody came for become no_show.

    Only a day that has come: closing tomorrow would end orders people can still
    collect."""
    if day > today.isoformat():
        raise BadRequest(f"{day} has not come yet; only today or an earlier day", field="day")
    ids = [
        r["id"]
        for r in tx.execute(
            "SELECT id FROM orders WHERE pickup_date = ? AND delivery_mode = 'pickup'"
            f" AND status IN {sql_in(OPEN)}",
            (day,),
        )
    ]
    for order_id in ids:
        set_status(tx, order_id, OrderStatus.NO_SHOW)
    return len(ids)
