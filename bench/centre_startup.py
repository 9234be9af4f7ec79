"""Start-up time and idle memory of the centre server, on one core.

    .venv/bin/python bench/centre_startup.py           # about 1 minute

(a) start to first answer: from launching `taskset -c 0 linli serve` to the
    first 200 from GET /healthz, 5 times, min/median        goal <= 2 s
    on the demo database, and on one with 100,000 past orders (built as in
    centre_search.py; --no-history skips it)
(b) idle RSS of the server process: after start, and after 2 s of PIN
    sign-ins (argon2, 19 MiB each) and ~8 s of order creation (20 clients,
    closed loop, as centre_orders.py) plus 2 s idle,
    and after a search load on the 100,000-order database     goal <= 80 MB
(c) bytes per order on the 100,000-order database, all included (file size /
    orders, after a WAL checkpoint), per table and index from SQLite's `dbstat`:
    as built, then after the hub acknowledged its whole change log and the box
    trimmed it (`edge.store.changelog.trim_acked` through the real `Store`, called
    until done, as the sync agent calls it after each push); and the change-log
    bytes of the orders made through the API in (b)      goal <= 1,000 bytes an order
                                                          (50 MB a busy year)

    .venv/bin/python bench/centre_startup.py --size-only  # (c) alone, ~40 s
    .venv/bin/python bench/centre_startup.py --size-only --orders 20000
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _load
from _load import Bench, Request

GOAL_START_S = 2.0
GOAL_RSS_MB = 80.0
GOAL_BYTES_PER_ORDER = 1000.0
BUSY_YEAR_ORDERS = 50_000


def demo_db(b: Bench, name: str) -> tuple[Path, str]:
    db = b.tmp / name
    out = subprocess.run(
        [_load.LINLI, "demo", "--db", str(db)], check=True, capture_output=True, text=True
    ).stdout
    token = re.search(r"API token for \S+: (\S+)", out)
    assert token is not None, out
    return db, token.group(1)


def start_times(b: Bench, db: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from launch to the first 200 of /healthz, and RSS (MB) 1 s after it."""
    times, rss = [], []
    for _ in range(runs):
        port = _load.free_port()
        t0 = time.perf_counter()
        srv = b.start_server(_load.serve_cmd(db, port), log_name="startup")
        _load.wait_ready(port, srv, timeout=30, poll_s=0.002)
        times.append(time.perf_counter() - t0)
        time.sleep(1.0)
        rss.append(_load.rss_mb(srv.pid))
        b.stop(srv)
    return times, rss


