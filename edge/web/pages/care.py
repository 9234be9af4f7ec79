"""Care pages on the tablet (/care): new requests to confirm, decline or assign; booking a
walk-in or a phone call; today's roster (printable); starting and finishing a visit;
the day-care check-in grid, one tap a person, with the kitchen's lunch count.

Forms post and come back to the page they came from (303); a refusal (a clash, a
visit already started) is shown on the page with what to do, never a bare error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import msgspec
from litestar import Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar
from edge.domain.care import bookings, catalog, daycare, providers, recipients, roster
from edge.domain.care.bookings import STATUS_ZH, BookingInput
from edge.domain.care.common import Actor
from edge.errors import EdgeError
from edge.web.forms import Whole, decode_form, read_form
from edge.web.pages.base import (
    N_,
    AnyRequest,
    MeDep,
    SignInRequired,
    form_error,
    page,
    require_staff,
    to_signin,
    today,
)
from edge.web.pages.care_activities import ACTIVITY_HANDLERS
from edge.web.pages.care_slip import SLIP_HANDLERS
from edge.web.pages.care_statement import STATEMENT_HANDLERS
from edge.web.pages.i18n import gettext_for
from edge.web.shared import StoreDep, local_path

STATUS_LABELS = {
    "requested": N_("Requested"),
    "confirmed": N_("Confirmed"),
    "declined": N_("Declined"),
    "assigned": N_("Assigned"),
    "started": N_("In progress"),
    "done": N_("Done"),
    "not_at_home": N_("Not at home"),
    "cancelled": N_("Cancelled"),
}
KIND_LABELS = {"at_centre": N_("At the centre"), "at_home": N_("At home"), "escort": N_("Escort")}
assert set(STATUS_LABELS) == set(STATUS_ZH)


def actor(me: Any) -> Actor:
    return Actor(me.name, me.id, me.role)


def _day(request: AnyRequest, value: str | None) -> str:
    try:
        return calendar.day_or(value, today(request))
    except EdgeError:
        return today(request).isoformat()


def _back(request: AnyRequest, default: str) -> str:
    return local_path(request.headers.get("referer"), default)


async def _requests_page(
    request: AnyRequest,
    me: Any,
    store: Any,
    *,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    who = actor(me)
    data = await store.read(
        lambda c: {
            "requests": roster.requests(c, who),
            "people": providers.list_providers(c),
            "services": catalog.list_services(c),
            "elders": recipients.list_recipients(c, sees_notes=False),
        }
    )
    return page(
        request,
        "care/requests.html",
        me,
        status=status,
        error=error,
        labels=STATUS_LABELS,
        kinds=KIND_LABELS,
        day=today(request).isoformat(),
        **data,
    )


@get("/")
async def requests_page(request: AnyRequest, me: MeDep, store: StoreDep) -> Template:
    return await _requests_page(request, me, store)


async def _act(request: AnyRequest, me: Any, store: Any, fn: Any, back: str) -> Template | Redirect:
    """Run one write; on a refusal show the requests page with the reason (a clash
    is a 409 the manager may override by ticking "book anyway")."""
    try:
        await store.write(fn)
    except EdgeError as exc:
        if exc.status_code >= 500:
            raise
        return await _requests_page(
            request, me, store, error=form_error(request, exc), status=exc.status_code
        )
    return Redirect(path=back, status_code=303)


class Booking(msgspec.Struct, kw_only=True):
    """A visit booked at the tablet (or for a caller on the phone)."""

    recipient_id: str = ""
    service_id: str = ""
    day: str = ""
    start: str = ""
    channel: str = "tablet"
    note: str = ""
    caller: str = ""
    callback_phone: str = ""
    allow_clash: bool = False


class Step(msgspec.Struct, kw_only=True):
    """A booking moved on: confirmed, declined, assigned, cancelled, started or done."""

    allow_clash: bool = False
    reason: str = ""
    note: str = ""
    provider_id: str = ""


class Finished(msgspec.Struct):
    """How long a visit took, read only when it is marked done."""

    minutes: Annotated[int | None, Whole(maximum=720)] = None


class Day(msgspec.Struct):
    day: str = ""
    count: bool = False  # a walk-in lunch added ("1") or taken back


@post("/bookings")
async def book(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    form = await read_form(request, Booking)
    data = BookingInput(
        recipient_id=form.recipient_id,
        service_id=form.service_id,
        day=form.day,
        start=form.start,
        channel=form.channel,
        note=form.note,
        caller=form.caller,
        callback_phone=form.callback_phone,
        requested_by=me.name,
    )
    allow, who = form.allow_clash, actor(me)
    if data.channel in bookings.HUB_CHANNELS:  # families and the hotline book on the hub
        data = replace(data, channel="tablet")
    return await _act(
        request,
        me,
        store,
        lambda tx: bookings.create_booking(tx, data, who, allow_clash=allow),
        f"/care/roster?day={data.day}",
    )


@post("/bookings/{booking_id:str}/{action:str}")
async def move(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    booking_id: FromPath[str],
    action: FromPath[str],
) -> Template | Redirect:
    form = await request.form()
    step = decode_form(form, Step)
    who, allow = actor(me), step.allow_clash
    reason, note = step.reason, step.note
    fns: dict[str, Any] = {
        "confirm": lambda tx: bookings.confirm(tx, booking_id, who, allow_clash=allow),
        "decline": lambda tx: bookings.decline(tx, booking_id, who, reason),
        "assign": lambda tx: bookings.assign(
            tx, booking_id, step.provider_id, who, allow_clash=allow
        ),
        "cancel": lambda tx: bookings.cancel(tx, booking_id, who, reason),
        "start": lambda tx: bookings.start(tx, booking_id, who),
        "done": lambda tx: bookings.finish(
            tx,
            booking_id,
            who,
            minutes=decode_form(form, Finished).minutes,
            note=note,
        ),
        "not_at_home": lambda tx: bookings.finish(
            tx, booking_id, who, outcome="not_at_home", note=note
        ),
    }
    fn = fns.get(action)
    if fn is None:
        return Redirect(path="/care", status_code=303)
    return await _act(request, me, store, fn, _back(request, "/care"))


@get("/roster")
async def roster_page(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    on, who = _day(request, day), actor(me)
    data = await store.read(lambda c: roster.roster(c, on, who))
    _ = gettext_for(request)  # once a page, not once a row: most of a long roster's time
    labels = {status: _(label) for status, label in STATUS_LABELS.items()}
    return page(request, "care/roster.html", me, labels=labels, kinds=KIND_LABELS, **data)


@get("/visits/{booking_id:str}")
async def visit_page(
    request: AnyRequest, me: MeDep, store: StoreDep, booking_id: FromPath[str]
) -> Template:
    who = actor(me)
    visit = await store.read(lambda c: bookings.get_booking(c, booking_id, who))
    return page(
        request,
        "care/visit.html",
        me,
        v=visit,
        labels=STATUS_LABELS,
        kinds=KIND_LABELS,
        when=bookings.local_hhmm,
    )


@get("/daycare")
async def daycare_page(
    request: AnyRequest, me: MeDep, store: StoreDep, day: FromQuery[str | None] = None
) -> Template:
    on = _day(request, day)
    grid, lunch = await store.read(lambda c: (daycare.grid(c, on), daycare.lunch_count(c, on)))
    return page(request, "care/daycare.html", me, day=on, grid=grid, lunch=lunch)


@post("/daycare/{recipient_id:str}/tap")
async def daycare_tap(
    request: AnyRequest, me: MeDep, store: StoreDep, recipient_id: FromPath[str]
) -> Redirect:
    form = await read_form(request, Day)
    on, who = _day(request, form.day), actor(me)
    await store.write(lambda tx: daycare.tap(tx, recipient_id, on, who))
    return Redirect(path=f"/care/daycare?day={on}#p-{recipient_id}", status_code=303)


@post("/daycare/lunch")
async def daycare_lunch(request: AnyRequest, me: MeDep, store: StoreDep) -> Redirect:
    form = await read_form(request, Day)
    on, who = _day(request, form.day), actor(me)
    n = 1 if form.count else -1
    await store.write(lambda tx: daycare.add_walkin_lunch(tx, on, n, who))
    return Redirect(path=f"/care/daycare?day={on}", status_code=303)


CARE_PAGE_HANDLERS: list[Any] = [
    Router(
        path="/care",
        route_handlers=[
            requests_page,
            book,
            move,
            roster_page,
            visit_page,
            daycare_page,
            daycare_tap,
            daycare_lunch,
            *STATEMENT_HANDLERS,
            *SLIP_HANDLERS,
            *ACTIVITY_HANDLERS,
        ],
        dependencies={"me": Provide(require_staff)},
        exception_handlers={SignInRequired: to_signin},
        include_in_schema=False,
    )
]
