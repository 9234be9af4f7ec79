"""A box restored from an old backup gets back what it had already synced (`sync.recover`)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_fixtures import (
    HUB_URL,
    Centre,
    add_household,
    add_order,
    cancel_handler,
    canonical,
    count,
    enrol_centre,
    enrolled,
    hub_app_client,
    open_hub_store,
    set_status,
)

from edge import cli
from edge.backup import backup, restore
from edge.domain.centre import init_centre
from edge.store import Store, Tx, changelog
from edge.store.changelog import Change
from edge.store.ids import new_id
from hub.app import Hub
from sync import enrol
from sync.agent import SyncAgent
from sync.errors import BadBatch, Diverged, Forbidden, Unauthorized
from sync.recover import RecoverReport, as_held, recover

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    app, (a,) = enrolled(tmp_path, ["金沙路社区"])
    hub: Hub = app.state.hub
    box = {"a": a}
    async with app.lifespan():
        yield app, hub, box
    box["a"].store.close()


def _agent(centre: Centre, client: httpx.AsyncClient) -> SyncAgent:
    agent = centre.agent(client)
    agent.register_command("cancel_order", cancel_handler)
    return agent


def _orders(centre: Centre, n: int) -> list[str]:
    def write(tx: Tx) -> list[str]:
        hh = add_household(tx)
        return [add_order(tx, hh) for _ in range(n)]

    return centre.store.write_sync(write)


def _restore(centre: Centre, backup_file: Path) -> Centre:
    """What the station manager does: stop the server, `linli restore`, start again."""
    path = centre.store.path
    centre.store.close()
    restore(backup_file, path)
    return Centre(centre.name, Store(path), centre.site_id, centre.token)


async def test_without_recovery_a_restored_box_can_never_sync_again(
    world: Any, tmp_path: Path
) -> None:
    app, hub, box = world
    a = box["a"]
    _orders(a, 3)
    async with hub_app_client(app) as client:
        await _agent(a, client).sync_once()
        saved = backup(a.store.path, tmp_path / "nightly.db")
        _orders(a, 2)
        await _agent(a, client).sync_once()  # synced, then the disk dies
        a = box["a"] = _restore(a, saved)
        for _ in range(2):
            with pytest.raises(Diverged, match="backup"):
                await _agent(a, client).sync_once()
            # `linli hub release-centre` lifts the hold; the next run is held again.
            await hub.store.write(_release)
    hub_db = tmp_path / "hub.db"
    assert count(hub_db, "SELECT COUNT(*) FROM orders") == 5
    assert count(a.store.path, "SELECT COUNT(*) FROM orders") == 3


def _release(tx: Tx) -> None:
    """What `linli hub release-centre` does."""
    tx.execute("UPDATE sync_centres SET diverged = NULL, install_id = NULL")


def _households(centre: Centre, n: int, name: str = "李叔") -> None:
    centre.store.write_sync(lambda tx: [add_household(tx, f"{name}{i}") for i in range(n)])


async def test_a_restored_box_whose_log_outgrew_the_hub_is_not_merged(
    world: Any, tmp_path: Path
) -> None:
    """Restored, then offline long enough to write past the hub's position: each
    push resends the hub's last seq, so the hub compares the seam and refuses the
    tail of another history instead of merging it."""
    app, _hub, box = world
    a = box["a"]
    _households(a, 2)
    async with hub_app_client(app) as client:
        await _agent(a, client).sync_once()
        saved = backup(a.store.path, tmp_path / "nightly.db")
        _households(a, 2, "赵姐")
        await _agent(a, client).sync_once()
        a = box["a"] = _restore(a, saved)
        _households(a, 5, "钱伯")  # seqs 3..7; the hub holds 1..4
        with pytest.raises(Diverged):
            await _agent(a, client).sync_once()


# --- recovery -------------------------------------------------------------------------------


async def _recover(centre: Centre, client: httpx.AsyncClient, **kw: Any) -> RecoverReport:
    kw.setdefault("page", 3)  # several pages even for a small log
    return await recover(centre.store, client, HUB_URL, centre.token, backoff_s=0.01, **kw)


def _add_staff(tx: Tx, name: str) -> str:
    sid = new_id()
    tx.insert(
        "staff",
        {
            "id": sid,
            "site_id": tx.site_id,
            "name": name,
            "role": "staff",
            "pin_hash": "argon2-secret-that-never-leaves-the-box",
            "created_at": "2030-01-06T08:00:00+00:00",
        },
    )
    return sid


def _local_log(path: Path, site: str) -> list[Change]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return changelog.read_after(conn, site, 0, 1_000_000)
    finally:
        conn.close()


def _hub_log(path: Path, site: str) -> list[Change]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, hlc, tbl, row_id, op, fields FROM sync_log WHERE site_id = ? ORDER BY seq",
            (site,),
        ).fetchall()
    finally:
        conn.close()
    return [Change(site, r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def _snapshot(path: Path, site: str) -> tuple[Any, ...]:
    """Everything recovery may touch on the box."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        state = dict(conn.execute("SELECT key, value FROM sync_state WHERE key = 'pushed'"))
    finally:
        conn.close()
    return canonical(path), _local_log(path, site), state


