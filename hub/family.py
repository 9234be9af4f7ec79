"""The family page (/family): a son or daughter follows and books care for their elder.

They link to the elder with the code the centre printed (`care_recipients.link_code`),
choose a password, and from then on sign in with their phone. They book services of
the elder's centre for that elder only, see what waits for the centre ("等待服务站
接收，自 09:12"), upcoming and past visits, cancel before the visit starts and rate a
finished one. Everything they do is a command to the centre (`hub.care_commands`).
Accounts, links and sessions are hub-local (migration m110); link and sign-in tries
are rate-limited like operator sign-ins.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from datetime import date
from typing import Annotated, Any

import msgspec
from argon2 import PasswordHasher
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain.care.recipients import normalise_code
from edge.domain.households import normalise_phone
from edge.errors import BadRequest, EdgeError, NotFound, Unauthorized
from edge.store.ids import new_id
from edge.web.forms import Prefixed, Text, read_form
from hub import care_commands, care_orders
from hub.signin_limit import HubLoginLimiter
from sync.enrol import hash_token, now_iso, unknown_operator_hash, verify_password
from sync.errors import SyncError

COOKIE = "linli_family"
SESSION_S = 30 * 24 * 3600
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
AnyRequest = Request[Any, Any, Any]


def _store(request: AnyRequest) -> Any:
    return request.app.state.store


def _limiter(request: AnyRequest) -> HubLoginLimiter:
    limiter: HubLoginLimiter = request.app.state.login_limiter
    return limiter


async def _account(request: AnyRequest) -> dict[str, Any] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = await _store(request).read(
        lambda c: c.execute(
            "SELECT a.id, a.name, a.phone FROM care_family_sessions s"
            " JOIN care_family_accounts a ON a.id = s.account_id WHERE s.token_hash = ?",
            (hash_token(token),),
        ).fetchone()
    )
    return None if row is None else dict(row)


def _page(name: str, status: int = 200, **context: Any) -> Template:
    return Template(template_name=f"hub/family/{name}", context=context, status_code=status)


async def _start_session(request: AnyRequest, account_id: str, to: str) -> Response[Any]:
    token = secrets.token_urlsafe(32)
    await _store(request).write(
        lambda tx: tx.execute(
            "INSERT INTO care_family_sessions (token_hash, account_id, created_at)"
            " VALUES (?, ?, ?)",
            (hash_token(token), account_id, now_iso()),
        )
    )
    resp = Redirect(path=to, status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=SESSION_S)
    return resp


@get("/family")
async def home(request: AnyRequest) -> Template:
    account = await _account(request)
    code = normalise_code(request.query_params.get("code") or "")  # from the slip's QR
    if account is None:
        return _page("signin.html", error=None, values={"code": code})
    elders = await _store(request).read(lambda c: _elders(c, account["id"]))
    return _page("home.html", account=account, elders=elders, code=code)


def _elders(conn: sqlite3.Connection, account_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT r.id, r.name, l.relation, c.name AS centre_name FROM care_family_links l"
            " JOIN care_recipients r ON r.id = l.recipient_id"
            " LEFT JOIN sync_centres c ON c.site_id = r.site_id WHERE l.account_id = ?"
            " ORDER BY r.name",
            (account_id,),
        )
    ]


class LinkForm(msgspec.Struct, kw_only=True):
    """The centre's code for the elder, who the family member is, and a password."""

    code: str = ""
    name: str = ""
    phone: str = ""
    relation: str = ""
    password: str = ""


class LoginForm(msgspec.Struct, kw_only=True):
    phone: str = ""
    password: str = ""


class BookForm(msgspec.Struct, kw_only=True):
    service_id: str = ""
    day: str = ""
    start: str = ""
    note: str = ""


class CancelForm(msgspec.Struct, kw_only=True):
    """A booking, or a request the centre has not answered yet, and why."""

    booking_id: str = ""
    request_id: str = ""
    reason: str = ""


