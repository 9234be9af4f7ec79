"""Receiving at 06:00: what the van brought against what was expected, and who gets less.

Expected per product line is the co-op's dispatch note when one has come
down from the hub, else the locked consolidated order (its latest version).
The note lists what is on the van: an ordered line it leaves out is expected
as 0 (not dispatched), and a product sent in place of another
(`substitute_for`) is a line of its own while the one it replaces was not
dispatched. Nothing is shared out when a note arrives: staff enter what
arrived (the page fills in what is expected, 0 for a line left out), and
when a line is short, the shortage is shared out to that day's orders by
this rule:

1. **The walk-in buffer gives way first.** Orders are served before any
   stock is kept for walk-in sales; only when what arrived is less than the
   orders alone do orders get less.
2. **Pieces and bundles: first ordered, first filled.** Orders are taken in
   the order they were placed (then by order id, then by item line); each is
   filled in full while stock lasts, the first one that cannot be gets what
   is left, and later ones get none.
3. **By weight: everyone is cut in the same proportion.** Each item gets
   `floor(ordered × arrived ÷ ordered in total)` grams; the few grams that
   flooring leaves over go one gram each to the earliest orders.

No share is ever negative or more than was ordered, and the shares add up
exactly to what arrived (or to the orders, when enough arrived). Items of
orders already handed over keep what they got; entering an arrival again
shares it out again. An affected item gets `allocated_qty` (its share, in
grams, pieces or bundles) and a new price estimate; its order gets `short = 1`.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.domain import calendar
from edge.domain.auth import now_iso
from edge.domain.products import fen_for_grams
from edge.domain.supply import consolidated
from edge.domain.supply.lines import (
    NAME_PREFIX,
    Key,
    ProductInfo,
    co_op_unit,
    parse_quantity,
    product_infos,
    resolve_product_id,
    say,
    unit_label_for,
)
from edge.errors import BadRequest
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import ORDER_HANDED_OVER, ORDER_OPEN, sql_in

HANDED_OVER = ORDER_HANDED_OVER
OPEN = ORDER_OPEN


def share_out(arrived: int, demands: Sequence[int], *, by_weight: bool) -> list[int]:
    """Shares of `arrived` for `demands` listed earliest first (the rule above)."""
    if arrived < 0 or any(d < 0 for d in demands):
        raise ValueError("quantities are never negative")
    wanted = sum(demands)
    if arrived >= wanted:
        return list(demands)
    if not by_weight:
        out, left = [], arrived
        for d in demands:
            give = min(d, left)
            out.append(give)
            left -= give
        return out
    shares = [d * arrived // wanted for d in demands]
    spare = arrived - sum(shares)  # < len(demands): one gram each to the earliest
    for i, d in enumerate(demands):
        if spare == 0:
            break
        if shares[i] < d:
            shares[i] += 1
            spare -= 1
    return shares


@dataclass(frozen=True, slots=True)
class Expected:
    product_id: str
    product_name: str
    qty_unit: str
    unit_label: str
    quantity: int
    source: str  # 'dispatch' | 'consolidated' | 'orders'
    substitute_for: str | None = None  # as the note gave it: a product id or name
    substitute_for_name: str | None = None
    note: str = ""  # the co-op's word on this line ('青椒没了')
    not_dispatched: bool = False  # ordered, but the dispatch note leaves it out
    replaced_by: str | None = None  # the product the co-op sent in its place


def latest_dispatch(conn: sqlite3.Connection, site_id: str, day: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM supply_dispatch_notes WHERE delivery_date = ? AND centre_id = ?"
        " ORDER BY revision DESC, created_at DESC LIMIT 1",
        (day, site_id),
    ).fetchone()
    if row is None:
        return None
    note = dict(row)
    note["lines"] = []
    for r in conn.execute(
        "SELECT product_id, product_name, qty_unit, shipped_qty, short_qty, substitute_for,"
        " note FROM supply_dispatch_lines WHERE note_id = ? ORDER BY product_name",
        (row["id"],),
    ):
        line = dict(r)
        line["product_id"] = resolve_product_id(conn, site_id, line["product_id"])
        note["lines"].append(line)
    return note


def ordered_lines(
    conn: sqlite3.Connection, site_id: str, day: str
) -> tuple[dict[Key, consolidated.Line], str]:
    """The locked order's lines (latest version), else the day's orders as they stand."""
    head = consolidated.latest(conn, site_id, day)
    if head is not None:
        return consolidated.version_lines(conn, head["id"]), "consolidated"
    return consolidated.live_lines(conn, site_id, day), "orders"


def expected(conn: sqlite3.Connection, site_id: str, day: str) -> dict[Key, Expected]:
    infos = product_infos(conn)
    note = latest_dispatch(conn, site_id, day)
    lines, source = ordered_lines(conn, site_id, day)
    out: dict[Key, Expected] = {}
    if note is None:
        for key, line in lines.items():
            out[key] = Expected(
                line.product_id,
                line.product_name,
                line.qty_unit,
                line.unit_label,
                line.total,
                source,
            )
        return out
    replaced_by: dict[str, str] = {}  # the replaced product's id or name -> the substitute's name
    for r in note["lines"]:
        key = (r["product_id"], r["qty_unit"])
        prev = out.get(key)
        sub_name = None
        if r["substitute_for"]:
            sub_name = _product_name(conn, site_id, infos, r["substitute_for"])
            replaced_by[sub_name] = r["product_name"]
            replaced_by[resolve_product_id(conn, site_id, r["substitute_for"])] = r["product_name"]
        out[key] = Expected(
            r["product_id"],
            r["product_name"],
            r["qty_unit"],
            unit_label_for(infos.get(r["product_id"]), r["qty_unit"]),
            r["shipped_qty"] + (prev.quantity if prev else 0),
            "dispatch",
            r["substitute_for"] or (prev.substitute_for if prev else None),
            sub_name or (prev.substitute_for_name if prev else None),
            "; ".join(x for x in (prev.note if prev else "", r["note"]) if x),
        )
    # Not on the note means not on the van: expected 0, so that entering the
    # arrivals shares the line out as a shortage instead of charging for it.
    for key, line in lines.items():
        if key not in out:
            out[key] = Expected(
                line.product_id,
                line.product_name,
                line.qty_unit,
                line.unit_label,
                0,
                "dispatch",
                not_dispatched=True,
            )
    for key, e in out.items():
        by = replaced_by.get(key[0]) or replaced_by.get(e.product_name)
        if by is not None and by != e.product_name:
            out[key] = dataclasses.replace(e, replaced_by=by)
    return out


def _product_name(
    conn: sqlite3.Connection, site_id: str, infos: dict[str, ProductInfo], ref: str
) -> str:
    """A product id, `name:土豆` or a plain name, as the name staff know it by."""
    info = infos.get(resolve_product_id(conn, site_id, ref))
    if info is not None:
        return info.name
    return ref[len(NAME_PREFIX) :] if ref.startswith(NAME_PREFIX) else ref


def receiving_view(conn: sqlite3.Connection, site_id: str, day: str) -> dict[str, Any]:
    """Expected vs arrived per line, what the tablet shows at 06:00."""
    exp = expected(conn, site_id, day)
    got = {
        (r["product_id"], r["qty_unit"]): dict(r)
        for r in conn.execute(
            "SELECT * FROM supply_receipts WHERE site_id = ? AND delivery_date = ?", (site_id, day)
        )
    }
    infos = product_infos(conn)
    demand = _demand(conn, site_id, day)
    lines = []
    for key in exp.keys() | got.keys():
        e, g = exp.get(key), got.get(key)
        name = e.product_name if e else g["product_name"] if g else key[0]
        label = e.unit_label if e else unit_label_for(infos.get(key[0]), key[1])
        arrived = g["arrived_qty"] if g else None
        ordered = demand.get(key, 0)
        lines.append(
            {
                "product_id": key[0],
                "product_name": name,
                "qty_unit": key[1],
                "co_op_unit": co_op_unit(key[1], label),
                "unit_label": label,
                "expected": e.quantity if e else 0,
                "expected_from": e.source if e else "none",
                "substitute_for": e.substitute_for if e else None,
                "substitute_for_name": e.substitute_for_name if e else None,
                "dispatch_line_note": e.note if e else "",
                "not_dispatched": e.not_dispatched if e else False,
                "replaced_by": e.replaced_by if e else None,
                "arrived": arrived,
                "orders_need": ordered,
                "short_for_orders": max(0, ordered - arrived) if arrived is not None else 0,
                "expected_text": say(key[1], e.quantity if e else 0, label),
                "arrived_text": say(key[1], arrived, label) if arrived is not None else "",
            }
        )
    lines.sort(key=lambda x: (x["product_name"], x["qty_unit"]))
    note = latest_dispatch(conn, site_id, day)
    return {
        "centre_id": site_id,
        "delivery_date": day,
        "lines": lines,
        "dispatch_note": note is not None,
        "dispatch_note_text": note["note"] if note else "",
        "shortages": shortages_for_day(conn, day, site_id=site_id),
    }


def _demand(conn: sqlite3.Connection, site_id: str, day: str) -> dict[Key, int]:
    return {
        (r[0], r[1]): int(r[2])
        for r in conn.execute(
            "SELECT i.product_id, i.qty_unit, SUM(i.quantity) FROM orders o"
            " JOIN order_items i ON i.order_id = o.id WHERE o.site_id = ? AND o.pickup_date = ?"
            f" AND o.status IN {sql_in(ORDER_OPEN | ORDER_HANDED_OVER)}"
            " GROUP BY i.product_id, i.qty_unit",
            (site_id, day),
        )
    }


@dataclass(frozen=True, slots=True)
class Arrival:
    product_id: str
    qty_unit: str
    arrived: int


def record_arrivals(
    tx: Tx, day: str, arrivals: list[Arrival], staff_id: str | None = None
) -> dict[str, Any]:
    """Store what arrived and share every line out to the day's orders, in one transaction."""
    iso = calendar.parse_day(day, "delivery_date").isoformat()
    if not arrivals:
        raise BadRequest("enter at least one arrival", field="lines")
    exp = expected(tx.conn, tx.site_id, iso)
    infos = product_infos(tx.conn)
    touched_orders: set[str] = set()
    for i, a in enumerate(arrivals):
        qty = parse_quantity(a.qty_unit, a.arrived, field=f"lines[{i}].arrived")
        key = (a.product_id, a.qty_unit)
        info = infos.get(a.product_id)
        e = exp.get(key)
        if info is None and e is None:
            raise BadRequest(
                f"lines[{i}]: no product {a.product_id!r}", field=f"lines[{i}].product_id"
            )
        name = info.name if info else e.product_name if e else a.product_id
        existing = tx.one(
            "SELECT id FROM supply_receipts WHERE site_id = ? AND delivery_date = ?"
            " AND product_id = ? AND qty_unit = ?",
            (tx.site_id, iso, a.product_id, a.qty_unit),
        )
        fields = {
            "expected_qty": e.quantity if e else 0,
            "expected_from": e.source if e else "none",
            "arrived_qty": qty,
            "staff_id": staff_id,
            "recorded_at": now_iso(),
        }
        if existing is None:
            tx.insert(
                "supply_receipts",
                {
                    "id": new_id(),
                    "site_id": tx.site_id,
                    "delivery_date": iso,
                    "product_id": a.product_id,
                    "product_name": name,
                    "qty_unit": a.qty_unit,
                    **fields,
                },
            )
        else:
            tx.update("supply_receipts", existing["id"], fields)
        touched_orders |= _allocate_line(tx, iso, key, qty)
    for order_id in sorted(touched_orders):
        _refresh_order(tx, order_id)
    return {
        "delivery_date": iso,
        "recorded": len(arrivals),
        "shortages": shortages_for_day(tx.conn, iso, site_id=tx.site_id),
    }


