"""Closing a day, or dropping a weekday, that residents already have orders for:
refused unless the orders move to another delivery day, so nobody waits for a
van that will not come and the co-op is not sent an order for a closed day.

Uses the `centre` fixture (clock on Sunday 2026-11-29 10:00; new orders are for
Monday 2026-11-30; the next delivery day after it is Wednesday 2026-12-02).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from centre_world import Centre, count, order_body
from page_forms import csrf, sign_in

from edge.domain.supply.consolidated import lock_due
from edge.store import open_store

MONDAY, WEDNESDAY = "2026-11-30", "2026-12-02"


def orders_by_day(c: Centre) -> dict[str, int]:
    out: dict[str, int] = {}
    for day in (MONDAY, WEDNESDAY):
        r = c.client.get("/api/v1/orders", params={"pickup_date": day}, headers=c.headers())
        out[day] = len(r.json())
    return out


def close(c: Centre, **more: Any) -> Any:
    body = {"day": MONDAY, "kind": "closed", "note": "停电", **more}
    return c.client.post("/api/v1/calendar/exceptions", json=body, headers=c.headers())


def test_closing_a_day_with_orders_is_refused_and_changes_nothing(centre: Centre) -> None:
    centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    changes = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = close(centre)
    assert r.status_code == 400 and r.json()["field"] == "day"
    assert MONDAY in r.json()["detail"] and "(1)" in r.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == changes
    cal = centre.client.get("/api/v1/calendar", headers=centre.headers()).json()
    assert cal["closed"] == []


def test_closing_moves_the_waiting_orders_when_asked(centre: Centre) -> None:
    made = [
        centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
        for _ in range(2)
    ]
    codes = {m.json()["id"]: m.json()["pickup_code"] for m in made}
    r = close(centre, move_orders_to=WEDNESDAY)
    assert r.status_code == 201, r.text
    assert r.json()["moved"] == 2
    assert orders_by_day(centre) == {MONDAY: 0, WEDNESDAY: 2}
    for order_id, code in codes.items():
        moved = centre.client.get(f"/api/v1/orders/{order_id}", headers=centre.headers()).json()
        assert moved["pickup_date"] == WEDNESDAY and moved["pickup_code"] == code


def test_orders_cannot_move_to_a_day_without_delivery(centre: Centre) -> None:
    centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    r = close(centre, move_orders_to="2026-12-01")  # a Tuesday
    assert r.status_code == 400 and r.json()["field"] == "move_orders_to"
    assert orders_by_day(centre) == {MONDAY: 1, WEDNESDAY: 0}


def test_dropping_a_weekday_with_orders_is_refused(centre: Centre) -> None:
    centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    r = centre.client.put(
        "/api/v1/calendar",
        json={"weekdays": [2, 4], "cutoff": "20:00"},
        headers=centre.headers(),
    )
    assert r.status_code == 400 and r.json()["field"] == "weekdays"
    assert MONDAY in r.json()["detail"]
    cal = centre.client.get("/api/v1/calendar", headers=centre.headers()).json()
    assert cal["weekdays"] == [0, 2, 4]


def test_the_calendar_page_can_close_and_move_in_one_step(centre: Centre) -> None:
    centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    sign_in(centre.client, "manager")
    token = csrf(centre.client, "/calendar")
    form = {"_csrf_token": token, "day": MONDAY, "kind": "closed", "note": "停电"}
    refused = centre.client.post("/calendar/exceptions", data=form, follow_redirects=False)
    assert refused.status_code == 400 and MONDAY in refused.text
    done = centre.client.post(
        "/calendar/exceptions", data={**form, "move_open": "1"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert orders_by_day(centre) == {MONDAY: 0, WEDNESDAY: 1}


def test_a_closed_day_is_not_ordered_from_the_co_op(centre: Centre) -> None:
    """Orders moved away before the cut-off: nothing locks for the closed Monday,
    and Wednesday's order carries them."""
    centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    assert close(centre, move_orders_to=WEDNESDAY).status_code == 201
    with open_store(centre.db_path) as store:
        locked = store.write_sync(lambda tx: lock_due(tx, datetime(2026, 12, 1, 20, 30)))
    assert locked == [(WEDNESDAY, 1)]
