"""Shared fixtures: a real centre database in a temp folder and the real app on it
(the world itself is built by tests/centre_world.py)."""

from __future__ import annotations

import copy
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from centre_world import SUNDAY_MORNING, Centre, Clock, build_centre
from litestar.testing import TestClient
from page_forms import sign_in
from pg_server import hub_backend, hub_target, pg_server, pg_url  # noqa: F401 - fixtures
from supply_world import sc, world  # noqa: F401 - fixtures
from wechat_paste import wx  # noqa: F401 - a fixture

from edge.settings import Settings
from edge.web.app import create_app


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the server's loop), not trio."""
    return "asyncio"


@pytest.fixture(scope="session")
def centre_template(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, tuple[str, dict[str, str], dict[str, str], dict[str, str]]]:
    """build_centre once per test process (staff PINs are argon2 hashes: slow on
    purpose); each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("template") / "centre.db"
    return path, build_centre(path)


@pytest.fixture(scope="session")
def centre_app(
    tmp_path_factory: pytest.TempPathFactory,
    centre_template: tuple[Path, tuple[str, dict[str, str], dict[str, str], dict[str, str]]],
) -> tuple[Any, Path, Clock]:
    """The real centre app, built once per test process on a fixed database path.

    Building a Litestar app takes about 0.3 s (a signature model per handler); the
    `centre` fixture puts a fresh copy of the template database at this path before each
    test, and the app's lifespan (run per test by its TestClient) opens the store, the
    auth service and its caches anew on it. Every template copy has the same site id
    and CSRF secret, so the app built on the first copy is the one the next copy needs.
    """
    slot = tmp_path_factory.mktemp("centre-slot")
    db_path = slot / "centre.db"
    shutil.copyfile(centre_template[0], db_path)
    clock = Clock(SUNDAY_MORNING)
    settings = Settings(db_path=db_path, sync_enabled=False, housekeeping_interval_s=0, now=clock)
    return create_app(settings), db_path, clock


def _fresh_slot(db_path: Path, template: Path) -> None:
    """Empty the slot's folder (the last test's database, WAL, backups) and copy the template in."""
    for leftover in db_path.parent.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    shutil.copyfile(template, db_path)


@pytest.fixture
def centre(
    centre_app: tuple[Any, Path, Clock],
    centre_template: tuple[Path, tuple[str, dict[str, str], dict[str, str], dict[str, str]]],
) -> Iterator[Centre]:
    app, db_path, clock = centre_app
    template, built = centre_template
    _fresh_slot(db_path, template)
    site_id, tokens, products, households = copy.deepcopy(built)
    clock.now = SUNDAY_MORNING
    c = Centre(db_path, site_id, tokens, products, households, clock)
    with TestClient(app=app) as client:
        c.client = client
        yield c


# The centre template after the manager signed in on the tablet (/signin, the real form
# and PIN check) on Sunday morning, and the tablet's cookies then: made once per test
# process. A sign-in is an argon2 check (tens of ms) and three requests; the tests that
# start signed in (the WeChat cards, the manager's forms) did it every time.
_SIGNED_IN: list[tuple[Path, list[Any]]] = []


@pytest.fixture
def manager_centre(
    centre_app: tuple[Any, Path, Clock],
    centre_template: tuple[Path, tuple[str, dict[str, str], dict[str, str], dict[str, str]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Centre]:
    """`centre`, its tablet signed in as the manager (a copy of the database that sign-in
    left, with its cookies)."""
    app, db_path, clock = centre_app
    template, built = centre_template
    if not _SIGNED_IN:
        _fresh_slot(db_path, template)
        clock.now = SUNDAY_MORNING
        with TestClient(app=app) as client:
            r = sign_in(client, "manager")
            assert r.status_code == 303, r.text
            cookies = list(client.cookies.jar)
            signed = tmp_path_factory.mktemp("signed-in") / "centre.db"
            source, target = sqlite3.connect(db_path), sqlite3.connect(signed)
            try:
                source.backup(target)  # whole, with what is still in the WAL
            finally:
                source.close()
                target.close()
        _SIGNED_IN.append((signed, cookies))
    signed, cookies = _SIGNED_IN[0]
    _fresh_slot(db_path, signed)
    site_id, tokens, products, households = copy.deepcopy(built)
    clock.now = SUNDAY_MORNING
    c = Centre(db_path, site_id, tokens, products, households, clock)
    with TestClient(app=app) as client:
        for cookie in cookies:
            client.cookies.jar.set_cookie(cookie)
        c.client = client
        yield c


# --- scheduling over `make test`'s workers (pytest -n 4) ------------------------------------

# Modules whose tests share a module-scoped world (served processes, a Chromium, an
# installed box): each is sent whole to one worker, which builds the world once. Split
# across workers, each built it (the box and the hub district were built twice).
# Every other test is scheduled on its own, to whichever worker is free. The seconds are
# each module's whole time in a `-n 3` run on the 2-core machine (--durations=0,
# December 2026): only their order matters (longest first); a module missing here
# counts as 10 s.
MODULE_WORLDS = {
    "test_deploy": 62,
    "test_browser_tablet": 62,
    "test_browser_hub": 56,
    "test_security_e2e": 51,
    "test_browser_desk": 30,
    "test_browser_care": 27,
    "test_browser": 19,
    "test_hub_live_commands": 17,
}


def world_first_order(units: list[str], world_of: dict[str, str]) -> list[str]:
    """The order the work units are handed out in: the module worlds longest first, each
    dealt after as many single tests as the worlds before it last (a world takes about
    as long as the single tests that take up the first 60 % of the singles' queue: the
    other workers run those meanwhile), so no two worlds run together (started
    together they fought over the two cores and each ran twice as long), and the run
    ends on single tests, which the workers share out to the last one and finish
    together (a world dealt last in file order ran alone at the end)."""
    worlds = sorted(
        (u for u in units if u in world_of),
        key=lambda u: -MODULE_WORLDS.get(world_of[u], 10),
    )
    singles = [u for u in units if u not in world_of]
    seconds = [MODULE_WORLDS.get(world_of[u], 10) for u in worlds]
    total = sum(seconds) or 1
    at: dict[int, list[str]] = {}
    before = 0
    for unit, s in zip(worlds, seconds, strict=True):
        at.setdefault(round(len(singles) * 0.6 * before / total), []).append(unit)
        before += s
    out: list[str] = []
    for i, unit in enumerate(singles):
        out.extend(at.pop(i, []))
        out.append(unit)
    return out + [u for rest in at.values() for u in rest]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n N` (xdist's "load"): one test at a time to a free worker, but a MODULE_WORLDS
    module as one unit, in `world_first_order`. xdist's `--dist loadgroup` would say the
    same, but pytest 9 ignores the node ids xdist 3.8 renames for it."""
    if config.getvalue("dist") != "load":
        return None  # an explicit --dist loadfile, loadscope, …: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class WorldsWhole(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if Path(module).stem in MODULE_WORLDS else nodeid

        def _assign_work_unit(self, node: Any) -> None:
            if not ordered:  # the first hand-out: the queue is whole, in file order
                ordered.append(True)
                queue = dict(self.workqueue)
                world_of = {u: Path(u).stem for u in queue if "::" not in u}
                self.workqueue.clear()
                for unit in world_first_order(list(queue), world_of):
                    self.workqueue[unit] = queue[unit]
            super()._assign_work_unit(node)

    ordered: list[bool] = []
    config.option.loadscopereorder = False  # file order, then world_first_order
    return WorldsWhole(config, log)
