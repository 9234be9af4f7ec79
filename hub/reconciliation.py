"""The day's reconciliation across centres, for hub operators: a printable page and CSV.

The same figures the co-op reads from `/supplier/v1/reconciliation` (ordered,
dispatched, received, sold through orders and walk-in, returned, lost, owed in
fen), per centre and in total, behind an operator's session.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge import calendar
from edge.errors import BadRequest
from edge.pages.formats import yuan
from edge.supply import reconciliation
from hub.pages import hub_of, page_operator, render, today_iso
from hub.supplier import centres

AnyRequest = Request[Any, Any, Any]


async def _doc(request: AnyRequest, day: str) -> dict[str, Any]:
    store = hub_of(request).store
    return await store.read(lambda c: reconciliation.reconcile_centres(c, day, centres(c)))


@get("/hub/reconciliation", include_in_schema=False)
async def reconciliation_page(
    request: AnyRequest, day: FromQuery[str | None] = None
) -> Template | Redirect:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    try:
        d = calendar.parse_day(day, "day").isoformat() if day else today_iso()
    except BadRequest as exc:
        return render("error.html", op, status_code=400, status=400, detail=exc.detail)
    doc = await _doc(request, d)
    return render("reconciliation.html", op, day=d, doc=doc, yuan=yuan)


@get("/hub/reconciliation.csv", include_in_schema=False)
async def reconciliation_csv(request: AnyRequest, day: FromQuery[str]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    d = calendar.parse_day(day, "day").isoformat()
    doc = await _doc(request, d)
    body = "\ufeff" + reconciliation.as_csv(doc["centres"])  # BOM: Excel opens it as UTF-8
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{d}.csv"'},
    )


HANDLERS = [reconciliation_page, reconciliation_csv]
