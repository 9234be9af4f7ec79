"""Bad input to the hub gets a clear 4xx naming what was wrong, and writes nothing.

Every endpoint family of the hub app, driven through the real app: the sync
push and its query parameters, the operator JSON API and pages, the supplier
API. Each case snapshots the hub database before and after.
"""

from __future__ import annotations

import atexit
import gzip
import json
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from supply_world import MONDAY, World
from sync_fixtures import HUB_URL, connect_any

from edge.store.dialect import table_names
from edge.store.migrations import SCHEMA_VERSION
from sync import enrol

pytestmark = pytest.mark.anyio

NOT_UTF8 = b'{"note": "\xff"}'  # a key every endpoint takes
DEEP = b"[" * 5000 + b"]" * 5000


class Hub:
    """The hub app with centres A and B, a supplier and an operator; A has one order."""

    def __init__(self, w: World, client: httpx.AsyncClient, db: Path | str, order_id: str) -> None:
        self.w, self.client, self.db, self.order_id = w, client, db, order_id
        self.site_a = w.centres["A"].site_id
        self.op_token = ""

    def snapshot(self) -> dict[str, list[Any]]:
        """Every table's rows but sign-in sessions (a token request adds one)."""
        with connect_any(self.db) as conn:
            return {
                n: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{n}"')), key=repr)
                for n in table_names(conn)
                if n not in ("sync_operator_sessions", "hub_signin_failures")
            }

    def op(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.op_token}"}

    async def push(self, body: bytes) -> httpx.Response:
        return await self.client.post(
            "/sync/v1/push",
            content=body,
            headers={
                "Authorization": f"Bearer {self.w.centres['A'].token}",
                "Content-Encoding": "gzip",
            },
        )


# The world after the setup below (files, order id, operator token): made once per test
# process, copied per test (an argon2 hash and check per test was most of the time).
_READY: list[tuple[Path, str, str]] = []


async def _ready() -> tuple[Path, str, str]:
    if not _READY:
        folder = Path(tempfile.mkdtemp(prefix="linli-hub-bad-input-"))
        atexit.register(shutil.rmtree, folder, True)
        w = World(folder)
        w.hub_store.write_sync(lambda tx: enrol.add_operator(tx, "boss", "password2", "supervisor"))
        order_id = w.order("A", [("土豆", 5, "斤")])
        async with w.app.lifespan():
            transport = httpx.ASGITransport(app=w.app)
            async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
                await w.sync("A", client)
                r = await client.post(
                    "/hub/api/v1/token", json={"name": "boss", "password": "password2"}
                )
                assert r.status_code == 200, r.text
        w.close()
        _READY.append((folder, order_id, r.json()["token"]))
    return _READY[0]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """One event loop for the module's tests, so that the hub below lives across them."""
    return "asyncio"


async def _served(folder: Path, target: Path | str) -> AsyncIterator[Hub]:
    source, order_id, op_token = await _ready()
    w = World(folder, source=source, hub=target)
    async with w.app.lifespan():
        transport = httpx.ASGITransport(app=w.app)
        async with httpx.AsyncClient(transport=transport, base_url=HUB_URL) as client:
            h = Hub(w, client, w.hub_db, order_id)
            h.op_token = op_token
            yield h
    w.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hub]:
    """The hub on SQLite and on PostgreSQL, one per test process and engine: a bad request
    writes nothing, and each test snapshots the whole database before and after to show
    it (a test that wrote would fail there, whatever ran before it)."""
    folder = tmp_path_factory.mktemp("hub-bad-input")
    if request.param == "sqlite":
        async for h in _served(folder, folder / "hub.db"):
            yield h
        return
    server = request.getfixturevalue("pg_server")
    url = server.fresh_database()
    async for h in _served(folder, url):
        yield h
    server.drop(url)


