"""The message's order lines as they stand: a correction strikes the line it corrects and adds
the new one in its place, a cancellation strikes it, an addition sums into it, a re-mention
adds nothing. Struck lines are kept so the preview can show what changed."""

from __future__ import annotations

from dataclasses import dataclass

from .model import CatalogEntry, Qty, Tok


def _sum(a: Qty, b: Qty, unit: str) -> Qty | None:
    """Two quantities of one line added, when they are of the same measure. 块 adds up only
    for a product counted in 块 (elsewhere "5块" may be money)."""
    if a.kind == b.kind == "w":
        grams = a.grams + b.grams
        return Qty("w", b.start, b.end, value=grams / 500, unit="斤", grams=grams)
    if a.kind != b.kind or a.kind not in ("p", "bare") or a.unit != b.unit:
        return None
    if (a.kuai or b.kuai) and unit != "块":
        return None
    return Qty(a.kind, b.start, b.end, value=a.value + b.value, unit=a.unit, kuai=a.kuai)


def _less(a: Qty, b: Qty) -> Qty | None:
    """Line a with b taken off, when of the same measure and something is left."""
    if a.kind == b.kind == "w" and a.grams > b.grams:
        grams = a.grams - b.grams
        return Qty("w", b.start, b.end, value=grams / 500, unit="斤", grams=grams)
    if a.kind == b.kind == "p" and a.unit == b.unit and a.value > b.value:
        return Qty("p", b.start, b.end, value=a.value - b.value, unit=a.unit)
    return None


@dataclass(slots=True)
class Line:
    """One order line as the message stands so far; `qty` None: named without a quantity."""

    tok: Tok
    qty: Qty | None
    pos: int
    in_question: bool = False
    verb: bool = True  # a quantity-less line: an order word says it is ordered
    struck: str = ""
    span: tuple[int, int] | None = None  # the fragment, when not the product's own


class Ledger:
    """The message's lines in the order they were said, corrections applied."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[Line] = []

    def live(self, entry: CatalogEntry | None) -> Line | None:
        for line in reversed(self.lines):
            if not line.struck and line.tok.entry is entry:
                return line
        return None

    def _replace(self, old: Line, new: Line) -> None:
        # A line named without a quantity was never a real amount: it is simply replaced.
        if old.qty is None:
            self.lines.remove(old)
        else:
            old.struck = "corrected"
        new.pos = old.pos
        self.lines.append(new)

    def order(
        self, tok: Tok, qty: Qty | None, in_question: bool = False, *, only_add: bool = False
    ) -> bool:
        """A product with its quantity (or, after 换成, the replaced line's quantity). True
        when the quantity was added to a line already there; `only_add`: do nothing else."""
        new = Line(tok, qty, tok.start, in_question)
        old = self.live(tok.entry)
        if old is not None and tok.adds and old.qty is not None and qty is not None:
            total = _sum(old.qty, qty, tok.entry.unit if tok.entry else "")
            if total is not None:  # "生菜一斤，再加一斤": one line of 2斤
                new.qty, new.span = total, (qty.start, qty.end)
                self._replace(old, new)
                return True
        if only_add:
            return False
        if (
            old is not None
            and old.qty is not None
            and qty is not None
            and qty.sized
            and not tok.theirs
            and tok.entry is not None
            and tok.entry.sold_by == "piece"
        ):
            return False  # "一袋米，不，大米要5斤装的": which one, of the line already there
        swapped = self.live(tok.swap.entry) if tok.swap is not None else None
        if swapped is not None:
            if new.qty is None:
                new.qty = swapped.qty
            self._replace(swapped, new)
            return False
        if tok.swap is not None and new.qty is None:
            gone = self._cancelled(tok.swap.entry)
            if gone is not None:  # "西红柿不要了，换成茄子": 茄子 takes its quantity
                new.qty, new.pos = gone.qty, gone.pos
                gone.struck = "corrected"
                self.lines.append(new)
                return False
        if tok.replaces_last:
            last = next((ln for ln in reversed(self.lines) if not ln.struck), None)
            if last is not None:
                self._replace(last, new)  # "大米一袋。搞错了，是挂面一袋"
                return False
        if old is not None and (tok.changed or old.qty is None):
            self._replace(old, new)
            return False
        self.lines.append(new)
        return False

    def replace_last(self, tok: Tok) -> bool:
        """ "白菜一颗，打错了，是大白菜": another product named with no quantity of its own
        takes the place of the last line, with its quantity."""
        last = next((ln for ln in reversed(self.lines) if not ln.struck), None)
        if last is None or last.tok.entry is tok.entry or last.qty is None:
            return False
        self._replace(last, Line(tok, last.qty, tok.start))
        return True

    def _cancelled(self, entry: CatalogEntry | None) -> Line | None:
        for line in reversed(self.lines):
            if line.struck == "cancelled" and line.tok.entry is entry:
                return line
        return None

    def mention(self, tok: Tok, verb: bool) -> None:
        """A product named without a quantity: a re-mention of a line adds nothing."""
        if self.live(tok.entry) is None:
            self.lines.append(Line(tok, None, tok.start, verb=verb))

    def cancel(self, entry: CatalogEntry | None) -> bool:
        line = self.live(entry)
        if line is None:
            return False
        if line.qty is None:
            self.lines.remove(line)
        else:
            line.struck = "cancelled"
        return True

    def cancel_all(self, within: tuple[int, int] | None = None) -> bool:
        """ "刚才的都不要了": strikes every line still standing (or those whose product was
        named `within` a stretch of the text)."""
        live = [
            ln
            for ln in self.lines
            if not ln.struck and (within is None or within[0] <= ln.tok.start < within[1])
        ]
        for line in live:
            self.cancel(line.tok.entry)
        return bool(live)

    def take_back(self) -> Line | None:
        """ "土豆3斤，算了": strikes the last line still standing."""
        line = next((ln for ln in reversed(self.lines) if not ln.struck), None)
        if line is not None:
            self.cancel(line.tok.entry)
        return line

    def restate(
        self, qty: Qty, target: Tok | None, same_clause: tuple[int, int], *, less: bool = False
    ) -> bool:
        """ "不，2斤", "改成3斤": the new quantity replaces the target's line, or the last
        line with a quantity. `less` ("少要一个"): it comes off that line's quantity."""
        if target is not None:
            old = self.live(target.entry)
        else:
            old = next((ln for ln in reversed(self.lines) if not ln.struck and ln.qty), None)
        if old is None:
            return False
        if less:
            left = _less(old.qty, qty) if old.qty is not None else None
            if left is None:
                return False  # more than there was, or another measure: reported
            qty = left
        lo, hi = same_clause
        span = (old.tok.start, qty.end) if lo <= old.tok.start < hi else (qty.start, qty.end)
        self._replace(old, Line(old.tok, qty, old.pos, old.in_question, span=span))
        return True
