"""Generalisation gate for the WeChat parser: messages written apart from the parser.

`wechat_heldout.jsonl` was written (as residents, their children and hotline staff type) before
the parser was looked at, measured, and only then used to fix the failure classes it showed, so
it now guards those fixes. `wechat_heldout_final.jsonl` was written after the fixes and never
tuned on: it is the honest figure for messages we have not seen, kept at the same thresholds.

Issue 14 did the same once more: `wechat_heldout_issue14.jsonl` (90 messages: corrections,
re-mentions, pasted headers, unknown products, price phrases, fallbacks, money, limits) was
written before the parser changed and measured P 0.54 / R 0.79 on it;
`wechat_heldout_issue14_after.jsonl` was written after the changes and scored once, untuned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_wechat_parse import score

HERE = Path(__file__).parent


@pytest.mark.parametrize("name", ["wechat_heldout.jsonl", "wechat_heldout_final.jsonl"])
def test_heldout_precision_and_recall(name: str) -> None:
    precision, recall, wrong_non_orders, _ = score(HERE / name)
    assert precision >= 0.98
    assert recall >= 0.95
    assert wrong_non_orders == 0


@pytest.mark.parametrize(
    "name", ["wechat_heldout_issue14.jsonl", "wechat_heldout_issue14_after.jsonl"]
)
def test_issue14_precision_and_recall(name: str) -> None:
    precision, recall, wrong_non_orders, _ = score(HERE / name)
    assert precision >= 0.98
    assert recall >= 0.97
    assert wrong_non_orders == 0
