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
    four digits a pickup code or a phone's last four, other text a name.

    Each is a set of orders found by index (`o.id IN` / `o.household_id IN` a
    subquery), so a search over every day and every centre reads the matching
    households and orders, not the whole table (issue 16: two million orders)."""
    digits = re.sub(r"[\s()+\-]", "", q)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if digits.isascii() and digits.isdigit():
        if len(digits) >= 7:
            return "o.household_id IN (SELECT id FROM households WHERE phone = ?)", [digits]
        if len(digits) == 4:
            return (
                "o.id IN (SELECT id FROM orders WHERE pickup_code = ?"
                " UNION SELECT o2.id FROM orders o2 JOIN households h2"
                " ON h2.id = o2.household_id WHERE h2.phone_tail = ?)"
            ), [digits, digits]
        return "o.pickup_code = ?", [digits]
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (
        "o.household_id IN (SELECT id FROM households WHERE name LIKE ? ESCAPE '\\')",
        [f"%{like}%"],
    )


# A cancel sent from the hub is a `cancel_order` command whose args name the order:
# found by the expression index `sync_commands_cancel_order` (m116), for the page's
# orders only, in one read.
CANCELS_SQL = (
    "SELECT json_extract(m.args, '$.order_id') AS order_id, r.id AS result_id, r.outcome,"
    " r.detail, r.applied_at FROM sync_commands m LEFT JOIN sync_command_results r"
    " ON r.id = m.id WHERE m.name = 'cancel_order'"
    " AND json_extract(m.args, '$.order_id') IN ({marks})"
)
IN_CHUNK = 500


def _cancels(conn: sqlite3.Connection, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each order's latest answered cancel ('outcome: detail') and its unanswered ones."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(order_ids), IN_CHUNK):
        chunk = order_ids[i : i + IN_CHUNK]
        sql = CANCELS_SQL.format(marks=", ".join("?" * len(chunk)))
        for r in conn.execute(sql, chunk):
            seen = out.setdefault(r[0], {"pending": 0, "result": None, "at": ""})
            if r[1] is None:
                seen["pending"] += 1
            elif seen["result"] is None or (r[4] or "") > seen["at"]:
                seen["result"], seen["at"] = f"{r[2]}: {r[3]}", r[4] or ""
    return out


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
        " h.phone, h.building, h.unit, h.room, c.name AS centre_name"
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
    rows = [dict(r) for r in conn.execute(sql, params)]
    cancels = _cancels(conn, [d["id"] for d in rows])
    for d in rows:
        d["phone"] = (d["phone"] or "") if phones else mask_phone(d["phone"] or "")
        seen = cancels.get(d["id"])
        d["command_result"] = seen["result"] if seen else None
        d["cancel_pending"] = seen["pending"] if seen else 0
        outcome, _, detail = (d["command_result"] or "").partition(": ")
        d["cancel_outcome"], d["cancel_detail"] = outcome or None, detail
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
