"""Turn one pasted WeChat order message into order items.

The message is first folded to a same-length Simplified, half-width, lower-case copy, so every
offset found in the copy is also an offset in the original and `ParsedItem.fragment` can quote
the resident's own words. The copy is cut into clauses at hard stops (。！？；newline), each
clause into tokens (product, quantity, separator, filler, leftover) by longest match, and
quantities are then paired with the product next to them. Anything with content that pairs with
nothing is reported in `ParseResult.unparsed`, never dropped.

Choices worth knowing:

* A product named without a quantity ("要点香菜") becomes 1 of its unit with confidence 0.6,
  but only when the clause has an order verb (要/来/买…) or the message has other items;
  otherwise ("今天的香菜真好") it is reported as unparsed.
* Money-only items ("10块钱的香菜") carry `amount_fen`; `quantity` is then the estimate
  amount / catalog price in the catalog unit, for the desk to weigh up to the amount.
* A by-weight product ordered in pieces ("西红柿3个") keeps the piece unit; the desk weighs it.
* Fuzzy matches (one wrong character in a name of 3+ characters, via rapidfuzz; in a name of
  2 characters, one character swapped for a listed homophone or look-alike, "鸡旦"/"黄爪") are
  kept only when a quantity sits next to them, and carry lower confidence.
* A product introduced by a look-back word ("上次买的3斤排骨真不错") is talk, not an order: it
  is reported as unparsed.
* Questions keep explicit order items but list the question in `unparsed`; price questions
  ("土豆多少钱一斤") and cancellations ("不要土豆了") produce no item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from opencc import OpenCC
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .lexicon import (
    ADDRESS_TERMS,
    ALL_UNITS,
    BUNDLE_UNITS,
    CONFUSABLE,
    CONTAINERS,
    HARD_STOPS,
    MONEY_UNITS,
    ORDERING_CONNECTORS,
    PAST_WORDS,
    PIECE_UNITS,
    PRICE_MARKERS,
    QUESTION_MARKERS,
    SOFT_SEPS,
    TRANSPARENT,
    UNIT_MAX_LEN,
    WEIGHT_UNITS,
    WORD_MAX_LEN,
    WORD_ROLES,
)
from .numerals import DIGITS, NUMBER_START, read_number

__all__ = ["Catalog", "CatalogEntry", "ParseResult", "ParsedItem", "fold", "parse_message"]


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


# --------------------------------------------------------------------------- folding

_T2S: OpenCC | None = None
_FOLD: dict[str, str] = {}

# Emoji and pictographs become spaces: they separate nothing and mean nothing to an order.
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2B00, 0x2BFF),
    (0x2190, 0x21FF),
    (0x2300, 0x23FF),
    (0x2460, 0x24FF),  # circled list numbers ①②
    (0xFE00, 0xFE0F),
    (0x200B, 0x200F),
    (0xE0000, 0xE007F),
)


def _fold_char(ch: str) -> str:
    """One character of the folded copy; always exactly one character long."""
    global _T2S
    o = ord(ch)
    if 0xFF01 <= o <= 0xFF5E:
        out = chr(o - 0xFEE0).lower()
    elif o == 0xFFE5:
        out = "¥"
    elif (
        ch in "\u3000\u2005\u00a0\u2002\u2003"
        or any(lo <= o <= hi for lo, hi in _EMOJI_RANGES)
        or o in (0x3030, 0x303D, 0x3297, 0x3299)
    ):
        out = " "
    elif 0x3400 <= o <= 0x9FFF or 0x20000 <= o <= 0x2FFFF:
        # Per character, not per phrase, so the copy stays the same length as the original.
        # t2s is char-for-char for grocery vocabulary (兩個饅頭蔥薑蘿蔔麵…); we verified it.
        if _T2S is None:
            _T2S = OpenCC("t2s")
        conv = _T2S.convert(ch)
        out = conv if len(conv) == 1 else ch
    else:
        out = ch.lower()
        if len(out) != 1:
            out = ch
    _FOLD[ch] = out
    return out


_WECHAT_EMOJI = re.compile(r"\[[\u4e00-\u9fff]{1,4}\]|\[[a-z]{2,12}\]")
_LIST_MARK = re.compile(r"(?m)^[ \t]*(?:\d{1,2}[.、)）]|[(（]\d{1,2}[)）])(?!\d)")
_MENTION = re.compile(r"@[^\s,，、。:：!！?？;；@0-9]{1,16}")


def fold(text: str) -> str:
    """Same-length Simplified, half-width, lower-case copy with emoji and list marks blanked."""
    cache = _FOLD
    s = "".join([cache.get(c) or _fold_char(c) for c in text])
    if "[" in s:
        s = _WECHAT_EMOJI.sub(lambda m: " " * len(m.group()), s)
    if "." in s or "、" in s or ")" in s:
        s = _LIST_MARK.sub(lambda m: " " * len(m.group()), s)
    return s


# --------------------------------------------------------------------------- catalog


class Catalog:
    """Lookup tables built once from the catalog: exact names and aliases for longest match,
    and names of 3+ characters grouped by length for one-typo fuzzy matching."""

    __slots__ = ("_fuzzy", "_fuzzy_chars", "_index", "_lengths", "_variants", "entries")

    def __init__(self, entries: Sequence[CatalogEntry]) -> None:
        self.entries: tuple[CatalogEntry, ...] = tuple(entries)
        index: dict[str, tuple[CatalogEntry, bool]] = {}
        # Canonical names first so an alias can never shadow another product's real name.
        for e in self.entries:
            index.setdefault(fold(e.name).strip(), (e, False))
        for e in self.entries:
            for a in e.aliases:
                index.setdefault(fold(a).strip(), (e, True))
        index.pop("", None)
        self._index = index
        lengths: dict[str, set[int]] = {}
        for key in index:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
        fuzzy: dict[int, list[str]] = {}
        for key in index:
            if len(key) >= 3:
                fuzzy.setdefault(len(key), []).append(key)
        self._fuzzy = fuzzy
        self._fuzzy_chars = frozenset("".join(k for ks in fuzzy.values() for k in ks))
        # 2-character names with one character typed as a homophone ("鸡旦"); a variant that
        # two products share, or that is itself a name, is left out.
        variants: dict[str, CatalogEntry | None] = {}
        for key, (e, _) in index.items():
            if len(key) != 2:
                continue
            for pos in (0, 1):
                for c in CONFUSABLE.get(key[pos], ""):
                    v = key[:pos] + c + key[pos + 1 :]
                    if v in index:
                        continue
                    prev = variants.get(v, e)
                    variants[v] = e if prev is e else None
        self._variants = {v: e for v, e in variants.items() if e is not None}

    def __len__(self) -> int:
        return len(self.entries)

    def match_at(self, s: str, i: int, hi: int) -> tuple[int, CatalogEntry, bool] | None:
        """Longest name or alias starting at s[i] -> (length, entry, is_alias)."""
        lengths = self._lengths.get(s[i])
        if lengths is None:
            return None
        for n in lengths:
            if i + n <= hi:
                hit = self._index.get(s[i : i + n])
                if hit is not None:
                    return n, hit[0], hit[1]
        return None

    def variant_in(self, s: str, lo: int, hi: int) -> tuple[int, int, CatalogEntry] | None:
        """The first 2-character homophone variant of a name in s[lo:hi] -> (start, end, entry)."""
        variants = self._variants
        for i in range(lo, hi - 1):
            e = variants.get(s[i : i + 2])
            if e is not None:
                return i, i + 2, e
        return None

    def fuzzy_in(self, s: str, lo: int, hi: int) -> tuple[int, int, CatalogEntry, float] | None:
        """A window of s[lo:hi] one edit away from a 3+ character name -> (start, end, entry,
        similarity). Longer names are tried first; only CJK windows are considered."""
        for n in sorted(self._fuzzy, reverse=True):
            if n > hi - lo:
                continue
            choices = self._fuzzy[n]
            for i in range(lo, hi - n + 1):
                window = s[i : i + n]
                # One edit away means at most one character foreign to every name.
                if sum(c not in self._fuzzy_chars for c in window) > 1:
                    continue
                if not all("\u4e00" <= c <= "\u9fff" for c in window):
                    continue
                got = process.extractOne(
                    window, choices, scorer=Levenshtein.distance, score_cutoff=1
                )
                if got is not None:
                    entry = self._index[got[0]][0]
                    return i, i + n, entry, 1.0 - got[1] / n
        return None


# --------------------------------------------------------------------------- quantities


@dataclass(slots=True)
class _Qty:
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
    count: _Qty | None = None  # "5元5个的": the 5个
    kuai: bool = False  # "一块": a piece of tofu or one yuan; decided by the product
    arabic: bool = False
    # "5元5个的", "5斤装的": describes which product, yields to a plain quantity after it.
    descriptor: bool = False
    approx: bool = False  # a range, "两三斤": the upper end was taken
    each: bool = False
    used: bool = False


def _unit_at(s: str, i: int, hi: int) -> tuple[str, str] | None:
    for n in range(min(UNIT_MAX_LEN, hi - i), 0, -1):
        kind = ALL_UNITS.get(s[i : i + n])
        if kind is not None:
            # "g" only as a unit when not the start of a longer latin word.
            if n == 1 and s[i] == "g" and i + 1 < hi and "a" <= s[i + 1] <= "z":
                return None
            return s[i : i + n], kind
    return None


def _skip_transparent(s: str, j: int, hi: int) -> int:
    while j < hi and s[j] in " \t":
        j += 1
    return j


def _read_money_tail(s: str, start: int, j: int, hi: int, fen: int) -> _Qty:
    """After "5元"/"10块钱": jiao ("5块5"), a count ("5元5个"), a rate ("5元一斤"), "的"."""
    if j < hi and s[j] == "钱":
        j += 1
    count: _Qty | None = None
    num = read_number(s, j) if j < hi and s[j] in NUMBER_START else None
    if num is not None and num[1] <= hi:
        value, k, _ = num
        unit = _unit_at(s, k, hi)
        if unit is None or unit[1] == "m":
            # "5块5" / "5块5毛": a single digit of jiao.
            if value < 10 and value.is_integer() and k - j == 1:
                fen += int(value) * 10
                j = k + (len(unit[0]) if unit else 0)
                rate = _unit_at(s, j + 1, hi) if j + 1 < hi and s[j] == "一" else None
                if rate is not None and rate[1] in "wpk":  # "2块5一斤"
                    return _Qty("price", start, _eat_de(s, j + 1 + len(rate[0]), hi))
        elif unit[1] in "wpk":
            k += len(unit[0])
            if value == 1:
                return _Qty("price", start, _eat_de(s, k, hi))
            if unit[1] == "w":
                count = _Qty("w", j, k, value, "斤", grams=round(value * WEIGHT_UNITS[unit[0]]))
            else:
                count = _Qty("p", j, k, value, unit[0])
            j = k
    if j < hi and s[j] in "/每":
        unit = _unit_at(s, j + 1, hi)
        if unit is not None and unit[1] in "wpk":
            return _Qty("price", start, _eat_de(s, j + 1 + len(unit[0]), hi))
    return _Qty("m", start, _eat_de(s, j, hi), fen=fen, count=count, descriptor=count is not None)


def _eat_de(s: str, j: int, hi: int) -> int:
    return j + 1 if j < hi and s[j] == "的" else j


def _read_range_end(s: str, j: int, hi: int, low: float, arabic: bool) -> tuple[float, int] | None:
    """ "两三斤", "3-4个", "3到4斤": the upper end of a range (the desk trims down, not up)."""
    if j >= hi:
        return None
    # "一两斤" is one to two 斤, but "一两" alone is one 两: a range needs its unit.
    if (
        not arabic
        and s[j] in DIGITS
        and DIGITS[s[j]] == low + 1
        and low >= 1
        and _unit_at(s, j + 1, hi) is not None
    ):
        return float(DIGITS[s[j]]), j + 1
    if arabic and s[j] in "-~到至" and j + 1 < hi and "0" <= s[j + 1] <= "9":
        up = read_number(s, j + 1)
        if up is not None and up[0] > low:
            return up[0], up[1]
    return None


def _read_qty(s: str, i: int, hi: int) -> _Qty | None:
    """A quantity starting at s[i], or None."""
    j = i
    approx = False
    money_prefix = s[j] in "¥$"
    if money_prefix:
        j += 1
        if j >= hi or not ("0" <= s[j] <= "9"):
            return None
    if s[j] == "斤":
        # "斤半" is colloquial for 一斤半.
        if money_prefix or j + 1 >= hi or s[j + 1] != "半":
            return None
        return _Qty("w", i, j + 2, 1.5, "斤", grams=750)
    if s[j] == "半":
        unit = _unit_at(s, j + 1, hi)
        if unit is None or unit[1] == "m":
            return None
        value, j, arabic = 0.5, j + 1, False
    else:
        num = read_number(s, j)
        if num is None or num[1] > hi:
            return None
        value, j, arabic = num
        rng = _read_range_end(s, j, hi, value, arabic)
        if rng is not None:
            value, j = rng
            approx = True
        unit = _unit_at(s, j, hi)
        if unit is None and j < hi and s[j] == " ":
            # "土豆 5 斤": voice input and careful typists put spaces around the number.
            k = _skip_transparent(s, j, hi)
            spaced = _unit_at(s, k, hi) if k < hi else None
            if spaced is not None:
                unit, j = spaced, k
        if unit is None and j + 1 < hi and s[j] in "来多":
            # "十来个", "二十多斤": about that many; the desk weighs up from it.
            about = _unit_at(s, j + 1, hi)
            if about is not None:
                unit, j, approx = about, j + 1, True
        if unit is None and j + 1 < hi and s[j] in "大小":
            # "一小把香菜", "两大袋": a size word between number and measure word.
            sized = _unit_at(s, j + 1, hi)
            if sized is not None and sized[1] == "p":
                unit, j = sized, j + 1
    if money_prefix:
        if unit is not None and unit[1] in "mk":
            j += len(unit[0])
        return _approx(_read_money_tail(s, i, j, hi, round(value * 100)), approx)
    if unit is None:
        if s[i] in "俩仨":
            return _approx(_Qty("p", i, j, value, "个"), approx)
        return _approx(_Qty("bare", i, j, value), approx) if arabic else None
    name, kind = unit
    j += len(name)
    if kind == "m":
        return _approx(_read_money_tail(s, i, j, hi, round(value * MONEY_UNITS[name])), approx)
    if kind == "k":
        nxt = s[j] if j < hi else ""
        if nxt in ("钱", "的") or not value.is_integer() or (nxt and nxt in NUMBER_START):
            return _approx(_read_money_tail(s, i, j, hi, round(value * 100)), approx)
        return _approx(
            _Qty("p", i, j, value, "块", fen=round(value * 100), kuai=True, arabic=arabic), approx
        )
    half = j < hi and s[j] == "半" and _unit_at(s, j + 1, hi) is None
    if kind == "w":
        grams = value * WEIGHT_UNITS[name]
        if half:
            grams += WEIGHT_UNITS[name] / 2
            j += 1
        elif name in ("斤", "公斤") and j < hi and s[j] in NUMBER_START:
            more = read_number(s, j)
            if more is not None and more[1] < hi and s[more[1]] == "两":
                grams += more[0] * 50
                j = more[1] + 1
        if j < hi and s[j] == "多" and (j + 1 >= hi or s[j + 1] not in "少大重沉"):
            j, approx = j + 1, True  # "三斤多", "一斤多点"
            if s.startswith("一点", j):
                j += 2
            elif j < hi and s[j] == "点":
                j += 1
        packed = j < hi and s[j] == "装"
        if packed:
            j = _eat_de(s, j + 1, hi)
        q = _Qty("w", i, j, value, "斤", grams=round(grams), descriptor=packed)
    else:
        if half:
            value += 0.5
            j += 1
        q = _Qty("p", i, j, value, name)
        # "牛奶24瓶一箱", "鸡蛋30个一盒": one container of that many.
        if j + 1 < hi and s[j] == "一":
            box = _unit_at(s, j + 1, hi)
            if box is not None and box[0] in CONTAINERS and box[0] != name:
                end = j + 1 + len(box[0])
                end = _eat_de(s, end + 1 if end < hi and s[end] == "装" else end, hi)
                q = _Qty("p", i, end, 1.0, box[0])
    return _approx(_attach_money(s, q, hi), approx)


def _approx(q: _Qty, approx: bool) -> _Qty:
    q.approx = approx
    return q


def _attach_money(s: str, q: _Qty, hi: int) -> _Qty:
    """ "一斤5元" is a price; "2斤10元" is 2 斤 for 10 元."""
    j = _skip_transparent(s, q.end, hi)
    num = read_number(s, j) if j < hi and s[j] in NUMBER_START else None
    if num is None:
        return q
    unit = _unit_at(s, num[1], hi)
    if unit is None or unit[1] != "m":
        return q
    end = _eat_de(s, num[1] + len(unit[0]), hi)
    if q.value == 1 and q.grams in (0, 500):
        return _Qty("price", q.start, end)
    q.fen = round(num[0] * MONEY_UNITS[unit[0]])
    q.end = end
    return q


# --------------------------------------------------------------------------- tokens


@dataclass(slots=True)
class _Tok:
    kind: str  # prod qty sep each neg res fill polite verb price
    start: int
    end: int
    entry: CatalogEntry | None = None
    match: str = ""  # name | alias | fuzzy
    similarity: float = 1.0
    qty: _Qty | None = None
    paired: _Qty | None = None
    paired_each: bool = False
    dropped: bool = False
    changed: bool = False  # its quantity came through 改成


def _boundary_ok(s: str, j: int, hi: int, catalog: Catalog) -> bool:
    """A bare number ("土豆5") must be followed by a break, a product, or a known word."""
    if j >= hi:
        return True
    c = s[j]
    if c in TRANSPARENT or c in SOFT_SEPS or c in HARD_STOPS:
        return True
    return catalog.match_at(s, j, hi) is not None or _word_at(s, j, hi) is not None


def _word_at(s: str, i: int, hi: int) -> tuple[int, str] | None:
    for n in range(min(WORD_MAX_LEN, hi - i), 0, -1):
        role = WORD_ROLES.get(s[i : i + n])
        if role is not None:
            return n, role
    return None


def _tokenize(s: str, lo: int, hi: int, catalog: Catalog) -> list[_Tok]:
    """Tokens of s[lo:hi] by longest match. A quantity beats a product only when longer, so a
    product name that starts with a numeral ("五花肉") stays a product."""
    toks: list[_Tok] = []
    i = lo
    while i < hi:
        c = s[i]
        if c in TRANSPARENT or (c == "x" and i + 1 < hi and "0" <= s[i + 1] <= "9"):
            i += 1
            continue
        if c in SOFT_SEPS:
            toks.append(_Tok("sep", i, i + 1))
            i += 1
            continue
        pm = catalog.match_at(s, i, hi)
        q = None
        if c in NUMBER_START or c in "半斤¥$":
            q = _read_qty(s, i, hi)
            if q is not None and q.kind == "bare" and not _boundary_ok(s, q.end, hi, catalog):
                q = None
        if q is not None and (pm is None or q.end - i > pm[0]):
            toks.append(_Tok("price" if q.kind == "price" else "qty", i, q.end, qty=q))
            i = q.end
            continue
        if pm is not None:
            n, entry, alias = pm
            toks.append(_Tok("prod", i, i + n, entry=entry, match="alias" if alias else "name"))
            i += n
            continue
        if (
            c in PIECE_UNITS
            and toks
            and (
                toks[-1].kind == "verb"
                or (toks[-1].kind == "sep" and toks[-1].end - toks[-1].start > 1)
            )
            and i + 1 < hi
            and catalog.match_at(s, i + 1, hi) is not None
        ):
            # "来个西瓜", "要块豆腐": a bare measure word after a verb means one.
            toks.append(_Tok("qty", i, i + 1, qty=_Qty("p", i, i + 1, 1.0, c)))
            i += 1
            continue
        if (
            c == "个"
            and toks
            and toks[-1].kind == "verb"
            and i + 1 < hi
            and s[i + 1] in NUMBER_START
        ):
            toks.append(_Tok("fill", i, i + 1))  # "来个两三斤"
            i += 1
            continue
        w = _word_at(s, i, hi)
        if w is not None:
            toks.append(_Tok(w[1], i, i + w[0]))
            i += w[0]
            continue
        if toks and toks[-1].kind == "res" and toks[-1].end == i:
            toks[-1].end = i + 1
        else:
            toks.append(_Tok("res", i, i + 1))
        i += 1
    merged: list[_Tok] = []
    for t in toks:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and t.kind == "prod"
            and prev.kind == "prod"
            and prev.entry is t.entry
            and all(ch in TRANSPARENT for ch in s[prev.end : t.start])
        ):
            prev.end = t.end  # "西红柿（番茄）": one product named twice
            continue
        merged.append(t)
    toks = merged
    for k in range(len(toks) - 1):
        t, nxt = toks[k], toks[k + 1]
        if (
            t.kind == "res"
            and t.end - t.start <= 3
            and nxt.start == t.end
            and s[nxt.start : nxt.end] in ADDRESS_TERMS
        ):
            t.kind = "polite"  # a name: "小玮姐", "王阿姨"
    return toks


def _fuzzy_pass(s: str, toks: list[_Tok], catalog: Catalog) -> list[_Tok]:
    """Replace a typo inside a leftover run ("西红事", "鸡旦") by a fuzzy product token."""
    out: list[_Tok] = []
    for t in toks:
        if t.kind != "res" or t.end - t.start < 2:
            out.append(t)
            continue
        lo = t.start
        pieces: list[_Tok] = []
        while lo < t.end:
            got = catalog.fuzzy_in(s, lo, t.end) if t.end - lo >= 3 else None
            if got is None:
                var = catalog.variant_in(s, lo, t.end)
                if var is None:
                    break
                got = (*var, 0.5)
            a, b, entry, sim = got
            if a > lo:
                pieces.append(_Tok("res", lo, a))
            pieces.append(_Tok("prod", a, b, entry=entry, match="fuzzy", similarity=sim))
            lo = b
        if lo < t.end:
            pieces.append(_Tok("res", lo, t.end))
        out.extend(pieces)
    return out


# --------------------------------------------------------------------------- pairing

_SKIP = frozenset(("fill", "polite", "verb", "price", "change"))


def _neighbour_qty(toks: list[_Tok], k: int, step: int) -> int | None:
    """Index of the free quantity next to token k (step -1 left, +1 right) in its segment.
    Fillers are skipped; a short leftover (≤4 chars, "切成片") is tolerated (and still
    reported as unparsed); anything else stops."""
    j = k + step
    while 0 <= j < len(toks):
        t = toks[j]
        if t.kind in _SKIP or (t.kind == "res" and t.end - t.start <= 4):
            j += step
            continue
        if t.kind == "qty" and t.qty is not None and not t.qty.used and not t.qty.each:
            return j
        return None
    return None


def _choose_qty(toks: list[_Tok], k: int) -> _Qty | None:
    """The quantity for product k: the one before it, else the one after; a bare number
    ("301") loses to a quantity with a unit, and a descriptor ("5元5个的", "5斤装的") to a
    plain quantity right after it ("5斤装的一盒")."""
    before, after = _neighbour_qty(toks, k, -1), _neighbour_qty(toks, k, 1)
    idx = before if before is not None else after
    if before is not None and after is not None:
        b, a = toks[before].qty, toks[after].qty
        if b is not None and a is not None and b.kind == "bare" and a.kind != "bare":
            idx = after
    if idx is None:
        return None
    q = toks[idx].qty
    assert q is not None
    if q.descriptor:
        nxt = _neighbour_qty(toks, max(idx, k), 1)
        plain = toks[nxt].qty if nxt is not None else None
        if plain is not None and plain.kind in ("w", "p") and not plain.descriptor:
            q.used = True
            q = plain
    return q


def _is_negated(s: str, toks: list[_Tok], k: int) -> bool:
    """A negation right before or after the product. Looking left, a closing 了/吧 ends the
    negation's reach: in "土豆不要了 黄瓜还是2斤" it belongs to 土豆, not 黄瓜."""
    for step in (-1, 1):
        j = k + step
        while 0 <= j < len(toks) and toks[j].kind in ("fill", "polite"):
            if step < 0 and s[toks[j].start : toks[j].end] in ("了", "吧", "啦"):
                break
            j += step
        if 0 <= j < len(toks) and toks[j].kind == "neg":
            return True
    return False


