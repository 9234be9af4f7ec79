"""The district catalog page: hub-owned products every centre receives at its next sync,
and below them every product the centres sell, with each centre's price.

A price is typed as people write it ("2.8", "2.8元", "¥2.80"); anything else
comes back on the same page with the reason in the page's language and the
typed text kept. After a save the page says which centres already have the
change and which are still to receive it. A new district product whose name
is likely that of one on sale already (`hub.centre_products`) comes back with
the existing ones listed, and is added only once the operator confirms.

One product's page (`/hub/catalog/products/{id}`) shows it at each centre:
change a centre's own price (a command to that centre), adopt it into the
district catalog, or link a centre's own to the district product; the
commands sent about it are listed there with their outcome, as on
/hub/commands.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect

from edge.errors import BadRequest, EdgeError, NotFound
from edge.web.forms import Text, read_form
from edge.web.pages.base import form_error
from edge.web.pages.formats import parse_yuan
from hub import centre_products, commands, operations
from hub.centre_pages import command_view, part_query
from hub.health import sync_health
from hub.pages import hub_of, hub_zone, page_operator, render, to_login
from sync.errors import SyncError

AnyRequest = Request[Any, Any, Any]
MAX_PRICE_FEN = 1_000_000  # 10,000 元
POLL_S = 3


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
    duplicates: list[dict[str, Any]] | None = None,
) -> Response[Any]:
    hub = hub_of(request)
    items, sold = await hub.store.read(
        lambda c: (_catalog(c, hub.site_id), centre_products.matrix(c, hub.site_id))
    )
    saved = str(request.query_params.get("saved") or "")[:40]
    return render(
        request,
        "catalog.html",
        op,
        status_code=status_code,
        products=items,
        centres=sold["centres"],
        rows=sold["rows"],
        saved=next((p for p in items if p["id"] == saved), None),
        error=error,
        error_for=error_for,
        typed=typed or {},
        duplicates=duplicates or [],
    )


@get("/hub/catalog", include_in_schema=False)
async def catalog_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    return await _page(request, op)


class NewProduct(msgspec.Struct, kw_only=True):
    """A district product, as typed (shown again as typed if it is refused)."""

    name: str = ""
    sold_by: str = ""
    unit: str = ""
    category: str = ""
    price: str = ""  # 元, read by price_fen
    confirm_duplicate: bool = False  # "add it anyway" under a likely duplicate


class ProductChange(msgspec.Struct, kw_only=True):
    name: str = ""  # blank: unchanged
    price: str = ""  # blank: unchanged
    active: str = ""  # "1": on sale


class Price(msgspec.Struct, kw_only=True):
    price: str = ""
    confirm_duplicate: bool = False


class Link(msgspec.Struct):
    district_id: Annotated[str, Text(limit=64)] = ""


@post("/hub/catalog", include_in_schema=False)
async def catalog_create(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    form = await read_form(request, NewProduct)
    typed = {
        "name": form.name,
        "sold_by": form.sold_by,
        "unit": form.unit,
        "category": form.category,
        "price": form.price,
    }
    try:
        fields = {
            "name": typed["name"],
            "sold_by": typed["sold_by"],
            "unit": typed["unit"] or None,
            "category": typed["category"],
            "price_fen": price_fen(typed["price"]),
        }
        confirm = form.confirm_duplicate
        product_id = await _save(
            request,
            lambda tx: centre_products.create_district_product(
                tx, fields, confirm_duplicate=confirm
            ),
        )
    except centre_products.LikelyDuplicate as exc:
        return await _page(
            request,
            op,
            status_code=exc.status_code,
            error_for="new",
            typed=typed,
            duplicates=exc.existing,
        )
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
    form = await read_form(request, ProductChange)
    typed = {"name": form.name, "price": form.price, "active": form.active}
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


# --- one product across the centres ------------------------------------------------


def _product_view(conn: sqlite3.Connection, hub_site: str, product_id: str) -> dict[str, Any]:
    row = centre_products.row_of(conn, hub_site, product_id)
    sold = centre_products.matrix(conn, hub_site)
    found = next(r for r in sold["rows"] if row.key == (r["name"], r["sold_by"], r["unit"]))
    ids = centre_products.commands_about(conn, row)
    return {
        "row": found,
        "centres": sold["centres"],
        "suggested": centre_products.suggested_price(row),
        "command_ids": ids,
        "commands": commands.list_commands(conn, ids=ids) if ids else [],
    }


def _likely_districts(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for x in view["row"]["likely"] if x["district"]]


async def _product_page(
    request: AnyRequest,
    op: Any,
    product_id: str,
    *,
    status_code: int = 200,
    error: dict[str, str] | None = None,
    error_for: str = "",
    typed: dict[str, str] | None = None,
    duplicates: list[dict[str, Any]] | None = None,
) -> Response[Any]:
    hub = hub_of(request)
    now, tz = datetime.now(UTC), hub_zone(request)

    def read(c: sqlite3.Connection) -> dict[str, Any]:
        view = _product_view(c, hub.site_id, product_id)
        view["health"] = {h["site_id"]: h for h in sync_health(c, now, tz)}
        return view

    view = await hub.store.read(read)
    command_view(request, view["commands"], view["health"])
    return render(
        request,
        "catalog_product.html",
        op,
        status_code=status_code,
        **view,
        likely_districts=_likely_districts(view),
        part=part_query(ids=tuple(view["command_ids"])),
        poll_s=POLL_S,
        sent=str(request.query_params.get("sent") or "")[:40],
        error=error,
        error_for=error_for,
        typed=typed or {},
        duplicates=duplicates or [],
    )


def _product_id(request: AnyRequest) -> str:
    return str(request.path_params["product_id"])[:64]


def _back(product_id: str, sent: str) -> Redirect:
    return Redirect(path=f"/hub/catalog/products/{product_id}?sent={sent}#commands")


@get("/hub/catalog/products/{product_id:str}", include_in_schema=False)
async def product_page(request: AnyRequest) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    return await _product_page(request, op, _product_id(request))


@post("/hub/catalog/products/{product_id:str}/price", include_in_schema=False)
async def product_price(request: AnyRequest) -> Response[Any]:
    """A centre's own price, changed by command to that centre."""
    product_id = _product_id(request)
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    typed = {"price": (await read_form(request, Price)).price}
    try:
        fen = price_fen(typed["price"])
        sent = await _save(
            request, lambda tx: centre_products.set_centre_price(tx, product_id, fen, op.name)
        )
    except EdgeError as exc:
        error = form_error(request, exc)
        return await _product_page(
            request,
            op,
            product_id,
            status_code=exc.status_code,
            error=error,
            error_for=product_id,
            typed=typed,
        )
    return _back(product_id, sent)


