"""The co-op's HTTP API under /supplier/v1: bearer accounts, ETag'd reads (a poll over a
weak link costs a 304), keyed writes, the printable loading list."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Template

from edge.domain.calendar import iso_day
from edge.domain.supply import reconciliation
from edge.domain.supply.lines import (
    say,
)
from edge.errors import BadRequest, Unauthorized
from edge.store import Store, Tx
from edge.web.shared import bearer_token
from hub.supplier.accounts import Supplier, supplier_for
from hub.supplier.inbound import (
    ConfirmBody,
    DispatchNoteBody,
    PriceListBody,
    add_dispatch_note,
    add_price_list,
    confirm_return,
)
from hub.supplier.views import centres, consolidated, consolidated_body, return_notes

AnyRequest = Request[Any, Any, Any]

# --- HTTP --------------------------------------------------------------------------------


def _store(request: AnyRequest) -> Store:
    store: Store = request.app.state.store
    return store


async def provide_supplier(request: AnyRequest) -> Supplier:
    token = bearer_token(request)
    found = await _store(request).read(lambda c: supplier_for(c, token))
    if found is None:
        raise Unauthorized("send Authorization: Bearer <supplier token>")
    return found


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(request: AnyRequest, tag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


def cached(
    request: AnyRequest, body: bytes, media_type: str, filename: str | None = None
) -> Response[bytes]:
    """The body with its ETag, or an empty 304 when the client already holds it."""
    tag = _etag(body)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if _matches(request, tag):
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(content=body, headers=headers, media_type=media_type)


def _wants_csv(request: AnyRequest, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt.lower() == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _field_of(exc: msgspec.ValidationError) -> str:
    """The field a msgspec error is about: "Expected `int`, got `str` - at
    `$.accepted[0].quantity`" -> "accepted[0].quantity"; an unknown key names itself."""
    text = str(exc)
    at = re.search(r"- at `\$\.?([^`]*)`$", text)
    path = at.group(1) if at else ""
    unknown = re.match(r"Object contains unknown field `([^`]{1,40})`", text)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    return path or "body"


SupplierDep = NamedDependency[Supplier]  # the co-op account behind the bearer token


