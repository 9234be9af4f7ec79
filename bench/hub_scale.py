"""The hub at city scale, SQLite and PostgreSQL side by side in one run.

    .venv/bin/python bench/hub_scale.py [--quick] [--parts ingest,consolidated,search]
        [--centres 1000] [--orders-each 10] [--clients 16] [--decode-processes 2]
        [--consolidated-centres 5000] [--consolidated-days 7]
        [--search-orders 2000000] [--search-centres 1000] [--runs 30]

Three parts (issue 16), each on a hub on a SQLite file and on PostgreSQL:

**ingest**:
Many simulated centres each push their whole change log at once to real hub
processes (`linli serve --role hub`) on loopback: the hub on a SQLite file
(one process), and on PostgreSQL (one process, then two processes on the
same database with the pushes alternating between them). PostgreSQL is a
temporary server of this run (initdb/pg_ctl, as the tests start it) with its
durable defaults (fsync, synchronous_commit), as SQLite runs synchronous=FULL.

Each simulated centre's log is one real centre's log (made with the domain's
own writes) with every id and the site id rewritten, so the hub applies and
checks real rows; each is cut short by up to a twentieth, as real centres' pushes
differ in length. Prints changes/s for each, the 2/1 ratio on PostgreSQL, and
the RSS of each hub process after its run.

**consolidated**: the co-op's consolidated order for one delivery day from every
centre's locked version (5,000 centres; a tenth also amended, version 2), with
`--consolidated-days` days of earlier locked orders beside it, as a hub holds
them. Timed: `hub.supplier.consolidated` as the supplier API calls it (through
the hub's store, a warm pooled reader), and the JSON bytes and ETag the API
answers with (`consolidated_body`). Goal <= 300 ms. The first read of the run is
printed apart: it builds the day's locked part, which the later reads answer from
while the day's marks (m403) say nothing changed.

**search**: the operator's order search across all centres (`orders_for_day`, what
the orders page and `/hub/api/v1/orders` run) over 2,000,000 orders (with their
households and some cancel commands): the day's page, a pickup code, a name, a
centre, and on every day a whole phone number, a name and four digits.
p50/p99 of each kind and the p99 of all. Goal p99 <= 100 ms.

Rows for the last two are generated in SQL (one INSERT ... SELECT over a number
series per table), not through sync: these measure the reads. `--quick` runs
small sizes (a check that the bench works, not figures).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import PgServer, start_server  # noqa: E402
from sync_fixtures import (  # noqa: E402
    add_household,
    add_order,
    count,
    enrol_centre,
    open_hub_store,
)

from edge.store import Tx, changelog  # noqa: E402
from edge.store.dialect import is_postgres_url  # noqa: E402
from edge.store.migrations import SCHEMA_VERSION  # noqa: E402
from hub.order_pages import orders_for_day  # noqa: E402
from hub.supplier import centres, consolidated  # noqa: E402
from hub.supplier.views import consolidated_body  # noqa: E402
from sync import enrol  # noqa: E402
from sync.protocol import Batch, encode_log_batch  # noqa: E402

DAY = "2030-01-07"
LINLI = str(Path(sys.executable).parent / "linli")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(target: str, port: int, decode_processes: int = 2) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            *(LINLI, "serve", "--role", "hub", "--db", target, "--port", str(port)),
            *("--host", "127.0.0.1", "--log-level", "warning"),
            *("--decode-processes", str(decode_processes)),
        ]
    )
    deadline = time.monotonic() + 120  # a shared machine can be slow to start one
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("hub did not start")


def template_log(work: Path, orders: int) -> tuple[str, list[tuple[Any, ...]]]:
    """One real centre's change log: (its site id, the rows as stored)."""
    hub = open_hub_store(work / "template-hub.db")
    centre = enrol_centre(hub, work / "template-centre.db", "样板社区")
    hub.close()

    def write(tx: Tx) -> None:
        hh = ""
        for i in range(orders):
            if i % 5 == 0:
                hh = add_household(tx, f"住户{i}", f"139{i:08d}")
            add_order(tx, hh, items=2, code=f"{i:06d}")  # distinct: a random tail can repeat

    centre.store.write_sync(write)
    rows = centre.store.read_sync(lambda c: changelog.read_after_raw(c, centre.site_id, 0, 10**7))
    centre.store.close()
    return centre.site_id, rows


