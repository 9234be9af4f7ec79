"""The centre's OpenAPI document lists the error answers a route can give, in the
shape the app really sends."""

from __future__ import annotations

from typing import Any

from centre_world import Centre


def _responses(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(doc["paths"][path][method]["responses"])


def test_every_api_route_lists_its_errors_in_the_real_shape(centre: Centre) -> None:
    doc = centre.client.get("/schema/openapi.json").json()
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["properties"]) == {"error", "detail", "field"}
    assert set(error["required"]) == {"error", "detail"}
    api = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/v1/")}
    assert len(api) > 20
    for path, ops in api.items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "401"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method != "get":
                assert {"409", "503"} <= codes, (method, path)
            ref = op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody")
    assert "429" in _responses(doc, "post", "/api/v1/auth/token")
    assert "403" in _responses(doc, "post", "/api/v1/close-day")  # managers only


def test_a_real_error_answer_has_the_documented_shape(centre: Centre) -> None:
    r = centre.client.get("/api/v1/orders/NOPE", headers=centre.headers())
    assert r.status_code == 404
    assert set(r.json()) <= {"error", "detail", "field"} and {"error", "detail"} <= set(r.json())
    r = centre.client.post(
        "/api/v1/close-day", json={"day": "2026-11-29"}, headers=centre.headers("volunteer")
    )
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "detail": "only a manager may do this"}
