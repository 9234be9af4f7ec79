"""What the centre app calls to run sync: a lifespan, the badge status, a "sync now" route.

In `edge.web.app.create_app`:

    from edge.sync_hooks import SYNC_ROUTES, sync_lifespan, sync_status
    Litestar(..., lifespan=[lifespan, sync_lifespan()], route_handlers=[..., *SYNC_ROUTES])

`sync_lifespan(commands)` must come after the lifespan that puts `store` and
`settings` on `app.state`. When the box is enrolled and `settings.sync_enabled`,
it starts a `SyncAgent` in the background (on `app.state.sync`) and stops it
at shutdown. Pages build the badge with `await sync_status(request.app.state)`.

While the app runs it holds the database's serving lock (`sync.enrol`), so
`linli centre join` is refused until the server stops: a join re-owns the
box's rows under a new site id, which a running store would not see.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar, Request, Response, post
from litestar.response import Redirect

from edge.domain.care import groceries
from edge.domain.care.commands import CARE_COMMANDS
from edge.store import Store, Tx, get_meta
from edge.web.shared import local_path
from sync.agent import CommandHandler, SyncAgent
from sync.enrol import META_HUB_SITE, META_HUB_URL, META_TOKEN, try_serving_lock

log = logging.getLogger("linli.sync")


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's TLS context (the same CA bundle it would read), made once per process:
    reading the CA bundle costs ~40 ms of CPU, and the lifespan runs at every app start
    (every test's centre app)."""
    return httpx.create_ssl_context()


NOT_ENROLLED: dict[str, Any] = {
    "enrolled": False,
    "online": False,
    "waiting": 0,
    "last_sync": None,
    "clock_warning": None,
}


def _cancel_order(tx: Tx, args: dict[str, Any]) -> str:
    from edge.domain import orders

    return orders.cancel(tx, str(args["order_id"]))


def _set_calendar(tx: Tx, args: dict[str, Any]) -> None:
    from edge.domain import calendar

    calendar.save(
        tx,
        list(args["weekdays"]),
        str(args["cutoff"]),
        str(args.get("pickup_hours", "07:00-11:00")),
    )


def _add_calendar_exception(tx: Tx, args: dict[str, Any]) -> str:
    """Refused (and said so to the operator) when closing a day that still has orders,
    unless the command names the day they move to (`move_orders_to`)."""
    from edge.domain import calendar, orders

    day = calendar.parse_day(str(args["day"]))
    if args.get("move_orders_to") and args["kind"] == "closed":
        orders.move_open_orders(
            tx, day, calendar.parse_day(str(args["move_orders_to"]), "move_orders_to")
        )
    return calendar.add_exception(tx, day, str(args["kind"]), str(args.get("note", "")))


def _set_product_price(tx: Tx, args: dict[str, Any]) -> str:
    """A price the district operator set for one of this centre's own products."""
    from edge.domain import products

    before = products.get_product(tx.conn, str(args["product_id"]))
    products.update_product(tx, before.id, {"price_fen": args["price_fen"]})
    return f"{before.name}: {before.price_fen} -> {args['price_fen']} fen"


def _link_product(tx: Tx, args: dict[str, Any]) -> str:
    from edge.domain import products

    return products.link_to_district(tx, str(args["product_id"]), str(args["district_id"]))


DEFAULT_COMMANDS: dict[str, CommandHandler] = {
    "cancel_order": _cancel_order,
    "set_calendar": _set_calendar,
    "add_calendar_exception": _add_calendar_exception,
    **CARE_COMMANDS,
    "set_product_price": _set_product_price,
    "link_product": _link_product,
}


def enrolment(store: Store) -> dict[str, str] | None:
    """The hub URL, credential and hub site id in the centre's meta, if enrolled."""
    meta = store.read_sync(
        lambda c: {k: get_meta(c, k) for k in (META_HUB_URL, META_TOKEN, META_HUB_SITE)}
    )
    if not all(meta.values()):
        return None
    return {k: str(v) for k, v in meta.items()}


def make_agent(
    store: Store,
    client: httpx.AsyncClient,
    commands: Mapping[str, CommandHandler] | None = None,
    **kwargs: Any,
) -> SyncAgent | None:
    """An agent for an enrolled centre (None if the box never joined a hub)."""
    found = enrolment(store)
    if found is None:
        return None
    agent = SyncAgent(
        store,
        client,
        found[META_HUB_URL],
        found[META_TOKEN],
        hub_site_id=found[META_HUB_SITE],
        **kwargs,
    )
    for name, handler in {**DEFAULT_COMMANDS, **(commands or {})}.items():
        agent.register_command(name, handler)
    return agent


def sync_lifespan(
    commands: Mapping[str, CommandHandler] | None = None,
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """A Litestar lifespan running the background sync of an enrolled centre."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store: Store = app.state.store
        settings = app.state.settings
        app.state.sync = None
        lock = await _hold_serving_lock(store)
        client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), verify=_tls())
        task: asyncio.Task[None] | None = None
        try:
            loop = asyncio.get_running_loop()
            agent = await loop.run_in_executor(
                None,
                lambda: make_agent(
                    store,
                    client,
                    {"family_order": groceries.handler(settings.now), **(commands or {})},
                    interval_s=settings.sync_interval_s,
                ),
            )
            app.state.sync = agent
            if agent is not None and settings.sync_enabled:
                task = asyncio.create_task(
                    agent.run_forever(settings.sync_interval_s), name="linli-sync"
                )
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await client.aclose()
            if lock is not None:
                os.close(lock)

    return lifespan


async def _hold_serving_lock(store: Store, wait_s: float = 30.0) -> int | None:
    """Take the serving lock (waiting out a join in progress), then make sure the
    store writes under the site id the database holds now."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while (fd := try_serving_lock(store.path)) is None:
        if loop.time() > deadline:
            log.warning("%s stays locked by a join; serving without the lock", store.path)
            break
        await asyncio.sleep(0.1)
    site = await store.read(lambda c: get_meta(c, "site_id"))
    if site and site != store.site_id:  # a join finished after the store opened
        log.warning("site id is now %s (joined a hub); writing under it", site)
        store.set_site(site)
    return fd


async def sync_status(app_state: Any) -> dict[str, Any]:
    """The dict `templates/sync_badge.html` shows (keys: enrolled, online, waiting,
    last_sync, clock_warning)."""
    agent: SyncAgent | None = getattr(app_state, "sync", None)
    if agent is None:
        return dict(NOT_ENROLLED)
    return await agent.fresh_status()


async def run_sync_now(request: Request[Any, Any, Any]) -> Response[Any]:
    """The "sync now" button: runs one sync (bounded) and goes back to the page.

    The centre mounts it behind its sign-in (edge/web/pages/sync_now.py)."""
    agent: SyncAgent | None = getattr(request.app.state, "sync", None)
    result: dict[str, Any] = {"enrolled": agent is not None}
    if agent is not None:
        try:
            report = await asyncio.wait_for(agent.sync_once(), timeout=60)
            result.update(report.as_json())
        except Exception as exc:  # noqa: BLE001 - shown on the badge; the agent recorded it
            result.update(ok=False, error=str(getattr(exc, "detail", exc)))
    if "json" in request.headers.get("accept", ""):
        return Response(content=result)
    return Redirect(path=local_path(request.headers.get("referer"), "/"))


sync_now = post("/sync-now", include_in_schema=False)(run_sync_now)
SYNC_ROUTES = [sync_now]