class RateForm(msgspec.Struct, kw_only=True):
    booking_id: str = ""
    rating: str = ""  # "1" to "5"
    note: str = ""


class GroceriesForm(msgspec.Struct, kw_only=True):
    """One quantity per product (`q-<product id>`, in posted order), and a note."""

    quantities: Annotated[list[tuple[str, str]], Prefixed("q-")] = []
    notes: Annotated[str, Text(limit=300)] = ""


class CancelGroceriesForm(msgspec.Struct, kw_only=True):
    request_id: Annotated[str, Text(limit=64)] = ""


@post("/family/link")
async def link(request: AnyRequest) -> Response[Any]:
    """Link to an elder by the centre's code; makes the account if the phone is new."""
    form = await read_form(request, LinkForm)
    values = {"code": form.code, "name": form.name, "phone": form.phone, "relation": form.relation}
    client = request.client.host if request.client else ""
    try:
        phone = normalise_phone(values["phone"])
        if not phone:
            raise BadRequest("请填写手机号 / the phone is required", field="phone")
        await _limiter(request).attempt(client, phone)
        code = normalise_code(values["code"])
        found = await _store(request).read(
            lambda c: c.execute(
                "SELECT id FROM care_recipients WHERE link_code = ? AND active = 1", (code,)
            ).fetchall()
        )
        if len(found) != 1:
            raise BadRequest(
                "绑定码不对，请核对服务站给您的码 / that code is not known", field="code"
            )
        account = await _account_for(request, phone, form.password, values["name"])
        await _limiter(request).succeeded(client, phone)
        recipient_id, relation = found[0]["id"], values["relation"][:20]
        await _store(request).write(
            lambda tx: tx.execute(
                "INSERT OR IGNORE INTO care_family_links (account_id, recipient_id, relation,"
                " created_at) VALUES (?, ?, ?, ?)",
                (account, recipient_id, relation, now_iso()),
            )
        )
    except (EdgeError, SyncError) as exc:
        return _page("signin.html", status=exc.status_code, error=exc.detail, values=values)
    return await _start_session(request, account, f"/family/elders/{recipient_id}")


async def _account_for(request: AnyRequest, phone: str, password: str, name: str) -> str:
    row = await _store(request).read(
        lambda c: c.execute(
            "SELECT id, password_hash FROM care_family_accounts WHERE phone = ?", (phone,)
        ).fetchone()
    )
    if row is not None:
        if not await asyncio.to_thread(verify_password, row["password_hash"], password):
            raise Unauthorized("密码不对 / wrong password for this phone", field="password")
        return str(row["id"])
    if len(password) < 8:
        raise BadRequest("密码至少 8 位 / a password of at least 8 characters", field="password")
    name = name.strip()[:40]
    if not name:
        raise BadRequest("请填写您的姓名 / your name is required", field="name")
    hashed = await asyncio.to_thread(_hasher.hash, password)
    account_id = new_id()
    await _store(request).write(
        lambda tx: tx.execute(
            "INSERT INTO care_family_accounts (id, phone, name, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (account_id, phone, name, hashed, now_iso()),
        )
    )
    return account_id


@post("/family/login")
async def login(request: AnyRequest) -> Response[Any]:
    form = await read_form(request, LoginForm)
    phone_text, password = form.phone, form.password
    client = request.client.host if request.client else ""
    try:
        phone = normalise_phone(phone_text)
        await _limiter(request).attempt(client, phone)
        row = await _store(request).read(
            lambda c: c.execute(
                "SELECT id, password_hash FROM care_family_accounts WHERE phone = ?", (phone,)
            ).fetchone()
        )
        hashed = row["password_hash"] if row is not None else unknown_operator_hash()
        ok = await asyncio.to_thread(verify_password, hashed, password)
        if row is None or not ok:
            raise Unauthorized("手机号或密码不对 / wrong phone or password", field="password")
        await _limiter(request).succeeded(client, phone)
    except (EdgeError, SyncError) as exc:
        return _page(
            "signin.html", status=exc.status_code, error=exc.detail, values={"phone": phone_text}
        )
    return await _start_session(request, str(row["id"]), "/family")


