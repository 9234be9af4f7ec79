"""Hub operator pages (/hub, Jinja2, 中文 by default with an English switch): what they share.

Operators sign in with a name and password (`linli hub add-operator`). The
pages are split by what they show: orders across centres (`hub.order_pages`),
centres' sync health, calendars and the commands sent to them
(`hub.centre_pages`), the district catalog (`hub.catalog_pages`), the day's
reconciliation (`hub.reconciliation`) and the co-op's loading-list links
(`hub.links`); their JSON twin is `hub.api`. Words go through the centre's
gettext catalogs (`edge.web.pages.i18n`, the `linli_lang` cookie), times are the
hub's local time (`Settings.timezone`).

Sign-in failures are rate-limited per client address and name (the centre's
`edge.domain.signin.LoginLimiter`, with `Settings.login_max_failures` per
`Settings.login_window_s`), and an operator session (cookie or API token)
lasts `SESSION_LIFETIME_S` from sign-in: after that the operator signs in
again, and expired sessions are deleted at the next sign-in.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from edge.errors import TooManyRequests
from edge.settings import Settings
from edge.store import Store, get_meta
from edge.web.forms import Text, read_form
from edge.web.pages.base import FIELD_HINTS, N_, field_key
from edge.web.pages.i18n import choose_language, configure_templates, gettext_for, locale_of
from edge.web.pages.orders import CHANNELS, STATUS_LABELS
from edge.web.shared import bearer_token
from hub import humane
from hub.app import Hub
from hub.signin_limit import HubLoginLimiter
from sync.enrol import hash_token, now_iso, unknown_operator_hash, verify_password
from sync.errors import SyncError, Unauthorized

AnyRequest = Request[Any, Any, Any]
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


def wants_html(request: AnyRequest) -> bool:
    path = request.url.path
    if path.startswith("/supplier/loading-list"):  # the co-op's signed link, in a browser
        return True
    return (path == "/" or path.startswith("/hub")) and not path.startswith("/hub/api/")


ERROR_TITLES = {
    400: N_("Please check what was entered."),
    401: N_("Please sign in again."),
    403: N_("This is not allowed."),
    404: N_("Not found."),
    405: N_("This page cannot do that."),
    409: N_("That clashes with what is already there."),
    413: N_("What was sent is too large."),
    429: N_("Too many tries: wait a few minutes and try again."),
}


def error_page(
    request: AnyRequest,
    status: int,
    detail: str,
    field: str | None = None,
    *,
    hint: str | None = None,
) -> Response[Any]:
    """An error page in the page's language: what to do, and the exact reason under it."""
    hint = (
        hint
        or FIELD_HINTS.get(field_key(field))
        or ERROR_TITLES.get(
            status, N_("Something went wrong on the hub; it was written to the hub's log.")
        )
    )
    return render(
        request, "error.html", None, status_code=status, status=status, detail=detail, hint=hint
    )


def hub_of(request: AnyRequest) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def hub_zone(request: AnyRequest) -> tzinfo:
    """The hub's local time zone (`Settings.timezone`), looked up once."""
    tz: tzinfo | None = getattr(request.app.state, "hub_tz", None)
    if tz is None:
        settings: Settings = request.app.state.settings
        tz = humane.zone(settings.timezone)
        request.app.state.hub_tz = tz
    return tz


def today_iso(request: AnyRequest) -> str:
    return humane.today_in(hub_zone(request)).isoformat()


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


def _limiter(request: AnyRequest) -> HubLoginLimiter:
    limiter: HubLoginLimiter = request.app.state.login_limiter
    return limiter


def _client(request: AnyRequest) -> str:
    return request.client.host if request.client else ""


async def sign_in(request: AnyRequest, name: str, password: str) -> tuple[str, Operator]:
    """Check a name and password (rate-limited); a fresh session token if they match."""
    hub, limiter, client = hub_of(request), _limiter(request), _client(request)
    name = (name or "").strip()[:80]
    await limiter.attempt(client, name)
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
    await limiter.succeeded(client, name)
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


async def api_operator(request: AnyRequest) -> Operator:
    op = await _operator_for(hub_of(request), bearer_token(request))
    if op is None:
        raise Unauthorized("send Authorization: Bearer <operator token> (POST /hub/api/v1/token)")
    return op


async def page_operator(request: AnyRequest) -> Operator | None:
    return await _operator_for(hub_of(request), request.cookies.get(COOKIE))


def to_login(request: AnyRequest) -> Response[Any]:
    """Back to sign-in; a polled fragment asks htmx to load the whole page instead."""
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=200, headers={"HX-Redirect": "/hub/login"})
    return Redirect(path="/hub/login")


