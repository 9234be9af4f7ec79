"""The hub: receives every centre's changes into one merged store and serves them back.

`create_hub_app(settings)` builds the Litestar app of `linli serve --role
hub`: the sync API under /sync/v1 (centre credentials), the operator pages
under /hub and their JSON twin under /hub/api/v1 (operator accounts). The
merged store is an `edge.store.Store` on the hub's own file: the same tables
as a centre, holding every centre's rows under their owner's site id, plus
the sync tables (`sync.schema`). The sync service itself, every stage of a
push and the pull, is `hub.push.Hub`; the stages are drawn in `sync.protocol`,
the merge rules in `sync.merge`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_200_OK

from edge.settings import Settings
from edge.store import Store, open_db
from edge.store.migrations import SCHEMA_VERSION
from edge.web.hardening import add_security_headers, escape_log_records, refuse_control_characters
from edge.web.openapi_errors import document_errors
from hub.family import FAMILY_HANDLERS
from hub.push import PULL_LIMIT_DEFAULT, Centre, Hub, contact_params, opt_int
from hub.supplier import SUPPLIER_HANDLERS
from sync import schema as sync_schema
from sync.enrol import try_serving_lock
from sync.errors import BadBatch, SyncError
from sync.protocol import MAX_BODY_BYTES

log = logging.getLogger("linli.hub")
# Re-exported: the pages, the CLI and the tests reach the sync service through here.
__all__ = ["Centre", "Hub", "create_hub_app"]


# --- HTTP --------------------------------------------------------------------


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _hub(request: Request[Any, Any, Any]) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


@post("/sync/v1/push", status_code=HTTP_200_OK, include_in_schema=True)
async def push_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Apply one gzip-compressed batch of a centre's changes; answers the new position."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    body = await request.body()
    return await hub.push(centre, body, request.headers.get("content-encoding"))


@get("/sync/v1/position")
async def position_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The hub's acknowledged position for the calling centre."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    return await hub.position(centre, dict(request.query_params))


@get("/sync/v1/pull")
async def pull_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Hub change-log rows meant for the calling centre, after hub seq `after`."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    after = opt_int(request.query_params, "after") or 0
    limit = opt_int(request.query_params, "limit") or PULL_LIMIT_DEFAULT
    contact = contact_params(request.query_params)
    after_hlc = opt_int(request.query_params, "after_hlc")
    return await hub.pull(centre, after, limit, contact, after_hlc)


@post("/sync/v1/commands/returned", status_code=HTTP_200_OK)
async def returned_commands_handler(request: Request[Any, Any, Any]) -> dict[str, int]:
    """Commands a centre was sent and hands back to a hub restored from a backup."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadBatch(f"the body is over {MAX_BODY_BYTES} bytes", field="body")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadBatch("the body is not JSON", field="body") from None
    return await hub.return_commands(centre, doc)


@get("/sync/v1/history")
async def history_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The calling centre's own change log as the hub holds it, after seq `after`
    (paged by `limit`): what `linli centre recover` reads back after a restore."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    after = opt_int(request.query_params, "after") or 0
    limit = opt_int(request.query_params, "limit") or PULL_LIMIT_DEFAULT
    return await hub.history(centre, after, limit)


@get("/sync/v1/hello")
async def hello_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who this credential belongs to: what `linli centre join` needs."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    return {
        "site_id": centre.site_id,
        "name": centre.name,
        "hub_site_id": hub.site_id,
        "schema_version": SCHEMA_VERSION,
        "hub_time_ms": hub.now_ms(),
    }


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 while the hub can save; 503 naming the storage fault while writes fail."""
    store: Store | None = getattr(request.app.state, "store", None)
    fault = store.fault if store is not None else None
    if fault is None:
        return Response({"status": "ok", "role": "hub"})
    return Response({"status": "fault", "role": "hub", "detail": fault.detail}, status_code=503)


def sync_error(request: Request[Any, Any, Any], exc: SyncError) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("sync error on %s: %s", request.url.path, exc.detail)
    return Response(content=exc.as_json(), status_code=exc.status_code)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    from edge.web.shared import unreadable_body
    from hub.pages import error_page, wants_html

    body = unreadable_body(exc) or {
        "error": _ERROR_NAMES.get(exc.status_code, "error"),
        "detail": exc.detail,
    }
    if isinstance(exc, ValidationException) and "field" not in body:
        body.update(_named_field(exc))
    if wants_html(request):
        return error_page(request, exc.status_code, str(body["detail"]), body.get("field"))
    return Response(content=body, status_code=exc.status_code)


def _named_field(exc: ValidationException) -> dict[str, str]:
    """The field a Litestar validation error is about, and a detail that says it:
    from `extra` for a bad parameter or body field, from the message for a missing
    parameter (Litestar names it only there)."""
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        field = str(extra[0].get("key") or "body")
        return {"field": field, "detail": f"{field}: {extra[0].get('message', exc.detail)}"}
    missing = _MISSING_PARAMETER.match(str(exc.detail))
    if missing:
        kind, field = missing.groups()
        return {"field": field, "detail": f"{field}: the {kind} parameter is required"}
    return {}


_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def _raised_decoding_the_body(exc: BaseException) -> bool:
    """Whether the error came from Litestar turning the request body into data (a body
    that is not UTF-8, or nested too deep to decode), not from the hub's own code."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "decode_json":
            return True
        tb = tb.tb_next
    return False


