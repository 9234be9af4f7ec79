"""Enrolment: the hub issues each centre a site id and a credential; the box joins.

The credential is a random 256-bit token shown once; the hub keeps only its
sha256 (a token this long needs no slow hash). Revoking marks the centre so
every later request with that token is refused (403). Operator accounts for
the hub pages live here too: their passwords are short, so argon2.

Joining (`linli centre join`): the box asks the hub who the token belongs to
(GET /sync/v1/hello) and takes the site id the hub issued. A box that already
has that site id just stores the credential. A box with another site id that
has never been enrolled is re-owned: every reference to its old site id, in
its rows and its unsent change log, is rewritten to the issued one in one
transaction (ULIDs are unique, so an exact match is always a site reference).
A box already enrolled elsewhere is refused. The operator may instead adopt
the box's own id: `linli hub add-centre --site-id <the box's id>`.

Joining never happens under a running centre server: the server holds a
shared lock on `<db>-serve.lock` for as long as it runs (`serving_lock`,
taken by `edge.sync_hooks.sync_lifespan`) and the join needs it exclusive
(`joining_lock`). A server caches its site id when it opens the database, so
a demo box re-owned under a running server would go on writing new orders
under the old site id, which no push ever sends (and which the box's own
idempotency and pickup-code checks no longer see).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.store import Store, Tx, get_meta, set_meta
from edge.store.ids import new_id
from sync.errors import BadBatch, NotFound, SyncError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
OPERATOR_ROLES = ("operator", "supervisor", "hotline")  # hotline: the 12349 desk (m111)


@functools.cache
def unknown_operator_hash() -> str:
    """Verified against when the operator name is unknown, so timing does not tell
    names apart. Made on first use (19 MiB of hashing, not at import)."""
    return _hasher.hash(secrets.token_urlsafe(16))


# Keys of the centre's `meta` that enrolment writes.
META_HUB_URL = "sync_hub_url"
META_TOKEN = "sync_token"
META_HUB_SITE = "sync_hub_site_id"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- hub side ----------------------------------------------------------------


def init_hub(store: Store, name: str = "Linli hub") -> str:
    """Give a hub database its site id on first start; returns the id."""
    if store.site_id:
        return store.site_id

    def write(tx: Tx) -> str:
        existing = get_meta(tx.conn, "site_id")
        if existing:
            return existing
        site = new_id()
        set_meta(tx.conn, "site_id", site)
        set_meta(tx.conn, "role", "hub")
        set_meta(tx.conn, "centre_name", name)
        set_meta(tx.conn, "secret", secrets.token_hex(32))
        return site

    site = store.write_sync(write)
    store.set_site(site)
    return site


@dataclass(frozen=True, slots=True)
class Enrolment:
    site_id: str
    name: str
    token: str


def add_centre(tx: Tx, name: str, site_id: str | None = None) -> Enrolment:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise BadBatch("a centre name is 1 to 60 characters")
    site = (site_id or "").strip() or new_id()
    if site == tx.site_id:
        raise BadBatch("that is the hub's own site id")
    if tx.one("SELECT 1 FROM sync_centres WHERE site_id = ?", (site,)):
        raise SyncError(f"centre {site} is already enrolled")
    token = "lc_" + secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO sync_centres (site_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
        (site, name, hash_token(token), now_iso()),
    )
    return Enrolment(site, name, token)


def revoke_centre(tx: Tx, site_id: str) -> None:
    cur = tx.execute("UPDATE sync_centres SET revoked = 1 WHERE site_id = ?", (site_id,))
    if cur.rowcount == 0:
        raise NotFound(f"no centre {site_id}")


def new_token(tx: Tx, site_id: str) -> str:
    """A fresh credential for an enrolled centre (the old one stops working)."""
    token = "lc_" + secrets.token_urlsafe(32)
    cur = tx.execute(
        "UPDATE sync_centres SET token_hash = ?, revoked = 0 WHERE site_id = ?",
        (hash_token(token), site_id),
    )
    if cur.rowcount == 0:
        raise NotFound(f"no centre {site_id}")
    return token


def add_operator(tx: Tx, name: str, password: str, role: str = "operator") -> str:
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise BadBatch("an operator name is 1 to 40 characters")
    if len(password or "") < 8:
        raise BadBatch("an operator password is at least 8 characters")
    if role not in OPERATOR_ROLES:
        raise BadBatch(f"role must be one of {', '.join(OPERATOR_ROLES)}")
    if tx.one("SELECT 1 FROM sync_operators WHERE name = ?", (name,)):
        raise SyncError(f"operator {name!r} already exists")
    op_id = new_id()
    tx.execute(
        "INSERT INTO sync_operators (id, name, role, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (op_id, name, role, _hasher.hash(password), now_iso()),
    )
    return op_id


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- centre side -------------------------------------------------------------


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}-serve.lock")


def _open_lock(db_path: str | Path) -> int:
    return os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def joining_lock(db_path: str | Path) -> Iterator[None]:
    """Held while joining; refused (SyncError) while a centre server runs on the file."""
    fd = _open_lock(db_path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError(
                f"a Linli server is running on {db_path}: stop it (linli serve), join, "
                "then start it again; nothing was changed"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def try_serving_lock(db_path: str | Path) -> int | None:
    """A running server's shared lock: the descriptor to close at shutdown, or None
    while a join holds the file (try again shortly)."""
    fd = _open_lock(db_path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def join(tx: Tx, *, hub_url: str, token: str, site_id: str, hub_site_id: str, name: str) -> str:
    """Store the credential in the centre's meta, adopting the issued site id."""
    current = get_meta(tx.conn, "site_id") or ""
    enrolled_hub = get_meta(tx.conn, META_HUB_URL)
    if current and current != site_id:
        if enrolled_hub:
            raise SyncError(
                f"this box is already enrolled as {current} with {enrolled_hub}; "
                "ask the hub for a credential for that site id"
            )
        reown(tx.conn, current, site_id)
    if not current:
        set_meta(tx.conn, "centre_name", name)
        set_meta(tx.conn, "role", "centre")
        set_meta(tx.conn, "secret", secrets.token_hex(32))
    if not get_meta(tx.conn, "install_id"):
        set_meta(tx.conn, "install_id", new_id())
    set_meta(tx.conn, "site_id", site_id)
    set_meta(tx.conn, META_HUB_URL, hub_url.rstrip("/"))
    set_meta(tx.conn, META_TOKEN, token)
    set_meta(tx.conn, META_HUB_SITE, hub_site_id)
    return site_id


def reown(conn: sqlite3.Connection, old: str, new: str) -> int:
    """Rewrite every reference to site `old` as `new` (rows and change log)."""
    count = 0
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for tbl in tables:
        if tbl == "meta" or tbl.startswith("_"):  # `_` tables follow by their triggers
            continue
        for col in conn.execute(f"PRAGMA table_info({tbl})").fetchall():
            if (col[2] or "").upper() not in ("TEXT", ""):
                continue
            cur = conn.execute(f"UPDATE {tbl} SET {col[1]} = ? WHERE {col[1]} = ?", (new, old))
            count += max(cur.rowcount, 0)
    conn.execute(
        "UPDATE changes SET fields = replace(fields, ?, ?) WHERE instr(fields, ?) > 0",
        (f'"{old}"', f'"{new}"', old),
    )
    return count
