"""Parse pasted WeChat group order messages into order items (issue 5).

Pure functions over a product `Catalog`; no I/O, no database. The web pages build a draft order
from `parse_message` results and let staff confirm or fix each item.
"""

from __future__ import annotations

from .chat_block import ChatMessage, group_by_sender, split_chat_block
from .parse import Catalog, CatalogEntry, ParsedItem, ParseResult, fold, parse_message

__all__ = [
    "Catalog",
    "CatalogEntry",
    "ChatMessage",
    "ParseResult",
    "ParsedItem",
    "fold",
    "group_by_sender",
    "parse_message",
    "split_chat_block",
]
