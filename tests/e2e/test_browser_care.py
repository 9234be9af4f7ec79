"""Care in headless Chromium against real processes: a `linli serve --role hub` and a
`linli demo` centre syncing to it.

On a 390×844 phone, a son links to his mother with the centre's printed code, books
陪诊 and sees it wait for the centre, then the centre's answer (待确认). On a 1280×800
tablet, the manager reads today's roster and checks elders in on the day-care grid.
Screenshots go to /tmp/linli-care-*.png for a person to look at.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_fixtures import (
    TABLET_LANDSCAPE,
    axe_violations,
    browser,
    free_port,
    keep_on_the_box,
    linli_command,
)
from live_server import stop, wait_healthy
from playwright.sync_api import expect

__all__ = ["browser"]  # a fixture, imported on purpose

SHOTS = "/tmp/linli-care-{}.png"
PHONE = {"width": 390, "height": 844}


def _linli(*args: str) -> str:
    done = subprocess.run(
        [*linli_command(), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A hub and a demo centre joined to it, both serving on loopback."""
    folder = tmp_path_factory.mktemp("care")
    hub_db, db = folder / "hub.db", folder / "centre.db"
    enrolled = _linli("hub", "add-centre", "--db", str(hub_db), "--name", "金沙路")
    _linli("demo", "--db", str(db))
    hub_port, port = free_port(), free_port()
    hub_url, url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    serve = [*linli_command(), "serve", "--host", "127.0.0.1", "--log-level", "warning"]
    with (folder / "hub.log").open("wb") as hub_log, (folder / "c.log").open("wb") as c_log:
        try:
            procs.append(
                subprocess.Popen(
                    [*serve, "--role", "hub", "--db", str(hub_db), "--port", str(hub_port)],
                    stdout=hub_log,
                    stderr=subprocess.STDOUT,
                )
            )
            wait_healthy(hub_url, procs[0], folder / "hub.log")
            token = re.search(r"token: (\S+)", enrolled)
            assert token, enrolled
            _linli("centre", "join", "--db", str(db), "--hub", hub_url, "--token", token.group(1))
            procs.append(
                subprocess.Popen(
                    [*serve, "--db", str(db), "--port", str(port), "--sync-interval", "0.3"],
                    stdout=c_log,
                    stderr=subprocess.STDOUT,
                )
            )
            wait_healthy(url, procs[1], folder / "c.log")
            yield {"hub": hub_url, "centre": url, "db": db, "hub_db": hub_db}
        finally:
            stop(procs)


def _context(browser: Any, base_url: str, viewport: dict[str, int], **kw: Any) -> Any:
    """A browser context allowed nothing off the box; CSP refusals collected."""
    context = browser.new_context(
        viewport=viewport, base_url=base_url, locale="zh-CN", has_touch=True, **kw
    )
    context.offsite = keep_on_the_box(context, base_url)
    return context


def _checked(context: Any, page: Any, refused: list[str]) -> None:
    context.close()
    assert not context.offsite, f"pages asked for something off the box: {context.offsite}"
    assert not refused, f"the CSP refused the pages' own scripts or styles: {refused}"


def _page(context: Any) -> tuple[Any, list[str]]:
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return page, refused


def _until_hub_has(hub_db: Path, sql: str, params: tuple[Any, ...]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True)
        try:
            if conn.execute(sql, params).fetchone():
                return
        finally:
            conn.close()
        time.sleep(0.1)
    raise AssertionError(f"the hub never had: {sql}")


