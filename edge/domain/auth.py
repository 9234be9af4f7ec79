"""Staff accounts, PIN sign-in, tablet sessions and API bearer tokens.

A PIN is short, so it is hashed with argon2, and wrong PINs are counted per
staff name in the database (`signin_failures`), whatever address they come
from: an attacker with 80 addresses or a forged X-Forwarded-For gets the same
few guesses as one tablet. The first `free_failures` are free; after that each
attempt waits a delay that doubles, and at `lock_failures` the name is locked
until a manager lifts it (on the Today page, or with the manager's PIN on the
locked sign-in form) or `linli staff set-pin` gives a new PIN. The count lives
in the database, not in memory, so restarting the box (or crashing it) gives
no fresh guesses, and `set-pin`, which runs in another process, can clear it.

A successful sign-in makes a random token whose sha256 is stored: tablets keep
it in a cookie, API clients send it as `Authorization: Bearer`. A tablet
session ends on the server after `idle_s` without use or `max_age_s` in all
(the working day); API tokens for machines stay until revoked. A PIN change,
removing the person or signing out ends their sessions in the database; the
in-memory cache re-reads each token after `cache_s` seconds, so a change made
by another process (the CLI) ends a session within that time, and one made by
this server (sign-out, unlock) at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import re
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from edge.store import Store, Tx
from edge.store.ids import new_id

ROLES = ("manager", "staff", "volunteer")
PIN_RE = re.compile(r"^[0-9]{4,8}$")  # ASCII digits only; a bare \d also takes "٣"
MAX_TRACKED = 10_000  # (client, name) pairs with recent failures kept in memory
MAX_CACHED = 10_000  # tokens kept in the staff_for cache
TOUCH_S = 60  # a session's last use is written at most this often
ALERT_ROWS = 20  # names shown in the manager's sign-in alert
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    name: str
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def sees_phones(self) -> bool:
        """Volunteers deliver with masked phones; staff and managers see them."""
        return self.role in ("manager", "staff")

    def sees_phones_on(self, day: str, today: str) -> bool:
        """A volunteer rings the residents on the day they deliver to them, and only
        then: the delivery list shows them the whole number for today's round only."""
        return self.sees_phones or (self.role == "volunteer" and day == today)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _parse(value: str | None) -> datetime | None:
    """An ISO time from the database, as an aware time (a naive one is the box's local)."""
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment is not None else None


def _seconds_since(then: datetime | None, now: datetime) -> float:
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
        elapsed = _seconds_since(_parse(row["last_at"]), now)
        left = wait - (elapsed if math.isfinite(elapsed) else 0.0)
        if left > 0:
            raise TooManyRequests(
                f"too many wrong PINs for this name; try again in {math.ceil(left)} s"
            )
    else:  # made-up names must not pile up: forget them after a day
        tx.execute(
            "DELETE FROM signin_failures WHERE last_at < ?"
            " AND name NOT IN (SELECT name FROM staff WHERE active = 1)",
            (_stamp(now - timedelta(days=1)),),
        )
    tx.execute(
        "INSERT INTO signin_failures (name, failures, unseen, first_at, last_at, last_from)"
        " VALUES (?, 1, 1, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET failures = failures + 1, unseen = unseen + 1,"
        " last_at = excluded.last_at, last_from = excluded.last_from",
        (name, _stamp(now), _stamp(now), client),
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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_pin(pin: str) -> str:
    if not PIN_RE.match(pin or ""):
        raise BadRequest("PIN must be 4 to 8 digits", field="pin")
    return pin


def add_staff(tx: Tx, name: str, role: str, pin: str) -> Staff:
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise BadRequest("name must be 1 to 40 characters", field="name")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}", field="role")
    validate_pin(pin)
    if tx.one("SELECT 1 FROM staff WHERE site_id = ? AND name = ?", (tx.site_id, name)):
        raise BadRequest(f"staff member {name!r} already exists", field="name")
    staff = Staff(id=new_id(), name=name, role=role)
    tx.insert(
        "staff",
        {
            "id": staff.id,
            "site_id": tx.site_id,
            "name": name,
            "role": role,
            "pin_hash": _hasher.hash(pin),
            "active": 1,
            "created_at": now_iso(),
        },
    )
    return staff


