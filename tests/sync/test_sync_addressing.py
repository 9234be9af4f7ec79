"""Supplier rows reach only the centre they are for; a centre cannot forge them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import enrolled, hub_client

from edge.domain.auth import now_iso
from edge.store.migrations import SCHEMA_VERSION

pytestmark = pytest.mark.anyio


def _note(tx: Any, centre_id: str | None, note_id: str) -> None:
    tx.insert(
        "supply_dispatch_notes",
        {
            "id": note_id,
            "site_id": tx.site_id,
            "centre_id": centre_id,
            "delivery_date": "2030-01-07",
            "revision": 1,
            "created_at": now_iso(),
        },
    )
    tx.insert(
        "supply_dispatch_lines",
        {
            "id": note_id + "-l1",
            "site_id": tx.site_id,
            "note_id": note_id,
            "centre_id": centre_id,
            "delivery_date": "2030-01-07",
            "product_id": "p",
            "product_name": "土豆",
            "qty_unit": "g",
            "shipped_qty": 5000,
        },
    )


async def test_each_centre_pulls_only_its_own_supplier_rows(tmp_path: Path) -> None:
    app, (a, b) = enrolled(tmp_path, ["甲社区", "乙社区"])
    async with hub_client(app) as client:
        hub = app.state.hub
        try:
            await hub.store.write(lambda tx: _note(tx, a.site_id, "note-a"))
            await hub.store.write(lambda tx: _note(tx, None, "note-all"))
            await hub.store.write(
                lambda tx: tx.update("supply_dispatch_notes", "note-a", {"note": "少了2斤"})
            )

            async def pulled(token: str) -> set[str]:
                r = await client.get(
                    "/sync/v1/pull",
                    params={"after": 0},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 200, r.text
                return {row[3] for row in r.json()["changes"]}

            assert await pulled(a.token) >= {"note-a", "note-a-l1", "note-all", "note-all-l1"}
            seen_by_b = await pulled(b.token)
            assert {"note-all", "note-all-l1"} <= seen_by_b
            assert not {"note-a", "note-a-l1"} & seen_by_b  # not even the later update

            # A centre pushing a dispatch note of its own is refused, nothing applied.
            batch = {
                "schema_version": SCHEMA_VERSION,
                "site_id": b.site_id,
                "install_id": "",
                "wall_ms": 1,
                "waiting": 0,
                "from_seq": 1,
                "changes": [
                    [
                        1,
                        1,
                        "supply_dispatch_notes",
                        "forged",
                        "insert",
                        {
                            "id": "forged",
                            "site_id": b.site_id,
                            "centre_id": b.site_id,
                            "delivery_date": "2030-01-07",
                            "revision": 9,
                            "created_at": "x",
                        },
                    ]
                ],
            }
            r = await client.post(
                "/sync/v1/push",
                content=gzip.compress(json.dumps(batch).encode()),
                headers={
                    "Authorization": f"Bearer {b.token}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                },
            )
            assert r.status_code in (400, 403), r.text
            assert "hub only" in r.text, r.text  # refused for the row, not the version
            rows = hub.store.read_sync(
                lambda c: c.execute(
                    "SELECT COUNT(*) FROM supply_dispatch_notes WHERE id = 'forged'"
                ).fetchone()[0]
            )
            assert rows == 0
        finally:
            a.store.close()
            b.store.close()
