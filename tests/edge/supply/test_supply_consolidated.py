"""The consolidated order: totals, buffers, lock at cut-off, numbered amendments, text, CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import datetime
from typing import Any

from centre_world import Centre
from supply_world import AFTER_CUTOFF, MONDAY, MONDAY_0600, lines_by_name, place

from edge.domain.supply.consolidated import lock_due
from edge.store import open_store


def _get(c: Centre, **params: Any) -> Any:
    r = c.client.get(
        "/api/v1/consolidated", params={"delivery_date": MONDAY, **params}, headers=c.headers()
    )
    assert r.status_code == 200, r.text
    return r


def _versions(c: Centre) -> list[sqlite3.Row]:
    conn = sqlite3.connect(c.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM supply_consolidated ORDER BY version").fetchall()
    finally:
        conn.close()


def test_totals_orders_plus_buffer_in_co_op_units(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤"), ("橙子", 6, None), ("馒头", 1, "份"), ("青椒", 4, "个")])
    place(sc, [("土豆", 2.5, "斤"), ("青椒", 1, "斤")], who="王秀英")
    r = sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers(),
        json={"delivery_date": MONDAY, "product_id": sc.products["土豆"], "jin": 10},
    )
    assert r.status_code == 200, r.text
    doc = _get(sc).json()
    assert doc["status"] == "open" and doc["version"] is None
    got = lines_by_name(doc)
    assert got[("土豆", "g")] == 8750  # 7.5 斤 ordered + 10 斤 buffer
    assert got[("橙子", "piece")] == 6
    assert got[("馒头", "bundle")] == 1
    assert got[("青椒", "piece")] == 4  # ordered in pieces: its own line
    assert got[("青椒", "g")] == 500
    potato = next(x for x in doc["lines"] if x["product_name"] == "土豆")
    assert potato["co_op_quantity"] == "17.5" and potato["co_op_unit"] == "斤"
    assert potato["ordered"] == 3750 and potato["buffer"] == 5000
    assert _versions(sc) == []  # reading before the cut-off locks nothing


def test_cancelled_orders_do_not_count(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤")])
    cancelled = place(sc, [("土豆", 3, "斤")], who="王秀英")
    sc.client.post(f"/api/v1/orders/{cancelled}/cancel", headers=sc.headers())
    assert lines_by_name(_get(sc).json())[("土豆", "g")] == 2500


def test_buffer_needs_manager(sc: Centre) -> None:
    r = sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers("staff"),
        json={"delivery_date": MONDAY, "product_id": sc.products["土豆"], "jin": 1},
    )
    assert r.status_code == 403


def test_locks_at_cutoff_when_read_and_amends_by_number(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    second = place(sc, [("土豆", 2, "斤")], who="王秀英")
    sc.clock.now = AFTER_CUTOFF
    doc = _get(sc).json()
    assert doc["status"] == "locked" and doc["version"] == 1
    assert lines_by_name(doc)[("土豆", "g")] == 3500
    assert _get(sc).json()["version"] == 1  # reading again writes nothing new
    assert len(_versions(sc)) == 1

    # a cancellation after the cut-off: an amendment, never a silent change
    r = sc.client.post(f"/api/v1/orders/{second}/cancel", headers=sc.headers())
    assert r.status_code == 200, r.text
    doc = _get(sc).json()
    assert doc["status"] == "amended" and doc["version"] == 2
    assert lines_by_name(doc)[("土豆", "g")] == 2500
    assert doc["amendments"][0]["diff"] == [
        {
            "product_id": sc.products["土豆"],
            "product_name": "土豆",
            "qty_unit": "g",
            "unit_label": "斤",
            "before": 3500,
            "after": 2500,
            "change": -1000,
        }
    ]
    # a buffer edit after the cut-off amends at once
    r = sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers(),
        json={"delivery_date": MONDAY, "product_id": sc.products["橙子"], "quantity": 10},
    )
    assert r.json()["amended_version"] == 3
    rows = _versions(sc)
    assert [(v["version"], v["kind"]) for v in rows] == [
        (1, "locked"),
        (2, "amendment"),
        (3, "amendment"),
    ]
    # version 1 is kept as it was
    conn = sqlite3.connect(sc.db_path)
    try:
        v1 = conn.execute(
            "SELECT SUM(total_qty) FROM supply_consolidated_lines"
            " WHERE version = 1 AND qty_unit = 'g'"
        ).fetchone()[0]
        logged = conn.execute(
            "SELECT COUNT(*) FROM changes WHERE tbl = 'supply_consolidated'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert v1 == 3500 and logged == 3  # every version went through the change log


def test_lock_due_locks_without_a_reader_and_stops_amending_on_the_day(sc: Centre) -> None:
    first = place(sc, [("土豆", 5, "斤")])
    place(sc, [("橙子", 2, None)], who="王秀英")
    sc.client.app.state.store.close()  # the box's background loop, on its own store
    with open_store(sc.db_path) as store:
        assert store.write_sync(lambda tx: lock_due(tx, datetime(2026, 11, 29, 19, 59))) == []
        assert store.write_sync(lambda tx: lock_due(tx, AFTER_CUTOFF)) == [(MONDAY, 1)]
        assert store.write_sync(lambda tx: lock_due(tx, AFTER_CUTOFF)) == []
        from edge.domain import orders

        store.write_sync(lambda tx: orders.cancel(tx, first))
        # on the delivery day itself the van is loaded: no more amendments
        assert store.write_sync(lambda tx: lock_due(tx, MONDAY_0600)) == []
        assert store.write_sync(lambda tx: lock_due(tx, datetime(2026, 11, 29, 23, 0))) == [
            (MONDAY, 2)
        ]


def test_text_and_sheet_when_the_hub_is_out_of_reach(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤"), ("橙子", 6, None), ("馒头", 2, "份")])
    sc.clock.now = AFTER_CUTOFF
    r = sc.client.get(
        "/api/v1/consolidated/text", params={"delivery_date": MONDAY}, headers=sc.headers()
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "11月30日(周一)订货 第1版" in text
    assert "土豆 5斤" in text and "橙子 6个" in text and "馒头 2份(每份5个)" in text
    assert "张桂兰" not in text and "1380532" not in text
    r = sc.client.post(
        "/api/v1/consolidated/sent-by-hand",
        headers=sc.headers("staff"),
        json={"delivery_date": MONDAY},
    )
    assert r.status_code == 200 and r.json()["version"] == 1 and not r.json()["replayed"]
    again = sc.client.post(
        "/api/v1/consolidated/sent-by-hand",
        headers=sc.headers("staff"),
        json={"delivery_date": MONDAY},
    )
    assert (
        again.json()["replayed"] and again.json()["sent_by_hand_at"] == r.json()["sent_by_hand_at"]
    )
    doc = _get(sc).json()
    assert doc["sent_by_hand_at"] and doc["sent_by_hand_by"] == "staff"


def test_sent_by_hand_before_cutoff_is_refused(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤")])
    r = sc.client.post(
        "/api/v1/consolidated/sent-by-hand", headers=sc.headers(), json={"delivery_date": MONDAY}
    )
    assert r.status_code == 409


def test_csv_by_format_and_by_accept(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    for r in (
        _get(sc, format="csv"),
        sc.client.get(
            "/api/v1/consolidated",
            params={"delivery_date": MONDAY},
            headers=sc.headers(Accept="text/csv"),
        ),
    ):
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert {(x["product_name"], x["co_op_quantity"], x["co_op_unit"]) for x in rows} == {
            ("土豆", "5", "斤"),
            ("橙子", "6", "个"),
        }


def test_bad_input(sc: Centre) -> None:
    r = sc.client.get(
        "/api/v1/consolidated", params={"delivery_date": "tomorrow"}, headers=sc.headers()
    )
    assert r.status_code == 400
    r = sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers(),
        json={"delivery_date": MONDAY, "product_id": "nope", "quantity": 1},
    )
    assert r.status_code == 400
    r = sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers(),
        json={
            "delivery_date": MONDAY,
            "product_id": sc.products["橙子"],
            "quantity": 1,
            "unit": "g",
        },
    )
    assert r.status_code == 400
    assert (
        sc.client.get("/api/v1/consolidated", params={"delivery_date": MONDAY}).status_code == 401
    )
