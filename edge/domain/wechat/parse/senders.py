"""A pasted stretch of the group chat is read one sender at a time.

Header lines ("橙子妈妈 08:01", "[18:03] 张阿姨: …") name who spoke; they are never items
and never "not understood", even when the name holds a product and the time holds digits.
Each sender's turns are read together, so a later turn can correct that sender's earlier
one ("刚才的芹菜改成一斤") and never another neighbour's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..chat_block import split_chat_block
from .catalog import Catalog
from .folding import fold

_TIME = re.compile(r"\d{1,2}[:：]\d{2}")


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
    for t in turns:
        if t.text:
            out.setdefault(t.sender, []).append(t.text)
    return [(sender, "\n".join(parts)) for sender, parts in out.items()]
