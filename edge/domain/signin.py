"""Sign-in throttling: how many wrong PINs a name gets, and who tried.

A PIN is short, so wrong PINs are counted per staff name in the database
(`signin_failures`), whatever address they come from: an attacker with 80 addresses
or a forged X-Forwarded-For gets the same few guesses as one tablet. The first
`free_failures` are free; after that each attempt waits a delay that doubles, and at
`lock_failures` the name is locked until a manager lifts it (on the Today page, or
with the manager's PIN on the locked sign-in form) or `linli staff set-pin` gives a
new PIN. The count lives in the database, not in memory, so restarting the box (or
crashing it) gives no fresh guesses, and `set-pin`, which runs in another process,
can clear it. `LoginLimiter` is the in-memory per-(client, name) window the hub's
sign-ins use as well. Sessions and tokens are `edge.domain.auth`'s.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.errors import TooManyRequests
from edge.store import Tx

MAX_TRACKED = 10_000  # (client, name) pairs with recent failures kept in memory
ALERT_ROWS = 20  # names shown in the manager's sign-in alert


def _local_now() -> datetime:
    return datetime.now()


@dataclass(frozen=True)
class SignInPolicy:
    """How many wrong PINs a name gets, and how long sessions live (from Settings)."""

    free_failures: int = 5  # wrong PINs a name gets with no wait
    delay_s: float = 30.0  # the wait after the last free one, doubling with each more
    max_delay_s: float = 900.0
    lock_failures: int = 10  # then locked until a manager lifts it (or set-pin)
    page_idle_s: int | None = 4 * 3600  # a tablet session unused this long ends
    page_max_age_s: int | None = 14 * 3600  # and any ends after the working day
    api_idle_s: int | None = None  # API tokens (machines) stay until revoked
    api_max_age_s: int | None = None
    now: Callable[[], datetime] = field(default=_local_now)  # the box's local time

    @classmethod
    def of(cls, settings: Any) -> SignInPolicy:
        return cls(
            free_failures=settings.login_max_failures,
            delay_s=settings.login_delay_s,
            max_delay_s=settings.login_max_delay_s,
            lock_failures=settings.login_lock_failures,
            page_idle_s=settings.session_idle_s or None,
            page_max_age_s=settings.session_max_age_s or None,
            now=settings.now,
        )

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after this many wrong PINs in a row (inf: locked)."""
        if failures < self.free_failures:
            return 0.0
        if failures >= self.lock_failures:
            return math.inf
        return float(min(self.delay_s * 2 ** (failures - self.free_failures), self.max_delay_s))

    def lifetimes(self, kind: str) -> tuple[int | None, int | None]:
        if kind == "page":
            return self.page_idle_s, self.page_max_age_s
        return self.api_idle_s, self.api_max_age_s


class Locked(TooManyRequests):
    """Too many wrong PINs for a name: a manager must lift it."""


def client_address(request: Any, trusted_proxies: tuple[str, ...] = ()) -> str:
    """Who is asking, for the manager's alert (never for the limit, which is per name).

    With no proxy configured a forwarded header is not believed: the server may
    already have put its claim into `request.client`, so such a request is
    marked as unverified instead."""
    peer = request.client.host if request.client else "?"
    forwarded = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    if forwarded and not trusted_proxies:
        return "forwarded (unverified)"
    return str(peer)[:64]


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def parse_moment(value: str | None) -> datetime | None:
    """An ISO time from the database, as an aware time (a naive one is the box's local)."""
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment is not None else None


def seconds_since(then: datetime | None, now: datetime) -> float:
    if then is None:
        return math.inf
    return (now.astimezone(UTC) - then).total_seconds()


