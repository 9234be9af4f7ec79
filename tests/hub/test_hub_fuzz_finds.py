"""Requests `bench/fuzz_http.py` found answered with a 5xx by the hub, each now a 4xx
naming what was wrong, with nothing applied. Driven through the real hub app."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import count, enrol_centre, hub_app, hub_client

from edge.store.migrations import SCHEMA_VERSION

pytestmark = pytest.mark.anyio


def _batch(site_id: str, change: list[Any]) -> bytes:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "site_id": site_id,
        "install_id": "",
        "from_seq": 1,
        "wall_ms": 0,
        "waiting": 0,
        "changes": [change],
    }
    return gzip.compress(json.dumps(doc).encode())


@pytest.mark.parametrize("op", [["insert"], {"op": "insert"}, [], {}, None, 1])
async def test_a_change_whose_op_is_not_a_string_is_a_400(tmp_path: Path, op: Any) -> None:
    # Found by the fuzz: an op that is a list or an object was looked up in a set
    # (unhashable: TypeError, a 500) before it was checked to be a string.
    app = hub_app(tmp_path / "hub.db")
    a = enrol_centre(app.state.hub.store, tmp_path / "a.db", "金沙路社区")
    try:
        async with hub_client(app) as client:
            change = [1, 1, "households", "01J0000000000000000000000A", op, {"name": "王"}]
            r = await client.post(
                "/sync/v1/push",
                content=_batch(a.site_id, change),
                headers={"Authorization": f"Bearer {a.token}", "Content-Encoding": "gzip"},
            )
            assert r.status_code == 400, r.text
            assert r.json()["field"] == "changes[0].op"
            assert "insert, update or delete" in r.json()["detail"]
    finally:
        a.store.close()
    assert count(tmp_path / "hub.db", "SELECT acked_seq FROM sync_centres") == 0
    assert count(tmp_path / "hub.db", "SELECT COUNT(*) FROM households") == 0