@pytest.fixture
async def fresh_hub(tmp_path: Path, hub_target: Path | str) -> AsyncIterator[Hub]:
    """A hub of its own, for a test whose request is meant to write."""
    async for h in _served(tmp_path, hub_target):
        yield h


def _refused(r: httpx.Response, field: str | None, status: int = 400) -> dict[str, Any]:
    """A JSON refusal with the status, naming `field` (when one is at fault)."""
    assert r.status_code == status, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert body["error"] and body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


# --- bodies that are not JSON ----------------------------------------------------------


JSON_ENDPOINTS = [
    ("op", "/hub/api/v1/token"),
    ("op", "/hub/api/v1/commands"),
    ("op", "/hub/api/v1/products"),
    ("op", "/hub/api/v1/products/nope"),
    ("op", "/hub/api/v1/products/nope/adopt"),
    ("op", "/hub/api/v1/products/nope/link"),
    ("op", "/hub/api/v1/products/nope/price"),
    ("sup", "/supplier/v1/dispatch-notes"),
    ("sup", "/supplier/v1/price-lists"),
    ("sup", "/supplier/v1/return-notes/nope/confirm"),
]


@pytest.mark.parametrize("raw", [NOT_UTF8, DEEP], ids=["not-utf8", "deep"])
@pytest.mark.parametrize(("who", "path"), JSON_ENDPOINTS)
async def test_undecodable_json_body_is_400_naming_the_body(
    hub: Hub, who: str, path: str, raw: bytes
) -> None:
    before = hub.snapshot()
    auth = hub.op() if who == "op" else hub.w.sup()
    r = await hub.client.post(
        path, content=raw, headers={**auth, "Content-Type": "application/json"}
    )
    _refused(r, "body")
    assert hub.snapshot() == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "boss", "password": NaN}',
        b'{"name": "boss", "password": Infinity}',
        b'{"name": 1e999}',
        b'{"name": ',
        b"name=boss",
        b'"\\ud800"',
    ],
)
@pytest.mark.parametrize("path", ["/hub/api/v1/token", "/hub/api/v1/commands"])
async def test_operator_api_malformed_json_is_400(hub: Hub, path: str, raw: bytes) -> None:
    before = hub.snapshot()
    r = await hub.client.post(
        path, content=raw, headers={**hub.op(), "Content-Type": "application/json"}
    )
    _refused(r, "body")
    assert hub.snapshot() == before


# --- sync push ---------------------------------------------------------------------------

HOUSEHOLD = {
    "name": "王",
    "phone": "13800000000",
    "phone_tail": "0000",
    "building": "1",
    "unit": "1",
    "room": "1",
    "created_at": "2030-01-01T00:00:00+00:00",
}
ORPHAN_ITEM = {
    "order_id": "nope",
    "line": 0,
    "product_id": "p",
    "product_name": "x",
    "sold_by": "weight",
    "qty_unit": "g",
    "quantity": 1,
    "unit_price_fen": 1,
    "estimated_fen": 1,
}
NAN, INF, BIG, SURROGATE = "__NaN__", "__Inf__", "__BIG__", "__SURR__"  # put in as raw JSON


def _batch(hub: Hub, changes: list[list[Any]], **over: Any) -> bytes:
    """A gzip batch from centre A continuing its log; `changes` lack their seq."""
    with connect_any(hub.db) as conn:
        acked, install = conn.execute(
            "SELECT acked_seq, install_id FROM sync_centres WHERE site_id = ?", (hub.site_a,)
        ).fetchone()
    doc = {
        "schema_version": SCHEMA_VERSION,
        "site_id": hub.site_a,
        "install_id": install,
        "from_seq": acked + 1,
        "wall_ms": int(time.time() * 1000),
        "waiting": 0,
        "changes": [[acked + 1 + i, *ch] for i, ch in enumerate(changes)],
        **over,
    }
    text = (
        json.dumps(doc, ensure_ascii=False)
        .replace(f'"{NAN}"', "NaN")
        .replace(f'"{INF}"', "-Infinity")
        .replace(f'"{BIG}"', "1e999")
        .replace(SURROGATE, "\\ud800")
    )
    return gzip.compress(text.encode())


