"""The pickup desk and the day's lists: weigh, pay, hand over, walk-in, packing, dashboard."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from edge.domain import calendar, dashboard, orders, packing, pickup, walkin
from edge.web.api.replies import Dashboard, DayClosed, PackingList, Settled
from edge.web.guards import manager_only
from edge.web.shared import SettingsDep, StaffDep, StoreDep

Grams = Annotated[int, msgspec.Meta(ge=1, le=pickup.MAX_GRAMS)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class WeighingBody(msgspec.Struct, forbid_unknown_fields=True):
    item_id: str
    grams: Grams


class WeightsBody(msgspec.Struct, forbid_unknown_fields=True):
    weights: list[WeighingBody]


class PickupBody(msgspec.Struct, forbid_unknown_fields=True):
    method: str
    amount_fen: Annotated[
        Fen,
        msgspec.Meta(
            description="What the resident handed over, in fen. Above the price: change due."
            " Below it: refused (400, field amount_fen) unless on_credit."
        ),
    ]
    weights: list[WeighingBody] = []
    delivered: bool = False
    on_credit: Annotated[
        bool,
        msgspec.Meta(
            description="Pays the rest later (下次给): record amount_fen as paid and the rest"
            " of the price as still owed (owed_fen in the answer)."
        ),
    ] = False


class SaleLineBody(msgspec.Struct, forbid_unknown_fields=True):
    product_id: FromPath[str]
    quantity: Annotated[float, msgspec.Meta(gt=0, le=100_000)]
    unit: str | None = None


class SaleBody(msgspec.Struct, forbid_unknown_fields=True):
    lines: Annotated[list[SaleLineBody], msgspec.Meta(min_length=1, max_length=50)]
    method: str


class SettleBody(msgspec.Struct, forbid_unknown_fields=True):
    method: str
    amount_fen: Annotated[Fen, msgspec.Meta(description="What the resident handed over now.")]
    owed_fen: Annotated[
        Fen,
        msgspec.Meta(
            description="What the tablet showed as owed; a mismatch (a retry, another"
            " tablet) is a 409 and records nothing."
        ),
    ]


class CloseDayBody(msgspec.Struct, forbid_unknown_fields=True):
    day: str


def _weighings(items: list[WeighingBody]) -> list[pickup.Weighing]:
    return [pickup.Weighing(w.item_id, w.grams) for w in items]


class DeskController(Controller):
    path = "/api/v1"
    tags = ["pickup desk"]

    @post("/orders/{order_id:str}/weights", status_code=200)
    async def weigh(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str], data: JSONBody[WeightsBody]
    ) -> dict[str, Any]:
        """Enter actual weights; the answer shows the recomputed final price."""
        await store.write(lambda tx: pickup.record_weights(tx, order_id, _weighings(data.weights)))
        return await store.read(
            lambda c: orders.get_order(c, order_id, sees_phones=staff.sees_phones)
        )

    @post("/orders/{order_id:str}/pickup", status_code=200)
    async def hand_over(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str], data: JSONBody[PickupBody]
    ) -> dict[str, Any]:
        """Weigh what is left, record payment, and mark picked up (or delivered).

        `amount_fen` is what the resident handed over. Anything above the price
        is `change_due_fen`; only the price counts as paid. An amount below the
        price is refused (400, field `amount_fen`, nothing recorded) unless
        `"on_credit": true` says the resident pays the rest later ("下次给"):
        then the amount is recorded as paid and `owed_fen` is what is still
        owed (the order's `final_fen - paid_fen`). Items of which nothing
        arrived (a shortage shared out as 0) need no weight and cost 0.
        Answer: `status`, `final_fen`, `paid_fen`, `change_due_fen`,
        `owed_fen`, `replayed` (true, with only `status`, for a retried
        hand-over).
        """
        return await store.write(
            lambda tx: pickup.complete(
                tx,
                order_id,
                method=data.method,
                amount_fen=data.amount_fen,
                weighings=_weighings(data.weights),
                delivered=data.delivered,
                on_credit=data.on_credit,
                staff_id=staff.id,
            )
        )

    @post("/orders/{order_id:str}/settle", status_code=200)
    async def settle(
        self, store: StoreDep, staff: StaffDep, order_id: FromPath[str], data: JSONBody[SettleBody]
    ) -> Settled:
        """A resident pays what an on-credit hand-over left owing (all or part).
        Answer: `paid_fen`, `owed_fen` (what is still owed), `change_due_fen`."""
        settled = await store.write(
            lambda tx: pickup.settle(
                tx,
                order_id,
                method=data.method,
                amount_fen=data.amount_fen,
                owed_fen=data.owed_fen,
                staff_id=staff.id,
            )
        )
        return Settled(**settled)

    @post("/walkin", status_code=201)
    async def sell(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        data: JSONBody[SaleBody],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
    ) -> Response[dict[str, Any]]:
        """Sell from today's stock; an Idempotency-Key makes a retried sale count once."""
        lines = [walkin.SaleLine(x.product_id, x.quantity, x.unit) for x in data.lines]
        day = settings.now().date()
        key = (idempotency_key or "")[:100] or None
        sale = await store.write(
            lambda tx: walkin.sell(tx, lines, data.method, day, staff.id, idempotency_key=key)
        )
        return Response(sale, status_code=200 if sale["replayed"] else 201)

    @post("/close-day", status_code=200, guards=[manager_only])
    async def close_day(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        data: JSONBody[CloseDayBody],
    ) -> DayClosed:
        """Close of day (manager): orders still waiting for pickup become no-shows.
        Only today or an earlier day."""
        day = calendar.iso_day(data.day, "day")
        today = settings.now().date()
        count = await store.write(lambda tx: orders.mark_no_shows(tx, day, today))
        return DayClosed(day, count)

    @get("/packing-list")
    async def packing_list(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        day: FromQuery[str | None] = None,
        home_only: FromQuery[bool] = False,
    ) -> PackingList:
        d = calendar.day_or(day, settings.now().date())
        found = await store.read(
            lambda c: packing.packing_list(c, d, sees_phones=staff.sees_phones, home_only=home_only)
        )
        totals = await store.read(lambda c: packing.product_totals(c, d))
        return PackingList(d, found, totals)

    @get("/dashboard")
    async def today(
        self,
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        day: FromQuery[str | None] = None,
    ) -> Dashboard:
        """The day at a glance (default today): order counts by status, takings
        (`orders_takings_fen`, `walkin_takings_fen`, `takings_fen`: what was paid),
        and what residents handed over on credit still owe: `owed_fen` in all and
        `owing`, one entry per order (`order_id`, `pickup_code`, `household_name`,
        `owed_fen`)."""
        d = calendar.day_or(day, settings.now().date())
        return msgspec.convert(await store.read(lambda c: dashboard.today(c, d)), Dashboard)
