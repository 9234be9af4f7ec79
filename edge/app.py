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
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from edge import centre
from edge.api import CONTROLLERS
from edge.api.care_people import CARE_CONTROLLERS
from edge.auth import Auth, LoginLimiter
from edge.hardening import add_security_headers, escape_log_records, refuse_control_characters
from edge.openapi_errors import document_errors
from edge.pages import PAGE_HANDLERS, configure_templates
from edge.pages.care import CARE_PAGE_HANDLERS
from edge.settings import Settings
from edge.store import Store, open_store
from edge.supply import consolidated
from edge.supply.api import SUPPLY_CONTROLLERS
from edge.supply.pages import SUPPLY_PAGE_HANDLERS
from edge.sync_hooks import sync_lifespan
from edge.web import EXCEPTION_HANDLERS, api_staff, provide_settings, provide_store
from edge.wechat.pages import WECHAT_PAGE_HANDLERS

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
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    document_errors(app)
    return app


def _pages() -> list[Any]:
    """The tablet pages (the sync badge's "sync now" button among them) and the WeChat pages."""
    return [*PAGE_HANDLERS, *WECHAT_PAGE_HANDLERS, *SUPPLY_PAGE_HANDLERS, *CARE_PAGE_HANDLERS]
