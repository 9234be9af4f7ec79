"""Shared helpers for the supply tests (no tests here): the centre app with supply mounted.

`conftest.centre` builds the real app; until the lead mounts the supply API
and pages in `edge.app.create_app`, `mount_supply` registers them on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Centre, Clock, build_centre
from litestar.testing import TestClient

from edge.app import create_app
from edge.settings import Settings
from edge.supply.api import SUPPLY_CONTROLLERS

MONDAY = "2026-11-30"
SUNDAY_MORNING = datetime(2026, 11, 29, 10, 0)
AFTER_CUTOFF = datetime(2026, 11, 29, 20, 1)
MONDAY_0600 = datetime(2026, 11, 30, 6, 0)


def mount_supply(app: Any) -> None:
    paths = {route.path for route in app.routes}
    if "/api/v1/consolidated" not in paths:
        for controller in SUPPLY_CONTROLLERS:
            app.register(controller)
    if "/supply/receiving" not in paths:
        from edge.supply.pages import SUPPLY_PAGE_HANDLERS

        for handler in SUPPLY_PAGE_HANDLERS:
            app.register(handler)


@pytest.fixture
def sc(tmp_path: Path) -> Iterator[Centre]:
    """A centre (conftest's world) with the supply API and pages mounted."""
    db_path = tmp_path / "centre.db"
    site_id, tokens, products, households = build_centre(db_path)
    clock = Clock(SUNDAY_MORNING)
    app = create_app(Settings(db_path=db_path, sync_enabled=False, now=clock))
    mount_supply(app)
    c = Centre(db_path, site_id, tokens, products, households, clock)
    with TestClient(app=app) as client:
        c.client = client
        yield c


def place(
    c: Centre,
    items: list[tuple[str, float, str | None]],
    who: str = "张桂兰",
    key: str | None = None,
) -> str:
    body = {
        "household_id": c.households[who],
        "channel": "wechat",
        "items": [
            {"product_id": c.products[name], "quantity": q, "unit": u} for name, q, u in items
        ],
    }
    headers = c.headers(**({"Idempotency-Key": key} if key else {}))
    r = c.client.post("/api/v1/orders", json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"] if "id" in r.json() else r.json()["order_id"])


def lines_by_name(doc: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(x["product_name"], x["qty_unit"]): x["total"] for x in doc["lines"]}
