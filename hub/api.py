"""The operators' JSON API under /hub/api/v1: the pages' twin, for scripts.

A bearer token from `POST /hub/api/v1/token` (an operator's name and
password) goes in `Authorization`; no CSRF. Every call is open to any
operator role; phones are always masked here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import SerializationException

from edge.domain import calendar
from edge.domain.products import MAX_PRICE_FEN
from edge.errors import BadRequest
from hub import centre_products, commands, operations
from hub.health import sync_health
from hub.order_pages import orders_for_day
from hub.pages import SESSION_LIFETIME_S, api_operator, hub_of, hub_zone, sign_in, today_iso

AnyRequest = Request[Any, Any, Any]


async def _json_body(request: AnyRequest) -> Any:
    """The request body as JSON, or a 400 naming the body when it is not JSON
    (NaN, cut short, a form, not UTF-8, nested too deep)."""
    try:
        return await request.json()
    except SerializationException:
        raise BadRequest("the body must be JSON", field="body") from None
    except UnicodeDecodeError:
        raise BadRequest("the JSON body is not UTF-8", field="body") from None
    except RecursionError:
        raise BadRequest("the JSON body is nested too deep", field="body") from None


@post("/hub/api/v1/token", status_code=200)
async def api_token(request: AnyRequest) -> dict[str, Any]:
    """Sign an operator in; answers a bearer token for /hub/api/v1."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest('send {"name", "password"}', field="body")
    token, op = await sign_in(request, str(body.get("name", "")), str(body.get("password", "")))
    return {"token": token, "name": op.name, "role": op.role, "expires_in_s": SESSION_LIFETIME_S}


@get("/hub/api/v1/orders")
async def api_orders(request: AnyRequest) -> dict[str, Any]:
    """Orders across centres for `day` (phones masked), with per-centre totals."""
    await api_operator(request)
    qp = request.query_params
    day = calendar.iso_day(qp.get("day") or today_iso(request), "day")
    return await hub_of(request).store.read(
        lambda c: orders_for_day(
            c,
            day,
            centre=qp.get("centre", ""),
            status=qp.get("status", ""),
            q=qp.get("q", ""),
        )
    )


@post("/hub/api/v1/orders/{order_id:str}/cancel", status_code=200)
async def api_cancel(request: AnyRequest) -> dict[str, Any]:
    """Send the owner centre a cancel command; it applies it (or refuses) on its next pull."""
    order_id = str(request.path_params["order_id"])
    op = await api_operator(request)
    command_id = await hub_of(request).store.write(
        lambda tx: operations.cancel_order(tx, order_id, op.name)
    )
    return {"command_id": command_id}


@post("/hub/api/v1/commands", status_code=200)
async def api_command(request: AnyRequest) -> dict[str, Any]:
    """Any known command: {"site_id", "name", "args"}."""
    op = await api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest('send {"site_id", "name", "args": {...}}', field="body")
    site_id, name, args = body.get("site_id"), body.get("name"), body.get("args", {})
    if not isinstance(site_id, str) or not 0 < len(site_id) <= 64:
        raise BadRequest("site_id must be the centre's site id", field="site_id")
    if not isinstance(name, str):
        raise BadRequest("name must be a command name", field="name")
    if not isinstance(args, dict):
        raise BadRequest("args must be an object", field="args")
    command_id = await hub_of(request).store.write(
        lambda tx: operations.send_command(tx, site_id, name, args, op.name)
    )
    return {"command_id": command_id}


def _duplicate(exc: centre_products.LikelyDuplicate) -> Response[Any]:
    return Response(content={**exc.as_json(), "existing": exc.existing}, status_code=409)


def _confirm(body: dict[str, Any]) -> bool:
    confirm = body.pop("confirm_duplicate", False)
    if not isinstance(confirm, bool):
        raise BadRequest("confirm_duplicate must be true or false", field="confirm_duplicate")
    return confirm


@post("/hub/api/v1/products", status_code=200)
async def api_product_create(request: AnyRequest) -> Any:
    """A district product; 409 with the `existing` products when its name is likely one
    already on sale (`hub.centre_products`), unless `"confirm_duplicate": true`."""
    await api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("send a product object", field="body")
    confirm = _confirm(body)
    try:
        product_id = await hub_of(request).store.write(
            lambda tx: centre_products.create_district_product(tx, body, confirm_duplicate=confirm)
        )
    except centre_products.LikelyDuplicate as exc:
        return _duplicate(exc)
    return {"id": product_id}


