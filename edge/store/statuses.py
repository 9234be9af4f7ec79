"""The statuses an order, a care booking, a recurring booking and an activity sign-up
can be in, as the store keeps them.

They are `StrEnum`s: a member *is* its text (`OrderStatus.PACKED == "packed"`), so rows
written before keep reading the same, and a member goes into SQL parameters and JSON as
plain text. They live in the store, not the domain, because both sides of sync read them:
the domain moves a row from one status to the next, and sync's merge rule
(`sync.merge.STATUS_RANKS`) keeps a status from moving back, with the ranks below.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class OrderStatus(StrEnum):
    PLACED = "placed"
    PACKED = "packed"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# Waiting to be handed over.
ORDER_OPEN = frozenset({OrderStatus.PLACED, OrderStatus.PACKED})
# Handed to the household: the ones weights, payments and voids apply to.
ORDER_HANDED_OVER = frozenset({OrderStatus.PICKED_UP, OrderStatus.DELIVERED})
# Ended: nothing moves an order on from these.
ORDER_TERMINAL = frozenset(OrderStatus) - ORDER_OPEN
# How far along: a status only ever moves to a higher rank (the ends share the top one).
ORDER_RANK: dict[str, int] = {
    OrderStatus.PLACED: 0,
    OrderStatus.PACKED: 1,
    **dict.fromkeys(ORDER_TERMINAL, 2),
}


class BookingStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    ASSIGNED = "assigned"
    STARTED = "started"
    DONE = "done"
    NOT_AT_HOME = "not_at_home"
    CANCELLED = "cancelled"


# Not yet started, not ended.
BOOKING_OPEN = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED, BookingStatus.ASSIGNED)
# Ended with a visit made (or tried): what a statement counts and bills.
BOOKING_VISITED = (BookingStatus.DONE, BookingStatus.NOT_AT_HOME)
# requested < confirmed < assigned < started < the ends.
BOOKING_RANK: dict[str, int] = {
    BookingStatus.REQUESTED: 0,
    BookingStatus.CONFIRMED: 1,
    BookingStatus.ASSIGNED: 2,
    BookingStatus.STARTED: 3,
    BookingStatus.DECLINED: 4,
    BookingStatus.DONE: 4,
    BookingStatus.NOT_AT_HOME: 4,
    BookingStatus.CANCELLED: 4,
}


class SeriesStatus(StrEnum):
    """A recurring booking (`care_series`): active, paused from a day (the elder is in
    hospital), or ended."""

    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class SignupStatus(StrEnum):
    """A place at a neighbourhood activity (`care_signups`): booked while places are
    left, else waiting in the order people came; a cancel ends it."""

    BOOKED = "booked"
    WAITING = "waiting"
    CANCELLED = "cancelled"


# Holding a place or a place in the queue: one such sign-up per person and activity.
SIGNUP_HOLDING = (SignupStatus.BOOKED, SignupStatus.WAITING)


@cache
def sql_in(statuses: frozenset[StrEnum] | tuple[StrEnum, ...]) -> str:
    """`('placed', 'packed')` for `status IN …` in a fixed query. Only for enum members,
    whose text is ours (no quote in it), never for anything a request sent. A frozenset
    or tuple, so the text is made once per set."""
    texts = sorted(s.value for s in statuses)
    if not texts or any("'" in t for t in texts):
        raise ValueError(f"not a list of statuses: {texts!r}")
    return "(" + ", ".join(f"'{t}'" for t in texts) + ")"
