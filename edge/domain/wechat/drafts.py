"""From pasted chat text to draft orders, and from a confirmed draft to an order.

A paste is split into one draft per sender; each sender is matched to a
household by WeChat nickname. Staff paste overlapping stretches of the same
chat all evening, so what is remembered is each message turn (sender, the
timestamp WeChat printed, text): a confirmed draft records its turns in
`wechat_turns`, in the transaction that makes the order, and the next paste
drafts only the turns not ordered yet ("5斤土豆" ordered at 18:30, the 19:30
paste offers only "再加2斤黄瓜"). A turn with a full date matches for good;
one without (a message pasted alone, a time-only header) matches while the
order it made is still to come, so next week's "5斤土豆" is a new order.
The turn rows go into the change log like the orders they point to: they say
where an order came from, and a box recovered from the hub must not offer
those messages again.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from edge.domain import calendar, orders
from edge.domain.auth import now_iso
from edge.domain.households import HouseholdInput, public_view, update_household
from edge.domain.orders import OpenOrderExists, open_orders
from edge.domain.wechat.chat_block import ChatMessage, group_by_sender, split_chat_block
from edge.domain.wechat.parse import Catalog, CatalogEntry, parse_message
from edge.domain.wechat.parse.senders import take_offers
from edge.errors import BadRequest
from edge.store import Tx
from edge.store.ids import new_id

MAX_PASTE_CHARS = 20_000
MAX_TURNS = 200  # one sender's turns in one card, at most
# A month and a day ("2026-11-29 18:03", "11月29日 18:03"): the same stamp will not recur.
_DATED = re.compile(r"\d{1,2}\s*[-/.月]\s*\d{1,2}")


class CatalogCache:
    """The parser's catalog, rebuilt only when the products change."""

    def __init__(self) -> None:
        self._key: int | None = None
        self._catalog: Catalog | None = None

    def get(self, conn: sqlite3.Connection) -> Catalog:
        rows = conn.execute(
            "SELECT id, name, aliases, sold_by, unit, price_fen, bundle_size FROM products"
            " WHERE active = 1 ORDER BY id"
        ).fetchall()
        key = hash(tuple(tuple(r) for r in rows))
        if self._catalog is None or key != self._key:
            self._catalog = Catalog(
                [
                    CatalogEntry(
                        product_id=r["id"],
                        name=r["name"],
                        aliases=tuple(json.loads(r["aliases"])),
                        sold_by=r["sold_by"],
                        unit=r["unit"],
                        price_fen=r["price_fen"],
                        bundle_size=r["bundle_size"],
                    )
                    for r in rows
                ]
            )
            self._key = key
        return self._catalog


def _fold(text: str) -> str:
    return " ".join(text.split())


def message_key(sender: str, text: str, pickup_date: str) -> str:
    """The Idempotency-Key of a message confirmed as a whole (the API): same sender, text, day."""
    digest = hashlib.sha256(f"{sender.strip()}\n{_fold(text)}\n{pickup_date}".encode()).hexdigest()
    return f"wechat:{digest[:40]}"


def turn_key(turn: ChatMessage) -> str:
    """What identifies one message turn: its sender, its timestamp as printed, its text."""
    raw = f"{turn.sender.strip()}\n{_fold(turn.sent_at or '')}\n{_fold(turn.text)}"
    return f"turn:{hashlib.sha256(raw.encode()).hexdigest()[:40]}"


def order_key(sender: str, turns: Sequence[ChatMessage], pickup_date: str) -> str:
    """The Idempotency-Key of an order made from these turns for that day."""
    raw = "\n".join([sender.strip(), pickup_date, *(turn_key(t) for t in turns)])
    return f"wechat:{hashlib.sha256(raw.encode()).hexdigest()[:40]}"