def _pair_clause(s: str, toks: list[_Tok]) -> None:
    """Greedy, left to right: a product takes the free quantity just before it, else the one
    just after it. This reads "5斤土豆2斤黄瓜", "土豆5斤黄瓜2斤" and "5斤土豆黄瓜2斤" right."""
    for k, t in enumerate(toks):
        if t.kind == "each":
            for j in range(k + 1, len(toks)):
                nxt = toks[j]
                if nxt.kind == "qty" and nxt.qty is not None:
                    nxt.qty.each = True
                    break
                if nxt.kind not in _SKIP:
                    break
    for k, t in enumerate(toks):
        if t.kind != "prod":
            continue
        if _is_negated(s, toks, k):
            t.dropped = True
            continue
        q = _choose_qty(toks, k)
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
            for p in toks[k + 1 :]:
                if p.kind == "qty":
                    break
                if p.kind == "prod" and p.paired is None and not p.dropped:
                    p.paired = t.qty
                    p.paired_each = True
                    t.qty.used = True
    # "土豆5斤，改成3斤": the new quantity replaces the old one of the product before.
    for k, t in enumerate(toks):
        if t.kind != "change":
            continue
        after = _neighbour_qty(toks, k, 1)
        prev = next((p for p in reversed(toks[:k]) if p.kind == "prod" and not p.dropped), None)
        if after is not None and prev is not None:
            new = toks[after].qty
            assert new is not None
            new.used = True
            prev.paired = new
            prev.paired_each = False
            prev.changed = True
    # "土豆，5斤": a segment with only a quantity gives it to the unpaired product before it.
    for k, t in enumerate(toks):
        if t.kind != "qty" or t.qty is None or t.qty.used:
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
        while j >= 0 and toks[j].kind in _SKIP | {"sep"}:
            crossed = crossed or toks[j].kind == "sep"
            j -= 1
        if crossed and j >= 0 and toks[j].kind == "prod":
            p = toks[j]
            if p.paired is None and not p.dropped and p.match != "fuzzy":
                p.paired = t.qty
                t.qty.used = True


