"""What a clause leaves over: brackets that only break a line down, and the runs of words
nothing explained, quoted for the manager as "not understood"."""

from __future__ import annotations

import re

from .context import has_content
from .model import Tok
from .people import only_people

_ADDRESS = re.compile(
    r"\d{1,3}\s*(?:号楼|栋|幢|号院|楼)(?:\s*\d{1,2}\s*(?:单元|门|号门))?(?:\s*\d{3,4}\s*(?:室|号)?)?"
    r"|\d{1,2}\s*单元\s*\d{3,4}\s*(?:室|号)?"
    r"|(?<![\d.])\d{3,4}\s*(?:室|号房|(?=的))"
)


_BRACKETS = re.compile(r"[（(][^（()）]*[)）]")


def breakdowns(s: str, toks: list[Tok]) -> list[tuple[int, int]]:
    """ "豆腐两块（一块老豆腐一块嫩豆腐）": in brackets right after a line, the same product
    named again with quantities says how the line is made up; it adds no lines. Returns the
    brackets that did, as explained."""
    spans: list[tuple[int, int]] = []
    if not toks or ("(" not in s and "（" not in s):
        return spans
    for m in _BRACKETS.finditer(s, toks[0].start):
        if m.start() >= toks[-1].end:
            break
        before = [t for t in toks if t.end <= m.start()]
        line = next((t for t in reversed(before) if t.kind == "prod"), None)
        if line is None or line.paired is None:
            continue
        for t in toks:
            if m.start() < t.start < m.end() and t.kind == "prod" and t.entry is line.entry:
                t.paired = None  # a re-mention: its quantity stays used
                t.kind = "fill"
                spans.append((m.start(), m.end()))
    return spans


def collect_leftovers(
    text: str,
    s: str,
    toks: list[Tok],
    explained: list[tuple[int, int]],
    unparsed: list[tuple[int, str]],
) -> None:
    """Report runs of unexplained tokens (leftover text, lone quantities, cancelled products)
    as the original substring; fillers inside a run are kept so the quote reads naturally."""
    mask = bytearray(len(s) + 1)
    for a, b in explained:
        mask[a:b] = b"\x01" * (b - a)
    if toks:  # "3号楼2单元301", "302的": where the order goes, not content to check
        for m in _ADDRESS.finditer(s, toks[0].start, toks[-1].end):
            mask[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    unknown = [
        (t.kind in ("res", "neg", "prod") or (t.kind == "qty" and t.qty and not t.qty.used))
        and not (mask[t.start] and mask[t.end - 1])
        for t in toks
    ]
    if not any(unknown):
        return
    # A short leftover in a clause of thanks ("谢谢小玮") is the manager's name, not content.
    polite = any(t.kind == "polite" for t in toks)
    if polite and not explained:
        chars = sum(t.end - t.start for t, u in zip(toks, unknown, strict=True) if u)
        if chars <= 4 and all(t.kind == "res" for t, u in zip(toks, unknown, strict=True) if u):
            return
    # Beside a line, who it is for ("隔壁", "我妈那份") is understood, not content to check.
    people_ok = bool(explained)
    run: list[Tok] = []
    for t, u in zip(toks, unknown, strict=True):
        if u:
            run.append(t)
        elif run and t.kind in ("fill", "verb", "neg", "fix", "change", "alt", "alt_end"):
            continue
        elif run:
            _emit(text, s, run, unparsed, people_ok)
            run = []
    if run:
        _emit(text, s, run, unparsed, people_ok)


def _emit(
    text: str, s: str, run: list[Tok], unparsed: list[tuple[int, str]], people_ok: bool
) -> None:
    a, b = run[0].start, run[-1].end
    if has_content(s, a, b) and not (people_ok and only_people(s[a:b])):
        unparsed.append((a, text[a:b].strip()))
