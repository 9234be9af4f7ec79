"""A SQLite hub decodes pushes in processes of its own while others are in (`hub.decoding`):
what such a push lands is what one decoded in a thread lands, a refusal is named the
same, a process that dies is replaced, and the processes end with the hub."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from live_server import Procs, free_port
from sync_fixtures import (
    add_household,
    add_order,
    canonical,
    enrolled,
    hub_client,
    linli_in_process,
    set_status,
)

from edge.store import Tx, changelog
from edge.store.changelog import Change
from edge.store.migrations import SCHEMA_VERSION
from hub import decoding
from hub.decoding import DecodeProcesses, decode_here
from sync.errors import ForeignRow
from sync.protocol import Batch, encode_batch

pytestmark = pytest.mark.anyio

NAMES = ["金沙路社区", "四方路社区", "台东社区", "浮山后社区"]


@pytest.fixture
def district(tmp_path: Path) -> Any:
    """A SQLite hub with two decode processes, four centres enrolled."""
    app, centres = enrolled(tmp_path, NAMES, decode_processes=2)
    yield app, app.state.hub, centres
    for c in centres:
        c.store.close()


def _orders(centre: Any, n: int, *, packed: int = 0) -> None:
    """`n` new orders of a new household; then the first `packed` of the centre's
    placed orders packed (updates: a batch that is not all new rows)."""

    def write(tx: Tx) -> None:
        hh = add_household(tx, f"住户{n}")
        for _ in range(n):
            add_order(tx, hh)
        placed = tx.conn.execute(
            "SELECT id FROM orders WHERE status = 'placed' ORDER BY id LIMIT ?", (packed,)
        ).fetchall()
        for (oid,) in placed:
            set_status(tx, oid, "packed")

    centre.store.write_sync(write)


def _batch(centre: Any, after: int = 0) -> bytes:
    """The centre's log after `after`, as its box pushes it."""
    changes = centre.store.read_sync(
        lambda c: changelog.read_after(c, centre.site_id, after, 100_000)
    )
    return encode_batch(Batch(SCHEMA_VERSION, centre.site_id, "", after + 1, 1, 0, changes))


def _with_item_under(centre: Any, order_id: str) -> bytes:
    """The centre's whole log and one more change: a new order line of its own under
    `order_id` (another centre's order, which its box would never hold)."""
    changes = centre.store.read_sync(lambda c: changelog.read_after(c, centre.site_id, 0, 100_000))
    last = changes[-1]
    item = {
        "id": "01ITEMUNDERANOTHERS",
        "site_id": centre.site_id,
        "order_id": order_id,
        "line": 9,
        "product_id": "p1",
        "product_name": "土豆",
        "sold_by": "weight",
        "qty_unit": "g",
        "quantity": 500,
        "unit_price_fen": 150,
        "estimated_fen": 150,
    }
    more = Change(
        centre.site_id, last.seq + 1, last.hlc + 1, "order_items", item["id"], "insert", item
    )
    return encode_batch(Batch(SCHEMA_VERSION, centre.site_id, "", 1, 1, 0, [*changes, more]))


def _last_seq(centre: Any) -> int:
    return int(
        centre.store.read_sync(
            lambda c: c.execute("SELECT MAX(seq) FROM changes WHERE site_id = ?", (centre.site_id,))
        ).fetchone()[0]
    )


async def _push(client: httpx.AsyncClient, token: str, body: bytes) -> httpx.Response:
    return await client.post(
        "/sync/v1/push",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )


async def test_pushes_in_at_once_land_as_each_centre_holds_them(
    district: Any, tmp_path: Path
) -> None:
    app, hub, centres = district
    hub_db = tmp_path / "hub.db"
    async with hub_client(app) as client:
        assert hub.decoders is not None and len(hub.decoders.running) == 2
        for c in centres:
            _orders(c, 30)
        first = await asyncio.gather(*(_push(client, c.token, _batch(c)) for c in centres))
        # The second round: new orders and orders packed (updates), each box resending
        # the hub's last seq first (the seam).
        positions = []
        for c, r in zip(centres, first, strict=True):
            assert r.status_code == 200, r.text
            positions.append(r.json()["position"])
            _orders(c, 20, packed=10)
        second = await asyncio.gather(
            *(
                _push(client, c.token, _batch(c, after=p - 1))
                for c, p in zip(centres, positions, strict=True)
            )
        )
        decoded = hub.decoders.decoded
    for c, r in zip(centres, second, strict=True):
        assert r.status_code == 200, r.text
        assert r.json()["position"] == _last_seq(c)
        assert r.json()["skipped"] == 1
        theirs = canonical(tmp_path / f"{'abcd'[centres.index(c)]}.db", site_ids={c.site_id})
        assert canonical(hub_db, site_ids={c.site_id}) == theirs
    assert decoded >= 2  # the pushes that came in while another was in