def _allocate_line(tx: Tx, day: str, key: Key, arrived: int) -> set[str]:
    items = tx.execute(
        "SELECT i.id, i.order_id, i.quantity, i.allocated_qty, i.actual_grams, i.unit_price_fen,"
        " i.sold_by, i.qty_unit, i.estimated_fen, o.status FROM order_items i JOIN orders o"
        " ON o.id = i.order_id WHERE o.site_id = ? AND o.pickup_date = ? AND i.product_id = ?"
        f" AND i.qty_unit = ? AND o.status IN {sql_in(ORDER_OPEN | ORDER_HANDED_OVER)}"
        " ORDER BY o.created_at, o.id, i.line",
        (tx.site_id, day, key[0], key[1]),
    ).fetchall()
    fixed = sum(_handed_over(r) for r in items if r["status"] in HANDED_OVER)
    open_items = [r for r in items if r["status"] in OPEN]
    shares = share_out(
        max(0, arrived - fixed), [r["quantity"] for r in open_items], by_weight=key[1] == "g"
    )
    touched = set()
    for r, share in zip(open_items, shares, strict=True):
        allocated = None if share >= r["quantity"] else share
        if allocated == r["allocated_qty"]:
            continue
        tx.update(
            "order_items",
            r["id"],
            {
                "allocated_qty": allocated,
                "estimated_fen": _estimate(r, r["quantity"] if allocated is None else allocated),
            },
        )
        touched.add(r["order_id"])
    return touched


