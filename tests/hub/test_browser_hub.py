"""The hub's operator pages in headless Chromium, at a desk (1366×768) and on a phone (390×844).

A real hub with two centres joined by the documented CLI (their servers stopped:
they sync when the test runs `linli sync --once`); centre B last called three days
ago and centre A's box clock is 9 minutes fast. Every hub page must fit the phone
(no horizontal overflow) and pass axe-core (served by the test, never from a CDN)
with no violations. The command list answers without a reload; the co-op opens its
loading list from a signed link. Screenshots: /tmp/linli-hub-*.png.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_fixtures import axe_violations, browser, keep_on_the_box
from hub_world import District, district
from playwright.sync_api import expect

from edge.store.dialect import is_postgres_url
from edge.store.pg import connect_url

__all__ = ["browser"]  # a fixture, imported on purpose

SHOTS = "/tmp/linli-hub-{}-{}.png"
SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _hub_write(world: District, sql: str, params: tuple[Any, ...]) -> None:
    """Stored facts about a centre, set while the hub runs (SQLite's WAL, or PostgreSQL:
    the hub reads them next)."""
    if is_postgres_url(world.hub_db):
        pg = connect_url(str(world.hub_db))  # autocommit
        try:
            pg.execute(sql, params)
        finally:
            pg.raw.close()
        return
    conn = sqlite3.connect(world.hub_db, timeout=10)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


@contextmanager
def _district(folder: Path, hub: Path | str | None = None) -> Iterator[District]:
    with district(folder, hub) as w:
        three_days = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
        _hub_write(
            w,
            "UPDATE sync_centres SET last_contact = ?, waiting = 3 WHERE site_id = ?",
            (three_days, w.b_site),
        )
        _hub_write(
            w, "UPDATE sync_centres SET clock_offset_ms = 540000 WHERE site_id = ?", (w.a_site,)
        )
        token = httpx.post(
            f"{w.url}/hub/api/v1/token", json={"name": "op", "password": "password1"}
        ).json()["token"]
        made = httpx.post(
            f"{w.url}/hub/api/v1/products",
            json={
                "name": "山东大葱",
                "sold_by": "weight",
                "price_fen": 280,
                "category": "蔬菜",
                "confirm_duplicate": True,  # the centres sell their own 大葱
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 200, made.text
        yield w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    with _district(tmp_path_factory.mktemp("hubbrowser")) as w:
        yield w


@pytest.fixture(scope="module")
def pg_world(tmp_path_factory: pytest.TempPathFactory, pg_server: Any) -> Iterator[District]:
    """The same district with its hub on PostgreSQL: for the tests that read and write
    the hub's store through the pages (sync health, a cancel and its answer); the page
    layout and axe checks do not depend on the engine and run once, on SQLite."""
    url = pg_server.fresh_database()
    try:
        with _district(tmp_path_factory.mktemp("hubbrowserpg"), url) as w:
            yield w
    finally:
        pg_server.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_world(request: pytest.FixtureRequest) -> District:
    return request.getfixturevalue("world" if request.param == "sqlite" else "pg_world")


def _open(browser: Any, world: District, size: str) -> Any:
    context = browser.new_context(
        viewport=SIZES[size], base_url=world.url, locale="zh-CN", device_scale_factor=1
    )
    offsite = keep_on_the_box(context, world.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.offsite = offsite  # type: ignore[attr-defined]
    return page


def _sign_in(page: Any) -> None:
    page.goto("/hub/")
    page.wait_for_url(re.compile(r"/hub/login"))
    page.get_by_label("用户名").fill("op")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    expect(page.get_by_label("用户名")).to_have_value("op")  # the name is kept
    page.get_by_label("密码").fill("password1")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/hub/orders"))


def _check(page: Any, name: str, size: str) -> None:
    """No horizontal overflow on a phone, no axe violations, and a screenshot."""
    page.screenshot(path=SHOTS.format(name, size), full_page=True)
    page.screenshot(path=SHOTS.format(f"{name}-screen", size))  # what the first screen shows
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.evaluate("() => window.innerWidth")
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round("
        "e.getBoundingClientRect().right))"
    )
    assert width <= viewport, f"{name} at {size}: {width} px wide on a {viewport} px screen: {wide}"
    found = axe_violations(page)
    summary = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]
    assert not found, f"{name} at {size}: {summary}"


def _fits_a4(page: Any) -> None:
    """Printed on A4 (190 mm between the margins, about 718 px): every sheet whole in width,
    and kept off a page break (`break-inside: avoid`)."""
    page.set_viewport_size({"width": 718, "height": 1000})
    page.emulate_media(media="print")
    try:
        sheets = page.evaluate(
            "() => [...document.querySelectorAll('.sheet')].map(s => [s.scrollWidth,"
            " s.clientWidth, getComputedStyle(s).breakInside])"
        )
        assert len(sheets) == 3, sheets  # the summary and one per centre
        for scroll_width, width, keep in sheets:
            assert scroll_width <= width and keep == "avoid", sheets
        page.pdf(path="/tmp/linli-hub-reconciliation.pdf", format="A4")
    finally:
        page.emulate_media(media="screen")
        page.set_viewport_size(SIZES["desk"])


def _order_day(world: District) -> str:
    rows = world.hub_rows(
        "SELECT pickup_date FROM orders WHERE site_id = ? AND status = 'placed'"
        " ORDER BY pickup_date DESC LIMIT 1",
        (world.a_site,),
    )
    return str(rows[0][0])


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_every_hub_page_fits_and_passes_axe(browser: Any, world: District, size: str) -> None:
    page = _open(browser, world, size)
    try:
        page.goto("/hub/login")
        _check(page, "login", size)
        _sign_in(page)
        day = _order_day(world)
        dacong = world.hub_rows(
            "SELECT id FROM products WHERE site_id = ? AND name = '大葱'", (world.a_site,)
        )[0][0]
        for name, path in (
            ("orders", f"/hub/orders?day={day}"),
            ("sync", "/hub/sync"),
            ("commands", "/hub/commands"),
            ("catalog", "/hub/catalog"),
            ("catalog-product", f"/hub/catalog/products/{dacong}"),
            ("reconciliation", f"/hub/reconciliation?day={day}"),
            ("suppliers", f"/hub/suppliers?day={day}"),
            ("hotline", "/hub/hotline?q=王"),
            ("hotline-returns", "/hub/hotline/returns"),
            ("care-statement", "/hub/care/statement"),
            ("error", "/hub/nowhere"),
        ):
            page.goto(path)
            _check(page, name, size)
            if name == "reconciliation" and size == "desk":
                _fits_a4(page)
            if name == "catalog":  # each centre's price, and the duplicate warning
                row = page.locator("#sold tbody tr").filter(has_text="大葱").first
                expect(row).to_contain_text("可能与以下商品相同：")
                form = page.locator("form[action='/hub/catalog#new']")
                form.get_by_label("商品名称").fill("本地大葱")
                form.get_by_label("价格（元）").fill("3")
                form.get_by_role("button", name="添加").click()
                expect(page.locator(".dup-warning")).to_contain_text("山东大葱")
                _check(page, "catalog-duplicate", size)
        page.goto(f"/hub/suppliers?day={day}")
        link = page.get_by_label("装车单链接").input_value()
        page.context.clear_cookies()  # the co-op has no session: the link alone opens it
        page.goto(link)
        expect(page.locator("h1").first).to_contain_text("装车单")
        _check(page, "loading-list", size)
        page.goto("/family")  # the family page: public, beside the operators' pages
        _check(page, "family", size)
    finally:
        page.context.close()
    assert not page.offsite, page.offsite


def test_sync_health_and_the_centres_calendar_on_a_phone(browser: Any, any_world: District) -> None:
    world = any_world
    page = _open(browser, world, "phone")
    try:
        _sign_in(page)
        page.goto("/hub/sync")
        b = page.locator(f"#centre-{world.b_site}")
        expect(b.locator(".pill.off")).to_have_text("离线")
        expect(b.locator(".alert.offline")).to_contain_text("3 天前")
        expect(b.locator("dd.waiting")).to_contain_text("未知")
        expect(b.locator("dd.waiting")).to_contain_text("最后联系时： 3")
        expect(b.locator("dd.lag")).to_have_text("未知")
        a = page.locator(f"#centre-{world.a_site}")
        expect(a.locator(".alert.clock")).to_contain_text("金沙路社区 的盒子时钟比平台快 9 分钟")
        expect(a.locator(".calendar-now")).to_contain_text("周一、周三、周五、周六")
        a.get_by_text("修改配送日历").click()
        for day in ("周一", "周三", "周五", "周六"):
            expect(a.get_by_label(day, exact=True)).to_be_checked()
        expect(a.get_by_label("周二", exact=True)).not_to_be_checked()
        expect(a.locator("input[name=cutoff]")).to_have_value("19:30")
        page.screenshot(path=SHOTS.format("sync-calendar", "phone"), full_page=True)
    finally:
        page.context.close()


def test_a_cancel_answers_on_the_page_without_a_reload(browser: Any, any_world: District) -> None:
    world = any_world
    page = _open(browser, world, "phone")
    try:
        _sign_in(page)
        day = _order_day(world)
        page.goto(f"/hub/orders?day={day}&centre={world.a_site}")
        page.on("dialog", lambda dialog: dialog.accept())
        row = page.locator("#orders tbody tr").filter(has=page.get_by_role("button", name="取消"))
        code = row.first.locator("td").nth(1).inner_text()
        row.first.get_by_role("button", name="取消").click()
        page.wait_for_url(re.compile(r"sent="))
        notice = page.locator(".notice")
        expect(notice).to_contain_text("等待站点执行")
        expect(notice).to_contain_text(f"取消订单 {code.strip()}")
        page.screenshot(path=SHOTS.format("cancel-pending", "phone"), full_page=True)
        world.sync(world.a_db)
        world.sync(world.a_db)
        expect(notice.locator(".cmd")).to_contain_text("站点已执行", timeout=20_000)  # polled
        page.screenshot(path=SHOTS.format("cancel-done", "phone"), full_page=True)

        # Centre B has been silent for three days: the page says the cancel will wait.
        b_day = str(
            world.hub_rows(
                "SELECT pickup_date FROM orders WHERE site_id = ? AND status = 'placed'"
                " ORDER BY pickup_date DESC LIMIT 1",
                (world.b_site,),
            )[0][0]
        )
        page.goto(f"/hub/orders?day={b_day}&centre={world.b_site}")
        page.locator("#orders").get_by_role("button", name="取消").first.click()
        page.wait_for_url(re.compile(r"sent="))
        expect(page.locator(".notice")).to_contain_text("站点离线：指令会等它下次联网时执行。")
        expect(page.locator(".notice")).to_contain_text("3 天前")
        page.goto("/hub/commands")
        expect(page.locator(".cmd-pending")).to_have_count(1)
        expect(page.locator(".cmd-applied")).to_have_count(1)
    finally:
        page.context.close()
