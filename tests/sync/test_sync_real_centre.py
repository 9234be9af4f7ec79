"""Sync as the real centre app runs it: joining a hub next to a running server.

Regression: `linli centre join` re-owns a demo box's rows under the site id
the hub issued. Run while `linli serve` was up, the server went on writing
new orders under the old (cached) site id: they were acknowledged to the
tablet, counted nowhere as waiting, and never pushed. Now the server holds
a serving lock and the join is refused until it stops; and a server that
opened the file just before a join finished writes under the new site id.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.settings import Settings
from edge.store import Store, get_meta
from edge.web.app import create_app
from sync import enrol
from sync import schema as sync_schema

LINLI = str(Path(sys.executable).parent / "linli")


def _join(db: Path) -> subprocess.CompletedProcess[str]:
    # Port 9 (discard) on loopback: nothing answers, so a join that gets past the
    # lock fails at the hub, with nothing written.
    return subprocess.run(
        [
            LINLI,
            "centre",
            "join",
            "--db",
            str(db),
            "--hub",
            "http://127.0.0.1:9",
            "--token",
            "lc_x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _site(db: Path) -> str | None:
    store = Store(db)
    try:
        return store.read_sync(lambda c: get_meta(c, "site_id"))
    finally:
        store.close()


def _centre(db: Path, template: tuple[Path, tuple[Any, ...]]) -> str:
    """A copy of the demo centre `build_centre` made once per test process (its staff
    PINs are argon2 hashes: slow on purpose); its site id."""
    shutil.copyfile(template[0], db)
    return str(template[1][0])


def test_join_is_refused_while_the_centre_server_runs(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    db = tmp_path / "centre.db"
    site = _centre(db, centre_template)
    app = create_app(Settings(db_path=db, sync_enabled=False))

    async def while_serving() -> subprocess.CompletedProcess[str]:
        async with app.lifespan():  # type: ignore[attr-defined]
            return await asyncio.to_thread(_join, db)

    refused = asyncio.run(while_serving())
    assert refused.returncode == 2
    assert "a Linli server is running" in refused.stderr and "stop it" in refused.stderr
    assert _site(db) == site
    # Once the server stopped, the lock is free: this join gets as far as the hub.
    after = _join(db)
    assert after.returncode == 2 and "cannot reach the hub" in after.stderr, after.stderr


def test_a_server_opened_just_before_a_join_finished_writes_under_the_new_site(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    db = tmp_path / "centre.db"
    old_site = _centre(db, centre_template)
    app = create_app(Settings(db_path=db, sync_enabled=False))
    new_site = "01JOINEDSITE0000000000000X"

    async def race() -> str:
        with enrol.joining_lock(db):
            # The server opens its store (old site id), then waits for the lock.
            starting = asyncio.create_task(_serve_and_report(app))
            await asyncio.sleep(0.3)
            assert not starting.done()
            sync_schema.ensure(db)
            joiner = Store(db)
            try:
                joiner.write_sync(
                    lambda tx: enrol.join(
                        tx,
                        hub_url="http://hub",
                        token="lc_x",
                        site_id=new_site,
                        hub_site_id="01HUB",
                        name="x",
                    )
                )
            finally:
                joiner.close()
        return await asyncio.wait_for(starting, 30)

    assert asyncio.run(race()) == new_site
    assert old_site != new_site


async def _serve_and_report(app: object) -> str:
    async with app.lifespan():  # type: ignore[attr-defined]
        store: Store = app.state.store  # type: ignore[attr-defined]
        return store.site_id


@pytest.mark.parametrize("held", ["join", "serve"])
def test_locks(tmp_path: Path, held: str) -> None:
    db = tmp_path / "c.db"
    fds: list[int] = []
    try:
        if held == "serve":
            fds.append(enrol.try_serving_lock(db) or -1)
            fds.append(enrol.try_serving_lock(db) or -1)  # servers share it
            assert -1 not in fds
            with pytest.raises(enrol.SyncError, match="server is running"):
                with enrol.joining_lock(db):
                    pass
        else:
            with enrol.joining_lock(db):
                assert enrol.try_serving_lock(db) is None
            fds.append(enrol.try_serving_lock(db) or -1)
            assert -1 not in fds
    finally:
        for fd in fds:
            if fd != -1:
                os.close(fd)
