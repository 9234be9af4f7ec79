"""The parser's stages, in order: `parse_message` and `_Reader.clause` list them."""

from __future__ import annotations

from collections.abc import Sequence

from ..lexicon import ADDITIVE_RE, ASKS_THE_GROUP
from .catalog import Catalog, as_catalog
from .context import (
    already_ordered,
    cancels_all,
    chatter_around,
    clauses,
    list_item,
    looks_back,
    orders_here,
    question_segments,
    this_time_after,
)
from .corrections import mark
from .earlier import said_before
from .fallbacks import mark_fallbacks
from .folding import fold, strip_mentions
from .items import build_item
from .ledger import Ledger
from .leftovers import breakdowns, collect_leftovers
from .limits import MAX_ITEMS_PER_SENDER, sensible
from .model import CatalogEntry, ParsedItem, ParseResult, Tok
from .money import money_by_example
from .pairing import additive_before, mark_additions, pair_lone_quantities, pair_products
from .senders import as_quoted, chain_title, sender_texts
from .tokens import fuzzy_pass, is_emoji, tokenize


def parse_message(text: str, catalog: Sequence[CatalogEntry] | Catalog) -> ParseResult:
    """Parse one resident message, or a pasted stretch of the group chat one sender at a
    time (header lines are never items). Build a `Catalog` once and pass it for speed."""
    cat = as_catalog(catalog)
    items: list[ParsedItem] = []
    struck: list[ParsedItem] = []
    unparsed: list[str] = []
    for body in [b for _, b in sender_texts(text, cat) or [("", text)]]:
        reader = _Reader(titled := chain_title(body, cat), cat)
        for lo, hi, stop in clauses(reader.s):
            reader.clause(lo, hi, stop)
        got, gone, left = reader.finish()
        got, gone = as_quoted(got, body, titled), as_quoted(gone, body, titled)
        if len(got) > MAX_ITEMS_PER_SENDER:
            over = got[MAX_ITEMS_PER_SENDER:]
            got = got[:MAX_ITEMS_PER_SENDER]
            left.append(
                f"一单最多{MAX_ITEMS_PER_SENDER}个商品，另有{len(over)}个没有列出：{over[0].fragment}…"
            )
        items += got
        struck += gone
        unparsed += left
    return _result(items, struck, unparsed)


def _result(items: list[ParsedItem], struck: list[ParsedItem], left: list[str]) -> ParseResult:
    if items:
        note = f"识别到{len(items)}个商品"
        if struck:
            note += f"，{len(struck)}处已改或取消"
        if left:
            note += f"，另有{len(left)}处没看懂，请人工确认"
    elif left:
        note = "不是订单：没有识别到商品，有内容需要人工查看"
    else:
        note = "不是订单：没有识别到商品"
    return ParseResult(
        items=tuple(items),
        unparsed=tuple(left),
        is_order=bool(items),
        note=note,
        struck=tuple(struck),
    )


