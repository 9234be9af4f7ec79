"""From pasted chat text to draft orders, and from a confirmed draft to an order.

A paste is split into one draft per sender; each sender is matched to a
household by WeChat nickname. Confirming a draft creates a "wechat" order
for the next delivery day it can make, keyed by a hash of the sender, the
message and that day: pasting the same message twice makes one order.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict
from datetime import datetime
from typing import Any

from edge import calendar, orders
from edge.errors import BadRequest
from edge.households import HouseholdInput, public_view, update_household
from edge.store import Tx
from edge.wechat.chat_block import ChatMessage, group_by_sender, split_chat_block
from edge.wechat.parse import Catalog, CatalogEntry, parse_message

MAX_PASTE_CHARS = 20_000


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


def message_key(sender: str, text: str, pickup_date: str) -> str:
    """The Idempotency-Key of a pasted message: same sender, text and day, same order."""
    normal = " ".join(text.split())
    digest = hashlib.sha256(f"{sender.strip()}\n{normal}\n{pickup_date}".encode()).hexdigest()
    return f"wechat:{digest[:40]}"


def draft_orders(
    conn: sqlite3.Connection,
    catalog: Catalog,
    text: str,
    *,
    site_id: str,
    sees_phones: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """One draft per sender in the paste, with the household its nickname matches."""
    messages = split_chat_block(text)
    day = calendar.load(conn, site_id).next_delivery_day(now).isoformat()
    staff_names = {r[0] for r in conn.execute("SELECT name FROM staff")}
    drafts = []
    for sender, turns in group_by_sender(messages).items():
        body = "\n".join(m.text for m in turns)
        result = parse_message(body, catalog)
        household = _household_by_nickname(conn, sender) if sender else None
        drafts.append(
            {
                "sender": sender,
                "sent_at": turns[-1].sent_at,
                "text": body,
                "items": [asdict(i) for i in result.items],
                "unparsed": list(result.unparsed),
                # the manager's own replies ("土豆给您留好了") are not orders
                "is_order": result.is_order and sender not in staff_names,
                "from_staff": sender in staff_names,
                "note": result.note,
                "household": public_view(household, sees_phones=sees_phones) if household else None,
                "pickup_date": day,
                "key": message_key(sender, body, day),
                "already_ordered": _already(conn, message_key(sender, body, day)),
            }
        )
    return drafts


def _household_by_nickname(conn: sqlite3.Connection, nickname: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM households WHERE wechat_nickname = ? LIMIT 1", (nickname.strip(),)
    ).fetchone()
    return dict(row) if row else None


def _already(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT id FROM orders WHERE idempotency_key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


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
) -> orders.Created:
    """Create the order for a checked draft; a second confirm of the same paste replays."""
    day = calendar.load(tx.conn, tx.site_id).next_delivery_day(now).isoformat()
    return orders.create_order(
        tx,
        orders.OrderInput(
            items=items,
            household_id=household_id,
            household=household,
            channel="wechat",
            delivery_mode=delivery_mode,
            notes=notes,
            placed_by="",
            idempotency_key=message_key(sender, text, day),
        ),
        now,
        staff_id=staff_id,
    )


def link_nickname(tx: Tx, nickname: str, household_id: str) -> None:
    """One tap: this WeChat nickname is this household from now on."""
    nickname = nickname.strip()
    if not nickname or len(nickname) > 40:
        raise BadRequest("nickname must be 1 to 40 characters", field="nickname")
    update_household(tx, household_id, {"wechat_nickname": nickname})


__all__ = ["CatalogCache", "ChatMessage", "confirm", "draft_orders", "link_nickname", "message_key"]
