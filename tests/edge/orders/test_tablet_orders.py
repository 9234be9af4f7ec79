"""The tablet's order form and the volunteer's round, through the real pages.

A second order for a household and day is a decision (as in the WeChat flow):
"add to that order" joins its lines, "a separate order" makes one only for the
orders staff were shown. The volunteer sees the whole phone number on the
delivery day only, and "delivered" takes the one amount the list showed.

Uses the `centre` fixture (clock fixed on Sunday 2026-11-29 10:00; new orders
are for Monday 2026-11-30).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from centre_world import Centre, count, order_body
from page_forms import csrf, sign_in

MONDAY = "2026-11-30"


def api_order(c: Centre, **over: Any) -> str:
    r = c.client.post("/api/v1/orders", json=order_body(c, **over), headers=c.headers("staff"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def form_order(c: Centre, **fields: str) -> Any:
    data = {
        "_csrf_token": csrf(c.client, "/orders/new"),
        "household_id": c.households["张桂兰"],
        f"qty_{c.products['土豆']}": "2",
        f"unit_{c.products['土豆']}": "斤",
        "channel": "hotline",
        **fields,
    }
    return c.client.post("/orders/new", data=data, follow_redirects=False)


def orders_of(c: Centre) -> int:
    return count(
        c.db_path, "SELECT COUNT(*) FROM orders WHERE household_id = ?", (c.households["张桂兰"],)
    )


def test_second_order_asks_then_adds_to_the_open_one(centre: Centre) -> None:
    first = api_order(centre)  # 土豆 5 斤, 橙子 6, 馒头 1 份 for Monday
    sign_in(centre.client, "staff")
    asked = form_order(centre)
    assert asked.status_code == 409, asked.text
    assert 'name="add_to"' in asked.text and 'value="' + first + '"' in asked.text
    assert orders_of(centre) == 1  # nothing saved yet
    before = centre.client.get(f"/api/v1/orders/{first}", headers=centre.headers()).json()

    seen = asked.text.split(f'name="seen_{first}" value="')[1].split('"')[0]
    added = form_order(centre, add_to=first, **{f"seen_{first}": seen})
    assert added.status_code == 303, added.text
    resent = form_order(centre, add_to=first, **{f"seen_{first}": seen})  # the same tap again
    assert resent.status_code == 409, resent.text  # added once, not twice
    assert "这一单在显示之后改过" in resent.text
    assert added.headers["location"] == f"/orders/{first}?added=1"
    assert orders_of(centre) == 1
    after = centre.client.get(f"/api/v1/orders/{first}", headers=centre.headers()).json()
    potato = [i for i in after["items"] if i["product_id"] == centre.products["土豆"]]
    assert len(potato) == 1 and len(after["items"]) == len(before["items"])  # one line, more
    assert potato[0]["quantity"] == 3500  # 5 斤 + 2 斤, in grams
    assert after["estimated_fen"] == before["estimated_fen"] + 360  # 2 斤 at ¥1.80

    page = centre.client.get(f"/orders/{first}?added=1")
    assert 'id="another-order"' in page.text
    assert 'id="to-desk"' not in page.text  # due Monday: no weighing on Sunday


def test_a_separate_order_only_for_the_orders_shown(centre: Centre) -> None:
    first = api_order(centre)
    sign_in(centre.client, "staff")
    made = form_order(centre, separate="1", ack=first)
    assert made.status_code == 303 and "?new=1" in made.headers["location"]
    assert orders_of(centre) == 2
    # The same form again, acknowledging only the first: the second is news, so it asks.
    again = form_order(centre, separate="1", ack=first)
    assert again.status_code == 409 and again.text.count('class="open-order"') == 2
    assert orders_of(centre) == 2


def test_a_packed_order_takes_no_more(centre: Centre) -> None:
    first = api_order(centre)
    moved = centre.client.post(
        f"/api/v1/orders/{first}/status", json={"status": "packed"}, headers=centre.headers()
    )
    assert moved.status_code == 200, moved.text
    sign_in(centre.client, "staff")
    asked = form_order(centre)
    assert asked.status_code == 409 and 'name="add_to"' not in asked.text
    refused = form_order(centre, add_to=first)
    assert refused.status_code == 409
    lines = count(centre.db_path, "SELECT COUNT(*) FROM order_items WHERE order_id = ?", (first,))
    assert lines == 3


def test_new_order_channel_follows_what_this_staff_member_last_used(centre: Centre) -> None:
    sign_in(centre.client, "staff")
    assert 'value="tablet" checked' in centre.client.get("/orders/new").text
    assert form_order(centre, channel="family").status_code == 303
    assert 'value="family" checked' in centre.client.get("/orders/new").text


def home_order(c: Centre) -> str:
    return api_order(
        c,
        household_id=c.households["王秀英"],
        items=[{"product_id": c.products["橙子"], "quantity": 4}],  # ¥1.50 each: ¥6.00
    )


def test_volunteer_rings_on_the_day_and_collects_the_shown_amount(centre: Centre) -> None:
    order = home_order(centre)
    sign_in(centre.client, "volunteer")
    sunday = centre.client.get(f"/lists/delivery?day={MONDAY}")
    assert "tel:" not in sunday.text and "158****9876" in sunday.text  # not the day yet
    assert "/lists/delivery/" not in sunday.text  # nothing to mark delivered before the day

    centre.clock.now = datetime(2026, 11, 30, 9, 0)  # Monday: the round
    monday = centre.client.get("/lists/delivery")
    assert 'href="tel:15863219876"' in monday.text
    assert "¥6.00" in monday.text
    token = csrf(centre.client, "/lists/delivery")
    stale = centre.client.post(
        f"/lists/delivery/{order}/delivered",
        data={"_csrf_token": token, "shown_due": "500", "method": "cash"},
        follow_redirects=False,
    )
    assert stale.status_code == 409  # the price moved since the list was drawn: ask again
    assert count(centre.db_path, "SELECT COUNT(*) FROM payments WHERE order_id = ?", (order,)) == 0
    done = centre.client.post(
        f"/lists/delivery/{order}/delivered",
        data={"_csrf_token": token, "shown_due": "600", "method": "wechat"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    got = centre.client.get(f"/api/v1/orders/{order}", headers=centre.headers()).json()
    assert got["status"] == "delivered" and got["paid_fen"] == 600
    assert got["payment_method"] == "wechat"
