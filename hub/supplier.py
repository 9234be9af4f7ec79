"""The co-op's side of the hub: supplier accounts and the API under /supplier/v1.

The co-op pulls one consolidated order per delivery day for all the centres
it supplies (JSON or CSV, with an ETag, so polling over a weak link costs a
304), prints a loading list per centre for the van, and sends back dispatch
notes, price lists and return-note confirmations. What it sends becomes
hub-owned rows written through the hub's change log (addressed by
`centre_id`), so they flow down to the centres like the district catalog.

**Least data (DESIGN invariant 8).** Every answer is built from explicit
allow-lists of columns below (`CENTRE_FIELDS`, `LINE_FIELDS`, …) read from
the supply tables and the order lines' product columns; no query here joins
`households`, and free text staff type (order notes, return-note remarks)
is never sent. A supplier sees quantities per centre and product, nothing
about a resident.

Accounts live in `supply_suppliers` (hub-local, never synced): a bearer
token is shown once at creation and stored as its SHA-256.

**Scoped to the centres it supplies.** `supply_supplier_centres` (the sync
schema's migration m102) lists the centres of each account, set when the
account is made (`linli hub add-supplier --centre ID ...`; without `--centre`,
every centre enrolled then) and changed with `linli hub supplier-centres`.
Every answer covers those centres only, and a dispatch note, price list or
return confirmation for another centre is a 403 naming it. A price list for
every centre (`centre_id` null) needs an account that supplies every enrolled
centre. A dispatch note for a centre and day is one co-op's: another co-op
supplying the same centre cannot supersede it (409).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Template

from edge.domain import calendar, spreadsheet
from edge.domain.supply import consolidated as centre_order
from edge.domain.supply import reconciliation
from edge.domain.supply.lines import (
    QTY_UNITS,
    co_op_quantity,
    co_op_unit,
    parse_quantity,
    say,
)
from edge.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from edge.store import Store, Tx
from edge.store.ids import new_id
from sync.enrol import hash_token, now_iso

AnyRequest = Request[Any, Any, Any]

# What a supplier may see, and nothing else.
CENTRE_FIELDS = (
    "centre_id",
    "centre_name",
    "status",
    "version",
    "locked_at",
    "sent_by_hand",
    "sent_by_hand_at",
    "sent_by_hand_versions",
    "lines",
    "amendments",
)
LINE_FIELDS = ("product_id", "product_name", "qty_unit", "quantity", "co_op_quantity", "co_op_unit")
PRODUCT_FIELDS = ("product_name", "qty_unit", "co_op_unit", "quantity", "co_op_quantity", "centres")
RETURN_LINE_FIELDS = (
    "product_id",
    "product_name",
    "qty_unit",
    "quantity",
    "co_op_quantity",
    "co_op_unit",
)


def _only(row: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {k: row[k] for k in fields}


# --- accounts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    name: str
    centres: frozenset[str] = frozenset()  # site ids of the centres it supplies

    def check_supplies(self, centre_id: str, field: str = "centre_id") -> None:
        """403 naming the centre unless this co-op supplies it."""
        if centre_id not in self.centres:
            raise Forbidden(
                f"co-op {self.name} does not supply centre {centre_id}; the hub operator "
                "links it with `linli hub supplier-centres`",
                field=field,
            )


def _conn(conn_or_tx: sqlite3.Connection | Tx) -> sqlite3.Connection:
    return conn_or_tx.conn if isinstance(conn_or_tx, Tx) else conn_or_tx


def _enrolled(conn: sqlite3.Connection, site_ids: Iterable[str]) -> list[str]:
    """The site ids, each checked to be an enrolled centre that is not revoked."""
    out: list[str] = []
    for site in site_ids:
        site = (site or "").strip()
        if not site:
            continue
        row = conn.execute(
            "SELECT 1 FROM sync_centres WHERE site_id = ? AND revoked = 0", (site,)
        ).fetchone()
        if row is None:
            raise BadRequest(f"no centre {site!r} on this hub", field="centre_id")
        if site not in out:
            out.append(site)
    return out


def create_supplier(
    conn_or_tx: sqlite3.Connection | Tx, name: str, centres: Iterable[str] | None = None
) -> str:
    """Add a co-op account on the hub; returns its bearer token (shown once, stored hashed).

    `centres`: the site ids of the centres it supplies; None = every centre
    enrolled (and not revoked) now. A centre enrolled later is linked with
    `link_centres`.
    """
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise BadRequest("a supplier name is 1 to 80 characters", field="name")
    token = "sup_" + secrets.token_urlsafe(32)
    conn = _conn(conn_or_tx)
    if conn.execute("SELECT 1 FROM supply_suppliers WHERE name = ?", (name,)).fetchone():
        raise Conflict(f"a supplier named {name!r} exists; issue it a new token instead")
    sites = [s for s, _ in _centre_rows(conn)] if centres is None else _enrolled(conn, centres)
    supplier_id = new_id()
    conn.execute(
        "INSERT INTO supply_suppliers (id, name, token_hash, active, created_at)"
        " VALUES (?, ?, ?, 1, ?)",
        (supplier_id, name, hash_token(token), now_iso()),
    )
    _link(conn, supplier_id, sites)
    return token


def _link(conn: sqlite3.Connection, supplier_id: str, sites: Iterable[str]) -> None:
    stamp = now_iso()
    conn.executemany(
        "INSERT OR IGNORE INTO supply_supplier_centres (supplier_id, centre_id, created_at)"
        " VALUES (?, ?, ?)",
        [(supplier_id, site, stamp) for site in sites],
    )


def link_centres(
    conn_or_tx: sqlite3.Connection | Tx,
    name: str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """Change which centres the co-op `name` supplies; returns them as (site_id, name)."""
    conn = _conn(conn_or_tx)
    row = conn.execute("SELECT id FROM supply_suppliers WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no supplier named {name!r}")
    supplier_id = str(row[0])
    _link(conn, supplier_id, _enrolled(conn, add))
    conn.executemany(
        "DELETE FROM supply_supplier_centres WHERE supplier_id = ? AND centre_id = ?",
        [(supplier_id, site) for site in remove],
    )
    return supplied_centres(conn, supplier_id)


def supplied_centres(conn: sqlite3.Connection, supplier_id: str) -> list[tuple[str, str]]:
    """The centres a co-op supplies as (site_id, name), by name; revoked ones left out."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT c.site_id, c.name FROM supply_supplier_centres l"
            " JOIN sync_centres c ON c.site_id = l.centre_id"
            " WHERE l.supplier_id = ? AND c.revoked = 0 ORDER BY c.name, c.site_id",
            (supplier_id,),
        )
    ]


