"""Shared fixtures: a real centre database in a temp folder and the real app on it."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from edge.demo import add_catalog
from edge.domain.auth import add_staff, issue_token
from edge.domain.centre import init_centre
from edge.domain.households import HouseholdInput, create_household
from edge.settings import Settings
from edge.store import Tx, open_store
from edge.web.app import create_app

# A Sunday morning: the next delivery day is Monday 2026-11-30 (cut-off Sunday 20:00).
SUNDAY_MORNING = datetime(2026, 11, 29, 10, 0)


class Clock:
    """A settable "now" for cut-off rules."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Centre:
    db_path: Path
    site_id: str
    tokens: dict[str, str]
    products: dict[str, str]
    households: dict[str, str]
    clock: Clock
    client: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: str = "manager", **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **more}


def build_centre(db_path: Path) -> tuple[str, dict[str, str], dict[str, str], dict[str, str]]:
    with open_store(db_path) as store:
        site_id = init_centre(store, "测试社区")

        def write(tx: Tx) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
            tokens = {}
            for name, role in (
                ("manager", "manager"),
                ("staff", "staff"),
                ("volunteer", "volunteer"),
            ):
                staff = add_staff(tx, name, role, "1234")
                tokens[name] = issue_token(tx, staff.id)
            products = add_catalog(tx)
            households = {
                "张桂兰": create_household(
                    tx,
                    HouseholdInput(
                        name="张桂兰",
                        phone="13805321234",
                        building="3",
                        unit="1",
                        room="201",
                        wechat_nickname="张阿姨",
                    ),
                ),
                "王秀英": create_household(
                    tx,
                    HouseholdInput(
                        name="王秀英",
                        phone="15863219876",
                        building="5",
                        unit="1",
                        room="101",
                        wechat_nickname="王奶奶",
                        home_delivery=True,
                    ),
                ),
            }
            return tokens, products, households

        tokens, products, households = store.write_sync(write)
    return site_id, tokens, products, households


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


def order_body(c: Centre, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_id": c.households["张桂兰"],
        "channel": "wechat",
        "items": [
            {"product_id": c.products["土豆"], "quantity": 5, "unit": "斤"},
            {"product_id": c.products["橙子"], "quantity": 6},
            {"product_id": c.products["馒头"], "quantity": 1, "unit": "份"},
        ],
    }
    body.update(over)
    return body


def count(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()
