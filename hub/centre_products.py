"""The centres' own products beside the district catalog, as the hub sees them.

Every centre prices products of its own; their rows travel up with the
centre's site id like any centre row, and the hub may not write them (one
writer per row, `sync.merge` rule 1). So the hub shows them, and changes
them only by command to their centre: `set_product_price`, and
`link_product`, which takes the centre's own product off sale there because
a district product now sells the same thing (the centre's row stays, for its
past orders). Adopting a centre product creates the district product (same
name, unit and aliases, the price the operator chose) and sends every
centre that sells it under that name the `link_product` command.

Rows of the matrix: one per (name, sold_by, unit). A district product and
the centres' own products with the same key share a row.

"Likely the same product" (the duplicate warning), kept simple so an
operator can predict it: two names are likely the same when

1. they are equal once spaces and one place-of-origin or kind prefix
   (`ORIGIN_PREFIXES`: 山东, 东北, 本地, 农家, 新鲜, 土…) are removed, the
   prefix only when at least two characters remain (土豆 stays 土豆);
2. or one of those names contains the other and the shorter has at least
   two characters (大白菜 / 白菜, but not 葱 / 洋葱);
3. or a name or alias of one equals a name or alias of the other.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edge.domain import products
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from hub.operations import send_command

ORIGIN_PREFIXES = ("山东", "东北", "本地", "农家", "新鲜", "土")
ALIASES_MAX = 12


class LikelyDuplicate(Conflict):
    """A new district product whose name is likely that of an existing product; the
    operator confirms (`confirm_duplicate`) to add it anyway."""

    def __init__(self, name: str, existing: list[dict[str, Any]]) -> None:
        names = "、".join(sorted({e["name"] for e in existing}))
        super().__init__(
            f"{name} is likely the same product as {names}: confirm to add it anyway",
            field="confirm_duplicate",
        )
        self.existing = existing


def core_name(name: str) -> str:
    """The name without spaces and without one leading origin prefix (rule 1)."""
    text = "".join((name or "").split())
    for prefix in ORIGIN_PREFIXES:
        if text.startswith(prefix) and len(text) - len(prefix) >= 2:
            return text[len(prefix) :]
    return text


def likely_same(
    name_a: str, aliases_a: Iterable[str], name_b: str, aliases_b: Iterable[str]
) -> bool:
    """Rules 1-3 of the module docstring."""
    a, b = core_name(name_a), core_name(name_b)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= 2 and short in long:
        return True
    return bool({name_a, *aliases_a} & {name_b, *aliases_b})


def _aliases(row: dict[str, Any]) -> list[str]:
    try:
        found = json.loads(row.get("aliases") or "[]")
    except json.JSONDecodeError:
        return []
    return [a for a in found if isinstance(a, str)] if isinstance(found, list) else []


@dataclass
class Row:
    """One product as sold across the district: the district product with its key
    (if any) and each centre's own product with it."""

    name: str
    sold_by: str
    unit: str
    category: str = ""
    district: dict[str, Any] | None = None
    own: dict[str, dict[str, Any]] = field(default_factory=dict)  # site id -> product
    aliases: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.sold_by, self.unit)

    @property
    def ids(self) -> list[str]:
        found = [p["id"] for p in self.own.values()]
        return [self.district["id"], *found] if self.district else found


def _centres(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT site_id, name FROM sync_centres WHERE revoked = 0 ORDER BY name, site_id"
        )
    ]


def _pending(conn: sqlite3.Connection, name: str) -> dict[str, dict[str, Any]]:
    """Per centre product id: the newest unanswered command `name` about it."""
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(
        "SELECT m.id, m.args FROM sync_commands m LEFT JOIN sync_command_results r"
        " ON r.id = m.id WHERE m.name = ? AND r.id IS NULL ORDER BY m.created_at, m.id",
        (name,),
    ):
        try:
            args = json.loads(r["args"])
        except json.JSONDecodeError:
            continue
        if isinstance(args, dict) and isinstance(args.get("product_id"), str):
            out[args["product_id"]] = {"command_id": r["id"], **args}
    return out


