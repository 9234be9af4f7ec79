"""Walk-in sales: someone comes in and buys from today's stock, no household.

The total, and the change for what the buyer hands over, show as the
quantities are typed (`/walkin/quote`, nothing written); the day's sales are
listed under the form, each with an undo (edge/web/pages/undo.py).

Each drawn form carries a token that is the sale's idempotency key, so a
double tap (or a retry after a dropped answer) shows the first receipt
instead of selling twice.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge.domain import products, walkin
from edge.errors import BadRequest, EdgeError
from edge.store.ids import new_id
from edge.web.forms import Prefixed, Text, decode_form
from edge.web.pages.base import AnyRequest, MeDep, form_error, page, today
from edge.web.pages.desk import METHODS
from edge.web.pages.formats import parse_quantity, parse_yuan
from edge.web.pages.orders import biggest_first
from edge.web.shared import StoreDep


async def _form(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    *,
    error: dict[str, str] | None,
    values: dict[str, str],
    status: int = 200,
    token: str | None = None,
    sold: dict[str, Any] | None = None,
) -> Template:
    day = today(request)
    catalog = await store.read(lambda c: products.list_products(c))
    sales = await store.read(lambda c: walkin.sales_on(c, day.isoformat()))
    groups: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
    for p in catalog:
        groups.setdefault(p.category or "", []).append(
            {"p": p, "price_fen": p.price_on(day), "special": p.price_on(day) != p.price_fen}
        )
    return page(
        request,
        "walkin.html",
        me,
        groups=biggest_first(groups),
        methods=METHODS,
        error=error,
        values=values,
        token=token or new_id(),
        sold=sold,
        sales=sales,
        day=day.isoformat(),
        taken_fen=sum(x["total_fen"] for x in sales if not x["voided"]),
        status=status,
    )


@get("/walkin", include_in_schema=False)
async def walkin_form(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    sale: FromQuery[str | None] = None,
    change: FromQuery[int | None] = None,
) -> Template:
    sold = None
    if sale:
        sold = await store.read(lambda c: _sale(c, sale))
        if sold is not None and change is not None and 0 <= change <= 10_000_000:
            sold["change_due_fen"] = change
    return await _form(request, me, store, error=None, values={}, sold=sold)


def _sale(conn: Any, sale_id: str) -> dict[str, Any] | None:
    """One walk-in sale with its lines, for the receipt (the domain has no reader)."""
    row = conn.execute("SELECT * FROM walkin_sales WHERE id = ?", (sale_id,)).fetchone()
    if row is None:
        return None
    sale = dict(row)
    sale["lines"] = [
        dict(r)
        for r in conn.execute(
            "SELECT product_id, product_name, qty_unit, quantity, fen FROM walkin_items"
            " WHERE sale_id = ?",
            (sale_id,),
        )
    ]
    return sale


class Sale(msgspec.Struct, kw_only=True):
    """The walk-in form (or what its quote asks with): a quantity box and a unit per
    product (`qty_<id>`, `unit_<id>`), how they pay, what they hand over, the form's token."""

    quantities: Annotated[dict[str, str], Prefixed("qty_")] = {}
    units: Annotated[dict[str, str], Prefixed("unit_")] = {}
    method: str = ""
    given: Annotated[str, Text(strip=True)] = ""
    token: Annotated[str, Text(limit=40)] = ""


def _lines(form: Sale, catalog: dict[str, products.Product]) -> list[walkin.SaleLine]:
    """The quantities typed on the walk-in form, as sale lines (empty boxes skipped)."""
    lines: list[walkin.SaleLine] = []
    for product_id, value in form.quantities.items():
        product = catalog.get(product_id)
        if product is None:
            raise BadRequest(f"no product {product_id!r}", field="lines.product_id")
        try:
            quantity = parse_quantity(value)
        except BadRequest as exc:
            raise BadRequest(f"{product.name}: {exc.detail}", field="lines.quantity") from None
        if quantity is None:
            continue
        unit = form.units.get(product.id) or None
        lines.append(walkin.SaleLine(product.id, quantity, unit))
    return lines


def _named(error: dict[str, str], lines: list[walkin.SaleLine], catalog: dict[str, Any]) -> None:
    for i, line in enumerate(lines):
        error["detail"] = error["detail"].replace(f"lines[{i}]", catalog[line.product_id].name)


@get("/walkin/quote", include_in_schema=False)
async def walkin_quote(request: AnyRequest, me: MeDep, store: StoreDep) -> Template:
    """The sale's total and change for what is typed so far, written nowhere."""
    form = decode_form({k: str(v) for k, v in request.query_params.items()}, Sale)
    catalog = {p.id: p for p in await store.read(lambda c: products.list_products(c))}
    day = today(request)
    quote: dict[str, Any] = {"total": None, "lines": [], "given": None, "change": None}
    error = None
    lines: list[walkin.SaleLine] = []
    try:
        lines = _lines(form, catalog)
        if lines:
            priced = await store.read(lambda c: walkin.price_lines(c, lines, day))
            quote["lines"] = priced
            quote["total"] = sum(r["fen"] for r in priced)
        if form.given:
            quote["given"] = parse_yuan(form.given, "given")
            if quote["total"] is not None:
                quote["change"] = quote["given"] - quote["total"]
    except BadRequest as exc:
        error = form_error(request, exc)
        _named(error, lines, catalog)
    return page(
        request,
        "_walkin_total.html",
        me,
        quote=quote,
        quote_error=error,
        status=400 if error else 200,
    )


@post("/walkin", include_in_schema=False)
async def walkin_sell(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    data = decode_form(values, Sale)
    token = data.token
    catalog = {p.id: p for p in await store.read(lambda c: products.list_products(c))}
    lines: list[walkin.SaleLine] = []
    try:
        lines = _lines(data, catalog)
        method = data.method
        given = parse_yuan(data.given, "given") if data.given else None
        day = today(request)
        result = await store.write(
            lambda tx: walkin.sell(
                tx, lines, method, day, me.id, idempotency_key=token or None, given_fen=given
            )
        )
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        error = form_error(request, exc)
        _named(error, lines, catalog)
        return await _form(
            request, me, store, error=error, status=400, token=token or None, values=values
        )
    change = result.get("change_due_fen")
    more = f"&change={change}" if change is not None else ""
    return Redirect(path=f"/walkin?sale={result['sale_id']}{more}", status_code=303)


HANDLERS: list[Any] = [walkin_form, walkin_quote, walkin_sell]
