"""WeChat group endpoints: parse a paste, confirm a draft, link a nickname, price post."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody

from edge.domain import orders
from edge.domain.wechat.drafts import MAX_PASTE_CHARS, confirm, link_nickname
from edge.domain.wechat.parse_pool import parse_paste, read_paste
from edge.domain.wechat.price_post import price_post
from edge.errors import BadRequest
from edge.web.api.households import HouseholdBody
from edge.web.api.orders import ItemBody
from edge.web.api.replies import DraftConfirmed, NicknameLinked
from edge.web.shared import SettingsDep, StaffDep, StoreDep


class ParseBody(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(max_length=MAX_PASTE_CHARS)]


class ConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASTE_CHARS)]
    items: Annotated[list[ItemBody], msgspec.Meta(min_length=1, max_length=orders.MAX_ITEMS)]
    sender: Annotated[str, msgspec.Meta(max_length=40)] = ""
    household_id: str | None = None
    household: HouseholdBody | None = None
    delivery_mode: str | None = None
    notes: Annotated[str, msgspec.Meta(max_length=500)] = ""


class LinkBody(msgspec.Struct, forbid_unknown_fields=True):
    nickname: str
    household_id: str


class WechatController(Controller):
    path = "/api/v1/wechat"
    tags = ["wechat"]

    @post("/parse", status_code=200)
    async def parse(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        data: JSONBody[ParseBody],
    ) -> dict[str, Any]:
        """Text in, items out. `items`/`unparsed` cover the whole paste; `drafts` has one
        draft order per sender, matched to a household by WeChat nickname. Read in a
        paste worker, not on the store's readers: 422 when it takes too long to read,
        503 when the workers stay busy (edge/domain/wechat/parse_pool.py)."""
        result: dict[str, Any] = await read_paste(
            store.path,
            parse_paste,
            data.text,
            site_id=store.site_id,
            sees_phones=staff.sees_phones,
            now=settings.now(),
        )
        return result

    @post("/confirm")
    async def confirm_draft(
        self, store: StoreDep, staff: StaffDep, settings: SettingsDep, data: JSONBody[ConfirmBody]
    ) -> Response[DraftConfirmed]:
        """Create the order for a checked draft; the same paste confirmed twice makes one."""
        if not data.household_id and data.household is None:
            raise BadRequest("choose the household this message is from", field="household_id")
        items = [
            orders.ItemInput(i.product_id, i.quantity, i.unit, i.amount_fen) for i in data.items
        ]
        now = settings.now()
        created = await store.write(
            lambda tx: confirm(
                tx,
                sender=data.sender,
                text=data.text,
                items=items,
                household_id=data.household_id,
                household=data.household.to_input() if data.household else None,
                delivery_mode=data.delivery_mode,
                notes=data.notes,
                now=now,
                staff_id=staff.id,
            )
        )
        return Response(
            DraftConfirmed(
                created.order_id, created.pickup_date, created.pickup_code, created.replayed
            ),
            status_code=200 if created.replayed else 201,
        )

    @post("/link", status_code=200)
    async def link(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[LinkBody]
    ) -> NicknameLinked:
        """Remember that a WeChat nickname belongs to a household."""
        await store.write(lambda tx: link_nickname(tx, data.nickname, data.household_id))
        return NicknameLinked(data.nickname, data.household_id)

    @get("/price-post")
    async def price_post(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
    ) -> dict[str, str]:
        """The ready-to-copy price post for the next delivery day."""
        now = settings.now()
        name = request.app.state.centre_name
        return await store.read(lambda c: price_post(c, store.site_id, name, now))
