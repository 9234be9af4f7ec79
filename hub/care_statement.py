"""The month's care statement across all centres (/hub/care/statement, operators): per
centre, elder, service and provider, printable and as CSV; the same figures each
centre's manager reads (`edge.domain.care.statement`), added up over the district."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Redirect

from edge.domain.care import statement
from edge.errors import BadRequest
from hub.pages import hub_of, page_operator, render

AnyRequest = Request[Any, Any, Any]


def read(month: str, centre: str = "") -> Any:
    def fn(conn: sqlite3.Connection) -> dict[str, Any]:
        names = {
            r["site_id"]: r["name"] for r in conn.execute("SELECT site_id, name FROM sync_centres")
        }
        return statement.statement(conn, month, names, site_id=centre or None)

    return fn


def _month(month: str | None) -> str:
    value = month or date.today().isoformat()[:7]
    statement.month_range(value)
    return value


@get("/hub/care/statement", include_in_schema=False)
async def statement_page(
    request: AnyRequest, month: FromQuery[str | None] = None, centre: FromQuery[str] = ""
) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    try:
        on = _month(month)
    except BadRequest:
        on = date.today().isoformat()[:7]
    doc = await hub_of(request).store.read(read(on, centre))
    return render(
        request,
        "care_statement.html",
        op,
        doc=doc,
        centre=centre,
        groups=statement.GROUPS,
        titles=statement.GROUP_ZH,
        yuan=statement.yuan,
    )


@get("/hub/care/statement.csv", include_in_schema=False)
async def statement_csv(
    request: AnyRequest, month: FromQuery[str | None] = None, centre: FromQuery[str] = ""
) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    on = _month(month)
    doc = await hub_of(request).store.read(read(on, centre))
    body = "\ufeff" + statement.as_csv(doc)  # BOM: Excel and WPS open it as UTF-8
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="care-{on}.csv"'},
    )


HANDLERS = [statement_page, statement_csv]
