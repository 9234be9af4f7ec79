"""Cut a clause into tokens by longest match: product, quantity, separator, known word
(filler, politeness, order verb, negation, change, each), and leftover text."""

from __future__ import annotations

from collections.abc import Iterable

from ..lexicon import (
    ADDRESS_TERMS,
    ALL_UNITS,
    DEMONSTRATIVES,
    DISH_SUFFIXES,
    FOOD_EMOJI,
    FOOD_SUFFIXES,
    HARD_STOPS,
    MEAT_CHARS,
    OTHER_ANIMALS,
    PIECE_UNITS,
    PREP_CHARS,
    QUESTION_MARKERS,
    SOFT_SEPS,
    TRANSPARENT,
    WORD_ROLES,
)
from ..numerals import NUMBER_START, read_number
from .catalog import OTHER_FOOD, Catalog
from .model import Qty, Tok
from .quantities import HEARD_MEASURES, read_qty, unit_at


def boundary_ok(s: str, j: int, hi: int, catalog: Catalog) -> bool:
    """A bare number ("土豆5") must be followed by a break, a product, or a known word."""
    if j >= hi:
        return True
    c = s[j]
    if c in TRANSPARENT or c in SOFT_SEPS or c in HARD_STOPS:
        return True
    return catalog.match_at(s, j, hi) is not None or word_at(s, j, hi) is not None


def _lengths_by_first_char(words: Iterable[str]) -> dict[str, tuple[int, ...]]:
    out: dict[str, set[int]] = {}
    for w in words:
        out.setdefault(w[0], set()).add(len(w))
    return {c: tuple(sorted(ns, reverse=True)) for c, ns in out.items()}


# Most characters start no known word: one dict look-up says so, instead of one per length.
_WORD_LENGTHS = _lengths_by_first_char(WORD_ROLES)
_SUFFIX_CHARS = frozenset(FOOD_SUFFIXES + "子")


def word_at(s: str, i: int, hi: int) -> tuple[int, str] | None:
    lengths = _WORD_LENGTHS.get(s[i]) if i < hi else None
    if lengths is None:
        return None
    for n in lengths:
        if i + n <= hi:
            role = WORD_ROLES.get(s[i : i + n])
            if role is not None:
                return n, role
    return None