def rows(conn: sqlite3.Connection, hub_site: str, skip_id: str = "") -> list[Row]:
    """Every product on sale somewhere: active district products and the centres'
    active own products, one row per (name, sold_by, unit)."""
    centres = {c["site_id"] for c in _centres(conn)}
    by_key: dict[tuple[str, str, str], Row] = {}
    for r in conn.execute(
        "SELECT id, site_id, name, aliases, category, sold_by, unit, price_fen, bundle_size"
        " FROM products WHERE active = 1 ORDER BY category, sort, name, id"
    ):
        p = dict(r)
        if p["id"] == skip_id or (p["site_id"] != hub_site and p["site_id"] not in centres):
            continue
        key = (p["name"], p["sold_by"], p["unit"])
        row = by_key.setdefault(key, Row(*key, category=p["category"]))
        row.aliases.update(_aliases(p))
        if p["site_id"] == hub_site:
            row.district = row.district or p
            row.category = p["category"] or row.category
        else:
            row.own.setdefault(p["site_id"], p)
    return sorted(by_key.values(), key=lambda x: (x.category, x.name, x.sold_by, x.unit))


def matrix(conn: sqlite3.Connection, hub_site: str) -> dict[str, Any]:
    """What the catalog page shows below the district catalog: the centres (columns),
    and per row its price at each centre, whether it is a district product, the
    commands still waiting about it, and the other rows it is likely the same as."""
    centres = _centres(conn)
    found = rows(conn, hub_site)
    price_waiting = _pending(conn, "set_product_price")
    link_waiting = _pending(conn, "link_product")
    out = []
    for row in found:
        cells = []
        for c in centres:
            own = row.own.get(c["site_id"])
            if own is not None:
                cells.append(
                    {
                        "kind": "own",
                        "product_id": own["id"],
                        "price_fen": own["price_fen"],
                        "pending_price": price_waiting.get(own["id"], {}).get("price_fen"),
                        "pending_link": own["id"] in link_waiting,
                    }
                )
            elif row.district is not None:
                cells.append({"kind": "district", "price_fen": row.district["price_fen"]})
            else:
                cells.append({"kind": "none"})
        likely = [
            {
                "name": other.name,
                "id": other.ids[0],
                "district": other.district is not None,
                "unit": other.unit,
                "price_fen": (other.district or next(iter(other.own.values())))["price_fen"],
            }
            for other in found
            if other is not row and likely_same(row.name, row.aliases, other.name, other.aliases)
        ]
        out.append(
            {
                "id": row.ids[0],
                "name": row.name,
                "sold_by": row.sold_by,
                "unit": row.unit,
                "category": row.category,
                "bundle_size": (row.district or next(iter(row.own.values())))["bundle_size"],
                "district": row.district,
                "cells": cells,
                "sold_at": [
                    c["name"]
                    for c, cell in zip(centres, cells, strict=True)
                    if cell["kind"] != "none"
                ],
                "own_beside_district": row.district is not None and bool(row.own),
                "likely": likely,
            }
        )
    return {"centres": centres, "rows": out}


def row_of(conn: sqlite3.Connection, hub_site: str, product_id: str) -> Row:
    """The row of any product the hub holds (an off-sale one: the row of its key)."""
    p = conn.execute(
        "SELECT name, sold_by, unit FROM products WHERE id = ?", (product_id,)
    ).fetchone()
    if p is None:
        raise NotFound(f"no product {product_id[:64]!r}", field="product_id")
    key = (p["name"], p["sold_by"], p["unit"])
    for row in rows(conn, hub_site):
        if row.key == key:
            return row
    raise NotFound(f"{p['name']} is on sale nowhere now", field="product_id")


def likely_duplicates(
    conn: sqlite3.Connection,
    hub_site: str,
    name: str,
    aliases: Iterable[str] = (),
    *,
    district_only: bool = False,
    skip_key: tuple[str, str, str] | None = None,
    skip_id: str = "",
) -> list[dict[str, Any]]:
    """The rows on sale whose product is likely the same as `name` (district rows
    only, if asked), each with its district price and each centre's own price."""
    aliases = list(aliases)
    centres = {c["site_id"]: c["name"] for c in _centres(conn)}
    out = []
    for row in rows(conn, hub_site, skip_id):
        if row.key == skip_key or (district_only and row.district is None):
            continue
        if likely_same(name, aliases, row.name, row.aliases):
            out.append(
                {
                    "id": row.ids[0],
                    "name": row.name,
                    "sold_by": row.sold_by,
                    "unit": row.unit,
                    "bundle_size": (row.district or next(iter(row.own.values())))["bundle_size"],
                    "district_price_fen": row.district["price_fen"] if row.district else None,
                    "centres": [
                        {"name": name, "price_fen": row.own[site]["price_fen"]}
                        for site, name in centres.items()
                        if site in row.own
                    ],
                }
            )
    return out


