"""Split a block copied out of a WeChat group into one message per sender turn.

Staff paste whole stretches of the group chat. WeChat copies them in a few shapes: a header
line "张阿姨 2026-11-27 18:03:12" (desktop) or "张阿姨 18:03" followed by the text, or one line
per message "[18:03] 张阿姨: 5斤土豆" / "张阿姨: 5斤土豆". Consecutive turns of one sender are
merged, because residents often send an order as several short messages; drafts ask for them
unmerged (`merge=False`), since each turn is what may or may not have become an order already.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

__all__ = ["ChatMessage", "group_by_sender", "split_chat_block"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One sender's turn; `sent_at` is the timestamp text as WeChat printed it, if any."""

    sender: str
    sent_at: str | None
    text: str


_TIME = r"\d{1,2}[:：]\d{2}(?:[:：]\d{2})?"
# The part of the day WeChat (or a phone set to English) prints before a 12-hour time.
_DAYPART = (
    r"(?:上午|下午|晚上|早上|中午|凌晨|傍晚|清晨|半夜|夜里|夜间|Yesterday|yesterday|AM|PM|am|pm)"
)
_DATE = r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/月]\d{1,2}日?|昨天|前天|今天|星期.|周.)"
_NAME = r"[^\s:：\[\]][^:：\[\]\n]{0,23}?"

_STAMP = rf"(?:{_DATE}\s*)?(?:{_DAYPART}\s*)?{_TIME}(?:\s*{_DAYPART})?"
# "张阿姨 2026-11-27 18:03:12", "张阿姨 18:03", "张阿姨 下午 6:05", "张阿姨 (18：03)" alone on
# a line. (Not the time first: "18:00 来取" is a message.)
_HEADER = re.compile(rf"^(?P<sender>{_NAME})\s+[(（]?(?P<ts>{_STAMP})[)）]?\s*$")
# "[18:03] 张阿姨: text" or "[2026-11-27 18:03] 张阿姨：text"
_BRACKET = re.compile(
    rf"^\[(?P<ts>(?:{_DATE}\s*)?{_TIME})\]\s*(?P<sender>{_NAME})\s*[:：]\s?(?P<text>.*)$"
)
# "张阿姨: text" (no timestamp)
_COLON = re.compile(rf"^(?P<sender>{_NAME})\s*[:：]\s?(?P<text>.*)$")
_HAS_QTY = re.compile(r"\d|[一二两三四五六七八九十半][斤两个把袋盒块份瓶]")


def _colon_sender(line: str, not_senders: Collection[str]) -> tuple[str, str] | None:
    m = _COLON.match(line)
    if m is None:
        return None
    sender = m.group("sender").strip()
    # "土豆：5斤" is an order line, not a sender; names never carry quantities.
    if not sender or sender in not_senders or _HAS_QTY.search(sender):
        return None
    return sender, m.group("text")


def split_chat_block(
    block: str, *, not_senders: Collection[str] = (), merge: bool = True
) -> list[ChatMessage]:
    """Messages in order. A block with no sender header at all is one message with sender "".

    The bare "name: text" form is ambiguous with "土豆：5斤"; it is read as a sender only when
    at least two lines of the block have that form and the name is not in `not_senders` (pass
    the catalog's names and aliases to rule products out). With `merge=False` every header
    starts a turn of its own, even when the same sender spoke just before.
    """
    lines = block.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    timed = any(_HEADER.match(ln.strip()) or _BRACKET.match(ln.strip()) for ln in lines)
    colon_lines = sum(1 for ln in lines if _colon_sender(ln.strip(), not_senders) is not None)
    use_colon = colon_lines >= 2 or (timed and colon_lines >= 1)

    turns: list[tuple[str, str | None, list[str]]] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        header = _HEADER.match(line)
        if header is not None:
            turns.append((header.group("sender").strip(), header.group("ts"), []))
            continue
        bracket = _BRACKET.match(line)
        if bracket is not None:
            turns.append((bracket.group("sender").strip(), bracket.group("ts"), [bracket["text"]]))
            continue
        colon = _colon_sender(line, not_senders) if use_colon else None
        if colon is not None:
            turns.append((colon[0], None, [colon[1]]))
            continue
        if not turns:
            turns.append(("", None, []))
        turns[-1][2].append(line)

    merged: list[ChatMessage] = []
    for sender, ts, texts in turns:
        text = "\n".join(t for t in texts if t.strip())
        if merge and merged and merged[-1].sender == sender:
            prev = merged[-1]
            joined = "\n".join(t for t in (prev.text, text) if t)
            merged[-1] = ChatMessage(prev.sender, prev.sent_at, joined)
        else:
            merged.append(ChatMessage(sender, ts, text))
    return [m for m in merged if m.text or m.sender]


def group_by_sender(messages: Iterable[ChatMessage]) -> dict[str, list[ChatMessage]]:
    """One list per sender, in order of first appearance: one draft order per household."""
    out: dict[str, list[ChatMessage]] = {}
    for m in messages:
        out.setdefault(m.sender, []).append(m)
    return out
