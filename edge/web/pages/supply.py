"""The supply pages on the centre tablet: the order sheet, receiving, returns, reconciliation.

Same sign-in, session, CSRF, layout and language as the other tablet pages
(`edge.web.pages.base`): templates and the errors below write English msgids,
translated from edge/locale. Weights are typed in 斤 and kept in grams.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar
from edge.domain.supply import (
    consolidated,
    consolidated_formats,
    receiving,
    reconciliation,
    returns,
)
from edge.domain.supply.lines import MAX_COUNT
from edge.errors import BadRequest, EdgeError, Forbidden
from edge.settings import Settings
from edge.web.api.supply import csv_response
from edge.web.forms import Prefixed, Whole, decode_form, key_parts, parse_int
from edge.web.pages.base import (
    N_,
    AnyRequest,
    MeDep,
    SignInRequired,
    form_error,
    page,
    require_staff,
    to_signin,
)
from edge.web.pages.formats import jin, parse_jin, yuan
from edge.web.pages.i18n import gettext_for
from edge.web.shared import StoreDep

MAX_VERSION = 1_000_000  # re-locks of one day's order; a handful ever happen

# What to do about a refused form, beyond the shared per-field hints.
SUPPLY_HINTS = {
    "arrived": N_("Enter what arrived: jin for weights, whole numbers for pieces."),
}
STATUS_HINTS = {
    403: N_("Only the station manager may do this."),
    404: N_("Please reload the form and try again."),
    409: N_("Please reload the form and try again."),
}


def _now(request: AnyRequest) -> Any:
    settings: Settings = request.app.state.settings
    return settings.now()


async def _order_day(request: AnyRequest, store: Any, value: str | None) -> str:
    """The delivery day the order sheet is about: the next one after today by default."""
    if value:
        return calendar.iso_day(value, "day")
    today: date = _now(request).date()
    cal = await store.read(lambda c: calendar.load(c, store.site_id))
    return str(cal.first_delivery_day_after(today).isoformat())


# How far back receiving, returns and reconciliation look for the last delivery.
LOOK_BACK_DAYS = 14
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


async def _delivery_day(request: AnyRequest, store: Any, value: str | None) -> str:
    """The delivery receiving, returns and reconciliation are about: the one asked
    for, else today's when today is a delivery day, else the last one before."""
    if value:
        return calendar.iso_day(value, "day")
    today: date = _now(request).date()
    cal = await store.read(lambda c: calendar.load(c, store.site_id))
    for back in range(LOOK_BACK_DAYS + 1):
        day = today - timedelta(days=back)
        if cal.is_delivery_day(day):
            return day.isoformat()
    return today.isoformat()


def _day_head(request: AnyRequest, d: str) -> dict[str, str]:
    """What the big day line at the top of every co-op page says: the date, its
    weekday, and whether it is today, tomorrow or yesterday."""
    day = calendar.parse_day(d, "day")
    offset = (day - _now(request).date()).days
    relative = {0: N_("today"), 1: N_("tomorrow"), -1: N_("yesterday")}.get(offset, "")
    return {"date": d, "weekday": WEEKDAYS[day.weekday()], "relative": relative}


def _error(request: AnyRequest, exc: EdgeError) -> dict[str, str]:
    """The error box: a hint in the tablet's language, the domain's own detail under it."""
    _ = gettext_for(request)
    error = form_error(request, exc)
    hint = STATUS_HINTS.get(exc.status_code) or SUPPLY_HINTS.get(error["key"])
    if hint:
        error["hint"] = _(hint)
    return error


