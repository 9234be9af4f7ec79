"""Bodies a client can send that cannot be decoded, and numbers SQLite cannot hold:
a 400 naming what was wrong, never a 500, nothing written."""

from __future__ import annotations

import pytest
from centre_world import Centre, count


@pytest.mark.parametrize(
    ("raw", "why"),
    [(b'{"name": "\xff"}', "UTF-8"), (b"[" * 5000 + b"]" * 5000, "nested")],
    ids=["not-utf8", "deep"],
)
@pytest.mark.parametrize("path", ["/api/v1/households", "/api/v1/orders", "/api/v1/auth/token"])
def test_undecodable_json_body_is_400(centre: Centre, raw: bytes, why: str, path: str) -> None:
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = centre.client.post(
        path, content=raw, headers=centre.headers(**{"Content-Type": "application/json"})
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "body" and why in r.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before


@pytest.mark.parametrize("sort", [2**63, 10**30, -1])
def test_product_sort_out_of_range_is_400(centre: Centre, sort: int) -> None:
    created = centre.client.post(
        "/api/v1/products",
        json={"name": "本地小葱", "sold_by": "bundle", "price_fen": 100},
        headers=centre.headers(),
    )
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    r = centre.client.patch(
        f"/api/v1/products/{created.json()['id']}", json={"sort": sort}, headers=centre.headers()
    )
    assert r.status_code == 400 and r.json()["field"] == "sort", r.text
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before
