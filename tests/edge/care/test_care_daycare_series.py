"""Recurring bookings skip the centre's closed days and pause; day-care check-in with one
tap a person; the kitchen's lunch count from meal bookings, regulars and walk-ins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from care_fixtures import MONDAY, Care, open_care_store
from centre_world import count

from edge.domain import calendar
from edge.domain.care import bookings, daycare, recurring
from edge.domain.care.bookings import BookingInput
from edge.errors import BadRequest, Conflict
from edge.store import Store


@pytest.fixture(name="care_store")
def _care_store(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> Iterator[tuple[Store, Care]]:
    yield from open_care_store(tmp_path, centre_template)


def test_a_series_books_its_weekdays_and_skips_a_closed_day(care_store: Any) -> None:
    store, care = care_store
    store.write_sync(lambda tx: calendar.add_exception(tx, date(2026, 12, 2), "closed", "停水"))
    data = BookingInput(care.elders["王秀英"], care.services["送餐"], MONDAY, "11:00")
    made = store.write_sync(
        lambda tx: recurring.create_series(
            tx, data, [0, 1, 2, 3, 4], "2026-12-11", care.actors["manager"]
        )
    )
    assert made["skipped"] == [{"day": "2026-12-02", "why": "closed"}]
    days = store.read_sync(
        lambda c: [
            r[0]
            for r in c.execute(
                "SELECT day FROM care_bookings WHERE series_id = ? ORDER BY day",
                (made["series_id"],),
            )
        ]
    )
    assert len(days) == 9 and "2026-12-02" not in days
    assert all(date.fromisoformat(d).weekday() < 5 for d in days)
    # pause from Monday 12-07 (in hospital): the rest are cancelled, the past stays
    n = store.write_sync(
        lambda tx: recurring.pause(
            tx, made["series_id"], "2026-12-07", care.actors["manager"], "住院"
        )
    )
    assert n == 5
    open_days = count(
        store.path,
        "SELECT COUNT(*) FROM care_bookings WHERE series_id = ? AND status = 'confirmed'",
        (made["series_id"],),
    )
    assert open_days == 4
    with pytest.raises(Conflict):
        store.write_sync(
            lambda tx: recurring.pause(tx, made["series_id"], "2026-12-08", care.actors["manager"])
        )
    again = store.write_sync(
        lambda tx: recurring.resume(tx, made["series_id"], "2026-12-09", care.actors["manager"])
    )
    assert len(again["booked"]) == 3  # Wed, Thu, Fri
    assert (
        count(
            store.path,
            "SELECT COUNT(*) FROM care_bookings WHERE series_id = ? AND status = 'confirmed'",
            (made["series_id"],),
        )
        == 7
    )


@pytest.mark.parametrize(
    ("weekdays", "to_day", "field"),
    [
        ([], "2026-12-11", "weekdays"),
        ([7], "2026-12-11", "weekdays"),
        ([0], "2026-11-01", "to_day"),
        ([0], "2027-06-01", "to_day"),
        ([1], "2026-11-30", "weekdays"),  # Monday only range, Tuesday pattern: no day
    ],
)
def test_a_bad_series_names_the_field_and_books_nothing(
    care_store: Any, weekdays: list[int], to_day: str, field: str
) -> None:
    store, care = care_store
    data = BookingInput(care.elders["王秀英"], care.services["送餐"], MONDAY, "11:00")
    with pytest.raises(BadRequest) as caught:
        store.write_sync(
            lambda tx: recurring.create_series(tx, data, weekdays, to_day, care.actors["manager"])
        )
    assert caught.value.field == field
    assert count(store.path, "SELECT COUNT(*) FROM care_series") == 0


def test_one_tap_checks_in_the_next_checks_out(care_store: Any) -> None:
    store, care = care_store
    staff = care.actors["staff"]
    grid = store.read_sync(lambda c: daycare.grid(c, MONDAY))
    assert [(g["name"], g["state"]) for g in grid] == [("张桂兰", ""), ("王秀英", "")]
    states = [
        store.write_sync(lambda tx: daycare.tap(tx, care.elders["王秀英"], MONDAY, staff))
        for _ in range(3)
    ]
    assert states == ["in", "out", "out"]
    grid = store.read_sync(lambda c: daycare.grid(c, MONDAY))
    assert {g["name"]: g["state"] for g in grid} == {"张桂兰": "", "王秀英": "out"}
    assert count(store.path, "SELECT COUNT(*) FROM care_checkins") == 1


def test_the_lunch_count_adds_bookings_regulars_and_walk_ins(care_store: Any) -> None:
    store, care = care_store
    m, staff = care.actors["manager"], care.actors["staff"]
    for service, start in (("助餐", "11:30"), ("送餐", "17:00")):  # and supper brought home
        store.write_sync(
            lambda tx, s=service, t=start: bookings.create_booking(
                tx, BookingInput(care.elders["王秀英"], care.services[s], MONDAY, t), m
            )
        )
    cancelled = store.write_sync(
        lambda tx: bookings.create_booking(
            tx,
            BookingInput(care.elders["张桂兰"], care.services["助餐"], MONDAY, "11:30"),
            m,
            allow_clash=True,
        )
    )
    store.write_sync(lambda tx: bookings.cancel(tx, cancelled, m, "改送餐"))
    # both regulars check in; 王秀英 already has a 助餐 booking, so she is not counted twice;
    # 张桂兰's was cancelled, so she counts as a regular having lunch
    for elder in ("王秀英", "张桂兰"):
        store.write_sync(lambda tx, e=elder: daycare.tap(tx, care.elders[e], MONDAY, staff))
    for n in (1, 1, 1, -1):
        store.write_sync(lambda tx, n=n: daycare.add_walkin_lunch(tx, MONDAY, n, staff))
    lunch = store.read_sync(lambda c: daycare.lunch_count(c, MONDAY))
    assert lunch == {
        "booked_at_centre": 1,
        "delivered": 1,
        "checked_in": 1,
        "walk_ins": 2,
        "total": 5,
    }
    with pytest.raises(BadRequest) as caught:
        store.write_sync(lambda tx: daycare.add_walkin_lunch(tx, MONDAY, 5, staff))
    assert caught.value.field == "count"
    for _ in range(2):
        store.write_sync(lambda tx: daycare.add_walkin_lunch(tx, MONDAY, -1, staff))
    with pytest.raises(BadRequest):  # never below zero
        store.write_sync(lambda tx: daycare.add_walkin_lunch(tx, MONDAY, -1, staff))


def test_the_demo_offers_the_reports_services_and_a_working_care_day(tmp_path: Any) -> None:
    from edge.demo import create_demo
    from edge.store import open_store

    create_demo(tmp_path / "demo.db")
    with open_store(tmp_path / "demo.db") as store:
        names = store.read_sync(
            lambda c: [r[0] for r in c.execute("SELECT name FROM care_services ORDER BY sort")]
        )
        statuses = store.read_sync(
            lambda c: sorted(r[0] for r in c.execute("SELECT status FROM care_bookings"))
        )
        kinds = store.read_sync(
            lambda c: sorted({r[0] for r in c.execute("SELECT kind FROM care_providers")})
        )
    assert names == ["助餐", "送餐", "助浴", "陪诊", "陪聊", "代购", "日间照料"]
    assert statuses == ["assigned", "confirmed", "confirmed", "confirmed", "requested"]
    assert kinds == ["organisation", "staff", "volunteer", "worker"]
