"""Corrections: the resident takes something back, and the order follows the last word.

Residents correct themselves in the same message or a later one: "土豆改成3斤", "黄瓜3斤，
不，2斤", "西红柿不要了", "芹菜换成菠菜", "刚才的芹菜改成一斤". They also name a product
again to describe it ("鸡蛋来5斤，要土鸡蛋"), and give fallbacks ("没有就来1斤五花",
"柿子椒也行") that are not items at all.

Two steps. `mark` reads one clause's tokens after pairing: which quantity restates which
line, which product replaces which, which parts are fallbacks. `Ledger` (ledger.py) then
keeps the lines of the whole message (one sender's turns, when a chat is pasted) in order:
a correction strikes the line it corrects and adds the new one in its place, a cancellation
strikes it, a re-mention adds nothing. Struck lines are kept so the preview can show what changed.
Fallbacks are marked in fallbacks.py.
"""

from __future__ import annotations

from ..lexicon import ADDITIVE, ENOUGH, ENOUGH_RE, WRONG_ITEM, names_someone_else
from .context import list_item
from .model import Qty, Tok
from .pairing import SKIP, additive_before, neighbour_qty

# Tokens a correction reaches across: "打错了，是3斤", "土豆还是要一斤".
_BRIDGE = SKIP | {"sep"}


def _next_meaningful(s: str, toks: list[Tok], k: int, across_seps: bool) -> int | None:
    j = k + 1
    skip = _BRIDGE if across_seps else SKIP
    while j < len(toks):
        t = toks[j]
        if t.kind in skip or (t.kind == "res" and s[t.start : t.end] in ("是", "要", "就")):
            j += 1
            continue
        return j
    return None


def _prev_product(toks: list[Tok], k: int) -> Tok | None:
    return next((p for p in reversed(toks[:k]) if p.kind == "prod" and not p.dropped), None)


# Negations that can take back a line on their own. "不用了", "别" alone more often decline
# something else ("不用送了", "别太大"), so they never do.
_TAKE_BACKS = frozenset(("算了", "不要", "取消", "删掉", "删了", "去掉", "免了", "别要", "撤了"))


def _mark_takeback(s: str, toks: list[Tok], k: int) -> None:
    """ "土豆3斤，算了", "菠菜一斤，不要了": a negation that is its own list part, with no
    product to cancel next to it, takes back the line just said. "不要老的" (a wish, words
    follow), "别的不要了" (nothing else), "不用送了" and "没有就算了" (a fallback) do not."""
    t = toks[k]
    if t.alt or t.restate is not None or s[t.start : t.end] not in _TAKE_BACKS:
        return
    a, b = list_item(toks, k)
    if (a == 0 and b < len(toks)) or any(x.kind not in ("neg", "polite") for x in toks[a:b]):
        return  # (a clause that is only "算了。" takes back the line before it too)
    if any(x.takes_back for x in toks[a:k]):
        return  # "算了不要了": one take-back
    t.takes_back = True


def _mark_own_restate(s: str, toks: list[Tok], k: int) -> None:
    """ "鸡蛋2斤，我要3斤": a part that is only an order word and a quantity, after a line
    with its own quantity, says that line's amount again; the last figure counts. Not after
    a line for a neighbour ("帮李奶奶带两斤鸡蛋，我自己要一斤" is a second line)."""
    q = toks[k].qty
    if q is None or q.used or q.each or q.descriptor:
        return  # "大米1袋，要10斤装的" says which bag
    a, b = list_item(toks, k)
    if a == 0 or any(x.kind == "prod" for x in toks[a:b]):
        spaced = _after_spaced_line(s, toks, k)
        if spaced is None or any(x.kind == "prod" for x in toks[k:b]):
            return
        a = spaced
    before = toks[a:k]
    # "西兰花两颗，一颗就行": a quantity then 就行 says how much in all, with no order word.
    enough = any(x.kind == "fill" and s[x.start : x.end] in ENOUGH for x in toks[k + 1 : b])
    if not (enough or any(x.kind == "verb" for x in before)) or any(
        x.kind not in ("verb", "fill", "polite") for x in before
    ):
        return
    prev = _prev_product(toks, a)
    if prev is None or prev.paired is None or prev.alt:
        return
    if q.sized and prev.entry is not None and prev.entry.sold_by == "piece":
        q.used = True  # "西瓜两个，要10斤的": how big each one is
        return
    said = s[toks[0].start : q.start]
    if names_someone_else(said) or any(w in said for w in ("帮", "替", "代")):
        # ("土豆3斤，帮我带2斤": ambiguous, left to the manager)
        return
    q.used = True
    toks[k].restate, toks[k].target = q, prev


