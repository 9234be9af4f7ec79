"""Pair each product with the quantity next to it, within one clause."""

from __future__ import annotations

from .model import Qty, Tok

SKIP = frozenset(("fill", "polite", "verb", "price", "change"))


def neighbour_qty(toks: list[Tok], k: int, step: int) -> int | None:
    """Index of the free quantity next to token k (step -1 left, +1 right) in its segment.
    Fillers are skipped; a short leftover (≤4 chars, "切成片") is tolerated (and still
    reported as unparsed); anything else stops."""
    j = k + step
    while 0 <= j < len(toks):
        t = toks[j]
        if t.kind in SKIP or (t.kind == "res" and t.end - t.start <= 4):
            j += step
            continue
        if t.kind == "qty" and t.qty is not None and not t.qty.used and not t.qty.each:
            return j
        return None
    return None


def choose_qty(toks: list[Tok], k: int) -> Qty | None:
    """The quantity for product k: the one before it, else the one after; a bare number
    ("301") loses to a quantity with a unit, and a descriptor ("5元5个的", "5斤装的") to a
    plain quantity right after it ("5斤装的一盒")."""
    before, after = neighbour_qty(toks, k, -1), neighbour_qty(toks, k, 1)
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
        nxt = neighbour_qty(toks, max(idx, k), 1)
        plain = toks[nxt].qty if nxt is not None else None
        if plain is not None and plain.kind in ("w", "p") and not plain.descriptor:
            q.used = True
            q = plain
    return q


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
            return True
    return False


def pair_clause(s: str, toks: list[Tok]) -> None:
    """Greedy, left to right: a product takes the free quantity just before it, else the one
    just after it. This reads "5斤土豆2斤黄瓜", "土豆5斤黄瓜2斤" and "5斤土豆黄瓜2斤" right."""
    for k, t in enumerate(toks):
        if t.kind == "each":
            for j in range(k + 1, len(toks)):
                nxt = toks[j]
                if nxt.kind == "qty" and nxt.qty is not None:
                    nxt.qty.each = True
                    break
                if nxt.kind not in SKIP:
                    break
    for k, t in enumerate(toks):
        if t.kind != "prod":
            continue
        if is_negated(s, toks, k):
            t.dropped = True
            continue
        q = choose_qty(toks, k)
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
        after = neighbour_qty(toks, k, 1)
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
        while j >= 0 and toks[j].kind in SKIP | {"sep"}:
            crossed = crossed or toks[j].kind == "sep"
            j -= 1
        if crossed and j >= 0 and toks[j].kind == "prod":
            p = toks[j]
            if p.paired is None and not p.dropped and p.match != "fuzzy":
                p.paired = t.qty
                t.qty.used = True
