"""Small checks the care modules share: text fields, times, JSON lists, who acts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from edge.domain.text import clean_line
from edge.errors import BadRequest

HHMM_RE = re.compile(r"\A(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who moves a booking: a signed-in staff member, or someone at the hub (a family
    member, a hotline operator) named in the command that asked."""

    name: str
    staff_id: str | None = None
    role: str = "hub"  # manager, staff, volunteer; "hub" for a family member or the hotline

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def runs_the_desk(self) -> bool:
        """Managers and staff confirm, decline, assign and cancel; volunteers do visits."""
        return self.role in ("manager", "staff")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def text(value: Any, field: str, max_len: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be text", field=field)
    out = clean_line(value)
    if required and not out:
        raise BadRequest(f"{field} is required", field=field)
    if len(out) > max_len:
        raise BadRequest(f"{field} must be at most {max_len} characters", field=field)
    return out


def hhmm(value: Any, field: str = "start") -> str:
    if not isinstance(value, str) or not HHMM_RE.fullmatch(value):
        raise BadRequest(f"{field} must be a time as HH:MM (00:00 to 23:59)", field=field)
    return value


def minutes_of(value: str) -> int:
    t = time.fromisoformat(value)
    return t.hour * 60 + t.minute


def whole(value: Any, field: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise BadRequest(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def text_list(value: Any, field: str, *, max_items: int = 10, max_len: int = 20) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise BadRequest(f"{field} must be a list of at most {max_items} words", field=field)
    return [text(v, f"{field}[{i}]", max_len, required=True) for i, v in enumerate(value)]


def people(value: Any, field: str) -> list[dict[str, str]]:
    """A list of {name, relation, phone} (family members, emergency contacts)."""
    from edge.domain.households import normalise_phone

    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 10:
        raise BadRequest(f"{field} must list at most 10 people", field=field)
    out = []
    for i, p in enumerate(value):
        if not isinstance(p, dict):
            raise BadRequest(f"{field}[{i}] must be {{name, relation, phone}}", field=field)
        try:
            phone = normalise_phone(text(p.get("phone"), f"{field}[{i}].phone", 20))
        except BadRequest:
            raise BadRequest(
                f"{field}[{i}].phone must be a mobile or landline number", field=f"{field}.phone"
            ) from None
        out.append(
            {
                "name": text(p.get("name"), f"{field}[{i}].name", 40, required=True),
                "relation": text(p.get("relation"), f"{field}[{i}].relation", 20),
                "phone": phone,
            }
        )
    return out


def row_dict(row: Any) -> dict[str, Any]:
    """A sqlite3.Row as a dict in one pass: `dict(row)` looks every column up by name
    (a linear, case-insensitive search each), which is most of a roster's time."""
    return dict(zip(row.keys(), row, strict=True))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
