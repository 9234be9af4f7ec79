"""Household endpoints: register, find, correct."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, UnsetType

from edge.domain import households
from edge.web.api.replies import HouseholdOut
from edge.web.shared import StaffDep, StoreDep


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


class HouseholdPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; lengths and the phone are checked by the domain."""

    name: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET
    building: str | UnsetType = UNSET
    unit: str | UnsetType = UNSET
    room: str | UnsetType = UNSET
    wechat_nickname: str | UnsetType = UNSET
    home_delivery: bool | UnsetType = UNSET
    notes: str | UnsetType = UNSET

    def sent(self) -> dict[str, Any]:
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not UNSET}


class HouseholdController(Controller):
    path = "/api/v1/households"
    tags = ["households"]

    @get("/")
    async def search(
        self, store: StoreDep, staff: StaffDep, q: FromQuery[str] = ""
    ) -> list[HouseholdOut]:
        found = await store.read(
            lambda c: households.search_households(c, q, sees_phones=staff.sees_phones)
        )
        return [
            HouseholdOut(**households.public_view(h, sees_phones=staff.sees_phones)) for h in found
        ]

    @post("/")
    async def create(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[HouseholdBody]
    ) -> HouseholdOut:
        household_id = await store.write(
            lambda tx: households.create_household(tx, data.to_input())
        )
        row = await store.read(lambda c: households.get_household(c, household_id))
        return HouseholdOut(**households.public_view(row, sees_phones=staff.sees_phones))

    @get("/{household_id:str}")
    async def show(
        self, store: StoreDep, staff: StaffDep, household_id: FromPath[str]
    ) -> HouseholdOut:
        row = await store.read(lambda c: households.get_household(c, household_id))
        return HouseholdOut(**households.public_view(row, sees_phones=staff.sees_phones))

    @patch("/{household_id:str}")
    async def update(
        self,
        store: StoreDep,
        staff: StaffDep,
        household_id: FromPath[str],
        data: JSONBody[HouseholdPatch],
    ) -> HouseholdOut:
        fields = data.sent()
        await store.write(lambda tx: households.update_household(tx, household_id, fields))
        row = await store.read(lambda c: households.get_household(c, household_id))
        return HouseholdOut(**households.public_view(row, sees_phones=staff.sees_phones))
