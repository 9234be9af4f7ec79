"""Orders through the real API on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3

from centre_world import Centre, count, order_body


def test_create_order_gets_next_delivery_day_code_and_estimate(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/orders",
        json=order_body(centre),
        headers=centre.headers(**{"Idempotency-Key": "k1"}),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["pickup_date"] == "2026-11-30"
    assert len(body["pickup_code"]) == 4
    order = centre.client.get(f"/api/v1/orders/{body['id']}", headers=centre.headers()).json()
    # 5 斤 土豆 at 1.80/斤 + 6 橙子 at 1.50 + one 5元5个 bundle of 馒头
    assert order["estimated_fen"] == 900 + 900 + 500
    units = {i["product_name"]: (i["qty_unit"], i["quantity"]) for i in order["items"]}
    assert units == {"土豆": ("g", 2500), "橙子": ("piece", 6), "馒头": ("bundle", 1)}
    assert order["status"] == "placed"


def test_same_idempotency_key_makes_one_order(centre: Centre) -> None:
    h = centre.headers(**{"Idempotency-Key": "tablet-42"})
    first = centre.client.post("/api/v1/orders", json=order_body(centre), headers=h)
    again = centre.client.post("/api/v1/orders", json=order_body(centre), headers=h)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == 1


def test_order_after_cutoff_is_told_its_day(centre: Centre) -> None:
    centre.clock.now = centre.clock.now.replace(hour=21)  # Sunday 21:00, past cut-off
    r = centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    assert r.status_code == 201
    assert r.json()["pickup_date"] == "2026-12-02"  # Wednesday
    assert "2026-11-30" in r.json()["notice"]


def test_explicit_day_past_cutoff_is_refused(centre: Centre) -> None:
    centre.clock.now = centre.clock.now.replace(hour=21)
    r = centre.client.post(
        "/api/v1/orders",
        json=order_body(centre, pickup_date="2026-11-30"),
        headers=centre.headers(),
    )
    assert r.status_code == 400 and r.json()["field"] == "pickup_date"
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == 0


def test_order_for_new_household_by_family_member(centre: Centre) -> None:
    body = order_body(
        centre,
        household_id=None,
        channel="family",
        placed_by="儿子 李强",
        household={
            "name": "李大爷",
            "phone": "139 5321 0000",
            "building": "12",
            "room": "301",
            "home_delivery": True,
        },
    )
    r = centre.client.post("/api/v1/orders", json=body, headers=centre.headers())
    assert r.status_code == 201, r.text
    order = centre.client.get(f"/api/v1/orders/{r.json()['id']}", headers=centre.headers()).json()
    assert order["delivery_mode"] == "home"
    assert order["phone"] == "13953210000" and order["placed_by"] == "儿子 李强"


def test_status_moves_forward_only(centre: Centre) -> None:
    order_id = centre.client.post(
        "/api/v1/orders", json=order_body(centre), headers=centre.headers()
    ).json()["id"]
    move = lambda s: centre.client.post(
        f"/api/v1/orders/{order_id}/status", json={"status": s}, headers=centre.headers()
    )
    assert move("packed").status_code == 200
    assert move("packed").status_code == 200  # repeating a move is harmless
    back = move("placed")
    assert back.status_code == 409 and "packed" in back.json()["detail"]
    cancelled = centre.client.post(f"/api/v1/orders/{order_id}/cancel", headers=centre.headers())
    assert cancelled.json()["status"] == "cancelled"
    assert move("packed").status_code == 409  # an ended order stays ended


def test_cancel_never_undoes_a_pickup(centre: Centre) -> None:
    body = order_body(centre, items=[{"product_id": centre.products["橙子"], "quantity": 2}])
    order_id = centre.client.post("/api/v1/orders", json=body, headers=centre.headers()).json()[
        "id"
    ]
    r = centre.client.post(
        f"/api/v1/orders/{order_id}/pickup",
        json={"method": "cash", "amount_fen": 300},
        headers=centre.headers(),
    )
    assert r.status_code == 200, r.text
    r = centre.client.post(f"/api/v1/orders/{order_id}/cancel", headers=centre.headers())
    assert r.status_code == 409
    order = centre.client.get(f"/api/v1/orders/{order_id}", headers=centre.headers()).json()
    assert order["status"] == "picked_up"


def test_every_mutation_writes_its_change_log_rows(centre: Centre) -> None:
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    order_id = r.json()["id"]
    conn = sqlite3.connect(centre.db_path)
    rows = conn.execute(
        "SELECT seq, tbl, row_id, op, fields, hlc FROM changes WHERE seq > ? ORDER BY seq",
        (before,),
    ).fetchall()
    conn.close()
    assert [(t, op) for _, t, _, op, _, _ in rows] == [("orders", "insert")] + [
        ("order_items", "insert")
    ] * 3
    assert rows[0][2] == order_id and json.loads(rows[0][4])["status"] == "placed"
    seqs = [r[0] for r in rows]
    assert seqs == list(range(before + 1, before + 5))
    hlcs = [r[5] for r in rows]
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == len(hlcs)
    centre.client.post(
        f"/api/v1/orders/{order_id}/status", json={"status": "packed"}, headers=centre.headers()
    )
    assert (
        count(
            centre.db_path,
            "SELECT COUNT(*) FROM changes WHERE tbl='orders' AND op='update' AND row_id=?",
            (order_id,),
        )
        == 1
    )


def test_failed_order_writes_nothing_not_even_the_log(centre: Centre) -> None:
    before_changes = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    body = order_body(
        centre, household_id=None, household={"name": "新住户", "phone": "13900001111"}
    )
    body["items"].append({"product_id": "no-such-product", "quantity": 1})
    r = centre.client.post("/api/v1/orders", json=body, headers=centre.headers())
    assert r.status_code == 400 and r.json()["field"] == "items[3].product_id"
    # the household created earlier in the same transaction rolled back too
    assert count(centre.db_path, "SELECT COUNT(*) FROM households WHERE name='新住户'") == 0
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before_changes


def test_list_and_search_by_code_phone_tail_name_nickname(centre: Centre) -> None:
    made = centre.client.post(
        "/api/v1/orders", json=order_body(centre), headers=centre.headers()
    ).json()
    centre.client.post(
        "/api/v1/orders",
        json=order_body(centre, household_id=centre.households["王秀英"]),
        headers=centre.headers(),
    )
    day = "2026-11-30"

    def search(q: str) -> list[str]:
        r = centre.client.get(
            "/api/v1/orders", params={"pickup_date": day, "q": q}, headers=centre.headers()
        )
        assert r.status_code == 200, r.text
        return [o["household_name"] for o in r.json()]

    assert search(made["pickup_code"]) == ["张桂兰"]
    assert search("1234") == ["张桂兰"]
    assert search("王秀") == ["王秀英"]
    assert search("王奶奶") == ["王秀英"]
    assert len(search("")) == 2
    assert search("9999") == []