def tokenize(s: str, lo: int, hi: int, catalog: Catalog) -> list[Tok]:
    """Tokens of s[lo:hi] by longest match. A quantity beats a product only when longer, so a
    product name that starts with a numeral ("五花肉") stays a product."""
    toks: list[Tok] = []
    starts = catalog.first_chars
    i = lo
    while i < hi:
        c = s[i]
        if (
            c in TRANSPARENT
            or (c == "x" and i + 1 < hi and "0" <= s[i + 1] <= "9")
            or (c in FOOD_EMOJI and c not in starts)  # a picture of what is not sold
        ):
            i += 1
            continue
        if c in SOFT_SEPS:
            toks.append(Tok("sep", i, i + 1))
            i += 1
            continue
        pm = catalog.match_at(s, i, hi) if c in starts else None
        q = None
        if c in NUMBER_START or c in "半斤¥$":
            q = read_qty(s, i, hi, catalog.units)
            if q is not None and q.kind == "bare" and not boundary_ok(s, q.end, hi, catalog):
                q = None
            if q is None:
                q = _heard_before_product(s, i, hi, catalog)
        if q is not None and (pm is None or q.end - i > pm[0]):
            toks.append(Tok("price" if q.kind == "price" else "qty", i, q.end, qty=q))
            i = q.end
            continue
        if pm is not None:
            n, entry, alias = pm
            j = i + n
            if j < hi and s[j] in _SUFFIX_CHARS and _food_suffix(s, j, hi, catalog):
                n += 1  # "玉米面", "鸡蛋糕": another food, reported unknown
                entry = OTHER_FOOD
            elif s.startswith(DISH_SUFFIXES, j) and catalog.match_at(s, j, hi) is None:
                n += 2  # "韭菜盒子": a dish
                entry = OTHER_FOOD
            if entry is OTHER_FOOD or _part_of_other_name(s, i, n, hi, toks, alias, catalog):
                # "青萝卜" is not 白萝卜 (alias 萝卜), "凤梨" not 梨: an unknown product.
                if toks and toks[-1].kind == "res" and toks[-1].end == i:
                    toks[-1].end = i + n
                    toks[-1].blocked = True
                else:
                    toks.append(Tok("res", i, i + n, blocked=True))
                i += n
                continue
            prev = toks[-1] if toks else None
            if (
                prev is not None
                and prev.kind == "prod"
                and prev.entry is entry
                and all(ch in TRANSPARENT for ch in s[prev.end : i])
            ):
                prev.end = i + n  # "西红柿（番茄）": one product named twice
            else:
                toks.append(Tok("prod", i, i + n, entry=entry, match="alias" if alias else "name"))
            i += n
            continue
        if c in PIECE_UNITS and _lone_measure(s, i, hi, toks, catalog):
            # "来个西瓜", "带个西兰花", "要块豆腐": a bare measure word before a product is one.
            toks.append(Tok("qty", i, i + 1, qty=Qty("p", i, i + 1, 1.0, c)))
            i += 1
            continue
        if c == "把" and _marks_object(s, i, hi, toks, catalog):
            toks.append(Tok("fill", i, i + 1))  # "要把葱切好": 把 marks what is cut
            i += 1
            continue
        if c in PIECE_UNITS and _ends_one(s, i, hi, toks):
            # "西兰花带个", "冬瓜来个吧": after the product, a bare measure ending the clause.
            toks.append(Tok("qty", i, i + 1, qty=Qty("p", i, i + 1, 1.0, c)))
            i += 1
            continue
        if c == "个" and toks and toks[-1].kind == "verb" and toks[-1].end == i:
            toks.append(Tok("fill", i, i + 1))  # "来个两三斤", "西瓜挑个甜的"
            i += 1
            continue
        w = word_at(s, i, hi)
        if w is not None:
            toks.append(Tok(w[1], i, i + w[0]))
            i += w[0]
            continue
        if toks and toks[-1].kind == "res" and toks[-1].end == i:
            toks[-1].end = i + 1
        else:
            toks.append(Tok("res", i, i + 1))
        i += 1
    for k in range(len(toks) - 1):
        t, nxt = toks[k], toks[k + 1]
        if (
            t.kind == "res"
            and t.end - t.start <= 3
            and nxt.start == t.end
            and s[nxt.start : nxt.end] in ADDRESS_TERMS
        ):
            t.kind = "polite"  # a name: "小玮姐", "王阿姨"
    if any(t.kind == "prod" and s[t.start] in FOOD_EMOJI for t in toks):
        _emoji_beside_names(s, toks)
    return toks


def is_emoji(s: str, t: Tok) -> bool:
    """Is the product token only emoji ("🍅", "🥔🥔")?"""
    return all(c in FOOD_EMOJI for c in s[t.start : t.end])


def _emoji_beside_names(s: str, toks: list[Tok]) -> None:
    """ "土豆5斤🥔🥔", "西红柿🍅两斤": an emoji of a product the clause names in words
    decorates that line; it orders nothing of its own."""
    named = {t.entry for t in toks if t.kind == "prod" and not is_emoji(s, t)}
    for t in toks:
        if t.kind == "prod" and t.entry in named and is_emoji(s, t):
            t.kind = "fill"


def _cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


_WORDS_BEFORE_A_NAME = ("刚才", "刚刚", "之前", "前面", "上面", "然后", "另外")


