"""What the co-op did not send: lines missing from the dispatch note, substitutions,
newer prices sent by name, and re-entering an arrival after a weighed pickup."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from centre_world import Centre
from page_forms import csrf
from supply_world import AFTER_CUTOFF, MONDAY, MONDAY_0600, World, place, signed_in
from sync_fixtures import HUB_URL

from edge.domain.supply import reconciliation

HUB = "01HUBHUBHUBHUBHUBHUBHUBHUB"


def _lock(c: Centre) -> None:
    c.clock.now = AFTER_CUTOFF
    r = c.client.get("/api/v1/consolidated", params={"delivery_date": MONDAY}, headers=c.headers())
    assert r.json()["status"] == "locked", r.text


def _pulled_dispatch(c: Centre, lines: list[dict[str, Any]], note: str = "") -> None:
    """A hub-owned dispatch note as a pull stores it at the centre."""
    conn = sqlite3.connect(c.db_path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO supply_dispatch_notes (id, site_id, centre_id, delivery_date,"
                " revision, supplier, note, created_at) VALUES ('dn1', ?, ?, ?, 1, '胶州合作社',"
                " ?, '2026-11-30T04:00:00+00:00')",
                (HUB, c.site_id, MONDAY, note),
            )
            for i, line in enumerate(lines):
                conn.execute(
                    "INSERT INTO supply_dispatch_lines (id, site_id, note_id, centre_id,"
                    " delivery_date, product_id, product_name, qty_unit, shipped_qty,"
                    " substitute_for, note) VALUES (?, ?, 'dn1', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        f"dl{i}",
                        HUB,
                        c.site_id,
                        MONDAY,
                        c.products[line["name"]],
                        line["name"],
                        line["unit"],
                        line["shipped"],
                        line.get("substitute_for"),
                        line.get("note", ""),
                    ),
                )
    finally:
        conn.close()


def _prices(c: Centre, rows: list[tuple[str, str | None, int]]) -> None:
    """Price rows (effective_from, product_id or None = sent by name, fen) for 土豆 per 斤."""
    conn = sqlite3.connect(c.db_path)
    try:
        with conn:
            for i, (effective, product_id, fen) in enumerate(rows):
                conn.execute(
                    "INSERT INTO supply_prices (id, site_id, price_list_id, centre_id,"
                    " effective_from, created_at, product_id, product_name, qty_unit, price_fen)"
                    " VALUES (?, ?, ?, NULL, ?, ?, ?, '土豆', 'g', ?)",
                    (f"p{i}", HUB, f"pl{i}", effective, f"{effective}T00:00:00", product_id, fen),
                )
    finally:
        conn.close()


def _item(c: Centre, order_id: str, name: str) -> tuple[int, int | None]:
    conn = sqlite3.connect(c.db_path)
    try:
        row = conn.execute(
            "SELECT quantity, allocated_qty FROM order_items WHERE order_id = ?"
            " AND product_name = ?",
            (order_id, name),
        ).fetchone()
        return int(row[0]), row[1]
    finally:
        conn.close()


def _short(c: Centre, order_id: str) -> int:
    conn = sqlite3.connect(c.db_path)
    try:
        return int(conn.execute("SELECT short FROM orders WHERE id = ?", (order_id,)).fetchone()[0])
    finally:
        conn.close()


def _reconcile(c: Centre) -> dict[str, dict[str, Any]]:
    doc = c.client.get(
        "/api/v1/reconciliation", params={"delivery_date": MONDAY}, headers=c.headers()
    ).json()
    for line in doc["lines"]:
        assert line["received"] == (
            line["sold_orders"] + line["sold_walkin"] + line["returned"] + line["lost"]
        )
        if line["price_fen"] is not None:
            assert line["received_fen"] == (
                line["sold_orders_cost_fen"]
                + line["sold_walkin_cost_fen"]
                + line["returned_fen"]
                + line["lost_fen"]
            )
    return {x["product_name"]: x for x in doc["lines"]}


def test_a_line_the_note_leaves_out_is_expected_zero_and_shared_out_as_short(
    sc: Centre,
) -> None:
    first = place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    second = place(sc, [("橙子", 4, None)], who="王秀英")
    _lock(sc)
    sc.clock.now = MONDAY_0600
    # the co-op had no oranges: its note lists what is on the van, potatoes only
    _pulled_dispatch(sc, [{"name": "土豆", "unit": "g", "shipped": 2500}])
    view = sc.client.get(
        "/api/v1/receiving", params={"delivery_date": MONDAY}, headers=sc.headers()
    ).json()
    lines = {x["product_name"]: x for x in view["lines"]}
    assert lines["橙子"]["expected"] == 0 and lines["橙子"]["expected_from"] == "dispatch"
    assert lines["橙子"]["not_dispatched"] and not lines["土豆"]["not_dispatched"]
    assert lines["橙子"]["orders_need"] == 10

    # the page shows the line, filled in with 0, so saving it shares the shortage out
    signed_in(sc, "staff")
    r = sc.client.get("/supply/receiving", params={"day": MONDAY})
    assert "橙子" in r.text and "不在发货单上" in r.text
    field = re.search(rf'name="arrived:{sc.products["橙子"]}:piece"[^>]*>', r.text)
    assert field and 'value="0"' in field.group(0)
    r = sc.client.post(
        "/supply/receiving",
        data={
            "_csrf_token": csrf(sc.client, "/supply/receiving"),
            "day": MONDAY,
            f"arrived:{sc.products['土豆']}:g": "5",
            f"arrived:{sc.products['橙子']}:piece": "0",
        },
    )
    assert r.status_code == 200 and "橙子: 6个 → 0个" in r.text
    assert _item(sc, first, "橙子") == (6, 0) and _item(sc, second, "橙子") == (4, 0)
    assert _short(sc, first) == 1 and _short(sc, second) == 1

    # staff found 2 oranges after all (left from Friday): first ordered, first filled
    r = sc.client.post(
        "/api/v1/receiving",
        headers=sc.headers(),
        json={
            "delivery_date": MONDAY,
            "lines": [{"product_id": sc.products["橙子"], "qty_unit": "piece", "arrived": 2}],
        },
    )
    assert r.status_code == 200, r.text
    assert _item(sc, first, "橙子") == (6, 2) and _item(sc, second, "橙子") == (4, 0)


def test_reconciliation_owes_nothing_for_a_line_the_note_leaves_out(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    _lock(sc)
    _prices_by_name = [("土豆", "g", 110), ("橙子", "piece", 90)]
    conn = sqlite3.connect(sc.db_path)
    try:
        with conn:
            for i, (name, unit, fen) in enumerate(_prices_by_name):
                conn.execute(
                    "INSERT INTO supply_prices (id, site_id, price_list_id, centre_id,"
                    " effective_from, created_at, product_id, product_name, qty_unit, price_fen)"
                    " VALUES (?, ?, 'pl', NULL, '2026-11-01', '2026-11-01', NULL, ?, ?, ?)",
                    (f"p{i}", HUB, name, unit, fen),
                )
    finally:
        conn.close()
    sc.clock.now = MONDAY_0600
    # without a dispatch note, what was ordered is taken as received (flagged as assumed)
    lines = _reconcile(sc)
    assert (lines["橙子"]["dispatched"], lines["橙子"]["received"]) == (None, 6)
    assert lines["橙子"]["received_assumed"] and lines["橙子"]["owed_fen"] == 540

    _pulled_dispatch(sc, [{"name": "土豆", "unit": "g", "shipped": 2500}])
    lines = _reconcile(sc)
    orange = lines["橙子"]
    assert (orange["ordered"], orange["dispatched"], orange["received"]) == (6, 0, 0)
    assert orange["received_assumed"] and orange["owed_fen"] == 0 and orange["lost"] == 0
    assert orange["dispatched_fen"] == 0
    assert lines["土豆"]["owed_fen"] == 550


def test_a_substitute_is_its_own_line_and_the_replaced_one_is_not_dispatched(
    sc: Centre,
) -> None:
    first = place(sc, [("青椒", 4, "个"), ("土豆", 2, "斤")])
    _lock(sc)
    sc.clock.now = MONDAY_0600
    _pulled_dispatch(
        sc,
        [
            {"name": "土豆", "unit": "g", "shipped": 1000},
            {
                "name": "尖椒",
                "unit": "g",
                "shipped": 1000,
                "substitute_for": sc.products["青椒"],
                "note": "圆青椒没了,换尖椒",
            },
        ],
    )
    view = sc.client.get(
        "/api/v1/receiving", params={"delivery_date": MONDAY}, headers=sc.headers()
    ).json()
    lines = {x["product_name"]: x for x in view["lines"]}
    assert lines["青椒"]["expected"] == 0 and lines["青椒"]["not_dispatched"]
    assert lines["青椒"]["replaced_by"] == "尖椒"
    assert lines["尖椒"]["expected"] == 1000 and lines["尖椒"]["substitute_for_name"] == "青椒"
    assert lines["尖椒"]["dispatch_line_note"] == "圆青椒没了,换尖椒"

    signed_in(sc, "staff")
    r = sc.client.get("/supply/receiving", params={"day": MONDAY})
    assert "代替 青椒" in r.text and "圆青椒没了,换尖椒" in r.text and "换成了 尖椒" in r.text
    r = sc.client.post(
        "/supply/receiving",
        data={
            "_csrf_token": csrf(sc.client, "/supply/receiving"),
            "day": MONDAY,
            f"arrived:{sc.products['土豆']}:g": "2",
            f"arrived:{sc.products['尖椒']}:g": "2",
            f"arrived:{sc.products['青椒']}:piece": "0",
        },
    )
    assert r.status_code == 200 and "青椒: 4个 → 0个" in r.text
    assert _item(sc, first, "青椒") == (4, 0)

    lines = _reconcile(sc)
    assert (lines["青椒"]["dispatched"], lines["青椒"]["received"]) == (0, 0)
    assert (lines["尖椒"]["ordered"], lines["尖椒"]["dispatched"]) == (0, 1000)
    assert lines["尖椒"]["received"] == 1000


def test_before_any_arrival_a_substitute_counts_as_received_as_dispatched(sc: Centre) -> None:
    place(sc, [("青椒", 4, "个")])
    _lock(sc)
    _pulled_dispatch(
        sc,
        [{"name": "尖椒", "unit": "g", "shipped": 1000, "substitute_for": sc.products["青椒"]}],
    )
    lines = _reconcile(sc)
    assert (lines["青椒"]["dispatched"], lines["青椒"]["received"]) == (0, 0)
    assert (lines["尖椒"]["dispatched"], lines["尖椒"]["received"]) == (1000, 1000)
    assert lines["尖椒"]["received_assumed"]


@pytest.mark.parametrize(
    ("rows", "want"),
    [
        # 1 Nov sent by product id, 20 Nov typed by name: the 20 Nov price holds on 30 Nov
        ([("2026-11-01", "ID", 110), ("2026-11-20", None, 130)], 130),
        # the other way round
        ([("2026-11-01", None, 110), ("2026-11-20", "ID", 130)], 130),
        # a list that takes effect after the day does not count
        ([("2026-11-01", None, 110), ("2026-12-01", "ID", 130)], 110),
        ([("2026-11-01", "ID", 110), ("2026-12-01", None, 130)], 110),
    ],
)
def test_the_latest_price_wins_whichever_way_it_was_sent(
    sc: Centre, rows: list[tuple[str, str | None, int]], want: int
) -> None:
    potato = sc.products["土豆"]
    _prices(sc, [(eff, potato if pid == "ID" else pid, fen) for eff, pid, fen in rows])
    conn = sqlite3.connect(sc.db_path)
    conn.row_factory = sqlite3.Row
    try:
        book = reconciliation.PriceBook(conn, sc.site_id, MONDAY)
    finally:
        conn.close()
    assert book.price((potato, "g"), "土豆") == want


def test_re_entering_after_a_weighed_pickup_counts_the_weighed_grams(sc: Centre) -> None:
    first = place(sc, [("土豆", 5, "斤")])
    second = place(sc, [("土豆", 5, "斤")], who="王秀英")
    _lock(sc)
    sc.clock.now = MONDAY_0600
    post = {
        "delivery_date": MONDAY,
        "lines": [{"product_id": sc.products["土豆"], "qty_unit": "g", "arrived": 5000}],
    }
    assert sc.client.post("/api/v1/receiving", headers=sc.headers(), json=post).status_code == 200
    conn = sqlite3.connect(sc.db_path)
    try:
        item = conn.execute("SELECT id FROM order_items WHERE order_id = ?", (first,)).fetchone()[0]
    finally:
        conn.close()
    r = sc.client.post(
        f"/api/v1/orders/{first}/pickup",
        headers=sc.headers(),
        json={
            "method": "cash",
            "amount_fen": 100_000,
            "weights": [{"item_id": item, "grams": 2700}],
        },
    )
    assert r.status_code == 200, r.text
    # a recount: only 8 斤 came; 2700 g already went out with the first order
    post["lines"][0]["arrived"] = 4000
    assert sc.client.post("/api/v1/receiving", headers=sc.headers(), json=post).status_code == 200
    assert _item(sc, second, "土豆") == (2500, 1300)


# --- through the hub: what the co-op reads ----------------------------------------------------


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    w = World(tmp_path)
    async with w.app.lifespan():
        transport = httpx.ASGITransport(app=w.app)
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
            yield w, client
    w.close()


@pytest.mark.anyio
async def test_the_co_op_is_owed_nothing_for_what_it_did_not_send(world: Any) -> None:
    w, client = world
    a = w.centres["A"]
    w.order("A", [("土豆", 5, "斤"), ("橙子", 6, None)])
    w.lock("A")
    await w.sync("A", client)
    r = await client.post(
        "/supplier/v1/dispatch-notes",
        headers=w.sup(),
        json={
            "centre_id": a.site_id,
            "delivery_date": MONDAY,
            "lines": [{"product_name": "土豆", "qty_unit": "g", "shipped_jin": 5}],
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/supplier/v1/price-lists",
        headers=w.sup(),
        json={
            "effective_from": "2026-11-01",
            "prices": [
                {"product_name": "土豆", "qty_unit": "g", "price_fen": 110},
                {"product_name": "橙子", "qty_unit": "piece", "price_fen": 90},
            ],
        },
    )
    assert r.status_code == 201, r.text
    await w.sync("A", client)
    doc = a.store.read_sync(lambda c: reconciliation.reconcile(c, a.site_id, MONDAY))
    assert doc["totals"]["owed_fen"] == 550
    r = await client.get(
        "/supplier/v1/reconciliation", params={"delivery_date": MONDAY}, headers=w.sup()
    )
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["owed_fen"] == 550
    orange = next(x for x in r.json()["centres"][0]["lines"] if x["product_name"] == "橙子")
    assert (orange["dispatched"], orange["received"], orange["owed_fen"]) == (0, 0, 0)
