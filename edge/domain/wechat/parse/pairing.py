"""Pair each product with the quantity next to it, within one clause."""

from __future__ import annotations

import re

from ..lexicon import (
    ADDITIVE,
    ADDITIVE_RE,
    PREP_CHARS,
)
from .context import list_item
from .model import Qty, Tok
from .people import after_a_space, for_me_too, for_them_too, people_before

SKIP = frozenset(("fill", "polite", "verb", "price", "change"))
_DEGREE = "太很特那这过"  # "不要太大", "别那么肥": a preference, not a cancellation


def neighbour_qty(toks: list[Tok], k: int, step: int) -> int | None:
    """Index of the free quantity next to token k (step -1 left, +1 right) in its segment.
    Fillers are skipped; a short leftover (≤4 chars, "切成片") is tolerated (and still
    reported as unparsed); anything else stops."""
    j = k + step
    while 0 <= j < len(toks):
        t = toks[j]
        if t.kind in SKIP or (t.kind == "res" and t.end - t.start <= 4 and not t.blocked):
            j += step
            continue
        if t.kind == "qty" and t.qty is not None and not t.qty.used and not t.qty.each:
            return j
        return None
    return None


def names_first(toks: list[Tok]) -> bool:
    """Does the clause name things before their quantities ("白菜两棵 粉条一斤 豆腐两块")?
    Read from its first product: a quantity after it and none before."""
    k = next((k for k, t in enumerate(toks) if t.kind == "prod" and not t.alt), None)
    return k is not None and not _qty_beside(toks, k, -1) and _qty_beside(toks, k, 1)


def _qty_beside(toks: list[Tok], k: int, step: int) -> bool:
    """Is a quantity written next to token k, whatever has taken it since?"""
    j = k + step
    while 0 <= j < len(toks):
        t = toks[j]
        if t.kind in SKIP or (t.kind == "res" and t.end - t.start <= 4 and not t.blocked):
            j += step
            continue
        return t.kind == "qty"
    return False


def choose_qty(toks: list[Tok], k: int, after_names: list[bool] | None = None) -> Qty | None:
    """The quantity for product k: the one before it, else the one after; a bare number
    ("301") loses to a quantity with a unit, and a descriptor ("5元5个的", "5斤装的") to a
    plain quantity right after it ("5斤装的一盒"). `after_names` caches `names_first` for
    the clause (empty until needed): then a quantity right after an unknown word is its."""
    before, after = neighbour_qty(toks, k, -1), neighbour_qty(toks, k, 1)
    idx = before if before is not None else after
    if before is not None and after is not None:
        b, a = toks[before].qty, toks[after].qty
        if b is not None and a is not None and b.kind == "bare" and a.kind != "bare":
            idx = after
        elif _belongs_to_unknown_word(toks, before, after, after_names):
            idx = after
    if idx is None:
        return None
    q = toks[idx].qty
    assert q is not None
    if q.descriptor:
        nxt = neighbour_qty(toks, max(idx, k), 1)
        plain = toks[nxt].qty if nxt is not None else None
        if plain is not None and plain.kind in ("w", "p") and not plain.descriptor:
            q.used = True
            q = plain
    return q


def _belongs_to_unknown_word(
    toks: list[Tok], before: int, after: int, after_names: list[bool] | None
) -> bool:
    """ "韭黄半斤 韭菜一把": the 半斤 right after a word the catalog lacks is that word's,
    when the product has its own quantity after it and no product waits for that one
    ("老李5斤土豆2斤黄瓜" keeps 5斤 for 土豆), or the clause names things first."""
    if before == 0:
        return False
    word = toks[before - 1]
    if after_names is not None and word.kind in ("res", "verb", "fill"):
        if not after_names:
            after_names.append(names_first(toks))
        if after_names[0]:
            return True  # "海带一斤 大葱一根": 带 reads as a verb, the word is still unknown
    # A one-character leftover is mostly a particle ("的", "吧"); one that opens its list
    # part right before the quantity is a word ("藕两斤 茄子一斤").
    opens = before == 1 or toks[before - 2].kind == "sep"
    if word.kind != "res" or not (word.blocked or word.end - word.start >= 2 or opens):
        return False
    nxt = after + 1
    while nxt < len(toks) and toks[nxt].kind in ("fill", "polite"):
        nxt += 1
    return not (nxt < len(toks) and toks[nxt].kind == "prod")


