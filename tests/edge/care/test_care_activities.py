"""Activity sign-ups: places up to the capacity, then a waiting list in order; a cancelled
place goes to the first waiting; no one twice; on the tablet as a person would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from care_fixtures import MONDAY, Care, open_care_store, seed_care
from centre_world import Centre
from page_forms import post_form, sign_in

from edge.domain.care import activities
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Store


@pytest.fixture(name="care_store")
def _care_store(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> Iterator[tuple[Store, Care]]:
    yield from open_care_store(tmp_path, centre_template)


def outing(store: Store, care: Care, capacity: int = 2) -> str:
    fields = {"title": "结伴行 · 公园", "day": MONDAY, "start": "14:00", "capacity": capacity}
    desk = care.actors["staff"]
    return store.write_sync(lambda tx: activities.create_activity(tx, fields, desk))


def test_places_then_a_waiting_list_and_a_freed_place_goes_to_the_first(
    care_store: tuple[Store, Care],
) -> None:
    store, care = care_store
    aid, desk = outing(store, care), care.actors["staff"]

    def up(**who: Any) -> dict[str, Any]:
        return store.write_sync(lambda tx: activities.sign_up(tx, aid, desk, **who))

    first = up(recipient_id=care.elders["王秀英"])
    second = up(name="李大爷", phone="13600001111")
    third = up(recipient_id=care.elders["张桂兰"])
    fourth = up(name="赵阿姨")
    assert [s["status"] for s in (first, second, third, fourth)] == [
        "booked",
        "booked",
        "waiting",
        "waiting",
    ]
    assert (third["position"], fourth["position"]) == (1, 2)
    with pytest.raises(Conflict) as twice:
        up(recipient_id=care.elders["王秀英"])
    assert "already signed up" in twice.value.detail
    with pytest.raises(Conflict):
        up(name="李大爷", phone="136 0000 1111")
    promoted = store.write_sync(lambda tx: activities.cancel(tx, first["id"], desk))
    assert promoted == third["id"]
    seen = store.read_sync(lambda c: activities.view(c, aid))
    assert [p["name"] for p in seen["booked"]] == ["李大爷", "张桂兰"]
    assert seen["booked"][1]["promoted_at"] is not None and seen["left"] == 0
    assert [(p["name"], p["position"]) for p in seen["waiting"]] == [("赵阿姨", 1)]
    assert store.write_sync(lambda tx: activities.cancel(tx, first["id"], desk)) is None
    assert store.write_sync(lambda tx: activities.cancel(tx, fourth["id"], desk)) is None
    assert store.read_sync(lambda c: activities.view(c, aid))["waiting"] == []
    # the one who cancelled may sign up again: at the end of the line
    again = up(recipient_id=care.elders["王秀英"])
    assert (again["status"], again["position"]) == ("waiting", 1)
    listed = store.read_sync(lambda c: activities.list_activities(c, MONDAY))
    assert [(a["booked"], a["waiting"]) for a in listed] == [(2, 1)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"title": ""}, "title"),
        ({"day": "2026-13-01"}, "day"),
        ({"start": "25:00"}, "start"),
    ],
)
def test_a_bad_activity_names_the_field(
    care_store: tuple[Store, Care], fields: dict[str, Any], field: str
) -> None:
    store, care = care_store
    body = {"title": "邻里情", "day": MONDAY, "start": "14:00", "capacity": 5, **fields}
    with pytest.raises(BadRequest) as caught:
        store.write_sync(lambda tx: activities.create_activity(tx, body, care.actors["staff"]))
    assert caught.value.field == field


def test_a_sign_up_needs_someone(care_store: tuple[Store, Care]) -> None:
    store, care = care_store
    aid, desk = outing(store, care), care.actors["volunteer"]
    with pytest.raises(BadRequest) as caught:
        store.write_sync(lambda tx: activities.sign_up(tx, aid, desk, name=" "))
    assert caught.value.field == "name"
    with pytest.raises(NotFound):
        store.write_sync(lambda tx: activities.sign_up(tx, "nope", desk, name="李"))


def test_on_the_tablet(centre: Centre) -> None:
    store = centre.client.app.state.store
    care = seed_care(store, centre.households)
    sign_in(centre.client, "volunteer")
    new = {"title": "优惠帮 · 团购", "day": MONDAY, "start": "09:00", "capacity": "1"}
    assert post_form(centre, "/care/activities", new, "/care/activities").status_code == 403
    sign_in(centre.client, "staff")
    bad = post_form(centre, "/care/activities", {**new, "capacity": "很多"}, "/care/activities")
    assert bad.status_code == 400 and "capacity" in bad.text
    r = post_form(centre, "/care/activities", new, "/care/activities")
    assert r.status_code == 303
    page = r.headers["location"]
    post_form(centre, f"{page}/signups", {"recipient_id": care.elders["王秀英"]}, page)
    r = post_form(centre, f"{page}/signups", {"name": "李大爷", "phone": "13600001111"}, page)
    assert r.status_code == 303
    shown = centre.client.get(page).text
    assert "候补名单 (1)" in shown and "李大爷" in shown and "剩余名额" in shown
    r = post_form(centre, f"{page}/signups", {"recipient_id": care.elders["王秀英"]}, page)
    assert r.status_code == 409 and "already signed up" in r.text
    first = store.read_sync(
        lambda c: c.execute("SELECT id FROM care_signups WHERE status = 'booked'").fetchone()[0]
    )
    post_form(centre, f"{page}/signups/{first}/cancel", {}, page)
    shown = centre.client.get(page).text
    assert "候补转正" in shown and "没有人候补" in shown
    assert "1 / 1" in centre.client.get("/care/activities").text
