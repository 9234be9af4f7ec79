"""The 12349 hotline desk on the hub (/hub/hotline), with a real centre syncing in process:
find an elder by name, phone tail (a family member's too) or address; book for a caller
(caller, relation and call-back number reach the centre), a recurring 送餐 skipping the
centre's closed day; the return visit after a finished service, with a complaint; and
the guard that keeps a hotline operator to the desk."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import closing_stores, enrol_centre, hub_app, hub_client
from test_care_sync import DESK

from edge.domain import calendar
from edge.domain.care import bookings, catalog, providers, recipients
from edge.domain.households import HouseholdInput, create_household
from edge.store import Store, Tx
from edge.sync_hooks import make_agent
from sync import enrol

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
MONDAY = date.today() + timedelta(days=7 - date.today().weekday())  # next Monday


def seed(store: Store) -> dict[str, str]:
    def write(tx: Tx) -> dict[str, str]:
        services = catalog.seed_demo(tx)
        home = create_household(
            tx,
            HouseholdInput(name="王秀英", phone="15863219876", building="5", unit="2", room="301"),
        )
        elder = recipients.create_recipient(
            tx,
            home,
            {
                "name": "王秀英",
                "care_notes": "右手无力",
                "subsidy": True,
                "family": [{"name": "王明", "relation": "儿子", "phone": "13912345678"}],
            },
        )
        other = create_household(
            tx, HouseholdInput(name="李大爷", phone="13600001111", building="7")
        )
        recipients.create_recipient(tx, other, {"name": "李建国"})
        volunteer = providers.create_provider(tx, {"name": "小李", "kind": "volunteer"})
        return {**services, "elder": elder, "volunteer": volunteer}

    return store.write_sync(write)


@pytest.fixture
async def world(tmp_path: Path, hub_target: Path | str) -> Any:
    app = hub_app(hub_target)
    hub_store: Store = app.state.store
    hub_store.write_sync(lambda tx: enrol.add_operator(tx, "12349小张", "password1", "hotline"))
    hub_store.write_sync(lambda tx: enrol.add_operator(tx, "op", "password2", "operator"))
    async with hub_client(app) as client:
        centre = enrol_centre(hub_store, tmp_path / "a.db", "金沙路")
        with closing_stores(centre.store):
            ids = seed(centre.store)
            agent = make_agent(centre.store, client)
            assert agent is not None
            await agent.sync_once()
            yield client, hub_store, centre, agent, ids


async def post(client: Any, path: str, data: dict[str, Any], page: str) -> Any:
    got = await client.get(page)
    token = TOKEN.search(got.text)
    assert token, got.text[:300]
    return await client.post(path, data={**data, "_csrf_token": token.group(1)})


async def sign_in(client: Any, name: str, password: str) -> Any:
    return await post(client, "/hub/login", {"name": name, "password": password}, "/hub/login")


async def test_find_book_for_a_caller_and_a_recurring_meal(world: Any) -> None:
    client, _hub_store, centre, agent, ids = world
    r = await sign_in(client, "12349小张", "password1")
    r = await client.get(r.headers["location"])  # /hub/orders sends the hotline to its desk
    assert r.status_code == 303 and r.headers["location"] == "/hub/hotline"
    for q in ("秀英", "9876", "5678", "5号楼2单元301", "5-2-301"):
        found = await client.get("/hub/hotline", params={"q": q})
        assert "王秀英" in found.text and "李建国" not in found.text, q
    found = await client.get("/hub/hotline", params={"q": "7号楼"})
    assert "李建国" in found.text and "王秀英" not in found.text
    found = await client.get("/hub/hotline", params={"q": "秀英"})
    assert "15863219876" in found.text  # the hotline calls back: phones whole
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    page = await client.get(page_url)
    assert "陪诊" in page.text and "右手无力" not in page.text
    booking = {"service_id": ids["陪诊"], "day": MONDAY.isoformat(), "start": "09:00"}
    r = await post(client, f"{page_url}/book", booking, page_url)
    assert r.status_code == 400 and "来电人" in r.text
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "139 1234 5678"}
    r = await post(client, f"{page_url}/book", {**booking, **call, "note": "市立医院"}, page_url)
    assert r.status_code == 303
    assert "等待服务站接收，自" in (await client.get(page_url)).text
    # a recurring 送餐, Monday to Friday, over a day the centre is closed
    closed = MONDAY + timedelta(days=2)
    centre.store.write_sync(lambda tx: calendar.add_exception(tx, closed, "closed", "停水"))
    meal = {**call, "service_id": ids["送餐"], "day": MONDAY.isoformat(), "start": "11:00"}
    r = await post(client, f"{page_url}/book", {**meal, "weekday": ["0", "1"]}, page_url)
    assert r.status_code == 400 and "截止日期" in r.text
    until = (MONDAY + timedelta(days=4)).isoformat()
    weekdays = ["0", "1", "2", "3", "4"]
    r = await post(
        client, f"{page_url}/book", {**meal, "weekday": weekdays, "until": until}, page_url
    )
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    page = await client.get(page_url)
    assert "等待服务站接收" not in page.text and "待确认" in page.text
    assert f"skipped: {closed.isoformat()}" in page.text
    rows = centre.store.read_sync(
        lambda c: c.execute(
            "SELECT s.name, b.day, b.caller, b.caller_relation, b.callback_phone, b.channel"
            " FROM care_bookings b JOIN care_services s ON s.id = b.service_id ORDER BY b.day"
        ).fetchall()
    )
    assert {tuple(r)[2:] for r in rows} == {("王明", "儿子", "13912345678", "hotline")}
    meals = [r["day"] for r in rows if r["name"] == "送餐"]
    assert len(meals) == 4 and closed.isoformat() not in meals


async def test_the_return_visit_after_a_finished_service(world: Any) -> None:
    client, _hub_store, centre, agent, ids = world
    await sign_in(client, "12349小张", "password1")
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    today = date.today().isoformat()
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "13912345678"}
    booking = {**call, "service_id": ids["陪聊"], "day": today, "start": "08:00"}
    await post(client, f"{page_url}/book", booking, page_url)
    await agent.sync_once()
    bid = centre.store.read_sync(lambda c: c.execute("SELECT id FROM care_bookings").fetchone()[0])
    for step in (
        lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK),
        lambda tx: bookings.start(tx, bid, DESK),
        lambda tx: bookings.finish(tx, bid, DESK, minutes=50),
    ):
        centre.store.write_sync(step)
    returns = await client.get("/hub/hotline/returns")
    assert f'id="r-{bid}"' not in returns.text  # the hub does not know it is done yet
    await agent.sync_once()
    returns = await client.get("/hub/hotline/returns")
    assert f'id="r-{bid}"' in returns.text and "13912345678" in returns.text
    r = await post(
        client, f"/hub/hotline/returns/{bid}", {"satisfaction": "9"}, "/hub/hotline/returns"
    )
    assert r.status_code == 400 and "1 到 5" in r.text
    visit = {"satisfaction": "2", "note": "来晚了", "complaint": "志愿者迟到半小时"}
    r = await post(client, f"/hub/hotline/returns/{bid}", visit, "/hub/hotline/returns")
    assert r.status_code == 303
    returns = await client.get("/hub/hotline/returns")
    assert f'id="r-{bid}"' not in returns.text and "志愿者迟到半小时" in returns.text
    r = await post(client, f"/hub/hotline/returns/{bid}", visit, "/hub/hotline/returns")
    assert r.status_code == 409 and "已回访" in r.text
    # the unrated visit takes the satisfaction as its rating, at the centre
    await agent.sync_once()
    await agent.sync_once()
    rated = centre.store.read_sync(lambda c: bookings.get_booking(c, bid, None))
    assert rated["rating"] == 2 and "12349回访" in rated["rating_note"]


async def test_a_hotline_operator_may_use_the_desk_only(world: Any) -> None:
    client, _hub_store, _centre, _agent, ids = world
    await sign_in(client, "12349小张", "password1")
    for path in ("/hub/orders", "/hub/sync", "/hub/catalog", "/hub/reconciliation", "/"):
        r = await client.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/hub/hotline"), path
    r = await post(client, "/hub/catalog", {"name": "x"}, "/hub/hotline")
    assert r.status_code == 403 and "热线" in r.text
    token = (
        await client.post("/hub/api/v1/token", json={"name": "12349小张", "password": "password1"})
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.get("/hub/api/v1/orders", headers=auth)
    assert r.status_code == 403 and "hotline" in r.json()["detail"]
    r = await client.post("/hub/api/v1/commands", headers=auth, json={})
    assert r.status_code == 403
    # another operator may use the desk too, and sees phones masked there
    await post(client, "/hub/logout", {}, "/hub/hotline")
    await sign_in(client, "op", "password2")
    assert (await client.get("/hub/orders")).status_code == 200
    found = await client.get("/hub/hotline", params={"q": "秀英"})
    assert "158****9876" in found.text and "15863219876" not in found.text
    assert (await client.get(f"/hub/hotline/elders/{ids['elder']}")).status_code == 200