# --------------------------------------------------------------------------- items


def _item(
    s_orig: str, tok: _Tok, q: _Qty | None, default_ok: bool, in_question: bool
) -> ParsedItem | None:
    e = tok.entry
    assert e is not None
    conf = {"name": 1.0, "alias": 0.95}.get(tok.match, 0.55 + 0.3 * tok.similarity)
    grams: int | None = None
    pieces: int | None = None
    fen: int | None = None
    start, end = tok.start, tok.end
    if q is not None:
        start, end = min(start, q.start), max(end, q.end)
    if q is None:
        if not default_ok:
            return None
        conf = min(conf, 0.6)
        if e.sold_by == "weight":
            quantity, unit, grams = 1.0, "斤", 500
        elif e.sold_by == "bundle":
            quantity, unit, pieces = 1.0, "份", e.bundle_size
        else:
            quantity, unit, pieces = 1.0, e.unit, 1
    else:
        kind, value, qunit = q.kind, q.value, q.unit
        fen = q.fen
        if kind == "p" and q.kuai and e.unit != "块" and q.value > (1 if q.arabic else 2):
            # "香菜5块" is money; "冬瓜一块", "姜1块", "两块豆腐" are pieces.
            kind, conf = "m", conf * 0.85
        elif kind == "p" and q.kuai:
            fen = None
            if e.unit != "块":
                conf *= 0.85
        if kind == "m" and q.count is not None:
            kind, value, qunit, grams = q.count.kind, q.count.value, q.count.unit, None
            if kind == "w":
                grams = q.count.grams
        if kind == "bare":
            conf *= 0.75
            kind, qunit = ("w", "斤") if e.sold_by == "weight" else ("p", e.unit)
            grams = round(value * 500) if kind == "w" else None
        elif kind == "w" and grams is None:
            grams = q.grams
        if kind == "w":
            assert grams is not None
            quantity, unit = grams / 500, "斤"
            if e.sold_by != "weight":
                conf *= 0.9
        elif kind == "p":
            quantity, unit = value, qunit
            per = e.bundle_size if e.sold_by == "bundle" and qunit in BUNDLE_UNITS else 1
            if e.sold_by == "bundle" and qunit == e.unit:
                per = 1
            pieces = int(value * per) if (value * per).is_integer() else None
            grams = None
            if e.sold_by == "weight" and qunit != e.unit:
                conf *= 0.95
        else:  # money only: estimate the quantity from the catalog price
            conf *= 0.85
            assert fen is not None
            ratio = fen / e.price_fen if e.price_fen > 0 else 0.0
            if e.sold_by == "weight":
                quantity, unit, grams = round(ratio, 2), "斤", round(ratio * 500)
            elif e.sold_by == "bundle":
                quantity, unit = round(ratio * e.bundle_size, 2), e.unit
                pieces = int(quantity) if quantity.is_integer() and quantity > 0 else None
            else:
                quantity, unit = round(ratio, 2), e.unit
                pieces = int(ratio) if ratio >= 1 else None
        if tok.paired_each:
            conf *= 0.95
        if q.approx:
            conf *= 0.8
    if in_question:
        conf *= 0.8
    return ParsedItem(
        product_id=e.product_id,
        product_name=e.name,
        quantity=quantity,
        unit=unit,
        grams=grams,
        pieces=pieces,
        amount_fen=fen,
        confidence=round(min(conf, 1.0), 2),
        fragment=s_orig[start:end],
    )


