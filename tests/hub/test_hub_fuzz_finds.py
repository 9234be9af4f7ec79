"""Requests `bench/fuzz_http.py` found answered with a 5xx by the hub, each now a 4xx
naming what was wrong, with nothing applied. Driven through the real hub app."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import count, enrol_centre, hub_app, hub_client

from edge.store.migrations import SCHEMA_VERSION
from sync import enrol

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


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


async def test_a_nul_in_a_page_search_is_a_400_on_both_backends(hub_target: Path | str) -> None:
    # Found by the fuzz on the PostgreSQL hub: `?q=%00` on /hub/hotline and /hub/orders
    # reached a query, and PostgreSQL refuses a NUL in text (psycopg DataError, a 500).
    app = hub_app(hub_target)
    store = app.state.store
    store.write_sync(lambda tx: enrol.add_operator(tx, "老周", "password1", "supervisor"))
    async with hub_client(app) as client:
        page = await client.get("/hub/login")
        token = TOKEN.search(page.text)
        assert token
        r = await client.post(
            "/hub/login",
            data={"name": "老周", "password": "password1", "_csrf_token": token.group(1)},
        )
        assert r.status_code in (302, 303), r.text
        for path, params in (
            ("/hub/hotline", {"q": "\x00"}),
            ("/hub/orders", {"q": "a\x00b", "alldays": "1"}),
            ("/hub/orders", {"centre": "\x00"}),
        ):
            r = await client.get(path, params=params)
            name = next(iter(params))
            assert r.status_code == 400, (path, r.status_code, r.text[:300])
            assert r.json() == {
                "error": "bad_request",
                "detail": f"{name} holds a NUL character",
                "field": name,
            }
        # The same searches without the NUL still answer.
        assert (await client.get("/hub/hotline", params={"q": "王"})).status_code == 200
        assert (await client.get("/hub/orders", params={"q": "ab"})).status_code == 200