def _after_spaced_line(s: str, toks: list[Tok], k: int) -> int | None:
    """ "黄瓜两斤 我要三斤": with no comma, a space after a product and its quantity still
    opens a part of order words and a quantity. Returns where that part starts."""
    j = k - 1
    while j >= 0 and toks[j].kind in ("verb", "fill", "polite"):
        j -= 1
    if j < 1 or j == k - 1 or toks[j].kind != "qty" or toks[j - 1].kind != "prod":
        return None
    if toks[j - 1].paired is not toks[j].qty or not s[toks[j].end : toks[j + 1].start].isspace():
        return None
    return j + 1


def _mark_named_again(s: str, toks: list[Tok], k: int) -> None:
    """ "西红柿一斤，我要两斤西红柿": a part that is only an order word, a quantity and a
    product already ordered with its own quantity in the clause says that line's amount
    again. Not for someone else, not after an additive word ("再要两斤西红柿")."""
    t = toks[k]
    if t.dropped or t.alt or t.swap is not None or t.changed:
        return
    a, b = list_item(toks, k)
    if a == 0:  # "芹菜两斤 我要三斤芹菜": after a space, up to the next space
        q = next((j for j, x in enumerate(toks) if x.qty is t.paired), k)
        a = _after_spaced_line(s, toks, min(k, q)) or 0
        b = next(
            (j for j in range(max(k, q) + 1, b) if s[toks[j - 1].end : toks[j].start].isspace()),
            b,
        )
    if a == 0 or s[toks[a - 1].start : toks[a - 1].end] in ADDITIVE:
        return
    prev = next((p for p in toks[:a] if p.kind == "prod" and p.entry is t.entry), None)
    if prev is None or prev.paired is None or prev.dropped or prev.alt:
        return
    rest = [x for x in toks[a:b] if x is not t and x.qty is not t.paired]
    if not any(x.kind == "verb" for x in rest) or any(
        x.kind not in ("verb", "fill", "polite") for x in rest
    ):
        return
    said = s[toks[a].start : toks[b - 1].end]
    if names_someone_else(said) or any(w in said for w in ("帮", "替", "代")):
        return
    pa, pb = list_item(toks, toks.index(prev))
    if names_someone_else(s[toks[pa].start : toks[pb - 1].end]):
        return  # "土豆三斤给我妈，土豆两斤给我": a line each
    t.changed = True


def _then_in_all(s: str, t: Tok, nxt: Tok | None) -> bool:
    """ "牛奶要四瓶吧不要了三瓶就够": 不要了, then an amount that says how much in all."""
    if nxt is None or nxt.kind != "qty" or not s.startswith("了", t.end):
        return False
    return s.startswith(tuple(ENOUGH), nxt.end)


def mark(s: str, toks: list[Tok]) -> None:
    """Changes ("改成", "换成", "还是") and restatements ("不，2斤") in one clause."""
    for k, t in enumerate(toks):
        if t.kind in ("fill", "polite"):
            _oh_named_again(s, toks, k)  # "土豆三斤 哦 土豆四斤"
        if t.kind == "qty":
            _mark_own_restate(s, toks, k)
        elif t.kind == "prod" and t.paired is not None:
            _mark_named_again(s, toks, k)
        elif t.kind == "change":
            _mark_change(s, toks, k)
        elif t.kind == "neg" and s[t.start : t.end] in _LESS:
            _mark_less(s, toks, k)  # "洋葱三个去掉一个"
        elif (
            t.kind == "fix"
            or (t.kind == "neg" and s[t.start : t.end] in ("算了", "不要"))
            or _lone_oh(s, toks, k)
        ):
            # "西瓜要俩，算了一个就行": 算了 before a quantity takes back the last one.
            j = _next_meaningful(s, toks, k, across_seps=True)
            nxt = toks[j] if j is not None else None
            if s[t.start : t.end] == "不要" and not _then_in_all(s, t, nxt):
                continue
            if (
                j is not None
                and nxt is not None
                and nxt.kind == "prod"
                and s[t.start : t.end] in WRONG_ITEM
            ):
                # "搞错了，是挂面一袋"; "白菜一颗，打错了，是大白菜" (the last line's quantity)
                alone = not any(x.kind == "prod" for x in toks[j + 1 :])
                if not nxt.dropped and (nxt.paired is not None or alone):
                    nxt.replaces_last = True
                continue
            q = nxt.qty if nxt is not None and nxt.kind == "qty" else None
            if q is None or q.used or q.each or q.descriptor:
                continue
            if j is not None and additive_before(s, toks, j):
                continue  # "不好意思，再来一斤" adds, it does not restate
            if (
                s[t.start : t.end] == "不是"
                and k > 0
                and toks[k - 1].kind == "qty"
                and toks[k - 1].end == t.start
            ):
                q.used = True  # "要3斤不是2斤": the 2斤 is what was not meant
                continue
            # "不，2斤" restates the last line only when no product of its own follows.
            after = _next_meaningful(s, toks, j, across_seps=False) if j is not None else None
            if after is not None and toks[after].kind == "prod":
                continue
            q.used = True
            t.restate = q
    enough = bool(toks) and ENOUGH_RE.search(s, toks[0].start, toks[-1].end) is not None
    for k, t in enumerate(toks):
        if t.kind == "neg":
            _mark_takeback(s, toks, k)
            _mark_line_off(s, toks, k)
        elif enough and t.kind == "prod" and t.paired is not None and not t.adds:
            _mark_enough(s, toks, k)


