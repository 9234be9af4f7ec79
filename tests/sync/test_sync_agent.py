"""The centre's agent against a real hub app (ASGITransport), real SQLite files."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sync_fixtures import (
    FaultyTransport,
    add_household,
    add_order,
    add_product,
    cancel_handler,
    canonical,
    count,
    enrolled,
    hub_app_client,
    set_status,
)

from edge.store import Tx, changelog
from edge.store.hlc import HybridClock, wall_clock_ms
from edge.sync_hooks import sync_status
from hub import operations
from hub.app import Hub
from sync import agent as agent_module
from sync.agent import SyncAgent, describe_offset
from sync.errors import HubUnavailable

pytestmark = pytest.mark.anyio
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    app, (a,) = enrolled(tmp_path, ["金沙路社区"])
    hub: Hub = app.state.hub
    async with app.lifespan():
        yield app, hub, a
    a.store.close()


def _agent(centre: Any, client: httpx.AsyncClient, **kw: Any) -> SyncAgent:
    kw.setdefault("hub_site_id", None)
    agent = centre.agent(client, **kw)
    agent.register_command("cancel_order", cancel_handler)
    return agent


def _orders(centre: Any, n: int) -> list[str]:
    def write(tx: Tx) -> list[str]:
        hh = add_household(tx)
        return [add_order(tx, hh) for _ in range(n)]

    return centre.store.write_sync(write)


async def test_push_and_pull_round_trip(world: Any, tmp_path: Path) -> None:
    app, _hub, a = world
    _orders(a, 20)
    async with hub_app_client(app) as client:
        agent = _agent(a, client)
        report = await agent.sync_once()
        again = await agent.sync_once()
    assert report.ok and report.pushed == 61 and report.waiting == 0
    assert again.pushed == 0 and again.requests == 2  # position + pull, nothing more
    assert canonical(tmp_path / "hub.db", site_ids={a.site_id}) == canonical(
        tmp_path / "a.db", site_ids={a.site_id}
    )
    status = agent.status()
    assert status["online"] and status["waiting"] == 0 and status["last_sync"]
    assert status["clock_warning"] is None and status["enrolled"]


async def test_lossy_link_delivers_exactly_once(world: Any, tmp_path: Path) -> None:
    app, _hub, a = world
    faulty = FaultyTransport(httpx.ASGITransport(app=app), rate=0.5, seed=7)
    async with hub_app_client(app, faulty) as client:
        agent = _agent(a, client, batch_size=40, attempts=30, retry_for_s=30, backoff_s=0.01)
        for _ in range(5):
            _orders(a, 15)
            await agent.sync_once()
    assert sum(faulty.faults.values()) >= 5, faulty.faults
    assert faulty.faults["drop_after"] >= 1
    hub_db = tmp_path / "hub.db"
    assert count(hub_db, "SELECT COUNT(*) FROM orders") == 75
    assert count(hub_db, "SELECT COUNT(*) FROM sync_log") == count(
        tmp_path / "a.db", "SELECT COUNT(*) FROM changes"
    )
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(
        tmp_path / "a.db", site_ids={a.site_id}
    )


async def test_hub_down_is_reported_not_hammered(world: Any) -> None:
    _app, _hub, a = world
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("hub is down", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        agent = _agent(a, client, attempts=3, retry_for_s=2, backoff_s=0.01)
        _orders(a, 1)
        with pytest.raises(HubUnavailable):
            await agent.sync_once()
    assert calls == 3
    status = await agent.fresh_status()
    assert not status["online"] and status["waiting"] == 4 and status["last_sync"] is None


async def test_catalog_flows_down_without_entering_the_centre_log(
    world: Any, tmp_path: Path
) -> None:
    app, hub, a = world
    pid = await hub.store.write(
        lambda tx: operations.create_product(
            tx, {"name": "圆青椒", "sold_by": "piece", "price_fen": 80}
        )
    )
    async with hub_app_client(app) as client:
        agent = _agent(a, client)
        await agent.sync_once()
        await hub.store.write(lambda tx: operations.update_product(tx, pid, {"price_fen": 95}))
        r = await agent.sync_once()
    assert r.pulled == 1
    a_db = tmp_path / "a.db"
    assert count(a_db, "SELECT price_fen FROM products WHERE id = ?", (pid,)) == 95
    assert count(a_db, "SELECT COUNT(*) FROM changes WHERE tbl = 'products'") == 0
    assert (
        canonical(a_db, site_ids={hub.site_id})["products"]
        == canonical(tmp_path / "hub.db", site_ids={hub.site_id})["products"]
    )


async def test_hub_cannot_overwrite_a_centre_row_by_pull(world: Any, tmp_path: Path) -> None:
    app, hub, a = world
    pid = a.store.write_sync(lambda tx: add_product(tx, "本站馒头", 100))
    async with hub_app_client(app) as client:
        agent = _agent(a, client)
        await agent.sync_once()
        # A forged hub row with the same id: the centre keeps its own.
        await hub.store.write(
            lambda tx: tx.insert(
                "products",
                {
                    "id": pid + "x",
                    "site_id": hub.site_id,
                    "name": "ok",
                    "sold_by": "piece",
                    "unit": "个",
                    "price_fen": 1,
                },
            )
        )
        await hub.store.write(lambda tx: tx.update("products", pid, {"price_fen": 1}))
        await agent.sync_once()
    assert count(tmp_path / "a.db", "SELECT price_fen FROM products WHERE id = ?", (pid,)) == 100


async def test_cancel_loses_to_an_earlier_pickup(world: Any, tmp_path: Path) -> None:
    app, hub, a = world
    picked, waiting = _orders(a, 2)
    async with hub_app_client(app) as client:
        agent = _agent(a, client)
        await agent.sync_once()
        # Offline at the centre: one order is picked up. Meanwhile the hub cancels both.
        a.store.write_sync(lambda tx: set_status(tx, picked, "picked_up"))
        await hub.store.write(lambda tx: operations.cancel_order(tx, picked, "op1"))
        await hub.store.write(lambda tx: operations.cancel_order(tx, waiting, "op1"))
        r = await agent.sync_once()  # push pickup, pull the cancels, apply them
        await agent.sync_once()  # push the outcome
    assert r.commands == 2
    hub_db, a_db = tmp_path / "hub.db", tmp_path / "a.db"
    for db in (hub_db, a_db):
        assert (
            count(
                db, "SELECT COUNT(*) FROM orders WHERE id = ? AND status = 'picked_up'", (picked,)
            )
            == 1
        )
        assert (
            count(
                db, "SELECT COUNT(*) FROM orders WHERE id = ? AND status = 'cancelled'", (waiting,)
            )
            == 1
        )
        assert (
            count(
                db,
                "SELECT COUNT(*) FROM sync_command_results WHERE outcome = 'refused'"
                " AND detail = 'order is picked_up; it cannot become cancelled'",
            )
            == 1
        )
        # the real handler (edge.sync_hooks) answers the status it ends in
        assert (
            count(
                db,
                "SELECT COUNT(*) FROM sync_command_results WHERE outcome = 'applied'"
                " AND detail = 'cancelled'",
            )
            == 1
        )
    # Replaying the pull applies nothing twice.
    a.store.write_sync(
        lambda tx: tx.execute("UPDATE sync_state SET value = '0' WHERE key = 'pulled'")
    )
    async with hub_app_client(app) as client:
        r = await _agent(a, client).sync_once()
    assert r.commands == 0
    assert count(a_db, "SELECT COUNT(*) FROM sync_command_results") == 2


async def test_unknown_command_is_refused_and_reported(world: Any, tmp_path: Path) -> None:
    app, hub, a = world
    async with hub_app_client(app) as client:
        agent = a.agent(client)  # no handlers registered
        (oid,) = _orders(a, 1)
        await agent.sync_once()
        await hub.store.write(lambda tx: operations.cancel_order(tx, oid))
        await agent.sync_once()
        await agent.sync_once()
    assert (
        count(
            tmp_path / "hub.db",
            "SELECT COUNT(*) FROM sync_command_results"
            " WHERE outcome = 'refused' AND detail LIKE '%no handler%'",
        )
        == 1
    )
    assert count(tmp_path / "a.db", "SELECT COUNT(*) FROM orders WHERE status = 'placed'") == 1


@pytest.mark.parametrize("skew_days", [3, -3])
async def test_clock_skew_of_days_is_shown_and_breaks_nothing(
    world: Any, tmp_path: Path, skew_days: int
) -> None:
    app, _hub, a = world

    def skewed() -> int:
        return wall_clock_ms() + skew_days * DAY_MS

    a.store.clock = HybridClock(last=a.store.clock.last, now_ms=skewed)
    _orders(a, 3)
    async with hub_app_client(app) as client:
        agent = _agent(a, client, wall_ms=skewed)
        await agent.sync_once()
        status = await agent.fresh_status()
    warning = status["clock_warning"]
    assert warning and "3 天" in warning and ("ahead" if skew_days > 0 else "behind") in warning
    offset = count(tmp_path / "hub.db", "SELECT clock_offset_ms FROM sync_centres")
    assert abs(offset - skew_days * DAY_MS) < 60_000
    assert count(tmp_path / "hub.db", "SELECT COUNT(*) FROM orders") == 3
    # After seeing the hub's clock, a box that runs behind stamps after the hub.
    if skew_days < 0:
        assert a.store.clock.now() >> 16 >= wall_clock_ms() - 60_000


async def test_clock_jump_back_keeps_stamps_growing(world: Any, tmp_path: Path) -> None:
    app, _hub, a = world
    offset = [0]
    a.store.clock = HybridClock(last=a.store.clock.last, now_ms=lambda: wall_clock_ms() + offset[0])
    _orders(a, 2)
    before = a.store.read_sync(changelog.last_hlc)
    offset[0] = -2 * DAY_MS  # the box reboots with a clock two days back
    (late,) = _orders(a, 1)
    a.store.write_sync(lambda tx: set_status(tx, late, "packed"))
    stamps = a.store.read_sync(
        lambda c: [r[0] for r in c.execute("SELECT hlc FROM changes ORDER BY seq")]
    )
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[-1] > before
    async with hub_app_client(app) as client:
        await _agent(a, client, wall_ms=lambda: wall_clock_ms() + offset[0]).sync_once()
    assert count(tmp_path / "hub.db", "SELECT COUNT(*) FROM orders WHERE status = 'packed'") == 1


def test_describe_offset() -> None:
    assert describe_offset(30_000) is None
    assert "快" in (describe_offset(3 * DAY_MS) or "")
    assert "慢 2 小时" in (describe_offset(-2 * 3600_000) or "")


async def test_sync_state_survives_a_new_agent(world: Any, tmp_path: Path) -> None:
    app, _hub, a = world
    _orders(a, 5)
    async with hub_app_client(app) as client:
        await _agent(a, client).sync_once()
    state = a.store.read_sync(lambda c: dict(c.execute("SELECT key, value FROM sync_state")))
    assert state["pushed"] == "16" and json.loads(state.get("pulled", "0")) == 0
    async with hub_app_client(app) as client:
        r = await _agent(a, client).sync_once()
    assert r.pushed == 0 and r.requests == 2


# --- a hub that answers garbage, over a real loopback socket ------------------------------


class _GarbageHub(BaseHTTPRequestHandler):
    """Answers each path with a canned reply; `None` closes the socket unanswered."""

    replies: dict[str, bytes | None] = {}

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._answer()

    def _answer(self) -> None:
        body = self.replies.get(self.path.partition("?")[0], b"{}")
        if body is None:
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def garbage_hub() -> Iterator[tuple[str, dict[str, bytes | None]]]:
    replies: dict[str, bytes | None] = {}
    handler = type("Handler", (_GarbageHub,), {"replies": replies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", replies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


GARBAGE: dict[str, tuple[dict[str, bytes | None], type[Exception], str]] = {
    # JSON, but not the protocol: no position.
    "not_protocol": ({"/sync/v1/position": b'{"hello": "world"}'}, KeyError, "KeyError"),
    # A position that is not a number.
    "bad_position": ({"/sync/v1/position": b'{"position": "ninety"}'}, ValueError, "ValueError"),
    # A sane position and push, then a pull whose change has a seq that is not a number.
    "bad_pull": (
        {
            "/sync/v1/position": b'{"position": PUSHED}',
            "/sync/v1/push": b'{"position": LAST}',
            "/sync/v1/pull": b'{"hub_site_id": "HUB", "next_after": 1,'
            b' "changes": [["one", 1, "products", "x", "insert", {}]]}',
        },
        ValueError,
        "ValueError",
    ),
    # Not JSON at all, and a socket closed unanswered: retried, then out of reach
    # (a SyncError, recorded before too: kept here so it stays so).
    "not_json": (
        {"/sync/v1/position": b"<html>captive portal</html>"},
        HubUnavailable,
        "hub_unavailable",
    ),
    "closed": ({"/sync/v1/position": None}, HubUnavailable, "hub_unavailable"),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
async def test_any_failure_is_recorded_for_the_badge(
    world: Any, garbage_hub: tuple[str, dict[str, bytes | None]], case: str
) -> None:
    app, _hub, a = world
    _orders(a, 2)
    async with hub_app_client(app) as client:
        good = _agent(a, client)
        await good.sync_once()
    assert good.status()["online"] and good.status()["last_error"] is None
    url, replies = garbage_hub
    canned, raised, expected = GARBAGE[case]
    pushed = count(a.store.path, _PUSHED)
    _orders(a, 1)  # four changes waiting
    for path, body in canned.items():
        if body is not None:
            body = (
                body.replace(b"PUSHED", str(pushed).encode())
                .replace(b"LAST", str(pushed + 4).encode())
                .replace(b"HUB", good.hub_site_id.encode())
            )
        replies[path] = body
    waiting = 0 if "/sync/v1/push" in canned else 4
    async with httpx.AsyncClient() as client:
        agent = SyncAgent(a.store, client, url, a.token, attempts=2, retry_for_s=2, backoff_s=0.01)
        with pytest.raises(raised):
            await agent.sync_once()
        restarted = SyncAgent(a.store, client, url, a.token)
    # Where the badge reads it: the agent's memory (page render), the database
    # (the badge's fresh read, and a box restarted after the failure).
    for status in (
        agent.status(),
        await sync_status(SimpleNamespace(sync=agent)),
        restarted.status(),
    ):
        assert status["online"] is False, status
        assert status["last_error"] and expected in status["last_error"], status
        assert status["waiting"] == waiting and status["last_sync"], status
    # The next good run clears it.
    async with hub_app_client(app) as client:
        healed = _agent(a, client)
        await healed.sync_once()
    assert healed.status()["online"] and healed.status()["last_error"] is None


_PUSHED = "SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = 'pushed'"


class _PushLog(httpx.AsyncBaseTransport):
    """Forwards to the hub app and keeps each push as the hub got it (its JSON)."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.pushes: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sync/v1/push":
            body = await request.aread()
            self.pushes.append(json.loads(gzip.decompress(body)))
        return await self.inner.handle_async_request(request)


