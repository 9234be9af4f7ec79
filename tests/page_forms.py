"""Posting the tablet's page forms as a browser does: the CSRF token from the page, the
sign-in, a typical new-order form."""

from __future__ import annotations

import re
from typing import Any

from centre_world import Centre

TOKEN_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf(client: Any, path: str = "/signin") -> str:
    page = client.get(path)
    found = TOKEN_RE.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: Any, name: str = "manager", pin: str = "1234") -> Any:
    return client.post(
        "/signin",
        data={"name": name, "pin": pin, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )


def order_form(c: Any, token: str, key: str = "k-1", **more: str) -> dict[str, str]:
    data = {
        "_csrf_token": token,
        "idempotency_key": key,
        "household_id": c.households["张桂兰"],
        "channel": "wechat",
        f"qty_{c.products['土豆']}": "2",
        f"unit_{c.products['土豆']}": "斤",
        f"qty_{c.products['橙子']}": "6",
    }
    data.update(more)
    return data


def post_form(c: Centre, path: str, data: dict[str, str], page: str = "/care") -> Any:
    return c.client.post(
        path,
        data={**data, "_csrf_token": csrf(c.client, page)},
        follow_redirects=False,
        headers={"referer": page},
    )
