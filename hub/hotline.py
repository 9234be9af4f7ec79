"""The 12349 hotline desk on the hub (/hub/hotline): a caller asks for care for an elder.

The operator finds the elder across all centres by name, phone tail (the elder's or a
family member's) or address, sees their visits (and what still waits for the centre),
and books on the caller's behalf, once or on weekdays until a day, recording who
called, their relation and a call-back number: a `care_book` command to the elder's
centre (`hub.care_commands`), answered when the centre next syncs. After a finished
service the desk makes a return visit (回访): satisfaction 1-5, a note, and a
complaint to follow up, kept at the hub (`care_return_visits`, m110); an unrated visit
gets the satisfaction as its rating (a `care_rate` command). A complaint moves forward
only: open -> followed up (who, when, what was done) -> closed (m115); the desk lists
the ones not closed yet.

Operators with the role `hotline` may use these pages only: `hotline_guard` turns them
away from every other operator page and the operator API. Other operators may use the
desk too. Phones are shown whole to the hotline and supervisors (they call back),
masked to other operators.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain.care.recipients import address
from edge.domain.households import mask_phone, normalise_phone
from edge.errors import BadRequest, Conflict, EdgeError, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.web.forms import form_ints
from edge.web.pages.care import STATUS_LABELS
from edge.web.shared import bearer_token
from hub import care_commands
from hub.pages import (
    Operator,
    _operator_for,
    error_page,
    hub_of,
    page_operator,
    render,
    wants_html,
)
from sync.enrol import now_iso
from sync.errors import SyncError

AnyRequest = Request[Any, Any, Any]
ROLE = "hotline"
RETURN_DAYS = 14  # finished visits this many days back wait for a return visit
# What a hotline operator may open: these pages, signing in and out, static files.
OPEN_TO_HOTLINE = ("/hub/hotline", "/hub/login", "/hub/logout", "/hub/api/v1/token")
ADDRESS_RE = re.compile(r"\A(\d+)\D*?(?:-|号楼|栋|幢)\D*?(\d+)?\D*?(?:-|单元)?\D*?(\d+)?")


# --- the guard -----------------------------------------------------------------------


def _guarded(path: str) -> bool:
    if path != "/" and not path.startswith("/hub"):
        return False
    return not any(path == p or path.startswith(p + "/") for p in OPEN_TO_HOTLINE)


async def hotline_guard(request: AnyRequest) -> Response[Any] | None:
    """Before every request: a hotline operator (by cookie or bearer token) reaching an
    operator page other than the desk is sent to the desk (a page) or refused (403)."""
    if not _guarded(request.url.path):
        return None
    token = bearer_token(request) or request.cookies.get("linli_hub")
    if not token:
        return None
    op = await _operator_for(hub_of(request), token)
    if op is None or op.role != ROLE:
        return None
    if wants_html(request):
        if request.method == "GET":
            return Redirect(path="/hub/hotline", status_code=303)
        return error_page(request, 403, "热线坐席只能使用热线页面 / the hotline desk only")
    return Response(
        {"error": "forbidden", "detail": "a hotline operator may use the hotline desk only"},
        status_code=403,
    )


# --- queries -------------------------------------------------------------------------


def sees_phones(op: Operator) -> bool:
    return op.role in (ROLE, "supervisor")


def search(conn: sqlite3.Connection, q: str, limit: int = 50) -> list[dict[str, Any]]:
    """Elders of every centre by name, phone tail (the elder's household or a family
    member's), a whole phone, or an address such as 5号楼2单元301 or 5-2-301."""
    q = q.strip()[:40]
    if not q:
        return []
    where, params = ["r.name LIKE ?"], [f"%{q}%"]
    digits = re.sub(r"\D", "", q)
    if digits and len(digits) == len(q.replace(" ", "")) and len(digits) >= 4:
        where += ["h.phone_tail = ?", "r.family LIKE ?"]
        params += [digits[-4:], f'%{digits[-4:]}"%']
        if len(digits) >= 7:
            try:
                where.append("h.phone = ?")
                params.append(normalise_phone(digits))
            except BadRequest:
                where.pop()
    found = ADDRESS_RE.match(q.replace(" ", ""))
    if found:
        building, unit, room = found.groups()
        clause, extra = "h.building = ?", [building]
        if unit:
            clause, extra = clause + " AND h.unit = ?", [*extra, unit]
        if room:
            clause, extra = clause + " AND h.room = ?", [*extra, room]
        where.append(f"({clause})")
        params += extra
    rows = conn.execute(
        "SELECT r.id, r.name, r.site_id, r.birth_date, r.mobility, r.subsidy, r.family,"
        " h.phone, h.building, h.unit, h.room, c.name AS centre_name FROM care_recipients r"
        " LEFT JOIN households h ON h.id = r.household_id"
        " LEFT JOIN sync_centres c ON c.site_id = r.site_id"
        f" WHERE r.active = 1 AND ({' OR '.join(where)}) ORDER BY r.name LIMIT ?",
        (*params, limit),
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["address"] = address(d)
        d["family"] = json.loads(d["family"] or "[]")
        out.append(d)
    return out


def _elder(conn: sqlite3.Connection, recipient_id: str, hub_site: str) -> dict[str, Any]:
    row = care_commands.recipient(conn, recipient_id)
    elder = dict(row)
    elder.pop("care_notes", None)  # for the centre's manager and the assignee only
    elder["address"] = address(elder)
    for key in ("family", "emergency_contacts"):
        elder[key] = json.loads(elder[key] or "[]")
    elder["services"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, name, minutes, price_fen, subsidised_fen FROM care_services"
            " WHERE site_id IN (?, ?) AND active = 1 ORDER BY sort, name",
            (elder["site_id"], hub_site),
        )
    ]
    elder["series_results"] = [
        {**json.loads(r["args"]), "outcome": r["outcome"], "detail": r["detail"]}
        for r in conn.execute(
            "SELECT m.args, r.outcome, r.detail FROM sync_commands m"
            " JOIN sync_command_results r ON r.id = m.id WHERE m.name = 'care_book'"
            " AND json_extract(m.args, '$.recipient_id') = ?"
            " AND json_extract(m.args, '$.weekdays') IS NOT NULL ORDER BY m.created_at DESC"
            " LIMIT 10",
            (recipient_id,),
        )
    ]
    return elder


def to_call_back(conn: sqlite3.Connection, today: date, days: int = RETURN_DAYS) -> dict[str, Any]:
    """Finished visits of the last `days` days without a return visit, oldest first,
    with whom to call; and the complaints recorded to follow up."""
    since = (today - timedelta(days=days)).isoformat()
    due = []
    for r in conn.execute(
        "SELECT b.id, b.day, b.start, b.site_id, b.rating, b.caller, b.caller_relation,"
        " b.callback_phone, b.channel, r.id AS recipient_id, r.name AS recipient_name,"
        " r.family, h.phone, s.name AS service_name, p.name AS provider_name,"
        " c.name AS centre_name FROM care_bookings b"
        " JOIN care_recipients r ON r.id = b.recipient_id"
        " JOIN care_services s ON s.id = b.service_id"
        " LEFT JOIN households h ON h.id = r.household_id"
        " LEFT JOIN care_providers p ON p.id = b.provider_id"
        " LEFT JOIN sync_centres c ON c.site_id = b.site_id"
        " WHERE b.status = 'done' AND b.day >= ? AND b.day <= ?"
        " AND NOT EXISTS (SELECT 1 FROM care_return_visits v WHERE v.booking_id = b.id)"
        " ORDER BY b.day, b.start LIMIT 200",
        (since, today.isoformat()),
    ):
        d = dict(r)
        d["family"] = json.loads(d["family"] or "[]")
        due.append(d)
    complaints = complaint_list(conn, COMPLAINT_STATUSES)
    done = conn.execute(
        "SELECT COUNT(*), COALESCE(AVG(satisfaction), 0) FROM care_return_visits"
        " WHERE created_at >= ?",
        (since,),
    ).fetchone()
    return {"due": due, "complaints": complaints, "recorded": done[0], "average": done[1]}


# msgids of the catalogs
BOOKING_LABELS = STATUS_LABELS  # the tablet's words for a visit's status
MOBILITY_LABELS = {
    "independent": "Independent",
    "cane": "Uses a cane",
    "wheelchair": "Wheelchair",
    "bedridden": "Bedridden",
}
ROLE_LABELS = {"hotline": "Hotline operator", "operator": "Operator", "supervisor": "supervisor"}
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SERIES_LABELS = {"active": "Series active", "paused": "Series paused", "ended": "Series ended"}
COMPLAINT_STATUSES = ("open", "followed_up", "closed")
STILL_OPEN = ("open", "followed_up")
# msgids of the catalogs (zh: 待跟进, 已跟进, 已结案)
COMPLAINT_LABELS = {
    "open": "To follow up",
    "followed_up": "Followed up",
    "closed": "Complaint closed",
}
FOLLOW_UP_MAX = 500


def complaint_list(
    conn: sqlite3.Connection, statuses: tuple[str, ...], limit: int = 100
) -> list[dict[str, Any]]:
    """Complaints recorded on return visits in these states, the oldest open first
    (closed ones: the latest first)."""
    marks = ",".join("?" * len(statuses))
    rows = conn.execute(
        "SELECT v.*, b.day, b.start, r.id AS recipient_id, r.name AS recipient_name,"
        " s.name AS service_name, p.name AS provider_name, c.name AS centre_name"
        " FROM care_return_visits v"
        " JOIN care_bookings b ON b.id = v.booking_id"
        " JOIN care_recipients r ON r.id = b.recipient_id"
        " JOIN care_services s ON s.id = b.service_id"
        " LEFT JOIN care_providers p ON p.id = b.provider_id"
        " LEFT JOIN sync_centres c ON c.site_id = v.centre_id"
        f" WHERE v.complaint_status IN ({marks})"
        " ORDER BY CASE WHEN v.complaint_status = 'closed' THEN 1 ELSE 0 END,"
        " CASE WHEN v.complaint_status = 'closed' THEN v.closed_at END DESC,"
        " v.created_at, v.id LIMIT ?",
        (*statuses, limit),
    ).fetchall()
    return [dict(r) for r in rows]


def _complaint(tx: Tx, visit_id: str) -> Any:
    row = tx.one("SELECT id, complaint_status FROM care_return_visits WHERE id = ?", (visit_id,))
    if row is None or not row["complaint_status"]:
        raise NotFound(f"no complaint {visit_id[:64]!r}", field="visit_id")
    return row


def follow_up(tx: Tx, visit_id: str, action: str, operator: str, at: str) -> None:
    """open -> followed_up: who followed it up, when, and what was done."""
    row = _complaint(tx, visit_id)
    action = action.strip()
    if not action:
        raise BadRequest("请写明做了什么 / say what was done", field="follow_up")
    if len(action) > FOLLOW_UP_MAX:
        raise BadRequest(f"at most {FOLLOW_UP_MAX} characters", field="follow_up")
    if row["complaint_status"] != "open":
        raise Conflict("这条投诉已跟进 / this complaint was already followed up", "status")
    tx.execute(
        "UPDATE care_return_visits SET complaint_status = 'followed_up', followed_by = ?,"
        " followed_at = ?, follow_up = ? WHERE id = ? AND complaint_status = 'open'",
        (operator, at, action, visit_id),
    )


def close_complaint(tx: Tx, visit_id: str, operator: str, at: str) -> None:
    """followed_up -> closed; an open complaint must be followed up first."""
    row = _complaint(tx, visit_id)
    if row["complaint_status"] != "followed_up":
        raise Conflict(
            "先记录跟进再结案 / follow it up before closing"
            if row["complaint_status"] == "open"
            else "这条投诉已结案 / this complaint is already closed",
            field="status",
        )
    tx.execute(
        "UPDATE care_return_visits SET complaint_status = 'closed', closed_by = ?,"
        " closed_at = ? WHERE id = ? AND complaint_status = 'followed_up'",
        (operator, at, visit_id),
    )


def record_return_visit(tx: Tx, booking_id: str, form: dict[str, str], operator: str) -> str:
    """One return visit per finished booking; an unrated visit takes its satisfaction
    as the rating (a command to the centre)."""
    row = tx.one(
        "SELECT id, site_id, status, rating FROM care_bookings WHERE id = ?", (booking_id,)
    )
    if row is None:
        raise NotFound(f"no booking {booking_id[:64]!r}", field="booking_id")
    if row["status"] != "done":
        raise Conflict("只回访已完成的服务 / only a finished visit gets a return visit")
    text = form.get("satisfaction", "")
    if text not in ("1", "2", "3", "4", "5"):
        raise BadRequest("满意度请选 1 到 5 / satisfaction must be 1 to 5", field="satisfaction")
    note, complaint = form.get("note", "").strip(), form.get("complaint", "").strip()
    if len(note) > 300 or len(complaint) > 500:
        raise BadRequest("note: 300, complaint: 500 characters at most", field="note")
    if tx.one("SELECT 1 FROM care_return_visits WHERE booking_id = ?", (booking_id,)):
        raise Conflict("这次服务已回访 / this visit already had its return visit")
    tx.execute(
        "INSERT INTO care_return_visits (id, booking_id, centre_id, satisfaction, note,"
        " complaint, complaint_status, operator, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id(),
            booking_id,
            row["site_id"],
            int(text),
            note,
            complaint,
            "open" if complaint else "",
            operator,
            now_iso(),
        ),
    )
    pending = tx.one(
        "SELECT 1 FROM sync_commands m LEFT JOIN sync_command_results r ON r.id = m.id"
        " WHERE m.name IN ('care_cancel', 'care_rate') AND m.name = 'care_rate'"
        " AND r.id IS NULL AND coalesce(json_extract(m.args, '$.booking_id'),"
        " json_extract(m.args, '$.request_id')) = ?",
        (booking_id,),
    )
    if row["rating"] is None and pending is None:
        care_commands.rate(tx, booking_id, int(text), f"12349回访 {note}"[:200], operator)
    return booking_id


