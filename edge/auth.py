"""Staff accounts, PIN sign-in, tablet sessions and API bearer tokens.

A PIN is short, so it is hashed with argon2 and sign-in failures are
rate-limited per client and name. A successful sign-in makes a random token
whose sha256 is stored: tablets keep it in a long-lived cookie, API clients
send it as `Authorization: Bearer`. Token checks are a hash and a cached
lookup, so they cost nothing on the hot path.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from edge.ids import new_id
from edge.store import Store, Tx

ROLES = ("manager", "staff", "volunteer")
PIN_RE = re.compile(r"^[0-9]{4,8}$")  # ASCII digits only; a bare \d also takes "٣"
MAX_TRACKED = 10_000  # (client, name) pairs with recent failures kept in memory
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


class Auth:
    """Signs staff in and resolves tokens to staff, with an in-memory cache."""

    def __init__(self, store: Store, limiter: LoginLimiter) -> None:
        self.store = store
        self.limiter = limiter
        self._cache: dict[str, Staff] = {}

    async def sign_in(self, client: str, name: str, pin: str, kind: str) -> tuple[str, Staff]:
        name = (name or "").strip()
        self.limiter.attempt(client, name)
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
        self.limiter.succeeded(client, name)
        staff = Staff(id=row["id"], name=row["name"], role=row["role"])
        token = secrets.token_urlsafe(32)
        await self.store.write(
            lambda tx: tx.insert(
                "sessions",
                {
                    "token_hash": hash_token(token),
                    "staff_id": staff.id,
                    "kind": kind,
                    "created_at": now_iso(),
                },
                log=False,
            )
        )
        return token, staff

    async def staff_for(self, token: str | None) -> Staff | None:
        if not token:
            return None
        key = hash_token(token)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        row = await self.store.read(lambda c: _lookup(c, key))
        if row is None:
            return None
        staff = Staff(id=row["id"], name=row["name"], role=row["role"])
        self._cache[key] = staff
        return staff

    async def sign_out(self, token: str) -> None:
        key = hash_token(token)
        self._cache.pop(key, None)
        await self.store.write(
            lambda tx: tx.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
        )


def issue_token(tx: Tx, staff_id: str, kind: str = "api") -> str:
    """A token for a staff member without a PIN round-trip (CLI, demo, bench)."""
    token = secrets.token_urlsafe(32)
    tx.insert(
        "sessions",
        {
            "token_hash": hash_token(token),
            "staff_id": staff_id,
            "kind": kind,
            "created_at": now_iso(),
        },
        log=False,
    )
    return token


def _lookup(conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT staff.id, staff.name, staff.role FROM sessions"
        " JOIN staff ON staff.id = sessions.staff_id"
        " WHERE sessions.token_hash = ? AND staff.active = 1",
        (key,),
    ).fetchone()
    return row


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
