"""A district as an operator meets it, built with the documented CLI: a real hub on loopback,
a demo centre joined to it whose server is stopped (it syncs only when the test runs
`linli sync --once`), a second centre, an operator and a co-op.

Used by tests/hub/test_hub_live_commands.py and tests/hub/test_browser_hub.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from live_server import free_port, stop, wait_healthy
from pg_server import ensure_database
from sync_fixtures import connect_any, linli_in_process

from edge.domain import calendar
from edge.store import Store

LINLI = str(Path(sys.executable).with_name("linli"))
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def linli(*args: str) -> str:
    done = subprocess.run([LINLI, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"linli {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def linli_here(*args: str) -> str:
    """`linli` in this process (`linli_in_process`): a Python started per command spent
    a second or more importing before it began."""
    done = linli_in_process(*args)
    assert done.returncode == 0, f"linli {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def grab(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return found.group(1)


@dataclass
class District:
    folder: Path
    hub_db: Path | str  # a SQLite file, or a PostgreSQL URL
    url: str
    a_db: Path
    a_site: str
    b_db: Path
    b_site: str
    supplier_token: str

    def sync(self, db: Path) -> None:
        """The stopped centre's one sync run, as `linli sync --once` does it."""
        linli_here("sync", "--db", str(db), "--once")

    def hub_rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with connect_any(self.hub_db) as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def _save_calendar(db: Path, weekdays: list[int], cutoff: str) -> None:
    store = Store(db)
    try:
        store.write_sync(lambda tx: calendar.save(tx, weekdays, cutoff, "07:00-11:00"))
    finally:
        store.close()


def sign_in(client: httpx.Client, name: str = "op", password: str = "password1") -> str:
    page = client.get("/hub/login")
    token = grab(CSRF.pattern, page.text)
    r = client.post("/hub/login", data={"name": name, "password": password, "_csrf_token": token})
    assert r.status_code in (302, 303), r.text[:300]
    return token


@contextmanager
def district(folder: Path, hub: Path | str | None = None) -> Iterator[District]:
    """`hub`: where the hub keeps its store (default folder/hub.db; a PostgreSQL URL)."""
    hub_db: Path | str = hub if hub is not None else folder / "hub.db"
    ensure_database(hub_db)
    a_db, b_db = folder / "a.db", folder / "b.db"
    a = linli_here("hub", "add-centre", "--db", str(hub_db), "--name", "金沙路社区")
    b = linli_here("hub", "add-centre", "--db", str(hub_db), "--name", "海泊河社区")
    linli_here(
        "hub", "add-operator", "--db", str(hub_db), "--name", "op", "--password", "password1"
    )
    sup = linli_here("hub", "add-supplier", "--db", str(hub_db), "--name", "胶州合作社")
    linli_here("demo", "--db", str(a_db))
    linli_here("demo", "--db", str(b_db))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "hub.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                *(LINLI, "serve", "--role", "hub", "--db", str(hub_db), "--host", "127.0.0.1"),
                *("--port", str(port), "--log-level", "warning"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(url, proc, log_path)
            for db, out in ((a_db, a), (b_db, b)):
                linli_here(
                    "centre",
                    "join",
                    "--db",
                    str(db),
                    "--hub",
                    url,
                    "--token",
                    grab(r"token: (\S+)", out),
                )
            # Centre A added a Saturday delivery of its own before the operator looks.
            _save_calendar(a_db, [0, 2, 4, 5], "19:30")
            world = District(
                folder=folder,
                hub_db=hub_db,
                url=url,
                a_db=a_db,
                a_site=grab(r"site id: (\S+)", a),
                b_db=b_db,
                b_site=grab(r"site id: (\S+)", b),
                supplier_token=grab(r"(sup_\S+)", sup),
            )
            world.sync(a_db)
            world.sync(b_db)
            yield world
        finally:
            stop([proc])
