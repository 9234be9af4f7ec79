"""The yardstick for centre_orders.py: a bare Litestar app, one endpoint, one SQLite insert.

Written the way a plain Litestar user would: a sync handler run in Litestar's
thread pool (`sync_to_thread=True`), a msgspec body, one SQLite connection per
worker thread, WAL mode, `synchronous=FULL` (what SQLite uses by default and
what Linli sets, so both pay the same fsync per commit), autocommit insert.

Served by uvicorn exactly like `linli serve` (uvloop + httptools, one worker):

    BARE_DB=/tmp/bare.db taskset -c 0 .venv/bin/python -m uvicorn --app-dir bench \
        --factory centre_bare:create_app --port 8001 --log-level warning --no-access-log
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

import msgspec
from litestar import Litestar, get, post


class Item(msgspec.Struct):
    product_id: str
    quantity: float
    unit: str | None = None


class Body(msgspec.Struct):
    items: list[Item]
    household: dict[str, Any] | None = None
    household_id: str | None = None
    channel: str = "tablet"
    pickup_date: str | None = None


def create_app() -> Litestar:
    db_path = os.environ.get("BARE_DB", "bare.db")
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(local, "conn", None)
        if c is None:
            c = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")
            c.execute("PRAGMA busy_timeout=5000")
            local.conn = c
        return c

    setup = conn()
    setup.execute(
        "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
        " pickup_date TEXT, body TEXT NOT NULL)"
    )

    @post("/orders", sync_to_thread=True)
    def create(data: Body) -> dict[str, Any]:
        cur = conn().execute(
            "INSERT INTO orders (channel, pickup_date, body) VALUES (?, ?, ?)",
            (data.channel, data.pickup_date, msgspec.json.encode(data).decode()),
        )
        return {"id": cur.lastrowid, "status": "placed"}

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[create, healthz], debug=False)
