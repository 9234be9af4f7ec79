"""Taking an order: validated and written with its lines in the caller's transaction,
keyed by an Idempotency-Key (the same key twice gives the same order)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from edge.domain import calendar
from edge.domain.auth import now_iso
from edge.domain.households import find_or_create
from edge.domain.orders.lines import make_line
from edge.domain.orders.rules import (
    CHANNELS,
    DELIVERY_MODES,
    MAX_ITEMS,
    MAX_KEY_LEN,
    Created,
    OrderInput,
)
from edge.domain.orders.same_day import OpenOrderExists, open_orders
from edge.errors import BadRequest, Conflict
from edge.store import Tx
from edge.store.ids import new_id, new_pickup_code
from edge.store.statuses import OrderStatus


def create_order(
    tx: Tx,
    data: OrderInput,
    now: datetime,
    staff_id: str | None = None,
    *,
    acknowledged: Collection[str] | None = None,
) -> Created:
    """Validate and write one order with its items, in the caller's transaction.

    With `acknowledged` (the ids of the household's open orders for that day that
    staff were shown), any other such order refuses with OpenOrderExists, as the
    WeChat flow does: a second order for the same day is always a decision."""
    key = (data.idempotency_key or "").strip() or None
    if key is not None:
        if len(key) > MAX_KEY_LEN:
            raise BadRequest("Idempotency-Key is too long", field="Idempotency-Key")
        seen = tx.one(
            "SELECT id, pickup_date, pickup_code FROM orders"
            " WHERE site_id = ? AND idempotency_key = ?",
            (tx.site_id, key),
        )
        if seen is not None:
            return Created(seen["id"], seen["pickup_date"], seen["pickup_code"], replayed=True)

    if data.channel not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if not data.items:
        raise BadRequest("an order needs at least one item", field="items")
    if len(data.items) > MAX_ITEMS:
        raise BadRequest(f"at most {MAX_ITEMS} items in one order", field="items")
    if len(data.notes) > 500 or len(data.placed_by) > 80:
        raise BadRequest("notes are at most 500 characters", field="notes")

    household_id = _household_for(tx, data)
    home = False
    if household_id is not None:
        hh = tx.one("SELECT home_delivery FROM households WHERE id = ?", (household_id,))
        home = bool(hh and hh["home_delivery"])
    mode = data.delivery_mode or ("home" if home else "pickup")
    if mode not in DELIVERY_MODES:
        raise BadRequest("delivery_mode must be 'pickup' or 'home'", field="delivery_mode")

    cal = calendar.load(tx.conn, tx.site_id)
    notice = None
    if data.pickup_date:
        day = calendar.parse_day(data.pickup_date, "pickup_date")
        cal.check_orderable(day, now)
    else:
        day = cal.next_delivery_day(now)
        missed = cal.first_delivery_day_after(now.date())
        if day > missed:
            notice = (
                f"past the cut-off for {missed.isoformat()}; this order is for {day.isoformat()}"
            )

    if acknowledged is not None and household_id is not None:
        every = open_orders(tx.conn, tx.site_id, household_id, day.isoformat())
        if any(o["id"] not in set(acknowledged) for o in every):
            raise OpenOrderExists(every)  # all of them, so the next answer covers all

    lines = [make_line(tx, i, item, day) for i, item in enumerate(data.items)]
    order_id = new_id()
    stamp = now_iso()
    code = free_pickup_code(tx, day)
    estimated = sum(line["estimated_fen"] or 0 for line in lines)
    tx.insert(
        "orders",
        {
            "id": order_id,
            "site_id": tx.site_id,
            "household_id": household_id,
            "channel": data.channel,
            "pickup_date": day.isoformat(),
            "delivery_mode": mode,
            "pickup_code": code,
            "status": OrderStatus.PLACED,
            "notes": data.notes,
            "placed_by": data.placed_by,
            "estimated_fen": estimated,
            "final_fen": None,
            "paid_fen": 0,
            "payment_method": None,
            "idempotency_key": key,
            "staff_id": staff_id,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    for line in lines:
        tx.insert(
            "order_items", {"id": new_id(), "site_id": tx.site_id, "order_id": order_id, **line}
        )
    return Created(order_id, day.isoformat(), code, notice=notice)


def _household_for(tx: Tx, data: OrderInput) -> str | None:
    if data.household_id:
        if tx.one("SELECT 1 FROM households WHERE id = ?", (data.household_id,)) is None:
            raise BadRequest(f"no household {data.household_id!r}", field="household_id")
        return data.household_id
    if data.household is not None:
        return find_or_create(tx, data.household)
    if data.channel == "walkin":
        return None
    raise BadRequest("an order needs a household (household_id or household)", field="household")


def free_pickup_code(tx: Tx, day: date) -> str:
    for _ in range(50):
        code = new_pickup_code()
        taken = tx.one(
            "SELECT 1 FROM orders WHERE site_id = ? AND pickup_date = ? AND pickup_code = ?",
            (tx.site_id, day.isoformat(), code),
        )
        if taken is None:
            return code
    raise Conflict("no free pickup code left for this day")
