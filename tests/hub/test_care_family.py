"""The family page on the hub (/family), with a real centre syncing in process: link by
the printed code, book while the centre is offline (waiting, since when), see the
centre's answer and the finished visit, rate it; a cancel after the start is refused
and the page says why. Another family cannot see or act for the elder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from care_hub_world import DESK, MONDAY, link, seed, send
from sync_fixtures import closing_stores, enrolled, hub_client

from edge.domain.care import bookings
from edge.sync_hooks import make_agent

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def world(tmp_path: Path, hub_target: Path | str) -> Any:
    app, (centre,) = enrolled(tmp_path, ["金沙路"], hub=hub_target)
    async with hub_client(app) as client:
        with closing_stores(centre.store):
            ids = seed(centre.store)
            agent = make_agent(centre.store, client)
            assert agent is not None
            await agent.sync_once()
            code = centre.store.read_sync(
                lambda c: c.execute("SELECT link_code FROM care_recipients").fetchone()[0]
            )
            yield client, centre, agent, ids, code


async def test_link_book_offline_follow_and_rate(world: Any) -> None:
    client, centre, agent, ids, code = world
    bad = await link(client, "ABCDEFGH")
    assert bad.status_code == 400 and "绑定码不对" in bad.text
    r = await link(client, code)
    assert r.status_code == 303 and r.headers["location"] == f"/family/elders/{ids['elder']}"
    page_url = r.headers["location"]
    page = await client.get(page_url)
    assert "王秀英" in page.text and "陪诊" in page.text and "右手无力" not in page.text
    r = await send(
        client,
        f"{page_url}/book",
        {"service_id": ids["陪诊"], "day": MONDAY, "start": "09:00", "note": "市立医院"},
        page_url,
    )
    assert r.status_code == 303
    page = await client.get(page_url)
    assert "等待服务站接收，自" in page.text
    await agent.sync_once()
    await agent.sync_once()
    page = await client.get(page_url)
    assert "等待服务站接收" not in page.text and "待确认" in page.text
    bid = centre.store.read_sync(lambda c: c.execute("SELECT id FROM care_bookings").fetchone()[0])
    centre.store.write_sync(lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK))
    centre.store.write_sync(lambda tx: bookings.start(tx, bid, DESK))
    centre.store.write_sync(lambda tx: bookings.finish(tx, bid, DESK, minutes=150))
    await agent.sync_once()
    page = await client.get(page_url)
    assert "已完成" in page.text and "评价" in page.text
    r = await send(client, f"{page_url}/rate", {"booking_id": bid, "rating": "7"}, page_url)
    assert r.status_code == 400 and "1 到 5" in r.text
    r = await send(
        client, f"{page_url}/rate", {"booking_id": bid, "rating": "5", "note": "好"}, page_url
    )
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    assert "★★★★★" in (await client.get(page_url)).text


async def test_a_cancel_after_the_start_shows_the_centres_refusal(world: Any) -> None:
    client, centre, agent, ids, code = world
    page_url = (await link(client, code)).headers["location"]
    await send(
        client,
        f"{page_url}/book",
        {"service_id": ids["助浴"], "day": MONDAY, "start": "09:00"},
        page_url,
    )
    await agent.sync_once()
    bid = centre.store.read_sync(lambda c: c.execute("SELECT id FROM care_bookings").fetchone()[0])
    centre.store.write_sync(lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK))
    await agent.sync_once()
    centre.store.write_sync(lambda tx: bookings.start(tx, bid, DESK))  # link down
    r = await send(client, f"{page_url}/cancel", {"booking_id": bid}, page_url)
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    page = await client.get(page_url)
    assert "服务中" in page.text and "不能取消" in page.text


async def test_another_family_cannot_see_or_act_for_the_elder(world: Any) -> None:
    client, _centre, _agent, ids, code = world
    await link(client, code)
    await send(client, "/family/logout", {}, "/family")
    # a second account linked to nobody
    stranger = await send(
        client, "/family/link", {"code": "XXXXXXXX", "phone": "13700000000", "password": "x" * 8}
    )
    assert stranger.status_code == 400
    r = await client.get(f"/family/elders/{ids['elder']}")
    assert r.status_code == 303  # not signed in: back to the sign-in page
    r = await send(client, "/family/login", {"phone": "13912345678", "password": "wrong-one"})
    assert r.status_code == 401 and "密码不对" in r.text
