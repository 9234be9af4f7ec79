"""Pages and static files go out compressed, with a favicon (issue 12, item 16)."""

from __future__ import annotations

from centre_world import Centre
from page_forms import sign_in
from paths import CHECKOUT

ROOT = CHECKOUT


def test_static_files_and_pages_are_gzipped_for_a_tablet_that_accepts_it(centre: Centre) -> None:
    c = centre
    raw = (ROOT / "templates/static/htmx.min.js").read_bytes()
    r = c.client.get("/static/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.content == raw  # the client inflated it: the same file
    assert int(r.headers.get("content-length", len(raw))) < len(raw) // 2
    plain = c.client.get("/static/htmx.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == raw
    sign_in(c.client, "staff")
    page = c.client.get("/desk", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip" and "取货台" in page.text
    api = c.client.get("/api/v1/products", headers={**c.headers(), "Accept-Encoding": "gzip"})
    assert api.status_code == 200 and "content-encoding" not in api.headers


def test_a_favicon(centre: Centre) -> None:
    c = centre
    r = c.client.get("/favicon.ico", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/static/favicon.svg"
    icon = c.client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")
    assert 'rel="icon" href="/static/favicon.svg"' in c.client.get("/signin").text