def is_negated(s: str, toks: list[Tok], k: int) -> bool:
    """A negation right before or after the product. Looking left, a closing 了/吧 ends the
    negation's reach: in "土豆不要了 黄瓜还是2斤" it belongs to 土豆, not 黄瓜."""
    for step in (-1, 1):
        j = k + step
        while 0 <= j < len(toks) and toks[j].kind in ("fill", "polite"):
            if step < 0 and s[toks[j].start : toks[j].end] in ("了", "吧", "啦"):
                break
            j += step
        if 0 <= j < len(toks) and toks[j].kind == "neg":
            # "土豆不要太大的" asks for small ones; it does not cancel the 土豆.
            after = toks[j].end
            return not (after < len(s) and s[after] in _DEGREE)
    return False


def pair_products(s: str, toks: list[Tok]) -> None:
    """Greedy, left to right: a product takes the free quantity just before it, else the one
    just after it. This reads "5斤土豆2斤黄瓜", "土豆5斤黄瓜2斤" and "5斤土豆黄瓜2斤" right.
    Then 各 gives its quantity to every product it covers."""
    for k in range(len(toks) - 2):
        # "豆角多加一斤 茄子少要一斤": a product, an additive word and a quantity that ends
        # its part are one line, before the next product can take that quantity.
        t, sep, qt = toks[k], toks[k + 1], toks[k + 2]
        if (
            t.kind == "prod"
            and sep.kind == "sep"
            and s[sep.start : sep.end] in ADDITIVE
            and qt.kind == "qty"
            and qt.qty is not None
            and (qt.end >= len(s) or s[qt.end] in " \t\n,，、;；。")
            and not is_negated(s, toks, k)
        ):
            t.paired, qt.qty.used = qt.qty, True
    for k, t in enumerate(toks):
        if t.kind == "each":
            for j in range(k + 1, len(toks)):
                nxt = toks[j]
                if nxt.kind == "qty" and nxt.qty is not None:
                    nxt.qty.each = True
                    break
                if nxt.kind not in SKIP:
                    break
    # Whether the clause names things first is needed only for a product with a free
    # quantity on both sides: worked out once, when first needed.
    after_names: list[bool] = []
    for k, t in enumerate(toks):
        if t.kind != "prod" or t.paired is not None:
            continue
        if is_negated(s, toks, k):
            t.dropped = True
            continue
        q = choose_qty(toks, k, after_names)
        if q is not None:
            q.used = True
            t.paired = q
    # 各: the quantity goes to every unpaired product listed before it, back to the last
    # product that already has its own quantity.
    for k, t in enumerate(toks):
        if t.kind != "qty" or t.qty is None or not t.qty.each:
            continue
        for j in range(k - 1, -1, -1):
            p = toks[j]
            if p.kind == "prod":
                if p.paired is not None or p.dropped:
                    break
                p.paired = t.qty
                p.paired_each = True
                t.qty.used = True
            elif p.kind == "qty":
                break
        if not t.qty.used:  # "每样一斤：土豆、黄瓜": the list follows
            people = people_before(s, toks, k)
            for p in toks[k + 1 :]:
                if p.kind == "qty":
                    break
                if p.kind == "prod" and p.paired is None and not p.dropped:
                    p.paired = t.qty
                    p.paired_each = True
                    p.copies = people
                    t.qty.used = True


def additive_before(s: str, toks: list[Tok], k: int) -> bool:
    """Is token k opened by an additive word ("再加一斤", "再来两斤生菜")?"""
    j = k - 1
    while j >= 0 and toks[j].kind in ("fill", "polite", "verb"):
        j -= 1
    return j >= 0 and toks[j].kind == "sep" and s[toks[j].start : toks[j].end] in ADDITIVE


def mark_additions(s: str, toks: list[Tok]) -> None:
    """ "菠菜再来一斤", "再加两斤土豆": a product whose quantity an additive word opens adds
    to its line, if the message already has one (the ledger decides)."""
    if not toks or ADDITIVE_RE.search(s, toks[0].start, toks[-1].end) is None:
        return
    for k, t in enumerate(toks):
        if t.kind != "prod" or t.paired is None or t.paired_each or t.theirs:
            continue
        q = next((j for j, x in enumerate(toks) if x.qty is t.paired), None)
        if q is None:
            continue
        first, last = min(k, q), max(k, q)
        if additive_before(s, toks, first) or any(
            x.kind == "sep" and s[x.start : x.end] in ADDITIVE for x in toks[first + 1 : last]
        ):
            t.adds = True


