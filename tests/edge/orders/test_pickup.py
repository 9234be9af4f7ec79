"""The pickup desk, walk-in sales, lists and the dashboard, through the real API."""

from __future__ import annotations

from centre_world import Centre, count, order_body

MONDAY = "2026-11-30"


def _order(centre: Centre, **over: object) -> dict:
    r = centre.client.post(
        "/api/v1/orders", json=order_body(centre, **over), headers=centre.headers()
    )
    assert r.status_code == 201, r.text
    return centre.client.get(f"/api/v1/orders/{r.json()['id']}", headers=centre.headers()).json()


def test_weighing_recomputes_the_final_price(centre: Centre) -> None:
    order = _order(centre)
    potato = next(i for i in order["items"] if i["product_name"] == "土豆")
    r = centre.client.post(
        f"/api/v1/orders/{order['id']}/weights",
        json={"weights": [{"item_id": potato["id"], "grams": 2630}]},
        headers=centre.headers(),
    )
    assert r.status_code == 200, r.text
    weighed = r.json()
    item = next(i for i in weighed["items"] if i["id"] == potato["id"])
    # 2630 g at 180 fen per 斤 = 946.8 -> 947 fen (half up, integer arithmetic)
    assert item["actual_grams"] == 2630 and item["final_fen"] == 947
    assert weighed["final_fen"] == 947 + 900 + 500
    assert weighed["estimated_fen"] == 900 + 900 + 500  # the estimate stays visible


def test_pickup_needs_every_weight_then_records_payment(centre: Centre) -> None:
    order = _order(centre)
    url = f"/api/v1/orders/{order['id']}/pickup"
    r = centre.client.post(
        url, json={"method": "cash", "amount_fen": 2300}, headers=centre.headers()
    )
    assert r.status_code == 400 and "土豆" in r.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM payments") == 0
    potato = next(i for i in order["items"] if i["product_name"] == "土豆")
    r = centre.client.post(
        url,
        json={
            "method": "wechat",
            "amount_fen": 2300,
            "weights": [{"item_id": potato["id"], "grams": 2500}],
        },
        headers=centre.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "picked_up",
        "final_fen": 2300,
        "paid_fen": 2300,
        "change_due_fen": 0,
        "owed_fen": 0,
        "replayed": False,
    }
    again = centre.client.post(
        url, json={"method": "wechat", "amount_fen": 2300}, headers=centre.headers()
    )
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert count(centre.db_path, "SELECT COUNT(*) FROM payments") == 1


def test_weight_item_ordered_in_pieces_is_weighed_at_the_desk(centre: Centre) -> None:
    order = _order(
        centre, items=[{"product_id": centre.products["青椒"], "quantity": 4, "unit": "个"}]
    )
    item = order["items"][0]
    assert (item["qty_unit"], item["quantity"], item["estimated_fen"]) == ("piece", 4, None)
    r = centre.client.post(
        f"/api/v1/orders/{order['id']}/pickup",
        json={
            "method": "cash",
            "amount_fen": 300,
            "weights": [{"item_id": item["id"], "grams": 420}],
        },
        headers=centre.headers(),
    )
    assert r.status_code == 200 and r.json()["final_fen"] == 294  # 420 g at 3.50/斤


def test_home_delivery_marks_delivered(centre: Centre) -> None:
    order = _order(
        centre,
        household_id=centre.households["王秀英"],
        items=[{"product_id": centre.products["橙子"], "quantity": 2}],
    )
    assert order["delivery_mode"] == "home"
    r = centre.client.post(
        f"/api/v1/orders/{order['id']}/pickup",
        json={"method": "cash", "amount_fen": 300, "delivered": True},
        headers=centre.headers(),
    )
    assert r.json()["status"] == "delivered"


def test_close_of_day_marks_no_shows_but_not_home_deliveries(centre: Centre) -> None:
    waiting = _order(centre)
    home = _order(centre, household_id=centre.households["王秀英"])
    centre.clock.now = centre.clock.now.replace(day=30, hour=12)  # Monday noon
    r = centre.client.post("/api/v1/close-day", json={"day": MONDAY}, headers=centre.headers())
    assert r.json()["no_show"] == 1
    status = lambda o: centre.client.get(
        f"/api/v1/orders/{o['id']}", headers=centre.headers()
    ).json()["status"]
    assert status(waiting) == "no_show" and status(home) == "placed"