async def _lost_a_day(world: Any, tmp_path: Path) -> tuple[Centre, dict[str, Any]]:
    """Synced orders, a nightly backup, a day of synced work, a dead disk, a restore."""
    app, _hub, box = world
    a = box["a"]
    first = _orders(a, 3)
    async with hub_app_client(app) as client:
        await _agent(a, client).sync_once()
        saved = backup(a.store.path, tmp_path / "nightly.db")
        backed_up = a.store.read_sync(lambda c: changelog.last_seq(c, a.site_id))
        later = _orders(a, 2)
        a.store.write_sync(lambda tx: set_status(tx, first[0], "packed"))
        staff = a.store.write_sync(lambda tx: _add_staff(tx, "小陈"))
        await _agent(a, client).sync_once()
    day = {
        "orders": first + later,
        "staff": staff,
        "backed_up": backed_up,
        "synced": a.store.read_sync(lambda c: changelog.last_seq(c, a.site_id)),
        "rows": canonical(a.store.path, site_ids={a.site_id}),
    }
    a = box["a"] = _restore(a, saved)
    assert count(a.store.path, "SELECT COUNT(*) FROM orders") == 3
    return a, day


async def test_recover_brings_back_what_the_hub_held_and_sync_goes_on(
    world: Any, tmp_path: Path
) -> None:
    app, _hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    hub_db = tmp_path / "hub.db"
    async with hub_app_client(app) as client:
        report = await _recover(a, client)
        assert report.local_last == day["backed_up"] and report.hub_position == day["synced"]
        assert report.verified == day["backed_up"]
        assert report.recovered == day["synced"] - day["backed_up"] and report.held is None
        assert report.tables == {"households": 1, "orders": 3, "order_items": 4, "staff": 1}
        # The box is what it was the moment it died (a PIN never leaves the box).
        assert canonical(a.store.path, site_ids={a.site_id}) == day["rows"]
        assert (
            a.store.read_sync(
                lambda c: c.execute("SELECT pin_hash FROM staff WHERE id = ?", (day["staff"],))
            ).fetchone()[0]
            == ""
        )
        order = a.store.read_sync(
            lambda c: c.execute("SELECT status FROM orders WHERE id = ?", (day["orders"][0],))
        ).fetchone()
        assert order[0] == "packed"
        # Its log is the hub's, entry for entry, same seqs and stamps.
        assert [as_held(c) for c in _local_log(a.store.path, a.site_id)] == _hub_log(
            hub_db, a.site_id
        )
        # New work continues after the hub's position, and syncs with no hold.
        new = _orders(a, 4)
        log = _local_log(a.store.path, a.site_id)
        assert log[day["synced"]].seq == day["synced"] + 1
        assert log[day["synced"]].hlc > log[day["synced"] - 1].hlc
        sync = await _agent(a, client).sync_once()
    assert sync.ok and sync.pushed == 13 and sync.waiting == 0
    assert count(hub_db, "SELECT COUNT(*) FROM sync_centres WHERE diverged IS NOT NULL") == 0
    assert count(hub_db, "SELECT COUNT(*) FROM orders") == len(day["orders"]) + len(new) == 9
    assert count(hub_db, "SELECT COUNT(DISTINCT id) FROM orders") == 9
    assert count(hub_db, "SELECT COUNT(*) FROM order_items") == 18
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(a.store.path, site_ids={a.site_id})
    assert count(hub_db, "SELECT COUNT(*) FROM sync_log") == len(
        _local_log(a.store.path, a.site_id)
    )


async def test_recover_twice_changes_nothing(world: Any, tmp_path: Path) -> None:
    app, _hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    async with hub_app_client(app) as client:
        first = await _recover(a, client)
        after_first = _snapshot(a.store.path, a.site_id)
        again = await _recover(a, client)
    assert first.recovered == day["synced"] - day["backed_up"]
    assert again.recovered == 0 and again.tables == {} and again.verified == day["synced"]
    assert "nothing to recover" in "\n".join(again.lines())
    assert _snapshot(a.store.path, a.site_id) == after_first


