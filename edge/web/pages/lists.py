"""The day's lists: packing (per household, by building) and home delivery for volunteers.

Both print cleanly (print.css hides the buttons). Phones on the delivery
list stay masked unless the reader's role may see them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from litestar import get
from litestar.params import FromQuery
from litestar.response import Template

from edge.domain import calendar, packing, products
from edge.domain.supply import receiving
from edge.web.pages.base import AnyRequest, MeDep, page, today
from edge.web.shared import StoreDep


def by_household(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders of one household side by side, keeping the building order of the list."""
    groups: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
    for order in rows:
        key = (order["name"] or "", order["address"], order["phone"] or "")
        group = groups.setdefault(
            key,
            {
                "name": order["name"],
                "address": order["address"],
                "phone": order["phone"],
                "building": order["building"],
                "orders": [],
            },
        )
        group["orders"].append(order)
    return list(groups.values())


async def _units(store: StoreDep) -> dict[str, products.Product]:
    """Products by id and by name: list lines carry the name, totals the id."""
    found = await store.read(lambda c: products.list_products(c, active_only=False))
    return {p.name: p for p in found} | {p.id: p for p in found}


@get("/lists/packing", include_in_schema=False)
async def packing_page(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    d = calendar.day_or(day, today(request))
    rows = await store.read(lambda c: packing.packing_list(c, d, sees_phones=me.sees_phones))
    totals = await store.read(lambda c: packing.product_totals(c, d))
    short = await store.read(lambda c: receiving.shortages_for_day(c, d))
    catalog = await _units(store)
    return page(
        request,
        "packing.html",
        me,
        day=d,
        short={s["order_id"]: "、".join(i["text"] for i in s["items"]) for s in short},
        households=by_household(rows),
        totals=totals,
        units=catalog,
        count=len(rows),
    )


@get("/lists/delivery", include_in_schema=False)
async def delivery_page(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    d = calendar.day_or(day, today(request))
    rows = await store.read(
        lambda c: packing.packing_list(c, d, sees_phones=me.sees_phones, home_only=True)
    )
    catalog = await _units(store)
    return page(
        request,
        "delivery.html",
        me,
        day=d,
        households=by_household(rows),
        units=catalog,
        count=len(rows),
    )


HANDLERS: list[Any] = [packing_page, delivery_page]