async def test_a_refused_push_is_named_the_same_while_others_are_in(district: Any) -> None:
    app, hub, centres = district
    a, b, c, d = centres
    for centre in centres:
        _orders(centre, 20)
    async with hub_client(app) as client:
        r = await _push(client, d.token, _batch(d))
        assert r.status_code == 200
        d_order = await hub.store.read(
            lambda conn: conn.execute("SELECT id FROM orders LIMIT 1").fetchone()[0]
        )
        # b's new order line names d's order: refused, naming the change.
        foreign = _with_item_under(b, d_order)
        not_gzip = b"this is not a batch"
        alone = [await _push(client, b.token, foreign), await _push(client, c.token, not_gzip)]
        together = await asyncio.gather(
            _push(client, a.token, _batch(a)),
            _push(client, b.token, foreign),
            _push(client, c.token, not_gzip),
            _push(client, c.token, _batch(c)),
        )
    assert hub.decoders.decoded >= 1  # one at least came in while another was in
    assert together[0].status_code == 200 and together[3].status_code == 200
    for once, again in zip(alone, together[1:3], strict=True):
        assert once.status_code in (400, 403, 413, 422), once.text
        assert (again.status_code, again.json()) == (once.status_code, once.json())
    assert alone[0].json()["error"] == "foreign_row"


async def test_a_push_decoded_in_a_process_applies_as_one_decoded_here(
    district: Any, tmp_path: Path
) -> None:
    _app, hub, centres = district
    hub_db = tmp_path / "hub.db"
    a, b, *_ = centres
    decoders = DecodeProcesses(hub.schema, 1)
    await decoders.start()
    try:
        _orders(a, 25)
        body = _batch(a)
        mine, here = (
            await decoders.decode(body, "gzip"),
            decode_here(hub.schema, body, "gzip", lay_out=True),
        )
        assert mine is not None and decoders.decoded == 1
        assert _laid_out(mine[1]) == _laid_out(here[1])  # the new rows made ready
        assert (mine[0].site_id, mine[0].from_seq, mine[0].last_seq) == (
            here[0].site_id,
            here[0].from_seq,
            here[0].last_seq,
        )
        assert list(mine[0].changes) == list(here[0].changes)
        first = await hub.store.write(lambda tx: _on_an_older_sqlite(tx, hub, mine))
        assert (first["position"], first["applied"]) == (here[0].last_seq, len(here[0].changes))
        again = await hub.store.write(lambda tx: hub._apply(tx, *here))
        assert (again["applied"], again["skipped"]) == (0, len(here[0].changes))
        assert canonical(hub_db, site_ids={a.site_id}) == canonical(
            hub_db.parent / "a.db", site_ids={a.site_id}
        )
        # Packed orders: updates, decoded whole; and a body it cannot read: the thread's.
        _orders(a, 5, packed=3)
        updates = await decoders.decode(_batch(a, after=here[0].last_seq - 1), "gzip")
        assert updates is not None and updates[1] is None
        assert await decoders.decode(b"not a batch", "gzip") is None

        # New rows that name another centre's row go one by one after all, from the
        # body: refused with the same words as when decoded here.
        a_order = await hub.store.read(
            lambda conn: conn.execute("SELECT id FROM orders LIMIT 1").fetchone()[0]
        )
        _orders(b, 3)
        body = _with_item_under(b, a_order)
        made_ready = await decoders.decode(body, "gzip")
        assert made_ready is not None and made_ready[1] is not None
        refusals = []
        for batch, ready in (made_ready, decode_here(hub.schema, body, "gzip", lay_out=True)):
            with pytest.raises(ForeignRow) as refused:
                await hub.store.write(lambda tx, b=batch, r=ready: hub._apply(tx, b, r))
            refusals.append(str(refused.value))
        assert refusals[0] == refusals[1] and "order_items" in refusals[0]
    finally:
        await decoders.close()


