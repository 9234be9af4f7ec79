"""Helpers for the sync tests: real hub and centre databases in a temp folder.

Not `conftest.py` (that one is the lead's): test modules import from here.
Rows are written with `Tx.insert` into the real schema, the way the domain
writes them, so every change goes through the real change log.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pg_server import ensure_database, load_hub

from edge.domain import orders
from edge.domain.centre import init_centre
from edge.settings import Settings
from edge.store import Store, Tx, open_db, set_meta
from edge.store.dialect import is_postgres_url
from edge.store.ids import new_id
from edge.sync_hooks import DEFAULT_COMMANDS
from hub.app import create_hub_app, open_hub
from sync import enrol
from sync import schema as sync_schema
from sync.agent import SyncAgent

HUB_URL = "http://hub.test"
DAY = "2030-01-07"


@dataclass
class Centre:
    name: str
    store: Store
    site_id: str
    token: str

    def agent(self, client: httpx.AsyncClient, **kw: Any) -> SyncAgent:
        return SyncAgent(self.store, client, HUB_URL, self.token, **kw)


def open_hub_store(path: Path | str) -> Store:
    """The hub's store on a SQLite file or on a PostgreSQL database (a URL)."""
    ensure_database(path)
    sync_schema.ensure(path)
    store = open_db(path)
    enrol.init_hub(store)
    return store


def enrol_centre(hub_store: Store, path: Path, name: str, hub_url: str = HUB_URL) -> Centre:
    """Enrol on the hub, then create the box and join (what the CLI does, minus HTTP)."""
    e = hub_store.write_sync(lambda tx: enrol.add_centre(tx, name))
    store = Store(path)
    init_centre(store, name, site_id=e.site_id)
    sync_schema.ensure(path)
    hub_site = hub_store.site_id
    store.write_sync(
        lambda tx: enrol.join(
            tx, hub_url=hub_url, token=e.token, site_id=e.site_id, hub_site_id=hub_site, name=name
        )
    )
    return Centre(name, store, e.site_id, e.token)


def hub_app_client(
    app: Any, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An httpx client for the hub app in process (the caller runs its lifespan), or
    through `transport` (a fault-injecting one) when given."""
    return httpx.AsyncClient(transport=transport or httpx.ASGITransport(app=app), base_url=HUB_URL)


@asynccontextmanager
async def hub_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the hub app in process (lifespan run)."""
    async with app.lifespan():  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
            yield client


def hub_settings(target: Path | str, **kw: Any) -> Settings:
    """Settings of a hub on a SQLite file or on a PostgreSQL database (a URL)."""
    ensure_database(target)
    if is_postgres_url(target):
        return Settings(db_path=Path("postgresql"), db_url=str(target), role="hub", **kw)
    return Settings(db_path=Path(target), role="hub", **kw)


@dataclass
class _Built:
    """A hub app `hub_app` built, the test (node id) that last took it, and whether its
    lifespan runs (a module-scoped world serves it across tests)."""

    app: Any
    test: str
    serving: bool = False

    def __post_init__(self) -> None:
        self.app.on_startup.append(lambda: setattr(self, "serving", True))
        self.app.on_shutdown.append(lambda: setattr(self, "serving", False))


_APPS: dict[str, list[_Built]] = {"sqlite": [], "postgresql": []}


def _current_test() -> str:
    """The running test's node id ("" outside pytest: then no app is handed out twice)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]


def hub_app(path: Path | str, **settings: Any) -> Any:
    """The real hub app on `path` (a SQLite file or a PostgreSQL URL), its store open
    (`app.state.hub`, `app.state.store`) and served by its lifespan.

    Building the Litestar app takes ~0.3 s (a signature model per handler), so each test
    process keeps the apps it built, per engine, and hands one to the next test, opened
    on that test's database (`hub.app.open_hub`): an app is a test's until the test ends
    and while its lifespan runs (a module-scoped world), and a test asking twice gets
    two apps. `settings`: more of the hub's Settings (`now=`: the hub's clock), read
    from `app.state.settings` per request like the rest."""
    hub = hub_settings(path, **settings)
    test = _current_test()
    pool = _APPS["postgresql" if hub.db_url else "sqlite"]
    for built in pool:
        if test and built.test != test and not built.serving:
            app = built.app
            left = app.state.store
            if left is not None:
                left.close()  # a test that never ran the lifespan left it open
            open_hub(app.state, hub)
            built.test = test
            return app
    app = create_hub_app(hub)
    pool.append(_Built(app, test))
    return app


def linli_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """`linli ARGS` (`edge.cli.main`) run in this process: its exit status and what it
    printed, as `subprocess.run` gives them. A Python started for a command spends a
    second or more importing before the command begins. On a thread of its own, so a
    command that runs an event loop (`sync --once`) may be run from async code too; for
    commands that run to an end (not `serve`)."""
    from edge.cli import main

    out, err = io.StringIO(), io.StringIO()
    done: list[int | str | None] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(main(list(args)))
        except SystemExit as exit_:  # argparse, or sys.exit("message")
            done.append(exit_.code)
        except BaseException as e:  # noqa: BLE001 - raised again in the calling thread
            failed.append(e)

    with redirect_stdout(out), redirect_stderr(err):
        worker = threading.Thread(target=run, name="linli")
        worker.start()
        worker.join()
    if failed:
        raise failed[0]
    code = done[0]
    if isinstance(code, str):  # as python prints sys.exit("message")
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(["linli", *args], code or 0, out.getvalue(), err.getvalue())


@contextmanager
def connect_any(target: Path | str) -> Iterator[Any]:
    """A read connection to a hub's store, SQLite file or PostgreSQL URL, rows by name."""
    ensure_database(target)
    if is_postgres_url(target):
        from edge.store.pg import connect_url

        pg = connect_url(str(target))
        try:
            yield pg
        finally:
            pg.raw.close()
        return
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


