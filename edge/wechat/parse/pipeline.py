"""The parser's stages, in order, for one message."""

from __future__ import annotations

from collections.abc import Sequence

from .catalog import Catalog, as_catalog
from .context import (
    chatter_around,
    clauses,
    has_content,
    looks_back,
    orders_here,
    question_segments,
)
from .folding import fold, strip_mentions
from .items import build_item
from .model import CatalogEntry, ParsedItem, ParseResult, Qty, Tok
from .pairing import pair_clause
from .tokens import fuzzy_pass, tokenize


def parse_message(text: str, catalog: Sequence[CatalogEntry] | Catalog) -> ParseResult:
    """Parse one resident message. Build a `Catalog` once and pass it for speed."""
    cat = as_catalog(catalog)
    s = strip_mentions(fold(text), cat)
    found: list[tuple[int, Tok, Qty | None, bool, bool]] = []
    unparsed: list[tuple[int, str]] = []
    pending: list[tuple[int, Tok, bool]] = []  # products without quantity, decided at the end
    last_question_prod: Tok | None = None
    for lo, hi, stop in clauses(s):
        toks = fuzzy_pass(s, tokenize(s, lo, hi, cat), cat)
        kinds = {t.kind for t in toks}
        if not kinds & {"prod", "qty", "res", "neg"}:
            continue  # only greetings, politeness, fillers
        segs = question_segments(s, toks, lo, hi, stop)
        price_prods: list[Tok] = []
        for a, b, price in segs:
            if price:  # "土豆多少钱一斤": nothing here is an order
                price_prods += [t for t in toks if t.kind == "prod" and a <= t.start < b]
                toks = [t for t in toks if not a <= t.start < b]
        pair_clause(s, toks)
        # "有土豆吗？来5斤": an order right after a question about one product.
        if last_question_prod is not None and "prod" not in kinds:
            free = [t for t in toks if t.kind == "qty" and t.qty and not t.qty.used]
            if len(free) == 1 and free[0].qty is not None:
                free[0].qty.used = True
                found.append((free[0].start, last_question_prod, free[0].qty, False, True))
        last_question_prod = None
        explained: list[tuple[int, int]] = []
        question_prods: list[Tok] = []
        seg_items = {a: 0 for a, _, _ in segs}
        for k, t in enumerate(toks):
            if t.kind != "prod" or t.dropped:
                continue
            seg = next((a for a, b, _ in segs if a <= t.start < b), None)
            if not t.changed and looks_back(s, toks, k):
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
                (has_verb := orders_here(s, toks, k))
                or (t.end - t.start >= 2 and not chatter_around(toks, t))
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
        collect_leftovers(text, s, toks, explained, lo, unparsed)
    have_items = bool(found)
    for pos, tok, verb in pending:
        if verb or have_items:
            found.append((pos, tok, None, True, False))
        else:
            unparsed.append((pos, text[tok.start : tok.end]))
    found.sort(key=lambda f: f[0])
    items: list[ParsedItem] = []
    for _, tok, q, default_ok, in_q in found:
        it = build_item(text, tok, q, default_ok, in_q)
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


def collect_leftovers(
    text: str,
    s: str,
    toks: list[Tok],
    explained: list[tuple[int, int]],
    lo: int,
    unparsed: list[tuple[int, str]],
) -> None:
    """Report runs of unexplained tokens (leftover text, lone quantities, cancelled products)
    as the original substring; fillers inside a run are kept so the quote reads naturally."""

    def is_explained(t: Tok) -> bool:
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
    run: list[Tok] = []
    for t, u in zip(toks, unknown, strict=True):
        if u:
            run.append(t)
        elif run and t.kind in ("fill", "verb", "neg"):
            continue
        elif run:
            emit(text, s, run, unparsed)
            run = []
    if run:
        emit(text, s, run, unparsed)


def emit(text: str, s: str, run: list[Tok], unparsed: list[tuple[int, str]]) -> None:
    a, b = run[0].start, run[-1].end
    if has_content(s, a, b):
        unparsed.append((a, text[a:b].strip()))