def pair_lone_quantities(s: str, toks: list[Tok]) -> None:
    """ "土豆，5斤": a segment with only a quantity gives it to the unpaired product before
    it. Across a price phrase too ("苹果要5块钱一斤的那种，来3斤"), and across a fallback
    ("排骨或者五花都行，来两斤"). After a line ordered for a neighbour, "我自己要一斤" is
    the resident's own line of the same product."""
    again: list[tuple[int, Tok]] = []
    for k, t in enumerate(toks):
        if t.kind != "qty" or t.qty is None or t.qty.used:
            continue
        theirs = for_them_too(s, toks, k)
        if theirs is not None:
            again.append(theirs)
            continue
        more = _more_of_last(s, toks, k)
        if more is not None:
            again.append(more)
            continue
        if t.qty.descriptor and _described_line(toks, k):
            t.qty.used = True  # "大米1袋，要10斤装的": which bag, not how many
            continue
        if _weighs_the_piece(s, toks, k):
            continue
        seg_has_prod = False
        for j in range(k + 1, len(toks)):
            if toks[j].kind == "sep":
                break
            if toks[j].kind == "prod":
                seg_has_prod = True
        if seg_has_prod:
            continue
        j = k - 1
        crossed = False
        priced = False
        while j >= 0:
            # "沙瓤的 不要太生 三斤": in dictation a space parts the words as a comma does.
            gap = s[toks[j].end : toks[j + 1].start]
            apart = crossed or (gap != "" and gap.strip(" \t\u3000") == "")
            if not (
                toks[j].kind in SKIP
                or toks[j].kind == "sep"
                or toks[j].alt
                or (toks[j].kind == "res" and apart and not toks[j].blocked)
                or (apart and _wish(s, toks[j]))
            ):
                break
            crossed = apart or toks[j].kind == "sep"
            priced = priced or (crossed and toks[j].kind == "price")
            # "帮我把排骨剁成小块，2斤": how to prepare it belongs to the product too.
            priced = priced or (toks[j].kind == "res" and s[toks[j].start] in PREP_CHARS)
            j -= 1
        if j >= 1 and toks[j].kind == "qty" and toks[j - 1].paired is toks[j].qty is not None:
            # "帮王阿姨带黄瓜两斤，我要三斤": the line before, named first, then its quantity.
            crossed = crossed or s[toks[j].end : toks[j + 1].start].isspace()
            j -= 1
        if crossed and j >= 0 and toks[j].kind == "prod":
            p = toks[j]
            skipped = [x for x in toks[j + 1 : k] if x.kind == "res" and not x.alt]
            if skipped and not priced and not _describes(s, toks, j, k):
                continue
            if p.paired is None and not p.dropped and not p.alt and p.match != "fuzzy":
                p.paired = t.qty
                t.qty.used = True
            elif p.paired is not None and not p.dropped and for_me_too(s, toks, j, k):
                a, _ = list_item(toks, k)
                mine = Tok("prod", toks[a].start, toks[a].start, entry=p.entry, match=p.match)
                mine.paired = t.qty
                t.qty.used = True
                again.append((a, mine))
    for a, mine in reversed(again):
        toks.insert(a, mine)


_ABOUT_AFTER = ("左右", "上下")
_ABOUT_BEFORE = ("大概", "大约", "差不多")


def _weighs_the_piece(s: str, toks: list[Tok], k: int) -> bool:
    """ "冬瓜要一块，三斤左右": an approximate weight alone in its part, after a piece of a
    product sold by weight, says how much of it to cut: the weight is the line. ("西瓜一个，
    十斤左右的" describes a product sold by the piece: it stays one.)"""
    q = toks[k].qty
    if q is None or q.kind != "w" or q.each:
        return False
    a, b = list_item(toks, k)
    if a == 0:  # "冬瓜一块 大概3斤": after a space
        a = after_a_space(s, toks, a, k) or 0
    if a == 0 or any(x.kind in ("prod", "qty", "res") for x in toks[a:b] if x is not toks[k]):
        return False
    words = [s[x.start : x.end] for x in toks[a:b]]
    if not any(w in words for w in _ABOUT_AFTER + _ABOUT_BEFORE):
        return False
    p = next((x for x in reversed(toks[:a]) if x.kind == "prod"), None)
    if p is None or p.entry is None or p.entry.sold_by != "weight" or p.paired is None:
        return False
    if p.paired.kind != "p" or p.dropped or p.alt:
        return False
    q.used = True
    toks[k].restate, toks[k].target = q, p
    return True