def _handed_over(item: sqlite3.Row) -> int:
    """What already left the centre with an order: the weighed grams when it was weighed."""
    if item["qty_unit"] == "g" and item["actual_grams"] is not None:
        return int(item["actual_grams"])
    return int(item["allocated_qty"] if item["allocated_qty"] is not None else item["quantity"])


def _estimate(item: sqlite3.Row, quantity: int) -> int | None:
    if item["qty_unit"] == "g":
        return fen_for_grams(quantity, item["unit_price_fen"])
    if item["sold_by"] == "weight":
        return item["estimated_fen"]  # ordered in pieces: priced when weighed
    return int(quantity * item["unit_price_fen"])


def _refresh_order(tx: Tx, order_id: str) -> None:
    row = tx.one(
        "SELECT o.short, o.estimated_fen, MAX(i.allocated_qty IS NOT NULL) AS now_short,"
        " SUM(COALESCE(i.estimated_fen, 0)) AS estimate FROM orders o"
        " JOIN order_items i ON i.order_id = o.id WHERE o.id = ? GROUP BY o.id",
        (order_id,),
    )
    if row is None:
        return
    fields: dict[str, Any] = {}
    if int(row["short"]) != int(row["now_short"]):
        fields["short"] = int(row["now_short"])
    if int(row["estimated_fen"]) != int(row["estimate"]):
        fields["estimated_fen"] = int(row["estimate"])
    if fields:
        fields["updated_at"] = now_iso()
        tx.update("orders", order_id, fields)


