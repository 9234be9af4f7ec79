"""The hardening items 1-9 replayed end to end: a real hub and two real centres.

One world for the module, set up the way a district does it: `linli demo` makes
each centre box, `linli staff add --token` gives it a tablet token, `linli hub
add-centre` enrols it and `linli centre join` joins it; two co-ops get supplier
accounts (`linli hub add-supplier`, one for both centres, one for B only). Then
`linli serve --role hub` and two `linli serve --role centre` on free loopback
ports, syncing every 0.3 s. Each test drives those processes over HTTP and the
CLI, asserts the status and the reason (`error`, `detail`, `field`), and reads
the SQLite files (read-only) to check that nothing of a refused request landed.

Items 8 and 9 (slow clients, WeChat pastes off the readers) run when `linli
serve` has the options of that work (`--header-timeout`, `--paste-workers`).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import sqlite3
import subprocess
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LINLI, Procs, free_port, grab, linli_many
from paths import WECHAT_CORPUS

SYNC_INTERVAL_S = "0.3"
HEADER_TIMEOUT_S = 2.0
B_MAX_CONNECTIONS = 64
MIB = 1024 * 1024
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
WAIT_RE = re.compile(r"try again in (\d+) s")
COOP, OTHER_COOP = "胶州合作社", "城阳合作社"
DAY = "2030-01-07"

pytestmark = pytest.mark.timeout(240)


# --- helpers (the processes and `linli` runs are tests/live_server.py's) ----------------


def _linli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINLI, *args], capture_output=True, text=True, timeout=60)


def _linli_ok(*args: str) -> str:
    r = _linli(*args)
    assert r.returncode == 0, f"linli {' '.join(args)}: {r.stdout}\n{r.stderr}"
    return r.stdout


def _query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _count(db: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    return int(_query(db, sql, params)[0][0] or 0)


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `check` until it gives a true value; fail naming `what` past the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (sqlite3.OperationalError, httpx.TransportError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def _csrf(client: httpx.Client, path: str = "/signin") -> str:
    return grab(CSRF_RE.pattern, client.get(path).text)


def _page_signin(client: httpx.Client, name: str, pin: str, **more: str) -> httpx.Response:
    return client.post(
        "/signin",
        data={"name": name, "pin": pin, "_csrf_token": _csrf(client), **more},
        follow_redirects=False,
    )


def _page(client: httpx.Client, path: str = "/") -> tuple[int, str]:
    r = client.get(path, follow_redirects=False)
    return r.status_code, r.headers.get("location", "")


@dataclass
class Box:
    """One centre: its database, server, credentials."""

    name: str
    db: Path
    port: int
    site_id: str = ""
    sync_token: str = ""  # the hub's credential for this centre
    tablet: str = ""  # 平板's API token (linli staff add --token)
    manager: str = ""  # 小玮's API token (printed by linli demo)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.tablet}"}

    def own_seq(self) -> int:
        return _count(
            self.db,
            "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE site_id = ?",
            (self.site_id,),
        )


@dataclass
class World:
    tmp: Path
    hub_db: Path
    hub_url: str
    hub_site: str
    a: Box
    b: Box
    coop: str  # supplies A and B
    other_coop: str  # supplies B only
    procs: Procs

    def acked(self, box: Box) -> int:
        return _count(
            self.hub_db, "SELECT acked_seq FROM sync_centres WHERE site_id = ?", (box.site_id,)
        )

    def wait_synced(self, box: Box, timeout: float = 30.0) -> int:
        """Until the hub holds the whole of the box's log (the same twice in a row)."""

        def synced() -> int | None:
            seq = box.own_seq()
            if seq and self.acked(box) == seq:
                time.sleep(0.4)  # longer than a sync interval: nothing more came
                if box.own_seq() == seq and self.acked(box) == seq:
                    return seq
            return None

        return int(_wait_for(f"{box.name}'s log at the hub", synced, timeout))

    def order(self, box: Box, key: str | None = None) -> str:
        """A real order through the tablet API; its id."""
        products = httpx.get(f"{box.url}/api/v1/products", headers=box.auth(), timeout=10)
        assert products.status_code == 200, products.text
        body = {
            "items": [{"product_id": products.json()[0]["id"], "quantity": 1}],
            "household": {"name": "安全测试", "phone": "13900001111"},
        }
        r = httpx.post(
            f"{box.url}/api/v1/orders",
            json=body,
            headers={**box.auth(), "Idempotency-Key": key or str(uuid.uuid4())},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def wait_order_at_hub(self, order_id: str, timeout: float = 30.0) -> None:
        _wait_for(
            f"order {order_id} at the hub",
            lambda: _count(self.hub_db, "SELECT COUNT(*) FROM orders WHERE id = ?", (order_id,)),
            timeout,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("security")
    hub_db = tmp / "hub.db"
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    a = Box("a", tmp / "a.db", free_port())
    b = Box("b", tmp / "b.db", free_port())
    procs = Procs(tmp)
    try:
        enrolled, made_a, made_b = linli_many(
            [
                ["hub", "add-centre", "--db", str(hub_db), "--name", f"社区 {x.name}"]
                for x in (a, b)
            ],
            *[
                [
                    ["demo", "--db", str(x.db)],
                    [
                        "staff",
                        "add",
                        "--db",
                        str(x.db),
                        "--name",
                        "平板",
                        "--pin",
                        "2468",
                        "--token",
                    ],
                ]
                for x in (a, b)
            ],
        )
        issued = re.findall(r"site id: (\S+)\ntoken: (\S+)", enrolled)
        assert len(issued) == 2, enrolled
        for box, (site_id, token), out in zip((a, b), issued, (made_a, made_b), strict=True):
            box.site_id, box.sync_token = site_id, token
            box.tablet = grab(r"API token: (\S+)", out)
            box.manager = grab(r"API token for 小玮: (\S+)", out)
        coop_out = _linli_ok("hub", "add-supplier", "--db", str(hub_db), "--name", COOP)
        assert f"supplies: 社区 a ({a.site_id})" in coop_out, coop_out
        assert f"supplies: 社区 b ({b.site_id})" in coop_out, coop_out
        other_out = _linli_ok(
            "hub", "add-supplier", "--db", str(hub_db), "--name", OTHER_COOP, "--centre", b.site_id
        )
        assert a.site_id not in other_out, other_out
        hub_site = _query(hub_db, "SELECT value FROM meta WHERE key = 'site_id'")[0][0]

        procs.start("hub", "--role", "hub", "--db", str(hub_db), "--port", str(hub_port))
        procs.wait_healthy("hub", hub_url)
        linli_many(
            *[
                [["centre", "join", "--db", str(x.db), "--hub", hub_url, "--token", x.sync_token]]
                for x in (a, b)
            ]
        )
        slow = ["--header-timeout", str(HEADER_TIMEOUT_S)]
        for box in (a, b):
            extra = list(slow)
            if box is b:
                extra += ["--max-connections", str(B_MAX_CONNECTIONS)]
            procs.start(
                box.name,
                "--role",
                "centre",
                "--db",
                str(box.db),
                "--port",
                str(box.port),
                "--sync-interval",
                SYNC_INTERVAL_S,
                *extra,
            )
        for box in (a, b):
            procs.wait_healthy(box.name, box.url)
        w = World(
            tmp,
            hub_db,
            hub_url,
            hub_site,
            a,
            b,
            grab(r"token: (\S+)", coop_out),
            grab(r"token: (\S+)", other_out),
            procs,
        )
        for box in (a, b):
            w.wait_synced(box)
        print(f"\nworld up in {time.monotonic() - t0:.1f} s")
        yield w
    finally:
        procs.stop_all()


# --- 1. restore is refused under a live server; a hub's database is no centre's ---------------


def test_1_restore_refused_while_served_and_a_hub_database_is_no_centres(world: World) -> None:
    w, a = world, world.a
    backup = w.tmp / "a-backup.db"
    _linli_ok("backup", "--db", str(a.db), "--to", str(backup))
    tables = ("households", "orders", "staff", "changes")

    def counts() -> dict[str, int]:
        return {t: _count(a.db, f"SELECT COUNT(*) FROM {t}") for t in tables}

    order = w.order(a)  # written after the backup: a restore would lose it
    before = counts()

    r = _linli("restore", "--db", str(a.db), str(backup))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "server is running" in r.stderr and "nothing was changed" in r.stderr, r.stderr

    # The hub's database offered as a centre's: refused for the served box and a new file.
    fresh = w.tmp / "new-centre.db"
    for target in (a.db, fresh):
        r = _linli("restore", "--db", str(target), str(w.hub_db))
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "hub's database" in r.stderr and "nothing was changed" in r.stderr, r.stderr
    assert not fresh.exists()

    # Nothing changed under the box; it still serves the order restore would have lost.
    assert counts() == before
    assert _query(a.db, "SELECT value FROM meta WHERE key = 'role'") == [("centre",)]
    got = httpx.get(f"{a.url}/api/v1/orders/{order}", headers=a.auth(), timeout=10)
    assert got.status_code == 200 and got.json()["id"] == order, got.text
    w.wait_order_at_hub(order)
    assert httpx.get(f"{w.hub_url}/healthz", timeout=5).status_code == 200


def test_1_restore_refused_while_the_hub_serves(tmp_path: Path) -> None:
    """Its own hub process: when the bug is there, the restore swaps the file under it."""
    hub_db, port = tmp_path / "hub.db", free_port()
    _linli_ok("hub", "add-centre", "--db", str(hub_db), "--name", "社区 c")
    backup = tmp_path / "hub-backup.db"
    _linli_ok("backup", "--db", str(hub_db), "--to", str(backup))
    procs = Procs(tmp_path)
    try:
        procs.start("hub", "--role", "hub", "--db", str(hub_db), "--port", str(port))
        procs.wait_healthy("hub", f"http://127.0.0.1:{port}")
        r = _linli("restore", "--db", str(hub_db), str(backup))
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "server is running" in r.stderr and "nothing was changed" in r.stderr, r.stderr
    finally:
        procs.stop_all()


# --- 2. a PIN change or a removal ends every session and token, within seconds -------------


def _api_token(box: Box, name: str, pin: str) -> httpx.Response:
    return httpx.post(f"{box.url}/api/v1/auth/token", json={"name": name, "pin": pin}, timeout=30)


def _api_status(box: Box, token: str) -> int:
    r = httpx.get(f"{box.url}/api/v1/orders", headers=box.auth(token), timeout=10)
    if r.status_code == 401:
        assert r.json()["error"] == "unauthorized", r.text
    return r.status_code


def _staff_sessions(box: Box, name: str) -> int:
    return _count(
        box.db,
        "SELECT COUNT(*) FROM sessions JOIN staff ON staff.id = sessions.staff_id"
        " WHERE staff.name = ?",
        (name,),
    )


def test_2_pin_change_and_removal_end_every_session_and_sessions_expire(world: World) -> None:
    a = world.a
    demo_token = _staff_sessions(a, "王姐")  # linli demo issued each person a token
    tokens = []
    for _ in range(2):  # two API tokens: two machines of the same person
        r = _api_token(a, "王姐", "2345")
        assert r.status_code == 200, r.text
        tokens.append(r.json()["token"])
    with httpx.Client(base_url=a.url, timeout=30) as tablet:
        assert _page_signin(tablet, "王姐", "2345").status_code == 303
        assert _page(tablet) == (200, "")
        assert all(_api_status(a, t) == 200 for t in tokens)
        assert _staff_sessions(a, "王姐") == demo_token + 3

        out = _linli_ok("staff", "set-pin", "--db", str(a.db), "--name", "王姐", "--pin", "5678")
        assert "王姐" in out, out
        assert _staff_sessions(a, "王姐") == 0
        _wait_for(
            "王姐's tokens and tablet signed out after set-pin",
            lambda: (
                [_api_status(a, t) for t in tokens] == [401, 401]
                and _page(tablet) == (303, "/signin")
            ),
            timeout=10,
        )
    # Nobody else is signed out; the old PIN is refused, the new one signs in.
    assert _api_status(a, a.manager) == _api_status(a, a.tablet) == 200
    old = _api_token(a, "王姐", "2345")
    assert old.status_code == 401 and old.json()["detail"] == "wrong name or PIN", old.text
    new = _api_token(a, "王姐", "5678")
    assert new.status_code == 200, new.text
    assert _api_status(a, new.json()["token"]) == 200

    # A person leaves: every tablet and token of theirs ends.
    r = _api_token(a, "小李", "3456")
    assert r.status_code == 200, r.text
    volunteer = r.json()["token"]
    with httpx.Client(base_url=a.url, timeout=30) as tablet:
        assert _page_signin(tablet, "小李", "3456").status_code == 303
        assert _page(tablet) == (200, "") and _api_status(a, volunteer) == 200
        out = _linli_ok("staff", "remove", "--db", str(a.db), "--name", "小李")
        assert "signed out" in out, out
        assert _staff_sessions(a, "小李") == 0
        _wait_for(
            "小李 signed out after staff remove",
            lambda: _api_status(a, volunteer) == 401 and _page(tablet) == (303, "/signin"),
            timeout=10,
        )
    gone = _api_token(a, "小李", "3456")
    assert gone.status_code == 401, gone.text

    # Sessions end on the server: a tablet session from the year 2000 (its cookie would
    # last a year) is refused and deleted by the running server. Only the session row's
    # date is moved, as the clock would move it.
    with httpx.Client(base_url=a.url, timeout=30) as tablet:
        assert _page_signin(tablet, "小玮", "1234").status_code == 303
        assert _page(tablet) == (200, "")
        conn = sqlite3.connect(a.db, timeout=10)
        try:
            with conn:
                changed = conn.execute(
                    "UPDATE sessions SET created_at = '2000-01-01T00:00:00+00:00',"
                    " last_seen_at = '2000-01-01T00:00:00+00:00' WHERE kind = 'page'"
                    " AND staff_id = (SELECT id FROM staff WHERE name = '小玮')"
                ).rowcount
        finally:
            conn.close()
        assert changed == 1
        _wait_for("the old session ends", lambda: _page(tablet) == (303, "/signin"), 10)
    assert (
        _count(
            a.db,
            "SELECT COUNT(*) FROM sessions WHERE kind = 'page' AND created_at < '2001'",
        )
        == 0
    )
    assert _api_status(a, a.manager) == 200  # the manager's machine token is not a session


# --- 3. wrong PINs counted per name from every address; a manager lifts the lock ------------


def _wrong_pins(box: Box, name: str, attempts: int, addresses: int) -> Counter[int]:
    clients = [
        httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.0.{i}"), timeout=30)
        for i in range(2, 2 + addresses)
    ]
    seen: Counter[int] = Counter()
    try:
        for n in range(attempts):
            forged = {"X-Forwarded-For": f"203.0.113.{n % 250}"} if n % 2 else {}
            r = clients[n % addresses].post(
                f"{box.url}/api/v1/auth/token",
                json={"name": name, "pin": f"9{n:03d}"},  # never 2345
                headers=forged,
            )
            seen[r.status_code] += 1
            if r.status_code == 429:
                doc = r.json()
                assert doc["error"] == "too_many_requests", doc
                wait = WAIT_RE.search(doc["detail"])
                assert wait and 0 < int(wait.group(1)) <= 30, doc
            else:
                assert r.status_code == 401 and r.json()["detail"] == "wrong name or PIN", r.text
    finally:
        for client in clients:
            client.close()
    return seen


def test_3_wrong_pins_are_limited_per_name_across_addresses_and_a_manager_lifts_it(
    world: World,
) -> None:
    b = world.b
    seen = _wrong_pins(b, "王姐", attempts=40, addresses=20)
    assert seen == Counter({401: 5, 429: 35})
    assert _query(b.db, "SELECT failures, unseen FROM signin_failures WHERE name = '王姐'") == [
        (5, 5)
    ]
    # The right PIN waits too; another name is not held up.
    held = _api_token(b, "王姐", "2345")
    assert held.status_code == 429 and WAIT_RE.search(held.json()["detail"]), held.text
    assert _api_token(b, "小玮", "1234").status_code == 200

    # The manager sees the alert on the Today page and lifts it.
    with httpx.Client(base_url=b.url, timeout=30) as manager:
        assert _page_signin(manager, "小玮", "1234").status_code == 303
        alert = manager.get("/signin/alerts")
        assert alert.status_code == 200 and "王姐" in alert.text, alert.text
        r = manager.post(
            "/signin/unlock",
            data={"_csrf_token": _csrf(manager, "/"), "name": "王姐"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    assert _count(b.db, "SELECT COUNT(*) FROM signin_failures WHERE name = '王姐'") == 0
    lifted = _api_token(b, "王姐", "2345")
    assert lifted.status_code == 200, lifted.text

    # Again from other addresses; this time the manager's PIN on the sign-in form lifts it.
    seen = _wrong_pins(b, "王姐", attempts=12, addresses=12)
    assert seen == Counter({401: 5, 429: 7})
    with httpx.Client(base_url=b.url, timeout=30) as tablet:
        waiting = _page_signin(tablet, "王姐", "2345")
        assert waiting.status_code == 429, waiting.status_code
        # A volunteer cannot lift it.
        r = _page_signin(tablet, "王姐", "2345", manager_name="小李", manager_pin="3456")
        assert r.status_code == 403, r.status_code
        r = _page_signin(tablet, "王姐", "2345", manager_name="小玮", manager_pin="1234")
        assert r.status_code == 303 and r.headers["location"] == "/", r.headers
        assert _page(tablet) == (200, "")
    assert _count(b.db, "SELECT COUNT(*) FROM signin_failures WHERE name = '王姐'") == 0


# --- 4. a push from centre B cannot write under centre A's rows --------------------------------


def _row(db: Path, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(sql, params).fetchone()
        assert row is not None, sql
        return dict(row)
    finally:
        conn.close()


def _push(w: World, box: Box, doc: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
    body = doc if isinstance(doc, bytes) else gzip.compress(json.dumps(doc).encode(), mtime=0)
    return httpx.post(
        f"{w.hub_url}/sync/v1/push",
        content=body,
        headers={
            "Authorization": f"Bearer {box.sync_token}",
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            **headers,
        },
        timeout=60,
    )


def _batch(box: Box, from_seq: int, changes: list[list[Any]]) -> dict[str, Any]:
    from edge.store.migrations import SCHEMA_VERSION

    install = _query(box.db, "SELECT value FROM meta WHERE key = 'install_id'")
    return {
        "schema_version": SCHEMA_VERSION,
        "site_id": box.site_id,
        "install_id": install[0][0] if install else "",
        "from_seq": from_seq,
        "wall_ms": int(time.time() * 1000),
        "waiting": 0,
        "changes": changes,
    }


def _hub_rows(w: World) -> dict[str, int]:
    return {
        t: _count(w.hub_db, f"SELECT COUNT(*) FROM {t}")
        for t in ("households", "orders", "order_items", "sync_log")
    }


def test_4_a_push_from_b_cannot_write_under_as_order_or_household(world: World) -> None:
    from edge.store.ids import new_id

    w, a, b = world, world.a, world.b
    w.wait_synced(a)
    w.wait_synced(b)  # B's box is quiet: its own agent has nothing to push meanwhile
    a_order = _row(w.hub_db, "SELECT id, household_id FROM orders WHERE site_id = ?", (a.site_id,))
    a_lines = _count(
        w.hub_db, "SELECT COUNT(*) FROM order_items WHERE order_id = ?", (a_order["id"],)
    )
    position = w.acked(b)
    before = _hub_rows(w)
    hlc = _count(b.db, "SELECT MAX(hlc) FROM changes")

    # An honest new household of B's, then a line of 500 斤 hung under A's order.
    household = _row(b.db, "SELECT * FROM households WHERE site_id = ?", (b.site_id,))
    honest_id = new_id()
    household.update(name="新来的", phone="13900002222", phone_tail="2222")
    line = _row(b.db, "SELECT * FROM order_items WHERE site_id = ?", (b.site_id,))
    forged_id = new_id()
    line.update(order_id=a_order["id"], quantity=250_000, line=99)
    for row in (household, line):
        del row["id"], row["site_id"]
    changes = [
        [position + 1, hlc + 1, "households", honest_id, "insert", household],
        [position + 2, hlc + 2, "order_items", forged_id, "insert", line],
    ]
    r = _push(w, b, _batch(b, position + 1, changes))
    assert r.status_code == 403, r.text
    doc = r.json()
    assert doc["error"] == "foreign_row" and doc["field"] == "order_items.order_id", doc
    assert doc["seq"] == position + 2
    assert a_order["id"] in doc["detail"] and a.site_id in doc["detail"], doc
    assert "Nothing of this batch was applied" in doc["detail"], doc

    # An order of B's moved to A's household: refused the same way.
    b_row = _row(w.hub_db, "SELECT id, household_id FROM orders WHERE site_id = ?", (b.site_id,))
    b_order = b_row["id"]
    changes = [
        [position + 1, hlc + 1, "households", honest_id, "insert", household],
        [
            position + 2,
            hlc + 2,
            "orders",
            b_order,
            "update",
            {"household_id": a_order["household_id"]},
        ],
    ]
    r = _push(w, b, _batch(b, position + 1, changes))
    assert r.status_code == 403, r.text
    doc = r.json()
    assert doc["error"] == "foreign_row" and doc["field"] == "orders.household_id", doc
    assert a_order["household_id"] in doc["detail"], doc

    # Nothing applied: not the forged rows, not B's honest household; position unmoved.
    assert w.acked(b) == position
    assert _hub_rows(w) == before
    for row_id in (honest_id, forged_id):
        assert _count(w.hub_db, "SELECT COUNT(*) FROM sync_log WHERE row_id = ?", (row_id,)) == 0
    assert (
        _count(w.hub_db, "SELECT COUNT(*) FROM order_items WHERE order_id = ?", (a_order["id"],))
        == a_lines
    )
    assert _row(w.hub_db, "SELECT id, household_id FROM orders WHERE id = ?", (b_order,)) == b_row
    assert _count(w.hub_db, "SELECT COUNT(*) FROM households WHERE id = ?", (honest_id,)) == 0
    # B's own box syncs on as before.
    w.wait_order_at_hub(w.order(b))
    assert _count(
        w.hub_db, "SELECT diverged IS NULL FROM sync_centres WHERE site_id = ?", (b.site_id,)
    )


# --- 5. a supplier token stays within the centres its co-op supplies ----------------------------


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _note(centre_id: str, jin: float) -> dict[str, Any]:
    return {
        "centre_id": centre_id,
        "delivery_date": DAY,
        "lines": [{"product_name": "土豆", "qty_unit": "g", "shipped_jin": jin}],
    }


def test_5_a_supplier_cannot_replace_anothers_note_or_price_centres_it_does_not_supply(
    world: World,
) -> None:
    w, a, b = world, world.a, world.b
    url = f"{w.hub_url}/supplier/v1"

    def notes(centre: str) -> list[tuple[Any, ...]]:
        return _query(
            w.hub_db,
            "SELECT revision, supplier FROM supply_dispatch_notes WHERE centre_id = ?"
            " AND delivery_date = ? ORDER BY revision",
            (centre, DAY),
        )

    r = httpx.post(f"{url}/dispatch-notes", headers=_as(w.coop), json=_note(a.site_id, 5))
    assert r.status_code == 201 and r.json()["revision"] == 1, r.text

    # The co-op that does not supply A: 403 naming the centre, for notes and price lists.
    r = httpx.post(f"{url}/dispatch-notes", headers=_as(w.other_coop), json=_note(a.site_id, 0))
    assert r.status_code == 403, r.text
    doc = r.json()
    assert doc["error"] == "forbidden" and doc["field"] == "centre_id", doc
    assert a.site_id in doc["detail"] and OTHER_COOP in doc["detail"], doc
    prices = {
        "effective_from": "2030-02-01",
        "prices": [{"product_name": "土豆", "qty_unit": "g", "price_fen": 1}],
    }
    lists_before = _count(w.hub_db, "SELECT COUNT(*) FROM supply_price_lists")
    prices_before = _count(w.hub_db, "SELECT COUNT(*) FROM supply_prices")
    for body in ({**prices, "centre_id": a.site_id}, prices):  # for A, and for every centre
        r = httpx.post(f"{url}/price-lists", headers=_as(w.other_coop), json=body)
        assert r.status_code == 403, r.text
        assert r.json()["field"] == "centre_id" and a.site_id in r.json()["detail"], r.text
    assert _count(w.hub_db, "SELECT COUNT(*) FROM supply_price_lists") == lists_before
    assert _count(w.hub_db, "SELECT COUNT(*) FROM supply_prices") == prices_before

    # Even once it supplies A too (the operator links it), the note stays the first co-op's.
    out = _linli_ok(
        "hub", "supplier-centres", "--db", str(w.hub_db), "--name", OTHER_COOP, "--add", a.site_id
    )
    assert a.site_id in out, out
    r = httpx.post(f"{url}/dispatch-notes", headers=_as(w.other_coop), json=_note(a.site_id, 0))
    assert r.status_code == 409, r.text
    doc = r.json()
    assert doc["error"] == "conflict" and doc["field"] == "centre_id", doc
    assert COOP in doc["detail"] and "cannot replace" in doc["detail"], doc
    assert notes(a.site_id) == [(1, COOP)]
    _linli_ok(
        "hub",
        "supplier-centres",
        "--db",
        str(w.hub_db),
        "--name",
        OTHER_COOP,
        "--remove",
        a.site_id,
    )
    r = httpx.post(
        f"{url}/price-lists", headers=_as(w.other_coop), json={**prices, "centre_id": a.site_id}
    )
    assert r.status_code == 403, r.text

    # What each may do still works: B's own co-op lists B's prices; the first co-op
    # revises its own note; and only that reaches A's box.
    r = httpx.post(
        f"{url}/price-lists", headers=_as(w.other_coop), json={**prices, "centre_id": b.site_id}
    )
    assert r.status_code == 201, r.text
    b_list = r.json()["id"]
    r = httpx.post(f"{url}/dispatch-notes", headers=_as(w.coop), json=_note(a.site_id, 4))
    assert r.status_code == 201 and r.json()["revision"] == 2, r.text
    assert notes(a.site_id) == [(1, COOP), (2, COOP)]
    _wait_for(
        "B's price list at B",
        lambda: _count(b.db, "SELECT COUNT(*) FROM supply_price_lists WHERE id = ?", (b_list,)),
    )
    assert _count(a.db, "SELECT COUNT(*) FROM supply_price_lists WHERE id = ?", (b_list,)) == 0
    assert (
        _count(
            a.db,
            "SELECT COUNT(*) FROM supply_price_lists WHERE supplier = ?",
            (OTHER_COOP,),
        )
        == 0
    )


# --- 6. a cloned box is held at its first contact, with nothing to push ----------------------


def test_6_a_cloned_box_is_held_at_its_first_contact(world: World) -> None:
    w, a = world, world.a
    w.wait_synced(a)
    clone = w.tmp / "clone.db"
    _linli_ok("backup", "--db", str(a.db), "--to", str(clone))
    # Each box then takes one change of its own, of the same kind; the original syncs first.
    _linli_ok("staff", "add", "--db", str(a.db), "--name", "原机新人", "--pin", "1357")
    _linli_ok("staff", "add", "--db", str(clone), "--name", "克隆新人", "--pin", "2468")
    last = w.wait_synced(a)
    clone_box = Box("clone", clone, 0, site_id=a.site_id)
    assert clone_box.own_seq() == last == w.acked(a), "the clone's log is as long as the hub's"
    log_before = _count(w.hub_db, "SELECT COUNT(*) FROM sync_log WHERE site_id = ?", (a.site_id,))
    assert _count(w.hub_db, "SELECT COUNT(*) FROM staff WHERE name = '原机新人'") == 1

    # Its first contact: nothing to push by its own count, and it is held.
    r = subprocess.run(
        [LINLI, "sync", "--once", "--db", str(clone)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode != 0 and "a cloned disk" in r.stderr, (r.stdout, r.stderr)
    held = _query(w.hub_db, "SELECT diverged FROM sync_centres WHERE site_id = ?", (a.site_id,))
    assert held[0][0] and f"seq {last}" in held[0][0], held
    assert _count(w.hub_db, "SELECT COUNT(*) FROM staff WHERE name = '克隆新人'") == 0
    assert (
        _count(w.hub_db, "SELECT COUNT(*) FROM sync_log WHERE site_id = ?", (a.site_id,))
        == log_before
    )
    # Held: every contact of the site is refused until an operator acts.
    r = httpx.get(
        f"{w.hub_url}/sync/v1/position", headers=_as(a.sync_token), params={"last_seq": last}
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "diverged" and "held" in r.json()["detail"], r.text

    # The operator checks the box and releases the genuine one; it syncs on.
    _linli_ok("hub", "release-centre", "--db", str(w.hub_db), "--site-id", a.site_id)
    order = w.order(a)
    w.wait_order_at_hub(order, timeout=60)
    assert _count(w.hub_db, "SELECT COUNT(*) FROM staff WHERE name = '克隆新人'") == 0


# --- 7. a gzip bomb is a 413, and the hub stays up ------------------------------------------------


def _bomb(site_id: str, size: int, unit: bytes) -> bytes:
    """A batch head, then `unit` repeated to `size` bytes of JSON, gzip'd tight."""
    from edge.store.migrations import SCHEMA_VERSION

    head = (
        json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "site_id": site_id,
                "install_id": "",
                "from_seq": 1,
                "wall_ms": 0,
                "waiting": 0,
            }
        )[:-1].encode()
        + b',"changes":['
    )
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = squeeze.compress(head)
    chunk = unit * (MIB // len(unit))
    for _ in range((size - len(head)) // len(chunk)):
        body += squeeze.compress(chunk)
    return body + squeeze.compress(b"[]]}") + squeeze.flush()


def test_7_a_gzip_push_inflating_past_the_cap_is_a_413_and_the_hub_answers(world: World) -> None:
    from sync.protocol import MAX_INFLATED_BYTES

    w, b = world, world.b
    w.wait_synced(b)
    position = w.acked(b)
    before = _hub_rows(w)

    bomb = _bomb(b.site_id, 48 * MIB, b" " * 64)
    assert len(bomb) < 256 * 1024 < MAX_INFLATED_BYTES // 16
    containers = _bomb(b.site_id, MAX_INFLATED_BYTES - MIB, b"[],")

    async def several() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            headers = {
                "Authorization": f"Bearer {b.sync_token}",
                "Content-Encoding": "gzip",
            }
            return list(
                await asyncio.gather(
                    *[
                        client.post(f"{w.hub_url}/sync/v1/push", content=body, headers=headers)
                        for body in [bomb] * 6 + [containers]
                    ]
                )
            )

    answers = asyncio.run(several())
    for r in answers[:6]:
        assert r.status_code == 413, r.text
        doc = r.json()
        assert doc["error"] == "payload_too_large" and doc["field"] == "body", doc
        assert "inflates past" in doc["detail"], doc
    r = answers[6]
    assert r.status_code == 413 and "arrays and objects" in r.json()["detail"], r.text

    # The hub is up and answers; nothing was applied; B syncs on.
    assert w.procs.alive("hub")
    assert httpx.get(f"{w.hub_url}/healthz", timeout=10).json()["status"] == "ok"
    r = httpx.get(f"{w.hub_url}/sync/v1/position", headers=_as(b.sync_token), timeout=10)
    assert r.status_code == 200 and r.json()["position"] == position, r.text
    assert _hub_rows(w) == before
    w.wait_order_at_hub(w.order(b))


# --- 8. slow clients with unfinished headers are closed; /healthz answers ------------------------


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Read until the server closes (EOF or reset), or the deadline passes."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionError:
            return True
        if not data:
            return True
    return False


def test_8_slow_connections_are_closed_and_healthz_keeps_answering(world: World) -> None:
    b = world.b
    slow: list[socket.socket] = []
    try:
        # More unfinished requests than the box takes connections, and some silent ones.
        for i in range(B_MAX_CONNECTIONS + 36):
            s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
            if i % 4:
                s.sendall(b"GET /api/v1/products HTTP/1.1\r\nHost: box\r\nX-Slow: ")
            slow.append(s)
        for _ in range(5):
            r = httpx.get(f"{b.url}/healthz", timeout=10)
            assert r.status_code == 200 and r.json()["status"] == "ok", r.text
        r = httpx.get(f"{b.url}/api/v1/products", headers=b.auth(), timeout=10)
        assert r.status_code == 200, r.text
        # Every unfinished connection is closed by the server, within the header timeout
        # (generous deadline).
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 20
        open_ones = [s for s in slow if not _closed_by_server(s, deadline)]
        assert open_ones == [], f"{len(open_ones)} of {len(slow)} slow connections still open"
        assert world.procs.alive("b")
        assert httpx.get(f"{b.url}/healthz", timeout=10).status_code == 200
    finally:
        for s in slow:
            s.close()


# --- 9. WeChat pastes do not stall other reads ----------------------------------------------------


def _worst_paste() -> str:
    from edge.domain.wechat.drafts import MAX_PASTE_CHARS

    corpus = WECHAT_CORPUS
    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines() if line.strip()]
    lines, size, i = [], 0, 0
    while True:
        msg = f"邻居{i % 97} 2026-11-29 18:{i % 60:02d}:{(i * 7) % 60:02d}\n{texts[i % len(texts)]}"
        if size + len(msg) + 1 > MAX_PASTE_CHARS:
            return "\n".join(lines)
        lines.append(msg)
        size += len(msg) + 1
        i += 1


def test_9_wechat_pastes_do_not_stall_other_reads(world: World) -> None:
    a = world.a
    paste = _worst_paste()

    async def run() -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        async with httpx.AsyncClient(base_url=a.url, headers=a.auth(), timeout=60) as client:

            async def one_paste() -> tuple[int, float]:
                r = await client.post("/api/v1/wechat/parse", json={"text": paste})
                if r.status_code != 200:
                    assert r.status_code in (422, 503), r.text  # bounded: too long, busy
                return r.status_code, time.monotonic()

            started = time.monotonic()
            pastes = [asyncio.create_task(one_paste()) for _ in range(6)]
            await asyncio.sleep(0.3)  # the pastes are in
            reads = []
            for _ in range(5):
                r = await client.get("/api/v1/products")
                assert r.status_code == 200, r.text
                r = await client.get("/api/v1/orders")
                assert r.status_code == 200, r.text
                reads.append((r.status_code, time.monotonic()))
            answered = list(await asyncio.gather(*pastes))
            print(
                f"\npastes {Counter(s for s, _ in answered)} done at "
                f"{[round(t - started, 2) for _, t in answered]} s; "
                f"reads done at {[round(t - started, 2) for _, t in reads]} s"
            )
            return reads, answered

    reads, pastes = asyncio.run(run())
    statuses = Counter(s for s, _ in pastes)
    assert statuses[200] >= 1, statuses
    # The reads were answered while most pastes were still waiting or being read (when
    # pastes took the store's readers, a plain read waited for nearly all of them).
    last_read = max(t for _, t in reads)
    assert sum(t > last_read for _, t in pastes) >= len(pastes) // 2, (reads, pastes)
    assert world.procs.alive("a")
