"""A cloned box whose log is exactly as long as the original's is held at its first
contact: every position and pull call carries the end of the box's log, and the hub
compares it with its own copy (a box with nothing to push never pushes, so the seam
check of a push alone let such a clone report "ok, 0 waiting" while its orders never
reached the hub)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_fixtures import (
    Centre,
    add_household,
    add_order,
    cancel_handler,
    count,
    enrol_centre,
    enrolled,
    hub_app,
    hub_client,
    linli_in_process,
)

from edge.backup import backup
from edge.store import Store, Tx
from sync.agent import SyncAgent
from sync.errors import Diverged

pytestmark = pytest.mark.anyio


def _agent(centre: Centre, client: httpx.AsyncClient) -> SyncAgent:
    agent = centre.agent(client)
    agent.register_command("cancel_order", cancel_handler)
    return agent


def _order(centre: Centre) -> str:
    def write(tx: Tx) -> str:
        return add_order(tx, add_household(tx), items=1)

    return str(centre.store.write_sync(write))


def _held(hub_db: Path, site_id: str) -> bool:
    return bool(
        count(hub_db, "SELECT diverged IS NOT NULL FROM sync_centres WHERE site_id = ?", (site_id,))
    )


@pytest.fixture
async def twins(tmp_path: Path) -> AsyncIterator[tuple[Any, Centre, Centre]]:
    """A box that synced, and a copy of its disk; each then took one order of its own,
    and the original synced first. Both logs end at the same seq, with other content."""
    app, (a,) = enrolled(tmp_path, ["金沙路社区"])
    clone: Centre | None = None
    try:
        async with hub_client(app) as client:
            _order(a)
            await _agent(a, client).sync_once()
            copy = backup(a.store.path, tmp_path / "clone.db")
            clone = Centre(a.name, Store(copy), a.site_id, a.token)
            _order(a)
            _order(clone)
            report = await _agent(a, client).sync_once()
            assert report.ok and report.waiting == 0
            yield client, a, clone
    finally:
        a.store.close()
        if clone is not None:
            clone.store.close()


async def test_a_clone_with_a_log_as_long_is_held_at_its_first_contact(
    twins: Any, tmp_path: Path
) -> None:
    client, a, clone = twins
    hub_db = tmp_path / "hub.db"
    last = count(clone.store.path, "SELECT MAX(seq) FROM changes")
    assert last == count(hub_db, "SELECT acked_seq FROM sync_centres")  # as long as the hub's

    with pytest.raises(Diverged) as refused:
        await _agent(clone, client).sync_once()
    assert f"seq {last}" in refused.value.detail and "clone" in refused.value.detail
    assert _held(hub_db, a.site_id)
    # The badge of the clone says so; the hub holds the site until an operator acts.
    assert clone.agent(client).status()["last_error"].startswith("diverged")
    with pytest.raises(Diverged, match="held"):
        await _agent(a, client).sync_once()
    # Only the original's two orders are on the hub.
    assert count(hub_db, "SELECT COUNT(*) FROM orders WHERE site_id = ?", (a.site_id,)) == 2


async def test_a_pull_checks_the_end_of_the_log_too(twins: Any, tmp_path: Path) -> None:
    """A pull alone (no position call first) is a contact like any other."""
    client, a, clone = twins
    agent = _agent(clone, client)
    end = await agent._log_end()
    r = await client.get(
        "/sync/v1/pull",
        params={"after": 0, **end},
        headers={"Authorization": f"Bearer {clone.token}"},
    )
    assert r.status_code == 409 and r.json()["error"] == "diverged", r.text
    assert _held(tmp_path / "hub.db", a.site_id)
    # Held: the genuine box's pull is refused as well, until an operator resolves it.
    end = await _agent(a, client)._log_end()
    r = await client.get(
        "/sync/v1/pull",
        params={"after": 0, **end},
        headers={"Authorization": f"Bearer {a.token}"},
    )
    assert r.status_code == 409 and "held" in r.json()["detail"]


async def test_the_genuine_box_passes_every_contact(twins: Any, tmp_path: Path) -> None:
    """The check is no false alarm: the original, with its log as long as the hub's,
    syncs again and again, pull included."""
    client, a, _clone = twins
    for _ in range(2):
        report = await _agent(a, client).sync_once()
        assert report.ok and report.pushed == 0 and report.waiting == 0
    end = await _agent(a, client)._log_end()
    r = await client.get(
        "/sync/v1/pull",
        params={"after": 0, **end},
        headers={"Authorization": f"Bearer {a.token}"},
    )
    assert r.status_code == 200, r.text
    assert not _held(tmp_path / "hub.db", a.site_id)


async def test_a_malformed_digest_is_a_400_naming_it(twins: Any) -> None:
    client, a, _clone = twins
    for path in ("/sync/v1/position", "/sync/v1/pull"):
        r = await client.get(
            path,
            params={"last_seq": 1, "last_digest": "not hex"},
            headers={"Authorization": f"Bearer {a.token}"},
        )
        assert r.status_code == 400 and r.json()["field"] == "last_digest", r.text


# --- `linli sync --once` against a hub on a real socket ------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_hub(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    import uvicorn

    app = hub_app(tmp_path / "hub.db")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _sync_once(db: Path) -> subprocess.CompletedProcess[str]:
    """`linli sync --once` (in this process: the hub serves from a thread of it)."""
    return linli_in_process("sync", "--once", "--db", str(db))


def test_linli_sync_once_on_the_clone_fails_and_holds_the_hub(
    served_hub: Any, tmp_path: Path
) -> None:
    app, url = served_hub
    a = enrol_centre(app.state.hub.store, tmp_path / "a.db", "金沙路社区", hub_url=url)
    _order(a)
    a.store.close()
    first = _sync_once(a.store.path)
    assert first.returncode == 0 and json.loads(first.stdout)["ok"], first.stderr
    backup(a.store.path, tmp_path / "clone.db")
    for db in (a.store.path, tmp_path / "clone.db"):
        box = Store(db)
        try:
            _order(Centre(a.name, box, a.site_id, a.token))
        finally:
            box.close()
    assert _sync_once(a.store.path).returncode == 0

    r = _sync_once(tmp_path / "clone.db")
    assert r.returncode != 0 and "a cloned disk" in r.stderr, (r.stdout, r.stderr)
    assert _held(tmp_path / "hub.db", a.site_id)
