"""The Today page: the day's orders at a glance, takings, and close of day."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar, dashboard, orders
from edge.errors import BadRequest
from edge.web.forms import read_form
from edge.web.pages.base import AnyRequest, MeDep, form_error, need_manager, page, today
from edge.web.shared import StoreDep


@get("/", include_in_schema=False)
async def today_page(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    d = calendar.day_or(day, today(request))
    summary = await store.read(lambda c: dashboard.today(c, d))
    cal = await store.read(lambda c: calendar.load(c, store.site_id))
    now = request.app.state.settings.now()
    try:
        next_day = cal.next_delivery_day(now).isoformat()
    except BadRequest:
        next_day = None
    return page(
        request,
        "today.html",
        me,
        summary=summary,
        next_day=next_day,
        cutoff=cal.cutoff.strftime("%H:%M"),
        pickup_hours=cal.pickup_hours,
        is_delivery_day=cal.is_delivery_day(calendar.parse_day(d)),
    )


@get("/close-day", include_in_schema=False)
async def close_day_form(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    need_manager(me)
    d = calendar.day_or(day, today(request))
    waiting = await store.read(
        lambda c: [
            o
            for o in orders.list_orders(c, d, sees_phones=me.sees_phones)
            if o["status"] in orders.OPEN and o["delivery_mode"] == "pickup"
        ]
    )
    return page(request, "close_day.html", me, day=d, waiting=waiting, error=None)


class CloseDay(msgspec.Struct):
    day: str = ""


@post("/close-day", include_in_schema=False)
async def close_day(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    need_manager(me)
    form = await read_form(request, CloseDay)
    try:
        d = calendar.iso_day(form.day, "day")
        count = await store.write(lambda tx: orders.mark_no_shows(tx, d, today(request)))
    except BadRequest as exc:
        return page(
            request,
            "close_day.html",
            me,
            day=form.day[:20],
            waiting=[],
            error=form_error(request, exc),
            status=400,
        )
    return Redirect(path=f"/?day={d}&no_show={count}", status_code=303)


HANDLERS: list[Any] = [today_page, close_day_form, close_day]
