"""What a co-op sends: dispatch notes, price lists and return confirmations, checked
and written as hub-owned rows through the hub's change log."""

from __future__ import annotations

import json
import sqlite3
from typing import Annotated, Any

import msgspec
from litestar import Request

from edge.domain import calendar
from edge.domain.supply import consolidated as centre_order
from edge.domain.supply.lines import (
    QTY_UNITS,
    parse_quantity,
)
from edge.errors import BadRequest, Conflict, Forbidden, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from hub.supplier.accounts import Supplier, _centre_rows
from sync.enrol import now_iso

AnyRequest = Request[Any, Any, Any]

# --- writing (hub-owned rows, through the hub's change log) ------------------------------


class DispatchLineBody(msgspec.Struct, forbid_unknown_fields=True):
    qty_unit: Annotated[str, msgspec.Meta(max_length=8)]
    product_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    product_name: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    shipped: Annotated[int, msgspec.Meta(ge=0)] | None = None  # base units
    shipped_jin: Annotated[float, msgspec.Meta(ge=0, le=10_000)] | None = None
    short: Annotated[int, msgspec.Meta(ge=0)] | None = None  # default: ordered − shipped
    substitute_for: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class DispatchNoteBody(msgspec.Struct, forbid_unknown_fields=True):
    centre_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    delivery_date: Annotated[str, msgspec.Meta(min_length=10, max_length=10)]
    lines: Annotated[list[DispatchLineBody], msgspec.Meta(max_length=500)]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class PriceBody(msgspec.Struct, forbid_unknown_fields=True):
    product_name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    qty_unit: Annotated[str, msgspec.Meta(max_length=8)]
    price_fen: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]  # per 斤 / piece / bundle
    product_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class PriceListBody(msgspec.Struct, forbid_unknown_fields=True):
    effective_from: Annotated[str, msgspec.Meta(min_length=10, max_length=10)]
    prices: Annotated[list[PriceBody], msgspec.Meta(min_length=1, max_length=2000)]
    centre_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class AcceptedBody(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Annotated[str, msgspec.Meta(max_length=64)]
    qty_unit: Annotated[str, msgspec.Meta(max_length=8)]
    quantity: Annotated[int, msgspec.Meta(ge=0)]


class ConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    accepted: list[AcceptedBody] | None = None  # default: as the centre recorded it
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


def _known_centre(conn: sqlite3.Connection, centre_id: str) -> None:
    if (
        conn.execute(
            "SELECT 1 FROM sync_centres WHERE site_id = ? AND revoked = 0", (centre_id,)
        ).fetchone()
        is None
    ):
        raise BadRequest(f"no centre {centre_id!r} on this hub", field="centre_id")


def add_dispatch_note(
    tx: Tx, supplier: Supplier, body: DispatchNoteBody, key: str | None
) -> dict[str, Any]:
    """One dispatch note for a centre and day; a later one supersedes it (higher revision)."""
    day = calendar.iso_day(body.delivery_date, "delivery_date")
    _known_centre(tx.conn, body.centre_id)
    supplier.check_supplies(body.centre_id)
    if key:
        seen = tx.one(
            "SELECT id, revision FROM supply_dispatch_notes WHERE centre_id = ?"
            " AND idempotency_key = ? AND supplier = ?",
            (body.centre_id, key, supplier.name),
        )
        if seen is not None:
            return {"id": seen["id"], "revision": seen["revision"], "replayed": True}
    latest = tx.one(
        "SELECT supplier, revision FROM supply_dispatch_notes WHERE centre_id = ?"
        " AND delivery_date = ? ORDER BY revision DESC LIMIT 1",
        (body.centre_id, day),
    )
    if latest is not None and latest["supplier"] != supplier.name:
        raise Conflict(
            f"the dispatch note for centre {body.centre_id} on {day} (revision "
            f"{latest['revision']}) is co-op {latest['supplier']}'s; another co-op cannot "
            "replace it",
            field="centre_id",
        )
    head = centre_order.latest(tx.conn, body.centre_id, day)
    ordered = centre_order.version_lines(tx.conn, head["id"]) if head else {}
    rows = []
    for i, line in enumerate(body.lines):
        qty = parse_quantity(
            line.qty_unit,
            line.shipped if line.shipped is not None else 0,
            field=f"lines[{i}].shipped",
            jin=line.shipped_jin,
        )
        pid = line.product_id or _product_by_name(
            tx.conn, body.centre_id, line.product_name, ordered
        )
        if not pid:
            raise BadRequest(
                f"lines[{i}]: give product_id or product_name", field=f"lines[{i}].product_id"
            )
        known = ordered.get((pid, line.qty_unit))
        name = line.product_name or (known.product_name if known else None)
        if name is None:
            prod = tx.one("SELECT name FROM products WHERE id = ?", (pid,))
            if prod is None:
                raise BadRequest(
                    f"lines[{i}]: unknown product; give its product_name",
                    field=f"lines[{i}].product_name",
                )
            name = prod["name"]
        if line.short is not None:  # bounded like shipped: SQLite holds 64 bits, not 10**30
            short = parse_quantity(line.qty_unit, line.short, field=f"lines[{i}].short")
        else:
            short = max(0, known.total - qty) if known and not line.substitute_for else 0
        rows.append(
            {
                "product_id": pid,
                "product_name": name,
                "qty_unit": line.qty_unit,
                "shipped_qty": qty,
                "short_qty": short,
                "substitute_for": line.substitute_for,
                "note": line.note,
            }
        )
    top = tx.execute(
        "SELECT COALESCE(MAX(revision), 0) FROM supply_dispatch_notes"
        " WHERE centre_id = ? AND delivery_date = ?",
        (body.centre_id, day),
    ).fetchone()
    revision = int(top[0]) + 1
    note_id = new_id()
    tx.insert(
        "supply_dispatch_notes",
        {
            "id": note_id,
            "site_id": tx.site_id,
            "centre_id": body.centre_id,
            "delivery_date": day,
            "revision": revision,
            "supplier": supplier.name,
            "note": body.note,
            "idempotency_key": key,
            "created_at": now_iso(),
        },
    )
    for row in rows:
        tx.insert(
            "supply_dispatch_lines",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "note_id": note_id,
                "centre_id": body.centre_id,
                "delivery_date": day,
                **row,
            },
        )
    return {"id": note_id, "revision": revision, "replayed": False, "lines": len(rows)}