def record_attempt(tx: Tx, name: str, client: str, policy: SignInPolicy) -> None:
    """Refuse the attempt if the name must wait or is locked; else count it as a
    wrong PIN until `record_success` says otherwise (in one write, so attempts
    sent all at once are counted one after the other)."""
    now = policy.now()
    row = tx.one("SELECT failures, last_at FROM signin_failures WHERE name = ?", (name,))
    if row is not None:
        wait = policy.delay_after(int(row["failures"]))
        if math.isinf(wait):
            raise Locked(
                "too many wrong PINs for this name: it is locked until a manager "
                "unlocks it (the manager's PIN on this page, or the Today page)"
            )
        elapsed = seconds_since(parse_moment(row["last_at"]), now)
        left = wait - (elapsed if math.isfinite(elapsed) else 0.0)
        if left > 0:
            raise TooManyRequests(
                f"too many wrong PINs for this name; try again in {math.ceil(left)} s"
            )
    else:  # made-up names must not pile up: forget them after a day
        tx.execute(
            "DELETE FROM signin_failures WHERE last_at < ?"
            " AND name NOT IN (SELECT name FROM staff WHERE active = 1)",
            (stamp(now - timedelta(days=1)),),
        )
    tx.execute(
        "INSERT INTO signin_failures (name, failures, unseen, first_at, last_at, last_from)"
        " VALUES (?, 1, 1, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET failures = failures + 1, unseen = unseen + 1,"
        " last_at = excluded.last_at, last_from = excluded.last_from",
        (name, stamp(now), stamp(now), client),
    )


def record_success(tx: Tx, name: str, policy: SignInPolicy) -> None:
    """The right PIN: the wait ends. A run of wrong PINs the manager should see stays
    in `unseen` until a manager clears it."""
    tx.execute("UPDATE signin_failures SET failures = 0 WHERE name = ?", (name,))
    tx.execute(
        "DELETE FROM signin_failures WHERE name = ? AND unseen < ?",
        (name, policy.free_failures),
    )


def clear_failures(tx: Tx, name: str) -> bool:
    """A manager lifts a name's wait or lock (and dismisses its alert)."""
    return tx.execute("DELETE FROM signin_failures WHERE name = ?", (name,)).rowcount > 0


def signin_alerts(conn: sqlite3.Connection, policy: SignInPolicy) -> list[dict[str, Any]]:
    """Names with a run of wrong PINs a manager has not cleared, locked ones first."""
    rows = conn.execute(
        "SELECT f.name, f.failures, f.unseen, f.first_at, f.last_at, f.last_from,"
        " s.id IS NOT NULL AS known"
        " FROM signin_failures f LEFT JOIN staff s ON s.name = f.name AND s.active = 1"
        " WHERE f.unseen >= ? OR f.failures >= ?"
        " ORDER BY f.failures >= ? DESC, known DESC, f.last_at DESC LIMIT ?",
        (policy.free_failures, policy.free_failures, policy.lock_failures, ALERT_ROWS),
    ).fetchall()
    return [
        {
            **dict(r),
            "known": bool(r["known"]),
            "locked": r["failures"] >= policy.lock_failures,
            "waiting": policy.free_failures <= r["failures"] < policy.lock_failures,
        }
        for r in rows
    ]


class LoginLimiter:
    """Sliding-window count of failed sign-ins per (client, name)."""

    def __init__(self, max_failures: int, window_s: int) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, name: str) -> None:
        with self._lock:
            self._check(client, name)

    def failed(self, client: str, name: str) -> None:
        with self._lock:
            self._failed(client, name)

    def attempt(self, client: str, name: str) -> None:
        """`check`, then count this attempt as failed until `succeeded` clears it.

        In one step, so sign-ins sent all at once cannot slip past the limit
        while earlier ones are still verifying the PIN in a thread.
        """
        with self._lock:
            self._check(client, name)
            self._failed(client, name)

    def _check(self, client: str, name: str) -> None:
        window = self._failures.get((client, name))
        if window is None:
            return
        window = self._recent(client, name)
        if len(window) >= self.max_failures:
            wait = int(self.window_s - (time.monotonic() - window[0])) + 1
            raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s")

    def _failed(self, client: str, name: str) -> None:
        self._recent(client, name).append(time.monotonic())
        if len(self._failures) > MAX_TRACKED:  # made-up names must not grow memory
            for key in list(self._failures):
                if not self._recent(*key):
                    del self._failures[key]

    def succeeded(self, client: str, name: str) -> None:
        with self._lock:
            self._failures.pop((client, name), None)

    def _recent(self, client: str, name: str) -> deque[float]:
        window = self._failures.setdefault((client, name), deque())
        cutoff = time.monotonic() - self.window_s
        while window and window[0] < cutoff:
            window.popleft()
        return window
