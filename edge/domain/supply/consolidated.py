"""The consolidated order: what a centre buys from the co-op for one delivery day.

Per product line (product, unit): the quantities of the day's non-cancelled
orders plus the manager's walk-in buffer. Until the centre's cut-off it is
a live preview. At the cut-off it locks: a snapshot (version 1) is written to
`supply_consolidated` and flows up to the hub, where the co-op pulls it.
Anything that changes the total after that (a cancellation, a buffer edit, a
hub command) is recorded as a numbered amendment (version 2, 3, …) with its
diff, never silently; amendments stop once the delivery day has begun or the
co-op's dispatch note for the day has arrived (the van is loaded).

Locking runs when the order is read after the cut-off and from `lock_due`,
which the centre's background loop calls every minute.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from edge.domain import calendar
from edge.domain.auth import now_iso
from edge.domain.supply.lines import (
    Key,
    co_op_quantity,
    co_op_unit,
    parse_quantity,
    product_infos,
    unit_label_for,
)
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    product_name: str
    qty_unit: str
    unit_label: str
    bundle_size: int
    ordered: int
    buffer: int

    @property
    def key(self) -> Key:
        return (self.product_id, self.qty_unit)

    @property
    def total(self) -> int:
        return self.ordered + self.buffer

    def as_json(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "product_name": self.product_name,
            "qty_unit": self.qty_unit,
            "ordered": self.ordered,
            "buffer": self.buffer,
            "total": self.total,
            "co_op_quantity": co_op_quantity(self.qty_unit, self.total),
            "co_op_unit": co_op_unit(self.qty_unit, self.unit_label),
            "bundle_size": self.bundle_size,
        }


def _sorted(lines: dict[Key, Line]) -> list[Line]:
    return sorted(lines.values(), key=lambda x: (x.product_name, x.qty_unit, x.product_id))


# --- live ---------------------------------------------------------------------


def live_lines(conn: sqlite3.Connection, site_id: str, day: str) -> dict[Key, Line]:
    """Orders (not cancelled) plus buffers for `day`, per product line, right now."""
    infos = product_infos(conn)
    ordered: dict[Key, tuple[str, int]] = {}
    for r in conn.execute(
        "SELECT i.product_id, i.qty_unit, MAX(i.product_name) AS name, SUM(i.quantity) AS q"
        " FROM orders o JOIN order_items i ON i.order_id = o.id"
        " WHERE o.site_id = ? AND o.pickup_date = ? AND o.status != 'cancelled'"
        " GROUP BY i.product_id, i.qty_unit",
        (site_id, day),
    ):
        ordered[(r["product_id"], r["qty_unit"])] = (r["name"], int(r["q"]))
    buffers: dict[Key, tuple[str, int]] = {}
    for r in conn.execute(
        "SELECT product_id, qty_unit, product_name, quantity FROM supply_buffers"
        " WHERE site_id = ? AND delivery_date = ? AND quantity > 0",
        (site_id, day),
    ):
        buffers[(r["product_id"], r["qty_unit"])] = (r["product_name"], int(r["quantity"]))
    out: dict[Key, Line] = {}
    for key in ordered.keys() | buffers.keys():
        info = infos.get(key[0])
        name = (ordered.get(key) or buffers[key])[0]
        out[key] = Line(
            product_id=key[0],
            product_name=info.name if info else name,
            qty_unit=key[1],
            unit_label=unit_label_for(info, key[1]),
            bundle_size=info.bundle_size if info else 1,
            ordered=ordered.get(key, ("", 0))[1],
            buffer=buffers.get(key, ("", 0))[1],
        )
    return out


# --- versions -----------------------------------------------------------------


def versions(conn: sqlite3.Connection, site_id: str, day: str) -> list[dict[str, Any]]:
    return [
        {**dict(r), "diff": json.loads(r["diff"])}
        for r in conn.execute(
            "SELECT * FROM supply_consolidated WHERE site_id = ? AND delivery_date = ?"
            " ORDER BY version",
            (site_id, day),
        )
    ]


def version_lines(conn: sqlite3.Connection, consolidated_id: str) -> dict[Key, Line]:
    out: dict[Key, Line] = {}
    for r in conn.execute(
        "SELECT * FROM supply_consolidated_lines WHERE consolidated_id = ?", (consolidated_id,)
    ):
        line = Line(
            r["product_id"],
            r["product_name"],
            r["qty_unit"],
            r["unit_label"],
            r["bundle_size"],
            r["ordered_qty"],
            r["buffer_qty"],
        )
        out[line.key] = line
    return out


def latest(conn: sqlite3.Connection, site_id: str, day: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM supply_consolidated WHERE site_id = ? AND delivery_date = ?"
        " ORDER BY version DESC LIMIT 1",
        (site_id, day),
    ).fetchone()
    return None if row is None else {**dict(row), "diff": json.loads(row["diff"])}


def diff(before: dict[Key, Line], after: dict[Key, Line]) -> list[dict[str, Any]]:
    """What changed between two versions, per line whose total moved."""
    out = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key), after.get(key)
        was, now = (b.total if b else 0), (a.total if a else 0)
        if was == now:
            continue
        line = a or b
        assert line is not None
        out.append(
            {
                "product_id": line.product_id,
                "product_name": line.product_name,
                "qty_unit": line.qty_unit,
                "unit_label": line.unit_label,
                "before": was,
                "after": now,
                "change": now - was,
            }
        )
    return sorted(out, key=lambda d: (d["product_name"], d["qty_unit"]))


def _same(a: dict[Key, Line], b: dict[Key, Line]) -> bool:
    return {k: v.total for k, v in a.items() if v.total} == {
        k: v.total for k, v in b.items() if v.total
    }


def _dispatched(conn: sqlite3.Connection, site_id: str, day: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM supply_dispatch_notes WHERE delivery_date = ? AND centre_id = ? LIMIT 1",
        (day, site_id),
    ).fetchone()
    return row is not None


def _write_version(
    tx: Tx,
    day: str,
    version: int,
    cutoff: datetime,
    lines: dict[Key, Line],
    changes: list[dict[str, Any]],
) -> str:
    cid = new_id()
    tx.insert(
        "supply_consolidated",
        {
            "id": cid,
            "site_id": tx.site_id,
            "delivery_date": day,
            "version": version,
            "kind": "locked" if version == 1 else "amendment",
            "cutoff_at": cutoff.isoformat(timespec="minutes"),
            "locked_at": now_iso(),
            "diff": json.dumps(changes, ensure_ascii=False, separators=(",", ":")),
            "sent_by_hand_at": None,
            "sent_by_hand_by": None,
        },
    )
    for line in _sorted(lines):
        if line.total <= 0:
            continue
        tx.insert(
            "supply_consolidated_lines",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "consolidated_id": cid,
                "delivery_date": day,
                "version": version,
                "product_id": line.product_id,
                "product_name": line.product_name,
                "unit_label": line.unit_label,
                "bundle_size": line.bundle_size,
                "qty_unit": line.qty_unit,
                "ordered_qty": line.ordered,
                "buffer_qty": line.buffer,
                "total_qty": line.total,
            },
        )
    return cid


def lock_day(tx: Tx, day: date, now: datetime) -> int | None:
    """Lock `day` if its cut-off has passed, or record an amendment if it changed since.

    Returns the version written, or None when nothing was due.
    """
    cal = calendar.load(tx.conn, tx.site_id)
    cutoff = cal.cutoff_for(day)
    if now < cutoff:
        return None
    iso = day.isoformat()
    live = live_lines(tx.conn, tx.site_id, iso)
    head = latest(tx.conn, tx.site_id, iso)
    if head is None:
        if not cal.is_delivery_day(day):
            return None  # a closed day: no van comes, so nothing goes to the co-op
        if not any(line.total for line in live.values()):
            return None  # nothing to buy: nothing to lock (yet)
        _write_version(tx, iso, 1, cutoff, live, [])
        return 1
    if now >= datetime.combine(day, time(0)) or _dispatched(tx.conn, tx.site_id, iso):
        return None  # the van is loaded: later changes are the day's, not the order's
    before = version_lines(tx.conn, head["id"])
    if _same(before, live):
        return None
    version = int(head["version"]) + 1
    _write_version(tx, iso, version, cutoff, live, diff(before, live))
    return version


def lock_due(tx: Tx, now: datetime) -> list[tuple[str, int]]:
    """Every minute from the centre's background loop: lock or amend what is due.

    Looks at delivery days from today on that have orders or buffers; writes
    nothing (and no change-log row) when nothing changed.
    """
    today = now.date().isoformat()
    days = [
        r[0]
        for r in tx.execute(
            "SELECT DISTINCT pickup_date FROM orders WHERE site_id = ? AND pickup_date >= ?"
            " UNION SELECT DISTINCT delivery_date FROM supply_buffers"
            " WHERE site_id = ? AND delivery_date >= ?",
            (tx.site_id, today, tx.site_id, today),
        )
    ]
    written = []
    for iso in sorted(days):
        version = lock_day(tx, date.fromisoformat(iso), now)
        if version is not None:
            written.append((iso, version))
    return written


# --- reading ------------------------------------------------------------------


def view(conn: sqlite3.Connection, site_id: str, day: str, now: datetime) -> dict[str, Any]:
    """The consolidated order as the centre shows it: the locked lines, or the live preview."""
    cal = calendar.load(conn, site_id)
    d = calendar.parse_day(day, "delivery_date")
    cutoff = cal.cutoff_for(d)
    all_versions = versions(conn, site_id, day)
    live = live_lines(conn, site_id, day)
    if all_versions:
        head = all_versions[-1]
        lines = version_lines(conn, head["id"])
        status = "amended" if head["version"] > 1 else "locked"
        pending = diff(lines, live) if not _same(lines, live) else []
    else:
        head, lines, pending = None, live, []
        status = "open" if now < cutoff else ("empty" if not live else "due")
    return {
        "centre_id": site_id,
        "delivery_date": day,
        "status": status,
        "cutoff_at": cutoff.isoformat(timespec="minutes"),
        "version": head["version"] if head else None,
        "locked_at": head["locked_at"] if head else None,
        "sent_by_hand_at": head["sent_by_hand_at"] if head else None,
        "sent_by_hand_by": head["sent_by_hand_by"] if head else None,
        "lines": [line.as_json() for line in _sorted(lines) if line.total > 0],
        "amendments": [
            {
                "version": v["version"],
                "locked_at": v["locked_at"],
                "diff": v["diff"],
                "sent_by_hand_at": v["sent_by_hand_at"],
            }
            for v in all_versions[1:]
        ],
        # after the lock, changes not (yet) recorded as an amendment: the van may be loaded
        "unrecorded_changes": pending,
    }


async def read_locking(store: Any, day: str, now: datetime) -> dict[str, Any]:
    """Read the order for `day`, locking or amending it first if its cut-off has passed."""
    d = calendar.parse_day(day, "delivery_date")
    await store.write(lambda tx: lock_day(tx, d, now))
    return await store.read(lambda c: view(c, store.site_id, d.isoformat(), now))


# --- writing ------------------------------------------------------------------


def set_buffer(
    tx: Tx,
    day: str,
    product_id: str,
    quantity: Any,
    *,
    unit: str | None = None,
    jin: Any = None,
    now: datetime,
) -> dict[str, Any]:
    """The manager's buffer for walk-in sales; 0 removes it. After the cut-off it amends."""
    d = calendar.parse_day(day, "delivery_date")
    if d < now.date():
        raise BadRequest("that delivery day is over", field="delivery_date")
    row = tx.one(
        "SELECT name, sold_by, unit, bundle_size FROM products WHERE id = ?", (product_id,)
    )
    if row is None:
        raise BadRequest(f"no product {product_id!r}", field="product_id")
    default = {"weight": "g", "piece": "piece", "bundle": "bundle"}[row["sold_by"]]
    qty_unit = unit or default
    if qty_unit != default and not (row["sold_by"] == "weight" and qty_unit == "piece"):
        raise BadRequest(f"{row['name']} is bought in {default}", field="unit")
    qty = parse_quantity(qty_unit, quantity, jin=jin)
    existing = tx.one(
        "SELECT id FROM supply_buffers WHERE site_id = ? AND delivery_date = ?"
        " AND product_id = ? AND qty_unit = ?",
        (tx.site_id, d.isoformat(), product_id, qty_unit),
    )
    if existing is not None:
        tx.update("supply_buffers", existing["id"], {"quantity": qty, "updated_at": now_iso()})
    elif qty:
        tx.insert(
            "supply_buffers",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "delivery_date": d.isoformat(),
                "product_id": product_id,
                "product_name": row["name"],
                "qty_unit": qty_unit,
                "quantity": qty,
                "updated_at": now_iso(),
            },
        )
    version = lock_day(tx, d, now)
    return {
        "delivery_date": d.isoformat(),
        "product_id": product_id,
        "qty_unit": qty_unit,
        "quantity": qty,
        "amended_version": version,
    }


