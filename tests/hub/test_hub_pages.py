"""Hub operator pages and their JSON API, through the real hub app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_fixtures import (
    HUB_URL,
    add_household,
    add_order,
    connect_any,
    enrolled_with_operators,
)

from edge.store import Tx
from edge.store.dialect import table_names
from hub.app import Hub
from sync.agent import SyncAgent

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """One event loop for the module's tests, so that `shared_world` lives across them."""
    return "asyncio"


async def _world(tmp: Path, target: Path | str) -> AsyncIterator[tuple[Any, ...]]:
    """The hub on `target`, one centre synced, the hub's client and the centre's agent."""
    operators = [("op", "password1", "operator"), ("boss", "password2", "supervisor")]
    app, (a,) = enrolled_with_operators(tmp, ["金沙路社区"], operators, hub=target)
    hub: Hub = app.state.hub

    def write(tx: Tx) -> str:
        return add_order(tx, add_household(tx, "王阿姨", "13812345678"))

    order_id = a.store.write_sync(write)
    async with app.lifespan():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=HUB_URL
        ) as client:
            agent = SyncAgent(a.store, client, HUB_URL, a.token)
            await agent.sync_once()
            yield app, hub, a, client, order_id, agent
    a.store.close()


@pytest.fixture
async def world(tmp_path: Path, hub_target: Path | str) -> AsyncIterator[tuple[Any, ...]]:
    """The hub on SQLite and on PostgreSQL (`hub_backend`), one centre synced."""
    async for w in _world(tmp_path, hub_target):
        yield w


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def shared_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, ...]]:
    """`world` once per test process and engine, for the tests of a refused request: each
    snapshots the whole database before and after the request to show it wrote nothing
    (what the tests before it wrote is in both), and ends on a request that writes."""
    folder = tmp_path_factory.mktemp("hub-pages")
    if request.param == "sqlite":
        async for w in _world(folder, folder / "hub.db"):
            yield (*w, folder / "hub.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.reserve()
    try:
        async for w in _world(folder, url):
            yield (*w, url)
    finally:
        server.drop(url)


async def _sign_in(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    page = await client.get("/hub/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return await client.post(
        "/hub/login", data={"name": name, "password": password, "_csrf_token": token.group(1)}
    )


async def test_pages_need_sign_in_and_mask_phones(world: Any) -> None:
    _app, _hub, _a, client, _order_id, _ = world
    r = await client.get("/hub/orders?day=2030-01-07")
    assert r.status_code in (302, 303) and r.headers["location"].endswith("/hub/login")
    bad = await _sign_in(client, "op", "nope-nope")
    assert "用户名或密码错误" in bad.text
    await _sign_in(client, "op", "password1")
    page = await client.get("/hub/orders?day=2030-01-07")
    assert page.status_code == 200
    assert "138****5678" in page.text and "13812345678" not in page.text
    assert "金沙路社区" in page.text and "王阿姨" in page.text
    # An operator asking for phones still gets them masked.
    page = await client.get("/hub/orders?day=2030-01-07&phones=1")
    assert "13812345678" not in page.text
    health = await client.get("/hub/sync")
    assert health.status_code == 200 and '<span class="pill ok">在线</span>' in health.text


async def test_supervisor_may_show_phones(world: Any) -> None:
    _app, _hub, _a, client, _order_id, _ = world
    await _sign_in(client, "boss", "password2")
    page = await client.get("/hub/orders?day=2030-01-07&phones=1")
    assert "13812345678" in page.text


async def test_cancel_button_sends_a_command_the_centre_applies(world: Any, tmp_path: Path) -> None:
    _app, _hub, _a, client, order_id, agent = world
    await _sign_in(client, "op", "password1")
    page = await client.get("/hub/orders?day=2030-01-07")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    no_csrf = await client.post(f"/hub/orders/{order_id}/cancel")
    assert no_csrf.status_code == 403
    r = await client.post(f"/hub/orders/{order_id}/cancel", data={"_csrf_token": csrf})
    assert r.status_code in (302, 303)
    assert "sent=" in r.headers["location"]
    page = await client.get(r.headers["location"])
    assert "取消指令已发出" in page.text and "等待站点执行" in page.text
    agent.register_command(
        "cancel_order",
        lambda tx, args: tx.update("orders", args["order_id"], {"status": "cancelled"}),
    )
    await agent.sync_once()
    await agent.sync_once()
    page = await client.get("/hub/orders?day=2030-01-07")
    assert '<span class="status s-cancelled">已取消</span>' in page.text
    listed = await client.get("/hub/commands")
    assert "站点已执行" in listed.text and "取消订单" in listed.text


async def test_operator_api(world: Any) -> None:
    _app, _hub, _a, client, _order_id, agent = world
    bad = await client.post("/hub/api/v1/token", json={"name": "op", "password": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"
    token = (
        await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    orders = (await client.get("/hub/api/v1/orders?day=2030-01-07", headers=auth)).json()
    assert orders["orders"][0]["phone"] == "138****5678"
    assert orders["totals"][0]["orders"] == 1
    p = await client.post(
        "/hub/api/v1/products",
        headers=auth,
        json={"name": "黄瓜", "sold_by": "weight", "price_fen": 300},
    )
    assert p.status_code == 200, p.text
    bad_price = await client.post(
        "/hub/api/v1/products",
        headers=auth,
        json={"name": "黄瓜", "sold_by": "weight", "price_fen": -1},
    )
    assert bad_price.status_code == 400
    centres = (await client.get("/hub/api/v1/centres", headers=auth)).json()
    assert centres[0]["name"] == "金沙路社区" and centres[0]["waiting"] == 0
    await agent.sync_once()
    assert (await agent.fresh_status())["online"]


async def test_operator_sign_in_is_rate_limited(world: Any) -> None:
    _app, _hub, _a, client, _order_id, _ = world
    for _ in range(5):  # Settings.login_max_failures
        bad = await client.post("/hub/api/v1/token", json={"name": "op", "password": "guess-1"})
        assert bad.status_code == 401
    # Now even the right password is refused for a while, on the API and the page alike.
    r = await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    assert r.status_code == 429 and r.json()["error"] == "too_many_requests"
    page = await _sign_in(client, "op", "password1")
    assert page.status_code == 429 and "too many failed sign-ins" in page.text
    assert client.cookies.get("linli_hub") is None
    # Another operator is not locked out by someone guessing at "op".
    r = await client.post("/hub/api/v1/token", json={"name": "boss", "password": "password2"})
    assert r.status_code == 200


async def test_a_success_clears_the_failures(world: Any) -> None:
    _app, _hub, _a, client, _order_id, _ = world
    for _ in range(4):
        await client.post("/hub/api/v1/token", json={"name": "op", "password": "guess-1"})
    ok = await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    assert ok.status_code == 200 and ok.json()["expires_in_s"] == 12 * 3600
    for _ in range(4):
        await client.post("/hub/api/v1/token", json={"name": "op", "password": "guess-1"})
    ok = await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    assert ok.status_code == 200


async def test_operator_sessions_expire(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from hub import pages as hub_pages

    _app, hub, _a, client, _order_id, _ = world
    token = (
        await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    await _sign_in(client, "op", "password1")
    assert (await client.get("/hub/api/v1/centres", headers=auth)).status_code == 200
    assert (await client.get("/hub/sync")).status_code == 200

    later = datetime.now(UTC) + timedelta(hours=11, minutes=59)
    monkeypatch.setattr(hub_pages, "_now", lambda: later)
    assert (await client.get("/hub/api/v1/centres", headers=auth)).status_code == 200

    later = datetime.now(UTC) + timedelta(hours=12, minutes=1)
    monkeypatch.setattr(hub_pages, "_now", lambda: later)
    r = await client.get("/hub/api/v1/centres", headers=auth)
    assert r.status_code == 401
    page = await client.get("/hub/sync")
    assert page.status_code in (302, 303) and page.headers["location"].endswith("/hub/login")
    # Signing in again works, and sweeps the expired sessions away.
    fresh = await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    assert fresh.status_code == 200
    left = hub.store.read_sync(
        lambda c: c.execute("SELECT COUNT(*) FROM sync_operator_sessions").fetchone()[0]
    )
    assert left == 1


async def test_an_unknown_operator_fails_like_a_wrong_password(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub import pages as hub_pages

    _app, _hub, _a, client, _order_id, _ = world
    verified: list[str] = []
    real = hub_pages.verify_password

    def spy(password_hash: str, password: str) -> bool:
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()  # argon2 runs in a worker thread, not on the loop
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(hub_pages, "verify_password", spy)
    wrong = await client.post("/hub/api/v1/token", json={"name": "op", "password": "guess-1"})
    unknown = await client.post("/hub/api/v1/token", json={"name": "nobody", "password": "guess-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)
    page = await _sign_in(client, "nobody", "guess-1")
    assert "用户名或密码错误" in page.text


def _snapshot(db: Path | str) -> dict[str, list[Any]]:
    with connect_any(db) as conn:
        return {
            t: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=repr)
            for t in table_names(conn)
            if t != "sync_operator_sessions"
        }


@pytest.mark.parametrize(
    "weekdays",
    [["²"], ["abc"], ["٣"], [""], ["7"], ["-1"], ["99999999999999999999"], ["1", "²"], []],
)
async def test_calendar_command_refuses_bad_weekdays(
    shared_world: Any, weekdays: list[str]
) -> None:
    _app, _hub, a, client, _order_id, _, hub_target = shared_world
    await _sign_in(client, "op", "password1")
    page = await client.get("/hub/sync")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    before = _snapshot(hub_target)
    r = await client.post(
        f"/hub/centres/{a.site_id}/calendar",
        data={"_csrf_token": csrf, "weekday": weekdays, "cutoff": "20:00"},
    )
    assert r.status_code == 400, r.text
    assert "weekday" in r.text
    assert _snapshot(hub_target) == before
    ok = await client.post(
        f"/hub/centres/{a.site_id}/calendar",
        data={"_csrf_token": csrf, "weekday": ["0", "3"], "cutoff": "20:00"},
    )
    assert ok.status_code in (302, 303)


@pytest.mark.parametrize("price", ["²", "abc", "1e99999999999999999", "-1", "NaN", ""])
async def test_catalog_refuses_a_bad_price(shared_world: Any, price: str) -> None:
    _app, _hub, _a, client, _order_id, _, hub_target = shared_world
    await _sign_in(client, "op", "password1")
    page = await client.get("/hub/catalog")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    before = _snapshot(hub_target)
    r = await client.post(
        "/hub/catalog",
        data={"_csrf_token": csrf, "name": "黄瓜", "sold_by": "weight", "price": price},
    )
    assert r.status_code == 400, r.text
    assert "price must be" in r.text
    assert _snapshot(hub_target) == before
