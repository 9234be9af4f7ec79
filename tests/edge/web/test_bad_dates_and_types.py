"""Dates far outside any delivery year and wrongly typed PATCH fields get a 400
naming the field, never a 500, and change nothing."""

from __future__ import annotations

import pytest
from centre_world import Centre, count, order_body

FAR_DAYS = ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"]


def changes(c: Centre) -> int:
    return count(c.db_path, "SELECT COUNT(*) FROM changes")


@pytest.mark.parametrize("day", FAR_DAYS)
def test_far_off_days_in_api_queries(centre: Centre, day: str) -> None:
    for path, name in (
        ("/api/v1/orders", "pickup_date"),
        ("/api/v1/packing-list", "day"),
        ("/api/v1/dashboard", "day"),
    ):
        r = centre.client.get(path, params={name: day}, headers=centre.headers())
        assert r.status_code == 400, (path, r.text)
        assert r.json()["field"] == name


@pytest.mark.parametrize("day", FAR_DAYS)
def test_far_off_days_in_writes(centre: Centre, day: str) -> None:
    before = changes(centre)
    r = centre.client.post(
        "/api/v1/orders", json=order_body(centre, pickup_date=day), headers=centre.headers()
    )
    assert r.status_code == 400 and r.json()["field"] == "pickup_date", r.text
    r = centre.client.post("/api/v1/close-day", json={"day": day}, headers=centre.headers())
    assert r.status_code == 400 and r.json()["field"] == "day", r.text
    r = centre.client.patch(
        f"/api/v1/products/{centre.products['土豆']}",
        json={"special_price_fen": 100, "special_from": day, "special_to": "2026-12-01"},
        headers=centre.headers(),
    )
    assert r.status_code in (400, 403), r.text
    assert changes(centre) == before


def test_far_off_days_on_pages(centre: Centre) -> None:
    from page_forms import sign_in

    sign_in(centre.client, "manager")
    for path in ("/?day=0001-01-01", "/orders?day=9999-12-31", "/lists/packing?day=0001-01-01"):
        r = centre.client.get(path)
        assert r.status_code == 400, (path, r.status_code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": 123}, "phone"),
        ({"name": None}, "name"),
        ({"name": ["x"]}, "name"),
        ({"home_delivery": "yes"}, "home_delivery"),
        ({"notes": {"a": 1}}, "notes"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_household_patch_types(centre: Centre, body: dict, field: str) -> None:
    before = changes(centre)
    r = centre.client.patch(
        f"/api/v1/households/{centre.households['张桂兰']}", json=body, headers=centre.headers()
    )
    assert r.status_code == 400, r.text
    assert field in r.text
    assert changes(centre) == before


def test_household_patch_changes_only_what_is_sent(centre: Centre) -> None:
    hid = centre.households["张桂兰"]
    r = centre.client.patch(
        f"/api/v1/households/{hid}", json={"room": "202"}, headers=centre.headers()
    )
    assert r.status_code == 200, r.text
    assert r.json()["room"] == "202" and r.json()["name"] == "张桂兰"
    assert r.json()["phone"] == "13805321234"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price_fen": "cheap"}, "price_fen"),
        ({"price_fen": 1.5}, "price_fen"),
        ({"bundle_size": True}, "bundle_size"),
        ({"active": "no"}, "active"),
        ({"aliases": "洋芋"}, "aliases"),
        ({"sort": None}, "sort"),
        ({"special_from": 20261201}, "special_from"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_product_patch_types(centre: Centre, body: dict, field: str) -> None:
    pid = centre.extra.get("local_product")
    if pid is None:
        r = centre.client.post(
            "/api/v1/products",
            json={"name": "本地小葱", "sold_by": "bundle", "price_fen": 100},
            headers=centre.headers(),
        )
        assert r.status_code == 201, r.text
        pid = centre.extra["local_product"] = r.json()["id"]
    before = changes(centre)
    r = centre.client.patch(f"/api/v1/products/{pid}", json=body, headers=centre.headers())
    assert r.status_code == 400, r.text
    assert field in r.text
    assert changes(centre) == before


@pytest.mark.parametrize("day", ["20261130", "2026-11-3", "２０２６-11-30", "2026-11-30T00:00"])
def test_only_yyyy_mm_dd_is_a_day(centre: Centre, day: str) -> None:
    r = centre.client.get("/api/v1/orders", params={"pickup_date": day}, headers=centre.headers())
    assert r.status_code == 400 and r.json()["field"] == "pickup_date", r.text


@pytest.mark.parametrize("cutoff", ["２０:00", "20:00:00", "8pm"])
def test_only_ascii_hh_mm_is_a_cutoff(centre: Centre, cutoff: str) -> None:
    before = changes(centre)
    r = centre.client.put(
        "/api/v1/calendar", json={"weekdays": [0, 2, 4], "cutoff": cutoff}, headers=centre.headers()
    )
    assert r.status_code == 400 and r.json()["field"] == "cutoff", r.text
    assert changes(centre) == before


@pytest.mark.parametrize(
    "referer", ["//evil.example/x", "http://evil.example//x", "/\\evil.example", "/\tx"]
)
def test_going_back_never_leaves_the_box(centre: Centre, referer: str) -> None:
    from edge.web.shared import local_path

    assert local_path(referer, "/") in ("/", "/x")
    r = centre.client.get("/lang/en", headers={"Referer": referer}, follow_redirects=False)
    assert r.headers["location"] in ("/", "/x")
