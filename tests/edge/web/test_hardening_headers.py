"""Every answer carries the security headers; control characters in a path are a 400
and never reach a handler, a file lookup or a log line."""

from __future__ import annotations

import logging

import pytest
from centre_world import Centre

from edge.web.hardening import CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path", ["/signin", "/static/app.css", "/api/v1/products", "/no-such-page", "/healthz"]
)
def test_every_answer_has_the_security_headers(centre: Centre, path: str) -> None:
    r = centre.client.get(path, headers=centre.headers() if "/api/" in path else {})
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "http" not in csp  # nothing from another site, the box only


@pytest.mark.parametrize(
    "path", ["/static/x%00", "/static/x%00%0aINFO%20-%20FORGED", "/api/v1/orders/a%0db"]
)
def test_control_characters_in_a_path_are_a_400_not_a_500(
    centre: Centre, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        r = centre.client.get(path, headers=centre.headers())
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "path"
    assert r.headers["x-frame-options"] == "DENY"
    assert not [rec for rec in caplog.records if "\n" in rec.getMessage()]
    assert not [rec for rec in caplog.records if rec.name.startswith("linli")]


def test_log_lines_escape_control_characters(
    centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="linli"):
        logging.getLogger("linli").warning("unexpected %s", "a\nINFO - FORGED\r\x00")
    (record,) = [r for r in caplog.records if r.name == "linli"]
    assert record.getMessage() == "unexpected a\\x0aINFO - FORGED\\x0d\\x00"
