"""The typed answers of the centre's API, so the OpenAPI document shows each reply's shape.

Each struct encodes to exactly the JSON the endpoint answered as a dict before (every field
is always present; None is null), so clients and the tests see the same bodies. Rows the
domain returns as dicts (an order, a booking, a packing list's lines) stay dicts inside.
"""

from __future__ import annotations

from typing import Any

import msgspec


class StaffRef(msgspec.Struct):
    id: str
    name: str
    role: str


class TokenReply(msgspec.Struct):
    """POST /api/v1/auth/token: the bearer token and who it signs in."""

    token: str
    staff: StaffRef


class Created(msgspec.Struct):
    """A new row: its id."""

    id: str


class StatusReply(msgspec.Struct):
    """An order or a care booking after a move: where it now stands."""

    id: str
    status: str


class OrderCreated(msgspec.Struct):
    """POST /api/v1/orders (201, or 200 for a replayed Idempotency-Key)."""

    id: str
    pickup_date: str
    pickup_code: str
    status: str
    notice: str | None
    replayed: bool


class DayClosed(msgspec.Struct):
    """POST /api/v1/close-day: how many orders became no-shows."""

    day: str
    no_show: int


class PackingList(msgspec.Struct):
    day: str
    orders: list[dict[str, Any]]
    totals: list[dict[str, Any]]


class ClashReply(msgspec.Struct):
    kind: str  # provider_busy, recipient_busy, slot_full
    detail: str
    booking_id: str


class Clashes(msgspec.Struct):
    clashes: list[ClashReply]


class Rated(msgspec.Struct):
    id: str
    rating: int


class SeriesPaused(msgspec.Struct):
    id: str
    status: str
    cancelled: int


class SeriesResumed(msgspec.Struct):
    id: str
    status: str
    booked: list[Any]
    skipped: list[Any]


class LinkCode(msgspec.Struct):
    id: str
    link_code: str


class DaycareTap(msgspec.Struct):
    id: str
    day: str
    state: str  # in, out


class LunchTotal(msgspec.Struct):
    day: str
    total: int


class Shortages(msgspec.Struct):
    delivery_date: str
    orders: list[dict[str, Any]]


class OrderShortages(msgspec.Struct):
    order_id: str
    items: list[dict[str, Any]]


class CalendarSaved(msgspec.Struct):
    status: str


class ExceptionAdded(msgspec.Struct):
    id: str
    moved: int