# (centre names, hub url) -> the folder holding hub.db, a.db, b.db… and each centre's
# (name, site id, token), built once per test process.
_ENROLLED: dict[tuple[tuple[str, ...], str], tuple[Path, list[tuple[str, str, str]]]] = {}
LETTERS = "abcdefgh"


def _enrolled_files(
    names: Sequence[str], hub_url: str = HUB_URL
) -> tuple[Path, list[tuple[str, str, str]]]:
    """The folder of `enrolled`'s files, made on first use, and each centre's (name, site
    id, token)."""
    key = (tuple(names), hub_url)
    if key not in _ENROLLED:
        folder = Path(tempfile.mkdtemp(prefix="linli-enrolled-"))
        atexit.register(shutil.rmtree, folder, True)
        hub_store = open_hub_store(folder / "hub.db")
        made = []
        for letter, name in zip(LETTERS, names, strict=False):
            c = enrol_centre(hub_store, folder / f"{letter}.db", name, hub_url)
            made.append((c.name, c.site_id, c.token))
            c.store.close()
        hub_store.close()
        _ENROLLED[key] = (folder, made)
    return _ENROLLED[key]


# (operators, centre names) -> a folder of `enrolled`'s files whose hub has these operators.
_WITH_OPERATORS: dict[tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]], Path] = {}


def enrolled_with_operators(
    tmp: Path,
    names: Sequence[str],
    operators: Sequence[tuple[str, str, str]],
    hub: Path | str | None = None,
    **settings: Any,
) -> tuple[Any, list[Centre]]:
    """`enrolled`, its hub holding these operators (name, password, role). Each is an
    argon2 hash (tens of ms, and the hub worlds add them in every test): added once per
    test process to a copy of the enrolled files, which each test then copies."""
    key = (tuple(operators), tuple(names))
    if key not in _WITH_OPERATORS:
        base, _ = _enrolled_files(names)
        folder = Path(tempfile.mkdtemp(prefix="linli-operators-"))
        atexit.register(shutil.rmtree, folder, True)
        for f in base.iterdir():
            shutil.copyfile(f, folder / f.name)
        store = open_db(folder / "hub.db")
        try:
            for name, password, role in operators:
                store.write_sync(
                    lambda tx, n=name, p=password, r=role: enrol.add_operator(tx, n, p, r)
                )
        finally:
            store.close()
        _WITH_OPERATORS[key] = folder
    return enrolled(tmp, names, hub=hub, source=_WITH_OPERATORS[key], **settings)