def _has_content(s: str, a: int, b: int) -> bool:
    return any(c.isalnum() for c in s[a:b])


def _clauses(s: str) -> list[tuple[int, int, str]]:
    """(start, end, terminator) for each clause; the terminator is "" at the end."""
    out: list[tuple[int, int, str]] = []
    lo = 0
    for i, c in enumerate(s):
        if c in HARD_STOPS:
            if i > lo:
                out.append((lo, i, c))
            lo = i + 1
    if lo < len(s):
        out.append((lo, len(s), ""))
    return out


def _strip_mentions(s: str, catalog: Catalog) -> str:
    """Blank "@小玮 " mentions; a mention never swallows a product typed right after the name."""

    def repl(m: re.Match[str]) -> str:
        text = m.group()
        cut = len(text)
        for k in range(3, len(text)):
            if catalog.match_at(text, k, len(text)) is not None:
                cut = k
                break
        return " " * cut + text[cut:]

    return _MENTION.sub(repl, s) if "@" in s else s


def _question_segments(
    s: str, toks: list[_Tok], lo: int, hi: int, stop: str
) -> list[tuple[int, int, bool]]:
    """The comma-separated parts of a clause that ask something -> (start, end, asks_price).
    A trailing ? with no question word marks the last part."""
    bounds = [lo] + [t.start for t in toks if t.kind == "sep"] + [hi]
    out: list[tuple[int, int, bool]] = []
    for a, b in pairwise(bounds):
        part = s[a:b]
        if any(m in part for m in QUESTION_MARKERS):
            out.append((a, b, _asks_info(part)))
    if not out and stop in ("?", "？"):
        a = bounds[-2]
        if any(t.kind in ("prod", "res", "qty") for t in toks if a <= t.start):
            out.append((a, hi, _asks_info(s[a:hi])))
    return out


