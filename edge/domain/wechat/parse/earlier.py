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


def said_before(s: str, toks: list[Tok], kinds: set[str], ledger: Ledger) -> list[tuple[int, int]]:
    """Before pairing, take out of `toks` (in place) what only says how a line stood or which
    kind is meant, and return those spans as explained: the base amount of an addition goes
    into the ledger first ("排骨再加一斤，刚才说两斤" is 3斤, unless the line is there
    already), and a product that a narrower one names ("葱要大葱") is dropped."""
    spans: list[tuple[int, int]] = []
    back = earlier_amount(s, toks) if "qty" in kinds and "prod" in kinds else None
    if back is not None:
        prod, was, part = back
        if was.qty is not None and ledger.live(prod.entry) is None:
            ledger.order(prod, was.qty)
        spans.append((part, was.end))
        toks.remove(was)
    for k in reversed(narrowed(s, toks) if "prod" in kinds else []):
        spans.append((toks[k].start, toks[k].end))
        del toks[k]
    return spans
