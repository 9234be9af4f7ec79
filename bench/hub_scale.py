"""Hub ingest at city scale, SQLite and PostgreSQL side by side in one run.

    .venv/bin/python bench/hub_scale.py [--centres 1000] [--orders-each 10] [--clients 16]

Many simulated centres each push their whole change log at once to real hub
processes (`linli serve --role hub`) on loopback: the hub on a SQLite file
(one process), and on PostgreSQL (one process, then two processes on the
same database with the pushes alternating between them). PostgreSQL is a
temporary server of this run (initdb/pg_ctl, as the tests start it) with its
durable defaults (fsync, synchronous_commit), as SQLite runs synchronous=FULL.

Each simulated centre's log is one real centre's log (made with the domain's
own writes) with every id and the site id rewritten, so the hub applies and
checks real rows. Prints changes/s for each, the 2/1 ratio on PostgreSQL, and
the RSS of each hub process after its run.

Not measured here yet (issue 16): the consolidated order for 5,000 centres and
the operator's order search over 2,000,000 orders.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

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
from edge.store.migrations import SCHEMA_VERSION  # noqa: E402
from sync import enrol  # noqa: E402
from sync.protocol import Batch, encode_log_batch  # noqa: E402

LINLI = str(Path(sys.executable).parent / "linli")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(target: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            *(LINLI, "serve", "--role", "hub", "--db", target, "--port", str(port)),
            *("--host", "127.0.0.1", "--log-level", "warning"),
        ]
    )
    deadline = time.monotonic() + 30
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
            add_order(tx, hh, items=2)

    centre.store.write_sync(write)
    rows = centre.store.read_sync(lambda c: changelog.read_after_raw(c, centre.site_id, 0, 10**7))
    centre.store.close()
    return centre.site_id, rows


def bodies(target: str, site: str, rows: list[tuple[Any, ...]], centres: int) -> list[Any]:
    """Enrol `centres` centres on the hub at `target`; each one's push body and token."""
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
    for k, e in enumerate(enrolled):

        def swap(m: re.Match[str], k: int = k, new_site: str = e.site_id) -> str:
            return new_site if m.group(0) == site else f"{m.group(0)}-{k}"

        mine = [
            (seq, hlc, tbl, pattern.sub(swap, row_id), op, pattern.sub(swap, fields))
            for seq, hlc, tbl, row_id, op, fields in rows
        ]
        head = Batch(SCHEMA_VERSION, e.site_id, "", 1, 0, 0)
        out.append((e.token, encode_log_batch(head, mine)))
    return out


async def push_all(ports: list[int], pushes: list[Any], clients: int) -> float:
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    for i, p in enumerate(pushes):
        queue.put_nowait((i, p))

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i, (token, body) = queue.get_nowait()
            port = ports[i % len(ports)]
            r = await client.post(
                f"http://127.0.0.1:{port}/sync/v1/push",
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
            )
            assert r.status_code == 200, r.text[:300]

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        return time.perf_counter() - started


def run(
    label: str, target: str, processes: int, site: str, rows: list[Any], args: Any
) -> tuple[float, list[float]]:
    pushes = bodies(target, site, rows, args.centres)
    ports = [free_port() for _ in range(processes)]
    procs = [start_hub(target, p) for p in ports]
    try:
        seconds = asyncio.run(push_all(ports, pushes, args.clients))
        rss = [psutil.Process(p.pid).memory_info().rss / 2**20 for p in procs]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(20)
    total = len(rows) * args.centres
    logged = count(target, "SELECT COUNT(*) FROM sync_log")
    assert logged == total, (logged, total)
    rate = total / seconds
    print(
        f"{label:<28} {args.centres} centres, {total:,} changes in {seconds:6.2f} s = "
        f"{rate:>9,.0f} changes/s; hub RSS {', '.join(f'{m:.0f} MB' for m in rss)}",
        flush=True,
    )
    return rate, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--orders-each", type=int, default=10)
    ap.add_argument("--clients", type=int, default=16, help="pushes in flight at once")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="linli-hub-scale-") as tmp:
        work = Path(tmp)
        site, rows = template_log(work, args.orders_each)
        print(f"each centre pushes {len(rows)} changes ({args.orders_each} orders) in one batch")
        sqlite_rate, _ = run("sqlite, 1 process", str(work / "hub.db"), 1, site, rows, args)
        server: PgServer = start_server(durable=True)
        try:
            server.make_template()
            pg1, _ = run("postgresql, 1 process", server.fresh_database(), 1, site, rows, args)
            pg2, _ = run("postgresql, 2 processes", server.fresh_database(), 2, site, rows, args)
        finally:
            server.stop()
    print(
        f"ingest changes/s: sqlite {sqlite_rate:,.0f}; postgresql {pg1:,.0f} (1 process), "
        f"{pg2:,.0f} (2 processes, ratio {pg2 / pg1:.2f}); goal ≥ 40,000 on both"
    )


if __name__ == "__main__":
    main()
