"""Who an order is for: the people before 各 ("我和我妈各要两斤鸡蛋"), and a neighbour's
quantity after a line ("给我留两袋牛奶，帮502的老周也留两袋"), each their own line."""

from __future__ import annotations

import re

from ..lexicon import ADDITIVE, FIRST_PERSON, KIN, THIRD_PARTY, names_self, names_someone_else
from .context import list_item
from .model import Tok

_JOINS = frozenset(("和", "跟", "与", "同", "还有", "以及", "及"))
# "我们俩", "咱仨", "我们三家", "两户": people counted in words.
_COUNTED = re.compile(r"(俩|仨|两|二|三|四|五|[2-5])\s*(?:家|户|个人|人|口子)?(?=$|各|每|一人)")
_COUNTS = {
    "俩": 2,
    "两": 2,
    "二": 2,
    "2": 2,
    "仨": 3,
    "三": 3,
    "3": 3,
    "四": 4,
    "4": 4,
    "五": 5,
    "5": 5,
}
_PERSON = re.compile("|".join(sorted(FIRST_PERSON + THIRD_PARTY, key=len, reverse=True)))


def people_before(s: str, toks: list[Tok], k: int) -> int:
    """ "我和我妈各要两斤鸡蛋", "我跟对门各要一个西瓜", "我们三家各要一袋大米", "楼上楼下各一个":
    各 after people, not products, gives each person a line. The people are counted by
    what joins them, by a count word, or by the people named; 1 when no person is named
    (the 各 then spreads over the products after it)."""
    e = k - 1
    while e >= 0 and toks[e].kind != "each":
        e -= 1
    a = e - 1  # back to the start of the part ("小玮，帮我和张姐各留…")
    while a >= 0 and not (toks[a].kind == "sep" and s[toks[a].start : toks[a].end] not in _JOINS):
        a -= 1
    a += 1
    if e <= a or any(x.kind == "prod" for x in toks[a:e]):
        return 1
    said = s[toks[a].start : toks[e].start]
    if not _PERSON.search(said):
        return 1
    counted = _COUNTED.search(said.rstrip())
    if counted is not None and counted.group(1) in _COUNTS:
        for x in toks[a:e]:
            if x.qty is not None:
                x.qty.used = True  # "我们俩": the two are people
        return _COUNTS[counted.group(1)]
    if any(x.kind == "qty" for x in toks[a:e]):
        return 1
    joins = sum(1 for x in toks[a:e] if x.kind == "sep" and s[x.start : x.end] in _JOINS)
    if joins:
        return joins + 1
    return max(1, len(_PERSON.findall(said)))


def for_me_too(s: str, toks: list[Tok], p: int, k: int) -> bool:
    """Is the lone quantity k the resident's own order of product p, which was ordered for
    someone else ("帮楼下李奶奶带两斤鸡蛋，我自己要一斤", "孙大爷说他要5斤土豆，我要3斤")?"""
    pa, pb = list_item(toks, p)
    qa, _ = list_item(toks, k)
    theirs = s[toks[pa].start : toks[pb - 1].end]
    mine = s[toks[qa].start : toks[k].start]
    return (
        any(t.kind == "verb" for t in toks[qa:k])
        and names_self(mine)
        and names_someone_else(theirs)
    )


def _all_theirs(s: str, toks: list[Tok], lo: int, hi: int) -> bool:
    """Are the parts in toks[lo:hi] each someone else's quantity with no product of its own
    ("鸡蛋2斤，我姐也要2斤，我妈要1斤": the parts before 我妈's)?"""
    part: list[Tok] = []
    for x in [*toks[lo:hi], Tok("sep", 0, 0)]:
        if x.kind != "sep":
            part.append(x)
            continue
        if not part:
            return False
        said = s[part[0].start : part[-1].end]
        if any(y.kind == "prod" for y in part) or not any(y.kind == "qty" for y in part):
            return False
        if not names_someone_else(said):
            return False
        part = []
    return True


def _additive(s: str, t: Tok) -> bool:
    return t.kind == "sep" and s[t.start : t.end] in ADDITIVE


def after_a_space(s: str, toks: list[Tok], a: int, k: int) -> int | None:
    """Where a neighbour's part starts when only a space parts it from the line before
    ("土豆两斤 我二姨要三斤"): right after that line's quantity, if a space follows it."""
    c = k - 1
    while c >= a and toks[c].kind not in ("qty", "prod"):
        c -= 1
    t = toks[c] if c >= a else None
    if t is None or t.kind != "qty" or t.qty is None or not t.qty.used or c + 1 >= k:
        return None
    return c + 1 if " " in s[t.end : toks[c + 1].start] else None