def enrolled(
    tmp: Path,
    names: Sequence[str],
    hub_url: str = HUB_URL,
    hub: Path | str | None = None,
    source: Path | None = None,
    **settings: Any,
) -> tuple[Any, list[Centre]]:
    """The hub app on tmp/hub.db and one joined centre per name on tmp/a.db, tmp/b.db…

    Migrating and enrolling fresh databases was most of every sync test's setup, so
    the files are made once per test process with `enrol_centre` and each test gets
    its own copy of them. `hub`: a PostgreSQL URL puts the hub there instead (the
    enrolled hub file moved in with `linli hub migrate`'s copy). `source`: a folder
    holding a later state of these same files (a test module's own setup, made once
    from an earlier `enrolled`) to copy instead. `settings`: more of the hub's Settings
    (`hub_app`)."""
    folder, made = _enrolled_files(names, hub_url)
    folder = source or folder
    for f in folder.iterdir():
        shutil.copyfile(f, tmp / f.name)
    if hub is not None and is_postgres_url(hub):
        load_hub(tmp / "hub.db", str(hub), folder / "hub.db")
    app = hub_app(hub if hub is not None else tmp / "hub.db", **settings)
    centres = [
        Centre(name, Store(tmp / f"{letter}.db"), site_id, token)
        for letter, (name, site_id, token) in zip(LETTERS, made, strict=False)
    ]
    return app, centres


# --- rows, written like the domain writes them -----------------------------------


def add_household(tx: Tx, name: str = "王阿姨", phone: str = "13812345678") -> str:
    hid = new_id()
    tx.insert(
        "households",
        {
            "id": hid,
            "site_id": tx.site_id,
            "name": name,
            "phone": phone,
            "phone_tail": phone[-4:],
            "building": "3",
            "unit": "1",
            "room": "201",
            "created_at": "2030-01-06T08:00:00+00:00",
        },
    )
    return hid


def add_product(tx: Tx, name: str = "土豆", price_fen: int = 150) -> str:
    pid = new_id()
    tx.insert(
        "products",
        {
            "id": pid,
            "site_id": tx.site_id,
            "name": name,
            "sold_by": "weight",
            "unit": "斤",
            "price_fen": price_fen,
        },
    )
    return pid


def add_order(
    tx: Tx,
    household_id: str | None = None,
    *,
    items: int = 2,
    product_id: str = "p1",
    code: str | None = None,
) -> str:
    oid = new_id()
    stamp = "2030-01-06T09:00:00+00:00"
    tx.insert(
        "orders",
        {
            "id": oid,
            "site_id": tx.site_id,
            "household_id": household_id,
            "channel": "wechat",
            "pickup_date": DAY,
            "delivery_mode": "pickup",
            "pickup_code": code or oid[-6:],
            "status": "placed",
            "notes": "",
            "placed_by": "",
            "estimated_fen": 750,
            "final_fen": None,
            "paid_fen": 0,
            "payment_method": None,
            "idempotency_key": None,
            "staff_id": None,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    for line in range(items):
        tx.insert(
            "order_items",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "order_id": oid,
                "line": line,
                "product_id": product_id,
                "product_name": "土豆",
                "sold_by": "weight",
                "qty_unit": "g",
                "quantity": 2500,
                "unit_price_fen": 150,
                "estimated_fen": 750,
                "actual_grams": None,
                "final_fen": None,
            },
        )
    return oid


# The centre's real rules, not copies: a status only moves forward
# (edge.domain.orders.set_status), and the hub's cancel_order command is the handler a
# box registers (edge.sync_hooks.DEFAULT_COMMANDS), so "a cancel never undoes a pickup"
# is checked against the code that runs.
set_status = orders.set_status
cancel_handler = DEFAULT_COMMANDS["cancel_order"]


# --- comparing replicas ---------------------------------------------------------------

SHARED = (
    "households",
    "products",
    "orders",
    "order_items",
    "payments",
    "staff",
    "calendars",
    "calendar_exceptions",
    "walkin_sales",
    "walkin_items",
    "sync_command_results",
    "sync_commands",
)
IGNORED_COLUMNS = {"staff": {"pin_hash"}}


def canonical(
    path: Path | str, *, site_ids: set[str] | None = None, target_site: str | None = None
) -> dict[str, str]:
    """Per table, a hash of its rows (optionally only some owners), order-free.

    `target_site` keeps only the commands addressed to that centre (what it pulls).
    """
    with connect_any(path) as conn:
        out = {}
        for tbl in SHARED:
            rows = []
            for r in conn.execute(f"SELECT * FROM {tbl} ORDER BY id"):
                d = {k: r[k] for k in r.keys() if k not in IGNORED_COLUMNS.get(tbl, ())}
                if site_ids is not None and d["site_id"] not in site_ids:
                    continue
                if target_site is not None and d.get("target_site", target_site) != target_site:
                    continue
                rows.append(json.dumps(d, sort_keys=True, ensure_ascii=False))
            out[tbl] = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16] + f":{len(rows)}"
        return out


