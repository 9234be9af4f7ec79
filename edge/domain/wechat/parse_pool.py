"""WeChat pastes are read in worker processes, never on the store's reader threads.

Reading a paste is pure Python and CPU-bound: the worst one the box takes (20,000
characters of varied chat lines, MAX_PASTE_CHARS) needs about a second of a core. Run in
the store's read callbacks it held one of the three reader threads (and the GIL) that
long, so a few pastes stalled every other read: with 8 worst-case pastes a plain GET
/api/v1/products waited 4.6 s. Here a paste is read by a small pool of worker processes
with their own read-only SQLite connection and parser catalog; the readers, the event
loop and the server's GIL are not theirs. Each request is bounded twice:

- waiting for a worker: at most `deadline_s`, then 503 "the box is busy ...";
- being read: at most `deadline_s`, then the worker is killed (a thread could not be)
  and replaced, and the answer is 422 "this paste is too long to read at once; paste
  fewer messages".

Workers are forked by a fork server (never a fork of the threaded server itself) that
has the parser loaded, so a killed worker is replaced in a few milliseconds. A worker
exits when the server does (its pipe closes).

Use `await read_paste(db_path, fn, *args, **kwargs)`: runs `fn(conn, catalog, *args,
**kwargs)` in a worker, `fn` being a module-level function (drafts.draft_orders,
drafts.draft_for, parse_paste) and its arguments and result picklable.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.errors import BadRequest, EdgeError

log = logging.getLogger("linli.wechat")

DEFAULT_DEADLINE_S = 10.0
TOO_LONG = "this paste is too long to read at once; paste fewer messages"
BUSY = "the box is busy reading other pastes; try again in a moment"


class PasteTooLong(EdgeError):
    status_code = 422
    error = "paste_too_long"


class PasteBusy(EdgeError):
    status_code = 503
    error = "busy"


def default_workers() -> int:
    """One worker on a 2-core box (a core stays for the server), two on more cores."""
    return max(1, min(2, (os.cpu_count() or 1) - 1))


# --- jobs: run in a worker ----------------------------------------------------------------


def parse_paste(
    conn: sqlite3.Connection,
    catalog: Any,
    text: str,
    *,
    site_id: str,
    sees_phones: bool,
    now: datetime,
) -> dict[str, Any]:
    """POST /api/v1/wechat/parse: the whole paste's items, and one draft per sender."""
    from edge.domain.wechat.drafts import draft_orders
    from edge.domain.wechat.parse import parse_message

    whole = parse_message(text, catalog)
    drafts = draft_orders(conn, catalog, text, site_id=site_id, sees_phones=sees_phones, now=now)
    return {
        "items": [asdict(i) for i in whole.items],
        "struck": [asdict(i) for i in whole.struck],
        "unparsed": list(whole.unparsed),
        "is_order": whole.is_order,
        "note": whole.note,
        "drafts": drafts,
    }


_MAX_DATABASES = 4  # a worker serves one box; tests open many
_databases: OrderedDict[str, tuple[tuple[int, int], sqlite3.Connection, Any]] = OrderedDict()