async def test_a_backlog_goes_batch_after_batch_each_stamped_as_it_leaves(
    world: Any, tmp_path: Path
) -> None:
    """A backlog larger than a batch: the next batch is packed while the hub applies
    the one before (`SyncAgent._pack_ahead`), yet every push carries the box's clock
    as that push leaves and what still waits after it, and resends the hub's last seq
    (the seam); the hub ends with every change once."""
    app, _hub, a = world
    _orders(a, 60)  # 181 changes: a household, 60 orders, two lines each
    clock = iter(range(1_800_000_000_000, 1_800_000_000_000 + 10**6, 1000))
    stamps: list[int] = []

    def wall_ms() -> int:
        stamps.append(next(clock))
        return stamps[-1]

    log = _PushLog(app)
    async with hub_app_client(app, log) as client:
        agent = _agent(a, client, batch_size=50, max_batch=50, wall_ms=wall_ms)
        report = await agent.sync_once()
    assert report.ok and report.pushed == 181 and report.waiting == 0
    assert [p["from_seq"] for p in log.pushes] == [1, 50, 99, 148]  # each resends the last
    assert [len(p["changes"]) for p in log.pushes] == [50, 50, 50, 34]
    assert [p["waiting"] for p in log.pushes] == [131, 82, 33, 0]
    for push in log.pushes:  # stamped when it left: the clock read just before it was sent
        assert push["wall_ms"] in stamps
    assert len({p["wall_ms"] for p in log.pushes}) == len(log.pushes)
    assert sorted(p["wall_ms"] for p in log.pushes) == [p["wall_ms"] for p in log.pushes]
    hub_db = tmp_path / "hub.db"
    assert count(hub_db, "SELECT COUNT(*) FROM sync_log") == 181
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(
        tmp_path / "a.db", site_ids={a.site_id}
    )


async def test_a_large_backlog_starts_with_a_quarter_and_doubles(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `PIPELINE_FROM` changes waiting, the first push carries a quarter of them, so
    the hub starts while the box packs the next, twice the size; every change arrives
    once. (The threshold is lowered here: 451 changes stand for a day offline.)"""
    app, _hub, a = world
    monkeypatch.setattr(agent_module, "PIPELINE_FROM", 100)
    _orders(a, 150)  # 451 changes
    log = _PushLog(app)
    async with hub_app_client(app, log) as client:
        report = await _agent(a, client, batch_size=50, max_batch=1000).sync_once()
    assert report.ok and report.pushed == 451
    assert [p["from_seq"] for p in log.pushes] == [1, 112, 335]
    assert [len(p["changes"]) for p in log.pushes] == [112, 224, 117]
    assert count(tmp_path / "hub.db", "SELECT COUNT(*) FROM sync_log") == 451
