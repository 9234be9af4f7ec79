"""Orders: what a household asked for, for which delivery day, and where it stands.

An order belongs to the centre that took it. Its status only moves forward
(placed → packed → picked_up / delivered; cancelled and no_show end it too);
a request that would move it back is refused, and repeating a move that
already happened is a no-op so retries stay harmless. Creation is keyed by
an Idempotency-Key: the same key twice gives the same order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from edge.domain import calendar, products
from edge.domain.auth import now_iso
from edge.domain.households import HouseholdInput, find_or_create, mask_phone
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id, new_pickup_code
from edge.store.statuses import (
    ORDER_HANDED_OVER,
    ORDER_OPEN,
    ORDER_RANK,
    ORDER_TERMINAL,
    OrderStatus,
    sql_in,
)

CHANNELS = ("wechat", "tablet", "hotline", "family", "walkin")
DELIVERY_MODES = ("pickup", "home")
STATUSES = tuple(OrderStatus)
OPEN = ORDER_OPEN
HANDED_OVER = ORDER_HANDED_OVER
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PACKED)  # not handed over, cancelled or missed yet
TERMINAL = ORDER_TERMINAL
NEXT: dict[str, frozenset[str]] = {
    OrderStatus.PLACED: frozenset(OrderStatus) - {OrderStatus.PLACED},
    OrderStatus.PACKED: ORDER_TERMINAL,
}
RANK = ORDER_RANK
MAX_ITEMS = 50
MAX_AMOUNT_FEN = 200_000  # a line ordered as money: at most ¥2,000
MAX_KEY_LEN = 100


@dataclass(frozen=True, slots=True)
class ItemInput:
    product_id: str
    quantity: float
    unit: str | None = None
    # "十块钱的香菜": ordered as this much money; `quantity` is then the estimate to weigh to.
    amount_fen: int | None = None


@dataclass(frozen=True, slots=True)
class OrderInput:
    items: list[ItemInput]
    household_id: str | None = None
    household: HouseholdInput | None = None
    channel: str = "tablet"
    delivery_mode: str | None = None
    pickup_date: str | None = None
    notes: str = ""
    placed_by: str = ""  # a family member or hotline operator ordering for a resident
    idempotency_key: str | None = None


@dataclass(slots=True)
class Created:
    order_id: str
    pickup_date: str
    pickup_code: str
    replayed: bool = False
    notice: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def can_move(current: str, new: str) -> bool:
    return new == current or new in NEXT.get(current, frozenset())


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

    lines = [_line(tx, i, item, day) for i, item in enumerate(data.items)]
    order_id = new_id()
    stamp = now_iso()
    code = _free_pickup_code(tx, day)
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


def last_channel(conn: sqlite3.Connection, staff_id: str | None, among: tuple[str, ...]) -> str:
    """How this staff member's last typed order came in (one of `among`): the way they
    most likely take the next (the hotline volunteer keeps 电话/12349, the desk 平板)."""
    marks = ", ".join("?" for _ in among)
    row = conn.execute(
        f"SELECT channel FROM orders WHERE staff_id = ? AND channel IN ({marks})"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        (staff_id, *among),
    ).fetchone()
    return str(row[0]) if row else "tablet"


def open_orders(
    conn: sqlite3.Connection,
    site_id: str,
    household_id: str,
    pickup_date: str,
    *,
    exclude: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The household's orders for that day that are not finished yet, with their items.

    Every way an order comes in (WeChat, tablet, phone) asks this before making a
    second order for the same household and day: a second order is a decision."""
    found = []
    for row in conn.execute(
        "SELECT id, pickup_code, status, channel, updated_at FROM orders WHERE site_id = ?"
        " AND household_id = ? AND pickup_date = ? AND status IN (?, ?) ORDER BY created_at, id",
        (site_id, household_id, pickup_date, *OPEN_STATUSES),
    ):
        if row["id"] in exclude:
            continue
        items = conn.execute(
            "SELECT product_id, product_name, qty_unit, quantity FROM order_items"
            " WHERE order_id = ? ORDER BY line",
            (row["id"],),
        ).fetchall()
        found.append(
            {**dict(row), "items": [dict(i) for i in items], "version": _version(row, items)}
        )
    return found


def _version(row: sqlite3.Row, items: list[sqlite3.Row]) -> str:
    """What staff saw of an order: when it last changed and what is on it (every add
    changes the quantities, whatever the clock's one-second steps say)."""
    total = sum(float(i["quantity"] or 0) for i in items)
    return f"{row['updated_at']}/{len(items)}/{total:g}"


class OpenOrderExists(Conflict):
    """The household already has an order for that day; staff must say "a separate one"."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        codes = ", ".join(o["pickup_code"] for o in found)
        super().__init__(
            f"this household already has an order for that day ({codes})", field="separate"
        )
        self.orders = found


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
    if seen is not None and _version(row, lines) != seen:
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
        line = _line(tx, index, item, day)
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


def _line(tx: Tx, index: int, item: ItemInput, day: date) -> dict[str, Any]:
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


def _free_pickup_code(tx: Tx, day: date) -> str:
    for _ in range(50):
        code = new_pickup_code()
        taken = tx.one(
            "SELECT 1 FROM orders WHERE site_id = ? AND pickup_date = ? AND pickup_code = ?",
            (tx.site_id, day.isoformat(), code),
        )
        if taken is None:
            return code
    raise Conflict("no free pickup code left for this day")


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
            code = _free_pickup_code(tx, to_day)
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


# --- reading ---------------------------------------------------------------

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