def on_database(db_path: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """In a worker: `fn(conn, catalog, ...)` on this worker's read-only connection to the
    database (reopened if the file was replaced) and its parser catalog."""
    from edge.domain.wechat.drafts import CatalogCache
    from edge.store import connect

    st = os.stat(db_path)
    ident = (st.st_dev, st.st_ino)
    entry = _databases.pop(db_path, None)
    if entry is not None and entry[0] != ident:
        entry[1].close()
        entry = None
    if entry is None:
        entry = (ident, connect(db_path, readonly=True), CatalogCache())
    _databases[db_path] = entry
    while len(_databases) > _MAX_DATABASES:
        _databases.popitem(last=False)[1][1].close()
    _, conn, cache = entry
    return fn(conn, cache.get(conn), *args, **kwargs)


def _worker_main(conn: Any) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send("ready")
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        try:
            reply: tuple[Any, ...] = ("ok", fn(*args, **kwargs))
        except EdgeError as exc:
            reply = ("edge", type(exc), exc.detail, exc.field)
        except Exception:  # noqa: BLE001 - handed to the server, which logs it
            reply = ("error", traceback.format_exc())
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - an answer that does not pickle
            conn.send(("error", traceback.format_exc()))


# --- the pool: in the server --------------------------------------------------------------


class _Worker:
    STARTUP_S = 60.0

    def __init__(self, ctx: Any) -> None:
        ours, theirs = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_worker_main, args=(theirs,), name="linli-paste", daemon=True
        )
        self.process.start()
        theirs.close()
        self.conn = ours
        # Ready (imports done) before a paste's deadline starts to count.
        try:
            ready = ours.poll(self.STARTUP_S) and ours.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop()
            raise RuntimeError("a paste reader did not start")

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class ParsePool:
    """`workers` processes, each driven by one thread of a small thread pool (the threads
    only wait on a pipe, without the GIL)."""

    def __init__(self, workers: int | None = None, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.workers = default_workers() if workers is None else workers
        if not 1 <= self.workers <= 16:
            raise BadRequest("--paste-workers is 1 to 16", field="paste_workers")
        if not 0.01 <= deadline_s <= 600:
            raise BadRequest("--paste-deadline is 0.01 to 600 seconds", field="paste_deadline")
        self.deadline_s = deadline_s
        self._ctx = multiprocessing.get_context("forkserver")
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="linli-paste")
        self._local = threading.local()
        self._started: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.killed = 0

    def _worker(self) -> _Worker:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or not worker.process.is_alive():
            if worker is not None:
                self._drop(worker)
            with self._lock:
                if self._closed:
                    raise PasteBusy(BUSY)
                worker = _Worker(self._ctx)
                self._started.add(worker)
            self._local.worker = worker
        return worker

    def _drop(self, worker: _Worker) -> None:
        with self._lock:
            self._started.discard(worker)
        if getattr(self._local, "worker", None) is worker:
            self._local.worker = None
        worker.stop()

    def _call(self, queued_at: float, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        if time.monotonic() - queued_at > self.deadline_s:
            raise PasteBusy(BUSY)
        worker = self._worker()
        try:
            worker.conn.send((fn, args, kwargs))
            reply = worker.conn.recv() if worker.conn.poll(self.deadline_s) else None
        except (EOFError, OSError) as exc:  # the worker died: out of memory, killed
            self._drop(worker)
            raise RuntimeError(f"the paste reader stopped: {exc!r}") from None
        if reply is None:
            self._drop(worker)
            self.killed += 1
            log.warning("a paste was not read in %g s: its reader was stopped", self.deadline_s)
            raise PasteTooLong(TOO_LONG, field="text")
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "edge":
            try:
                error = reply[1](reply[2], field=reply[3])
            except TypeError:  # an EdgeError of another shape: its status, our words
                error = EdgeError(reply[2], field=reply[3])
                error.status_code = reply[1].status_code
            raise error
        raise RuntimeError(f"reading the paste failed in its worker:\n{reply[1]}")

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """`fn(*args, **kwargs)` in a worker; the future raises PasteBusy or PasteTooLong
        past the deadlines. Cancelled while still queued, it never reaches a worker."""
        return self._threads.submit(self._call, time.monotonic(), fn, args, kwargs)

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`run`, for code without an event loop."""
        return self.submit(fn, *args, **kwargs).result()

    def warm(self) -> None:
        """Start the fork server and the workers now, in the background: the first paste
        then waits for neither (about 2 s on a small box)."""
        for _ in range(self.workers):
            self.submit(int)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._started)
            self._started.clear()
        for worker in workers:
            worker.stop()
        self._threads.shutdown(wait=False, cancel_futures=True)


_pool: ParsePool | None = None
_pool_lock = threading.Lock()
_workers: int | None = None
_deadline_s = DEFAULT_DEADLINE_S


def configure(
    workers: int | None = None, deadline_s: float | None = None, *, warm: bool = False
) -> ParsePool:
    """Set the pool's size and deadline (`linli serve --paste-workers --paste-deadline`)."""
    global _pool, _workers, _deadline_s
    with _pool_lock:
        old, _pool = _pool, None
        _workers, _deadline_s = workers, deadline_s or DEFAULT_DEADLINE_S
        if old is not None:
            old.close()
        pool = _pool = ParsePool(_workers, _deadline_s)
    if warm:
        pool.warm()
    return pool


def get_pool() -> ParsePool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ParsePool(_workers, _deadline_s)
        return _pool


async def read_paste(db_path: str | Path, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(conn, catalog, *args, **kwargs)` in a paste worker, within the deadline."""
    return await get_pool().run(on_database, str(db_path), fn, *args, **kwargs)


@atexit.register
def _close_pool() -> None:
    with _pool_lock:
        pool = _pool
    if pool is not None:
        pool.close()


# The fork server loads the parser once; each worker is a fork of it.
multiprocessing.get_context("forkserver").set_forkserver_preload(
    ["edge.domain.wechat.drafts", "edge.domain.wechat.parse_pool"]
)
