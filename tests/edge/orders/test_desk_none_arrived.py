"""A line of which nothing arrived: the desk hands the order over without weighing it, at 0 fen.

Receiving shares a shortage out; an item whose share is 0 (`allocated_qty = 0`)
must not hold up the hand-over nor be charged, through the API or the page.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import Any

from centre_world import Centre, count
from page_forms import csrf, sign_in

MONDAY = "2026-11-30"


def _place(c: Centre, items: list[dict[str, Any]]) -> str:
    r = c.client.post(
        "/api/v1/orders",
        headers=c.headers(),
        json={"household_id": c.households["张桂兰"], "channel": "wechat", "items": items},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _van_brings(c: Centre, lines: list[dict[str, Any]]) -> None:
    c.clock.now = datetime(2026, 11, 30, 6, 0)  # Monday 06:00
    r = c.client.post(
        "/api/v1/receiving", headers=c.headers(), json={"delivery_date": MONDAY, "lines": lines}
    )
    assert r.status_code == 200, r.text


def _no_potatoes_order(c: Centre) -> str:
    """5 斤 土豆 (none came), 4 青椒 by the piece (none came), 1 bundle of 馒头 (came)."""
    order_id = _place(
        c,
        [
            {"product_id": c.products["土豆"], "quantity": 5, "unit": "斤"},
            {"product_id": c.products["青椒"], "quantity": 4, "unit": "个"},
            {"product_id": c.products["馒头"], "quantity": 1, "unit": "份"},
        ],
    )
    _van_brings(
        c,
        [
            {"product_id": c.products["土豆"], "qty_unit": "g", "arrived": 0},
            {"product_id": c.products["青椒"], "qty_unit": "piece", "arrived": 0},
            {"product_id": c.products["馒头"], "qty_unit": "bundle", "arrived": 1},
        ],
    )
    return order_id


def _items(c: Centre, order_id: str) -> dict[str, tuple[Any, ...]]:
    conn = sqlite3.connect(c.db_path)
    try:
        return {
            r[0]: tuple(r[1:])
            for r in conn.execute(
                "SELECT product_name, allocated_qty, actual_grams, final_fen FROM order_items"
                " WHERE order_id = ?",
                (order_id,),
            )
        }
    finally:
        conn.close()


def test_nothing_arrived_needs_no_weight_and_costs_nothing(centre: Centre) -> None:
    c = centre
    order_id = _no_potatoes_order(c)
    assert _items(c, order_id)["土豆"][0] == 0 and _items(c, order_id)["青椒"][0] == 0
    r = c.client.post(
        f"/api/v1/orders/{order_id}/pickup",
        headers=c.headers(),
        json={"method": "cash", "amount_fen": 1000},
    )
    assert r.status_code == 200, r.text
    # only the buns are paid for: 5.00 of a 10.00 note, 5.00 back
    assert r.json() == {
        "status": "picked_up",
        "final_fen": 500,
        "paid_fen": 500,
        "change_due_fen": 500,
        "owed_fen": 0,
        "replayed": False,
    }
    items = _items(c, order_id)
    assert items["土豆"] == (0, None, 0) and items["青椒"] == (0, None, 0)
    assert items["馒头"] == (None, None, None)  # priced by its estimate, as before
    dash = c.client.get("/api/v1/dashboard", params={"day": MONDAY}, headers=c.headers()).json()
    assert dash["orders_takings_fen"] == 500 and dash["owed_fen"] == 0
    # the day's reconciliation takes the same 5.00: nothing sold of what never came
    rec = c.client.get(
        "/api/v1/reconciliation", params={"delivery_date": MONDAY}, headers=c.headers()
    )
    assert rec.status_code == 200, rec.text
    assert rec.json()["totals"]["takings_fen"] == 500


def test_part_of_a_shortage_still_has_to_be_weighed(centre: Centre) -> None:
    c = centre
    order_id = _place(c, [{"product_id": c.products["土豆"], "quantity": 5, "unit": "斤"}])
    _van_brings(c, [{"product_id": c.products["土豆"], "qty_unit": "g", "arrived": 1500}])
    r = c.client.post(
        f"/api/v1/orders/{order_id}/pickup",
        headers=c.headers(),
        json={"method": "cash", "amount_fen": 1000},
    )
    assert r.status_code == 400 and "土豆" in r.json()["detail"]
    assert r.json()["field"] == "weights"


def test_weighing_zero_grams_is_still_refused(centre: Centre) -> None:
    c = centre
    order_id = _no_potatoes_order(c)
    potato = next(
        i["id"]
        for i in c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()["items"]
        if i["product_name"] == "土豆"
    )
    r = c.client.post(
        f"/api/v1/orders/{order_id}/weights",
        headers=c.headers(),
        json={"weights": [{"item_id": potato, "grams": 0}]},
    )
    assert r.status_code == 400  # no need: the line is not weighed at all


def test_desk_page_says_none_arrived_and_hands_over(centre: Centre) -> None:
    c = centre
    order_id = _no_potatoes_order(c)
    assert sign_in(c.client, "staff").status_code == 303
    desk = c.client.get(f"/desk/{order_id}")
    assert desk.status_code == 200
    assert desk.text.count("没到货") == 2  # 土豆 and 青椒
    assert "土豆: 5斤 → 0斤" in desk.text  # the shortage note, as before
    assert not re.search(r'name="w_', desk.text)  # nothing to weigh
    assert 'id="recompute"' not in desk.text and "还没称" not in desk.text
    assert re.search(r'id="due">¥5.00<', desk.text)
    token = csrf(c.client, f"/desk/{order_id}")
    done = c.client.post(
        f"/desk/{order_id}/complete",
        data={"_csrf_token": token, "method": "cash", "amount": "10", "shown_due": "500"},
    )
    assert done.status_code == 200, done.text
    assert "已取货" in done.text and "¥5.00" in done.text  # price and change
    assert "还欠" not in done.text
    assert count(c.db_path, "SELECT SUM(amount_fen) FROM payments") == 500
    closed = c.client.get(f"/desk/{order_id}")
    assert closed.text.count("没到货") == 2 and "还欠" not in closed.text
