"""The centres as the hub sees them: sync health, calendars, and the commands sent.

`/hub/sync` shows per centre whether it is online (and what is unknown
while it is not), its clock in words, its calendar as last received with a
form that starts from it, and the commands sent to it. `/hub/commands` is
the list of every command sent; both refresh the commands still pending
every few seconds (htmx polls `/hub/commands/part`) until the centre has
answered.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect

from edge.errors import BadRequest
from edge.web.forms import Whole, read_form
from edge.web.pages.i18n import gettext_for
from hub import commands, operations
from hub.health import clock_advice, sync_health
from hub.pages import hub_of, hub_zone, page_operator, render, to_login, today_iso

AnyRequest = Request[Any, Any, Any]
POLL_S = 3


def _read_commands(
    conn: sqlite3.Connection, now: datetime, tz: Any, *, site: str = "", ids: tuple[str, ...] = ()
) -> dict[str, Any]:
    cmds = commands.list_commands(conn, site=site, ids=ids)
    health = {h["site_id"]: h for h in sync_health(conn, now, tz)}
    return {"commands": cmds, "health": health}


def command_view(request: AnyRequest, cmds: list[dict[str, Any]], health: dict[str, Any]) -> None:
    """Adds to each command what the page says about it, in the page's language."""
    _ = gettext_for(request)
    for c in cmds:
        c["what"] = commands.describe(c, _)
        c["reason"] = commands.explain(c["detail"] or "", _) if c["outcome"] == "refused" else ""
        c["centre"] = health.get(c["target_site"])


def part_query(*, site: str = "", ids: tuple[str, ...] = ()) -> str:
    return urlencode([("site", site)] if site else [("id", i) for i in ids])


@get("/hub/sync", include_in_schema=False)
async def health_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    now, tz, today = datetime.now(UTC), hub_zone(request), today_iso(request)

    def read(c: sqlite3.Connection) -> dict[str, Any]:
        health = sync_health(c, now, tz)
        return {
            "centres": health,
            "calendars": commands.calendars(c, [h["site_id"] for h in health], today),
            "commands": commands.list_commands(c),
        }

    data = await hub_of(request).store.read(read)
    _ = gettext_for(request)
    health = {h["site_id"]: h for h in data["centres"]}
    command_view(request, data["commands"], health)
    for c in data["centres"]:
        c["clock_advice"] = clock_advice(c, _)
        c["commands"] = [m for m in data["commands"] if m["target_site"] == c["site_id"]][:5]
        c["part"] = part_query(site=c["site_id"])
    return render(
        request,
        "sync.html",
        op,
        centres=data["centres"],
        calendars=data["calendars"],
        weekdays=commands.WEEKDAYS,
        sent=str(request.query_params.get("sent") or "")[:40],
        poll_s=POLL_S,
    )


@get("/hub/commands", include_in_schema=False)
async def commands_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    now, tz = datetime.now(UTC), hub_zone(request)
    data = await hub_of(request).store.read(lambda c: _read_commands(c, now, tz))
    command_view(request, data["commands"], data["health"])
    return render(request, "commands.html", op, commands=data["commands"], part="", poll_s=POLL_S)


@get("/hub/commands/part", include_in_schema=False)
async def commands_part(request: AnyRequest) -> Response[Any]:
    """The commands list alone, for htmx to swap in while some are pending."""
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    site = str(request.query_params.get("site") or "")[:64]
    ids = tuple(str(i)[:40] for i in request.query_params.getall("id", []))[:20]
    now, tz = datetime.now(UTC), hub_zone(request)
    data = await hub_of(request).store.read(
        lambda c: _read_commands(c, now, tz, site=site, ids=ids)
    )
    command_view(request, data["commands"], data["health"])
    return render(
        request,
        "_commands.html",
        op,
        commands=data["commands"],
        part=part_query(site=site, ids=ids),
        poll_s=POLL_S,
    )


def _sent(site_id: str, command_id: str) -> Redirect:
    return Redirect(path=f"/hub/sync?sent={command_id}#centre-{site_id}")


class Week(msgspec.Struct, kw_only=True):
    """A centre's delivery weekdays (0 = Monday), order cutoff and pick-up hours."""

    weekday: Annotated[list[int], Whole(maximum=6, field="weekdays")] = []
    cutoff: str = "20:00"
    pickup_hours: str = "07:00-11:00"


class CalendarDay(msgspec.Struct, kw_only=True):
    """A closed day (its orders moved to `move_orders_to`, if given) or an extra one."""

    day: str = ""
    kind: str = ""  # checked by the command: "closed" or "extra"
    note: str | None = None
    move_orders_to: str | None = None


@post("/hub/centres/{site_id:str}/calendar", include_in_schema=False)
async def calendar_submit(request: AnyRequest) -> Response[Any]:
    site_id = str(request.path_params["site_id"])
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    form = await read_form(request, Week)
    weekdays = form.weekday
    if not weekdays:  # the centre would refuse the command; say so now
        raise BadRequest("choose at least one delivery weekday", field="weekdays")
    args = {"weekdays": weekdays, "cutoff": form.cutoff, "pickup_hours": form.pickup_hours}
    command_id = await hub_of(request).store.write(
        lambda tx: operations.send_command(tx, site_id, "set_calendar", args, op.name)
    )
    return _sent(site_id, command_id)


@post("/hub/centres/{site_id:str}/calendar/exceptions", include_in_schema=False)
async def exception_submit(request: AnyRequest) -> Response[Any]:
    """Close a day (moving its orders, if a day is given) or add an extra delivery day."""
    site_id = str(request.path_params["site_id"])
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    form = await read_form(request, CalendarDay)
    args: dict[str, Any] = {"day": form.day, "kind": form.kind}
    if form.note is not None:
        args["note"] = form.note
    if form.move_orders_to is not None:
        args["move_orders_to"] = form.move_orders_to
    try:
        command_id = await hub_of(request).store.write(
            lambda tx: operations.send_command(tx, site_id, "add_calendar_exception", args, op.name)
        )
    except BadRequest as exc:  # "args.day" → "day": the form's own field names
        raise BadRequest(exc.detail, field=(exc.field or "").removeprefix("args.")) from None
    return _sent(site_id, command_id)


HANDLERS = [health_page, commands_page, commands_part, calendar_submit, exception_submit]
