"""The co-op's API on the hub: auth, consolidated JSON/CSV with ETag, no personal data,
dispatch notes, price lists and return confirmations flowing down through sync."""

from __future__ import annotations

import csv
import io
import sqlite3
from typing import Any

import httpx
import pytest
from supply_world import AFTER_CUTOFF, MONDAY, PII, World

pytestmark = pytest.mark.anyio


async def _day_ordered(w: World, client: httpx.AsyncClient) -> None:
    w.order(
        "A",
        [("土豆", 5, "斤"), ("橙子", 6, None), ("馒头", 2, "份")],
        notes=f"放{PII['A'][2]}号楼门口,电话{PII['A'][1]}",
    )
    w.order("B", [("土豆", 3, "斤"), ("青椒", 4, "个")])
    w.lock("A")
    w.lock("B")
    await w.sync("A", client)
    await w.sync("B", client)


async def test_supplier_needs_a_token(world: Any) -> None:
    _w, client = world
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        r = await client.get(
            "/supplier/v1/consolidated", params={"delivery_date": MONDAY}, headers=headers
        )
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthorized"
    r = await client.post("/supplier/v1/price-lists", json={}, headers={})
    assert r.status_code == 401


async def test_consolidated_across_centres_json_and_csv(world: Any) -> None:
    w, client = world
    await _day_ordered(w, client)
    r = await client.get(
        "/supplier/v1/consolidated", params={"delivery_date": MONDAY}, headers=w.sup()
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    by_centre = {c["centre_name"]: c for c in doc["centres"]}
    assert by_centre["金沙路社区"]["status"] == "locked" and by_centre["金沙路社区"]["version"] == 1
    a_lines = {(x["product_name"], x["qty_unit"]): x for x in by_centre["金沙路社区"]["lines"]}
    assert a_lines[("土豆", "g")]["quantity"] == 2500
    assert a_lines[("土豆", "g")]["co_op_quantity"] == "5"
    assert a_lines[("土豆", "g")]["co_op_unit"] == "斤"
    products = {(p["product_name"], p["qty_unit"]): p for p in doc["products"]}
    assert products[("土豆", "g")]["quantity"] == 4000
    assert products[("土豆", "g")]["co_op_quantity"] == "8"
    assert products[("土豆", "g")]["centres"] == 2
    assert products[("青椒", "piece")]["quantity"] == 4
    assert products[("馒头", "bundle")]["co_op_unit"] == "份"

    r = await client.get(
        "/supplier/v1/consolidated",
        params={"delivery_date": MONDAY, "format": "csv"},
        headers=w.sup(),
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    totals = {
        (x["product_name"], x["qty_unit"]): x["co_op_quantity"]
        for x in rows
        if x["centre_id"] == "TOTAL"
    }
    assert totals[("土豆", "g")] == "8"
    r2 = await client.get(
        "/supplier/v1/consolidated",
        params={"delivery_date": MONDAY},
        headers={**w.sup(), "Accept": "text/csv"},
    )
    assert r2.content == r.content


async def test_etag_gives_304_until_something_changes(world: Any) -> None:
    w, client = world
    await _day_ordered(w, client)
    params = {"delivery_date": MONDAY}
    first = await client.get("/supplier/v1/consolidated", params=params, headers=w.sup())
    tag = first.headers["etag"]
    again = await client.get(
        "/supplier/v1/consolidated", params=params, headers={**w.sup(), "If-None-Match": tag}
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    csv1 = await client.get(
        "/supplier/v1/consolidated", params={**params, "format": "csv"}, headers=w.sup()
    )
    assert csv1.headers["etag"] != tag  # one tag per representation
    # an amendment at centre B changes the answer
    w.order("B", [("橙子", 2, None)], now=AFTER_CUTOFF.replace(hour=9))  # before the cut-off…
    w.lock("B")  # …seen after it: version 2
    await w.sync("B", client)
    changed = await client.get(
        "/supplier/v1/consolidated", params=params, headers={**w.sup(), "If-None-Match": tag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    b = next(c for c in changed.json()["centres"] if c["centre_name"] == "海泊河社区")
    assert b["status"] == "amended" and b["version"] == 2
    assert b["amendments"][0]["changes"][0]["product_name"] == "橙子"


async def test_no_personal_data_in_any_supplier_answer(world: Any) -> None:
    w, client = world
    await _day_ordered(w, client)
    # a return note and a dispatch note so every endpoint has something to say
    from edge.domain.supply import returns

    a = w.centres["A"]
    a.store.write_sync(
        lambda tx: returns.record_return(
            tx,
            MONDAY,
            [returns.Leftover(w.products["A"]["土豆"], "g", 500)],
            note=f"{PII['A'][0]}的土豆没来拿",
        )
    )
    await w.sync("A", client)
    r = await client.post(
        "/supplier/v1/dispatch-notes",
        headers=w.sup(),
        json={
            "centre_id": a.site_id,
            "delivery_date": MONDAY,
            "lines": [{"product_name": "土豆", "qty_unit": "g", "shipped": 2000}],
        },
    )
    assert r.status_code == 201, r.text
    answers: list[str] = []
    keys: set[str] = set()
    for path, params in (
        ("/supplier/v1/consolidated", {}),
        ("/supplier/v1/consolidated", {"format": "csv"}),
        ("/supplier/v1/loading-list", {}),
        ("/supplier/v1/return-notes", {}),
        ("/supplier/v1/reconciliation", {}),
        ("/supplier/v1/reconciliation", {"format": "csv"}),
    ):
        r = await client.get(path, params={"delivery_date": MONDAY, **params}, headers=w.sup())
        assert r.status_code == 200, (path, r.text)
        answers.append(r.content.decode("utf-8-sig"))
        if r.headers["content-type"].startswith("application/json"):
            keys |= _keys(r.json())
    text = "\n".join(answers)
    assert "土豆" in text  # the answers do carry the order
    secrets = [s for key in ("A", "B") for s in PII[key]] + [PII["A"][1][-4:], "13912340077"]
    for secret in secrets:
        assert secret not in text, secret
    assert "没来拿" not in text  # free text staff typed never leaves for the co-op
    forbidden = {
        "household_id",
        "name",
        "phone",
        "building",
        "unit",
        "room",
        "address",
        "wechat_nickname",
        "notes",
        "note",
        "placed_by",
        "staff_id",
        "pickup_code",
    }
    assert keys and not keys & forbidden, keys & forbidden


def _keys(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


async def test_dispatch_note_price_list_and_confirmation_flow_down(world: Any) -> None:
    w, client = world
    await _day_ordered(w, client)
    a = w.centres["A"]
    body = {
        "centre_id": a.site_id,
        "delivery_date": MONDAY,
        "lines": [
            {"product_id": w.products["A"]["土豆"], "qty_unit": "g", "shipped": 2000},
            {"product_name": "橙子", "qty_unit": "piece", "shipped": 6},
            {
                "product_name": "花卷",
                "qty_unit": "bundle",
                "shipped": 2,
                "substitute_for": w.products["A"]["馒头"],
                "note": "馒头没了",
            },
        ],
    }
    r = await client.post(
        "/supplier/v1/dispatch-notes", headers={**w.sup(), "Idempotency-Key": "d1"}, json=body
    )
    assert r.status_code == 201 and r.json()["revision"] == 1
    again = await client.post(
        "/supplier/v1/dispatch-notes", headers={**w.sup(), "Idempotency-Key": "d1"}, json=body
    )
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    bad = await client.post(
        "/supplier/v1/dispatch-notes", headers=w.sup(), json={**body, "centre_id": "nope"}
    )
    assert bad.status_code == 400
    r = await client.post(
        "/supplier/v1/price-lists",
        headers=w.sup(),
        json={
            "effective_from": "2026-11-01",
            "prices": [
                {"product_name": "土豆", "qty_unit": "g", "price_fen": 120},
                {"product_name": "橙子", "qty_unit": "piece", "price_fen": 100},
            ],
        },
    )
    assert r.status_code == 201, r.text
    await w.sync("A", client)
    await w.sync("B", client)

    conn = sqlite3.connect(a.store.path)
    try:
        lines = conn.execute(
            "SELECT product_name, shipped_qty, short_qty, substitute_for"
            " FROM supply_dispatch_lines ORDER BY product_name"
        ).fetchall()
        prices = conn.execute("SELECT COUNT(*) FROM supply_prices").fetchone()[0]
    finally:
        conn.close()
    assert ("土豆", 2000, 500, None) in lines  # short = ordered 5 斤 − shipped 4 斤
    assert ("花卷", 2, 0, w.products["A"]["馒头"]) in lines
    assert prices == 2

    from edge.domain.supply import receiving, returns

    view = a.store.read_sync(lambda c: receiving.receiving_view(c, a.site_id, MONDAY))
    assert view["dispatch_note"]
    exp = {(x["product_name"], x["qty_unit"]): x["expected"] for x in view["lines"]}
    assert exp[("土豆", "g")] == 2000 and exp[("花卷", "bundle")] == 2

    # return note up, confirmation down; a confirmed note no longer changes
    note = a.store.write_sync(
        lambda tx: returns.record_return(
            tx, MONDAY, [returns.Leftover(w.products["A"]["橙子"], "piece", 2)]
        )
    )
    await w.sync("A", client)
    listed = (
        await client.get(
            "/supplier/v1/return-notes", params={"delivery_date": MONDAY}, headers=w.sup()
        )
    ).json()["return_notes"]
    assert [n["id"] for n in listed] == [note["id"]] and not listed[0]["confirmed"]
    assert listed[0]["lines"][0]["quantity"] == 2
    r = await client.post(
        f"/supplier/v1/return-notes/{note['id']}/confirm", headers=w.sup(), json={}
    )
    assert r.status_code == 200 and not r.json()["replayed"]
    r = await client.post(f"/supplier/v1/return-notes/{note['id']}/confirm", headers=w.sup())
    assert r.json()["replayed"]
    await w.sync("A", client)
    got = a.store.read_sync(lambda c: returns.return_note(c, a.site_id, MONDAY))
    assert got is not None and got["confirmation"] is not None
    from edge.errors import Conflict

    with pytest.raises(Conflict):
        a.store.write_sync(
            lambda tx: returns.record_return(
                tx, MONDAY, [returns.Leftover(w.products["A"]["橙子"], "piece", 3)]
            )
        )


async def test_sent_by_hand_shows_at_the_supplier(world: Any) -> None:
    w, client = world
    await _day_ordered(w, client)
    from edge.domain.supply import consolidated

    b = w.centres["B"]
    b.store.write_sync(
        lambda tx: consolidated.mark_sent_by_hand(tx, MONDAY, None, "小玮", AFTER_CUTOFF)
    )
    await w.sync("B", client)
    doc = (
        await client.get(
            "/supplier/v1/consolidated", params={"delivery_date": MONDAY}, headers=w.sup()
        )
    ).json()
    by = {c["centre_name"]: c for c in doc["centres"]}
    assert by["海泊河社区"]["sent_by_hand"] and by["海泊河社区"]["sent_by_hand_versions"] == [1]
    assert not by["金沙路社区"]["sent_by_hand"]
    assert "小玮" not in str(doc)  # who sent it stays at the centre


async def test_loading_list_is_printable_per_centre(world: Any) -> None:
    w, client = world
    await _day_ordered(w, client)
    r = await client.get(
        "/supplier/v1/loading-list", params={"delivery_date": MONDAY}, headers=w.sup()
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "装车单" in r.text and "金沙路社区" in r.text and "海泊河社区" in r.text
    assert "5斤" in r.text
    one = await client.get(
        "/supplier/v1/loading-list",
        params={"delivery_date": MONDAY, "centre_id": w.centres["B"].site_id},
        headers=w.sup(),
    )
    assert "海泊河社区" in one.text and "金沙路社区" not in one.text


async def test_far_off_dates_are_a_clear_400(world: Any) -> None:
    w, client = world
    for day in ("0001-01-01", "9999-12-31", "2026-13-01", "tomorrow"):
        r = await client.get(
            "/supplier/v1/consolidated", params={"delivery_date": day}, headers=w.sup()
        )
        assert r.status_code == 400, (day, r.text)
        assert r.json()["field"] == "delivery_date"
