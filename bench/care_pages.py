"""Care pages under load: the centre's roster with 20,000 bookings, the hub's family page
with 200,000 bookings over ten centres; server on one core.

    .venv/bin/python bench/care_pages.py            # about 1 minute

Centre: `linli demo` (real schema), then one transaction of raw inserts into the real
tables: 600 elders in their households, 20,000 bookings over 200 days (~100 a day,
today included) with the statuses a past day ends in. `linli serve` on core 0, the
manager signed in, GET /care/roster?day=TODAY.

Hub: `linli hub add-centre` ten times (the real hub schema), then raw inserts of each
centre's elders, services and 20,000 bookings (200,000 in all), a quarter booked by a
family on the hub (a `care_book` command and its result each, 50,000 commands), with
their steps. A family member linked to one elder (through the real /family/link),
GET /family/elders/{id}.

(a) one client, closed loop, ~5 s: the page's own latency
(b) open loop, ~5 s: the roster at 10 req/s (a centre's few tablets, generously), the
    family page at 20 req/s: p99, latency from when each request was due   goal <= 50 ms
(c) ten clients, closed loop, ~5 s: pages a second from one core
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
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _load
from _load import Bench, Request

GOAL_P99_MS = 50.0
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
GIVEN = "桂兰建国秀英德明淑芬玉珍志强凤兰春梅国华丽娟海燕振华文博俊杰红霞金凤"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAST = ("done",) * 14 + ("not_at_home", "cancelled", "declined")
FUTURE = ("requested", "confirmed", "assigned", "assigned")


def ulid_like(ms: int, rng: random.Random) -> str:
    n = (ms << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(25, -1, -1))


def fill_site(
    conn: sqlite3.Connection,
    site: str,
    hub_site: str | None,
    n_bookings: int,
    n_elders: int,
    rng: random.Random,
) -> dict[str, list[str]]:
    """Elders (with households), services, providers and bookings of one centre; on a
    hub (`hub_site`), a quarter of the bookings come with their family command."""
    now_ms = int(time.time() * 1000)
    today = date.today()
    stamp = datetime.now().isoformat(timespec="seconds")
    services = []
    for i, (name, kind, minutes, price, sub) in enumerate(
        (
            ("助餐", "at_centre", 60, 1500, 1000),
            ("送餐", "at_home", 30, 1800, 1000),
            ("助浴", "at_home", 90, 8000, 4000),
            ("陪诊", "escort", 180, 10000, 5000),
            ("陪聊", "at_home", 60, 3000, 0),
        )
    ):
        sid = ulid_like(now_ms, rng)
        services.append((sid, minutes, price, sub))
        conn.execute(
            "INSERT INTO care_services (id, site_id, name, kind, minutes, price_fen,"
            " subsidised_fen, sort, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (sid, site, name, kind, minutes, price, sub, i, stamp),
        )
    providers = [ulid_like(now_ms, rng) for _ in range(12)]
    conn.executemany(
        "INSERT INTO care_providers (id, site_id, name, kind, created_at) VALUES (?,?,?,?,?)",
        [(p, site, f"志愿者{i}", "volunteer", stamp) for i, p in enumerate(providers)],
    )
    elders, codes = [], []
    for i in range(n_elders):
        hid, rid = ulid_like(now_ms, rng), ulid_like(now_ms, rng)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        code = "".join(rng.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(8))
        conn.execute(
            "INSERT INTO households (id, site_id, name, phone, phone_tail, building, unit,"
            " room, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (hid, site, name, phone, phone[-4:], str(1 + i % 12), "1", f"{1 + i % 6}01", stamp),
        )
        conn.execute(
            "INSERT INTO care_recipients (id, site_id, household_id, name, subsidy, day_care,"
            " link_code, care_notes, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (rid, site, hid, name, int(i % 3 == 0), int(i % 5 == 0), code, "行动不便", stamp),
        )
        elders.append(rid)
        codes.append(code)
    per_day = max(1, n_bookings // 200)
    bookings, steps, commands, results = [], [], [], []
    for k in range(n_bookings):
        day = today + timedelta(days=k // per_day - 190)  # ~190 days back, ~10 ahead
        sid, minutes, price, sub = rng.choice(services)
        pick = rng.randrange(len(elders))
        rid, subsidy = elders[pick], pick % 3 == 0
        charged = sub if subsidy else price
        status = rng.choice(PAST if day < today else FUTURE)
        provider = rng.choice(providers) if status not in ("requested", "confirmed") else None
        bid = ulid_like(now_ms - (190 - k // per_day) * 86_400_000, rng)
        from_hub = hub_site is not None and k % 4 == 0
        request = ulid_like(now_ms, rng) if from_hub else None
        start = f"{8 + k % 9:02d}:{(k * 7) % 4 * 15:02d}"
        bookings.append(
            (
                bid,
                site,
                rid,
                sid,
                provider,
                day.isoformat(),
                start,
                minutes,
                status,
                "family" if from_hub else "tablet",
                request,
                price,
                charged,
                price - charged,
                minutes if status == "done" else None,
                rng.choice((None, None, 4, 5)) if status == "done" else None,
                stamp,
                stamp,
            )
        )
        for s in ("requested", "confirmed", "assigned", status)[: 2 + k % 3]:
            steps.append((ulid_like(now_ms, rng), site, bid, s, "站长", stamp))
        if from_hub:
            args = {"request_id": request, "recipient_id": rid, "service_id": sid}
            args |= {"day": day.isoformat(), "start": start, "channel": "family"}
            commands.append(
                (request, hub_site, site, "care_book", json.dumps(args), "王明 (家属)", stamp)
            )
            results.append((request, site, "care_book", "applied", bid, stamp))
    conn.executemany(
        "INSERT INTO care_bookings (id, site_id, recipient_id, service_id, provider_id, day,"
        " start, minutes, status, channel, request_id, price_fen, charged_fen, subsidy_fen,"
        " actual_minutes, rating, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        bookings,
    )
    conn.executemany(
        "INSERT INTO care_booking_steps (id, site_id, booking_id, status, by_name, at)"
        " VALUES (?,?,?,?,?,?)",
        steps,
    )
    if commands:
        conn.executemany(
            "INSERT INTO sync_commands (id, site_id, target_site, name, args, issued_by,"
            " created_at) VALUES (?,?,?,?,?,?,?)",
            commands,
        )
        conn.executemany(
            "INSERT INTO sync_command_results (id, site_id, name, outcome, detail, applied_at)"
            " VALUES (?,?,?,?,?,?)",
            results,
        )
    return {"elders": elders, "codes": codes}


def build_centre(db: Path, n: int) -> str:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    site = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()[0]
    conn.execute("BEGIN")
    fill_site(conn, site, None, n, 600, random.Random(3))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    today = date.today().isoformat()
    count = conn.execute("SELECT COUNT(*) FROM care_bookings WHERE day = ?", (today,)).fetchone()
    conn.close()
    return f"{n} bookings, {count[0]} today"


def build_hub(db: Path, sites: list[str], n: int) -> tuple[str, str, str]:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    hub_site = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()[0]
    rng = random.Random(4)
    conn.execute("BEGIN")
    made = [fill_site(conn, s, hub_site, n // len(sites), 400, rng) for s in sites]
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elder, code = made[0]["elders"][0], made[0]["codes"][0]
    visits = conn.execute(
        "SELECT COUNT(*) FROM care_bookings WHERE recipient_id = ?", (elder,)
    ).fetchone()[0]
    total = conn.execute("SELECT COUNT(*) FROM care_bookings").fetchone()[0]
    commands = conn.execute("SELECT COUNT(*) FROM sync_commands").fetchone()[0]
    conn.close()
    return elder, code, f"{total} bookings, {commands} commands; the elder has {visits}"


def cookie_header(client: httpx.Client) -> bytes:
    pairs = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return _load.headers(Cookie=pairs)


def form_post(client: httpx.Client, page: str, path: str, data: dict[str, str]) -> None:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get(page).text)
    assert token, page
    r = client.post(path, data={**data, "_csrf_token": token.group(1)})
    assert r.status_code == 303, (r.status_code, r.text[:300])


def measure(port: int, pid: int, path: str, head: bytes, label: str, rate: float, secs: float):  # type: ignore[no-untyped-def]
    """(a) one client: the page's own latency; (b) open loop at `rate`: the goal;
    (c) ten clients, closed loop: how many a second the one core serves."""

    def make(_i: int) -> Request:
        return ("GET", path, head, b"")

    def closed(n: int, tag: str):  # type: ignore[no-untyped-def]
        return _load.run(
            _load.closed_loop(
                port,
                make,
                concurrency=n,
                duration=secs,
                warmup=1.0,
                label=f"({tag}) {label}, closed loop {n}",
                server_pid=pid,
            )
        )

    one = closed(1, "a")
    opened = _load.run(
        _load.open_loop(
            port,
            make,
            rate=rate,
            duration=secs,
            connections=10,
            label=f"(b) {label}, open loop {rate:.0f}/s",
            server_pid=pid,
        )
    )
    return [one, opened, closed(10, "c")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--centre-bookings", type=int, default=20_000)
    ap.add_argument("--hub-bookings", type=int, default=200_000)
    ap.add_argument("--centres", type=int, default=10)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--roster-rate", type=float, default=10.0)
    ap.add_argument("--family-rate", type=float, default=20.0)
    args = ap.parse_args()
    _load.pin_client()
    results = []
    with Bench("care") as b:
        print(f"care_pages  {datetime.now():%Y-%m-%d %H:%M}  server core 0, client core 1")
        db = b.tmp / "centre.db"
        subprocess.run([_load.LINLI, "demo", "--db", str(db)], check=True, capture_output=True)
        t = time.perf_counter()
        what = build_centre(db, args.centre_bookings)
        print(f"    centre: {what}; built in {time.perf_counter() - t:.1f} s")
        port = _load.free_port()
        srv = b.start_server(_load.serve_cmd(db, port), log_name="centre")
        _load.wait_ready(port, srv)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            form_post(client, "/signin", "/signin", {"name": "小玮", "pin": "1234"})
            page = client.get("/care/roster")
            assert page.status_code == 200 and "排班表" in page.text, page.status_code
            rows = page.text.count('<tr id="v-')
            print(f"    roster today: {rows} visits on the page, {len(page.content)} bytes")
            head = cookie_header(client)
        results += measure(
            port, srv.pid, "/care/roster", head, "centre roster", args.roster_rate, args.duration
        )
        b.stop(srv)

        hub_db = b.tmp / "hub.db"
        sites = []
        for i in range(args.centres):
            out = subprocess.run(
                [_load.LINLI, "hub", "add-centre", "--db", str(hub_db), "--name", f"站{i}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            found = re.search(r"site id: (\S+)", out)
            assert found, out
            sites.append(found.group(1))
        t = time.perf_counter()
        elder, code, what = build_hub(hub_db, sites, args.hub_bookings)
        print(f"    hub: {what}; built in {time.perf_counter() - t:.1f} s")
        port = _load.free_port()
        cmd = [*_load.serve_cmd(hub_db, port), "--role", "hub"]
        cmd.remove("--no-sync")
        srv = b.start_server(cmd, log_name="hub")
        _load.wait_ready(port, srv)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            fields = {"code": code, "name": "王明", "relation": "儿子"}
            fields |= {"phone": "13912345678", "password": "mima1234"}
            form_post(client, "/family", "/family/link", fields)
            path = f"/family/elders/{elder}"
            page = client.get(path)
            assert page.status_code == 200 and "预约服务" in page.text, page.status_code
            print(f"    family page: {page.text.count('card visit')} visits, {len(page.content)} B")
            head = cookie_header(client)
        results += measure(
            port, srv.pid, path, head, "hub family page", args.family_rate, args.duration
        )
        b.stop(srv)
    for r in results:
        print(r.line() + f"  [server {r.server_ms_per_request():.2f} ms CPU/req]")
    print()
    for r in results[1::3]:  # the open loops: a stated load, latency from when it was due
        ok = r.pct(99) <= GOAL_P99_MS
        print(f"  {'PASS' if ok else 'MISS'}  {r.label}: p99 {r.pct(99):.1f} ms (goal <= 50 ms)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temp files removed", file=sys.stderr)
        sys.exit(130)
