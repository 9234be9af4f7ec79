"""Hybrid logical clock: orders changes across sites whose wall clocks lie.

Boxes have no real-time clock and may boot days off. A stamp packs the
largest wall time seen (milliseconds) and a counter into one integer, so
stamps only grow on a site and a received stamp pushes the local clock
forward. Wall time is information only; this integer is what orders changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def wall_ms_of(stamp: int) -> int:
    return stamp >> COUNTER_BITS


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """A thread-safe HLC. `last` restores the clock after a restart."""

    def __init__(self, last: int = 0, now_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._last = last
        self._now_ms = now_ms
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def now(self) -> int:
        """A stamp for a local event, greater than every stamp seen so far."""
        with self._lock:
            wall = self._now_ms()
            last_wall, last_counter = wall_ms_of(self._last), self._last & COUNTER_MASK
            if wall > last_wall:
                self._last = pack(wall, 0)
            else:
                self._last = self._bump(last_wall, last_counter)
            return self._last

    def observe(self, remote: int) -> int:
        """Merge a stamp received from another site; returns the new local stamp."""
        with self._lock:
            wall = self._now_ms()
            top = max(self._last, remote)
            top_wall, top_counter = wall_ms_of(top), top & COUNTER_MASK
            if wall > top_wall:
                self._last = pack(wall, 0)
            else:
                self._last = self._bump(top_wall, top_counter)
            return self._last

    @staticmethod
    def _bump(wall: int, counter: int) -> int:
        if counter >= COUNTER_MASK:  # counter overflow: borrow a millisecond
            return pack(wall + 1, 0)
        return pack(wall, counter + 1)

    def offset_ms(self) -> int:
        """How far the logical clock runs ahead of this box's wall clock."""
        return wall_ms_of(self._last) - self._now_ms()