def undecodable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """UnicodeDecodeError and RecursionError: a 400 naming the body when the request
    body could not be decoded, a 500 (logged) when the hub's own code raised them."""
    if not _raised_decoding_the_body(exc):
        return internal_error(request, exc)
    why = "is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "is nested too deep"
    from hub.pages import error_page, wants_html

    detail = f"the JSON body {why}"
    if wants_html(request):
        return error_page(request, 400, detail, "body")
    return Response(
        content={"error": "bad_request", "detail": detail, "field": "body"}, status_code=400
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    from hub.pages import error_page, wants_html

    if wants_html(request):
        return error_page(request, 500, "the hub logged it")
    return Response(
        content={"error": "internal_error", "detail": "the hub logged it"}, status_code=500
    )


SYNC_HANDLERS = [
    push_handler,
    position_handler,
    pull_handler,
    returned_commands_handler,
    history_handler,
    hello_handler,
    healthz,
]


def open_hub(state: State, settings: Settings | None = None) -> Hub:
    """Open the hub's store on `settings.db_target` (default: `state.settings`) and put it
    in the app's `state` with what serves from it: the `Hub`, the operator sign-in limiter.
    `create_hub_app` does it as it builds the app, and the lifespan serves that store; a
    lifespan run after an earlier one closed its store opens it again here.

    Tests build the app once per test process (Litestar takes ~0.3 s to build it) and
    call this with each test's own database before the test uses it."""
    from hub import links
    from hub.pages import shared_secret
    from hub.signin_limit import HubLoginLimiter

    settings = settings or state.settings
    sync_schema.ensure(settings.db_target)
    store = open_db(settings.db_target)
    try:
        secret = shared_secret(store)  # every hub process on the database signs forms alike
        links.ensure_secret(store)
        hub = Hub(store, decode_processes=settings.decode_processes)
    except BaseException:
        store.close()
        raise
    state.settings = settings
    state.store = store
    state.hub = hub
    state.login_limiter = HubLoginLimiter(
        store, settings.login_max_failures, settings.login_window_s
    )
    state.hub_tz = None  # looked up again from these settings (hub.pages.hub_zone)
    csrf = getattr(state, "csrf_config", None)  # the app's, once built: read per request
    if csrf is not None:
        csrf.secret = secret
    return hub


def create_hub_app(settings: Settings) -> Litestar:
    """The hub's ASGI app. The store opens here (tests reach it as `app.state.hub`) and
    the lifespan serves it, on the database `app.state.settings` names (`open_hub` puts
    another there); it closes when the lifespan ends, and a later lifespan opens it anew."""
    state = State({"settings": settings})
    open_hub(state, settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if app.state.store.closed:
            open_hub(app.state)
        served: Store = app.state.store
        hub: Hub = app.state.hub
        if app.state.settings.db_url:  # PostgreSQL: several hub processes share it by design
            try:
                yield
            finally:
                await hub.close()
                served.close()
            return
        # The serving lock, as a centre server holds it: `linli restore` refuses while
        # the hub runs (it would go on writing into the file restore replaced).
        lock = try_serving_lock(served.path)
        if lock is None:
            served.close()
            raise SyncError(f"{served.path} is being restored or joined: start the hub after")
        try:
            await hub.start_decoding()  # ready before a burst of pushes, not started by one
            yield
        finally:
            await hub.close()
            served.close()
            os.close(lock)

    from hub.care_statement import HANDLERS as CARE_STATEMENT_HANDLERS
    from hub.hotline import HOTLINE_HANDLERS, hotline_guard
    from hub.pages import page_app_config

    handlers, extra = page_app_config(settings, state.store)
    extra.pop("state", None)  # the sign-in limiter: open_hub puts it in the state
    handlers_by_exc: dict[Any, Any] = {
        SyncError: sync_error,
        HTTPException: http_error,
        UnicodeDecodeError: undecodable_body,
        RecursionError: undecodable_body,
        Exception: internal_error,
    }
    handlers_by_exc.update(extra.pop("extra_exception_handlers", {}))
    escape_log_records()
    app = Litestar(
        route_handlers=[
            *SYNC_HANDLERS,
            *handlers,
            *SUPPLIER_HANDLERS,
            *FAMILY_HANDLERS,
            *HOTLINE_HANDLERS,
            *CARE_STATEMENT_HANDLERS,
        ],
        lifespan=[lifespan],
        exception_handlers=handlers_by_exc,
        middleware=[refuse_control_characters],
        before_request=hotline_guard,
        before_send=[add_security_headers],
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=1024,
            gzip_compress_level=6,
            # A push's or a position's answer is a short JSON, yet the middleware set up
            # a compressor for it: about a tenth of the event loop's samples (py-spy)
            # under 1,000 small pushes.
            exclude=["^/sync/v1/push$", "^/sync/v1/position$"],
        ),
        request_max_body_size=max(settings.max_body_bytes, MAX_BODY_BYTES),
        state=state,
        debug=False,
        **extra,
    )
    document_errors(app)
    state.csrf_config = app.csrf_config
    return app