async def test_a_decode_process_that_dies_is_replaced(
    district: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, hub, centres = district
    _orders(centres[0], 10)
    body = _batch(centres[0])
    decoders = DecodeProcesses(hub.schema, 1)
    await decoders.start()
    try:
        (pid,) = decoders.running
        os.kill(pid, signal.SIGKILL)
        assert await decoders.decode(body, "gzip") is None  # the caller decodes it here
        assert decoders.running == []
        monkeypatch.setattr(decoding, "RESTART_AFTER_S", 0.0)
        decoders._not_before = 0.0  # the wait after a death, as if over
        assert await decoders.decode(body, "gzip") is None  # a new one is starting
        deadline = time.monotonic() + 30
        while (got := await decoders.decode(body, "gzip")) is None:
            assert time.monotonic() < deadline, "no decode process came back"
            await asyncio.sleep(0.05)
        assert got[0].site_id == centres[0].site_id
        assert decoders.running and decoders.running != [pid]
    finally:
        await decoders.close()
    assert decoders.running == []


def _on_an_older_sqlite(tx: Tx, hub: Any, decoded: Any) -> Any:
    """`hub._apply` on a writer that takes 999 values a statement (SQLite before 3.32),
    so that fewer rows go in each INSERT than the values were laid out for."""
    limit = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
    before = tx.conn.setlimit(limit, 999)
    try:
        return hub._apply(tx, *decoded)
    finally:
        tx.conn.setlimit(limit, before)


def _laid_out(ready: Any) -> Any:
    """New rows made ready, their rows as lists, however they are held."""
    groups = [(tbl, cols, list(rows), chunks) for tbl, cols, rows, chunks in ready.groups]
    return (ready.first_seq, ready.count, groups, ready.named, list(ready.log_rows))


async def test_a_process_runs_the_hubs_code_or_none(
    district: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    _app, hub, centres = district
    _orders(centres[0], 5)
    body = _batch(centres[0])
    # A folder named hub in the working directory is not what a process imports.
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "__init__.py").write_text("")
    (tmp_path / "hub" / "decoding.py").write_text("raise SystemExit('not the hub')\n")
    monkeypatch.chdir(tmp_path)
    decoders = DecodeProcesses(hub.schema, 1)
    await decoders.start()
    try:
        assert len(decoders.running) == 1
        assert await decoders.decode(body, "gzip") is not None
    finally:
        await decoders.close()
    # The code installed after the hub started (an upgrade): the process refuses.
    monkeypatch.setattr(decoding, "code_fingerprint", lambda: "the hub's older code")
    stale = DecodeProcesses(hub.schema, 1)
    await stale.start()
    try:
        assert stale.running == []
        assert await stale.decode(body, "gzip") is None  # decoded in a thread instead
    finally:
        await stale.close()
    assert "its code is not the hub's" in caplog.text


def _decode_processes(hub_pid: int) -> list[psutil.Process]:
    return [
        p for p in psutil.Process(hub_pid).children() if "hub.decoding" in " ".join(p.cmdline())
    ]


@pytest.mark.parametrize("how", ["kill -9", "stop"])
def test_the_decode_processes_end_with_the_hub(tmp_path: Path, how: str) -> None:
    hub_db = tmp_path / "hub.db"
    done = linli_in_process("hub", "add-centre", "--db", str(hub_db), "--name", NAMES[0])
    assert done.returncode == 0, done.stderr
    port = free_port()
    procs = Procs(tmp_path)
    procs.start("hub", "--role", "hub", "--db", str(hub_db), "--port", str(port))
    try:
        procs.wait_healthy("hub", f"http://127.0.0.1:{port}")
        hub = procs.procs["hub"]
        children = _decode_processes(hub.pid)
        assert len(children) == 2, procs.log("hub")
        if how == "kill -9":
            hub.kill()
            assert hub.wait(30) == -signal.SIGKILL
        else:
            hub.terminate()  # uvicorn shuts down, then ends by the signal it caught
            assert hub.wait(30) in (0, -signal.SIGTERM)
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert alive == [], f"decode processes left after the hub's {how}: {alive}"
    finally:
        procs.stop_all()
    assert "Traceback" not in (tmp_path / "hub.log").read_text(errors="replace")


@pytest.mark.parametrize("given", ["-1", "17", "two"])
def test_decode_processes_are_a_small_count(tmp_path: Path, given: str) -> None:
    done = linli_in_process(
        "serve", "--role", "hub", "--db", str(tmp_path / "hub.db"), "--decode-processes", given
    )
    assert done.returncode == 2
    assert "--decode-processes" in done.stderr and "processes" in done.stderr.split(":")[-1]
    assert not (tmp_path / "hub.db").exists()  # refused before anything was opened