@post("/family/logout")
async def logout(request: AnyRequest) -> Response[Any]:
    token = request.cookies.get(COOKIE)
    if token:
        await _store(request).write(
            lambda tx: tx.execute(
                "DELETE FROM care_family_sessions WHERE token_hash = ?", (hash_token(token),)
            )
        )
    resp = Redirect(path="/family", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


async def _linked(request: AnyRequest, recipient_id: str) -> tuple[dict[str, Any], Any]:
    account = await _account(request)
    if account is None:
        raise Unauthorized("请先登录 / sign in first")
    elder = await _store(request).read(
        lambda c: c.execute(
            "SELECT r.id, r.name, r.site_id, r.subsidy, c.name AS centre_name"
            " FROM care_family_links l JOIN care_recipients r ON r.id = l.recipient_id"
            " LEFT JOIN sync_centres c ON c.site_id = r.site_id"
            " WHERE l.account_id = ? AND l.recipient_id = ?",
            (account["id"], recipient_id),
        ).fetchone()
    )
    if elder is None:
        raise NotFound("您没有绑定这位老人 / you are not linked to this elder")
    return account, elder


async def _elder_page(
    request: AnyRequest, recipient_id: str, error: str | None = None, status: int = 200
) -> Response[Any]:
    try:
        account, elder = await _linked(request, recipient_id)
    except Unauthorized:
        return Redirect(path="/family", status_code=303)
    hub_site = request.app.state.hub.site_id

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        data = care_commands.visits(conn, recipient_id)
        data["services"] = [
            dict(r)
            for r in conn.execute(
                "SELECT id, name, minutes, price_fen, subsidised_fen FROM care_services"
                " WHERE site_id IN (?, ?) AND active = 1 ORDER BY sort, name",
                (elder["site_id"], hub_site),
            )
        ]
        data["family_orders"] = care_orders.orders_for(conn, recipient_id)
        try:
            day = care_orders.next_day(conn, elder["site_id"], now)
        except BadRequest:
            data["grocery_day"], data["groceries"] = None, []
        else:
            data["grocery_day"] = day.isoformat()
            data["groceries"] = care_orders.catalog(conn, elder["site_id"], hub_site, day)
        return data

    now = request.app.state.settings.now()
    data = await _store(request).read(read)
    today = date.today().isoformat()
    upcoming = [
        v
        for v in data["visits"]
        if v["status"] in ("requested", "confirmed", "assigned", "started")
    ]
    past = [v for v in data["visits"] if v not in upcoming]
    return _page(
        "elder.html",
        status=status,
        account=account,
        elder=dict(elder),
        error=error,
        upcoming=sorted(upcoming, key=lambda v: (v["day"], v["start"])),
        past=past,
        today=today,
        fen=lambda f: f"{(f or 0) / 100:.2f}",
        **data,
    )


@get("/family/elders/{recipient_id:str}")
async def elder_page(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    return await _elder_page(request, recipient_id)


async def _act(
    request: AnyRequest, recipient_id: str, fn: Any, into: type[msgspec.Struct]
) -> Response[Any]:
    """`fn(tx, account, elder, form)` for a linked family member, the form read as `into`."""
    try:
        account, elder = await _linked(request, recipient_id)
        form = await read_form(request, into)
        await _store(request).write(lambda tx: fn(tx, account, dict(elder), form))
    except Unauthorized:
        return Redirect(path="/family", status_code=303)
    except (EdgeError, SyncError) as exc:
        return await _elder_page(request, recipient_id, exc.detail, exc.status_code)
    return Redirect(path=f"/family/elders/{recipient_id}", status_code=303)


@post("/family/elders/{recipient_id:str}/book")
async def book(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    def fn(tx: Any, account: dict[str, Any], elder: dict[str, Any], form: BookForm) -> str:
        fields = {
            "service_id": form.service_id,
            "day": form.day,
            "start": form.start,
            "note": form.note,
            "channel": "family",
            "requested_by": account["name"],
        }
        return care_commands.book(tx, elder["id"], fields, f"{account['name']} (家属)")

    return await _act(request, recipient_id, fn, BookForm)


@post("/family/elders/{recipient_id:str}/cancel")
async def cancel(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    def fn(tx: Any, account: dict[str, Any], elder: dict[str, Any], form: CancelForm) -> str:
        booking_id, request_id = form.booking_id, form.request_id
        target = {"booking_id": booking_id} if booking_id else {"request_id": request_id}
        _own(tx, elder["id"], target)
        return care_commands.cancel(tx, elder["site_id"], target, form.reason, account["name"])

    return await _act(request, recipient_id, fn, CancelForm)


def _own(tx: Any, recipient_id: str, target: dict[str, str]) -> None:
    """The booking (or request) must be this elder's: a family acts for their elder only."""
    if "booking_id" in target:
        row = tx.one("SELECT recipient_id FROM care_bookings WHERE id = ?", (target["booking_id"],))
        mine = row is not None and row["recipient_id"] == recipient_id
    else:
        row = tx.one(
            "SELECT json_extract(args, '$.recipient_id') AS r FROM sync_commands WHERE id = ?"
            " AND name = 'care_book'",
            (target["request_id"],),
        )
        mine = row is not None and row["r"] == recipient_id
    if not mine:
        raise NotFound("没有这项预约 / no such booking for this elder", field="booking_id")


@post("/family/elders/{recipient_id:str}/rate")
async def rate(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    def fn(tx: Any, account: dict[str, Any], elder: dict[str, Any], form: RateForm) -> str:
        booking_id = form.booking_id
        _own(tx, elder["id"], {"booking_id": booking_id})
        text = form.rating
        if text not in ("1", "2", "3", "4", "5"):
            raise BadRequest("请选择 1 到 5 星 / choose 1 to 5 stars", field="rating")
        return care_commands.rate(tx, booking_id, int(text), form.note, account["name"])

    return await _act(request, recipient_id, fn, RateForm)


@post("/family/elders/{recipient_id:str}/groceries")
async def order_groceries(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    """Groceries for the elder's next delivery day: one quantity field per product
    (`q-<product id>`, empty or 0 for none), sent to the centre as a `family_order`."""
    now = request.app.state.settings.now()

    def fn(tx: Any, account: dict[str, Any], elder: dict[str, Any], form: GroceriesForm) -> str:
        items = []
        for key, value in form.quantities:
            if not value.strip():
                continue
            try:
                quantity = float(value)
            except ValueError:
                raise BadRequest("数量要填数字 / a quantity is a number", field=key) from None
            if quantity != quantity or quantity < 0 or quantity > care_orders.QUANTITY_MAX:
                raise BadRequest("数量不对 / that quantity is out of range", field=key)
            if quantity > 0:
                items.append({"product_id": key[2:], "quantity": quantity})
        return care_orders.place(tx, elder["id"], account, items, form.notes, now)

    return await _act(request, recipient_id, fn, GroceriesForm)


@post("/family/elders/{recipient_id:str}/groceries/cancel")
async def cancel_groceries(request: AnyRequest, recipient_id: FromPath[str]) -> Response[Any]:
    def fn(
        tx: Any, account: dict[str, Any], elder: dict[str, Any], form: CancelGroceriesForm
    ) -> str:
        return care_orders.cancel(tx, elder["id"], form.request_id, f"{account['name']} (家属)")

    return await _act(request, recipient_id, fn, CancelGroceriesForm)


FAMILY_HANDLERS = [
    home,
    link,
    login,
    logout,
    elder_page,
    book,
    cancel,
    rate,
    order_groceries,
    cancel_groceries,
]
