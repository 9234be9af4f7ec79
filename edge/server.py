"""The web server of a box: uvicorn with limits that slow clients cannot get past.

Measured on uvicorn's defaults (a centre with 256 open files allowed and 300 connections
that sent half a request and then nothing; or systemd's default 1,024 and 1,100 of them):
/healthz failed for the whole run, and an unfinished request stayed open as long as its
client liked. uvicorn times out idle keep-alive connections only; it has no header or body
timeout, and its `limit_concurrency` counts connections only once their headers are in
(the file descriptor is spent at accept) and then answers 503 to everyone, /healthz too.
So, around uvicorn's own HTTP/1.1 protocol (httptools, else h11):

- header timeout (default 10 s): a new connection sends its request line and headers
  within it, counted from the connection, or from the first byte after the last answer
  (idle keep-alive connections are closed by uvicorn after `keep_alive_s`). Then 408
  (or nothing, if nothing came) and the connection is closed.
- body timeout (centre 30 s, hub 120 s for 4 MB sync batches): from the headers to the
  last byte of the body; a body that trickles is cut with a 408.
- request line and headers: at most 64 KiB (431).
- connections: at most `max_connections`, below the open-files limit (RLIMIT_NOFILE, the
  soft limit raised to the hard one at start) less a margin for the database, logs, the
  paste readers and a burst of accepts; and at most 4,096. At the limit a new connection
  takes the place of the one that has waited longest without sending a whole request
  (a slow client, an idle keep-alive), so /healthz and a tablet still get in while
  thousands of slow connections are open; only when every connection is busy with a
  request does the new one get a 503.
- the asyncio event loop, not uvloop: asyncio accepts at most `backlog` connections per
  turn of the loop (so the guard sees them before more file descriptors are spent) and,
  out of files, pauses accepting for a second; libuv accepts every pending connection
  first and, out of files, closes all the pending ones.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import resource
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from edge.errors import BadRequest

log = logging.getLogger("linli.server")

MAX_CONNECTIONS_CEILING = 4096  # memory: about 10 KB a connection, in a 400 MB service
# RLIMIT_NOFILE may be "unlimited" (or absurdly high): what we ask for then.
FD_TARGET_WHEN_UNLIMITED = 65_536
# File descriptors that are not connections: stdio, the event loop, the listening socket,
# SQLite (writer and readers: the file, its -wal and -shm), the sync client, mDNS, the
# paste readers' pipes, the health check's own socket.
FD_BASELINE = 64
# After an answer given before the request's body was all read (a 401 to an upload), the
# rest of that body comes before the next request line: allowed, up to this much.
UNREAD_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: int = 5
    max_header_bytes: int = 64 * 1024
    max_connections: int | None = None  # None: from the open-files limit

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "body_timeout_s"):
            value = getattr(self, name)
            if not 0.1 <= value <= 3600:
                flag = "--" + name.removesuffix("_s").replace("_", "-")
                raise BadRequest(f"{flag} is 0.1 to 3600 seconds", field=name)
        if self.max_connections is not None and self.max_connections < 8:
            raise BadRequest("--max-connections is at least 8", field="max_connections")


def open_files_limit(*, raise_soft: bool = True) -> int:
    """The soft RLIMIT_NOFILE, first raised to the hard limit when it is lower (systemd's
    default soft limit is 1,024 whatever the hard one is)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = resource.RLIM_INFINITY
    target = hard if hard != inf else max(FD_TARGET_WHEN_UNLIMITED, soft if soft != inf else 0)
    if raise_soft and (soft == inf or soft < target):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit to %s: %s", target, exc)
    return FD_TARGET_WHEN_UNLIMITED if soft == inf else int(soft)


