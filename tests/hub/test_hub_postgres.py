"""Several hub processes on one PostgreSQL: two `linli serve --role hub` processes share
a database, and three centres reach them through one fault-injecting proxy that
sends each request to the other process in turn (a load balancer over a bad
link). A push whose reply was lost by one process is retried to the other and
applies once; commands issued on the hub reach their centres, and the answers
come back. At the end every replica is equal and nothing is doubled.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_world import LINLI, grab, linli_here
from live_server import free_port, stop, wait_healthy
from sync_fixtures import (
    HUB_URL,
    FaultProxy,
    add_household,
    add_order,
    cancel_handler,
    canonical,
    count,
    enrol_centre,
    hub_app,
    linli_in_process,
    open_hub_store,
)

from edge.store import Tx, changelog
from hub import operations
from sync import enrol
from sync.agent import SyncAgent

pytestmark = pytest.mark.anyio


@pytest.fixture
def two_hubs(pg_url: str, tmp_path: Path) -> Iterator[list[int]]:
    """Two hub processes serving the one PostgreSQL database."""
    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    # The hub's site id made first (a first start on an empty database is one process's
    # job), then both processes start at once, and each must answer /healthz.
    open_hub_store(pg_url).close()
    try:
        for i, port in enumerate(ports):
            with (tmp_path / f"hub{i}.log").open("ab") as log:
                procs.append(
                    subprocess.Popen(
                        [
                            *(LINLI, "serve", "--role", "hub", "--db", pg_url),
                            *("--host", "127.0.0.1", "--port", str(port)),
                            *("--log-level", "warning"),
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for i, (port, proc) in enumerate(zip(ports, procs, strict=True)):
            wait_healthy(f"http://127.0.0.1:{port}", proc, tmp_path / f"hub{i}.log")
        yield ports
    finally:
        stop(procs)


def _orders(centre: Any, n: int) -> list[str]:
    def write(tx: Tx) -> list[str]:
        hh = add_household(tx)
        return [add_order(tx, hh) for _ in range(n)]

    out: list[str] = centre.store.write_sync(write)
    return out


async def _settle(agents: list[SyncAgent], rounds: int = 60) -> None:
    """Sync every centre until each has nothing waiting and its last run succeeded."""
    for _ in range(rounds):
        reports = [await agent.sync_once() for agent in agents]
        if all(r.ok and r.waiting == 0 for r in reports):
            return
    raise AssertionError(f"not settled after {rounds} rounds: {reports}")


async def test_two_hub_processes_on_one_postgresql_through_faults(
    pg_url: str, two_hubs: list[int], tmp_path: Path
) -> None:
    hub_store = open_hub_store(pg_url)  # this process is a third writer on the database
    proxy = FaultProxy(two_hubs[0], rate=0.3, seed=16, also=(two_hubs[1],))
    centres = [
        enrol_centre(hub_store, tmp_path / f"{letter}.db", name, proxy.url)
        for letter, name in zip("abc", ["金沙路社区", "四方路社区", "海泊河社区"], strict=True)
    ]
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            agents = []
            for c in centres:
                agent = SyncAgent(c.store, client, proxy.url, c.token)
                agent.register_command("cancel_order", cancel_handler)
                agents.append(agent)
            placed = {c.site_id: _orders(c, 5) for c in centres}
            await _settle(agents)
            # The hub cancels one order of each centre; some other orders arrive meanwhile.
            for c in centres:
                hub_store.write_sync(
                    lambda tx, c=c: operations.cancel_order(tx, placed[c.site_id][0], "op")
                )
                _orders(c, 3)
            await _settle(agents)
            await _settle(agents)  # the answers to the commands, pushed
        assert proxy.requests > 30 and sum(proxy.faults.values()) > 5, proxy.faults
        for c in centres:
            site = {c.site_id}
            assert canonical(pg_url, site_ids=site) == canonical(c.store.path, site_ids=site)
            last = c.store.read_sync(lambda conn, c=c: changelog.last_seq(conn, c.site_id))
            # Nothing doubled: the hub logged each change of the centre once, densely.
            assert count(
                pg_url, "SELECT COUNT(*) FROM sync_log WHERE site_id = ?", (c.site_id,)
            ) == (last)
            assert count(
                pg_url, "SELECT acked_seq FROM sync_centres WHERE site_id = ?", (c.site_id,)
            ) == (last)
            assert count(pg_url, "SELECT COUNT(*) FROM orders WHERE site_id = ?", (c.site_id,)) == 8
            assert (
                count(
                    pg_url,
                    "SELECT COUNT(*) FROM orders WHERE site_id = ? AND status = 'cancelled'",
                    (c.site_id,),
                )
                == 1
            )
            assert (
                count(
                    pg_url,
                    "SELECT COUNT(*) FROM sync_command_results WHERE site_id = ?",
                    (c.site_id,),
                )
                == 1
            )
    finally:
        proxy.close()
        for c in centres:
            c.store.close()
        hub_store.close()


def test_linli_hub_migrate_moves_a_hub_into_postgresql(pg_url: str, tmp_path: Path) -> None:
    """The CLI moves a SQLite hub (centres, an operator, synced rows) and says what it
    checked; a second run into the now full database is refused and changes nothing."""
    hub_db = tmp_path / "hub.db"
    hub_store = open_hub_store(hub_db)
    centre = enrol_centre(hub_store, tmp_path / "a.db", "金沙路社区")
    _orders(centre, 4)
    hub_store.close()
    centre.store.close()
    # The commands in this process (linli_here): a Python per command was most of the time.
    linli_here(
        "hub", "add-operator", "--db", str(hub_db), "--name", "op", "--password", "password1"
    )
    out = linli_here("hub", "migrate", "--from", str(hub_db), "--to", pg_url)
    assert "row counts and change positions" in out, out
    moved = int(grab(r"moved (\d+) rows", out))
    assert moved > 5
    assert count(pg_url, "SELECT COUNT(*) FROM sync_centres") == 1
    assert count(pg_url, "SELECT COUNT(*) FROM sync_operators WHERE name = 'op'") == 1
    done = linli_in_process("hub", "migrate", "--from", str(hub_db), "--to", pg_url)
    assert done.returncode != 0 and "not empty" in done.stderr + done.stdout
    # And the moved hub serves: the CLI works on it like on the file.
    added = linli_here("hub", "add-centre", "--db", pg_url, "--name", "四方路社区")
    assert "token" in added
    assert count(pg_url, "SELECT COUNT(*) FROM sync_centres") == 2


async def test_two_hub_processes_share_the_sign_in_limit_and_the_csrf_secret(
    pg_url: str,
) -> None:
    """Failed sign-ins sent to two hub apps on one database count together, and a form
    served by one is accepted by the other (what a load balancer does to a browser)."""
    store = open_hub_store(pg_url)
    store.write_sync(lambda tx: enrol.add_operator(tx, "op", "password1", "operator"))
    store.close()
    apps = [hub_app(pg_url), hub_app(pg_url)]
    async with apps[0].lifespan(), apps[1].lifespan():
        one, two = (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HUB_URL)
            for app in apps
        )
        async with one, two:
            # The sign-in form from the first, posted with its cookie to the second.
            page = await one.get("/hub/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert token, page.text[:300]
            two.cookies.update(one.cookies)
            r = await two.post(
                "/hub/login",
                data={"name": "op", "password": "password1", "_csrf_token": token.group(1)},
            )
            assert r.status_code in (302, 303), r.text[:300]
            # Five wrong guesses, alternating between the two (Settings.login_max_failures):
            # then either refuses even the right password.
            for i in range(5):
                bad = await (one, two)[i % 2].post(
                    "/hub/api/v1/token", json={"name": "op", "password": "guess-1"}
                )
                assert bad.status_code == 401
            for client in (one, two):
                r = await client.post(
                    "/hub/api/v1/token", json={"name": "op", "password": "password1"}
                )
                assert r.status_code == 429, r.text
