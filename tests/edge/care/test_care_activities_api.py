"""The activities JSON API under /api/v1/care on the real app: the list from a day,
one activity with its places and waiting list, sign-up and cancel with a freed place
going to the first waiting; typed answers (in the OpenAPI document) and 4xx naming the
field for bad input, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from care_fixtures import MONDAY, Care, seed_care
from centre_world import Centre, count

from edge.domain.care import activities

API = "/api/v1/care"


@pytest.fixture
def care(centre: Centre) -> Care:
    return seed_care(centre.client.app.state.store, centre.households)


@pytest.fixture
def outing(centre: Centre, care: Care) -> str:
    fields = {
        "title": "结伴行 · 公园",
        "day": MONDAY,
        "start": "14:00",
        "capacity": 2,
        "place": "东门",
    }
    store = centre.client.app.state.store
    return store.write_sync(lambda tx: activities.create_activity(tx, fields, care.actors["staff"]))


def post(c: Centre, path: str, body: Any = None, who: str = "manager") -> Any:
    return c.client.post(API + path, json=body if body is not None else {}, headers=c.headers(who))


def test_list_sign_up_wait_cancel_and_promote(centre: Centre, care: Care, outing: str) -> None:
    listed = centre.client.get(
        f"{API}/activities", params={"from_day": MONDAY}, headers=centre.headers()
    )
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": outing,
            "title": "结伴行 · 公园",
            "day": MONDAY,
            "start": "14:00",
            "minutes": 60,
            "place": "东门",
            "capacity": 2,
            "note": "",
            "booked": 0,
            "waiting": 0,
            "left": 2,
        }
    ]
    later = centre.client.get(
        f"{API}/activities", params={"from_day": "2099-01-01"}, headers=centre.headers()
    )
    assert later.json() == []
    signup = f"/activities/{outing}/signups"
    first = post(centre, signup, {"recipient_id": care.elders["王秀英"]})
    second = post(centre, signup, {"name": "李大爷", "phone": "13600001111"})
    third = post(centre, signup, {"recipient_id": care.elders["张桂兰"]}, who="volunteer")
    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    assert [(r.json()["status"], r.json()["position"]) for r in (first, second, third)] == [
        ("booked", 0),
        ("booked", 0),
        ("waiting", 1),
    ]
    assert first.json()["activity_id"] == outing
    again = post(centre, signup, {"name": "李大爷", "phone": "136 0000 1111"})
    assert again.status_code == 409 and again.json()["field"] == "name"
    seen = centre.client.get(f"{API}/activities/{outing}", headers=centre.headers()).json()
    assert (seen["activity"]["booked"], seen["activity"]["left"]) == (2, 0)
    assert [p["name"] for p in seen["booked"]] == ["王秀英", "李大爷"]
    assert seen["booked"][1]["phone"] == "13600001111"
    assert [(p["name"], p["position"]) for p in seen["waiting"]] == [("张桂兰", 1)]
    masked = centre.client.get(f"{API}/activities/{outing}", headers=centre.headers("volunteer"))
    assert masked.json()["booked"][1]["phone"] != "13600001111"  # volunteers: masked
    cancelled = post(centre, f"/signups/{first.json()['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "id": first.json()["id"],
        "status": "cancelled",
        "promoted": third.json()["id"],
    }
    twice = post(centre, f"/signups/{first.json()['id']}/cancel")
    assert twice.status_code == 200 and twice.json()["promoted"] is None
    seen = centre.client.get(f"{API}/activities/{outing}", headers=centre.headers()).json()
    assert [p["name"] for p in seen["booked"]] == ["李大爷", "张桂兰"]
    assert seen["booked"][1]["promoted_at"] and seen["waiting"] == []


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({}, "name", 400),
        ({"name": "   "}, "name", 400),
        ({"recipient_id": "nosuch"}, "recipient_id", 404),
        ({"recipient_id": "x", "name": "李大爷"}, "name", 400),
        ({"name": "李大爷", "phone": "12"}, "phone", 400),
        ({"name": "李" * 41}, "name", 400),
        ({"name": "李大爷", "age": 80}, "age", 400),
        ({"name": 5}, "name", 400),
    ],
)
def test_bad_sign_ups_name_the_field_and_change_nothing(
    centre: Centre, care: Care, outing: str, body: dict[str, Any], field: str, status: int
) -> None:
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = post(centre, f"/activities/{outing}/signups", body)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field or field in r.json()["detail"], r.json()
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before


def test_unknown_ids_bad_days_and_no_token(centre: Centre, care: Care, outing: str) -> None:
    h = centre.headers()
    assert post(centre, "/activities/nosuch/signups", {"name": "李大爷"}).status_code == 404
    assert post(centre, "/signups/nosuch/cancel").status_code == 404
    assert centre.client.get(f"{API}/activities/nosuch", headers=h).status_code == 404
    for day in ("2030-13-01", "someday", "20300107"):
        r = centre.client.get(f"{API}/activities", params={"from_day": day}, headers=h)
        assert r.status_code == 400 and r.json()["field"] == "from_day", day
    r = centre.client.post(f"{API}/activities/{outing}/signups", content=b"[1]", headers=h)
    assert r.status_code == 400
    assert centre.client.get(f"{API}/activities").status_code == 401
    assert centre.client.post(f"{API}/activities/{outing}/signups", json={}).status_code == 401


def test_the_answers_are_typed_in_the_openapi_document(centre: Centre) -> None:
    doc = centre.client.get("/schema/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name in ("ActivityOut", "ActivityDetailOut", "SignupOut", "CancelOut", "SignupBody"):
        assert any(k.endswith(name) for k in schemas), name
    op = doc["paths"]["/api/v1/care/activities/{activity_id}/signups"]["post"]
    assert "201" in op["responses"] and "400" in op["responses"]
