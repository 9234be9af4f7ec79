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


class ProductOut(msgspec.Struct):
    """A product as the API shows it (`Product.as_json`)."""

    id: str
    name: str
    aliases: list[str]
    category: str
    sold_by: str  # weight, piece, bundle
    unit: str
    price_fen: int
    bundle_size: int
    special_price_fen: int | None
    special_from: str | None
    special_to: str | None
    active: bool


class CalendarOut(msgspec.Struct):
    """GET /api/v1/calendar: delivery weekdays (0 = Monday), cutoff, exceptions, next day."""

    weekdays: list[int]
    cutoff: str  # HH:MM
    pickup_hours: str
    closed: list[str]
    extra: list[str]
    next_delivery_day: str


class HouseholdOut(msgspec.Struct):
    """A household (`households.public_view`): the phone masked unless the role sees it."""

    id: str
    name: str
    building: str
    unit: str
    room: str
    wechat_nickname: str
    notes: str
    home_delivery: bool
    phone: str


class Settled(msgspec.Struct):
    """POST /api/v1/orders/{id}/settle: paid in all, change to give, still owed."""

    paid_fen: int
    change_due_fen: int
    owed_fen: int


class Owing(msgspec.Struct):
    order_id: str
    pickup_code: str
    household_name: str | None
    owed_fen: int


class Dashboard(msgspec.Struct):
    """GET /api/v1/dashboard: the day at a glance (`dashboard.today`)."""

    day: str
    orders: int
    placed: int
    packed: int
    picked_up: int
    delivered: int
    cancelled: int
    no_show: int
    waiting: int
    done: int
    orders_takings_fen: int
    walkin_takings_fen: int
    walkin_sales: int
    takings_fen: int
    owed_fen: int
    owing: list[Owing]
    corrections: list[dict[str, Any]]
    given_back_fen: int


class BufferSet(msgspec.Struct):
    """PUT /api/v1/supply/consolidated/buffer; `amended_version` after the cut-off."""

    delivery_date: str
    product_id: str
    qty_unit: str
    quantity: int
    amended_version: int | None


class SentByHand(msgspec.Struct):
    delivery_date: str
    version: int
    sent_by_hand_at: str
    replayed: bool


class ArrivalsRecorded(msgspec.Struct):
    delivery_date: str
    recorded: int
    shortages: list[dict[str, Any]]


class Leftover(msgspec.Struct):
    product_id: str
    qty_unit: str
    quantity: int


class ReturnsView(msgspec.Struct):
    """GET /api/v1/supply/returns: the day's return note (or null) and suggested leftovers."""

    delivery_date: str
    note: dict[str, Any] | None
    suggested: list[Leftover]


class Lunches(msgspec.Struct):
    """The kitchen's lunch count for a day (`daycare.lunch_count`)."""

    booked_at_centre: int
    delivered: int
    checked_in: int
    walk_ins: int
    total: int


class DaycareDay(msgspec.Struct):
    """GET /api/v1/care/daycare: the check-in grid ('' not yet, in, out) and lunches."""

    day: str
    grid: list[dict[str, Any]]
    lunch: Lunches


class DraftConfirmed(msgspec.Struct):
    """POST /api/v1/wechat/confirm (201, or 200 when the same paste was confirmed before)."""

    id: str
    pickup_date: str
    pickup_code: str
    replayed: bool


class NicknameLinked(msgspec.Struct):
    nickname: str
    household_id: str


class ReceivingView(msgspec.Struct):
    """GET /api/v1/receiving: expected against arrived per line, the dispatch note, shortages."""

    centre_id: str
    delivery_date: str
    lines: list[dict[str, Any]]
    dispatch_note: bool
    dispatch_note_text: str
    shortages: list[dict[str, Any]]


class HandoverVoided(msgspec.Struct):
    """A hand-over undone: the order is reopened and every payment it took reversed."""

    order_id: str
    status: str
    given_back_fen: int
    corrections: list[dict[str, Any]]


class PaymentVoided(msgspec.Struct):
    """One payment undone: its amount is owed again."""

    order_id: str
    given_back_fen: int
    owed_fen: int
    correction: dict[str, Any]


class SaleVoided(msgspec.Struct):
    """A walk-in sale undone: its money goes back."""

    sale_id: str
    given_back_fen: int
    correction: dict[str, Any]