def _mark_line_off(s: str, toks: list[Tok], k: int) -> None:
    """ "芹菜两斤不要了": a take-back right after a product and its amount, ending the part,
    takes that line back ("芹菜两斤不要太老的" is a wish: words follow)."""
    if k < 2 or s[toks[k].start : toks[k].end] not in _TAKE_BACKS:
        return
    q, p = toks[k - 1], toks[k - 2]
    if q.kind != "qty" or p.kind != "prod" or p.paired is None or p.paired is not q.qty:
        return
    rest = toks[k + 1 :]
    part = rest[: next((j for j, x in enumerate(rest) if x.kind == "sep"), len(rest))]
    if all(x.kind == "polite" for x in part) and not _lone_amount_next(toks, k + 1 + len(part)):
        toks[k].takes_back = True


def _lone_amount_next(toks: list[Tok], sep: int) -> bool:
    """Does the part after `sep` give an amount with no product ("，要一斤就行")?"""
    rest = toks[sep + 1 :]
    part = rest[: next((j for j, x in enumerate(rest) if x.kind == "sep"), len(rest))]
    return any(x.kind == "qty" for x in part) and not any(x.kind == "prod" for x in part)


def _oh_apart(s: str, toks: list[Tok], k: int) -> tuple[int, int] | None:
    """ "西红柿两斤，哦，三斤吧", "鸡蛋两斤 哦 三斤", "排骨两斤，哦三斤": 哦 set apart (by a
    comma or a space) from an amount before it. Returns that amount's index and the next
    token's past any comma."""
    t = toks[k]
    if t.kind not in ("fill", "polite") or s[t.start : t.end] not in ("哦", "噢", "喔"):
        return None
    p = k - 1
    while p >= 0 and toks[p].kind == "sep":
        p -= 1
    n = k + 1
    while n < len(toks) and toks[n].kind == "sep":
        n += 1
    if p < 0 or n >= len(toks) or toks[p].kind != "qty":
        return None
    gap = s[toks[p].end : t.start]
    return (p, n) if gap and all(c in " \t\u3000,，、" for c in gap) else None


def _lone_oh(s: str, toks: list[Tok], k: int) -> bool:
    """哦 set apart from an amount, with another amount next, takes the first back."""
    at = _oh_apart(s, toks, k)
    return at is not None and toks[at[1]].kind == "qty"


def _oh_named_again(s: str, toks: list[Tok], k: int) -> None:
    """ "土豆三斤 哦 土豆四斤": 哦 set apart from a product's amount, then that product again
    with an amount of its own: the new amount changes the line."""
    at = _oh_apart(s, toks, k)
    if at is None or at[0] < 1:
        return
    prev, nxt = toks[at[0] - 1], toks[at[1]]
    if prev.kind != "prod" or nxt.kind != "prod" or prev.entry is not nxt.entry:
        return
    if prev.paired is toks[at[0]].qty and nxt.paired is not None and not nxt.dropped:
        nxt.changed = True


def _mark_enough(s: str, toks: list[Tok], k: int) -> None:
    """ "西兰花两颗，西兰花一颗就行": a product named again with a quantity and "就行" says
    how much in all: it changes the line (the ledger does nothing when there is none)."""
    q = toks[k].paired
    at = next((j for j, x in enumerate(toks) if x.qty is q), None)
    if at is None:
        return
    j = max(at, k) + 1
    if j < len(toks) and toks[j].kind == "fill" and s[toks[j].start : toks[j].end] in ENOUGH:
        toks[k].changed = True


# "馒头10个，少要一个": the number right after one of these comes off the line.
_LESS = frozenset(("少要", "少来", "少拿", "少买", "减", "减去", "减掉", "去掉", "拿掉"))


