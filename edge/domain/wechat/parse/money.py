"""Money amounts said by example: "土豆买十块钱的，排骨买五十" — after a line ordered by the
amount of money, a bare number right after the next product's order word is money too.

A bare number with no unit is read nowhere else (it could be anything), so this needs the
example: a money line said before it, by the same sender. Small numbers ("排骨买两") and
numbers with words after them ("排骨买五十多斤") are left alone.
"""

from __future__ import annotations

import re

from ..numerals import read_number
from .model import Qty, Tok

_ORDER_WORD = re.compile("[也再就还]?(?:买|来|要|拿)")
_PART_END = frozenset(" \t\n，,。、；;！!吧")
_LEAST_YUAN = 5  # "排骨买两" is no amount of money


def is_money_line(t: Tok) -> bool:
    return t.kind == "qty" and t.qty is not None and t.qty.kind == "m" and t.qty.count is None


def money_by_example(s: str, toks: list[Tok], said_money: bool) -> bool:
    """Reads "排骨买五十" as ¥50 after a money line; returns whether money was said by the end
    of the clause (for the sender's next clause)."""
    added: list[Tok] = []
    for t in list(toks):
        said_money = said_money or is_money_line(t)
        if not said_money or t.kind != "prod" or t.entry is None or t.entry.sold_by != "weight":
            continue
        m = _ORDER_WORD.match(s, t.end)
        num = read_number(s, m.end()) if m is not None else None
        if m is None or num is None:
            continue
        value, end, _ = num
        if end < len(s) and s[end] not in _PART_END:
            continue
        if value < _LEAST_YUAN or not value.is_integer():
            continue
        j = m.end()
        over = [x for x in toks if x.start < end and j < x.end]
        if any(x.kind != "res" or x.start < j or x.end > end for x in over):
            continue  # already read as something else (the number alone is a word left over)
        for x in over:
            toks.remove(x)
        fen = round(value * 100)
        added.append(Tok("qty", j, end, qty=Qty("m", j, end, value=value, fen=fen)))
    if added:
        toks += added
        toks.sort(key=lambda x: x.start)
    return said_money
