"""The store: one writer, all-or-nothing transactions with their change-log rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.domain.centre import init_centre
from edge.errors import BadRequest
from edge.store import Tx, open_store
from edge.store.hlc import HybridClock, wall_ms_of


def test_pragmas_and_rollback_keep_data_and_log_together(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        init_centre(store, "测试")
        mode = store.read_sync(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
        assert mode == "wal"

        def half_done(tx: Tx) -> None:
            tx.insert(
                "households",
                {"id": "h1", "site_id": tx.site_id, "name": "甲", "created_at": "2026-11-29"},
            )
            raise BadRequest("changed my mind")

        with pytest.raises(BadRequest):
            store.write_sync(half_done)
        assert (
            store.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM households").fetchone()[0])
            == 0
        )
        assert (
            store.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM changes").fetchone()[0]) == 0
        )
        store.write_sync(
            lambda tx: tx.insert(
                "households",
                {"id": "h2", "site_id": tx.site_id, "name": "乙", "created_at": "2026-11-29"},
            )
        )
        rows = store.read_sync(
            lambda c: c.execute("SELECT site_id, seq, tbl, row_id, op FROM changes").fetchall()
        )
        assert [tuple(r) for r in rows] == [(store.site_id, 1, "households", "h2", "insert")]


def test_readers_cannot_write(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        init_centre(store, "测试")
        with pytest.raises(sqlite3.OperationalError):
            store.read_sync(lambda c: c.execute("DELETE FROM meta"))


def test_hlc_never_goes_back_even_when_the_wall_clock_does() -> None:
    wall = [1_800_000_000_000]
    clock = HybridClock(now_ms=lambda: wall[0])
    a = clock.now()
    wall[0] -= 3 * 86_400_000  # the box rebooted three days in the past
    b = clock.now()
    assert b > a and wall_ms_of(b) == wall_ms_of(a)
    remote = clock.now() + (5 << 16) + (10_000 << 16)
    assert clock.observe(remote) > remote


def test_clock_survives_restart_with_a_clock_set_back(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(path) as store:
        init_centre(store, "测试")
        store.write_sync(
            lambda tx: tx.insert(
                "households", {"id": "h1", "site_id": tx.site_id, "name": "甲", "created_at": "x"}
            )
        )
        first = store.read_sync(lambda c: c.execute("SELECT MAX(hlc) FROM changes").fetchone()[0])
    with open_store(path) as store:
        store.clock._now_ms = lambda: 0  # a box that booted in 1970
        store.write_sync(
            lambda tx: tx.insert(
                "households", {"id": "h2", "site_id": tx.site_id, "name": "乙", "created_at": "x"}
            )
        )
        second = store.read_sync(lambda c: c.execute("SELECT MAX(hlc) FROM changes").fetchone()[0])
    assert second > first


def test_units_committed_together_fail_alone(tmp_path: Path) -> None:
    """Many writers at once share commits, but a failing unit rolls back only itself."""
    import concurrent.futures

    with open_store(tmp_path / "s.db") as store:
        init_centre(store, "测试")

        def unit(i: int):  # type: ignore[no-untyped-def]
            def fn(tx: Tx) -> int:
                tx.insert(
                    "households",
                    {"id": f"h{i}", "site_id": tx.site_id, "name": str(i), "created_at": "x"},
                )
                if i % 7 == 0:
                    raise BadRequest(f"unit {i} fails")
                return i

            return fn

        futures = [store.submit(unit(i)) for i in range(1, 201)]
        done = concurrent.futures.wait(futures, timeout=30).done
        assert len(done) == 200
        failed = {i for i, f in enumerate(futures, 1) if f.exception() is not None}
        assert failed == {i for i in range(1, 201) if i % 7 == 0}
        names = store.read_sync(
            lambda c: {int(r[0]) for r in c.execute("SELECT name FROM households")}
        )
        assert names == set(range(1, 201)) - failed
        seqs = store.read_sync(
            lambda c: [r[0] for r in c.execute("SELECT seq FROM changes ORDER BY seq")]
        )
        assert seqs == list(range(1, len(names) + 1))  # no gap left by the failures


def test_null_and_booleans_are_stored_as_sent(tmp_path: Path) -> None:
    """The store binds None as NULL and True/False as 1/0 (a push's null fields and
    flags), the adapters that spare `sqlite3`'s search included."""
    with open_store(tmp_path / "s.db") as store:
        init_centre(store, "测试")

        def write(tx: Tx) -> None:
            tx.conn.execute("CREATE TABLE flags (a, b, c, d)")
            tx.conn.execute(
                "INSERT INTO flags VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
                (None, True, False, "甲", 1.5, None, True, 7),
            )

        store.write_sync(write)
        rows = store.read_sync(
            lambda c: c.execute(
                "SELECT typeof(a), a, typeof(b), b, typeof(c), c, d FROM flags ORDER BY rowid"
            ).fetchall()
        )
        assert [tuple(r) for r in rows] == [
            ("null", None, "integer", 1, "integer", 0, "甲"),
            ("real", 1.5, "null", None, "integer", 1, 7),
        ]
