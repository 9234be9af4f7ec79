"""The centre's SQLite store, kept off the event loop.

One writer thread owns the only write connection; every unit of work runs in
its own `BEGIN IMMEDIATE` transaction there and appends its change-log rows
in that same transaction (`Tx.insert` / `Tx.update`). Readers use
per-thread read-only connections from a small pool. The API is async:
`await store.write(fn)` / `await store.read(fn)`; sync callers (CLI, tests,
migrations) use `write_sync` / `read_sync`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from edge.errors import EdgeError, StorageFault
from edge.store import changelog
from edge.store.dialect import is_postgres_url, quote
from edge.store.hlc import HybridClock

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# SQLite result codes (low byte) that mean the storage, not the request, is at fault.
SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 8, 10, 13, 14
STORAGE_FAULTS = {
    SQLITE_FULL: "存储已满,没有保存 / storage full: nothing was saved",
    SQLITE_READONLY: "存储只读,没有保存 / storage is read-only: nothing was saved",
    SQLITE_IOERR: "存储读写出错,没有保存 / storage error: nothing was saved",
    SQLITE_CANTOPEN: "存储打不开,没有保存 / storage cannot be opened: nothing was saved",
}


def storage_fault(exc: BaseException) -> StorageFault | None:
    """The StorageFault an SQLite error stands for, or None for any other error."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    detail = STORAGE_FAULTS.get(code & 0xFF) if isinstance(code, int) else None
    return StorageFault(detail) if detail else None


MAX_GROUP_COMMIT = 64  # units of work sharing one commit, at most
# `Store.checkpoint_in_background`: how long the checkpointer lets commits gather, and
# the WAL size (pages) at which the writer still checkpoints itself. Under steady writes a
# checkpoint running beside them never catches up with the WAL's end, and only a
# complete one lets the WAL start over: this bounds it (what is left to copy by then is
# mostly copied already, so the writer's checkpoint is short).
CHECKPOINT_EVERY_S = 0.2
WRITER_CHECKPOINT_PAGES = 8192
log = logging.getLogger("linli.store")

# Compiled statements a writing connection keeps (CPython's default is 128). The hub
# writes a push's rows in statements of up to 14 lengths per table and columns
# (`sync.ingest.statement_sizes`), each compiled once: a 500-row INSERT takes 5.6 ms
# to compile. Ten tables' worth would not fit in 128; kept, they hold about 2 MB each.
WRITER_STATEMENTS = 512

# NULL and booleans bound as they always were, without CPython's adapter search. For a
# parameter that is not exactly int, float, str or bytes, `sqlite3` looks up an adapter,
# then asks for `__adapt__` and `__conform__`, formatting an AttributeError for each
# miss, before it binds the value unchanged. With an adapter registered the lookup ends
# at the first step: 2,100 instructions fewer per None (callgrind, the pushes of
# `bench/hub_scale.py`: 2.5 Nones a change, 6 % of the hub's apply). `{}.get` answers
# None for anything, in C (a Python function costs as much as the search); `int` turns
# True into 1 as the binding did.
sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))
sqlite3.register_adapter(bool, int)


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a connection with the pragmas every Linli connection needs."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{Path(path).resolve()}?mode=ro",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )
    else:
        conn = sqlite3.connect(
            str(path),
            check_same_thread=False,
            isolation_level=None,
            cached_statements=WRITER_STATEMENTS,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: an order answered "ok" survives a power cut (DESIGN invariant 1).
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    # Statement journals and sort b-trees in RAM, not in temp files: an INSERT that fires
    # the search tables' triggers (m404) took twice the CPU with its journal in a file.
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.row_factory = sqlite3.Row
    return conn


class Tx:
    """One write transaction: data rows and their change-log rows together."""

    def __init__(self, conn: sqlite3.Connection, site_id: str, clock: HybridClock) -> None:
        self.conn = conn
        self.site_id = site_id
        self.clock = clock

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def insert(self, table: str, row: dict[str, Any], *, log: bool = True) -> None:
        cols = ", ".join(quote(c) for c in row)
        marks = ", ".join("?" for _ in row)
        self.conn.execute(
            f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})", tuple(row.values())
        )
        if log:
            changelog.record(
                self.conn, self.site_id, self.clock, table, str(row["id"]), "insert", row
            )

    def update(self, table: str, row_id: str, fields: dict[str, Any], *, log: bool = True) -> None:
        sets = ", ".join(f"{quote(col)} = ?" for col in fields)
        self.conn.execute(
            f"UPDATE {quote(table)} SET {sets} WHERE id = ?", (*fields.values(), row_id)
        )
        if log:
            changelog.record(self.conn, self.site_id, self.clock, table, row_id, "update", fields)

    def delete(self, table: str, row_id: str, *, log: bool = True) -> None:
        self.conn.execute(f"DELETE FROM {quote(table)} WHERE id = ?", (row_id,))
        if log:
            changelog.record(self.conn, self.site_id, self.clock, table, row_id, "delete", {})