HLC = 1 << 40
PUSHES: dict[str, tuple[list[list[Any]], dict[str, Any], str | None]] = {
    # name: (changes, batch fields, the field the 400 names)
    "hlc 2^63": ([[2**63, "households", "fz1", "insert", HOUSEHOLD]], {}, "changes[0].hlc"),
    "hlc negative": ([[-1, "households", "fz1", "insert", HOUSEHOLD]], {}, "changes[0].hlc"),
    "field int 10^30": (
        [[HLC, "households", "fz2", "insert", {**HOUSEHOLD, "home_delivery": 10**30}]],
        {},
        "changes[0].home_delivery",
    ),
    "field int -2^63-1": (
        [[HLC, "households", "fz2", "insert", {**HOUSEHOLD, "home_delivery": -(2**63) - 1}]],
        {},
        "changes[0].home_delivery",
    ),
    "field NaN": (
        [[HLC, "households", "fz3", "insert", {**HOUSEHOLD, "name": NAN}]],
        {},
        "body",
    ),
    "field -Infinity": (
        [[HLC, "households", "fz3", "insert", {**HOUSEHOLD, "name": INF}]],
        {},
        "body",
    ),
    "field 1e999": (
        [[HLC, "households", "fz3", "insert", {**HOUSEHOLD, "home_delivery": BIG}]],
        {},
        "changes[0].home_delivery",  # valid JSON that Python reads as inf
    ),
    "field lone surrogate": (
        [[HLC, "households", "fz4", "insert", {**HOUSEHOLD, "name": SURROGATE}]],
        {},
        "changes[0].name",
    ),
    "row_id lone surrogate": (
        [[HLC, "households", SURROGATE, "insert", HOUSEHOLD]],
        {},
        "changes[0].row_id",
    ),
    "column lone surrogate": (
        [[HLC, "households", "fz4", "insert", {**HOUSEHOLD, SURROGATE: 1}]],
        {},
        "changes[0].fields",
    ),
    "table with a newline": (
        [[HLC, "households\n", "fz4", "insert", HOUSEHOLD]],
        {},
        "changes[0].tbl",
    ),
    "insert missing NOT NULL column": (
        [[HLC, "households", "fz5", "insert", {"name": "x"}]],
        {},
        "changes",
    ),
    "FK to a missing order": ([[HLC, "order_items", "fz6", "insert", ORPHAN_ITEM]], {}, "changes"),
    "good change then a bad one": (
        [
            [HLC, "households", "fz7", "insert", HOUSEHOLD],
            [HLC + 1, "order_items", "fz8", "insert", ORPHAN_ITEM],
        ],
        {},
        "changes",
    ),
    "waiting 2^63": ([], {"waiting": 2**63}, "waiting"),
    "wall_ms 10^30": ([], {"wall_ms": 10**30}, "wall_ms"),
    "from_seq 2^63": ([], {"from_seq": 2**63}, "from_seq"),
    "site_id lone surrogate": ([], {"site_id": SURROGATE}, "site_id"),
    "install_id lone surrogate": ([], {"install_id": SURROGATE}, "install_id"),
}


@pytest.mark.parametrize("case", list(PUSHES))
async def test_malformed_push_is_400_and_applies_nothing(hub: Hub, case: str) -> None:
    changes, over, field = PUSHES[case]
    before = hub.snapshot()
    r = await hub.push(_batch(hub, changes, **over))
    body = _refused(r, field)
    assert "\ud800" not in body["detail"]  # a lone surrogate is named, never echoed
    assert hub.snapshot() == before  # not applied, not logged, position and health unmoved
    # The centre is not held: its next honest push goes through.
    await hub.w.sync("A", hub.client)


