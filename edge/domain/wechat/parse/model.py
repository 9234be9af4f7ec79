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
    # "corrected" or "cancelled" for a line the resident took back; the preview strikes it.
    struck: str = ""


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Items found, and every piece of content that was not understood."""

    items: tuple[ParsedItem, ...]
    unparsed: tuple[str, ...]
    is_order: bool
    note: str
    struck: tuple[ParsedItem, ...] = ()  # lines corrected or cancelled later in the message


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
    implied: bool = False  # "俩": a count whose unit is the product's own
    sized: bool = False  # "10斤的", "10斤装的": one piece that heavy, for what is sold by piece


@dataclass(slots=True)
class Tok:
    # prod qty sep each neg res fill polite verb price change fix (restate) alt alt_end
    kind: str
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
    alt: bool = False  # a fallback ("没有就来1斤五花"): not an item
    blocked: bool = False  # res: a name the catalog lacks that ends in an alias ("青萝卜")
    swap: Tok | None = None  # "芹菜换成菠菜": the product this one replaces
    restate: Qty | None = None  # fix/change: "不，2斤" — the quantity that replaces one
    target: Tok | None = None  # ...of this product's line (None: the last line)
    less: bool = False  # change: "馒头10个，少要一个" — its quantity comes off the line
    takes_back: bool = False  # neg alone in its part ("土豆3斤，算了"): strikes the last line
    adds: bool = False  # "生菜一斤，再加一斤": its quantity adds to the line already there
    replaces_last: bool = False  # "搞错了，是挂面一袋": takes the place of the last line
    copies: int = 1  # "我和我妈各要两斤鸡蛋": one line for each person
    theirs: bool = False  # someone else's line of the product before ("再要一打给楼下刘奶奶")
