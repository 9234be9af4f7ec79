"""Hub operator pages that tell the truth (issue 13), through the real hub app in process.

Commands with a visible outcome, the centre's own calendar in the form, sync
health with what is unknown, orders search and filters, the catalog's
prices as typed, the language switch, and the co-op's signed link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from paths import CHECKOUT
from sync_fixtures import DAY, HUB_URL, add_household, add_order, enrolled_with_operators

from edge.domain import calendar
from edge.store import Tx
from edge.sync_hooks import DEFAULT_COMMANDS
from hub import links
from hub.app import Hub
from hub.supplier import create_supplier
from sync.agent import SyncAgent

pytestmark = pytest.mark.anyio
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def world(tmp_path: Path, hub_target: Path | str) -> Any:
    """A hub, centre A (one order for 王阿姨 on DAY, a calendar with a Saturday) synced
    once, and centre B enrolled but never synced."""
    app, (a, b) = enrolled_with_operators(
        tmp_path, ["金沙路社区", "海泊河社区"], [("op", "password1", "operator")], hub=hub_target
    )
    hub: Hub = app.state.hub

    def write(tx: Tx) -> str:
        calendar.save(tx, [0, 2, 4, 5], "19:30", "08:00-10:00")
        other = add_household(tx, "李大爷", "13800001234")
        add_order(tx, other, code="0077")
        return add_order(tx, add_household(tx, "王阿姨", "13812345678"), code="4321")

    order_id = a.store.write_sync(write)
    async with app.lifespan():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=HUB_URL
        ) as client:
            agent = SyncAgent(a.store, client, HUB_URL, a.token)
            for name, handler in DEFAULT_COMMANDS.items():
                agent.register_command(name, handler)
            await agent.sync_once()
            yield {"app": app, "hub": hub, "a": a, "b": b, "client": client}, order_id, agent
    a.store.close()
    b.store.close()


async def sign_in(client: httpx.AsyncClient, name: str = "op", password: str = "password1") -> str:
    page = await client.get("/hub/login")
    token = CSRF.search(page.text)
    assert token, page.text[:300]
    r = await client.post(
        "/hub/login", data={"name": name, "password": password, "_csrf_token": token.group(1)}
    )
    assert r.status_code in (302, 303), r.text[:300]
    return token.group(1)


def section(html: str, site_id: str) -> str:
    """One centre's card on /hub/sync."""
    start = html.index(f'id="centre-{site_id}"')
    end = html.find('<section class="card centre', start + 10)
    return html[start : end if end > 0 else len(html)]