def _asks_info(part: str) -> bool:
    """A price or yes/no fact question ("馒头是5元5个吗"): nothing in it is ordered."""
    return any(m in part for m in PRICE_MARKERS) or ("是" in part and "吗" in part)


def _chatter_around(toks: list[_Tok], prod: _Tok) -> bool:
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


def _list_item(toks: list[_Tok], k: int) -> tuple[int, int]:
    """Token index range [a, b) of the list item (between separators) around token k."""
    a = k
    while a > 0 and toks[a - 1].kind != "sep":
        a -= 1
    b = k + 1
    while b < len(toks) and toks[b].kind != "sep":
        b += 1
    return a, b


def _orders_here(s: str, toks: list[_Tok], k: int) -> bool:
    """Is product k ordered? An order word in its own list item or in the items it is listed
    with ("给我留点小白菜和菠菜", "帮我留：排骨、香菜"), an ordering connector ("再来") opening
    it, or a 各 quantity in the clause. A verb across a comma ("东西都拿到了，黄瓜特别新鲜")
    says nothing about this product."""
    if any(t.kind == "qty" and t.qty is not None and t.qty.each for t in toks):
        return True
    a, b = _list_item(toks, k)
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
        a, b = _list_item(toks, a - 2) if a >= 2 else (0, 0)