def test_the_family_page_on_a_phone(browser: Any, world: dict[str, Any]) -> None:
    conn = sqlite3.connect(f"file:{world['db']}?mode=ro", uri=True)
    elder, code = conn.execute(
        "SELECT id, link_code FROM care_recipients WHERE name = '王秀英'"
    ).fetchone()
    conn.close()
    _until_hub_has(world["hub_db"], "SELECT 1 FROM care_recipients WHERE id = ?", (elder,))
    context = _context(browser, world["hub"], PHONE, is_mobile=True, device_scale_factor=2)
    page, refused = _page(context)
    try:
        page.goto("/family")
        expect(page.locator("h1", has_text="绑定老人")).to_be_visible()
        page.fill("input[name=code]", code.lower())
        page.fill("input[name=name]", "王明")
        page.fill("input[name=relation]", "儿子")
        page.locator("form[action='/family/link'] input[name=phone]").fill("13912345678")
        page.locator("form[action='/family/link'] input[name=password]").fill("mima1234")
        page.screenshot(path=SHOTS.format("family-link"), full_page=True)
        page.click("form[action='/family/link'] button[type=submit]")
        page.wait_for_url(re.compile(f"/family/elders/{elder}$"))
        expect(page.locator("h1")).to_contain_text("王秀英")
        escort = page.locator("select[name=service_id] option", has_text="陪诊")
        page.select_option("select[name=service_id]", value=escort.get_attribute("value"))
        monday = date.today() + timedelta(days=7 - date.today().weekday())
        page.fill("input[name=day]", monday.isoformat())
        page.fill("input[name=start]", "09:00")
        page.fill("input[name=note]", "市立医院内分泌科复查")
        page.click("button:has-text('提交预约')")
        page.wait_for_url(re.compile(f"/family/elders/{elder}$"))
        page.screenshot(path=SHOTS.format("family-booked"), full_page=True)
        # waiting at the hub until the centre's next sync, then its answer
        _until_hub_has(
            world["hub_db"],
            "SELECT 1 FROM care_bookings WHERE recipient_id = ? AND day = ? AND channel = 'family'",
            (elder, monday.isoformat()),
        )
        page.reload()
        visit = page.locator(".card.visit", has_text="陪诊").filter(has_text=monday.isoformat())
        expect(visit.locator(".status")).to_have_text("待确认")
        expect(page.locator(".alert", has_text="等待服务站接收")).to_have_count(0)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px"
        page.screenshot(path=SHOTS.format("family-status"), full_page=True)
    finally:
        _checked(context, page, refused)


