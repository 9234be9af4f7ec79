"""The tablet pages: server-rendered Jinja2 with htmx, Simplified Chinese first.

`PAGE_HANDLERS` is what the app mounts; `configure_templates` is the
TemplateConfig `engine_callback` that adds the i18n extension and the
filters the templates use (元 from fen, 斤 from grams).
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.di import Provide

from edge.web.pages import (
    catalog,
    desk,
    lists,
    orders,
    poster,
    signin,
    sync_now,
    today,
    undo,
    walkin,
)
from edge.web.pages.base import SignInRequired, require_staff, to_signin
from edge.web.pages.i18n import choose_language, configure_templates

_signed_in = Router(
    path="/",
    route_handlers=[
        *today.HANDLERS,
        *orders.HANDLERS,
        *desk.HANDLERS,
        *walkin.HANDLERS,
        *lists.HANDLERS,
        *catalog.HANDLERS,
        *sync_now.HANDLERS,
        *poster.HANDLERS,
        *undo.HANDLERS,
    ],
    dependencies={"me": Provide(require_staff)},
    exception_handlers={SignInRequired: to_signin},
    include_in_schema=False,
)

PAGE_HANDLERS: list[Any] = [_signed_in, *signin.HANDLERS, choose_language]

__all__ = ["PAGE_HANDLERS", "configure_templates"]
