"""Walk-in sales: someone comes in and buys from today's stock, no household.

Each drawn form carries a token that is the sale's idempotency key, so a
double tap (or a retry after a dropped answer) shows the first receipt
instead of selling twice.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from litestar import get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge.domain import products, walkin
from edge.errors import BadRequest, EdgeError
from edge.store.ids import new_id
from edge.web.pages.base import AnyRequest, MeDep, form_error, page, today
from edge.web.pages.desk import METHODS
from edge.web.pages.formats import parse_quantity
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
        status=status,
    )


@get("/walkin", include_in_schema=False)
async def walkin_form(
    request: AnyRequest, me: MeDep, store: StoreDep, sale: FromQuery[str | None] = None
) -> Template:
    sold = None
    if sale:
        sold = await store.read(lambda c: _sale(c, sale))
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


@post("/walkin", include_in_schema=False)
async def walkin_sell(request: AnyRequest, me: MeDep, store: StoreDep) -> Template | Redirect:
    form = await request.form()
    token = str(form.get("token", "") or "")[:40]
    catalog = {p.id: p for p in await store.read(lambda c: products.list_products(c))}
    lines: list[walkin.SaleLine] = []
    try:
        for key, value in form.multi_items():
            if not key.startswith("qty_"):
                continue
            product = catalog.get(key[4:])
            if product is None:
                raise BadRequest(f"no product {key[4:]!r}", field="lines.product_id")
            try:
                quantity = parse_quantity(str(value))
            except BadRequest as exc:
                raise BadRequest(f"{product.name}: {exc.detail}", field="lines.quantity") from None
            if quantity is None:
                continue
            unit = str(form.get(f"unit_{product.id}", "") or "") or None
            lines.append(walkin.SaleLine(product.id, quantity, unit))
        method = str(form.get("method", "") or "")
        day = today(request)
        result = await store.write(
            lambda tx: walkin.sell(tx, lines, method, day, me.id, idempotency_key=token or None)
        )
    except EdgeError as exc:
        if exc.status_code != 400:
            raise
        error = form_error(request, exc)
        for i, line in enumerate(lines):
            error["detail"] = error["detail"].replace(f"lines[{i}]", catalog[line.product_id].name)
        return await _form(
            request,
            me,
            store,
            error=error,
            status=400,
            token=token or None,
            values={k: str(v) for k, v in form.items()},
        )
    return Redirect(path=f"/walkin?sale={result['sale_id']}", status_code=303)


HANDLERS: list[Any] = [walkin_form, walkin_sell]
