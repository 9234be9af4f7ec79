"""Names are cleaned at the boundary: NFC, no bidi overrides, zero-width or control
characters, one space between words; a name of nothing but those is refused."""

from __future__ import annotations

import sqlite3

import pytest
from centre_world import Centre

from edge.domain.text import clean_line


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("张\u202e桂兰", "张桂兰"),  # right-to-left override
        ("王\u200b秀\u200d英\ufeff", "王秀英"),  # zero-width space, joiner, BOM
        ("李\x00四\n3号楼\t", "李四 3号楼"),  # NUL gone; newline and tab are a space
        ("Jose\u0301", "José"),  # NFC: one code point
        ("  老  刘  ", "老 刘"),
    ],
)
def test_clean_line(typed: str, kept: str) -> None:
    assert clean_line(typed) == kept


def test_household_and_product_names_are_stored_clean(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/households",
        json={"name": "张\u202e桂兰\u200b", "building": "3号楼\n", "notes": "腿脚\x00不便"},
        headers=centre.headers(),
    )
    assert r.status_code in (200, 201), r.text
    p = centre.client.post(
        "/api/v1/products",
        json={"name": "土\u200b豆\u202e", "sold_by": "weight", "price_fen": 180},
        headers=centre.headers(),
    )
    assert p.status_code in (200, 201), p.text
    conn = sqlite3.connect(centre.db_path)
    try:
        household = conn.execute(
            "SELECT name, building, notes FROM households WHERE id = ?", (r.json()["id"],)
        ).fetchone()
        product = conn.execute(
            "SELECT name FROM products WHERE id = ?", (p.json()["id"],)
        ).fetchone()
    finally:
        conn.close()
    assert household == ("张桂兰", "3号楼", "腿脚不便")
    assert product == ("土豆",)


def test_a_name_of_only_invisible_characters_is_refused(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/households", json={"name": "\u200b\u202e\x00 "}, headers=centre.headers()
    )
    assert r.status_code == 400 and r.json()["field"] == "name", r.text