def _wish(s: str, t: Tok) -> bool:
    """ "不要太多", "别太粗的", "不用太红": a negation before a degree word is a wish; so is
    one before a short word ending in 的 ("不要弯的", "别要老的": the kind not wanted)."""
    if t.kind != "neg" or t.end >= len(s):
        return False
    return s[t.end] in _DEGREE or _KIND_NOT_WANTED.match(s, t.end) is not None


_KIND_NOT_WANTED = re.compile("[^\\s，,。、的不要]{1,3}的")


def _described_line(toks: list[Tok], k: int) -> bool:
    """Is there a product with its own quantity before the descriptor at k?"""
    p = next((x for x in reversed(toks[:k]) if x.kind == "prod"), None)
    return p is not None and p.paired is not None and not p.dropped


def _describes(s: str, toks: list[Tok], p: int, k: int) -> bool:
    """ "茄子要长的，三斤", "土豆要沙一点的，三斤": the words between product p and the lone
    quantity k only say which kind (short words, the part ending in 的): the quantity is
    still the product's."""
    words = [x for x in toks[p + 1 : k] if x.kind == "res"]
    if words and all(s[x.start : x.end] in _RAN_OUT for x in words):
        # "土豆吃完了，再来五斤": why more is wanted, then an order word ("五斤太多了": none)
        return additive_before(s, toks, k) or toks[k - 1].kind == "verb"
    if any(x.end - x.start > 4 for x in words):  # ("肥瘦相间的")
        return False
    # "西红柿要沙瓤的，来三斤": order words between the last comma and the quantity.
    cut = max((j for j in range(p + 1, k) if toks[j].kind == "sep"), default=k)
    if any(x.kind not in SKIP for x in toks[cut + 1 : k]):
        cut = k
    ends = [x for x in toks[p + 1 : cut] if x.kind != "sep"]
    if ends and _wish(s, ends[0]):
        return True  # "土豆不要太多，两斤就行"
    if bool(ends) and s[ends[-1].end - 1] == "的":
        return True
    # "黄瓜要带刺的那种，顶花带刺，四根", "西红柿要沙瓤的 不要太生 三斤": a part saying which
    # kind (ending in 的, or 的那种, maybe with a wish after it), then short words or wishes.
    parts: list[list[Tok]] = [[]]
    for x in toks[p + 1 : cut]:
        if x.kind == "sep":
            parts.append([])
        else:
            parts[-1].append(x)
    said = [pt for pt in parts if pt]
    if not said or not _kind_part(s, said[0]):
        return False
    return all(_kind_part(s, pt) or sum(x.end - x.start for x in pt) <= 4 for pt in said[1:])


_RAN_OUT = frozenset(("吃完", "快吃完", "用完", "快用完", "吃光", "没", "快没", "不够"))
_KIND_TAILS = frozenset(("那种", "这种", "那样", "这样"))


def _kind_part(s: str, part: list[Tok]) -> bool:
    """ "要带刺的那种", "要沙瓤的 不要太生": which kind, ending in 的, a wish after it allowed."""
    xs = list(part)
    while xs and s[xs[-1].start : xs[-1].end] in _KIND_TAILS:
        xs.pop()
    wish = next((i for i, x in enumerate(xs) if i > 0 and _wish(s, x)), None)
    if wish is not None:
        if any(x.kind not in ("res", "fill") for x in xs[wish + 1 :]):
            return False
        xs = xs[:wish]
    return bool(xs) and s[xs[-1].end - 1] == "的" and all(x.kind != "qty" for x in xs)


def _more_of_last(s: str, toks: list[Tok], k: int) -> tuple[int, Tok] | None:
    """ "生菜一斤，再加一斤", "土豆三斤，再多加两斤吧": a quantity an additive word opens,
    with no product of its own in its part, is more of the last product ordered."""
    q = toks[k].qty
    if q is None or q.each or not additive_before(s, toks, k):
        return None
    a, b = list_item(toks, k)
    if any(x.kind in ("prod", "res") for x in toks[k:b]):
        return None
    p = next((x for x in reversed(toks[:k]) if x.kind == "prod"), None)
    if p is None or p.paired is None or p.dropped or p.alt:
        return None
    more = Tok("prod", toks[a].start, toks[a].start, entry=p.entry, match=p.match)
    more.paired, more.adds = q, True
    q.used = True
    return a, more