def db_bytes(db: Path) -> tuple[int, int, dict[str, int]]:
    """File size after a checkpoint, orders, and bytes per table and index (dbstat)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        per_name = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    finally:
        conn.close()
    return db.stat().st_size, orders, per_name


def trim_as_acknowledged(db: Path) -> tuple[int, int]:
    """What a box does once the hub acknowledged its whole log: the agent's trimming,
    called until it has nothing left to do. Returns (rows deleted, calls)."""
    from edge.store import Store, changelog

    store = Store(db)
    try:
        site = store.site_id
        acked = store.read_sync(lambda c: changelog.last_seq(c, site))  # the hub's position
        deleted = calls = 0
        while True:
            calls += 1
            n = store.write_sync(lambda tx: changelog.trim_acked(tx.conn, site, acked))
            deleted += n
            if not n:
                return deleted, calls
    finally:
        store.close()


def print_sizes(db: Path) -> float:
    """(c): before and after the trimming, per table; returns bytes per order after."""
    size0, orders, before = db_bytes(db)
    deleted, calls = trim_as_acknowledged(db)
    size1, _, after = db_bytes(db)
    b0, b1 = size0 / orders, size1 / orders
    kept = after.get("changes", 0)
    print(
        f"(c) bytes per order, {orders:,}-order db: {b0:,.0f} B ({size0 / 2**20:.1f} MB) as"
        f" built; {b1:,.0f} B ({size1 / 2**20:.1f} MB) after the hub acknowledged the whole"
        f" log and the box trimmed it ({deleted:,} change-log rows in {calls} trim_acked"
        f" calls) = {b1 * BUSY_YEAR_ORDERS / 1e6:.0f} MB per {BUSY_YEAR_ORDERS:,} orders;"
        f" without the {kept / 2**20:.1f} MB of acknowledged changes it keeps (a constant,"
        f" not growth): {(size1 - kept) / orders:,.0f} B an order"
    )
    print(f"    {'table / index':34s} {'before':>8s} {'after':>8s}  bytes per order")
    for name in sorted(before, key=lambda n: -before[n]):
        if before[name] < size0 / 200 and after.get(name, 0) < size1 / 200:
            continue
        print(f"    {name:34s} {before[name] / orders:8,.0f} {after.get(name, 0) / orders:8,.0f}")
    rest0 = sum(v for n, v in before.items() if v < size0 / 200)
    rest1 = sum(v for n, v in after.items() if v < size1 / 200)
    print(f"    {'(the rest, each < 0.5%)':34s} {rest0 / orders:8,.0f} {rest1 / orders:8,.0f}")
    return b1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--load-s", type=float, default=8.0)
    ap.add_argument("--no-history", action="store_true")
    ap.add_argument(
        "--orders", type=int, default=100_000, help="past orders in the history db (100,000)"
    )
    ap.add_argument(
        "--size-only", action="store_true", help="only (c): build the history db, bytes per order"
    )
    args = ap.parse_args()
    _load.pin_client()
    import centre_orders
    import centre_search

    with Bench("startup") as b:
        print(
            f"centre_startup  {datetime.now():%Y-%m-%d %H:%M}  server core 0 (taskset -c 0),"
            " client core 1",
            flush=True,
        )
        if args.size_only:
            big, _ = demo_db(b, "history.db")
            centre_search.build_history(big, args.orders, 300, 600)
            per_order = print_sizes(big)
            print()
            print(size_verdict(per_order))
            return 0
        db, token = demo_db(b, "demo.db")
        starts, rss_start = start_times(b, db, args.runs)
        print(
            f"(a) start to first /healthz, demo db, {args.runs} runs: min {min(starts):.2f} s,"
            f" median {statistics.median(starts):.2f} s  ({', '.join(f'{t:.2f}' for t in starts)})"
        )
        hist_starts: list[float] = []
        big = None
        if not args.no_history:
            big, big_token = demo_db(b, "history.db")
            hist = centre_search.build_history(big, args.orders, 300, 600)
            hist_starts, _ = start_times(b, big, args.runs)
            print(
                f"(a) start to first /healthz, {args.orders:,}-order db"
                f" ({big.stat().st_size / 2**20:.0f}"
                f" MB), {args.runs} runs: min {min(hist_starts):.2f} s, median"
                f" {statistics.median(hist_starts):.2f} s"
                f"  ({', '.join(f'{t:.2f}' for t in hist_starts)})"
            )

        # (b) RSS after the order load
        bodies = centre_orders.order_bodies(db, 2000)
        auth = _load.headers(Authorization=f"Bearer {token}", Content_Type="application/json")
        run_id = f"{time.time_ns():x}"

        def order(i: int) -> Request:
            hdr = auth + f"Idempotency-Key: {run_id}-{i}\r\n".encode()
            return ("POST", "/api/v1/orders", hdr, bodies[i % len(bodies)])

        port = _load.free_port()
        srv = b.start_server(_load.serve_cmd(db, port), log_name="load")
        _load.wait_ready(port, srv)
        time.sleep(1.0)
        idle0 = _load.rss_mb(srv.pid)
        # Tablets sign in through the day: each PIN check takes 19 MiB (argon2), which
        # must not stay behind in worker threads' heaps. Known and unknown names.
        json_hdr = _load.headers(Content_Type="application/json")

        def sign_in(i: int) -> Request:
            name = "小玮" if i % 2 else f"nobody{i}"
            body = f'{{"name": "{name}", "pin": "1234"}}'.encode()
            return ("POST", "/api/v1/auth/token", json_hdr, body)

        signed = _load.run(
            _load.closed_loop(port, sign_in, concurrency=4, duration=2.0, label="sign-in")
        )
        res = _load.run(
            _load.closed_loop(port, order, concurrency=20, duration=args.load_s, label="load")
        )
        time.sleep(2.0)
        idle1 = _load.rss_mb(srv.pid)
        signins = sum(signed.statuses.values())
        b.stop(srv)
        print(
            f"(b) RSS idle after start {idle0:.1f} MB (median of the {args.runs} starts:"
            f" {statistics.median(rss_start):.1f} MB: {', '.join(f'{x:.1f}' for x in rss_start)});"
            f" after {res.ok} orders in"
            f" {res.elapsed:.0f} s ({res.rate:.0f}/s) after {signins} PIN sign-ins"
            f" + 2 s idle: {idle1:.1f} MB"
        )
        idle2 = None
        if big is not None:
            rng = random.Random(3)
            qs = [
                f"/api/v1/orders?pickup_date={hist['today']}&q={quote(rng.choice(pool))}"
                for pool in [
                    [hh[4] for hh, _ in hist["today_rows"]]
                    + [c for _, c in hist["today_rows"]]
                    + [hh[2][:2] for hh, _ in hist["today_rows"]]
                ]
                for _ in range(3000)
            ]
            sauth = _load.headers(Authorization=f"Bearer {big_token}")
            port = _load.free_port()
            srv = b.start_server(_load.serve_cmd(big, port), log_name="search")
            _load.wait_ready(port, srv)
            r2 = _load.run(
                _load.closed_loop(
                    port,
                    lambda i: ("GET", qs[i % len(qs)], sauth, b""),
                    concurrency=20,
                    duration=args.load_s / 2,
                    label="search",
                )
            )
            time.sleep(2.0)
            idle2 = _load.rss_mb(srv.pid)
            b.stop(srv)
            print(
                f"(b) RSS idle after {r2.ok} searches on the {args.orders:,}-order db + 2 s idle:"
                f" {idle2:.1f} MB"
            )
        _, api_orders, demo_bytes = db_bytes(db)
        print(
            f"(c) change log of the {api_orders:,} orders in the demo db (made through the API"
            f" in (b), full rows): {demo_bytes['changes'] / api_orders:,.0f} B per order before"
            " trimming (the history db's change rows carry 3-4 fields only)"
        )
        per_order = print_sizes(big) if big is not None else None
        print()
        worst = max(
            [statistics.median(starts), *([statistics.median(hist_starts)] if hist_starts else [])]
        )
        peak = max(x for x in (idle0, idle1, idle2) if x is not None)
        print(
            f"  {'PASS' if worst <= GOAL_START_S else 'MISS'}  start to first answer:"
            f" median {worst:.2f} s (worst database) (goal <= {GOAL_START_S:.0f} s)"
        )
        print(
            f"  {'PASS' if peak <= GOAL_RSS_MB else 'MISS'}  idle RSS: {idle0:.1f} MB after"
            f" start, {peak:.1f} MB at most after load (goal <= {GOAL_RSS_MB:.0f} MB)"
        )
        if per_order is not None:
            print(size_verdict(per_order))
    return 0


def size_verdict(per_order: float) -> str:
    ok = per_order <= GOAL_BYTES_PER_ORDER
    return (
        f"  {'PASS' if ok else 'MISS'}  bytes per order after trimming: {per_order:,.0f} B"
        f" = {per_order * BUSY_YEAR_ORDERS / 1e6:.0f} MB per busy year"
        f" (goal <= {GOAL_BYTES_PER_ORDER:,.0f} B, 50 MB)"
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temp files removed", file=sys.stderr)
        sys.exit(130)
