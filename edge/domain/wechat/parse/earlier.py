"""An addition whose base amount is said after it: "排骨再加一斤，剛才說兩斤",
"鸡蛋再加一斤，之前订了两斤". The part after the addition is the line as it stood, not an
order of its own and not a report of an order already placed."""

from __future__ import annotations

import re

from ..lexicon import ADDITIVE_RE
from .context import narrowed
from .ledger import Ledger
from .limits import sensible
from .model import Tok

# A look-back word, then what was done with the amount, right before the quantity.
_BACK = re.compile(
    r"(?:刚才|刚刚|之前|原来|本来|先前|前面|上面|开始|早上)"
    r"(?:我)?(?:说的?|订的?|定的?|要的?|报的?|写的?|下的?|订了|定了|要了|说了|写了|报了)?"
    r"(?:是|有)?$"
)
_TAIL = frozenset("了的吧啊呀哈嘛呢")


def earlier_amount(s: str, toks: list[Tok]) -> tuple[Tok, Tok, int] | None:
    """(product, quantity, where its part starts) when the clause adds to one product and
    then, in a part with no product of its own, says the amount it had before."""
    for k, t in enumerate(toks):
        if t.kind != "qty" or t.qty is None or t.qty.kind not in ("w", "p"):
            continue
        if not sensible(t.qty) or t.qty.each or t.qty.descriptor:
            continue
        a = k
        while a > 0 and toks[a - 1].kind not in ("sep", "qty", "prod"):
            a -= 1
        if a == 0 or toks[a - 1].kind != "sep":
            continue
        if _BACK.search(s, toks[a - 1].end, t.start) is None:
            continue
        after = s[t.end : toks[-1].end]
        if any(x.kind not in ("fill", "polite", "sep") for x in toks[k + 1 :]) and not all(
            c in _TAIL for c in after
        ):
            continue
        prods = [x for x in toks[:a] if x.kind == "prod"]
        if len(prods) != 1:
            continue
        qtys = [x for x in toks[:a] if x.kind == "qty"]
        if len(qtys) != 1 or ADDITIVE_RE.search(s, prods[0].start, qtys[0].start) is None:
            continue
        return prods[0], t, toks[a - 1].end
    return None


_NOT_THAT = frozenset(("不要", "别要", "不用"))


def _not_that_amount(s: str, toks: list[Tok]) -> tuple[int, int] | None:
    """ "黄瓜不要三根了，两根": an amount said not to be wanted, right after its product, with
    a new amount later in the clause: the token range [a, b) that only takes it back."""
    for k in range(1, len(toks) - 3):
        t = toks[k]
        if t.kind != "neg" or s[t.start : t.end] not in _NOT_THAT or toks[k - 1].kind != "prod":
            continue
        if toks[k + 1].kind != "qty" or s[toks[k + 2].start : toks[k + 2].end] != "了":
            continue
        if toks[k + 3].kind == "sep" and _lone_amount_after(toks, k + 3):
            return k, k + 3
    return None


def _unsold_variety(s: str, toks: list[Tok]) -> int | None:
    """ "排骨要精排，两斤": after product and 要, a short word the catalog lacks names which
    kind, and the amount in the next part is still the product's: the index of that word."""
    for k in range(2, len(toks) - 2):
        t = toks[k]
        if t.kind != "res" or t.end - t.start > 3 or toks[k - 2].kind != "prod":
            continue
        if toks[k - 2].paired is not None or s[toks[k - 1].start : toks[k - 1].end] != "要":
            continue
        if toks[k + 1].kind == "sep" and _lone_amount_after(toks, k + 1):
            return k
    return None


def _lone_amount_after(toks: list[Tok], sep: int) -> bool:
    """Does the part after the separator at `sep` open with an amount and name no product?"""
    rest = toks[sep + 1 :]
    part = rest[: next((j for j, x in enumerate(rest) if x.kind == "sep"), len(rest))]
    return bool(part) and part[0].kind == "qty" and not any(x.kind == "prod" for x in part)


def said_before(
    s: str, toks: list[Tok], kinds: set[str], ledger: Ledger
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Before pairing, take out of `toks` (in place) what only says how a line stood or which
    kind is meant; returns the spans so explained, and those to quote for a person. The base
    amount of an addition goes into the ledger first ("排骨再加一斤，刚才说两斤" is 3斤, unless
    the line is there already); a product that a narrower one names ("葱要大葱") is dropped;
    an amount not wanted ("黄瓜不要三根了，两根") and an unsold variety ("排骨要精排，两斤",
    quoted) leave the product its later amount."""
    spans: list[tuple[int, int]] = []
    quotes: list[tuple[int, int]] = []
    if "prod" not in kinds:
        return spans, quotes
    back = earlier_amount(s, toks) if "qty" in kinds else None
    if back is not None:
        prod, was, part = back
        if was.qty is not None and ledger.live(prod.entry) is None:
            ledger.order(prod, was.qty)
        spans.append((part, was.end))
        toks.remove(was)
    for k in reversed(narrowed(s, toks)):
        spans.append((toks[k].start, toks[k].end))
        del toks[k]
    off = _not_that_amount(s, toks) if "neg" in kinds else None
    if off is not None:
        spans.append((toks[off[0]].start, toks[off[1] - 1].end))
        del toks[off[0] : off[1]]
    v = _unsold_variety(s, toks) if "res" in kinds else None
    if v is not None:
        quotes.append((toks[v].start, toks[v].end))
        spans.append((toks[v - 1].start, toks[v].end))
        del toks[v - 1 : v + 1]
    return spans, quotes