def bodies(
    target: str, site: str, rows: list[tuple[Any, ...]], centres: int, *, cut: bool = True
) -> list[Any]:
    """Enrol `centres` centres on the hub at `target`; each one's token, push body and
    number of changes. Each centre's log is the template's, its ids made its own, less
    up to a twentieth at the end (`cut`): real centres' pushes differ in length, and
    pushes all of one length would hide what a hub pays for that (a statement
    compiled anew)."""
    ids = sorted({str(r[3]) for r in rows} | {site}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(i) for i in ids))
    store = open_hub_store(target)
    try:
        enrolled = store.write_sync(
            lambda tx: [enrol.add_centre(tx, f"centre {k}") for k in range(centres)]
        )
    finally:
        store.close()
    out = []
    shorter = random.Random(centres)  # the same lengths in every run and for both engines
    for k, e in enumerate(enrolled):

        def swap(m: re.Match[str], k: int = k, new_site: str = e.site_id) -> str:
            return new_site if m.group(0) == site else f"{m.group(0)}-{k}"

        kept = rows[: len(rows) - shorter.randrange(len(rows) // 20 + 1)] if cut else rows
        mine = [
            (seq, hlc, tbl, pattern.sub(swap, row_id), op, pattern.sub(swap, fields))
            for seq, hlc, tbl, row_id, op, fields in kept
        ]
        head = Batch(SCHEMA_VERSION, e.site_id, "", 1, 0, 0)
        out.append((e.token, encode_log_batch(head, mine), len(mine)))
    return out


async def push_all(ports: list[int], pushes: list[Any], clients: int) -> float:
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    for i, p in enumerate(pushes):
        queue.put_nowait((i, p))

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i, (token, body, _count) = queue.get_nowait()
            port = ports[i % len(ports)]
            r = await client.post(
                f"http://127.0.0.1:{port}/sync/v1/push",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
            )
            assert r.status_code == 200, r.text[:300]

    # A client each, as each box has its own: a pool shared by many connections costs
    # a walk over all of them at every request (httpcore), in this process's one core.
    tls = ssl.create_default_context()  # the CA bundle read once, not per client
    senders = [httpx.AsyncClient(timeout=120, verify=tls) for _ in range(clients)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in senders))
        return time.perf_counter() - started
    finally:
        for c in senders:
            await c.aclose()


def server_cpu(server: PgServer | None) -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL server's processes, by pid (none for SQLite)."""
    if server is None:
        return {}
    postmaster = psutil.Process(
        int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
    )
    out = {}
    for proc in [postmaster, *postmaster.children(recursive=True)]:
        try:
            out[proc.pid] = sum(proc.cpu_times()[:2])
        except psutil.NoSuchProcess:  # a backend that ended meanwhile
            continue
    return out


def run(
    label: str,
    target: str,
    processes: int,
    site: str,
    rows: list[Any],
    args: Any,
    server: PgServer | None = None,
) -> tuple[float, list[float]]:
    pushes = bodies(target, site, rows, args.centres)
    ports = [free_port() for _ in range(processes)]
    procs = [start_hub(target, p, args.decode_processes) for p in ports]
    try:
        hubs = [psutil.Process(p.pid) for p in procs]
        # A SQLite hub's decode processes (`hub.decoding`): started, and ready, by now.
        decoders = [c for h in hubs for c in h.children()]
        cpu = sum(sum(h.cpu_times()[:2]) for h in hubs)
        decode_cpu = sum(sum(d.cpu_times()[:2]) for d in decoders)
        db_before = server_cpu(server)
        seconds = asyncio.run(push_all(ports, pushes, args.clients))
        cpu = sum(sum(h.cpu_times()[:2]) for h in hubs) - cpu
        decode_cpu = sum(sum(d.cpu_times()[:2]) for d in decoders) - decode_cpu
        db_after = server_cpu(server)
        db_cpu = sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items())
        rss = [h.memory_info().rss / 2**20 for h in hubs]
        decode_rss = [d.memory_info().rss / 2**20 for d in decoders]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(20)
    total = sum(count for _, _, count in pushes)
    logged = count(target, "SELECT COUNT(*) FROM sync_log")
    assert logged == total, (logged, total)
    rate = total / seconds
    sizes = ", ".join(f"{m:.0f}" for m in decode_rss)
    decoding_rss = f" (decode processes {sizes} MB)" if decoders else ""
    print(
        f"{label:<28} {args.centres} centres, {total:,} changes in {seconds:6.2f} s = "
        f"{rate:>9,.0f} changes/s; hub CPU {cpu:.2f} s;"
        f"{f' decode processes CPU {decode_cpu:.2f} s;' if decoders else ''}"
        f"{f' PostgreSQL CPU {db_cpu:.2f} s;' if server is not None else ''}"
        f" hub RSS {', '.join(f'{m:.0f} MB' for m in rss)}"
        f"{decoding_rss}",
        flush=True,
    )
    return rate, rss


