"""Hub operator pages (placeholder until the pages land)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from edge.settings import Settings
from edge.store import Store


def wants_html(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/hub/") and not request.url.path.startswith("/hub/api/")


def error_page(status: int, detail: str) -> Response[Any]:
    return Response(content={"error": "error", "detail": detail}, status_code=status)


def page_app_config(settings: Settings, store: Store) -> tuple[list[Any], dict[str, Any]]:
    return [], {}
