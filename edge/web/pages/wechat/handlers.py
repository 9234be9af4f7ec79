"""WeChat group pages, the handlers: paste a message (or a block), check the preview, confirm.

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

import sqlite3
from typing import Any

import msgspec
from litestar import Router, get, post
from litestar.di import Provide
from litestar.response import Template

from edge.domain import calendar, households, orders, products
from edge.domain.auth import Staff
from edge.domain.products import Product
from edge.domain.wechat.drafts import (
    MAX_PASTE_CHARS,
    OpenOrderExists,
    confirm,
    draft_for,
    draft_orders,
    link_nickname,
)
from edge.domain.wechat.parse_pool import PasteBusy, PasteTooLong, read_paste
from edge.domain.wechat.price_post import price_post
from edge.errors import BadRequest, EdgeError
from edge.web.forms import parse_int, read_form
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
from edge.web.pages.i18n import gettext_for
from edge.web.shared import SettingsDep, StoreDep

from .card_form import CardForm
from .cards import (
    card_from_draft,
    card_from_form,
    card_reads,
    chosen_household_id,
    grouped,
    suggestions_for,
    turns_from_form,
    turns_to_confirm,
)
from .rows import HH_FIELDS, MAX_ROW_INDEX, MAX_ROWS, items_from_rows, row


async def _card(
    request: AnyRequest, me: Staff, store: StoreDep, settings: SettingsDep, form: CardForm
) -> tuple[dict[str, Any], list[Product]]:
    """The card its form describes. Its turns are read again in a paste worker, off the
    store's readers (edge/domain/wechat/parse_pool.py); the rest are quick reads."""
    now = settings.now()
    sender = form.sender[:40]
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
    if card["household"] is None:
        await store.read(lambda conn: suggestions_for(conn, [card], sees_phones=me.sees_phones))
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


class Paste(msgspec.Struct):
    text: str = ""


@post("/wechat/preview", include_in_schema=False)
async def preview(
    request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep
) -> Template:
    text = (await read_form(request, Paste)).text
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
    await store.read(lambda conn: suggestions_for(conn, cards, sees_phones=me.sees_phones))
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
    form = await read_form(request, CardForm)
    card, catalog = await _card(request, me, store, settings, form)
    op = form.op
    rows = card["rows"]
    if op == "skip":  # "Cancel" under the warning of an order already there: nothing saved
        card["skipped"] = True
    elif op == "add" and len(rows) < MAX_ROWS:
        rows.append(row({}, "", "", "", None, "", None))
    elif op.startswith("del:"):
        index = parse_int(op[4:], "op", maximum=MAX_ROW_INDEX)
        if index < len(rows):
            rows.pop(index)
        if not rows:
            rows.append(row({}, "", "", "", None, "", None))
    return _render_card(request, me, card, catalog)


@post("/wechat/link", include_in_schema=False)
async def link(request: AnyRequest, me: MeDep, store: StoreDep, settings: SettingsDep) -> Template:
    """One tap: the sender's WeChat nickname belongs to the chosen household from now on."""
    form = await read_form(request, CardForm)
    # Drawn first, so a malformed card is refused before anything is linked.
    card, catalog = await _card(request, me, store, settings, form)
    nickname = form.sender
    household_id = chosen_household_id(form)
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
    form = await read_form(request, CardForm)
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
            card["rows"] = card["parsed_rows"] or [row({}, "", "", "", None, "", None)]
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

__all__ = ["WECHAT_PAGE_HANDLERS"]