def _hub_one(hub_db: Path, sql: str, params: tuple[Any, ...]) -> Any:
    conn = sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def test_a_family_grocery_order_on_a_phone(browser: Any, world: dict[str, Any]) -> None:
    """The son orders groceries for his mother's next delivery day. The demo household
    already has an order that day: the page says so and sends nothing; once the district
    cancels that one (a command the centre applies), his order waits for the centre,
    then shows the centre's status (已下单), pickup code and one total."""
    conn = sqlite3.connect(f"file:{world['db']}?mode=ro", uri=True)
    elder, code, household = conn.execute(
        "SELECT id, link_code, household_id FROM care_recipients WHERE name = '王秀英'"
    ).fetchone()
    conn.close()
    _until_hub_has(world["hub_db"], "SELECT 1 FROM care_recipients WHERE id = ?", (elder,))
    context = _context(browser, world["hub"], PHONE, is_mobile=True, device_scale_factor=2)
    page, refused = _page(context)
    try:
        page.goto(f"/family?code={code}")
        page.fill("input[name=name]", "王明")
        page.fill("input[name=relation]", "儿子")
        page.locator("form[action='/family/link'] input[name=phone]").fill("13912345678")
        page.locator("form[action='/family/link'] input[name=password]").fill("mima1234")
        page.click("form[action='/family/link'] button[type=submit]")
        page.wait_for_url(re.compile(f"/family/elders/{elder}$"))
        groceries = page.locator("#groceries")
        expect(groceries.locator("h2")).to_contain_text("送货日")
        day = groceries.locator("h2 small").inner_text().split()[-1]
        held = _hub_one(
            world["hub_db"],
            "SELECT id FROM orders WHERE household_id = ? AND pickup_date = ?"
            " AND status = 'placed'",
            (household, day),
        )
        assert held, "the demo household has an order on the next delivery day"
        groceries.get_by_label("土豆（斤）").fill("2")
        page.click("button:has-text('提交买菜订单')")
        expect(page.locator("#error")).to_contain_text("已有订单")
        page.screenshot(path=SHOTS.format("family-groceries-held"), full_page=True)

        # the district cancels the demo order; the centre applies it and says so
        _linli(
            "hub",
            "add-operator",
            "--db",
            str(world["hub_db"]),
            "--name",
            "op",
            "--password",
            "p" * 8,
        )
        with httpx.Client(base_url=world["hub"], timeout=10) as api:
            token = api.post("/hub/api/v1/token", json={"name": "op", "password": "p" * 8})
            auth = {"Authorization": f"Bearer {token.json()['token']}"}
            assert api.post(f"/hub/api/v1/orders/{held[0]}/cancel", headers=auth).is_success
        _until_hub_has(
            world["hub_db"], "SELECT 1 FROM orders WHERE id = ? AND status = 'cancelled'", held
        )
        page.goto(f"/family/elders/{elder}")
        groceries.get_by_label("土豆（斤）").fill("2")
        groceries.get_by_label("馒头（份）").fill("2")
        groceries.locator("input[name=notes]").fill("要新鲜的")
        page.screenshot(path=SHOTS.format("family-groceries-form"), full_page=True)
        page.click("button:has-text('提交买菜订单')")
        page.wait_for_url(re.compile(f"/family/elders/{elder}$"))
        _until_hub_has(
            world["hub_db"],
            "SELECT 1 FROM orders WHERE household_id = ? AND pickup_date = ?"
            " AND channel = 'family'",
            (household, day),
        )
        page.reload()
        placed = groceries.locator(".grocery-order", has_text=day).filter(has_text="取货码")
        expect(placed.locator(".status")).to_have_text("已下单")
        expect(placed.locator(".total")).to_contain_text("约 ¥")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width}px"
        page.screenshot(path=SHOTS.format("family-groceries-placed"), full_page=True)
        found = axe_violations(page)
        assert not found, [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]
        page.evaluate("window.scrollTo(0, document.querySelector('#groceries').offsetTop - 8)")
        page.screenshot(path=SHOTS.format("family-groceries-phone"))  # what the phone shows
    finally:
        _checked(context, page, refused)


def test_the_roster_and_the_day_care_grid_on_a_tablet(browser: Any, world: dict[str, Any]) -> None:
    context = _context(browser, world["centre"], TABLET_LANDSCAPE, device_scale_factor=1)
    page, refused = _page(context)
    try:
        page.goto("/")
        page.wait_for_url(re.compile(r"/signin"))
        page.locator(".staff-pick label.choice", has_text="小玮").click()  # a name from the list
        for digit in "1234":
            page.click(f".keypad button[data-key='{digit}']")
        page.click("form.signin button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        page.goto("/care/roster")
        bath = page.locator("table.roster tr", has_text="助浴")
        expect(bath).to_contain_text("王秀英")
        expect(bath).to_contain_text("王姐")
        expect(bath.locator(".status")).to_have_text("已派人")
        expect(bath).to_contain_text("右手无力")  # the manager's copy carries the care notes
        page.screenshot(path=SHOTS.format("roster"), full_page=True)
        page.goto("/care/daycare")
        tile = page.locator("form", has_text="王秀英").locator("button.tile")
        expect(tile).to_have_attribute("data-state", "none")
        total = page.locator("#lunch-total").inner_text()
        tile.click()
        tile = page.locator("form", has_text="王秀英").locator("button.tile")
        expect(tile).to_have_attribute("data-state", "in")
        expect(tile).to_contain_text("在站")
        other = page.locator("form", has_text="周凤兰").locator("button.tile")
        other.click()
        expect(page.locator("form", has_text="周凤兰").locator("button.tile")).to_have_attribute(
            "data-state", "in"
        )
        # each already has a 助餐 booking: checking in does not count their lunch twice
        expect(page.locator("#lunch-total")).to_have_text(total)
        page.click("button:has-text('+1')")
        expect(page.locator("#lunch-total")).to_have_text(str(int(total) + 1))
        page.screenshot(path=SHOTS.format("daycare"), full_page=True)
    finally:
        _checked(context, page, refused)
