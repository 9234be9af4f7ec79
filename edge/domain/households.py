"""Households and residents: who orders, where they live, how to reach them.

Staff find a household by the last digits of a phone, a name or the WeChat
nickname it orders under. Phones are shown masked unless the reader's role
needs them (DESIGN invariant 8).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from edge.domain.auth import now_iso
from edge.domain.text import clean_line
from edge.errors import BadRequest, NotFound
from edge.store import Tx
from edge.store.ids import new_id

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{7,8})$")
FIELDS = ("name", "phone", "building", "unit", "room", "wechat_nickname", "home_delivery", "notes")
LIMITS = {"name": 40, "building": 20, "unit": 20, "room": 20, "wechat_nickname": 40, "notes": 200}


@dataclass(frozen=True, slots=True)
class HouseholdInput:
    name: str
    phone: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    wechat_nickname: str = ""
    home_delivery: bool = False
    notes: str = ""


def mask_phone(phone: str) -> str:
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)


def normalise_phone(phone: str) -> str:
    phone = re.sub(r"[\s()+]", "", phone or "")
    if phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if phone and not PHONE_RE.match(phone):
        raise BadRequest("phone must be a mainland mobile (11 digits) or a landline", field="phone")
    return phone


def validate(data: HouseholdInput) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        value = clean_line(str(getattr(data, key) or ""))
        if len(value) > limit:
            raise BadRequest(f"{key} must be at most {limit} characters", field=key)
        row[key] = value
    if not row["name"]:
        raise BadRequest("name is required", field="name")
    row["phone"] = normalise_phone(data.phone)
    row["phone_tail"] = row["phone"][-4:]
    row["home_delivery"] = 1 if data.home_delivery else 0
    return row


def create_household(tx: Tx, data: HouseholdInput) -> str:
    row = validate(data)
    household_id = new_id()
    tx.insert(
        "households", {"id": household_id, "site_id": tx.site_id, **row, "created_at": now_iso()}
    )
    return household_id


def find_or_create(tx: Tx, data: HouseholdInput) -> str:
    """Reuse the household with this phone (or this name at this address)."""
    row = validate(data)
    if row["phone"]:
        found = tx.one("SELECT id FROM households WHERE phone = ? LIMIT 1", (row["phone"],))
    else:
        found = tx.one(
            "SELECT id FROM households WHERE name = ? AND building = ? AND room = ? LIMIT 1",
            (row["name"], row["building"], row["room"]),
        )
    if found:
        return str(found["id"])
    household_id = new_id()
    tx.insert(
        "households", {"id": household_id, "site_id": tx.site_id, **row, "created_at": now_iso()}
    )
    return household_id


def update_household(tx: Tx, household_id: str, fields: dict[str, Any]) -> None:
    current = tx.one("SELECT * FROM households WHERE id = ?", (household_id,))
    if current is None:
        raise NotFound(f"no household {household_id!r}")
    merged = {k: current[k] for k in FIELDS} | {k: v for k, v in fields.items() if k in FIELDS}
    row = validate(HouseholdInput(**merged))
    changed = {k: v for k, v in row.items() if current[k] != v}
    if changed:
        tx.update("households", household_id, changed)


def get_household(conn: sqlite3.Connection, household_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM households WHERE id = ?", (household_id,)).fetchone()
    if row is None:
        raise NotFound(f"no household {household_id!r}")
    return dict(row)


def search_households(
    conn: sqlite3.Connection, q: str, *, sees_phones: bool, limit: int = 20
) -> list[dict[str, Any]]:
    """Find by phone, phone tail, name or nickname. A reader who sees masked phones
    matches only the 4-digit tail, so a search cannot confirm a whole number."""
    q = (q or "").strip()
    if not q:
        return []
    if q.isdigit() and sees_phones:
        sql = "SELECT * FROM households WHERE phone_tail = ? OR phone = ? LIMIT ?"
        params: tuple[Any, ...] = (q[-4:], q, limit)
    elif q.isdigit():
        sql = "SELECT * FROM households WHERE phone_tail = ? LIMIT ?"
        params = (q, limit)
    else:
        like = f"%{q}%"
        sql = (
            "SELECT * FROM households WHERE name LIKE ? OR wechat_nickname LIKE ?"
            " ORDER BY name LIMIT ?"
        )
        params = (like, like, limit)
    return [dict(r) for r in conn.execute(sql, params)]


# A bare number or code ("10", "3A") gets its word; anything else was typed in full
# ("翠湖苑10号楼", "2单元") and is shown as typed, never "10号楼号楼".
_BARE = re.compile(r"[0-9A-Za-z-]+")


def _with_word(value: str, word: str) -> str:
    if not value:
        return ""
    return f"{value}{word}" if _BARE.fullmatch(value) else value


def address(row: dict[str, Any] | sqlite3.Row, *, english: bool = False) -> str:
    """The address as staff say it: 3号楼1单元201, or the parts as they were typed.
    On an English page bare numbers read "Bldg 3, Ent. 1, Rm 201"."""
    if english:
        words = (("Bldg ", row["building"]), ("Ent. ", row["unit"]), ("Rm ", row["room"]))
        return ", ".join(
            f"{word}{value}" if _BARE.fullmatch(value) else value for word, value in words if value
        )
    parts = [
        _with_word(row["building"], "号楼"),
        _with_word(row["unit"], "单元"),
        row["room"],
    ]
    return "".join(p for p in parts if p)


def public_view(row: dict[str, Any], *, sees_phones: bool) -> dict[str, Any]:
    out = {
        k: row[k] for k in ("id", "name", "building", "unit", "room", "wechat_nickname", "notes")
    }
    out["home_delivery"] = bool(row["home_delivery"])
    out["phone"] = row["phone"] if sees_phones else mask_phone(row["phone"])
    return out
