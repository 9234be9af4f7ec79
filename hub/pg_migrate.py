"""`linli hub migrate --from var/hub.db --to postgresql://...`: move a hub from its
SQLite file into an empty PostgreSQL database, and check that nothing was lost.

Both ends are brought to the newest schema first (the same numbered migrations),
then every table is copied with COPY in one transaction, parents before the
tables that reference them, each in the order it was written. The copy is then
compared with the file: the row count of every table, and the change positions
(the last seq of each site in `changes` and `sync_log`, each centre's
acknowledged position) must agree, or the transaction is rolled back and
nothing is left half-moved. Stop the hub first: the file must not change
during the copy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.store import Store
from edge.store.dialect import quote, table_columns, table_names
from edge.store.pg import PgConn, apply_set, connect_url, migrate_postgres
from sync import schema as sync_schema
from sync.errors import SyncError

_LAST = "SELECT site_id, MAX(seq), COUNT(*) FROM {} GROUP BY site_id ORDER BY site_id"
POSITIONS = {
    "changes": _LAST.format("changes"),
    "sync_log": _LAST.format("sync_log"),
    "acked": "SELECT site_id, acked_seq, pulled_seq FROM sync_centres ORDER BY site_id",
}


@dataclass
class Moved:
    rows: dict[str, int] = field(default_factory=dict)
    positions: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def summary(self) -> str:
        total = sum(self.rows.values())
        tables = sum(1 for n in self.rows.values() if n)
        sites = len(self.positions.get("changes", []))
        return (
            f"moved {total} rows of {tables} tables; row counts and change positions of "
            f"{sites} sites agree"
        )


def _ordered(conn: sqlite3.Connection, tables: list[str]) -> list[str]:
    """Parents first: a table after every table it references."""
    refs = {
        t: {
            str(r[2])
            for r in conn.execute(f"PRAGMA foreign_key_list({quote(t)})").fetchall()
            if str(r[2]) != t and str(r[2]) in tables
        }
        for t in tables
    }
    out: list[str] = []
    while len(out) < len(tables):
        ready = [t for t in tables if t not in out and refs[t] <= set(out)]
        if not ready:  # a cycle: the rest in name order
            ready = [t for t in tables if t not in out]
        out.extend(ready)
    return out


def _has_rowid(conn: sqlite3.Connection, table: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM {quote(table)} LIMIT 0")
    except sqlite3.OperationalError:
        return False
    return True


def _positions(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {k: [tuple(r) for r in conn.execute(sql).fetchall()] for k, sql in POSITIONS.items()}


def migrate_hub(source: Path, url: str) -> Moved:
    if not source.exists():
        raise SyncError(f"{source} does not exist")
    # The file up to the newest schema (what the hub does at every start).
    sync_schema.ensure(source)
    Store(source).close()
    pg = connect_url(url)
    try:
        migrate_postgres(pg)
        apply_set(pg, sync_schema.migrations)
        src = sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True)
        try:
            return _copy(src, pg)
        finally:
            src.close()
    finally:
        pg.raw.close()


def _copy(src: sqlite3.Connection, pg: PgConn) -> Moved:
    tables = table_names(src)
    missing = sorted(set(tables) - set(table_names(pg)))
    if missing:
        raise SyncError(f"the PostgreSQL database lacks tables {missing}: not a Linli hub schema")
    busy = [t for t in tables if pg.execute(f"SELECT 1 FROM {quote(t)} LIMIT 1").fetchone()]
    if busy:
        raise SyncError(f"the PostgreSQL database is not empty ({', '.join(busy[:5])} have rows)")
    moved = Moved()
    with pg.raw.transaction():
        cur = pg.raw.cursor()
        for table in _ordered(src, tables):
            cols = [c for c, _ in table_columns(src, table)]
            theirs = {c for c, _ in table_columns(pg, table)}
            if not set(cols) <= theirs:
                raise SyncError(f"{table}: PostgreSQL lacks columns {sorted(set(cols) - theirs)}")
            names = ", ".join(quote(c) for c in cols)
            order = " ORDER BY rowid" if _has_rowid(src, table) else ""
            n = 0
            with cur.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {names} FROM {quote(table)}{order}"):
                    copy.write_row(row)
                    n += 1
            moved.rows[table] = n
        for table, n in moved.rows.items():
            theirs_n = int(pg.execute(f"SELECT COUNT(*) FROM {quote(table)}").fetchone()[0])
            if theirs_n != n:
                raise SyncError(f"{table}: {n} rows in the file, {theirs_n} in PostgreSQL")
        moved.positions = _positions(src)
        if _positions(pg) != moved.positions:
            raise SyncError("change positions differ after the copy: nothing was moved")
    return moved