def set_pin(tx: Tx, name: str, pin: str) -> Staff:
    """A new PIN for a forgotten one, or for staff recovered from the hub without
    theirs (PINs never leave the box). Signs the person out of every tablet."""
    validate_pin(pin)
    row = tx.one(
        "SELECT id, name, role FROM staff WHERE site_id = ? AND name = ?",
        (tx.site_id, (name or "").strip()),
    )
    if row is None:
        raise NotFound(f"no staff member {name!r}")
    tx.update("staff", row["id"], {"pin_hash": _hasher.hash(pin)})
    tx.execute("DELETE FROM sessions WHERE staff_id = ?", (row["id"],))
    clear_failures(tx, row["name"])  # a new PIN lifts a lock on the name
    return Staff(id=row["id"], name=row["name"], role=row["role"])


def remove_staff(tx: Tx, name: str) -> Staff:
    """The person leaves: no more sign-ins, and every session and token ends."""
    row = tx.one(
        "SELECT id, name, role FROM staff WHERE site_id = ? AND name = ? AND active = 1",
        (tx.site_id, (name or "").strip()),
    )
    if row is None:
        raise NotFound(f"no staff member {name!r}")
    tx.update("staff", row["id"], {"active": 0})
    tx.execute("DELETE FROM sessions WHERE staff_id = ?", (row["id"],))
    clear_failures(tx, row["name"])
    return Staff(id=row["id"], name=row["name"], role=row["role"])


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


@dataclass(slots=True)
class _Cached:
    staff: Staff
    checked: float  # Auth.ticks() when the database last said yes
    kind: str  # "page" (a tablet's cookie) or "api" (a bearer token)


class Auth:
    """Signs staff in and resolves tokens to staff, with an in-memory cache that
    re-reads a token from the database every `cache_s` seconds."""

    def __init__(
        self,
        store: Store,
        limiter: LoginLimiter,
        policy: SignInPolicy | None = None,
        *,
        cache_s: float = 2.0,
    ) -> None:
        self.store = store
        self.limiter = limiter  # kept for its settings; the count is per name, in the database
        self.policy = policy or SignInPolicy(free_failures=limiter.max_failures)
        self.cache_s = cache_s
        self.ticks: Callable[[], float] = time.monotonic  # for the cache; tests move it
        self.utcnow: Callable[[], datetime] = lambda: datetime.now(UTC)  # for sessions
        self._cache: dict[str, _Cached] = {}

    async def verify(
        self, client: str, name: str, pin: str, policy: SignInPolicy | None = None
    ) -> Staff:
        """The staff member with this name and PIN; counted against the name if wrong."""
        policy = policy or self.policy
        name = (name or "").strip()[:40]
        await self.store.write(lambda tx: record_attempt(tx, name, client, policy))
        row = await self.store.read(
            lambda c: c.execute(
                "SELECT id, name, role, pin_hash FROM staff WHERE name = ? AND active = 1",
                (name,),
            ).fetchone()
        )
        # argon2 takes tens of ms: off the event loop, and as long for an unknown name.
        pin_hash = row["pin_hash"] if row is not None else unknown_name_hash()
        verified = await asyncio.to_thread(_verify, pin_hash, pin or "")
        if row is None or not verified:
            raise Unauthorized("wrong name or PIN")
        await self.store.write(lambda tx: record_success(tx, name, policy))
        return Staff(id=row["id"], name=row["name"], role=row["role"])

    async def sign_in(
        self, client: str, name: str, pin: str, kind: str, policy: SignInPolicy | None = None
    ) -> tuple[str, Staff]:
        policy = policy or self.policy
        staff = await self.verify(client, name, pin, policy)
        idle_s, max_age_s = policy.lifetimes(kind)
        token = await self.store.write(
            lambda tx: issue_token(tx, staff.id, kind, idle_s=idle_s, max_age_s=max_age_s)
        )
        return token, staff

    async def approving_manager(
        self, client: str, name: str, pin: str, policy: SignInPolicy | None = None
    ) -> Staff:
        """The station manager whose name and PIN were typed to allow a step (money
        going back out of the drawer). Wrong PINs count against that name, as at
        sign-in; a wrong PIN, a lock or someone not a manager is a 403 on `manager_pin`."""
        try:
            staff = await self.verify(client, name, pin, policy)
        except (Unauthorized, TooManyRequests) as exc:
            raise Forbidden(f"manager's name or PIN: {exc.detail}", field="manager_pin") from None
        if not staff.is_manager:
            raise Forbidden(f"{staff.name} is not a station manager", field="manager_pin")
        return staff

    async def unlock_with_manager(
        self, client: str, manager_name: str, manager_pin: str, name: str, policy: SignInPolicy
    ) -> Staff:
        """A manager's name and PIN, typed on a locked person's sign-in, lift the lock
        (the manager's own wrong PINs count against the manager's name)."""
        manager = await self.verify(client, manager_name, manager_pin, policy)
        require_manager(manager)
        await self.unlock((name or "").strip()[:40])
        return manager

    async def unlock(self, name: str) -> bool:
        return await self.store.write(lambda tx: clear_failures(tx, name))

    async def alerts(self, policy: SignInPolicy | None = None) -> list[dict[str, Any]]:
        policy = policy or self.policy
        return await self.store.read(lambda c: signin_alerts(c, policy))

    async def staff_for(self, token: str | None, kind: str | None = None) -> Staff | None:
        """The person behind a token. With `kind`, only a token of that kind: a page
        cookie is not an API token and an API token is not a page cookie."""
        if not token:
            return None
        key = hash_token(token)
        now_ticks = self.ticks()
        cached = self._cache.get(key)
        if cached is not None and now_ticks - cached.checked < self.cache_s:
            return cached.staff if kind in (None, cached.kind) else None
        row = await self.store.read(lambda c: _lookup(c, key))
        if row is None:
            self._cache.pop(key, None)
            return None
        now = self.utcnow()
        if _expired(row, now):
            self._cache.pop(key, None)
            await self.store.write(
                lambda tx: tx.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
            )
            return None
        last = _parse(row["last_seen_at"]) or _parse(row["created_at"])
        if row["idle_s"] and _seconds_since(last, now) >= TOUCH_S:
            stamp = _stamp(now)
            await self.store.write(
                lambda tx: tx.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (stamp, key)
                )
            )
        staff = Staff(id=row["id"], name=row["name"], role=row["role"])
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key] = _Cached(staff, now_ticks, row["kind"])
        return staff if kind in (None, row["kind"]) else None

    def forget(self, staff_id: str) -> None:
        """Drop a person's cached tokens (their sessions changed in the database)."""
        for key in [k for k, v in self._cache.items() if v.staff.id == staff_id]:
            self._cache.pop(key, None)

    async def sign_out(self, token: str, *, everywhere: bool = False) -> None:
        """End this session; with `everywhere`, every session and token of its person."""
        key = hash_token(token)
        self._cache.pop(key, None)

        def write(tx: Tx) -> str | None:
            row = tx.one("SELECT staff_id FROM sessions WHERE token_hash = ?", (key,))
            if row is None:
                return None
            if everywhere:
                tx.execute("DELETE FROM sessions WHERE staff_id = ?", (row["staff_id"],))
            else:
                tx.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
            return str(row["staff_id"])

        staff_id = await self.store.write(write)
        if everywhere and staff_id:
            self.forget(staff_id)


