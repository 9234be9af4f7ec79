"""Role checks of the centre's API as Litestar guards: `guards=[manager_only]` on a route
says who may call it where Litestar (and the OpenAPI document) can see it, instead of a
call inside the handler. The rule and its 403 answer stay the domain's
(`edge.domain.auth.require_manager` / `require_staff`); a missing or ended token is the
same 401 the `staff` dependency gives, and the staff member found is reused by it.

A guard runs before the body is read, so a volunteer's call to a manager's route is
refused 403 whatever it sent.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from edge.domain.auth import require_manager, require_staff
from edge.web.shared import staff_of


async def manager_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The station manager only."""
    require_manager(await staff_of(connection))


async def staff_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Staff and managers; volunteers pack and hand over but do not do this."""
    require_staff(await staff_of(connection))
