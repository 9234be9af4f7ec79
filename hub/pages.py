"""Hub operator pages (/hub, Jinja2, 中文 with English) and their JSON twin (/hub/api/v1).

Operators sign in with a name and password (`linli hub add-operator`). They
see orders across centres for a day with per-centre totals, sync health per
centre, and can send a cancel command and edit the district catalog, which
flow down to the centres on their next pull. Phones are masked
(138****5678) unless a supervisor asks to see them for one page.

Sign-in failures are rate-limited per client address and name (the centre's
`edge.auth.LoginLimiter`, with `Settings.login_max_failures` per
`Settings.login_window_s`), and an operator session (cookie or API token)
lasts `SESSION_LIFETIME_S` from sign-in: after that the operator signs in
again, and expired sessions are deleted at the next sign-in.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import SerializationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from edge.auth import LoginLimiter
from edge.errors import BadRequest, TooManyRequests
from edge.forms import form_ints
from edge.households import mask_phone
from edge.settings import Settings
from edge.store import Store, get_meta
from edge.web import local_path
from hub import operations
from hub.app import Hub
from sync.enrol import hash_token, now_iso, unknown_operator_hash, verify_password
from sync.errors import BadBatch, SyncError, Unauthorized

COOKIE = "linli_hub"
SESSION_LIFETIME_S = 12 * 3600


def _now() -> datetime:
    """Wall time for session expiry (tests move it)."""
    return datetime.now(UTC)


def _session_cutoff() -> str:
    """Sessions created before this ISO stamp have expired (same format as `now_iso`)."""
    return (_now() - timedelta(seconds=SESSION_LIFETIME_S)).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Operator:
    id: str
    name: str
    role: str

    @property
    def may_see_phones(self) -> bool:
        return self.role == "supervisor"


def wants_html(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return (path == "/" or path.startswith("/hub")) and not path.startswith("/hub/api/")


def error_page(status: int, detail: str) -> Response[Any]:
    return Template(
        template_name="hub/error.html",
        context={"status": status, "detail": detail},
        status_code=status,
    )


def hub_of(request: Request[Any, Any, Any]) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _operator_for(hub: Hub, token: str | None) -> Operator | None:
    if not token:
        return None
    key = hash_token(token)
    cutoff = _session_cutoff()
    row = await hub.store.read(
        lambda c: c.execute(
            "SELECT o.id, o.name, o.role FROM sync_operator_sessions s"
            " JOIN sync_operators o ON o.id = s.operator_id"
            " WHERE s.token_hash = ? AND o.active = 1 AND s.created_at >= ?",
            (key, cutoff),
        ).fetchone()
    )
    return None if row is None else Operator(row["id"], row["name"], row["role"])


def _limiter(request: Request[Any, Any, Any]) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


async def _sign_in(
    request: Request[Any, Any, Any], name: str, password: str
) -> tuple[str, Operator]:
    """Check a name and password (rate-limited); a fresh session token if they match."""
    hub, limiter, client = hub_of(request), _limiter(request), _client(request)
    name = (name or "").strip()[:80]
    limiter.attempt(client, name)
    row = await hub.store.read(
        lambda c: c.execute(
            "SELECT id, name, role, password_hash FROM sync_operators"
            " WHERE name = ? AND active = 1",
            (name,),
        ).fetchone()
    )
    # argon2 takes tens of ms: off the event loop, and as long for an unknown name.
    password_hash = row["password_hash"] if row is not None else unknown_operator_hash()
    verified = await asyncio.to_thread(verify_password, password_hash, password or "")
    if row is None or not verified:
        raise Unauthorized("wrong name or password / 用户名或密码错误")
    limiter.succeeded(client, name)
    token = secrets.token_urlsafe(32)
    cutoff = _session_cutoff()

    def write(tx: Any) -> None:
        tx.execute("DELETE FROM sync_operator_sessions WHERE created_at < ?", (cutoff,))
        tx.execute(
            "INSERT INTO sync_operator_sessions (token_hash, operator_id, created_at)"
            " VALUES (?, ?, ?)",
            (hash_token(token), row["id"], now_iso()),
        )

    await hub.store.write(write)
    return token, Operator(row["id"], row["name"], row["role"])


async def _api_operator(request: Request[Any, Any, Any]) -> Operator:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    op = await _operator_for(hub_of(request), token)
    if op is None:
        raise Unauthorized("send Authorization: Bearer <operator token> (POST /hub/api/v1/token)")
    return op


# --- queries -------------------------------------------------------------------------


def _centres(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("SELECT * FROM sync_centres ORDER BY name")]


def orders_for_day(
    conn: sqlite3.Connection,
    day: str,
    *,
    centre: str = "",
    status: str = "",
    q: str = "",
    phones: bool = False,
    limit: int = 1000,
) -> dict[str, Any]:
    sql = (
        "SELECT o.id, o.site_id, o.pickup_code, o.status, o.channel, o.delivery_mode,"
        " o.estimated_fen, o.final_fen, o.created_at, h.name AS household_name, h.phone,"
        " h.building, h.unit, h.room, c.name AS centre_name,"
        " (SELECT outcome || ': ' || r.detail FROM sync_commands m"
        "   JOIN sync_command_results r ON r.id = m.id"
        "   WHERE m.name = 'cancel_order' AND m.args LIKE '%' || o.id || '%'"
        "   ORDER BY r.applied_at DESC LIMIT 1) AS command_result,"
        " (SELECT COUNT(*) FROM sync_commands m LEFT JOIN sync_command_results r"
        "   ON r.id = m.id WHERE m.name = 'cancel_order' AND r.id IS NULL"
        "   AND m.args LIKE '%' || o.id || '%') AS cancel_pending"
        " FROM orders o LEFT JOIN households h ON h.id = o.household_id"
        " LEFT JOIN sync_centres c ON c.site_id = o.site_id WHERE o.pickup_date = ?"
    )
    params: list[Any] = [day]
    if centre:
        sql += " AND o.site_id = ?"
        params.append(centre)
    if status:
        sql += " AND o.status = ?"
        params.append(status)
    if q:
        sql += " AND (o.pickup_code = ? OR h.phone_tail = ? OR h.name LIKE ?)"
        params += [q, q[-4:], f"%{q}%"]
    sql += " ORDER BY c.name, h.building, h.unit, h.room LIMIT ?"
    params.append(limit)
    rows = []
    for r in conn.execute(sql, params):
        d = dict(r)
        d["phone"] = (d["phone"] or "") if phones else mask_phone(d["phone"] or "")
        rows.append(d)
    totals = [
        dict(r)
        for r in conn.execute(
            "SELECT c.name AS centre_name, o.site_id, COUNT(*) AS orders,"
            " SUM(o.status = 'cancelled') AS cancelled,"
            " SUM(o.status IN ('picked_up', 'delivered')) AS done,"
            " SUM(CASE WHEN o.status = 'cancelled' THEN 0 ELSE o.estimated_fen END)"
            " AS estimated_fen"
            " FROM orders o LEFT JOIN sync_centres c ON c.site_id = o.site_id"
            " WHERE o.pickup_date = ? GROUP BY o.site_id ORDER BY c.name",
            (day,),
        )
    ]
    return {"orders": rows, "totals": totals}


def sync_health(conn: sqlite3.Connection, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    out = []
    for c in _centres(conn):
        last = datetime.fromisoformat(c["last_contact"]) if c["last_contact"] else None
        last_push = datetime.fromisoformat(c["last_push"]) if c["last_push"] else None
        since = (now - last).total_seconds() if last else None
        lag = (now - last_push).total_seconds() if (last_push and c["waiting"]) else 0
        offset = c["clock_offset_ms"] or 0
        out.append(
            {
                **{
                    k: c[k]
                    for k in (
                        "site_id",
                        "name",
                        "acked_seq",
                        "waiting",
                        "schema_version",
                        "revoked",
                        "diverged",
                        "last_contact",
                        "pulled_seq",
                    )
                },
                "since_contact_s": since,
                "lag_s": lag,
                "clock_offset_ms": offset,
                "clock_offset": _human_ms(offset),
                "clock_warning": abs(offset) >= 5 * 60_000,
                "online": since is not None and since < 120,
            }
        )
    return out


def _human_ms(ms: int) -> str:
    sign = "+" if ms >= 0 else "−"
    s = abs(ms) / 1000
    if s < 120:
        return f"{sign}{s:.0f} s"
    if s < 7200:
        return f"{sign}{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} d"


def _catalog(conn: sqlite3.Connection, hub_site: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT * FROM products WHERE site_id = ? ORDER BY active DESC, category, name",
            (hub_site,),
        )
    ]


def today_iso() -> str:
    return date.today().isoformat()


def _fen(value: Any) -> str:
    return f"{(value or 0) / 100:.2f}"


def _price_fen(text: str) -> int:
    """ "3.5" yuan -> 350 fen, in decimal arithmetic: no floats near money."""
    try:
        fen = Decimal((text or "").strip()) * 100
    except ArithmeticError:  # not a number, or "1e999999999" overflowing
        raise BadBatch("price must be a number of yuan, e.g. 3.50", field="price") from None
    if not fen.is_finite() or fen < 0 or fen > 1_000_000 or fen != fen.to_integral_value():
        raise BadBatch("price must be 0 to 10000 yuan, at most 2 decimals", field="price")
    return int(fen)


# --- pages ---------------------------------------------------------------------------


def render(name: str, op: Operator | None, *, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"hub/{name}",
        context={"op": op, "fen": _fen, **context},
        status_code=status_code,
    )


async def page_operator(request: Request[Any, Any, Any]) -> Operator | None:
    return await _operator_for(hub_of(request), request.cookies.get(COOKIE))


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return Redirect(path="/hub/orders")


@get("/hub/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Template:
    return render("login.html", None, error=None)


@post("/hub/login", include_in_schema=False)
async def login_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    try:
        token, _ = await _sign_in(request, str(form.get("name", "")), str(form.get("password", "")))
    except Unauthorized as exc:
        return render("login.html", None, error=exc.detail)
    except TooManyRequests as exc:
        return render("login.html", None, error=exc.detail, status_code=exc.status_code)
    resp = Redirect(path="/hub/orders")
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=SESSION_LIFETIME_S)
    return resp


@post("/hub/logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    token = request.cookies.get(COOKIE)
    if token:
        await hub_of(request).store.write(
            lambda tx: tx.execute(
                "DELETE FROM sync_operator_sessions WHERE token_hash = ?", (hash_token(token),)
            )
        )
    resp = Redirect(path="/hub/login")
    resp.delete_cookie(COOKIE)
    return resp


@get("/hub/orders", include_in_schema=False)
async def orders_page(request: Request[Any, Any, Any]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    qp = request.query_params
    try:  # a mistyped or far-off day shows today rather than an error page
        day = operations.parse_iso_day(qp.get("day") or today_iso(), "day")
    except BadRequest:
        day = today_iso()
    phones = qp.get("phones") == "1" and op.may_see_phones
    hub = hub_of(request)
    data = await hub.store.read(
        lambda c: orders_for_day(
            c,
            day,
            centre=qp.get("centre", ""),
            status=qp.get("status", ""),
            q=(qp.get("q") or "").strip(),
            phones=phones,
        )
    )
    centres = await hub.store.read(_centres)
    prev_day = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    return render(
        "orders.html",
        op,
        day=day,
        prev_day=prev_day,
        next_day=next_day,
        centres=centres,
        filters=dict(qp),
        phones=phones,
        **data,
    )


@post("/hub/orders/{order_id:str}/cancel", include_in_schema=False)
async def cancel_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    order_id = str(request.path_params["order_id"])
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    await hub_of(request).store.write(lambda tx: operations.cancel_order(tx, order_id, op.name))
    return Redirect(path=local_path(request.headers.get("referer"), "/hub/orders"))


@get("/hub/sync", include_in_schema=False)
async def health_page(request: Request[Any, Any, Any]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    centres = await hub_of(request).store.read(lambda c: sync_health(c))
    return render("sync.html", op, centres=centres)


@post("/hub/centres/{site_id:str}/calendar", include_in_schema=False)
async def calendar_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    site_id = str(request.path_params["site_id"])
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    weekdays = form_ints(form, "weekday", maximum=6, field="weekdays")
    if not weekdays:  # the centre would refuse the command; say so now
        raise BadRequest("choose at least one delivery weekday", field="weekdays")
    args = {
        "weekdays": weekdays,
        "cutoff": str(form.get("cutoff") or "20:00"),
        "pickup_hours": str(form.get("pickup_hours") or "07:00-11:00"),
    }
    await hub_of(request).store.write(
        lambda tx: operations.send_command(tx, site_id, "set_calendar", args, op.name)
    )
    return Redirect(path="/hub/sync")


@get("/hub/catalog", include_in_schema=False)
async def catalog_page(request: Request[Any, Any, Any]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    hub = hub_of(request)
    items = await hub.store.read(lambda c: _catalog(c, hub.site_id))
    return render("catalog.html", op, products=items, error=None)


@post("/hub/catalog", include_in_schema=False)
async def catalog_create(request: Request[Any, Any, Any]) -> Response[Any]:
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    fields = {
        "name": form.get("name"),
        "sold_by": form.get("sold_by"),
        "unit": form.get("unit") or None,
        "category": form.get("category") or "",
        "price_fen": _price_fen(str(form.get("price", ""))),
    }
    await hub_of(request).store.write(lambda tx: operations.create_product(tx, fields))
    return Redirect(path="/hub/catalog")


@post("/hub/catalog/{product_id:str}", include_in_schema=False)
async def catalog_update(request: Request[Any, Any, Any]) -> Response[Any]:
    product_id = str(request.path_params["product_id"])
    op = await page_operator(request)
    if op is None:
        return Redirect(path="/hub/login")
    form = await request.form()
    fields: dict[str, Any] = {"active": form.get("active") == "1"}
    if form.get("price"):
        fields["price_fen"] = _price_fen(str(form.get("price")))
    if form.get("name"):
        fields["name"] = form.get("name")
    await hub_of(request).store.write(lambda tx: operations.update_product(tx, product_id, fields))
    return Redirect(path="/hub/catalog")


# --- JSON API for operators (scripts, tests) ------------------------------------------


async def _json_body(request: Request[Any, Any, Any]) -> Any:
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
async def api_token(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Sign an operator in; answers a bearer token for /hub/api/v1."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest('send {"name", "password"}', field="body")
    token, op = await _sign_in(request, str(body.get("name", "")), str(body.get("password", "")))
    return {"token": token, "name": op.name, "role": op.role, "expires_in_s": SESSION_LIFETIME_S}


@get("/hub/api/v1/orders")
async def api_orders(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Orders across centres for `day` (phones masked), with per-centre totals."""
    await _api_operator(request)
    qp = request.query_params
    day = operations.parse_iso_day(qp.get("day") or today_iso(), "day")
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
async def api_cancel(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Send the owner centre a cancel command; it applies it (or refuses) on its next pull."""
    order_id = str(request.path_params["order_id"])
    op = await _api_operator(request)
    command_id = await hub_of(request).store.write(
        lambda tx: operations.cancel_order(tx, order_id, op.name)
    )
    return {"command_id": command_id}


@post("/hub/api/v1/commands", status_code=200)
async def api_command(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Any known command: {"site_id", "name", "args"}."""
    op = await _api_operator(request)
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


@post("/hub/api/v1/products", status_code=200)
async def api_product_create(request: Request[Any, Any, Any]) -> dict[str, Any]:
    await _api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("send a product object", field="body")
    product_id = await hub_of(request).store.write(lambda tx: operations.create_product(tx, body))
    return {"id": product_id}


@post("/hub/api/v1/products/{product_id:str}", status_code=200)
async def api_product_update(request: Request[Any, Any, Any]) -> dict[str, Any]:
    product_id = str(request.path_params["product_id"])
    await _api_operator(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("send the fields to change", field="body")
    await hub_of(request).store.write(lambda tx: operations.update_product(tx, product_id, body))
    return {"id": product_id}


@get("/hub/api/v1/centres")
async def api_centres(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    """Sync health per centre."""
    await _api_operator(request)
    return await hub_of(request).store.read(lambda c: sync_health(c))


def _edge_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    from edge.errors import EdgeError

    assert isinstance(exc, EdgeError)
    if wants_html(request):
        return error_page(exc.status_code, exc.detail)
    return Response(content=exc.as_json(), status_code=exc.status_code)


def _sync_error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, SyncError)
    if wants_html(request):
        return error_page(exc.status_code if exc.status_code < 500 else 500, exc.detail)
    return Response(content=exc.as_json(), status_code=exc.status_code)


PAGE_HANDLERS = [
    root,
    login_page,
    login_submit,
    logout,
    orders_page,
    cancel_submit,
    health_page,
    calendar_submit,
    catalog_page,
    catalog_create,
    catalog_update,
    api_token,
    api_orders,
    api_cancel,
    api_command,
    api_product_create,
    api_product_update,
    api_centres,
]


def page_app_config(settings: Settings, store: Store) -> tuple[list[Any], dict[str, Any]]:
    """Route handlers and Litestar options the hub app adds for its pages."""
    from edge.errors import EdgeError
    from hub.reconciliation import HANDLERS as RECONCILIATION_HANDLERS

    secret = store.read_sync(lambda c: get_meta(c, "secret")) or secrets.token_hex(32)
    static = create_static_files_router(
        path="/static", directories=[settings.templates_dir / "static"], include_in_schema=False
    )
    return [*PAGE_HANDLERS, *RECONCILIATION_HANDLERS, static], {
        "template_config": TemplateConfig(
            directory=settings.templates_dir, engine=JinjaTemplateEngine
        ),
        "csrf_config": CSRFConfig(
            secret=secret,
            cookie_name="linli_hub_csrf",
            cookie_secure=settings.secure_cookies,
            exclude=["/sync/", "/hub/api/", "/supplier/", "/healthz", "/schema"],
        ),
        "extra_exception_handlers": {EdgeError: _edge_error, SyncError: _sync_error_page},
        "state": {
            "login_limiter": LoginLimiter(settings.login_max_failures, settings.login_window_s)
        },
    }
