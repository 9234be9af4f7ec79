"""The centre's supply API under /api/v1: consolidated order, receiving, returns, reconciliation."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from edge.domain import calendar
from edge.domain.supply import (
    consolidated,
    consolidated_formats,
    receiving,
    reconciliation,
    returns,
)
from edge.domain.supply.lines import parse_quantity
from edge.errors import Forbidden
from edge.web.api.replies import (
    ArrivalsRecorded,
    BufferSet,
    Leftover,
    OrderShortages,
    ReceivingView,
    ReturnsView,
    SentByHand,
    Shortages,
)
from edge.web.shared import SettingsDep, StaffDep, StoreDep

AnyRequest = Request[Any, Any, Any]
Day = Annotated[str, msgspec.Meta(min_length=10, max_length=10)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Unit = Annotated[str, msgspec.Meta(max_length=8)]
Qty = Annotated[int, msgspec.Meta(ge=0, le=5_000_000)]
Jin = Annotated[float, msgspec.Meta(ge=0, le=10_000)]


class BufferBody(msgspec.Struct, forbid_unknown_fields=True):
    delivery_date: Day
    product_id: Id
    quantity: Qty | None = None  # base units: grams, pieces, bundles
    jin: Jin | None = None  # or, for a by-weight line, 斤
    unit: Unit | None = None  # 'g' (default for by-weight), 'piece', 'bundle'


class SentBody(msgspec.Struct, forbid_unknown_fields=True):
    delivery_date: Day
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class ArrivalBody(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Id
    qty_unit: Unit
    arrived: Qty | None = None
    arrived_jin: Jin | None = None


class ReceivingBody(msgspec.Struct, forbid_unknown_fields=True):
    delivery_date: Day
    lines: Annotated[list[ArrivalBody], msgspec.Meta(min_length=1, max_length=200)]


class LeftoverBody(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Id
    qty_unit: Unit
    quantity: Qty | None = None
    jin: Jin | None = None


class ReturnBody(msgspec.Struct, forbid_unknown_fields=True):
    delivery_date: Day
    lines: Annotated[list[LeftoverBody], msgspec.Meta(max_length=200)]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


def wants_csv(request: AnyRequest, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt.lower() == "csv"
    return "text/csv" in request.headers.get("accept", "")


def csv_response(text: str, filename: str) -> Response[bytes]:
    # A BOM so Excel on the co-op's laptop reads the Chinese names right.
    return Response(
        content=("\ufeff" + text).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _qty(unit: str, quantity: int | None, jin: float | None) -> int:
    """Base units from the body: `quantity` as is, or `jin` (斤) turned into grams."""
    return parse_quantity(unit, quantity if quantity is not None else 0, jin=jin)


class SupplyController(Controller):
    path = "/api/v1"
    tags = ["supply"]
    security = [{"bearer": []}]

    @get("/consolidated")
    async def consolidated_order(
        self,
        request: AnyRequest,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        delivery_date: FromQuery[str],
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The day's order to the co-op; locks it (or amends it) when the cut-off has passed."""
        doc = await consolidated.read_locking(
            store, calendar.iso_day(delivery_date, "delivery_date"), settings.now()
        )
        if wants_csv(request, format):
            return csv_response(
                consolidated_formats.as_csv(doc), f"order-{doc['delivery_date']}.csv"
            )
        return Response(doc)

    @put("/consolidated/buffer", status_code=200)
    async def set_buffer(
        self, store: StoreDep, staff: StaffDep, settings: SettingsDep, data: JSONBody[BufferBody]
    ) -> BufferSet:
        """The manager's buffer for walk-in sales (0 removes it); after cut-off it amends."""
        if not staff.is_manager:
            raise Forbidden("only the station manager sets the buffer")
        now = settings.now()
        set_ = await store.write(
            lambda tx: consolidated.set_buffer(
                tx,
                data.delivery_date,
                data.product_id,
                data.quantity if data.jin is None else None,
                unit=data.unit,
                jin=data.jin,
                now=now,
            )
        )
        return BufferSet(**set_)

    @get("/consolidated/text", media_type="text/plain; charset=utf-8")
    async def as_text(
        self,
        request: AnyRequest,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        delivery_date: FromQuery[str],
    ) -> str:
        """The order as a plain Chinese WeChat / SMS message, for when the hub is out of reach."""
        doc = await consolidated.read_locking(
            store, calendar.iso_day(delivery_date, "delivery_date"), settings.now()
        )
        return consolidated_formats.as_text(doc, getattr(request.app.state, "centre_name", "邻里"))

    @post("/consolidated/sent-by-hand", status_code=200)
    async def sent_by_hand(
        self, store: StoreDep, staff: StaffDep, settings: SettingsDep, data: JSONBody[SentBody]
    ) -> SentByHand:
        """Mark a version as sent to the co-op by hand, so it is not acted on twice."""
        now = settings.now()
        sent = await store.write(
            lambda tx: consolidated.mark_sent_by_hand(
                tx, data.delivery_date, data.version, staff.name, now
            )
        )
        return SentByHand(**sent)

    @get("/receiving")
    async def receiving_view(
        self, store: StoreDep, staff: StaffDep, delivery_date: FromQuery[str]
    ) -> ReceivingView:
        """Expected (dispatch note, else the order) against what arrived, per line."""
        day = calendar.iso_day(delivery_date, "delivery_date")
        view = await store.read(lambda c: receiving.receiving_view(c, store.site_id, day))
        return ReceivingView(**view)

    @post("/receiving", status_code=200)
    async def record_arrivals(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[ReceivingBody]
    ) -> ArrivalsRecorded:
        """Enter what arrived; shortages are shared out to the day's orders at once."""
        arrivals = [
            receiving.Arrival(x.product_id, x.qty_unit, _qty(x.qty_unit, x.arrived, x.arrived_jin))
            for x in data.lines
        ]
        recorded = await store.write(
            lambda tx: receiving.record_arrivals(tx, data.delivery_date, arrivals, staff.id)
        )
        return ArrivalsRecorded(**recorded)

    @get("/shortages")
    async def shortages(
        self, store: StoreDep, staff: StaffDep, delivery_date: FromQuery[str]
    ) -> Shortages:
        day = calendar.iso_day(delivery_date, "delivery_date")
        found = await store.read(lambda c: receiving.shortages_for_day(c, day, store.site_id))
        return Shortages(day, found)

    @get("/orders/{order_id:str}/shortages")
    async def order_shortages(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str]
    ) -> OrderShortages:
        found = await store.read(lambda c: receiving.shortages_for_order(c, order_id))
        return OrderShortages(order_id, found)

    @get("/returns")
    async def return_note(
        self, store: StoreDep, staff: StaffDep, delivery_date: FromQuery[str]
    ) -> ReturnsView:
        """The day's return note (if any) and the leftovers the counts suggest."""
        day = calendar.iso_day(delivery_date, "delivery_date")

        def read(c: Any) -> ReturnsView:
            suggested = returns.leftovers_expected(c, store.site_id, day)
            return ReturnsView(
                delivery_date=day,
                note=returns.return_note(c, store.site_id, day),
                suggested=[Leftover(k[0], k[1], v) for k, v in sorted(suggested.items())],
            )

        return await store.read(read)

    @put("/returns", status_code=200)
    async def record_return(
        self, store: StoreDep, staff: StaffDep, data: JSONBody[ReturnBody]
    ) -> dict[str, Any]:
        """Write the day's leftovers going back to the co-op (until the co-op confirms)."""
        lines = [
            returns.Leftover(x.product_id, x.qty_unit, _qty(x.qty_unit, x.quantity, x.jin))
            for x in data.lines
        ]
        return await store.write(
            lambda tx: returns.record_return(tx, data.delivery_date, lines, staff.id, data.note)
        )

    @get("/reconciliation")
    async def reconciliation(
        self,
        request: AnyRequest,
        store: StoreDep,
        staff: StaffDep,
        delivery_date: FromQuery[str],
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Ordered, dispatched, received, sold, returned, lost — quantities and fen; CSV too."""
        day = calendar.iso_day(delivery_date, "delivery_date")
        doc = await store.read(lambda c: reconciliation.reconcile(c, store.site_id, day))
        if wants_csv(request, format):
            return csv_response(reconciliation.as_csv([doc]), f"reconciliation-{day}.csv")
        return Response(doc)


SUPPLY_CONTROLLERS = [SupplyController]
