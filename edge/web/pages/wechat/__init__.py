"""WeChat group pages: paste a message (or a block of them), check the preview, confirm.

- rows.py: the message's understood and not-understood runs, the editable rows, order items
- cards.py: one card per sender, from the parser's draft or from its own posted form
- suggest.py: households an unknown WeChat name may be, to link in one tap
- handlers.py: the pages (paste, preview, edit, link, confirm, price post)
"""

from __future__ import annotations

from .handlers import WECHAT_PAGE_HANDLERS
from .rows import segments

__all__ = ["WECHAT_PAGE_HANDLERS", "segments"]