async def test_a_constraint_refusal_names_the_row(hub: Hub) -> None:
    r = await hub.push(_batch(hub, [[HLC, "order_items", "fz6", "insert", ORPHAN_ITEM]]))
    body = _refused(r, "changes")
    assert "order_items fz6" in body["detail"] and "FOREIGN KEY" in body["detail"]
    assert isinstance(body["seq"], int)


async def test_push_nested_too_deep_is_400(hub: Hub) -> None:
    before = hub.snapshot()
    r = await hub.push(gzip.compress(DEEP))
    _refused(r, "body")
    assert hub.snapshot() == before


# --- sync query parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/sync/v1/pull", "after", "٣"),
        ("/sync/v1/pull", "limit", "１２"),
        ("/sync/v1/pull", "after", "-1"),
        ("/sync/v1/history", "after", "x"),
        ("/sync/v1/history", "limit", "1.5"),
        ("/sync/v1/position", "waiting", "²"),
        ("/sync/v1/position", "wall_ms", "99999999999999999999"),
        ("/sync/v1/position", "last_seq", " 1e3"),
    ],
)
async def test_sync_query_parameters_are_ascii_whole_numbers(
    hub: Hub, path: str, name: str, value: str
) -> None:
    before = hub.snapshot()
    r = await hub.client.get(
        path,
        params={name: value},
        headers={"Authorization": f"Bearer {hub.w.centres['A'].token}"},
    )
    body = _refused(r, name)
    assert name in body["detail"]
    assert hub.snapshot() == before


# --- supplier API -------------------------------------------------------------------------


@pytest.mark.parametrize("short", [2**63, 10**30, 5_000_001])
async def test_supplier_dispatch_short_out_of_range_is_400(hub: Hub, short: int) -> None:
    before = hub.snapshot()
    body = {
        "centre_id": hub.site_a,
        "delivery_date": MONDAY,
        "lines": [{"product_name": "土豆", "qty_unit": "g", "shipped": 1000, "short": short}],
    }
    r = await hub.client.post("/supplier/v1/dispatch-notes", json=body, headers=hub.w.sup())
    _refused(r, "lines[0].short")
    assert hub.snapshot() == before


async def test_supplier_validation_error_names_the_field(hub: Hub) -> None:
    before = hub.snapshot()
    body = {
        "effective_from": MONDAY,
        "prices": [{"product_name": "土豆", "qty_unit": "g", "price_fen": -1}],
    }
    r = await hub.client.post("/supplier/v1/price-lists", json=body, headers=hub.w.sup())
    answer = _refused(r, None)
    assert "price_fen" in answer["field"] and "price_fen" in answer["detail"]
    assert ">= 0" in answer["detail"]
    assert hub.snapshot() == before


@pytest.mark.parametrize(
    "path", ["/supplier/v1/consolidated", "/supplier/v1/return-notes", "/supplier/v1/loading-list"]
)
async def test_supplier_missing_query_parameter_is_named(hub: Hub, path: str) -> None:
    r = await hub.client.get(path, headers=hub.w.sup())
    body = _refused(r, "delivery_date")
    assert "delivery_date" in body["detail"]


# --- operator commands ---------------------------------------------------------------------

