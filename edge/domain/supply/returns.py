"""Returns at noon: the day's leftovers go back on the van, as a return note.

Staff count what is left per product line on the tablet; the note (one per
centre and day, editable until the co-op confirms it) flows up to the hub,
the co-op confirms it through the supplier API, and the confirmation (with
the quantities the co-op accepted) flows back down. A confirmed note no
longer changes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from edge.domain import calendar
from edge.domain.auth import now_iso
from edge.domain.supply.lines import (
    Key,
    co_op_unit,
    parse_quantity,
    product_infos,
    say,
    unit_label_for,
)
from edge.domain.supply.sold import sold_by_orders, sold_walkin
from edge.errors import BadRequest, Conflict
from edge.store import Tx
from edge.store.ids import new_id


@dataclass(frozen=True, slots=True)
class Leftover:
    product_id: str
    qty_unit: str
    quantity: int


def confirmation(conn: sqlite3.Connection, note_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM supply_return_confirmations WHERE id = ?", (note_id,)
    ).fetchone()
    if row is None:
        return None
    return {**dict(row), "accepted": json.loads(row["accepted"])}


def return_note(conn: sqlite3.Connection, site_id: str, day: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM supply_return_notes WHERE site_id = ? AND delivery_date = ?", (site_id, day)
    ).fetchone()
    if row is None:
        return None
    note = dict(row)
    infos = product_infos(conn)
    note["lines"] = []
    for r in conn.execute(
        "SELECT product_id, product_name, qty_unit, quantity FROM supply_return_lines"
        " WHERE note_id = ? AND quantity > 0 ORDER BY product_name, qty_unit",
        (row["id"],),
    ):
        label = unit_label_for(infos.get(r["product_id"]), r["qty_unit"])
        note["lines"].append(
            {
                **dict(r),
                "co_op_unit": co_op_unit(r["qty_unit"], label),
                "text": say(r["qty_unit"], r["quantity"], label),
            }
        )
    note["confirmation"] = confirmation(conn, row["id"])
    return note


def returned_quantities(
    conn: sqlite3.Connection, site_id: str, day: str
) -> tuple[dict[Key, int], bool]:
    """What went back per line: the co-op's accepted quantities once confirmed."""
    note = return_note(conn, site_id, day)
    if note is None:
        return {}, False
    conf = note["confirmation"]
    if conf is not None:
        return {(p, u): int(q) for p, u, q in conf["accepted"]}, True
    return {(x["product_id"], x["qty_unit"]): int(x["quantity"]) for x in note["lines"]}, False


def leftovers_expected(conn: sqlite3.Connection, site_id: str, day: str) -> dict[Key, int]:
    """Received minus handed over minus sold walk-in: the count the tablet suggests."""
    received = {
        (r["product_id"], r["qty_unit"]): int(r["arrived_qty"])
        for r in conn.execute(
            "SELECT product_id, qty_unit, arrived_qty FROM supply_receipts"
            " WHERE site_id = ? AND delivery_date = ?",
            (site_id, day),
        )
    }
    sold_o = sold_by_orders(conn, site_id, day)
    sold_w = sold_walkin(conn, site_id, day)
    return {
        key: max(0, got - sold_o.get(key, (0, 0))[0] - sold_w.get(key, (0, 0))[0])
        for key, got in received.items()
    }


def record_return(
    tx: Tx, day: str, leftovers: list[Leftover], staff_id: str | None = None, note: str = ""
) -> dict[str, Any]:
    """Write (or correct) the day's return note; refused once the co-op confirmed it."""
    iso = calendar.parse_day(day, "delivery_date").isoformat()
    if len(note) > 500:
        raise BadRequest("the note is at most 500 characters", field="note")
    infos = product_infos(tx.conn)
    head = tx.one(
        "SELECT id FROM supply_return_notes WHERE site_id = ? AND delivery_date = ?",
        (tx.site_id, iso),
    )
    stamp = now_iso()
    if head is None:
        note_id = new_id()
        tx.insert(
            "supply_return_notes",
            {
                "id": note_id,
                "site_id": tx.site_id,
                "delivery_date": iso,
                "note": note,
                "staff_id": staff_id,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
    else:
        note_id = head["id"]
        if confirmation(tx.conn, note_id) is not None:
            raise Conflict("the co-op has confirmed this return note; it can no longer change")
        tx.update(
            "supply_return_notes",
            note_id,
            {"note": note, "staff_id": staff_id, "updated_at": stamp},
        )
    for i, left in enumerate(leftovers):
        qty = parse_quantity(left.qty_unit, left.quantity, field=f"lines[{i}].quantity")
        info = infos.get(left.product_id)
        if info is None:
            raise BadRequest(
                f"lines[{i}]: no product {left.product_id!r}", field=f"lines[{i}].product_id"
            )
        line = tx.one(
            "SELECT id, quantity FROM supply_return_lines WHERE note_id = ?"
            " AND product_id = ? AND qty_unit = ?",
            (note_id, left.product_id, left.qty_unit),
        )
        if line is None:
            if qty:
                tx.insert(
                    "supply_return_lines",
                    {
                        "id": new_id(),
                        "site_id": tx.site_id,
                        "note_id": note_id,
                        "delivery_date": iso,
                        "product_id": left.product_id,
                        "product_name": info.name,
                        "qty_unit": left.qty_unit,
                        "quantity": qty,
                    },
                )
        elif line["quantity"] != qty:
            tx.update("supply_return_lines", line["id"], {"quantity": qty})
    found = return_note(tx.conn, tx.site_id, iso)
    assert found is not None
    return found
