"""The OpenAPI document tells the truth about errors: every documented route lists the
error answers it can give, each with the one error shape both apps send,
`{"error", "detail", "field"}`.

Which codes a route can answer is read from the route itself: 400 for every route
(bad input), 401 where a token is required (the JSON APIs and sign-in), 403 where
the route has a role guard or the handler checks a role, 404 where the path names a
thing, 409 and 503 where it writes, 429 on sign-in.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

AUTHENTICATED = {"staff", "supplier", "operator", "centre"}  # parameters that need a token
BEARER_APIS = ("/api/v1/", "/sync/v1/", "/supplier/v1/", "/hub/api/v1/")  # every route: a token
ROLE_CHECKS = ("require_", "Forbidden(")
SIGN_IN_PATHS = ("/api/v1/auth/token", "/hub/api/v1/token")


@dataclass
class ErrorBody:
    """What every 4xx and 5xx answer of the JSON API carries."""

    error: str
    detail: str
    field: str | None = None


DESCRIPTIONS = {
    400: "Bad input: `field` names what was wrong",
    401: "No token, or a token that has ended",
    403: "Signed in, but this role may not do this",
    404: "No such thing",
    409: "The state does not allow it (e.g. a status that would move backwards)",
    413: "The body is too large",
    429: "Too many wrong sign-ins: wait, or ask a manager",
    503: "Storage full or failing: nothing was saved",
}


@functools.cache
def _reading_of(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    """A handler's parameter names and whether its source checks a role: read once per
    function (reading source is slow, and every app built in a process reuses the answer)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    checks_role = any(check in source for check in ROLE_CHECKS)
    return frozenset(inspect.signature(fn).parameters), checks_role


def error_codes(path: str, handler: HTTPRouteHandler) -> list[int]:
    params, checks_role = _reading_of(handler.fn)
    writes = bool(set(handler.http_methods) - {"GET", "HEAD", "OPTIONS"})
    codes = [400]
    if params & AUTHENTICATED or path.startswith(BEARER_APIS):
        codes.append(401)
    if checks_role or handler.guards:  # an inline check or a role guard (edge.web.guards)
        codes.append(403)
    if "{" in path:
        codes.append(404)
    if writes:
        codes += [409, 413, 503]
    if path in SIGN_IN_PATHS:
        codes += [401, 429]
    return sorted(set(codes))


def document_errors(app: Litestar) -> None:
    """Add the error answers to every documented JSON route (before /schema is built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            known: dict[int, Any] = dict(handler.responses or {})
            for code in error_codes(route.path, handler):
                known.setdefault(
                    code,
                    ResponseSpec(
                        data_container=ErrorBody,
                        description=DESCRIPTIONS[code],
                        generate_examples=False,
                    ),
                )
            handler.responses = known
