"""Fallbacks: "没有就来1斤五花", "柿子椒也行", "要是没有排骨就来两斤五花" name a second
choice for the manager to read, not an item (corrections.py reads what is taken back)."""

from __future__ import annotations

from ..lexicon import ANY_OF
from .model import Tok


def _prev_product(toks: list[Tok], k: int) -> Tok | None:
    return next((p for p in reversed(toks[:k]) if p.kind == "prod" and not p.dropped), None)


# "要是没有排骨就来两斤五花": an opener that names the first choice before 就.
_IF_NONE = frozenset(("没有", "要是没有", "如果没有", "实在没有", "没货"))


_ON_TO = frozenset(("的话", "的", ",", "，"))


def _first_choice(s: str, toks: list[Tok], k: int, b: int) -> int | None:
    """ "要是没有排骨就来两斤五花肉" names the first choice between the opener and 就 and
    gives the one quantity said: that is the order, what follows 就 the fallback. Returns
    the index where the fallback starts."""
    if s[toks[k].start : toks[k].end] not in _IF_NONE:
        return None
    j = k + 1
    while j < b and toks[j].kind == "prod":
        j += 1
    while j < b and toks[j].kind in ("fill", "sep") and s[toks[j].start : toks[j].end] in _ON_TO:
        j += 1  # "没有西兰花的话就来…", "如果没有排骨，就要…"
    if j == k + 1 or j >= b or s[toks[j].start : toks[j].end] != "就":
        return None
    qs = [x for x in toks[j:b] if x.kind == "qty" and x.qty is not None]
    if len(qs) != 1 or any(x.qty is not None for x in toks[k:j]):
        return None
    for p in toks[k + 1 : j]:
        p.paired = qs[0].qty
    return j


def mark_fallbacks(s: str, toks: list[Tok], first_unsold: bool = False) -> list[tuple[int, int]]:
    """Products in a fallback part of the clause: from "没有/或者…" to the end of its
    segment, or the segment that ends in "也行". Their quantities go with them. Returns the
    token index ranges [a, b) of those parts. `first_unsold`: the message asked only about
    something the catalog lacks ("有没有油条？没有的话就要五个馒头"): a fallback that opens
    it is the order."""
    parts: list[tuple[int, int]] = []
    seg_start = 0
    for k, t in enumerate(toks):
        if t.kind == "sep":
            seg_start = k + 1
        elif t.kind == "alt":
            if s[t.start : t.end] in ("要不", "要不就") and _prev_product(toks, k) is None:
                continue  # "要不来两斤排骨吧" suggests, it offers no second choice
            part = toks[
                k + 1 : next(
                    (j for j in range(k + 1, len(toks)) if toks[j].kind == "sep"), len(toks)
                )
            ]
            if (
                s[t.start : t.end] in ("要不", "要不就", "要不然")
                and any(x.kind == "qty" for x in part)
                and not any(x.kind in ("prod", "res") for x in part)
            ):
                t.kind = "fix"  # "橙子十个，要不八个吧": a new amount, not a second choice
                continue
            b = k + 1
            while b < len(toks) and toks[b].kind != "sep":
                b += 1
            word = s[t.start : t.end]
            if (
                first_unsold
                and _prev_product(toks, k) is None
                and word in _IF_NONE | {"没有的话", "没的话"}
            ):
                rest = toks[k + 1 : b]
                if rest and rest[0].kind != "prod" and any(x.kind == "prod" for x in rest):
                    t.kind = "fill"  # no first choice to fall back from
                    continue
            if (
                b < len(toks)
                and all(x.kind == "prod" for x in toks[k + 1 : b])
                and b + 1 < len(toks)
                and s[toks[b + 1].start : toks[b + 1].end] == "就"
            ):
                b += 1  # "如果没有排骨，就要两斤五花": the comma is inside the part
                while b < len(toks) and toks[b].kind != "sep":
                    b += 1
            at = _first_choice(s, toks, k, b) if _prev_product(toks, k) is None else None
            if at is not None:
                parts += [(k, k + 1), (at, b)]
            else:
                parts.append((k, b))
        elif t.kind == "alt_end":
            # "圆青椒三个 柿子椒也行": only the product just before (and a quantity right
            # before it) is the fallback.
            a = k - 1
            while a > seg_start and toks[a].kind in ("fill", "polite", "verb"):
                a -= 1
            if s[t.start : t.end] in ANY_OF and not any(
                p.kind == "prod" for p in toks[seg_start:a]
            ):
                t.kind = "fill"  # "蘑菇香菇都行": one product, named twice, either is fine
                continue
            if a >= seg_start and toks[a].kind == "prod":
                if a - 1 == seg_start and toks[a - 1].kind == "qty":
                    a -= 1  # "，2斤菠菜也行" (but "青椒三个 柿子椒也行": 三个 is 青椒's)
                parts.append((a, k + 1))
    for a, b in parts:
        for t in toks[a:b]:
            if t.qty is not None:
                t.qty.used = True
            else:
                t.alt = True  # products, and the words around them ("或者鸭蛋都行")
    return parts
