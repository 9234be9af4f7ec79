"""A delivery day on a tablet, in headless Chromium against a real `linli serve`.

Signs in, takes an order (a new resident, a by-weight item and a piece item),
packs it, weighs and takes payment at the desk, and checks the Today page.
Screenshots go to /tmp/linli-*.png for a person to look at.
"""

from __future__ import annotations

import re
from typing import Any

from browser_fixtures import browser, live_server, tablet
from playwright.sync_api import expect

__all__ = ["browser", "live_server", "tablet"]  # fixtures, imported on purpose

SHOTS = "/tmp/linli-{}.png"


def sign_in(page: Any, name: str, pin: str) -> None:
    page.goto("/")
    page.wait_for_url(re.compile(r"/signin"))
    page.locator(".staff-pick label.choice", has_text=name).tap()  # tap your name, then the PIN
    for digit in pin:  # the on-screen keypad, as a 50-year-old thumb would
        page.click(f".keypad button[data-key='{digit}']")
    page.screenshot(path=SHOTS.format("signin"))
    page.click("form.signin button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def test_a_delivery_day_on_a_tablet(tablet: Any) -> None:
    page = tablet
    sign_in(page, "小玮", "1234")
    assert page.locator("#tile-takings").is_visible()
    page.screenshot(path=SHOTS.format("today-before"))

    # --- take an order for a new resident --------------------------------
    page.click("nav >> text=新订单")
    page.wait_for_url(re.compile(r"/orders/new"))
    assert "这个订单在" in page.locator("#for-day").inner_text()
    if not page.locator("details.newhh").get_attribute("open") is not None:
        page.click("details.newhh summary")
    page.fill("input[name=hh_name]", "测试居民")
    page.fill("input[name=hh_phone]", "13700001234")
    page.fill("input[name=hh_building]", "2")
    page.fill("input[name=hh_unit]", "1")
    page.fill("input[name=hh_room]", "301")
    potato = page.locator(".product", has_text="土豆").first
    potato.locator("button[data-step='1']").click()
    potato.locator("button[data-step='1']").click()  # 2 × 1 斤 = 2 斤
    assert potato.locator("input[name^=qty_]").input_value() == "2"
    page.fill(".product-filter", "橙")
    orange = page.locator(".product", has_text="橙子").first
    orange.locator("input[name^=qty_]").fill("6")
    page.fill(".product-filter", "")
    page.screenshot(path=SHOTS.format("order-form"), full_page=False)
    page.click("button:has-text('保存订单')")
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+\?new=1"))
    code = page.locator("#pickup-code").inner_text().strip()
    assert re.fullmatch(r"\d{4}", code)
    assert page.locator(".qr svg").is_visible()
    assert "测试居民" in page.content()
    day = re.search(r"<b>(\d{4}-\d{2}-\d{2})</b>", page.content()).group(1)  # type: ignore[union-attr]
    page.screenshot(path=SHOTS.format("order"))

    # --- pack it -----------------------------------------------------------
    page.click("#mark-packed")
    page.wait_for_selector(".status.s-packed")

    # --- the desk: find by code, weigh, pay, hand over ----------------------
    page.click("nav >> text=取货台")
    page.wait_for_url(re.compile(r"/desk"))
    page.goto(f"/desk?day={day}")
    page.fill("input[name=q]", code)
    page.locator("#desk-results a.row", has_text=code).click()  # htmx filled the results
    page.wait_for_url(re.compile(r"/desk/[0-9A-Z]+$"))
    assert page.locator("#due").inner_text() == "¥12.60"  # 2 斤 × 1.80 + 6 × 1.50
    page.locator("input[name^=w_]").fill("2.3")
    # The total follows the weight as it is typed (no separate tap). The page's CSP
    # allows no eval: wait with a locator, not a JavaScript string.
    expect(page.locator("#due")).to_have_text("¥13.14")
    expect(page.locator("#handover-due")).to_have_text("¥13.14")
    assert page.locator("#delta").inner_text() == "+0.54"
    assert page.locator("#amount").input_value() == ""  # empty: exactly the total
    page.click(".segmented >> text=微信")
    page.screenshot(path=SHOTS.format("desk"))
    page.click("#hand-over")
    page.wait_for_selector("#done")
    assert "已取货" in page.locator("#done").inner_text()
    page.screenshot(path=SHOTS.format("done"))

    # --- Today shows it picked up, with the takings -------------------------
    page.goto(f"/?day={day}")
    assert page.locator("#tile-picked b").inner_text() == "1"
    assert page.locator("#tile-takings b").inner_text() == "¥13.14"
    page.screenshot(path=SHOTS.format("today"))


def test_portrait_lists_and_english(tablet: Any) -> None:
    page = tablet
    page.set_viewport_size({"width": 800, "height": 1280})
    sign_in(page, "小李", "3456")  # a volunteer: today's round shows numbers to call
    page.click("nav >> text=送货单")
    page.wait_for_url(re.compile(r"/lists/delivery"))
    text = page.locator("main").inner_text()
    # The demo always orders for today, home delivery for 王秀英, 赵德明 and 周凤兰
    # (edge/demo.py): on the delivery day the volunteer can call each of them.
    assert "没有送货上门" not in text
    for whole in ("15863219876", "13012348765", "13589012345"):
        assert whole in text, whole
    page.screenshot(path=SHOTS.format("delivery-portrait"), full_page=True)
    page.click("text=English")
    page.wait_for_selector("nav >> text=Delivery list")
    page.click("nav >> text=Packing list")
    page.screenshot(path=SHOTS.format("packing-en"), full_page=False)
    page.emulate_media(media="print")
    assert not page.locator("nav").is_visible()
