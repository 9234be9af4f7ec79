"""What a co-op reads: the consolidated order, its CSV, return notes, built from explicit
allow-lists of columns (least data: nothing about a resident)."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any

from litestar import Request

from edge.domain import spreadsheet
from edge.domain.supply import consolidated as centre_order
from edge.domain.supply.lines import co_op_quantity, co_op_unit
from hub.supplier.accounts import Supplier, _centre_rows, _tuples

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


# --- reading the merged store ----------------------------------------------------------


def centres(conn: sqlite3.Connection, supplier: Supplier | None = None) -> list[tuple[str, str]]:
    """Enrolled, not revoked centres as (site_id, name), by name: all of them (the hub
    operator's view), or those `supplier` supplies."""
    rows = _centre_rows(conn)
    if supplier is None:
        return rows
    return [r for r in rows if r[0] in supplier.centres]


def _line(product_id: str, name: str, qty_unit: str, label: str, quantity: int) -> dict[str, Any]:
    """One line, exactly LINE_FIELDS."""
    return {
        "product_id": product_id,
        "product_name": name,
        "qty_unit": qty_unit,
        "quantity": quantity,
        "co_op_quantity": co_op_quantity(qty_unit, quantity),
        "co_op_unit": co_op_unit(qty_unit, label),
    }


# The locked part of a day's consolidated order, per database state: built once, then
# answered from memory while the day's marks (m403: a counter and a random stamp per
# centre, renewed by triggers on every write to the locked versions and their lines)
# have not moved. The key is read from the database on every call, so each hub process
# answers what the database holds, whichever process or push changed it. The entries
# are shared between calls: callers read them and never change them.
_CACHE_DAYS = 2  # a city's day is about 60 MB of rows: the day being delivered and the next
_locked_cache: dict[tuple[str, tuple[Any, ...]], _Locked] = {}
_cache_lock = threading.Lock()


class _Locked:
    """The locked centres of one day: each one's row (without its name) and the
    product totals across all of them."""

    __slots__ = ("key", "products", "rows")

    def __init__(self, rows: dict[str, dict[str, Any]], products: list[dict[str, Any]]):
        self.rows = rows
        self.products = products
        self.key: tuple[Any, ...] = ()


def _marks(conn: sqlite3.Connection, day: str) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT COUNT(*), SUM(gen), SUM(stamp) FROM _supply_consolidated_marks"
        " WHERE delivery_date = ?",
        (day,),
    ).fetchone()
    return (int(row[0]), int(row[1] or 0), int(row[2] or 0))


def _locked(conn: sqlite3.Connection, day: str) -> _Locked:
    key = (day, _marks(conn, day))
    with _cache_lock:
        hit = _locked_cache.get(key)
    if hit is not None:
        return hit
    built = _build_locked(conn, day)
    built.key = key
    with _cache_lock:
        for old in [k for k in _locked_cache if k[0] == day]:
            del _locked_cache[old]
        while len(_locked_cache) >= _CACHE_DAYS:
            del _locked_cache[next(iter(_locked_cache))]
        _locked_cache[key] = built
    return built


def _build_locked(conn: sqlite3.Connection, day: str) -> _Locked:
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
    # Every centre's lines of the day in one read (an index holds them all, m402),
    # grouped by their version's id as they come, unpacked by position: tens of
    # thousands of rows for a city, so one dict step a row.
    by_version: dict[str, list[tuple[Any, ...]]] = {}
    for row in _tuples(
        conn,
        "SELECT l.consolidated_id, l.product_id, l.product_name, l.qty_unit, l.unit_label,"
        " l.total_qty FROM supply_consolidated_lines l WHERE l.delivery_date = ?"
        " ORDER BY l.product_name, l.qty_unit",
        (day,),
    ):
        rows = by_version.get(row[0])
        if rows is None:
            by_version[row[0]] = [row]
        else:
            rows.append(row)
    out: dict[str, dict[str, Any]] = {}
    for site, head in heads.items():
        hand = by_hand.get(site, [])
        out[site] = {
            "centre_id": site,
            "centre_name": "",
            "status": "amended" if head["version"] > 1 else "locked",
            "version": head["version"],
            "locked_at": head["locked_at"],
            "sent_by_hand": head["version"] in hand,
            "sent_by_hand_at": head["sent_by_hand_at"],
            "sent_by_hand_versions": hand,
            "lines": [_line(*r[1:]) for r in by_version.get(head["id"], ())],
            "amendments": head["amendments"],
        }
    return _Locked(out, _products(out.values()))


