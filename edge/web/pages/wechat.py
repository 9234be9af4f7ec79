"""WeChat group pages: paste a message (or a block of them), check the preview, confirm.

The flow mirrors the JSON API in edge/web/api/wechat.py and calls the same domain
(edge/domain/wechat/drafts.py): one card per sender with the understood fragments and
the unparsed ones highlighted, editable rows, the household matched by WeChat
nickname (or a search and a one-tap "link this nickname"), and a confirm that
makes one "wechat" order for the next delivery day. Messages that already
became an order are shown greyed with that order's code and left out of the
draft, so a re-paste of the evening's chat offers only what is new; a card
whose messages are all ordered cannot be confirmed again. A household that
already has an open order for that day gets a warning with it, and the button
says "make a separate order anyway". A card is re-drawn from its own form
after every edit, so it works with htmx (the card swaps in place) and without
it (the card comes back as a page of its own).

The price post page shows the text for the group with a big copy button.

Text on these pages: English msgids translated from edge/locale, as in edge/pages.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import Provide
from litestar.response import Template

from edge.domain import calendar, households, orders, products
from edge.domain.auth import Staff
from edge.domain.products import Product
from edge.domain.wechat.chat_block import ChatMessage
from edge.domain.wechat.drafts import (
    MAX_PASTE_CHARS,
    MAX_TURNS,
    OpenOrderExists,
    confirm,
    draft_for,
    draft_orders,
    link_nickname,
    turn_key,
)
from edge.domain.wechat.lexicon import WEIGHT_UNITS
from edge.domain.wechat.parse_pool import PasteBusy, PasteTooLong, read_paste
from edge.domain.wechat.price_post import price_post
from edge.errors import BadRequest, EdgeError
from edge.web.forms import form_int, parse_int
from edge.web.pages.base import (
    AnyRequest,
    MeDep,
    SignInRequired,
    form_error,
    is_htmx,
    page,
    require_staff,
    to_signin,
)
from edge.web.pages.formats import parse_quantity
from edge.web.pages.i18n import gettext_for
from edge.web.shared import SettingsDep, StoreDep

#: Rows below this confidence are flagged "please check".
LOW_CONFIDENCE = 0.8
MAX_ROWS = orders.MAX_ITEMS
MAX_ROW_INDEX = 99_999  # row numbers in field names (p_3); rows past MAX_ROWS are dropped
MAX_AMOUNT_FEN = 10_000_000  # "10块钱的香菜": what a resident asked to spend, echoed back
HH_FIELDS = ("name", "phone", "building", "unit", "room", "wechat_nickname")

# --- highlighting ------------------------------------------------------------


def segments(text: str, fragments: list[str], unparsed: list[str]) -> list[tuple[int, str]]:
    """The message cut into runs: 0 plain, 1 understood, 2 not understood.

    Fragments quote the resident's own text, so they are found in it; "各"
    items share a fragment, so each search starts where the last one was found.
    """
    marks = [0] * len(text)

    def mark(piece: str, kind: int, hint: int) -> int:
        piece = piece.strip()
        if not piece:
            return hint
        at = text.find(piece, hint)
        if at < 0:
            at = text.find(piece)
        if at < 0:
            return hint
        for k in range(at, at + len(piece)):
            if kind == 1 or marks[k] == 0:
                marks[k] = kind
        return at if kind == 1 else at + len(piece)

    hint = 0
    for f in fragments:
        hint = mark(f, 1, hint)
    hint = 0
    for u in unparsed:
        hint = mark(u, 2, hint)
    runs: list[tuple[int, str]] = []
    for ch, kind in zip(text, marks, strict=True):
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + ch)
        else:
            runs.append((kind, ch))
    return runs


# --- rows and units ----------------------------------------------------------


def fmt_qty(value: float | int | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value) == int(value) else f"{value:g}"


def unit_options(product: Product | None, current: str) -> list[str]:
    """The units a row may be in; the one the resident used stays if it fits."""
    if product is None:
        base = ["斤", "个", "份"]
    elif product.sold_by == "weight":
        base = ["斤", "两", "公斤", "个"]
    elif product.sold_by == "bundle":
        base = ["份", product.unit]
    else:
        base = [product.unit]
    fits = current and (
        product is None
        or product.sold_by == "weight"
        or current not in WEIGHT_UNITS  # pieces and bundles take any piece word
    )
    if fits and current not in base:
        base.append(current)
    return list(dict.fromkeys(base))


def default_unit(product: Product | None) -> str:
    if product is None or product.sold_by == "weight":
        return "斤"
    return "份" if product.sold_by == "bundle" else product.unit


def _row(
    catalog: dict[str, Product],
    product_id: str,
    quantity: str,
    unit: str,
    confidence: float | None,
    fragment: str,
    amount_fen: int | None,
) -> dict[str, Any]:
    product = catalog.get(product_id)
    options = unit_options(product, unit)
    if unit not in options:
        unit = default_unit(product)
    return {
        "product_id": product_id if product else "",
        "quantity": quantity,
        "unit": unit,
        "units": options,
        "confidence": confidence,
        "low": confidence is not None and confidence < LOW_CONFIDENCE,
        "fragment": fragment,
        "amount_fen": amount_fen,
    }


def _confidence(form: FormMultiDict, name: str) -> float | None:
    """The parser's confidence, echoed back: 0 to 1 (an "inf" would break the card's percent)."""
    text = str(form.get(name, "") or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # refused just below, like "inf" and "nan" themselves
    if not 0 <= value <= 1:
        raise BadRequest(f"{name} must be a number from 0 to 1", field=name)
    return value


def rows_from_form(form: FormMultiDict, catalog: dict[str, Product]) -> list[dict[str, Any]]:
    """The card's rows as posted: p_N product, q_N quantity, u_N unit, c_N/f_N/a_N kept."""
    indices = sorted(
        parse_int(k[2:], k[:20], maximum=MAX_ROW_INDEX) for k in form if k.startswith("p_")
    )
    rows = []
    for i in indices[:MAX_ROWS]:
        rows.append(
            _row(
                catalog,
                str(form.get(f"p_{i}", "") or ""),
                str(form.get(f"q_{i}", "") or "").strip()[:12],
                str(form.get(f"u_{i}", "") or "").strip()[:4],
                _confidence(form, f"c_{i}"),
                str(form.get(f"f_{i}", "") or "")[:200],
                form_int(form, f"a_{i}", maximum=MAX_AMOUNT_FEN),
            )
        )
    return rows