def for_them_too(s: str, toks: list[Tok], k: int) -> tuple[int, Tok] | None:
    """ "给我留两袋牛奶，帮502的老周也留两袋": after the resident's own line, a part that names
    someone else and ends in an order word and a quantity, with no product of its own, is a
    second line of the same product for them. Returns (where, the new product token)."""
    q = toks[k].qty
    a, b = list_item(toks, k)
    if q is None or q.each:
        return None
    spaced = after_a_space(s, toks, a, k)  # "土豆两斤 我二姨要三斤": a space between
    if spaced is not None:
        a = spaced
    if a == 0 or any(x.kind == "prod" for x in toks[a:b]):
        return None
    j = k - 1
    while j >= a and toks[j].kind in ("fill", "polite"):
        j -= 1
    after = s[toks[k].end : toks[b - 1].end] if b - 1 > k else ""
    named_after = (  # "再要一打给楼下刘奶奶": who it is for, after the quantity
        after.lstrip().startswith(("给", "帮", "替"))
        and names_someone_else(after)
        and not names_self(after)
        and all(x.kind in ("res", "fill", "polite", "verb") for x in toks[k + 1 : b])
    )
    more = j < a and _additive(s, toks[a - 1])  # "，再要一打…": opened by 再要
    verb = j >= a and toks[j].kind == "verb"
    # "鸡蛋三斤，我妈两斤，我婆婆家也两斤": only who it is for, then the quantity.
    only_them = (
        not verb
        and a < k
        and all(x.kind in ("res", "fill", "polite") for x in toks[a:k])
        and only_people(s[toks[a].start : toks[k].start])
    )
    # "，再要一打给楼下刘奶奶", "黄瓜两根给我，三根给楼下张姐": the amount, then who it is for.
    if not verb and not only_them and not (named_after and (more or j < a)):
        return None
    said = s[toks[a].start : toks[k].start]
    if not (names_someone_else(said) or named_after) or names_self(said):
        return None  # "土豆3斤，帮我带2斤" is the resident's own
    p = next((x for x in reversed(toks[:a]) if x.kind == "prod"), None)
    if p is None or p.paired is None or p.dropped or p.alt:
        return None
    pa, pb = list_item(toks, toks.index(p))
    if spaced is not None:
        if p.paired is not toks[a - 1].qty:
            return None
        pb = a
    gap = a - 2 if more and toks[a - 2].kind == "sep" else a - 1
    if spaced is None and pb != gap and not _all_theirs(s, toks, pb + 1, gap):
        return None  # only right after that product's own part, or a chain of such parts
    first = s[toks[pa].start : toks[pb - 1].end]
    if names_someone_else(first) and "也" not in said and not _another_named(first, said):
        return None  # a neighbour's line already ("给对门带两斤鸡蛋，楼上也要两斤": 也 adds)
    new = Tok("prod", toks[a].start, toks[a].start, entry=p.entry, match=p.match)
    new.paired, new.theirs = q, True
    if named_after:
        new.end = toks[b - 1].end  # the line quotes who it is for
    q.used = True
    return a, new


def _another_named(first: str, said: str) -> bool:
    """ "给我婆婆留一袋米，给我妈留两袋": the part opens with 给/帮/替 and names a person the
    line before did not."""
    if not said.lstrip().startswith(("给", "帮", "替")):
        return False
    them = set(_PERSON_RE.findall(said)) - {*FIRST_PERSON, "帮", "替", "代"}
    return bool(them) and not them & set(_PERSON_RE.findall(first))


# Person words, longest first, and the small words around them ("给隔壁老王的", "我妈那份",
# "让我帮她").
_PERSON_RE = re.compile(
    "|".join(
        sorted(
            (
                *THIRD_PARTY,
                *KIN,
                *FIRST_PERSON,
                *"姑舅伯婶嫂",
                "他们",
                "她们",
                "我们",
                "咱们",
                "你",
            ),
            key=len,
            reverse=True,
        )
    )
)
_AROUND_PEOPLE = re.compile(
    r"那份|这份|的|给|帮|替|让|家|也|份|老|小|大|二|三|带|订|捎|们|[\s,，、:：]"
)


def only_people(text: str) -> bool:
    """Does a leftover only name who the line is for ("隔壁", "妈", "楼下刘奶奶", "隔壁老王",
    "我妈那份", "让我帮她")? At most one character beside each person word: a surname."""
    found = len(_PERSON_RE.findall(text))
    if not found:
        return False
    rest = _AROUND_PEOPLE.sub("", _PERSON_RE.sub("", text))
    return len(rest) <= found
