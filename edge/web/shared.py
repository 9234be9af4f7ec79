"""What the API and the pages share: who is asking, and turning errors into answers.

Errors are mapped once here: `EdgeError` and Litestar's validation errors
become `{"error", "detail", "field"}` JSON under /api and a plain page
elsewhere. Anything unexpected is logged and answered 500 without internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.response import Template

from edge.domain.auth import Auth, Staff
from edge.errors import EdgeError, Unauthorized
from edge.settings import Settings
from edge.store import Store

log = logging.getLogger("linli")
SESSION_COOKIE = "linli_session"


def provide_store(request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Store:
    # `settings` only chains the dependencies (settings -> store -> staff): with one
    # per level Litestar awaits each directly instead of starting a task group per
    # request, which cut pickup-search p99 in half (bench/centre_search.py).
    store: Store = request.app.state.store
    return store


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The one reader of `Authorization: Bearer <token>` (the scheme in any case), for the
    centre's API and the hub's operator, hotline and supplier APIs alike; None when the
    header is missing or another scheme."""
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


async def staff_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff:
    """The staff member behind the bearer token; 401 otherwise. Looked up once a request:
    a role guard (edge.web.guards) and the `staff` dependency share the answer."""
    found = cast("Staff | None", connection.scope.get(_STAFF_KEY))  # type: ignore[call-overload]
    if found is not None:
        return found
    auth: Auth = connection.app.state.auth
    staff = await auth.staff_for(bearer_token(connection), kind="api")
    if staff is None:
        raise Unauthorized("send Authorization: Bearer <token> (POST /api/v1/auth/token)")
    connection.scope[_STAFF_KEY] = staff  # type: ignore[literal-required]
    return staff


_STAFF_KEY = "linli_api_staff"


async def api_staff(request: Request[Any, Any, Any], store: NamedDependency[Store]) -> Staff:
    """The `staff` dependency of every /api/v1 route but sign-in."""
    return await staff_of(request)


async def page_staff(request: Request[Any, Any, Any]) -> Staff | None:
    auth: Auth = request.app.state.auth
    return await auth.staff_for(request.cookies.get(SESSION_COOKIE), kind="page")


# Printable ASCII but the backslash: browsers read a backslash as "/" and drop tabs
# and newlines, so "/", backslash or tab, "evil.example" would leave the box.
_PLAIN_PATH = re.compile(r"[!-\[\]-~]*")


def local_path(target: str | None, default: str = "/") -> str:
    """The path (and query) of a same-site page to go back to (a Referer, a ?next=);
    anything that could lead off the box ("//evil.example/x") gives `default`."""
    if not target:
        return default
    parts = urlsplit(target)
    if not parts.path:  # "http://box:8000", or a tab urlsplit dropped from "/\t/evil"
        return default
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or not _PLAIN_PATH.fullmatch(path):
        return default
    return path


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/sync/", "/supplier/")) or "json" in request.headers.get(
        "accept", ""
    )


def _answer(request: Request[Any, Any, Any], status: int, body: dict[str, Any]) -> Response[Any]:
    if _wants_json(request):
        return Response(content=body, status_code=status)
    detail = str(body.get("detail") or "")
    # Chinese words are for the staff; the server's English is for whoever maintains the
    # box, so error.html shows each on pages of its own language only.
    chinese = any("\u3400" <= ch <= "\u9fff" for ch in detail)
    return Template(
        template_name="error.html",
        context={"status": status, **body, "chinese_detail": chinese},
        status_code=status,
    )


def edge_error(request: Request[Any, Any, Any], exc: EdgeError) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("edge error on %s: %s", request.url.path, exc.detail)
    return _answer(request, exc.status_code, exc.as_json())


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    body: dict[str, Any] = {"error": "bad_request", "detail": exc.detail}
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        body["field"] = str(first.get("key", ""))
        body["detail"] = f"{first.get('key', 'body')}: {first.get('message', exc.detail)}"
    return _answer(request, 400, body)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    unreadable = unreadable_body(exc)
    if unreadable:
        return _answer(request, 400, unreadable)
    return _answer(
        request, exc.status_code, {"error": _name(exc.status_code), "detail": exc.detail}
    )


def unreadable_body(exc: HTTPException) -> dict[str, str] | None:
    """The 400 for a body the JSON decoder refused (not UTF-8, truncated, malformed),
    in our words: the library's message text changes between releases."""
    if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
        return {
            "error": "bad_request",
            "detail": "the body is not JSON in UTF-8 that can be read",
            "field": "body",
        }
    return None


def _raised_decoding_the_body(exc: BaseException) -> bool:
    """True when the error came from turning the request body into data (a body that
    is not UTF-8, or nested too deep to decode), not from our own code."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "decode_json":
            return True
        tb = tb.tb_next
    return False


def undecodable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if not _raised_decoding_the_body(exc):
        return internal_error(request, exc)
    why = "is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "is nested too deep"
    return _answer(
        request, 400, {"error": "bad_request", "detail": f"the JSON body {why}", "field": "body"}
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _answer(
        request,
        500,
        {"error": "internal_error", "detail": "something went wrong on the box; it was logged"},
    )


def _name(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        429: "too_many_requests",
    }.get(status, "error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    EdgeError: edge_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    UnicodeDecodeError: undecodable_body,
    RecursionError: undecodable_body,
    Exception: internal_error,
}


# Handler parameters filled by the dependencies above (Litestar wants them marked).
StoreDep = NamedDependency[Store]
StaffDep = NamedDependency[Staff]
SettingsDep = NamedDependency[Settings]
