"""One card per sender: drawn from the parser's draft on preview, and re-drawn from its own
form (edited rows, chosen household) after every edit."""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from datetime import datetime
from typing import Any

from edge.domain import calendar, households, products
from edge.domain.products import Product
from edge.domain.wechat.chat_block import ChatMessage
from edge.domain.wechat.drafts import MAX_PASTE_CHARS, MAX_TURNS, turn_key
from edge.domain.wechat.suggest import suggest_households
from edge.errors import BadRequest

from .card_form import CardForm
from .rows import fmt_qty, row, rows_from_form, segments

# --- cards -------------------------------------------------------------------


def card_id(key: str) -> str:
    return "wx-" + key.split(":", 1)[-1][:16]


def _parsed_rows(items: list[dict[str, Any]], catalog: dict[str, Product]) -> list[dict[str, Any]]:
    return [
        row(
            catalog,
            i["product_id"],
            fmt_qty(i["quantity"]),
            i["unit"],
            i["confidence"],
            i["fragment"],
            i["amount_fen"],
        )
        for i in items
    ]


def card_from_draft(draft: dict[str, Any], catalog: dict[str, Product]) -> dict[str, Any]:
    rows = _parsed_rows(draft["items"], catalog)
    notes = "，".join(
        f"{i['product_name']}要{i['amount_fen'] / 100:g}元的"
        for i in draft["items"]
        if i["amount_fen"]
    )
    already = draft["already_ordered"]
    return {
        "cid": card_id(draft["key"]),
        "sender": draft["sender"],
        "sent_at": draft["sent_at"],
        "text": draft["text"],
        "turns": draft["turns"],
        "turns_json": _turns_json(draft["turns"]),
        "new_keys": ",".join(t["key"] for t in draft["turns"] if t["ordered"] is None),
        "segments": segments(
            draft["text"], [i["fragment"] for i in draft["items"]], draft["unparsed"]
        ),
        "unparsed": draft["unparsed"],
        "struck": draft.get("struck", []),
        "rows": rows or [row(catalog, "", "", "", None, "", None)],
        "household": draft["household"],
        "is_order": draft["is_order"],
        "from_staff": draft["from_staff"],
        "note": draft["note"],
        "pickup_date": draft["pickup_date"],
        "already_ordered": already,
        "already_code": draft["already_code"],
        "open_orders": draft["open_orders"],
        "ack": ",".join(o["id"] for o in draft["open_orders"]),
        "collapsed": not draft["is_order"] or already is not None,
        "notes": notes,
        "delivery_mode": "",
        "hh": {"wechat_nickname": draft["sender"]},
        "error": None,
        "linked": False,
        "skipped": False,
        "suggestions": [],
    }


def _turns_json(turns: list[dict[str, Any]]) -> str:
    return json.dumps([[t["sent_at"], t["text"]] for t in turns], ensure_ascii=False)


def turns_from_form(form: CardForm, sender: str) -> list[ChatMessage]:
    """The sender's message turns the card was drawn from (`turns`: [[sent_at, text], ...]).

    A form without them (drawn before turns were remembered) is its `text` as one turn.
    """
    raw = form.turns
    if not raw.strip():
        text = form.text.replace("\r\n", "\n")[:MAX_PASTE_CHARS]
        return [ChatMessage(sender, None, text)]
    bad = BadRequest("the card's messages are damaged; paste the chat again", field="turns")
    if len(raw) > 2 * MAX_PASTE_CHARS:
        raise bad
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad from None
    if not isinstance(data, list) or not 0 < len(data) <= MAX_TURNS:
        raise bad
    turns = []
    for entry in data:
        if not isinstance(entry, list) or len(entry) != 2:
            raise bad
        sent_at, text = entry
        if not (sent_at is None or (isinstance(sent_at, str) and len(sent_at) <= 40)):
            raise bad
        if not isinstance(text, str) or len(text) > MAX_PASTE_CHARS:
            raise bad
        turns.append(ChatMessage(sender, sent_at or None, text.replace("\r\n", "\n")))
    return turns


def _ids(raw: str) -> set[str]:
    """A comma-separated list of ids or keys the card was drawn with."""
    return {part.strip() for part in raw.split(",") if part.strip()}


