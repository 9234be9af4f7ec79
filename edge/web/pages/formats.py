"""Money and weight as people read and type them: 元 with two decimals, 斤.

The domain keeps integer fen and grams; these turn them into text for the
page and parse what staff type back, refusing anything odd with a field name.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from edge.domain.products import GRAMS_PER_JIN
from edge.errors import BadRequest

MAX_YUAN = Decimal("100000")


def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def jin(grams: int | None) -> str:
    if grams is None:
        return ""
    value = (Decimal(int(grams)) / GRAMS_PER_JIN).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = format(value.normalize(), "f")
    return text


def _decimal(text: str, field: str, message: str) -> Decimal:
    cleaned = (text or "").strip().replace("元", "").replace("¥", "").replace("斤", "")
    cleaned = cleaned.replace("，", ".").replace(",", ".").replace("。", ".").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadRequest(message, field=field) from None
    if not value.is_finite():
        raise BadRequest(message, field=field)
    return value


def parse_yuan(text: str, field: str = "amount") -> int:
    """'12.5' → 1250 fen; at most two decimals, 0 to 100,000 元."""
    message = f"{field} must be an amount in yuan like 12.50"
    value = _decimal(text, field, message)
    if value < 0 or value > MAX_YUAN or value != value.quantize(Decimal("0.01")):
        raise BadRequest(message, field=field)
    return int(value * 100)


def parse_jin(text: str, field: str = "grams") -> int:
    """'2.3' (斤) → 1150 g, rounded to the gram."""
    message = f"{field}: weight must be in jin, between 0.1 and 100"
    value = _decimal(text, field, message)
    if value <= 0 or value > 100:
        raise BadRequest(message, field=field)
    return int((value * GRAMS_PER_JIN).quantize(Decimal("1"), ROUND_HALF_UP))


def parse_quantity(text: str, field: str = "quantity") -> float | None:
    """A typed quantity; empty means 'not ordered'."""
    if not (text or "").strip():
        return None
    value = _decimal(text, field, f"{field} must be a number")
    if value <= 0 or value > 10000:
        raise BadRequest("quantity must be greater than zero", field=field)
    return float(value)


def qty(item: dict[str, Any], units: dict[str, Any] | None = None) -> str:
    """An order or sale line's quantity as staff say it: '2.5 斤', '4 个', '1 份'; a line
    ordered as money says the amount first: '¥10.00 (≈1.25 斤)'."""
    amount = item.get("amount_fen")
    if amount:
        return f"¥{yuan(amount)} (≈{qty({**item, 'amount_fen': None}, units)})"
    kind = item.get("qty_unit")
    n = item.get("quantity")
    if kind == "g":
        return f"{jin(n)} 斤"
    unit = ""
    if units is not None:
        product = units.get(item.get("product_id") or "") or units.get(
            item.get("product_name") or ""
        )
        if product is not None and product.sold_by != "weight":
            unit = product.unit
    if kind == "bundle":
        return f"{n} 份"
    return f"{n} {unit or '个'}"
