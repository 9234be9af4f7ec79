"""Care over sync, hub and centre in process: a family's booking waits at the hub as a
command until the centre pulls it; the centre's answer and every step flow back; a
family cancel after the start is refused and the family sees why; the hotline's
recurring 送餐 skips the centre's closed day; ratings reach the centre."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from care_hub_world import DESK, MONDAY, seed
from sync_fixtures import closing_stores, enrolled, hub_client

from edge.domain import calendar
from edge.domain.care import bookings
from edge.errors import BadRequest, Conflict
from edge.store import Store
from edge.sync_hooks import make_agent
from hub import care_commands

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    app, (centre,) = enrolled(tmp_path, ["金沙路"])
    async with hub_client(app) as client:
        hub_store: Store = app.state.store
        with closing_stores(centre.store):
            ids = seed(centre.store)
            agent = make_agent(centre.store, client)
            assert agent is not None
            await agent.sync_once()
            yield hub_store, centre, agent, ids


def hub_visits(hub_store: Store, elder: str) -> dict[str, Any]:
    return hub_store.read_sync(lambda c: care_commands.visits(c, elder))


async def test_a_family_booking_waits_at_the_hub_then_the_centre_carries_it_out(world: Any) -> None:
    hub_store, centre, agent, ids = world
    request = hub_store.write_sync(
        lambda tx: care_commands.book(
            tx,
            ids["elder"],
            {
                "service_id": ids["陪诊"],
                "day": MONDAY,
                "start": "09:00",
                "channel": "family",
                "requested_by": "王明",
                "note": "市立医院",
            },
            "王明",
        )
    )
    seen = hub_visits(hub_store, ids["elder"])
    assert seen["visits"] == [] and [w["command_id"] for w in seen["waiting"]] == [request]
    assert seen["waiting"][0]["since"]  # "waiting for the centre since ..."
    await agent.sync_once()  # pull: the centre makes its booking; push: it reaches the hub
    await agent.sync_once()
    seen = hub_visits(hub_store, ids["elder"])
    assert seen["waiting"] == [] and len(seen["visits"]) == 1
    visit = seen["visits"][0]
    assert (visit["status"], visit["request_id"], visit["status_zh"]) == (
        "requested",
        request,
        "待确认",
    )
    bid = visit["id"]
    # confirmed and assigned, carried out with the link down, then synced
    store = centre.store
    store.write_sync(lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK))
    store.write_sync(lambda tx: bookings.start(tx, bid, DESK))
    store.write_sync(lambda tx: bookings.finish(tx, bid, DESK, minutes=160, note="血压偏高"))
    assert hub_visits(hub_store, ids["elder"])["visits"][0]["status"] == "requested"
    await agent.sync_once()
    visit = hub_visits(hub_store, ids["elder"])["visits"][0]
    assert (visit["status_zh"], visit["provider_name"]) == ("已完成", "小李")
    # the family rates it: a command the centre applies, and the rating flows back
    with pytest.raises(BadRequest):
        hub_store.write_sync(lambda tx: care_commands.rate(tx, bid, 9, "", "王明"))
    hub_store.write_sync(lambda tx: care_commands.rate(tx, bid, 5, "很细心", "王明"))
    await agent.sync_once()
    await agent.sync_once()
    assert store.read_sync(lambda c: bookings.get_booking(c, bid, None))["rating"] == 5
    assert hub_visits(hub_store, ids["elder"])["visits"][0]["rating"] == 5


async def test_a_family_cancel_after_the_start_is_refused_and_says_why(world: Any) -> None:
    hub_store, centre, agent, ids = world
    hub_store.write_sync(
        lambda tx: care_commands.book(
            tx, ids["elder"], {"service_id": ids["助浴"], "day": MONDAY, "start": "09:00"}, "王明"
        )
    )
    await agent.sync_once()
    bid = centre.store.read_sync(lambda c: c.execute("SELECT id FROM care_bookings").fetchone()[0])
    centre.store.write_sync(lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK))
    await agent.sync_once()
    centre.store.write_sync(lambda tx: bookings.start(tx, bid, DESK))  # the link is down
    site = centre.site_id
    hub_store.write_sync(
        lambda tx: care_commands.cancel(tx, site, {"booking_id": bid}, "临时有事", "王明")
    )
    assert hub_visits(hub_store, ids["elder"])["cancels_waiting"]
    await agent.sync_once()
    await agent.sync_once()
    seen = hub_visits(hub_store, ids["elder"])
    visit = seen["visits"][0]
    assert visit["status"] == "started"
    assert "开始" in visit["refused"] and "already started" in visit["refused"]
    assert seen["cancels_waiting"] == []
    # now the hub knows it started: a second cancel is refused at once
    with pytest.raises(Conflict):
        hub_store.write_sync(
            lambda tx: care_commands.cancel(tx, site, {"booking_id": bid}, "", "王明")
        )


async def test_a_cancel_sent_before_the_centre_answered_cancels_by_request(world: Any) -> None:
    hub_store, centre, agent, ids = world
    request = hub_store.write_sync(
        lambda tx: care_commands.book(
            tx, ids["elder"], {"service_id": ids["陪聊"], "day": MONDAY, "start": "15:00"}, "王明"
        )
    )
    site = centre.site_id
    hub_store.write_sync(
        lambda tx: care_commands.cancel(tx, site, {"request_id": request}, "不用了", "王明")
    )
    await agent.sync_once()
    await agent.sync_once()
    visit = hub_visits(hub_store, ids["elder"])["visits"][0]
    assert (visit["status"], visit["reason"]) == ("cancelled", "不用了")


async def test_the_hotline_books_a_recurring_meal_that_skips_a_closed_day(world: Any) -> None:
    hub_store, centre, agent, ids = world
    centre.store.write_sync(
        lambda tx: calendar.add_exception(tx, date(2030, 1, 9), "closed", "停水")
    )
    request = hub_store.write_sync(
        lambda tx: care_commands.book(
            tx,
            ids["elder"],
            {
                "service_id": ids["送餐"],
                "day": MONDAY,
                "start": "11:00",
                "channel": "hotline",
                "caller": "王明",
                "caller_relation": "儿子",
                "callback_phone": "13912345678",
                "weekdays": [0, 1, 2, 3, 4],
                "until": "2030-01-11",
            },
            "接线员小张",
        )
    )
    await agent.sync_once()
    await agent.sync_once()
    seen = hub_visits(hub_store, ids["elder"])
    days = sorted(v["day"] for v in seen["visits"])
    assert days == ["2030-01-07", "2030-01-08", "2030-01-10", "2030-01-11"]
    assert all(v["channel"] == "hotline" and v["request_id"] == request for v in seen["visits"])
    result = hub_store.read_sync(
        lambda c: c.execute(
            "SELECT outcome, detail FROM sync_command_results WHERE id = ?", (request,)
        ).fetchone()
    )
    assert result["outcome"] == "applied" and "skipped: 2030-01-09" in result["detail"]
    caller = centre.store.read_sync(
        lambda c: c.execute("SELECT caller, callback_phone FROM care_bookings LIMIT 1").fetchone()
    )
    assert tuple(caller) == ("王明", "13912345678")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"day": "2030-1-7"}, "args.day"),
        ({"start": "9点"}, "args.start"),
        ({"channel": "wechat"}, "args.channel"),
        ({"callback_phone": "123"}, "args.callback_phone"),
        ({"weekdays": [8], "until": "2030-01-11"}, "args.weekdays"),
        ({"service_id": "nope"}, "service_id"),
    ],
)
async def test_a_bad_hub_booking_is_a_400_now_and_queues_nothing(
    world: Any, fields: dict[str, Any], field: str
) -> None:
    hub_store, _centre, _agent, ids = world
    body = {"service_id": ids["陪诊"], "day": MONDAY, "start": "09:00", **fields}
    with pytest.raises(BadRequest) as caught:
        hub_store.write_sync(lambda tx: care_commands.book(tx, ids["elder"], body, "王明"))
    assert caught.value.field == field
    assert (
        hub_store.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM sync_commands").fetchone()[0])
        == 0
    )