def supplier_for(conn: sqlite3.Connection, token: str | None) -> Supplier | None:
    if not token:
        return None
    row = conn.execute(
        "SELECT id, name FROM supply_suppliers WHERE token_hash = ? AND active = 1",
        (hash_token(token),),
    ).fetchone()
    if row is None:
        return None
    sites = frozenset(s for s, _ in supplied_centres(conn, row["id"]))
    return Supplier(row["id"], row["name"], sites)


# --- reading the merged store ----------------------------------------------------------


def _centre_rows(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT site_id, name FROM sync_centres WHERE revoked = 0 ORDER BY name, site_id"
        )
    ]


def centres(conn: sqlite3.Connection, supplier: Supplier | None = None) -> list[tuple[str, str]]:
    """Enrolled, not revoked centres as (site_id, name), by name: all of them (the hub
    operator's view), or those `supplier` supplies."""
    rows = _centre_rows(conn)
    if supplier is None:
        return rows
    return [r for r in rows if r[0] in supplier.centres]


def _line(product_id: str, name: str, qty_unit: str, label: str, quantity: int) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "product_name": name,
        "qty_unit": qty_unit,
        "quantity": quantity,
        "co_op_quantity": co_op_quantity(qty_unit, quantity),
        "co_op_unit": co_op_unit(qty_unit, label),
    }