# --- bulk rows in SQL, for the two read benchmarks -------------------------------------


class Bulk:
    """One raw connection to a migrated hub (a SQLite file or a PostgreSQL URL) that
    writes generated rows in SQL: `series(n)` is a `WITH` prefix naming the numbers
    0..n-1 as `s(n)`, so one INSERT ... SELECT makes a table's rows in the engine."""

    def __init__(self, target: str) -> None:
        open_hub_store(target).close()  # migrated, and the hub's own site
        self.pg = is_postgres_url(target)
        if self.pg:
            self.conn: Any = psycopg.connect(target, autocommit=True)
            self.conn.execute("SET maintenance_work_mem = '256MB'")
        else:
            self.conn = sqlite3.connect(target, isolation_level=None)
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-262144")  # 256 MB while loading
            self.conn.execute("PRAGMA journal_mode=WAL")

    def series(self, n: int) -> str:
        if self.pg:
            return f"WITH s(n) AS (SELECT generate_series(0, {n - 1}))"
        return f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {n - 1})"

    def pad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(({expr})::text, {width}, '0')"
        return f"printf('%0{width}d', {expr})"

    def run(self, sql: str) -> None:
        self.conn.execute(sql)

    def drop_indexes(self, *tables: str) -> list[str]:
        """Drop the tables' secondary indexes (not their keys) and return the SQL that
        makes them again: a bulk load then builds each index once, sorted, instead of
        updating seven B-trees per row."""
        made: list[str] = []
        for table in tables:
            if self.pg:
                rows = self.conn.execute(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c"
                    " ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid"
                    f" WHERE i.tablename = '{table}' AND NOT x.indisprimary"
                ).fetchall()
            else:
                rows = self.conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                    f" AND tbl_name = '{table}' AND sql IS NOT NULL"
                ).fetchall()
            for name, sql in rows:
                self.run(f"DROP INDEX {name}")
                made.append(sql)
        return made

    def many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self.pg:
            sql = sql.replace("?", "%s")
            with self.conn.cursor() as cur:
                cur.executemany(sql, rows)
        else:
            self.conn.executemany(sql, rows)

    def begin(self) -> None:
        self.run("BEGIN")

    def commit(self) -> None:
        self.run("COMMIT")
        # As a hub's autovacuum would have by then: statistics, and on PostgreSQL the
        # visibility map that lets an index answer alone.
        self.run("VACUUM ANALYZE" if self.pg else "ANALYZE")

    def close(self) -> None:
        self.conn.close()


