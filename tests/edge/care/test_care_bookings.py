"""Care bookings in the domain: forward-only statuses with who and when, clashes found
before saving, prices fixed to the fen, care notes for the manager and the assignee only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from care_fixtures import MONDAY, Care, open_care_store
from centre_world import count

from edge.domain.care import bookings, roster
from edge.domain.care.bookings import BookingInput
from edge.domain.care.clashes import ClashError
from edge.domain.care.common import Actor
from edge.errors import BadRequest, Conflict, Forbidden, NotFound
from edge.store import Store

Family = Actor("王明")


@pytest.fixture(name="care_store")
def _care_store(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> Iterator[tuple[Store, Care]]:
    yield from open_care_store(tmp_path, centre_template)


def book(store: Store, care: Care, service: str = "陪诊", **over: Any) -> str:
    data = BookingInput(care.elders["王秀英"], care.services[service], MONDAY, "09:00")
    data = replace(data, **{k: v for k, v in over.items() if k not in ("allow_clash", "actor")})
    allow = bool(over.get("allow_clash", False))
    actor = over.get("actor", care.actors["manager"])
    return store.write_sync(lambda tx: bookings.create_booking(tx, data, actor, allow_clash=allow))


def get(store: Store, booking_id: str, viewer: Actor | None = None) -> dict[str, Any]:
    return store.read_sync(lambda c: bookings.get_booking(c, booking_id, viewer))


def test_a_desk_booking_is_confirmed_and_priced_with_the_subsidy(care_store: Any) -> None:
    store, care = care_store
    b = get(store, book(store, care))
    assert b["status"] == "confirmed"
    assert [(s["status"], s["by_name"]) for s in b["steps"]] == [
        ("requested", "manager"),
        ("confirmed", "manager"),
    ]
    # 陪诊 costs 100.00 yuan, 50.00 for an elder with a subsidy: charged + subsidy = price
    assert (b["price_fen"], b["charged_fen"], b["subsidy_fen"]) == (10000, 5000, 5000)
    other = store.write_sync(
        lambda tx: bookings.create_booking(
            tx,
            BookingInput(care.elders["张桂兰"], care.services["陪诊"], MONDAY, "09:00"),
            care.actors["staff"],
        )
    )
    b2 = get(store, other)
    assert (b2["charged_fen"], b2["subsidy_fen"]) == (10000, 0)


def test_a_hub_request_waits_then_moves_forward_step_by_step(care_store: Any) -> None:
    store, care = care_store
    bid = book(store, care, channel="family", requested_by="王明", actor=Family)
    assert get(store, bid)["status"] == "requested"
    m, v = care.actors["manager"], care.actors["volunteer"]
    store.write_sync(lambda tx: bookings.confirm(tx, bid, m))
    store.write_sync(lambda tx: bookings.assign(tx, bid, care.providers["volunteer"], m))
    store.write_sync(lambda tx: bookings.start(tx, bid, v))
    store.write_sync(lambda tx: bookings.finish(tx, bid, v, minutes=170, note="取药，下周复诊"))
    b = get(store, bid, m)
    assert b["status"] == "done" and b["actual_minutes"] == 170
    assert [(s["status"], s["by_name"]) for s in b["steps"]] == [
        ("requested", "王明"),
        ("confirmed", "manager"),
        ("assigned", "manager"),
        ("started", "volunteer"),
        ("done", "volunteer"),
    ]
    assert all(s["at"] for s in b["steps"])
    # forward only: a finished visit cannot be started, confirmed or cancelled again
    for move in (
        lambda tx: bookings.start(tx, bid, v),
        lambda tx: bookings.confirm(tx, bid, m),
        lambda tx: bookings.cancel(tx, bid, m, "不需要了"),
    ):
        with pytest.raises(Conflict) as caught:
            store.write_sync(move)
        assert "done" in caught.value.detail
    assert get(store, bid)["status"] == "done"


def test_decline_needs_a_reason_and_keeps_it_for_the_family(care_store: Any) -> None:
    store, care = care_store
    bid = book(store, care, channel="family", actor=Family)
    m = care.actors["manager"]
    with pytest.raises(BadRequest) as caught:
        store.write_sync(lambda tx: bookings.decline(tx, bid, m, " "))
    assert caught.value.field == "reason"
    store.write_sync(lambda tx: bookings.decline(tx, bid, m, "当天没有陪诊志愿者"))
    b = get(store, bid)
    assert b["status"] == "declined" and b["reason"] == "当天没有陪诊志愿者"
    with pytest.raises(Conflict):
        store.write_sync(lambda tx: bookings.assign(tx, bid, care.providers["volunteer"], m))


def test_a_cancel_after_the_start_is_refused_with_the_reason(care_store: Any) -> None:
    store, care = care_store
    m = care.actors["manager"]
    bid = book(store, care)
    store.write_sync(lambda tx: bookings.assign(tx, bid, care.providers["staff"], m))
    store.write_sync(lambda tx: bookings.start(tx, bid, care.actors["staff"]))
    with pytest.raises(Conflict) as caught:
        store.write_sync(lambda tx: bookings.cancel(tx, bid, m, "家属取消"))
    assert "开始" in caught.value.detail and "already started" in caught.value.detail
    assert get(store, bid)["status"] == "started"
    open_one = book(store, care, start="15:00")
    assert store.write_sync(lambda tx: bookings.cancel(tx, open_one, m, "住院")) == "cancelled"
    assert store.write_sync(lambda tx: bookings.cancel(tx, open_one, m, "again")) == "cancelled"
    assert (
        count(
            store.path, "SELECT COUNT(*) FROM care_booking_steps WHERE booking_id = ?", (open_one,)
        )
        == 3
    )  # requested, confirmed, cancelled: the second cancel recorded nothing


def test_roles_volunteers_do_visits_but_do_not_run_the_desk(care_store: Any) -> None:
    store, care = care_store
    bid = book(store, care, channel="family", actor=Family)
    v, v2 = care.actors["volunteer"], care.actors["volunteer2"]
    for move in (
        lambda tx: bookings.confirm(tx, bid, v),
        lambda tx: bookings.decline(tx, bid, v, "no"),
        lambda tx: bookings.assign(tx, bid, care.providers["volunteer"], v),
        lambda tx: bookings.cancel(tx, bid, v, "no"),
    ):
        with pytest.raises(Forbidden):
            store.write_sync(move)
    m = care.actors["manager"]
    store.write_sync(lambda tx: bookings.assign(tx, bid, care.providers["volunteer"], m))
    with pytest.raises(Forbidden) as caught:  # not assigned to volunteer2
        store.write_sync(lambda tx: bookings.start(tx, bid, v2))
    assert "assigned" in caught.value.detail
    assert store.write_sync(lambda tx: bookings.start(tx, bid, v)) == "started"


def test_the_same_provider_twice_at_once_is_a_clash_never_overridden(care_store: Any) -> None:
    store, care = care_store
    m = care.actors["manager"]
    first = book(store, care, start="09:00")  # 陪诊 180 min: 09:00-12:00
    store.write_sync(lambda tx: bookings.assign(tx, first, care.providers["volunteer"], m))
    second = store.write_sync(
        lambda tx: bookings.create_booking(
            tx,
            BookingInput(care.elders["张桂兰"], care.services["陪聊"], MONDAY, "11:00"),
            m,
        )
    )
    changes = count(store.path, "SELECT COUNT(*) FROM changes")
    for allow in (False, True):
        with pytest.raises(ClashError) as caught:
            store.write_sync(
                lambda tx, allow=allow: bookings.assign(
                    tx, second, care.providers["volunteer"], m, allow_clash=allow
                )
            )
        assert [c.kind for c in caught.value.clashes] == ["provider_busy"]
        assert caught.value.status_code == 409 and "陪诊 at 09:00" in caught.value.detail
    assert count(store.path, "SELECT COUNT(*) FROM changes") == changes
    assert get(store, second)["status"] == "confirmed"
    # at 12:00 the escort is over: no clash
    later = book(store, care, service="陪聊", start="12:00", allow_clash=False)
    store.write_sync(lambda tx: bookings.assign(tx, later, care.providers["volunteer"], m))


def test_a_full_slot_and_an_elder_booked_twice_are_shown_and_may_be_overridden(
    care_store: Any,
) -> None:
    store, care = care_store
    m = care.actors["manager"]
    # 助浴 takes two a morning
    for elder, start in (("王秀英", "08:00"), ("张桂兰", "09:30")):
        store.write_sync(
            lambda tx, e=elder, s=start: bookings.create_booking(
                tx, BookingInput(care.elders[e], care.services["助浴"], MONDAY, s), m
            )
        )
    third = BookingInput(care.elders["张桂兰"], care.services["助浴"], MONDAY, "10:30")
    with pytest.raises(ClashError) as caught:
        store.write_sync(lambda tx: bookings.create_booking(tx, third, m))
    kinds = sorted(c.kind for c in caught.value.clashes)
    assert kinds == ["recipient_busy", "slot_full"]
    assert "full that morning (2 of 2)" in caught.value.detail
    assert count(store.path, "SELECT COUNT(*) FROM care_bookings") == 2
    # the afternoon is another slot; overriding books the third knowingly
    afternoon = BookingInput(care.elders["张桂兰"], care.services["助浴"], MONDAY, "14:00")
    store.write_sync(lambda tx: bookings.create_booking(tx, afternoon, m))
    store.write_sync(lambda tx: bookings.create_booking(tx, third, m, allow_clash=True))
    assert count(store.path, "SELECT COUNT(*) FROM care_bookings") == 4
    # lunch at the centre while at day care is no clash
    for service, start in (("日间照料", "09:30"), ("助餐", "11:30")):
        book(store, care, service=service, start=start)


def test_a_hub_request_into_a_full_slot_waits_and_the_clash_shows_at_confirm(
    care_store: Any,
) -> None:
    store, care = care_store
    m = care.actors["manager"]
    for elder in ("王秀英", "张桂兰"):
        store.write_sync(
            lambda tx, e=elder: bookings.create_booking(
                tx,
                BookingInput(care.elders[e], care.services["助浴"], MONDAY, "08:00"),
                m,
                allow_clash=True,
            )
        )
    bid = book(store, care, service="助浴", start="10:30", channel="family", actor=Family)
    with pytest.raises(ClashError) as caught:
        store.write_sync(lambda tx: bookings.confirm(tx, bid, m))
    assert "slot_full" in [c.kind for c in caught.value.clashes]
    assert get(store, bid)["status"] == "requested"


def test_care_notes_only_for_the_manager_and_the_assignee(care_store: Any) -> None:
    store, care = care_store
    m, v, v2 = care.actors["manager"], care.actors["volunteer"], care.actors["volunteer2"]
    bid = book(store, care)
    store.write_sync(lambda tx: bookings.assign(tx, bid, care.providers["volunteer"], m))
    store.write_sync(lambda tx: bookings.start(tx, bid, v))
    store.write_sync(lambda tx: bookings.finish(tx, bid, v, note="血压偏高"))
    assert get(store, bid, m)["care_notes"] == "右手无力"
    assert get(store, bid, m)["visit_note"] == "血压偏高"
    assert get(store, bid, v)["visit_note"] == "血压偏高"
    for viewer in (v2, care.actors["staff"], None):
        seen = get(store, bid, viewer)
        assert "care_notes" not in seen and seen["visit_note"] is None
    day = store.read_sync(lambda c: roster.roster(c, MONDAY, v2))
    assert day["total"] == 1 and "care_notes" not in day["visits"][0]
    assert day["visits"][0]["address"] == "5号楼1单元101室"


def test_a_rating_is_for_a_finished_visit_only(care_store: Any) -> None:
    store, care = care_store
    m = care.actors["manager"]
    bid = book(store, care)
    with pytest.raises(Conflict) as caught:
        store.write_sync(lambda tx: bookings.rate(tx, bid, 5, Family))
    assert "confirmed" in caught.value.detail
    store.write_sync(lambda tx: bookings.assign(tx, bid, care.providers["staff"], m))
    store.write_sync(lambda tx: bookings.start(tx, bid, m))
    store.write_sync(lambda tx: bookings.finish(tx, bid, m))
    with pytest.raises(BadRequest) as bad:
        store.write_sync(lambda tx: bookings.rate(tx, bid, 6, Family))
    assert bad.value.field == "rating"
    store.write_sync(lambda tx: bookings.rate(tx, bid, 4, Family, "很耐心"))
    b = get(store, bid)
    assert (b["rating"], b["rating_note"], b["actual_minutes"]) == (4, "很耐心", 180)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"day": "2026-13-01"}, "day"),
        ({"start": "9:00"}, "start"),
        ({"start": "24:00"}, "start"),
        ({"service_id": "nope"}, "service_id"),
        ({"recipient_id": "nope"}, "recipient_id"),
        ({"channel": "fax"}, "channel"),
        ({"minutes": 0}, "minutes"),
        ({"callback_phone": "12"}, "phone"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(
    care_store: Any, over: dict[str, Any], field: str
) -> None:
    store, care = care_store
    before = count(store.path, "SELECT COUNT(*) FROM changes")
    with pytest.raises((BadRequest, NotFound)) as caught:
        book(store, care, **over)
    assert caught.value.field == field
    assert count(store.path, "SELECT COUNT(*) FROM changes") == before
