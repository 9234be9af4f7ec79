"""Signing a tablet in with a name and PIN, and out again; lifting a sign-in lock.

A tablet stays signed in for the working day: the session ends on the server
after `Settings.session_idle_s` unused or `session_max_age_s` in all, and at
once on sign-out, a PIN change or the person's removal. The last name used is
remembered so a returning staff member (whose session ran out) only taps in
the PIN; a sign-out forgets it. The names are the centre's staff list, tapped,
never typed.

Wrong PINs count per name from any tablet (edge.domain.auth). A locked name is lifted
by a manager: the manager's name and PIN typed on the locked sign-in form, or
the alert on the Today page (`/signin/alerts`, loaded into it by htmx).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

import msgspec
from litestar import get, post
from litestar.response import Redirect, Template

from edge.domain.auth import Auth
from edge.domain.signin import Locked, SignInPolicy, client_address
from edge.errors import Forbidden, TooManyRequests, Unauthorized
from edge.settings import Settings
from edge.web.forms import Text, read_form
from edge.web.pages.base import AnyRequest, page
from edge.web.pages.i18n import gettext_for, safe_back
from edge.web.shared import SESSION_COOKIE, SettingsDep, page_staff

NAME_COOKIE = "linli_last_name"
YEAR_S = 365 * 24 * 3600


def _auth(request: AnyRequest) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def _client(request: AnyRequest, settings: Settings) -> str:
    return client_address(request, settings.trusted_proxies)


@get("/signin", include_in_schema=False)
async def signin_form(request: AnyRequest) -> Template | Redirect:
    back = safe_back(request.query_params.get("next"))
    if await page_staff(request) is not None:
        return Redirect(path=back, status_code=303)
    last_name = unquote(request.cookies.get(NAME_COOKIE, ""))
    return page(
        request,
        "signin.html",
        name=last_name,
        staff_names=await _staff_names(request),
        next=back,
        error=None,
    )


async def _staff_names(request: AnyRequest) -> list[str]:
    """The centre's active staff, managers first: a tablet signs in by tapping a name."""
    store = request.app.state.store
    return await store.read(  # type: ignore[no-any-return]
        lambda c: [
            r[0]
            for r in c.execute(
                "SELECT name FROM staff WHERE active = 1"
                " ORDER BY role = 'manager' DESC, role = 'staff' DESC, name LIMIT 60"
            )
        ]
    )


async def _signin_error(
    request: AnyRequest,
    name: str,
    back: str,
    status: int,
    error: str,
    detail: str = "",
    **more: Any,
) -> Template:
    return page(
        request,
        "signin.html",
        name=name,
        staff_names=await _staff_names(request),
        next=back,
        status=status,
        error=error,
        detail=detail,
        **more,
    )


Name = Annotated[str, Text(limit=40, strip=True)]
Pin = Annotated[str, Text(limit=16, strip=True)]


class SignIn(msgspec.Struct, kw_only=True):
    """A name and PIN; a manager's name and PIN too when they lift the name's lock."""

    name: Name = ""
    pin: Pin = ""
    manager_name: Name = ""
    manager_pin: Pin = ""
    next: str = "/"  # where to go back to (checked by safe_back)


class SignOut(msgspec.Struct):
    everywhere: str = ""  # any value: end every session and token of the person


class Unlock(msgspec.Struct):
    name: Name = ""
    next: str = "/"


@post("/signin", include_in_schema=False)
async def signin(request: AnyRequest, settings: SettingsDep) -> Template | Redirect:
    form = await read_form(request, SignIn)
    name, pin = form.name, form.pin
    manager_name, manager_pin = form.manager_name, form.manager_pin
    back = safe_back(form.next)
    auth = _auth(request)
    policy = SignInPolicy.of(settings)
    client = _client(request, settings)
    _ = gettext_for(request)
    try:
        if manager_name or manager_pin:  # a manager lifts this name's lock, then signs it in
            await auth.unlock_with_manager(client, manager_name, manager_pin, name, policy)
        token, _staff = await auth.sign_in(client, name, pin, kind="page", policy=policy)
    except Locked as exc:
        return await _signin_error(
            request,
            name,
            back,
            429,
            _("Too many wrong PINs: this name is locked. Ask the station manager to unlock it."),
            exc.detail,
            locked=True,
        )
    except TooManyRequests as exc:
        return await _signin_error(
            request,
            name,
            back,
            429,
            _("Too many wrong PINs. Wait a few minutes, then try again."),
            exc.detail,
        )
    except Forbidden:
        return await _signin_error(
            request,
            name,
            back,
            403,
            _("Only the station manager can unlock a name."),
            locked=True,
        )
    except Unauthorized:
        return await _signin_error(
            request, name, back, 401, _("Wrong name or PIN. Please try again.")
        )
    response = Redirect(path=back, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=YEAR_S,  # only carries the token: the server decides when it ends
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
    """Sign this tablet out; `everywhere` ends every session and token of the person."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        form = await read_form(request, SignOut)
        await _auth(request).sign_out(token, everywhere=bool(form.everywhere))
    response = Redirect(path="/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(NAME_COOKIE)  # the next person taps their own name
    return response


@get("/signin/alerts", include_in_schema=False)
async def signin_alerts(request: AnyRequest, settings: SettingsDep) -> Template:
    """The manager's alert of names with runs of wrong PINs (empty for anyone else)."""
    me = await page_staff(request)
    alerts = []
    if me is not None and me.is_manager:
        alerts = await _auth(request).alerts(SignInPolicy.of(settings))
    return page(request, "_signin_alert.html", me, signin_alerts=alerts)


@post("/signin/unlock", include_in_schema=False)
async def signin_unlock(request: AnyRequest) -> Redirect:
    """A manager lifts a name's wait or lock and dismisses its alert."""
    me = await page_staff(request)
    if me is None:
        return Redirect(path="/signin", status_code=303)
    if not me.is_manager:
        raise Forbidden("only the station manager may unlock a name")
    form = await read_form(request, Unlock)
    await _auth(request).unlock(form.name)
    return Redirect(path=safe_back(form.next), status_code=303)


HANDLERS: list[Any] = [signin_form, signin, signout, signin_alerts, signin_unlock]
