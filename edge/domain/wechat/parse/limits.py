"""Hard limits: what no household orders is not understood, never an item.

A 400-digit number, "土豆0斤" and "白菜999999999斤" are typos, jokes or pasted phone
numbers. They are reported for a person to read, so a typo never becomes a 0 g line or a
truck of cabbage. A paste is bounded too: one sender's items stop at what one order can
hold (edge.domain.orders.MAX_ITEMS; the parser imports nothing of the store, a test keeps the two
equal).
"""

from __future__ import annotations

from .model import Qty

MAX_GRAMS = 50_000  # 100 斤, what an order line takes (edge.domain.products)
MAX_COUNT = 999
MAX_BARE = 200  # a bare number is 斤 or pieces, depending on the product
MAX_FEN = 200_000  # ¥2,000
MAX_ITEMS_PER_SENDER = 50


def sensible(q: Qty) -> bool:
    """Is this a quantity a household could order?"""
    if q.kind == "w":
        return 0 < q.grams <= MAX_GRAMS and q.value > 0
    if q.kind == "p":
        return 0 < q.value <= MAX_COUNT
    if q.kind == "bare":
        return 0 < q.value <= MAX_BARE
    if q.kind == "m":
        if q.fen is None or not 0 < q.fen <= MAX_FEN:
            return False
        return q.count is None or sensible(q.count)
    return True