def test_walkin_sale_prices_weighed_goods_and_counts_in_takings(centre: Centre) -> None:
    centre.clock.now = centre.clock.now.replace(day=30, hour=8)
    r = centre.client.post(
        "/api/v1/walkin",
        json={
            "method": "cash",
            "lines": [
                {"product_id": centre.products["黄瓜"], "quantity": 750, "unit": "g"},
                {"product_id": centre.products["豆腐"], "quantity": 2},
            ],
        },
        headers=centre.headers(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["total_fen"] == 450 + 500
    bad = centre.client.post(
        "/api/v1/walkin",
        json={
            "method": "cash",
            "lines": [{"product_id": centre.products["黄瓜"], "quantity": 2, "unit": "个"}],
        },
        headers=centre.headers(),
    )
    assert bad.status_code == 400 and bad.json()["field"] == "lines[0].unit"
    dash = centre.client.get("/api/v1/dashboard", headers=centre.headers()).json()
    assert dash["walkin_takings_fen"] == 950 and dash["takings_fen"] == 950


def test_dashboard_counts_the_day(centre: Centre) -> None:
    a, b, c = _order(centre), _order(centre), _order(centre)
    centre.client.post(
        f"/api/v1/orders/{a['id']}/status", json={"status": "packed"}, headers=centre.headers()
    )
    centre.client.post(
        f"/api/v1/orders/{b['id']}/pickup",
        json={
            "method": "cash",
            "amount_fen": 2400,
            "weights": [
                {
                    "item_id": next(i["id"] for i in b["items"] if i["sold_by"] == "weight"),
                    "grams": 2600,
                }
            ],
        },
        headers=centre.headers(),
    )
    centre.client.post(f"/api/v1/orders/{c['id']}/cancel", headers=centre.headers())
    dash = centre.client.get(
        "/api/v1/dashboard", params={"day": MONDAY}, headers=centre.headers()
    ).json()
    assert (
        dash["orders"],
        dash["packed"],
        dash["picked_up"],
        dash["cancelled"],
        dash["waiting"],
    ) == (3, 1, 1, 1, 1)
    assert dash["orders_takings_fen"] == 936 + 900 + 500  # the price: 2600 g 土豆 is 936


def test_packing_list_sorted_by_building_and_phones_masked_for_volunteers(centre: Centre) -> None:
    _order(centre, household_id=centre.households["王秀英"])  # building 5
    _order(centre)  # building 3
    staff = centre.client.get(
        "/api/v1/packing-list", params={"day": MONDAY}, headers=centre.headers("staff")
    ).json()
    assert [o["name"] for o in staff["orders"]] == ["张桂兰", "王秀英"]
    assert staff["orders"][0]["phone"] == "13805321234"
    assert staff["orders"][0]["address"] == "3号楼1单元201"
    potatoes = next(t for t in staff["totals"] if t["product_name"] == "土豆")
    assert potatoes["quantity"] == 5000 and potatoes["orders"] == 2
    vol = centre.client.get(
        "/api/v1/packing-list",
        params={"day": MONDAY, "home_only": True},
        headers=centre.headers("volunteer"),
    ).json()
    assert [o["name"] for o in vol["orders"]] == ["王秀英"]
    assert vol["orders"][0]["phone"] == "158****9876"


def test_cash_handed_over_beyond_the_price_is_change_not_takings(centre: Centre) -> None:
    order = _order(centre, items=[{"product_id": centre.products["橙子"], "quantity": 3}])
    r = centre.client.post(
        f"/api/v1/orders/{order['id']}/pickup",
        json={"method": "cash", "amount_fen": 2000},
        headers=centre.headers(),
    )
    assert r.json()["paid_fen"] == 450 and r.json()["change_due_fen"] == 1550
    dash = centre.client.get(
        "/api/v1/dashboard", params={"day": MONDAY}, headers=centre.headers()
    ).json()
    assert dash["orders_takings_fen"] == 450


def test_walkin_sale_with_the_same_key_sells_once(centre: Centre) -> None:
    body = {"method": "wechat", "lines": [{"product_id": centre.products["豆腐"], "quantity": 1}]}
    h = centre.headers(**{"Idempotency-Key": "tap-1"})
    first = centre.client.post("/api/v1/walkin", json=body, headers=h)
    again = centre.client.post("/api/v1/walkin", json=body, headers=h)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["sale_id"] == first.json()["sale_id"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM walkin_sales") == 1
    assert count(centre.db_path, "SELECT COUNT(*) FROM payments") == 1
