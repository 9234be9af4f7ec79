"""The desk and the walk-in counter on a 10-inch tablet, in headless Chromium (touch).

Against a real `linli serve` on the demo centre (today's orders of eight households):
the counter morning in taps (search by phone tail, weigh, pay, next: at most 7), the one
live total, "pay later" recording 0 and showing the debt before saving, the undo of a
hand-over with a manager's PIN, and a walk-in sale with its total, change and the day's
list. Landscape 1280x800 and portrait 800x1280. Screenshots go to /tmp/linli-desk-*.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_fixtures import PORTRAIT, Taps, browser, live_server, sign_in, tablet
from playwright.sync_api import expect

__all__ = ["browser", "live_server", "tablet"]  # fixtures, imported on purpose

SHOTS = "/tmp/linli-desk-{}.png"


def open_by_tail(page: Any, tap: Taps, tail: str) -> None:
    page.goto("/desk")
    tap("#desk-q")
    page.keyboard.type(tail)
    row = page.locator("#desk-results a.row").first
    expect(row).to_be_visible()
    tap(row)
    page.wait_for_url(re.compile(r"/desk/[0-9A-Z]+$"))


def weigh_all(page: Any, jin: str, tap: Taps | None = None) -> int:
    """Type a weight in every box; returns the total the live quote answered (fen),
    once the page shows it everywhere."""
    fields = page.locator("input[name^=w_]").all()
    assert fields, "nothing to weigh"
    last = fields[-1].get_attribute("name")
    with page.expect_response(lambda r: "/quote" in r.url and f"{last}={jin}" in r.url) as got:
        for field in fields:
            if tap is not None:
                tap(field)
                page.keyboard.type(jin)
            else:
                field.fill(jin)
    found = re.search(r'id="shown-due" value="(\d+)"', got.value.text())
    assert found, got.value.text()
    total = int(found.group(1))
    shown = f"¥{total // 100}.{total % 100:02d}"
    expect(page.locator("#due")).to_have_text(shown)
    expect(page.locator("#handover-due")).to_have_text(shown)
    expect(page.locator("#shown-due")).to_have_value(str(total))
    return total


def yuan_to_fen(text: str) -> int:
    return round(float(text.replace("¥", "").strip()) * 100)


def assert_in_view(page: Any, selector: str) -> None:
    """Fully inside the viewport as the page stands (these pages are not scrolled)."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box, size)


def test_counter_morning_in_seven_taps_with_one_live_total(tablet: Any) -> None:
    page = tablet
    sign_in(page, "王姐", "2345")
    tap = Taps(page)
    open_by_tail(page, tap, "1234")  # 张桂兰: 韭菜 3 斤, 尖椒 1 斤, 白萝卜 1 斤
    assert page.locator("#desk-q").count() == 0
    expect(page.locator("#due")).to_have_text("¥16.00")
    assert_in_view(page, "#hand-over")  # the pay button without scrolling
    page.screenshot(path=SHOTS.format("order-landscape"))
    # No "work out the price" tap: the total follows the weights, the same everywhere.
    assert weigh_all(page, "1.3", tap) == 1170
    expect(page.locator("#due")).to_have_text("¥11.70")
    lines = [yuan_to_fen(t) for t in page.locator("[id^=line-]").all_inner_texts()]
    assert sum(lines) == 1170
    assert page.locator("#shown-due").get_attribute("value") == "1170"
    page.screenshot(path=SHOTS.format("weighed-landscape"))
    tap("#hand-over")
    expect(page.locator("#done")).to_contain_text("已取货")
    assert page.locator("#paid").inner_text() == "¥11.70"
    tap("#next-customer")
    page.wait_for_url(re.compile(r"/desk$"))
    assert tap.n <= 7, tap.n
    expect(page.locator("#desk-q")).to_be_focused()  # ready for the next resident