def _mark_less(s: str, toks: list[Tok], k: int) -> bool:
    """ "馒头10个，少要一个", "苹果五斤，减两斤": the amount right after comes off the line."""
    if s[toks[k].start : toks[k].end] not in _LESS:
        return False
    before = _prev_product(toks, k)
    after = k + 1 if k + 1 < len(toks) and toks[k + 1].kind == "qty" else None
    q = toks[after].qty if after is not None else None
    if q is None or q.kind not in ("w", "p"):
        return False
    if before is not None and before.paired is q:
        before.paired = None  # "馒头少要两个": the 两个 is what comes off, not the line
    elif q.used:
        return False
    q.used = True
    toks[k].restate, toks[k].target, toks[k].less = q, _prev_product(toks, k), True
    return True


def _mark_all_change(s: str, toks: list[Tok], k: int) -> bool:
    """ "苹果三斤，梨三斤，都改成两斤": 都 before the change word sets the new amount on every
    line of the clause of that measure (at least two), when no product follows."""
    if k == 0 or s[toks[k - 1].start : toks[k - 1].end] != "都":
        return False
    at = k + 1 if k + 1 < len(toks) and toks[k + 1].kind == "qty" else None
    q = toks[at].qty if at is not None else None  # (after 都 it reads as "each")
    if at is None or q is None or q.used or any(x.kind == "prod" for x in toks[at + 1 :]):
        return False
    lines = [
        p
        for p in toks[: k - 1]
        if p.kind == "prod"
        and p.paired is not None
        and not p.dropped
        and p.paired.kind == q.kind
        and (q.kind == "w" or p.paired.unit == q.unit)
    ]
    if len(lines) < 2:
        return False
    for p in lines:
        p.paired = Qty(q.kind, q.start, q.end, value=q.value, unit=q.unit, grams=q.grams)
    q.used = True
    return True


def _mark_change(s: str, toks: list[Tok], k: int) -> None:
    if _mark_less(s, toks, k) or _mark_all_change(s, toks, k):
        return
    j = _next_meaningful(s, toks, k, across_seps=False)
    nxt = toks[j] if j is not None else None
    before = _prev_product(toks, k)
    if j is not None and nxt is not None and nxt.kind == "qty" and nxt.qty is not None:
        j2 = _next_meaningful(s, toks, j, across_seps=False)
        new = toks[j2] if j2 is not None and toks[j2].kind == "prod" else None
        if new is not None and s[nxt.end : new.start] != "":
            new = None  # "鸡蛋改成3斤 土豆不变": the amount ends its part
        if new is not None and before is not None and before.paired is nxt.qty:
            if new.paired is None and new.entry is not before.entry:
                before.paired, new.paired = None, nxt.qty  # "芹菜换成两斤菠菜"
        if new is not None and new.paired is nxt.qty:
            nxt = new  # "豆角一斤，换成两斤茄子": the new product after its amount
    if nxt is not None and nxt.kind == "prod" and not nxt.dropped:
        gone = next((p for p in reversed(toks[:k]) if p.kind == "prod"), None)
        if gone is not None and gone.dropped and gone.entry is not nxt.entry:
            # "西红柿不要了，换成茄子": 茄子 takes 西红柿's quantity; after other lines too
            # ("青椒三个，黄瓜两根，青椒不要了，换成一斤西红柿": not 黄瓜's place)
            nxt.swap = gone
            return
        if before is not None and before.entry is not nxt.entry and nxt.paired is None:
            nxt.swap = before  # "芹菜换成菠菜": 菠菜 takes 芹菜's line and quantity
        elif before is not None and before.entry is not nxt.entry:
            nxt.swap = before  # "土豆换成3斤黄瓜"
        else:
            nxt.changed = True  # "改成鸡子儿三斤"
        return
    if before is None:
        q = _new_qty(s, toks, k)
        if q is not None:
            q.used = True
            toks[k].restate = q  # "改成3斤": the last line of the message
        return
    if before.paired is not None and nxt is not None and nxt.qty is before.paired:
        before.changed = True  # "黄瓜还是要一斤": 黄瓜 took the quantity after the change
        return
    q = _new_qty(s, toks, k)
    if q is None:
        return
    q.used = True
    if before.paired is None:
        before.paired, before.paired_each, before.changed = q, False, True
    else:
        toks[k].restate, toks[k].target = q, before  # "土豆5斤，改成3斤"


def _new_qty(s: str, toks: list[Tok], k: int) -> Qty | None:
    """The quantity a change word at k sets: right after it, or alone in the next part
    ("茄子少要点，一斤就行")."""
    after = neighbour_qty(toks, k, 1)
    if after is not None:
        return toks[after].qty
    j = _next_meaningful(s, toks, k, across_seps=True)
    q = toks[j].qty if j is not None and toks[j].kind == "qty" else None
    if j is None or q is None:
        return None
    nxt = _next_meaningful(s, toks, j, across_seps=False)
    if q.used or q.each or (nxt is not None and toks[nxt].kind == "prod"):
        return None
    return q
