"""The 12349 hotline desk on the hub (/hub/hotline), its pages: a caller asks for care
for an elder.

The operator finds the elder across all centres by name, phone tail or address, sees
their visits (and what still waits for the centre), and books on the caller's behalf,
once or on weekdays until a day, recording who called, their relation and a call-back
number: a `care_book` command to the elder's centre (`hub.care_commands`), answered
when the centre next syncs. After a finished service the desk makes a return visit
(回访) and follows complaints up to closing. What the desk reads and records is
`hub.hotline_desk`, its forms (typed structs litestar decodes from what is posted)
`hub.hotline_forms`; here are the guard and the routes.

Operators with the role `hotline` may use these pages only: `hotline_guard` turns them
away from every other operator page and the operator API. Other operators may use the
desk too. Phones are shown whole to the hotline and supervisors (they call back),
masked to other operators.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from edge.domain.households import mask_phone
from edge.errors import EdgeError
from edge.store import Tx
from edge.store.statuses import SeriesStatus
from edge.web.pages.care import STATUS_LABELS
from edge.web.pages.i18n import gettext_for
from edge.web.shared import bearer_token
from hub import care_commands
from hub.hotline_desk import (
    UPCOMING,
    close_complaint,
    complaint_list,
    elder_view,
    follow_up,
    record_return_visit,
    search,
    to_call_back,
)
from hub.hotline_forms import (
    BookForm,
    CancelForm,
    ComplaintForm,
    ReturnVisitForm,
    SeriesStepForm,
    book_fields,
)
from hub.pages import (
    N_,
    Operator,
    _operator_for,
    error_page,
    hub_of,
    page_operator,
    render,
    wants_html,
)
from hub.statuses import COMPLAINT_NOT_CLOSED, ComplaintStatus
from sync.enrol import now_iso
from sync.errors import SyncError

AnyRequest = Request[Any, Any, Any]
ROLE = "hotline"
# What a hotline operator may open: these pages, signing in and out, static files.
OPEN_TO_HOTLINE = ("/hub/hotline", "/hub/login", "/hub/logout", "/hub/api/v1/token")

# msgids of the catalogs
HOTLINE_ONLY = N_("A hotline operator may use the hotline desk only.")  # 热线坐席只能使用热线页面
BOOKING_LABELS = STATUS_LABELS  # the tablet's words for a visit's status
MOBILITY_LABELS = {
    "independent": "Independent",
    "cane": "Uses a cane",
    "wheelchair": "Wheelchair",
    "bedridden": "Bedridden",
}
ROLE_LABELS = {"hotline": "Hotline operator", "operator": "Operator", "supervisor": "supervisor"}
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SERIES_LABELS = {
    SeriesStatus.ACTIVE: "Series active",
    SeriesStatus.PAUSED: "Series paused",
    SeriesStatus.ENDED: "Series ended",
}
# zh: 待跟进, 已跟进, 已结案
COMPLAINT_LABELS = {
    ComplaintStatus.OPEN: "To follow up",
    ComplaintStatus.FOLLOWED_UP: "Followed up",
    ComplaintStatus.CLOSED: "Complaint closed",
}


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
        return error_page(request, 403, "the hotline desk only", hint=HOTLINE_ONLY)
    return Response(
        {"error": "forbidden", "detail": "a hotline operator may use the hotline desk only"},
        status_code=403,
    )


def sees_phones(op: Operator) -> bool:
    return op.role in (ROLE, "supervisor")


# --- pages ---------------------------------------------------------------------------


def _render(
    request: AnyRequest, name: str, op: Operator, status: int = 200, **context: Any
) -> Template:
    """A desk page in the hub's layout language (the catalogs, the `linli_lang` cookie).
    A refusal's detail is a msgid when it is the desk's own (`hub.hotline_desk`, the
    forms here): shown translated; any other detail is shown as it is."""
    phones = sees_phones(op)
    if context.get("error"):
        context["error"] = gettext_for(request)(context["error"])
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
        return (search(conn, q) if q else []), complaint_list(conn, COMPLAINT_NOT_CLOSED)

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
        return elder_view(conn, recipient_id, hub.site_id), data

    elder, data = await hub.store.read(read)
    upcoming = sorted(
        (v for v in data["visits"] if v["status"] in UPCOMING), key=lambda v: (v["day"], v["start"])
    )
    past = [v for v in data["visits"] if v["status"] not in UPCOMING]
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


@post("/hub/hotline/elders/{recipient_id:str}/book", include_in_schema=False)
async def book(
    request: AnyRequest, recipient_id: FromPath[str], data: URLEncodedBody[BookForm]
) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    try:
        fields = book_fields(data)
        await hub_of(request).store.write(
            lambda tx: care_commands.book(tx, recipient_id, fields, f"{op.name} (12349)")
        )
    except (EdgeError, SyncError) as exc:
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if isinstance(v, str)}
        return await _elder_page(request, op, recipient_id, exc.detail, exc.status_code, values)
    return Redirect(path=f"/hub/hotline/elders/{recipient_id}", status_code=303)


@post("/hub/hotline/elders/{recipient_id:str}/cancel", include_in_schema=False)
async def cancel(
    request: AnyRequest, recipient_id: FromPath[str], data: URLEncodedBody[CancelForm]
) -> Response[Any]:
    """A caller cancels: the booking (or the request still waiting) of this elder."""
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    target = {"booking_id": data.booking_id} if data.booking_id else {"request_id": data.request_id}

    def write(tx: Tx) -> str:
        from hub.family import _own

        _own(tx, recipient_id, target)
        site = care_commands.recipient(tx.conn, recipient_id)["site_id"]
        reason = data.reason or "12349 来电取消"
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
    request: AnyRequest,
    recipient_id: FromPath[str],
    series_id: FromPath[str],
    step: FromPath[str],
    data: URLEncodedBody[SeriesStepForm],
) -> Response[Any]:
    """Pause a recurring series from a day (the elder is in hospital), or resume it:
    a command the centre applies on its next sync."""
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    from_day = data.from_day
    reason = data.reason.strip()
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
async def return_submit(
    request: AnyRequest, booking_id: FromPath[str], data: URLEncodedBody[ReturnVisitForm]
) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    store = hub_of(request).store

    def write(tx: Tx) -> str:
        return record_return_visit(
            tx, booking_id, data.satisfaction, data.note, data.complaint, op.name
        )

    try:
        await store.write(write)
    except (EdgeError, SyncError) as exc:
        due = await store.read(lambda c: to_call_back(c, date.today()))
        return _render(request, "returns.html", op, status=exc.status_code, error=exc.detail, **due)
    return Redirect(path="/hub/hotline/returns", status_code=303)


async def _complaint_step(
    request: AnyRequest, visit_id: str, step: str, form: ComplaintForm
) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    back = "/hub/hotline/returns" if form.back == "returns" else "/hub/hotline"
    store = hub_of(request).store
    at = now_iso()

    def write(tx: Tx) -> None:
        if step == "follow-up":
            follow_up(tx, visit_id, form.follow_up, op.name, at)
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
        complaints = await store.read(lambda c: complaint_list(c, COMPLAINT_NOT_CLOSED))
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
async def complaint_follow_up(
    request: AnyRequest, visit_id: FromPath[str], data: URLEncodedBody[ComplaintForm]
) -> Response[Any]:
    """Record what was done about a complaint (open -> followed up)."""
    return await _complaint_step(request, visit_id, "follow-up", data)


@post("/hub/hotline/complaints/{visit_id:str}/close", include_in_schema=False)
async def complaint_close(
    request: AnyRequest, visit_id: FromPath[str], data: URLEncodedBody[ComplaintForm]
) -> Response[Any]:
    """Close a followed-up complaint."""
    return await _complaint_step(request, visit_id, "close", data)


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