@get("/hub/api/v1/catalog")
async def api_catalog(request: AnyRequest) -> dict[str, Any]:
    """Every product on sale: `centres` (the columns) and `rows`, each with its price at
    each centre (`cells`: own, district or none), its district product and the rows
    it is likely the same as."""
    await api_operator(request)
    hub = hub_of(request)
    return await hub.store.read(lambda c: centre_products.matrix(c, hub.site_id))


@post("/hub/api/v1/products/{product_id:str}/adopt", status_code=200)
async def api_product_adopt(request: AnyRequest) -> Any:
    """A centre product becomes a district product: {"price_fen", "confirm_duplicate"}.
    Answers its id and the `link_product` commands sent to the centres selling it."""
    product_id = str(request.path_params["product_id"])[:64]
    op = await api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest('send {"price_fen"}', field="body")
    confirm, fen = _confirm(body), body.get("price_fen")
    if type(fen) is not int or not 0 <= fen <= MAX_PRICE_FEN:
        raise BadRequest("price_fen must be a whole number of fen, 0 to 1000000", field="price_fen")
    try:
        district_id, sent = await hub_of(request).store.write(
            lambda tx: centre_products.adopt(
                tx, product_id, fen, op.name, confirm_duplicate=confirm
            )
        )
    except centre_products.LikelyDuplicate as exc:
        return _duplicate(exc)
    return {"id": district_id, "command_ids": sent}


@post("/hub/api/v1/products/{product_id:str}/link", status_code=200)
async def api_product_link(request: AnyRequest) -> dict[str, Any]:
    """Send the centre owning the product `link_product`: {"district_id"}."""
    product_id = str(request.path_params["product_id"])[:64]
    op = await api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("district_id"), str):
        raise BadRequest('send {"district_id"}', field="district_id")
    district_id = body["district_id"][:64]
    command_id = await hub_of(request).store.write(
        lambda tx: centre_products.link(tx, product_id, district_id, op.name)
    )
    return {"command_id": command_id}


@post("/hub/api/v1/products/{product_id:str}/price", status_code=200)
async def api_product_price(request: AnyRequest) -> dict[str, Any]:
    """A centre's own price: {"price_fen"}, sent to that centre as `set_product_price`."""
    product_id = str(request.path_params["product_id"])[:64]
    op = await api_operator(request)
    body = await _json_body(request)
    fen = body.get("price_fen") if isinstance(body, dict) else None
    if type(fen) is not int or not 0 <= fen <= MAX_PRICE_FEN:
        raise BadRequest("price_fen must be a whole number of fen, 0 to 1000000", field="price_fen")
    command_id = await hub_of(request).store.write(
        lambda tx: centre_products.set_centre_price(tx, product_id, fen, op.name)
    )
    return {"command_id": command_id}


@post("/hub/api/v1/products/{product_id:str}", status_code=200)
async def api_product_update(request: AnyRequest) -> dict[str, Any]:
    product_id = str(request.path_params["product_id"])
    await api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("send the fields to change", field="body")
    await hub_of(request).store.write(lambda tx: operations.update_product(tx, product_id, body))
    return {"id": product_id}


@get("/hub/api/v1/centres")
async def api_centres(request: AnyRequest) -> list[dict[str, Any]]:
    """Sync health per centre."""
    await api_operator(request)
    now, tz = datetime.now(UTC), hub_zone(request)
    return await hub_of(request).store.read(lambda c: sync_health(c, now, tz))


@get("/hub/api/v1/commands")
async def api_commands(request: AnyRequest) -> list[dict[str, Any]]:
    """The last 50 commands sent (`?site=` one centre's), newest first, each with its
    `outcome`: pending, applied or refused (`detail`: the centre's reason)."""
    await api_operator(request)
    site = request.query_params.get("site", "")[:64]
    return await hub_of(request).store.read(lambda c: commands.list_commands(c, site=site))


HANDLERS = [
    api_token,
    api_orders,
    api_cancel,
    api_command,
    api_commands,
    api_product_create,
    api_product_update,
    api_catalog,
    api_product_adopt,
    api_product_link,
    api_product_price,
    api_centres,
]