async def test_a_dry_run_writes_nothing(world: Any, tmp_path: Path) -> None:
    app, _hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    before = _snapshot(a.store.path, a.site_id)
    async with hub_app_client(app) as client:
        report = await _recover(a, client, dry_run=True)
    assert report.recovered == 0
    assert sum(report.tables.values()) == day["synced"] - day["backed_up"]
    assert "nothing written" in "\n".join(report.lines())
    assert _snapshot(a.store.path, a.site_id) == before


async def test_a_box_that_synced_before_recovery_is_released_by_the_operator(
    world: Any, tmp_path: Path
) -> None:
    """The usual order of events: the restored box started, tried to sync, got held."""
    app, hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    async with hub_app_client(app) as client:
        with pytest.raises(Diverged, match="linli centre recover"):
            await _agent(a, client).sync_once()
        badge = await _agent(a, client).fresh_status()
        assert "linli centre recover" in badge["last_error"]
        report = await _recover(a, client)
        text = "\n".join(report.lines())
        assert report.held and report.recovered == 9
        assert f"linli hub release-centre --db HUB.db --site-id {a.site_id}" in text
        # Still held: the hub does not lift a hold by itself.
        with pytest.raises(Diverged, match="held"):
            await _agent(a, client).sync_once()
        await hub.store.write(_release)
        new = _orders(a, 1)
        sync = await _agent(a, client).sync_once()
    hub_db = tmp_path / "hub.db"
    assert sync.ok and sync.pushed == 4
    assert count(hub_db, "SELECT COUNT(*) FROM orders") == len(day["orders"]) + len(new)
    assert canonical(hub_db, site_ids={a.site_id}) == canonical(a.store.path, site_ids={a.site_id})


async def test_new_stamps_follow_the_recovered_ones_even_with_a_clock_far_behind(
    world: Any, tmp_path: Path
) -> None:
    app, _hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    a.store.clock._now_ms = lambda: 1_000  # booted in 1970: no real-time clock
    async with hub_app_client(app) as client:
        await _recover(a, client)
    _orders(a, 1)
    log = _local_log(a.store.path, a.site_id)
    assert log[day["synced"]].hlc > max(c.hlc for c in log[: day["synced"]])


async def test_a_restored_box_that_took_orders_before_recovery_is_refused(
    world: Any, tmp_path: Path
) -> None:
    app, _hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    _orders(a, 1)  # the desk took an order before anyone ran recover
    before = _snapshot(a.store.path, a.site_id)
    async with hub_app_client(app) as client:
        with pytest.raises(Diverged) as refused:
            await _recover(a, client)
    detail = refused.value.detail
    assert f"seq {day['backed_up'] + 1} of this box differs" in detail
    assert "orders insert 1" in detail and "nothing was changed" in detail
    assert _snapshot(a.store.path, a.site_id) == before


async def test_a_cloned_disk_is_still_refused(world: Any, tmp_path: Path) -> None:
    app, _hub, box = world
    a = box["a"]
    _orders(a, 2)
    async with hub_app_client(app) as client:
        await _agent(a, client).sync_once()
        # One disk copied into two boxes; both go on taking orders.
        copy = backup(a.store.path, tmp_path / "copy.db")
        b = Centre(a.name, Store(copy), a.site_id, a.token)
        try:
            _orders(a, 2)
            _orders(b, 1)  # a shorter log than the hub's (the longer case is tested above)
            await _agent(a, client).sync_once()
            with pytest.raises(Diverged):
                await _agent(b, client).sync_once()
            before = _snapshot(copy, a.site_id)
            for dry_run in (True, False):
                with pytest.raises(Diverged, match="clone") as refused:
                    await _recover(b, client, dry_run=dry_run)
                assert "nothing was changed" in refused.value.detail
            assert _snapshot(copy, a.site_id) == before
            # The genuine box is not helped by recover either: it has nothing to fetch.
            assert (await _recover(a, client)).recovered == 0
        finally:
            b.store.close()
    assert count(tmp_path / "hub.db", "SELECT COUNT(*) FROM orders") == 4


