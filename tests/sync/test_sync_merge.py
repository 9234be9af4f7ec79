"""Merge properties: any interleaving, duplication and reordering of batches converges.

Three centres each write a random history (orders, items, status moves,
edits, deletes). A hypothesis-drawn network then delivers arbitrary slices
of those logs to the hub, in any order, repeated or stale; refusals (gaps)
are what a real hub answers and the centre would resend. After healing
(every centre resends from the hub's position), the hub's copy of each
centre equals the centre, row for row, whatever the schedule was.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_fixtures import add_household, add_order, canonical, enrol_centre, open_hub_store

from edge.domain import orders as edge_orders
from edge.store import Store, Tx, changelog
from hub.app import Hub
from sync.errors import Gap
from sync.merge import STATUS_RANK, Schema, apply_owner_changes
from sync.protocol import Batch

FORWARD = {
    "placed": ["packed", "picked_up", "cancelled"],
    "packed": ["picked_up", "delivered", "no_show"],
}


def _history(store: Store, rng: random.Random, steps: int) -> None:
    def step(tx: Tx) -> None:
        kind = rng.random()
        ids = [r[0] for r in tx.execute("SELECT id FROM orders")]
        if kind < 0.4 or not ids:
            add_order(
                tx, add_household(tx, rng.choice(["王", "李", "张"])), items=rng.randint(1, 3)
            )
        elif kind < 0.7:
            oid = rng.choice(ids)
            status = tx.one("SELECT status FROM orders WHERE id = ?", (oid,))["status"]
            if status in FORWARD:
                tx.update("orders", oid, {"status": rng.choice(FORWARD[status])})
        elif kind < 0.85:
            tx.update("orders", rng.choice(ids), {"notes": f"n{rng.randint(0, 99)}"})
        else:
            item = tx.one("SELECT id FROM order_items ORDER BY random() LIMIT 1")
            if item is not None:
                tx.delete("order_items", item["id"])

    for _ in range(steps):
        store.write_sync(step)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("merge")
    hub_store = open_hub_store(root / "hub.db")
    centres = [enrol_centre(hub_store, root / f"c{i}.db", f"centre {i}") for i in range(3)]
    hub_store.close()
    rng = random.Random(20300107)
    logs = {}
    for centre in centres:
        _history(centre.store, rng, 60)
        logs[centre.site_id] = centre.store.read_sync(
            lambda c, s=centre.site_id: changelog.read_after(c, s, 0, 100_000)
        )
    yield root, centres, logs
    for centre in centres:
        centre.store.close()


def _deliver(hub: Hub, site: str, log: list[Any], start: int, length: int) -> None:
    changes = log[start : start + length]
    if not changes:
        return
    batch = Batch(1, site, "", start + 1, 0, 0, changes)
    try:
        hub.store.write_sync(lambda tx: hub._apply(tx, batch))
    except Gap:
        pass  # the centre would resend from the position in the answer


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_schedule_converges(
    world: Any, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    root, centres, logs = world
    sites = sorted(logs)
    work = tmp_path_factory.mktemp("run")
    shutil.copy(root / "hub.db", work / "hub.db")
    store = Store(work / "hub.db")
    try:
        hub = Hub(store)
        schedule = data.draw(
            st.lists(
                st.tuples(st.sampled_from(sites), st.integers(0, 200), st.integers(1, 60)),
                max_size=30,
            )
        )
        for site, start, length in schedule:
            _deliver(hub, site, logs[site], min(start, len(logs[site])), length)
        for site in sites:  # heal: each centre resends from the hub's position
            while True:
                pos = store.read_sync(
                    lambda c, s=site: c.execute(
                        "SELECT acked_seq FROM sync_centres WHERE site_id = ?", (s,)
                    ).fetchone()[0]
                )
                if pos >= len(logs[site]):
                    break
                _deliver(hub, site, logs[site], pos, 50)
    finally:
        store.close()
    for centre in centres:
        assert canonical(work / "hub.db", site_ids={centre.site_id}) == canonical(
            centre.store.path, site_ids={centre.site_id}
        )


def test_status_rank_matches_the_domain() -> None:
    assert STATUS_RANK == edge_orders.RANK


def test_a_stale_status_never_moves_an_order_back(tmp_path: Path) -> None:
    hub_store = open_hub_store(tmp_path / "hub.db")
    centre = enrol_centre(hub_store, tmp_path / "c.db", "c")
    try:
        oid = centre.store.write_sync(lambda tx: add_order(tx, None, items=0))
        centre.store.write_sync(lambda tx: tx.update("orders", oid, {"status": "picked_up"}))
        log = centre.store.read_sync(lambda c: changelog.read_after(c, centre.site_id, 0, 10))
        schema = hub_store.read_sync(Schema.load)
        stale = changelog.Change(
            centre.site_id,
            3,
            log[1].hlc + 1,
            "orders",
            oid,
            "update",
            {"status": "placed", "notes": "late"},
        )

        def apply(tx: Tx) -> None:
            apply_owner_changes(tx.conn, schema, centre.site_id, [*log, stale])

        hub_store.write_sync(apply)
        row = hub_store.read_sync(
            lambda c: c.execute("SELECT status, notes FROM orders WHERE id = ?", (oid,)).fetchone()
        )
        assert tuple(row) == ("picked_up", "late")
    finally:
        centre.store.close()
        hub_store.close()
