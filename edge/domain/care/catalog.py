"""The service catalog: what a centre offers, how long it usually takes, what it costs.

A centre's own services are its rows; the hub's (`site_id` = the hub) are the district
catalog every centre receives and may book too. `price_fen` is the full price,
`subsidised_fen` what an eligible elder pays; the difference is the subsidy.
`capacity` is how many bookings one slot (a morning or an afternoon) takes, 0 for no limit.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.domain.care.common import dumps, now_iso, row_dict, text, text_list, whole
from edge.errors import BadRequest, NotFound
from edge.store import Tx
from edge.store.ids import new_id

KINDS = ("at_centre", "at_home", "escort")
KIND_ZH = {"at_centre": "到站服务", "at_home": "上门服务", "escort": "陪同外出"}

# name, kind, minutes, price_fen, subsidised_fen, skills, capacity, meal, day_care
DEMO_SERVICES: list[tuple[str, str, int, int, int, list[str], int, int, int]] = [
    ("助餐", "at_centre", 60, 1500, 1000, [], 40, 1, 0),
    ("送餐", "at_home", 30, 1800, 1000, ["送餐"], 0, 1, 0),
    ("助浴", "at_home", 90, 8000, 4000, ["助浴"], 2, 0, 0),
    ("陪诊", "escort", 180, 10000, 5000, ["陪诊"], 0, 0, 0),
    ("陪聊", "at_home", 60, 3000, 0, [], 0, 0, 0),
    ("代购", "at_home", 60, 2000, 1000, [], 0, 0, 0),
    ("日间照料", "at_centre", 420, 3000, 1500, [], 30, 0, 1),
]


def create_service(tx: Tx, fields: dict[str, Any]) -> str:
    row = _check(fields)
    service_id = new_id()
    tx.insert(
        "care_services",
        {"id": service_id, "site_id": tx.site_id, **row, "created_at": now_iso()},
    )
    return service_id


def _check(fields: dict[str, Any]) -> dict[str, Any]:
    kind = fields.get("kind")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}", field="kind")
    price = whole(fields.get("price_fen"), "price_fen", 0, 10_000_000)
    subsidised = whole(fields.get("subsidised_fen", price), "subsidised_fen", 0, 10_000_000)
    if subsidised > price:
        raise BadRequest("subsidised_fen cannot be above price_fen", field="subsidised_fen")
    return {
        "name": text(fields.get("name"), "name", 40, required=True),
        "kind": kind,
        "minutes": whole(fields.get("minutes"), "minutes", 5, 720),
        "price_fen": price,
        "subsidised_fen": subsidised,
        "skills": dumps(text_list(fields.get("skills"), "skills")),
        "capacity": whole(fields.get("capacity", 0), "capacity", 0, 1000),
        "meal": int(bool(fields.get("meal", False))),
        "day_care": int(bool(fields.get("day_care", False))),
        "sort": whole(fields.get("sort", 0), "sort", 0, 10_000),
    }


def set_active(tx: Tx, service_id: str, active: bool) -> None:
    row = tx.one("SELECT site_id FROM care_services WHERE id = ?", (service_id,))
    if row is None or row["site_id"] != tx.site_id:
        raise NotFound(f"no service {service_id[:64]!r} of this centre", field="service_id")
    tx.update("care_services", service_id, {"active": int(active)})


def seed_demo(tx: Tx) -> dict[str, str]:
    """The report's services, for `linli demo` and the tests; ids by name."""
    ids = {}
    for i, (name, kind, minutes, price, sub, skills, cap, meal, day_care) in enumerate(
        DEMO_SERVICES
    ):
        ids[name] = create_service(
            tx,
            {
                "name": name,
                "kind": kind,
                "minutes": minutes,
                "price_fen": price,
                "subsidised_fen": sub,
                "skills": skills,
                "capacity": cap,
                "meal": bool(meal),
                "day_care": bool(day_care),
                "sort": i,
            },
        )
    return ids


def as_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = row_dict(row)
    d["skills"] = json.loads(d["skills"] or "[]")
    d["meal"], d["day_care"], d["active"] = bool(d["meal"]), bool(d["day_care"]), bool(d["active"])
    return d


def list_services(conn: sqlite3.Connection, *, active_only: bool = True) -> list[dict[str, Any]]:
    sql = "SELECT * FROM care_services"
    if active_only:
        sql += " WHERE active = 1"
    return [as_dict(r) for r in conn.execute(sql + " ORDER BY sort, name")]


def get_service(conn: sqlite3.Connection, service_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM care_services WHERE id = ?", (service_id,)).fetchone()
    if row is None:
        raise NotFound(f"no service {service_id[:64]!r}", field="service_id")
    return as_dict(row)
