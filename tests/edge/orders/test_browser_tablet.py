"""Ordering and the volunteer's round on a 10-inch tablet, in headless Chromium (touch).

Against a real `linli serve` on the demo centre (eight households with orders for
today and the next delivery day, three of them delivered at home):

- a phone or tablet order for a household that already has an open order for that
  day warns, as the WeChat flow does, and offers "add to that order"; after saving,
  the next thing offered is another order (not the desk, for an order due another day);
- the new-order screen: the channel the staff member last used comes first, 电话/12349
  and family member are there, ± steps by 1 斤 and the ½ button adds half a 斤;
- the volunteer's home-delivery list: only their pages in the menu, the resident's
  whole phone number to call on the delivery day only, the one amount to collect,
  and a big "delivered" button that takes the payment.

Landscape 1280x800 and portrait 800x1280. Screenshots go to /tmp/linli-tablet-*.png.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from browser_fixtures import (
    PORTRAIT,
    TABLET_LANDSCAPE,
    TABLET_PORTRAIT,
    Taps,
    assert_accessible,
    browser,
    live_server,
    sign_in,
    tablet,
)
from playwright.sync_api import expect

__all__ = ["browser", "live_server", "tablet"]  # fixtures, imported on purpose

SHOTS = "/tmp/linli-tablet-{}.png"


def choose_household(page: Any, tap: Taps, tail: str) -> None:
    tap("input[name=hq]")
    page.keyboard.type(tail)
    choice = page.locator("#hh-results label.choice").first
    expect(choice).to_be_visible()
    tap(choice)


def order_qty(page: Any, tap: Taps, product: str, qty: int) -> None:
    card = page.locator(".product", has=page.locator(".pname", has_text=product)).first
    tap(card.locator("input[name^=qty_]"))
    page.keyboard.type(str(qty))


def sign_out(page: Any) -> None:
    page.locator("header form[action='/signout'] button").tap()
    page.wait_for_url(re.compile(r"/signin"))


def test_second_order_for_the_day_offers_add_to_that_order(tablet: Any) -> None:
    page = tablet
    sign_in(page, "王姐", "2345")
    tap = Taps(page)
    page.goto("/orders/new")
    choose_household(page, tap, "7799")  # 孙志强
    order_qty(page, tap, "土豆", 2)
    expect(page.locator("input[name^=qty_]").first).to_have_value("2")
    tap("form.order-form button[type=submit]:not([name])")
    # 孙志强 has an order for that day already (the demo's): say so, do not save yet
    warning = page.locator("#open-orders")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("已经有")
    page.screenshot(path=SHOTS.format("open-order-landscape"))
    code = warning.locator("li.open-order b").first.inner_text()
    tap(warning.locator("button.add-to").first)
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+\?added=1$"))
    expect(page.locator("#saved")).to_contain_text("已加到这一单")
    expect(page.locator("#pickup-code")).to_have_text(code)  # the same order, not a new one
    expect(page.locator("table.items")).to_contain_text("土豆")
    # Next: another order. No weigh-and-hand-over for an order due another day.
    expect(page.locator("#another-order")).to_be_visible()
    day = page.locator(".facts b").first.inner_text()
    if day != date.today().isoformat():
        assert page.locator("#to-desk").count() == 0
    page.screenshot(path=SHOTS.format("added-landscape"))
    assert tap.n <= 7, tap.n

    # A separate order is still possible, as a decision, and then offers another order
    tap("#another-order")
    page.wait_for_url(re.compile(r"/orders/new$"))
    choose_household(page, tap, "7799")
    order_qty(page, tap, "黄瓜", 1)
    tap("form.order-form button[type=submit]:not([name])")
    expect(page.locator("#open-orders li.open-order")).to_have_count(1)
    tap("#separate")
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+\?new=1"))
    expect(page.locator("#pickup-code")).not_to_have_text(code)
    expect(page.locator("#another-order")).to_be_visible()
    # A third: both open orders are listed now
    tap("#another-order")
    choose_household(page, tap, "7799")
    order_qty(page, tap, "黄瓜", 1)
    tap("form.order-form button[type=submit]:not([name])")
    expect(page.locator("#open-orders li.open-order")).to_have_count(2)


def test_new_order_remembers_channel_and_steps_by_jin(tablet: Any) -> None:
    page = tablet
    sign_in(page, "小玮", "1234")
    page.goto("/orders/new")
    channels = page.locator("input[name=channel]")
    labels = page.locator(".segmented.channel label").all_inner_texts()
    assert any("12349" in t and "电话" in t for t in labels), labels
    assert any("家属" in t for t in labels), labels
    tap = Taps(page)
    choose_household(page, tap, "5432")  # 陈玉珍
    card = page.locator(".product", has=page.locator(".pname", has_text="土豆")).first
    box = card.locator("input[name^=qty_]")
    tap(card.locator("button.step[data-step='1']"))
    tap(card.locator("button.step[data-step='1']"))
    expect(box).to_have_value("2")  # 2 斤 in two taps
    tap(card.locator("button.step[data-step='0.5']"))
    expect(box).to_have_value("2.5")
    tap(card.locator("button.step[data-step='-1']"))
    expect(box).to_have_value("1.5")
    for button in card.locator("button.step").all():
        size = button.bounding_box()
        assert size is not None and size["width"] >= 48 and size["height"] >= 48, size
    for other in ("黄瓜", "西红柿", "鸡蛋", "大米"):  # a five-item order
        order_qty(page, tap, other, 1)
    for size in (TABLET_LANDSCAPE, TABLET_PORTRAIT):  # one screen, no page scrolling
        page.set_viewport_size(size)
        height = page.evaluate("() => document.documentElement.scrollHeight")
        assert height <= size["height"], (size, height)
        save = page.locator("form.order-form .save button").bounding_box()
        assert save is not None and save["y"] + save["height"] <= size["height"], (size, save)
    page.set_viewport_size(TABLET_LANDSCAPE)
    page.locator(".segmented.channel label", has_text="12349").tap()
    tap("form.order-form button[type=submit]:not([name])")
    expect(page.locator("#open-orders, #saved").first).to_be_visible()
    if page.locator("#open-orders").count():
        tap("#separate")
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+\?new=1"))
    page.goto("/orders/new")
    checked = channels.locator("xpath=self::*[@checked]")
    expect(checked).to_have_attribute("value", "hotline")  # what this staff member last used


@pytest.mark.parametrize("size", ["landscape", "portrait"])
def test_volunteer_calls_collects_and_marks_delivered(tablet: Any, size: str) -> None:
    page = tablet
    if size == "portrait":
        page.set_viewport_size(PORTRAIT)
    # The centre weighs a home-delivery bag before it goes out.
    sign_in(page, "王姐", "2345")
    page.goto("/lists/delivery")
    bag = page.locator(".bag-order").filter(has=page.locator("a[href^='/desk/']")).first
    expect(bag).to_be_visible()
    code = bag.locator("b.code").inner_text()
    bag.locator("a[href^='/desk/']").tap()
    page.wait_for_url(re.compile(r"/desk/[0-9A-Z]+$"))
    for field in page.locator("input[name^=w_]").all():
        field.fill("1.5")
    page.locator("#weighed-for-delivery").tap()
    page.wait_for_url(re.compile(r"/lists/delivery"))
    sign_out(page)

    sign_in(page, "小李", "3456")
    menu = page.locator("nav.nav a")
    hrefs = [a.get_attribute("href") for a in menu.all()]
    assert set(hrefs) == {"/lists/delivery", "/lists/packing"}, hrefs  # only a volunteer's pages
    tap = Taps(page)
    tap("nav.nav a[href='/lists/delivery']")
    page.wait_for_url(re.compile(r"/lists/delivery$"))
    card = page.locator("section.bag").filter(has=page.locator("b.code", has_text=code))
    call = card.locator("a.call")
    expect(call).to_be_visible()
    number = call.get_attribute("href") or ""
    assert re.fullmatch(r"tel:1\d{10}", number), number  # the whole number, to ring them
    order = card.locator(".bag-order").filter(has=page.locator("b.code", has_text=code))
    due = order.locator(".collect .due").inner_text()
    button = order.locator("button.delivered")
    expect(button).to_contain_text(due)  # one amount: the one shown is the one taken
    box = button.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 200, box
    page.screenshot(path=SHOTS.format(f"round-{size}"))
    tap(button)
    page.wait_for_url(re.compile(r"/lists/delivery\?day=.*&done="))
    expect(page.locator("#delivered-ok")).to_contain_text(code)
    expect(page.locator("#delivered-ok")).to_contain_text(f"已付 {due}")
    expect(page.locator(".bag-order b.code", has_text=code)).to_have_count(0)
    assert tap.n <= 2, tap.n

    # Another day's round: the numbers stay masked, nothing to call.
    later = (date.today() + timedelta(days=1)).isoformat()
    page.goto(f"/lists/delivery?day={later}")
    expect(page.locator("a.call")).to_have_count(0)
    for phone in page.locator("section.bag .phone").all_inner_texts():
        assert "****" in phone, phone


# Every page a tablet shows (the WeChat pages are checked with their own flow).
MANAGER_PAGES = (
    "/",
    "/orders/new",
    "/orders",
    "/orders/{order}",
    "/orders/{order}/cancel",
    "/desk",
    "/desk/{order}",
    "/walkin",
    "/lists/packing",
    "/lists/delivery",
    "/supply/order",
    "/supply/receiving",
    "/supply/returns",
    "/supply/reconciliation",
    "/catalog",
    "/calendar",
    "/close-day",
    "/care/roster",
    "/care/daycare",
    "/care/activities",
    "/care/elders",
    "/care/statement",
    "/poster",
    "/no-such-page",
)


@pytest.mark.parametrize("size", ["landscape", "portrait"])
def test_every_tablet_page_passes_axe_with_big_targets(tablet: Any, size: str) -> None:
    page = tablet
    page.set_viewport_size(TABLET_LANDSCAPE if size == "landscape" else TABLET_PORTRAIT)
    page.goto("/signin")
    assert_accessible(page, f"signin {size}")
    sign_in(page, "小玮", "1234")
    page.goto("/orders")
    order = (page.locator("a[href^='/orders/0']").first.get_attribute("href") or "").split("/")[-1]
    assert order, "the demo has orders today"
    for path in MANAGER_PAGES:
        page.goto(path.format(order=order))
        assert_accessible(page, f"{path} {size}")
    page.goto("/")
    sign_out(page)
    sign_in(page, "小李", "3456")  # the volunteer's round, with its call and delivered buttons
    page.goto("/lists/delivery")
    assert_accessible(page, f"volunteer delivery {size}")


def test_chinese_pages_speak_chinese_and_english_pages_english(tablet: Any) -> None:
    """No English words on the Chinese pages (the badge, errors, the cut-off); English
    pages carry Chinese only in what residents and the co-op named (data)."""
    page = tablet
    page.set_viewport_size(TABLET_PORTRAIT)
    sign_in(page, "小玮", "1234")
    for path in ("/", "/orders/new", "/supply/order", "/no-such-page", "/orders/NOPE"):
        page.goto(path)
        words = re.findall(r"[A-Za-z]{3,}", page.locator("body").inner_text())
        assert set(words) <= {"English"}, (path, words)
    page.goto("/supply/order")
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page.locator("body").inner_text())
    page.goto("/lang/en?next=/supply/reconciliation")
    page.wait_for_url(re.compile(r"/supply/reconciliation"))
    # The English reconciliation table fits the 800 px portrait screen.
    wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{wide} px too wide"
    page.goto("/lists/packing")
    assert "号楼" not in page.locator("main").inner_text()  # addresses in English words
    page.goto("/no-such-page")
    assert not re.search(r"[\u3400-\u9fff]", page.locator("body").inner_text())
