"""A push writes only rows whose whole reference chain is the pushing centre's
(`sync.merge` rule 7): an order line under another centre's order, an order for
another centre's household, is refused with the whole batch, naming the column."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from supply_world import MONDAY, World
from sync_fixtures import HUB_URL, count, open_hub_store

from edge.store.ids import new_id
from sync.errors import Forbidden
from sync.merge import HUB_ONLY_TABLES, REFERENCES, Schema

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    w = World(tmp_path)
    async with w.app.lifespan():
        transport = httpx.ASGITransport(app=w.app)
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
            yield w, client
    w.close()


async def _egg_lines(w: World, client: httpx.AsyncClient) -> dict[str, Any]:
    """The co-op's view of 鸡蛋: per centre, and the total across centres."""
    r = await client.get(
        "/supplier/v1/consolidated", params={"delivery_date": MONDAY}, headers=w.sup()
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    per = {
        c["centre_id"]: sum(x["quantity"] for x in c["lines"] if x["product_name"] == "鸡蛋")
        for c in doc["centres"]
    }
    total = sum(p["quantity"] for p in doc["products"] if p["product_name"] == "鸡蛋")
    return {"per": per, "total": total}


def _item_of(w: World, key: str, order_id: str) -> dict[str, Any]:
    conn = sqlite3.connect(w.centres[key].store.path)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(
            "SELECT * FROM order_items WHERE order_id = ? ORDER BY line LIMIT 1", (order_id,)
        ).fetchone()
        return dict(row)
    finally:
        conn.close()


def _forge(w: World, key: str, tbl: str, row_id: str, op: str, fields: dict[str, Any]) -> None:
    """A tampered box: its change log carries a change its own tables could not hold
    (its copy has no row of another centre to point at)."""
    from edge.store import changelog

    store = w.centres[key].store
    store.write_sync(
        lambda tx: changelog.record(tx.conn, tx.site_id, tx.clock, tbl, row_id, op, fields)
    )


def _hub_position(w: World, key: str) -> int:
    return count(
        w.hub_store.path,
        "SELECT acked_seq FROM sync_centres WHERE site_id = ?",
        (w.centres[key].site_id,),
    )


async def test_a_line_under_another_centres_order_is_refused_with_its_batch(
    world: Any,
) -> None:
    w, client = world
    a, b = w.centres["A"], w.centres["B"]
    a_order = w.order("A", [("鸡蛋", 9, "斤")])
    await w.sync("A", client)
    before = await _egg_lines(w, client)
    assert before["per"][a.site_id] == 4500  # 9 斤 in grams

    # B's box: one honest order, then a line of 500 斤 hung under A's order.
    b_order = w.order("B", [("土豆", 2, "斤")])
    line = _item_of(w, "B", b_order)
    line.update(id=new_id(), order_id=a_order, product_name="鸡蛋", quantity=250_000)
    _forge(w, "B", "order_items", line["id"], "insert", line)

    with pytest.raises(Forbidden) as caught:
        await b.agent(client).sync_once()
    assert "order_id" in caught.value.detail and a_order in caught.value.detail
    assert a.site_id in caught.value.detail

    # Nothing of B's batch was applied: not the line, not B's honest order.
    assert _hub_position(w, "B") == 0
    assert (
        count(w.hub_store.path, "SELECT COUNT(*) FROM orders WHERE site_id = ?", (b.site_id,)) == 0
    )
    assert await _egg_lines(w, client) == before


async def test_the_refusal_is_a_403_naming_the_column(world: Any) -> None:
    """The same batch straight at /sync/v1/push: the answer names table and column."""
    w, client = world
    b = w.centres["B"]
    a_order = w.order("A", [("鸡蛋", 9, "斤")])
    await w.sync("A", client)
    b_order = w.order("B", [("土豆", 2, "斤")])
    line = _item_of(w, "B", b_order)
    line.update(id=new_id(), order_id=a_order)
    _forge(w, "B", "order_items", line["id"], "insert", line)

    from edge.store import changelog
    from edge.store.migrations import SCHEMA_VERSION
    from sync.protocol import Batch, encode_batch

    changes = b.store.read_sync(lambda c: changelog.read_after(c, b.site_id, 0, 10_000))
    batch = Batch(SCHEMA_VERSION, b.site_id, "", 1, 0, 0, changes)
    r = await client.post(
        "/sync/v1/push",
        content=encode_batch(batch),
        headers={"Authorization": f"Bearer {b.token}", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 403, r.text
    doc = r.json()
    assert doc["error"] == "foreign_row"
    assert doc["field"] == "order_items.order_id"
    assert doc["seq"] == changes[-1].seq
    assert _hub_position(w, "B") == 0


async def test_an_order_for_another_centres_household_is_refused(world: Any) -> None:
    w, client = world
    b = w.centres["B"]
    await w.sync("A", client)  # A's household reaches the hub
    b_order = w.order("B", [("土豆", 2, "斤")])

    _forge(w, "B", "orders", b_order, "update", {"household_id": w.households["A"]})
    with pytest.raises(Forbidden) as caught:
        await b.agent(client).sync_once()
    assert "household_id" in caught.value.detail and w.households["A"] in caught.value.detail
    assert _hub_position(w, "B") == 0


async def test_an_update_cannot_move_a_line_under_another_centres_order(world: Any) -> None:
    w, client = world
    b = w.centres["B"]
    a_order = w.order("A", [("鸡蛋", 9, "斤")])
    await w.sync("A", client)
    b_order = w.order("B", [("鸡蛋", 1, "斤")])
    await w.sync("B", client)  # B's own order and line, accepted
    position = _hub_position(w, "B")
    before = await _egg_lines(w, client)

    line = _item_of(w, "B", b_order)
    _forge(w, "B", "order_items", line["id"], "update", {"order_id": a_order, "quantity": 250_000})
    with pytest.raises(Forbidden) as caught:
        await b.agent(client).sync_once()
    assert "order_id" in caught.value.detail
    assert _hub_position(w, "B") == position
    assert await _egg_lines(w, client) == before


async def test_a_line_may_name_the_hubs_catalog(world: Any) -> None:
    """The district catalog is the hub's: a centre's order line may name its product."""
    w, client = world
    b = w.centres["B"]
    hub_product = new_id()

    def catalog(tx: Any) -> None:
        tx.insert(
            "products",
            {
                "id": hub_product,
                "site_id": tx.site_id,
                "name": "区里的豆腐",
                "sold_by": "piece",
                "unit": "块",
                "price_fen": 300,
            },
        )

    w.hub_store.write_sync(catalog)
    b_order = w.order("B", [("土豆", 2, "斤")])
    line = _item_of(w, "B", b_order)
    line.update(id=new_id(), product_id=hub_product, product_name="区里的豆腐", line=1)
    b.store.write_sync(lambda tx: tx.insert("order_items", line))
    await w.sync("B", client)
    assert (
        count(
            w.hub_store.path,
            "SELECT COUNT(*) FROM order_items WHERE product_id = ?",
            (hub_product,),
        )
        == 1
    )


def test_every_reference_column_of_a_centres_tables_is_checked(tmp_path: Path) -> None:
    """A new `*_id` column on a table centres write must be added to `REFERENCES`."""
    store = open_hub_store(tmp_path / "hub.db")
    try:
        schema = store.read_sync(Schema.load)
    finally:
        store.close()
    missing = [
        f"{tbl}.{col}"
        for tbl, cols in sorted(schema.columns.items())
        if tbl not in HUB_ONLY_TABLES
        for col in sorted(cols)
        if col.endswith("_id") and col != "site_id" and col not in REFERENCES.get(tbl, {})
    ]
    assert missing == []
    for tbl, refs in REFERENCES.items():
        assert tbl in schema.columns, tbl
        for col, target in refs.items():
            assert col in schema.columns[tbl] and target in schema.columns, (tbl, col)
