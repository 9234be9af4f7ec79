"""Care recipients: an elder of a household, with what a visitor must know.

Address and phone come from the household. Care notes (and each visit's note) are
for the manager and the person assigned to a visit, never for the whole room:
`public` strips them. The link code is printed for the family, who type it on
the hub to follow and book this elder's visits.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import date
from typing import Any

from edge.domain.care.common import dumps, now_iso, people, row_dict, text
from edge.errors import BadRequest, NotFound
from edge.store import Tx
from edge.store.ids import new_id

MOBILITY = ("independent", "cane", "wheelchair", "bedridden")
MOBILITY_ZH = {"independent": "自理", "cane": "拄拐", "wheelchair": "轮椅", "bedridden": "卧床"}
# No 0/O, 1/I/L: read out over the phone and typed on a small keyboard.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
PRIVATE = ("care_notes",)


def new_link_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:CODE_LENGTH]


def _fields(fields: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if not partial or "name" in fields:
        row["name"] = text(fields.get("name"), "name", 40, required=True)
    if "birth_date" in fields and fields["birth_date"] not in (None, ""):
        from edge.domain.calendar import DAY_RE

        value = str(fields["birth_date"])
        try:
            born = date.fromisoformat(value) if DAY_RE.fullmatch(value) else None
        except ValueError:
            born = None
        if born is None or not date(1900, 1, 1) <= born <= date.today():
            raise BadRequest(
                "birth_date must be a past date as YYYY-MM-DD, after 1900", field="birth_date"
            )
        row["birth_date"] = born.isoformat()
    if not partial or "mobility" in fields:
        mobility = fields.get("mobility") or "independent"
        if mobility not in MOBILITY:
            raise BadRequest(f"mobility must be one of {', '.join(MOBILITY)}", field="mobility")
        row["mobility"] = mobility
    for key, limit in (("diet_notes", 200), ("care_notes", 500)):
        if not partial or key in fields:
            row[key] = text(fields.get(key), key, limit)
    for key in ("emergency_contacts", "family"):
        if not partial or key in fields:
            row[key] = dumps(people(fields.get(key), key))
    for key in ("subsidy", "day_care"):
        if not partial or key in fields:
            row[key] = int(bool(fields.get(key, False)))
    return row


def create_recipient(tx: Tx, household_id: str | None, fields: dict[str, Any]) -> str:
    if (
        household_id is not None
        and tx.one(
            "SELECT 1 FROM households WHERE id = ? AND site_id = ?", (household_id, tx.site_id)
        )
        is None
    ):
        raise NotFound(f"no household {household_id[:64]!r}", field="household_id")
    recipient_id = new_id()
    tx.insert(
        "care_recipients",
        {
            "id": recipient_id,
            "site_id": tx.site_id,
            "household_id": household_id,
            **_fields(fields),
            "link_code": new_link_code(),
            "created_at": now_iso(),
        },
    )
    return recipient_id


def update_recipient(tx: Tx, recipient_id: str, fields: dict[str, Any]) -> None:
    own(tx.conn, tx.site_id, recipient_id)
    row = _fields(fields, partial=True)
    if row:
        tx.update("care_recipients", recipient_id, row)


def new_code(tx: Tx, recipient_id: str) -> str:
    """A fresh link code (the old one printed on a lost slip stops working for new links)."""
    own(tx.conn, tx.site_id, recipient_id)
    code = new_link_code()
    tx.update("care_recipients", recipient_id, {"link_code": code})
    return code


def own(conn: sqlite3.Connection, site_id: str, recipient_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM care_recipients WHERE id = ? AND site_id = ?", (recipient_id, site_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no care recipient {recipient_id[:64]!r}", field="recipient_id")
    return row


SELECT = (
    "SELECT r.*, h.phone AS phone, h.building, h.unit, h.room FROM care_recipients r"
    " LEFT JOIN households h ON h.id = r.household_id"
)


def as_dict(row: sqlite3.Row, *, sees_notes: bool) -> dict[str, Any]:
    d = row_dict(row)
    for key in ("emergency_contacts", "family"):
        d[key] = json.loads(d.get(key) or "[]")
    for key in ("subsidy", "day_care", "active"):
        if key in d:
            d[key] = bool(d[key])
    d["address"] = address(d)
    if not sees_notes:
        for key in PRIVATE:
            d.pop(key, None)
    return d


def address(d: dict[str, Any]) -> str:
    parts = [(d.get("building"), "号楼"), (d.get("unit"), "单元"), (d.get("room"), "室")]
    return "".join(f"{v}{suffix}" for v, suffix in parts if v)


def get_recipient(
    conn: sqlite3.Connection, recipient_id: str, *, sees_notes: bool
) -> dict[str, Any]:
    row = conn.execute(SELECT + " WHERE r.id = ?", (recipient_id,)).fetchone()
    if row is None:
        raise NotFound(f"no care recipient {recipient_id[:64]!r}", field="recipient_id")
    return as_dict(row, sees_notes=sees_notes)


def list_recipients(
    conn: sqlite3.Connection, *, sees_notes: bool, day_care: bool = False, q: str = ""
) -> list[dict[str, Any]]:
    sql, params = SELECT + " WHERE r.active = 1", []
    if day_care:
        sql += " AND r.day_care = 1"
    if q:
        sql += " AND (r.name LIKE ? OR h.phone_tail = ?)"
        params += [f"%{q}%", q[-4:]]
    return [
        as_dict(r, sees_notes=sees_notes)
        for r in conn.execute(sql + " ORDER BY r.name LIMIT 500", params)
    ]
