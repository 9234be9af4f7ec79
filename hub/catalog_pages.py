"""The district catalog page: hub-owned products every centre receives at its next sync.

A price is typed as people write it ("2.8", "2.8元", "¥2.80"); anything else
comes back on the same page with the reason in the page's language and the
typed text kept. After a save the page says which centres already have the
change and which are still to receive it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from edge.errors import BadRequest, EdgeError, NotFound
from edge.web.pages.base import form_error
from edge.web.pages.formats import parse_yuan
from hub import commands, operations
from hub.pages import hub_of, page_operator, render, to_login
from sync.errors import SyncError

AnyRequest = Request[Any, Any, Any]
MAX_PRICE_FEN = 1_000_000  # 10,000 元


def price_fen(text: str) -> int:
    """ "2.8", "2.8元" or "¥2.80" → 280 fen; 0 to 10,000 元 with at most two decimals."""
    fen = parse_yuan(text, "price")
    if fen > MAX_PRICE_FEN:
        raise BadRequest("price must be 0 to 10000 yuan, at most 2 decimals", field="price")
    return fen


def _catalog(conn: sqlite3.Connection, hub_site: str) -> list[dict[str, Any]]:
    products = [
        dict(r)
        for r in conn.execute(
            "SELECT * FROM products WHERE site_id = ? ORDER BY active DESC, category, name",
            (hub_site,),
        )
    ]
    delivery = commands.catalog_delivery(conn, hub_site, [p["id"] for p in products])
    for p in products:
        p["delivery"] = delivery[p["id"]]
    return products


async def _save(request: AnyRequest, write: Any) -> Any:
    """Run a catalog write; the hub's own refusals (a centre's product) read like the
    domain's, so the page shows them the same way."""
    try:
        return await hub_of(request).store.write(write)
    except SyncError as exc:
        kind = NotFound if exc.status_code == 404 else BadRequest
        raise kind(exc.detail, field=exc.extra.get("field")) from None


async def _page(
    request: AnyRequest,
    op: Any,
    *,
    status_code: int = 200,
    error: dict[str, str] | None = None,
    error_for: str = "",
    typed: dict[str, Any] | None = None,
) -> Response[Any]:
    hub = hub_of(request)
    items = await hub.store.read(lambda c: _catalog(c, hub.site_id))
    saved = str(request.query_params.get("saved") or "")[:40]
    return render(
        request,
        "catalog.html",
        op,
        status_code=status_code,
        products=items,
        saved=next((p for p in items if p["id"] == saved), None),
        error=error,
        error_for=error_for,
        typed=typed or {},
    )


@get("/hub/catalog", include_in_schema=False)
async def catalog_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    return await _page(request, op)


@post("/hub/catalog", include_in_schema=False)
async def catalog_create(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    form = await request.form()
    typed = {k: str(form.get(k) or "") for k in ("name", "sold_by", "unit", "category", "price")}
    try:
        fields = {
            "name": typed["name"],
            "sold_by": typed["sold_by"],
            "unit": typed["unit"] or None,
            "category": typed["category"],
            "price_fen": price_fen(typed["price"]),
        }
        product_id = await _save(request, lambda tx: operations.create_product(tx, fields))
    except EdgeError as exc:
        error = form_error(request, exc)
        return await _page(
            request, op, status_code=exc.status_code, error=error, error_for="new", typed=typed
        )
    return Redirect(path=f"/hub/catalog?saved={product_id}")


@post("/hub/catalog/{product_id:str}", include_in_schema=False)
async def catalog_update(request: AnyRequest) -> Response[Any]:
    product_id = str(request.path_params["product_id"])[:64]
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    form = await request.form()
    typed = {k: str(form.get(k) or "") for k in ("name", "price", "active")}
    try:
        fields: dict[str, Any] = {"active": typed["active"] == "1"}
        if typed["price"]:
            fields["price_fen"] = price_fen(typed["price"])
        if typed["name"]:
            fields["name"] = typed["name"]
        await _save(request, lambda tx: operations.update_product(tx, product_id, fields))
    except EdgeError as exc:
        error = form_error(request, exc)
        return await _page(
            request, op, status_code=exc.status_code, error=error, error_for=product_id, typed=typed
        )
    return Redirect(path=f"/hub/catalog?saved={product_id}")


HANDLERS = [catalog_page, catalog_create, catalog_update]
