"""The manager's pages: today's prices and specials, what is on sale, the delivery calendar.

Prices are typed in 元 and stored in fen by the domain; a special runs
between two dates inclusive. Only a manager may open these pages.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain import calendar, orders, products
from edge.domain.calendar import WEEKDAY_NAMES_ZH
from edge.errors import BadRequest, EdgeError
from edge.store import Tx
from edge.web.forms import Parse, Text, Whole, decode_form
from edge.web.pages.base import N_, AnyRequest, MeDep, form_error, need_manager, page, today
from edge.web.pages.formats import parse_yuan
from edge.web.shared import StoreDep

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SOLD_BY = {"weight": N_("By weight (per jin)"), "piece": N_("By piece"), "bundle": N_("By bundle")}


async def _catalog_page(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    *,
    error: dict[str, str] | None = None,
    error_id: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    found = await store.read(lambda c: products.list_products(c, active_only=False))
    return page(
        request,
        "catalog.html",
        me,
        products=found,
        day=today(request),
        sold_by=SOLD_BY,
        error=error,
        error_id=error_id,
        values=values or {},
        status=status,
    )


@get("/catalog", include_in_schema=False)
async def catalog_page(request: AnyRequest, me: MeDep, store: StoreDep) -> Template:
    need_manager(me)
    return await _catalog_page(request, me, store)


Yuan = Annotated[int, Parse(parse_yuan)]


class Prices(msgspec.Struct, kw_only=True):
    """A product's price and its special (a price between a first and a last day)."""

    price: Yuan
    special_price: Annotated[int | None, Parse(parse_yuan)] = None
    special_from: str | None = None
    special_to: str | None = None
    active: bool = False


class NewProduct(msgspec.Struct, kw_only=True):
    name: str = ""
    category: str = ""
    sold_by: str = ""
    unit: str | None = None
    price: Yuan
    bundle_size: Annotated[int, Whole(minimum=1, maximum=100)] = 1


class Week(msgspec.Struct, kw_only=True):
    """The delivery weekdays (0 = Monday; one box each), the order cutoff, pick-up hours."""

    weekday: Annotated[list[int], Whole(maximum=6, field="weekdays")] = []
    cutoff: str = ""
    pickup_hours: Annotated[str, Text(limit=40)] = ""


class CalendarDay(msgspec.Struct, kw_only=True):
    """A closed or extra delivery day; a closed day may move its waiting orders on."""

    day: str = ""
    kind: str = ""
    note: Annotated[str, Text(limit=100)] = ""
    move_open: bool = False


def _price_fields(form: Prices) -> dict[str, Any]:
    fields: dict[str, Any] = {"price_fen": form.price}
    if form.special_price is not None:
        fields["special_price_fen"] = form.special_price
        fields["special_from"] = form.special_from
        fields["special_to"] = form.special_to
        if not fields["special_from"] or not fields["special_to"]:
            raise BadRequest("a special needs a first and a last day", field="special_from")
    else:
        fields.update(special_price_fen=None, special_from=None, special_to=None)
    return fields


@post("/catalog/{product_id:str}", include_in_schema=False)
async def update_product(
    request: AnyRequest, me: MeDep, store: StoreDep, product_id: FromPath[str]
) -> Template | Redirect:
    need_manager(me)
    form = await request.form()
    try:
        data = decode_form(form, Prices)
        fields = _price_fields(data)
        fields["active"] = data.active
        await store.write(lambda tx: products.update_product(tx, product_id, fields))
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        return await _catalog_page(
            request,
            me,
            store,
            error=form_error(request, exc),
            error_id=product_id,
            status=400,
            values={k: str(v) for k, v in form.items()},
        )
    return Redirect(path=f"/catalog?saved={product_id}#p-{product_id}", status_code=303)


@post("/catalog", include_in_schema=False)
async def add_product(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    need_manager(me)
    form = await request.form()
    try:
        new = decode_form(form, NewProduct)
        fields: dict[str, Any] = {
            "name": new.name,
            "category": new.category,
            "sold_by": new.sold_by,
            "unit": new.unit,
            "price_fen": new.price,
            "bundle_size": new.bundle_size,
        }
        product_id = await store.write(lambda tx: products.create_product(tx, fields))
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        return await _catalog_page(
            request,
            me,
            store,
            error=form_error(request, exc),
            error_id="new",
            status=400,
            values={k: str(v) for k, v in form.items()},
        )
    return Redirect(path=f"/catalog?saved={product_id}#p-{product_id}", status_code=303)


# --- delivery calendar -----------------------------------------------------


async def _calendar_page(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    *,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    cal = await store.read(lambda c: calendar.load(c, store.site_id))
    now = request.app.state.settings.now()
    try:
        next_day = cal.next_delivery_day(now).isoformat()
    except EdgeError:
        next_day = None
    return page(
        request,
        "calendar.html",
        me,
        cal=cal,
        cutoff=cal.cutoff.strftime("%H:%M"),
        weekdays=list(zip(WEEKDAY_NAMES_ZH, WEEKDAYS_EN, strict=True)),
        closed=sorted(d.isoformat() for d in cal.closed),
        extra=sorted(d.isoformat() for d in cal.extra),
        next_day=next_day,
        error=error,
        status=status,
    )


@get("/calendar", include_in_schema=False)
async def calendar_page(request: AnyRequest, me: MeDep, store: StoreDep) -> Template:
    need_manager(me)
    return await _calendar_page(request, me, store)


@post("/calendar", include_in_schema=False)
async def save_calendar(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    need_manager(me)
    form = await request.form()
    try:
        week = decode_form(form, Week)
        days, cutoff, hours = week.weekday, week.cutoff, week.pickup_hours
        await store.write(lambda tx: calendar.save(tx, days, cutoff, hours))
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        return await _calendar_page(request, me, store, error=form_error(request, exc), status=400)
    return Redirect(path="/calendar?saved=1", status_code=303)


@post("/calendar/exceptions", include_in_schema=False)
async def add_exception(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    need_manager(me)
    form = await request.form()
    try:
        typed = decode_form(form, CalendarDay)
        day = calendar.parse_day(typed.day, "day")
        kind, note = typed.kind, typed.note
        move = kind == "closed" and typed.move_open

        def write(tx: Tx) -> None:
            if move:  # the waiting orders go to the next delivery day after the closed one
                after = calendar.load(tx.conn, tx.site_id).first_delivery_day_after(day)
                orders.move_open_orders(tx, day, after)
            calendar.add_exception(tx, day, kind, note)

        await store.write(write)
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        return await _calendar_page(request, me, store, error=form_error(request, exc), status=400)
    return Redirect(path="/calendar?saved=1", status_code=303)


HANDLERS: list[Any] = [
    catalog_page,
    update_product,
    add_product,
    calendar_page,
    save_calendar,
    add_exception,
]
