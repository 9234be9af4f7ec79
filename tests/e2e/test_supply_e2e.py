"""One delivery day end to end: a real hub app, two centres with their sync agents, a supplier.

Sunday: orders at both centres. Centre B's link is down from before the
cut-off until 05:00 Monday, so it sends its order by hand (the WeChat text)
and marks it sent. The co-op pulls the consolidated order, posts dispatch
notes (A short of potatoes; B's built from the text, by product name) and
a price list. Monday 06:00 receiving shares the shortage out; pickups, a
walk-in sale, returns at noon confirmed by the co-op; the reconciliation
balances to the fen at each centre and agrees with the hub's.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from supply_world import AFTER_CUTOFF, MONDAY
from sync_fixtures import HUB_URL

from edge.domain import pickup, walkin
from edge.domain.supply import (
    consolidated,
    consolidated_formats,
    receiving,
    reconciliation,
    returns,
)
from edge.domain.supply.consolidated import lock_due
from edge.web.pages.formats import yuan
from sync.enrol import add_operator
from sync.errors import SyncError

pytestmark = pytest.mark.anyio


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("link down", request=request)


def _items(store: Any, order_id: str) -> dict[str, dict[str, Any]]:
    return store.read_sync(
        lambda c: {
            r["product_name"]: dict(r)
            for r in c.execute("SELECT * FROM order_items WHERE order_id = ?", (order_id,))
        }
    )


async def test_a_delivery_day_across_hub_two_centres_and_the_co_op(world: Any) -> None:
    w, client = world
    a, b = w.centres["A"], w.centres["B"]
    sup = w.sup()
    down = httpx.AsyncClient(transport=httpx.MockTransport(_down), base_url=HUB_URL)

    # --- Sunday: orders the day before ---------------------------------------------------
    a1 = w.order("A", [("土豆", 5, "斤"), ("橙子", 6, None)])
    a2 = w.order("A", [("土豆", 3, "斤"), ("橙子", 4, None)])
    b1 = w.order("B", [("土豆", 4, "斤"), ("馒头", 2, "份")])
    a.store.write_sync(
        lambda tx: consolidated.set_buffer(
            tx, MONDAY, w.products["A"]["橙子"], 5, now=datetime(2026, 11, 29, 12, 0)
        )
    )
    await w.sync("A", client)
    with pytest.raises(SyncError):  # B's link is down from here
        await b.agent(down, attempts=1, retry_for_s=0.1).sync_once()

    # --- cut-off: both lock; B sends its order by hand ---------------------------------------
    assert a.store.write_sync(lambda tx: lock_due(tx, AFTER_CUTOFF)) == [(MONDAY, 1)]
    assert b.store.write_sync(lambda tx: lock_due(tx, AFTER_CUTOFF)) == [(MONDAY, 1)]
    await w.sync("A", client)
    doc_b = b.store.read_sync(lambda c: consolidated.view(c, b.site_id, MONDAY, AFTER_CUTOFF))
    text = consolidated_formats.as_text(doc_b, "海泊河社区")
    assert "土豆 4斤" in text and "馒头 2份" in text
    b.store.write_sync(
        lambda tx: consolidated.mark_sent_by_hand(tx, MONDAY, 1, "小玮", AFTER_CUTOFF)
    )

    # --- the co-op pulls: A locked, B nothing yet (its link is down) ---------------------------
    r = await client.get("/supplier/v1/consolidated", params={"delivery_date": MONDAY}, headers=sup)
    by = {c["centre_name"]: c for c in r.json()["centres"]}
    assert by["金沙路社区"]["status"] == "locked"
    a_lines = {(x["product_name"], x["qty_unit"]): x["quantity"] for x in by["金沙路社区"]["lines"]}
    assert a_lines == {("土豆", "g"): 4000, ("橙子", "piece"): 15}  # 10 ordered + 5 buffer
    assert by["海泊河社区"]["status"] == "none"
    etag = r.headers["etag"]

    # dispatch notes: A gets 3 斤 of potatoes less; B's from the text message, by name
    r = await client.post(
        "/supplier/v1/dispatch-notes",
        headers=sup,
        json={
            "centre_id": a.site_id,
            "delivery_date": MONDAY,
            "lines": [
                {"product_name": "土豆", "qty_unit": "g", "shipped_jin": 5},
                {"product_name": "橙子", "qty_unit": "piece", "shipped": 15},
            ],
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/supplier/v1/dispatch-notes",
        headers=sup,
        json={
            "centre_id": b.site_id,
            "delivery_date": MONDAY,
            "lines": [
                {"product_name": "土豆", "qty_unit": "g", "shipped_jin": 4},
                {"product_name": "馒头", "qty_unit": "bundle", "shipped": 2},
            ],
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/supplier/v1/price-lists",
        headers=sup,
        json={
            "effective_from": "2026-11-01",
            "prices": [
                {"product_name": "土豆", "qty_unit": "g", "price_fen": 110},
                {"product_name": "橙子", "qty_unit": "piece", "price_fen": 90},
                {"product_name": "馒头", "qty_unit": "bundle", "price_fen": 350},
            ],
        },
    )
    assert r.status_code == 201, r.text

    # --- 05:00 Monday: B's link heals; its order arrives, marked as sent by hand ---------------
    await w.sync("B", client)
    await w.sync("A", client)
    r = await client.get(
        "/supplier/v1/consolidated",
        params={"delivery_date": MONDAY},
        headers={**sup, "If-None-Match": etag},
    )
    assert r.status_code == 200  # changed: B is in now
    by = {c["centre_name"]: c for c in r.json()["centres"]}
    assert by["海泊河社区"]["status"] == "locked" and by["海泊河社区"]["sent_by_hand"]
    again = await client.get(
        "/supplier/v1/consolidated",
        params={"delivery_date": MONDAY},
        headers={**sup, "If-None-Match": r.headers["etag"]},
    )
    assert again.status_code == 304

    # --- 06:00 receiving: A's shortage is shared out -----------------------------------------
    view_a = a.store.read_sync(lambda c: receiving.receiving_view(c, a.site_id, MONDAY))
    exp = {(x["product_name"], x["qty_unit"]): x for x in view_a["lines"]}
    assert exp[("土豆", "g")]["expected"] == 2500 and exp[("土豆", "g")]["expected_from"] == (
        "dispatch"
    )
    view_b = b.store.read_sync(lambda c: receiving.receiving_view(c, b.site_id, MONDAY))
    assert {x["product_id"] for x in view_b["lines"]} == {
        w.products["B"]["土豆"],
        w.products["B"]["馒头"],
    }  # names resolved to B's products
    pa, oa = w.products["A"]["土豆"], w.products["A"]["橙子"]
    a.store.write_sync(
        lambda tx: receiving.record_arrivals(
            tx, MONDAY, [receiving.Arrival(pa, "g", 2500), receiving.Arrival(oa, "piece", 15)]
        )
    )
    assert _items(a.store, a1)["土豆"]["allocated_qty"] == 1563  # 2500 × 5/8, +1 spare gram
    assert _items(a.store, a2)["土豆"]["allocated_qty"] == 937
    assert _items(a.store, a1)["橙子"]["allocated_qty"] is None  # oranges: no shortage
    short = a.store.read_sync(lambda c: receiving.shortages_for_day(c, MONDAY, a.site_id))
    assert [o["order_id"] for o in short] == [a1, a2]
    b.store.write_sync(
        lambda tx: receiving.record_arrivals(
            tx,
            MONDAY,
            [
                receiving.Arrival(w.products["B"]["土豆"], "g", 2000),
                receiving.Arrival(w.products["B"]["馒头"], "bundle", 2),
            ],
        )
    )

    # --- pickups and a walk-in sale -------------------------------------------------------------
    def hand_over(store: Any, order_id: str, grams: int) -> None:
        item = _items(store, order_id)["土豆"]["id"]
        store.write_sync(
            lambda tx: pickup.complete(
                tx,
                order_id,
                method="cash",
                amount_fen=100_000,
                weighings=[pickup.Weighing(item, grams)],
            )
        )

    hand_over(a.store, a1, 1560)
    hand_over(a.store, a2, 940)
    hand_over(b.store, b1, 2000)
    day = datetime(2026, 11, 30, 9, 0).date()
    a.store.write_sync(lambda tx: walkin.sell(tx, [walkin.SaleLine(oa, 3)], "wechat", day))

    # --- noon: returns go up (A's link drops first, then heals); the co-op confirms ------------
    note = a.store.write_sync(
        lambda tx: returns.record_return(tx, MONDAY, [returns.Leftover(oa, "piece", 2)])
    )
    with pytest.raises(SyncError):
        await a.agent(down, attempts=1, retry_for_s=0.1).sync_once()
    await w.sync("A", client)
    await w.sync("B", client)
    r = await client.post(f"/supplier/v1/return-notes/{note['id']}/confirm", headers=sup)
    assert r.status_code == 200, r.text
    await w.sync("A", client)
    assert (
        a.store.read_sync(lambda c: returns.return_note(c, a.site_id, MONDAY))["confirmation"]
        is not None
    )

    # --- the day's reconciliation, at each centre and at the hub --------------------------------
    rec_a = a.store.read_sync(lambda c: reconciliation.reconcile(c, a.site_id, MONDAY))
    lines = {x["product_name"]: x for x in rec_a["lines"]}
    potato, orange = lines["土豆"], lines["橙子"]
    assert (potato["ordered"], potato["dispatched"], potato["received"]) == (4000, 2500, 2500)
    assert (potato["sold_orders"], potato["lost"]) == (2500, 0)
    assert (
        orange["received"],
        orange["sold_orders"],
        orange["sold_walkin"],
        orange["returned"],
        orange["lost"],
    ) == (15, 10, 3, 2, 0)
    assert potato["owed_fen"] == 550 and orange["owed_fen"] == 13 * 90
    assert rec_a["totals"]["owed_fen"] == 550 + 1170 and rec_a["totals"]["owed_complete"]
    assert rec_a["returns_confirmed"]
    for line in rec_a["lines"]:
        assert line["received_fen"] == (
            line["sold_orders_cost_fen"]
            + line["sold_walkin_cost_fen"]
            + line["returned_fen"]
            + line["lost_fen"]
        )
    takings_a = a.store.read_sync(
        lambda c: c.execute("SELECT SUM(amount_fen) FROM payments").fetchone()[0]
    )
    assert rec_a["totals"]["takings_fen"] == takings_a

    hub = (
        await client.get(
            "/supplier/v1/reconciliation", params={"delivery_date": MONDAY}, headers=sup
        )
    ).json()
    hub_by = {c["centre_id"]: c for c in hub["centres"]}
    assert hub_by[a.site_id]["totals"]["owed_fen"] == rec_a["totals"]["owed_fen"]
    rec_b = b.store.read_sync(lambda c: reconciliation.reconcile(c, b.site_id, MONDAY))
    assert hub_by[b.site_id]["totals"]["owed_fen"] == rec_b["totals"]["owed_fen"] == 440 + 700
    assert hub["totals"]["owed_fen"] == rec_a["totals"]["owed_fen"] + rec_b["totals"]["owed_fen"]
    assert hub["totals"]["takings_fen"] == (
        rec_a["totals"]["takings_fen"] + rec_b["totals"]["takings_fen"]
    )

    # --- and the printable page and CSV an operator opens at the hub ---------------------------
    page = await client.get("/hub/reconciliation", params={"day": MONDAY})
    assert page.status_code in (302, 303)  # operators only
    w.hub_store.write_sync(lambda tx: add_operator(tx, "op", "password1", "operator"))
    login = await client.get("/hub/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text)
    assert token
    await client.post(
        "/hub/login", data={"name": "op", "password": "password1", "_csrf_token": token.group(1)}
    )
    page = await client.get("/hub/reconciliation", params={"day": MONDAY})
    assert page.status_code == 200, page.text[:300]
    assert "金沙路社区" in page.text and "海泊河社区" in page.text
    owed = re.search(r'id="owed-total">([-\d.]+)<', page.text)
    assert owed and owed.group(1) == yuan(hub["totals"]["owed_fen"])
    assert 'href="/static/print.css" media="print"' in page.text
    sheet = await client.get("/hub/reconciliation.csv", params={"day": MONDAY})
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    total = next(r for r in rows if r["centre_id"] == "TOTAL")
    assert int(total["owed_fen"]) == hub["totals"]["owed_fen"]
    assert {r["centre_id"] for r in rows} == {a.site_id, b.site_id, "TOTAL"}
    # For a person: centre names, 斤 and 元 beside the grams and fen.
    assert total["站点"] == "合计" and total["应付(元)"] == yuan(hub["totals"]["owed_fen"])
    potato = next(r for r in rows if r["站点"] == "金沙路社区" and r["品名"] == "土豆")
    assert potato["单位"] == "斤" and potato["收货"] == "5" and potato["received"] == "2500"
    bad = await client.get("/hub/reconciliation", params={"day": "0001-01-01"})
    assert bad.status_code == 400
    await down.aclose()
