"""Activities on the tablet (/care/activities): staff put one up (a day, a time, a place,
how many it takes); anyone at the desk signs people up, an elder from the list or a
name and phone; the page shows who has a place and the waiting list, in order, and a
cancelled place going to the first waiting (`edge.domain.care.activities`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain.care import activities, recipients
from edge.domain.care.common import Actor
from edge.errors import EdgeError
from edge.web.forms import Whole, decode_form, read_form
from edge.web.pages.base import AnyRequest, MeDep, form_error, need_staff, page, today
from edge.web.shared import StoreDep


def _actor(me: Any) -> Actor:
    return Actor(me.name, me.id, me.role)


async def _list(
    request: AnyRequest, me: Any, store: Any, error: dict[str, str] | None = None, status: int = 200
) -> Template:
    day = today(request).isoformat()
    found = await store.read(lambda c: activities.list_activities(c, day))
    return page(
        request, "care/activities.html", me, activities=found, day=day, error=error, status=status
    )


@get("/activities")
async def activities_page(request: AnyRequest, me: MeDep, store: StoreDep) -> Template:
    return await _list(request, me, store)


class NewActivity(msgspec.Struct, kw_only=True):
    title: str = ""
    day: str = ""
    start: str = ""
    place: str = ""
    note: str = ""
    capacity: Annotated[int, Whole(maximum=500)]
    minutes: Annotated[int, Whole(maximum=720)] = 60


class SignUp(msgspec.Struct, kw_only=True):
    """An elder on the list (`recipient_id`), or someone by name and phone."""

    recipient_id: str | None = None
    name: str = ""
    phone: str = ""


@post("/activities")
async def create(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    need_staff(me)
    form = await request.form()
    who = _actor(me)
    try:
        fields = msgspec.structs.asdict(decode_form(form, NewActivity))
        activity_id = await store.write(lambda tx: activities.create_activity(tx, fields, who))
    except EdgeError as exc:
        if exc.status_code >= 500:
            raise
        return await _list(request, me, store, form_error(request, exc), exc.status_code)
    return Redirect(path=f"/care/activities/{activity_id}", status_code=303)


async def _one(
    request: AnyRequest,
    me: Any,
    store: Any,
    activity_id: str,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    def read(conn: Any) -> dict[str, Any]:
        return {
            **activities.view(conn, activity_id),
            "elders": recipients.list_recipients(conn, sees_notes=False),
        }

    data = await store.read(read)
    return page(request, "care/activity.html", me, error=error, status=status, **data)


@get("/activities/{activity_id:str}")
async def activity_page(
    request: AnyRequest, me: MeDep, store: StoreDep, activity_id: FromPath[str]
) -> Template:
    return await _one(request, me, store, activity_id)


@post("/activities/{activity_id:str}/signups")
async def sign_up(
    request: AnyRequest, me: MeDep, store: StoreDep, activity_id: FromPath[str]
) -> Template | Redirect:
    form = await read_form(request, SignUp)
    who = _actor(me)
    recipient_id, name, phone = form.recipient_id, form.name, form.phone
    try:
        await store.write(
            lambda tx: activities.sign_up(
                tx, activity_id, who, recipient_id=recipient_id, name=name, phone=phone
            )
        )
    except EdgeError as exc:
        if exc.status_code >= 500:
            raise
        return await _one(
            request, me, store, activity_id, form_error(request, exc), exc.status_code
        )
    return Redirect(path=f"/care/activities/{activity_id}", status_code=303)


@post("/activities/{activity_id:str}/signups/{signup_id:str}/cancel")
async def cancel(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    activity_id: FromPath[str],
    signup_id: FromPath[str],
) -> Redirect:
    who = _actor(me)
    await store.write(lambda tx: activities.cancel(tx, signup_id, who))
    return Redirect(path=f"/care/activities/{activity_id}", status_code=303)


ACTIVITY_HANDLERS = [activities_page, create, activity_page, sign_up, cancel]
