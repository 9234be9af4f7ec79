"""The day's reconciliation across centres, for hub operators: a printable page and CSV.

The same figures the co-op reads from `/supplier/v1/reconciliation` (ordered,
dispatched, received, sold through orders and walk-in, returned, lost, owed in
fen), per centre and in total, behind an operator's session. The page prints
on A4, one centre's sheet never split across pages. The CSV is for a person
with a spreadsheet: centre names, quantities in 斤 / 个 / 份 and money in 元,
each beside the exact figure (grams, pieces, fen) a script reads.
"""

from __future__ import annotations

import io
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge.domain import calendar, spreadsheet
from edge.domain.supply import reconciliation
from edge.errors import BadRequest
from edge.web.pages.formats import jin, yuan
from hub.pages import error_page, hub_of, page_operator, render, to_login, today_iso
from hub.supplier import centres

AnyRequest = Request[Any, Any, Any]
QUANTITIES = ("ordered", "dispatched", "received", "sold_orders", "sold_walkin", "returned", "lost")
MONEY = ("price_fen", "received_fen", "returned_fen", "lost_fen", "owed_fen")
# (header, key): a person's column, then the exact one beside it.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("站点", "centre_name"),
    ("centre_id", "centre_id"),
    ("日期", "delivery_date"),
    ("品名", "product_name"),
    ("product_id", "product_id"),
    ("单位", "unit"),
    ("qty_unit", "qty_unit"),
    *(
        pair
        for k, zh in zip(
            QUANTITIES, ("订货", "发货", "收货", "订单售出", "零售", "退货", "损耗"), strict=True
        )
        for pair in ((zh, f"{k}_text"), (k, k))
    ),
    ("收货为估计", "received_assumed_text"),
    *(
        pair
        for k, zh in zip(
            MONEY,
            ("进价(元)", "收货金额(元)", "退货金额(元)", "损耗金额(元)", "应付(元)"),
            strict=True,
        )
        for pair in ((zh, f"{k}_yuan"), (k, k))
    ),
)


def _amount(qty_unit: str, value: int | None) -> str:
    """A quantity in the unit a person reads: 斤 for grams, else the count."""
    if value is None:
        return ""
    if qty_unit == "g":
        return ("-" if value < 0 else "") + jin(abs(value))
    return str(value)


def person_csv(doc: dict[str, Any]) -> str:
    """The reconciliation as a spreadsheet: one row per centre and product, a total row."""
    buf = io.StringIO()
    w = spreadsheet.writer(buf)
    w.writerow([header for header, _ in CSV_COLUMNS])
    for c in doc["centres"]:
        for x in c["lines"]:
            row = {
                **x,
                "centre_name": c["centre_name"],
                "centre_id": c["centre_id"],
                "delivery_date": c["delivery_date"],
                "unit": x["co_op_unit"],
                "received_assumed_text": "是" if x["received_assumed"] else "",
                **{f"{k}_text": _amount(x["qty_unit"], x[k]) for k in QUANTITIES},
                **{f"{k}_yuan": yuan(x[k]) if x[k] is not None else "" for k in MONEY},
            }
            w.writerow(["" if row[key] is None else row[key] for _, key in CSV_COLUMNS])
    t = doc["totals"]
    total = {"centre_name": "合计", "centre_id": "TOTAL", "delivery_date": doc["delivery_date"]}
    for k in MONEY[1:]:
        total[k], total[f"{k}_yuan"] = t[k], yuan(t[k])
    w.writerow([total.get(key, "") for _, key in CSV_COLUMNS])
    return buf.getvalue()


async def _doc(request: AnyRequest, day: str) -> dict[str, Any]:
    store = hub_of(request).store
    return await store.read(lambda c: reconciliation.reconcile_centres(c, day, centres(c)))


@get("/hub/reconciliation", include_in_schema=False)
async def reconciliation_page(
    request: AnyRequest, day: FromQuery[str | None] = None
) -> Template | Redirect | Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    try:
        d = calendar.iso_day(day, "day") if day else today_iso(request)
    except BadRequest as exc:
        return error_page(request, 400, exc.detail, "day")
    doc = await _doc(request, d)
    return render(request, "reconciliation.html", op, day=d, doc=doc, yuan=yuan)


@get("/hub/reconciliation.csv", include_in_schema=False)
async def reconciliation_csv(request: AnyRequest, day: FromQuery[str]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    d = calendar.iso_day(day, "day")
    doc = await _doc(request, d)
    body = "\ufeff" + person_csv(doc)  # BOM: Excel opens it as UTF-8
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{d}.csv"'},
    )


HANDLERS = [reconciliation_page, reconciliation_csv]
