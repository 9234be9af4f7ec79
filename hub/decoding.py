"""Where a SQLite hub decodes a push: in a thread of its own process when the push is
the only one in, in a decode process of its own when others are.

A SQLite hub applies every push in its one writer thread, and that writer is the
pace of ingest. Decoding a push (inflate, parse, check, the new rows made ready for
the writer) costs about half as much CPU again. In a thread it runs beside the
writer but under the same GIL: the writer lets go of it in every SQLite call and
waits to get it back from the decoding thread, so with one beside it the writer
took 1.85x its time alone, against 1.15x with a process decoding beside it
(`bench/hub_gil.py`). So when pushes queue (50 centres back after an outage) they
are decoded in the hub's decode processes (`linli serve --decode-processes`, 2),
which send back the head, the seam and the new rows made ready. Unpickling those
holds the hub's GIL for about a seventh of what decoding holds it. The changes
themselves are not sent back: the writer reads them only when it goes change by
change (`DeferredChanges`). Measured with `bench/hub_scale.py`'s 50 pushes of 1,280
changes, four rounds alternated: 30.7k changes/s in threads, 37.1k with the
processes (medians; the processes ahead in every round).

A push that is the only one in (a box's own sync, the clean 10,000-order sync of
`bench/sync_offline.py`) is decoded in a thread as before: the writer is idle, and
the handoff would only add to it. So is any push a process cannot take (none free,
one that died, a body it refused: the thread then names the fault).

The processes are the hub's children over two pipes each: a process ends when its
input closes, so when the hub stops or is killed (kill -9) they go with it. A
PostgreSQL hub has none: its writers wait on the server, and its CPU is the limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import cache, cached_property
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, overload

from edge.store.changelog import Change
from sync.ingest import NewRows, new_rows
from sync.merge import Schema
from sync.protocol import Batch, decode_batch

log = logging.getLogger("linli.hub")

RESTART_AFTER_S = 10.0  # after a decode process died or would not start
STOP_WAIT_S = 2.0
START_WAIT_S = 30.0  # a slow machine's imports; pushes are decoded in threads meanwhile
_LENGTH = struct.Struct("!Q")
_READY = b"ready"
_STALE = b"stale"
# What the two sides pickle to each other: a process runs this code's answers only if
# it imported the very same files as the hub (an upgrade installed meanwhile, a process
# started later, would send what the hub misreads).
_SHARED_MODULES = ("hub.decoding", "sync.ingest", "sync.protocol", "edge.store.changelog")


@cache
def code_fingerprint() -> str:
    """A hash of the source files of the modules whose objects are pickled between the
    hub and its decode processes."""
    digest = hashlib.sha256()
    for name in _SHARED_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


def decode_here(
    schema: Schema, body: bytes, encoding: str | None, *, lay_out: bool
) -> tuple[Batch, NewRows | None]:
    """Stages 3-5, and the batch's new rows made ready for the writer (`ingest.new_rows`).
    A box resends the hub's last seq first (the seam, stage 8) in every push but its
    first: the rows are made ready from the next one."""
    batch = decode_batch(body, encoding)
    seam = 1 if batch.from_seq > 1 else 0
    return batch, new_rows(schema, batch.site_id, batch.changes[seam:], lay_out=lay_out)


class _Body:
    """A push's body, decoded again in the hub on first need: `DeferredChanges`' source."""

    def __init__(self, body: bytes, encoding: str | None, head: list[Change]) -> None:
        self.body, self.encoding, self.head = body, encoding, head

    @cached_property
    def changes(self) -> list[Change]:
        return list(decode_batch(self.body, self.encoding).changes)


class DeferredChanges(Sequence[Change]):
    """A push's changes as a decode process left them: the first ones (the seam the
    writer checks against its history) at hand, the rest decoded again from the
    body only if something reads them (the writer going change by change)."""

    __slots__ = ("_source", "_start", "_stop")

    def __init__(self, source: _Body, start: int, stop: int) -> None:
        self._source, self._start, self._stop = source, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def _window(self) -> list[Change]:
        source = self._source
        if self._stop <= len(source.head):
            return source.head[self._start : self._stop]
        return source.changes[self._start : self._stop]

    def __iter__(self) -> Iterator[Change]:
        return iter(self._window())

    @overload
    def __getitem__(self, index: int) -> Change: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Change]: ...
    def __getitem__(self, index: int | slice) -> Change | Sequence[Change]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return self._window()[index]
            stop = max(start, stop)
            return DeferredChanges(self._source, self._start + start, self._start + stop)
        return self._window()[index]


# --- the decode process ----------------------------------------------------------


def _read_frame(stream: BinaryIO) -> bytes | None:
    """One length-prefixed frame, None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    return data if len(data) == length else None


