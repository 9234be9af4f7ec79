"""The sync badge's "sync now" button, for signed-in staff only."""

from __future__ import annotations

from typing import Any

from litestar import Response, post

from edge.sync_hooks import run_sync_now
from edge.web.pages.base import AnyRequest, MeDep


@post("/sync-now", include_in_schema=False)
async def sync_now(request: AnyRequest, me: MeDep) -> Response[Any]:
    return await run_sync_now(request)


HANDLERS: list[Any] = [sync_now]