@post("/hub/catalog/products/{product_id:str}/adopt", include_in_schema=False)
async def product_adopt(request: AnyRequest) -> Response[Any]:
    """The centres' product becomes a district product at the chosen price."""
    product_id = _product_id(request)
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    form = await read_form(request, Price)
    typed = {"price": form.price}
    confirm = form.confirm_duplicate
    try:
        fen = price_fen(typed["price"])
        district_id, _sent = await _save(
            request,
            lambda tx: centre_products.adopt(
                tx, product_id, fen, op.name, confirm_duplicate=confirm
            ),
        )
    except centre_products.LikelyDuplicate as exc:
        return await _product_page(
            request,
            op,
            product_id,
            status_code=exc.status_code,
            error_for="adopt",
            typed=typed,
            duplicates=exc.existing,
        )
    except EdgeError as exc:
        error = form_error(request, exc)
        return await _product_page(
            request,
            op,
            product_id,
            status_code=exc.status_code,
            error=error,
            error_for="adopt",
            typed=typed,
        )
    return Redirect(path=f"/hub/catalog/products/{district_id}?adopted=1#commands")


@post("/hub/catalog/products/{product_id:str}/link", include_in_schema=False)
async def product_link(request: AnyRequest) -> Response[Any]:
    """A centre's own product taken off sale there: the district product sells it."""
    product_id = _product_id(request)
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    district_id = (await read_form(request, Link)).district_id
    sent = await _save(
        request, lambda tx: centre_products.link(tx, product_id, district_id, op.name)
    )
    return _back(district_id, sent)  # the centre's own leaves its row once linked


HANDLERS = [
    catalog_page,
    catalog_create,
    catalog_update,
    product_page,
    product_price,
    product_adopt,
    product_link,
]