async def test_recovery_is_one_transaction(world: Any, tmp_path: Path) -> None:
    """An entry the box cannot apply (here: a column it has no more) refuses it all."""
    app, hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    await hub.store.write(
        lambda tx: tx.execute(
            "UPDATE sync_log SET fields = json_set(fields, '$.no_such_column', 1)"
            " WHERE site_id = ? AND seq = ?",
            (a.site_id, day["synced"]),
        )
    )
    before = _snapshot(a.store.path, a.site_id)
    async with hub_app_client(app) as client:
        with pytest.raises(BadBatch, match="no_such_column"):
            await _recover(a, client)
    assert _snapshot(a.store.path, a.site_id) == before


# --- the history endpoint -------------------------------------------------------------------


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}


async def test_history_is_the_callers_own_log_and_needs_its_credential(
    world: Any, tmp_path: Path
) -> None:
    app, hub, box = world
    a = box["a"]
    b = enrol_centre(hub.store, tmp_path / "b.db", "四方路社区")
    try:
        _orders(a, 40)
        _orders(b, 3)
        async with hub_app_client(app) as client:
            await _agent(a, client).sync_once()
            await _agent(b, client).sync_once()
            whole = await client.get("/sync/v1/history", headers=_auth(a.token))
            paged, after = [], 0
            while True:
                r = await client.get(
                    "/sync/v1/history",
                    params={"after": after, "limit": 50},
                    headers=_auth(a.token),
                )
                paged += r.json()["changes"]
                after = r.json()["next_after"]
                if not r.json()["more"]:
                    break
            of_b = await client.get("/sync/v1/history", headers=_auth(b.token))
            none = await client.get("/sync/v1/history")
            wrong = await client.get("/sync/v1/history", headers=_auth("lc_nope"))
            await hub.store.write(lambda tx: enrol.revoke_centre(tx, b.site_id))
            revoked = await client.get("/sync/v1/history", headers=_auth(b.token))
            with pytest.raises(Forbidden):
                await _recover(b, client)
            with pytest.raises(Unauthorized):
                await recover(a.store, client, HUB_URL, "lc_nope", backoff_s=0.01)
    finally:
        b.store.close()
    assert whole.status_code == 200 and whole.headers["content-encoding"] == "gzip"
    doc = whole.json()
    assert doc["site_id"] == a.site_id and doc["position"] == 121 and not doc["more"]
    assert doc["changes"] == [
        [c.seq, c.hlc, c.tbl, c.row_id, c.op, c.fields]
        for c in _hub_log(tmp_path / "hub.db", a.site_id)
    ]
    assert [c[0] for c in doc["changes"]] == list(range(1, 122))
    assert paged == doc["changes"]
    b_rows = {c[3] for c in of_b.json()["changes"]}
    assert of_b.json()["site_id"] == b.site_id and len(b_rows) == 10
    assert not b_rows & {c[3] for c in doc["changes"]}
    assert none.status_code == 401 and wrong.status_code == 401 and revoked.status_code == 403
    assert "changes" not in revoked.json()


async def test_history_answers_while_held(world: Any, tmp_path: Path) -> None:
    app, _hub, _box = world
    a, day = await _lost_a_day(world, tmp_path)
    async with hub_app_client(app) as client:
        with pytest.raises(Diverged):
            await _agent(a, client).sync_once()
        r = await client.get("/sync/v1/history", params={"after": 5}, headers=_auth(a.token))
    assert r.status_code == 200 and r.json()["held"]
    assert r.json()["changes"][0][0] == 6 and r.json()["position"] == day["synced"]


# --- the command ------------------------------------------------------------------------------


def test_the_command_refuses_while_the_server_runs(tmp_path: Path, capsys: Any) -> None:
    hub_store = open_hub_store(tmp_path / "hub.db")
    try:
        enrol_centre(hub_store, tmp_path / "a.db", "金沙路社区").store.close()
    finally:
        hub_store.close()
    before = _snapshot(tmp_path / "a.db", "")
    serving = enrol.try_serving_lock(tmp_path / "a.db")  # what `linli serve` holds
    assert serving is not None
    try:
        code = cli.main(["centre", "recover", "--db", str(tmp_path / "a.db")])
    finally:
        os.close(serving)
    assert code == 2 and "server is running" in capsys.readouterr().err
    assert _snapshot(tmp_path / "a.db", "") == before
    code = cli.main(["centre", "recover", "--db", str(tmp_path / "missing.db")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_the_command_refuses_a_box_that_never_joined(tmp_path: Path, capsys: Any) -> None:
    store = Store(tmp_path / "c.db")
    try:
        init_centre(store, "新社区")
    finally:
        store.close()
    assert cli.main(["centre", "recover", "--db", str(tmp_path / "c.db")]) == 2
    assert "has not joined a hub" in capsys.readouterr().err