# --- what the pickup desk and the packing list show ---------------------------------


def _short_items(conn: sqlite3.Connection, where: str, params: list[Any]) -> list[dict[str, Any]]:
    infos = product_infos(conn)
    out = []
    for r in conn.execute(
        "SELECT i.order_id, o.pickup_code, i.id AS item_id, i.product_id, i.product_name,"
        " i.qty_unit, i.quantity, i.allocated_qty FROM order_items i"
        f" JOIN orders o ON o.id = i.order_id WHERE {where} AND i.allocated_qty IS NOT NULL"
        " AND o.status != 'cancelled' ORDER BY o.created_at, o.id, i.line",
        params,
    ):
        label = unit_label_for(infos.get(r["product_id"]), r["qty_unit"])
        out.append(
            {
                "order_id": r["order_id"],
                "pickup_code": r["pickup_code"],
                "item_id": r["item_id"],
                "product_id": r["product_id"],
                "product_name": r["product_name"],
                "qty_unit": r["qty_unit"],
                "ordered": r["quantity"],
                "allocated": r["allocated_qty"],
                "short": r["quantity"] - r["allocated_qty"],
                "text": f"{r['product_name']}: {say(r['qty_unit'], r['quantity'], label)} → "
                f"{say(r['qty_unit'], r['allocated_qty'], label)}",
            }
        )
    return out


def shortages_for_order(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """The order's items that got less than ordered (empty when none did).

    Each: item_id, product_name, qty_unit, ordered, allocated, short (base
    units) and `text` ready to show ('土豆: 5斤 → 3.8斤').
    """
    return _short_items(conn, "i.order_id = ?", [order_id])


def shortages_for_day(
    conn: sqlite3.Connection, day: str, site_id: str | None = None
) -> list[dict[str, Any]]:
    """Per short order of the day (earliest first): order_id, pickup_code, items."""
    where, params = "o.pickup_date = ?", [day]
    if site_id is not None:
        where, params = "o.pickup_date = ? AND o.site_id = ?", [day, site_id]
    orders: dict[str, dict[str, Any]] = {}
    for item in _short_items(conn, where, params):
        entry = orders.setdefault(
            item["order_id"],
            {"order_id": item["order_id"], "pickup_code": item["pickup_code"], "items": []},
        )
        entry["items"].append(item)
    return list(orders.values())
