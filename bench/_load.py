"""Shared helpers for the bench/centre_*.py scripts.

- `Bench`: a context manager that owns every server process and temp folder a
  bench makes and removes them on the way out, also on Ctrl-C, SIGTERM or an
  exception (servers run in their own process group, so uvicorn's children go
  too).
- `start_server`: a server pinned to one core with `taskset -c CPU`.
- `pin_client`: pin this (the load-generating) process to another core.
- A small raw-asyncio HTTP/1.1 keep-alive client (`Conn`) and two load shapes:
  `closed_loop` (N clients, each sends its next request when the last answered:
  maximum throughput) and `open_loop` (requests at a fixed rate whatever the
  server does; latency counted from the moment a request was due, so a slow
  server cannot hide its queueing: no coordinated omission).
- `httpx_closed_loop`: the same closed loop with httpx.AsyncClient, to show how
  much a client process can drive on one core (requests per client CPU second).

Everything talks to 127.0.0.1 only, and every loop is bounded in time.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
LINLI = str(VENV_BIN / "linli")
HOST = "127.0.0.1"
SERVER_CPU = 0
CLIENT_CPU = 1

# (method, path, extra header lines as bytes, body)
Request = tuple[str, str, bytes, bytes]


# --- processes and cleanup -------------------------------------------------


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


class Bench:
    """Owns the servers and temp folders of one bench run; cleans them up on exit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.procs: list[subprocess.Popen[bytes]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"linli-{name}-"))
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Bench:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old[sig] = signal.signal(sig, _raise_exit)
        # Ctrl-C raises KeyboardInterrupt even when started from a shell that ignores it.
        self._old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for proc in self.procs:
                stop_server(proc)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            for sig, old in self._old.items():
                signal.signal(sig, old)

    def start_server(
        self,
        cmd: list[str],
        *,
        cpu: int = SERVER_CPU,
        env: dict[str, str] | None = None,
        log_name: str = "server",
    ) -> subprocess.Popen[bytes]:
        """Start `cmd` pinned to `cpu`, in its own process group, output to a log file."""
        log = open(self.tmp / f"{log_name}.log", "ab")
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(
            ["taskset", "-c", str(cpu), *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=str(ROOT),
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        stop_server(proc)
        if proc in self.procs:
            self.procs.remove(proc)

    def log_tail(self, log_name: str = "server", lines: int = 20) -> str:
        path = self.tmp / f"{log_name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM the server's process group, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)


def pin_client(cpu: int = CLIENT_CPU) -> None:
    """Pin this process (the load generator) to `cpu` when the machine has it."""
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def serve_cmd(db: Path, port: int) -> list[str]:
    """The real centre server as an operator starts it (uvicorn inside `linli serve`)."""
    return [
        LINLI,
        "serve",
        "--db",
        str(db),
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-sync",
        "--log-level",
        "warning",
    ]


def http_get_sync(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """One blocking GET with a fresh connection (for readiness polls)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def wait_ready(
    port: int,
    proc: subprocess.Popen[bytes],
    path: str = "/healthz",
    timeout: float = 30.0,
    poll_s: float = 0.005,
) -> float:
    """Poll until `path` answers 200; returns seconds since this call."""
    t0 = time.perf_counter()
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering")
        try:
            status, _ = http_get_sync(port, path)
            if status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(poll_s)
    raise RuntimeError(f"no answer from port {port} within {timeout} s")


# --- a raw HTTP/1.1 keep-alive client ----------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def request(self, req: Request) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        method, path, headers, body = req
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n".encode()
            + headers
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            data = await self.reader.readexactly(int(lower[at + 17 : end]))
        elif b"transfer-encoding: chunked" in lower:
            data = await self._chunked()
        else:
            data = b""
        if b"\r\nconnection: close" in lower:
            await self.close()
        return status, data

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        out = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            out += await self.reader.readexactly(size + 2)
            if size == 0:
                return out
            out = out[:-2]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


@dataclass
class Result:
    label: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0  # CPU seconds this process used during the run
    server_cpu: float = 0.0  # CPU seconds the server used during the run (server_pid given)
    warm: Counter[int] = field(default_factory=Counter)  # statuses during the warmup
    late: int = 0  # open loop: requests sent more than 1 ms after they were due

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        """The p-th percentile latency in ms (nearest rank)."""
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        k = max(0, min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1))
        return xs[k] * 1e3

    def server_ms_per_request(self) -> float:
        return self.server_cpu / self.ok * 1e3 if self.ok else float("nan")

    def per_client_cpu_s(self) -> float:
        total = self.ok + sum(self.errors.values())
        return total / self.client_cpu if self.client_cpu else float("inf")

    def line(self) -> str:
        bad = {s: n for s, n in self.statuses.items() if s >= 400}
        extra = f"  non-2xx={bad}" if bad else ""
        if self.errors:
            extra += f"  errors={dict(self.errors)}"
        return (
            f"{self.label}: {self.ok} ok in {self.elapsed:.1f} s = {self.rate:.0f}/s;"
            f" latency ms p50={self.pct(50):.1f} p95={self.pct(95):.1f}"
            f" p99={self.pct(99):.1f} max={self.pct(100):.1f}{extra}"
        )


def _ok(status: int) -> bool:
    return 200 <= status < 300


async def closed_loop(
    port: int,
    make: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    label: str = "closed loop",
    warmup: float = 0.0,
    server_pid: int | None = None,
) -> Result:
    """`concurrency` clients on keep-alive connections, each firing its next request as
    soon as the last one answers, for `duration` seconds after `warmup` seconds."""
    counter = itertools.count()
    res = Result(label)
    measuring = False

    async def client() -> None:
        conn = Conn(port)
        try:
            while time.perf_counter() < stop_at:
                req = make(next(counter))
                t = time.perf_counter()
                try:
                    status, _ = await conn.request(req)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    if measuring:
                        res.errors[type(exc).__name__] += 1
                    await conn.close()
                    continue
                if measuring:
                    res.statuses[status] += 1
                    if _ok(status):
                        res.latencies.append(time.perf_counter() - t)
                else:
                    res.warm[status] += 1
        finally:
            await conn.close()

    start = time.perf_counter()
    stop_at = start + warmup + duration
    tasks = [asyncio.create_task(client()) for _ in range(concurrency)]
    if warmup:
        await asyncio.sleep(warmup)
    measuring = True
    srv0 = _cpu_s(server_pid)
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*tasks)
    res.elapsed = time.perf_counter() - t0
    res.client_cpu = time.process_time() - cpu0
    res.server_cpu = _cpu_s(server_pid) - srv0
    return res


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process (all its threads); 0 without a pid."""
    if pid is None:
        return 0.0
    import psutil

    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


async def open_loop(
    port: int,
    make: Callable[[int], Request],
    *,
    rate: float,
    duration: float,
    connections: int = 20,
    label: str = "open loop",
    server_pid: int | None = None,
) -> Result:
    """`rate` requests per second for `duration` seconds over a pool of `connections`
    keep-alive connections; a request waits for a free connection if all are busy, and
    its latency runs from when it was due."""
    res = Result(label)
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(connections):
        conn = Conn(port)
        await conn.open()
        pool.put_nowait(conn)
    total = int(rate * duration)
    srv0 = _cpu_s(server_pid)
    cpu0 = time.process_time()
    t0 = time.perf_counter() + 0.05

    async def one(i: int, due: float) -> None:
        conn = await pool.get()
        try:
            status, _ = await conn.request(make(i))
            res.statuses[status] += 1
            if _ok(status):
                res.latencies.append(time.perf_counter() - due)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            res.errors[type(exc).__name__] += 1
            await conn.close()
        finally:
            pool.put_nowait(conn)

    tasks = []
    for i in range(total):
        due = t0 + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.001:
            res.late += 1
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 30)
    res.elapsed = time.perf_counter() - t0
    res.client_cpu = time.process_time() - cpu0
    res.server_cpu = _cpu_s(server_pid) - srv0
    while not pool.empty():
        await pool.get_nowait().close()
    return res


async def httpx_closed_loop(
    port: int,
    make: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    label: str = "httpx closed loop",
) -> Result:
    """The same closed loop driven by httpx.AsyncClient (one pooled client)."""
    import httpx

    counter = itertools.count()
    res = Result(label)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits) as client:

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                method, path, headers, body = make(next(counter))
                hdrs = dict(line.split(": ", 1) for line in headers.decode().split("\r\n") if line)
                t = time.perf_counter()
                try:
                    r = await client.request(method, path, headers=hdrs, content=body)
                except httpx.HTTPError as exc:
                    res.errors[type(exc).__name__] += 1
                    continue
                res.statuses[r.status_code] += 1
                if _ok(r.status_code):
                    res.latencies.append(time.perf_counter() - t)

        cpu0, t0 = time.process_time(), time.perf_counter()
        stop_at = t0 + duration
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        res.elapsed = time.perf_counter() - t0
        res.client_cpu = time.process_time() - cpu0
    return res


def run(coro: Any) -> Any:
    """Run a coroutine on uvloop when it is installed (as uvicorn does), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def headers(**pairs: str) -> bytes:
    return b"".join(f"{k.replace('_', '-')}: {v}\r\n".encode() for k, v in pairs.items())


@contextmanager
def timed(label: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    print(f"  ({label}: {time.perf_counter() - t:.1f} s)", flush=True)


def rss_mb(pid: int) -> float:
    """Resident set size of a process and its children, in MB."""
    import psutil

    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / 2**20
