"""Delivery calendar rules: weekdays, cut-off the day before, exceptions."""

from __future__ import annotations

from datetime import date, datetime, time

from centre_world import Centre, order_body

from edge.domain.calendar import DEFAULT, Calendar


def test_next_delivery_day_respects_cutoff() -> None:
    # Monday 2026-11-30, Wednesday 12-02, Friday 12-04
    assert DEFAULT.next_delivery_day(datetime(2026, 11, 29, 19, 59)) == date(2026, 11, 30)
    assert DEFAULT.next_delivery_day(datetime(2026, 11, 29, 20, 0)) == date(2026, 12, 2)
    assert DEFAULT.next_delivery_day(datetime(2026, 11, 30, 7, 0)) == date(2026, 12, 2)
    assert DEFAULT.next_delivery_day(datetime(2026, 12, 4, 9, 0)) == date(2026, 12, 7)


def test_exceptions_close_and_add_days() -> None:
    cal = Calendar(
        weekdays=frozenset({0, 2, 4}),
        cutoff=time(20),
        pickup_hours="",
        closed=frozenset({date(2026, 11, 30)}),
        extra=frozenset({date(2026, 12, 1)}),
    )
    assert cal.next_delivery_day(datetime(2026, 11, 29, 10)) == date(2026, 12, 1)


def test_calendar_api_changes_what_orders_get(centre: Centre) -> None:
    h = centre.headers()
    r = centre.client.post(
        "/api/v1/calendar/exceptions",
        json={"day": "2026-11-30", "kind": "closed", "note": "停电"},
        headers=h,
    )
    assert r.status_code == 201
    assert centre.client.get("/api/v1/calendar", headers=h).json()["next_delivery_day"] == (
        "2026-12-02"
    )
    r = centre.client.put(
        "/api/v1/calendar", json={"weekdays": [1, 3, 5], "cutoff": "18:00"}, headers=h
    )
    assert r.status_code == 200
    order = centre.client.post("/api/v1/orders", json=order_body(centre), headers=h).json()
    assert order["pickup_date"] == "2026-12-01"  # Tuesday, cut-off Monday 18:00
    bad = centre.client.put("/api/v1/calendar", json={"weekdays": [9]}, headers=h)
    assert bad.status_code == 400
    bad = centre.client.put(
        "/api/v1/calendar", json={"weekdays": [1], "cutoff": "25:99"}, headers=h
    )
    assert bad.status_code == 400 and bad.json()["field"] == "cutoff"
