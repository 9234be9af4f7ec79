"""Supplier accounts are scoped to the centres they supply: another co-op's token can
neither replace a centre's dispatch note nor post prices for a centre it does not
supply, and sees only its own centres. Real hub app, real centres, real CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_server import ensure_database
from supply_world import MONDAY, World
from sync_fixtures import (
    HUB_URL,
    connect_any,
    count,
    enrol_centre,
    linli_in_process,
    open_hub_store,
)

from hub.supplier import create_supplier
from sync import schema as sync_schema

pytestmark = pytest.mark.anyio

OTHER = "城阳合作社"


@pytest.fixture
async def world(
    tmp_path: Path, hub_target: Path | str
) -> AsyncIterator[tuple[World, httpx.AsyncClient, str]]:
    """Centres A and B; the first co-op supplies both (made after both enrolled),
    a second co-op supplies B only. The hub on SQLite and on PostgreSQL."""
    w = World(tmp_path, hub=hub_target)
    b_site = w.centres["B"].site_id
    other = w.hub_store.write_sync(lambda tx: create_supplier(tx, OTHER, [b_site]))
    async with w.app.lifespan():
        transport = httpx.ASGITransport(app=w.app)
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
            yield w, client, other
    w.close()


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _note(centre_id: str, jin: float) -> dict[str, Any]:
    return {
        "centre_id": centre_id,
        "delivery_date": MONDAY,
        "lines": [{"product_name": "土豆", "qty_unit": "g", "shipped_jin": jin}],
    }


def _notes(w: World, centre_id: str) -> list[tuple[int, str]]:
    with connect_any(w.hub_store.path) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT revision, supplier FROM supply_dispatch_notes WHERE centre_id = ?"
                " ORDER BY revision",
                (centre_id,),
            ).fetchall()
        ]


async def test_another_coop_cannot_replace_a_dispatch_note(world: Any) -> None:
    w, client, other = world
    a_site = w.centres["A"].site_id
    r = await client.post("/supplier/v1/dispatch-notes", headers=w.sup(), json=_note(a_site, 5))
    assert r.status_code == 201 and r.json()["revision"] == 1, r.text

    r = await client.post("/supplier/v1/dispatch-notes", headers=_as(other), json=_note(a_site, 0))
    assert r.status_code == 403, r.text
    assert r.json()["field"] == "centre_id"
    assert a_site in r.json()["detail"] and OTHER in r.json()["detail"]
    assert _notes(w, a_site) == [(1, "胶州合作社")]

    # Even linked to A, the second co-op cannot supersede the first one's note.
    from hub.supplier import link_centres

    w.hub_store.write_sync(lambda tx: link_centres(tx, OTHER, add=[a_site]))
    r = await client.post("/supplier/v1/dispatch-notes", headers=_as(other), json=_note(a_site, 0))
    assert r.status_code == 409, r.text
    assert "胶州合作社" in r.json()["detail"]
    assert _notes(w, a_site) == [(1, "胶州合作社")]

    # The co-op that wrote it still revises its own note.
    r = await client.post("/supplier/v1/dispatch-notes", headers=w.sup(), json=_note(a_site, 4))
    assert r.status_code == 201 and r.json()["revision"] == 2, r.text


async def test_an_idempotency_key_is_one_coops(world: Any) -> None:
    """The same key from another co-op replays nothing of the first one's."""
    w, client, other = world
    b_site = w.centres["B"].site_id
    r = await client.post(
        "/supplier/v1/price-lists",
        headers={**_as(other), "Idempotency-Key": "k1"},
        json={
            "centre_id": b_site,
            "effective_from": "2026-11-01",
            "prices": [{"product_name": "土豆", "qty_unit": "g", "price_fen": 120}],
        },
    )
    assert r.status_code == 201, r.text
    r2 = await client.post(
        "/supplier/v1/price-lists",
        headers={**w.sup(), "Idempotency-Key": "k1"},
        json={
            "centre_id": b_site,
            "effective_from": "2026-11-01",
            "prices": [{"product_name": "土豆", "qty_unit": "g", "price_fen": 99}],
        },
    )
    assert r2.status_code == 201 and r2.json()["id"] != r.json()["id"], r2.text


async def test_price_lists_only_for_centres_it_supplies(world: Any) -> None:
    w, client, other = world
    a_site, b_site = w.centres["A"].site_id, w.centres["B"].site_id
    prices = [{"product_name": "土豆", "qty_unit": "g", "price_fen": 1}]
    body = {"effective_from": "2026-11-01", "prices": prices}

    r = await client.post(
        "/supplier/v1/price-lists", headers=_as(other), json={**body, "centre_id": a_site}
    )
    assert r.status_code == 403, r.text
    assert a_site in r.json()["detail"] and r.json()["field"] == "centre_id"
    # A list for every centre would reach A too.
    r = await client.post("/supplier/v1/price-lists", headers=_as(other), json=body)
    assert r.status_code == 403, r.text
    assert a_site in r.json()["detail"]
    assert count(w.hub_store.path, "SELECT COUNT(*) FROM supply_price_lists") == 0
    assert count(w.hub_store.path, "SELECT COUNT(*) FROM supply_prices") == 0

    r = await client.post(
        "/supplier/v1/price-lists", headers=_as(other), json={**body, "centre_id": b_site}
    )
    assert r.status_code == 201, r.text
    # The co-op that supplies every centre still posts one list for all.
    r = await client.post("/supplier/v1/price-lists", headers=w.sup(), json=body)
    assert r.status_code == 201, r.text

    # What flows down: A holds only the first co-op's list, B both.
    await w.sync("A", client)
    await w.sync("B", client)
    for key, expected in (("A", 1), ("B", 2)):
        assert count(w.centres[key].store.path, "SELECT COUNT(*) FROM supply_price_lists") == (
            expected
        )