def set_centre(hub: Hub, site_id: str, **fields: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    hub.store.write_sync(
        lambda tx: tx.execute(
            f"UPDATE sync_centres SET {sets} WHERE site_id = ?", (*fields.values(), site_id)
        )
    )


async def test_calendar_form_starts_from_the_centres_calendar_and_a_refusal_shows_its_reason(
    world: Any,
) -> None:
    w, _order_id, agent = world
    client, a, hub = w["client"], w["a"], w["hub"]
    csrf = await sign_in(client)
    card = section((await client.get("/hub/sync")).text, a.site_id)
    ticked = set(re.findall(r'name="weekday" value="(\d)" checked', card))
    assert ticked == {"0", "2", "4", "5"}  # the Saturday the centre added stays ticked
    assert 'name="cutoff" value="19:30"' in card and 'value="08:00-10:00"' in card
    assert "周一、周三、周五、周六" in card
    never = section((await client.get("/hub/sync")).text, w["b"].site_id)
    assert "站点还没有上传日历：按默认日历运行。" in never

    # Dropping Monday would strand 王阿姨's order: the centre will refuse it.
    r = await client.post(
        f"/hub/centres/{a.site_id}/calendar",
        data={"_csrf_token": csrf, "weekday": ["2", "4", "5"], "cutoff": "19:30"},
    )
    assert r.status_code in (302, 303) and "sent=" in r.headers["location"]
    set_centre(hub, a.site_id, last_contact=(datetime.now(UTC) - timedelta(days=3)).isoformat())
    listed = await client.get("/hub/commands")
    assert "等待站点执行" in listed.text
    assert "站点离线：指令会等它下次联网时执行。" in listed.text and "3 天前" in listed.text
    assert 'hx-get="/hub/commands/part?' in listed.text  # polls while pending
    assert "配送日 周三、周五、周六，截单 19:30" in listed.text

    await agent.sync_once()  # pulls the command and runs it
    await agent.sync_once()  # pushes the answer
    part = await client.get(f"/hub/commands/part?site={a.site_id}")
    assert "站点拒绝" in part.text
    assert "2030-01-07 (2) 还有订单未完成：请先把这些订单改到别的配送日，或取消它们。" in part.text
    assert "orders are still waiting for 2030-01-07 (2)" in part.text  # the centre's words
    assert "hx-get" not in part.text  # answered: polling stops
    card = section((await client.get("/hub/sync")).text, a.site_id)
    assert set(re.findall(r'name="weekday" value="(\d)" checked', card)) == {"0", "2", "4", "5"}


async def test_a_cancel_says_it_will_wait_for_an_offline_centre_then_shows_it_applied(
    world: Any,
) -> None:
    w, order_id, agent = world
    client, a, hub = w["client"], w["a"], w["hub"]
    csrf = await sign_in(client)
    set_centre(hub, a.site_id, last_contact=(datetime.now(UTC) - timedelta(hours=5)).isoformat())
    back = f"{HUB_URL}/hub/orders?day={DAY}&centre={a.site_id}"
    r = await client.post(
        f"/hub/orders/{order_id}/cancel", data={"_csrf_token": csrf}, headers={"referer": back}
    )
    location = r.headers["location"]
    assert location.startswith(f"/hub/orders?day={DAY}&centre={a.site_id}&sent=")
    page = await client.get(location)
    assert "取消指令已发出" in page.text
    assert "站点离线：指令会等它下次联网时执行。" in page.text and "5 小时前" in page.text
    assert "取消订单 4321（王阿姨，2030-01-07）" in page.text
    assert "取消指令等待站点执行" in page.text
    await agent.sync_once()
    await agent.sync_once()
    sent = parse_qs(urlsplit(location).query)["sent"][0]
    part = await client.get(f"/hub/commands/part?id={sent}")
    assert "站点已执行" in part.text and "hx-get" not in part.text
    page = await client.get(f"/hub/orders?day={DAY}")
    assert page.text.count('<span class="status s-cancelled">已取消</span>') == 1
    api = await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    auth = {"Authorization": f"Bearer {api.json()['token']}"}
    listed = (await client.get("/hub/api/v1/commands", headers=auth)).json()
    assert listed[0]["id"] == sent and listed[0]["outcome"] == "applied"


async def test_a_refused_cancel_is_red_with_the_reason_in_words(world: Any) -> None:
    w, order_id, agent = world
    client, a = w["client"], w["a"]
    csrf = await sign_in(client)
    from sync_fixtures import set_status

    a.store.write_sync(lambda tx: set_status(tx, order_id, "picked_up"))
    r = await client.post(
        f"/hub/orders/{order_id}/cancel",
        data={"_csrf_token": csrf},
        headers={"referer": f"{HUB_URL}/hub/orders?day={DAY}"},
    )
    await agent.sync_once()
    await agent.sync_once()
    page = await client.get(r.headers["location"])
    assert '<li class="cmd cmd-refused"' in page.text
    assert "订单已是“已取货”，不能再取消。" in page.text
    assert "order is picked_up; it cannot become cancelled" in page.text
    assert "站点拒绝取消" in page.text  # on the order's row too


async def test_sync_health_says_what_is_unknown_in_local_time_and_whose_clock_is_off(
    world: Any,
) -> None:
    w, _order_id, _agent = world
    client, a, hub = w["client"], w["a"], w["hub"]
    await sign_in(client)
    last = (datetime.now(UTC) - timedelta(days=3, minutes=2)).replace(microsecond=0)
    set_centre(hub, a.site_id, last_contact=last.isoformat(), waiting=4, clock_offset_ms=540_000)
    card = section((await client.get("/hub/sync")).text, a.site_id)
    assert '<span class="pill off">离线</span>' in card
    shanghai, utc = last.astimezone(ZoneInfo("Asia/Shanghai")), last
    assert shanghai.strftime("%m-%d %H:%M") in card and utc.strftime("%H:%M") not in card
    assert "3 天前" in card
    assert re.search(r'class="waiting">未知 <small>\(最后联系时： 4\)', card), card
    assert 'class="lag">未知<' in card
    assert "金沙路社区 的盒子时钟比平台快 9 分钟。请在该站盒子上校准时间" in card
    fresh = section((await client.get("/hub/sync")).text, w["b"].site_id)
    assert ">从未同步<" in fresh
    token = (
        await client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    ).json()["token"]
    api = await client.get("/hub/api/v1/centres", headers={"Authorization": f"Bearer {token}"})
    by = {c["site_id"]: c for c in api.json()}
    assert by[a.site_id]["online"] is False and by[a.site_id]["state"] == "offline"
    assert by[a.site_id]["lag_s"] is None and by[a.site_id]["current"] is False
    # 45 s ago is still online; the figures are current again.
    recent = (datetime.now(UTC) - timedelta(seconds=45)).isoformat()
    set_centre(hub, a.site_id, last_contact=recent, waiting=0, clock_offset_ms=1200)
    card = section((await client.get("/hub/sync")).text, a.site_id)
    assert '<span class="pill ok">在线</span>' in card and 'class="waiting">0<' in card
    assert 'class="lag">无<' in card and "准确" in card


async def test_orders_search_filters_and_totals(world: Any) -> None:
    w, _order_id, _agent = world
    client, a, hub = w["client"], w["a"], w["hub"]
    await sign_in(client)
    base = f"/hub/orders?day={DAY}"
    # A whole phone number matches the whole number only.
    page = await client.get(f"{base}&q=13900001234")
    assert "没有找到订单" in page.text and "李大爷" not in page.text
    page = await client.get(f"{base}&q=138 0000 1234")
    assert "李大爷" in page.text and "王阿姨" not in page.text
    page = await client.get(f"{base}&q=1234")  # last four digits
    assert "李大爷" in page.text
    assert "王阿姨" not in page.text  # 13812345678 ends in 5678
    # Across days: the resident's order on another day is found too.
    a.store.write_sync(
        lambda tx: tx.execute(
            "UPDATE orders SET pickup_date = '2030-01-09' WHERE pickup_code = '0077'"
        )
    )
    hub.store.write_sync(
        lambda tx: tx.execute(
            "UPDATE orders SET pickup_date = '2030-01-09' WHERE pickup_code = '0077'"
        )
    )
    assert "李大爷" not in (await client.get(f"{base}&q=李")).text
    page = await client.get(f"{base}&q=李&alldays=1")
    assert "李大爷" in page.text and "2030-01-09" in page.text
    # Four digits on every day: the pickup code (found by its own index) or a phone's tail.
    page = await client.get(f"{base}&q=0077&alldays=1")
    assert "李大爷" in page.text and "2030-01-09" in page.text
    page = await client.get(f"{base}&q=1234&alldays=1")
    assert "李大爷" in page.text and "王阿姨" not in page.text
    # The day arrows keep every filter.
    page = await client.get(f"{base}&centre={a.site_id}&status=placed&q=王")
    prev = re.search(r'href="(\?day=2030-01-06[^"]*)"', page.text)
    assert prev, page.text
    kept = parse_qs(prev.group(1)[1:].replace("&amp;", "&"))
    assert kept == {
        "day": ["2030-01-06"],
        "centre": [a.site_id],
        "status": ["placed"],
        "q": ["王"],
    }
    # Totals: stale when offline; the centre with no orders is listed.
    set_centre(hub, a.site_id, last_contact=(datetime.now(UTC) - timedelta(days=2)).isoformat())
    page = await client.get(base)
    totals = page.text[page.text.index('id="totals"') : page.text.index('id="orders"')]
    assert "可能不是最新：" in totals and "2 天前" in totals
    assert "当天没有订单的站点：" in totals and "海泊河社区" in totals
    assert "从未同步：还没有收到该站的数据" in totals
    # Status and channel in words.
    assert '<span class="status s-placed">已下单</span>' in page.text and ">微信群<" in page.text


async def test_sign_in_keeps_the_name_and_hub_root_and_english_switch(world: Any) -> None:
    w, _order_id, _agent = world
    client = w["client"]
    for path in ("/hub", "/hub/", "/"):
        r = await client.get(path)
        assert r.status_code == 302, path
        assert r.headers["location"] == "/hub/orders", path
    page = await client.get("/hub/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    bad = await client.post(
        "/hub/login", data={"name": "op", "password": "wrong-one", "_csrf_token": token}
    )
    assert bad.status_code == 401
    assert "用户名或密码错误。" in bad.text and 'name="name" value="op"' in bad.text
    await sign_in(client)
    r = await client.get("/lang/en?next=/hub/sync")
    assert r.status_code == 303 and r.headers["location"] == "/hub/sync"
    page = await client.get("/hub/sync")
    assert "Centres: sync, calendars, commands" in page.text and 'lang="en"' in page.text
    assert "Delivery calendar" in page.text and "配送日历" not in page.text
    missing = await client.get("/hub/nowhere")
    assert missing.status_code == 404 and "Not found." in missing.text
    await client.get("/lang/zh?next=/hub/sync")
    missing = await client.get("/hub/nowhere")
    assert missing.status_code == 404 and "找不到。" in missing.text


@pytest.mark.parametrize(
    ("typed", "fen"), [("2.8元", 280), ("¥3.50", 350), ("4", 400), ("0.5 元", 50)]
)
async def test_catalog_takes_prices_as_people_write_them(world: Any, typed: str, fen: int) -> None:
    w, _order_id, _agent = world
    client, hub = w["client"], w["hub"]
    csrf = await sign_in(client)
    r = await client.post(
        "/hub/catalog",
        data={"_csrf_token": csrf, "name": "黄瓜", "sold_by": "weight", "price": typed},
    )
    assert r.status_code in (302, 303), r.text[:400]
    price = hub.store.read_sync(
        lambda c: c.execute("SELECT price_fen FROM products WHERE name = '黄瓜'").fetchone()[0]
    )
    assert price == fen


async def test_a_bad_price_comes_back_in_chinese_with_the_input_kept_and_saves_say_who_has_it(
    world: Any,
) -> None:
    w, _order_id, agent = world
    client, hub = w["client"], w["hub"]
    csrf = await sign_in(client)
    r = await client.post(
        "/hub/catalog",
        data={"_csrf_token": csrf, "name": "山东大葱", "sold_by": "weight", "price": "两块八"},
    )
    assert r.status_code == 400
    assert "请输入价格（元），例如 3.50。" in r.text and "price must be" in r.text
    assert 'value="两块八"' in r.text and 'value="山东大葱"' in r.text
    assert (
        hub.store.read_sync(
            lambda c: c.execute("SELECT COUNT(*) FROM products WHERE name = '山东大葱'").fetchone()[
                0
            ]
        )
        == 0
    )
    r = await client.post(
        "/hub/catalog",
        data={"_csrf_token": csrf, "name": "山东大葱", "sold_by": "weight", "price": "2.8元"},
    )
    page = await client.get(r.headers["location"])
    assert "已保存： 山东大葱 2.80 ¥" in page.text
    notice = page.text[page.text.index("已保存：") : page.text.index('id="catalog"')]
    assert "尚未收到： 海泊河社区、金沙路社区" in notice
    await agent.sync_once()
    await agent.sync_once()  # the second pull tells the hub how far the first one got
    page = await client.get(r.headers["location"])
    notice = page.text[page.text.index("已保存：") : page.text.index('id="catalog"')]
    assert "金沙路社区" not in notice and "海泊河社区" in notice


async def test_the_co_op_opens_its_loading_list_from_a_signed_link(world: Any) -> None:
    w, _order_id, _agent = world
    client, hub, a = w["client"], w["hub"], w["a"]
    token = hub.store.write_sync(lambda tx: create_supplier(tx, "胶州合作社", [a.site_id]))
    r = await client.get(
        "/supplier/v1/loading-list/link",
        params={"delivery_date": DAY},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert url.startswith(f"{HUB_URL}/supplier/loading-list?") and r.json()["expires_at"]
    page = await client.get(url)  # no header, no cookie: a browser
    assert page.status_code == 200 and "装车单" in page.text and "胶州合作社" in page.text
    assert "金沙路社区" in page.text
    tampered = url.replace(f"d={DAY}", "d=2030-01-08")
    bad = await client.get(tampered)
    assert bad.status_code == 403 and "这个链接无效" in bad.text
    old, _ = hub.store.read_sync(
        lambda c: links.make_link(
            c,
            hub.store.read_sync(
                lambda c2: c2.execute("SELECT id FROM supply_suppliers").fetchone()[0]
            ),
            DAY,
            now=datetime.now(UTC).timestamp() - 100 * 3600,
        )
    )
    expired = await client.get(old)
    assert expired.status_code == 403 and "这个链接已过期" in expired.text
    await sign_in(client)
    page = await client.get(f"/hub/suppliers?day={DAY}")
    assert "胶州合作社" in page.text and "/supplier/loading-list?" in page.text


def test_every_hub_msgid_has_a_chinese_translation() -> None:
    """The words the hub's Python code says (ages, clock advice, refusals) are in the
    catalogs too; the templates' are checked with the centre's (tests/edge/web/test_pages.py)."""
    from babel.messages.extract import extract_from_dir

    from edge.web.pages.i18n import translations

    hub_dir = CHECKOUT / "hub"
    found = {
        m if isinstance(m, str) else m[0]
        for _f, _l, m, _c, _x in extract_from_dir(
            str(hub_dir), method_map=[("**.py", "python")], keywords={"_": None, "N_": None}
        )
    }
    assert len(found) > 30
    zh = translations("zh")
    assert sorted(m for m in found if zh.gettext(m) == m) == []
