"""Read the numbers residents type: Arabic (full-width already folded) and Chinese 0–999.

Hand-written rather than cn2an: we only need small counts, we need to know exactly how many
characters were consumed (for fragment offsets), and "两" must stay available as a weight unit
("三两" is 3 两, not a numeral), which a general converter does not model. It is also far faster.
"""

from __future__ import annotations

DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "仨": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

#: Characters that can open a number; the tokenizer tries `read_number` only on these.
NUMBER_START = frozenset("0123456789十百" + "".join(DIGITS))

# Digits that may follow 十/百 inside one numeral; 两/俩/仨 only ever stand alone or lead.
_TAIL_DIGITS = {k: v for k, v in DIGITS.items() if k not in "两俩仨"}


_MAX_DIGITS = 9


def _is_ascii_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def read_arabic(s: str, i: int) -> tuple[float, int] | None:
    """`12`, `1.5` at s[i:]; a dot is decimal only when a digit follows it."""
    n = len(s)
    j = i
    while j < n and _is_ascii_digit(s[j]):
        j += 1
    if j == i:
        return None
    if j - i > _MAX_DIGITS:
        # A 400-digit "quantity" is consumed whole but read as a number no order has, so
        # nothing downstream ever rounds an infinite float; the limits refuse it.
        while j + 1 < n and s[j] == "." and _is_ascii_digit(s[j + 1]):
            j += 2
            while j < n and _is_ascii_digit(s[j]):
                j += 1
        return float(10**_MAX_DIGITS), j
    if j + 1 < n and s[j] == "." and _is_ascii_digit(s[j + 1]):
        k = j + 1
        while k < n and _is_ascii_digit(s[k]):
            k += 1
        return float(s[i:k]), k
    return float(s[i:j]), j


def read_chinese(s: str, i: int) -> tuple[int, int] | None:
    """`五`, `十五`, `二十`, `二十五`, `一百`, `两百五` at s[i:] -> (value, end)."""
    n = len(s)
    j = i
    value = 0
    lead = DIGITS.get(s[j]) if j < n else None
    if lead is not None:
        j += 1
        if j < n and s[j] == "百":
            value = lead * 100
            j += 1
            if j < n and s[j] == "零":
                j += 1
            rest = _read_tens(s, j)
            if rest is not None:
                value += rest[0]
                j = rest[1]
            elif j < n and s[j] in _TAIL_DIGITS and not (j + 1 < n and s[j + 1] == "十"):
                # 两百五 = 250: a lone digit after 百 counts tens.
                value += _TAIL_DIGITS[s[j]] * 10
                j += 1
            return value, j
        j = i
    rest = _read_tens(s, j)
    if rest is not None:
        return rest
    if lead is not None:
        return lead, i + 1
    return None


def _read_tens(s: str, i: int) -> tuple[int, int] | None:
    """`十`, `十五`, `二十`, `二十五` (not a lone digit)."""
    n = len(s)
    j = i
    tens = 1
    if j < n and s[j] in _TAIL_DIGITS and j + 1 < n and s[j + 1] == "十":
        tens = _TAIL_DIGITS[s[j]]
        j += 1
    elif j < n and s[j] == "两" and j + 1 < n and s[j + 1] == "十":
        tens = 2
        j += 1
    if j >= n or s[j] != "十":
        return None
    j += 1
    value = tens * 10
    if j < n and s[j] in _TAIL_DIGITS and s[j] != "零":
        value += _TAIL_DIGITS[s[j]]
        j += 1
    return value, j


def read_number(s: str, i: int) -> tuple[float, int, bool] | None:
    """A number at s[i:] -> (value, end, is_arabic)."""
    if i >= len(s):
        return None
    if _is_ascii_digit(s[i]):
        got = read_arabic(s, i)
        return None if got is None else (got[0], got[1], True)
    cn = read_chinese(s, i)
    return None if cn is None else (float(cn[0]), cn[1], False)
