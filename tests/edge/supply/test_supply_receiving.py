"""Receiving at 06:00 and sharing a shortage out: the rule, as a property and through the API."""

from __future__ import annotations

import sqlite3

from centre_world import Centre
from hypothesis import given, settings
from hypothesis import strategies as st
from supply_world import AFTER_CUTOFF, MONDAY, MONDAY_0600, place

from edge.domain.supply.receiving import share_out


@settings(max_examples=400, deadline=None)
@given(
    demands=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=40),
    arrived=st.integers(min_value=0, max_value=2_000_000),
    by_weight=st.booleans(),
)
def test_share_out_never_negative_exact_and_fair(
    demands: list[int], arrived: int, by_weight: bool
) -> None:
    shares = share_out(arrived, demands, by_weight=by_weight)
    assert len(shares) == len(demands)
    assert all(0 <= s <= d for s, d in zip(shares, demands, strict=True))
    assert sum(shares) == min(arrived, sum(demands))  # totals add up exactly
    if arrived >= sum(demands):
        assert shares == demands
    elif not by_weight:
        # earliest first: full, full, …, partial, nothing, nothing
        k = next(i for i, (s, d) in enumerate(zip(shares, demands, strict=True)) if s < d)
        assert all(s == d for s, d in zip(shares[:k], demands[:k], strict=True))
        assert all(s == 0 for s in shares[k + 1 :])
    else:
        wanted = sum(demands)
        for s, d in zip(shares, demands, strict=True):
            exact = d * arrived // wanted
            assert exact <= s <= exact + 1  # proportional, floored, plus at most one gram
        extra = [s - d * arrived // wanted for s, d in zip(shares, demands, strict=True)]
        # the spare grams went to the earliest orders
        assert extra == sorted(extra, reverse=True)


def test_share_out_examples() -> None:
    assert share_out(7, [3, 3, 3], by_weight=False) == [3, 3, 1]
    assert share_out(1000, [1000, 500, 500], by_weight=True) == [500, 250, 250]
    assert share_out(1001, [1000, 500, 500], by_weight=True) == [501, 250, 250]
    assert share_out(2, [1, 1, 1], by_weight=True) == [1, 1, 0]
    assert share_out(0, [5], by_weight=True) == [0]


def _items(c: Centre, order_id: str) -> dict[str, tuple[int, int | None, int | None]]:
    conn = sqlite3.connect(c.db_path)
    try:
        return {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(
                "SELECT product_name, quantity, allocated_qty, estimated_fen FROM order_items"
                " WHERE order_id = ?",
                (order_id,),
            )
        }
    finally:
        conn.close()


def _short(c: Centre, order_id: str) -> int:
    conn = sqlite3.connect(c.db_path)
    try:
        return int(conn.execute("SELECT short FROM orders WHERE id = ?", (order_id,)).fetchone()[0])
    finally:
        conn.close()


def test_receiving_shares_out_and_marks_orders(sc: Centre) -> None:
    first = place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    second = place(sc, [("土豆", 3, "斤"), ("橙子", 6, None)], who="王秀英")
    third = place(sc, [("橙子", 2, None)])
    # a buffer that gives way first
    sc.client.put(
        "/api/v1/consolidated/buffer",
        headers=sc.headers(),
        json={"delivery_date": MONDAY, "product_id": sc.products["橙子"], "quantity": 10},
    )
    sc.clock.now = AFTER_CUTOFF
    sc.client.get("/api/v1/consolidated", params={"delivery_date": MONDAY}, headers=sc.headers())
    sc.clock.now = MONDAY_0600
    view = sc.client.get(
        "/api/v1/receiving", params={"delivery_date": MONDAY}, headers=sc.headers("staff")
    ).json()
    exp = {(x["product_name"], x["qty_unit"]): x for x in view["lines"]}
    assert exp[("橙子", "piece")]["expected"] == 24 and exp[("橙子", "piece")]["expected_from"] == (
        "consolidated"
    )
    r = sc.client.post(
        "/api/v1/receiving",
        headers=sc.headers("staff"),
        json={
            "delivery_date": MONDAY,
            "lines": [
                {"product_id": sc.products["土豆"], "qty_unit": "g", "arrived_jin": 6.4},
                # 10 pieces: the buffer gets none, then first come first served: 6, 4, 0
                {"product_id": sc.products["橙子"], "qty_unit": "piece", "arrived": 10},
            ],
        },
    )
    assert r.status_code == 200, r.text
    # potatoes 3200 g for 2500 + 1500 ordered: 2000 and 1200, in proportion
    assert _items(sc, first)["土豆"] == (2500, 2000, 720)  # 4 斤 at 1.80 元
    assert _items(sc, second)["土豆"] == (1500, 1200, 432)
    assert _items(sc, first)["橙子"][1] is None  # filled in full
    assert _items(sc, second)["橙子"] == (6, 4, 600)  # 4 oranges at 1.50 元
    assert _items(sc, third)["橙子"] == (2, 0, 0)
    assert [_short(sc, o) for o in (first, second, third)] == [1, 1, 1]

    short = sc.client.get(f"/api/v1/orders/{second}/shortages", headers=sc.headers()).json()
    texts = sorted(i["text"] for i in short["items"])
    assert texts == ["土豆: 3斤 → 2.4斤", "橙子: 6个 → 4个"]
    day = sc.client.get(
        "/api/v1/shortages", params={"delivery_date": MONDAY}, headers=sc.headers()
    ).json()
    assert [o["order_id"] for o in day["orders"]] == [first, second, third]

    # more potatoes turn up: entering again shares out again, the flag clears
    sc.client.post(
        "/api/v1/receiving",
        headers=sc.headers("staff"),
        json={
            "delivery_date": MONDAY,
            "lines": [{"product_id": sc.products["土豆"], "qty_unit": "g", "arrived": 4000}],
        },
    )
    assert _items(sc, first)["土豆"] == (2500, None, 900)
    conn = sqlite3.connect(sc.db_path)
    try:
        estimate = conn.execute(
            "SELECT estimated_fen FROM orders WHERE id = ?", (first,)
        ).fetchone()[0]
        logged = conn.execute(
            "SELECT COUNT(*) FROM changes WHERE tbl = 'order_items' AND op = 'update'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert estimate == 900 + 900  # potatoes in full again, oranges in full
    assert logged >= 5  # every allocation went through the change log
    assert _short(sc, first) == 0


def test_handed_over_orders_keep_their_share(sc: Centre) -> None:
    first = place(sc, [("橙子", 6, None)])
    second = place(sc, [("橙子", 6, None)], who="王秀英")
    sc.clock.now = MONDAY_0600
    post = {
        "delivery_date": MONDAY,
        "lines": [{"product_id": sc.products["橙子"], "qty_unit": "piece", "arrived": 12}],
    }
    sc.client.post("/api/v1/receiving", headers=sc.headers(), json=post)
    r = sc.client.post(
        f"/api/v1/orders/{first}/pickup",
        headers=sc.headers(),
        json={"method": "cash", "amount_fen": 900},
    )
    assert r.status_code == 200, r.text
    # a recount: only 8 were really there; the handed-over 6 stay, the other order gets 2
    post["lines"][0]["arrived"] = 8
    sc.client.post("/api/v1/receiving", headers=sc.headers(), json=post)
    assert _items(sc, first)["橙子"] == (6, None, 900)
    assert _items(sc, second)["橙子"] == (6, 2, 300)


def test_receiving_rejects_bad_input(sc: Centre) -> None:
    for line in (
        {"product_id": "nope", "qty_unit": "piece", "arrived": 1},
        {"product_id": sc.products["橙子"], "qty_unit": "box", "arrived": 1},
        {"product_id": sc.products["橙子"], "qty_unit": "piece", "arrived": -1},
        {"product_id": sc.products["橙子"], "qty_unit": "piece", "arrived_jin": 1},
    ):
        r = sc.client.post(
            "/api/v1/receiving",
            headers=sc.headers(),
            json={"delivery_date": MONDAY, "lines": [line]},
        )
        assert r.status_code == 400, (line, r.text)
