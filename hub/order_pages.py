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


# A search's households are looked up first and named to the orders query when they
# are this few: both planners then read those households' orders by index (given a
# subquery, PostgreSQL's estimate of it had it scan every household or every order).
HOUSEHOLDS_NAMED = 2000


def _households(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[str] | None:
    """The ids `sql` finds, or None when there are more than HOUSEHOLDS_NAMED."""
    ids = [r[0] for r in conn.execute(f"{sql} LIMIT ?", [*params, HOUSEHOLDS_NAMED + 1])]
    return ids if len(ids) <= HOUSEHOLDS_NAMED else None


def _named(ids: list[str]) -> str:
    return f"o.household_id IN ({', '.join('?' * len(ids))})" if ids else "0 = 1"


def search_clause(conn: sqlite3.Connection, q: str) -> tuple[str, list[Any], bool]:
    """SQL and parameters finding `q`, and whether an index finds it: a whole phone
    number matches the whole number, four digits a pickup code or a phone's last four,
    other text a name.

    Each is a set of orders found by index (the households found first, or an
    `o.household_id IN` subquery), so a search over every day and every centre reads
    the matching households and orders, not the whole table (issue 16: two million
    orders)."""
    digits = re.sub(r"[\s()+\-]", "", q)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if digits.isascii() and digits.isdigit():
        if len(digits) >= 7:
            return "o.household_id IN (SELECT id FROM households WHERE phone = ?)", [digits], True
        if len(digits) == 4:
            tails = _households(conn, "SELECT id FROM households WHERE phone_tail = ?", [digits])
            if tails is not None:
                return f"(o.pickup_code = ? OR {_named(tails)})", [digits, *tails], True
            return (
                (
                    "(o.pickup_code = ? OR o.household_id IN"
                    " (SELECT id FROM households WHERE phone_tail = ?))"
                ),
                [digits, digits],
                True,
            )
        return "o.pickup_code = ?", [digits], True
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    grams = sorted({q[i : i + 2] for i in range(len(q) - 1)})
    if grams and q.lower() == q.upper():
        # Text without case (Chinese): the households holding every two characters of it
        # in a row (`_household_grams`, m404), or a name too long for SQLite's trigger
        # to index (the empty gram); the LIKE on the order's household then decides as
        # it always did. Text with case keeps the LIKE alone (either case of a letter).
        found = _households(
            conn,
            "SELECT household_id FROM _household_grams WHERE gram IN"
            f" ({', '.join('?' * len(grams))}) GROUP BY household_id HAVING COUNT(*) = ?"
            " UNION SELECT household_id FROM _household_grams WHERE gram = ''",
            [*grams, len(grams)],
        )
        if found is not None:
            named = f"id IN ({', '.join('?' * len(found))})" if found else "0 = 1"
            return (
                (
                    f"o.household_id IN (SELECT id FROM households WHERE {named}"
                    " AND name LIKE ? ESCAPE '\\')"
                ),
                [*found, f"%{like}%"],
                True,
            )
    return (
        "o.household_id IN (SELECT id FROM households WHERE name LIKE ? ESCAPE '\\')",
        [f"%{like}%"],
        False,
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


def day_totals(conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    """Each centre's orders of the day (those with any), by centre name: counted, cancelled,
    done and the estimate of those not cancelled, as kept by `_orders_day_totals` (m404)
    while orders arrive and change."""
    return _dicts(
        conn.execute(
            "SELECT c.name AS centre_name, t.site_id, t.orders, t.cancelled, t.done,"
            " t.estimated_fen FROM _orders_day_totals t"
            " LEFT JOIN sync_centres c ON c.site_id = t.site_id"
            " WHERE t.pickup_date = ? AND t.orders > 0 ORDER BY c.name",
            (day,),
        )
    )


def _dicts(cur: Any) -> list[dict[str, Any]]:
    """A cursor's rows as dicts: a thousand rows of a page, zipped with the column names
    once (a row's own `keys()` on each is several times slower on PostgreSQL's rows)."""
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def _first_centres(totals: list[dict[str, Any]], limit: int) -> list[str] | None:
    """The site ids of the first centres in `totals` whose orders reach `limit`, with
    every later one of the same name; None when that is all of them."""
    held, last = 0, None
    for i, t in enumerate(totals):
        if held >= limit and t["centre_name"] != last:
            return [x["site_id"] for x in totals[:i]]
        held += t["orders"]
        last = t["centre_name"]
    return None


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
    where = "1 = 1"
    params: list[Any] = []
    q = q.strip()
    if not (all_days and q):
        where += " AND o.pickup_date = ?"
        params.append(day)
    else:
        limit = min(limit, ALL_DAYS_LIMIT)
    totals = day_totals(conn, day)
    if centre:
        where += " AND o.site_id = ?"
        params.append(centre)
    elif not (status or q):
        # The day's page: its first `limit` orders by centre name lie in the first
        # centres by name (the totals' order) whose orders add up to `limit`, and any
        # centre of the same name as the last of them; read those centres' orders only.
        first = _first_centres(totals, limit)
        if first is not None:
            where += f" AND o.site_id IN ({', '.join('?' * len(first))})"
            params += first
    if status:
        where += " AND o.status = ?"
        params.append(status)
    indexed = False
    if q:
        clause, more, indexed = search_clause(conn, q)
        where += f" AND {clause}"
        params += more
    order = ""
    if all_days and q:
        order = "o.pickup_date DESC, "
        if indexed:
            # Every day's matches, newest first: the `limit` newest are on or after the
            # day of the `limit`-th newest (from the orders' index alone), so only
            # those are joined with their households and sorted.
            edge = conn.execute(
                f"SELECT o.pickup_date FROM orders o WHERE {where}"
                " ORDER BY o.pickup_date DESC LIMIT 1 OFFSET ?",
                [*params, limit - 1],
            ).fetchone()
            if edge is not None:
                where += " AND o.pickup_date >= ?"
                params.append(edge[0])
    sql = (
        "SELECT o.id, o.site_id, o.pickup_code, o.pickup_date, o.status, o.channel,"
        " o.delivery_mode, o.estimated_fen, o.final_fen, o.created_at, h.name AS household_name,"
        " h.phone, h.building, h.unit, h.room, c.name AS centre_name"
        " FROM orders o LEFT JOIN households h ON h.id = o.household_id"
        f" LEFT JOIN sync_centres c ON c.site_id = o.site_id WHERE {where}"
        f" ORDER BY {order}c.name, h.building, h.unit, h.room LIMIT ?"
    )
    params.append(limit)
    rows = _dicts(conn.execute(sql, params))
    cancels = _cancels(conn, [d["id"] for d in rows])
    for d in rows:
        d["phone"] = (d["phone"] or "") if phones else mask_phone(d["phone"] or "")
        seen = cancels.get(d["id"])
        d["command_result"] = seen["result"] if seen else None
        d["cancel_pending"] = seen["pending"] if seen else 0
        outcome, _, detail = (d["command_result"] or "").partition(": ")
        d["cancel_outcome"], d["cancel_detail"] = outcome or None, detail
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
