"""What became of the commands operators sent, and what each centre has now.

A command is pending until its centre pulls it, applies it in its own
transaction and pushes back a result (`sync.merge` rule 3): applied, or
refused with the centre's reason. The reason is the centre's own English
text; the reasons a centre gives every day are put into the page's language
here, with the centre's words kept beside them.

The calendars travel up like any centre row, so the form that changes one
starts from what the centre really has (a Saturday it added stays ticked).
District catalog changes are hub rows every centre pulls: a centre has a
change once its pull position (`sync_centres.pulled_seq`) passed the
change's hub seq.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from edge.domain import calendar
from edge.web.pages.base import N_
from edge.web.pages.orders import STATUS_LABELS
from hub.humane import Gettext

WEEKDAYS = (
    N_("Mon"),
    N_("Tue"),
    N_("Wed"),
    N_("Thu"),
    N_("Fri"),
    N_("Sat"),
    N_("Sun"),
)
OUTCOMES = {
    "pending": N_("Waiting for the centre"),
    "applied": N_("Done at the centre"),
    "refused": N_("Refused by the centre"),
}
LIST_LIMIT = 50


def list_commands(
    conn: sqlite3.Connection,
    *,
    site: str = "",
    ids: Iterable[str] = (),
    limit: int = LIST_LIMIT,
) -> list[dict[str, Any]]:
    """Sent commands, newest first, each with its outcome ("pending" until the centre
    answers) and the centre's reason."""
    sql = (
        "SELECT m.id, m.target_site, c.name AS centre_name, m.name, m.args, m.issued_by,"
        " m.created_at, r.outcome, r.detail, r.applied_at FROM sync_commands m"
        " LEFT JOIN sync_command_results r ON r.id = m.id"
        " LEFT JOIN sync_centres c ON c.site_id = m.target_site"
    )
    where, params = [], []
    if site:
        where.append("m.target_site = ?")
        params.append(site)
    ids = list(ids)
    if ids:
        where.append(f"m.id IN ({','.join('?' * len(ids))})")
        params += ids
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY m.created_at DESC, m.id DESC LIMIT ?"
    out = []
    for r in conn.execute(sql, [*params, limit]):
        d = dict(r)
        try:
            d["args"] = json.loads(d["args"] or "{}")
        except json.JSONDecodeError:
            d["args"] = {}
        d["outcome"] = d["outcome"] or "pending"
        d["order"] = _order(conn, d) if d["name"] == "cancel_order" else None
        if d["name"] in PRODUCT_COMMANDS:
            d["product"] = _product_name(conn, d["args"].get("product_id"))
            d["district"] = _product_name(conn, d["args"].get("district_id"))
        out.append(d)
    return out


PRODUCT_COMMANDS = ("set_product_price", "link_product")


def _product_name(conn: sqlite3.Connection, product_id: Any) -> str:
    if not isinstance(product_id, str):
        return "—"
    row = conn.execute("SELECT name FROM products WHERE id = ?", (product_id,)).fetchone()
    return str(row[0]) if row else "—"


def _order(conn: sqlite3.Connection, cmd: dict[str, Any]) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT o.pickup_code, o.pickup_date, o.status, h.name AS household_name"
        " FROM orders o LEFT JOIN households h ON h.id = o.household_id WHERE o.id = ?",
        (str(cmd["args"].get("order_id", "")),),
    ).fetchone()
    return dict(row) if row else None


def weekday_names(days: Iterable[int], _: Gettext) -> str:
    return "、".join(_(WEEKDAYS[d]) for d in sorted(days) if 0 <= d <= 6)


