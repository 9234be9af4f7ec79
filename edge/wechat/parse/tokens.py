"""Cut a clause into tokens by longest match: product, quantity, separator, known word
(filler, politeness, order verb, negation, change, each), and leftover text."""

from __future__ import annotations

from ..lexicon import (
    ADDRESS_TERMS,
    HARD_STOPS,
    PIECE_UNITS,
    SOFT_SEPS,
    TRANSPARENT,
    WORD_MAX_LEN,
    WORD_ROLES,
)
from ..numerals import NUMBER_START
from .catalog import Catalog
from .model import Qty, Tok
from .quantities import read_qty


def boundary_ok(s: str, j: int, hi: int, catalog: Catalog) -> bool:
    """A bare number ("土豆5") must be followed by a break, a product, or a known word."""
    if j >= hi:
        return True
    c = s[j]
    if c in TRANSPARENT or c in SOFT_SEPS or c in HARD_STOPS:
        return True
    return catalog.match_at(s, j, hi) is not None or word_at(s, j, hi) is not None


def word_at(s: str, i: int, hi: int) -> tuple[int, str] | None:
    for n in range(min(WORD_MAX_LEN, hi - i), 0, -1):
        role = WORD_ROLES.get(s[i : i + n])
        if role is not None:
            return n, role
    return None


def tokenize(s: str, lo: int, hi: int, catalog: Catalog) -> list[Tok]:
    """Tokens of s[lo:hi] by longest match. A quantity beats a product only when longer, so a
    product name that starts with a numeral ("五花肉") stays a product."""
    toks: list[Tok] = []
    i = lo
    while i < hi:
        c = s[i]
        if c in TRANSPARENT or (c == "x" and i + 1 < hi and "0" <= s[i + 1] <= "9"):
            i += 1
            continue
        if c in SOFT_SEPS:
            toks.append(Tok("sep", i, i + 1))
            i += 1
            continue
        pm = catalog.match_at(s, i, hi)
        q = None
        if c in NUMBER_START or c in "半斤¥$":
            q = read_qty(s, i, hi)
            if q is not None and q.kind == "bare" and not boundary_ok(s, q.end, hi, catalog):
                q = None
        if q is not None and (pm is None or q.end - i > pm[0]):
            toks.append(Tok("price" if q.kind == "price" else "qty", i, q.end, qty=q))
            i = q.end
            continue
        if pm is not None:
            n, entry, alias = pm
            toks.append(Tok("prod", i, i + n, entry=entry, match="alias" if alias else "name"))
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
            toks.append(Tok("qty", i, i + 1, qty=Qty("p", i, i + 1, 1.0, c)))
            i += 1
            continue
        if (
            c == "个"
            and toks
            and toks[-1].kind == "verb"
            and i + 1 < hi
            and s[i + 1] in NUMBER_START
        ):
            toks.append(Tok("fill", i, i + 1))  # "来个两三斤"
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
    merged: list[Tok] = []
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


def fuzzy_pass(s: str, toks: list[Tok], catalog: Catalog) -> list[Tok]:
    """Replace a typo inside a leftover run ("西红事", "鸡旦") by a fuzzy product token."""
    out: list[Tok] = []
    for t in toks:
        if t.kind != "res" or t.end - t.start < 2:
            out.append(t)
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
