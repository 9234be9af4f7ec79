"""The catalog: what a centre sells, how it is sold, and at what price.

A product is sold by weight (priced per 斤, weighed at pickup), by piece,
or by bundle ("馒头 5元5个": price per bundle of `bundle_size` pieces).
Quantities are integers in a base unit: grams for weight, pieces, bundles.
A special price applies between two dates inclusive.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from edge.domain import calendar
from edge.domain.text import clean_line
from edge.errors import BadRequest, Forbidden, NotFound
from edge.store import Tx
from edge.store.ids import new_id

GRAMS_PER_JIN = 500
GRAMS_PER_LIANG = 50
SOLD_BY = ("weight", "piece", "bundle")
MAX_SORT = 100_000  # a position in the list, not a quantity
MAX_PRICE_FEN = 1_000_000  # 10,000 yuan: anything above is a typo

WEIGHT_UNITS = {
    "斤": GRAMS_PER_JIN,
    "jin": GRAMS_PER_JIN,
    "两": GRAMS_PER_LIANG,
    "公斤": 1000,
    "kg": 1000,
    "千克": 1000,
    "克": 1,
    "g": 1,
}
BUNDLE_UNITS = ("份", "bundle")


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    site_id: str
    name: str
    aliases: tuple[str, ...]
    category: str
    sold_by: str
    unit: str
    price_fen: int
    bundle_size: int
    special_price_fen: int | None
    special_from: str | None
    special_to: str | None
    active: bool

    def price_on(self, day: date) -> int:
        """Price per 斤 / piece / bundle on `day`, the special if one runs."""
        if (
            self.special_price_fen is not None
            and self.special_from
            and self.special_to
            and self.special_from <= day.isoformat() <= self.special_to
        ):
            return self.special_price_fen
        return self.price_fen

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "aliases": list(self.aliases),
            "category": self.category,
            "sold_by": self.sold_by,
            "unit": self.unit,
            "price_fen": self.price_fen,
            "bundle_size": self.bundle_size,
            "special_price_fen": self.special_price_fen,
            "special_from": self.special_from,
            "special_to": self.special_to,
            "active": self.active,
        }


def from_row(row: sqlite3.Row) -> Product:
    return Product(
        id=row["id"],
        site_id=row["site_id"],
        name=row["name"],
        aliases=tuple(json.loads(row["aliases"])),
        category=row["category"],
        sold_by=row["sold_by"],
        unit=row["unit"],
        price_fen=row["price_fen"],
        bundle_size=row["bundle_size"],
        special_price_fen=row["special_price_fen"],
        special_from=row["special_from"],
        special_to=row["special_to"],
        active=bool(row["active"]),
    )


def list_products(conn: sqlite3.Connection, *, active_only: bool = True) -> list[Product]:
    sql = "SELECT * FROM products"
    if active_only:
        sql += " WHERE active = 1"
    sql += " ORDER BY category, sort, name"
    return [from_row(r) for r in conn.execute(sql)]


def get_product(conn: sqlite3.Connection, product_id: str) -> Product:
    row = conn.execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise NotFound(f"no product {product_id!r}", field="product_id")
    return from_row(row)


def to_base_quantity(product: Product, quantity: float, unit: str | None) -> tuple[str, int]:
    """Turn (quantity, unit) as a person says it into (qty_unit, integer quantity).

    Weight products ordered in 斤/两/kg/g become grams; ordered in pieces
    ("圆青椒4个") they stay pieces and are weighed at the desk. Bundles may be
    ordered as bundles (份) or as a whole number of pieces.
    """
    if not isinstance(quantity, (int, float)) or isinstance(quantity, bool):
        raise BadRequest("quantity must be a number", field="quantity")
    if quantity <= 0:
        raise BadRequest("quantity must be greater than zero", field="quantity")
    unit = (unit or "").strip() or None
    if product.sold_by == "weight" and (unit is None or unit in WEIGHT_UNITS):
        grams = round(quantity * WEIGHT_UNITS[unit or "斤"])
        if grams < 50 or grams > 50_000:
            raise BadRequest("weight must be between 1 两 and 100 斤", field="quantity")
        return "g", grams
    if unit in WEIGHT_UNITS:
        raise BadRequest(f"{product.name} is not sold by weight", field="unit")
    if quantity != int(quantity):
        raise BadRequest("pieces must be a whole number", field="quantity")
    count = int(quantity)
    if product.sold_by == "bundle":
        if unit in BUNDLE_UNITS or unit is None:
            bundles = count
        elif count % product.bundle_size == 0:
            bundles = count // product.bundle_size
        else:
            raise BadRequest(
                f"{product.name} is sold {product.bundle_size} {product.unit} a bundle",
                field="quantity",
            )
        if bundles > 100:
            raise BadRequest("at most 100 bundles of one product", field="quantity")
        return "bundle", bundles
    if count > 500:
        raise BadRequest("at most 500 pieces of one product", field="quantity")
    return "piece", count


def estimate_fen(product: Product, qty_unit: str, quantity: int, day: date) -> int | None:
    """The price we can tell before weighing; None for weight items ordered in pieces."""
    price = product.price_on(day)
    if qty_unit == "g":
        return fen_for_grams(quantity, price)
    if product.sold_by == "weight":
        return None
    return quantity * price


def fen_for_grams(grams: int, price_per_jin_fen: int) -> int:
    """Integer fen for a weight, rounded half up: no floats near money."""
    return (grams * price_per_jin_fen + GRAMS_PER_JIN // 2) // GRAMS_PER_JIN


def _validated(fields: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in fields or not partial:
        name = clean_line(str(fields.get("name") or ""))
        if not name or len(name) > 40:
            raise BadRequest("name must be 1 to 40 characters", field="name")
        out["name"] = name
    if "aliases" in fields:
        aliases = fields["aliases"] or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise BadRequest("aliases must be a list of names", field="aliases")
        names = [clean_line(a) for a in aliases]
        out["aliases"] = json.dumps([a for a in names if a], ensure_ascii=False)
    if "sold_by" in fields or not partial:
        if fields.get("sold_by") not in SOLD_BY:
            raise BadRequest(f"sold_by must be one of {', '.join(SOLD_BY)}", field="sold_by")
        out["sold_by"] = fields["sold_by"]
    if "unit" in fields or not partial:
        unit = str(fields.get("unit") or ("斤" if fields.get("sold_by") == "weight" else "个"))
        out["unit"] = unit[:8]
    for key in ("price_fen", "special_price_fen"):
        if key in fields or (key == "price_fen" and not partial):
            value = fields.get(key)
            if value is None and key == "special_price_fen":
                out[key] = None
                continue
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not (0 <= value <= MAX_PRICE_FEN)
            ):
                raise BadRequest(f"{key} must be a whole number of fen, 0 to 1000000", field=key)
            out[key] = value
    if "bundle_size" in fields:
        size = fields["bundle_size"]
        if not isinstance(size, int) or not 1 <= size <= 100:
            raise BadRequest("bundle_size must be 1 to 100", field="bundle_size")
        out["bundle_size"] = size
    for key in ("special_from", "special_to"):
        if key in fields:
            value = fields[key]
            if value is not None:
                value = calendar.parse_day(value, key).isoformat()
            out[key] = value
    if "category" in fields:
        out["category"] = str(fields["category"] or "")[:20]
    if "active" in fields:
        out["active"] = 1 if fields["active"] else 0
    if "sort" in fields:
        sort = fields["sort"]
        if not isinstance(sort, int) or isinstance(sort, bool) or not 0 <= sort <= MAX_SORT:
            raise BadRequest(f"sort must be a whole number from 0 to {MAX_SORT}", field="sort")
        out["sort"] = fields["sort"]
    return out


def create_product(tx: Tx, fields: dict[str, Any]) -> str:
    row = _validated(fields, partial=False)
    row.setdefault("aliases", "[]")
    product_id = new_id()
    tx.insert("products", {"id": product_id, "site_id": tx.site_id, **row})
    return product_id


def update_product(tx: Tx, product_id: str, fields: dict[str, Any]) -> None:
    """Change a product this centre owns; the hub's shared catalog changes on the hub."""
    row = tx.one("SELECT site_id FROM products WHERE id = ?", (product_id,))
    if row is None:
        raise NotFound(f"no product {product_id!r}")
    if row["site_id"] != tx.site_id:
        raise Forbidden("this product is in the district catalog: change it on the hub")
    changes = _validated(fields, partial=True)
    if changes:
        tx.update("products", product_id, changes)


def link_to_district(tx: Tx, product_id: str, district_id: str) -> str:
    """The district catalog now sells what this centre sold as its own product (the
    hub's `link_product` command): the centre's own is taken off sale, so staff and
    residents see one product, and kept for the orders that name it."""
    own = get_product(tx.conn, product_id)
    if own.site_id != tx.site_id:
        raise Forbidden(f"{own.name} is not this centre's own product")
    try:
        district = get_product(tx.conn, district_id)
    except NotFound:
        raise NotFound(
            f"no district product {district_id!r} here yet", field="district_id"
        ) from None
    if district.site_id == tx.site_id:
        raise BadRequest(f"{district.name} is not in the district catalog", field="district_id")
    if (district.sold_by, district.bundle_size) != (own.sold_by, own.bundle_size):
        raise BadRequest(
            f"{own.name} is sold {own.sold_by} here and {district.sold_by} in the district catalog",
            field="district_id",
        )
    if own.active:
        tx.update("products", own.id, {"active": 0})
    return f"{own.name} off sale here; the district {district.name} replaces it"
