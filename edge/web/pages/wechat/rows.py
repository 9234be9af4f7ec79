"""The WeChat card's text and rows: the message cut into understood and not-understood runs,
the editable rows (product, quantity, unit) as drawn and as posted back, and the order
items they make."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from edge.domain import orders
from edge.domain.products import Product
from edge.domain.wechat.lexicon import WEIGHT_UNITS
from edge.errors import BadRequest
from edge.web.forms import parse_int
from edge.web.pages.formats import parse_quantity

from .card_form import CardForm

#: Rows below this confidence are flagged "please check".
LOW_CONFIDENCE = 0.8
CLEAR_CONFIDENCE = 0.95  # a name or alias with the quantity written next to it
MAX_ROWS = orders.MAX_ITEMS
MAX_ROW_INDEX = 99_999  # row numbers in field names (p_3); rows past MAX_ROWS are dropped
MAX_AMOUNT_FEN = 10_000_000  # "10块钱的香菜": what a resident asked to spend, echoed back
HH_FIELDS = ("name", "phone", "building", "unit", "room", "wechat_nickname")

# --- highlighting ------------------------------------------------------------


def segments(text: str, fragments: list[str], unparsed: list[str]) -> list[tuple[int, str]]:
    """The message cut into runs: 0 plain, 1 understood, 2 not understood.

    Fragments quote the resident's own text, so they are found in it; "各"
    items share a fragment, so each search starts where the last one was found.
    """
    marks = [0] * len(text)

    def mark(piece: str, kind: int, hint: int) -> int:
        piece = piece.strip()
        if not piece:
            return hint
        at = text.find(piece, hint)
        if at < 0:
            at = text.find(piece)
        if at < 0:
            return hint
        for k in range(at, at + len(piece)):
            if kind == 1 or marks[k] == 0:
                marks[k] = kind
        return at if kind == 1 else at + len(piece)

    hint = 0
    for f in fragments:
        hint = mark(f, 1, hint)
    hint = 0
    for u in unparsed:
        hint = mark(u, 2, hint)
    runs: list[tuple[int, str]] = []
    for ch, kind in zip(text, marks, strict=True):
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + ch)
        else:
            runs.append((kind, ch))
    return runs


# --- rows and units ----------------------------------------------------------


def fmt_qty(value: float | int | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value) == int(value) else f"{value:g}"


def unit_options(product: Product | None, current: str) -> list[str]:
    """The units a row may be in; the one the resident used stays if it fits."""
    if product is None:
        base = ["斤", "个", "份"]
    elif product.sold_by == "weight":
        base = ["斤", "两", "公斤", "个"]
    elif product.sold_by == "bundle":
        base = ["份", product.unit]
    else:
        base = [product.unit]
    fits = current and (
        product is None
        or product.sold_by == "weight"
        or current not in WEIGHT_UNITS  # pieces and bundles take any piece word
    )
    if fits and current not in base:
        base.append(current)
    return list(dict.fromkeys(base))


def default_unit(product: Product | None) -> str:
    if product is None or product.sold_by == "weight":
        return "斤"
    return "份" if product.sold_by == "bundle" else product.unit


def sureness(confidence: float | None) -> str:
    """The parser's confidence in words for the card: "clear" (the message says it plainly),
    "likely", or "guess" (a default quantity, a typo, a price turned into a weight); "" for a
    row staff added."""
    if confidence is None:
        return ""
    if confidence >= CLEAR_CONFIDENCE:
        return "clear"
    return "likely" if confidence >= LOW_CONFIDENCE else "guess"


def row(
    catalog: dict[str, Product],
    product_id: str,
    quantity: str,
    unit: str,
    confidence: float | None,
    fragment: str,
    amount_fen: int | None,
) -> dict[str, Any]:
    product = catalog.get(product_id)
    options = unit_options(product, unit)
    if unit not in options:
        unit = default_unit(product)
    return {
        "product_id": product_id if product else "",
        "quantity": quantity,
        "unit": unit,
        "units": options,
        "confidence": confidence,
        "low": confidence is not None and confidence < LOW_CONFIDENCE,
        "sureness": sureness(confidence),
        "fragment": fragment,
        "amount_fen": amount_fen,
    }


def _confidence(text: str, name: str) -> float | None:
    """The parser's confidence, echoed back: 0 to 1 (an "inf" would break the card's percent)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # refused just below, like "inf" and "nan" themselves
    if not 0 <= value <= 1:
        raise BadRequest(f"{name} must be a number from 0 to 1", field=name)
    return value


def _amount(text: str, name: str) -> int | None:
    text = text.strip()
    return parse_int(text, name, maximum=MAX_AMOUNT_FEN) if text else None


def rows_from_form(form: CardForm, catalog: dict[str, Product]) -> list[dict[str, Any]]:
    """The card's rows as posted: p_N product, q_N quantity, u_N unit, c_N/f_N/a_N kept."""
    indices = sorted(parse_int(n, f"p_{n}"[:20], maximum=MAX_ROW_INDEX) for n in form.products)
    rows = []
    for i in indices[:MAX_ROWS]:
        n = str(i)
        rows.append(
            row(
                catalog,
                form.products.get(n, ""),
                form.quantities.get(n, ""),
                form.units.get(n, ""),
                _confidence(form.confidences.get(n, ""), f"c_{i}"),
                form.fragments.get(n, ""),
                _amount(form.amounts.get(n, ""), f"a_{i}"),
            )
        )
    return rows


def items_from_rows(
    rows: list[dict[str, Any]], catalog: dict[str, Product], _: Callable[..., str]
) -> list[orders.ItemInput]:
    items = []
    for n, row in enumerate(rows, start=1):
        product = catalog.get(row["product_id"])
        if product is None:
            if row["quantity"]:
                raise BadRequest(
                    _("Row %(n)s: choose a product, or remove the row.", n=n), field="items"
                )
            continue
        try:
            quantity = parse_quantity(row["quantity"])
        except BadRequest as exc:
            raise BadRequest(f"{product.name}: {exc.detail}", field="items.quantity") from None
        if quantity is None:
            continue
        items.append(orders.ItemInput(product.id, quantity, row["unit"] or None, row["amount_fen"]))
    if not items:
        raise BadRequest("choose at least one product and a quantity", field="items")
    return items
