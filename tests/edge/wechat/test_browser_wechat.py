"""The WeChat preview on a 10-inch tablet, in headless Chromium (touch), against a real
`linli serve` on the demo centre: rows say in words how sure the reading is, the chat's own
header lines are never "not understood", and an unknown WeChat name links to a suggested
household in one tap. Screenshots go to /tmp/linli-wechat-*.png."""

from __future__ import annotations

import re
from typing import Any

from browser_fixtures import browser, live_server, tablet
from playwright.sync_api import expect

__all__ = ["browser", "live_server", "tablet"]  # fixtures, imported on purpose

SHOTS = "/tmp/linli-wechat-{}.png"


def sign_in(page: Any, name: str, pin: str) -> None:
    page.goto("/signin")
    page.locator(".staff-pick label.choice", has_text=name).tap()
    for digit in pin:
        page.tap(f".keypad button[data-key='{digit}']")
    page.tap("form.signin button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def test_an_unknown_name_links_in_one_tap_and_headers_are_not_content(tablet: Any) -> None:
    page = tablet
    sign_in(page, "小玮", "1234")
    page.goto("/wechat")
    page.fill("#paste-text", "老赵 下午 6:05\n5号楼的，鸡蛋两斤，再要点香菜")
    page.tap("#parse")
    page.wait_for_url(re.compile(r"/wechat/preview"))
    card = page.locator("section.wx-card[data-sender='老赵']")
    expect(card).to_be_visible()
    # The header line is who spoke and when: not an item, not "not understood".
    expect(card.locator(".wx-unparsed")).to_have_count(0)
    expect(card.locator("mark.bad")).to_have_count(0)
    # Plain words, never "把握 100%".
    expect(card.locator(".wx-conf", has_text="写得清楚")).to_have_count(1)
    expect(card.locator(".wx-conf", has_text="是猜的")).to_have_count(1)
    expect(card).not_to_contain_text("把握")
    suggestion = card.locator("button.wx-suggestion", has_text="赵德明")
    expect(suggestion).to_be_visible()
    box = suggestion.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 48
    page.screenshot(path=SHOTS.format("suggest"))
    suggestion.tap()  # the one tap
    card = page.locator("section.wx-card[data-sender='老赵']")
    expect(card.locator(".wx-linked")).to_contain_text("赵德明")
    expect(card.locator("b.wx-household")).to_have_text("赵德明")
    page.screenshot(path=SHOTS.format("linked"))
