"""The hub answers like the centre: security headers on every answer, control
characters in a path are a 400, and its OpenAPI document lists the error answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from edge.settings import Settings
from edge.web.hardening import CONTENT_SECURITY_POLICY
from hub.app import create_hub_app
from hub.cli import _hub_store
from sync import enrol


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    db = tmp_path / "hub.db"
    store = _hub_store(str(db))
    try:
        store.write_sync(lambda tx: enrol.add_operator(tx, "boss", "password2", "supervisor"))
    finally:
        store.close()
    with TestClient(app=create_hub_app(Settings(db_path=db, role="hub"))) as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/hub/login", "/healthz", "/sync/v1/position", "/static/app.css", "/nothing"]
)
def test_every_hub_answer_has_the_security_headers(hub: TestClient, path: str) -> None:  # type: ignore[type-arg]
    r = hub.get(path)
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_control_characters_in_a_hub_path_are_a_400(hub: TestClient) -> None:  # type: ignore[type-arg]
    r = hub.get("/static/x%00%0aINFO%20-%20FORGED")
    assert r.status_code == 400 and r.json()["field"] == "path"


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
