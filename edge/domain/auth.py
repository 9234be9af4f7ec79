"""Staff accounts, PIN sign-in, tablet sessions and API bearer tokens.

A PIN is short, so it is hashed with argon2, and wrong PINs are counted per
staff name in the database: the waits and locks are `edge.domain.signin`'s.

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
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.domain.signin import (
    LoginLimiter,
    SignInPolicy,
    clear_failures,
    parse_moment,
    record_attempt,
    record_success,
    seconds_since,
    signin_alerts,
    stamp,
)
from edge.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from edge.store import Store, Tx
from edge.store.ids import new_id

ROLES = ("manager", "staff", "volunteer")
PIN_RE = re.compile(r"^[0-9]{4,8}$")  # ASCII digits only; a bare \d also takes "٣"
MAX_CACHED = 10_000  # tokens kept in the staff_for cache
TOUCH_S = 60  # a session's last use is written at most this often
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
        last = parse_moment(row["last_seen_at"]) or parse_moment(row["created_at"])
        if row["idle_s"] and seconds_since(last, now) >= TOUCH_S:
            seen = stamp(now)
            await self.store.write(
                lambda tx: tx.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (seen, key)
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
    made = now_iso()
    tx.insert(
        "sessions",
        {
            "token_hash": hash_token(token),
            "staff_id": staff_id,
            "kind": kind,
            "created_at": made,
            "last_seen_at": made,
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
    created = parse_moment(row["created_at"])
    if created is None:
        return True
    last = parse_moment(row["last_seen_at"]) or created
    if row["max_age_s"] and seconds_since(created, now) > row["max_age_s"]:
        return True
    return bool(row["idle_s"] and seconds_since(last, now) > row["idle_s"])


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