def consolidated(
    conn: sqlite3.Connection, day: str, centre_list: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The day's order for every centre, and per product across centres.

    A centre whose order is locked shows its latest version (`locked` or
    `amended`); one not locked yet shows a live `provisional` total of what
    the hub holds of its orders and buffer; a centre with nothing shows
    `none`. Built from allow-listed columns only (see the module docstring).
    """
    centre_list = centres(conn) if centre_list is None else centre_list
    heads: dict[str, dict[str, Any]] = {}
    by_hand: dict[str, list[int]] = {}
    for r in conn.execute(
        "SELECT id, site_id, version, locked_at, sent_by_hand_at, diff"
        " FROM supply_consolidated WHERE delivery_date = ? ORDER BY site_id, version",
        (day,),
    ):
        site = r["site_id"]
        if r["sent_by_hand_at"]:
            by_hand.setdefault(site, []).append(int(r["version"]))
        entry = heads.setdefault(site, {"amendments": []})
        if r["version"] > 1:
            entry["amendments"].append(
                {
                    "version": r["version"],
                    "locked_at": r["locked_at"],
                    "changes": [
                        {
                            k: c[k]
                            for k in (
                                "product_id",
                                "product_name",
                                "qty_unit",
                                "before",
                                "after",
                                "change",
                            )
                        }
                        for c in json.loads(r["diff"])
                    ],
                }
            )
        entry.update(
            id=r["id"],
            version=r["version"],
            locked_at=r["locked_at"],
            sent_by_hand_at=r["sent_by_hand_at"],
        )
    locked_lines: dict[str, list[dict[str, Any]]] = {}
    head_ids = {v["id"]: site for site, v in heads.items()}
    for r in conn.execute(
        "SELECT l.consolidated_id, l.product_id, l.product_name, l.qty_unit, l.unit_label,"
        " l.total_qty FROM supply_consolidated_lines l WHERE l.delivery_date = ?"
        " ORDER BY l.product_name, l.qty_unit",
        (day,),
    ):
        site = head_ids.get(r["consolidated_id"])
        if site is not None:
            locked_lines.setdefault(site, []).append(
                _line(
                    r["product_id"],
                    r["product_name"],
                    r["qty_unit"],
                    r["unit_label"],
                    r["total_qty"],
                )
            )
    out_centres = []
    for site, name in centre_list:
        head = heads.get(site)
        if head is not None:
            lines = locked_lines.get(site, [])
            status = "amended" if head["version"] > 1 else "locked"
        else:
            live = centre_order.live_lines(conn, site, day)
            lines = [
                _line(x.product_id, x.product_name, x.qty_unit, x.unit_label, x.total)
                for x in sorted(live.values(), key=lambda x: (x.product_name, x.qty_unit))
                if x.total > 0
            ]
            status = "provisional" if lines else "none"
        hand = by_hand.get(site, [])
        row = {
            "centre_id": site,
            "centre_name": name,
            "status": status,
            "version": head["version"] if head else None,
            "locked_at": head["locked_at"] if head else None,
            "sent_by_hand": bool(head and head["version"] in hand),
            "sent_by_hand_at": head["sent_by_hand_at"] if head else None,
            "sent_by_hand_versions": hand,
            "lines": [_only(x, LINE_FIELDS) for x in lines],
            "amendments": head["amendments"] if head else [],
        }
        out_centres.append(_only(row, CENTRE_FIELDS))
    products: dict[tuple[str, str, str], dict[str, Any]] = {}
    for c in out_centres:
        for x in c["lines"]:
            key = (x["product_name"], x["qty_unit"], x["co_op_unit"])
            p = products.setdefault(
                key,
                {
                    "product_name": key[0],
                    "qty_unit": key[1],
                    "co_op_unit": key[2],
                    "quantity": 0,
                    "centres": 0,
                },
            )
            p["quantity"] += x["quantity"]
            p["centres"] += 1
    product_rows = []
    for key in sorted(products):
        p = products[key]
        p["co_op_quantity"] = co_op_quantity(p["qty_unit"], p["quantity"])
        product_rows.append(_only(p, PRODUCT_FIELDS))
    return {"delivery_date": day, "centres": out_centres, "products": product_rows}


CSV_COLUMNS = (
    "delivery_date",
    "centre_id",
    "centre_name",
    "status",
    "version",
    "sent_by_hand",
    "product_id",
    "product_name",
    "qty_unit",
    "quantity",
    "co_op_quantity",
    "co_op_unit",
)


def consolidated_csv(doc: dict[str, Any]) -> str:
    """One row per centre and line, then a TOTAL row per product."""
    buf = io.StringIO()
    w = spreadsheet.writer(buf)
    w.writerow(CSV_COLUMNS)
    day = doc["delivery_date"]
    for c in doc["centres"]:
        for x in c["lines"]:
            w.writerow(
                [
                    day,
                    c["centre_id"],
                    c["centre_name"],
                    c["status"],
                    c["version"] or "",
                    int(c["sent_by_hand"]),
                    x["product_id"],
                    x["product_name"],
                    x["qty_unit"],
                    x["quantity"],
                    x["co_op_quantity"],
                    x["co_op_unit"],
                ]
            )
    for p in doc["products"]:
        w.writerow(
            [
                day,
                "TOTAL",
                "",
                "",
                "",
                "",
                "",
                p["product_name"],
                p["qty_unit"],
                p["quantity"],
                p["co_op_quantity"],
                p["co_op_unit"],
            ]
        )
    return buf.getvalue()


def return_notes(
    conn: sqlite3.Connection, day: str, supplier: Supplier | None = None
) -> list[dict[str, Any]]:
    """The day's return notes: every centre's, or those of the centres `supplier` supplies."""
    names = dict(centres(conn, supplier))
    out = []
    for n in conn.execute(
        "SELECT id, site_id, delivery_date, updated_at FROM supply_return_notes"
        " WHERE delivery_date = ? ORDER BY site_id",
        (day,),
    ):
        if supplier is not None and n["site_id"] not in names:
            continue
        conf = conn.execute(
            "SELECT confirmed_at, accepted FROM supply_return_confirmations WHERE id = ?",
            (n["id"],),
        ).fetchone()
        lines = [
            _only(
                {
                    **dict(r),
                    "co_op_quantity": co_op_quantity(r["qty_unit"], r["quantity"]),
                    "co_op_unit": co_op_unit(
                        r["qty_unit"], _label(conn, r["product_id"], r["qty_unit"])
                    ),
                },
                RETURN_LINE_FIELDS,
            )
            for r in conn.execute(
                "SELECT product_id, product_name, qty_unit, quantity FROM supply_return_lines"
                " WHERE note_id = ? AND quantity > 0 ORDER BY product_name",
                (n["id"],),
            )
        ]
        out.append(
            {
                "id": n["id"],
                "centre_id": n["site_id"],
                "centre_name": names.get(n["site_id"], ""),
                "delivery_date": day,
                "updated_at": n["updated_at"],
                "lines": lines,
                "confirmed": conf is not None,
                "confirmed_at": conf["confirmed_at"] if conf else None,
                "accepted": json.loads(conf["accepted"]) if conf else None,
            }
        )
    return out


def _label(conn: sqlite3.Connection, product_id: str, qty_unit: str) -> str:
    row = conn.execute("SELECT sold_by, unit FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None or qty_unit == "g":
        return ""
    return "个" if row["sold_by"] == "weight" else str(row["unit"])


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


def _day(value: str, field: str) -> str:
    return calendar.parse_day(value, field).isoformat()


def _known_centre(conn: sqlite3.Connection, centre_id: str) -> None:
    if (
        conn.execute(
            "SELECT 1 FROM sync_centres WHERE site_id = ? AND revoked = 0", (centre_id,)
        ).fetchone()
        is None
    ):
        raise BadRequest(f"no centre {centre_id!r} on this hub", field="centre_id")


def add_dispatch_note(
    tx: Tx, supplier: SupplierDep, body: DispatchNoteBody, key: str | None
) -> dict[str, Any]:
    """One dispatch note for a centre and day; a later one supersedes it (higher revision)."""
    day = _day(body.delivery_date, "delivery_date")
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
    tx: Tx, supplier: SupplierDep, body: PriceListBody, key: str | None
) -> dict[str, Any]:
    """Co-op prices taking effect on a date (for one centre, or all when centre_id is null)."""
    day = _day(body.effective_from, "effective_from")
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


def confirm_return(
    tx: Tx, supplier: SupplierDep, note_id: str, body: ConfirmBody
) -> dict[str, Any]:
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


# --- HTTP --------------------------------------------------------------------------------


def _store(request: AnyRequest) -> Store:
    store: Store = request.app.state.store
    return store


async def provide_supplier(request: AnyRequest) -> Supplier:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    found = await _store(request).read(lambda c: supplier_for(c, token))
    if found is None:
        raise Unauthorized("send Authorization: Bearer <supplier token>")
    return found


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(request: AnyRequest, tag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


def cached(
    request: AnyRequest, body: bytes, media_type: str, filename: str | None = None
) -> Response[bytes]:
    """The body with its ETag, or an empty 304 when the client already holds it."""
    tag = _etag(body)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if _matches(request, tag):
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(content=body, headers=headers, media_type=media_type)


def _wants_csv(request: AnyRequest, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt.lower() == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _field_of(exc: msgspec.ValidationError) -> str:
    """The field a msgspec error is about: "Expected `int`, got `str` - at
    `$.accepted[0].quantity`" -> "accepted[0].quantity"; an unknown key names itself."""
    text = str(exc)
    at = re.search(r"- at `\$\.?([^`]*)`$", text)
    path = at.group(1) if at else ""
    unknown = re.match(r"Object contains unknown field `([^`]{1,40})`", text)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    return path or "body"


SupplierDep = NamedDependency[Supplier]  # the co-op account behind the bearer token


@get("/consolidated")
async def get_consolidated(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    format: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Every centre's order for the day and the totals per product (JSON, or CSV)."""
    day = _day(delivery_date, "delivery_date")
    doc = await _store(request).read(lambda c: consolidated(c, day, centres(c, supplier)))
    if _wants_csv(request, format):
        body = ("\ufeff" + consolidated_csv(doc)).encode()
        return cached(request, body, "text/csv; charset=utf-8", f"consolidated-{day}.csv")
    return cached(request, _json(doc), "application/json")


@get("/loading-list", media_type="text/html")
async def loading_list(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    centre_id: FromQuery[str | None] = None,
) -> Template:
    """A printable loading list for the van: one page per centre, boxes to tick."""
    day = _day(delivery_date, "delivery_date")
    if centre_id:
        supplier.check_supplies(centre_id)
    context = await _store(request).read(lambda c: loading_context(c, supplier, day, centre_id))
    return Template(template_name="supply/loading_list.html", context=context)


def loading_context(
    c: sqlite3.Connection, supplier: Supplier, day: str, centre_id: str | None = None
) -> dict[str, Any]:
    """What the loading list shows: a sheet per centre with lines, for the co-op's
    centres (or the one asked for)."""
    doc = consolidated(c, day, centres(c, supplier))
    found: dict[str, dict[tuple[str, str], int]] = {}
    for r in c.execute(
        "SELECT n.centre_id, l.product_id, l.qty_unit, l.shipped_qty FROM"
        " supply_dispatch_notes n JOIN supply_dispatch_lines l ON l.note_id = n.id"
        " WHERE n.delivery_date = ? AND n.revision = (SELECT MAX(revision) FROM"
        " supply_dispatch_notes m WHERE m.centre_id = n.centre_id"
        " AND m.delivery_date = n.delivery_date)",
        (day,),
    ):
        per = found.setdefault(r["centre_id"], {})
        key = (r["product_id"], r["qty_unit"])
        per[key] = per.get(key, 0) + int(r["shipped_qty"])
    pages = []
    for centre in doc["centres"]:
        if centre_id and centre["centre_id"] != centre_id:
            continue
        if not centre["lines"]:
            continue
        ship = found.get(centre["centre_id"])
        rows = [
            {
                **x,
                "text": f"{x['co_op_quantity']}{x['co_op_unit']}",
                "shipped": (
                    say(
                        x["qty_unit"],
                        ship.get((x["product_id"], x["qty_unit"]), 0),
                        x["co_op_unit"] if x["qty_unit"] == "piece" else "",
                    )
                    if ship is not None
                    else ""
                ),
            }
            for x in centre["lines"]
        ]
        pages.append({**centre, "rows": rows})
    return {"day": day, "pages": pages, "supplier": supplier.name, "products": doc["products"]}


async def _write_once(
    request: AnyRequest,
    idempotency_key: str | None,
    write: Callable[[Tx, str | None], dict[str, Any]],
) -> Response[dict[str, Any]]:
    """A co-op's keyed write: 201 the first time, 200 with the same answer on a replay."""
    key = (idempotency_key or "")[:100] or None
    done = await _store(request).write(lambda tx: write(tx, key))
    return Response(done, status_code=200 if done["replayed"] else 201)


@post("/dispatch-notes", status_code=201)
async def post_dispatch_note(
    request: AnyRequest,
    supplier: SupplierDep,
    data: JSONBody[DispatchNoteBody],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[dict[str, Any]]:
    """What the van carries to one centre: shipped per line, short, substitutions."""
    return await _write_once(
        request, idempotency_key, lambda tx, key: add_dispatch_note(tx, supplier, data, key)
    )


@post("/price-lists", status_code=201)
async def post_price_list(
    request: AnyRequest,
    supplier: SupplierDep,
    data: JSONBody[PriceListBody],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[dict[str, Any]]:
    """Co-op prices (per 斤 / piece / bundle) and the date they take effect."""
    return await _write_once(
        request, idempotency_key, lambda tx, key: add_price_list(tx, supplier, data, key)
    )


@get("/return-notes")
async def get_return_notes(
    request: AnyRequest, supplier: SupplierDep, delivery_date: FromQuery[str]
) -> Response[bytes]:
    """The leftovers each centre sends back that day, and whether they are confirmed."""
    day = _day(delivery_date, "delivery_date")
    notes = await _store(request).read(lambda c: return_notes(c, day, supplier))
    return cached(request, _json({"delivery_date": day, "return_notes": notes}), "application/json")


@post("/return-notes/{note_id:str}/confirm", status_code=200)
async def post_confirm_return(
    request: AnyRequest, supplier: SupplierDep, note_id: FromPath[str]
) -> dict[str, Any]:
    """Confirm a return note; the body (`accepted` quantities, `note`) may be left out."""
    raw = await request.body()
    try:
        body = msgspec.json.decode(raw, type=ConfirmBody) if raw.strip() else ConfirmBody()
    except msgspec.ValidationError as exc:
        raise BadRequest(f"body: {exc}", field=_field_of(exc)) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest(
            "the body is not JSON (UTF-8, nested a few levels)", field="body"
        ) from None
    return await _store(request).write(lambda tx: confirm_return(tx, supplier, note_id, body))


@get("/reconciliation")
async def get_reconciliation(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    format: FromQuery[str | None] = None,
) -> Response[bytes]:
    """The day across centres: received, sold, returned, lost, and what is owed, in fen."""
    day = _day(delivery_date, "delivery_date")
    doc = await _store(request).read(
        lambda c: reconciliation.reconcile_centres(c, day, centres(c, supplier))
    )
    if _wants_csv(request, format):
        body = ("\ufeff" + reconciliation.as_csv(doc["centres"])).encode()
        return cached(request, body, "text/csv; charset=utf-8", f"reconciliation-{day}.csv")
    return cached(request, _json(doc), "application/json")


SUPPLIER_HANDLERS = [
    Router(
        path="/supplier/v1",
        route_handlers=[
            get_consolidated,
            loading_list,
            post_dispatch_note,
            post_price_list,
            get_return_notes,
            post_confirm_return,
            get_reconciliation,
        ],
        dependencies={"supplier": Provide(provide_supplier)},
        # bearer tokens, no cookies: CSRF does not apply (the hub's CSRF config also
        # excludes the prefix once mounted)
        opt={"exclude_from_csrf": True},
        tags=["supplier"],
        security=[{"bearer": []}],
    )
]
