"""Walk-in sales: someone comes in and buys from today's stock, no household.

The domain keeps no idempotency key for a sale, so each drawn form carries a
token and the page remembers the last few it has used: a double tap shows
the first receipt instead of selling twice (per process, which is enough for
a tap that lands twice within seconds).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from litestar import get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from edge import products, walkin
from edge.errors import BadRequest, EdgeError
from edge.ids import new_id
from edge.pages.base import AnyRequest, MeDep, form_error, page, today
from edge.pages.desk import METHODS
from edge.pages.formats import parse_quantity
from edge.pages.orders import biggest_first
from edge.web import StoreDep

_SEEN_MAX = 500
_seen: OrderedDict[str, str] = OrderedDict()  # form token → sale id
_seen_lock = threading.Lock()


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
    with _seen_lock:
        done = _seen.get(token) if token else None
        if token and done is None:
            _seen[token] = ""  # claimed: a second tap arriving now will not sell again
    if done is not None:  # "" while the first tap is still being saved
        return Redirect(path=f"/walkin?sale={done}" if done else "/walkin", status_code=303)
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
        result = await store.write(lambda tx: walkin.sell(tx, lines, method, day, me.id))
    except EdgeError as exc:
        with _seen_lock:
            _seen.pop(token, None)
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
    if token:
        with _seen_lock:
            _seen[token] = result["sale_id"]
            while len(_seen) > _SEEN_MAX:
                _seen.popitem(last=False)
    return Redirect(path=f"/walkin?sale={result['sale_id']}", status_code=303)


HANDLERS: list[Any] = [walkin_form, walkin_sell]