def items_from_rows(
    rows: list[dict[str, Any]], catalog: dict[str, Product], _: Callable[..., str]
) -> list[orders.ItemInput]:
    items = []
    for n, row in enumerate(rows, start=1):
        product = catalog.get(row["product_id"])
        if product is None:
            if row["quantity"]:
                raise BadRequest(
                    _("Row %(n)s: choose a product, or remove the row.", n=n), field="items"
                )
            continue
        try:
            quantity = parse_quantity(row["quantity"])
        except BadRequest as exc:
            raise BadRequest(f"{product.name}: {exc.detail}", field="items.quantity") from None
        if quantity is None:
            continue
        items.append(orders.ItemInput(product.id, quantity, row["unit"] or None, row["amount_fen"]))
    if not items:
        raise BadRequest("choose at least one product and a quantity", field="items")
    return items


# --- cards -------------------------------------------------------------------


def card_id(key: str) -> str:
    return "wx-" + key.split(":", 1)[-1][:16]


def _parsed_rows(items: list[dict[str, Any]], catalog: dict[str, Product]) -> list[dict[str, Any]]:
    return [
        _row(
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
        "rows": rows or [_row(catalog, "", "", "", None, "", None)],
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
    }


def _turns_json(turns: list[dict[str, Any]]) -> str:
    return json.dumps([[t["sent_at"], t["text"]] for t in turns], ensure_ascii=False)


def turns_from_form(form: FormMultiDict, sender: str) -> list[ChatMessage]:
    """The sender's message turns the card was drawn from (`turns`: [[sent_at, text], ...]).

    A form without them (drawn before turns were remembered) is its `text` as one turn.
    """
    raw = str(form.get("turns", "") or "")
    if not raw.strip():
        text = str(form.get("text", "") or "").replace("\r\n", "\n")[:MAX_PASTE_CHARS]
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


def _ids(form: FormMultiDict, name: str) -> set[str]:
    """A comma-separated list of ids or keys the card was drawn with."""
    raw = str(form.get(name, "") or "")[: 64 * (MAX_TURNS + 1)]
    return {part.strip() for part in raw.split(",") if part.strip()}


def card_reads(
    conn: sqlite3.Connection, form: FormMultiDict, *, site_id: str, sees_phones: bool, now: datetime
) -> tuple[dict[str, Any] | None, str, set[str], list[Product]]:
    """What a card needs from the store besides its draft: the chosen household, the
    delivery day, the staff's names and the catalog (quick reads, on the store's readers)."""
    household = None
    household_id = str(form.get("household_id", "") or "").strip()
    if household_id:
        row = conn.execute("SELECT * FROM households WHERE id = ?", (household_id,)).fetchone()
        if row is not None:
            household = households.public_view(dict(row), sees_phones=sees_phones)
    day = calendar.load(conn, site_id).next_delivery_day(now).isoformat()
    staff_names = {r[0] for r in conn.execute("SELECT name FROM staff")}
    return household, day, staff_names, products.list_products(conn)


def card_from_form(
    form: FormMultiDict,
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
        "drawn_keys": _ids(form, "new"),
        "segments": segments(
            draft["text"], [i["fragment"] for i in draft["items"]], draft["unparsed"]
        ),
        "unparsed": draft["unparsed"],
        "struck": draft.get("struck", []),
        "rows": rows or [_row(catalog_products, "", "", "", None, "", None)],
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
        "acked": _ids(form, "ack"),
        "collapsed": False,
        "notes": str(form.get("notes", "") or "")[:500],
        "delivery_mode": str(form.get("delivery_mode", "") or ""),
        "hh": {f: str(form.get(f"hh_{f}", "") or "")[:40] for f in HH_FIELDS}
        | {"home_delivery": form.get("hh_home_delivery") == "1"},
        "error": None,
        "linked": False,
        "skipped": False,
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


async def _card(
    request: AnyRequest, me: Staff, store: StoreDep, settings: SettingsDep, form: FormMultiDict
) -> tuple[dict[str, Any], list[Product]]:
    """The card its form describes. Its turns are read again in a paste worker, off the
    store's readers (edge/domain/wechat/parse_pool.py); the rest are quick reads."""
    now = settings.now()
    sender = str(form.get("sender", "") or "").strip()[:40]
    turns = turns_from_form(form, sender)
    household, day, staff_names, catalog = await store.read(
        lambda conn: card_reads(
            conn, form, site_id=store.site_id, sees_phones=me.sees_phones, now=now
        )
    )
    draft = await read_paste(
        store.path,
        draft_for,
        sender,
        turns,
        site_id=store.site_id,
        household_id=household["id"] if household else None,
        day=day,
        today=now.date(),
    )
    card = card_from_form(
        form,
        draft,
        {p.id: p for p in catalog},
        household=household,
        staff_names=staff_names,
        day=day,
    )
    return card, catalog


def _render_card(
    request: AnyRequest,
    me: Staff,
    card: dict[str, Any],
    catalog: list[Product],
    *,
    status: int = 200,
) -> Template:
    """The card alone for htmx; a page holding just this card otherwise."""
    template = "wechat/_card.html" if is_htmx(request) else "wechat/preview.html"
    return page(
        request,
        template,
        me,
        status=status,
        card=card,
        cards=[card],
        groups=grouped(catalog),
        units={p.id: p for p in catalog},
        single=True,
        max_chars=MAX_PASTE_CHARS,
    )


# --- handlers ----------------------------------------------------------------


@get("/wechat", include_in_schema=False)
async def paste_form(request: AnyRequest, me: MeDep) -> Template:
    return page(request, "wechat/paste.html", me, text="", error=None, max_chars=MAX_PASTE_CHARS)


@post("/wechat/preview", include_in_schema=False)
async def preview(
    request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep
) -> Template:
    form = await request.form()
    text = str(form.get("text", "") or "")
    _ = gettext_for(request)
    error = None
    if not text.strip():
        error = _("Paste a message first.")
    elif len(text) > MAX_PASTE_CHARS:
        error = _("That is too long: paste at most %(n)s characters at a time.", n=MAX_PASTE_CHARS)
    if error:
        return page(
            request,
            "wechat/paste.html",
            me,
            status=400,
            text=text[:MAX_PASTE_CHARS],
            error=error,
            max_chars=MAX_PASTE_CHARS,
        )
    try:  # read in a paste worker, off the store's readers, within a deadline
        drafts = await read_paste(
            store.path,
            draft_orders,
            text,
            site_id=store.site_id,
            sees_phones=me.sees_phones,
            now=settings.now(),
        )
    except (PasteTooLong, PasteBusy) as exc:
        if isinstance(exc, PasteTooLong):
            error = _("This paste is too long to read at once: paste fewer messages.")
        else:
            error = _("The box is busy reading other pastes: try again in a moment.")
        return page(
            request,
            "wechat/paste.html",
            me,
            status=exc.status_code,
            text=text,
            error=error,
            max_chars=MAX_PASTE_CHARS,
        )
    catalog = await store.read(products.list_products)
    by_id = {p.id: p for p in catalog}
    cards = [card_from_draft(d, by_id) for d in drafts]
    return page(
        request,
        "wechat/preview.html",
        me,
        cards=cards,
        groups=grouped(catalog),
        units=by_id,
        single=False,
        to_check=sum(1 for c in cards if not c["collapsed"]),
        max_chars=MAX_PASTE_CHARS,
    )


@post("/wechat/edit", include_in_schema=False)
async def edit_card(
    request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep
) -> Template:
    """Add a row, remove a row, re-draw after a product changed (its units), or skip the card."""
    form = await request.form()
    card, catalog = await _card(request, me, store, settings, form)
    op = str(form.get("op", "") or "")
    rows = card["rows"]
    if op == "skip":  # "Cancel" under the warning of an order already there: nothing saved
        card["skipped"] = True
    elif op == "add" and len(rows) < MAX_ROWS:
        rows.append(_row({}, "", "", "", None, "", None))
    elif op.startswith("del:"):
        index = parse_int(op[4:], "op", maximum=MAX_ROW_INDEX)
        if index < len(rows):
            rows.pop(index)
        if not rows:
            rows.append(_row({}, "", "", "", None, "", None))
    return _render_card(request, me, card, catalog)


@post("/wechat/link", include_in_schema=False)
async def link(request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep) -> Template:
    """One tap: the sender's WeChat nickname belongs to the chosen household from now on."""
    form = await request.form()
    # Drawn first, so a malformed card is refused before anything is linked.
    card, catalog = await _card(request, me, store, settings, form)
    nickname = str(form.get("sender", "") or "").strip()
    household_id = str(form.get("household_id", "") or "").strip()
    error = None
    try:
        if not household_id:
            raise BadRequest("choose the household first", field="link")
        await store.write(lambda tx: link_nickname(tx, nickname, household_id))
    except EdgeError as exc:
        if exc.status_code not in (400, 404):
            raise
        _ = gettext_for(request)
        error = form_error(request, exc)
        if exc.field == "link" or exc.status_code == 404:
            error["hint"] = _("Tap a household in the list first.")
    card["error"] = error
    card["linked"] = error is None
    return _render_card(request, me, card, catalog, status=400 if error else 200)


@post("/wechat/confirm", include_in_schema=False)
async def confirm_card(
    request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep
) -> Template:
    """Make the order for one card; the same message confirmed twice shows one order."""
    form = await request.form()
    card, catalog = await _card(request, me, store, settings, form)
    by_id = {p.id: p for p in catalog}
    now = settings.now()
    try:
        items = items_from_rows(card["rows"], by_id, gettext_for(request))
        household_id = card["household"]["id"] if card["household"] else None
        household = None
        if household_id is None:
            if not card["hh"].get("name", "").strip():
                raise BadRequest("choose the household this message is from", field="household_id")
            household = households.HouseholdInput(
                **{f: card["hh"].get(f, "") for f in HH_FIELDS},
                home_delivery=bool(card["hh"].get("home_delivery")),
            )
        mode = card["delivery_mode"] or None
        turns = turns_to_confirm(card)
        created = await store.write(
            lambda tx: confirm(
                tx,
                sender=card["sender"],
                text=card["text"],
                items=items,
                household_id=household_id,
                household=household,
                delivery_mode=mode,
                notes=card["notes"],
                now=now,
                staff_id=me.id,
                turns=turns,
                acknowledged=card["acked"],
            )
        )
    except OpenOrderExists as exc:
        # Drawn before that order was made (or the warning was not on the card): show it now;
        # the button then says "make a separate order anyway".
        _ = gettext_for(request)
        shown = {o["id"] for o in card["open_orders"]}
        card["open_orders"] += [o for o in exc.orders if o["id"] not in shown]
        card["ack"] = ",".join(o["id"] for o in card["open_orders"])
        card["error"] = {
            "field": "separate",
            "key": "separate",
            "hint": _("This household already has an order for that day. Nothing was saved."),
            "detail": "",
        }
        return _render_card(request, me, card, catalog, status=409)
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        error = form_error(request, exc)
        if exc.field == "turns":
            # The rows were for messages of which some are ordered now: start again from
            # what is still new, rather than order the others' items a second time.
            card["rows"] = card["parsed_rows"] or [_row({}, "", "", "", None, "", None)]
            _ = gettext_for(request)
            error["hint"] = _(
                "Some of these messages were ordered meanwhile (shown greyed). "
                "Check the items, then confirm again."
            )
        names = [by_id[r["product_id"]].name for r in card["rows"] if r["product_id"] in by_id]
        for i, name in enumerate(names):  # "items[1]: …" → "黄瓜: …"
            error["detail"] = error["detail"].replace(f"items[{i}]", name)
        card["error"] = error
        return _render_card(request, me, card, catalog, status=400)
    order = await store.read(
        lambda c: orders.get_order(c, created.order_id, sees_phones=me.sees_phones)
    )
    template = "wechat/_confirmed.html" if is_htmx(request) else "wechat/confirmed.html"
    return page(request, template, me, card=card, created=created, order=order, units=by_id)


@get("/wechat/price-post", include_in_schema=False)
async def price_post_page(
    request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep
) -> Template:
    now = settings.now()
    name = getattr(request.app.state, "centre_name", "")
    _ = gettext_for(request)

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        post_ = price_post(conn, store.site_id, name, now)
        cal = calendar.load(conn, store.site_id)
        day = calendar.parse_day(post_["delivery_date"], "day")
        cutoff = cal.cutoff_for(day)
        return {
            **post_,
            "cutoff": _(
                "%(month)s/%(day)s %(time)s",
                month=cutoff.month,
                day=cutoff.day,
                time=cutoff.strftime("%H:%M"),
            ),
            "pickup_hours": cal.pickup_hours,
        }

    post_ = await store.read(read)
    return page(request, "wechat/price_post.html", me, post=post_)


_signed_in = Router(
    path="/",
    route_handlers=[paste_form, preview, edit_card, link, confirm_card, price_post_page],
    dependencies={"me": Provide(require_staff)},
    exception_handlers={SignInRequired: to_signin},
    include_in_schema=False,
)

WECHAT_PAGE_HANDLERS: list[Any] = [_signed_in]

__all__ = ["WECHAT_PAGE_HANDLERS", "segments"]