class _Reader:
    """One sender's text, clause by clause, into a ledger of lines."""

    def __init__(self, text: str, cat: Catalog) -> None:
        self.text = text
        self.cat = cat
        self.s = strip_mentions(fold(text), cat)  # same length: offsets quote the original
        self.ledger = Ledger()
        self.unparsed: list[tuple[int, str]] = []
        self.last_question_prod: Tok | None = None
        self.last_lone_prod: Tok | None = None  # a clause that only named a product
        self.asked_unsold = False  # the clause before asked only about an unknown word
        self.said_money = False  # a line ordered by its amount of money ("十块钱的")

    def clause(self, lo: int, hi: int, stop: str) -> None:
        s, cat = self.s, self.cat
        toks = fuzzy_pass(s, tokenize(s, lo, hi, cat), cat)  # numbers, units, products
        kinds = {t.kind for t in toks}
        if not kinds & {"prod", "qty", "res", "neg"}:
            self.last_lone_prod = None
            return  # only greetings, politeness, fillers
        before, quotes = said_before(s, toks, kinds, self.ledger)  # "葱要大葱", "刚才说两斤"
        self.unparsed += [(a, self.text[a:b]) for a, b in quotes]
        placed = already_ordered(s, toks) if "qty" in kinds else None
        if placed is not None:  # "订了两斤": an order already placed, for a person to read
            a, b = toks[placed[0]].start, toks[placed[1] - 1].end
            self.unparsed.append((a, self.text[a:b]))
            toks = toks[: placed[0]] + toks[placed[1] :]
        all_off = cancels_all(s, lo, hi) if "neg" in kinds else None
        if all_off is not None and not any(t.kind == "prod" and t.end <= all_off[0] for t in toks):
            if self.ledger.cancel_all():  # "刚才的都不要了", "都不要了，换成三斤黄瓜"
                toks = [t for t in toks if not all_off[0] <= t.start < all_off[1]]
            all_off = None
        segs = question_segments(s, toks, lo, hi, stop)
        price_prods: list[Tok] = []
        priced: list[Tok] = []  # products whose price was asked (not asking the group)
        for a, b, price in segs:
            if price:  # "土豆多少钱一斤": nothing here is an order
                here = [t for t in toks if t.kind == "prod" and a <= t.start < b]
                price_prods += here
                if not any(w in s[a:b] for w in ASKS_THE_GROUP):
                    priced += here
                toks = [t for t in toks if not a <= t.start < b]
        # "有没有油条？没有的话就要五个馒头": only something the catalog lacks was asked for.
        unsold = (self.asked_unsold or _asks_unsold(toks, segs)) and not (
            self.ledger.lines or self.last_question_prod
        )
        fallbacks = mark_fallbacks(s, toks, unsold)  # "没有就来1斤五花", "柿子椒也行"
        if fallbacks and self.last_question_prod is not None:
            self._asked_then_fallback(toks, fallbacks[0])
        self.said_money = money_by_example(s, toks, self.said_money)  # "排骨买五十"
        pair_products(s, toks)
        mark(s, toks)  # "改成3斤", "不，2斤", "芹菜换成菠菜"
        pair_lone_quantities(s, toks)
        mark_additions(s, toks)  # "菠菜再来一斤": more of a line already there
        said_how = breakdowns(s, toks)  # "豆腐两块（一块老豆腐一块嫩豆腐）"
        explained: list[tuple[int, int]] = said_how + before
        self._more_of_last_line(toks, explained)
        if len(priced) == 1 and any(t.kind == "verb" for t in toks):
            # "西瓜多少钱一个，要一个": the price asked, then the order of it.
            self._answer_to_question(toks, explained, priced[0])
        self._answer_to_question(toks, explained)
        self._said_again(toks, explained)
        question_prods = self._lines(toks, segs, lo, hi, explained)
        if all_off is not None and not any(t.kind == "prod" and t.end > all_off[0] for t in toks):
            if self.ledger.cancel_all():
                explained.append((all_off[0], hi))  # "土豆两斤，算了都不要了"
        elif all_off is not None:  # "土豆两斤黄瓜两根都不要了，来三斤茄子": those said here
            self.ledger.cancel_all(within=(lo, all_off[0]))
            if any(ln.struck and lo <= ln.tok.start < all_off[0] for ln in self.ledger.lines):
                explained.append(all_off)
        self.last_question_prod = (
            (question_prods + price_prods)[0] if len(question_prods + price_prods) == 1 else None
        )
        self.last_lone_prod = self._lone_prod(toks)
        self.asked_unsold = _asks_unsold(toks, segs)
        for a, b in fallbacks:
            if not any(x <= a and b <= y and (x, y) != (a, b) for x, y in fallbacks):
                self._quote_fallback(toks[a:b], explained)
        for a, b, price in segs:
            if price or not any(
                t.kind == "prod" and a <= t.start < b and _covered(t, explained) for t in toks
            ):
                # A question needs a person to answer it: quote it whole.
                b_out = b + 1 if b == hi and stop else b
                self.unparsed.append((a, self.text[a:b_out].strip(" \t,，、")))
                toks = [t for t in toks if not a <= t.start < b]
        collect_leftovers(self.text, s, toks, explained, self.unparsed)

    def _more_of_last_line(self, toks: list[Tok], explained: list[tuple[int, int]]) -> None:
        """ "鸡蛋二斤。再来一斤", a later turn "再加一斤": a clause that is only an additive
        word and a quantity adds it to the last line said, when it is of the same measure."""
        if not toks or ADDITIVE_RE.search(self.s, toks[0].start, toks[-1].end) is None:
            return
        if any(t.kind in ("prod", "res") and not t.alt for t in toks):
            return
        free = [k for k, t in enumerate(toks) if t.kind == "qty" and t.qty and not t.qty.used]
        if len(free) != 1:
            return
        t = toks[free[0]]
        q = t.qty
        if q is None or not additive_before(self.s, toks, free[0]) or not sensible(q):
            return
        last = next((ln for ln in reversed(self.ledger.lines) if not ln.struck and ln.qty), None)
        if last is None:
            return
        more = Tok("prod", t.start, t.start, entry=last.tok.entry, match=last.tok.match)
        more.adds = True
        if self.ledger.order(more, q, only_add=True):
            q.used = True
            explained.append((toks[0].start, t.end))

    def _said_again(self, toks: list[Tok], explained: list[tuple[int, int]]) -> None:
        """ "土豆来3斤，嗯…4斤吧": a clause that is only a quantity (and order words), of the
        measure of the last line said, says that line's amount again; the last figure counts."""
        if any(t.kind not in ("qty", "fill", "polite", "verb", "sep") for t in toks):
            return
        free = [t for t in toks if t.kind == "qty" and t.qty and not t.qty.used]
        if len(free) != 1 or len([t for t in toks if t.kind == "qty"]) != 1:
            return
        q = free[0].qty
        last = next((ln for ln in reversed(self.ledger.lines) if not ln.struck), None)
        if q is None or q.each or q.descriptor or not sensible(q) or last is None:
            return
        was = last.qty
        if was is None or was.kind != q.kind or q.kind not in ("w", "p") or was.unit != q.unit:
            return
        if self.ledger.restate(q, None, (free[0].start, free[0].end)):
            q.used = True
            explained.append((free[0].start, free[0].end))

    def _answer_to_question(
        self, toks: list[Tok], explained: list[tuple[int, int]], asked: Tok | None = None
    ) -> None:
        """ "有土豆吗？来5斤": an order right after a question about one product. Dictation
        puts a full stop at every pause ("土豆。三斤。"): a quantity alone in its clause
        goes to the product named alone in the clause before. `asked`: a product whose
        price this clause asked."""
        prod = asked or self.last_question_prod or self.last_lone_prod
        if prod is None or any(t.kind == "prod" and not t.alt for t in toks):
            return
        free = [t for t in toks if t.kind == "qty" and t.qty and not t.qty.used]
        if len(free) == 1 and free[0].qty is not None and sensible(free[0].qty):
            free[0].qty.used = True
            in_question = prod is self.last_question_prod or prod is asked
            self.ledger.order(prod, free[0].qty, in_question=in_question)
            explained.append((free[0].start, free[0].end))

    def _asked_then_fallback(self, toks: list[Tok], part: tuple[int, int]) -> None:
        """ "有排骨吗？没有的话就来两斤五花": a fallback that opens the clause after a
        question about one product falls back from that product, and its quantity is the
        one asked for (as in "要是没有排骨就来两斤五花"); the fallback is quoted as usual."""
        a, b = part
        asked = self.last_question_prod
        if asked is None or any(t.kind not in ("fill", "polite", "sep") for t in toks[:a]):
            return
        if self.ledger.live(asked.entry) is not None:
            return
        q = next((t.qty for t in toks[a:b] if t.kind == "qty" and t.qty), None)
        if q is not None and sensible(q):
            self.ledger.order(asked, q, in_question=True)

    def _lone_prod(self, toks: list[Tok]) -> Tok | None:
        """The product of a clause that named only it, as a line still without a quantity."""
        prod: Tok | None = None
        for t in toks:
            if t.kind in ("fill", "polite", "verb", "sep"):
                continue
            if prod is not None or t.kind != "prod" or t.paired is not None:
                return None
            prod = t
        line = self.ledger.live(prod.entry) if prod is not None else None
        return prod if line is not None and line.qty is None else None

    def _lines(
        self,
        toks: list[Tok],
        segs: list[tuple[int, int, bool]],
        lo: int,
        hi: int,
        explained: list[tuple[int, int]],
    ) -> list[Tok]:
        """The clause's products and corrections into the ledger, in the order said."""
        s, ledger = self.s, self.ledger
        question_prods: list[Tok] = []
        for k, t in enumerate(toks):
            if t.restate is not None:
                if sensible(t.restate) and ledger.restate(
                    t.restate, t.target, (lo, hi), less=t.less
                ):
                    explained.append((t.start, t.restate.end))  # "打错了，是3斤" whole
                else:
                    t.restate.used = False  # nothing to correct: reported
                continue
            if t.takes_back:
                if ledger.take_back() is not None:
                    a, b = list_item(toks, k)  # "算了不要了" whole
                    explained += [(x.start, x.end) for x in toks[a:b]]
                continue
            if t.kind != "prod" or t.alt:
                continue
            if t.replaces_last and k and s[toks[k - 1].start : toks[k - 1].end] in _IS:
                explained.append((toks[k - 1].start, t.start))  # "打错了，是黄瓜": 是 too
            if t.dropped:  # "西红柿不要了": strikes the line, if there is one
                if ledger.cancel(t.entry):
                    a, b = list_item(toks, k)
                    explained += [
                        (x.start, x.end)
                        for x in toks[a:b]
                        if x is t or x.kind in ("neg", "fill", "polite")
                    ]
                continue
            seg = next((a for a, b, _ in segs if a <= t.start < b), None)
            if not t.changed and t.swap is None and looks_back(s, toks, k):
                if t.paired is not None:
                    t.paired.used = False  # reported with the product as unparsed
                this_time = this_time_after(s, toks, k)
                if this_time is not None:  # "上次的排骨三斤太多了，这次要两斤"
                    ledger.order(t, this_time[1].qty)
                    explained.append((this_time[0], this_time[1].end))
                continue
            if t.paired is not None:
                if not sensible(t.paired):  # "土豆0斤": not understood, never an item
                    t.paired.used = False
                    continue
                for _ in range(t.copies):  # "我和我妈各要两斤鸡蛋": a line each
                    ledger.order(t, t.paired, in_question=seg is not None)
                explained += [(t.start, t.end), (t.paired.start, t.paired.end)]
                if t.copies > 1:
                    explained.append((lo, t.start))  # the people named before 各
                if t.changed:  # "刚才的芹菜改成一斤": the look-back is part of it
                    a, _ = list_item(toks, k)
                    explained += [(x.start, x.end) for x in toks[a:k] if x.kind == "res"]
            elif t.swap is not None:
                ledger.order(t, None)
                explained.append((t.start, t.end))
            elif t.replaces_last and ledger.replace_last(t):
                explained.append((t.start, t.end))
            elif seg is not None:
                question_prods.append(t)
            elif t.match != "fuzzy" and (
                (has_verb := orders_here(s, toks, k))
                or (t.end - t.start >= 2 and not chatter_around(toks, t) and not is_emoji(s, t))
            ):
                ledger.mention(t, has_verb)
                explained.append((t.start, t.end))
        return question_prods

    def _quote_fallback(self, part: list[Tok], explained: list[tuple[int, int]]) -> None:
        """A fallback is for the manager to read, not an item; naming a product already
        ordered ("来3斤青椒，柿子椒也行") adds nothing."""
        prods = [t for t in part if t.kind == "prod"]
        if not part:
            return
        a, b = part[0].start, part[-1].end
        explained.append((a, b))
        if any(self.ledger.live(t.entry) is None for t in prods):
            self.unparsed.append((a, self.text[a:b].strip()))

    def finish(self) -> tuple[list[ParsedItem], list[ParsedItem], list[str]]:
        """Lines named without a quantity count when an order word says so or the message
        has other items; then every line becomes an item, struck ones apart."""
        lines = self.ledger.lines
        have_items = any(ln.qty is not None and not ln.struck for ln in lines)
        items: list[ParsedItem] = []
        struck: list[ParsedItem] = []
        for line in sorted(lines, key=lambda ln: ln.pos):
            if line.qty is None and not (line.verb or have_items):
                self.unparsed.append((line.pos, self.text[line.tok.start : line.tok.end]))
                continue
            it = build_item(
                self.text,
                line.tok,
                line.qty,
                line.qty is None,
                line.in_question,
                span=line.span,
                struck=line.struck,
            )
            if it is not None:
                (struck if line.struck else items).append(it)
        self.unparsed.sort(key=lambda u: u[0])
        return items, struck, [u for _, u in self.unparsed if u]


def _asks_unsold(toks: list[Tok], segs: list[tuple[int, int, bool]]) -> bool:
    """Does a question here ask only about a word the catalog lacks ("有没有油条")?"""
    return bool(segs) and any(
        not price
        and any(t.kind == "res" and a <= t.start < b for t in toks)
        and not any(t.kind == "prod" and a <= t.start < b for t in toks)
        for a, b, price in segs
    )


_IS = ("是", "就是", "应该是")


def _covered(t: Tok, explained: list[tuple[int, int]]) -> bool:
    return any(a <= t.start and t.end <= b for a, b in explained)