def describe(cmd: dict[str, Any], _: Gettext) -> str:
    """What the command asks, in the page's language."""
    args = cmd["args"]
    if cmd["name"] == "cancel_order":
        o = cmd.get("order")
        if o is None:
            return _("Cancel an order")
        return _(
            "Cancel order %(code)s (%(name)s, %(day)s)",
            code=o["pickup_code"],
            name=o["household_name"] or "—",
            day=o["pickup_date"],
        )
    if cmd["name"] == "set_calendar":
        return _(
            "Delivery days %(days)s, cut-off %(cutoff)s, pickup %(hours)s",
            days=weekday_names(args.get("weekdays", []), _),
            cutoff=args.get("cutoff", ""),
            hours=args.get("pickup_hours", "07:00-11:00"),
        )
    if cmd["name"] == "add_calendar_exception":
        if args.get("kind") == "closed":
            text = _("Close %(day)s", day=args.get("day", ""))
        else:
            text = _("Extra delivery day %(day)s", day=args.get("day", ""))
        if args.get("move_orders_to"):
            text += " · " + _("orders move to %(day)s", day=args["move_orders_to"])
        if args.get("note"):
            text += f" ({args['note']})"
        return text
    if cmd["name"] == "set_product_price":
        fen = args.get("price_fen")
        price = f"{fen / 100:.2f}" if isinstance(fen, int) else "?"
        return _("Price of %(name)s: %(price)s yuan", name=cmd.get("product", "—"), price=price)
    if cmd["name"] == "link_product":
        return _(
            "Replace the centre's own %(name)s with the district product %(district)s",
            name=cmd.get("product", "—"),
            district=cmd.get("district", "—"),
        )
    return str(cmd["name"])


# The reasons a centre gives, as it words them (edge.domain.orders and .calendar, sync.agent).
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"order is (?P<status>\w+); it cannot become cancelled"),
        N_("The order is already %(status)s; it can no longer be cancelled."),
    ),
    (
        re.compile(r"orders are still waiting for (?P<days>.+?): move them"),
        N_(
            "Orders are still waiting for %(days)s: move them to another delivery day "
            "or cancel them first."
        ),
    ),
    (re.compile(r"no order "), N_("The centre does not have this order.")),
    (
        re.compile(r"no district product .* here yet"),
        N_("The district product has not reached the centre yet: send it again later."),
    ),
    (re.compile(r"no product "), N_("The centre does not have this product.")),
    (
        re.compile(r"is sold \w+ here and \w+ in the district"),
        N_("The centre sells it differently (by weight, piece or bundle): it was not linked."),
    ),
    (
        re.compile(r"this centre has no handler for"),
        N_("This centre's software does not know this command yet: update the box."),
    ),
)


def explain(detail: str, _: Gettext) -> str:
    """A centre's refusal in the page's language; its own words when not a known one."""
    for pattern, msgid in _REASONS:
        found = pattern.search(detail or "")
        if found:
            words = found.groupdict()
            if "status" in words:
                label = STATUS_LABELS.get(words["status"])
                words["status"] = _(label) if label else words["status"]
            return _(msgid, **words)
    return detail


def calendars(conn: sqlite3.Connection, sites: Iterable[str], today: str) -> dict[str, Any]:
    """Each centre's calendar as the hub last received it (None: the centre has sent
    none, so it runs on the default), with its exceptions from today on."""
    out: dict[str, Any] = {}
    for site in sites:
        synced = conn.execute("SELECT 1 FROM calendars WHERE id = ?", (site,)).fetchone()
        cal = calendar.load(conn, site)
        out[site] = {
            "synced": synced is not None,
            "weekdays": sorted(cal.weekdays),
            "cutoff": cal.cutoff.strftime("%H:%M"),
            "pickup_hours": cal.pickup_hours,
            "closed": sorted(d.isoformat() for d in cal.closed if d.isoformat() >= today),
            "extra": sorted(d.isoformat() for d in cal.extra if d.isoformat() >= today),
        }
    return out


def catalog_delivery(
    conn: sqlite3.Connection, hub_site: str, product_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per hub product: the centres that have its latest change, and those still
    waiting for it (revoked centres left out)."""
    centres = [
        dict(r)
        for r in conn.execute(
            "SELECT site_id, name, pulled_seq FROM sync_centres WHERE revoked = 0 ORDER BY name"
        )
    ]
    out = {}
    for pid in product_ids:
        row = conn.execute(
            "SELECT MAX(seq) FROM changes WHERE site_id = ? AND tbl = 'products' AND row_id = ?",
            (hub_site, pid),
        ).fetchone()
        seq = int(row[0] or 0)
        have = [c["name"] for c in centres if c["pulled_seq"] >= seq]
        waiting = [c["name"] for c in centres if c["pulled_seq"] < seq]
        out[pid] = {"have": have, "waiting": waiting}
    return out
