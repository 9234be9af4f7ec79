"""The care JSON API under /api/v1/care on the real app: booking and its steps, clashes
shown before saving, roles, notes, series, day care; bad input is a 4xx naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from care_fixtures import MONDAY, Care, seed_care
from centre_world import Centre, count

API = "/api/v1/care"


@pytest.fixture
def care(centre: Centre) -> Care:
    made = seed_care(centre.client.app.state.store, centre.households)
    centre.tokens["volunteer2"] = made.tokens["volunteer2"]
    return made


def booking(care: Care, **over: Any) -> dict[str, Any]:
    body = {
        "recipient_id": care.elders["王秀英"],
        "service_id": care.services["陪诊"],
        "day": MONDAY,
        "start": "09:00",
        "channel": "phone",
    }
    return {**body, **over}


def post(c: Centre, path: str, body: Any = None, who: str = "manager") -> Any:
    return c.client.post(API + path, json=body if body is not None else {}, headers=c.headers(who))


def test_book_assign_and_carry_out_a_visit_over_the_api(centre: Centre, care: Care) -> None:
    r = post(centre, "/bookings", booking(care, caller="王明", callback_phone="13912345678"))
    assert r.status_code == 201, r.text
    b = r.json()
    assert (b["status"], b["charged_fen"], b["subsidy_fen"]) == ("confirmed", 5000, 5000)
    bid = b["id"]
    # the volunteer may not assign; the manager does, after looking at clashes
    r = post(
        centre, f"/bookings/{bid}/assign", {"provider_id": care.providers["volunteer"]}, "volunteer"
    )
    assert r.status_code == 403
    r = centre.client.get(
        f"{API}/bookings/{bid}/clashes",
        params={"provider_id": care.providers["volunteer"]},
        headers=centre.headers(),
    )
    assert r.json() == {"clashes": []}
    r = post(centre, f"/bookings/{bid}/assign", {"provider_id": care.providers["volunteer"]})
    assert r.json() == {"id": bid, "status": "assigned"}
    assert post(centre, f"/bookings/{bid}/start", who="volunteer2").status_code == 403
    assert post(centre, f"/bookings/{bid}/start", who="volunteer").json()["status"] == "started"
    r = post(centre, f"/bookings/{bid}/cancel", {"reason": "不用了"})
    assert r.status_code == 409 and "already started" in r.json()["detail"]
    r = post(
        centre, f"/bookings/{bid}/finish", {"minutes": 150, "note": "医生说下周再来"}, "volunteer"
    )
    assert r.json()["status"] == "done"
    mine = centre.client.get(f"{API}/bookings/{bid}", headers=centre.headers("volunteer")).json()
    theirs = centre.client.get(f"{API}/bookings/{bid}", headers=centre.headers("volunteer2")).json()
    assert mine["visit_note"] == "医生说下周再来" and mine["care_notes"] == "右手无力"
    assert theirs["visit_note"] is None and "care_notes" not in theirs
    assert [s["status"] for s in mine["steps"]] == [
        "requested",
        "confirmed",
        "assigned",
        "started",
        "done",
    ]
    roster = centre.client.get(f"{API}/roster", params={"day": MONDAY}, headers=centre.headers())
    assert [v["id"] for v in roster.json()["visits"]] == [bid]


def test_a_clash_is_shown_before_saving_and_refused_without_consent(
    centre: Centre, care: Care
) -> None:
    for start in ("08:00", "09:40"):
        elder = "王秀英" if start == "08:00" else "张桂兰"
        r = post(
            centre,
            "/bookings",
            booking(
                care, service_id=care.services["助浴"], start=start, recipient_id=care.elders[elder]
            ),
        )
        assert r.status_code == 201, r.text
    third = booking(
        care, service_id=care.services["助浴"], start="11:10", recipient_id=care.elders["张桂兰"]
    )
    r = post(centre, "/bookings/check", third)
    assert [c["kind"] for c in r.json()["clashes"]] == ["slot_full"]
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = post(centre, "/bookings", third)
    assert r.status_code == 409 and r.json()["error"] == "clash" and r.json()["field"] == "clash"
    assert "full that morning" in r.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before
    assert post(centre, "/bookings", {**third, "allow_clash": True}).status_code == 201


def test_a_series_over_the_api_skips_the_closed_day(centre: Centre, care: Care) -> None:
    r = centre.client.post(
        "/api/v1/calendar/exceptions",
        json={"day": "2026-12-02", "kind": "closed", "note": "停电"},
        headers=centre.headers(),
    )
    assert r.status_code == 201, r.text
    body = booking(
        care,
        service_id=care.services["送餐"],
        start="11:00",
        weekdays=[0, 2, 4],
        until="2026-12-06",
    )
    r = post(centre, "/bookings", body)
    assert r.status_code == 201, r.text
    assert len(r.json()["booked"]) == 2 and r.json()["skipped"] == [
        {"day": "2026-12-02", "why": "closed"}
    ]
    r = post(centre, f"/series/{r.json()['series_id']}/pause", {"from_day": "2026-12-04"})
    assert r.json()["cancelled"] == 1


def test_the_day_care_grid_taps_and_the_lunch_count(centre: Centre, care: Care) -> None:
    r = post(centre, f"/daycare/{care.elders['张桂兰']}/tap", {"day": MONDAY}, "volunteer")
    assert r.json()["state"] == "in"
    post(centre, "/daycare/walkin-lunch", {"day": MONDAY, "count": 1}, "volunteer")
    day = centre.client.get(
        f"{API}/daycare", params={"day": MONDAY}, headers=centre.headers()
    ).json()
    assert {g["name"]: g["state"] for g in day["grid"]} == {"张桂兰": "in", "王秀英": ""}
    assert day["lunch"]["total"] == 2


def test_a_recipient_gets_a_link_code_and_notes_stay_with_the_manager(
    centre: Centre, care: Care
) -> None:
    body = {
        "household_id": centre.households["张桂兰"],
        "name": "张老伯",
        "care_notes": "听力差，说话大声",
        "family": [{"name": "张伟", "relation": "儿子", "phone": "13800001111"}],
    }
    r = post(centre, "/recipients", body, "staff")
    assert r.status_code == 201, r.text
    made = r.json()
    assert len(made["link_code"]) == 8 and "care_notes" not in made
    assert made["address"] == "3号楼1单元201室"
    seen = centre.client.get(f"{API}/recipients/{made['id']}", headers=centre.headers()).json()
    assert seen["care_notes"] == "听力差，说话大声"
    r = post(centre, f"/recipients/{made['id']}", {"care_notes": "x"}, "staff")
    assert r.status_code == 403
    code = post(centre, f"/recipients/{made['id']}/link-code").json()["link_code"]
    assert code != made["link_code"]


@pytest.mark.parametrize(
    ("path", "body", "field", "detail"),
    [
        ("/bookings", {"day": "2026-02-30"}, "day", "day must be a date as YYYY-MM-DD"),
        (
            "/bookings",
            {"start": "25:00"},
            "start",
            "start must be a time as HH:MM (00:00 to 23:59)",
        ),
        (
            "/bookings",
            {"channel": "family"},
            "channel",
            "family and hotline bookings come through the hub",
        ),
        # an unknown field is refused by the body's struct, which names the body
        ("/bookings", {"colour": "red"}, "data", "data: Object contains unknown field `colour`"),
        ("/bookings", {"weekdays": [0]}, "until", "a series needs both weekdays and until"),
        ("/recipients", {"name": "", "household_id": None}, "name", "name is required"),
        (
            "/recipients",
            {"name": "A", "family": [{"name": "B", "phone": "1"}]},
            "family.phone",
            "family[0].phone must be a mobile or landline number",
        ),
        (
            "/recipients",
            {"name": "A", "birth_date": "1890-01-01"},
            "birth_date",
            "birth_date must be a past date as YYYY-MM-DD, after 1900",
        ),
        (
            "/services",
            {"name": "X", "kind": "x", "minutes": 30, "price_fen": 1},
            "kind",
            "kind must be one of at_centre, at_home, escort",
        ),
        (
            "/services",
            {
                "name": "X",
                "kind": "at_home",
                "minutes": 30,
                "price_fen": 100,
                "subsidised_fen": 200,
            },
            "subsidised_fen",
            "subsidised_fen cannot be above price_fen",
        ),
        (
            "/providers",
            {"name": "X", "kind": "worker"},
            "organisation_id",
            "a worker names the organisation they work for",
        ),
        (
            "/daycare/walkin-lunch",
            {"count": 3},
            "count",
            "count must be 1 or -1 (a correction)",
        ),
    ],
)
def test_bad_bodies_name_the_field_and_change_nothing(
    centre: Centre, care: Care, path: str, body: dict[str, Any], field: str, detail: str
) -> None:
    if path == "/bookings":
        body = booking(care, **body)
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = post(centre, path, body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "bad_request", "detail": detail, "field": field}
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before


def test_a_body_that_is_not_an_object_is_a_400(centre: Centre, care: Care) -> None:
    for path in ("/recipients", "/services", "/bookings"):
        r = centre.client.post(API + path, content=b"[1,2]", headers=centre.headers())
        assert r.status_code == 400, (path, r.text)
    r = centre.client.get(f"{API}/bookings", params={"status": "lost"}, headers=centre.headers())
    assert r.status_code == 400 and r.json()["field"] == "status"
    assert centre.client.get(f"{API}/roster").status_code == 401
