"""The co-op pages open on the right day and say it large (issue 12, item 3).

From the order sheet (about the next delivery), 收货 / 退货 / 对账 open on today's
delivery, not the order sheet's day; on a day without delivery, on the last one.
"""

from __future__ import annotations

import re

from centre_world import Centre
from page_forms import sign_in


def _day_head(text: str) -> str:
    found = re.search(r'id="supply-day">(.*?)</p>', text, re.S)
    assert found, text
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_tabs_from_the_order_sheet_open_todays_delivery(centre: Centre) -> None:
    c = centre
    c.clock.now = c.clock.now.replace(day=30, hour=8)  # Monday 08:00, a delivery day
    sign_in(c.client, "manager")
    sheet = c.client.get("/supply/order")
    assert _day_head(sheet.text) == "2026-12-02 周三"  # the next delivery, two days on
    # the tabs carry no day of the order sheet: each opens on its own default
    assert 'href="/supply/receiving"' in sheet.text and "receiving?day=2026-12-02" not in sheet.text
    for tab in ("receiving", "returns", "reconciliation"):
        page = c.client.get(f"/supply/{tab}")
        assert page.status_code == 200, page.text
        assert _day_head(page.text) == "2026-11-30 周一 · 今天", tab
        assert f'href="/supply/{tab}?day=2026-11-30"' in page.text  # tabs keep the day


def test_on_a_day_without_delivery_they_open_the_last_one(centre: Centre) -> None:
    c = centre  # Sunday: the last delivery was Friday 2026-11-27
    sign_in(c.client, "manager")
    page = c.client.get("/supply/receiving")
    assert _day_head(page.text) == "2026-11-27 周五"
    asked = c.client.get("/supply/returns", params={"day": "2026-11-28"})
    assert _day_head(asked.text) == "2026-11-28 周六 · 昨天"
    bad = c.client.get("/supply/reconciliation", params={"day": "2026-13-01"})
    assert bad.status_code == 400 and "2026-13-01" not in _day_head(page.text)
