"""What every request and every log line of both apps passes through.

- Security headers on every answer: the pages may load only what the box itself
  serves (no CDN, no other site), may not be framed, and are not type-sniffed.
- A path with control characters (`/static/x%00`) is refused with a 400 before any
  route or file lookup sees it (it was a 500 from the static-file stat). So is a
  query parameter holding a NUL (`?q=%00`), naming the parameter: a NUL is never
  text, and PostgreSQL refuses it in a text value (a 500 from the hub's searches).
- Log lines escape control characters in their values, so a request cannot write a
  forged line (`%0aINFO - ...`) into the journal.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from litestar.datastructures import MutableScopeHeaders
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        # A few pages keep a small inline script or onclick; nothing comes from elsewhere.
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    return bool(_CONTROL.search(text))


def escape_controls(text: str) -> str:
    """`\\n` and friends written as visible escapes: one log line stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: it sees every answer, router 404s and errors too."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value


def nul_parameter(query_string: bytes) -> str | None:
    """The name of the first query parameter (name or value) holding a NUL, if any."""
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    text = query_string.decode("latin-1")
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        if "\x00" in name or "\x00" in value:
            return escape_controls(name)[:64] or "query"
    return None


def refuse_control_characters(app: ASGIApp) -> ASGIApp:
    """Middleware: a path with control characters, or a query parameter with a NUL,
    never reaches a handler or a file."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        detail, where = "", ""
        if has_control_characters(scope["path"]):
            detail, where = "the address has control characters in it", "path"
        elif (name := nul_parameter(scope.get("query_string", b""))) is not None:
            detail, where = f"{name} holds a NUL character", name
        if detail:
            body = json.dumps(
                {"error": "bad_request", "detail": detail, "field": where}, ensure_ascii=False
            ).encode()
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
            await send(start)
            end: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": body,
                "more_body": False,
            }
            await send(end)
            return
        await app(scope, receive, send)

    return middleware


_default_factory: Callable[..., logging.LogRecord] | None = None


def escape_log_records() -> None:
    """Install (once) a log record factory that escapes control characters in every
    record's message and string arguments, whatever logger wrote it."""
    global _default_factory
    if _default_factory is not None:
        return
    _default_factory = logging.getLogRecordFactory()
    original = _default_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = escape_controls(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                escape_controls(a) if isinstance(a, str) else a for a in record.args
            )
        return record

    logging.setLogRecordFactory(factory)