CALENDAR = {"weekdays": [0, 2, 4], "cutoff": "20:00", "pickup_hours": "07:00-11:00"}
EXCEPTION = {"day": "2030-01-07", "kind": "extra", "note": "区里安排"}
COMMANDS: dict[str, tuple[dict[str, Any], str]] = {
    # case: (body without site_id, the field the 400 names)
    "unknown name": ({"name": "drop_tables", "args": {}}, "name"),
    "name not text": ({"name": ["set_calendar"], "args": CALENDAR}, "name"),
    "args not an object": ({"name": "set_calendar", "args": [1]}, "args"),
    "unknown arg": ({"name": "set_calendar", "args": {**CALENDAR, "evil": 1}}, "args.evil"),
    "weekdays long text": (
        {"name": "set_calendar", "args": {**CALENDAR, "weekdays": "x" * 100_000}},
        "args.weekdays",
    ),
    "weekdays huge": (
        {"name": "set_calendar", "args": {**CALENDAR, "weekdays": [10**30]}},
        "args.weekdays",
    ),
    "weekdays object": (
        {"name": "set_calendar", "args": {**CALENDAR, "weekdays": {}}},
        "args.weekdays",
    ),
    "weekdays 7": (
        {"name": "set_calendar", "args": {**CALENDAR, "weekdays": [7]}},
        "args.weekdays",
    ),
    "weekdays true": (
        {"name": "set_calendar", "args": {**CALENDAR, "weekdays": [True]}},
        "args.weekdays",
    ),
    "weekdays empty": (
        {"name": "set_calendar", "args": {**CALENDAR, "weekdays": []}},
        "args.weekdays",
    ),
    "cutoff missing": (
        {"name": "set_calendar", "args": {"weekdays": [0]}},
        "args.cutoff",
    ),
    "cutoff 25:00": (
        {"name": "set_calendar", "args": {**CALENDAR, "cutoff": "25:00"}},
        "args.cutoff",
    ),
    "cutoff digits": (
        {"name": "set_calendar", "args": {**CALENDAR, "cutoff": "٢٠:٠٠"}},
        "args.cutoff",
    ),
    "cutoff number": (
        {"name": "set_calendar", "args": {**CALENDAR, "cutoff": 2000}},
        "args.cutoff",
    ),
    "pickup_hours long": (
        {"name": "set_calendar", "args": {**CALENDAR, "pickup_hours": "x" * 41}},
        "args.pickup_hours",
    ),
    "day compact": (
        {"name": "add_calendar_exception", "args": {**EXCEPTION, "day": "20300107"}},
        "args.day",
    ),
    "day 1999": (
        {"name": "add_calendar_exception", "args": {**EXCEPTION, "day": "1999-01-01"}},
        "args.day",
    ),
    "day missing": ({"name": "add_calendar_exception", "args": {"kind": "closed"}}, "args.day"),
    "kind open": (
        {"name": "add_calendar_exception", "args": {**EXCEPTION, "kind": "open"}},
        "args.kind",
    ),
    "note long": (
        {"name": "add_calendar_exception", "args": {**EXCEPTION, "note": "x" * 101}},
        "args.note",
    ),
    "move_orders_to not a date": (
        {
            "name": "add_calendar_exception",
            "args": {**EXCEPTION, "kind": "closed", "move_orders_to": "next week"},
        },
        "args.move_orders_to",
    ),
    "order_id missing": ({"name": "cancel_order", "args": {}}, "args.order_id"),
    "order_id number": ({"name": "cancel_order", "args": {"order_id": 7}}, "args.order_id"),
}


@pytest.mark.parametrize("case", list(COMMANDS))
async def test_command_args_are_checked_before_queueing(hub: Hub, case: str) -> None:
    body, field = COMMANDS[case]
    before = hub.snapshot()
    r = await hub.client.post(
        "/hub/api/v1/commands", json={"site_id": hub.site_a, **body}, headers=hub.op()
    )
    _refused(r, field)
    assert hub.snapshot() == before


