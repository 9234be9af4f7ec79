"""Paying later ("下次给"): less than the price is refused unless the hand-over says on credit.

On credit, what was given is the payment and `final_fen - paid_fen` is still
owed: on the answer, the desk's done page, the closed order at the desk and
the Today dashboard. Exact payment and change are as before.
"""

from __future__ import annotations

import re
from typing import Any

from centre_world import Centre, count
from page_forms import csrf, sign_in

MONDAY = "2026-11-30"


def _buns_and_oranges(c: Centre, who: str = "张桂兰") -> str:
    """1 bundle of 馒头 (5.00) and 2 橙子 (3.00): 8.00, nothing to weigh."""
    r = c.client.post(
        "/api/v1/orders",
        headers=c.headers(),
        json={
            "household_id": c.households[who],
            "channel": "wechat",
            "items": [
                {"product_id": c.products["馒头"], "quantity": 1, "unit": "份"},
                {"product_id": c.products["橙子"], "quantity": 2},
            ],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _pickup(c: Centre, order_id: str, **body: Any) -> Any:
    return c.client.post(
        f"/api/v1/orders/{order_id}/pickup",
        headers=c.headers(),
        json={"method": "cash", **body},
    )


def _dashboard(c: Centre) -> dict[str, Any]:
    r = c.client.get("/api/v1/dashboard", params={"day": MONDAY}, headers=c.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


def _changes(c: Centre) -> int:
    return count(c.db_path, "SELECT COUNT(*) FROM changes")


def test_underpayment_without_credit_is_refused_and_writes_nothing(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    before = _changes(c)
    for amount in (80, 0, 799):
        r = _pickup(c, order_id, amount_fen=amount)
        assert r.status_code == 400, r.text
        assert r.json()["field"] == "amount_fen" and "amount_fen" in r.json()["detail"]
        assert "on_credit" in r.json()["detail"]
    assert count(c.db_path, "SELECT COUNT(*) FROM payments") == 0
    assert count(c.db_path, "SELECT COUNT(*) FROM orders WHERE status = 'placed'") == 1
    assert count(c.db_path, "SELECT paid_fen FROM orders") == 0
    assert _changes(c) == before  # nothing went to the change log either


def test_refused_underpayment_keeps_weights_unwritten_too(centre: Centre) -> None:
    c = centre
    r = c.client.post(
        "/api/v1/orders",
        headers=c.headers(),
        json={
            "household_id": c.households["张桂兰"],
            "items": [{"product_id": c.products["土豆"], "quantity": 2, "unit": "斤"}],
        },
    )
    order = c.client.get(f"/api/v1/orders/{r.json()['id']}", headers=c.headers()).json()
    potato = order["items"][0]["id"]
    r = _pickup(
        c, order["id"], amount_fen=100, weights=[{"item_id": potato, "grams": 1000}]
    )  # 1000 g is 3.60
    assert r.status_code == 400 and r.json()["field"] == "amount_fen"
    assert count(c.db_path, "SELECT COUNT(*) FROM order_items WHERE actual_grams IS NULL") == 1
    assert count(c.db_path, "SELECT COUNT(*) FROM orders WHERE final_fen IS NULL") == 1


def test_on_credit_records_what_was_given_and_what_is_owed(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    r = _pickup(c, order_id, amount_fen=80, on_credit=True)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "picked_up",
        "final_fen": 800,
        "paid_fen": 80,
        "change_due_fen": 0,
        "owed_fen": 720,
        "replayed": False,
    }
    got = c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()
    assert (got["status"], got["final_fen"], got["paid_fen"]) == ("picked_up", 800, 80)
    assert [p["amount_fen"] for p in got["payments"]] == [80]
    # nothing at all given: all of it owed
    second = _buns_and_oranges(c, who="王秀英")
    r = _pickup(c, second, amount_fen=0, on_credit=True, delivered=True)
    assert r.status_code == 200 and r.json()["owed_fen"] == 800
    dash = _dashboard(c)
    assert dash["orders_takings_fen"] == 80  # takings are money taken
    assert dash["owed_fen"] == 720 + 800
    assert sorted((o["household_name"], o["owed_fen"]) for o in dash["owing"]) == [
        ("张桂兰", 720),
        ("王秀英", 800),
    ]
    # a retried hand-over changes nothing
    again = _pickup(c, order_id, amount_fen=80, on_credit=True)
    assert again.json()["replayed"] is True
    assert count(c.db_path, "SELECT COUNT(*) FROM payments") == 2
    assert _dashboard(c)["owed_fen"] == 1520


def test_exact_and_over_payment_are_as_before(centre: Centre) -> None:
    c = centre
    exact, over, flagged = (_buns_and_oranges(c) for _ in range(3))
    r = _pickup(c, exact, amount_fen=800)
    assert (r.json()["paid_fen"], r.json()["change_due_fen"], r.json()["owed_fen"]) == (800, 0, 0)
    r = _pickup(c, over, amount_fen=1000)
    assert (r.json()["paid_fen"], r.json()["change_due_fen"], r.json()["owed_fen"]) == (800, 200, 0)
    # the flag with enough money is harmless: change as usual, nothing owed
    r = _pickup(c, flagged, amount_fen=1000, on_credit=True)
    assert (r.json()["paid_fen"], r.json()["change_due_fen"], r.json()["owed_fen"]) == (800, 200, 0)
    dash = _dashboard(c)
    assert dash["orders_takings_fen"] == 2400 and dash["owed_fen"] == 0 and dash["owing"] == []


def test_credit_flag_is_documented_in_the_schema(centre: Centre) -> None:
    schema = centre.client.get("/schema/openapi.json").json()
    body = schema["components"]["schemas"]["PickupBody"]["properties"]
    assert body["on_credit"]["default"] is False
    assert "owed" in body["on_credit"]["description"]
    assert "on_credit" in body["amount_fen"]["description"]


def test_desk_page_refuses_underpayment_then_pay_later(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    assert sign_in(c.client, "staff").status_code == 303
    desk = c.client.get(f"/desk/{order_id}")
    assert 'id="pay-later"' in desk.text and "记账，下次付" in desk.text
    assert 'name="on_credit" value="1"' in desk.text
    token = csrf(c.client, f"/desk/{order_id}")
    form = {"_csrf_token": token, "method": "cash", "amount": "0.80", "shown_due": "800"}
    refused = c.client.post(f"/desk/{order_id}/complete", data=form)
    assert refused.status_code == 400
    assert "少于应付金额（¥8.00）" in refused.text and "还欠 ¥7.20" in refused.text
    assert 'value="0.80"' in refused.text  # what was typed stays in the box
    assert count(c.db_path, "SELECT COUNT(*) FROM payments") == 0

    # "Pay later" records what is in its own box (what was given now), not the amount box.
    later = {**form, "on_credit": "1", "given": "0.80"}
    done = c.client.post(f"/desk/{order_id}/complete", data=later)
    assert done.status_code == 200, done.text
    assert "已取货" in done.text
    assert re.search(r'id="owed">还欠 <b>¥7.20</b>', done.text)
    closed = c.client.get(f"/desk/{order_id}")
    assert re.search(r'id="owed">还欠 <b>¥7.20</b>', closed.text)
    detail = c.client.get(f"/orders/{order_id}")
    assert re.search(r'class="owed">还欠 <b>¥7.20</b>', detail.text)
    today = c.client.get("/", params={"day": MONDAY})
    assert re.search(r'id="tile-owed"><b>¥7.20</b>', today.text)
    assert re.search(r'id="tile-takings"><b>¥0.80</b>', today.text)
    assert f'href="/orders/{order_id}"' in today.text and "张桂兰" in today.text


def test_desk_page_exact_payment_shows_nothing_owed(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    sign_in(c.client, "staff")
    token = csrf(c.client, f"/desk/{order_id}")
    done = c.client.post(
        f"/desk/{order_id}/complete",
        data={"_csrf_token": token, "method": "cash", "amount": "10", "shown_due": "800"},
    )
    assert done.status_code == 200 and "¥2.00" in done.text and 'id="owed"' not in done.text
    today = c.client.get("/", params={"day": MONDAY})
    assert 'id="tile-owed"' not in today.text and 'id="owing"' not in today.text
    c.client.cookies.set("linli_lang", "en")
    english = c.client.get(f"/desk/{_buns_and_oranges(c, who='王秀英')}")
    assert "Pay later" in english.text


def _settle(c: Centre, order_id: str, **body: Any) -> Any:
    return c.client.post(
        f"/api/v1/orders/{order_id}/settle",
        json={"method": "cash", **body},
        headers=c.headers("staff"),
    )


def test_paying_what_is_owed_later(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    assert _pickup(c, order_id, amount_fen=80, on_credit=True).json()["owed_fen"] == 720
    part = _settle(c, order_id, amount_fen=500, owed_fen=720)
    assert part.status_code == 200, part.text
    assert part.json() == {"paid_fen": 580, "change_due_fen": 0, "owed_fen": 220}
    # the same tap again (a retry) still says 720: refused, nothing recorded twice
    retry = _settle(c, order_id, amount_fen=500, owed_fen=720)
    assert retry.status_code == 409 and "220" in retry.json()["detail"]
    rest = _settle(c, order_id, amount_fen=300, owed_fen=220)
    assert rest.json() == {"paid_fen": 800, "change_due_fen": 80, "owed_fen": 0}
    assert _dashboard(c)["owed_fen"] == 0 and _dashboard(c)["orders_takings_fen"] == 800
    assert count(c.db_path, "SELECT COUNT(*) FROM payments") == 3
    assert _settle(c, order_id, amount_fen=100, owed_fen=0).status_code == 409


def test_settling_needs_a_handed_over_order_and_a_real_amount(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    before = _changes(c)
    assert _settle(c, order_id, amount_fen=100, owed_fen=0).status_code == 409  # not handed over
    _pickup(c, order_id, amount_fen=0, on_credit=True)
    before = _changes(c)
    for body, field in (
        ({"amount_fen": 0, "owed_fen": 800}, "amount_fen"),
        ({"amount_fen": 100, "owed_fen": 800, "method": "iou"}, "method"),
        ({"amount_fen": -5, "owed_fen": 800}, "amount_fen"),
    ):
        r = _settle(c, order_id, **body)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
    assert _changes(c) == before


def test_order_page_takes_the_owed_payment(centre: Centre) -> None:
    c = centre
    order_id = _buns_and_oranges(c)
    _pickup(c, order_id, amount_fen=80, on_credit=True)
    sign_in(c.client, "staff")
    detail = c.client.get(f"/orders/{order_id}")
    assert 'id="settle"' in detail.text and 'name="owed_fen" value="720"' in detail.text
    token = csrf(c.client, f"/orders/{order_id}")
    form = {"_csrf_token": token, "method": "cash", "amount": "7.20", "owed_fen": "720"}
    done = c.client.post(f"/orders/{order_id}/settle", data=form, follow_redirects=False)
    assert done.status_code == 303
    again = c.client.post(f"/orders/{order_id}/settle", data=form)
    assert again.status_code == 409  # a double tap records nothing more
    page = c.client.get(f"/orders/{order_id}")
    assert 'id="settle"' not in page.text and 'class="owed"' not in page.text
    assert _dashboard(c)["owed_fen"] == 0
