"""Numbers and units: a quantity as written ("5斤", "一斤半", "10块钱的", "5元5个的",
"24瓶一箱"), not yet tied to a product. Price statements ("5元一斤") are read too, so they
can be set aside: they describe, they order nothing."""

from __future__ import annotations

from collections.abc import Mapping

from ..lexicon import (
    ALL_UNITS,
    CONTAINERS,
    JIN_HOMOPHONES,
    JIN_NOT_BEFORE,
    JIN_THEN_PRODUCT,
    MONEY_UNITS,
    WEIGHT_UNITS,
)
from ..numerals import DIGITS, NUMBER_START, read_number
from .model import Qty

_UNIT_LENGTHS: dict[str, tuple[int, ...]] = {
    c: tuple(sorted({len(u) for u in ALL_UNITS if u[0] == c}, reverse=True))
    for c in {u[0] for u in ALL_UNITS}
}


#: Measure words as dictation writes them, read so only right after a number and before
#: the end of the phrase ("两跟我妈一样" is not 两根).
HEARD_MEASURES = {
    "平": "瓶",
    "跟": "根",
    "更": "根",
    "各": "个",
    "和": "盒",
    "巴": "把",
    "代": "袋",
    "投": "头",
}


def unit_at(
    s: str, i: int, hi: int, own: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """The unit at s[i] -> (as written, kind). `own` adds the catalog's own units ("甘蔗"
    sold by the 节). A homophone of 斤 counts here, where a number has just been read."""
    if i >= hi:
        return None
    if s[i] == "快" and i + 1 < hi and s[i + 1] in "点些递":
        return None  # "快点", "快递": not 块
    if own:
        for n in (2, 1):
            if s[i : i + n] in own:
                return s[i : i + n], own[s[i : i + n]]
    if s[i] == "快":
        return "块", "k"  # "生姜一快": dictation's 块
    if s[i] in HEARD_MEASURES and _ends_here(s, i + 1, hi):
        return HEARD_MEASURES[s[i]], "p"  # "牛奶两平", "黄瓜两跟", "胡萝卜三更"
    if s[i] in JIN_HOMOPHONES and (
        i + 1 >= hi or s[i + 1] not in JIN_NOT_BEFORE or s.startswith(JIN_THEN_PRODUCT, i + 1)
    ):
        return "斤", "w"
    for n in _UNIT_LENGTHS.get(s[i], ()):
        kind = ALL_UNITS.get(s[i : i + n]) if i + n <= hi else None
        if kind is not None:
            # "g" only as a unit when not the start of a longer latin word.
            if n == 1 and s[i] == "g" and i + 1 < hi and "a" <= s[i + 1] <= "z":
                return None
            return s[i : i + n], kind
    return None


def skip_transparent(s: str, j: int, hi: int) -> int:
    while j < hi and s[j] in " \t":
        j += 1
    return j


def _read_money_tail(s: str, start: int, j: int, hi: int, fen: int) -> Qty:
    """After "5元"/"10块钱": jiao ("5块5"), a count ("5元5个"), a rate ("5元一斤"), "的"."""
    if j < hi and s[j] == "钱":
        j += 1
    count: Qty | None = None
    num = read_number(s, j) if j < hi and s[j] in NUMBER_START else None
    if num is not None and num[1] <= hi:
        value, k, _ = num
        unit = unit_at(s, k, hi)
        if unit is None or unit[1] == "m":
            # "5块5" / "5块5毛": a single digit of jiao.
            if value < 10 and value.is_integer() and k - j == 1:
                fen += int(value) * 10
                j = k + (len(unit[0]) if unit else 0)
                rate = unit_at(s, j + 1, hi) if j + 1 < hi and s[j] == "一" else None
                if rate is not None and rate[1] in "wpk":  # "2块5一斤"
                    return Qty("price", start, eat_de(s, j + 1 + len(rate[0]), hi))
        elif unit[1] in "wpk":
            k += len(unit[0])
            if value == 1:
                return Qty("price", start, eat_de(s, k, hi))
            if unit[1] == "w":
                count = Qty("w", j, k, value, "斤", grams=round(value * WEIGHT_UNITS[unit[0]]))
            else:
                count = Qty("p", j, k, value, unit[0])
            j = k
    if j < hi and s[j] in "/每":
        unit = unit_at(s, j + 1, hi)
        if unit is not None and unit[1] in "wpk":
            return Qty("price", start, eat_de(s, j + 1 + len(unit[0]), hi))
    return Qty("m", start, eat_de(s, j, hi), fen=fen, count=count, descriptor=count is not None)


def eat_de(s: str, j: int, hi: int) -> int:
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
        and unit_at(s, j + 1, hi) is not None
    ):
        return float(DIGITS[s[j]]), j + 1
    if arabic and s[j] in "-~到至" and j + 1 < hi and "0" <= s[j + 1] <= "9":
        up = read_number(s, j + 1)
        if up is not None and up[0] > low:
            return up[0], up[1]
    return None


