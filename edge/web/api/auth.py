"""Sign-in for API clients: a name and PIN in, a bearer token out; and signing it out.

Wrong PINs count per staff name from any address (edge.domain.auth): 429 while the
name must wait or is locked. A token lasts until it is signed out, the PIN
changes or the person is removed.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, post
from litestar.params import FromQuery, JSONBody

from edge.domain.auth import Auth
from edge.domain.signin import SignInPolicy, client_address
from edge.errors import Unauthorized
from edge.settings import Settings
from edge.web.api.replies import StaffRef, TokenReply
from edge.web.shared import bearer_token


class TokenRequest(msgspec.Struct):
    name: str
    pin: str


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/token", status_code=200)
    async def token(
        self, request: Request[Any, Any, Any], data: JSONBody[TokenRequest]
    ) -> TokenReply:
        auth: Auth = request.app.state.auth
        settings: Settings = request.app.state.settings
        client = client_address(request, settings.trusted_proxies)
        token, staff = await auth.sign_in(
            client, data.name, data.pin, kind="api", policy=SignInPolicy.of(settings)
        )
        return TokenReply(token, StaffRef(staff.id, staff.name, staff.role))

    @delete("/token", status_code=204)
    async def sign_out(
        self, request: Request[Any, Any, Any], everywhere: FromQuery[bool] = False
    ) -> None:
        """Revoke this bearer token; `?everywhere=true`: every session and token of its
        person (tablets too)."""
        auth: Auth = request.app.state.auth
        token = bearer_token(request)
        if await auth.staff_for(token) is None or token is None:
            raise Unauthorized("send Authorization: Bearer <token> (POST /api/v1/auth/token)")
        await auth.sign_out(token, everywhere=everywhere)
