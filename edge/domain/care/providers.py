"""Who carries visits out: the centre's staff and volunteers, outside organisations and
their workers. A provider linked to a staff account (`staff_id`) sees the care notes of
the visits assigned to them when signed in on a tablet or a phone on the centre Wi-Fi."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.domain.care.common import dumps, now_iso, row_dict, text, text_list
from edge.errors import BadRequest, NotFound
from edge.store import Tx
from edge.store.ids import new_id

KINDS = ("staff", "volunteer", "organisation", "worker")


def create_provider(tx: Tx, fields: dict[str, Any]) -> str:
    from edge.domain.households import normalise_phone

    kind = fields.get("kind")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}", field="kind")
    organisation_id = fields.get("organisation_id") or None
    if kind == "worker":
        if not isinstance(organisation_id, str) or not tx.one(
            "SELECT 1 FROM care_providers WHERE id = ? AND site_id = ? AND kind = 'organisation'",
            (organisation_id, tx.site_id),
        ):
            raise BadRequest(
                "a worker names the organisation they work for", field="organisation_id"
            )
    elif organisation_id is not None:
        raise BadRequest("only a worker has an organisation", field="organisation_id")
    staff_id = fields.get("staff_id") or None
    if staff_id is not None and (
        not isinstance(staff_id, str)
        or not tx.one("SELECT 1 FROM staff WHERE id = ? AND site_id = ?", (staff_id, tx.site_id))
    ):
        raise NotFound("no such staff member at this centre", field="staff_id")
    provider_id = new_id()
    tx.insert(
        "care_providers",
        {
            "id": provider_id,
            "site_id": tx.site_id,
            "name": text(fields.get("name"), "name", 40, required=True),
            "kind": kind,
            "organisation_id": organisation_id,
            "staff_id": staff_id,
            "phone": normalise_phone(text(fields.get("phone"), "phone", 20)),
            "skills": dumps(text_list(fields.get("skills"), "skills")),
            "created_at": now_iso(),
        },
    )
    return provider_id


def as_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = row_dict(row)
    d["skills"] = json.loads(d["skills"] or "[]")
    d["active"] = bool(d["active"])
    return d


def list_providers(conn: sqlite3.Connection, skill: str = "") -> list[dict[str, Any]]:
    found = [
        as_dict(r)
        for r in conn.execute(
            "SELECT * FROM care_providers WHERE active = 1 AND kind != 'organisation'"
            " ORDER BY kind, name"
        )
    ]
    return [p for p in found if not skill or skill in p["skills"]]


def get_provider(conn: sqlite3.Connection, site_id: str, provider_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM care_providers WHERE id = ? AND site_id = ? AND active = 1",
        (provider_id, site_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"no provider {provider_id[:64]!r} at this centre", field="provider_id")
    if row["kind"] == "organisation":
        raise BadRequest("assign a person: one of the organisation's workers", field="provider_id")
    return as_dict(row)
