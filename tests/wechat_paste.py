"""The WeChat paste pages as a signed-in manager uses them: a pasted chat block, the
preview, and the rows of each sender's card as the form will post them."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from centre_world import count
from page_forms import csrf

MONDAY = "2026-11-30"


HX = {"HX-Request": "true"}


BLOCK = """张阿姨 2026-11-29 08:01:12
@小玮 5斤土豆、黄瓜2斤，还有那个紫色的东西来一点
张阿姨 2026-11-29 08:02:40
再来6个橙子
老李 2026-11-29 08:10:03
西红柿3斤，谢谢
新邻居 2026-11-29 09:00:00
明天几点开门?
manager 2026-11-29 09:05:00
土豆给您留好了
"""


@pytest.fixture
def wx(manager_centre: Any) -> Any:
    """A centre whose tablet is signed in as the manager, on the WeChat page's form token."""
    manager_centre.extra["token"] = csrf(manager_centre.client, "/wechat")
    return manager_centre


def card_forms(html: str) -> dict[str, dict[str, str]]:
    parser = Forms()
    parser.feed(html)
    return {sender: dict(fields) for sender, fields in parser.cards.items()}


def card_html(html: str, sender: str) -> str:
    start = html.index(f'data-sender="{sender}"')
    return html[start : html.index("</section>", start)]


def preview(c: Any, text: str = BLOCK) -> Any:
    r = c.client.post("/wechat/preview", data={"text": text, "_csrf_token": c.extra["token"]})
    assert r.status_code == 200, r.text
    return r


def wechat_orders(c: Any) -> int:
    return count(c.db_path, "SELECT COUNT(*) FROM orders WHERE channel = 'wechat'")


class Forms(HTMLParser):
    """Each card's form fields as a browser would submit them (checked radios, selected options)."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, list[tuple[str, str]]] = {}
        self._sender: str | None = None
        self._select: str | None = None
        self._first: str | None = None
        self._picked = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "wx-card" in a.get("class", ""):
            self._sender = a.get("data-sender", "")
            self.cards[self._sender] = []
        if self._sender is None:
            return
        fields = self.cards[self._sender]
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first, self._picked = a["name"], None, False
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a and not self._picked:
                fields.append((self._select, a.get("value", "")))
                self._picked = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self._sender is not None:
            if not self._picked:
                self.cards[self._sender].append((self._select, self._first or ""))
            self._select = None
        if tag == "section":
            self._sender = None
