"""What surrounds a product decides whether it is ordered: questions, chatter, look-back
words, order verbs."""

from __future__ import annotations

import re
from itertools import pairwise

from ..lexicon import HARD_STOPS, ORDERING_CONNECTORS, PAST_WORDS, PRICE_MARKERS, QUESTION_MARKERS
from .model import Tok


def has_content(s: str, a: int, b: int) -> bool:
    return any(c.isalnum() for c in s[a:b])


_CLAUSE = re.compile("[^" + re.escape("".join(sorted(HARD_STOPS))) + "]+")


def clauses(s: str) -> list[tuple[int, int, str]]:
    """(start, end, terminator) for each clause; the terminator is "" at the end."""
    n = len(s)
    return [(m.start(), m.end(), s[m.end()] if m.end() < n else "") for m in _CLAUSE.finditer(s)]


# One pass over a part instead of one `in` per marker. "随便哪个", "哪个都行" leave the
# choice to the centre; they ask nothing.
_ASKS = re.compile(
    "|".join(r"(?<!随便)哪(?![个样]都)" if m == "哪" else re.escape(m) for m in QUESTION_MARKERS)
)


def _asks(s: str, lo: int, hi: int) -> bool:
    """Does s[lo:hi] hold a question word? "十几斤" is about ten or more: it asks nothing.
    (Checked after the search: a look-behind in the pattern would slow every search.)"""
    m = _ASKS.search(s, lo, hi)
    while m is not None and m.group()[0] == "几" and m.start() > lo and s[m.start() - 1] == "十":
        m = _ASKS.search(s, m.end(), hi)
    return m is not None


def question_segments(
    s: str, toks: list[Tok], lo: int, hi: int, stop: str
) -> list[tuple[int, int, bool]]:
    """The comma-separated parts of a clause that ask something -> (start, end, asks_price).
    A trailing ? with no question word marks the last part."""
    out: list[tuple[int, int, bool]] = []
    if not _asks(s, lo, hi) and stop not in ("?", "？"):
        return out
    bounds = [lo] + [t.start for t in toks if t.kind == "sep"] + [hi]
    for a, b in pairwise(bounds):
        if _asks(s, a, b):
            out.append((a, b, asks_info(s[a:b])))
    if not out and stop in ("?", "？"):
        a = bounds[-2]
        if any(t.kind in ("prod", "res", "qty") for t in toks if a <= t.start):
            out.append((a, hi, asks_info(s[a:hi])))
    return out


def asks_info(part: str) -> bool:
    """A price or yes/no fact question ("馒头是5元5个吗"): nothing in it is ordered."""
    return any(m in part for m in PRICE_MARKERS) or ("是" in part and "吗" in part)


def chatter_around(toks: list[Tok], prod: Tok) -> bool:
    """Unknown words or a price in the product's own list item: "上次的土豆很好吃" and
    "黄瓜3元一斤" talk about the product, they do not order it."""
    k = toks.index(prod)
    for step in (-1, 1):
        j = k + step
        while 0 <= j < len(toks) and toks[j].kind != "sep":
            if toks[j].kind in ("res", "price"):
                return True
            j += step
    return False


def list_item(toks: list[Tok], k: int) -> tuple[int, int]:
    """Token index range [a, b) of the list item (between separators) around token k."""
    a = k
    while a > 0 and toks[a - 1].kind != "sep":
        a -= 1
    b = k + 1
    while b < len(toks) and toks[b].kind != "sep":
        b += 1
    return a, b


# Each-words that order ("都要"), not those that only describe ("都挺新鲜", "都是").
_EACH_ORDERS = frozenset(("各", "各要", "各来", "各买", "每样", "每种", "都要", "都来", "每人"))


def orders_here(s: str, toks: list[Tok], k: int) -> bool:
    """Is product k ordered? An order word in its own list item or in the items it is listed
    with ("给我留点小白菜和菠菜", "帮我留：排骨、香菜"), an ordering connector ("再来") opening
    it, or a 各 quantity in the clause. A verb across a comma ("东西都拿到了，黄瓜特别新鲜")
    says nothing about this product."""
    if any(t.kind == "qty" and t.qty is not None and t.qty.each for t in toks):
        return True
    for t in toks[k + 1 :]:  # "香菜，葱，姜，蒜，各来一点": 各 after a list of products
        if t.kind == "each":
            return s[t.start : t.end] in _EACH_ORDERS
        if t.kind not in ("prod", "sep", "fill", "polite"):
            break
    a, b = list_item(toks, k)
    while True:
        if any(t.kind in ("verb", "each") for t in toks[a:b]):
            return True
        if a == 0:
            return False
        joint = s[toks[a - 1].start : toks[a - 1].end]
        if joint in ORDERING_CONNECTORS:
            return True
        if joint in "，,":
            return False
        a, b = list_item(toks, a - 2) if a >= 2 else (0, 0)


_PLACED = ("订了", "定了", "买了", "订过", "定过", "买过", "下单了", "下了单")


