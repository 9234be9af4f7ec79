"""Signing a tablet in with a name and PIN, and out again.

A tablet stays signed in: the session cookie lives for a year (it is
revoked on sign-out). The last name used is remembered so a returning
staff member only taps in the PIN.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from litestar import get, post
from litestar.response import Redirect, Template

from edge.auth import Auth
from edge.errors import TooManyRequests, Unauthorized
from edge.pages.base import AnyRequest, page
from edge.pages.i18n import gettext_for, safe_back
from edge.web import SESSION_COOKIE, SettingsDep, page_staff

NAME_COOKIE = "linli_last_name"
YEAR_S = 365 * 24 * 3600


@get("/signin", include_in_schema=False)
async def signin_form(request: AnyRequest) -> Template | Redirect:
    back = safe_back(request.query_params.get("next"))
    if await page_staff(request) is not None:
        return Redirect(path=back, status_code=303)
    last_name = unquote(request.cookies.get(NAME_COOKIE, ""))
    return page(request, "signin.html", name=last_name, next=back, error=None)


@post("/signin", include_in_schema=False)
async def signin(request: AnyRequest, settings: SettingsDep) -> Template | Redirect:
    form = await request.form()
    name = str(form.get("name", "")).strip()[:40]
    pin = str(form.get("pin", "")).strip()[:16]
    back = safe_back(str(form.get("next", "") or "/"))
    auth: Auth = request.app.state.auth
    client = request.client.host if request.client else "unknown"
    _ = gettext_for(request)
    try:
        token, _staff = await auth.sign_in(client, name, pin, kind="page")
    except TooManyRequests as exc:
        return page(
            request,
            "signin.html",
            name=name,
            next=back,
            status=429,
            error=_("Too many wrong PINs. Wait a few minutes, then try again."),
            detail=exc.detail,
        )
    except Unauthorized:
        return page(
            request,
            "signin.html",
            name=name,
            next=back,
            status=401,
            error=_("Wrong name or PIN. Please try again."),
            detail="",
        )
    response = Redirect(path=back, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=YEAR_S,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.set_cookie(
        NAME_COOKIE,
        quote(name),
        max_age=YEAR_S,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@post("/signout", include_in_schema=False)
async def signout(request: AnyRequest) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth: Auth = request.app.state.auth
        await auth.sign_out(token)
    response = Redirect(path="/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


HANDLERS: list[Any] = [signin_form, signin, signout]