def read_qty(s: str, i: int, hi: int, own: Mapping[str, str] | None = None) -> Qty | None:
    """A quantity starting at s[i], or None; `own`: the catalog's units the lexicon lacks."""
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
        return Qty("w", i, j + 2, 1.5, "斤", grams=750)
    if s[j] == "半" and _dozen(s, j + 1, hi):
        return Qty("p", i, j + 2, 6.0, "个")  # "半打橙子"
    if s[j] == "半":
        unit = unit_at(s, j + 1, hi)
        if unit is None or unit[1] == "m":
            return None
        value, j, arabic = 0.5, j + 1, False
    else:
        num = read_number(s, j)
        if num is None or num[1] > hi:
            return None
        value, j, arabic = num
        if _dozen(s, j, hi):
            return Qty("p", i, j + 1, value * 12, "个")  # "鸡蛋一打": twelve
        rng = _read_range_end(s, j, hi, value, arabic)
        if rng is not None:
            value, j = rng
            approx = True
        unit = unit_at(s, j, hi, own)
        if unit is None and j < hi and s[j] == " ":
            # "土豆 5 斤": voice input and careful typists put spaces around the number.
            k = skip_transparent(s, j, hi)
            spaced = unit_at(s, k, hi) if k < hi else None
            if spaced is not None:
                unit, j = spaced, k
        if (
            unit is None
            and j + 1 < hi
            and s[j] in "来多几"
            and (s[j] != "几" or (value >= 10 and value % 10 == 0))
        ):
            # "十来个", "二十多斤", "十几斤": about that many; the desk weighs up from it.
            about = unit_at(s, j + 1, hi)
            if about is not None:
                unit, j, approx = about, j + 1, True
        if unit is None and j + 1 < hi and s[j] in "大小":
            # "一小把香菜", "两大袋": a size word between number and measure word.
            sized = unit_at(s, j + 1, hi)
            if sized is not None and sized[1] == "p":
                unit, j = sized, j + 1
            elif sized is not None and sized[1] == "k":  # "一小块姜": a piece, never money
                return _approx(Qty("p", i, j + 2, value, "块"), approx)
    if money_prefix:
        if unit is not None and unit[1] in "mk":
            j += len(unit[0])
        return _approx(_read_money_tail(s, i, j, hi, round(value * 100)), approx)
    if unit is None:
        if s[i] in "俩仨":  # "苞米俩": two of whatever the product is counted in
            return _approx(Qty("p", i, j, value, "个", implied=True), approx)
        if not arabic:
            return None
        rate = unit_at(s, j + 1, hi) if j + 1 < hi and s[j] == "一" else None
        if rate is not None and rate[1] in "wp":  # "上周还25一斤": a price said bare
            end = j + 1 + len(rate[0])  # (not "鸡蛋2一斤排骨", dictation of two lines)
            if value >= 10 or not value.is_integer() or _ends_here(s, end, hi):
                return Qty("price", i, eat_de(s, end, hi))
        return _approx(Qty("bare", i, j, value), approx)
    name, kind = unit
    j += len(name)
    if kind == "m":
        return _approx(_read_money_tail(s, i, j, hi, round(value * MONEY_UNITS[name])), approx)
    if kind == "k":
        nxt = s[j] if j < hi else ""
        if nxt in ("钱", "的") or not value.is_integer() or (nxt and nxt in NUMBER_START):
            return _approx(_read_money_tail(s, i, j, hi, round(value * 100)), approx)
        return _approx(
            Qty("p", i, j, value, "块", fen=round(value * 100), kuai=True, arabic=arabic), approx
        )
    half = j < hi and s[j] == "半" and unit_at(s, j + 1, hi) is None
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
            elif name == "斤" and s[j] in _TENTHS and _ends_here(s, j + 1, hi):
                grams += _TENTHS.index(s[j]) * 50  # "一斤二": one 斤 and two 两
                j += 1
        if j < hi and s[j] == "多" and (j + 1 >= hi or s[j + 1] not in "少大重沉"):
            j, approx = j + 1, True  # "三斤多", "一斤多点"
            if s.startswith("一点", j):
                j += 2
            elif j < hi and s[j] == "点":
                j += 1
        packed = j < hi and s[j] == "装"
        if packed:
            j = eat_de(s, j + 1, hi)
        q = Qty("w", i, j, value, "斤", grams=round(grams), descriptor=packed)
        q.sized = packed or s.startswith(("的", "左右的", "上下的"), j)
    else:
        if half:
            value += 0.5
            j += 1
        q = Qty("p", i, j, value, name)
        # "牛奶24瓶一箱", "鸡蛋30个一盒": one container of that many.
        if j + 1 < hi and s[j] == "一":
            box = unit_at(s, j + 1, hi)
            if box is not None and box[0] in CONTAINERS and box[0] != name:
                end = j + 1 + len(box[0])
                end = eat_de(s, end + 1 if end < hi and s[end] == "装" else end, hi)
                q = Qty("p", i, end, 1.0, box[0])
    return _approx(_attach_money(s, q, hi), approx)


