"""The store stays small: the change log drops what the hub acknowledged (`edge.store.changelog`).

Real SQLite files in a temp folder, a real hub app in process. The trimming is
called the way the sync agent calls it after a push the hub answered
(`trim_acked` with the hub's position), with a small `keep` so a few orders
are enough. Nothing here asserts a time.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
from sync_fixtures import (
    HUB_URL,
    Centre,
    add_household,
    add_order,
    canonical,
    count,
    enrolled,
    hub_app_client,
)

from edge.backup import backup, restore
from edge.store import Store, Tx, changelog, connect, migrations
from edge.store.changelog import LogTrimmed
from hub.app import Hub
from sync.agent import SyncAgent, SyncReport
from sync.recover import recover

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    app, (a,) = enrolled(tmp_path, ["金沙路社区"])
    hub: Hub = app.state.hub
    box = {"a": a}
    async with app.lifespan():
        yield app, hub, box
    box["a"].store.close()


def _orders(centre: Centre, n: int) -> list[str]:
    def write(tx: Tx) -> list[str]:
        hh = add_household(tx)
        return [add_order(tx, hh) for _ in range(n)]

    return centre.store.write_sync(write)


async def _sync(centre: Centre, client: httpx.AsyncClient, **trim: Any) -> SyncReport:
    """One sync run, then the trimming the agent does after it (same call, small `keep`)."""
    agent = SyncAgent(centre.store, client, HUB_URL, centre.token, backoff_s=0.01)
    report = await agent.sync_once()
    site, acked = centre.site_id, report.position
    await centre.store.write(lambda tx: changelog.trim_acked(tx.conn, site, acked, **trim))
    return report


def _log_rows(path: Path, site: str) -> dict[int, tuple[Any, ...]]:
    """The box's change-log rows as stored, by seq."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, hlc, tbl, row_id, op, fields FROM changes WHERE site_id = ?", (site,)
        ).fetchall()
    finally:
        conn.close()
    return {r[0]: tuple(r) for r in rows}


def _hub_log(path: Path, site: str) -> dict[int, tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, hlc, tbl, row_id, op, fields FROM sync_log WHERE site_id = ?", (site,)
        ).fetchall()
    finally:
        conn.close()
    return {r[0]: tuple(r) for r in rows}


def _last(centre: Centre) -> int:
    return centre.store.read_sync(lambda c: changelog.last_seq(c, centre.site_id))


async def test_acknowledged_changes_are_trimmed_and_waiting_ones_kept(
    world: Any, tmp_path: Path
) -> None:
    app, _hub, box = world
    a = box["a"]
    _orders(a, 10)  # a household, 10 orders, 20 items
    async with hub_app_client(app) as client:
        first = await _sync(a, client, keep=1, min_rows=1_000)  # fewer than min_rows due
        acked = first.position
        assert acked == _last(a) == 31 and first.waiting == 0
        assert sorted(_log_rows(a.store.path, a.site_id)) == list(range(1, 32))
        _orders(a, 3)  # waiting: not acknowledged yet
        waiting = {s: r for s, r in _log_rows(a.store.path, a.site_id).items() if s > acked}
        assert sorted(waiting) == list(range(32, 42))
        site = a.site_id
        trimmed = a.store.write_sync(
            lambda tx: changelog.trim_acked(tx.conn, site, acked, keep=5, min_rows=1)
        )
        assert trimmed == 26
        log = _log_rows(a.store.path, a.site_id)
        # Acknowledged: all but the last 5 are gone, the last acknowledged one (the seam
        # the next push resends) whole; waiting: every row as it was written.
        assert sorted(log) == list(range(27, 42))
        assert {s: r for s, r in log.items() if s > acked} == waiting
        assert json.loads(log[acked][5])["id"] == log[acked][3]
        assert a.store.read_sync(lambda c: changelog.trimmed_upto(c, site)) == 26
        assert _last(a) == 41
        # The hub holds the whole history; the next push resends the seam and goes on.
        report = await _sync(a, client, keep=5, min_rows=1)
    assert report.ok and report.pushed == 10 and report.position == 41
    hub_db = tmp_path / "hub.db"
    assert sorted(_hub_log(hub_db, a.site_id)) == list(range(1, 42))
    assert count(hub_db, "SELECT COUNT(*) FROM orders WHERE site_id = ?", (a.site_id,)) == 13
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(a.store.path, site_ids={a.site_id})
    assert sorted(_log_rows(a.store.path, a.site_id)) == list(range(37, 42))
    # The kept rows are the hub's, byte for byte.
    hub_log = _hub_log(hub_db, a.site_id)
    for seq, row in _log_rows(a.store.path, a.site_id).items():
        assert row[:5] == hub_log[seq][:5]


