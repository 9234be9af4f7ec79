"""Care bookings under /api/v1/care: book (once, or a weekday series), check for clashes
before saving, move a booking forward (confirm, decline, assign, start, finish,
cancel, rate), today's roster and the new requests. Who may do what is the
domain's rule (`edge.domain.care.bookings`); refusals name the field or the clash."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from edge.domain import calendar
from edge.domain.auth import Staff
from edge.domain.care import bookings, recurring, roster
from edge.domain.care.bookings import BookingInput
from edge.domain.care.common import Actor
from edge.errors import BadRequest
from edge.web.api.replies import (
    Clashes,
    ClashReply,
    Rated,
    SeriesPaused,
    SeriesResumed,
    StatusReply,
)
from edge.web.shared import SettingsDep, StaffDep, StoreDep

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Short = Annotated[str, msgspec.Meta(max_length=40)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=720)]


def actor(staff: Staff) -> Actor:
    return Actor(staff.name, staff.id, staff.role)


class BookingBody(msgspec.Struct, forbid_unknown_fields=True):
    recipient_id: Id
    service_id: Id
    day: Annotated[str, msgspec.Meta(max_length=10)]
    start: Annotated[str, msgspec.Meta(max_length=5)]
    channel: Annotated[str, msgspec.Meta(max_length=10)] = "tablet"
    minutes: Minutes | None = None
    note: Note = ""
    caller: Short = ""
    caller_relation: Short = ""
    callback_phone: Short = ""
    allow_clash: bool = False
    # a series: these weekdays (0 = Monday) until this day
    weekdays: Annotated[list[int], msgspec.Meta(max_length=7)] | None = None
    until: Annotated[str, msgspec.Meta(max_length=10)] | None = None

    def to_input(self, staff: Staff) -> BookingInput:
        if self.channel in bookings.HUB_CHANNELS:
            raise BadRequest("family and hotline bookings come through the hub", field="channel")
        return BookingInput(
            recipient_id=self.recipient_id,
            service_id=self.service_id,
            day=self.day,
            start=self.start,
            channel=self.channel,
            minutes=self.minutes,
            note=self.note,
            requested_by=staff.name,
            caller=self.caller,
            caller_relation=self.caller_relation,
            callback_phone=self.callback_phone,
        )


class ClashBody(msgspec.Struct, forbid_unknown_fields=True):
    allow_clash: bool = False


class AssignBody(msgspec.Struct, forbid_unknown_fields=True):
    provider_id: Id
    allow_clash: bool = False


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class FinishBody(msgspec.Struct, forbid_unknown_fields=True):
    outcome: Annotated[str, msgspec.Meta(max_length=12)] = "done"
    minutes: Minutes | None = None
    note: Note = ""


class RateBody(msgspec.Struct, forbid_unknown_fields=True):
    rating: int
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class DayBody(msgspec.Struct, forbid_unknown_fields=True):
    from_day: Annotated[str, msgspec.Meta(max_length=10)]
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CareBookingController(Controller):
    path = "/api/v1/care"
    tags = ["care"]

    @post("/bookings")
    async def create(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[BookingBody]
    ) -> Response[dict[str, Any]]:
        """Book a visit (201). With `weekdays` and `until`, a series: one booking per
        matching day, the centre's closed days skipped (listed in `skipped`). A clash
        answers 409 `clash` naming it; `allow_clash` books a full slot anyway."""
        one, who = data.to_input(staff), actor(staff)
        if data.weekdays is not None or data.until is not None:
            if data.weekdays is None or data.until is None:
                raise BadRequest("a series needs both weekdays and until", field="until")
            made = await store.write(
                lambda tx: recurring.create_series(
                    tx, one, data.weekdays, data.until or "", who, allow_clash=data.allow_clash
                )
            )
            return Response(made, status_code=201)
        booking_id = await store.write(
            lambda tx: bookings.create_booking(tx, one, who, allow_clash=data.allow_clash)
        )
        found = await store.read(lambda c: bookings.get_booking(c, booking_id, who))
        return Response(found, status_code=201)

    @post("/bookings/check", status_code=200)
    async def check(
        self,
        store: StoreDep,
        staff: StaffDep,
        data: JSONBody[BookingBody],
        provider_id: FromQuery[str | None] = None,
    ) -> Clashes:
        """The clashes this booking would meet, saving nothing."""
        one = data.to_input(staff)
        found = await store.read(lambda c: bookings.preview(c, one, provider_id=provider_id))
        return Clashes([ClashReply(c.kind, c.detail, c.booking_id) for c in found])

    @get("/bookings")
    async def list_bookings(
        self,
        store: StoreDep,
        staff: StaffDep,
        day: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        recipient_id: FromQuery[str | None] = None,
    ) -> list[dict[str, Any]]:
        if status is not None and status not in bookings.STATUSES:
            raise BadRequest(
                f"status must be one of {', '.join(bookings.STATUSES)}", field="status"
            )
        on = calendar.iso_day(day, "day") if day else None
        who = actor(staff)
        return await store.read(
            lambda c: bookings.list_bookings(
                c, who, status=status, recipient_id=recipient_id, day=on
            )
        )

    @get("/bookings/{booking_id:str}")
    async def show(
        self, store: StoreDep, staff: StaffDep, booking_id: FromPath[str]
    ) -> dict[str, Any]:
        """A booking with every step (who, when); care notes for the manager and the assignee."""
        who = actor(staff)
        return await store.read(lambda c: bookings.get_booking(c, booking_id, who))

    @get("/bookings/{booking_id:str}/clashes")
    async def clashes(
        self,
        store: StoreDep,
        staff: StaffDep,
        booking_id: FromPath[str],
        provider_id: FromQuery[str],
    ) -> Clashes:
        """What assigning `provider_id` would clash with, before saving."""
        found = await store.read(
            lambda c: bookings.preview(c, booking_id=booking_id, provider_id=provider_id)
        )
        return Clashes([ClashReply(c.kind, c.detail, c.booking_id) for c in found])

    async def _move(self, store: Any, booking_id: str, fn: Any) -> StatusReply:
        status = await store.write(fn)
        return StatusReply(booking_id, status)

    @post("/bookings/{booking_id:str}/confirm", status_code=200)
    async def confirm(
        self, store: StoreDep, staff: StaffDep, booking_id: FromPath[str], data: JSONBody[ClashBody]
    ) -> StatusReply:
        who = actor(staff)
        return await self._move(
            store,
            booking_id,
            lambda tx: bookings.confirm(tx, booking_id, who, allow_clash=data.allow_clash),
        )

    @post("/bookings/{booking_id:str}/decline", status_code=200)
    async def decline(
        self,
        store: StoreDep,
        staff: StaffDep,
        booking_id: FromPath[str],
        data: JSONBody[ReasonBody],
    ) -> StatusReply:
        """Decline a request; the reason is required and the family sees it."""
        who = actor(staff)
        return await self._move(
            store, booking_id, lambda tx: bookings.decline(tx, booking_id, who, data.reason)
        )

    @post("/bookings/{booking_id:str}/assign", status_code=200)
    async def assign(
        self,
        store: StoreDep,
        staff: StaffDep,
        booking_id: FromPath[str],
        data: JSONBody[AssignBody],
    ) -> StatusReply:
        who = actor(staff)
        return await self._move(
            store,
            booking_id,
            lambda tx: bookings.assign(
                tx, booking_id, data.provider_id, who, allow_clash=data.allow_clash
            ),
        )

    @post("/bookings/{booking_id:str}/start", status_code=200)
    async def start(
        self, store: StoreDep, staff: StaffDep, booking_id: FromPath[str]
    ) -> StatusReply:
        who = actor(staff)
        return await self._move(store, booking_id, lambda tx: bookings.start(tx, booking_id, who))

    @post("/bookings/{booking_id:str}/finish", status_code=200)
    async def finish(
        self,
        store: StoreDep,
        staff: StaffDep,
        booking_id: FromPath[str],
        data: JSONBody[FinishBody],
    ) -> StatusReply:
        """Done (with the minutes it took and a note), or `not_at_home`."""
        who = actor(staff)
        return await self._move(
            store,
            booking_id,
            lambda tx: bookings.finish(
                tx, booking_id, who, outcome=data.outcome, minutes=data.minutes, note=data.note
            ),
        )

    @post("/bookings/{booking_id:str}/cancel", status_code=200)
    async def cancel(
        self,
        store: StoreDep,
        staff: StaffDep,
        booking_id: FromPath[str],
        data: JSONBody[ReasonBody],
    ) -> StatusReply:
        """Cancel before the visit starts; after, 409 saying when it started."""
        who = actor(staff)
        return await self._move(
            store, booking_id, lambda tx: bookings.cancel(tx, booking_id, who, data.reason)
        )

    @post("/bookings/{booking_id:str}/rate", status_code=200)
    async def rate(
        self, store: StoreDep, staff: StaffDep, booking_id: FromPath[str], data: JSONBody[RateBody]
    ) -> Rated:
        """A satisfaction of 1 to 5 for a finished visit (taken on the phone)."""
        who = actor(staff)
        await store.write(lambda tx: bookings.rate(tx, booking_id, data.rating, who, data.note))
        return Rated(booking_id, data.rating)

    @post("/series/{series_id:str}/pause", status_code=200)
    async def pause(
        self, store: StoreDep, staff: StaffDep, series_id: FromPath[str], data: JSONBody[DayBody]
    ) -> SeriesPaused:
        """Cancel the series' open bookings from `from_day` (the elder is in hospital)."""
        who = actor(staff)
        n = await store.write(
            lambda tx: recurring.pause(tx, series_id, data.from_day, who, data.reason)
        )
        return SeriesPaused(series_id, "paused", n)

    @post("/series/{series_id:str}/resume", status_code=200)
    async def resume(
        self, store: StoreDep, staff: StaffDep, series_id: FromPath[str], data: JSONBody[DayBody]
    ) -> SeriesResumed:
        who = actor(staff)
        made = await store.write(lambda tx: recurring.resume(tx, series_id, data.from_day, who))
        return SeriesResumed(series_id, "active", made["booked"], made["skipped"])

    @get("/roster")
    async def roster(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        day: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """A day's visits by time (default today), with the notes the reader may see."""
        on, who = calendar.day_or(day, settings.now().date()), actor(staff)
        return await store.read(lambda c: roster.roster(c, on, who))

    @get("/requests")
    async def requests(self, store: StoreDep, staff: StaffDep) -> list[dict[str, Any]]:
        """Requests from the hub (family, hotline) waiting for the manager."""
        who = actor(staff)
        return await store.read(lambda c: roster.requests(c, who))


__all__ = ["CareBookingController", "actor"]