def count(path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> int:
    with connect_any(path) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


@contextmanager
def closing_stores(*stores: Store) -> Iterator[None]:
    try:
        yield
    finally:
        for s in stores:
            s.close()


__all__ = ["set_meta"]


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and breaks a share of requests, the ways a real link does.

    Faults: drop before forwarding (connect error), drop the reply after the
    hub committed (read error), answer 503, cut the reply short. Seeded, so
    a failing run can be replayed.
    """

    KINDS = ("drop_before", "drop_after", "http_503", "truncate")

    def __init__(self, inner: httpx.AsyncBaseTransport, rate: float, seed: int = 0) -> None:
        import random

        self.inner = inner
        self.rate = rate
        self.rng = random.Random(seed)
        self.faults: dict[str, int] = dict.fromkeys(self.KINDS, 0)
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        kind = self.rng.choice(self.KINDS) if self.rng.random() < self.rate else None
        if kind:
            self.faults[kind] += 1
        if kind == "drop_before":
            raise httpx.ConnectError("fault: dropped before forwarding", request=request)
        if kind == "http_503":
            return httpx.Response(503, json={"error": "fault", "detail": "injected"})
        response = await self.inner.handle_async_request(request)
        if kind == "drop_after":
            await response.aread()
            raise httpx.ReadError("fault: reply lost after the hub committed", request=request)
        if kind == "truncate":
            body = await response.aread()
            return httpx.Response(
                response.status_code,
                content=body[: len(body) // 2],
                headers={"content-type": "application/json"},
            )
        return response


# --- a fault-injecting HTTP proxy over real sockets ------------------------------------


class FaultProxy:
    """A TCP proxy for HTTP/1.1 that breaks a share of requests, in its own thread.

    One request per connection (it asks upstream to close). Faults, chosen
    at random for `rate` of requests: drop before forwarding, drop the reply
    after the hub committed, answer 502, delay, truncate the reply, reset
    the connection (RST). `rate = 0` heals the link.
    """

    KINDS = ("drop_before", "drop_after", "http_502", "delay", "truncate", "reset")

    def __init__(
        self,
        upstream_port: int,
        rate: float,
        seed: int = 0,
        delay_s: float = 0.05,
        kinds: tuple[str, ...] = KINDS,
        latency_s: float = 0.0,
        also: tuple[int, ...] = (),
    ) -> None:
        """`also`: more upstream ports, taken in turn with `upstream_port` request by
        request (several hub processes behind one address, as a load balancer does)."""
        import asyncio
        import random
        import threading

        self.upstream_port = upstream_port
        self.upstreams = (upstream_port, *also)
        self.rate = rate
        self.delay_s = delay_s
        self.kinds = kinds
        self.latency_s = latency_s
        self.rng = random.Random(seed)
        self.requests = 0
        self.faults: dict[str, int] = dict.fromkeys(self.KINDS, 0)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()

        async def start() -> None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(
            target=lambda: (self.loop.run_until_complete(start()), self.loop.run_forever()),
            daemon=True,
        )
        self.thread.start()
        ready.wait(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()

        import asyncio

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    async def _handle(self, reader: Any, writer: Any) -> None:
        import asyncio
        import socket
        import struct

        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            lines = head.decode("latin-1").split("\r\n")
            kept = [lines[0]]
            for line in lines[1:]:
                if not line:
                    continue
                name = line.split(":", 1)[0].strip().lower()
                if name == "content-length":
                    length = int(line.split(":", 1)[1])
                if name == "connection":
                    continue
                kept.append(line)
            body = await reader.readexactly(length) if length else b""
            self.requests += 1
            kind = self.rng.choice(self.kinds) if self.rng.random() < self.rate else None
            if kind:
                self.faults[kind] += 1
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if kind == "drop_before":
                return
            if kind == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if kind == "http_502":
                writer.write(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                await writer.drain()
                return
            if kind == "delay":
                await asyncio.sleep(self.delay_s + self.rng.random() * 0.2)
            port = self.upstreams[self.requests % len(self.upstreams)]
            up_r, up_w = await asyncio.open_connection("127.0.0.1", port)
            try:
                request = ("\r\n".join(kept) + "\r\nconnection: close\r\n\r\n").encode("latin-1")
                up_w.write(request + body)
                await up_w.drain()
                reply = await up_r.read()
            finally:
                up_w.close()
            if kind == "drop_after":
                return
            if kind == "truncate":
                reply = reply[: max(1, len(reply) * 2 // 3)]
            writer.write(reply)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