def _quantity(qty_unit: str, text: str, field: str) -> int | None:
    """A typed quantity in the co-op unit: 斤 for grams, whole numbers otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    if qty_unit == "g":
        if text in ("0", "0.0"):
            return 0
        return parse_jin(text, field)
    return parse_int(text, field, maximum=MAX_COUNT)


def _shown(qty_unit: str, quantity: int | None) -> str:
    if quantity is None:
        return ""
    return jin(quantity) if qty_unit == "g" else str(quantity)


# --- the order sheet: text to send by hand, buffers, sent-by-hand ------------------------


@get("/order")
async def order_sheet(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    """The order to the co-op: lines, the text to send by hand, buffers, "sent by hand"."""
    return await _order_sheet(request, me, store, await _order_day(request, store, day))


async def _order_sheet(
    request: AnyRequest,
    me: Any,
    store: Any,
    d: str,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    doc = await consolidated.read_locking(store, d, _now(request))
    text = consolidated_formats.as_text(doc, getattr(request.app.state, "centre_name", "邻里"))
    products = await store.read(
        lambda c: [
            dict(r)
            for r in c.execute(
                "SELECT id, name, sold_by, unit FROM products WHERE active = 1"
                " ORDER BY category, sort, name"
            )
        ]
    )
    return page(
        request,
        "supply/order.html",
        me,
        day=d,
        day_head=_day_head(request, d),
        order_sheet=True,
        doc=doc,
        text=text,
        products=products,
        error=error,
        status=status,
        shown=_shown,
    )


class SupplyDay(msgspec.Struct):
    day: str = ""


class Buffer(msgspec.Struct, kw_only=True):
    """Extra to order of one product, in its co-op unit (斤, or a count)."""

    product_id: str = ""
    quantity: str = "0"


class SentByHand(msgspec.Struct):
    version: Annotated[int | None, Whole(minimum=1, maximum=MAX_VERSION)] = None


class Arrived(msgspec.Struct):
    """What arrived, one input per line (`arrived:<product>:<unit>`)."""

    lines: Annotated[list[tuple[str, str]], Prefixed("arrived:")] = []


class Leftovers(msgspec.Struct):
    """What goes back on the van, one input per line (`left:<product>:<unit>`), and a note."""

    lines: Annotated[list[tuple[str, str]], Prefixed("left:")] = []
    note: str = ""


@post("/order/buffer")
async def order_buffer(request: AnyRequest, me: MeDep, store: StoreDep) -> Response[Any]:
    form = await request.form()
    d = await _order_day(request, store, decode_form(form, SupplyDay).day)
    try:
        if not me.is_manager:
            raise Forbidden("only the station manager sets the buffer")
        buffer = decode_form(form, Buffer)
        product_id = buffer.product_id
        row = await store.read(
            lambda c: c.execute(
                "SELECT sold_by FROM products WHERE id = ?", (product_id,)
            ).fetchone()
        )
        if row is None:
            raise BadRequest("choose a product", field="product_id")
        unit = {"weight": "g", "piece": "piece", "bundle": "bundle"}[row["sold_by"]]
        qty = _quantity(unit, buffer.quantity, "quantity") or 0
        now = _now(request)
        await store.write(lambda tx: consolidated.set_buffer(tx, d, product_id, qty, now=now))
    except EdgeError as exc:
        if exc.status_code not in (400, 403):
            raise
        return await _order_sheet(
            request, me, store, d, error=_error(request, exc), status=exc.status_code
        )
    return Redirect(path=f"/supply/order?day={d}", status_code=303)


@post("/order/sent-by-hand")
async def order_sent(request: AnyRequest, me: MeDep, store: StoreDep) -> Response[Any]:
    form = await request.form()
    d = await _order_day(request, store, decode_form(form, SupplyDay).day)
    now = _now(request)
    try:
        version = decode_form(form, SentByHand).version
        await store.write(lambda tx: consolidated.mark_sent_by_hand(tx, d, version, me.name, now))
    except EdgeError as exc:
        if exc.status_code not in (400, 404, 409):
            raise
        return await _order_sheet(
            request, me, store, d, error=_error(request, exc), status=exc.status_code
        )
    return Redirect(path=f"/supply/order?day={d}", status_code=303)


# --- receiving at 06:00 --------------------------------------------------------------------


@get("/receiving")
async def receiving_page(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    day: FromQuery[str | None] = None,
    saved: FromQuery[bool] = False,
) -> Template:
    """06:00: expected against arrived, per line; shortages once entered."""
    d = await _delivery_day(request, store, day)
    return await _receiving(request, me, store, d, saved=saved)


async def _receiving(
    request: AnyRequest,
    me: Any,
    store: Any,
    d: str,
    *,
    error: dict[str, str] | None = None,
    status: int = 200,
    saved: bool = False,
) -> Template:
    view = await store.read(lambda c: receiving.receiving_view(c, store.site_id, d))
    return page(
        request,
        "supply/receiving.html",
        me,
        day=d,
        day_head=_day_head(request, d),
        view=view,
        error=error,
        status=status,
        saved=saved,
        shown=_shown,
    )


@post("/receiving")
async def receiving_save(request: AnyRequest, me: MeDep, store: StoreDep) -> Response[Any]:
    form = await request.form()
    d = calendar.day_or(decode_form(form, SupplyDay).day, _now(request).date())
    try:
        arrivals = []
        for key, value in decode_form(form, Arrived).lines:
            _, product_id, qty_unit = key_parts(key, 3)
            qty = _quantity(qty_unit, value, "arrived")
            if qty is not None:
                arrivals.append(receiving.Arrival(product_id, qty_unit, qty))
        await store.write(lambda tx: receiving.record_arrivals(tx, d, arrivals, me.id))
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        return await _receiving(request, me, store, d, error=_error(request, exc), status=400)
    return Redirect(path=f"/supply/receiving?day={d}&saved=true", status_code=303)


# --- returns at noon -----------------------------------------------------------------------


@get("/returns")
async def returns_page(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    day: FromQuery[str | None] = None,
    saved: FromQuery[bool] = False,
) -> Template:
    """Noon: what is left per line goes back on the van (counts suggested)."""
    d = await _delivery_day(request, store, day)
    return await _returns(request, me, store, d, saved=saved)


async def _returns(
    request: AnyRequest,
    me: Any,
    store: Any,
    d: str,
    *,
    error: dict[str, str] | None = None,
    status: int = 200,
    saved: bool = False,
) -> Template:
    def read(c: Any) -> dict[str, Any]:
        note = returns.return_note(c, store.site_id, d)
        suggested = returns.leftovers_expected(c, store.site_id, d)
        recorded = {
            (x["product_id"], x["qty_unit"]): x["quantity"] for x in (note or {}).get("lines", [])
        }
        rows = []
        for line in receiving.receiving_view(c, store.site_id, d)["lines"]:
            key = (line["product_id"], line["qty_unit"])
            value = recorded.get(key) if note else suggested.get(key)
            rows.append(
                {
                    **line,
                    "value": _shown(key[1], value),
                    "suggested": _shown(key[1], suggested.get(key)),
                }
            )
        return {"note": note, "rows": rows}

    found = await store.read(read)
    return page(
        request,
        "supply/returns.html",
        me,
        day=d,
        day_head=_day_head(request, d),
        error=error,
        status=status,
        saved=saved,
        **found,
    )


@post("/returns")
async def returns_save(request: AnyRequest, me: MeDep, store: StoreDep) -> Response[Any]:
    form = await request.form()
    d = calendar.day_or(decode_form(form, SupplyDay).day, _now(request).date())
    try:
        left = decode_form(form, Leftovers)
        lines = []
        for key, value in left.lines:
            _, product_id, qty_unit = key_parts(key, 3)
            qty = _quantity(qty_unit, value, "quantity")
            lines.append(returns.Leftover(product_id, qty_unit, qty or 0))
        note = left.note
        await store.write(lambda tx: returns.record_return(tx, d, lines, me.id, note))
    except EdgeError as exc:
        if exc.status_code not in (400, 409):
            raise
        return await _returns(
            request, me, store, d, error=_error(request, exc), status=exc.status_code
        )
    return Redirect(path=f"/supply/returns?day={d}&saved=true", status_code=303)


# --- reconciliation --------------------------------------------------------------------------


@get("/reconciliation")
async def reconciliation_page(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    d = await _delivery_day(request, store, day)
    doc = await store.read(lambda c: reconciliation.reconcile(c, store.site_id, d))
    return page(
        request,
        "supply/reconciliation.html",
        me,
        day=d,
        day_head=_day_head(request, d),
        doc=doc,
        yuan=yuan,
    )


@get("/reconciliation.csv")
async def reconciliation_csv(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Response[bytes]:
    d = await _delivery_day(request, store, day)
    doc = await store.read(lambda c: reconciliation.reconcile(c, store.site_id, d))
    return csv_response(reconciliation.as_csv([doc]), f"reconciliation-{d}.csv")


SUPPLY_PAGE_HANDLERS: list[Any] = [
    Router(
        path="/supply",
        route_handlers=[
            order_sheet,
            order_buffer,
            order_sent,
            receiving_page,
            receiving_save,
            returns_page,
            returns_save,
            reconciliation_page,
            reconciliation_csv,
        ],
        dependencies={"me": Provide(require_staff)},
        exception_handlers={SignInRequired: to_signin},
        include_in_schema=False,
    )
]