def _part_of_other_name(
    s: str, i: int, n: int, hi: int, toks: list[Tok], alias: bool, catalog: Catalog
) -> bool:
    """Does the name or alias at s[i:i+n] only end (or, for one character, start) a longer
    word the catalog does not have? An alias, or a one-character name, matches only as a
    whole product name: "青萝卜", "心里美萝卜", "凤梨", "蒜苗" are other products. A full name
    keeps its descriptors ("土鸡蛋", "东北大米"), but not another animal's name ("羊排骨");
    "葱切好" and "梨子" are still 葱 and 梨."""
    prev = toks[-1] if toks else None
    glued = prev is not None and prev.kind == "res" and prev.end == i and _cjk(s[i - 1])
    if glued and prev is not None and s.endswith(_WORDS_BEFORE_A_NAME, prev.start, i):
        glued = False  # "刚才肉馅不要了": a word about the order, not part of a name
    if glued and s[i - 1] in OTHER_ANIMALS and any(c in MEAT_CHARS for c in s[i : i + n]):
        return True  # "羊排骨", "牛肉馅": another animal's meat
    if not alias and n > 1:
        return False
    if glued:
        return True
    if n > 1 or i + 1 >= hi:
        return False
    nxt = s[i + 1]
    if not _cjk(nxt) or nxt in "子儿半" or nxt in PREP_CHARS or nxt in NUMBER_START:
        return False
    if nxt in ALL_UNITS or nxt in catalog.units or catalog.match_at(s, i + 1, hi) is not None:
        return False
    if s.startswith(QUESTION_MARKERS, i + 1):
        return False  # "葱多少钱一把"
    return word_at(s, i + 1, hi) is None


def _food_suffix(s: str, j: int, hi: int, catalog: Catalog) -> bool:
    """Is s[j], right after a product's name, a character that makes another food of it
    ("玉米面2斤", "鸡蛋糕两个", "南瓜子")? Only when a quantity, a known word, a break or the
    end follows it: "黄瓜皮薄的" describes 黄瓜, "西红柿粉的" is a kind of 西红柿."""
    if j >= hi:
        return False
    c = s[j]
    if c not in FOOD_SUFFIXES and not (c == "子" and s[j - 1] == "瓜"):
        return False
    if catalog.match_at(s, j, hi) is not None:
        return False  # "土豆豆角各一斤": the next product
    k = j + 1
    if k >= hi:
        return True
    d = s[k]
    if d == "的":
        return False  # "西红柿粉的": which kind
    return (
        not _cjk(d)
        or d in NUMBER_START
        or d in "半儿"
        or unit_at(s, k, hi) is not None
        or word_at(s, k, hi) is not None
        or catalog.match_at(s, k, hi) is not None
    )


def _marks_object(s: str, i: int, hi: int, toks: list[Tok], catalog: Catalog) -> bool:
    """ "要把葱切好", "把葱切好，要两把": 把 right before a product marks what is done to it
    (after a word, or opening the clause before a preparation verb)."""
    pm = catalog.match_at(s, i + 1, hi) if i + 1 < hi else None
    if pm is None:
        return False
    if toks and toks[-1].end == i:
        return True
    after = i + 1 + pm[0]
    return not toks and after < hi and s[after] in PREP_CHARS


_CLAUSE_TAIL = frozenset("吧啊呀哈嘛呢哦噢～~！!。，, \t")


def _ends_one(s: str, i: int, hi: int, toks: list[Tok]) -> bool:
    """A measure word right after an order verb that follows a product, with nothing but
    particles after it in the clause, is one of that product ("西兰花带个")."""
    if len(toks) < 2 or toks[-1].kind != "verb" or toks[-1].end != i:
        return False
    if toks[-2].kind != "prod" or toks[-2].end != toks[-1].start:
        return False
    return all(ch in _CLAUSE_TAIL for ch in s[i + 1 : hi])


def _lone_measure(s: str, i: int, hi: int, toks: list[Tok], catalog: Catalog) -> bool:
    """A measure word with no number, right before a product, after an order verb or any
    word that is not a demonstrative ("这个西瓜" is "this"), means one of it. 把 followed
    by a product and a preparation verb ("把葱切好") marks the object, it counts nothing."""
    if not toks or i + 1 >= hi:
        return False
    prev = toks[-1]
    if not (
        prev.kind == "verb"
        or (prev.kind == "sep" and prev.end - prev.start > 1)
        or (prev.kind == "res" and prev.end == i and s[i - 1] not in DEMONSTRATIVES)
    ):
        return False
    pm = catalog.match_at(s, i + 1, hi)
    if pm is None:
        return False
    after = i + 1 + pm[0]
    return not (s[i] == "把" and after < hi and s[after] in PREP_CHARS)


