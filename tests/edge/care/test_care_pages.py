"""The care pages on the tablet, driven as a person would: requests, the roster, a visit,
the day-care grid. Chinese by default; every refusal is shown on the page."""

from __future__ import annotations

import re

import pytest
from care_fixtures import MONDAY, Care, seed_care
from centre_world import Centre, count
from page_forms import csrf, post_form, sign_in

from edge.domain.care import bookings
from edge.domain.care.bookings import BookingInput
from edge.domain.care.common import Actor


@pytest.fixture
def care(centre: Centre) -> Care:
    return seed_care(centre.client.app.state.store, centre.households)


def family_request(c: Centre, care: Care, service: str = "陪诊", start: str = "09:00") -> str:
    store = c.client.app.state.store
    data = BookingInput(
        care.elders["王秀英"],
        care.services[service],
        MONDAY,
        start,
        channel="family",
        requested_by="王明",
        note="市立医院复查",
    )
    return str(store.write_sync(lambda tx: bookings.create_booking(tx, data, Actor("王明"))))


def test_the_manager_assigns_a_request_and_the_volunteer_carries_it_out(
    centre: Centre, care: Care
) -> None:
    bid = family_request(centre, care)
    sign_in(centre.client)
    page = centre.client.get("/care")
    assert page.status_code == 200 and "服务申请" in page.text and "王秀英" in page.text
    assert "市立医院复查" in page.text and "王明" in page.text
    r = post_form(
        centre, f"/care/bookings/{bid}/assign", {"provider_id": care.providers["volunteer"]}
    )
    assert r.status_code == 303
    assert "没有新的申请" in centre.client.get("/care").text
    roster = centre.client.get(f"/care/roster?day={MONDAY}")
    assert "排班表" in roster.text and "小李" in roster.text and "已派人" in roster.text
    assert "右手无力" in roster.text and "data-print" in roster.text  # the manager's copy
    centre.client.post("/signout", data={"_csrf_token": csrf(centre.client, "/care")})
    sign_in(centre.client, "volunteer")
    visit = centre.client.get(f"/care/visits/{bid}")
    assert "开始服务" in visit.text and "右手无力" in visit.text  # the assignee sees the notes
    page = f"/care/visits/{bid}"
    assert post_form(centre, f"/care/bookings/{bid}/start", {}, page).status_code == 303
    r = post_form(centre, f"/care/bookings/{bid}/done", {"minutes": "150", "note": "已取药"}, page)
    assert r.status_code == 303
    visit = centre.client.get(f"/care/visits/{bid}")
    assert 'class="status s-done"' in visit.text and "完成" in visit.text and "已取药" in visit.text


def test_a_decline_needs_its_reason_and_a_clash_is_shown_on_the_page(
    centre: Centre, care: Care
) -> None:
    bid = family_request(centre, care)
    sign_in(centre.client)
    r = post_form(centre, f"/care/bookings/{bid}/decline", {"reason": ""})
    assert r.status_code == 400 and "reason" in r.text
    # 助浴: two a morning; a third request is refused at assignment unless overridden
    store = centre.client.app.state.store
    m = Actor("manager", care.staff["manager"], "manager")
    for elder in ("王秀英", "张桂兰"):
        store.write_sync(
            lambda tx, e=elder: bookings.create_booking(
                tx,
                BookingInput(care.elders[e], care.services["助浴"], MONDAY, "08:00"),
                m,
                allow_clash=True,
            )
        )
    bath = family_request(centre, care, "助浴", "10:30")
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = post_form(centre, f"/care/bookings/{bath}/assign", {"provider_id": care.providers["staff"]})
    assert r.status_code == 409 and "full that morning" in r.text and "仍然预约" in r.text
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before
    r = post_form(
        centre,
        f"/care/bookings/{bath}/assign",
        {"provider_id": care.providers["staff"], "allow_clash": "1"},
    )
    assert r.status_code == 303
    r = post_form(centre, f"/care/bookings/{bid}/decline", {"reason": "当天没有志愿者"})
    assert r.status_code == 303


def test_booking_a_walk_in_from_the_tablet(centre: Centre, care: Care) -> None:
    sign_in(centre.client, "staff")
    r = post_form(
        centre,
        "/care/bookings",
        {
            "recipient_id": care.elders["张桂兰"],
            "service_id": care.services["陪聊"],
            "day": MONDAY,
            "start": "15:00",
            "channel": "walkin",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/care/roster?day={MONDAY}"
    assert "陪聊" in centre.client.get(r.headers["location"]).text
    r = post_form(
        centre,
        "/care/bookings",
        {
            "recipient_id": care.elders["张桂兰"],
            "service_id": care.services["陪聊"],
            "day": MONDAY,
            "start": "7pm",
        },
    )
    assert r.status_code == 400 and "start" in r.text


def test_the_day_care_grid_one_tap_a_person(centre: Centre, care: Care) -> None:
    sign_in(centre.client, "volunteer")
    page = centre.client.get(f"/care/daycare?day={MONDAY}")
    assert "日间照料" in page.text and page.text.count('data-state="none"') == 2
    who = care.elders["王秀英"]
    r = post_form(
        centre, f"/care/daycare/{who}/tap", {"day": MONDAY}, f"/care/daycare?day={MONDAY}"
    )
    assert r.status_code == 303
    page = centre.client.get(f"/care/daycare?day={MONDAY}")
    assert page.text.count('data-state="in"') == 1 and "在站" in page.text
    post_form(
        centre, "/care/daycare/lunch", {"day": MONDAY, "count": "1"}, f"/care/daycare?day={MONDAY}"
    )
    page = centre.client.get(f"/care/daycare?day={MONDAY}")
    total = re.search(r'id="lunch-total">(\d+)<', page.text)
    assert total and total.group(1) == "2"  # 王秀英 checked in for lunch, one walk-in


def test_care_pages_need_sign_in(centre: Centre, care: Care) -> None:
    for path in ("/care", "/care/roster", "/care/daycare"):
        r = centre.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
