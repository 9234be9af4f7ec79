"""The manager's pages: today's prices and specials, what is on sale, the delivery calendar.

Prices are typed in 元 and stored in fen by the domain; a special runs
between two dates inclusive. Only a manager may open these pages.
"""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain import calendar, orders, products
from edge.domain.calendar import WEEKDAY_NAMES_ZH
from edge.errors import BadRequest, EdgeError
from edge.store import Tx
from edge.web.forms import form_int, form_ints
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


def _price_fields(form: FormMultiDict) -> dict[str, Any]:
    fields: dict[str, Any] = {"price_fen": parse_yuan(str(form.get("price", "")), "price")}
    special = str(form.get("special_price", "") or "").strip()
    if special:
        fields["special_price_fen"] = parse_yuan(special, "special_price")
        fields["special_from"] = str(form.get("special_from", "") or "") or None
        fields["special_to"] = str(form.get("special_to", "") or "") or None
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
        fields = _price_fields(form)
        fields["active"] = form.get("active") == "1"
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
        fields: dict[str, Any] = {
            "name": str(form.get("name", "") or ""),
            "category": str(form.get("category", "") or ""),
            "sold_by": str(form.get("sold_by", "") or ""),
            "unit": str(form.get("unit", "") or "") or None,
            "price_fen": parse_yuan(str(form.get("price", "")), "price"),
            "bundle_size": form_int(form, "bundle_size", minimum=1, maximum=100) or 1,
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
        days = form_ints(form, "weekday", maximum=6, field="weekdays")
        cutoff = str(form.get("cutoff", "") or "")
        hours = str(form.get("pickup_hours", "") or "")[:40]
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
        day = calendar.parse_day(str(form.get("day", "") or ""), "day")
        kind = str(form.get("kind", "") or "")
        note = str(form.get("note", "") or "")[:100]
        move = kind == "closed" and form.get("move_open") == "1"

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
