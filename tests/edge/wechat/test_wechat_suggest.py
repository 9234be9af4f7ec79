"""Households an unknown WeChat name may be: the hints a group name and a message give."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from edge.domain.wechat.suggest import name_hints, suggest_households


@pytest.mark.parametrize(
    ("nickname", "want"),
    [
        ("老李", ("李", "")),
        ("张阿姨", ("张", "")),
        ("王奶奶🌸", ("王", "")),
        ("小周", ("周", "")),
        ("秀英", ("秀", "秀英")),
        ("Lily", ("", "")),
    ],
)
def test_name_hints(nickname: str, want: tuple[str, str]) -> None:
    assert name_hints(nickname) == want


def _names(c: Any, nickname: str, text: str) -> list[str]:
    conn = sqlite3.connect(c.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [h["name"] for h in suggest_households(conn, nickname, text, sees_phones=False)]
    finally:
        conn.close()


def test_surname_and_address_suggest_the_household(centre: Any) -> None:
    assert _names(centre, "王阿姨", "土豆2斤") == ["王秀英"]
    assert _names(centre, "小赵", "5号楼1单元101，黄瓜2斤") == ["王秀英"]  # the address alone
    assert _names(centre, "张姐", "3号楼201的，土豆2斤") == ["张桂兰"]


def test_no_hint_no_suggestion(centre: Any) -> None:
    assert _names(centre, "老李", "土豆2斤") == []
    assert _names(centre, "Lily", "土豆2斤") == []
    # Quantities and times are not room numbers.
    assert _names(centre, "Lily", "18:05 土豆201斤") == []
