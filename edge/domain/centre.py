"""The centre itself: its site id, name and the box's secrets, kept in `meta`.

`init_centre` runs once on a new box (`linli centre init`, or the demo). The
site id is a ULID: it owns every row this centre writes (DESIGN invariant 4).
"""

from __future__ import annotations

import secrets

from edge.errors import Conflict
from edge.store import Store, get_meta, set_meta
from edge.store.ids import new_id


def init_centre(store: Store, name: str, site_id: str | None = None) -> str:
    def write(tx: object) -> str:
        from edge.store import Tx

        assert isinstance(tx, Tx)
        existing = get_meta(tx.conn, "site_id")
        if existing:
            raise Conflict(f"this database is already centre {existing}")
        new_site = site_id or new_id()
        set_meta(tx.conn, "site_id", new_site)
        set_meta(tx.conn, "centre_name", name)
        set_meta(tx.conn, "role", "centre")
        set_meta(tx.conn, "secret", secrets.token_hex(32))
        set_meta(tx.conn, "install_id", new_id())
        return new_site

    new_site = store.write_sync(write)
    store.set_site(new_site)
    return new_site


def centre_name(store: Store) -> str:
    return store.read_sync(lambda c: get_meta(c, "centre_name")) or "Linli"


def secret(store: Store) -> str:
    """The box's CSRF secret, made on first use if an old database has none."""
    value = store.read_sync(lambda c: get_meta(c, "secret"))
    if value:
        return value
    fresh = secrets.token_hex(32)
    store.write_sync(lambda tx: set_meta(tx.conn, "secret", fresh))
    return fresh
