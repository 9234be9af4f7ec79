"""Anything a client can send gets a clear 4xx naming the field, and writes nothing."""

from __future__ import annotations

import pytest
from centre_world import Centre, count, order_body


def _changes(centre: Centre) -> int:
    return count(centre.db_path, "SELECT COUNT(*) FROM changes")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"product_id": "nope", "quantity": 1}, "items[0].product_id"),
        ({"product_id": "土豆", "quantity": 0}, "items[0].quantity"),
        ({"product_id": "土豆", "quantity": -3}, "items[0].quantity"),
        ({"product_id": "土豆", "quantity": 90000, "unit": "斤"}, "items[0].quantity"),
        ({"product_id": "橙子", "quantity": 2.5}, "items[0].quantity"),
        ({"product_id": "橙子", "quantity": 2, "unit": "斤"}, "items[0].unit"),
        ({"product_id": "馒头", "quantity": 3, "unit": "个"}, "items[0].quantity"),
        ({"product_id": "土豆", "quantity": "five"}, "items[0].quantity"),
    ],
)
def test_bad_items_are_refused_with_the_field(centre: Centre, item: dict, field: str) -> None:
    item = dict(item)
    item["product_id"] = centre.products.get(item["product_id"], item["product_id"])
    before = _changes(centre)
    r = centre.client.post(
        "/api/v1/orders", json=order_body(centre, items=[item]), headers=centre.headers()
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "bad_request" and body["detail"]
    assert body["field"] == field, body
    assert _changes(centre) == before


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"household": {"name": "张三", "phone": "12345"}, "household_id": None}, "phone"),
        ({"household": {"name": "", "phone": "13800001111"}, "household_id": None}, "name"),
        ({"household_id": "nobody"}, "household_id"),
        ({"pickup_date": "2026-13-01"}, "pickup_date"),
        ({"pickup_date": "2026-12-01"}, "pickup_date"),  # a Tuesday: no delivery
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"delivery_mode": "drone"}, "delivery_mode"),
        ({"items": []}, "items"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_orders_are_refused(centre: Centre, over: dict, field: str) -> None:
    before = _changes(centre)
    r = centre.client.post(
        "/api/v1/orders", json=order_body(centre, **over), headers=centre.headers()
    )
    assert r.status_code == 400, r.text
    assert field in (r.json().get("field", "") + r.json()["detail"])
    assert _changes(centre) == before


def test_wrong_types_and_garbage_bodies(centre: Centre) -> None:
    h = centre.headers(**{"content-type": "application/json"})
    for raw in (b"not json", b"[1,2]", b'{"items": "many"}', b"\xff\xfe", b"null"):
        r = centre.client.post("/api/v1/orders", content=raw, headers=h)
        assert r.status_code == 400, (raw, r.status_code, r.text)
        assert r.json()["error"] == "bad_request"
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == 0


def test_oversize_body_is_refused(centre: Centre) -> None:
    body = order_body(centre, notes="菜" * 200_000)
    r = centre.client.post("/api/v1/orders", json=body, headers=centre.headers())
    assert r.status_code == 413
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == 0


def test_bad_query_values(centre: Centre) -> None:
    h = centre.headers()
    assert (
        centre.client.get(
            "/api/v1/orders", params={"pickup_date": "yesterday"}, headers=h
        ).status_code
        == 400
    )
    assert (
        centre.client.get("/api/v1/orders", params={"status": "lost"}, headers=h).status_code == 400
    )
    assert centre.client.get("/api/v1/orders/nope", headers=h).status_code == 404
    assert (
        centre.client.get("/api/v1/packing-list", params={"day": "x"}, headers=h).status_code == 400
    )


def test_script_names_are_stored_as_text(centre: Centre) -> None:
    evil = "<script>alert(1)</script>"
    r = centre.client.post(
        "/api/v1/households", json={"name": evil, "phone": "13800002222"}, headers=centre.headers()
    )
    assert r.status_code == 201 and r.json()["name"] == evil
    assert r.headers["content-type"].startswith("application/json")


def test_bad_pickup_and_weights(centre: Centre) -> None:
    order_id = centre.client.post(
        "/api/v1/orders", json=order_body(centre), headers=centre.headers()
    ).json()["id"]
    h = centre.headers()
    cases = [
        ({"method": "bitcoin", "amount_fen": 100}, "method"),
        ({"method": "cash", "amount_fen": -1}, "amount_fen"),
        ({"method": "cash", "amount_fen": 1.5}, "amount_fen"),
        (
            {"method": "cash", "amount_fen": 100, "weights": [{"item_id": "x", "grams": 100}]},
            "item_id",
        ),
        ({"method": "cash", "amount_fen": 100, "weights": [{"item_id": "x", "grams": 0}]}, "grams"),
    ]
    for body, field in cases:
        r = centre.client.post(f"/api/v1/orders/{order_id}/pickup", json=body, headers=h)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json().get("field", "") + r.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM payments") == 0


def test_product_admin_validation_and_roles(centre: Centre) -> None:
    good = {"name": "山药", "sold_by": "weight", "price_fen": 600}
    assert (
        centre.client.post(
            "/api/v1/products", json=good, headers=centre.headers("staff")
        ).status_code
        == 403
    )
    r = centre.client.post("/api/v1/products", json=good, headers=centre.headers())
    assert r.status_code == 201 and r.json()["unit"] == "斤"
    for bad in (
        {**good, "price_fen": 1.2},
        {**good, "price_fen": -5},
        {**good, "sold_by": "vibes"},
        {**good, "name": ""},
    ):
        assert (
            centre.client.post("/api/v1/products", json=bad, headers=centre.headers()).status_code
            == 400
        )
    pid = r.json()["id"]
    assert (
        centre.client.patch(
            f"/api/v1/products/{pid}", json={"special_from": "soon"}, headers=centre.headers()
        ).status_code
        == 400
    )
    assert (
        centre.client.patch(
            f"/api/v1/products/{pid}", json={"aliases": "淮山"}, headers=centre.headers()
        ).status_code
        == 400
    )