def _write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _answer(schema: Schema, request: bytes) -> bytes:
    """What a decode process sends back for one push: None for a body it refuses (the
    hub decodes it again for the refusal's words); a batch with updates or other than
    new rows whole; else its head with the seam, the number of changes, and the new
    rows as their values laid out only (`_RowsOf` gives the rows back): half the
    hub's time to unpickle them (0.8 against 1.9 us a change)."""
    body, encoding = pickle.loads(request)
    try:
        batch, ready = decode_here(schema, body, encoding, lay_out=True)
    except Exception:  # noqa: BLE001 - any refusal: the hub decodes it again and names it
        return pickle.dumps(None, protocol=pickle.HIGHEST_PROTOCOL)
    if ready is None:
        return pickle.dumps((batch, 0, None), protocol=pickle.HIGHEST_PROTOCOL)
    count = len(batch.changes)
    head = replace(batch, changes=batch.changes[: count - ready.count])
    laid_out = (
        ready.first_seq,
        ready.count,
        [(tbl, cols, chunks) for tbl, cols, _rows, chunks in ready.groups],
        ready.named,
        len(ready.log_rows[0]),
        ready.log_chunks,
    )
    return pickle.dumps((head, count, laid_out), protocol=pickle.HIGHEST_PROTOCOL)


class _RowsOf(Sequence[tuple[Any, ...]]):
    """Rows given back by their values laid out a statement at a time (`flat_chunks`):
    the writer reads those values, and the rows themselves only on a SQLite that takes
    fewer rows per statement (`ingest.insert_rows`), which makes them here."""

    __slots__ = ("_chunks", "_count", "_rows", "_width")

    def __init__(self, chunks: list[list[Any]], width: int) -> None:
        self._chunks, self._width = chunks, width
        self._count = sum(len(values) for values in chunks) // width
        self._rows: list[tuple[Any, ...]] | None = None

    def __len__(self) -> int:
        return self._count

    def _made(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            values, width = list(chain.from_iterable(self._chunks)), self._width
            self._rows = [tuple(values[i : i + width]) for i in range(0, len(values), width)]
        return self._rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._made())

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Any, ...]]: ...
    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | Sequence[tuple[Any, ...]]:
        return self._made()[index]


def serve_decoding() -> None:
    """A decode process: the schema comes first, then a push a frame, each answered in
    turn; it ends when the hub closes its input (or dies)."""
    from edge.server import tune_interpreter

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C stops the hub, which stops this
    requests = os.fdopen(0, "rb", buffering=1 << 20)
    answers = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    os.dup2(2, 1)  # anything printed goes to the log, not into the answers
    first = _read_frame(requests)
    if first is None:
        return
    fingerprint, schema = pickle.loads(first)
    if fingerprint != code_fingerprint():
        _write_frame(answers, _STALE)
        return
    tune_interpreter()
    _write_frame(answers, _READY)
    while (request := _read_frame(requests)) is not None:
        _write_frame(answers, _answer(schema, request))


# --- the hub's side ----------------------------------------------------------------


