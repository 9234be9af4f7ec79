"""A co-op line: one product in one unit, the grain of every supply quantity.

The co-op sells by 斤, by piece and by bundle. We keep integers in the base
unit of the line (`qty_unit`: grams, pieces, bundles) and say them in the
co-op's units only when showing them: grams as 斤 with up to two decimals.
A product sold by weight but ordered in pieces ("圆青椒4个") is its own
pieces line, never folded into grams.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edge.domain.products import GRAMS_PER_JIN, fen_for_grams
from edge.errors import BadRequest

QTY_UNITS = ("g", "piece", "bundle")
MAX_GRAMS = 5_000_000  # 10,000 斤 of one product in one line: anything above is a typo
MAX_COUNT = 100_000

Key = tuple[str, str]  # (product_id, qty_unit)


@dataclass(frozen=True, slots=True)
class ProductInfo:
    name: str
    sold_by: str
    unit: str
    bundle_size: int


def jin_text(grams: int) -> str:
    """Grams as 斤 with up to two decimals, half up ('12.5', '3', '0.01')."""
    g = int(grams)
    if g >= 0:  # integer arithmetic: a consolidated order says tens of thousands of these
        hundredths = (g * 100 + GRAMS_PER_JIN // 2) // GRAMS_PER_JIN
        whole, frac = divmod(hundredths, 100)
        return f"{whole}.{frac:02d}".rstrip("0") if frac else str(whole)
    value = (Decimal(g) / GRAMS_PER_JIN).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return format(value.normalize(), "f")


def co_op_unit(qty_unit: str, unit_label: str = "") -> str:
    """How the co-op names the unit: 斤, the product's piece word, or 份."""
    if qty_unit == "g":
        return "斤"
    if qty_unit == "bundle":
        return "份"
    return unit_label or "个"


def co_op_quantity(qty_unit: str, quantity: int) -> str:
    return jin_text(quantity) if qty_unit == "g" else str(int(quantity))


def say(qty_unit: str, quantity: int, unit_label: str = "") -> str:
    """'12.5斤', '6个', '3份'."""
    return f"{co_op_quantity(qty_unit, quantity)}{co_op_unit(qty_unit, unit_label)}"


def unit_label_for(info: ProductInfo | None, qty_unit: str) -> str:
    if info is None or qty_unit == "g":
        return "斤" if qty_unit == "g" else ""
    if qty_unit == "piece" and info.sold_by == "weight":
        return "个"
    return info.unit


def cost_fen(qty_unit: str, quantity: int, price_fen: int) -> int:
    """Money for a quantity at a price per 斤 / piece / bundle, in integer fen."""
    if qty_unit == "g":
        return fen_for_grams(quantity, price_fen)
    return quantity * price_fen


def product_infos(conn: sqlite3.Connection) -> dict[str, ProductInfo]:
    return {
        r["id"]: ProductInfo(r["name"], r["sold_by"], r["unit"], r["bundle_size"])
        for r in conn.execute("SELECT id, name, sold_by, unit, bundle_size FROM products")
    }


NAME_PREFIX = "name:"  # a co-op line known only by name (sent from a text, not from an id)


def resolve_product_id(conn: sqlite3.Connection, site_id: str, product_id: str) -> str:
    """`name:土豆` → this centre's product called 土豆 (if it has one); ids stay ids."""
    if not product_id.startswith(NAME_PREFIX):
        return product_id
    name = product_id[len(NAME_PREFIX) :]
    row = conn.execute(
        "SELECT id FROM products WHERE name = ? AND active = 1"
        " ORDER BY site_id = ? DESC, id LIMIT 1",
        (name, site_id),
    ).fetchone()
    return str(row[0]) if row else product_id


def parse_quantity(qty_unit: str, value: Any, *, field: str = "quantity", jin: Any = None) -> int:
    """A base-unit quantity from the API: an integer, or for grams `jin` (斤, decimal)."""
    if qty_unit not in QTY_UNITS:
        raise BadRequest("qty_unit must be 'g', 'piece' or 'bundle'", field="qty_unit")
    if jin is not None:
        if qty_unit != "g":
            raise BadRequest("jin is only for lines in grams", field=field)
        try:
            grams = Decimal(str(jin)) * GRAMS_PER_JIN
        except ArithmeticError:
            raise BadRequest("jin must be a number", field=field) from None
        if not grams.is_finite():
            raise BadRequest("jin must be a number", field=field)
        value = int(grams.quantize(Decimal("1"), ROUND_HALF_UP))
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{field} must be a whole number of base units", field=field)
    limit = MAX_GRAMS if qty_unit == "g" else MAX_COUNT
    if not 0 <= value <= limit:
        raise BadRequest(f"{field} must be 0 to {limit}", field=field)
    return value