def fen(value: Any) -> str:
    return f"{(value or 0) / 100:.2f}"


def render(
    request: AnyRequest,
    template: str,
    op: Operator | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A hub page with what the layout needs: who, the language, local times."""
    configure_templates(request.app.template_engine)  # no-op once the app has done it
    _ = gettext_for(request)
    return Template(
        template_name=f"hub/{template}",
        context={
            "op": op,
            "fen": fen,
            "locale": locale_of(request),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "statuses": STATUS_LABELS,
            "channels": CHANNELS,
            **humane.as_context(hub_zone(request), _),
            **context,
        },
        status_code=status_code,
    )


@get(["/", "/hub"], include_in_schema=False)
async def root() -> Redirect:
    return Redirect(path="/hub/orders")


@get("/hub/login", include_in_schema=False)
async def login_page(request: AnyRequest) -> Template:
    return render(request, "login.html", None, error=None, name="")


class Login(msgspec.Struct):
    name: Annotated[str, Text(limit=80)] = ""
    password: str = ""


@post("/hub/login", include_in_schema=False)
async def login_submit(request: AnyRequest) -> Response[Any]:
    form = await read_form(request, Login)
    name = form.name
    try:
        token, _ = await sign_in(request, name, form.password)
    except Unauthorized:
        error = N_("Wrong name or password.")
        return render(request, "login.html", None, error=error, name=name, status_code=401)
    except TooManyRequests as exc:
        error = N_("Too many failed sign-ins: wait a few minutes and try again.")
        return render(
            request,
            "login.html",
            None,
            error=error,
            detail=exc.detail,
            name=name,
            status_code=exc.status_code,
        )
    resp = Redirect(path="/hub/orders")
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=SESSION_LIFETIME_S)
    return resp


@post("/hub/logout", include_in_schema=False)
async def logout(request: AnyRequest) -> Response[Any]:
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


def _edge_error(request: AnyRequest, exc: Exception) -> Response[Any]:
    from edge.errors import EdgeError

    assert isinstance(exc, EdgeError)
    if wants_html(request):
        return error_page(request, exc.status_code, exc.detail, exc.field)
    return Response(content=exc.as_json(), status_code=exc.status_code)


def _sync_error_page(request: AnyRequest, exc: Exception) -> Response[Any]:
    assert isinstance(exc, SyncError)
    if wants_html(request):
        return error_page(request, exc.status_code if exc.status_code < 500 else 500, exc.detail)
    return Response(content=exc.as_json(), status_code=exc.status_code)


PAGE_HANDLERS = [root, login_page, login_submit, logout, choose_language]


def shared_secret(store: Store) -> str:
    """The CSRF secret, made once and kept in `meta`: every hub process on the database
    signs with the same one (a form served by one is accepted by another)."""

    def write(tx: Any) -> str:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('secret', ?) ON CONFLICT(key) DO NOTHING",
            (secrets.token_hex(32),),
        )
        return str(get_meta(tx.conn, "secret"))

    return store.read_sync(lambda c: get_meta(c, "secret")) or store.write_sync(write)


def page_app_config(settings: Settings, store: Store) -> tuple[list[Any], dict[str, Any]]:
    """Route handlers and Litestar options the hub app adds for its pages."""
    from edge.errors import EdgeError
    from hub import api, catalog_pages, centre_pages, links, order_pages, reconciliation

    secret = shared_secret(store)
    links.ensure_secret(store)
    static = create_static_files_router(
        path="/static", directories=[settings.templates_dir / "static"], include_in_schema=False
    )
    handlers = [
        *PAGE_HANDLERS,
        *order_pages.HANDLERS,
        *centre_pages.HANDLERS,
        *catalog_pages.HANDLERS,
        *reconciliation.HANDLERS,
        *links.HANDLERS,
        *api.HANDLERS,
        static,
    ]
    return handlers, {
        "template_config": TemplateConfig(
            directory=settings.templates_dir,
            engine=JinjaTemplateEngine,
            engine_callback=configure_templates,
        ),
        "csrf_config": CSRFConfig(
            secret=secret,
            cookie_name="linli_hub_csrf",
            cookie_secure=settings.secure_cookies,
            exclude=["/sync/", "/hub/api/", "/supplier/", "/healthz", "/schema"],
        ),
        "extra_exception_handlers": {EdgeError: _edge_error, SyncError: _sync_error_page},
        "state": {
            "login_limiter": HubLoginLimiter(
                store, settings.login_max_failures, settings.login_window_s
            )
        },
    }