@dataclass
class _Job:
    fn: Callable[[Tx], Any]
    future: Future[Any]


_STOP = object()


class Store:
    """The single writer and the reader pool over one SQLite file."""

    def __init__(self, path: str | Path, *, readers: int = 3) -> None:
        self.path = Path(path)
        self._writer_conn = connect(self.path)
        from edge.store.migrations import migrate  # local import: migrations import Tx from here

        migrate(self._writer_conn)
        self.site_id = get_meta(self._writer_conn, "site_id") or ""
        self.clock = HybridClock(last=changelog.last_hlc(self._writer_conn))
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="linli-writer", daemon=True)
        self._writer.start()
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="linli-read")
        self._closed = False
        # `checkpoint_in_background`: the thread, and the writer's "committed since".
        self._checkpointer: threading.Thread | None = None
        self._committed = threading.Event()
        self._closing = threading.Event()
        # The last write's storage fault, until a write commits again (shown by /healthz).
        self.fault: StorageFault | None = None
        # Pragmas every connection of this store runs as it opens (`hold_in_memory`).
        self._pragmas: tuple[str, ...] = ()

    @property
    def closed(self) -> bool:
        """True once `close` ran: a hub app's next lifespan opens its store again."""
        return self._closed

    # --- writing -----------------------------------------------------------
    def _write_loop(self) -> None:
        """Run queued units of work; those waiting together share one commit.

        Each unit runs inside its own SAVEPOINT, so a failing unit rolls back
        alone; the batch commits once (one fsync), and only then does any
        caller hear "ok" (DESIGN invariant 1). Under load this group commit
        is what keeps an SD card from capping throughput.
        """
        conn = self._writer_conn
        while True:
            batch = [self._jobs.get()]
            while len(batch) < MAX_GROUP_COMMIT:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            stop = any(job is _STOP for job in batch)
            jobs = [j for j in batch if j is not _STOP and j.future.set_running_or_notify_cancel()]
            if jobs:
                self._run_batch(conn, jobs)
            if stop:
                return

    def _run_batch(self, conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        written_before = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                conn.execute("SAVEPOINT unit")
                try:
                    result = job.fn(Tx(conn, self.site_id, self.clock))
                except Exception as exc:
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (a full disk,
                        # an I/O error): every unit of this batch is undone, so every
                        # caller hears of it.
                        raise
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    outcomes.append((False, self._note_fault(exc) or exc))
                else:
                    conn.execute("RELEASE unit")
                    outcomes.append((True, result))
            conn.execute("COMMIT")
            if self._checkpointer is not None:
                self._committed.set()
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            answer = self._note_fault(exc) or exc
            for job in jobs:
                job.future.set_exception(answer)
            if not isinstance(exc, Exception):
                raise
            return
        if conn.total_changes > written_before:  # rows reached the disk: space is back
            self.fault = None
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    def _note_fault(self, exc: BaseException) -> StorageFault | None:
        fault = storage_fault(exc)
        if fault is not None:
            fault.__cause__ = exc
            self.fault = fault
        return fault

    def submit(self, fn: Callable[[Tx], T]) -> Future[T]:
        if self._closed:
            raise EdgeError("store is closed")
        fut: Future[T] = Future()
        self._jobs.put(_Job(fn, fut))
        return fut

    async def write(self, fn: Callable[[Tx], T], *, only: str | None = None) -> T:
        """Run `fn` in a write transaction. `only`: the unit touches that one centre's
        rows and nothing of the hub's own (a push); on PostgreSQL such units of
        different centres run side by side (`edge.store.pg`). SQLite has one writer."""
        return await asyncio.wrap_future(self.submit(fn))

    def write_sync(self, fn: Callable[[Tx], T]) -> T:
        return self.submit(fn).result()

    # --- reading -----------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._reader())

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, fn)

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._readers.submit(self._run_read, fn).result()

    def hold_in_memory(self, *, cache_mib: int, map_mib: int) -> None:
        """A larger page cache and the file mapped into memory, for every connection
        (the hub's store; call it before serving). SQLite's default cache is 2 MiB:
        a hub past a few thousand orders read most index pages of a push back from
        the OS page by page, and copied each one. Measured on 50 pushes of 1,280
        changes (`bench/hub_scale.py`), the writer's CPU per change fell by about a fifth.
        Not for a box: a read error on a mapped page of an SD card is a SIGBUS, not
        an error SQLite can report."""
        self._pragmas = (
            f"PRAGMA cache_size=-{cache_mib * 1024}",
            f"PRAGMA mmap_size={map_mib << 20}",
        )

        def apply(tx: Tx) -> None:
            for pragma in self._pragmas:
                tx.conn.execute(pragma)

        self.write_sync(apply)
        with self._reader_lock:  # readers opened before this (none while serving)
            for conn in self._reader_conns:
                for pragma in self._pragmas:
                    conn.execute(pragma)

    # --- checkpoints ---------------------------------------------------------
    def checkpoint_in_background(self) -> None:
        """Copy the WAL back into the database file from a thread of its own (the
        hub's store). By SQLite's default the commit that grows the WAL past 1,000
        pages runs that checkpoint itself, and every unit of work queued behind it
        waits: on the hub, a large push dirties about a page per change, and the
        checkpoints took a third of the writer's time. Here a second connection
        checkpoints, PASSIVE (it never waits for the writer or a reader, nor makes
        them wait), after commits, at most every `CHECKPOINT_EVERY_S`; the writer
        only past `WRITER_CHECKPOINT_PAGES`, a bound on the WAL. Closing the store
        still checkpoints the whole WAL."""
        if self._checkpointer is not None:
            return
        self.write_sync(
            lambda tx: tx.conn.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        )
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="linli-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        conn = connect(self.path)
        try:
            while not self._closing.is_set():
                if not self._committed.wait(1.0):
                    continue
                if self._closing.wait(CHECKPOINT_EVERY_S):  # commits gather meanwhile
                    break
                self._committed.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # the next commit tries again
                    log.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()

    # --- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(_STOP)
        self._writer.join(timeout=10)
        if self._checkpointer is not None:
            self._closing.set()
            self._committed.set()
            self._checkpointer.join(timeout=30)
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
        self._writer_conn.close()

    def set_site(self, site_id: str) -> None:
        self.site_id = site_id


def open_db(target: str | Path) -> Store:
    """The store `--db` names: a file path keeps SQLite; a `postgresql://` URL opens
    a PostgreSQL store (`edge.store.pg`, the hub's; psycopg is loaded only then)."""
    if is_postgres_url(target):
        from edge.store.pg import PgStore

        return PgStore(str(target))
    return Store(target)


@contextmanager
def open_store(path: str | Path) -> Iterator[Store]:
    store = open_db(path)
    try:
        yield store
    finally:
        store.close()


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    return [dict(r) for r in cursor.fetchall()]


def loads(value: str | None) -> Any:
    return json.loads(value) if value else None