def fuzzy_pass(s: str, toks: list[Tok], catalog: Catalog) -> list[Tok]:
    """Replace a typo inside a leftover run ("西红事", "鸡旦") by a fuzzy product token."""
    out: list[Tok] = []
    glued = -1
    for k, t in enumerate(toks):
        if k == glued:
            continue
        heard = _heard_name(s, toks, k, catalog) if t.kind == "res" else None
        if heard is not None:
            if t.end - 1 > t.start:
                out.append(Tok("res", t.start, t.end - 1))
            out.append(heard)
            glued = k + 1
            continue
        if t.kind != "res" or t.end - t.start < 2:
            out.append(t)
            continue
        cued = _by_cue(s, toks, t, catalog)
        if cued is not None:
            out.append(cued)
            continue
        if t.blocked:
            # "羊葱": 葱 inside an unknown word, unless the word is a name's homophone.
            n = t.end - t.start
            if n == 2:
                var = catalog.variant_in(s, t.start, t.end)
            else:
                var = catalog.variant_ending(s, t.start, t.end)
            if var is None:
                out.append(t)
            else:
                if var[0] > t.start:
                    out.append(Tok("res", t.start, var[0]))
                out.append(Tok("prod", var[0], var[1], entry=var[2], match="fuzzy", similarity=0.5))
            continue
        lo = t.start
        pieces: list[Tok] = []
        while lo < t.end:
            got = catalog.fuzzy_in(s, lo, t.end) if t.end - lo >= 3 else None
            if got is None:
                var = catalog.variant_in(s, lo, t.end)
                if var is None:
                    break
                got = (*var, 0.5)
            a, b, entry, sim = got
            if a > lo:
                pieces.append(Tok("res", lo, a))
            pieces.append(Tok("prod", a, b, entry=entry, match="fuzzy", similarity=sim))
            lo = b
        if lo < t.end:
            pieces.append(Tok("res", lo, t.end))
        out.extend(pieces)
    return out


def _heard_name(s: str, toks: list[Tok], k: int, catalog: Catalog) -> Tok | None:
    """ "山要两斤", "土都三斤": a leftover's last character and the one-character word glued
    after it make a 2-character name as dictation heard it, when a quantity follows."""
    t = toks[k]
    if t.kind != "res" or t.blocked or k + 2 >= len(toks):
        return None
    w, q = toks[k + 1], toks[k + 2]
    if w.start != t.end or w.end - w.start != 1 or w.kind not in ("verb", "each"):
        return None
    if q.kind != "qty" or q.start != w.end:
        return None
    e = catalog.heard.get(s[t.end - 1 : w.end])
    if e is None:
        return None
    return Tok("prod", t.end - 1, w.end, entry=e, match="fuzzy", similarity=0.5)


def _by_cue(s: str, toks: list[Tok], t: Tok, catalog: Catalog) -> Tok | None:
    """ "柿子三斤，要沙的": a regional name that means this product only with a word in the
    clause that fits it alone."""
    hit = catalog.by_cue.get(s[t.start : t.end])
    if hit is None:
        return None
    e, cues = hit
    clause = s[toks[0].start : toks[-1].end]
    if not any(c in clause for c in cues):
        return None
    return Tok("prod", t.start, t.end, entry=e, match="alias", similarity=0.9)


def _heard_before_product(s: str, i: int, hi: int, catalog: Catalog) -> Qty | None:
    """ "牛奶两平酸奶两盒": dictation's measure word (平 for 瓶) glued to the next product's
    name, which the catalog knows whole, ends the quantity as the end of the phrase does."""
    num = read_number(s, i)
    if num is None or not num[0] > 0:
        return None
    value, j, _ = num
    if j + 1 >= hi or s[j] not in HEARD_MEASURES or s[j] == "和":
        return None  # ("馒头5和花卷3": 和 before a name joins)
    pm = catalog.match_at(s, j + 1, hi)
    if pm is None or pm[0] < 2:
        return None  # ("两平米的阳台": one character is too little to tell)
    return Qty("p", i, j + 1, value, HEARD_MEASURES[s[j]])
