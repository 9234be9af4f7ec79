"""The rest of care under /api/v1/care: the service catalog, elders (care recipients),
providers, and the day-care room (check-in grid, lunch count, walk-in lunches).
Bodies are checked field by field in `edge.domain.care`; a bad one is a 400 naming it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from edge.domain import calendar
from edge.domain.auth import require_manager
from edge.domain.care import catalog, daycare, providers, recipients
from edge.web.api.care import CareBookingController, actor
from edge.web.api.care_activities import ACTIVITY_CONTROLLERS
from edge.web.api.replies import Created, DaycareDay, DaycareTap, LinkCode, Lunches, LunchTotal
from edge.web.guards import manager_only, staff_only
from edge.web.shared import SettingsDep, StaffDep, StoreDep

Body = dict[str, Any]


class TapBody(msgspec.Struct, forbid_unknown_fields=True):
    day: Annotated[str, msgspec.Meta(max_length=10)] | None = None
    lunch: bool = True


class LunchBody(msgspec.Struct, forbid_unknown_fields=True):
    count: int
    day: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class CarePeopleController(Controller):
    path = "/api/v1/care"
    tags = ["care"]

    @get("/services")
    async def services(self, store: StoreDep, staff: StaffDep) -> list[dict[str, Any]]:
        """The services this centre can book (its own and the district's)."""
        return await store.read(lambda c: catalog.list_services(c))

    @post("/services", guards=[manager_only])
    async def add_service(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[Body]
    ) -> Response[dict[str, Any]]:
        """A service of this centre (manager): name, kind, minutes, price_fen,
        subsidised_fen, skills, capacity per slot (0: no limit), meal, day_care."""
        service_id = await store.write(lambda tx: catalog.create_service(tx, data))
        return Response(
            await store.read(lambda c: catalog.get_service(c, service_id)), status_code=201
        )

    @get("/recipients")
    async def list_recipients(
        self,
        store: StoreDep,
        staff: StaffDep,
        q: FromQuery[str] = "",
        day_care: FromQuery[bool] = False,
    ) -> list[dict[str, Any]]:
        """Elders by name or phone tail; care notes for the manager only."""
        sees = staff.is_manager
        return await store.read(
            lambda c: recipients.list_recipients(c, sees_notes=sees, day_care=day_care, q=q[:40])
        )

    @post("/recipients", guards=[staff_only])
    async def add_recipient(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[Body]
    ) -> Response[dict[str, Any]]:
        """An elder of a household (`household_id`): birth_date, mobility, diet_notes,
        care_notes, emergency_contacts and family ([{name, relation, phone}]), subsidy,
        day_care. Answers the link code the family types on the hub."""
        household = data.get("household_id")
        household_id = household if isinstance(household, str) else None
        recipient_id = await store.write(
            lambda tx: recipients.create_recipient(tx, household_id, data)
        )
        sees = staff.is_manager
        found = await store.read(
            lambda c: recipients.get_recipient(c, recipient_id, sees_notes=sees)
        )
        return Response(found, status_code=201)

    @get("/recipients/{recipient_id:str}")
    async def show_recipient(
        self, store: StoreDep, staff: StaffDep, recipient_id: FromPath[str]
    ) -> dict[str, Any]:
        sees = staff.is_manager
        return await store.read(
            lambda c: recipients.get_recipient(c, recipient_id, sees_notes=sees)
        )

    @post("/recipients/{recipient_id:str}", status_code=200, guards=[staff_only])
    async def update_recipient(
        self, store: StoreDep, staff: StaffDep, recipient_id: FromPath[str], data: JSONBody[Body]
    ) -> dict[str, Any]:
        """Change some of an elder's fields (care_notes: the manager only)."""
        if "care_notes" in data:
            require_manager(staff)
        await store.write(lambda tx: recipients.update_recipient(tx, recipient_id, data))
        sees = staff.is_manager
        return await store.read(
            lambda c: recipients.get_recipient(c, recipient_id, sees_notes=sees)
        )

    @post("/recipients/{recipient_id:str}/link-code", status_code=200, guards=[manager_only])
    async def new_code(
        self, store: StoreDep, staff: StaffDep, recipient_id: FromPath[str]
    ) -> LinkCode:
        """A new link code; the old one no longer links a family account."""
        code = await store.write(lambda tx: recipients.new_code(tx, recipient_id))
        return LinkCode(recipient_id, code)

    @get("/providers")
    async def list_providers(
        self, store: StoreDep, staff: StaffDep, skill: FromQuery[str] = ""
    ) -> list[dict[str, Any]]:
        """People who can be assigned (not the organisations themselves), by skill."""
        return await store.read(lambda c: providers.list_providers(c, skill[:20]))

    @post("/providers", guards=[manager_only])
    async def add_provider(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[Body]
    ) -> Response[Created]:
        """name, kind (staff, volunteer, organisation, worker), organisation_id for a
        worker, staff_id to sign in with, phone, skills."""
        provider_id = await store.write(lambda tx: providers.create_provider(tx, data))
        return Response(Created(provider_id), status_code=201)

    @get("/daycare")
    async def daycare_day(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        day: FromQuery[str | None] = None,
    ) -> DaycareDay:
        """The check-in grid of the day-care room and the kitchen's lunch count."""
        on = calendar.day_or(day, settings.now().date())
        grid, lunch = await store.read(lambda c: (daycare.grid(c, on), daycare.lunch_count(c, on)))
        return DaycareDay(on, grid, Lunches(**lunch))

    @post("/daycare/{recipient_id:str}/tap", status_code=200)
    async def tap(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        recipient_id: FromPath[str],
        data: JSONBody[TapBody],
    ) -> DaycareTap:
        """One tap: checks the elder in, the next one out."""
        on, who = calendar.day_or(data.day, settings.now().date()), actor(staff)
        state = await store.write(
            lambda tx: daycare.tap(tx, recipient_id, on, who, lunch=data.lunch)
        )
        return DaycareTap(recipient_id, on, state)

    @post("/daycare/walkin-lunch", status_code=200)
    async def walkin_lunch(
        self, store: StoreDep, staff: StaffDep, settings: SettingsDep, data: JSONBody[LunchBody]
    ) -> LunchTotal:
        """A walk-in lunch (+1) or its correction (-1); answers the day's total."""
        on, who = calendar.day_or(data.day, settings.now().date()), actor(staff)
        total = await store.write(lambda tx: daycare.add_walkin_lunch(tx, on, data.count, who))
        return LunchTotal(on, total)


CARE_CONTROLLERS = [CareBookingController, CarePeopleController, *ACTIVITY_CONTROLLERS]
