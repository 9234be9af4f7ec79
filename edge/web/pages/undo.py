"""Undo a money step from a tablet: a hand-over, one payment, a walk-in sale.

Each has a confirm page saying what is undone and how much goes back out of
the drawer, asking why, and, when money goes back, a station manager's name
and PIN (checked like a sign-in: wrong PINs count against that name). The
domain (`edge.domain.corrections`) records the correction as a row of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain import corrections
from edge.domain.auth import Auth
from edge.domain.signin import SignInPolicy, client_address
from edge.errors import BadRequest, EdgeError, NotFound
from edge.settings import Settings
from edge.web.forms import Text, decode_form
from edge.web.pages.base import N_, AnyRequest, MeDep, form_error, page
from edge.web.pages.i18n import gettext_for
from edge.web.shared import StoreDep

REASONS = (
    N_("Wrong order handed over"),
    N_("Weight or amount typed wrong"),
    N_("The resident did not take it"),
    N_("Paid another way"),
)


def _managers(conn: Any) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM staff WHERE role = 'manager' AND active = 1 ORDER BY name"
        )
    ]


async def _target(store: StoreDep, kind: str, target_id: str) -> dict[str, Any]:
    """What the confirm page describes: who or what, and the money that goes back."""

    def read(conn: Any) -> dict[str, Any]:
        if kind == "handover":
            row = conn.execute(
                "SELECT o.id, o.pickup_code, o.status, o.pickup_date, h.name AS who"
                " FROM orders o LEFT JOIN households h ON h.id = o.household_id WHERE o.id = ?",
                (target_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no order {target_id!r}")
            back = sum(p["amount_fen"] for p in corrections.live_payments(conn, target_id))
            return {**dict(row), "back": back, "order_id": row["id"]}
        if kind == "payment":
            row = conn.execute(
                "SELECT p.id, p.amount_fen, p.method, p.order_id, o.pickup_code, o.status,"
                " h.name AS who FROM payments p LEFT JOIN orders o ON o.id = p.order_id"
                " LEFT JOIN households h ON h.id = o.household_id WHERE p.id = ?",
                (target_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no payment {target_id!r}")
            return {**dict(row), "back": row["amount_fen"]}
        row = conn.execute(
            "SELECT s.id, s.total_fen, s.sold_on, s.created_at FROM walkin_sales s WHERE s.id = ?",
            (target_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no walk-in sale {target_id!r}")
        return {**dict(row), "back": row["total_fen"]}

    return await store.read(read)


async def _confirm(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    kind: str,
    target_id: str,
    *,
    error: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    target = await _target(store, kind, target_id)
    managers = await store.read(_managers)
    return page(
        request,
        "undo.html",
        me,
        kind=kind,
        target=target,
        reasons=REASONS,
        managers=managers,
        error=error,
        values=values or {},
        status=status,
    )


async def _manager_id(request: AnyRequest, name: str, pin: str) -> str | None:
    """The id of the manager whose name and PIN were typed; None if none was typed."""
    if not name and not pin:
        return None
    auth: Auth = request.app.state.auth
    settings: Settings = request.app.state.settings
    client = client_address(request, settings.trusted_proxies)
    staff = await auth.approving_manager(client, name, pin, SignInPolicy.of(settings))
    return staff.id


class Approval(msgspec.Struct, kw_only=True):
    """Why it is undone (a reason shown, or typed), and the manager who approves a refund."""

    reason_text: Annotated[str, Text(strip=True)] = ""
    reason: str = ""
    manager_name: Annotated[str, Text(limit=40, strip=True)] = ""
    manager_pin: Annotated[str, Text(limit=16, strip=True)] = ""


async def _undo(
    request: AnyRequest,
    me: MeDep,
    store: StoreDep,
    kind: str,
    target_id: str,
    run: Callable[[str, str | None], Awaitable[Any]],
    done: Callable[[Any], str],
) -> Template | Redirect:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "manager_pin"}
    _ = gettext_for(request)
    try:
        data = decode_form(form, Approval)
        typed, chosen = data.reason_text, data.reason
        if chosen and chosen not in REASONS:
            raise BadRequest("choose one of the reasons shown", field="reason")
        reason = typed or (_(chosen) if chosen else "")
        manager = await _manager_id(request, data.manager_name, data.manager_pin)
        result = await run(reason, manager)
    except EdgeError as exc:
        if exc.status_code not in (400, 403, 409):
            raise
        error = form_error(request, exc)
        if exc.field == "manager_pin":
            error["hint"] = _("A station manager's name and PIN are needed to give money back.")
        elif exc.field == "reason":
            error["hint"] = _("Say why: choose a reason or type one.")
        return await _confirm(
            request,
            me,
            store,
            kind,
            target_id,
            error=error,
            values=values,
            status=exc.status_code,
        )
    return Redirect(path=done(result), status_code=303)


@get("/undo/{kind:str}/{target_id:str}", include_in_schema=False)
async def undo_form(
    request: AnyRequest, me: MeDep, store: StoreDep, kind: FromPath[str], target_id: FromPath[str]
) -> Template:
    if kind not in ("handover", "payment", "sale"):
        raise NotFound(f"nothing to undo called {kind!r}")
    return await _confirm(request, me, store, kind, target_id)


# What each undo voids, and where the page goes after it.
VOIDS: dict[str, tuple[Callable[..., Any], Callable[[Any], str]]] = {
    "handover": (corrections.void_handover, lambda r: f"/desk/{r['order_id']}?undone=1"),
    "payment": (corrections.void_payment, lambda r: f"/orders/{r['order_id']}?undone=1"),
    "sale": (corrections.void_sale, lambda r: "/walkin?undone=1"),
}


@post("/undo/{kind:str}/{target_id:str}", include_in_schema=False)
async def undo(
    request: AnyRequest, me: MeDep, store: StoreDep, kind: FromPath[str], target_id: FromPath[str]
) -> Template | Redirect:
    if kind not in VOIDS:
        raise NotFound(f"nothing to undo called {kind!r}")
    void, done = VOIDS[kind]
    return await _undo(
        request,
        me,
        store,
        kind,
        target_id,
        lambda reason, manager: store.write(
            lambda tx: void(tx, target_id, reason=reason, staff_id=me.id, manager_id=manager)
        ),
        done,
    )


HANDLERS: list[Any] = [undo_form, undo]