def days_before(last: str, n: int) -> list[tuple[int, str]]:
    end = date.fromisoformat(last)
    return [(d, (end - timedelta(days=n - 1 - d)).isoformat()) for d in range(n)]


def add_centres(b: Bulk, n: int) -> None:
    b.run(
        f"{b.series(n)} INSERT INTO sync_centres (site_id, name, token_hash, created_at)"
        f" SELECT 'c' || {b.pad('n', 5)}, '社区' || {b.pad('n', 5)}, 'token' || n,"
        " '2030-01-01T00:00:00' FROM s"
    )


AMENDMENT = json.dumps(
    [
        {
            "product_id": "p00",
            "product_name": "品00",
            "qty_unit": "g",
            "unit_label": "斤",
            "before": 1000,
            "after": 1500,
            "change": 500,
        }
    ],
    ensure_ascii=False,
)


def build_consolidated(target: str, n_centres: int, days: int, lines: int) -> int:
    """`centres` centres' locked orders for `days` delivery days ending on DAY: version 1
    each, and an amendment (version 2) at every tenth centre; `lines` products each."""
    b = Bulk(target)
    try:
        b.begin()
        add_centres(b, n_centres)
        b.run("CREATE TEMP TABLE bench_days (d INTEGER, day TEXT)")
        b.many("INSERT INTO bench_days VALUES (?, ?)", days_before(DAY, days))
        b.run("CREATE TEMP TABLE bench_versions (v INTEGER)")
        b.many("INSERT INTO bench_versions VALUES (?)", [(1,), (2,)])
        b.run("CREATE TEMP TABLE bench_slots (j INTEGER)")
        b.many("INSERT INTO bench_slots VALUES (?)", [(j,) for j in range(lines)])
        site, head = f"'c' || {b.pad('n', 5)}", f"'c' || {b.pad('n', 5)} || 'd' || d || 'v' || v"
        which = "(v = 1 OR n % 10 = 0)"
        indexes = b.drop_indexes("supply_consolidated", "supply_consolidated_lines")
        b.run(
            f"{b.series(n_centres)} INSERT INTO supply_consolidated (id, site_id, delivery_date,"
            " version, kind, cutoff_at, locked_at, diff)"
            f" SELECT {head}, {site}, day, v, CASE v WHEN 1 THEN 'locked' ELSE 'amendment' END,"
            " day || 'T20:00', day || 'T20:00:01',"
            f" CASE v WHEN 1 THEN '[]' ELSE '{AMENDMENT}' END"
            f" FROM s, bench_days, bench_versions WHERE {which}"
        )
        k = "((n + j * 7) % 30)"
        b.run(
            f"{b.series(n_centres)} INSERT INTO supply_consolidated_lines (id, site_id,"
            " consolidated_id, delivery_date, version, product_id, product_name, unit_label,"
            " bundle_size, qty_unit, ordered_qty, buffer_qty, total_qty)"
            f" SELECT {head} || 'l' || j, {site}, {head}, day, v, 'p' || {b.pad(k, 2)},"
            f" '品' || {b.pad(k, 2)}, CASE {k} % 3 WHEN 0 THEN '斤' ELSE '个' END, 1,"
            f" CASE {k} % 3 WHEN 0 THEN 'g' WHEN 1 THEN 'piece' ELSE 'bundle' END,"
            f" 500 * (1 + (n + j) % 9), v - 1, 500 * (1 + (n + j) % 9) + v - 1"
            f" FROM s, bench_days, bench_versions, bench_slots WHERE {which}"
        )
        for sql in indexes:
            b.run(sql)
        b.commit()
        return int(b.conn.execute("SELECT COUNT(*) FROM supply_consolidated_lines").fetchone()[0])
    finally:
        b.close()


def timed(
    fn: Callable[[], Any], runs: int, cpu: list[float] | None = None
) -> tuple[list[float], Any]:
    """Wall ms of each run; `cpu` gets this process's CPU ms of each (its threads: the
    store's reader, so SQLite's whole read; on PostgreSQL the server's share is not in
    it). On a shared machine the CPU figure is the steadier one."""
    times, out = [], None
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c) * 1000)
    return times, out


