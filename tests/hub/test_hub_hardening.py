"""The hub answers like the centre: security headers on every answer, control
characters in a path are a 400, and its OpenAPI document lists the error answers.

The hub's store is on SQLite and, for the answers that read it (a sign-in page, a
centre's bearer token checked against the store), on PostgreSQL too (`hub_backend`);
the answers made before any read (static files, a bad path, the OpenAPI document)
run once, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from pg_server import ensure_database
from sync_fixtures import hub_app

from edge.web.hardening import CONTENT_SECURITY_POLICY
from hub.cli import _hub_store
from sync import enrol

SQLITE_ONLY = pytest.mark.parametrize("hub_backend", ["sqlite"])


@pytest.fixture
def hub(hub_target: Path | str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    ensure_database(hub_target)
    store = _hub_store(str(hub_target))
    try:
        store.write_sync(lambda tx: enrol.add_operator(tx, "boss", "password2", "supervisor"))
    finally:
        store.close()
    # The test process's hub app (`hub_app`: built once, opened on this database).
    with TestClient(app=hub_app(hub_target)) as client:
        yield client


# Every path on SQLite; on PostgreSQL the ones whose answer reads the store.
PATHS = ["/hub/login", "/healthz", "/sync/v1/position", "/static/app.css", "/nothing"]
STORE_PATHS = ["/hub/login", "/sync/v1/position"]


@pytest.mark.parametrize(
    ("hub_backend", "path"),
    [("sqlite", p) for p in PATHS] + [("postgresql", p) for p in STORE_PATHS],
)
def test_every_hub_answer_has_the_security_headers(hub: TestClient, path: str) -> None:  # type: ignore[type-arg]
    r = hub.get(path)
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("hub_backend", ["sqlite", "postgresql"])
def test_a_centre_token_is_checked_against_the_store(
    hub: TestClient,  # type: ignore[type-arg]
    hub_target: Path | str,
) -> None:
    ensure_database(hub_target)
    store = _hub_store(str(hub_target))
    try:
        centre = store.write_sync(lambda tx: enrol.add_centre(tx, "金沙路社区"))
    finally:
        store.close()
    for token, status in (("not-a-centre", 401), (centre.token, 200)):
        r = hub.get("/sync/v1/position", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, r.text
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert r.headers["x-content-type-options"] == "nosniff"


@SQLITE_ONLY
def test_control_characters_in_a_hub_path_are_a_400(hub: TestClient) -> None:  # type: ignore[type-arg]
    r = hub.get("/static/x%00%0aINFO%20-%20FORGED")
    assert r.status_code == 400 and r.json()["field"] == "path"


@SQLITE_ONLY
def test_the_hub_openapi_lists_error_answers(hub: TestClient) -> None:  # type: ignore[type-arg]
    doc = hub.get("/schema/openapi.json").json()
    assert set(doc["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "error",
        "detail",
        "field",
    }
    push = doc["paths"]["/sync/v1/push"]["post"]["responses"]
    assert {"400", "401", "409", "413", "503"} <= set(push)
    token = doc["paths"]["/hub/api/v1/token"]["post"]["responses"]
    assert {"401", "429"} <= set(token)
