"""Orders: what a household asked for, for which delivery day, and where it stands.

An order belongs to the centre that took it. Its status only moves forward
(placed → packed → picked_up / delivered; cancelled and no_show end it too);
a request that would move it back is refused, and repeating a move that
already happened is a no-op so retries stay harmless. Creation is keyed by
an Idempotency-Key: the same key twice gives the same order.

One module per concept; callers use `edge.domain.orders.<name>` as before:
  rules     channels, statuses and the moves between them, limits, input shapes
  same_day  the open-order rule: a second order for a household's day is a decision
  lines     an order's lines, and "add to that order" merging into them
  creating  taking an order (Idempotency-Key, calendar, pickup code)
  status    status changes: packing, cancel, moving a closed day, no-shows
  reading   one order, a day's list
"""

from __future__ import annotations

from edge.domain.orders.creating import create_order, free_pickup_code
from edge.domain.orders.lines import add_items, make_line
from edge.domain.orders.reading import ORDER_COLUMNS, get_order, list_orders
from edge.domain.orders.rules import (
    CHANNELS,
    DELIVERY_MODES,
    HANDED_OVER,
    MAX_AMOUNT_FEN,
    MAX_ITEMS,
    MAX_KEY_LEN,
    NEXT,
    OPEN,
    OPEN_STATUSES,
    RANK,
    STATUSES,
    TERMINAL,
    Created,
    ItemInput,
    OrderInput,
    can_move,
)
from edge.domain.orders.same_day import OpenOrderExists, last_channel, open_orders, version_of
from edge.domain.orders.status import (
    OTHER_ROUTES,
    cancel,
    mark_no_shows,
    mark_packed,
    move_open_orders,
    set_status,
)
from edge.store.statuses import OrderStatus

__all__ = [
    "CHANNELS",
    "DELIVERY_MODES",
    "HANDED_OVER",
    "MAX_AMOUNT_FEN",
    "MAX_ITEMS",
    "MAX_KEY_LEN",
    "NEXT",
    "OPEN",
    "OPEN_STATUSES",
    "ORDER_COLUMNS",
    "OTHER_ROUTES",
    "RANK",
    "STATUSES",
    "TERMINAL",
    "Created",
    "ItemInput",
    "OpenOrderExists",
    "OrderInput",
    "OrderStatus",
    "add_items",
    "can_move",
    "cancel",
    "create_order",
    "free_pickup_code",
    "get_order",
    "last_channel",
    "list_orders",
    "make_line",
    "mark_no_shows",
    "mark_packed",
    "move_open_orders",
    "open_orders",
    "set_status",
    "version_of",
]
