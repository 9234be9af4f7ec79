"""Order pages: the day's list with search, the new-order form, one order, pack, cancel.

The new-order form carries an Idempotency-Key made when the form is drawn,
so a double tap (or a resend after a dropped answer) makes one order. A form
that fails validation is drawn again with the message and nothing written.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any

import msgspec
import segno
from litestar import get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from markupsafe import Markup

from edge.domain import calendar, corrections, households, orders, pickup, products
from edge.domain.auth import Staff
from edge.errors import BadRequest, EdgeError
from edge.store import Store
from edge.store.ids import new_id
from edge.web.forms import Parse, Prefixed, Text, Whole, decode_form, read_form
from edge.web.pages.base import N_, AnyRequest, MeDep, form_error, is_htmx, need_staff, page, today
from edge.web.pages.formats import parse_quantity, parse_yuan
from edge.web.shared import StoreDep, local_path

CHANNELS = OrderedDict(
    [
        ("wechat", N_("WeChat group")),
        ("tablet", N_("Tablet")),
        ("hotline", N_("Phone / 12349 hotline")),
        ("family", N_("Family member")),
        ("walkin", N_("At the centre")),
    ]
)
# How a typed order came in (a WeChat order is confirmed from the chat page; a walk-in is a sale).
FORM_CHANNELS = ("tablet", "hotline", "family", "wechat")
STATUS_LABELS = {
    "placed": N_("Placed"),
    "packed": N_("Packed"),
    "picked_up": N_("Picked up"),
    "delivered": N_("Delivered"),
    "cancelled": N_("Cancelled"),
    "no_show": N_("No-show"),
}


def qr_svg(code: FromPath[str]) -> Markup:
    """The pickup code as an inline SVG QR, drawn on the box (no network)."""
    svg = segno.make(code, micro=False).svg_inline(scale=6, border=2)
    return Markup(svg)  # segno's own output: no user text in it but the digit code


def product_map(rows: list[products.Product]) -> dict[str, products.Product]:
    return {p.id: p for p in rows}


def biggest_first(
    groups: OrderedDict[str, list[dict[str, Any]]],
) -> OrderedDict[str, list[dict[str, Any]]]:
    """Categories with the most products first: vegetables lead, rice and oil trail."""
    return OrderedDict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


# --- the day's list --------------------------------------------------------


@get("/orders", include_in_schema=False)
async def order_list(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    day: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> Template:
    d = calendar.day_or(day, today(request))
    status = status if status in orders.STATUSES else None
    term = (q or "").strip()[:40]
    found = await store.read(
        lambda c: orders.list_orders(c, d, sees_phones=me.sees_phones, status=status, q=term)
    )
    template = "_order_rows.html" if is_htmx(request) else "orders.html"
    return page(
        request,
        template,
        me,
        day=d,
        q=term,
        status_filter=status,
        orders=found,
        statuses=STATUS_LABELS,
    )


# --- new order -------------------------------------------------------------


async def _form_context(request: AnyRequest, store: StoreDep, me: Staff) -> dict[str, Any]:
    now = request.app.state.settings.now()
    channel = await store.read(lambda c: orders.last_channel(c, me.id, FORM_CHANNELS))
    cal = await store.read(lambda c: calendar.load(c, store.site_id))
    try:
        day = cal.next_delivery_day(now)
    except BadRequest:
        day = None
    missed = cal.first_delivery_day_after(now.date())
    catalog = await store.read(lambda c: products.list_products(c))
    groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for p in catalog:
        groups.setdefault(p.category or "", []).append(
            {
                "p": p,
                "price_fen": p.price_on(day) if day else p.price_fen,
                "special": day is not None and p.price_on(day) != p.price_fen,
            }
        )
    groups = biggest_first(groups)
    return {
        "day": day.isoformat() if day else None,
        "late": day is not None and day > missed,
        "missed": missed.isoformat(),
        "cutoff": cal.cutoff.strftime("%H:%M"),
        "groups": groups,
        "channels": {code: CHANNELS[code] for code in FORM_CHANNELS},
        "default_channel": channel,
    }


@get("/orders/new", include_in_schema=False)
async def new_order_form(
    request: AnyRequest, me: MeDep, store: StoreDep, household_id: FromQuery[str | None] = None
) -> Template:
    chosen = None
    if household_id:
        chosen = await store.read(lambda c: households.get_household(c, household_id))
        chosen = households.public_view(chosen, sees_phones=me.sees_phones)
    ctx = await _form_context(request, store, me)
    return page(
        request, "order_new.html", me, key=new_id(), values={}, chosen=chosen, error=None, **ctx
    )


@get("/households/search", include_in_schema=False)
async def household_search(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    q: FromQuery[str | None] = None,
    hq: FromQuery[str | None] = None,
) -> Template:
    term = (q or hq or "").strip()[:40]  # hq: the search box inside the order form
    found = await store.read(
        lambda c: households.search_households(c, term, sees_phones=me.sees_phones, limit=8)
    )
    return page(
        request,
        "_household_results.html",
        me,
        q=term,
        found=[households.public_view(h, sees_phones=me.sees_phones) for h in found],
    )


Cut = Text(strip=True)


class NewOrder(msgspec.Struct, kw_only=True):
    """The new-order form: a quantity and a unit per product (`qty_<id>`, `unit_<id>`),
    a household chosen or typed (`hh_*`), how it came in, and the second-order decision
    (`add_to` an open order last seen as `seen_<id>`, or a `separate` one after `ack`)."""

    quantities: Annotated[list[tuple[str, str]], Prefixed("qty_")] = []
    units: Annotated[dict[str, str], Prefixed("unit_")] = {}
    household_id: Annotated[str | None, Cut] = None
    hh_name: str = ""
    hh_phone: str = ""
    hh_building: str = ""
    hh_unit: str = ""
    hh_room: str = ""
    hh_wechat_nickname: str = ""
    hh_home_delivery: bool = False
    delivery_mode: str | None = None
    channel: str = "tablet"
    notes: Annotated[str, Text(limit=600)] = ""
    placed_by: Annotated[str, Text(limit=100)] = ""
    idempotency_key: str | None = None
    add_to: Annotated[str, Cut] = ""
    seen: Annotated[dict[str, str], Prefixed("seen_")] = {}
    ack: str = ""
    separate: bool = False


class Settle(msgspec.Struct, kw_only=True):
    """What the resident pays now against what the page showed as owed."""

    amount: Annotated[int, Parse(parse_yuan)]
    owed_fen: Annotated[int, Whole(maximum=10_000_000)] = 0
    method: str = "cash"


class Packed(msgspec.Struct):
    back: str = ""


def _items(
    form: NewOrder, catalog: dict[str, products.Product]
) -> tuple[list[orders.ItemInput], list[str]]:
    """Quantities typed next to each product → order items (and their names by index)."""
    items: list[orders.ItemInput] = []
    names: list[str] = []
    for key, value in form.quantities:
        product_id = key[4:]
        product = catalog.get(product_id)
        if product is None:
            raise BadRequest(f"no product {product_id!r}", field="items.product_id")
        try:
            quantity = parse_quantity(value)
        except BadRequest as exc:
            raise BadRequest(f"{product.name}: {exc.detail}", field="items.quantity") from None
        if quantity is None:
            continue
        unit = form.units.get(product_id) or None
        items.append(orders.ItemInput(product_id, quantity, unit))
        names.append(product.name)
    return items, names


def _order_input(form: NewOrder, items: list[orders.ItemInput]) -> orders.OrderInput:
    household = None
    if form.household_id is None and form.hh_name.strip():
        household = households.HouseholdInput(
            name=form.hh_name,
            phone=form.hh_phone,
            building=form.hh_building,
            unit=form.hh_unit,
            room=form.hh_room,
            wechat_nickname=form.hh_wechat_nickname,
            home_delivery=form.hh_home_delivery,
        )
    return orders.OrderInput(
        items=items,
        household_id=form.household_id,
        household=household,
        channel=form.channel,
        delivery_mode=form.delivery_mode,
        notes=form.notes,
        placed_by=form.placed_by,
        idempotency_key=form.idempotency_key,
    )


def _ids(text: str) -> list[str]:
    return [part for part in (p.strip() for p in text.split(",")) if part][:20]


@post("/orders/new", include_in_schema=False)
async def create_order(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    form = await request.form()
    catalog = product_map(await store.read(lambda c: products.list_products(c)))
    now = request.app.state.settings.now()
    names: list[str] = []
    typed = decode_form(form, NewOrder)
    add_to = typed.add_to
    # The household's open orders for that day that the form showed: a second order
    # for the same day is a decision (as in the WeChat flow), asked once.
    shown = _ids(typed.ack)
    separate = typed.separate
    found: list[dict[str, Any]] = []
    error: dict[str, str] | None = None
    status = 409
    try:
        items, names = _items(typed, catalog)
        if add_to:
            seen = typed.seen.get(add_to) or None
            created = await store.write(lambda tx: orders.add_items(tx, add_to, items, seen=seen))
            return Redirect(path=f"/orders/{created.order_id}?added=1", status_code=303)
        data = _order_input(typed, items)
        acknowledged = shown if separate else []
        created = await store.write(
            lambda tx: orders.create_order(tx, data, now, staff_id=me.id, acknowledged=acknowledged)
        )
    except orders.OpenOrderExists as exc:
        found = exc.orders
    except EdgeError as exc:
        if exc.status_code not in (400, 409):
            raise
        error = form_error(request, exc)
        status = exc.status_code
    else:
        suffix = "?new=1" + ("&late=1" if created.notice else "")
        return Redirect(path=f"/orders/{created.order_id}{suffix}", status_code=303)
    if error is not None:
        for i, name in enumerate(names):  # "items[2]: …" → "黄瓜: …"
            error["detail"] = error["detail"].replace(f"items[{i}]", name)
    values = {
        k: str(v)
        for k, v in form.items()
        if k not in ("add_to", "separate") and not k.startswith("seen_")
    }
    chosen = None
    if values.get("household_id"):
        try:
            row = await store.read(lambda c: households.get_household(c, values["household_id"]))
            chosen = households.public_view(row, sees_phones=me.sees_phones)
        except EdgeError:
            chosen = None
    ctx = await _form_context(request, store, me)
    # Same key again: nothing was stored under it, and a second tap stays one order.
    key = values.get("idempotency_key") or new_id()
    return page(
        request,
        "order_new.html",
        me,
        key=key,
        values=values,
        chosen=chosen,
        error=error,
        open_found=found,
        ack=",".join(o["id"] for o in found),
        status=status,
        **ctx,
    )


# --- one order -------------------------------------------------------------


async def load_order(
    store: StoreDep, me: MeDep, order_id: FromPath[str]
) -> tuple[dict[str, Any], dict[str, products.Product]]:
    order = await store.read(lambda c: orders.get_order(c, order_id, sees_phones=me.sees_phones))
    catalog = product_map(await store.read(lambda c: products.list_products(c, active_only=False)))
    order["address"] = households.address(order) if order["household_name"] else ""
    return order, catalog


PAYMENT_LABELS = {"cash": N_("Cash"), "wechat": N_("WeChat Pay"), "other": N_("Other")}


@get("/orders/{order_id:str}", include_in_schema=False)
async def order_detail(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    order_id: FromPath[str],
    new: FromQuery[str | None] = None,
    late: FromQuery[str | None] = None,
    added: FromQuery[str | None] = None,
) -> Template:
    return await _detail(
        request, me, store, order_id, new=bool(new), late=bool(late), added=bool(added)
    )


async def _detail(
    request: AnyRequest,
    me: Staff,
    store: Store,
    order_id: str,
    *,
    new: bool = False,
    late: bool = False,
    added: bool = False,
    error: Any = None,
    status: int = 200,
) -> Template:
    order, catalog = await load_order(store, me, order_id)
    undone = await store.read(lambda c: corrections.for_order(c, order_id))
    return page(
        request,
        "order_detail.html",
        me,
        order=order,
        corrections=undone,
        methods=PAYMENT_LABELS,
        units=catalog,
        qr=qr_svg(order["pickup_code"]),
        new=new,
        late=late,
        added=added,
        today=today(request).isoformat(),
        statuses=STATUS_LABELS,
        channels=CHANNELS,
        error=error,
        status=status,
    )


@post("/orders/{order_id:str}/settle", include_in_schema=False)
async def settle_owed(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template | Redirect:
    """The resident comes back and pays what the hand-over left owing."""
    form = await request.form()
    try:
        settle = decode_form(form, Settle)
        amount, shown, method = settle.amount, settle.owed_fen, settle.method
        await store.write(
            lambda tx: pickup.settle(
                tx, order_id, method=method, amount_fen=amount, owed_fen=shown, staff_id=me.id
            )
        )
    except EdgeError as exc:
        if exc.status_code not in (400, 409):
            raise
        error = form_error(request, exc)
        return await _detail(request, me, store, order_id, error=error, status=exc.status_code)
    return Redirect(path=f"/orders/{order_id}", status_code=303)


@post("/orders/{order_id:str}/packed", include_in_schema=False)
async def mark_packed(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Redirect:
    await store.write(lambda tx: orders.set_status(tx, order_id, orders.OrderStatus.PACKED))
    back = (await read_form(request, Packed)).back
    if back.startswith("/lists/packing"):
        # Back to the same bag, not the top of a long list (htmx swaps just the bag).
        return Redirect(
            path=f"{local_path(back, '/lists/packing')}#order-{order_id}", status_code=303
        )
    return Redirect(path=f"/orders/{order_id}", status_code=303)


@get("/orders/{order_id:str}/cancel", include_in_schema=False)
async def cancel_confirm(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template:
    need_staff(me)
    order, catalog = await load_order(store, me, order_id)
    return page(request, "order_cancel.html", me, order=order, units=catalog)


@post("/orders/{order_id:str}/cancel", include_in_schema=False)
async def cancel_order(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Redirect:
    need_staff(me)
    await store.write(lambda tx: orders.cancel(tx, order_id))
    return Redirect(path=f"/orders/{order_id}", status_code=303)


HANDLERS: list[Any] = [
    order_list,
    new_order_form,
    household_search,
    create_order,
    order_detail,
    settle_owed,
    mark_packed,
    cancel_confirm,
    cancel_order,
]
