"""Supplier accounts: a bearer token shown once (kept as its SHA-256), and the centres
each co-op supplies (`supply_supplier_centres`); hub-local, never synced."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar import Request

from edge.errors import BadRequest, Conflict, Forbidden, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from sync.enrol import hash_token, now_iso

AnyRequest = Request[Any, Any, Any]

# --- accounts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    name: str
    centres: frozenset[str] = frozenset()  # site ids of the centres it supplies

    def check_supplies(self, centre_id: str, field: str = "centre_id") -> None:
        """403 naming the centre unless this co-op supplies it."""
        if centre_id not in self.centres:
            raise Forbidden(
                f"co-op {self.name} does not supply centre {centre_id}; the hub operator "
                "links it with `linli hub supplier-centres`",
                field=field,
            )


def _conn(conn_or_tx: sqlite3.Connection | Tx) -> sqlite3.Connection:
    return conn_or_tx.conn if isinstance(conn_or_tx, Tx) else conn_or_tx


def _enrolled(conn: sqlite3.Connection, site_ids: Iterable[str]) -> list[str]:
    """The site ids, each checked to be an enrolled centre that is not revoked."""
    out: list[str] = []
    for site in site_ids:
        site = (site or "").strip()
        if not site:
            continue
        row = conn.execute(
            "SELECT 1 FROM sync_centres WHERE site_id = ? AND revoked = 0", (site,)
        ).fetchone()
        if row is None:
            raise BadRequest(f"no centre {site!r} on this hub", field="centre_id")
        if site not in out:
            out.append(site)
    return out


def create_supplier(
    conn_or_tx: sqlite3.Connection | Tx, name: str, centres: Iterable[str] | None = None
) -> str:
    """Add a co-op account on the hub; returns its bearer token (shown once, stored hashed).

    `centres`: the site ids of the centres it supplies; None = every centre
    enrolled (and not revoked) now. A centre enrolled later is linked with
    `link_centres`.
    """
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise BadRequest("a supplier name is 1 to 80 characters", field="name")
    token = "sup_" + secrets.token_urlsafe(32)
    conn = _conn(conn_or_tx)
    if conn.execute("SELECT 1 FROM supply_suppliers WHERE name = ?", (name,)).fetchone():
        raise Conflict(f"a supplier named {name!r} exists; issue it a new token instead")
    sites = [s for s, _ in _centre_rows(conn)] if centres is None else _enrolled(conn, centres)
    supplier_id = new_id()
    conn.execute(
        "INSERT INTO supply_suppliers (id, name, token_hash, active, created_at)"
        " VALUES (?, ?, ?, 1, ?)",
        (supplier_id, name, hash_token(token), now_iso()),
    )
    _link(conn, supplier_id, sites)
    return token


def _link(conn: sqlite3.Connection, supplier_id: str, sites: Iterable[str]) -> None:
    stamp = now_iso()
    conn.executemany(
        "INSERT OR IGNORE INTO supply_supplier_centres (supplier_id, centre_id, created_at)"
        " VALUES (?, ?, ?)",
        [(supplier_id, site, stamp) for site in sites],
    )


def link_centres(
    conn_or_tx: sqlite3.Connection | Tx,
    name: str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """Change which centres the co-op `name` supplies; returns them as (site_id, name)."""
    conn = _conn(conn_or_tx)
    row = conn.execute("SELECT id FROM supply_suppliers WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no supplier named {name!r}")
    supplier_id = str(row[0])
    _link(conn, supplier_id, _enrolled(conn, add))
    conn.executemany(
        "DELETE FROM supply_supplier_centres WHERE supplier_id = ? AND centre_id = ?",
        [(supplier_id, site) for site in remove],
    )
    return supplied_centres(conn, supplier_id)


def supplied_centres(conn: sqlite3.Connection, supplier_id: str) -> list[tuple[str, str]]:
    """The centres a co-op supplies as (site_id, name), by name; revoked ones left out."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT c.site_id, c.name FROM supply_supplier_centres l"
            " JOIN sync_centres c ON c.site_id = l.centre_id"
            " WHERE l.supplier_id = ? AND c.revoked = 0 ORDER BY c.name, c.site_id",
            (supplier_id,),
        )
    ]


def supplier_for(conn: sqlite3.Connection, token: str | None) -> Supplier | None:
    if not token:
        return None
    row = conn.execute(
        "SELECT id, name FROM supply_suppliers WHERE token_hash = ? AND active = 1",
        (hash_token(token),),
    ).fetchone()
    if row is None:
        return None
    sites = frozenset(s for s, _ in supplied_centres(conn, row["id"]))
    return Supplier(row["id"], row["name"], sites)


def _tuples(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> Iterable[Any]:
    """Rows as plain tuples, for a read of thousands of rows: on SQLite a cursor without
    the connection's `Row` factory, on PostgreSQL `PgConn.tuples`."""
    if isinstance(conn, sqlite3.Connection):
        cur = conn.cursor()
        cur.row_factory = None
        return cur.execute(sql, params)
    return conn.tuples(sql, params)  # type: ignore[attr-defined,no-any-return]  # PgConn


def _centre_rows(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in _tuples(
            conn,
            "SELECT site_id, name FROM sync_centres WHERE revoked = 0 ORDER BY name, site_id",
            (),
        )
    ]
