"""A family's grocery order for their elder, from the family page, for the elder's next
delivery day.

The hub holds no centre's orders as its own: an order is a `family_order` command to
the elder's centre, which applies it through the centre's own order rules
(`edge.domain.care.groceries`: catalog, cut-off, item limits, one open order per
household and day) on its next sync. Until then the family sees it waiting, since
when, with the hub's estimate; a refusal comes back as the command's result (past the
cut-off, the household already has an order) and the family reads why; once applied,
the centre's order (`idempotency_key` = the command's id) flows up and the family sees
its status and its one total (weighed if weighed, else the estimate).

The hub checks what it can now (the items, the day against its copy of the centre's
calendar, an order already there), so most mistakes are a 400 on the page, not a
refusal a sync later. Hub-local rows: `care_family_orders` (m114). Portable SQL only.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from typing import Any

from edge.domain import calendar, orders, products
from edge.domain.care.common import text
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from hub.care_commands import ID_MAX, local_time, recipient
from sync.enrol import now_iso

NAME = "family_order"
QUANTITY_MAX = 100_000
STATUS_ZH = {
    "placed": "已下单",
    "packed": "已备好",
    "picked_up": "已取货",
    "delivered": "已送达",
    "cancelled": "已取消",
    "no_show": "未取",
}
OPEN = orders.OPEN_STATUSES  # placed, packed: not handed over, cancelled or missed yet


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 0 < len(value) <= orders.MAX_ITEMS:
        raise BadRequest(f"args.items must list 1 to {orders.MAX_ITEMS} items", field="args.items")
    out = []
    for i, item in enumerate(value):
        where = f"args.items[{i}]"
        if not isinstance(item, dict) or set(item) - {"product_id", "quantity", "unit"}:
            raise BadRequest(f"{where} takes product_id, quantity and unit", field=where)
        pid, qty, unit = item.get("product_id"), item.get("quantity"), item.get("unit")
        if not isinstance(pid, str) or not 0 < len(pid) <= ID_MAX:
            raise BadRequest(f"{where}.product_id must be an id", field=f"{where}.product_id")
        if (
            isinstance(qty, bool)
            or not isinstance(qty, (int, float))
            or not 0 < qty <= QUANTITY_MAX
        ):
            raise BadRequest(f"{where}.quantity must be above 0", field=f"{where}.quantity")
        if unit is not None and (not isinstance(unit, str) or len(unit) > 8):
            raise BadRequest(f"{where}.unit must be a short unit", field=f"{where}.unit")
        out.append({"product_id": pid, "quantity": qty, **({"unit": unit} if unit else {})})
    return out


def check_args(args: dict[str, Any]) -> dict[str, Any]:
    for key in ("request_id", "recipient_id"):
        value = args.get(key)
        if not isinstance(value, str) or not 0 < len(value) <= ID_MAX:
            raise BadRequest(f"args.{key} must be an id", field=f"args.{key}")
    return {
        "request_id": args["request_id"],
        "recipient_id": args["recipient_id"],
        "pickup_date": calendar.iso_day(args.get("pickup_date"), "args.pickup_date"),
        "items": _items(args.get("items")),
        "placed_by": text(args.get("placed_by"), "args.placed_by", 40),
        "notes": text(args.get("notes"), "args.notes", 300),
    }


ARG_CHECKS = {
    NAME: (
        check_args,
        frozenset({"request_id", "recipient_id", "pickup_date", "items", "placed_by", "notes"}),
    )
}


# --- what the family page shows -------------------------------------------------------


def next_day(conn: sqlite3.Connection, centre_id: str, now: datetime) -> date:
    """The elder's next delivery day as the hub's copy of the centre's calendar says."""
    return calendar.load(conn, centre_id).next_delivery_day(now)


def catalog(
    conn: sqlite3.Connection, centre_id: str, hub_site: str, day: date
) -> list[dict[str, Any]]:
    """What the centre's tablet sells: its own products and the district's, on sale."""
    out = []
    for row in conn.execute(
        "SELECT * FROM products WHERE active = 1 AND site_id IN (?, ?)"
        " ORDER BY category, sort, name",
        (centre_id, hub_site),
    ):
        p = products.from_row(row)
        unit = "斤" if p.sold_by == "weight" else ("份" if p.sold_by == "bundle" else p.unit)
        out.append(
            {
                "id": p.id,
                "name": p.name,
                "category": p.category,
                "sold_by": p.sold_by,
                "unit": unit,
                "price_fen": p.price_on(day),
                "step": "0.5" if p.sold_by == "weight" else "1",
            }
        )
    return out