# --- pages ---------------------------------------------------------------------------


def _render(
    request: AnyRequest, name: str, op: Operator, status: int = 200, **context: Any
) -> Template:
    """A desk page in the hub's layout language (the catalogs, the `linli_lang` cookie)."""
    phones = sees_phones(op)
    return render(
        request,
        f"hotline/{name}",
        op,
        status_code=status,
        complaint_statuses=COMPLAINT_LABELS,
        weekday_labels=WEEKDAY_LABELS,
        booking_statuses=BOOKING_LABELS,
        mobility_labels=MOBILITY_LABELS,
        role_labels=ROLE_LABELS,
        phone=(lambda p: p or "") if phones else (lambda p: mask_phone(p or "")),
        **context,
    )


@get("/hub/hotline", include_in_schema=False)
async def desk(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    q = (request.query_params.get("q") or "").strip()

    def read(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (search(conn, q) if q else []), complaint_list(conn, STILL_OPEN)

    found, complaints = await hub_of(request).store.read(read)
    return _render(request, "search.html", op, q=q, found=found, complaints=complaints, error=None)


async def _elder_page(
    request: AnyRequest,
    op: Operator,
    recipient_id: str,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response[Any]:
    hub = hub_of(request)

    def read(conn: sqlite3.Connection) -> tuple[dict[str, Any], dict[str, Any]]:
        data = care_commands.visits(conn, recipient_id)
        data["series"] = care_commands.series(conn, recipient_id)
        return _elder(conn, recipient_id, hub.site_id), data

    elder, data = await hub.store.read(read)
    open_ = ("requested", "confirmed", "assigned", "started")
    upcoming = sorted(
        (v for v in data["visits"] if v["status"] in open_), key=lambda v: (v["day"], v["start"])
    )
    past = [v for v in data["visits"] if v["status"] not in open_]
    return _render(
        request,
        "elder.html",
        op,
        status=status,
        elder=elder,
        error=error,
        values=values or {},
        upcoming=upcoming,
        past=past,
        today=date.today().isoformat(),
        series_statuses=SERIES_LABELS,
        **data,
    )


@get("/hub/hotline/elders/{recipient_id:str}", include_in_schema=False)
async def elder_page(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    return await _elder_page(request, op, recipient_id)


def _book_fields(form: Any) -> dict[str, Any]:
    caller = str(form.get("caller") or "").strip()
    callback = str(form.get("callback_phone") or "").strip()
    if not caller:
        raise BadRequest("请填写来电人 / who is calling", field="caller")
    if not callback:
        raise BadRequest("请填写回拨电话 / a call-back number", field="callback_phone")
    fields: dict[str, Any] = {
        "service_id": str(form.get("service_id") or ""),
        "day": str(form.get("day") or ""),
        "start": str(form.get("start") or ""),
        "note": str(form.get("note") or ""),
        "channel": "hotline",
        "requested_by": caller,
        "caller": caller,
        "caller_relation": str(form.get("caller_relation") or "").strip(),
        "callback_phone": callback,
    }
    weekdays = form_ints(form, "weekday", maximum=6, field="weekdays")
    until = str(form.get("until") or "").strip()
    if weekdays or until:
        if not weekdays:
            raise BadRequest("重复预约请勾选星期 / choose the weekdays", field="weekdays")
        if not until:
            raise BadRequest("重复预约请填写截止日期 / until which day", field="until")
        fields["weekdays"], fields["until"] = weekdays, until
    return fields


@post("/hub/hotline/elders/{recipient_id:str}/book", include_in_schema=False)
async def book(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    try:
        fields = _book_fields(form)
        await hub_of(request).store.write(
            lambda tx: care_commands.book(tx, recipient_id, fields, f"{op.name} (12349)")
        )
    except (EdgeError, SyncError) as exc:
        values = {k: str(v) for k, v in form.items() if k != "_csrf_token"}
        return await _elder_page(request, op, recipient_id, exc.detail, exc.status_code, values)
    return Redirect(path=f"/hub/hotline/elders/{recipient_id}", status_code=303)


@post("/hub/hotline/elders/{recipient_id:str}/cancel", include_in_schema=False)
async def cancel(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    """A caller cancels: the booking (or the request still waiting) of this elder."""
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    booking_id, request_id = str(form.get("booking_id") or ""), str(form.get("request_id") or "")
    target = {"booking_id": booking_id} if booking_id else {"request_id": request_id}

    def write(tx: Tx) -> str:
        from hub.family import _own

        _own(tx, recipient_id, target)
        site = care_commands.recipient(tx.conn, recipient_id)["site_id"]
        reason = str(form.get("reason") or "12349 来电取消")
        return care_commands.cancel(tx, site, target, reason, f"{op.name} (12349)")

    try:
        await hub_of(request).store.write(write)
    except (EdgeError, SyncError) as exc:
        return await _elder_page(request, op, recipient_id, exc.detail, exc.status_code)
    return Redirect(path=f"/hub/hotline/elders/{recipient_id}", status_code=303)


@post(
    "/hub/hotline/elders/{recipient_id:str}/series/{series_id:str}/{step:str}",
    include_in_schema=False,
)
async def series_step(
    request: AnyRequest, recipient_id: FromPath[str], series_id: FromPath[str], step: FromPath[str]
) -> Response[Any]:
    """Pause a recurring series from a day (the elder is in hospital), or resume it:
    a command the centre applies on its next sync."""
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    from_day = str(form.get("from_day") or "")
    reason = str(form.get("reason") or "").strip()
    by = f"{op.name} (12349)"

    def write(tx: Tx) -> str:
        return care_commands.series_step(
            tx, recipient_id, series_id, step, from_day, reason, by[:40]
        )

    try:
        await hub_of(request).store.write(write)
    except (EdgeError, SyncError) as exc:
        return await _elder_page(request, op, recipient_id, exc.detail, exc.status_code)
    return Redirect(path=f"/hub/hotline/elders/{recipient_id}#series", status_code=303)


@get("/hub/hotline/returns", include_in_schema=False)
async def returns_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    data = await hub_of(request).store.read(lambda c: to_call_back(c, date.today()))
    return _render(request, "returns.html", op, error=None, **data)


@post("/hub/hotline/returns/{booking_id:str}", include_in_schema=False)
async def return_submit(request: AnyRequest, booking_id: FromPath[str]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in ("satisfaction", "note", "complaint")}
    store = hub_of(request).store
    try:
        await store.write(lambda tx: record_return_visit(tx, booking_id, fields, op.name))
    except (EdgeError, SyncError) as exc:
        data = await store.read(lambda c: to_call_back(c, date.today()))
        return _render(
            request, "returns.html", op, status=exc.status_code, error=exc.detail, **data
        )
    return Redirect(path="/hub/hotline/returns", status_code=303)


async def _complaint_step(request: AnyRequest, visit_id: str, step: str) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    back = "/hub/hotline/returns" if form.get("back") == "returns" else "/hub/hotline"
    store = hub_of(request).store
    at = now_iso()

    def write(tx: Tx) -> None:
        if step == "follow-up":
            follow_up(tx, visit_id, str(form.get("follow_up") or ""), op.name, at)
        else:
            close_complaint(tx, visit_id, op.name, at)

    try:
        await store.write(write)
    except (EdgeError, SyncError) as exc:
        if back == "/hub/hotline/returns":
            data = await store.read(lambda c: to_call_back(c, date.today()))
            return _render(
                request, "returns.html", op, status=exc.status_code, error=exc.detail, **data
            )
        complaints = await store.read(lambda c: complaint_list(c, STILL_OPEN))
        return _render(
            request,
            "search.html",
            op,
            status=exc.status_code,
            q="",
            found=[],
            complaints=complaints,
            error=exc.detail,
        )
    return Redirect(path=f"{back}#complaints", status_code=303)


@post("/hub/hotline/complaints/{visit_id:str}/follow-up", include_in_schema=False)
async def complaint_follow_up(request: AnyRequest, visit_id: FromPath[str]) -> Response[Any]:
    """Record what was done about a complaint (open -> followed up)."""
    return await _complaint_step(request, visit_id, "follow-up")


@post("/hub/hotline/complaints/{visit_id:str}/close", include_in_schema=False)
async def complaint_close(request: AnyRequest, visit_id: FromPath[str]) -> Response[Any]:
    """Close a followed-up complaint."""
    return await _complaint_step(request, visit_id, "close")


HOTLINE_HANDLERS = [
    desk,
    elder_page,
    book,
    cancel,
    series_step,
    returns_page,
    return_submit,
    complaint_follow_up,
    complaint_close,
]