@get("/consolidated")
async def get_consolidated(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    format: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Every centre's order for the day and the totals per product (JSON, or CSV)."""
    day = iso_day(delivery_date, "delivery_date")
    kind = "csv" if _wants_csv(request, format) else "json"
    body = await _store(request).read(
        lambda c: consolidated_body(c, day, centres(c, supplier), kind)
    )
    if kind == "csv":
        return cached(request, body, "text/csv; charset=utf-8", f"consolidated-{day}.csv")
    return cached(request, body, "application/json")


@get("/loading-list", media_type="text/html")
async def loading_list(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    centre_id: FromQuery[str | None] = None,
) -> Template:
    """A printable loading list for the van: one page per centre, boxes to tick."""
    day = iso_day(delivery_date, "delivery_date")
    if centre_id:
        supplier.check_supplies(centre_id)
    context = await _store(request).read(lambda c: loading_context(c, supplier, day, centre_id))
    return Template(template_name="supply/loading_list.html", context=context)


def loading_context(
    c: sqlite3.Connection, supplier: Supplier, day: str, centre_id: str | None = None
) -> dict[str, Any]:
    """What the loading list shows: a sheet per centre with lines, for the co-op's
    centres (or the one asked for)."""
    doc = consolidated(c, day, centres(c, supplier))
    found: dict[str, dict[tuple[str, str], int]] = {}
    for r in c.execute(
        "SELECT n.centre_id, l.product_id, l.qty_unit, l.shipped_qty FROM"
        " supply_dispatch_notes n JOIN supply_dispatch_lines l ON l.note_id = n.id"
        " WHERE n.delivery_date = ? AND n.revision = (SELECT MAX(revision) FROM"
        " supply_dispatch_notes m WHERE m.centre_id = n.centre_id"
        " AND m.delivery_date = n.delivery_date)",
        (day,),
    ):
        per = found.setdefault(r["centre_id"], {})
        key = (r["product_id"], r["qty_unit"])
        per[key] = per.get(key, 0) + int(r["shipped_qty"])
    pages = []
    for centre in doc["centres"]:
        if centre_id and centre["centre_id"] != centre_id:
            continue
        if not centre["lines"]:
            continue
        ship = found.get(centre["centre_id"])
        rows = [
            {
                **x,
                "text": f"{x['co_op_quantity']}{x['co_op_unit']}",
                "shipped": (
                    say(
                        x["qty_unit"],
                        ship.get((x["product_id"], x["qty_unit"]), 0),
                        x["co_op_unit"] if x["qty_unit"] == "piece" else "",
                    )
                    if ship is not None
                    else ""
                ),
            }
            for x in centre["lines"]
        ]
        pages.append({**centre, "rows": rows})
    return {"day": day, "pages": pages, "supplier": supplier.name, "products": doc["products"]}


async def _write_once(
    request: AnyRequest,
    idempotency_key: str | None,
    write: Callable[[Tx, str | None], dict[str, Any]],
) -> Response[dict[str, Any]]:
    """A co-op's keyed write: 201 the first time, 200 with the same answer on a replay."""
    key = (idempotency_key or "")[:100] or None
    done = await _store(request).write(lambda tx: write(tx, key))
    return Response(done, status_code=200 if done["replayed"] else 201)


@post("/dispatch-notes", status_code=201)
async def post_dispatch_note(
    request: AnyRequest,
    supplier: SupplierDep,
    data: JSONBody[DispatchNoteBody],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[dict[str, Any]]:
    """What the van carries to one centre: shipped per line, short, substitutions."""
    return await _write_once(
        request, idempotency_key, lambda tx, key: add_dispatch_note(tx, supplier, data, key)
    )


@post("/price-lists", status_code=201)
async def post_price_list(
    request: AnyRequest,
    supplier: SupplierDep,
    data: JSONBody[PriceListBody],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[dict[str, Any]]:
    """Co-op prices (per 斤 / piece / bundle) and the date they take effect."""
    return await _write_once(
        request, idempotency_key, lambda tx, key: add_price_list(tx, supplier, data, key)
    )


@get("/return-notes")
async def get_return_notes(
    request: AnyRequest, supplier: SupplierDep, delivery_date: FromQuery[str]
) -> Response[bytes]:
    """The leftovers each centre sends back that day, and whether they are confirmed."""
    day = iso_day(delivery_date, "delivery_date")
    notes = await _store(request).read(lambda c: return_notes(c, day, supplier))
    return cached(request, _json({"delivery_date": day, "return_notes": notes}), "application/json")


@post("/return-notes/{note_id:str}/confirm", status_code=200)
async def post_confirm_return(
    request: AnyRequest, supplier: SupplierDep, note_id: FromPath[str]
) -> dict[str, Any]:
    """Confirm a return note; the body (`accepted` quantities, `note`) may be left out."""
    raw = await request.body()
    try:
        body = msgspec.json.decode(raw, type=ConfirmBody) if raw.strip() else ConfirmBody()
    except msgspec.ValidationError as exc:
        raise BadRequest(f"body: {exc}", field=_field_of(exc)) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest(
            "the body is not JSON (UTF-8, nested a few levels)", field="body"
        ) from None
    return await _store(request).write(lambda tx: confirm_return(tx, supplier, note_id, body))


@get("/reconciliation")
async def get_reconciliation(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    format: FromQuery[str | None] = None,
) -> Response[bytes]:
    """The day across centres: received, sold, returned, lost, and what is owed, in fen."""
    day = iso_day(delivery_date, "delivery_date")
    doc = await _store(request).read(
        lambda c: reconciliation.reconcile_centres(c, day, centres(c, supplier))
    )
    if _wants_csv(request, format):
        body = ("\ufeff" + reconciliation.as_csv(doc["centres"])).encode()
        return cached(request, body, "text/csv; charset=utf-8", f"reconciliation-{day}.csv")
    return cached(request, _json(doc), "application/json")


SUPPLIER_HANDLERS = [
    Router(
        path="/supplier/v1",
        route_handlers=[
            get_consolidated,
            loading_list,
            post_dispatch_note,
            post_price_list,
            get_return_notes,
            post_confirm_return,
            get_reconciliation,
        ],
        dependencies={"supplier": Provide(provide_supplier)},
        # bearer tokens, no cookies: CSRF does not apply (the hub's CSRF config also
        # excludes the prefix once mounted)
        opt={"exclude_from_csrf": True},
        tags=["supplier"],
        security=[{"bearer": []}],
    )
]