def _priced(tx: Tx, centre_id: str, hub_site: str, items: list[dict[str, Any]], day: date) -> int:
    """The items checked as the centre will check them; their estimate in fen."""
    total = 0
    for i, item in enumerate(items):
        row = tx.one(
            "SELECT * FROM products WHERE id = ? AND active = 1 AND site_id IN (?, ?)",
            (item["product_id"], centre_id, hub_site),
        )
        if row is None:
            raise BadRequest(f"第 {i + 1} 项：服务站不卖这件商品", field=f"items[{i}].product_id")
        product = products.from_row(row)
        try:
            qty_unit, quantity = products.to_base_quantity(
                product, item["quantity"], item.get("unit")
            )
        except BadRequest as exc:
            raise BadRequest(
                f"{product.name}：{exc.detail}", field=f"items[{i}].{exc.field}"
            ) from None
        total += products.estimate_fen(product, qty_unit, quantity, day) or 0
    return total


def place(
    tx: Tx,
    recipient_id: str,
    account: dict[str, Any],
    items: list[dict[str, Any]],
    notes: str,
    now: datetime,
) -> str:
    """Queue the family's order for the elder's next delivery day; answers its id."""
    from hub.operations import send_command

    elder = recipient(tx.conn, recipient_id)
    centre = str(elder["site_id"])
    if not elder["household_id"]:
        raise BadRequest("老人还没有登记住户，请联系服务站 / the elder has no household")
    if not items:
        raise BadRequest("请至少选一样商品 / choose at least one item", field="items")
    day = next_day(tx.conn, centre, now)
    estimate = _priced(tx, centre, tx.site_id, items, day)
    # The household's open order for the day as the hub holds it, or a family order the
    # centre has not answered (or whose order has not come up yet): one a day.
    held = tx.one(
        "SELECT pickup_code FROM orders WHERE site_id = ? AND household_id = ?"
        " AND pickup_date = ? AND status IN (?, ?)",
        (centre, elder["household_id"], day.isoformat(), *OPEN),
    )
    waiting = tx.one(
        "SELECT f.request_id FROM care_family_orders f"
        " LEFT JOIN sync_command_results r ON r.id = f.request_id"
        " LEFT JOIN orders o ON o.site_id = f.centre_id AND o.idempotency_key = f.request_id"
        " WHERE f.recipient_id = ? AND f.pickup_date = ? AND"
        " (r.id IS NULL OR (r.outcome = 'applied' AND o.id IS NULL))",
        (recipient_id, day.isoformat()),
    )
    if held is not None or waiting is not None:
        raise Conflict(
            f"{day.isoformat()} 已有订单，请勿重复下单 / the household already has an order"
            " for that day",
            field="items",
        )
    request_id = new_id()
    args = {
        "request_id": request_id,
        "recipient_id": recipient_id,
        "pickup_date": day.isoformat(),
        "items": items,
        "placed_by": str(account["name"])[:40],
        "notes": notes,
    }
    send_command(tx, centre, NAME, args, f"{account['name']} (家属)"[:80], command_id=request_id)
    tx.execute(
        "INSERT INTO care_family_orders (request_id, recipient_id, centre_id, account_id,"
        " pickup_date, estimated_fen, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (request_id, recipient_id, centre, account["id"], day.isoformat(), estimate, now_iso()),
    )
    return request_id