def _looks_back(s: str, toks: list[_Tok], k: int) -> bool:
    """ "上次买的3斤排骨", "上周买了5斤土豆": a look-back word, then 的 or 了, before the
    product in its list item."""
    a, _ = _list_item(toks, k)
    lo = toks[a].start
    head = s[lo : toks[k].start]
    if "的" not in head and "了" not in head:
        return False
    for w in PAST_WORDS:
        at = head.find(w)
        if at >= 0 and ("的" in head[at + len(w) :] or "了" in head[at + len(w) :]):
            return True
    return False


_LAST_BUILT: list[tuple[tuple[CatalogEntry, ...], Catalog]] = []


def _as_catalog(catalog: Sequence[CatalogEntry] | Catalog) -> Catalog:
    """Callers that pass a plain list every time still build the indexes only once per
    distinct catalog (the tuple comparison is cheap: identical entries short-circuit)."""
    if isinstance(catalog, Catalog):
        return catalog
    key = tuple(catalog)
    if _LAST_BUILT and _LAST_BUILT[0][0] == key:
        return _LAST_BUILT[0][1]
    built = Catalog(key)
    _LAST_BUILT[:] = [(key, built)]
    return built


def parse_message(text: str, catalog: Sequence[CatalogEntry] | Catalog) -> ParseResult:
    """Parse one resident message. Build a `Catalog` once and pass it for speed."""
    cat = _as_catalog(catalog)
    s = _strip_mentions(fold(text), cat)
    found: list[tuple[int, _Tok, _Qty | None, bool, bool]] = []
    unparsed: list[tuple[int, str]] = []
    pending: list[tuple[int, _Tok, bool]] = []  # products without quantity, decided at the end
    last_question_prod: _Tok | None = None
    for lo, hi, stop in _clauses(s):
        toks = _fuzzy_pass(s, _tokenize(s, lo, hi, cat), cat)
        kinds = {t.kind for t in toks}
        if not kinds & {"prod", "qty", "res", "neg"}:
            continue  # only greetings, politeness, fillers
        segs = _question_segments(s, toks, lo, hi, stop)
        price_prods: list[_Tok] = []
        for a, b, price in segs:
            if price:  # "土豆多少钱一斤": nothing here is an order
                price_prods += [t for t in toks if t.kind == "prod" and a <= t.start < b]
                toks = [t for t in toks if not a <= t.start < b]
        _pair_clause(s, toks)
        # "有土豆吗？来5斤": an order right after a question about one product.
        if last_question_prod is not None and "prod" not in kinds:
            free = [t for t in toks if t.kind == "qty" and t.qty and not t.qty.used]
            if len(free) == 1 and free[0].qty is not None:
                free[0].qty.used = True
                found.append((free[0].start, last_question_prod, free[0].qty, False, True))
        last_question_prod = None
        explained: list[tuple[int, int]] = []
        question_prods: list[_Tok] = []
        seg_items = {a: 0 for a, _, _ in segs}
        for k, t in enumerate(toks):
            if t.kind != "prod" or t.dropped:
                continue
            seg = next((a for a, b, _ in segs if a <= t.start < b), None)
            if not t.changed and _looks_back(s, toks, k):
                if t.paired is not None:
                    t.paired.used = False  # reported with the product as unparsed
                continue
            if t.paired is not None:
                found.append((t.start, t, t.paired, False, seg is not None))
                if seg is not None:
                    seg_items[seg] += 1
                explained.append((t.start, t.end))
                explained.append((t.paired.start, t.paired.end))
            elif seg is not None:
                question_prods.append(t)
            elif t.match != "fuzzy" and (
                (has_verb := _orders_here(s, toks, k))
                or (t.end - t.start >= 2 and not _chatter_around(toks, t))
            ):
                pending.append((t.start, t, has_verb))
                explained.append((t.start, t.end))
        question_prods += price_prods
        last_question_prod = question_prods[0] if len(question_prods) == 1 else None
        for a, b, price in segs:
            if price or seg_items[a] == 0:
                # A question needs a person to answer it: quote it whole.
                b_out = b + 1 if b == hi and stop else b
                unparsed.append((a, text[a:b_out].strip(" \t,，、")))
                toks = [t for t in toks if not a <= t.start < b]
        _collect_leftovers(text, s, toks, explained, lo, unparsed)
    have_items = bool(found)
    for pos, tok, verb in pending:
        if verb or have_items:
            found.append((pos, tok, None, True, False))
        else:
            unparsed.append((pos, text[tok.start : tok.end]))
    found.sort(key=lambda f: f[0])
    items: list[ParsedItem] = []
    for _, tok, q, default_ok, in_q in found:
        it = _item(text, tok, q, default_ok, in_q)
        if it is not None:
            items.append(it)
    unparsed.sort(key=lambda u: u[0])
    left = tuple(u for _, u in unparsed if u)
    if items:
        note = f"识别到{len(items)}个商品"
        if left:
            note += f"，另有{len(left)}处没看懂，请人工确认"
    elif left:
        note = "不是订单：没有识别到商品，有内容需要人工查看"
    else:
        note = "不是订单：没有识别到商品"
    return ParseResult(items=tuple(items), unparsed=left, is_order=bool(items), note=note)