def connection_budget(fd_limit: int, wanted: int | None = None) -> tuple[int, int]:
    """(max_connections, listen backlog) for a process allowed `fd_limit` open files.
    The margin holds FD_BASELINE and a few turns of accepts (each up to `backlog`)."""
    backlog = min(128, max(16, fd_limit // 16))
    room = fd_limit - FD_BASELINE - 4 * backlog
    most = min(MAX_CONNECTIONS_CEILING, room)
    return max(8, min(most, wanted) if wanted else most), backlog


# --- the guard ----------------------------------------------------------------------------

_WAIT, _REQUEST = 0, 1


DRAIN_S = 2.0  # how long the rest of an unread body is read and dropped before closing


def _raw_response(status: int, reason: str, text: str) -> bytes:
    body = text.encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


TIMEOUT_408 = _raw_response(408, "Request Timeout", "the request was not sent in time")
TOO_LARGE_431 = _raw_response(
    431, "Request Header Fields Too Large", "the request line and headers are too long"
)
FULL_503 = _raw_response(503, "Service Unavailable", "the box is busy; try again in a moment")


class Guard:
    """Timeouts and the connection limit for one server; shared by its connections."""

    def __init__(self, limits: Limits, max_connections: int) -> None:
        self.limits = limits
        self.max_connections = max_connections
        self.live: set[Any] = set()  # connections not closed by us or lost
        self.waiting: OrderedDict[Any, None] = OrderedDict()  # no request in flight, oldest first
        self.tick = max(0.1, min(1.0, limits.header_timeout_s / 4, limits.body_timeout_s / 4))
        self._sweeping: asyncio.TimerHandle | None = None
        self.counts = {"header_timeout": 0, "body_timeout": 0, "too_large": 0}
        self.counts |= {"evicted": 0, "refused": 0}
        self._logged = dict(self.counts)
        self._last_log = 0.0

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def admit(self, conn: Any) -> bool:
        """At the limit: close the connection that has waited longest for a request;
        none waiting (all busy with requests): refuse this one with a 503."""
        if self._sweeping is None:
            loop = asyncio.get_running_loop()
            self._sweeping = loop.call_later(self.tick, self._sweep, loop)
        while len(self.live) >= self.max_connections and self.waiting:
            victim, _ = self.waiting.popitem(last=False)
            self.live.discard(victim)
            if not victim.transport.is_closing():
                victim.transport.abort()
                self.counts["evicted"] += 1
        if len(self.live) >= self.max_connections:
            self.counts["refused"] += 1
            conn._lx_close(FULL_503)
            return False
        self.live.add(conn)
        self.waiting[conn] = None
        return True

    def forget(self, conn: Any) -> None:
        self.live.discard(conn)
        self.waiting.pop(conn, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            now = self.now()
            limits = self.limits
            for conn in list(self.live):
                transport = conn.transport
                if transport.is_closing() or transport.get_protocol() is not conn:
                    self.forget(conn)  # closed, or handed to another protocol
                    continue
                conn._lx_sync()
                since = conn._lx_since
                if since is None:
                    continue
                if conn._lx_phase == _WAIT:
                    if now - since > limits.header_timeout_s:
                        self.counts["header_timeout"] += 1
                        conn._lx_close(TIMEOUT_408 if conn._lx_bytes else None)
                else:
                    cycle = conn.cycle
                    body_due = cycle.more_body and not cycle.response_complete
                    if body_due and now - since > limits.body_timeout_s:
                        self.counts["body_timeout"] += 1
                        conn._lx_body_timeout()
            self._report(now)
        finally:
            if not loop.is_closed():
                self._sweeping = loop.call_later(self.tick, self._sweep, loop)

    def _report(self, now: float) -> None:
        """What the guard did, at most once a minute (a flood must not flood the journal)."""
        if now - self._last_log < 60 or self.counts == self._logged:
            return
        done = {k: v - self._logged[k] for k, v in self.counts.items() if v != self._logged[k]}
        self._logged, self._last_log = dict(self.counts), now
        log.warning(
            "slow or surplus connections closed (%s); open: %d of at most %d",
            ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in done.items()),
            len(self.live),
            self.max_connections,
        )


class GuardedProtocol:
    """Mixed into uvicorn's HTTP/1.1 protocols (httptools, h11). It uses only what both
    have: `transport`, `cycle` (the current request: `more_body`, `response_complete`,
    `response_started`, `disconnected`, `message_event`) and the protocol callbacks."""

    guard: ClassVar[Guard]
    transport: asyncio.Transport
    cycle: Any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._lx_phase = _WAIT
        self._lx_cycle: Any = None
        self._lx_since: float | None = self.guard.now()
        self._lx_bytes = 0
        self._lx_unread_body = False
        self._lx_draining = False
        self.guard.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._lx_draining:
            return  # the rest of a body answered without being read: dropped, not parsed
        self._lx_sync()
        if self._lx_phase == _WAIT:
            if self._lx_since is None:  # the first byte after an answer: the clock starts
                self._lx_since = self.guard.now()
            self._lx_bytes += len(data)
        super().data_received(data)  # type: ignore[misc]
        self._lx_sync()
        most = self.guard.limits.max_header_bytes
        if self._lx_unread_body:
            most += UNREAD_BODY_BYTES
        if self._lx_phase == _WAIT and self._lx_bytes > most and not self.transport.is_closing():
            self.guard.counts["too_large"] += 1
            self._lx_close(TOO_LARGE_431)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._lx_sync()

    def _lx_sync(self) -> None:
        """Follow the protocol: a new request's headers are in, or its answer went out."""
        cycle = self.cycle
        if cycle is None:
            return
        if cycle is not self._lx_cycle:
            self._lx_cycle = cycle
            self._lx_phase = _REQUEST
            self._lx_since = self.guard.now()
            self._lx_unread_body = False
            self.guard.waiting.pop(self, None)
        elif self._lx_phase == _REQUEST and cycle.response_complete:
            self._lx_phase = _WAIT
            self._lx_since = None  # uvicorn's keep-alive timeout covers the idle time
            self._lx_bytes = 0
            self._lx_unread_body = bool(cycle.more_body)
            if self in self.guard.live:
                self.guard.waiting[self] = None
            if self._lx_unread_body:
                self._lx_drain()

    def _lx_drain(self) -> None:
        """The answer went out before the body was read (a 413, a 401): say that is all
        (half-close), drop what the client still sends instead of parsing it as a next
        request, and close a little later, so the client reads the answer rather than a
        reset."""
        self._lx_draining = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(DRAIN_S, self._lx_close, None)

    def _lx_close(self, answer: bytes | None) -> None:
        self.guard.forget(self)
        if not self.transport.is_closing():
            if answer and not self._lx_draining:
                self.transport.write(answer)
            self.transport.close()

    def _lx_body_timeout(self) -> None:
        cycle = self.cycle
        started = cycle.response_started
        # The app's receive() now says "disconnected" and its answer, if any, is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self._lx_close(None if started else TIMEOUT_408)


def protocol_class(guard: Guard) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol (httptools when installed, else h11) with the guard."""
    base: type[asyncio.Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is in the box's lock
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return type(f"Guarded{base.__name__}", (GuardedProtocol, base), {"guard": guard})


# --- running it ---------------------------------------------------------------------------


def build_server(
    app: Any, *, host: str, port: int, log_level: str = "info", limits: Limits | None = None
) -> tuple[Any, Guard]:
    """A uvicorn.Server for `app` with the limits; not started."""
    import uvicorn

    limits = limits or Limits()
    fd_limit = open_files_limit()
    max_connections, backlog = connection_budget(fd_limit, limits.max_connections)
    guard = Guard(limits, max_connections)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        # No proxy in front of a box: the peer address is the tablet's, whatever
        # X-Forwarded-For a client sends (edge.domain.auth reads it only for a trusted proxy).
        proxy_headers=False,
        loop="asyncio",
        http=protocol_class(guard),
        ws="none",
        backlog=backlog,
        timeout_keep_alive=limits.keep_alive_s,
        h11_max_incomplete_event_size=limits.max_header_bytes,
    )
    log.info(
        "connections: at most %d (open files %d); header timeout %g s, body timeout %g s",
        max_connections,
        fd_limit,
        limits.header_timeout_s,
        limits.body_timeout_s,
    )
    return uvicorn.Server(config), guard


# Allocations between two collections of the youngest generation (CPython's default
# is 700), and how many of those before each older one is examined.
GC_THRESHOLDS = (50_000, 20, 10)
SWITCH_INTERVAL_S = 0.0001  # CPython's default is 0.005


def tune_interpreter() -> None:
    """Make the cyclic garbage collector cheap for a server's work: the objects alive
    after start-up (the imported code, the app) are frozen out of every collection,
    and collections come less often. A push's changes parse into dicts and lists
    that all live until the push is applied: with CPython's defaults, decoding
    32,000 changes ran the collector 180 times (a full one every 24,000 changes),
    a quarter of the decode's CPU (0.30 of 1.13 s for three such decodes; 0.03 s
    with these settings). Garbage in reference cycles waits a little longer.

    And threads hand the GIL over sooner (`SWITCH_INTERVAL_S`): the store's writer
    lets go of it in every SQLite call and, by CPython's default, may then wait up
    to 5 ms to get it back from a thread decoding the next push. On the hub that
    writer is the pace of ingest: 50 pushes of 1,280 changes went 6-23 % faster
    with 1 ms than with 5 (three rounds), and 9 % faster again with 0.1 ms than
    with 1 (six rounds: 28.8k against 31.5k changes/s on average, the slowest round
    25.9k against 30.3k), for 2 % more of the hub's CPU. A clean sync of 10,000
    orders took as long either way (1.15 s against 1.09 s, six runs each)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    role: str,
    log_level: str = "info",
    mdns_name: str | None = None,
    limits: Limits | None = None,
) -> bool:
    """Serve `app` with the box's chores beside it (edge.box: sd_notify, the watchdog,
    mDNS); False if the server never started."""
    from edge.box import Box

    server, _ = build_server(app, host=host, port=port, log_level=log_level, limits=limits)
    app.state.box_port = port
    box = Box(app, server, host=host, port=port, role=role, mdns_name=mdns_name)

    async def stop_box() -> None:
        await asyncio.to_thread(box.stop)

    app.on_shutdown.append(stop_box)
    box.start()
    tune_interpreter()
    try:
        server.run()
    finally:
        box.stop()
    return bool(server.started)