def cancel(tx: Tx, recipient_id: str, request_id: str, by: str) -> str:
    """The family cancels their order before the centre hands it over: a `cancel_order`
    command the centre applies (refused once the order was picked up or delivered)."""
    from hub.operations import send_command

    row = tx.one(
        "SELECT f.centre_id, f.cancel_id, o.id AS order_id, o.status,"
        " k.outcome AS cancel_outcome FROM care_family_orders f"
        " LEFT JOIN orders o ON o.site_id = f.centre_id AND o.idempotency_key = f.request_id"
        " LEFT JOIN sync_command_results k ON k.id = f.cancel_id"
        " WHERE f.request_id = ? AND f.recipient_id = ?",
        (request_id, recipient_id),
    )
    if row is None:
        raise NotFound("没有这张订单 / no such order for this elder", field="request_id")
    if row["order_id"] is None:
        raise Conflict(
            "服务站还没接收这张订单，接收后才能取消 / the centre has not taken the order yet",
            field="request_id",
        )
    if row["status"] not in OPEN:
        zh = STATUS_ZH.get(row["status"], row["status"])
        raise Conflict(f"订单{zh}，不能取消 / the order is {row['status']}", field="status")
    if row["cancel_id"] and row["cancel_outcome"] is None:
        raise Conflict("取消已在等待服务站 / a cancel already waits for the centre")
    command = send_command(
        tx, row["centre_id"], "cancel_order", {"order_id": row["order_id"]}, by[:80]
    )
    tx.execute(
        "UPDATE care_family_orders SET cancel_id = ? WHERE request_id = ?", (command, request_id)
    )
    return command


def orders_for(conn: sqlite3.Connection, recipient_id: str) -> list[dict[str, Any]]:
    """The elder's family orders, newest first: waiting (since when), refused (why), or
    the centre's order with its status and one total."""
    rows = conn.execute(
        "SELECT f.request_id, f.pickup_date, f.estimated_fen, f.created_at, m.args,"
        " r.outcome, r.detail, o.id AS order_id, o.status, o.pickup_code,"
        " o.estimated_fen AS order_estimate, o.final_fen, o.pickup_date AS order_day,"
        " f.cancel_id, k.outcome AS cancel_outcome, k.detail AS cancel_detail"
        " FROM care_family_orders f JOIN sync_commands m ON m.id = f.request_id"
        " LEFT JOIN sync_command_results r ON r.id = f.request_id"
        " LEFT JOIN sync_command_results k ON k.id = f.cancel_id"
        " LEFT JOIN orders o ON o.site_id = f.centre_id AND o.idempotency_key = f.request_id"
        " WHERE f.recipient_id = ? ORDER BY f.created_at DESC, f.request_id LIMIT 50",
        (recipient_id,),
    ).fetchall()
    out = []
    for row in rows:
        item: dict[str, Any] = {
            "request_id": row["request_id"],
            "pickup_date": row["order_day"] or row["pickup_date"],
            "since": local_time(row["created_at"]),
        }
        if row["order_id"] is not None:
            weighed = row["final_fen"] is not None
            lines = conn.execute(
                "SELECT product_name, qty_unit, quantity FROM order_items"
                " WHERE order_id = ? ORDER BY line",
                (row["order_id"],),
            ).fetchall()
            cancel = None
            if row["cancel_id"] and row["status"] != "cancelled":
                cancel = "waiting" if row["cancel_outcome"] is None else row["cancel_outcome"]
            item.update(
                state="order",
                cancel=cancel,
                cancel_detail=row["cancel_detail"] or "",
                may_cancel=row["status"] in OPEN and cancel in (None, "refused"),
                status=row["status"],
                status_zh=STATUS_ZH.get(row["status"], row["status"]),
                pickup_code=row["pickup_code"],
                total_fen=row["final_fen"] if weighed else row["order_estimate"],
                weighed=weighed,
                lines=[_line_text(r["product_name"], r["qty_unit"], r["quantity"]) for r in lines],
            )
        else:
            args = json.loads(row["args"])
            names = dict(
                conn.execute(
                    "SELECT id, name FROM products WHERE id IN ("
                    + ",".join("?" * len(args["items"]))
                    + ")",
                    [i["product_id"] for i in args["items"]],
                ).fetchall()
            )
            item.update(
                cancel=None,
                may_cancel=False,
                state="waiting" if row["outcome"] is None else row["outcome"],
                detail=row["detail"] or "",
                total_fen=row["estimated_fen"],
                weighed=False,
                lines=[
                    f"{names.get(i['product_id'], '?')} {i['quantity']:g}{i.get('unit') or ''}"
                    for i in args["items"]
                ],
            )
        out.append(item)
    return out


def _line_text(name: str, qty_unit: str, quantity: int) -> str:
    if qty_unit == "g":
        return f"{name} {quantity / products.GRAMS_PER_JIN:g}斤"
    return f"{name} {quantity}{'份' if qty_unit == 'bundle' else '个'}"
