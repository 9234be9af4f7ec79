"""The parser's data: catalog entries in, items out, and the quantities and tokens between."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A product as the parser needs it; prices in fen (per 斤, per piece, or per bundle)."""

    product_id: str
    name: str
    aliases: tuple[str, ...]
    sold_by: str  # "weight" | "piece" | "bundle"
    unit: str
    price_fen: int
    bundle_size: int = 1


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One order line as the resident meant it; `fragment` quotes the original text."""

    product_id: str
    product_name: str
    quantity: float
    unit: str
    grams: int | None
    pieces: int | None
    amount_fen: int | None
    confidence: float
    fragment: str


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Items found, and every piece of content that was not understood."""

    items: tuple[ParsedItem, ...]
    unparsed: tuple[str, ...]
    is_order: bool
    note: str


@dataclass(slots=True)
class Qty:
    """A quantity as written, not yet tied to a product.

    kind: "w" weight (grams), "p" count (value + unit), "m" money (fen, maybe with a count),
    "bare" a number with no unit, "price" a price statement ("5元一斤") that orders nothing.
    """

    kind: str
    start: int
    end: int
    value: float = 0.0
    unit: str = ""
    grams: int = 0
    fen: int | None = None
    count: Qty | None = None  # "5元5个的": the 5个
    kuai: bool = False  # "一块": a piece of tofu or one yuan; decided by the product
    arabic: bool = False
    # "5元5个的", "5斤装的": describes which product, yields to a plain quantity after it.
    descriptor: bool = False
    approx: bool = False  # a range, "两三斤": the upper end was taken
    each: bool = False
    used: bool = False


@dataclass(slots=True)
class Tok:
    kind: str  # prod qty sep each neg res fill polite verb price
    start: int
    end: int
    entry: CatalogEntry | None = None
    match: str = ""  # name | alias | fuzzy
    similarity: float = 1.0
    qty: Qty | None = None
    paired: Qty | None = None
    paired_each: bool = False
    dropped: bool = False
    changed: bool = False  # its quantity came through 改成
