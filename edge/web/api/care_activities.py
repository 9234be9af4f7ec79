"""Neighbourhood activities under /api/v1/care: the list from a day on, one activity with
who has a place and the waiting list, a sign-up (an elder by id, or a name and phone),
and cancelling one (the freed place goes to the first waiting). The rules are the
domain's (`edge.domain.care.activities`); answers are typed (msgspec structs, in the
OpenAPI document), bad input is a 400 naming the field, an unknown id a 404, a second
sign-up of the same person a 409."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from edge.domain import calendar
from edge.domain.care import activities
from edge.domain.households import mask_phone
from edge.errors import BadRequest
from edge.web.api.care import Id, Short, actor
from edge.web.shared import SettingsDep, StaffDep, StoreDep

SignupStatus = Literal["booked", "waiting"]


class ActivityOut(msgspec.Struct):
    id: str
    title: str
    day: str
    start: str
    minutes: int
    place: str
    capacity: int
    note: str
    booked: int
    waiting: int
    left: int


class PersonOut(msgspec.Struct):
    id: str
    name: str
    phone: str
    status: SignupStatus
    recipient_id: str | None = None
    position: int | None = None  # on the waiting list, from 1
    promoted_at: str | None = None  # when a freed place came to them


class ActivityDetailOut(msgspec.Struct):
    activity: ActivityOut
    booked: list[PersonOut]
    waiting: list[PersonOut]


class SignupBody(msgspec.Struct, forbid_unknown_fields=True):
    """An elder of this centre by id, or anyone by name (and a phone to ring)."""

    recipient_id: Id | None = None
    name: Short = ""
    phone: Annotated[str, msgspec.Meta(max_length=20)] = ""


class SignupOut(msgspec.Struct):
    id: str
    activity_id: str
    status: SignupStatus
    position: int  # on the waiting list, from 1; 0 with a place


class CancelOut(msgspec.Struct):
    id: str
    status: Literal["cancelled"]
    promoted: str | None  # the sign-up that took the freed place


def _activity_out(row: dict[str, Any], booked: int, waiting: int) -> ActivityOut:
    return ActivityOut(
        id=row["id"],
        title=row["title"],
        day=row["day"],
        start=row["start"],
        minutes=row["minutes"],
        place=row["place"],
        capacity=row["capacity"],
        note=row["note"],
        booked=booked,
        waiting=waiting,
        left=max(0, row["capacity"] - booked),
    )


def _person(p: dict[str, Any], sees_phones: bool) -> PersonOut:
    return PersonOut(
        id=p["id"],
        name=p["name"],
        phone=p["phone"] if sees_phones else mask_phone(p["phone"] or ""),
        status=p["status"],
        recipient_id=p["recipient_id"],
        position=p.get("position"),
        promoted_at=p["promoted_at"],
    )


class CareActivityController(Controller):
    path = "/api/v1/care"
    tags = ["care"]

    @get("/activities")
    async def list_activities(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        from_day: FromQuery[str | None] = None,
    ) -> list[ActivityOut]:
        """Activities from `from_day` (YYYY-MM-DD, default today) on, soonest first, with
        how many have a place, how many wait, and the places left."""
        day = (
            calendar.parse_day(from_day, "from_day").isoformat()
            if from_day is not None
            else settings.now().date().isoformat()
        )
        rows = await store.read(lambda c: activities.list_activities(c, day))
        return [_activity_out(r, r["booked"], r["waiting"]) for r in rows]

    @get("/activities/{activity_id:str}")
    async def one(
        self, store: StoreDep, staff: StaffDep, activity_id: FromPath[str]
    ) -> ActivityDetailOut:
        """One activity: who has a place and the waiting list in order (phones masked
        to volunteers)."""
        seen = await store.read(lambda c: activities.view(c, activity_id))
        return ActivityDetailOut(
            activity=_activity_out(seen["activity"], len(seen["booked"]), len(seen["waiting"])),
            booked=[_person(p, staff.sees_phones) for p in seen["booked"]],
            waiting=[_person(p, staff.sees_phones) for p in seen["waiting"]],
        )

    @post("/activities/{activity_id:str}/signups")
    async def sign_up(
        self,
        store: StoreDep,
        staff: StaffDep,
        activity_id: FromPath[str],
        data: JSONBody[SignupBody],
    ) -> Response[SignupOut]:
        """Sign someone up (201): `booked` while places are left, else `waiting` with
        their place in the queue. Send `recipient_id` or `name` (with `phone`), not both."""
        if data.recipient_id and (data.name or data.phone):
            raise BadRequest("send recipient_id, or name and phone, not both", field="name")
        if not data.recipient_id and not data.name.strip():
            raise BadRequest("send recipient_id, or a name", field="name")
        who = actor(staff)
        made = await store.write(
            lambda tx: activities.sign_up(
                tx,
                activity_id,
                who,
                recipient_id=data.recipient_id,
                name=data.name,
                phone=data.phone,
            )
        )
        return Response(
            SignupOut(
                id=made["id"],
                activity_id=activity_id,
                status=made["status"],
                position=made["position"],
            ),
            status_code=201,
        )

    @post("/signups/{signup_id:str}/cancel", status_code=200)
    async def cancel(self, store: StoreDep, staff: StaffDep, signup_id: FromPath[str]) -> CancelOut:
        """Cancel a sign-up; a freed place goes to the first waiting (`promoted`).
        Cancelling twice changes nothing."""
        who = actor(staff)
        promoted = await store.write(lambda tx: activities.cancel(tx, signup_id, who))
        return CancelOut(id=signup_id, status="cancelled", promoted=promoted)


ACTIVITY_CONTROLLERS = [CareActivityController]
