"""Catalog and delivery calendar endpoints."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, UnsetType

from edge.domain import calendar, orders, products
from edge.errors import BadRequest
from edge.store import Tx
from edge.web.api.replies import CalendarOut, CalendarSaved, ExceptionAdded, ProductOut
from edge.web.guards import manager_only
from edge.web.shared import SettingsDep, StaffDep, StoreDep

PriceFen = Annotated[int, msgspec.Meta(ge=0, le=products.MAX_PRICE_FEN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class ProductCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    sold_by: str
    price_fen: PriceFen
    unit: str | None = None
    aliases: list[str] = []
    category: str = ""
    bundle_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    special_price_fen: PriceFen | None = None
    special_from: str | None = None
    special_to: str | None = None


class ProductPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; special_price_fen null ends a special."""

    name: Name | UnsetType = UNSET
    sold_by: str | UnsetType = UNSET
    price_fen: PriceFen | UnsetType = UNSET
    unit: Annotated[str, msgspec.Meta(max_length=8)] | UnsetType = UNSET
    aliases: list[Annotated[str, msgspec.Meta(max_length=40)]] | UnsetType = UNSET
    category: Annotated[str, msgspec.Meta(max_length=20)] | UnsetType = UNSET
    bundle_size: Annotated[int, msgspec.Meta(ge=1, le=100)] | UnsetType = UNSET
    special_price_fen: PriceFen | UnsetType | None = UNSET
    special_from: str | UnsetType | None = UNSET
    special_to: str | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET
    sort: Annotated[int, msgspec.Meta(ge=0, le=products.MAX_SORT)] | UnsetType = UNSET

    def sent(self) -> dict[str, Any]:
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not UNSET}


class ProductController(Controller):
    path = "/api/v1/products"
    tags = ["products"]

    @get("/")
    async def list_products(
        self, store: StoreDep, staff: StaffDep, include_inactive: FromQuery[bool] = False
    ) -> list[ProductOut]:
        found = await store.read(
            lambda c: products.list_products(c, active_only=not include_inactive)
        )
        return [ProductOut(**p.as_json()) for p in found]

    @get("/{product_id:str}")
    async def get_product(
        self, store: StoreDep, staff: StaffDep, product_id: FromPath[str]
    ) -> ProductOut:
        product = await store.read(lambda c: products.get_product(c, product_id))
        return ProductOut(**product.as_json())

    @post("/", guards=[manager_only])
    async def create(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[ProductCreate]
    ) -> ProductOut:
        fields = msgspec.structs.asdict(data)
        product_id = await store.write(lambda tx: products.create_product(tx, fields))
        return ProductOut(
            **(await store.read(lambda c: products.get_product(c, product_id))).as_json()
        )

    @patch("/{product_id:str}", guards=[manager_only])
    async def update(
        self,
        store: StoreDep,
        staff: StaffDep,
        product_id: FromPath[str],
        data: JSONBody[ProductPatch],
    ) -> ProductOut:
        fields = data.sent()
        await store.write(lambda tx: products.update_product(tx, product_id, fields))
        return ProductOut(
            **(await store.read(lambda c: products.get_product(c, product_id))).as_json()
        )


class CalendarInput(msgspec.Struct, forbid_unknown_fields=True):
    weekdays: list[Annotated[int, msgspec.Meta(ge=0, le=6)]]
    cutoff: str = "20:00"
    pickup_hours: str = "07:00-11:00"


class ExceptionInput(msgspec.Struct, forbid_unknown_fields=True):
    day: str
    kind: str
    note: Annotated[str, msgspec.Meta(max_length=100)] = ""
    # Closing a day that still has orders: the day they move to (else 400).
    move_orders_to: str | None = None


class CalendarController(Controller):
    path = "/api/v1/calendar"
    tags = ["calendar"]

    @get("/")
    async def show(self, store: StoreDep, staff: StaffDep, settings: SettingsDep) -> CalendarOut:
        cal = await store.read(lambda c: calendar.load(c, store.site_id))
        now = settings.now()
        return CalendarOut(
            weekdays=sorted(cal.weekdays),
            cutoff=cal.cutoff.strftime("%H:%M"),
            pickup_hours=cal.pickup_hours,
            closed=sorted(d.isoformat() for d in cal.closed),
            extra=sorted(d.isoformat() for d in cal.extra),
            next_delivery_day=cal.next_delivery_day(now).isoformat(),
        )

    @put("/", guards=[manager_only])
    async def save(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[CalendarInput]
    ) -> CalendarSaved:
        await store.write(
            lambda tx: calendar.save(tx, data.weekdays, data.cutoff, data.pickup_hours)
        )
        return CalendarSaved("saved")

    @post("/exceptions", guards=[manager_only])
    async def add_exception(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[ExceptionInput]
    ) -> ExceptionAdded:
        """Close a day (a holiday) or add an extra delivery day. Closing a day with
        orders still waiting is refused unless `move_orders_to` names the delivery
        day they move to; the answer says how many moved."""
        day = calendar.parse_day(data.day, "day")
        move_to = (
            calendar.parse_day(data.move_orders_to, "move_orders_to")
            if data.move_orders_to
            else None
        )

        if move_to is not None and data.kind != "closed":
            raise BadRequest("move_orders_to goes with kind 'closed'", field="move_orders_to")

        def write(tx: Tx) -> ExceptionAdded:
            moved = orders.move_open_orders(tx, day, move_to) if move_to else 0
            return ExceptionAdded(calendar.add_exception(tx, day, data.kind, data.note), moved)

        return await store.write(write)
