"""Sign-in for API clients: a name and PIN in, a bearer token out."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody

from edge.auth import Auth


class TokenRequest(msgspec.Struct):
    name: str
    pin: str


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/token", status_code=200)
    async def token(
        self, request: Request[Any, Any, Any], data: JSONBody[TokenRequest]
    ) -> dict[str, Any]:
        auth: Auth = request.app.state.auth
        client = request.client.host if request.client else "?"
        token, staff = await auth.sign_in(client, data.name, data.pin, kind="api")
        return {"token": token, "staff": {"id": staff.id, "name": staff.name, "role": staff.role}}