def _dozen(s: str, j: int, hi: int) -> bool:
    """ "一打", "半打": a dozen, unless 打 starts a verb ("一打开", "打包", "打错")."""
    return j < hi and s[j] == "打" and (j + 1 >= hi or s[j + 1] not in "开包错算听电扫折车")


# "一斤二", "两斤三": a lone numeral after 斤 counts 两 (tenths of a 斤).
_TENTHS = "〇一二三四五六七八九"


def _ends_here(s: str, j: int, hi: int) -> bool:
    """Is s[j] the end of a quantity: the end, a break, or a particle ("一斤二吧")?"""
    if j >= hi:
        return True
    c = s[j]
    return not ("\u4e00" <= c <= "\u9fff") or c in "吧的啊呀哈哦就左"


def _approx(q: Qty, approx: bool) -> Qty:
    q.approx = approx
    return q


def _attach_money(s: str, q: Qty, hi: int) -> Qty:
    """ "一斤5元" is a price; "2斤10元" is 2 斤 for 10 元."""
    j = skip_transparent(s, q.end, hi)
    num = read_number(s, j) if j < hi and s[j] in NUMBER_START else None
    if num is None:
        return q
    unit = unit_at(s, num[1], hi)
    if unit is None or unit[1] != "m":
        return q
    end = eat_de(s, num[1] + len(unit[0]), hi)
    if q.value == 1 and q.grams in (0, 500):
        return Qty("price", q.start, end)
    q.fen = round(num[0] * MONEY_UNITS[unit[0]])
    q.end = end
    return q
