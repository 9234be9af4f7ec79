"""The pickup desk: find the order, weigh, see the final price, take payment, hand over.

Weights are typed in 斤 as the scale shows them; as they are typed the desk
asks the domain for the price (`pickup.quote`, nothing written), so the one
total on the screen, the change to give and what "pay later" leaves owed are
all shown before anything is saved. The hand-over records that same total
or refuses, saying the new one. Items of which nothing arrived show as such
and are not weighed. "Pay later" records what was given (0 unless typed).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar, corrections, orders, pickup
from edge.domain.supply import receiving
from edge.errors import BadRequest, EdgeError
from edge.web.forms import Prefixed, Whole, decode_form
from edge.web.pages.base import N_, AnyRequest, MeDep, form_error, is_htmx, page, today
from edge.web.pages.formats import parse_jin, parse_yuan, yuan
from edge.web.pages.i18n import gettext_for
from edge.web.pages.orders import STATUS_LABELS, load_order
from edge.web.shared import StoreDep, local_path

# The price the desk showed, echoed back in a hidden field: only compared, never stored.
MAX_SHOWN_FEN = 10**12
HANDED_OVER = orders.HANDED_OVER
METHODS = {"cash": N_("Cash"), "wechat": N_("WeChat Pay"), "other": N_("Other")}


class Typed(msgspec.Struct, kw_only=True):
    """What is typed on the desk so far (posted, or asked for as the quote): weights in 斤
    per item (`w_<item id>`), the amount handed over, what "pay later" gives. Only text
    here, so a page shown again with what was refused reads it without failing."""

    weights: Annotated[dict[str, str], Prefixed("w_")] = {}
    amount: str = ""
    given: str = ""


class Weights(msgspec.Struct, kw_only=True):
    """The weights saved on their own, and where to go back to."""

    weights: Annotated[dict[str, str], Prefixed("w_")] = {}
    back: str = ""


class Handover(Typed, kw_only=True):
    """The hand-over: `Typed`, how they paid, and the price the screen showed."""

    method: str = ""
    on_credit: bool = False  # the "Pay later" button
    delivered: bool = False
    shown_due: Annotated[int | None, Whole(maximum=MAX_SHOWN_FEN)] = None


@get("/desk", include_in_schema=False)
async def desk_search(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    q: FromQuery[str | None] = None,
    name: FromQuery[str | None] = None,
    day: FromQuery[str | None] = None,
) -> Template:
    """Pickup code or phone tail in the numeric box (`q`); a name in the other."""
    d = calendar.day_or(day, today(request))
    term = ((q or "").strip() or (name or "").strip())[:40]
    found = (
        await store.read(lambda c: orders.list_orders(c, d, sees_phones=me.sees_phones, q=term))
        if term
        else []
    )
    template = "_desk_results.html" if is_htmx(request) else "desk.html"
    return page(
        request,
        template,
        me,
        q=term,
        typed_q=(q or "").strip()[:40],
        typed_name=(name or "").strip()[:40] if not (q or "").strip() else "",
        day=d,
        orders=found,
        statuses=STATUS_LABELS,
    )


def _weighings(form: Typed | Weights, order: dict[str, Any]) -> list[pickup.Weighing]:
    out = []
    for item in order["items"]:
        text = form.weights.get(str(item["id"]), "").strip()
        if text and item["sold_by"] == "weight":
            out.append(pickup.Weighing(item["id"], parse_jin(text, "grams")))
    return out


def _optional_yuan(text: str, field: str) -> int | None:
    text = text.strip()
    return parse_yuan(text, field) if text else None


def _money(order: dict[str, Any], quote: dict[str, Any], form: Typed) -> dict[str, Any]:
    """Every number the desk shows, from one quote: the total, what was handed over,
    the change to give or what is short, and what "pay later" leaves owed."""
    due = int(quote["total_fen"])
    money: dict[str, Any] = {
        "due": due,
        "estimated": int(order["estimated_fen"] or 0),
        "delta": due - int(order["estimated_fen"] or 0),
        "unweighed": quote["unweighed"],
        "line_fen": quote["line_fen"],
        "given": None,
        "change": None,
        "short": None,
        "later_given": 0,
        "later_owed": due,
        "problem": None,
    }
    try:
        given = _optional_yuan(form.amount, "amount")
        later = _optional_yuan(form.given, "given")
    except BadRequest as exc:
        money["problem"] = exc.field
        return money
    if given is not None:
        money["given"] = given
        if given >= due:
            money["change"] = given - due
        else:
            money["short"] = due - given
    money["later_given"] = min(later or 0, due)
    money["later_owed"] = max(0, due - (later or 0))
    return money


def _closed(order: dict[str, Any], none_arrived: set[str]) -> dict[str, Any]:
    """A handed-over (or cancelled) order: its recorded price and what is still owed."""
    due = int(order["final_fen"] if order["final_fen"] is not None else order["estimated_fen"])
    return {
        "due": due,
        "estimated": int(order["estimated_fen"] or 0),
        "delta": due - int(order["estimated_fen"] or 0),
        "owed": max(0, due - int(order["paid_fen"] or 0)) if order["status"] in HANDED_OVER else 0,
        "none_arrived": none_arrived,
    }


async def _desk_page(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    order_id: str,
    *,
    error: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    order, catalog = await load_order(store, me, order_id)
    values = values or {}
    short = await store.read(lambda c: receiving.shortages_for_order(c, order_id))
    nothing = await store.read(lambda c: {i["id"] for i in pickup.none_arrived(c, order_id)})
    is_open = order["status"] not in orders.TERMINAL
    money = None
    if is_open:
        form = decode_form(values, Typed)
        try:
            typed = _weighings(form, order)
        except BadRequest:
            typed = []
        quote = await store.read(lambda c: pickup.quote(c, order_id, typed))
        money = _money(order, quote, form)
    payments = await store.read(lambda c: corrections.live_payments(c, order_id))
    template = "_desk_panel.html" if is_htmx(request) else "desk_order.html"
    return page(
        request,
        template,
        me,
        order=order,
        units=catalog,
        open=is_open,
        money=money,
        totals=_closed(order, nothing),
        none_arrived=nothing,
        weighable=any(i["sold_by"] == "weight" and i["id"] not in nothing for i in order["items"]),
        live_payments=payments,
        short="、".join(i["text"] for i in short),
        methods=METHODS,
        statuses=STATUS_LABELS,
        error=error,
        values=values,
        status=status,
    )


@get("/desk/{order_id:str}", include_in_schema=False)
async def desk_order(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template:
    return await _desk_page(request, me, store, order_id)


@get("/desk/{order_id:str}/quote", include_in_schema=False)
async def desk_quote(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template:
    """The money block for what is typed so far (weights, amount, pay-later amount),
    written nowhere: the desk asks for it as the staff member types."""
    order, _catalog = await load_order(store, me, order_id)
    form = decode_form({k: str(v) for k, v in request.query_params.items()}, Typed)
    try:
        typed = _weighings(form, order)
        quote = await store.read(lambda c: pickup.quote(c, order_id, typed))
    except BadRequest as exc:
        return page(
            request, "_desk_quote.html", me, order=order, money=None, problem=exc, status=400
        )
    return page(request, "_desk_quote.html", me, order=order, money=_money(order, quote, form))


def _amount_error(hint: str) -> dict[str, str]:
    """The error box under the amount field, in the shape `form_error` gives."""
    return {"field": "amount", "key": "amount", "hint": hint, "detail": ""}


def price_changed_error(request: AnyRequest, now_fen: int, shown_fen: int) -> dict[str, str]:
    """The price moved since the screen was drawn: the new one, to check and tap again
    (the desk and the volunteer's list say it alike)."""
    _ = gettext_for(request)
    return _amount_error(
        _(
            "The price is now ¥%(now)s, not the ¥%(shown)s shown. Check the amount and tap again.",
            now=yuan(now_fen),
            shown=yuan(shown_fen),
        )
    )


@post("/desk/{order_id:str}/weights", include_in_schema=False)
async def desk_weigh(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template | Redirect:
    """Stores the weights typed so far (kept for pages opened before the live total)."""
    form = await request.form()
    data = decode_form(form, Weights)
    order, _catalog = await load_order(store, me, order_id)
    try:
        weighings = _weighings(data, order)
        await store.write(lambda tx: pickup.record_weights(tx, order_id, weighings))
    except EdgeError as exc:
        if exc.status_code not in (400, 409):
            raise
        return await _desk_page(
            request,
            me,
            store,
            order_id,
            error=form_error(request, exc),
            values={k: str(v) for k, v in form.items()},
            status=400,
        )
    back = data.back
    if back.startswith("/lists/delivery"):  # weighed for the volunteer's round
        return Redirect(path=local_path(back, "/lists/delivery"), status_code=303)
    if is_htmx(request):
        return await _desk_page(request, me, store, order_id)
    return Redirect(path=f"/desk/{order_id}", status_code=303)


@post("/desk/{order_id:str}/complete", include_in_schema=False)
async def desk_complete(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template:
    """Hand over at the price the desk showed, and nothing else.

    `shown_due` is the total on the screen when the button was tapped; if the
    weights sent give another price, nothing is saved and the page says so with
    the new total (never a silently changed amount). An empty amount is the
    exact price. "Pay later" records `given` (empty: 0), never the amount box.
    """
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    order, _catalog = await load_order(store, me, order_id)
    _ = gettext_for(request)
    try:
        weighings = _weighings(decode_form(form, Typed), order)  # weights refused first
        data = decode_form(form, Handover)
        method, on_credit, delivered = data.method, data.on_credit, data.delivered
        shown = data.shown_due
        amount = _optional_yuan(
            data.given if on_credit else data.amount, "given" if on_credit else "amount"
        )
        if order["status"] not in orders.TERMINAL:
            quote = await store.read(lambda c: pickup.quote(c, order_id, weighings))
            total = int(quote["total_fen"])
            if shown is not None and total != shown:
                return await _desk_page(
                    request,
                    me,
                    store,
                    order_id,
                    error=price_changed_error(request, total, shown),
                    values={k: v for k, v in values.items() if k != "on_credit"},
                    status=409,
                )
            if amount is None:
                amount = 0 if on_credit else total
        paid_in = amount or 0
        result = await store.write(
            lambda tx: pickup.complete(
                tx,
                order_id,
                method=method,
                amount_fen=paid_in,
                weighings=weighings,
                delivered=delivered,
                on_credit=on_credit,
                staff_id=me.id,
                shown_fen=shown,
            )
        )
    except pickup.PriceChanged as exc:  # it moved between the check above and the write
        return await _desk_page(
            request,
            me,
            store,
            order_id,
            error=price_changed_error(request, exc.total_fen, exc.shown_fen),
            values={k: v for k, v in values.items() if k != "on_credit"},
            status=409,
        )
    except pickup.Underpaid as exc:
        return await _desk_page(
            request,
            me,
            store,
            order_id,
            error=_amount_error(
                _(
                    "Less than the price (¥%(due)s). Take the full amount, or tap"
                    " “Pay later” to record ¥%(owed)s as still owed.",
                    due=yuan(exc.total_fen),
                    owed=yuan(exc.total_fen - exc.amount_fen),
                )
            ),
            values={k: v for k, v in values.items() if k != "on_credit"},
            status=400,
        )
    except EdgeError as exc:
        if exc.status_code not in (400, 409):
            raise
        return await _desk_page(
            request,
            me,
            store,
            order_id,
            error=form_error(request, exc),
            values=values,
            status=exc.status_code,
        )
    order, catalog = await load_order(store, me, order_id)
    return page(
        request,
        "desk_done.html",
        me,
        order=order,
        units=catalog,
        result=result,
        methods=METHODS,
        statuses=STATUS_LABELS,
    )


HANDLERS: list[Any] = [desk_search, desk_order, desk_quote, desk_weigh, desk_complete]