async def test_a_coop_reads_only_the_centres_it_supplies(world: Any) -> None:
    w, client, other = world
    a_site, b_site = w.centres["A"].site_id, w.centres["B"].site_id
    w.order("A", [("土豆", 5, "斤")])
    w.order("B", [("土豆", 3, "斤")])
    await w.sync("A", client)
    await w.sync("B", client)

    params = {"delivery_date": MONDAY}
    mine = (await client.get("/supplier/v1/consolidated", params=params, headers=_as(other))).json()
    assert [c["centre_id"] for c in mine["centres"]] == [b_site]
    assert [p["quantity"] for p in mine["products"] if p["product_name"] == "土豆"] == [1500]
    both = (await client.get("/supplier/v1/consolidated", params=params, headers=w.sup())).json()
    assert {c["centre_id"] for c in both["centres"]} == {a_site, b_site}

    recon = await client.get("/supplier/v1/reconciliation", params=params, headers=_as(other))
    assert recon.status_code == 200, recon.text
    assert a_site not in recon.text and w.centres["A"].name not in recon.text

    r = await client.get(
        "/supplier/v1/loading-list", params={**params, "centre_id": a_site}, headers=_as(other)
    )
    assert r.status_code == 403 and a_site in r.text
    r = await client.get("/supplier/v1/loading-list", params=params, headers=_as(other))
    assert r.status_code == 200 and w.centres["A"].name not in r.text


async def test_a_return_note_is_confirmed_only_by_a_coop_of_its_centre(world: Any) -> None:
    w, client, other = world
    a = w.centres["A"]
    w.order("A", [("土豆", 5, "斤")])
    from edge.domain.supply import returns

    leftover = returns.Leftover(w.products["A"]["土豆"], "g", 500)
    a.store.write_sync(lambda tx: returns.record_return(tx, MONDAY, [leftover]))
    await w.sync("A", client)
    params = {"delivery_date": MONDAY}
    mine = (await client.get("/supplier/v1/return-notes", params=params, headers=_as(other))).json()
    assert mine["return_notes"] == []
    theirs = (await client.get("/supplier/v1/return-notes", params=params, headers=w.sup())).json()
    (note,) = theirs["return_notes"]
    r = await client.post(f"/supplier/v1/return-notes/{note['id']}/confirm", headers=_as(other))
    assert r.status_code == 403 and a.site_id in r.json()["detail"], r.text
    assert count(w.hub_store.path, "SELECT COUNT(*) FROM supply_return_confirmations") == 0
    r = await client.post(f"/supplier/v1/return-notes/{note['id']}/confirm", headers=w.sup())
    assert r.status_code == 200, r.text


def test_the_migration_keeps_existing_accounts_serving_every_centre(tmp_path: Path) -> None:
    """A hub from before the scoping: its co-op account is linked to every centre."""
    path = tmp_path / "hub.db"
    store = open_hub_store(path)
    try:
        sites = [
            enrol_centre(store, tmp_path / f"{k}.db", name).site_id
            for k, name in (("a", "金沙路社区"), ("b", "海泊河社区"))
        ]
        store.write_sync(lambda tx: create_supplier(tx, "胶州合作社", []))
    finally:
        store.close()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm102_supplier_centres'")
    conn.execute("DROP TABLE supply_supplier_centres")
    conn.commit()
    conn.close()

    sync_schema.ensure(path)
    linked = count(path, "SELECT COUNT(*) FROM supply_supplier_centres")
    assert linked == len(sites) == 2


def test_the_cli_links_a_coop_to_its_centres(hub_target: Path | str) -> None:
    hub = str(hub_target)
    ensure_database(hub)
    sites = {}
    for name in ("金沙路社区", "海泊河社区"):
        r = linli_in_process("hub", "add-centre", "--db", hub, "--name", name)
        assert r.returncode == 0, r.stderr
        sites[name] = next(
            line.split(": ", 1)[1] for line in r.stdout.splitlines() if line.startswith("site id")
        )
    a, b = sites["金沙路社区"], sites["海泊河社区"]

    r = linli_in_process("hub", "add-supplier", "--db", hub, "--name", OTHER, "--centre", b)
    assert r.returncode == 0 and "token: sup_" in r.stdout, r.stderr
    assert b in r.stdout and a not in r.stdout
    r = linli_in_process("hub", "add-supplier", "--db", hub, "--name", "胶州合作社")  # as before
    assert r.returncode == 0 and a in r.stdout and b in r.stdout, r.stderr
    r = linli_in_process("hub", "add-supplier", "--db", hub, "--name", "x", "--centre", "nope")
    assert r.returncode != 0 and "nope" in r.stderr

    r = linli_in_process(
        "hub", "supplier-centres", "--db", hub, "--name", OTHER, "--add", a, "--remove", b
    )
    assert r.returncode == 0 and a in r.stdout and b not in r.stdout, r.stderr
    rows = count(
        hub,
        "SELECT COUNT(*) FROM supply_supplier_centres l JOIN supply_suppliers s"
        " ON s.id = l.supplier_id WHERE s.name = ? AND l.centre_id = ?",
        (OTHER, a),
    )
    assert rows == 1