def _product_by_name(
    conn: sqlite3.Connection, centre_id: str, name: str | None, ordered: dict[tuple[str, str], Any]
) -> str | None:
    if not name:
        return None
    for (pid, _unit), line in ordered.items():
        if line.product_name == name:
            return str(pid)
    row = conn.execute(
        "SELECT id FROM products WHERE name = ? AND site_id = ? LIMIT 1", (name, centre_id)
    ).fetchone()
    return str(row[0]) if row else f"name:{name}"


def add_price_list(
    tx: Tx, supplier: Supplier, body: PriceListBody, key: str | None
) -> dict[str, Any]:
    """Co-op prices taking effect on a date (for one centre, or all when centre_id is null)."""
    day = calendar.iso_day(body.effective_from, "effective_from")
    if body.centre_id:
        _known_centre(tx.conn, body.centre_id)
        supplier.check_supplies(body.centre_id)
    else:
        for site, _name in _centre_rows(tx.conn):
            if site not in supplier.centres:
                raise Forbidden(
                    f"co-op {supplier.name} does not supply centre {site}; a price list "
                    "for every centre (no centre_id) needs a co-op that supplies them all: "
                    "give centre_id",
                    field="centre_id",
                )
    if key:
        seen = tx.one(
            "SELECT id FROM supply_price_lists WHERE idempotency_key = ? AND supplier = ?",
            (key, supplier.name),
        )
        if seen is not None:
            return {"id": seen["id"], "replayed": True}
    list_id, stamp = new_id(), now_iso()
    tx.insert(
        "supply_price_lists",
        {
            "id": list_id,
            "site_id": tx.site_id,
            "centre_id": body.centre_id,
            "effective_from": day,
            "supplier": supplier.name,
            "note": body.note,
            "idempotency_key": key,
            "created_at": stamp,
        },
    )
    for i, p in enumerate(body.prices):
        if p.qty_unit not in QTY_UNITS:
            raise BadRequest(
                "qty_unit must be 'g' (price per 斤), 'piece' or 'bundle'",
                field=f"prices[{i}].qty_unit",
            )
        tx.insert(
            "supply_prices",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "price_list_id": list_id,
                "centre_id": body.centre_id,
                "effective_from": day,
                "created_at": stamp,
                "product_id": p.product_id,
                "product_name": p.product_name.strip(),
                "qty_unit": p.qty_unit,
                "price_fen": p.price_fen,
            },
        )
    return {"id": list_id, "replayed": False, "prices": len(body.prices)}


def confirm_return(tx: Tx, supplier: Supplier, note_id: str, body: ConfirmBody) -> dict[str, Any]:
    """The co-op took the leftovers back; flows down to the centre (which then locks the note)."""
    note = tx.one(
        "SELECT id, site_id, delivery_date FROM supply_return_notes WHERE id = ?", (note_id,)
    )
    if note is None:
        raise NotFound(f"no return note {note_id!r}")
    supplier.check_supplies(note["site_id"], field="note_id")
    seen = tx.one("SELECT confirmed_at FROM supply_return_confirmations WHERE id = ?", (note_id,))
    if seen is not None:
        return {"id": note_id, "confirmed_at": seen["confirmed_at"], "replayed": True}
    if body.accepted is None:
        accepted = [
            [r["product_id"], r["qty_unit"], r["quantity"]]
            for r in tx.execute(
                "SELECT product_id, qty_unit, quantity FROM supply_return_lines WHERE note_id = ?"
                " AND quantity > 0 ORDER BY product_id, qty_unit",
                (note_id,),
            )
        ]
    else:
        accepted = [
            [
                a.product_id,
                a.qty_unit,
                parse_quantity(a.qty_unit, a.quantity, field="accepted.quantity"),
            ]
            for a in body.accepted
        ]
    stamp = now_iso()
    tx.insert(
        "supply_return_confirmations",
        {
            "id": note_id,
            "site_id": tx.site_id,
            "centre_id": note["site_id"],
            "delivery_date": note["delivery_date"],
            "supplier": supplier.name,
            "accepted": json.dumps(accepted, ensure_ascii=False),
            "note": body.note,
            "confirmed_at": stamp,
        },
    )
    return {"id": note_id, "confirmed_at": stamp, "replayed": False}
