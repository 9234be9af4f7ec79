"""Who may move an order where: the API and pages keep each status change on its
own step (packing, the pickup desk, cancel, close of day), and a volunteer sees
no more of a phone than the mask shows.

Uses the `centre` fixture (clock fixed on Sunday 2026-11-29 10:00; new orders
are for Monday 2026-11-30).
"""

from __future__ import annotations

from typing import Any

import pytest
from centre_world import Centre, count, order_body
from page_forms import csrf, sign_in

MONDAY = "2026-11-30"


def new_order(c: Centre) -> str:
    r = c.client.post("/api/v1/orders", json=order_body(c), headers=c.headers("staff"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def status_of(c: Centre, order_id: str) -> str:
    return str(c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()["status"])


@pytest.mark.parametrize("target", ["picked_up", "delivered", "cancelled", "no_show"])
def test_status_endpoint_only_packs(centre: Centre, target: str) -> None:
    order_id = new_order(centre)
    r = centre.client.post(
        f"/api/v1/orders/{order_id}/status", json={"status": target}, headers=centre.headers()
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "status" and "packed" in r.json()["detail"]
    assert status_of(centre, order_id) == "placed"


def test_a_hand_over_needs_the_pickup_desk(centre: Centre) -> None:
    """Unweighed potatoes cannot be marked picked up by a bare status change."""
    order_id = new_order(centre)
    moved = centre.client.post(
        f"/api/v1/orders/{order_id}/status", json={"status": "packed"}, headers=centre.headers()
    )
    assert moved.json()["status"] == "packed"
    r = centre.client.post(
        f"/api/v1/orders/{order_id}/status", json={"status": "picked_up"}, headers=centre.headers()
    )
    assert r.status_code == 400 and "/pickup" in r.json()["detail"]
    paid = count(centre.db_path, "SELECT COUNT(*) FROM payments WHERE order_id = ?", (order_id,))
    assert paid == 0 and status_of(centre, order_id) == "packed"


def test_unknown_status_names_the_choices(centre: Centre) -> None:
    order_id = new_order(centre)
    r = centre.client.post(
        f"/api/v1/orders/{order_id}/status", json={"status": "lost"}, headers=centre.headers()
    )
    assert r.status_code == 400 and "placed" in r.json()["detail"]


def test_volunteer_cannot_cancel(centre: Centre) -> None:
    order_id = new_order(centre)
    r = centre.client.post(f"/api/v1/orders/{order_id}/cancel", headers=centre.headers("volunteer"))
    assert r.status_code == 403
    assert status_of(centre, order_id) == "placed"
    r = centre.client.post(f"/api/v1/orders/{order_id}/cancel", headers=centre.headers("staff"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_volunteer_cannot_cancel_on_the_pages(centre: Centre) -> None:
    order_id = new_order(centre)
    sign_in(centre.client, "volunteer")
    detail = centre.client.get(f"/orders/{order_id}")
    assert detail.status_code == 200 and f"/orders/{order_id}/cancel" not in detail.text
    token = csrf(centre.client, f"/orders/{order_id}")
    assert centre.client.get(f"/orders/{order_id}/cancel").status_code == 403
    r = centre.client.post(
        f"/orders/{order_id}/cancel", data={"_csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 403
    assert status_of(centre, order_id) == "placed"


def close_day(c: Centre, who: str, day: str) -> Any:
    return c.client.post("/api/v1/close-day", json={"day": day}, headers=c.headers(who))


def test_close_day_is_for_the_manager(centre: Centre) -> None:
    order_id = new_order(centre)
    centre.clock.now = centre.clock.now.replace(year=2026, month=11, day=30, hour=12)
    for who in ("staff", "volunteer"):
        assert close_day(centre, who, MONDAY).status_code == 403
    assert status_of(centre, order_id) == "placed"
    r = close_day(centre, "manager", MONDAY)
    assert r.status_code == 200 and r.json()["no_show"] == 1
    assert status_of(centre, order_id) == "no_show"


def test_close_day_refuses_a_day_that_has_not_come(centre: Centre) -> None:
    order_id = new_order(centre)  # for Monday; the clock says Sunday
    r = close_day(centre, "manager", MONDAY)
    assert r.status_code == 400 and r.json()["field"] == "day"
    assert status_of(centre, order_id) == "placed"

    sign_in(centre.client, "manager")
    token = csrf(centre.client, f"/close-day?day={MONDAY}")
    page = centre.client.post(
        "/close-day", data={"_csrf_token": token, "day": MONDAY}, follow_redirects=False
    )
    assert page.status_code == 400 and MONDAY in page.text
    assert status_of(centre, order_id) == "placed"


def test_volunteer_search_cannot_confirm_a_whole_phone(centre: Centre) -> None:
    new_order(centre)  # 张桂兰, phone 13805321234
    full, tail = "13805321234", "1234"

    def orders_found(who: str, q: str) -> int:
        r = centre.client.get(
            "/api/v1/orders", params={"pickup_date": MONDAY, "q": q}, headers=centre.headers(who)
        )
        assert r.status_code == 200, r.text
        return len(r.json())

    def households_found(who: str, q: str) -> int:
        r = centre.client.get("/api/v1/households", params={"q": q}, headers=centre.headers(who))
        assert r.status_code == 200, r.text
        return len(r.json())

    assert orders_found("staff", full) == 1 and households_found("staff", full) == 1
    assert orders_found("volunteer", tail) == 1 and households_found("volunteer", tail) == 1
    assert orders_found("volunteer", full) == 0 and households_found("volunteer", full) == 0
    # a wrong number with the right tail tells a volunteer nothing either
    assert households_found("volunteer", "13900001234") == 0
    shown = centre.client.get(
        "/api/v1/households", params={"q": tail}, headers=centre.headers("volunteer")
    ).json()
    assert shown[0]["phone"] != full and shown[0]["phone"].endswith(tail)


# Role guards (edge.web.guards) on the API: who is asking is checked before the body is
# read, with the same 401 and 403 answers the inline checks gave.
MANAGER_ROUTES = [
    ("post", "/api/v1/close-day"),
    ("post", "/api/v1/products"),
    ("put", "/api/v1/calendar"),
    ("post", "/api/v1/calendar/exceptions"),
    ("post", "/api/v1/care/services"),
    ("post", "/api/v1/care/providers"),
]


@pytest.mark.parametrize(("method", "path"), MANAGER_ROUTES)
def test_a_manager_route_refuses_others_before_reading_the_body(
    centre: Centre, method: str, path: str
) -> None:
    for role in ("volunteer", "staff"):
        r = centre.client.request(method, path, content=b"{not json", headers=centre.headers(role))
        assert r.status_code == 403, (role, r.text)
        assert r.json() == {"error": "forbidden", "detail": "only a manager may do this"}
    r = centre.client.request(method, path, content=b"{not json")
    assert r.status_code == 401
    assert r.json() == {
        "error": "unauthorized",
        "detail": "send Authorization: Bearer <token> (POST /api/v1/auth/token)",
    }
    # the manager gets as far as the body
    r = centre.client.request(method, path, content=b"{not json", headers=centre.headers())
    assert r.status_code == 400, r.text


def test_a_volunteer_may_not_cancel_or_add_an_elder(centre: Centre) -> None:
    order_id = new_order(centre)
    r = centre.client.post(f"/api/v1/orders/{order_id}/cancel", headers=centre.headers("volunteer"))
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "detail": "only staff or a manager may do this"}
    assert status_of(centre, order_id) == "placed"
    r = centre.client.post("/api/v1/care/recipients", json={}, headers=centre.headers("volunteer"))
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "detail": "only staff or a manager may do this"}
