"""A tablet's page cookie and an API token are different keys: neither opens the
other's door (a stolen cookie is no API token; a leaked API token is no page session)."""

from __future__ import annotations

from centre_world import Centre
from page_forms import sign_in


def test_a_page_cookie_is_not_an_api_token(centre: Centre) -> None:
    assert sign_in(centre.client).status_code == 303
    cookie = centre.client.cookies.get("linli_session")
    assert cookie
    assert centre.client.get("/", follow_redirects=False).status_code == 200
    r = centre.client.get("/api/v1/products", headers={"Authorization": f"Bearer {cookie}"})
    assert r.status_code == 401, r.text


def test_an_api_token_is_not_a_page_cookie(centre: Centre) -> None:
    token = centre.tokens["manager"]
    assert centre.client.get("/api/v1/products", headers=centre.headers()).status_code == 200
    centre.client.cookies.set("linli_session", token)
    r = centre.client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    # The token itself keeps working for the API after the refused page visit.
    assert centre.client.get("/api/v1/products", headers=centre.headers()).status_code == 200
