"""Households an unknown WeChat name may belong to, so staff link it in one tap.

Group names are how neighbours address each other: "老李", "张阿姨", "王奶奶", "小周" name a
surname; "秀英" may be part of the household's name; a message often says where it is from
("3号楼2单元老陈", "302的"). Each hint scores; households with none are not suggested.
Households already linked to another WeChat name come after the ones not linked yet.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from edge.domain import households

MAX_SUGGESTIONS = 3

_PREFIXES = ("老", "小", "阿")
# Longest first: "大姐" before "姐".
_KIN = tuple(
    sorted(
        "阿姨 大爷 大妈 大娘 奶奶 爷爷 姥姥 姥爷 外婆 姐姐 大姐 大哥 叔叔 阿婆 婶子 老师 师傅 "
        "妈妈 爸爸 婶 姨 姐 哥 叔 伯 妈 爸 家 嫂 婆 公".split(),
        key=len,
        reverse=True,
    )
)
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_BUILDING = re.compile(r"(\d{1,3})\s*(?:号楼|栋|幢|号院)")
_UNIT = re.compile(r"(\d{1,2})\s*(?:单元|门)")
_ROOM = re.compile(r"(?<![\d.:：])(\d{3,4})(?![\d.:：斤两个克])")
_DIGITS = re.compile(r"\d+")


def name_hints(nickname: str) -> tuple[str, str]:
    """(surname, name part) a WeChat name suggests: "老李" -> ("李", ""), "张阿姨" -> ("张", ""),
    "秀英" -> ("秀", "秀英"). Empty strings when it suggests nothing."""
    runs = _CJK.findall(nickname)
    core = max(runs, key=len) if runs else ""
    stripped = False
    if len(core) > 1 and core.startswith(_PREFIXES):
        core, stripped = core[1:], True
    for kin in _KIN:
        if len(core) > len(kin) and core.endswith(kin):
            core, stripped = core[: -len(kin)], True
            break
    if not core:
        return "", ""
    if stripped or len(core) == 1:
        return core[0], ""
    return core[0], core if 2 <= len(core) <= 3 else ""


def _address_hints(text: str) -> tuple[str, str, str]:
    b = _BUILDING.search(text)
    u = _UNIT.search(text)
    r = _ROOM.search(text[u.end() :] if u else text)
    return (b.group(1) if b else "", u.group(1) if u else "", r.group(1) if r else "")


def _number(value: str) -> str:
    found = _DIGITS.findall(value or "")
    return found[-1] if found else ""


def suggest_households(
    conn: sqlite3.Connection, nickname: str, text: str, *, sees_phones: bool
) -> list[dict[str, Any]]:
    """Up to MAX_SUGGESTIONS households, best first, as `households.public_view` rows."""
    surname, part = name_hints(nickname)
    building, unit, room = _address_hints(text)
    if not (surname or building or room):
        return []
    clauses, params = [], []
    if surname:
        clauses.append("name LIKE ?")
        params.append(f"{surname}%")
    if part:
        clauses.append("name LIKE ?")
        params.append(f"%{part}%")
    if building:
        clauses.append("building LIKE ?")
        params.append(f"%{building}%")
    if room:
        clauses.append("room LIKE ?")
        params.append(f"%{room}%")
    sql = f"SELECT * FROM households WHERE {' OR '.join(clauses)} LIMIT 200"
    scored = []
    for row in conn.execute(sql, params):
        h = dict(row)
        score = 0
        if part and part in h["name"]:
            score += 3
        elif surname and h["name"].startswith(surname):
            score += 2
        if building and _number(h["building"]) == building:
            score += 2
            if unit and _number(h["unit"]) == unit:
                score += 1
        if room and _number(h["room"]) == room:
            score += 2
        if score < 2:
            continue
        linked = bool(h["wechat_nickname"])
        scored.append((-score, linked, h["name"], h))
    scored.sort(key=lambda x: x[:3])
    return [
        households.public_view(h, sees_phones=sees_phones) for *_, h in scored[:MAX_SUGGESTIONS]
    ]
