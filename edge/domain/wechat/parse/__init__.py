"""Turn one pasted WeChat order message into order items.

The message is first folded to a same-length Simplified, half-width, lower-case copy, so every
offset found in the copy is also an offset in the original and `ParsedItem.fragment` can quote
the resident's own words. The copy is cut into clauses at hard stops (。！？；newline), each
clause into tokens (product, quantity, separator, filler, leftover) by longest match, and
quantities are then paired with the product next to them. Anything with content that pairs with
nothing is reported in `ParseResult.unparsed`, never dropped.

Choices worth knowing:

* A product named without a quantity ("要点香菜") becomes 1 of its unit with confidence 0.6,
  but only when the clause has an order verb (要/来/买…) or the message has other items;
  otherwise ("今天的香菜真好") it is reported as unparsed.
* Money-only items ("10块钱的香菜") carry `amount_fen`; `quantity` is then the estimate
  amount / catalog price in the catalog unit, for the desk to weigh up to the amount.
* A by-weight product ordered in pieces ("西红柿3个") keeps the piece unit; the desk weighs it.
* Fuzzy matches (one wrong character in a name of 3+ characters, via rapidfuzz; in a name of
  2 characters, one character swapped for a listed homophone or look-alike, "鸡旦"/"黄爪") are
  kept only when a quantity sits next to them, and carry lower confidence.
* A product introduced by a look-back word ("上次买的3斤排骨真不错") is talk, not an order: it
  is reported as unparsed.
* Questions keep explicit order items but list the question in `unparsed`; price questions
  ("土豆多少钱一斤") and cancellations ("不要土豆了") produce no item.
"""

from __future__ import annotations

from .catalog import Catalog
from .folding import fold
from .model import CatalogEntry, ParsedItem, ParseResult
from .pipeline import parse_message

__all__ = ["Catalog", "CatalogEntry", "ParseResult", "ParsedItem", "fold", "parse_message"]
