"""Shared helpers for the supply tests (no tests here): a centre, a hub and a supplier."""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from centre_world import Centre
from page_forms import sign_in
from sync_fixtures import HUB_URL

from edge.store import Store
from edge.web.pages import configure_templates

MONDAY = "2026-11-30"
SUNDAY_MORNING = datetime(2026, 11, 29, 10, 0)
AFTER_CUTOFF = datetime(2026, 11, 29, 20, 1)
MONDAY_0600 = datetime(2026, 11, 30, 6, 0)


@pytest.fixture
def sc(centre: Centre) -> Centre:
    """A centre (conftest's world); the supply API and pages are part of every centre app."""
    return centre


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


# --- a hub, two centres and a supplier, in process -----------------------------------------

PII = {
    # name, phone, building, unit, room, nickname: strings no supplier answer may contain
    "A": ("欧阳娜娜", "13912340077", "甲88座", "东九门", "1707室", "娜姐姐🍊"),
    "B": ("司马光明", "18600009911", "乙66座", "西五门", "2302室", "光明大叔"),
}


@dataclass
class _Built:
    """A world's files, built once per test process; each World copies them."""

    folder: Path
    names: dict[str, str]
    site_ids: dict[str, str]
    tokens: dict[str, str]
    products: dict[str, dict[str, str]]
    households: dict[str, str]
    supplier_token: str


_BUILT: list[_Built] = []


def _build_world(folder: Path) -> _Built:
    """Enrol two centres with catalogs and a household each, and a co-op, as a hub does."""
    from sync_fixtures import enrol_centre, hub_app

    from edge.demo import add_catalog
    from edge.domain.households import HouseholdInput, create_household
    from hub.supplier import create_supplier

    app = hub_app(folder / "hub.db")
    hub_store = app.state.hub.store
    built = _Built(folder, {}, {}, {}, {}, {}, "")
    for key, name in (("A", "金沙路社区"), ("B", "海泊河社区")):
        c = enrol_centre(hub_store, folder / f"{key}.db", name)
        pii = PII[key]

        def write(tx: Any, pii: tuple[str, ...] = pii) -> tuple[dict[str, str], str]:
            products = add_catalog(tx)
            hh = create_household(
                tx,
                HouseholdInput(
                    name=pii[0],
                    phone=pii[1],
                    building=pii[2],
                    unit=pii[3],
                    room=pii[4],
                    wechat_nickname=pii[5],
                ),
            )
            return products, hh

        built.products[key], built.households[key] = c.store.write_sync(write)
        built.names[key], built.site_ids[key], built.tokens[key] = name, c.site_id, c.token
        c.store.close()
    built.supplier_token = hub_store.write_sync(lambda tx: create_supplier(tx, "胶州合作社"))
    hub_store.close()
    return built


class World:
    """A real hub app and two enrolled centres with catalogs (each World its own copy of
    files built once per test process: enrolling and migrating three databases per test
    was most of the supply and hub tests' time)."""

    def __init__(
        self, tmp: Path, source: Path | None = None, hub: Path | str | None = None
    ) -> None:
        """`source`: a folder holding a later state of this world's files (a test module's
        own setup, made once) to copy instead of the freshly built one. `hub`: a
        PostgreSQL URL puts the hub there (the copied hub.db moved in)."""
        from sync_fixtures import Centre as SyncCentre
        from sync_fixtures import hub_app

        if not _BUILT:
            _BUILT.append(_build_world(Path(tempfile.mkdtemp(prefix="linli-world-"))))
        built = _BUILT[0]
        for name in ("hub.db", "A.db", "B.db"):
            shutil.copyfile((source or built.folder) / name, tmp / name)
        self.tmp = tmp
        self.hub_db: Path | str = tmp / "hub.db"
        if hub is not None and str(hub).startswith("postgresql://"):
            from pg_server import load_hub

            load_hub(tmp / "hub.db", str(hub), (source or built.folder) / "hub.db")
            self.hub_db = hub
        self.app = hub_app(self.hub_db)
        self.hub_store = self.app.state.hub.store
        self.centres: dict[str, Any] = {
            key: SyncCentre(
                built.names[key], Store(tmp / f"{key}.db"), built.site_ids[key], built.tokens[key]
            )
            for key in ("A", "B")
        }
        self.products: dict[str, dict[str, str]] = copy.deepcopy(built.products)
        self.households: dict[str, str] = dict(built.households)
        self.token = built.supplier_token

    def order(
        self,
        key: str,
        items: list[tuple[str, float, str | None]],
        now: datetime = SUNDAY_MORNING,
        notes: str = "",
    ) -> str:
        from edge.domain import orders

        c = self.centres[key]
        data = orders.OrderInput(
            items=[orders.ItemInput(self.products[key][n], q, u) for n, q, u in items],
            household_id=self.households[key],
            channel="wechat",
            notes=notes,
        )
        return str(c.store.write_sync(lambda tx: orders.create_order(tx, data, now)).order_id)

    def lock(self, key: str, now: datetime = AFTER_CUTOFF) -> Any:
        from edge.domain.supply.consolidated import lock_due

        return self.centres[key].store.write_sync(lambda tx: lock_due(tx, now))

    async def sync(self, key: str, client: Any) -> Any:
        report = await self.centres[key].agent(client).sync_once()
        assert report.ok, report
        return report

    def sup(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        for c in self.centres.values():
            c.store.close()


def signed_in(c: Centre, who: str = "manager") -> None:
    configure_templates(c.client.app.template_engine)
    r = sign_in(c.client, who)
    assert r.status_code in (302, 303), r.text


@pytest.fixture
async def world(
    tmp_path: Path, hub_target: Path | str
) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    """A supplied world's hub app (on SQLite and on PostgreSQL, `hub_backend`) and an
    HTTP client on it, its lifespan running."""
    w = World(tmp_path, hub=hub_target)
    async with w.app.lifespan():
        transport = httpx.ASGITransport(app=w.app)
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
            yield w, client
    w.close()