def bench_consolidated(label: str, target: str, args: Any) -> dict[str, float]:
    t = time.perf_counter()
    n_lines = build_consolidated(
        target, args.consolidated_centres, args.consolidated_days, args.consolidated_lines
    )
    built = time.perf_counter() - t
    store = open_hub_store(target)
    try:

        def read() -> dict[str, Any]:
            return store.read_sync(lambda c: consolidated(c, DAY, centres(c)))

        def with_body() -> bytes:  # as the API answers: its bytes, and their ETag
            body = store.read_sync(lambda c: consolidated_body(c, DAY, centres(c), "json"))
            hashlib.sha256(body).hexdigest()
            return body

        # The first read builds the day's locked part (what a read after a new locked
        # version costs); the timed ones answer from it while nothing changes.
        first, _ = timed(read, 1)
        cpu: list[float] = []
        times, doc = timed(read, args.runs_consolidated, cpu)
        assert len(doc["centres"]) == args.consolidated_centres
        assert all(c["status"] in ("locked", "amended") for c in doc["centres"])
        body_times, body = timed(with_body, args.runs_consolidated)
    finally:
        store.close()
    out = {"median": statistics.median(times), "max": max(times), "cpu": statistics.median(cpu)}
    out["body"] = statistics.median(body_times)
    out["first"] = first[0]
    print(
        f"{label:<12} consolidated, {args.consolidated_centres:,} centres locked"
        f" ({n_lines:,} lines over {args.consolidated_days} days, built in {built:.1f} s):"
        f" first read {out['first']:.0f} ms;"
        f" median {out['median']:.0f} ms (CPU {out['cpu']:.0f} ms), max {out['max']:.0f} ms;"
        f" + JSON + ETag {out['body']:.0f} ms ({len(body) / 1e6:.1f} MB)",
        flush=True,
    )
    return out


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [a + b for a in "秀桂淑玉凤建国志明文" for b in "英兰华珍芳军强平"][:50]