def test_cash_change_shows_before_saving_in_portrait(tablet: Any) -> None:
    page = tablet
    page.set_viewport_size(PORTRAIT)
    sign_in(page, "王姐", "2345")
    open_by_tail(page, Taps(page), "1122")  # 刘淑芬
    assert_in_view(page, "#hand-over")
    total = weigh_all(page, "2")
    page.locator("#amount").fill("500")  # the typo of 500: the change shows before saving
    expect(page.locator("#change-due")).to_have_text(f"¥{(50000 - total) / 100:.2f}")
    page.screenshot(path=SHOTS.format("change-portrait"))
    page.locator("#amount").fill(f"{total / 100:.2f}")
    expect(page.locator("#change-due")).to_have_text("¥0.00")
    page.tap("#hand-over")
    expect(page.locator("#done")).to_be_visible()
    assert page.locator("#paid").inner_text() == f"¥{total / 100:.2f}"
    assert page.locator("#owed").count() == 0


def test_pay_later_records_nothing_paid_and_shows_the_debt_first(tablet: Any) -> None:
    page = tablet
    sign_in(page, "王姐", "2345")
    open_by_tail(page, Taps(page), "5678")  # 李建国
    total = weigh_all(page, "1")
    due = f"¥{total / 100:.2f}"
    page.tap("#later summary")
    expect(page.locator("#given")).to_have_value("0")
    expect(page.locator("#later-owed")).to_contain_text(f"还欠 {due}")  # before saving
    assert_in_view(page, "#pay-later")
    page.screenshot(path=SHOTS.format("pay-later-landscape"))
    page.tap("#pay-later")
    expect(page.locator("#done")).to_be_visible()
    assert page.locator("#paid").inner_text() == "¥0.00"
    assert page.locator("#owed b").inner_text() == due


def test_undo_a_hand_over_with_the_managers_pin(tablet: Any) -> None:
    page = tablet
    sign_in(page, "王姐", "2345")
    page.goto("/")
    takings = yuan_to_fen(page.locator("#tile-takings b").inner_text())
    open_by_tail(page, Taps(page), "5432")  # 陈玉珍
    paid = weigh_all(page, "1")
    page.tap("#hand-over")
    expect(page.locator("#done")).to_be_visible()
    page.goto("/")
    assert yuan_to_fen(page.locator("#tile-takings b").inner_text()) == takings + paid
    page.go_back()
    page.tap("#undo-handover")
    expect(page.locator("#undo-back")).to_have_text(f"¥{paid / 100:.2f}")
    page.locator("label.choice", has_text="重量或金额输错了").tap()
    page.tap("#confirm-undo")  # no manager yet: refused, nothing written
    expect(page.locator(".alert.error")).to_contain_text("站长")
    page.locator("#manager-ok label.choice", has_text="小玮").tap()
    page.locator("#manager-pin").fill("1234")
    page.screenshot(path=SHOTS.format("undo-landscape"))
    page.tap("#confirm-undo")
    page.wait_for_url(re.compile(r"/desk/[0-9A-Z]+\?undone=1$"))
    expect(page.locator("#hand-over")).to_be_visible()  # open again, to weigh and pay
    page.goto("/")
    assert yuan_to_fen(page.locator("#tile-takings b").inner_text()) == takings
    expect(page.locator("#corrections")).to_contain_text("重量或金额输错了")
    expect(page.locator("#corrections")).to_contain_text("站长 小玮")


@pytest.mark.parametrize("viewport", [None, PORTRAIT], ids=["landscape", "portrait"])
def test_walkin_total_change_and_todays_list(tablet: Any, viewport: Any) -> None:
    page = tablet
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(page, "王姐", "2345")
    page.goto("/walkin")
    page.fill(".product-filter", "橙子")
    orange = page.locator(".product", has_text="橙子").first
    orange.locator("button[data-step='1']").tap()
    orange.locator("button[data-step='1']").tap()  # 2 × 1.50
    expect(page.locator("#walkin-due")).to_have_text("¥3.00")  # the total before saving
    page.locator("#walkin-given").fill("10")
    expect(page.locator("#walkin-change")).to_have_text("¥7.00")
    assert_in_view(page, "#record-sale")
    page.screenshot(path=SHOTS.format(f"walkin-{'portrait' if viewport else 'landscape'}"))
    before = page.locator("#walkin-today tbody tr").count()
    page.tap("#record-sale")
    expect(page.locator("#sold")).to_contain_text("¥3.00")
    expect(page.locator("#sold-change")).to_have_text("¥7.00")
    rows = page.locator("#walkin-today tbody tr")
    expect(rows).to_have_count(before + 1)
    expect(rows.first).to_contain_text("橙子 2 个")
