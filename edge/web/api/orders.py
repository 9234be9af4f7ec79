"""Order endpoints: create (idempotent), list by day, search, show, status, cancel."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from edge.domain import calendar, orders
from edge.errors import BadRequest
from edge.web.api.households import HouseholdBody
from edge.web.api.replies import OrderCreated, StatusReply
from edge.web.guards import staff_only
from edge.web.shared import SettingsDep, StaffDep, StoreDep

Quantity = Annotated[float, msgspec.Meta(gt=0, le=100_000)]


class ItemBody(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    quantity: Quantity
    unit: Annotated[str, msgspec.Meta(max_length=8)] | None = None
    # Ordered as money ("十块钱的香菜"), in fen: the line keeps it and is charged it.
    amount_fen: Annotated[int, msgspec.Meta(ge=1, le=orders.MAX_AMOUNT_FEN)] | None = None


class OrderBody(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[ItemBody], msgspec.Meta(min_length=1, max_length=orders.MAX_ITEMS)]
    household_id: str | None = None
    household: HouseholdBody | None = None
    channel: str = "tablet"
    delivery_mode: str | None = None
    pickup_date: FromQuery[str | None] = None
    notes: Annotated[str, msgspec.Meta(max_length=500)] = ""
    placed_by: Annotated[str, msgspec.Meta(max_length=80)] = ""

    def to_input(self, key: str | None) -> orders.OrderInput:
        return orders.OrderInput(
            items=[
                orders.ItemInput(i.product_id, i.quantity, i.unit, i.amount_fen) for i in self.items
            ],
            household_id=self.household_id,
            household=self.household.to_input() if self.household else None,
            channel=self.channel,
            delivery_mode=self.delivery_mode,
            pickup_date=self.pickup_date,
            notes=self.notes,
            placed_by=self.placed_by,
            idempotency_key=key,
        )


class StatusBody(msgspec.Struct, forbid_unknown_fields=True):
    status: str


class OrderController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]

    @post("/")
    async def create(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        data: JSONBody[OrderBody],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
    ) -> Response[OrderCreated]:
        """Create an order. Send an Idempotency-Key: a retry with the same key makes no
        second order and answers 200 with the first one."""
        order_input = data.to_input(idempotency_key)
        now = settings.now()
        created = await store.write(
            lambda tx: orders.create_order(tx, order_input, now, staff_id=staff.id)
        )
        body = OrderCreated(
            id=created.order_id,
            pickup_date=created.pickup_date,
            pickup_code=created.pickup_code,
            status=orders.OrderStatus.PLACED,
            notice=created.notice,
            replayed=created.replayed,
        )
        return Response(body, status_code=200 if created.replayed else 201)

    @get("/")
    async def list_orders(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        pickup_date: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
    ) -> list[dict[str, Any]]:
        """Orders for a pickup day (default today), filtered by status or a search term:
        a pickup code, the last 4 digits of a phone, a name or a WeChat nickname."""
        day = (
            calendar.parse_day(pickup_date, "pickup_date")
            if pickup_date
            else (settings.now().date())
        )
        if status is not None and status not in orders.STATUSES:
            raise BadRequest(f"status must be one of {', '.join(orders.STATUSES)}", field="status")
        if q is not None and len(q) > 40:
            raise BadRequest("search term is at most 40 characters", field="q")
        return await store.read(
            lambda c: orders.list_orders(
                c, day.isoformat(), sees_phones=staff.sees_phones, status=status, q=q
            )
        )

    @get("/{order_id:str}")
    async def show(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str]
    ) -> dict[str, Any]:
        return await store.read(
            lambda c: orders.get_order(c, order_id, sees_phones=staff.sees_phones)
        )

    @post("/{order_id:str}/status", status_code=200)
    async def move(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str], data: JSONBody[StatusBody]
    ) -> StatusReply:
        """Mark an order packed (the only status set by name: a hand-over goes through
        /pickup, a cancel through /cancel, no-shows through /close-day). Backward moves
        answer 409."""
        status = await store.write(lambda tx: orders.mark_packed(tx, order_id, data.status))
        return StatusReply(order_id, status)

    @post("/{order_id:str}/cancel", status_code=200, guards=[staff_only])
    async def cancel(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str]
    ) -> StatusReply:
        """Cancel an order (staff and managers; a volunteer cannot)."""
        status = await store.write(lambda tx: orders.cancel(tx, order_id))
        return StatusReply(order_id, status)
