"""A pasted stretch of the group chat is read one sender at a time.

Header lines ("橙子妈妈 08:01", "[18:03] 张阿姨: …") name who spoke; they are never items
and never "not understood", even when the name holds a product and the time holds digits.
Each sender's turns are read together, so a later turn can correct that sender's earlier
one ("刚才的芹菜改成一斤") and never another neighbour's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from ..chat_block import ChatMessage, split_chat_block
from .catalog import Catalog
from .folding import fold
from .model import ParsedItem
from .tokens import tokenize

_TIME = re.compile(r"\d{1,2}[:：]\d{2}")
# "都要了", "那我全要了吧", "都给我留着": the whole of what was just offered.
_TAKES_ALL = re.compile(
    r"[那我就好的嗯行哦,， ]*(?:都|全|全都|全部|统统)"
    r"(?:要|要了|要吧|要啦|给我|给我留着|留给我|包了)"
    r"[了吧啦呀啊哈!！。~～ ]*"
)


class _ProductNames:
    """ "土豆：5斤" is an order line, not a sender called 土豆: a name the catalog knows,
    in any script, is never a sender."""

    __slots__ = ("_catalog",)

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name:
            return False
        folded = fold(name).strip()
        hit = self._catalog.match_at(folded, 0, len(folded)) if folded else None
        return hit is not None and hit[0] == len(folded)

    def __iter__(self) -> Iterator[str]:  # a Collection; split_chat_block only asks `in`
        return iter(())

    def __len__(self) -> int:
        return 0


def sender_texts(text: str, catalog: Catalog) -> list[tuple[str, str]] | None:
    """(sender, that sender's turns joined) in order of first appearance, or None when the
    text is one message with no sender headers."""
    if ":" not in text and "：" not in text:
        return None
    # Cheap first: a header has a time ("08:01"), or two lines look like "name: text".
    if (
        _TIME.search(text) is None
        and sum(1 for ln in text.splitlines() if ":" in ln or "：" in ln) < 2
    ):
        return None
    turns = split_chat_block(text, not_senders=_ProductNames(catalog))
    if all(not t.sender for t in turns):
        return None
    out: dict[str, list[str]] = {}
    for t in take_offers(turns, catalog):
        if t.text:
            out.setdefault(t.sender, []).append(t.text)
    return [(sender, "\n".join(parts)) for sender, parts in out.items()]


_NUMBERED = re.compile(r"^[ \t]*\d{1,3}[.、)）]")


def chain_title(text: str, catalog: Catalog) -> str:
    """ "【接龙】周六团购鸡蛋 / 1. 张姐 2斤 / 2. 李姐 3斤": a 接龙 whose title names one
    product and whose numbered lines give only who and how much: each such line is of that
    product, so the line gains its name. Lines naming a product of their own keep it."""
    if "接龙" not in text:
        return text
    lines = text.split("\n")
    first = next((k for k, ln in enumerate(lines) if _NUMBERED.match(ln)), None)
    if first is None or first == 0:
        return text
    head = fold("\n".join(lines[:first]))
    named = [t for t in tokenize(head, 0, len(head), catalog) if t.kind == "prod"]
    if len({t.entry for t in named}) != 1 or named[0].entry is None:
        return text
    name = named[0].entry.name
    for k in range(first, len(lines)):
        s = fold(lines[k])
        toks = tokenize(s, 0, len(s), catalog) if _NUMBERED.match(lines[k]) else []
        q = next((t for t in toks if t.qty is not None and t.qty.kind in ("w", "p", "m")), None)
        if q is not None and not any(t.kind == "prod" for t in toks):
            lines[k] = f"{lines[k][: q.start]}{name}{lines[k][q.start :]}"  # "张姐 鸡蛋2斤"
    return "\n".join(lines)


def as_quoted(items: list[ParsedItem], body: str, titled: str) -> list[ParsedItem]:
    """Items read from `chain_title`'s lines quote what the resident wrote: the title's
    product name the line gained is taken out of the fragment again."""
    if titled == body:
        return items
    out = []
    for it in items:
        if it.fragment not in body and it.product_name in it.fragment:
            bare = it.fragment.replace(it.product_name, "", 1)
            if bare in body:
                it = replace(it, fragment=bare)
        out.append(it)
    return out


def take_offers(turns: Sequence[ChatMessage], catalog: Catalog) -> list[ChatMessage]:
    """ "都要了" right after another sender's turn that offers one amount ("就剩两个了")
    takes it: the taker's turn gains the amount as written, and the offer turn goes, since
    it was never the offerer's own order. The drafts read the turns the same way."""
    out = list(turns)
    for k in range(1, len(out)):
        taker, offer = out[k], out[k - 1]
        if taker.sender == offer.sender or not offer.text:
            continue
        if _TAKES_ALL.fullmatch(fold(taker.text)):
            taken = _offer(offer.text, catalog)
            if taken is not None:
                out[k] = replace(taker, text=f"{taker.text}：{taken}")
                out[k - 1] = replace(offer, text="")
        elif _amount_only(taker.text, catalog):
            named = _offer(offer.text, catalog, named_only=True)
            if named:  # "今天到了西兰花，6元一斤" / "给我留两颗": the amount is of that product
                out[k] = replace(taker, text=f"{named}：{taker.text}")
    return [t for t in out if t.text]


def _amount_only(text: str, catalog: Catalog) -> bool:
    """Is the turn an order word and one amount, naming no product ("给我留两颗")?"""
    s = fold(text)
    if "?" in s or "？" in s or "吗" in s:
        return False
    toks = tokenize(s, 0, len(s), catalog)
    qtys = [t for t in toks if t.kind == "qty" and t.qty is not None and t.qty.kind != "bare"]
    return (
        len(qtys) == 1
        and any(t.kind == "verb" for t in toks)
        and not any(t.kind in ("prod", "res", "price", "neg") for t in toks)
    )


def _offer(text: str, catalog: Catalog, *, named_only: bool = False) -> str | None:
    """ "就剩两个了", "今天到了土鸡蛋，还有5斤": the one quantity a turn offers, with the one
    product it names if any, as written; None when it offers no single amount.
    `named_only`: the one product the turn names, whatever its amounts or prices."""
    s = fold(text)
    toks = tokenize(s, 0, len(s), catalog)
    if named_only:
        named = [t for t in toks if t.kind == "prod"]
        if len({t.entry for t in named}) != 1:
            return None
        return text[named[0].start : named[0].end]
    qtys = [t for t in toks if t.kind == "qty" and t.qty is not None and t.qty.kind != "bare"]
    prods = {t.entry for t in toks if t.kind == "prod"}
    if len(qtys) != 1 or len(prods) > 1 or any(t.kind == "price" for t in toks):
        return None
    q = qtys[0]
    name = next((text[t.start : t.end] for t in toks if t.kind == "prod"), "")
    return name + text[q.start : q.end]
