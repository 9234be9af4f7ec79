"""Money at the desk and the walk-in counter, through the real app and a real SQLite file.

One total, asked of the domain as weights are typed (nothing written); the hand-over
records that total or refuses saying the new one; "pay later" records what was given
(0 unless typed); the walk-in counter shows the total and change before saving and
lists the day's sales.
"""

from __future__ import annotations

import re

from centre_world import Centre, count, order_body
from page_forms import csrf, sign_in

MONDAY = "2026-11-30"
SUNDAY = "2026-11-29"  # the fixture's today: walk-in sales land here


def _order(c: Centre) -> str:
    """5 斤 土豆 (1.80/斤), 6 橙子 (1.50), 1 份 馒头 (5.00): 23.00 estimated."""
    r = c.client.post("/api/v1/orders", headers=c.headers(), json=order_body(c))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _potato_line(c: Centre, order_id: str) -> str:
    desk = c.client.get(f"/desk/{order_id}")
    found = re.search(r'name="w_([0-9A-Z]+)"', desk.text)
    assert found, desk.text
    return found.group(1)


def _changes(c: Centre) -> int:
    return count(c.db_path, "SELECT COUNT(*) FROM changes")


def test_the_quote_follows_the_weights_and_writes_nothing(centre: Centre) -> None:
    c = centre
    order_id = _order(c)
    sign_in(c.client, "staff")
    line = _potato_line(c, order_id)
    before = _changes(c)
    # 4.6 斤 = 2300 g at 1.80 = 8.28; total 8.28 + 9.00 + 5.00 = 22.28; 50 handed over
    r = c.client.get(
        f"/desk/{order_id}/quote",
        params={f"w_{line}": "4.6", "amount": "50"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "<html" not in r.text
    assert re.search(r'id="due">¥22.28<', r.text)
    assert re.search(r'id="shown-due" value="2228" hx-swap-oob="true"', r.text)
    assert re.search(r'id="change-due">¥27.72<', r.text)  # the change, before saving
    assert re.search(rf'id="line-{line}" hx-swap-oob="true">8.28<', r.text)
    assert re.search(r'id="later-owed"[^>]*>\s*还欠 <b>¥22.28</b>', r.text)
    assert _changes(c) == before  # a quote is written nowhere

    short = c.client.get(f"/desk/{order_id}/quote", params={f"w_{line}": "4.6", "amount": "20"})
    assert "还差 ¥2.28" in short.text
    later = c.client.get(f"/desk/{order_id}/quote", params={f"w_{line}": "4.6", "given": "5"})
    assert re.search(r'id="later-owed"[^>]*>\s*还欠 <b>¥17.28</b>', later.text)

    bad = c.client.get(f"/desk/{order_id}/quote", params={f"w_{line}": "abc"})
    assert bad.status_code == 400 and "斤" in bad.text  # says what to type, changes nothing
    assert _changes(c) == before


def test_the_desk_page_shows_one_total_and_no_separate_price_button(centre: Centre) -> None:
    c = centre
    order_id = _order(c)
    sign_in(c.client, "staff")
    desk = c.client.get(f"/desk/{order_id}")
    assert desk.text.count('id="due"') == 1
    assert re.search(r'id="due">¥23.00<', desk.text)
    assert re.search(r'id="handover-due"[^>]*>¥23.00<', desk.text)
    assert 'id="recompute"' not in desk.text and "算出价格" not in desk.text
    assert 'hx-get="/desk/' in desk.text and "/quote" in desk.text
    # the pay-later box starts at 0 and already says what will be owed
    assert re.search(r'name="given" id="given" value="0"', desk.text)
    assert re.search(r'id="later-owed"[^>]*>\s*还欠 <b>¥23.00</b>', desk.text)


def test_pay_later_without_typing_records_nothing_paid(centre: Centre) -> None:
    """The bug: tapping 记账 saved the full price as paid. Now it records 0 and owes all."""
    c = centre
    order_id = _order(c)
    sign_in(c.client, "staff")
    line = _potato_line(c, order_id)
    token = csrf(c.client, f"/desk/{order_id}")
    form = {
        "_csrf_token": token,
        "method": "cash",
        "amount": "",  # the hand-over box, untouched
        "given": "",  # the pay-later box, emptied
        "shown_due": "2228",
        f"w_{line}": "4.6",
        "on_credit": "1",
    }
    done = c.client.post(f"/desk/{order_id}/complete", data=form)
    assert done.status_code == 200, done.text
    assert re.search(r'id="paid">¥0.00<', done.text)
    assert re.search(r'id="owed">还欠 <b>¥22.28</b>', done.text)
    assert count(c.db_path, "SELECT SUM(amount_fen) FROM payments") == 0
    assert count(c.db_path, "SELECT paid_fen FROM orders WHERE id = ?", (order_id,)) == 0
    dash = c.client.get("/api/v1/dashboard", params={"day": MONDAY}, headers=c.headers()).json()
    assert dash["takings_fen"] == 0 and dash["owed_fen"] == 2228


def test_pay_later_records_what_was_given(centre: Centre) -> None:
    c = centre
    order_id = _order(c)
    sign_in(c.client, "staff")
    line = _potato_line(c, order_id)
    token = csrf(c.client, f"/desk/{order_id}")
    done = c.client.post(
        f"/desk/{order_id}/complete",
        data={
            "_csrf_token": token,
            "method": "wechat",
            "amount": "22.28",  # ignored: "pay later" takes its own box
            "given": "10",
            "shown_due": "2228",
            f"w_{line}": "4.6",
            "on_credit": "1",
        },
    )
    assert done.status_code == 200, done.text
    assert re.search(r'id="owed">还欠 <b>¥12.28</b>', done.text)
    assert count(c.db_path, "SELECT SUM(amount_fen) FROM payments") == 1000


def test_empty_amount_is_the_exact_total_shown(centre: Centre) -> None:
    c = centre
    order_id = _order(c)
    sign_in(c.client, "staff")
    line = _potato_line(c, order_id)
    token = csrf(c.client, f"/desk/{order_id}")
    base = {"_csrf_token": token, "method": "cash", "amount": "", f"w_{line}": "4.6"}
    # The page showed 23.00 (before the weight was typed): refused, nothing written,
    # and the new total said, not silently taken.
    before = _changes(c)
    stale = c.client.post(f"/desk/{order_id}/complete", data={**base, "shown_due": "2300"})
    assert stale.status_code == 409
    assert "价格现在是 ¥22.28，不是刚才显示的 ¥23.00" in stale.text
    assert re.search(r'id="due">¥22.28<', stale.text)
    assert _changes(c) == before
    done = c.client.post(f"/desk/{order_id}/complete", data={**base, "shown_due": "2228"})
    assert done.status_code == 200 and re.search(r'id="paid">¥22.28<', done.text)
    assert 'id="owed"' not in done.text


def test_walkin_total_and_change_before_saving_and_the_days_list(centre: Centre) -> None:
    c = centre
    sign_in(c.client, "staff")
    orange, potato = c.products["橙子"], c.products["土豆"]
    quote = c.client.get(
        "/walkin/quote",
        params={f"qty_{orange}": "3", f"qty_{potato}": "2", f"unit_{potato}": "斤", "given": "20"},
        headers={"HX-Request": "true"},
    )
    # 3 × 1.50 + 2 斤 × 1.80 = 8.10; 20 handed over: 11.90 change
    assert quote.status_code == 200
    assert re.search(r'id="walkin-due">¥8.10<', quote.text)
    assert re.search(r'id="walkin-change">¥11.90<', quote.text)
    assert count(c.db_path, "SELECT COUNT(*) FROM walkin_sales") == 0
    short = c.client.get("/walkin/quote", params={f"qty_{orange}": "3", "given": "4"})
    assert "还差 ¥0.50" in short.text

    token = csrf(c.client, "/walkin")
    form = {"_csrf_token": token, "token": "sale-1", "method": "cash", f"qty_{orange}": "3"}
    refused = c.client.post("/walkin", data={**form, "given": "4"})
    assert refused.status_code == 400 and count(c.db_path, "SELECT COUNT(*) FROM walkin_sales") == 0
    sold = c.client.post("/walkin", data={**form, "given": "10"})
    assert sold.status_code == 200
    assert re.search(r'id="sold-change">¥5.50<', sold.text)
    listed = c.client.get("/walkin")
    assert re.search(
        r'id="walkin-today">\s*<h2>今天的散客销售 <span class="day">¥4.50</span>', listed.text
    )
    assert "橙子 3 个" in listed.text and 'href="/undo/sale/' in listed.text


def test_search_boxes_open_the_number_pad_and_a_name_still_finds(centre: Centre) -> None:
    c = centre
    _order(c)
    sign_in(c.client, "staff")
    page = c.client.get("/desk", params={"day": MONDAY})
    assert re.search(r'name="q"[^>]*inputmode="numeric"', page.text)
    by_name = c.client.get("/desk", params={"day": MONDAY, "name": "张桂"})
    assert "张桂兰" in by_name.text and 'href="/desk/' in by_name.text
    by_tail = c.client.get("/desk", params={"day": MONDAY, "q": "1234"})
    assert 'href="/desk/' in by_tail.text


def test_order_json_carries_allocation_and_short_flag(centre: Centre) -> None:
    c = centre
    order_id = _order(c)
    body = c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()
    assert all("allocated_qty" in i and i["short"] is False for i in body["items"])
    assert body["payments"] == []


def test_packing_keeps_its_place_and_json_carries_the_allocation(centre: Centre) -> None:
    c = centre
    order_id = _order(c)
    sign_in(c.client, "staff")
    page = c.client.get("/lists/packing", params={"day": MONDAY})
    assert f'id="order-{order_id}"' in page.text
    assert f'hx-select="#order-{order_id}"' in page.text  # htmx swaps just this bag
    token = csrf(c.client, "/lists/packing")
    r = c.client.post(
        f"/orders/{order_id}/packed",
        data={"_csrf_token": token, "back": f"/lists/packing?day={MONDAY}"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/lists/packing?day={MONDAY}#order-{order_id}"
    evil = c.client.post(
        f"/orders/{order_id}/packed",
        data={"_csrf_token": token, "back": "/lists/packing//evil.example"},
        follow_redirects=False,
    )
    assert not evil.headers["location"].startswith("//")
    body = c.client.get("/api/v1/packing-list", params={"day": MONDAY}, headers=c.headers()).json()
    items = body["orders"][0]["items"]
    assert all("allocated_qty" in i and i["short"] is False for i in items)


def test_an_address_is_stored_and_shown_as_typed(centre: Centre) -> None:
    c = centre
    r = c.client.post(
        "/api/v1/orders",
        headers=c.headers(),
        json={
            **order_body(c),
            "household_id": None,
            "household": {
                "name": "孙阿姨",
                "phone": "13900001111",
                "building": "翠湖苑10号楼",
                "unit": "2单元",
                "room": "301",
            },
        },
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    assert count(c.db_path, "SELECT COUNT(*) FROM households WHERE building = '翠湖苑10号楼'") == 1
    sign_in(c.client, "staff")
    desk = c.client.get(f"/desk/{order_id}")
    assert "翠湖苑10号楼2单元301" in desk.text and "号楼号楼" not in desk.text
    plain = c.client.get(f"/desk/{_order(c)}")
    assert "3号楼1单元201" in plain.text  # a bare number still gets its word
