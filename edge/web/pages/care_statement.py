"""The month's care statement at the centre (/care/statement, manager): per elder,
service and provider, printable, and the same figures as CSV (`edge.domain.care.statement`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from litestar import Response, get
from litestar.params import FromQuery
from litestar.response import Template

from edge.domain.care import statement
from edge.errors import BadRequest
from edge.store import get_meta
from edge.web.pages.base import N_, AnyRequest, MeDep, need_manager, page, today
from edge.web.shared import StoreDep

GROUP_TITLES = {"elder": N_("By elder"), "service": N_("By service"), "provider": N_("By provider")}
COLUMN_TITLES = {"elder": N_("Elder"), "service": N_("Service"), "provider": N_("Who goes")}


def _month(request: AnyRequest, month: str | None) -> str:
    value = month or today(request).isoformat()[:7]
    statement.month_range(value)  # a 400 naming `month`
    return value


def _read(month: str) -> Any:
    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        site = get_meta(conn, "site_id") or ""
        names = {site: get_meta(conn, "centre_name") or site}
        return statement.statement(conn, month, names, site_id=site)

    return read


@get("/statement")
async def statement_page(
    request: AnyRequest, me: MeDep, store: StoreDep, month: FromQuery[str | None] = None
) -> Template:
    need_manager(me)
    try:
        on = _month(request, month)
    except BadRequest:
        on = today(request).isoformat()[:7]
    doc = await store.read(_read(on))
    return page(
        request,
        "care/statement.html",
        me,
        doc=doc,
        groups=tuple(GROUP_TITLES),
        group_titles=GROUP_TITLES,
        column_titles=COLUMN_TITLES,
        yuan=statement.yuan,
    )


@get("/statement.csv")
async def statement_csv(
    request: AnyRequest, me: MeDep, store: StoreDep, month: FromQuery[str | None] = None
) -> Response[bytes]:
    need_manager(me)
    on = _month(request, month)
    doc = await store.read(_read(on))
    body = "\ufeff" + statement.as_csv(doc)  # BOM: Excel and WPS open it as UTF-8
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="care-{on}.csv"'},
    )


STATEMENT_HANDLERS = [statement_page, statement_csv]
