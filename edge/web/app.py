"""The centre's web app: `create_app(settings)` builds it; nothing is built at import.

The lifespan opens the store (single writer + readers) and puts it, the
auth service and the settings on `app.state`. The JSON API lives under
/api/v1 (bearer tokens, no CSRF); pages use a session cookie and CSRF.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from edge.domain import centre
from edge.domain.auth import Auth
from edge.domain.signin import LoginLimiter
from edge.domain.supply import consolidated
from edge.settings import Settings
from edge.store import Store, open_store
from edge.sync_hooks import sync_lifespan
from edge.web.api import CONTROLLERS
from edge.web.api.care_people import CARE_CONTROLLERS
from edge.web.api.supply import SUPPLY_CONTROLLERS
from edge.web.hardening import add_security_headers, escape_log_records, refuse_control_characters
from edge.web.openapi_errors import document_errors
from edge.web.pages import PAGE_HANDLERS, configure_templates
from edge.web.pages.care import CARE_PAGE_HANDLERS
from edge.web.pages.supply import SUPPLY_PAGE_HANDLERS
from edge.web.pages.wechat import WECHAT_PAGE_HANDLERS
from edge.web.shared import EXCEPTION_HANDLERS, api_staff, provide_settings, provide_store

VERSION = "0.1.0"
log = logging.getLogger("linli")


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 while the box can save; 503 naming the fault while writes fail (the box
    still serves reads: lists and pickup codes stay on the tablets)."""
    store: Store | None = getattr(request.app.state, "store", None)
    fault = store.fault if store is not None else None
    if fault is None:
        return Response({"status": "ok"})
    return Response({"status": "fault", "detail": fault.detail}, status_code=503)


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Redirect:
    """Browsers ask for /favicon.ico on their own; the icon is a small SVG."""
    return Redirect(path="/static/favicon.svg", status_code=301)


# Pages and static files go out gzip-compressed to a tablet that accepts it (htmx is
# 52 KB, ~17 KB compressed; level 6: nearly level 9's size for a fraction of the CPU
# on a slow box). Brotli would need another dependency. The JSON API, the health
# check and the schema are left as they are.
COMPRESSION = CompressionConfig(
    backend="gzip",
    gzip_compress_level=6,
    minimum_size=500,
    exclude=["^/api/", "^/healthz", "^/schema", "^/sync"],
)


async def housekeeping(store: Store, settings: Settings) -> None:
    """The box's clockwork: lock each consolidated order when its cut-off passes
    (and record amendments after), whether or not anyone has a page open."""
    assert settings.housekeeping_interval_s
    while True:
        try:
            await store.write(lambda tx: consolidated.lock_due(tx, settings.now()))
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(settings.housekeeping_interval_s)


def create_app(settings: Settings) -> Litestar:
    escape_log_records()
    with open_store(settings.db_path) as setup:  # migrate now; the lifespan serves
        csrf_secret = centre.secret(setup)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = Store(settings.db_path)
        app.state.store = store
        app.state.settings = settings
        app.state.auth = Auth(
            store, LoginLimiter(settings.login_max_failures, settings.login_window_s)
        )
        app.state.centre_name = centre.centre_name(store)
        chores = None
        if settings.housekeeping_interval_s:
            chores = asyncio.create_task(housekeeping(store, settings), name="linli-chores")
        try:
            yield
        finally:
            if chores is not None:
                chores.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chores
            store.close()

    api = Router(
        path="/",
        route_handlers=[*CONTROLLERS, *SUPPLY_CONTROLLERS, *CARE_CONTROLLERS],
        dependencies={"staff": Provide(api_staff)},
        security=[{"bearer": []}],
    )
    route_handlers: list[Any] = [
        healthz,
        favicon,
        api,
        create_static_files_router(
            path="/static", directories=[settings.templates_dir / "static"], include_in_schema=False
        ),
    ]
    route_handlers += _pages()
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan, sync_lifespan()],
        dependencies={
            "store": Provide(provide_store, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[refuse_control_characters],
        before_send=[add_security_headers],
        csrf_config=CSRFConfig(
            secret=csrf_secret,
            cookie_name="linli_csrf",
            cookie_secure=settings.secure_cookies,
            exclude=["/api/", "/sync/", "/supplier/", "/healthz", "/schema"],
        ),
        template_config=TemplateConfig(
            directory=settings.templates_dir,
            engine=JinjaTemplateEngine,
            engine_callback=configure_templates,
        ),
        openapi_config=OpenAPIConfig(
            title="Linli centre API",
            version=VERSION,
            use_handler_docstrings=True,
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        compression_config=COMPRESSION,
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    document_errors(app)
    return app


def _pages() -> list[Any]:
    """The tablet pages (the sync badge's "sync now" button among them) and the WeChat pages."""
    return [*PAGE_HANDLERS, *WECHAT_PAGE_HANDLERS, *SUPPLY_PAGE_HANDLERS, *CARE_PAGE_HANDLERS]
