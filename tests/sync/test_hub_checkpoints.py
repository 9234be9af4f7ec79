"""The hub's SQLite WAL is copied back into the database file by a checkpointer thread
of its own (`Store.checkpoint_in_background`), not by the commit that grows it: the
writer checkpoints only past a bound, and nothing is lost on the way."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from sync_fixtures import open_hub_store

from edge.store import Tx
from edge.store.database import WRITER_CHECKPOINT_PAGES, Store
from hub.push import HUB_CACHE_MIB, HUB_MAP_MIB, Hub

ROWS = 40
ROW_BYTES = 20_000  # each row dirties a few pages: a few hundred in all, far below the bound


def _fill(store: Store) -> None:
    store.write_sync(lambda tx: tx.execute("CREATE TABLE bulk (n INTEGER, body BLOB)"))
    for n in range(ROWS):

        def write(tx: Tx, n: int = n) -> None:
            tx.execute("INSERT INTO bulk VALUES (?, ?)", (n, os.urandom(ROW_BYTES)))

        store.write_sync(write)


def test_the_hubs_wal_is_checkpointed_beside_the_writer_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = open_hub_store(path)
    Hub(store)  # the hub's sync service turns it on
    bound = store.write_sync(lambda tx: tx.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    assert bound == WRITER_CHECKPOINT_PAGES > 1000
    before = path.stat().st_size
    _fill(store)
    wal_pages = os.path.getsize(f"{path}-wal") // 4096
    assert wal_pages < WRITER_CHECKPOINT_PAGES  # the writer never reached its own bound
    deadline = time.monotonic() + 20
    while path.stat().st_size < before + ROWS * ROW_BYTES and time.monotonic() < deadline:
        time.sleep(0.05)
    # The rows reached the database file itself: only a checkpoint writes there.
    assert path.stat().st_size >= before + ROWS * ROW_BYTES
    store.close()
    again = Store(path)
    try:
        got = again.read_sync(
            lambda c: c.execute("SELECT COUNT(*), SUM(length(body)) FROM bulk").fetchone()
        )
        assert tuple(got) == (ROWS, ROWS * ROW_BYTES)
    finally:
        again.close()


def test_a_store_of_its_own_keeps_sqlites_checkpoints(tmp_path: Path) -> None:
    """A centre's store (no hub service on it) checkpoints as SQLite does by default."""
    store = Store(tmp_path / "c.db")
    try:
        bound = store.write_sync(lambda tx: tx.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        assert bound == 1000
    finally:
        store.close()


def test_the_hubs_connections_keep_its_pages_in_memory(tmp_path: Path) -> None:
    """The hub's writer and readers get the larger cache and the mapped file
    (`Store.hold_in_memory`), and answer from it as before; a centre's store keeps
    SQLite's defaults (no mapped file on an SD card)."""
    store = open_hub_store(tmp_path / "hub.db")
    try:
        Hub(store)

        def pragmas(conn: sqlite3.Connection) -> tuple[int, int]:
            cache = conn.execute("PRAGMA cache_size").fetchone()[0]
            return cache, conn.execute("PRAGMA mmap_size").fetchone()[0]

        wanted = (-HUB_CACHE_MIB * 1024, HUB_MAP_MIB << 20)
        assert store.write_sync(lambda tx: pragmas(tx.conn)) == wanted
        assert store.read_sync(pragmas) == wanted
        _fill(store)
        assert (
            store.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM bulk").fetchone()[0]) == ROWS
        )
    finally:
        store.close()
    centre = Store(tmp_path / "c.db")
    try:
        assert centre.read_sync(pragmas) == (-2000, 0)
    finally:
        centre.close()
