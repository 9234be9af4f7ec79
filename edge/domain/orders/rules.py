"""What an order may be: its channels, delivery modes and statuses, the moves between
them, the limits on its lines, and the shapes an order comes in and goes out as."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.domain.households import HouseholdInput
from edge.store.statuses import (
    ORDER_HANDED_OVER,
    ORDER_OPEN,
    ORDER_RANK,
    ORDER_TERMINAL,
    OrderStatus,
)

CHANNELS = ("wechat", "tablet", "hotline", "family", "walkin")
DELIVERY_MODES = ("pickup", "home")
STATUSES = tuple(OrderStatus)
OPEN = ORDER_OPEN
HANDED_OVER = ORDER_HANDED_OVER
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PACKED)  # not handed over, cancelled or missed yet
TERMINAL = ORDER_TERMINAL
NEXT: dict[str, frozenset[str]] = {
    OrderStatus.PLACED: frozenset(OrderStatus) - {OrderStatus.PLACED},
    OrderStatus.PACKED: ORDER_TERMINAL,
}
RANK = ORDER_RANK
MAX_ITEMS = 50
MAX_AMOUNT_FEN = 200_000  # a line ordered as money: at most ¥2,000
MAX_KEY_LEN = 100


@dataclass(frozen=True, slots=True)
class ItemInput:
    product_id: str
    quantity: float
    unit: str | None = None
    # "十块钱的香菜": ordered as this much money; `quantity` is then the estimate to weigh to.
    amount_fen: int | None = None


@dataclass(frozen=True, slots=True)
class OrderInput:
    items: list[ItemInput]
    household_id: str | None = None
    household: HouseholdInput | None = None
    channel: str = "tablet"
    delivery_mode: str | None = None
    pickup_date: str | None = None
    notes: str = ""
    placed_by: str = ""  # a family member or hotline operator ordering for a resident
    idempotency_key: str | None = None


@dataclass(slots=True)
class Created:
    order_id: str
    pickup_date: str
    pickup_code: str
    replayed: bool = False
    notice: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def can_move(current: str, new: str) -> bool:
    return new == current or new in NEXT.get(current, frozenset())