def _products(out_centres: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per product across centres: the sum of the centres' lines, and how many."""
    products: dict[tuple[str, str, str], dict[str, Any]] = {}
    for c in out_centres:
        for x in c["lines"]:
            key = (x["product_name"], x["qty_unit"], x["co_op_unit"])
            p = products.get(key)
            if p is None:
                p = products[key] = {
                    "product_name": key[0],
                    "qty_unit": key[1],
                    "co_op_unit": key[2],
                    "quantity": 0,
                    "centres": 0,
                }
            p["quantity"] += x["quantity"]
            p["centres"] += 1
    product_rows = []
    for key in sorted(products):
        p = products[key]
        p["co_op_quantity"] = co_op_quantity(p["qty_unit"], p["quantity"])
        product_rows.append(_only(p, PRODUCT_FIELDS))
    return product_rows


def consolidated(
    conn: sqlite3.Connection, day: str, centre_list: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The day's order for every centre, and per product across centres.

    A centre whose order is locked shows its latest version (`locked` or
    `amended`); one not locked yet shows a live `provisional` total of what
    the hub holds of its orders and buffer; a centre with nothing shows
    `none`. Built from allow-listed columns only (see the module docstring).

    The locked centres come from a cache keyed on the day's marks (see
    `_locked`); the provisional ones are read live every time. The answer's
    lists and line rows may be shared with other calls: read them, never change
    them.
    """
    centre_list = centres(conn) if centre_list is None else centre_list
    return _answer(conn, day, centre_list, _locked(conn, day))


def _answer(
    conn: sqlite3.Connection, day: str, centre_list: list[tuple[str, str]], locked: _Locked
) -> dict[str, Any]:
    out_centres = []
    provisional = False
    for site, name in centre_list:
        head = locked.rows.get(site)
        if head is not None:
            row = head.copy()
            row["centre_name"] = name
        else:
            live = centre_order.live_lines(conn, site, day)
            lines = [
                _line(x.product_id, x.product_name, x.qty_unit, x.unit_label, x.total)
                for x in sorted(live.values(), key=lambda x: (x.product_name, x.qty_unit))
                if x.total > 0
            ]
            provisional = provisional or bool(lines)
            row = {
                "centre_id": site,
                "centre_name": name,
                "status": "provisional" if lines else "none",
                "version": None,
                "locked_at": None,
                "sent_by_hand": False,
                "sent_by_hand_at": None,
                "sent_by_hand_versions": [],
                "lines": lines,  # `_line` makes exactly LINE_FIELDS
                "amendments": [],
            }
        out_centres.append(row)  # exactly CENTRE_FIELDS, in their order
    from_cache = sum(1 for c in out_centres if c["status"] in ("locked", "amended"))
    listed = {site for site, _ in centre_list if site in locked.rows}
    if not provisional and from_cache == len(listed) == len(locked.rows):
        # every locked centre once and no live lines: the totals built with the cache
        product_rows = [p.copy() for p in locked.products]
    else:
        product_rows = _products(out_centres)
    return {"delivery_date": day, "centres": out_centres, "products": product_rows}


# The API's answers (JSON or CSV bytes, eight megabytes for a city) of an order whose
# listed centres are all locked, by the locked part's key and the list: a poll between
# two changes costs the key's read, not a rendering. Few: a co-op polls a day or two.
_BODIES = 4
_body_cache: dict[tuple[Any, ...], bytes] = {}


def consolidated_body(
    conn: sqlite3.Connection, day: str, centre_list: list[tuple[str, str]], kind: str
) -> bytes:
    """The consolidated order as the API answers it: `kind` "json" (sorted keys, compact)
    or "csv" (with a byte-order mark for spreadsheets)."""
    locked = _locked(conn, day)
    key = (locked.key, kind, tuple(centre_list))
    every_locked = all(site in locked.rows for site, _ in centre_list)
    if every_locked:
        with _cache_lock:
            hit = _body_cache.get(key)
        if hit is not None:
            return hit
    doc = _answer(conn, day, centre_list, locked)
    if kind == "csv":
        body = ("\ufeff" + consolidated_csv(doc)).encode()
    else:
        body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    if every_locked:
        with _cache_lock:
            for old in [k for k in _body_cache if k[0] != locked.key and k[0][0] == day]:
                del _body_cache[old]
            while len(_body_cache) >= _BODIES:
                del _body_cache[next(iter(_body_cache))]
            _body_cache[key] = body
    return body


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
