"""Signed links that open the co-op's printable loading list in a plain browser.

The supplier API wants a bearer header, which a browser tapped from a
WeChat message cannot send. So an operator (on `/hub/suppliers`) or the
co-op's own script (`GET /supplier/v1/loading-list/link`) makes a link that
carries who and which day, when it stops working, and an HMAC-SHA256 of
those under a secret kept in the hub database's `meta` (made once, never
synced). The page it opens covers only the centres the co-op supplies at
the moment it is opened; a deactivated co-op's links stop working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Template

from edge.domain.calendar import iso_day
from edge.errors import BadRequest, Forbidden
from edge.store import Store, get_meta, set_meta
from edge.web.pages.base import N_
from hub.pages import error_page, hub_of, hub_zone, page_operator, render, to_login, today_iso
from hub.supplier import (
    Supplier,
    SupplierDep,
    loading_context,
    provide_supplier,
    supplied_centres,
)

AnyRequest = Request[Any, Any, Any]
SECRET_KEY = "loading_link_secret"
LIFETIME_S = 72 * 3600
PATH = "/supplier/loading-list"


def ensure_secret(store: Store) -> None:
    """Make the signing secret once; it lives in `meta`, which never leaves the hub."""

    def write(tx: Any) -> None:
        if get_meta(tx.conn, SECRET_KEY) is None:
            set_meta(tx.conn, SECRET_KEY, secrets.token_hex(32))

    if store.read_sync(lambda c: get_meta(c, SECRET_KEY)) is None:
        store.write_sync(write)


def _secret(conn: sqlite3.Connection) -> bytes:
    value = get_meta(conn, SECRET_KEY)
    if value is None:
        raise Forbidden("the hub has no link secret yet; restart it")
    return value.encode()


def _signature(secret: bytes, supplier_id: str, day: str, centre_id: str, expires: int) -> str:
    message = f"loading-list|{supplier_id}|{day}|{centre_id}|{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


def make_link(
    conn: sqlite3.Connection,
    supplier_id: str,
    day: str,
    centre_id: str = "",
    *,
    now: float | None = None,
    lifetime_s: int = LIFETIME_S,
) -> tuple[str, int]:
    """The path (with its query) of a signed loading-list link, and when it expires
    (Unix seconds)."""
    expires = int(now if now is not None else time.time()) + lifetime_s
    sig = _signature(_secret(conn), supplier_id, day, centre_id, expires)
    query = {"s": supplier_id, "d": day, "c": centre_id, "e": str(expires), "sig": sig}
    return f"{PATH}?{urlencode({k: v for k, v in query.items() if v})}", expires


def check_link(
    conn: sqlite3.Connection, params: Any, now: float | None = None
) -> tuple[Supplier, str, str]:
    """The co-op, day and centre a link is for, or a 403 saying what is wrong with it."""
    supplier_id, day = str(params.get("s") or ""), str(params.get("d") or "")
    centre_id, expires_text = str(params.get("c") or ""), str(params.get("e") or "")
    sig = str(params.get("sig") or "")
    if not (supplier_id and day and expires_text.isascii() and expires_text.isdigit() and sig):
        raise Forbidden("this link is incomplete: copy the whole link", field="link")
    expected = _signature(_secret(conn), supplier_id, day, centre_id, int(expires_text))
    if not hmac.compare_digest(expected, sig):
        raise Forbidden("this link is not one the hub made (changed or cut short)", field="link")
    if int(now if now is not None else time.time()) >= int(expires_text):
        raise Forbidden("this link has expired: ask the hub for a new one", field="expired")
    row = conn.execute(
        "SELECT id, name FROM supply_suppliers WHERE id = ? AND active = 1", (supplier_id,)
    ).fetchone()
    if row is None:
        raise Forbidden("this co-op account is no longer active", field="link")
    sites = frozenset(s for s, _ in supplied_centres(conn, row["id"]))
    return Supplier(row["id"], row["name"], sites), day, centre_id


LINK_HINTS = {
    "link": N_("This link does not work: ask the hub operator for a new one."),
    "expired": N_("This link has expired: ask the hub operator for a new one."),
}


@get(PATH, include_in_schema=False)
async def loading_list_link(request: AnyRequest) -> Response[Any]:
    """The loading list behind a signed link, for a browser: no sign-in, no header."""
    store = hub_of(request).store
    try:
        context = await store.read(lambda c: _open(c, request.query_params))
    except (Forbidden, BadRequest) as exc:
        hint = LINK_HINTS.get(exc.field or "", LINK_HINTS["link"])
        return error_page(request, exc.status_code, exc.detail, hint=hint)
    return Template(template_name="supply/loading_list.html", context=context)


def _open(conn: sqlite3.Connection, params: Any) -> dict[str, Any]:
    supplier, day, centre_id = check_link(conn, params)
    day = iso_day(day, "delivery_date")
    if centre_id:
        supplier.check_supplies(centre_id)
    return loading_context(conn, supplier, day, centre_id or None)


def _when(expires: int, request: AnyRequest) -> str:
    return datetime.fromtimestamp(expires, UTC).astimezone(hub_zone(request)).isoformat()


@get("/loading-list/link")
async def loading_list_link_api(
    request: AnyRequest,
    supplier: SupplierDep,
    delivery_date: FromQuery[str],
    centre_id: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """A signed link to the day's loading list that opens in any browser for 72 hours."""
    day = iso_day(delivery_date, "delivery_date")
    if centre_id:
        supplier.check_supplies(centre_id)
    path, expires = await hub_of(request).store.read(
        lambda c: make_link(c, supplier.id, day, centre_id or "")
    )
    return {"url": str(request.base_url).rstrip("/") + path, "expires_at": _when(expires, request)}


@get("/hub/suppliers", include_in_schema=False)
async def suppliers_page(request: AnyRequest) -> Response[Any]:
    """Per co-op account: its centres and a loading-list link for the day to send it."""
    op = await page_operator(request)
    if op is None:
        return to_login(request)
    day = str(request.query_params.get("day") or today_iso(request))
    try:
        day = iso_day(day, "day")
    except BadRequest:
        day = today_iso(request)
    base = str(request.base_url).rstrip("/")

    def read(c: sqlite3.Connection) -> list[dict[str, Any]]:
        out = []
        for r in c.execute("SELECT id, name FROM supply_suppliers WHERE active = 1 ORDER BY name"):
            path, expires = make_link(c, r["id"], day)
            out.append(
                {
                    "name": r["name"],
                    "centres": [n for _, n in supplied_centres(c, r["id"])],
                    "url": base + path,
                    "expires": expires,
                }
            )
        return out

    found = await hub_of(request).store.read(read)
    for s in found:
        s["expires_at"] = _when(s["expires"], request)
    return render(request, "suppliers.html", op, day=day, suppliers=found)


SUPPLIER_LINK_ROUTER = Router(
    path="/supplier/v1",
    route_handlers=[loading_list_link_api],
    dependencies={"supplier": Provide(provide_supplier)},
    opt={"exclude_from_csrf": True},
    tags=["supplier"],
    security=[{"bearer": []}],
)
HANDLERS = [loading_list_link, suppliers_page, SUPPLIER_LINK_ROUTER]