def card_reads(
    conn: sqlite3.Connection, form: CardForm, *, site_id: str, sees_phones: bool, now: datetime
) -> tuple[dict[str, Any] | None, str, set[str], list[Product]]:
    """What a card needs from the store besides its draft: the chosen household, the
    delivery day, the staff's names and the catalog (quick reads, on the store's readers)."""
    household = None
    household_id = chosen_household_id(form)
    if household_id:
        row = conn.execute("SELECT * FROM households WHERE id = ?", (household_id,)).fetchone()
        if row is not None:
            household = households.public_view(dict(row), sees_phones=sees_phones)
    day = calendar.load(conn, site_id).next_delivery_day(now).isoformat()
    staff_names = {r[0] for r in conn.execute("SELECT name FROM staff")}
    return household, day, staff_names, products.list_products(conn)


def chosen_household_id(form: CardForm) -> str:
    """The household a card is for: a suggestion tapped to link (`link_to`), else the one
    picked in the list or matched by nickname (`household_id`)."""
    return (form.link_to or form.household_id).strip()[:64]


def suggestions_for(
    conn: sqlite3.Connection, cards: list[dict[str, Any]], *, sees_phones: bool
) -> None:
    """Households each card from an unknown WeChat name may be, to link in one tap."""
    for card in cards:
        if card["household"] is None and card["sender"] and not card["from_staff"]:
            card["suggestions"] = suggest_households(
                conn, card["sender"], card["text"], sees_phones=sees_phones
            )


def card_from_form(
    form: CardForm,
    draft: dict[str, Any],
    catalog_products: dict[str, Product],
    *,
    household: dict[str, Any] | None,
    staff_names: set[str],
    day: str,
) -> dict[str, Any]:
    """Re-draw a card from what its form holds (edited rows, chosen household) and its
    draft, read again from the form's turns (`_card`).

    Which of its messages are ordered already is looked up again, so a card drawn before
    another tablet confirmed some of them shows them greyed now.
    """
    sender = draft["sender"]
    rows = rows_from_form(form, catalog_products)
    return {
        "cid": card_id(draft["key"]),
        "sender": sender,
        "sent_at": draft["sent_at"],
        "text": draft["text"],
        "turns": draft["turns"],
        "turns_json": _turns_json(draft["turns"]),
        "new_keys": ",".join(t["key"] for t in draft["turns"] if t["ordered"] is None),
        "drawn_keys": _ids(form.new),
        "segments": segments(
            draft["text"], [i["fragment"] for i in draft["items"]], draft["unparsed"]
        ),
        "unparsed": draft["unparsed"],
        "struck": draft.get("struck", []),
        "rows": rows or [row(catalog_products, "", "", "", None, "", None)],
        "parsed_rows": _parsed_rows(draft["items"], catalog_products),
        "household": household,
        "is_order": draft["is_order"] and sender not in staff_names,
        "from_staff": sender in staff_names,
        "note": draft["note"],
        "pickup_date": day,
        "already_ordered": draft["already_ordered"],
        "already_code": draft["already_code"],
        "open_orders": draft["open_orders"],
        "ack": ",".join(o["id"] for o in draft["open_orders"]),
        "acked": _ids(form.ack),
        "collapsed": False,
        "notes": form.notes,
        "delivery_mode": form.delivery_mode,
        "hh": form.hh() | {"home_delivery": form.hh_home_delivery},
        "error": None,
        "linked": False,
        "skipped": False,
        "suggestions": [],
    }


def turns_to_confirm(card: dict[str, Any]) -> list[ChatMessage]:
    """The turns the card's rows were drawn for: the new ones when it was drawn.

    Turns ordered since (by another tablet) stay in, so the confirm refuses instead of
    ordering their items a second time; a card with nothing new gives all its turns,
    which replays their order.
    """
    turns = [ChatMessage(card["sender"], t["sent_at"], t["text"]) for t in card["turns"]]
    drawn = card["drawn_keys"] or set(card["new_keys"].split(",")) - {""}
    picked = [t for t in turns if turn_key(t) in drawn]
    return picked or turns


def grouped(catalog: list[Product]) -> OrderedDict[str, list[Product]]:
    groups: OrderedDict[str, list[Product]] = OrderedDict()
    for p in catalog:
        groups.setdefault(p.category or "", []).append(p)
    return groups
