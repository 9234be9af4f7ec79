"""Undoing a money step: a hand-over, a payment, a walk-in sale.

Through the real app on a real SQLite file: a correction is a row of its own
(history untouched) with who and why; money leaving the drawer needs a
manager's PIN; the day's takings, the Today page and the co-op reconciliation
follow it; and it travels to a real hub, which lets the voided hand-over move
its order back (and still refuses any other backward move).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from centre_world import Centre, count, order_body
from page_forms import csrf, sign_in
from sync_fixtures import HUB_URL, add_household, add_order, enrol_centre, hub_app, set_status

from edge.domain import corrections, pickup
from edge.domain.supply import reconciliation
from edge.errors import BadRequest, Forbidden
from edge.store import Tx
from hub.app import Hub

MONDAY = "2026-11-30"
SUNDAY = "2026-11-29"


def _handed_over(c: Centre, amount_fen: int = 2300, on_credit: bool = False) -> str:
    """23.00 of 土豆 (weighed 5 斤), 橙子 and 馒头, handed over through the API."""
    r = c.client.post("/api/v1/orders", headers=c.headers(), json=order_body(c))
    order_id = str(r.json()["id"])
    items = c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()["items"]
    potato = next(i["id"] for i in items if i["sold_by"] == "weight")
    done = c.client.post(
        f"/api/v1/orders/{order_id}/pickup",
        headers=c.headers(),
        json={
            "method": "cash",
            "amount_fen": amount_fen,
            "on_credit": on_credit,
            "weights": [{"item_id": potato, "grams": 2500}],
        },
    )
    assert done.status_code == 200, done.text
    return order_id


def _takings(c: Centre, day: str = MONDAY) -> dict[str, Any]:
    r = c.client.get("/api/v1/dashboard", params={"day": day}, headers=c.headers())
    return dict(r.json())


def _undo(c: Centre, path: str, **form: str) -> Any:
    token = csrf(c.client, path)
    return c.client.post(path, data={"_csrf_token": token, **form}, follow_redirects=False)


def test_undo_a_hand_over_needs_a_reason_and_a_managers_pin(centre: Centre) -> None:
    c = centre
    order_id = _handed_over(c)
    assert _takings(c)["takings_fen"] == 2300
    sign_in(c.client, "staff")
    path = f"/undo/handover/{order_id}"
    confirm = c.client.get(path)
    assert re.search(r'id="undo-back">¥23.00<', confirm.text)
    assert 'name="manager_pin"' in confirm.text and "manager" in confirm.text
    before = count(c.db_path, "SELECT COUNT(*) FROM changes")

    no_reason = _undo(c, path, manager_name="manager", manager_pin="1234")
    assert no_reason.status_code == 400 and "请说明原因" in no_reason.text
    no_pin = _undo(c, path, reason="Wrong order handed over")
    assert no_pin.status_code == 403 and "退钱要站长" in no_pin.text
    wrong_pin = _undo(
        c, path, reason="Wrong order handed over", manager_name="manager", manager_pin="9999"
    )
    assert wrong_pin.status_code == 403
    not_manager = _undo(
        c, path, reason="Wrong order handed over", manager_name="staff", manager_pin="1234"
    )
    assert not_manager.status_code == 403
    assert count(c.db_path, "SELECT COUNT(*) FROM money_corrections") == 0
    assert count(c.db_path, "SELECT COUNT(*) FROM changes") == before  # nothing written

    ok = _undo(
        c, path, reason="Wrong order handed over", manager_name="manager", manager_pin="1234"
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/desk/{order_id}?undone=1"
    conn = sqlite3.connect(c.db_path)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM money_corrections").fetchone()
        order = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        payment = conn.execute("SELECT * FROM payments").fetchone()
        staff = {r["name"]: r["id"] for r in conn.execute("SELECT id, name FROM staff")}
        logged = [
            r["tbl"] for r in conn.execute("SELECT tbl FROM changes WHERE seq > ?", (before,))
        ]
    finally:
        conn.close()
    assert row["kind"] == "void_handover" and row["amount_fen"] == -2300
    assert row["reason"] == "交错了订单" and row["payment_id"] == payment["id"]
    assert row["staff_id"] == staff["staff"] and row["manager_id"] == staff["manager"]
    assert payment["amount_fen"] == 2300  # history stays as it was taken
    assert order["status"] == "packed" and order["paid_fen"] == 0
    assert logged == ["money_corrections", "orders"]  # the correction travels first
    assert _takings(c)["takings_fen"] == 0 and _takings(c)["given_back_fen"] == 2300

    today = c.client.get("/", params={"day": MONDAY})
    assert re.search(r'id="tile-takings"><b>¥0.00</b>', today.text)
    assert 'id="corrections"' in today.text and "交错了订单" in today.text
    assert "站长 manager" in today.text
    # Back at the desk, open again: weigh and take payment once more.
    desk = c.client.get(f"/desk/{order_id}")
    assert 'id="hand-over"' in desk.text
    again = _undo(
        c, path, reason="Wrong order handed over", manager_name="manager", manager_pin="1234"
    )
    assert again.status_code == 409  # nothing handed over to undo
    assert count(c.db_path, "SELECT COUNT(*) FROM money_corrections") == 1


def test_undoing_a_pay_later_hand_over_gives_nothing_back_so_needs_no_pin(centre: Centre) -> None:
    c = centre
    order_id = _handed_over(c, amount_fen=0, on_credit=True)
    sign_in(c.client, "staff")
    path = f"/undo/handover/{order_id}"
    assert 'name="manager_pin"' not in c.client.get(path).text
    ok = _undo(c, path, reason_text="拿错了")
    assert ok.status_code == 303
    assert count(c.db_path, "SELECT COUNT(*) FROM orders WHERE status = 'packed'") == 1
    assert _takings(c)["owed_fen"] == 0  # reopened: nothing owed on an open order


def test_undo_a_payment_keeps_the_hand_over_and_owes_it_again(centre: Centre) -> None:
    c = centre
    order_id = _handed_over(c)
    sign_in(c.client, "staff")
    detail = c.client.get(f"/orders/{order_id}")
    payment_id = re.search(r'href="/undo/payment/([0-9A-Z]+)"', detail.text).group(1)  # type: ignore[union-attr]
    ok = _undo(
        c,
        f"/undo/payment/{payment_id}",
        reason="Paid another way",
        manager_name="manager",
        manager_pin="1234",
    )
    assert ok.status_code == 303
    summary = _takings(c)
    assert summary["takings_fen"] == 0 and summary["owed_fen"] == 2300
    assert count(c.db_path, "SELECT COUNT(*) FROM orders WHERE status = 'picked_up'") == 1
    detail = c.client.get(f"/orders/{order_id}")
    assert "已撤销" in detail.text and 'id="settle"' in detail.text  # pay it again
    twice = _undo(
        c,
        f"/undo/payment/{payment_id}",
        reason="Paid another way",
        manager_name="manager",
        manager_pin="1234",
    )
    assert twice.status_code == 409
    # The payment taken again counts; the reversed one stays out.
    settled = c.client.post(
        f"/api/v1/orders/{order_id}/settle",
        headers=c.headers(),
        json={"method": "wechat", "amount_fen": 2300, "owed_fen": 2300},
    )
    assert settled.status_code == 200, settled.text
    assert _takings(c)["takings_fen"] == 2300


def test_undo_a_walkin_sale_leaves_the_takings_and_the_reconciliation(centre: Centre) -> None:
    c = centre
    sign_in(c.client, "staff")
    orange = c.products["橙子"]
    token = csrf(c.client, "/walkin")
    c.client.post(
        "/walkin",
        data={"_csrf_token": token, "token": "w1", "method": "cash", f"qty_{orange}": "3"},
    )
    sale_id = _one(c, "SELECT id FROM walkin_sales")
    assert _takings(c, SUNDAY)["walkin_takings_fen"] == 450
    assert _sold_walkin(c, orange) == 3
    refused = _undo(c, f"/undo/sale/{sale_id}", reason="The resident did not take it")
    assert refused.status_code == 403
    ok = _undo(
        c,
        f"/undo/sale/{sale_id}",
        reason="The resident did not take it",
        manager_name="manager",
        manager_pin="1234",
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/walkin?undone=1"
    summary = _takings(c, SUNDAY)
    assert summary["walkin_takings_fen"] == 0 and summary["walkin_sales"] == 0
    assert _sold_walkin(c, orange) == 0  # its goods count as unsold
    assert count(c.db_path, "SELECT COUNT(*) FROM walkin_sales") == 1  # never deleted
    page = c.client.get("/walkin")
    assert 'class="voided"' in page.text and "已撤销" in page.text


def test_the_domain_refuses_money_out_without_a_manager(centre: Centre) -> None:
    c = centre
    order_id = _handed_over(c)
    staff_id = _one(c, "SELECT id FROM staff WHERE name = 'staff'")
    store = c.client.app.state.store
    for manager in (None, staff_id):

        def void(tx: Tx, manager: str | None = manager) -> Any:
            return corrections.void_handover(
                tx, order_id, reason="x", staff_id=staff_id, manager_id=manager
            )

        with pytest.raises(Forbidden) as refused:
            store.write_sync(void)
        assert refused.value.field == "manager_pin"
    with pytest.raises(BadRequest) as no_reason:
        store.write_sync(
            lambda tx: corrections.void_payment(tx, "nope", reason="  ", staff_id=staff_id)
        )
    assert no_reason.value.field == "reason"
    assert count(c.db_path, "SELECT COUNT(*) FROM money_corrections") == 0


def _one(c: Centre, sql: str) -> Any:
    conn = sqlite3.connect(c.db_path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _sold_walkin(c: Centre, product_id: str) -> int:
    conn = sqlite3.connect(c.db_path)
    conn.row_factory = sqlite3.Row
    try:
        doc = reconciliation.reconcile(conn, c.site_id, SUNDAY)
    finally:
        conn.close()
    return sum(x["sold_walkin"] for x in doc["lines"] if x["product_id"] == product_id)


# --- sync: the correction travels, and the hub lets the voided hand-over move back ---------


@pytest.mark.anyio
async def test_a_correction_reaches_the_hub_and_reopens_the_order_there(tmp_path: Path) -> None:
    app = hub_app(tmp_path / "hub.db")
    hub: Hub = app.state.hub
    a = enrol_centre(hub.store, tmp_path / "a.db", "金沙路社区")

    def hand_over(tx: Tx) -> tuple[str, str]:
        staff = tx.one("SELECT id FROM staff LIMIT 1")
        if staff is None:
            from edge.domain.auth import add_staff

            staff_id = add_staff(tx, "小玮", "manager", "1234").id
        else:
            staff_id = staff["id"]
        oid = add_order(tx, add_household(tx), items=1)
        item = tx.one("SELECT id FROM order_items WHERE order_id = ?", (oid,))
        assert item is not None
        weighed = [pickup.Weighing(str(item["id"]), 2500)]  # 5 斤 at 1.50: 7.50
        pickup.complete(tx, oid, method="cash", amount_fen=1000, weighings=weighed)
        return oid, staff_id

    try:
        async with app.lifespan():
            oid, manager = a.store.write_sync(hand_over)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=HUB_URL
            ) as client:
                agent = a.agent(client, hub_site_id=None)
                assert (await agent.sync_once()).ok
                assert _hub(tmp_path, "SELECT status FROM orders WHERE id = ?", oid) == "picked_up"
                a.store.write_sync(
                    lambda tx: corrections.void_handover(
                        tx, oid, reason="交错了", staff_id=manager, manager_id=manager
                    )
                )
                report = await agent.sync_once()
                assert report.ok, report
            assert _hub(tmp_path, "SELECT status FROM orders WHERE id = ?", oid) == "packed"
            assert _hub(tmp_path, "SELECT paid_fen FROM orders WHERE id = ?", oid) == 0
            row = json.loads(
                _hub(
                    tmp_path,
                    "SELECT json_object('kind', kind, 'amount', amount_fen, 'reason', reason)"
                    " FROM money_corrections WHERE order_id = ?",
                    oid,
                )
            )
            assert row == {"kind": "void_handover", "amount": -750, "reason": "交错了"}
    finally:
        a.store.close()


def test_the_hub_still_refuses_a_backward_move_without_a_voided_hand_over(tmp_path: Path) -> None:
    from sync.merge import Schema, _status_guard

    app = hub_app(tmp_path / "hub.db")
    hub: Hub = app.state.hub
    oid = hub.store.write_sync(lambda tx: _picked_up(tx))
    conn = sqlite3.connect(tmp_path / "hub.db")
    try:
        Schema.load(conn)  # the hub's copy has the corrections table (m007 ran there too)
        from edge.store.changelog import Change

        back = Change("s", 1, 1, "orders", oid, "update", {"status": "packed"})
        assert _status_guard(conn, back, {"status": "packed"}) == {}
        conn.execute(
            "INSERT INTO money_corrections (id, site_id, kind, day, order_id, amount_fen,"
            " reason, staff_id, created_at) VALUES ('c1', 's', 'void_handover', '2030-01-07',"
            " ?, 0, 'x', 'st', 'now')",
            (oid,),
        )
        assert _status_guard(conn, back, {"status": "packed"}) == {"status": "packed"}
        placed = Change("s", 2, 2, "orders", oid, "update", {"status": "placed"})
        assert _status_guard(conn, placed, {"status": "placed"}) == {}  # only back to packed
    finally:
        conn.close()
        hub.store.close()


def _picked_up(tx: Tx) -> str:
    oid = add_order(tx, None, items=1)
    set_status(tx, oid, "picked_up")
    return oid


def _hub(tmp_path: Path, sql: str, *params: Any) -> Any:
    conn = sqlite3.connect(tmp_path / "hub.db")
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def test_the_api_voids_with_the_same_rules(centre: Centre) -> None:
    c = centre
    sale = c.client.post(
        "/api/v1/walkin",
        headers=c.headers("staff"),
        json={"lines": [{"product_id": c.products["橙子"], "quantity": 2}], "method": "cash"},
    )
    sale_id = sale.json()["sale_id"]
    url = "/api/v1/corrections"
    body = {"kind": "void_sale", "target_id": sale_id, "reason": "卖错了"}
    bad_kind = c.client.post(url, headers=c.headers("staff"), json={**body, "kind": "refund"})
    assert bad_kind.status_code == 400 and bad_kind.json()["field"] == "kind"
    no_pin = c.client.post(url, headers=c.headers("staff"), json=body)
    assert no_pin.status_code == 403 and no_pin.json()["field"] == "manager_pin"
    wrong = {**body, "manager_name": "manager", "manager_pin": "0000"}
    refused = c.client.post(url, headers=c.headers("staff"), json=wrong)
    assert refused.status_code == 403 and refused.json()["field"] == "manager_pin"
    ok = {**body, "manager_name": "manager", "manager_pin": "1234"}
    done = c.client.post(url, headers=c.headers("staff"), json=ok)
    assert done.status_code == 201, done.text
    assert done.json()["given_back_fen"] == 300
    again = c.client.post(url, headers=c.headers("staff"), json=ok)
    assert again.status_code == 409
    listed = c.client.get(url, params={"day": SUNDAY}, headers=c.headers("staff")).json()
    assert [(x["kind"], x["amount_fen"], x["reason"]) for x in listed] == [
        ("void_sale", -300, "卖错了")
    ]
    assert _takings(c, SUNDAY)["walkin_takings_fen"] == 0


def test_the_api_answers_a_voided_payment_and_hand_over(centre: Centre) -> None:
    """Each kind of undo answers its own shape (edge.web.api.replies), and the money in it."""
    c = centre
    url = "/api/v1/corrections"
    manager = {"manager_name": "manager", "manager_pin": "1234", "reason": "收错了"}
    order_id = _handed_over(c)
    order = c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()
    payment_id = order["payments"][0]["id"]
    voided = c.client.post(
        url,
        headers=c.headers("staff"),
        json={"kind": "void_payment", "target_id": payment_id, **manager},
    )
    assert voided.status_code == 201, voided.text
    body = voided.json()
    assert set(body) == {"order_id", "given_back_fen", "owed_fen", "correction"}
    assert (body["order_id"], body["given_back_fen"], body["owed_fen"]) == (order_id, 2300, 2300)
    other = _handed_over(c)
    reopened = c.client.post(
        url,
        headers=c.headers("staff"),
        json={"kind": "void_handover", "target_id": other, **manager},
    )
    assert reopened.status_code == 201, reopened.text
    body = reopened.json()
    assert set(body) == {"order_id", "status", "given_back_fen", "corrections"}
    assert (body["order_id"], body["status"], body["given_back_fen"]) == (other, "packed", 2300)
    assert [x["amount_fen"] for x in body["corrections"]] == [-2300]
