"""A family's grocery order for their elder, as the centre applies it (the hub's
`family_order` command, `hub.care_orders`).

It goes through the centre's own order rules (`edge.domain.orders.create_order`): the
catalog, the item limits, the cut-off of the day the family saw (a day that passed
its cut-off while the centre was offline is refused, never moved: the family chose
that day), and one open order per household and day, as the WeChat desk holds it
(`edge.domain.wechat.drafts.open_orders`). The order's `idempotency_key` is the
command's id, so the hub finds the order that answers the request. A refusal says
why in Chinese first: the family reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from edge.domain import orders
from edge.domain.wechat.drafts import open_orders
from edge.errors import BadRequest, Conflict, EdgeError, NotFound
from edge.store import Tx

# The Chinese the family reads for the order rules' refusals, by the field at fault.
REFUSED_ZH = {
    "pickup_date": "已过截单时间或不是送货日",
    "items": "商品有误",
    "household": "老人没有登记住户",
}


def place_order(tx: Tx, args: dict[str, Any], now: datetime) -> str:
    recipient_id = str(args.get("recipient_id") or "")
    elder = tx.one(
        "SELECT household_id FROM care_recipients WHERE id = ? AND site_id = ? AND active = 1",
        (recipient_id, tx.site_id),
    )
    if elder is None:
        raise NotFound("服务站没有这位老人 / no such elder at this centre", field="recipient_id")
    if not elder["household_id"]:
        raise BadRequest(f"{REFUSED_ZH['household']} / the elder has no household", "household")
    day = str(args.get("pickup_date") or "")
    held = open_orders(tx.conn, tx.site_id, elder["household_id"], day)
    if held:
        codes = ", ".join(o["pickup_code"] for o in held)
        raise Conflict(
            f"这户 {day} 已有订单（取货码 {codes}）/ the household already has an order"
            " for that day",
            field="items",
        )
    items = [
        orders.ItemInput(
            str(i.get("product_id") or ""), i.get("quantity"), i.get("unit") or None, None
        )
        for i in args.get("items") or []
    ]
    data = orders.OrderInput(
        items=items,
        household_id=elder["household_id"],
        channel="family",
        pickup_date=day,
        notes=str(args.get("notes") or ""),
        placed_by=str(args.get("placed_by") or "")[:80],
        idempotency_key=str(args.get("request_id") or "") or None,
    )
    try:
        made = orders.create_order(tx, data, now)
    except EdgeError as exc:
        field = str(exc.field or "").split("[")[0].split(".")[0]
        zh = REFUSED_ZH.get(field, "服务站未能下单")
        raise type(exc)(f"{zh} / {exc.detail}", field=exc.field) from None
    return f"order {made.order_id} {made.pickup_date} {made.pickup_code}"


def handler(now: Callable[[], datetime]) -> Callable[[Tx, dict[str, Any]], str]:
    """The `family_order` command handler, with the centre's clock for cut-offs."""

    def apply(tx: Tx, args: dict[str, Any]) -> str:
        return place_order(tx, args, now())

    return apply
