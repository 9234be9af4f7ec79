"""Returns at noon and the day's reconciliation: quantities and fen that balance to the fen."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import datetime
from typing import Any

import pytest
from centre_world import Centre
from supply_world import AFTER_CUTOFF, MONDAY, MONDAY_0600, place

from edge.domain.products import fen_for_grams

HUB = "01HUBHUBHUBHUBHUBHUBHUBHUB"


def _pulled_prices(c: Centre, prices: list[tuple[str, str, int]], effective: str) -> None:
    """Hub-owned price rows as a pull stores them (no change-log row at the centre)."""
    conn = sqlite3.connect(c.db_path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO supply_price_lists (id, site_id, centre_id, effective_from,"
                " created_at) VALUES ('pl1', ?, NULL, ?, '2026-11-01')",
                (HUB, effective),
            )
            for i, (name, unit, fen) in enumerate(prices):
                conn.execute(
                    "INSERT INTO supply_prices (id, site_id, price_list_id, centre_id,"
                    " effective_from, created_at, product_id, product_name, qty_unit, price_fen)"
                    " VALUES (?, ?, 'pl1', NULL, ?, '2026-11-01', NULL, ?, ?, ?)",
                    (f"p{i}", HUB, effective, name, unit, fen),
                )
    finally:
        conn.close()


def _order(c: Centre, order_id: str) -> dict[str, Any]:
    r = c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers())
    return dict(r.json())


def _pickup(c: Centre, order_id: str, grams: dict[str, int]) -> None:
    items = {i["product_name"]: i["id"] for i in _order(c, order_id)["items"]}
    r = c.client.post(
        f"/api/v1/orders/{order_id}/pickup",
        headers=c.headers(),
        json={
            "method": "cash",
            "amount_fen": 100_000,
            "weights": [{"item_id": items[n], "grams": g} for n, g in grams.items()],
        },
    )
    assert r.status_code == 200, r.text


def _day(sc: Centre) -> tuple[str, str]:
    first = place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    second = place(sc, [("土豆", 3, "斤"), ("馒头", 2, "份")], who="王秀英")
    sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers(),
        json={"delivery_date": MONDAY, "product_id": sc.products["橙子"], "quantity": 4},
    )
    sc.clock.now = AFTER_CUTOFF
    sc.client.get("/api/v1/consolidated", params={"delivery_date": MONDAY}, headers=sc.headers())
    sc.clock.now = MONDAY_0600
    r = sc.client.post(
        "/api/v1/receiving",
        headers=sc.headers(),
        json={
            "delivery_date": MONDAY,
            "lines": [
                {"product_id": sc.products["土豆"], "qty_unit": "g", "arrived": 4000},
                {"product_id": sc.products["橙子"], "qty_unit": "piece", "arrived": 10},
                {"product_id": sc.products["馒头"], "qty_unit": "bundle", "arrived": 2},
            ],
        },
    )
    assert r.status_code == 200, r.text
    sc.clock.now = datetime(2026, 11, 30, 8, 0)
    _pickup(sc, first, {"土豆": 2480})
    _pickup(sc, second, {"土豆": 1510})
    r = sc.client.post(
        "/api/v1/walkin",
        headers=sc.headers(),
        json={"lines": [{"product_id": sc.products["橙子"], "quantity": 3}], "method": "cash"},
    )
    assert r.status_code == 201, r.text
    return first, second


def test_returns_suggested_then_recorded(sc: Centre) -> None:
    _day(sc)
    sc.clock.now = datetime(2026, 11, 30, 12, 0)
    got = sc.client.get(
        "/api/v1/returns", params={"delivery_date": MONDAY}, headers=sc.headers()
    ).json()
    suggested = {(x["product_id"], x["qty_unit"]): x["quantity"] for x in got["suggested"]}
    assert suggested[(sc.products["橙子"], "piece")] == 1  # 10 − 6 − 3
    assert suggested[(sc.products["土豆"], "g")] == 10
    assert got["note"] is None
    r = sc.client.put(
        "/api/v1/returns",
        headers=sc.headers("staff"),
        json={
            "delivery_date": MONDAY,
            "lines": [{"product_id": sc.products["橙子"], "qty_unit": "piece", "quantity": 1}],
        },
    )
    assert r.status_code == 200, r.text
    note = r.json()
    assert [x["text"] for x in note["lines"]] == ["1个"] and note["confirmation"] is None
    # corrected before the co-op confirms: same note, new count; 0 drops a line
    r = sc.client.put(
        "/api/v1/returns",
        headers=sc.headers("staff"),
        json={
            "delivery_date": MONDAY,
            "lines": [
                {"product_id": sc.products["橙子"], "qty_unit": "piece", "quantity": 0},
                {"product_id": sc.products["土豆"], "qty_unit": "g", "quantity": 10},
            ],
        },
    )
    assert r.json()["id"] == note["id"]
    assert [x["product_name"] for x in r.json()["lines"]] == ["土豆"]


@pytest.mark.parametrize(
    ("grams", "price_per_jin_fen", "fen"),
    [
        (500, 180, 180),  # one 斤 is the price
        (2480, 180, 893),  # 892.8 → up
        (1510, 180, 544),  # 543.6 → up
        (3990, 120, 958),  # 957.6 → up
        (10, 120, 2),  # 2.4 → down
        (1, 250, 1),  # 0.5 exactly → half up
        (1, 249, 0),  # 0.498 → down
        (0, 180, 0),
    ],
)
def test_fen_for_grams_rounds_half_up_per_line(
    grams: int, price_per_jin_fen: int, fen: int
) -> None:
    """Money for a weight: grams × price per 斤 / 500, rounded half up, in whole fen."""
    assert fen_for_grams(grams, price_per_jin_fen) == fen


def test_reconciliation_balances_to_the_fen(sc: Centre) -> None:
    _day(sc)
    sc.client.put(
        "/api/v1/returns",
        headers=sc.headers(),
        json={
            "delivery_date": MONDAY,
            "lines": [{"product_id": sc.products["橙子"], "qty_unit": "piece", "quantity": 1}],
        },
    )
    _pulled_prices(sc, [("土豆", "g", 120), ("橙子", "piece", 100)], "2026-11-01")
    doc = sc.client.get(
        "/api/v1/reconciliation", params={"delivery_date": MONDAY}, headers=sc.headers()
    ).json()
    lines = {x["product_name"]: x for x in doc["lines"]}
    potato, orange, buns = lines["土豆"], lines["橙子"], lines["馒头"]
    assert (potato["ordered"], potato["received"], potato["sold_orders"]) == (4000, 4000, 3990)
    assert (potato["returned"], potato["lost"]) == (0, 10)
    # Weighed lines at ¥1.80/斤 (500 g), each rounded half up on its own:
    # 2480 g → 2480 × 180 / 500 = 892.8 → 893; 1510 g → 543.6 → 544; 893 + 544 = 1437.
    assert potato["sold_orders_fen"] == 1437
    # The co-op's ¥1.20/斤: 4000 g → 960 exactly; 3990 g sold → 957.6 → 958; 10 g lost → 2.4 → 2.
    assert potato["received_fen"] == 960 and potato["owed_fen"] == 960
    assert potato["sold_orders_cost_fen"] == 958 and potato["lost_fen"] == 2
    assert (orange["ordered"], orange["received"]) == (10, 10)  # 6 ordered + 4 buffer
    assert (orange["sold_orders"], orange["sold_walkin"], orange["returned"]) == (6, 3, 1)
    assert orange["lost"] == 0 and orange["owed_fen"] == 900 and orange["sold_walkin_fen"] == 450
    assert buns["price_fen"] is None and buns["owed_fen"] is None
    assert buns["sold_orders"] == 2 and buns["sold_orders_fen"] == 1000
    totals = doc["totals"]
    assert totals["owed_fen"] == 1860 and not totals["owed_complete"]
    assert totals["unpriced"] == ["馒头"] and "馒头" in totals["unpriced_note"]

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
            assert line["owed_fen"] == line["received_fen"] - line["returned_fen"]
    for col in ("received_fen", "returned_fen", "lost_fen", "owed_fen"):
        assert totals[col] == sum(x[col] or 0 for x in doc["lines"])
    # the takings are what the desk and the walk-in till took, to the fen
    conn = sqlite3.connect(sc.db_path)
    try:
        paid = conn.execute("SELECT SUM(amount_fen) FROM payments").fetchone()[0]
    finally:
        conn.close()
    assert totals["takings_fen"] == paid

    r = sc.client.get(
        "/api/v1/reconciliation",
        params={"delivery_date": MONDAY, "format": "csv"},
        headers=sc.headers(),
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    total = next(x for x in rows if x["centre_id"] == "TOTAL")
    assert int(total["owed_fen"]) == 1860
    assert sum(int(x["owed_fen"] or 0) for x in rows if x["centre_id"] != "TOTAL") == 1860


def test_price_list_in_effect_that_day_and_none_before(sc: Centre) -> None:
    _day(sc)
    _pulled_prices(sc, [("橙子", "piece", 100)], "2026-12-01")  # takes effect later
    doc = sc.client.get(
        "/api/v1/reconciliation", params={"delivery_date": MONDAY}, headers=sc.headers()
    ).json()
    assert doc["totals"]["owed_fen"] == 0 and not doc["totals"]["owed_complete"]
    assert set(doc["totals"]["unpriced"]) == {"土豆", "橙子", "馒头"}