def create_district_product(
    tx: Tx, fields: dict[str, Any], *, confirm_duplicate: bool = False
) -> str:
    """A new district product, refused (`LikelyDuplicate`) while its name is likely
    that of a product on sale somewhere, until the operator confirms. Checked once
    the product is valid (bad input is a 400 first); refusing undoes the insert."""
    product_id = products.create_product(tx, fields)
    if not confirm_duplicate:
        made = products.get_product(tx.conn, product_id)
        found = likely_duplicates(tx.conn, tx.site_id, made.name, made.aliases, skip_id=product_id)
        if found:
            raise LikelyDuplicate(made.name, found)
    return product_id


def _centre_product(tx: Tx, product_id: str) -> dict[str, Any]:
    row = tx.one("SELECT * FROM products WHERE id = ?", (product_id,))
    if row is None:
        raise NotFound(f"no product {product_id[:64]!r}", field="product_id")
    if row["site_id"] == tx.site_id:
        raise BadRequest(
            "that is a district product: change it in the district catalog", field="product_id"
        )
    return dict(row)


def set_centre_price(tx: Tx, product_id: str, price_fen: int, issued_by: str = "") -> str:
    """A command to the centre that owns the product: its price becomes `price_fen`."""
    own = _centre_product(tx, product_id)
    args = {"product_id": product_id, "price_fen": price_fen}
    return send_command(tx, own["site_id"], "set_product_price", args, issued_by)


def link(tx: Tx, product_id: str, district_id: str, issued_by: str = "") -> str:
    """A command to the centre: take its own product off sale, the district product
    sells it now. A different name becomes an alias of the district product, so
    residents' words still find it."""
    own = _centre_product(tx, product_id)
    district = tx.one("SELECT * FROM products WHERE id = ?", (district_id,))
    if district is None or district["site_id"] != tx.site_id:
        raise NotFound(f"no district product {district_id[:64]!r}", field="district_id")
    if (district["sold_by"], district["bundle_size"]) != (own["sold_by"], own["bundle_size"]):
        raise BadRequest(
            f"{own['name']} is sold {own['sold_by']} at its centre and {district['sold_by']}"
            " in the district catalog: they cannot be linked",
            field="district_id",
        )
    known = _aliases(dict(district))
    extra = [n for n in (own["name"], *_aliases(own)) if n != district["name"] and n not in known]
    if extra and len(known) < ALIASES_MAX:
        products.update_product(tx, district_id, {"aliases": (known + extra)[:ALIASES_MAX]})
    args = {"product_id": product_id, "district_id": district_id}
    return send_command(tx, own["site_id"], "link_product", args, issued_by)


def suggested_price(row: Row) -> int:
    """The price most centres ask for this product (the lower one on a tie)."""
    counts = Counter(p["price_fen"] for p in row.own.values())
    return min(counts, key=lambda fen: (-counts[fen], fen)) if counts else 0


def adopt(
    tx: Tx,
    product_id: str,
    price_fen: int,
    issued_by: str = "",
    *,
    confirm_duplicate: bool = False,
) -> tuple[str, list[str]]:
    """Make a centre product's row a district product at `price_fen`, and link every
    centre's own product of the row to it. Returns the district product's id and
    the commands sent."""
    own = _centre_product(tx, product_id)
    row = row_of(tx.conn, tx.site_id, product_id)
    if row.district is not None:
        raise Conflict(
            f"{row.name} is already in the district catalog: link the centres' own to it",
            field="product_id",
        )
    if not confirm_duplicate:
        found = likely_duplicates(
            tx.conn, tx.site_id, row.name, row.aliases, district_only=True, skip_key=row.key
        )
        if found:
            raise LikelyDuplicate(row.name, found)
    district_id = products.create_product(
        tx,
        {
            "name": row.name,
            "sold_by": row.sold_by,
            "unit": row.unit,
            "category": row.category or own["category"],
            "bundle_size": own["bundle_size"],
            "aliases": sorted(row.aliases)[:ALIASES_MAX],
            "price_fen": price_fen,
        },
    )
    sent = [
        send_command(
            tx,
            site,
            "link_product",
            {"product_id": p["id"], "district_id": district_id},
            issued_by,
        )
        for site, p in row.own.items()
        if p["bundle_size"] == own["bundle_size"]
    ]
    return district_id, sent


def commands_about(conn: sqlite3.Connection, row: Row, limit: int = 20) -> list[str]:
    """The newest product commands about any product of the row's key, off-sale ones
    included (a linked product leaves the row once its centre took it off sale)."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM products WHERE name = ? AND sold_by = ? AND unit = ?", row.key
        )
    ]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM sync_commands WHERE name IN ('set_product_price', 'link_product')"
            f" AND (json_extract(args, '$.product_id') IN ({marks})"
            f" OR json_extract(args, '$.district_id') IN ({marks}))"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (*ids, *ids, limit),
        )
    ]
