"""A family orders groceries for their elder from the family page, through a real sync:
the hub queues a `family_order` command, the centre applies it with its own order rules
(cut-off, item limits, one open order per household and day) and the family sees the
order's status and its one total, or why the centre refused it.

Real hub app and centre store in process; the hub's and the centre's clocks are fixed
so the cut-off is tested on purpose (Monday 2030-01-07, default calendar Mon/Wed/Fri
with a 20:00 cut-off the evening before: the next delivery day is Wednesday)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from care_hub_world import link, seed, send
from sync_fixtures import add_product, closing_stores, enrolled, hub_client

from edge.domain import orders
from edge.domain.care import groceries
from edge.errors import BadRequest
from edge.store import Store, Tx
from edge.sync_hooks import make_agent
from hub import care_orders
from hub.operations import check_command

pytestmark = pytest.mark.anyio
HUB_NOW = datetime(2030, 1, 7, 10, 0)
WEDNESDAY = "2030-01-09"


def add_piece(tx: Tx, name: str = "鸡蛋", price_fen: int = 80) -> str:
    pid = add_product(tx, name, price_fen)
    tx.update("products", pid, {"sold_by": "piece", "unit": "个"})
    return pid


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    # The enrolled files of the test process (copied), the hub app on them with its clock.
    app, (centre,) = enrolled(tmp_path, ["金沙路"], now=lambda: HUB_NOW)
    async with hub_client(app) as client:
        with closing_stores(centre.store):
            ids = seed(centre.store)
            ids["土豆"] = centre.store.write_sync(lambda tx: add_product(tx, "土豆", 150))
            ids["鸡蛋"] = centre.store.write_sync(add_piece)
            clock = {"now": HUB_NOW}
            agent = make_agent(
                centre.store,
                client,
                {"family_order": groceries.handler(lambda: clock["now"])},
            )
            assert agent is not None
            await agent.sync_once()
            code = centre.store.read_sync(
                lambda c: c.execute("SELECT link_code FROM care_recipients").fetchone()[0]
            )
            r = await link(client, code)
            assert r.status_code == 303
            yield client, centre, agent, ids, r.headers["location"], clock, app.state.store


def centre_orders(store: Store) -> list[dict[str, Any]]:
    return store.read_sync(
        lambda c: [
            dict(r)
            for r in c.execute(
                "SELECT o.id, o.channel, o.placed_by, o.pickup_date, o.status, o.estimated_fen,"
                " o.idempotency_key, o.household_id, r.id AS elder FROM orders o"
                " JOIN care_recipients r ON r.household_id = o.household_id ORDER BY o.created_at"
            )
        ]
    )


async def order(client: Any, page: str, quantities: dict[str, str], notes: str = "") -> Any:
    data = {f"q-{pid}": q for pid, q in quantities.items()}
    return await send(client, f"{page}/groceries", {**data, "notes": notes}, page)


def block(html: str, request_id: str) -> str:
    found = re.search(rf'id="o-{request_id}">(.*?)</div>', html, re.S)
    assert found, html[:500]
    return found.group(1)


async def test_the_family_orders_for_the_next_delivery_day_and_follows_it(world: Any) -> None:
    client, centre, agent, ids, page, _, _hub = world
    shown = (await client.get(page)).text
    assert f"送货日 {WEDNESDAY}" in shown and "土豆" in shown and "¥1.50/斤" in shown
    r = await order(client, page, {ids["土豆"]: "2", ids["鸡蛋"]: "10"}, notes="要新鲜的")
    assert r.status_code == 303 and r.headers["location"] == page
    (waiting,) = (await client.get(page)).text.split('id="o-')[1:2]
    request_id = waiting.split('"')[0]
    text = block((await client.get(page)).text, request_id)
    # 2 斤 土豆 at 1.50 + 10 鸡蛋 at 0.80, the hub's estimate while it waits
    assert "等待服务站接收，自" in text and "约 ¥11.00" in text
    assert centre_orders(centre.store) == []  # the hub wrote no centre order
    # a second order for the same day is refused while the first still waits
    again = await order(client, page, {ids["土豆"]: "1"})
    assert again.status_code == 409 and "已有订单" in again.text

    await agent.sync_once()  # pull: the centre applies it; push: the order reaches the hub
    await agent.sync_once()
    (made,) = centre_orders(centre.store)
    assert made["channel"] == "family" and made["placed_by"] == "王明"
    assert made["pickup_date"] == WEDNESDAY and made["elder"] == ids["elder"]
    assert made["idempotency_key"] == request_id and made["estimated_fen"] == 1100
    text = block((await client.get(page)).text, request_id)
    assert "已下单" in text and "取货码" in text and "约 ¥11.00" in text
    assert "土豆 2斤" in text and "鸡蛋 10个" in text
    # the centre packs it and weighs it: the family sees the one weighed total
    centre.store.write_sync(
        lambda tx: tx.update("orders", made["id"], {"status": "packed", "final_fen": 1085})
    )
    await agent.sync_once()
    text = block((await client.get(page)).text, request_id)
    assert "已备好" in text and "合计 ¥10.85" in text and "11.00" not in text


async def test_past_the_cut_off_when_the_centre_applies_it_is_refused_and_says_why(
    world: Any,
) -> None:
    client, centre, agent, ids, page, clock, _ = world
    r = await order(client, page, {ids["土豆"]: "3"})
    assert r.status_code == 303
    clock["now"] = datetime(2030, 1, 8, 21, 0)  # the centre syncs after Tuesday's cut-off
    await agent.sync_once()
    await agent.sync_once()
    assert centre_orders(centre.store) == []
    shown = (await client.get(page)).text
    assert "服务站未接受" in shown and "已过截单时间" in shown
    # a refused order does not hold the day: the family may order again
    clock["now"] = HUB_NOW
    assert (await order(client, page, {ids["土豆"]: "1"})).status_code == 303


async def test_the_households_order_already_at_the_centre_refuses_a_second(world: Any) -> None:
    client, centre, agent, ids, page, _, _hub = world
    household = centre.store.read_sync(
        lambda c: c.execute("SELECT household_id FROM care_recipients").fetchone()[0]
    )
    # the tablet took an order for the household while the hub did not know yet
    tablet = orders.OrderInput(
        items=[orders.ItemInput(ids["鸡蛋"], 6)], household_id=household, pickup_date=WEDNESDAY
    )
    centre.store.write_sync(lambda tx: orders.create_order(tx, tablet, HUB_NOW))
    r = await order(client, page, {ids["土豆"]: "2"})
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    assert [o["channel"] for o in centre_orders(centre.store)] == ["tablet"]
    shown = (await client.get(page)).text
    assert "服务站未接受" in shown and "已有订单" in shown
    # now the hub holds the tablet's order: a new family order is refused at once
    again = await order(client, page, {ids["土豆"]: "1"})
    assert again.status_code == 409 and "已有订单" in again.text


async def test_the_family_cancels_before_the_hand_over_and_not_after(world: Any) -> None:
    client, centre, agent, ids, page, _, _hub = world
    await order(client, page, {ids["土豆"]: "2"})
    shown = (await client.get(page)).text
    request_id = shown.split('id="o-')[1].split('"')[0]
    cancel = f"{page}/groceries/cancel"
    # still waiting at the hub: nothing at the centre to cancel yet
    early = await send(client, cancel, {"request_id": request_id}, page)
    assert early.status_code == 409 and "还没接收" in early.text
    await agent.sync_once()
    await agent.sync_once()
    r = await send(client, cancel, {"request_id": request_id}, page)
    assert r.status_code == 303
    text = block((await client.get(page)).text, request_id)
    assert "取消等待服务站接收" in text and "取消订单" not in text
    again = await send(client, cancel, {"request_id": request_id}, page)
    assert again.status_code == 409
    await agent.sync_once()
    await agent.sync_once()
    assert [o["status"] for o in centre_orders(centre.store)] == ["cancelled"]
    text = block((await client.get(page)).text, request_id)
    assert "已取消" in text and "取消订单" not in text and "等待" not in text
    # a cancelled order frees the day: the family orders again, and it is handed over
    assert (await order(client, page, {ids["鸡蛋"]: "6"})).status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    second = next(o for o in centre_orders(centre.store) if o["status"] == "placed")
    centre.store.write_sync(
        lambda tx: tx.update("orders", second["id"], {"status": "picked_up", "final_fen": 480})
    )
    await agent.sync_once()
    late = await send(client, cancel, {"request_id": second["idempotency_key"]}, page)
    assert late.status_code == 409 and "已取货" in late.text
    other = await send(client, cancel, {"request_id": "nosuch"}, page)
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("quantities", "status", "says"),
    [
        ({}, 400, "至少选一样"),
        ({"土豆": "abc"}, 400, "数量要填数字"),
        ({"土豆": "-1"}, 400, "数量不对"),
        ({"土豆": "0.01"}, 400, "土豆"),  # under 1 两: the order rules' own limit
        ({"鸡蛋": "1.5"}, 400, "鸡蛋"),  # pieces are whole
        ({"nosuchproduct": "1"}, 400, "不卖这件商品"),
    ],
)
async def test_bad_orders_are_a_400_on_the_page_and_nothing_is_sent(
    world: Any, quantities: dict[str, str], status: int, says: str
) -> None:
    client, centre, _agent, ids, page, _, hub = world
    r = await order(client, page, {ids.get(k, k): v for k, v in quantities.items()})
    assert r.status_code == status and says in r.text
    assert centre.store.read_sync(lambda c: c.execute("SELECT 1 FROM orders").fetchall()) == []
    assert hub.read_sync(lambda c: c.execute("SELECT 1 FROM care_family_orders").fetchall()) == []


def test_the_command_args_are_checked_before_they_are_queued() -> None:
    good = {
        "request_id": "r1",
        "recipient_id": "e1",
        "pickup_date": WEDNESDAY,
        "items": [{"product_id": "p1", "quantity": 2}],
        "placed_by": "王明",
        "notes": "",
    }
    assert check_command(care_orders.NAME, good)["items"] == good["items"]
    for bad, field in [
        ({"items": []}, "args.items"),
        ({"items": [{"product_id": "p1", "quantity": 0}]}, "args.items[0].quantity"),
        ({"items": [{"product_id": "p1", "quantity": True}]}, "args.items[0].quantity"),
        ({"items": [{"product_id": "p1", "quantity": 1, "price": 1}]}, "args.items[0]"),
        ({"pickup_date": "20300109"}, "args.pickup_date"),
        ({"recipient_id": ""}, "args.recipient_id"),
    ]:
        with pytest.raises(BadRequest) as exc:
            check_command(care_orders.NAME, {**good, **bad})
        assert exc.value.field == field
