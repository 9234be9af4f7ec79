"""Orders across centres for a day, the per-centre totals, and the cancel button.

A resident is found by pickup code, by name, by the last four digits of a
phone or by the whole phone number (which matches the whole number only),
on the day shown or, ticked, on every day. The totals say which centres'
figures may be stale (offline, or changes still waiting at their last call)
and list the centres with no orders that day. A cancel is a command: the
page comes back with what became of it, and says so when the centre is
offline and the cancel will wait for it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect

from edge.domain import calendar
from edge.domain.households import mask_phone
from edge.errors import BadRequest
from edge.web.shared import local_path
from hub import commands, operations
from hub.centre_pages import POLL_S, command_view, part_query
from hub.health import sync_health
from hub.pages import hub_of, hub_zone, page_operator, render, to_login, today_iso

AnyRequest = Request[Any, Any, Any]
ALL_DAYS_LIMIT = 200
FILTERS = ("centre", "status", "q", "phones", "alldays")


def search_clause(q: str) -> tuple[str, list[Any]]:
    """SQL and parameters finding `q`: a whole phone number matches the whole number,
    four digits a pickup code or a phone's last four, other text a name."""
    digits = re.sub(r"[\s()+\-]", "", q)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if digits.isascii() and digits.isdigit():
        if len(digits) >= 7:
            return "h.phone = ?", [digits]
        if len(digits) == 4:
            return "(o.pickup_code = ? OR h.phone_tail = ?)", [digits, digits]
        return "o.pickup_code = ?", [digits]
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "h.name LIKE ? ESCAPE '\\'", [f"%{like}%"]


def orders_for_day(
    conn: sqlite3.Connection,
    day: str,
    *,
    centre: str = "",
    status: str = "",
    q: str = "",
    phones: bool = False,
    all_days: bool = False,
    limit: int = 1000,
) -> dict[str, Any]:
    sql = (
        "SELECT o.id, o.site_id, o.pickup_code, o.pickup_date, o.status, o.channel,"
        " o.delivery_mode, o.estimated_fen, o.final_fen, o.created_at, h.name AS household_name,"
        " h.phone, h.building, h.unit, h.room, c.name AS centre_name,"
        " (SELECT outcome || ': ' || r.detail FROM sync_commands m"
        "   JOIN sync_command_results r ON r.id = m.id"
        "   WHERE m.name = 'cancel_order' AND m.args LIKE '%' || o.id || '%'"
        "   ORDER BY r.applied_at DESC LIMIT 1) AS command_result,"
        " (SELECT COUNT(*) FROM sync_commands m LEFT JOIN sync_command_results r"
        "   ON r.id = m.id WHERE m.name = 'cancel_order' AND r.id IS NULL"
        "   AND m.args LIKE '%' || o.id || '%') AS cancel_pending"
        " FROM orders o LEFT JOIN households h ON h.id = o.household_id"
        " LEFT JOIN sync_centres c ON c.site_id = o.site_id WHERE 1 = 1"
    )
    params: list[Any] = []
    q = q.strip()
    if not (all_days and q):
        sql += " AND o.pickup_date = ?"
        params.append(day)
    else:
        limit = min(limit, ALL_DAYS_LIMIT)
    if centre:
        sql += " AND o.site_id = ?"
        params.append(centre)
    if status:
        sql += " AND o.status = ?"
        params.append(status)
    if q:
        clause, more = search_clause(q)
        sql += f" AND {clause}"
        params += more
    order = "o.pickup_date DESC, " if all_days and q else ""
    sql += f" ORDER BY {order}c.name, h.building, h.unit, h.room LIMIT ?"
    params.append(limit)
    rows = []
    for r in conn.execute(sql, params):
        d = dict(r)
        d["phone"] = (d["phone"] or "") if phones else mask_phone(d["phone"] or "")
        outcome, _, detail = (d["command_result"] or "").partition(": ")
        d["cancel_outcome"], d["cancel_detail"] = outcome or None, detail
        rows.append(d)
    totals = [
        dict(r)
        for r in conn.execute(
            "SELECT c.name AS centre_name, o.site_id, COUNT(*) AS orders,"
            " SUM(CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,"
            " SUM(CASE WHEN o.status IN ('picked_up', 'delivered') THEN 1 ELSE 0 END) AS done,"
            " SUM(CASE WHEN o.status = 'cancelled' THEN 0 ELSE o.estimated_fen END)"
            " AS estimated_fen"
            " FROM orders o LEFT JOIN sync_centres c ON c.site_id = o.site_id"
            " WHERE o.pickup_date = ? GROUP BY o.site_id, c.name ORDER BY c.name",
            (day,),
        )
    ]
    return {"orders": rows, "totals": totals}


def _link(filters: dict[str, str], **change: str) -> str:
    return "?" + urlencode({k: v for k, v in {**change, **filters}.items() if v})


@get(["/hub/orders"], include_in_schema=False)
async def orders_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    qp = request.query_params
    try:  # a mistyped or far-off day shows today rather than an error page
        day = calendar.iso_day(qp.get("day") or today_iso(request), "day")
    except BadRequest:
        day = today_iso(request)
    filters = {k: str(qp.get(k) or "")[:80] for k in FILTERS}
    phones = filters["phones"] == "1" and op.may_see_phones
    all_days = filters["alldays"] == "1"
    now, tz = datetime.now(UTC), hub_zone(request)

    sent = str(qp.get("sent") or "")[:40]

    def read(c: sqlite3.Connection) -> dict[str, Any]:
        data = orders_for_day(
            c,
            day,
            centre=filters["centre"],
            status=filters["status"],
            q=filters["q"],
            phones=phones,
            all_days=all_days,
        )
        sent_commands = commands.list_commands(c, ids=[sent]) if sent else []
        return {**data, "health": sync_health(c, now, tz), "sent_commands": sent_commands}

    data = await hub_of(request).store.read(read)
    health = {h["site_id"]: h for h in data.pop("health")}
    command_view(request, data["sent_commands"], health)
    counted = {t["site_id"] for t in data["totals"]}
    for t in data["totals"]:
        t["health"] = health.get(t["site_id"])
    quiet = [h for h in health.values() if h["site_id"] not in counted and not h["revoked"]]
    d = date.fromisoformat(day)
    prev_day, next_day = (d - timedelta(days=1)).isoformat(), (d + timedelta(days=1)).isoformat()
    return render(
        request,
        "orders.html",
        op,
        day=day,
        prev_link=_link(filters, day=prev_day),
        next_link=_link(filters, day=next_day),
        prev_day=prev_day,
        next_day=next_day,
        centres=list(health.values()),
        health=health,
        quiet=quiet,
        filters=filters,
        phones=phones,
        all_days=all_days and bool(filters["q"]),
        sent_part=part_query(ids=(sent,)),
        poll_s=POLL_S,
        **data,
    )


@post("/hub/orders/{order_id:str}/cancel", include_in_schema=False)
async def cancel_submit(request: AnyRequest) -> Response[Any]:
    order_id = str(request.path_params["order_id"])
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    command_id = await hub_of(request).store.write(
        lambda tx: operations.cancel_order(tx, order_id, op.name)
    )
    back = local_path(request.headers.get("referer"), "/hub/orders")
    if not back.startswith("/hub/orders"):
        back = "/hub/orders"
    path, _, query = back.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("sent=")]
    return Redirect(path=f"{path}?{'&'.join([*kept, f'sent={command_id}'])}")


HANDLERS = [orders_page, cancel_submit]
