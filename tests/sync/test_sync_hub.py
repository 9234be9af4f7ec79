"""The hub's push/pull/position API driven through httpx.ASGITransport, with real files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_fixtures import (
    HUB_URL,
    add_household,
    add_order,
    cancel_handler,
    canonical,
    connect_any,
    count,
    enrolled,
    hub_client,
)

from edge.store import Tx, changelog
from edge.store.ids import new_id
from edge.store.migrations import SCHEMA_VERSION
from hub import operations
from hub.app import Hub
from sync import enrol
from sync.agent import SyncAgent
from sync.protocol import Batch, encode_batch

pytestmark = pytest.mark.anyio


@pytest.fixture
def world(tmp_path: Path, hub_target: Path | str) -> Any:
    """The hub on SQLite and on PostgreSQL (`hub_backend`), two centres enrolled."""
    app, (a, b) = enrolled(tmp_path, ["金沙路社区", "四方路社区"], hub=hub_target)
    hub: Hub = app.state.hub
    yield app, hub, a, b
    a.store.close()
    b.store.close()


def _batch(centre: Any, after: int = 0, limit: int = 1000, **over: Any) -> bytes:
    changes = centre.store.read_sync(
        lambda c: changelog.read_after(c, centre.site_id, after, limit)
    )
    doc = dict(
        schema_version=SCHEMA_VERSION,
        site_id=centre.site_id,
        install_id="",
        from_seq=after + 1,
        wall_ms=1,
        waiting=0,
        changes=changes,
    )
    doc.update(over)
    return encode_batch(Batch(**doc))


async def _push(
    client: httpx.AsyncClient, token: str, body: bytes, encoding: str = "gzip"
) -> httpx.Response:
    return await client.post(
        "/sync/v1/push",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": encoding},
    )


def _orders(centre: Any, n: int) -> None:
    def write(tx: Tx) -> None:
        hh = add_household(tx)
        for _ in range(n):
            add_order(tx, hh)

    centre.store.write_sync(write)


async def test_push_applies_once_even_when_sent_twice(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, _hub, a, _ = world
    _orders(a, 3)
    body = _batch(a)
    async with hub_client(app) as client:
        first = await _push(client, a.token, body)
        again = await _push(client, a.token, body)  # the reply to the first was "lost"
    assert first.status_code == 200, first.text
    assert first.json()["position"] == 10 and first.json()["applied"] == 10
    assert again.status_code == 200 and again.json() == {
        **again.json(),
        "position": 10,
        "applied": 0,
        "skipped": 10,
    }
    hub_db = hub_target
    assert count(hub_db, "SELECT COUNT(*) FROM orders") == 3
    assert count(hub_db, "SELECT COUNT(*) FROM order_items") == 6
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(
        tmp_path / "a.db", site_ids={a.site_id}
    )


async def test_overlapping_batch_applies_only_the_new_part(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, _hub, a, _ = world
    _orders(a, 1)  # 4 changes
    async with hub_client(app) as client:
        assert (await _push(client, a.token, _batch(a))).json()["position"] == 4
        _orders(a, 1)  # 4 more
        r = await _push(client, a.token, _batch(a, after=2))
    assert r.json()["position"] == 8 and r.json()["applied"] == 4 and r.json()["skipped"] == 2
    assert count(hub_target, "SELECT COUNT(*) FROM orders") == 2


async def test_gap_is_refused_with_the_hubs_position(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, _hub, a, _ = world
    _orders(a, 2)
    async with hub_client(app) as client:
        r = await _push(client, a.token, _batch(a, after=3))
        pos = await client.get("/sync/v1/position", headers={"Authorization": f"Bearer {a.token}"})
    assert r.status_code == 409
    assert r.json()["error"] == "gap" and r.json()["position"] == 0
    assert "detail" in r.json()
    assert pos.json()["position"] == 0
    assert count(hub_target, "SELECT COUNT(*) FROM orders") == 0


async def test_foreign_rows_are_refused_and_nothing_applied(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, hub, a, b = world
    _orders(b, 1)
    async with hub_client(app) as client:
        assert (await _push(client, b.token, _batch(b))).status_code == 200
        b_order = await hub.store.read(lambda c: c.execute("SELECT id FROM orders").fetchone()[0])

        # A writes its own household, then touches B's order in the same batch.
        def write(tx: Tx) -> None:
            add_household(tx, "李叔")
            tx.update("orders", b_order, {"status": "cancelled"})

        a.store.write_sync(write)
        r = await _push(client, a.token, _batch(a))
        # An insert claiming another site is refused too.
        a.store.write_sync(
            lambda tx: tx.insert(
                "households",
                {"id": "01FOREIGN", "site_id": b.site_id, "name": "x", "created_at": "t"},
            )
        )
        r2 = await _push(client, a.token, _batch(a))
        # So is a batch under A's credential that says it is B's.
        r3 = await _push(client, a.token, _batch(b))
    assert r.status_code == 403 and r.json()["error"] == "foreign_row", r.text
    assert r2.status_code == 403 and r2.json()["error"] == "foreign_row"
    assert r3.status_code == 403
    hub_db = hub_target
    assert count(hub_db, "SELECT COUNT(*) FROM households WHERE site_id = ?", (a.site_id,)) == 0
    assert count(hub_db, "SELECT COUNT(*) FROM orders WHERE status = 'placed'") == 1
    assert count(hub_db, "SELECT acked_seq FROM sync_centres WHERE site_id = ?", (a.site_id,)) == 0


async def test_a_change_to_another_centres_row_is_refused_however_old_its_stamp(
    world: Any, hub_target: Path | str
) -> None:
    """A box whose clock is days behind stamps its changes early: a change it makes to
    another centre's row is still that centre's row, refused, not skipped as stale."""
    app, hub, a, b = world
    _orders(b, 1)
    async with hub_client(app) as client:
        assert (await _push(client, b.token, _batch(b))).status_code == 200
        b_order = await hub.store.read(lambda c: c.execute("SELECT id FROM orders").fetchone()[0])
        a.store.write_sync(lambda tx: tx.update("orders", b_order, {"status": "cancelled"}))
        a.store.write_sync(lambda tx: tx.execute("UPDATE changes SET hlc = 1"))
        r = await _push(client, a.token, _batch(a))
    assert r.status_code == 403 and r.json()["error"] == "foreign_row", r.text
    assert count(hub_target, "SELECT COUNT(*) FROM sync_log WHERE site_id = ?", (a.site_id,)) == 0
    assert count(hub_target, "SELECT COUNT(*) FROM orders WHERE status = 'placed'") == 1


@pytest.mark.parametrize(
    "case",
    [
        "not_gzip",
        "truncated_gzip",
        "not_json",
        "not_object",
        "bad_change",
        "bad_seq",
        "wrong_version",
        "old_version",
        "too_old_version",
        "unknown_table",
        "unknown_column",
        "oversize",
        "bomb",
        "local_table",
    ],
)
async def test_bad_batches_are_refused_with_nothing_applied(
    world: Any, tmp_path: Path, hub_target: Path | str, case: str
) -> None:
    app, _hub, a, _ = world
    _orders(a, 1)
    good = json.loads(gzip.decompress(_batch(a)))

    def gz(doc: Any) -> bytes:
        return gzip.compress(json.dumps(doc).encode())

    bad_change = json.loads(json.dumps(good))
    expected = 400
    if case == "not_gzip":
        body = b"\x1f\x8bnot really gzip"
    elif case == "truncated_gzip":
        body = _batch(a)[:-20]
    elif case == "not_json":
        body = gzip.compress(b"{nope")
    elif case == "not_object":
        body = gz([1, 2])
    elif case == "bad_change":
        bad_change["changes"][2] = [3, 1, "orders"]
        body = gz(bad_change)
    elif case == "bad_seq":
        bad_change["changes"][2][0] = 7
        body = gz(bad_change)
    elif case == "wrong_version":
        body = gz({**good, "schema_version": 99})
    elif case == "too_old_version":  # two versions behind
        body = gz({**good, "schema_version": SCHEMA_VERSION - 2})
    elif case == "old_version":  # the previous version is accepted
        body, expected = gz({**good, "schema_version": SCHEMA_VERSION - 1}), 200
    elif case == "unknown_table":
        bad_change["changes"][3][2] = "no_such_table"
        body = gz(bad_change)
    elif case == "unknown_column":
        bad_change["changes"][3][5]["evil"] = 1
        body = gz(bad_change)
    elif case == "local_table":
        bad_change["changes"][3][2] = "sessions"
        body = gz(bad_change)
    elif case == "oversize":
        body, expected = b"\0" * (5 * 1024 * 1024), 413
    else:  # a small body that inflates past the limit
        body, expected = gzip.compress(b" " * (60 * 1024 * 1024)), 413
    async with hub_client(app) as client:
        r = await _push(client, a.token, body)
    assert r.status_code == expected, r.text
    if expected != 200:
        assert set(r.json()) >= {"error", "detail"}
        assert count(hub_target, "SELECT COUNT(*) FROM households") == 0
        assert count(hub_target, "SELECT COUNT(*) FROM sync_log") == 0


async def test_wrong_and_revoked_credentials(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, hub, a, _ = world
    _orders(a, 1)
    async with hub_client(app) as client:
        none = await client.post("/sync/v1/push", content=_batch(a))
        wrong = await _push(client, "lc_not-a-token", _batch(a))
        await hub.store.write(lambda tx: enrol.revoke_centre(tx, a.site_id))
        revoked = await _push(client, a.token, _batch(a))
        pull = await client.get("/sync/v1/pull", headers={"Authorization": f"Bearer {a.token}"})
    assert none.status_code == 401 and wrong.status_code == 401
    assert revoked.status_code == 403 and "revoked" in revoked.json()["detail"]
    assert pull.status_code == 403
    assert count(hub_target, "SELECT COUNT(*) FROM orders") == 0


async def test_a_cloned_box_is_refused_loudly(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, _hub, a, _ = world
    _orders(a, 1)
    async with hub_client(app) as client:
        assert (await _push(client, a.token, _batch(a))).status_code == 200
        # The clone: same site, same seqs, different content.
        a.store.write_sync(lambda tx: tx.execute("DELETE FROM changes WHERE seq > 2"))
        a.store.write_sync(lambda tx: add_household(tx, "克隆"))
        r = await _push(client, a.token, _batch(a))
        # Once held, even a genuine batch is refused until an operator acts.
        later = await client.get(
            "/sync/v1/position", headers={"Authorization": f"Bearer {a.token}"}
        )
    assert r.status_code == 409 and r.json()["error"] == "diverged", r.text
    assert "clone" in r.json()["detail"]
    assert later.status_code == 409
    assert count(hub_target, "SELECT COUNT(*) FROM households") == 1
    assert count(hub_target, "SELECT COUNT(*) FROM sync_centres WHERE diverged IS NOT NULL") == 1


async def test_healthz_and_hello(world: Any) -> None:
    app, hub, a, _ = world
    async with hub_client(app) as client:
        health = await client.get("/healthz")
        hello = await client.get("/sync/v1/hello", headers={"Authorization": f"Bearer {a.token}"})
    assert health.json()["status"] == "ok"
    assert hello.json()["site_id"] == a.site_id and hello.json()["hub_site_id"] == hub.site_id
    assert HUB_URL.startswith("http")


# --- command results: a centre answers only the commands addressed to it ---------------


def _answer(tx: Tx, command_id: str) -> None:
    """A result row as the agent writes it (`SyncAgent._run_command`)."""
    tx.insert(
        "sync_command_results",
        {
            "id": command_id,
            "site_id": tx.site_id,
            "name": "cancel_order",
            "outcome": "applied",
            "detail": "cancelled",
            "applied_at": "2030-01-07T08:00:00+00:00",
        },
    )


def _agent(centre: Any, client: httpx.AsyncClient) -> SyncAgent:
    agent = centre.agent(client)
    agent.register_command("cancel_order", cancel_handler)
    return agent


async def _commands_to_both(hub: Hub, a: Any, b: Any) -> tuple[str, str]:
    """Cancel commands for one order of A and one of B (both already on the hub)."""

    def send(tx: Tx) -> tuple[str, str]:
        ids = []
        for centre in (a, b):
            order = tx.one("SELECT id FROM orders WHERE site_id = ?", (centre.site_id,))
            assert order is not None
            ids.append(operations.cancel_order(tx, order["id"], "op1"))
        return ids[0], ids[1]

    return await hub.store.write(send)


def _results(hub_db: Path | str) -> dict[str, tuple[str, str]]:
    with connect_any(hub_db) as conn:
        rows = conn.execute("SELECT id, site_id, outcome FROM sync_command_results")
        return {r[0]: (r[1], r[2]) for r in rows}


@pytest.mark.parametrize("forgery", ["other_centres_command", "unknown_command", "renamed"])
async def test_a_result_for_a_command_not_addressed_to_the_centre_is_refused(
    world: Any, tmp_path: Path, hub_target: Path | str, forgery: str
) -> None:
    app, hub, a, b = world
    hub_db = hub_target
    _orders(a, 1)
    _orders(b, 1)
    async with hub_client(app) as client:
        agent_b = _agent(b, client)
        await _agent(a, client).sync_once()
        await agent_b.sync_once()
        cmd_a, cmd_b = await _commands_to_both(hub, a, b)
        acked = count(hub_db, "SELECT acked_seq FROM sync_centres WHERE site_id = ?", (a.site_id,))

        # A writes a genuine row of its own and, in the same batch, a forged answer.
        def forge(tx: Tx) -> None:
            add_household(tx, "李叔")
            if forgery == "other_centres_command":
                _answer(tx, cmd_b)
            elif forgery == "unknown_command":
                _answer(tx, new_id())
            else:  # answer its own command, then rename the answer to B's command
                _answer(tx, cmd_a)
                tx.update("sync_command_results", cmd_a, {"id": cmd_b})

        a.store.write_sync(forge)
        refused = await _push(client, a.token, _batch(a, after=acked))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "foreign_row"
        # Nothing of the batch applied: no answer, not even A's own household.
        assert _results(hub_db) == {}
        assert count(hub_db, "SELECT COUNT(*) FROM households WHERE site_id = ?", (a.site_id,)) == 1
        assert (
            count(hub_db, "SELECT acked_seq FROM sync_centres WHERE site_id = ?", (a.site_id,))
            == acked
        )
        assert count(hub_db, "SELECT COUNT(*) FROM sync_log WHERE site_id = ?", (a.site_id,)) == (
            acked
        )
        # B, the addressee, answers its own command; A's forgery took nothing from it.
        await agent_b.sync_once()  # pulls the command and applies it
        await agent_b.sync_once()  # pushes the answer
    assert _results(hub_db) == {cmd_b: (b.site_id, "applied")}
    assert count(hub_db, "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'") == 1
    assert (
        count(
            hub_db,
            "SELECT COUNT(*) FROM orders WHERE site_id = ? AND status = 'placed'",
            (a.site_id,),
        )
        == 1
    )


async def test_each_centre_answers_its_own_command(
    world: Any, tmp_path: Path, hub_target: Path | str
) -> None:
    app, hub, a, b = world
    _orders(a, 1)
    _orders(b, 1)
    async with hub_client(app) as client:
        agents = [_agent(a, client), _agent(b, client)]
        for agent in agents:
            await agent.sync_once()
        cmd_a, cmd_b = await _commands_to_both(hub, a, b)
        for _ in range(2):  # pull and apply, then push the answers
            for agent in agents:
                report = await agent.sync_once()
                assert report.ok
    assert _results(hub_target) == {
        cmd_a: (a.site_id, "applied"),
        cmd_b: (b.site_id, "applied"),
    }
    assert count(hub_target, "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'") == 2