def already_ordered(s: str, toks: list[Tok]) -> tuple[int, int] | None:
    """ "我家的排骨还没到吗？订了两斤": a quantity right after 订了/买了 tells of an order
    already placed (and the product right after it too, "订了两斤排骨"): the span to quote."""
    for k, t in enumerate(toks):
        if t.kind != "qty" or t.qty is None or t.qty.kind not in ("w", "p", "bare"):
            continue
        if not s[max(0, t.start - 4) : t.start].rstrip().endswith(_PLACED):
            continue
        end = k + 1
        while end < len(toks) and toks[end].kind in ("fill", "polite"):
            end += 1
        if end < len(toks) and toks[end].kind == "prod":
            return k, end + 1
        return k, k + 1
    return None


# "刚才的都不要了", "算了全部取消": everything said so far is taken back. "别的都不要了"
# (nothing else) and "大的都不要" (a wish) are not: 都 must open the part, follow a word
# that points back at the whole order, or follow the last amount ("黄瓜两根都不要了").
_ALL_OFF = re.compile(
    r"(?:^|[\s,，]|刚才的|刚刚的|之前的|上面的|前面的|刚才说的|刚才要的|刚才订的|我的|那些|这些|"
    r"以上|算了|不好意思|(?<=[0-9一二两三四五六七八九十半][斤两个根把袋瓶盒块颗棵条头]))"
    r"(?:都|全|全部|全都|统统)(?:不要|取消|算了|不用|不买|免了)"
)


def cancels_all(s: str, lo: int, hi: int) -> tuple[int, int] | None:
    """Where s[lo:hi] takes back the whole order ("不好意思 刚才的都不要了", "土豆两斤，算了
    都不要了"), or None."""
    m = _ALL_OFF.search(s[lo:hi])  # (^ is the clause's start)
    return None if m is None else (lo + m.start(), lo + m.end())


# "我那2斤排骨", "我家那两袋米": that amount of mine, already there.
_MINE_THAT = re.compile("我(?:的|家|们)?那(?=[0-9一二两三四五六七八九十半俩仨])")


def looks_back(s: str, toks: list[Tok], k: int) -> bool:
    """ "上次买的3斤排骨", "上周买了5斤土豆", "上次那两斤排骨": a look-back word, then 的
    or 了 (or 那 right after it), before the product in its list item."""
    a, _ = list_item(toks, k)
    lo = toks[a].start
    head = s[lo : toks[k].start]
    if "的" not in head and "了" not in head and "那" not in head:
        return False
    if _MINE_THAT.search(head):
        return True  # "我那2斤排骨放你那": mine, bought already
    for w in PAST_WORDS:
        at = head.find(w)
        if at < 0:
            continue
        rest = head[at + len(w) :]
        if "的" in rest or "了" in rest or rest.startswith("那"):
            return True
    return False


def narrowed(s: str, toks: list[Tok]) -> list[int]:
    """ "葱要大葱，两根", "白菜就要小白菜": a product opening its part without a quantity,
    then, after an order word, a product whose name holds it: the first only says which
    kind is meant. The indexes of such first mentions."""
    out: list[int] = []
    for k, t in enumerate(toks):
        if t.kind != "prod" or t.entry is None or (k > 0 and toks[k - 1].kind != "sep"):
            continue  # ("要葱要大葱" orders both)
        j = k + 1
        while j < len(toks) and toks[j].kind in ("verb", "fill", "polite"):
            j += 1
        if j == k + 1 or j >= len(toks) or toks[j].kind != "prod":
            continue
        nxt = toks[j]
        if nxt.entry is None or nxt.entry is t.entry or "要" not in s[t.end : nxt.start]:
            continue
        if s[t.start : t.end] in nxt.entry.name and len(nxt.entry.name) > t.end - t.start:
            out.append(k)
    return out


_THIS_TIME = ("这次", "这回", "这周", "今天", "今儿", "明天")


def this_time_after(s: str, toks: list[Tok], k: int) -> tuple[int, Tok] | None:
    """After a product talked about with a look-back, a later part with no product of its
    own that says "this time" and an order word before a quantity orders that product."""
    _, b = list_item(toks, k)
    if b >= len(toks):
        return None
    a2, b2 = list_item(toks, b + 1)
    while b2 + 1 < len(toks) and s[toks[b2].start : toks[b2].end] in ORDERING_CONNECTORS:
        b2 = list_item(toks, b2 + 1)[1]  # "这次还要两斤": the connector orders
    part = toks[a2:b2]
    if any(x.kind == "prod" for x in part) or not any(
        x.kind == "verb" or (x.kind == "sep" and s[x.start : x.end] in ORDERING_CONNECTORS)
        for x in part
    ):
        return None
    qtys = [
        x
        for x in part
        if x.kind == "qty" and x.qty is not None and (not x.qty.used or x.restate is x.qty)
    ]
    if len(qtys) != 1 or not any(w in s[toks[a2].start : qtys[0].start] for w in _THIS_TIME):
        return None
    q = qtys[0]
    q.restate = None  # ("今天来两斤" would restate a line; the looked-back one has none)
    q.qty.used = True  # type: ignore[union-attr]
    return toks[a2].start, q