class _Process:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self.requests, self.answers = proc.stdin, proc.stdout

    async def send(self, data: bytes) -> None:
        self.requests.write(_LENGTH.pack(len(data)) + data)
        await self.requests.drain()

    async def receive(self) -> bytes:
        (length,) = _LENGTH.unpack(await self.answers.readexactly(_LENGTH.size))
        return await self.answers.readexactly(length)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.requests.close()
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_WAIT_S)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class DecodeProcesses:
    """The hub's decode processes: started with the hub (`start`), and again after one
    died; one push at a time each. `decode` answers None when none is free, and the
    caller decodes in a thread."""

    def __init__(self, schema: Schema, size: int) -> None:
        self.schema, self.size = schema, size
        self._setup = pickle.dumps((code_fingerprint(), schema), protocol=pickle.HIGHEST_PROTOCOL)
        self._idle: list[_Process] = []
        self._all: set[_Process] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._not_before = 0.0
        self._closed = False
        self.decoded = 0  # pushes these processes decoded (for the logs and the tests)

    @property
    def running(self) -> list[int]:
        """The pids of the decode processes now alive."""
        return [p.proc.pid for p in self._all if p.proc.returncode is None]

    async def decode(
        self, body: bytes, encoding: str | None
    ) -> tuple[Batch, NewRows | None] | None:
        """The push as `decode_here` gives it, decoded in a free process; None if none
        is free or it did not decode it (the caller decodes it in a thread)."""
        if not self._idle:
            self._start_one()
            return None
        worker = self._idle.pop()
        # Shielded: a push given up meanwhile still reads its answer, so that the
        # process's next answer is the next push's.
        exchange = asyncio.ensure_future(self._exchange(worker, body, encoding))
        answer = await asyncio.shield(exchange)
        if answer is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            decoded = await loop.run_in_executor(None, _unpack, answer, body, encoding)
        except Exception:  # an answer it cannot read: the push is decoded here instead
            log.exception("an answer of a decode process could not be read")
            return None
        if decoded is not None:
            self.decoded += 1
        return decoded

    async def _exchange(self, worker: _Process, body: bytes, encoding: str | None) -> bytes | None:
        try:
            await worker.send(pickle.dumps((body, encoding), protocol=pickle.HIGHEST_PROTOCOL))
            answer = await worker.receive()
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("a decode process (pid %d) ended: %r", worker.proc.pid, exc)
            await self._lost(worker)
            return None
        if self._closed:
            await worker.stop()
        else:
            self._idle.append(worker)
        return answer

    async def _lost(self, worker: _Process) -> None:
        """A process that died or would not start: gone, and none started for a while."""
        self._all.discard(worker)
        self._not_before = time.monotonic() + RESTART_AFTER_S
        if worker.proc.returncode is None:
            worker.proc.kill()
        await worker.proc.wait()

    async def start(self) -> None:
        """Start every process now and wait until they are ready (a few tenths of a
        second, importing), so that a burst of pushes finds them so."""
        for _ in range(self.size):
            self._start_one()
        if self._starting:
            await asyncio.wait(list(self._starting), timeout=START_WAIT_S)

    def _start_one(self) -> None:
        if (
            self._closed
            or len(self._all) + len(self._starting) >= self.size
            or time.monotonic() < self._not_before
        ):
            return
        task = asyncio.ensure_future(self._start())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _start(self) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-P",  # this code as the hub imported it, never a folder of the working one
                "-m",
                "hub.decoding",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            log.warning("no decode process: %r; pushes are decoded in threads", exc)
            self._not_before = time.monotonic() + RESTART_AFTER_S
            return
        worker = _Process(proc)
        self._all.add(worker)
        try:
            await worker.send(self._setup)
            said = await worker.receive()
            if said == _STALE:
                raise OSError("its code is not the hub's: restart the hub after an upgrade")
            if said != _READY:
                raise OSError("the decode process did not say it was ready")
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("a decode process (pid %d) did not start: %r", proc.pid, exc)
            await self._lost(worker)
            return
        if self._closed:
            await worker.stop()
            return
        self._idle.append(worker)

    async def close(self) -> None:
        """Stop every process: their input closed, each ends after its push in hand."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        for worker in list(self._all):
            await worker.stop()
        self._all.clear()
        self._idle.clear()


def _unpack(
    answer: bytes, body: bytes, encoding: str | None
) -> tuple[Batch, NewRows | None] | None:
    """A decode process's answer as `decode_here` gives it: the changes past the head
    are left in the body until something reads them."""
    decoded = pickle.loads(answer)
    if decoded is None:
        return None  # refused: decoded again in a thread, which names the fault
    head, count, laid_out = decoded
    if laid_out is None:
        return head, None
    first_seq, ready_count, groups, named, log_width, log_chunks = laid_out
    ready = NewRows(
        first_seq,
        ready_count,
        tuple((tbl, cols, _RowsOf(chunks, len(cols)), chunks) for tbl, cols, chunks in groups),
        named,
        _RowsOf(log_chunks, log_width),
        log_chunks,
    )
    seam = list(head.changes)
    return replace(head, changes=DeferredChanges(_Body(body, encoding, seam), 0, count)), ready


if __name__ == "__main__":
    serve_decoding()