def build_search(target: str, orders: int, n_centres: int, days: int) -> dict[str, Any]:
    """`orders` orders spread evenly over `n_centres` centres and `days` days (the last
    is DAY), each centre with its households (about ten orders each), and a cancel
    command for one order in a thousand (half of them answered)."""
    per_day = max(1, orders // (n_centres * days))
    households = max(1, per_day * days // 10)
    b = Bulk(target)
    try:
        b.begin()
        add_centres(b, n_centres)
        b.run("CREATE TEMP TABLE bench_days (d INTEGER, day TEXT)")
        b.many("INSERT INTO bench_days VALUES (?, ?)", days_before(DAY, days))
        b.run("CREATE TEMP TABLE bench_names (i INTEGER, name TEXT)")
        names = [s + g for s in SURNAMES for g in GIVEN]
        b.many("INSERT INTO bench_names VALUES (?, ?)", list(enumerate(names)))
        n_hh = n_centres * households
        indexes = b.drop_indexes("households", "orders")
        b.run(
            f"{b.series(n_hh)} INSERT INTO households (id, site_id, name, phone, phone_tail,"
            " building, unit, room, created_at)"
            f" SELECT 'h' || {b.pad('n', 7)}, 'c' || {b.pad(f'n % {n_centres}', 5)}, name,"
            f" '139' || {b.pad('n', 8)}, {b.pad('n % 10000', 4)}, '' || (1 + n % 20),"
            f" '' || (1 + n % 3), '' || (101 + n % 600), '2030-01-01T00:00:00'"
            f" FROM s JOIN bench_names ON i = (n * 7919) % {len(names)}"
        )
        # n -> centre n % C, day (n / C) % D, k-th order (n / C / D) of that centre's day
        c, d, k = f"(n % {n_centres})", f"((n / {n_centres}) % {days})", f"(n / {n_centres * days})"
        hh = f"({c} + {n_centres} * (({k} * 10 + {d} * 3) % {households}))"
        b.run(
            f"{b.series(per_day * n_centres * days)} INSERT INTO orders (id, site_id,"
            " household_id, channel, pickup_date, delivery_mode, pickup_code, status,"
            " estimated_fen, created_at, updated_at)"
            f" SELECT 'o' || {b.pad('n', 8)}, 'c' || {b.pad(c, 5)}, 'h' || {b.pad(hh, 7)},"
            f" 'wechat', day, CASE WHEN n % 9 = 0 THEN 'home' ELSE 'pickup' END,"
            f" {b.pad(f'({k} * 397 + {d} * 7 + {c} * 13) % 10000', 4)},"
            f" CASE WHEN ({k} + {c}) % 25 = 0 THEN 'cancelled'"
            f" WHEN {d} < {days - 3} THEN 'picked_up' ELSE 'placed' END, 500 + n % 5000,"
            " day || 'T09:00:00', day || 'T09:00:00'"
            f" FROM s JOIN bench_days ON bench_days.d = {d}"
        )
        b.run(
            "INSERT INTO sync_commands (id, site_id, target_site, name, args, issued_by,"
            " created_at) SELECT 'x' || id, 'hub', site_id, 'cancel_order',"
            " '{\"order_id\": \"' || id || '\"}', 'op', updated_at FROM orders"
            " WHERE id LIKE '%000'"
        )
        b.run(
            "INSERT INTO sync_command_results (id, site_id, name, outcome, detail, applied_at)"
            " SELECT id, target_site, name, 'applied', '', created_at FROM sync_commands"
            " WHERE name = 'cancel_order' AND id LIKE '%2000'"
        )
        for sql in indexes:
            b.run(sql)
        b.commit()
        total = int(b.conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
        sample = b.conn.execute(
            "SELECT o.site_id, o.pickup_code, h.name, h.phone, h.phone_tail FROM orders o"
            " JOIN households h ON h.id = o.household_id WHERE o.pickup_date = '" + DAY + "'"
        ).fetchall()
    finally:
        b.close()
    return {"orders": total, "households": n_hh, "sample": sample}


SEARCHES: list[tuple[str, Callable[[tuple[Any, ...]], dict[str, Any]]]] = [
    ("day page", lambda r: {}),
    ("day, pickup code", lambda r: {"q": r[1]}),
    ("day, name", lambda r: {"q": r[2]}),
    ("day, centre", lambda r: {"centre": r[0]}),
    ("day, centre + status", lambda r: {"centre": r[0], "status": "placed"}),
    ("all days, phone", lambda r: {"q": r[3], "all_days": True}),
    ("all days, name", lambda r: {"q": r[2], "all_days": True}),
    ("all days, 4 digits", lambda r: {"q": r[4], "all_days": True}),
]


def p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def bench_search(label: str, target: str, args: Any) -> dict[str, float]:
    t = time.perf_counter()
    built = build_search(target, args.search_orders, args.search_centres, args.search_days)
    seconds = time.perf_counter() - t
    print(
        f"{label:<12} search: built {built['orders']:,} orders, {built['households']:,}"
        f" households, {args.search_centres:,} centres in {seconds:.1f} s",
        flush=True,
    )
    rng = random.Random(16)
    store = open_hub_store(target)
    every: list[float] = []
    out: dict[str, float] = {}
    try:
        for kind, make in SEARCHES:
            times: list[float] = []
            cpu: list[float] = []
            for i in range(args.runs + 1):
                kw = make(rng.choice(built["sample"]))
                started, used = time.perf_counter(), time.process_time()
                found = store.read_sync(lambda c, kw=kw: orders_for_day(c, DAY, **kw))
                if i:  # the first of each kind warms its plan
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - used) * 1000)
                assert found["orders"], (kind, kw)
            every += times
            out[kind] = p99(times)
            print(
                f"{label:<12}   {kind:<22} p50 {statistics.median(times):6.1f} ms"
                f"  p99 {out[kind]:6.1f} ms  CPU p50 {statistics.median(cpu):6.1f} ms"
                f"  ({len(found['orders'])} rows)",
                flush=True,
            )
    finally:
        store.close()
    out["all"] = p99(every)
    print(f"{label:<12}   all kinds              p99 {out['all']:6.1f} ms (goal ≤ 100 ms)")
    return out


QUICK = {
    "centres": 50,
    "orders_each": 5,
    "consolidated_centres": 200,
    "consolidated_days": 2,
    "search_orders": 40_000,
    "search_centres": 50,
    "search_days": 20,
    "runs": 5,
    "runs_consolidated": 3,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="ingest,consolidated,search")
    ap.add_argument("--quick", action="store_true", help="small sizes: does the bench work")
    ap.add_argument("--centres", type=int, default=1000, help="ingest: centres pushing")
    ap.add_argument("--orders-each", type=int, default=10)
    ap.add_argument("--clients", type=int, default=16, help="pushes in flight at once")
    ap.add_argument(
        "--decode-processes",
        type=int,
        default=2,
        help="a SQLite hub's decode processes (linli serve's; 0: decoded in threads)",
    )
    ap.add_argument("--consolidated-centres", type=int, default=5000)
    ap.add_argument("--consolidated-days", type=int, default=7, help="days of locked orders")
    ap.add_argument("--consolidated-lines", type=int, default=12, help="products a centre")
    ap.add_argument("--runs-consolidated", type=int, default=7)
    ap.add_argument("--search-orders", type=int, default=2_000_000)
    ap.add_argument("--search-centres", type=int, default=1000)
    ap.add_argument("--search-days", type=int, default=100)
    ap.add_argument("--runs", type=int, default=30, help="searches of each kind")
    args = ap.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == ap.get_default(key):
                setattr(args, key, value)
    parts = set(args.parts.split(","))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="linli-hub-scale-") as tmp:
        work = Path(tmp)
        server: PgServer = start_server(durable=True)
        try:
            server.make_template()
            if "ingest" in parts:
                ingest(work, server, args)
            results = {}
            for part, fn in (("consolidated", bench_consolidated), ("search", bench_search)):
                if part not in parts:
                    continue
                sq = fn("sqlite", str(work / f"{part}.db"), args)
                pg = fn("postgresql", server.fresh_database(), args)
                results[part] = (sq, pg)
        finally:
            server.stop()
    if "consolidated" in results:
        sq, pg = results["consolidated"]
        print(
            f"consolidated ({args.consolidated_centres:,} centres, median):"
            f" sqlite {sq['median']:.0f} ms, postgresql {pg['median']:.0f} ms; goal ≤ 300 ms"
        )
    if "search" in results:
        sq, pg = results["search"]
        print(
            f"order search ({args.search_orders:,} orders, p99 of all kinds):"
            f" sqlite {sq['all']:.0f} ms, postgresql {pg['all']:.0f} ms; goal ≤ 100 ms"
        )


def ingest(work: Path, server: PgServer, args: Any) -> None:
    site, rows = template_log(work, args.orders_each)
    print(
        f"each centre pushes up to {len(rows)} changes ({args.orders_each} orders) in one batch,"
        " its log cut short by up to a twentieth"
    )
    sqlite_rate, _ = run("sqlite, 1 process", str(work / "hub.db"), 1, site, rows, args)
    pg1, _ = run("postgresql, 1 process", server.fresh_database(), 1, site, rows, args, server)
    pg2, _ = run("postgresql, 2 processes", server.fresh_database(), 2, site, rows, args, server)
    print(
        f"ingest changes/s: sqlite {sqlite_rate:,.0f}; postgresql {pg1:,.0f} (1 process), "
        f"{pg2:,.0f} (2 processes, ratio {pg2 / pg1:.2f}); goal ≥ 40,000 on both"
    )


if __name__ == "__main__":
    main()