def _text_hash(text: str) -> str:
    return hashlib.sha256(_fold(text).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Ordered:
    """The order a turn already became."""

    order_id: str
    pickup_code: str
    pickup_date: str
    status: str


def ordered_turns(
    conn: sqlite3.Connection,
    site_id: str,
    turns: Sequence[ChatMessage],
    *,
    household_id: str | None,
    today: date,
) -> list[Ordered | None]:
    """For each turn, the order it already became, if any.

    Same text, and the same sender (or, when one side was pasted without a name, the same
    household); both timestamped: the same timestamp, and the order still to come unless the
    stamp carries a date. One side without a timestamp: the order still to come.
    """
    out: list[Ordered | None] = []
    for turn in turns:
        rows = conn.execute(
            "SELECT w.sender, w.sent_at, o.id, o.pickup_code, o.pickup_date, o.status,"
            " o.household_id FROM wechat_turns w JOIN orders o ON o.id = w.order_id"
            " WHERE w.site_id = ? AND w.text_hash = ? ORDER BY w.created_at DESC, w.id DESC",
            (site_id, _text_hash(turn.text)),
        ).fetchall()
        out.append(
            next(
                (
                    Ordered(r["id"], r["pickup_code"], r["pickup_date"], r["status"])
                    for r in rows
                    if _same_turn(turn, r, household_id, today)
                ),
                None,
            )
        )
    return out


def _same_turn(turn: ChatMessage, row: sqlite3.Row, household_id: str | None, today: date) -> bool:
    sender = turn.sender.strip()
    unnamed = "" in (sender, row["sender"])
    if row["sender"] != sender and not (
        unnamed and household_id is not None and row["household_id"] == household_id
    ):
        return False
    still_to_come = bool(row["pickup_date"] >= today.isoformat())
    if turn.sent_at and row["sent_at"]:
        if _fold(turn.sent_at) != _fold(row["sent_at"]):
            return False
        return still_to_come or _DATED.search(turn.sent_at) is not None
    return still_to_come


def _order_row(conn: sqlite3.Connection, key: str) -> Ordered | None:
    row = conn.execute(
        "SELECT id, pickup_code, pickup_date, status FROM orders WHERE idempotency_key = ?",
        (key,),
    ).fetchone()
    return (
        Ordered(row["id"], row["pickup_code"], row["pickup_date"], row["status"]) if row else None
    )


def draft_orders(
    conn: sqlite3.Connection,
    catalog: Catalog,
    text: str,
    *,
    site_id: str,
    sees_phones: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """One draft per sender in the paste: the turns not ordered yet, and the household."""
    day = calendar.load(conn, site_id).next_delivery_day(now).isoformat()
    staff_names = {r[0] for r in conn.execute("SELECT name FROM staff")}
    drafts = []
    pasted = take_offers(split_chat_block(text, merge=False), catalog)  # "都要了"
    for sender, turns in group_by_sender(pasted).items():
        household = _household_by_nickname(conn, sender) if sender else None
        drafts.append(
            draft_for(
                conn,
                catalog,
                sender,
                turns[:MAX_TURNS],
                site_id=site_id,
                household_id=household["id"] if household else None,
                day=day,
                today=now.date(),
            )
            | {
                "household": public_view(household, sees_phones=sees_phones) if household else None,
                "from_staff": sender in staff_names,
            }
        )
        drafts[-1]["is_order"] = drafts[-1]["is_order"] and sender not in staff_names
    return drafts


def draft_for(
    conn: sqlite3.Connection,
    catalog: Catalog,
    sender: str,
    turns: Sequence[ChatMessage],
    *,
    site_id: str,
    household_id: str | None,
    day: str,
    today: date,
) -> dict[str, Any]:
    """One sender's draft: which turns are ordered already, and the rest parsed."""
    marks = ordered_turns(conn, site_id, turns, household_id=household_id, today=today)
    whole = "\n".join(t.text for t in turns)
    if not all(marks):
        # Confirmed as a whole (the API, or before turns were remembered): all of it is done.
        done = ordered_turns(
            conn,
            site_id,
            [ChatMessage(sender, None, whole)],
            household_id=household_id,
            today=today,
        )[0] or _order_row(conn, message_key(sender, whole, day))
        if done is not None:
            marks = [done] * len(turns)
    new = [t for t, m in zip(turns, marks, strict=True) if m is None]
    shown = new or list(turns)
    body = "\n".join(t.text for t in shown)
    result = parse_message(body, catalog)
    already = next((m for m in reversed(marks) if m is not None), None) if not new else None
    return {
        "sender": sender,
        "sent_at": shown[-1].sent_at if shown else None,
        "text": body,
        "turns": [
            {
                "sent_at": t.sent_at,
                "text": t.text,
                "key": turn_key(t),
                "ordered": asdict(m) if m else None,
            }
            for t, m in zip(turns, marks, strict=True)
        ],
        "new_turns": [{"sent_at": t.sent_at, "text": t.text} for t in new],
        "items": [asdict(i) for i in result.items],
        # lines the resident corrected or cancelled: the preview strikes them through
        "struck": [asdict(i) for i in result.struck],
        "unparsed": list(result.unparsed),
        # the manager's own replies ("土豆给您留好了") are not orders
        "is_order": result.is_order and bool(new),
        "note": result.note,
        "pickup_date": day,
        "key": order_key(sender, shown, day),
        "already_ordered": already.order_id if already else None,
        "already_code": already.pickup_code if already else None,
        "open_orders": open_orders(conn, site_id, household_id, day)
        if household_id and new
        else [],
    }


def _household_by_nickname(conn: sqlite3.Connection, nickname: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM households WHERE wechat_nickname = ? LIMIT 1", (nickname.strip(),)
    ).fetchone()
    return dict(row) if row else None


def confirm(
    tx: Tx,
    *,
    sender: str,
    text: str,
    items: list[orders.ItemInput],
    household_id: str | None,
    household: HouseholdInput | None,
    delivery_mode: str | None,
    notes: str,
    now: datetime,
    staff_id: str | None,
    turns: Sequence[ChatMessage] | None = None,
    acknowledged: Collection[str] | None = None,
) -> orders.Created:
    """Create the order for a checked draft and remember its turns, in one transaction.

    `turns` are the message turns the items come from (without them, `text` is one turn
    with no timestamp). Turns that all became an order already replay that order; some of
    them only is refused (the card was drawn before another confirm). With `acknowledged`
    (the ids of the household's orders for that day that staff were shown), any other
    such order refuses with OpenOrderExists, so a second order is always a decision.
    """
    day = calendar.load(tx.conn, tx.site_id).next_delivery_day(now).isoformat()
    given = list(turns) if turns else [ChatMessage(sender, None, text)]
    if len(given) > MAX_TURNS:
        raise BadRequest(f"at most {MAX_TURNS} messages in one order", field="turns")
    marks = ordered_turns(tx.conn, tx.site_id, given, household_id=household_id, today=now.date())
    done = [m for m in marks if m is not None]
    if done and len(done) == len(given):
        last = done[-1]
        return orders.Created(last.order_id, last.pickup_date, last.pickup_code, replayed=True)
    if done:
        codes = ", ".join(sorted({m.pickup_code for m in done}))
        raise BadRequest(
            f"part of this was already ordered ({codes}); paste the chat again", field="turns"
        )
    key = order_key(sender, given, day) if turns else message_key(sender, text, day)
    replay = _order_row(tx.conn, key) is not None
    if acknowledged is not None and household_id and not replay:
        found = open_orders(tx.conn, tx.site_id, household_id, day, exclude=set(acknowledged))
        if found:
            raise OpenOrderExists(found)
    created = orders.create_order(
        tx,
        orders.OrderInput(
            items=items,
            household_id=household_id,
            household=household,
            channel="wechat",
            delivery_mode=delivery_mode,
            notes=notes,
            placed_by="",
            idempotency_key=key,
        ),
        now,
        staff_id=staff_id,
    )
    # On a replay too: an order keyed before turns were remembered learns its turns now.
    stamp = now_iso()
    for turn in given:
        tx.insert(
            "wechat_turns",
            {
                "id": new_id(),
                "site_id": tx.site_id,
                "order_id": created.order_id,
                "sender": turn.sender.strip(),
                "sent_at": turn.sent_at,
                "text_hash": _text_hash(turn.text),
                "created_at": stamp,
            },
        )
    return created


def link_nickname(tx: Tx, nickname: str, household_id: str) -> None:
    """One tap: this WeChat nickname is this household from now on."""
    nickname = nickname.strip()
    if not nickname or len(nickname) > 40:
        raise BadRequest("nickname must be 1 to 40 characters", field="nickname")
    update_household(tx, household_id, {"wechat_nickname": nickname})


__all__ = [
    "CatalogCache",
    "ChatMessage",
    "OpenOrderExists",
    "Ordered",
    "confirm",
    "draft_for",
    "draft_orders",
    "link_nickname",
    "message_key",
    "open_orders",
    "order_key",
    "ordered_turns",
    "turn_key",
]