async def test_trimming_is_bounded_and_never_takes_the_last_acknowledged(
    world: Any,
) -> None:
    app, _hub, box = world
    a = box["a"]
    _orders(a, 20)  # 61 changes
    site = a.site_id
    async with hub_app_client(app) as client:
        report = await _sync(a, client, keep=1, min_rows=10_000)
    assert report.position == 61

    def trim(**kw: Any) -> int:
        return a.store.write_sync(lambda tx: changelog.trim_acked(tx.conn, site, 61, **kw))

    assert trim(keep=1, min_rows=100) == 0  # 60 due, fewer than min_rows
    assert trim(keep=1, min_rows=1, limit=25) == 25
    assert trim(keep=1, min_rows=1, limit=25) == 25
    assert trim(keep=0, min_rows=1, limit=25) == 10  # keep is at least 1: the seam stays
    assert trim(keep=0, min_rows=1) == 0
    assert sorted(_log_rows(a.store.path, site)) == [61]
    # A position past the log's end (it cannot be, but) still leaves the last row.
    assert a.store.write_sync(lambda tx: changelog.trim_acked(tx.conn, site, 999, keep=0)) == 0
    assert _last(a) == 61


async def test_freed_pages_go_back_to_the_file_system(world: Any, tmp_path: Path) -> None:
    app, _hub, box = world
    a = box["a"]
    for _ in range(6):
        _orders(a, 50)  # ~900 changes, ~300 KB of log
    site, path = a.site_id, a.store.path
    async with hub_app_client(app) as client:
        report = await _sync(a, client, keep=1, min_rows=1_000_000)
    assert report.position == _last(a) == 906

    a.store.close()
    before_file, before_log = path.stat().st_size, _table_bytes(path, "changes")
    a.store = Store(path)
    while a.store.write_sync(
        lambda tx: changelog.trim_acked(tx.conn, site, 906, keep=10, min_rows=1, limit=300)
    ):
        pass
    a.store.close()
    after_file, after_log = path.stat().st_size, _table_bytes(path, "changes")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == 10
    finally:
        conn.close()
    assert after_log * 10 < before_log
    # The file shrank by (nearly) what the log gave up, not just its free list.
    assert before_file - after_file >= (before_log - after_log) * 0.8
    a.store = Store(path)
    assert count(path, "SELECT COUNT(*) FROM orders") == 300  # the rows all stay


def _table_bytes(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(
            conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (name,)).fetchone()[0]
        )
    finally:
        conn.close()


async def test_a_hub_behind_the_trimmed_log_is_refused_not_sent_holes(
    world: Any, tmp_path: Path
) -> None:
    """A hub restored from a backup older than the box's trimming asks for seqs the box
    no longer holds: the push stops with a clear error, and nothing reaches the hub."""
    app, hub, box = world
    a = box["a"]
    _orders(a, 10)
    async with hub_app_client(app) as client:
        await _sync(a, client, keep=3, min_rows=1)  # the box holds 29..31
        site = a.site_id

        def lose(tx: Tx) -> None:
            tx.execute("UPDATE sync_centres SET acked_seq = 20 WHERE site_id = ?", (site,))
            tx.execute("DELETE FROM sync_log WHERE site_id = ? AND seq > 20", (site,))

        await hub.store.write(lose)
        _orders(a, 1)
        with pytest.raises(LogTrimmed, match="no longer holds seq 20"):
            await _sync(a, client, keep=3, min_rows=1)
        badge = await SyncAgent(a.store, client, HUB_URL, a.token).fresh_status()
    assert "log_trimmed" in badge["last_error"]
    assert (
        count(tmp_path / "hub.db", "SELECT MAX(seq) FROM sync_log WHERE site_id = ?", (site,)) == 20
    )
    assert sorted(_log_rows(a.store.path, site)) == list(range(29, 36))


