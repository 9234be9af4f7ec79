"""Where things are, for tests in any folder: the checkout and the WeChat message sets."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
WECHAT_SETS = Path(__file__).resolve().parent / "edge" / "wechat"
WECHAT_CORPUS = WECHAT_SETS / "wechat_corpus.jsonl"
