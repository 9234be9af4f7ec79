"""Turn a product and its quantity into the order line the resident meant."""

from __future__ import annotations

from ..lexicon import BUNDLE_UNITS
from .model import ParsedItem, Qty, Tok


def build_item(
    s_orig: str,
    tok: Tok,
    q: Qty | None,
    default_ok: bool,
    in_question: bool,
    *,
    span: tuple[int, int] | None = None,
    struck: str = "",
) -> ParsedItem | None:
    """`span`: the fragment to quote when it is not the product and its quantity (a
    restated line); `struck`: why the line no longer counts."""
    e = tok.entry
    assert e is not None
    conf = {"name": 1.0, "alias": 0.95}.get(tok.match, 0.55 + 0.3 * tok.similarity)
    grams: int | None = None
    pieces: int | None = None
    fen: int | None = None
    start, end = tok.start, tok.end
    if q is not None:
        start, end = min(start, q.start), max(end, q.end)
    if q is None:
        if not default_ok:
            return None
        conf = min(conf, 0.6)
        if e.sold_by == "weight":
            quantity, unit, grams = 1.0, "斤", 500
        elif e.sold_by == "bundle":
            quantity, unit, pieces = 1.0, "份", e.bundle_size
        else:
            quantity, unit, pieces = 1.0, e.unit, 1
    else:
        kind, value, qunit = q.kind, q.value, q.unit
        fen = q.fen
        if q.implied and e.sold_by == "piece":
            qunit = e.unit  # "苞米俩": two of what 玉米 is counted in
        if kind == "p" and q.kuai and e.unit != "块" and q.value > (1 if q.arabic else 2):
            # "香菜5块" is money; "冬瓜一块", "姜1块", "两块豆腐" are pieces.
            kind, conf = "m", conf * 0.85
        elif kind == "p" and q.kuai:
            fen = None
            if e.unit != "块":
                conf *= 0.85
        if kind == "m" and q.count is not None:
            kind, value, qunit, grams = q.count.kind, q.count.value, q.count.unit, None
            if kind == "w":
                grams = q.count.grams
        if kind == "bare":
            conf *= 0.75
            kind, qunit = ("w", "斤") if e.sold_by == "weight" else ("p", e.unit)
            grams = round(value * 500) if kind == "w" else None
        elif kind == "w" and grams is None:
            grams = q.grams
        if kind == "w" and q.sized and e.sold_by == "piece":
            # "大米要10斤装的", "西瓜要个十几斤的": one piece of that size.
            kind, value, qunit, grams = "p", 1.0, e.unit, None
        if kind == "w":
            assert grams is not None
            quantity, unit = grams / 500, "斤"
            if e.sold_by != "weight":
                conf *= 0.9
        elif kind == "p":
            quantity, unit = value, qunit
            per = e.bundle_size if e.sold_by == "bundle" and qunit in BUNDLE_UNITS else 1
            if e.sold_by == "bundle" and qunit == e.unit:
                per = 1
            pieces = int(value * per) if (value * per).is_integer() else None
            grams = None
            if e.sold_by == "weight" and qunit != e.unit:
                conf *= 0.95
        else:  # money only: estimate the quantity from the catalog price
            conf *= 0.85
            assert fen is not None
            ratio = fen / e.price_fen if e.price_fen > 0 else 0.0
            if e.sold_by == "weight":
                quantity, unit, grams = round(ratio, 2), "斤", round(ratio * 500)
            elif e.sold_by == "bundle":
                quantity, unit = round(ratio * e.bundle_size, 2), e.unit
                pieces = int(quantity) if quantity.is_integer() and quantity > 0 else None
            else:
                quantity, unit = round(ratio, 2), e.unit
                pieces = int(ratio) if ratio >= 1 else None
        if tok.paired_each:
            conf *= 0.95
        if q.approx:
            conf *= 0.8
    if in_question:
        conf *= 0.8
    if span is not None:
        start, end = span
    return ParsedItem(
        product_id=e.product_id,
        product_name=e.name,
        quantity=quantity,
        unit=unit,
        grams=grams,
        pieces=pieces,
        amount_fen=fen,
        confidence=round(min(conf, 1.0), 2),
        fragment=s_orig[start:end],
        struck=struck,
    )
