"""Sign-in hardening: a PIN change, a removal or a sign-out ends sessions; sessions end
on the server; wrong PINs count per name from any address, with a growing wait, a
lock a manager lifts, and an alert on the Today page.

The real app on a real SQLite file; the brute-force case runs against a real
`linli serve` from 80 loopback source addresses and forged X-Forwarded-For.
"""

from __future__ import annotations

import copy
import re
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_fixtures import free_port, linli_command
from centre_world import SUNDAY_MORNING, Centre, Clock
from litestar.testing import TestClient
from page_forms import csrf, order_form, sign_in
from sync_fixtures import linli_in_process

from edge.settings import Settings
from edge.store import open_store
from edge.web.app import create_app
from edge.web.pages import configure_templates

WAIT_RE = re.compile(r"try again in (\d+) s")


def linli(*args: str) -> subprocess.CompletedProcess[str]:
    """A `linli` command run in the test process (`linli_in_process`: a Python started per
    command spent its time importing); the server the tests attack is a real process."""
    return linli_in_process(*args)


def sql(db: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def past_the_cache(c: Centre) -> None:
    """Move the auth cache's clock past its window: every token is read again."""
    auth = c.client.app.state.auth
    base = getattr(auth, "ticks", time.monotonic)() + getattr(auth, "cache_s", 0) + 1
    auth.ticks = lambda: base


def api_token(c: Centre, name: str, pin: str = "1234") -> str:
    r = c.client.post("/api/v1/auth/token", json={"name": name, "pin": pin})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def api_status(c: Centre, token: str) -> int:
    r = c.client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    return int(r.status_code)


def page_status(c: Centre) -> tuple[int, str]:
    r = c.client.get("/", follow_redirects=False)
    return r.status_code, r.headers.get("location", "")


def post_order(c: Centre, token: str, key: str) -> tuple[int, str]:
    r = c.client.post("/orders/new", data=order_form(c, token, key=key), follow_redirects=False)
    return r.status_code, r.headers.get("location", "")


@pytest.fixture
def pages(centre: Centre) -> Centre:
    configure_templates(centre.client.app.template_engine)
    return centre


# --- 2. a PIN change, a removal or a sign-out ends sessions ---------------------------


def test_set_pin_from_the_cli_ends_every_tablet_and_token_of_the_person(pages: Centre) -> None:
    c = pages
    token = api_token(c, "staff")
    machine = c.tokens["staff"]  # issued without a PIN (linli staff add --token)
    assert sign_in(c.client, "staff").status_code == 303
    form_token = csrf(c.client, "/orders/new")
    assert api_status(c, token) == api_status(c, machine) == 200
    assert page_status(c) == (200, "")
    status, where = post_order(c, form_token, "before")
    assert status == 303 and where.startswith("/orders/")

    r = linli("staff", "set-pin", "--db", str(c.db_path), "--name", "staff", "--pin", "5678")
    assert r.returncode == 0, r.stderr
    staff_id = sql(c.db_path, "SELECT id FROM staff WHERE name = 'staff'")[0][0]
    assert sql(c.db_path, "SELECT COUNT(*) FROM sessions WHERE staff_id = ?", (staff_id,)) == [(0,)]

    past_the_cache(c)  # the CLI is another process: the server reads tokens again
    assert api_status(c, token) == api_status(c, machine) == 401
    assert page_status(c) == (303, "/signin")
    status, where = post_order(c, form_token, "after")
    assert status == 303 and where.startswith("/signin")
    assert api_status(c, c.tokens["manager"]) == 200  # nobody else is signed out
    # The old PIN no longer signs in; the new one does.
    assert (
        c.client.post("/api/v1/auth/token", json={"name": "staff", "pin": "1234"}).status_code
        == 401
    )
    assert api_status(c, api_token(c, "staff", "5678")) == 200


def test_removing_a_staff_member_ends_their_sessions(pages: Centre) -> None:
    from edge.domain.auth import remove_staff

    c = pages
    token = api_token(c, "volunteer")
    assert sign_in(c.client, "volunteer").status_code == 303
    assert page_status(c) == (200, "") and api_status(c, token) == 200
    with open_store(c.db_path) as store:  # what a CLI would do, beside the server
        store.write_sync(lambda tx: remove_staff(tx, "volunteer"))
    past_the_cache(c)
    assert api_status(c, token) == api_status(c, c.tokens["volunteer"]) == 401
    assert page_status(c) == (303, "/signin")
    r = c.client.post("/api/v1/auth/token", json={"name": "volunteer", "pin": "1234"})
    assert r.status_code == 401


def test_signing_out_everywhere_ends_the_persons_tokens_at_once(pages: Centre) -> None:
    c = pages
    token = api_token(c, "staff")
    assert api_status(c, token) == 200  # cached now
    assert sign_in(c.client, "staff").status_code == 303
    r = c.client.post(
        "/signout",
        data={"_csrf_token": csrf(c.client, "/"), "everywhere": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # No waiting for the cache: this server did the signing out.
    assert api_status(c, token) == api_status(c, c.tokens["staff"]) == 401
    assert api_status(c, c.tokens["manager"]) == 200

    # The API signs its own token out, and only that one without ?everywhere.
    first, second = api_token(c, "manager"), api_token(c, "manager")
    assert (
        c.client.delete(
            "/api/v1/auth/token", headers={"Authorization": f"Bearer {first}"}
        ).status_code
        == 204
    )
    assert api_status(c, first) == 401 and api_status(c, second) == 200


def test_sessions_end_on_the_server_idle_and_absolute(pages: Centre) -> None:
    c = pages
    now = datetime.now(UTC)

    def sign_in_and_date(created: datetime, last_seen: datetime) -> None:
        c.client.cookies.clear()
        assert sign_in(c.client, "staff").status_code == 303
        assert page_status(c) == (200, "")
        sql(
            c.db_path,
            "UPDATE sessions SET created_at = ?, last_seen_at = ? WHERE kind = 'page'",
            (created.isoformat(timespec="seconds"), last_seen.isoformat(timespec="seconds")),
        )
        past_the_cache(c)

    # A session dated 2000-01-01 (the report's case) is over.
    c.client.cookies.clear()
    assert sign_in(c.client, "staff").status_code == 303
    sql(
        c.db_path,
        "UPDATE sessions SET created_at = '2000-01-01T00:00:00+00:00' WHERE kind = 'page'",
    )
    past_the_cache(c)
    assert page_status(c) == (303, "/signin")
    assert sql(c.db_path, "SELECT COUNT(*) FROM sessions WHERE kind = 'page'") == [(0,)]
    # Used all day (last use 5 minutes ago) but signed in 15 hours ago: over.
    sign_in_and_date(now - timedelta(hours=15), now - timedelta(minutes=5))
    assert page_status(c) == (303, "/signin")
    # Signed in 6 hours ago, unused for the last 5: over.
    sign_in_and_date(now - timedelta(hours=6), now - timedelta(hours=5))
    assert page_status(c) == (303, "/signin")
    # Signed in 13 hours ago and used 3 hours ago: still the working day; the use is noted.
    sign_in_and_date(now - timedelta(hours=13), now - timedelta(hours=3))
    assert page_status(c) == (200, "")
    seen = sql(c.db_path, "SELECT last_seen_at FROM sessions WHERE kind = 'page'")[0][0]
    assert datetime.fromisoformat(seen) > now - timedelta(minutes=1)

    # A machine's API token from 2000 still works: it ends on a PIN change or removal.
    sql(
        c.db_path, "UPDATE sessions SET created_at = '2000-01-01T00:00:00+00:00' WHERE kind = 'api'"
    )
    past_the_cache(c)
    assert api_status(c, c.tokens["manager"]) == 200


# --- 3. wrong PINs count per name ------------------------------------------------------


def wrong(c: Centre, name: str = "staff", **headers: str) -> httpx.Response:
    r: httpx.Response = c.client.post(
        "/api/v1/auth/token", json={"name": name, "pin": "0000"}, headers=headers
    )
    return r


def test_the_wait_grows_then_the_name_locks_until_a_manager_lifts_it(pages: Centre) -> None:
    c = pages
    addresses = [f"10.0.{i}.{i}" for i in range(40)]
    statuses = [wrong(c, **{"X-Forwarded-For": a}).status_code for a in addresses[:5]]
    assert statuses == [401] * 5  # five free, whatever address they claim
    waits = []
    for i in range(4):  # each wait doubles: 30, 60, 120, 240 s
        r = wrong(c, **{"X-Forwarded-For": addresses[5 + i]})
        assert r.status_code == 429
        waits.append(int(WAIT_RE.search(r.json()["detail"]).group(1)))  # type: ignore[union-attr]
        c.clock.now += timedelta(seconds=waits[-1])
        assert wrong(c).status_code == 401
    assert waits == [30, 60, 120, 240]
    r = wrong(c)
    assert r.status_code == 429 and "480" in r.json()["detail"]
    c.clock.now += timedelta(seconds=480)
    assert wrong(c).status_code == 401  # the tenth wrong PIN: locked
    c.clock.now += timedelta(days=2)
    r = c.client.post("/api/v1/auth/token", json={"name": "staff", "pin": "1234"})
    assert r.status_code == 429 and "locked" in r.json()["detail"]

    # A restart gives no fresh guesses: the count is in the database.
    c.client.__exit__(None, None, None)
    c.client.__enter__()
    assert wrong(c).status_code == 429

    # The manager sees it on the Today page, and lifts it.
    assert sign_in(c.client, "manager").status_code == 303
    assert 'hx-get="/signin/alerts"' in c.client.get("/").text
    alert = c.client.get("/signin/alerts").text
    assert "staff" in alert and "已锁定" in alert and "10.0." not in alert
    r = c.client.post(
        "/signin/unlock",
        data={"_csrf_token": csrf(c.client, "/"), "name": "staff"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'class="signin-alert"' not in c.client.get("/signin/alerts").text
    assert api_status(c, api_token(c, "staff")) == 200


def test_alerts_are_for_managers_only(pages: Centre) -> None:
    c = pages
    for _ in range(6):
        wrong(c, "manager")
    assert sign_in(c.client, "staff").status_code == 303
    assert 'hx-get="/signin/alerts"' not in c.client.get("/").text
    assert 'class="signin-alert"' not in c.client.get("/signin/alerts").text
    r = c.client.post(
        "/signin/unlock",
        data={"_csrf_token": csrf(c.client, "/"), "name": "manager"},
        follow_redirects=False,
    )
    assert r.status_code == 403


@pytest.fixture
def quick(tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]) -> Iterator[Centre]:
    """A centre whose names lock after six wrong PINs with no wait in between."""
    db_path = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db_path)  # build_centre's, made once per process
    site_id, tokens, products, households = copy.deepcopy(centre_template[1])
    clock = Clock(SUNDAY_MORNING)
    settings = Settings(
        db_path=db_path,
        sync_enabled=False,
        housekeeping_interval_s=0,
        now=clock,
        login_delay_s=0,
        login_lock_failures=6,
    )
    c = Centre(db_path, site_id, tokens, products, households, clock)
    with TestClient(app=create_app(settings)) as client:
        c.client = client
        configure_templates(client.app.template_engine)
        yield c


def signin_post(c: Centre, **data: str) -> httpx.Response:
    r: httpx.Response = c.client.post(
        "/signin", data={"_csrf_token": csrf(c.client), **data}, follow_redirects=False
    )
    return r


def test_the_managers_pin_on_the_locked_sign_in_lifts_the_lock(quick: Centre) -> None:
    c = quick
    statuses = [signin_post(c, name="staff", pin="0000").status_code for _ in range(6)]
    assert statuses == [401] * 6
    locked = signin_post(c, name="staff", pin="1234")
    assert locked.status_code == 429 and 'id="manager-unlock"' in locked.text
    # A volunteer cannot lift it, nor a wrong manager PIN.
    r = signin_post(c, name="staff", pin="1234", manager_name="volunteer", manager_pin="1234")
    assert r.status_code == 403
    r = signin_post(c, name="staff", pin="1234", manager_name="manager", manager_pin="9999")
    assert r.status_code == 401
    assert signin_post(c, name="staff", pin="1234").status_code == 429  # still locked
    # The manager's PIN and the person's own: unlocked and signed in.
    r = signin_post(c, name="staff", pin="1234", manager_name="manager", manager_pin="1234")
    assert r.status_code == 303 and page_status(c) == (200, "")


# --- 3. the report's brute force, against a real server ----------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    db = tmp_path / "centre.db"
    assert linli("centre", "init", "--db", str(db), "--name", "金沙路社区").returncode == 0
    for name, role in (("王姐", "staff"), ("小玮", "manager")):
        r = linli("staff", "add", "--db", str(db), "--name", name, "--role", role, "--pin", "2345")
        assert r.returncode == 0, r.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    command = [*linli_command(), "serve", "--db", str(db), "--host", "0.0.0.0"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--no-sync", "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "linli serve did not come up"
            time.sleep(0.05)
        yield url, db, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def test_150_wrong_pins_from_50_addresses_get_five_answers(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, db, _proc = served
    clients = [
        httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.0.{i}"), timeout=30)
        for i in range(2, 52)
    ]
    seen: Counter[int] = Counter()
    try:
        for n in range(150):
            forged = {"X-Forwarded-For": f"203.0.113.{n % 250}"} if n % 2 else {}
            r = clients[n % 50].post(
                f"{url}/api/v1/auth/token",
                json={"name": "王姐", "pin": f"{n:04d}"},  # never 2345
                headers=forged,
            )
            seen[r.status_code] += 1
    finally:
        for client in clients:
            client.close()
    assert seen == Counter({401: 5, 429: 145})
    failures = sql(db, "SELECT failures, unseen FROM signin_failures WHERE name = '王姐'")
    assert failures == [(5, 5)]  # refused attempts are not guesses
    # Another name is not held up by it.
    ok = httpx.post(f"{url}/api/v1/auth/token", json={"name": "小玮", "pin": "2345"})
    assert ok.status_code == 200
