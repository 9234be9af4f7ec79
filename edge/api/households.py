"""Household endpoints: register, find, correct."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from edge import households
from edge.web import StaffDep, StoreDep


class HouseholdBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    phone: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    wechat_nickname: str = ""
    home_delivery: bool = False
    notes: str = ""

    def to_input(self) -> households.HouseholdInput:
        return households.HouseholdInput(**msgspec.structs.asdict(self))


class HouseholdController(Controller):
    path = "/api/v1/households"
    tags = ["households"]

    @get("/")
    async def search(
        self, store: StoreDep, staff: StaffDep, q: FromQuery[str] = ""
    ) -> list[dict[str, Any]]:
        found = await store.read(lambda c: households.search_households(c, q))
        return [households.public_view(h, sees_phones=staff.sees_phones) for h in found]

    @post("/")
    async def create(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[HouseholdBody]
    ) -> dict[str, Any]:
        household_id = await store.write(
            lambda tx: households.create_household(tx, data.to_input())
        )
        row = await store.read(lambda c: households.get_household(c, household_id))
        return households.public_view(row, sees_phones=staff.sees_phones)

    @get("/{household_id:str}")
    async def show(
        self, store: StoreDep, staff: StaffDep, household_id: FromPath[str]
    ) -> dict[str, Any]:
        row = await store.read(lambda c: households.get_household(c, household_id))
        return households.public_view(row, sees_phones=staff.sees_phones)

    @patch("/{household_id:str}")
    async def update(
        self,
        store: StoreDep,
        staff: StaffDep,
        household_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        await store.write(lambda tx: households.update_household(tx, household_id, data))
        row = await store.read(lambda c: households.get_household(c, household_id))
        return households.public_view(row, sees_phones=staff.sees_phones)
