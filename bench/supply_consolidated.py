"""Bench: the co-op's consolidated order at the hub, 1,000 centres × 300 orders for one day.

Builds a hub database in a temp folder with the real schema (edge + sync +
supply migrations): N enrolled centres, each with M orders of 1–5 lines over
a 30-product catalog (by weight, piece and bundle) for one delivery day, and
each centre's locked order (version 1, what the centres push after their
cut-off; a tenth of them also with an amendment, version 2). Rows are
bulk-loaded with SQL, not through sync (this measures the read). Then it
times, each as the median of `--runs` runs on a warm reader connection:

- `consolidated`: `hub.supplier.consolidated` (all centres' latest locked
  versions, per-centre and per-product totals) — goal ≤ 300 ms;
- `+ json + etag`: the same plus the bytes and the ETag the API answers with;
- `csv`: the CSV rendering of the answer;
- `provisional`: the same with no locked versions at all (every centre live
  from its raw orders: what the co-op sees before the cut-off).

    .venv/bin/python bench/supply_consolidated.py [--centres 1000] [--orders 300] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.store import Store, connect
from hub.supplier import consolidated, consolidated_csv
from sync import schema as sync_schema

DAY = "2030-01-07"
PRODUCTS = [(f"p{i:02d}", f"品{i:02d}", ("weight", "piece", "bundle")[i % 3]) for i in range(30)]


def build(path: Path, centres: int, orders: int, seed: int = 7) -> dict[str, int]:
    sync_schema.ensure(path)
    Store(path).close()  # edge + supply migrations
    rng = random.Random(seed)
    conn = connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO products (id, site_id, name, sold_by, unit, price_fen) VALUES (?,?,?,?,?,?)",
        [
            (pid, "hub", name, sold, "斤" if sold == "weight" else "个", 300)
            for pid, name, sold in PRODUCTS
        ],
    )
    n_items = 0
    for c in range(centres):
        site = f"c{c:05d}"
        conn.execute(
            "INSERT INTO sync_centres (site_id, name, token_hash, created_at)"
            " VALUES (?, ?, ?, '2030-01-01')",
            (site, f"社区{c:05d}", f"t{c}"),
        )
        order_rows, item_rows = [], []
        for o in range(orders):
            oid = f"{site}o{o:04d}"
            status = "cancelled" if rng.random() < 0.03 else "placed"
            order_rows.append(
                (
                    oid,
                    site,
                    "wechat",
                    DAY,
                    "pickup",
                    f"{o:04d}",
                    status,
                    "2030-01-06T09:00",
                    "2030-01-06T09:00",
                )
            )
            for line, (pid, name, sold) in enumerate(rng.sample(PRODUCTS, rng.randint(1, 5))):
                unit = {"weight": "g", "piece": "piece", "bundle": "bundle"}[sold]
                qty = rng.randint(1, 10) * 250 if unit == "g" else rng.randint(1, 6)
                item_rows.append(
                    (f"{oid}i{line}", site, oid, line, pid, name, sold, unit, qty, 300)
                )
        conn.executemany(
            "INSERT INTO orders (id, site_id, channel, pickup_date, delivery_mode, pickup_code,"
            " status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            order_rows,
        )
        conn.executemany(
            "INSERT INTO order_items (id, site_id, order_id, line, product_id, product_name,"
            " sold_by, qty_unit, quantity, unit_price_fen) VALUES (?,?,?,?,?,?,?,?,?,?)",
            item_rows,
        )
        n_items += len(item_rows)
    conn.execute("COMMIT")
    return {"orders": centres * orders, "items": n_items}


def lock_all(path: Path, centres: int) -> int:
    """Every centre's version 1 (from its orders), and a version 2 at every tenth centre."""
    conn = connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for c in range(centres):
        site = f"c{c:05d}"
        for version in (1, 2) if c % 10 == 0 else (1,):
            cid = f"{site}v{version}"
            conn.execute(
                "INSERT INTO supply_consolidated (id, site_id, delivery_date, version, kind,"
                " cutoff_at, locked_at, diff) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    site,
                    DAY,
                    version,
                    "locked" if version == 1 else "amendment",
                    "2030-01-06T20:00",
                    "2030-01-06T20:00:01",
                    "[]"
                    if version == 1
                    else json.dumps(
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
                        ]
                    ),
                ),
            )
            conn.execute(
                "INSERT INTO supply_consolidated_lines (id, site_id, consolidated_id,"
                " delivery_date, version, product_id, product_name, unit_label, bundle_size,"
                " qty_unit, ordered_qty, buffer_qty, total_qty)"
                " SELECT ? || i.product_id || i.qty_unit, ?, ?, ?, ?, i.product_id,"
                " MAX(i.product_name), '', 1, i.qty_unit, SUM(i.quantity), ?,"
                " SUM(i.quantity) + ? FROM orders o JOIN order_items i ON i.order_id = o.id"
                " WHERE o.site_id = ? AND o.pickup_date = ? AND o.status != 'cancelled'"
                " GROUP BY i.product_id, i.qty_unit",
                (cid, site, cid, DAY, version, version - 1, version - 1, site, DAY),
            )
    conn.execute("COMMIT")
    n = int(conn.execute("SELECT COUNT(*) FROM supply_consolidated_lines").fetchone()[0])
    conn.close()
    return n


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-supply-"))
    try:
        path = tmp / "hub.db"
        t = time.perf_counter()
        sizes = build(path, args.centres, args.orders)
        print(
            f"built {args.centres} centres, {sizes['orders']:,} orders, "
            f"{sizes['items']:,} order lines in {time.perf_counter() - t:.1f} s"
        )
        reader = connect(path, readonly=True)

        ms, doc = timed(lambda: consolidated(reader, DAY), args.runs)
        print(
            f"provisional (no locked versions, live from orders): {ms:8.1f} ms  "
            f"({len(doc['products'])} product lines)"
        )
        t = time.perf_counter()
        n_lines = lock_all(path, args.centres)
        print(f"locked every centre: {n_lines:,} snapshot lines in {time.perf_counter() - t:.1f} s")
        reader.close()
        reader = connect(path, readonly=True)
        ms, doc = timed(lambda: consolidated(reader, DAY), args.runs)
        assert len(doc["centres"]) == args.centres
        print(f"consolidated (locked versions)               : {ms:8.1f} ms  goal ≤ 300 ms")

        def with_body() -> bytes:
            body = json.dumps(
                consolidated(reader, DAY), ensure_ascii=False, sort_keys=True, separators=(",", ":")
            ).encode()
            hashlib.sha256(body).hexdigest()
            return body

        ms_body, body = timed(with_body, args.runs)
        print(
            f"  + JSON bytes + ETag                          : {ms_body:8.1f} ms  "
            f"({len(body) / 1e6:.1f} MB)"
        )
        ms_csv, text = timed(lambda: consolidated_csv(doc), args.runs)
        print(
            f"  CSV rendering                                : {ms_csv:8.1f} ms  "
            f"({len(text.encode()) / 1e6:.1f} MB)"
        )
        reader.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