def mark_sent_by_hand(
    tx: Tx, day: str, version: int | None, staff_name: str, now: datetime
) -> dict[str, Any]:
    """Record that this version went to the co-op by WeChat / SMS / paper.

    The flag flows up with the version, and the supplier API shows it, so the
    co-op does not act on the same order twice. Locks first if due, so the
    version sent is a numbered one.
    """
    d = calendar.parse_day(day, "delivery_date")
    lock_day(tx, d, now)
    head = latest(tx.conn, tx.site_id, d.isoformat())
    if head is None:
        raise Conflict("the order is not locked yet: it locks at the cut-off")
    if version is None:
        version = int(head["version"])
    row = tx.one(
        "SELECT id, sent_by_hand_at FROM supply_consolidated WHERE site_id = ?"
        " AND delivery_date = ? AND version = ?",
        (tx.site_id, d.isoformat(), version),
    )
    if row is None:
        raise NotFound(f"no version {version} of the order for {d.isoformat()}")
    if row["sent_by_hand_at"]:
        return {
            "delivery_date": d.isoformat(),
            "version": version,
            "sent_by_hand_at": row["sent_by_hand_at"],
            "replayed": True,
        }
    stamp = now_iso()
    tx.update(
        "supply_consolidated",
        row["id"],
        {"sent_by_hand_at": stamp, "sent_by_hand_by": staff_name[:40]},
    )
    return {
        "delivery_date": d.isoformat(),
        "version": version,
        "sent_by_hand_at": stamp,
        "replayed": False,
    }