def issue_token(
    tx: Tx,
    staff_id: str,
    kind: str = "api",
    *,
    idle_s: int | None = None,
    max_age_s: int | None = None,
) -> str:
    """A token for a staff member (after a PIN, or without one: CLI, demo, bench).

    Without lifetimes it lasts until the PIN changes, the person is removed or it is
    signed out: what a machine's API token needs."""
    token = secrets.token_urlsafe(32)
    stamp = now_iso()
    tx.insert(
        "sessions",
        {
            "token_hash": hash_token(token),
            "staff_id": staff_id,
            "kind": kind,
            "created_at": stamp,
            "last_seen_at": stamp,
            "idle_s": idle_s,
            "max_age_s": max_age_s,
        },
        log=False,
    )
    return token


def _lookup(conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT staff.id, staff.name, staff.role, sessions.kind, sessions.created_at,"
        " sessions.last_seen_at, sessions.idle_s, sessions.max_age_s FROM sessions"
        " JOIN staff ON staff.id = sessions.staff_id"
        " WHERE sessions.token_hash = ? AND staff.active = 1",
        (key,),
    ).fetchone()
    return row


def _expired(row: sqlite3.Row, now: datetime) -> bool:
    """Past the session's idle or absolute lifetime (a date that cannot be read: yes)."""
    created = _parse(row["created_at"])
    if created is None:
        return True
    last = _parse(row["last_seen_at"]) or created
    if row["max_age_s"] and _seconds_since(created, now) > row["max_age_s"]:
        return True
    return bool(row["idle_s"] and _seconds_since(last, now) > row["idle_s"])


@functools.cache
def unknown_name_hash() -> str:
    """Verified against when the name is unknown, so timing does not tell which names
    exist. Made on first use: hashing takes 19 MiB, which would stay in an idle box."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def require_manager(staff: Staff) -> None:
    if not staff.is_manager:
        raise Forbidden("only a manager may do this")


def require_staff(staff: Staff) -> None:
    """Staff and managers; volunteers pack and hand over but do not cancel."""
    if staff.role not in ("manager", "staff"):
        raise Forbidden("only staff or a manager may do this")
