"""The consolidated order's cache (hub.supplier.views, marks of m403): whatever changes
the locked versions or their lines, by a push or by another hub process's writer, the
next read answers it, on SQLite and on PostgreSQL; and every cached answer equals the
one built from scratch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from supply_world import AFTER_CUTOFF, MONDAY, World
from sync_fixtures import open_hub_store

from hub.supplier import views
from hub.supplier.views import centres, consolidated, consolidated_body

pytestmark = pytest.mark.anyio


def read(w: World, only: str | None = None) -> dict[str, Any]:
    """The consolidated order as the API reads it (all centres, or the one named), and
    checked against the same answer built without the cache."""

    def fn(c: Any) -> dict[str, Any]:
        listed = [r for r in centres(c) if only is None or r[0] == only]
        return consolidated(c, MONDAY, listed)

    doc = w.hub_store.read_sync(fn)
    body = w.hub_store.read_sync(
        lambda c: consolidated_body(
            c, MONDAY, [r for r in centres(c) if only is None or r[0] == only], "json"
        )
    )
    assert json.loads(body) == doc  # the API's cached bytes say the same
    saved = dict(views._locked_cache)
    views._locked_cache.clear()
    try:
        assert w.hub_store.read_sync(fn) == doc  # the cache answers what a rebuild does
    finally:
        views._locked_cache.update(saved)
    return doc


def totals(doc: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(p["product_name"], p["qty_unit"]): p["quantity"] for p in doc["products"]}


def centre(doc: dict[str, Any], site: str) -> dict[str, Any]:
    return next(c for c in doc["centres"] if c["centre_id"] == site)


async def test_an_amendment_after_the_first_read_is_answered(world: Any) -> None:
    w, client = world
    w.order("A", [("土豆", 5, "斤"), ("橙子", 6, None)])
    w.order("B", [("土豆", 3, "斤")])
    w.lock("A")
    w.lock("B")
    await w.sync("A", client)
    await w.sync("B", client)
    b_site = w.centres["B"].site_id
    first = read(w)
    assert totals(first)[("橙子", "piece")] == 6
    assert centre(first, b_site)["version"] == 1
    assert read(w) == first  # nothing changed: the same answer again

    w.order("B", [("橙子", 2, None)], now=AFTER_CUTOFF.replace(hour=9))
    w.lock("B")  # version 2, after the first read
    await w.sync("B", client)
    second = read(w)
    assert centre(second, b_site)["status"] == "amended"
    assert centre(second, b_site)["version"] == 2
    assert totals(second)[("橙子", "piece")] == 8
    assert totals(second)[("土豆", "g")] == 4000

    # a co-op supplying only B, right after the whole city was read: B's totals alone
    only_b = read(w, b_site)
    assert [c["centre_id"] for c in only_b["centres"]] == [b_site]
    assert totals(only_b)[("橙子", "piece")] == 2 and totals(only_b)[("土豆", "g")] == 1500


async def test_another_writer_and_lines_after_their_head_are_answered(world: Any) -> None:
    """A second store on the same database stands for another hub process: what it
    writes (a line changed in place; a version whose lines come in a later push) shows in
    this process's next read."""
    w, client = world
    w.order("A", [("土豆", 5, "斤")])
    w.lock("A")
    await w.sync("A", client)
    a_site = w.centres["A"].site_id
    assert totals(read(w))[("土豆", "g")] == 2500

    other = open_hub_store(w.hub_db)
    try:
        other.write_sync(
            lambda tx: tx.conn.execute(
                "UPDATE supply_consolidated_lines SET total_qty = total_qty + 500"
                " WHERE site_id = ? AND delivery_date = ?",
                (a_site, MONDAY),
            )
        )
        assert totals(read(w))[("土豆", "g")] == 3000

        other.write_sync(
            lambda tx: tx.conn.execute(
                "INSERT INTO supply_consolidated (id, site_id, delivery_date, version, kind,"
                " cutoff_at, locked_at, diff) SELECT id || '-v2', site_id, delivery_date, 2,"
                " 'amendment', cutoff_at, locked_at, '[]' FROM supply_consolidated"
                " WHERE site_id = ? AND delivery_date = ? AND version = 1",
                (a_site, MONDAY),
            )
        )
        head_only = read(w)
        assert centre(head_only, a_site)["version"] == 2
        assert centre(head_only, a_site)["lines"] == [] and totals(head_only) == {}

        other.write_sync(
            lambda tx: tx.conn.execute(
                "INSERT INTO supply_consolidated_lines (id, site_id, consolidated_id,"
                " delivery_date, version, product_id, product_name, unit_label, bundle_size,"
                " qty_unit, ordered_qty, buffer_qty, total_qty) SELECT id || '-v2', site_id,"
                " consolidated_id || '-v2', delivery_date, 2, product_id, product_name,"
                " unit_label, bundle_size, qty_unit, ordered_qty, buffer_qty, 4000"
                " FROM supply_consolidated_lines WHERE site_id = ? AND delivery_date = ?",
                (a_site, MONDAY),
            )
        )
        with_lines = read(w)
        assert [x["quantity"] for x in centre(with_lines, a_site)["lines"]] == [4000]
        assert totals(with_lines) == {("土豆", "g"): 4000}

        other.write_sync(
            lambda tx: tx.conn.execute(
                "DELETE FROM supply_consolidated_lines WHERE consolidated_id LIKE '%-v2'"
            )
        )
        assert totals(read(w)) == {}
    finally:
        other.close()
