"""The pickup desk: find the order, weigh, see the final price, take payment, hand over.

Weights are typed in 斤 as the scale shows them; the final price is
recomputed by the domain from grams at the price the order was taken at,
and the change from the estimate is shown before any money is taken. Items
of which nothing arrived show as such and are not weighed. "Pay later"
hands over on credit: what was given is recorded and the rest shows as
still owed.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar, orders, pickup
from edge.domain.supply import receiving
from edge.errors import EdgeError
from edge.web.forms import form_int
from edge.web.pages.base import N_, AnyRequest, MeDep, form_error, is_htmx, page, today
from edge.web.pages.formats import parse_jin, parse_yuan, yuan
from edge.web.pages.i18n import gettext_for
from edge.web.pages.orders import STATUS_LABELS, load_order, qr_svg
from edge.web.shared import StoreDep

# The price the desk showed, echoed back in a hidden field: only compared, never stored.
MAX_SHOWN_FEN = 10**12
HANDED_OVER = ("picked_up", "delivered")
METHODS = {"cash": N_("Cash"), "wechat": N_("WeChat Pay"), "other": N_("Other")}


@get("/desk", include_in_schema=False)
async def desk_search(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    q: FromQuery[str | None] = None,
    day: FromQuery[str | None] = None,
) -> Template:
    d = calendar.parse_day(day, "day").isoformat() if day else today(request).isoformat()
    term = (q or "").strip()[:40]
    found = (
        await store.read(lambda c: orders.list_orders(c, d, sees_phones=me.sees_phones, q=term))
        if term
        else []
    )
    template = "_desk_results.html" if is_htmx(request) else "desk.html"
    return page(request, template, me, q=term, day=d, orders=found, statuses=STATUS_LABELS)


def _weighings(form: FormMultiDict, order: dict[str, Any]) -> list[pickup.Weighing]:
    out = []
    for item in order["items"]:
        text = str(form.get(f"w_{item['id']}", "") or "").strip()
        if text and item["sold_by"] == "weight":
            out.append(pickup.Weighing(item["id"], parse_jin(text, "grams")))
    return out


def _totals(
    order: dict[str, Any], due_now: int, none_arrived: set[str], unweighed: list[str]
) -> dict[str, Any]:
    estimated = order["estimated_fen"] or 0
    is_open = order["status"] not in orders.TERMINAL
    if is_open or order["final_fen"] is None:
        due = due_now  # live: a recount at receiving may have changed it since
    else:
        due = order["final_fen"]
    return {
        "estimated": estimated,
        "due": due,
        "change": due - estimated,
        "unweighed": unweighed,
        "none_arrived": none_arrived,
        "weighable": any(
            i["sold_by"] == "weight" and i["id"] not in none_arrived for i in order["items"]
        ),
        "owed": max(0, due - (order["paid_fen"] or 0)) if order["status"] in HANDED_OVER else 0,
    }


def _read_totals(
    conn: sqlite3.Connection, order: dict[str, Any]
) -> tuple[int, set[str], list[str]]:
    nothing = {i["id"] for i in pickup.none_arrived(conn, order["id"])}
    return pickup.amount_due(conn, order["id"]), nothing, pickup.unweighed(conn, order["id"])


async def _desk_page(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    order_id: FromPath[str],
    *,
    error: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    order, catalog = await load_order(store, me, order_id)
    short = await store.read(lambda c: receiving.shortages_for_order(c, order_id))
    due_now, nothing, unweighed = await store.read(lambda c: _read_totals(c, order))
    template = "_desk_panel.html" if is_htmx(request) else "desk_order.html"
    return page(
        request,
        template,
        me,
        order=order,
        units=catalog,
        totals=_totals(order, due_now, nothing, unweighed),
        qr=qr_svg(order["pickup_code"]),
        short="、".join(i["text"] for i in short),
        methods=METHODS,
        statuses=STATUS_LABELS,
        error=error,
        values=values or {},
        status=status,
    )


@get("/desk/{order_id:str}", include_in_schema=False)
async def desk_order(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template:
    return await _desk_page(request, me, store, order_id)


def _amount_error(hint: str) -> dict[str, str]:
    """The error box under the amount field, in the shape `form_error` gives."""
    return {"field": "amount", "key": "amount", "hint": hint, "detail": ""}


@post("/desk/{order_id:str}/weights", include_in_schema=False)
async def desk_weigh(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template | Redirect:
    form = await request.form()
    order, _catalog = await load_order(store, me, order_id)
    try:
        weighings = _weighings(form, order)
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
    if is_htmx(request):
        return await _desk_page(request, me, store, order_id)
    return Redirect(path=f"/desk/{order_id}", status_code=303)


@post("/desk/{order_id:str}/complete", include_in_schema=False)
async def desk_complete(
    request: AnyRequest, me: MeDep, store: StoreDep, order_id: FromPath[str]
) -> Template:
    form = await request.form()
    order, _catalog = await load_order(store, me, order_id)
    try:
        weighings = _weighings(form, order)
        method = str(form.get("method", "") or "")
        amount = parse_yuan(str(form.get("amount", "") or ""), "amount")
        delivered = form.get("delivered") == "1"
        on_credit = form.get("on_credit") == "1"  # the "Pay later" button
        shown = form_int(form, "shown_due", maximum=MAX_SHOWN_FEN)
        if weighings and shown is not None and amount == shown:
            # Weighed and paid in one tap: if the weights moved the price, the amount
            # typed was for the old price. Keep the weights and ask once more.
            total = await store.write(lambda tx: pickup.record_weights(tx, order_id, weighings))
            if total != shown:
                _ = gettext_for(request)
                return await _desk_page(
                    request,
                    me,
                    store,
                    order_id,
                    error=_amount_error(
                        _("The price changed after weighing. Check the amount and tap again.")
                    ),
                    values={"method": method},
                )
        result = await store.write(
            lambda tx: pickup.complete(
                tx,
                order_id,
                method=method,
                amount_fen=amount,
                weighings=weighings,
                delivered=delivered,
                on_credit=on_credit,
                staff_id=me.id,
            )
        )
    except pickup.Underpaid as exc:
        _ = gettext_for(request)
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
            values={k: str(v) for k, v in form.items() if k != "on_credit"},
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
            values={k: str(v) for k, v in form.items()},
            status=400,
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


HANDLERS: list[Any] = [desk_search, desk_order, desk_weigh, desk_complete]