def _collect_leftovers(
    text: str,
    s: str,
    toks: list[_Tok],
    explained: list[tuple[int, int]],
    lo: int,
    unparsed: list[tuple[int, str]],
) -> None:
    """Report runs of unexplained tokens (leftover text, lone quantities, cancelled products)
    as the original substring; fillers inside a run are kept so the quote reads naturally."""

    def is_explained(t: _Tok) -> bool:
        return any(a <= t.start and t.end <= b for a, b in explained)

    unknown = [
        t.kind == "res"
        or t.kind == "neg"
        or (t.kind == "prod" and not is_explained(t))
        or (t.kind == "qty" and t.qty is not None and not t.qty.used)
        for t in toks
    ]
    if not any(unknown):
        return
    # A short leftover in a clause of thanks ("谢谢小玮") is the manager's name, not content.
    polite = any(t.kind == "polite" for t in toks)
    if polite and not explained:
        chars = sum(t.end - t.start for t, u in zip(toks, unknown, strict=True) if u)
        if chars <= 4 and all(t.kind == "res" for t, u in zip(toks, unknown, strict=True) if u):
            return
    run: list[_Tok] = []
    for t, u in zip(toks, unknown, strict=True):
        if u:
            run.append(t)
        elif run and t.kind in ("fill", "verb", "neg"):
            continue
        elif run:
            _emit(text, s, run, unparsed)
            run = []
    if run:
        _emit(text, s, run, unparsed)


def _emit(text: str, s: str, run: list[_Tok], unparsed: list[tuple[int, str]]) -> None:
    a, b = run[0].start, run[-1].end
    if _has_content(s, a, b):
        unparsed.append((a, text[a:b].strip()))
