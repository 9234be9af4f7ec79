"""Slow clients cannot take the box down: `linli serve` for real, on loopback, with real
sockets. A request whose headers never finish and a body that trickles are cut by the
header and body timeouts; hundreds of such connections in a process allowed few open
files do not stop /healthz; the soft open-files limit is raised to the hard one.

Kept small: 300 slow connections against a 256-file limit (systemd's default of 1,024
and 1,100 connections behave the same, measured by hand), timeouts of 2 s, and waits
bounded at 30 s that only a server without the limits runs into.
"""

from __future__ import annotations

import os
import resource
import select
import selectors
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import free_port, stop, wait_healthy

SLOW = 300
FILE_LIMIT = 256
WAIT_S = 30.0
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: box\r\nUser-Agent: slow"


def _env() -> dict[str, str]:
    drop = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LINLI_MDNS_NAME")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def limits(self) -> tuple[int, int]:
        """The server's open-files limit (soft, hard), from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
        raise AssertionError("no open-files line in /proc/PID/limits")


@pytest.fixture
def serve(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> Iterator[Callable[..., Server]]:
    procs: list[subprocess.Popen[bytes]] = []
    db = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db)  # conftest's build_centre, made once per process

    def start(*more: str, files: tuple[int, int] = (FILE_LIMIT, FILE_LIMIT)) -> Server:
        def limit_files() -> None:  # in the child, before exec
            resource.setrlimit(resource.RLIMIT_NOFILE, files)

        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "edge.cli", "serve", "--db", str(db)),
                    *("--host", "127.0.0.1", "--port", str(port), "--no-sync", *more),
                ],
                env=_env(),
                stdout=fh,
                stderr=subprocess.STDOUT,
                preexec_fn=limit_files,
            )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        return Server(url, port, proc, log)

    yield start
    stop(procs)


def _connect(port: int, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if first:
        sock.sendall(first)
    return sock


def _answer(sock: socket.socket, within: float = WAIT_S) -> tuple[bytes, float]:
    """What the server sent until it closed the connection, and how long that took;
    (b"...", inf) when it kept the connection open `within` seconds."""
    start = time.monotonic()
    got = b""
    while time.monotonic() - start < within:
        sock.settimeout(max(0.1, within - (time.monotonic() - start)))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return got, time.monotonic() - start
        if not chunk:
            return got, time.monotonic() - start
        got += chunk
    return got, float("inf")


def test_unfinished_headers_a_trickling_body_and_huge_headers_are_cut(
    serve: Callable[..., Server],
) -> None:
    hard = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    soft = min(FILE_LIMIT, hard // 2)  # below the hard limit on any machine
    box = serve("--header-timeout", "2", "--body-timeout", "2", files=(soft, hard))
    # systemd's default soft limit (1,024) is far below its hard one: raised at start.
    assert box.limits() == (hard, hard)

    silent = _connect(box.port)  # connects, sends nothing
    partial = _connect(box.port, PARTIAL)  # half a request, then nothing
    body = _connect(
        box.port,
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: box\r\n"
        b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{",
    )
    started = time.monotonic()
    while time.monotonic() - started < WAIT_S:  # a byte of the body every half second
        try:
            body.sendall(b" ")
        except OSError:
            break
        if select.select([body], [], [], 0.5)[0]:
            break  # an answer, or the end
    got, _ = _answer(body, within=max(1.0, WAIT_S - (time.monotonic() - started)))
    assert got.startswith(b"HTTP/1.1 408 "), got[:200]

    got, took = _answer(partial)
    assert took < WAIT_S and got.startswith(b"HTTP/1.1 408 "), got[:200]
    got, took = _answer(silent)
    assert took < WAIT_S and got == b""

    # Header lines without end, as fast as the client can: 431 once past 64 KiB.
    huge = _connect(box.port, b"GET / HTTP/1.1\r\nHost: box\r\n")
    try:
        for i in range(2_000):  # 100 KB at most
            huge.sendall(f"X-Filler-{i}: {'y' * 40}\r\n".encode())
    except OSError:
        pass  # closed by the server while we still sent
    got, took = _answer(huge)
    assert took < WAIT_S and got.startswith(b"HTTP/1.1 431 "), got[:200]

    # A client that sends its request at once is served as before, keep-alive too.
    with httpx.Client(base_url=box.url, timeout=10) as client:
        assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    for sock in (silent, partial, body, huge):
        sock.close()


def _open_slow(port: int, count: int) -> list[socket.socket]:
    """`count` connections made at once, each sending half a request line."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sel.register(sock, selectors.EVENT_WRITE, data=sock)
        socks.append(sock)
    waiting = set(socks)
    deadline = time.monotonic() + WAIT_S
    while waiting and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            sock = key.data
            sel.unregister(sock)
            waiting.discard(sock)
            try:
                sock.send(PARTIAL)
            except OSError:
                pass  # already closed by the server to make room: it counted too
    sel.close()
    return socks


def _healthz(url: str) -> int | str:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


def test_healthz_answers_while_300_slow_connections_hold_a_256_file_box(
    serve: Callable[..., Server],
) -> None:
    """Before: the server accepted until it had no file left, then /healthz failed for as
    long as the slow connections stayed (they did: there was no header timeout). The
    header timeout here is the default 10 s: the connection limit does the work."""
    box = serve()
    assert box.limits() == (FILE_LIMIT, FILE_LIMIT)
    slow = _open_slow(box.port, SLOW)
    try:
        answers: list[Any] = []
        deadline = time.monotonic() + WAIT_S
        while answers[-3:] != [200, 200, 200] and time.monotonic() < deadline:
            answers.append(_healthz(box.url))
        assert answers[-3:] == [200, 200, 200], answers
        # A tablet's real request too, while the slow ones are still there.
        token = httpx.post(
            f"{box.url}/api/v1/auth/token", json={"name": "manager", "pin": "1234"}, timeout=10
        )
        assert token.status_code == 200, token.text
        # The server never ran out of files (asyncio logs its accept failures).
        assert "out of system resource" not in box.log.read_text()
        assert len(os.listdir(f"/proc/{box.proc.pid}/fd")) < FILE_LIMIT
    finally:
        for sock in slow:
            sock.close()


def test_a_body_answered_before_it_was_read_gets_one_answer_not_a_reset(
    serve: Callable[..., Server],
) -> None:
    """A 5 MiB body to a 256 KiB centre: the 413 goes out before the body is read. The
    rest of the body is dropped, not parsed as a next request (it used to draw a second
    answer, a 431 or 408, and a reset that could lose the 413)."""
    server = serve()
    size = 5 * 1024 * 1024
    sock = _connect(
        server.port,
        b"POST /api/v1/orders HTTP/1.1\r\nHost: box\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {size}\r\n\r\n".encode(),
    )
    sent = 0
    try:
        while sent < size:
            sock.sendall(b" " * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server half-closed and stopped reading: fine, the answer is in
    got, _ = _answer(sock)
    sock.close()
    assert got.startswith(b"HTTP/1.1 413 "), got[:200]
    assert got.count(b"HTTP/1.1 ") == 1, got
    assert b'"payload_too_large"' in got
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