async def test_read_after_never_skips_a_seq(world: Any) -> None:
    _app, _hub, box = world
    a = box["a"]
    _orders(a, 3)  # 10 changes
    site = a.site_id
    a.store.write_sync(lambda tx: changelog.trim_acked(tx.conn, site, 10, keep=4, min_rows=1))
    got = a.store.read_sync(lambda c: changelog.read_after(c, site, 6, 100))
    assert [c.seq for c in got] == [7, 8, 9, 10]
    with pytest.raises(LogTrimmed):
        a.store.read_sync(lambda c: changelog.read_after(c, site, 0, 100))
    with pytest.raises(LogTrimmed):
        a.store.read_sync(lambda c: changelog.read_after(c, site, 5, 100))


async def test_recover_still_works_on_a_trimmed_box(world: Any, tmp_path: Path) -> None:
    """Synced and trimmed, a nightly backup, a day of synced work, a dead disk, a restore:
    `recover` checks the seqs the box still holds against the hub and brings back the rest."""
    app, _hub, box = world
    a = box["a"]
    first = _orders(a, 10)
    async with hub_app_client(app) as client:
        await _sync(a, client, keep=5, min_rows=1)  # holds 27..31
        saved = backup(a.store.path, tmp_path / "nightly.db")
        later = _orders(a, 4)
        await _sync(a, client, keep=5, min_rows=1)
        synced = _last(a)
        rows = canonical(a.store.path, site_ids={a.site_id})
        path = a.store.path
        a.store.close()
        restore(saved, path)
        a = box["a"] = Centre(a.name, Store(path), a.site_id, a.token)
        assert count(path, "SELECT COUNT(*) FROM orders") == 10 and _last(a) == 31
        report = await recover(a.store, client, HUB_URL, a.token, page=4, backoff_s=0.01)
        assert report.local_last == 31 and report.hub_position == synced == 44
        assert report.verified == 5 and report.recovered == 13
        assert canonical(path, site_ids={a.site_id}) == rows
        hub_log = _hub_log(tmp_path / "hub.db", a.site_id)
        log = _log_rows(path, a.site_id)
        assert sorted(log) == list(range(27, 45))
        assert all(log[s][:5] == hub_log[s][:5] for s in log)
        # New work syncs on top, and is trimmed in its turn.
        _orders(a, 2)
        after = await _sync(a, client, keep=5, min_rows=1)
    assert after.ok and after.pushed == 7 and after.position == 51
    hub_db = tmp_path / "hub.db"
    assert count(hub_db, "SELECT COUNT(*) FROM orders") == len(first) + len(later) + 2
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(path, site_ids={a.site_id})


def test_new_and_upgraded_databases_get_incremental_vacuum_and_lose_the_unused_index(
    tmp_path: Path,
) -> None:
    def shape(path: Path) -> tuple[int, list[str]]:
        conn = sqlite3.connect(path)
        try:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE tbl_name = 'changes' ORDER BY name"
                )
            ]
            return conn.execute("PRAGMA auto_vacuum").fetchone()[0], names
        finally:
            conn.close()

    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert shape(fresh) == (2, ["changes"])

    # A box made before migration m004, with a log: upgraded in place on its next start.
    old = tmp_path / "old.db"
    conn = connect(old)
    migrations.migrations.apply(sqlite_utils.Database(conn), stop_before="m004_slim_change_log")
    conn.execute(
        "INSERT INTO changes (site_id, seq, hlc, tbl, row_id, op, fields)"
        " VALUES ('s', 1, 1, 'orders', 'o1', 'insert', '{}')"
    )
    conn.close()
    assert shape(old) == (0, ["changes", "changes_row"])
    Store(old).close()
    assert shape(old) == (2, ["changes"])
    assert count(old, "SELECT COUNT(*) FROM changes") == 1