async def test_command_site_id_must_be_a_centre(hub: Hub) -> None:
    before = hub.snapshot()
    for site_id, status in ((None, 400), (["x"], 400), ("no-such-centre", 404)):
        r = await hub.client.post(
            "/hub/api/v1/commands",
            json={"site_id": site_id, "name": "set_calendar", "args": CALENDAR},
            headers=hub.op(),
        )
        _refused(r, "site_id", status)
    assert hub.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "set_calendar", "args": CALENDAR},
        {"name": "set_calendar", "args": {"weekdays": [6, 0, 0], "cutoff": "23:59"}},
        {"name": "add_calendar_exception", "args": EXCEPTION},
        {
            "name": "add_calendar_exception",
            "args": {"day": "2030-01-07", "kind": "closed", "move_orders_to": "2030-01-08"},
        },
        {"name": "add_calendar_exception", "args": {"day": "2030-01-07", "kind": "closed"}},
    ],
)
async def test_well_formed_commands_are_queued(fresh_hub: Hub, body: dict[str, Any]) -> None:
    hub = fresh_hub
    r = await hub.client.post(
        "/hub/api/v1/commands", json={"site_id": hub.site_a, **body}, headers=hub.op()
    )
    assert r.status_code == 200, r.text
    with connect_any(hub.db) as conn:
        name, args = conn.execute(
            "SELECT name, args FROM sync_commands WHERE id = ?", (r.json()["command_id"],)
        ).fetchone()
    assert name == body["name"]
    assert set(json.loads(args)) <= set(body["args"])


async def test_hub_product_sort_out_of_range_is_400(hub: Hub) -> None:
    before = hub.snapshot()
    body = {"name": "区菜", "sold_by": "piece", "unit": "个", "price_fen": 1, "sort": 2**63}
    r = await hub.client.post("/hub/api/v1/products", json=body, headers=hub.op())
    _refused(r, "sort")
    assert hub.snapshot() == before


# --- operator pages ----------------------------------------------------------------------


async def _page_sign_in(client: httpx.AsyncClient) -> str:
    """Sign in through the login form; the CSRF token for the next form post."""
    page = await client.get("/hub/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    await client.post(
        "/hub/login",
        data={"name": "boss", "password": "password2", "_csrf_token": token.group(1)},
    )
    page = await client.get("/hub/sync")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


@pytest.mark.parametrize(
    ("referer", "location"),
    [
        ("//evil.example/x", "/hub/orders?"),
        ("http://hub.test//evil.example/x", "/hub/orders?"),
        ("https://evil.example//evil.example/x", "/hub/orders?"),
        ("/\\evil.example", "/hub/orders?"),
        ("/\t/evil.example", "/hub/orders?"),
        ("javascript:alert(1)", "/hub/orders?"),
        ("https://evil.example/hub/sync", "/hub/orders?"),
        ("http://hub.test/hub/orders?day=2030-01-07", "/hub/orders?day=2030-01-07&"),
        ("", "/hub/orders?"),
    ],
)
async def test_cancel_goes_back_only_to_a_local_page(
    fresh_hub: Hub, referer: str, location: str
) -> None:
    hub = fresh_hub
    csrf = await _page_sign_in(hub.client)
    r = await hub.client.post(
        f"/hub/orders/{hub.order_id}/cancel",
        data={"_csrf_token": csrf},
        headers={"Referer": referer} if referer else {},
    )
    assert r.status_code in (302, 303), r.text
    # Back to the orders page (the same day and filters), showing what became of the cancel.
    assert re.fullmatch(re.escape(location) + "sent=[0-9A-Z]{26}", r.headers["location"])


@pytest.mark.parametrize("day", ["tomorrow", "20300107", "1999-12-31", "2030-02-30"])
async def test_api_orders_refuses_a_bad_day(hub: Hub, day: str) -> None:
    r = await hub.client.get("/hub/api/v1/orders", params={"day": day}, headers=hub.op())
    _refused(r, "day")


@pytest.mark.parametrize(
    ("form", "said"),
    [({"cutoff": "9pm"}, "cutoff"), ({"pickup_hours": "x" * 41}, "pickup_hours")],
)
async def test_calendar_page_refuses_bad_args(hub: Hub, form: dict[str, str], said: str) -> None:
    csrf = await _page_sign_in(hub.client)
    before = hub.snapshot()
    r = await hub.client.post(
        f"/hub/centres/{hub.site_a}/calendar",
        data={"_csrf_token": csrf, "weekday": ["0", "3"], "cutoff": "20:00", **form},
    )
    assert r.status_code == 400, r.text
    assert said in r.text
    assert hub.snapshot() == before
