"""Fold a message to a same-length Simplified, half-width, lower-case copy.

Every offset found in the copy is also an offset in the original, so an item's fragment can
quote the resident's own words. Emoji, WeChat "[玫瑰]" codes, list marks and @mentions are
blanked to spaces rather than removed, for the same reason.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opencc import OpenCC

from ..lexicon import ALL_UNITS, FOOD_EMOJI, JIN_HOMOPHONES

if TYPE_CHECKING:
    from .catalog import Catalog

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
    if ch in FOOD_EMOJI:
        out = ch  # "🍅2斤": the catalog reads it as the product, or the tokenizer skips it
    elif 0xFF01 <= o <= 0xFF5E:
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


# Cheque numerals ("菠菜壹斤", "豆腐贰块") and 亮, dictation's 两 ("土豆亮斤"), are numbers
# only right before a unit: "陆阿姨", "伍师傅", "漂亮" stay words.
_CHEQUE = {
    "壹": "一",
    "贰": "二",
    "叁": "三",
    "参": "三",
    "肆": "四",
    "伍": "五",
    "陆": "六",
    "柒": "七",
    "捌": "八",
    "玖": "九",
    "拾": "十",
    "佰": "百",
    "亮": "两",
}
_UNIT_STARTS = "".join(sorted({u[0] for u in ALL_UNITS if not u.isascii()} | set(JIN_HOMOPHONES)))
_CHEQUE_ANY = re.compile("[" + "".join(_CHEQUE) + "]")
_CHEQUE_RUN = re.compile(
    "(?<![漂明光发月闪敞透晶响擦])[零〇一二两三四五六七八九十百"
    + "".join(_CHEQUE)
    + "]+(?=[半"
    + _UNIT_STARTS
    + "])"
)


def _cheque(m: re.Match[str]) -> str:
    return "".join(_CHEQUE.get(c, c) for c in m.group())


def fold(text: str) -> str:
    """Same-length Simplified, half-width, lower-case copy with emoji and list marks blanked."""
    cache = _FOLD
    s = "".join([cache.get(c) or _fold_char(c) for c in text])
    if _CHEQUE_ANY.search(s) is not None:
        s = _CHEQUE_RUN.sub(_cheque, s)
    if "[" in s:
        s = _WECHAT_EMOJI.sub(lambda m: " " * len(m.group()), s)
    if "." in s or "、" in s or ")" in s:
        s = _LIST_MARK.sub(lambda m: " " * len(m.group()), s)
    return s


def strip_mentions(s: str, catalog: Catalog) -> str:
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
