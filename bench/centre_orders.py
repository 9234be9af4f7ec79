"""Order creation on one core: max throughput, latency at 100 req/s, and the bare-Litestar ratio.

    .venv/bin/python bench/centre_orders.py            # about 1 minute

The centre (`linli serve`, uvicorn) runs pinned to core 0 with `taskset -c 0`;
this process, the load generator, pins itself to core 1. 20 clients on
keep-alive connections (a raw asyncio HTTP/1.1 client from bench/_load.py:
httpx costs several times more client CPU per request, see the last line).

(a) closed loop, 20 clients, ~10 s: orders/s            goal >= 500/s
(b) open loop at 100 req/s, ~10 s: p50/p95/p99           goal p99 <= 50 ms
(c) the same closed loop against bench/centre_bare.py (bare Litestar, one
    SQLite insert, same uvicorn, same core): ratio linli/bare   goal >= 0.5

Orders are realistic: a WeChat order for one of 600 households (given by
name/phone/address, found or created), 1-3 items, spread over the next
delivery days so no day gets more orders than a centre sees (the pickup code
space is 4,096 a day).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _load
from _load import Bench, Request

GOAL_RATE = 500.0
GOAL_P99_MS = 50.0
GOAL_RATIO = 0.5
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "桂兰建国秀英德明淑芬玉珍志强凤兰春梅国华丽娟海燕振华文博"


def make_demo(b: Bench) -> tuple[Path, str]:
    db = b.tmp / "centre.db"
    out = subprocess.run(
        [_load.LINLI, "demo", "--db", str(db)], check=True, capture_output=True, text=True
    ).stdout
    token = re.search(r"API token for \S+: (\S+)", out)
    if token is None:
        raise RuntimeError(f"no token in `linli demo` output: {out!r}")
    return db, token.group(1)


def households(n: int, rng: random.Random) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
        out.append(
            {
                "name": name,
                "phone": f"1{rng.choice('3589')}{i:04d}{rng.randrange(10**5):05d}",
                "building": str(1 + i % 12),
                "unit": str(1 + i % 3),
                "room": f"{1 + i % 6}0{1 + i % 4}",
            }
        )
    return out


def delivery_days(db: Path, count: int) -> list[str]:
    """The next `count` delivery days whose cut-off is still ahead, from the centre's calendar."""
    from edge.domain import calendar

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    site = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()[0]
    cal = calendar.load(conn, site)
    conn.close()
    now = datetime.now()
    day = cal.next_delivery_day(now + timedelta(minutes=5))
    days = []
    while len(days) < count:
        if cal.is_delivery_day(day):
            days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def order_bodies(db: Path, n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    products = conn.execute("SELECT id, sold_by FROM products WHERE active = 1").fetchall()
    conn.close()
    homes = households(600, rng)
    days = delivery_days(db, 40)
    bodies = []
    for _ in range(n):
        items = [
            {
                "product_id": pid,
                "quantity": rng.choice([1, 2, 3]),
                **({"unit": "斤"} if sold_by == "weight" else {}),
            }
            for pid, sold_by in rng.sample(products, rng.choice([1, 2, 3]))
        ]
        body = {
            "household": rng.choice(homes),
            "channel": "wechat",
            "pickup_date": rng.choice(days),
            "items": items,
        }
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rate", type=float, default=100.0, help="open-loop rate, req/s")
    ap.add_argument("--calibrate-s", type=float, default=4.0, help="httpx comparison, 0 = skip")
    args = ap.parse_args()
    _load.pin_client()
    with Bench("orders") as b:
        db, token = make_demo(b)
        bodies = order_bodies(db, 2000)
        run_id = f"{time.time_ns():x}"
        auth = _load.headers(Authorization=f"Bearer {token}", Content_Type="application/json")

        def linli_req(i: int) -> Request:
            hdr = auth + f"Idempotency-Key: {run_id}-{i}\r\n".encode()
            return ("POST", "/api/v1/orders", hdr, bodies[i % len(bodies)])

        bare_hdr = _load.headers(Content_Type="application/json")

        def bare_req(i: int) -> Request:
            return ("POST", "/orders", bare_hdr, bodies[i % len(bodies)])

        print(
            f"centre_orders  {datetime.now():%Y-%m-%d %H:%M}  server core 0 (taskset -c 0),"
            f" client core 1, {args.clients} clients, {args.duration:.0f} s each",
            flush=True,
        )
        # (a) + (b): the real centre
        port = _load.free_port()
        srv = b.start_server(_load.serve_cmd(db, port), log_name="linli")
        _load.wait_ready(port, srv)
        a = _load.run(
            _load.closed_loop(
                port,
                linli_req,
                concurrency=args.clients,
                duration=args.duration,
                warmup=2.0,
                label="(a) linli  POST /api/v1/orders, closed loop",
                server_pid=srv.pid,
            )
        )
        bb = _load.run(
            _load.open_loop(
                port,
                linli_req,
                rate=args.rate,
                duration=args.duration,
                connections=args.clients,
                label=f"(b) linli  POST /api/v1/orders, open loop {args.rate:.0f}/s",
            )
        )
        b.stop(srv)
        conn = sqlite3.connect(db)
        stored = conn.execute(
            "SELECT COUNT(*) FROM orders WHERE idempotency_key LIKE ?", (f"{run_id}-%",)
        ).fetchone()[0]
        conn.close()
        created = a.warm[201] + a.statuses[201] + bb.statuses[201]

        # (c): bare Litestar, same server, same core
        bare_port = _load.free_port()
        bare_cmd = [
            _load.PYTHON,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(__file__).parent),
            "--factory",
            "centre_bare:create_app",
            "--host",
            _load.HOST,
            "--port",
            str(bare_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        bare = b.start_server(bare_cmd, env={"BARE_DB": str(b.tmp / "bare.db")}, log_name="bare")
        _load.wait_ready(bare_port, bare)
        c = _load.run(
            _load.closed_loop(
                bare_port,
                bare_req,
                concurrency=args.clients,
                duration=args.duration,
                warmup=2.0,
                label="(c) bare   POST /orders (1 insert), closed loop",
                server_pid=bare.pid,
            )
        )
        hx = None
        if args.calibrate_s > 0:
            hx = _load.run(
                _load.httpx_closed_loop(
                    bare_port,
                    bare_req,
                    concurrency=args.clients,
                    duration=args.calibrate_s,
                    label="    httpx  POST /orders, closed loop",
                )
            )
        b.stop(bare)

        for r in (a, bb, c):
            print(r.line())
        print(
            f"    server CPU per request: linli {a.server_ms_per_request():.2f} ms,"
            f" bare {c.server_ms_per_request():.2f} ms (server busy"
            f" {a.server_cpu / a.elapsed:.0%} / {c.server_cpu / c.elapsed:.0%} of core 0)"
        )
        print(f"    orders stored for this run: {stored} (201 answers: {created})")
        ratio = a.rate / c.rate if c.rate else 0.0
        if hx is not None:
            print(
                f"    client capacity, requests per client-CPU-second: raw asyncio"
                f" {c.per_client_cpu_s():.0f}, httpx {hx.per_client_cpu_s():.0f}"
                f" (httpx drove {hx.rate:.0f}/s against bare vs raw {c.rate:.0f}/s)"
            )
        print()
        results = [
            (
                "order creation throughput",
                f"{a.rate:.0f} orders/s",
                a.rate >= GOAL_RATE,
                f">= {GOAL_RATE:.0f}/s",
            ),
            (
                f"p99 at {args.rate:.0f} req/s",
                f"{bb.pct(99):.1f} ms",
                bb.pct(99) <= GOAL_P99_MS,
                f"<= {GOAL_P99_MS:.0f} ms",
            ),
            (
                "ratio linli/bare",
                f"{ratio:.2f} ({a.rate:.0f}/{c.rate:.0f})",
                ratio >= GOAL_RATIO,
                f">= {GOAL_RATIO}",
            ),
        ]
        for name, value, ok, goal in results:
            print(f"  {'PASS' if ok else 'MISS'}  {name}: {value}  (goal {goal})")
        if stored != created or bb.late > args.rate * args.duration * 0.05:
            print(f"  note: stored/created mismatch or client late ({bb.late} late sends)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temp files removed", file=sys.stderr)
        sys.exit(130)
