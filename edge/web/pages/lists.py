"""The day's lists: packing (per household, by building) and home delivery for volunteers.

Both print cleanly (print.css hides the buttons). Phones on the delivery
list stay masked unless the reader's role may see them; a volunteer sees the
whole number (to ring the resident) on the delivery day itself. At the door the
volunteer collects the one amount the list shows and taps "delivered": the same
hand-over as the desk (pickup.complete), refused if the price moved meanwhile.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar, orders, packing, pickup, products
from edge.domain.supply import receiving
from edge.errors import BadRequest, EdgeError
from edge.web.forms import Whole, decode_form
from edge.web.pages.base import AnyRequest, MeDep, form_error, page, today
from edge.web.pages.desk import price_changed_error
from edge.web.shared import StoreDep

MAX_SHOWN_FEN = 10_000_000


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
                "unit": order["unit"],
                "room": order["room"],
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
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    day: FromQuery[str | None] = None,
    done: FromQuery[str | None] = None,
) -> Template:
    return await _delivery(request, me, store, calendar.day_or(day, today(request)), done=done)


async def _delivery(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    d: str,
    *,
    done: str | None = None,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    is_today = d == today(request).isoformat()
    sees = me.sees_phones_on(d, today(request).isoformat())
    rows = await store.read(lambda c: packing.delivery_round(c, d, sees_phones=sees))
    catalog = await _units(store)
    finished = None
    if done:
        try:
            finished = await store.read(lambda c: orders.get_order(c, done, sees_phones=False))
        except EdgeError:
            finished = None
    return page(
        request,
        "delivery.html",
        me,
        day=d,
        is_today=is_today,
        sees=sees,
        households=by_household(rows),
        units=catalog,
        count=len(rows),
        done=finished,
        error=error,
        status=status,
    )


class Delivered(msgspec.Struct, kw_only=True):
    """At the door: the amount the list showed, and how it was paid or that it is owed."""

    shown_due: Annotated[int | None, Whole(maximum=MAX_SHOWN_FEN)] = None
    on_credit: bool = False  # "下次付"
    method: str = "cash"


@post("/lists/delivery/{order_id:str}/delivered", include_in_schema=False)
async def delivered(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template | Redirect:
    """At the door: the bag is handed over and the amount the list showed is taken
    (cash or WeChat Pay), or nothing is taken and it is owed ("下次付")."""
    form = await request.form()
    order = await store.read(lambda c: orders.get_order(c, order_id, sees_phones=False))
    d = str(order["pickup_date"])
    try:
        data = decode_form(form, Delivered)
        shown = data.shown_due
        if shown is None:
            raise BadRequest("shown_due is required: the amount the list showed", "shown_due")
        on_credit, method = data.on_credit, data.method
        await store.write(
            lambda tx: pickup.complete(
                tx,
                order_id,
                method=method,
                amount_fen=0 if on_credit else shown,
                weighings=[],
                delivered=True,
                on_credit=on_credit,
                staff_id=me.id,
                shown_fen=shown,
            )
        )
    except pickup.PriceChanged as exc:
        error = price_changed_error(request, exc.total_fen, exc.shown_fen)
        return await _delivery(request, me, store, d, error=error, status=409)
    except EdgeError as exc:
        if exc.status_code not in (400, 409):
            raise
        return await _delivery(
            request, me, store, d, error=form_error(request, exc), status=exc.status_code
        )
    return Redirect(path=f"/lists/delivery?day={d}&done={order_id}", status_code=303)


HANDLERS: list[Any] = [packing_page, delivery_page, delivered]
