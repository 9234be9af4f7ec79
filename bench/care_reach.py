"""How long a hub booking takes to reach the centre, over a real sync on loopback.

    .venv/bin/python bench/care_reach.py [--interval 2] [--bookings 10] [--cuts 6,20]

A real hub (`linli serve --role hub`) and a real `linli demo` centre (`linli serve
--role centre --sync-interval I`), the centre's link to the hub through a fault proxy
in this process. The 12349 desk books for 王秀英 through the hub's pages (sign-in,
CSRF, form post), as an operator does; the booking is a `care_book` command at the
hub. Figures, from the moment the hub answered the booking's post:

- link up: until the centre applied the command (its result row is in the centre's
  database), and until the hub holds the centre's answer (the booking the family and
  the desk then see as 待确认); `--bookings` of them, spaced at random within an
  interval so they fall anywhere in the centre's sync cycle;
- link cut for S seconds (each of `--cuts`), one booking made while it is cut: from
  the moment the link heals until the centre applied it. The issue's goal: within one
  sync interval after the link comes back. The centre backs off while its syncs fail
  (the interval doubled per failure, up to 60 s), which this measures on purpose.

Times are read by polling both SQLite files read-only every 5 ms (5 ms resolution).
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from _load import LINLI, Bench, free_port, wait_ready  # noqa: E402
from sync_fixtures import FaultProxy  # noqa: E402

TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
POLL_S = 0.005


def linli(*args: str) -> str:
    return subprocess.run(
        [LINLI, *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def one(db: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def until(db: Path, sql: str, params: tuple[Any, ...], timeout: float) -> float:
    """perf_counter() when `sql` first finds a row."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if one(db, sql, params):
                return time.perf_counter()
        except sqlite3.OperationalError:  # a writer holds the file for a moment
            pass
        time.sleep(POLL_S)
    raise SystemExit(f"not within {timeout:.0f} s: {sql} {params}")


class Desk:
    """The 12349 desk as an operator uses it: the hub's pages over HTTP."""

    def __init__(self, hub_url: str, hub_db: Path, elder: str, service: str) -> None:
        self.client = httpx.Client(base_url=hub_url, timeout=10)
        self.hub_db, self.elder, self.service = hub_db, elder, service
        self.n = 0
        self._post("/hub/login", {"name": "12349bench", "password": "bench-pass"}, "/hub/login")

    def _post(self, path: str, data: dict[str, Any], page: str) -> httpx.Response:
        token = TOKEN.search(self.client.get(page).text)
        assert token, page
        return self.client.post(path, data={**data, "_csrf_token": token.group(1)})

    def book(self) -> tuple[str, float]:
        """One booking (each on its own day, so none clashes); its command id and the
        perf_counter() when the hub had answered the post."""
        self.n += 1
        marker = f"bench-{self.n}-{random.random():.9f}"
        page = f"/hub/hotline/elders/{self.elder}"
        form = {
            "caller": "王明",
            "caller_relation": "儿子",
            "callback_phone": "13912345678",
            "service_id": self.service,
            "day": (date.today() + timedelta(days=self.n)).isoformat(),
            "start": "15:00",
            "note": marker,
        }
        token = TOKEN.search(self.client.get(page).text)
        assert token, page
        r = self.client.post(f"{page}/book", data={**form, "_csrf_token": token.group(1)})
        done = time.perf_counter()
        assert r.status_code == 303, (r.status_code, r.text[:300])
        found = one(
            self.hub_db,
            "SELECT id FROM sync_commands WHERE name = 'care_book' AND args LIKE ?",
            (f"%{marker}%",),
        )
        assert found, marker
        return str(found[0]), done


def fmt(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"min {ordered[0]:.2f}  median {statistics.median(ordered):.2f}  "
        f"p95 {p95:.2f}  max {ordered[-1]:.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval", type=float, default=2.0, help="the centre's sync interval, s")
    ap.add_argument("--bookings", type=int, default=10, help="bookings with the link up")
    ap.add_argument("--cuts", default="6,20", help="link cut lengths, s, comma-separated")
    opts = ap.parse_args()
    cuts = [float(c) for c in opts.cuts.split(",") if c.strip()]
    interval = opts.interval
    with Bench("care-reach") as bench:
        hub_db, db = bench.tmp / "hub.db", bench.tmp / "centre.db"
        enrolled = linli("hub", "add-centre", "--db", str(hub_db), "--name", "金沙路")
        linli(
            "hub", "add-operator", "--db", str(hub_db), "--name", "12349bench",
            "--password", "bench-pass", "--role", "hotline",
        )  # fmt: skip
        linli("demo", "--db", str(db))
        site = re.search(r"site id: (\S+)", enrolled)
        token = re.search(r"token: (\S+)", enrolled)
        assert site and token, enrolled
        hub_port, port = free_port(), free_port()
        hub = bench.start_server(
            [LINLI, "serve", "--role", "hub", "--db", str(hub_db), "--host", "127.0.0.1",
             "--port", str(hub_port), "--log-level", "warning"],
            log_name="hub",
        )  # fmt: skip
        wait_ready(hub_port, hub)
        proxy = FaultProxy(hub_port, rate=0.0, kinds=("drop_before",))
        try:
            linli("centre", "join", "--db", str(db), "--hub", proxy.url, "--token", token[1])
            centre = bench.start_server(
                [LINLI, "serve", "--role", "centre", "--db", str(db), "--host", "127.0.0.1",
                 "--port", str(port), "--sync-interval", str(interval), "--log-level", "warning"],
                cpu=1,
                log_name="centre",
            )  # fmt: skip
            wait_ready(port, centre)
            elder = one(db, "SELECT id FROM care_recipients WHERE name = '王秀英'")[0]
            until(hub_db, "SELECT 1 FROM care_recipients WHERE id = ?", (elder,), 60)
            service = one(
                hub_db,
                "SELECT id FROM care_services WHERE site_id = ? AND name = '陪聊'",
                (site[1],),
            )[0]
            desk = Desk(f"http://127.0.0.1:{hub_port}", hub_db, elder, service)
            print(
                f"hub and centre on loopback, centre sync interval {interval:g} s "
                f"(the shipped default is 15 s); the centre's link goes through a proxy"
            )

            reach, answer = [], []
            for _ in range(opts.bookings):
                time.sleep(random.uniform(0, interval))
                command, t0 = desk.book()
                seen = until(db, "SELECT 1 FROM sync_command_results WHERE id = ?", (command,), 120)
                back = until(
                    hub_db, "SELECT 1 FROM care_bookings WHERE request_id = ?", (command,), 120
                )
                reach.append(seen - t0)
                answer.append(back - t0)
            refused = one(
                db, "SELECT COUNT(*) FROM sync_command_results WHERE outcome = 'refused'"
            )[0]
            print(f"link up, {opts.bookings} bookings ({refused} refused by the centre):")
            print(f"  hub booking -> applied at the centre:          {fmt(reach)}")
            print(f"  hub booking -> centre's answer back at the hub: {fmt(answer)}")
            print(
                f"  in sync intervals: median {statistics.median(reach) / interval:.2f} to "
                f"the centre, {statistics.median(answer) / interval:.2f} back at the hub"
            )

            worst = 0.0
            for cut in cuts:
                proxy.rate = 1.0
                time.sleep(cut / 2)
                command, _ = desk.book()
                time.sleep(cut / 2)
                proxy.rate = 0.0
                healed = time.perf_counter()
                seen = until(db, "SELECT 1 FROM sync_command_results WHERE id = ?", (command,), 180)
                back = until(
                    hub_db, "SELECT 1 FROM care_bookings WHERE request_id = ?", (command,), 180
                )
                worst = max(worst, seen - healed)
                print(
                    f"link cut {cut:g} s ({proxy.faults['drop_before']} requests dropped so "
                    f"far), booked while cut: link back -> applied at the centre "
                    f"{seen - healed:.2f} s = {(seen - healed) / interval:.2f} intervals; "
                    f"answer back at the hub {back - healed:.2f} s"
                )
            verdict = "PASS" if worst <= interval else "FAIL"
            print(
                f"\n  {verdict}  a hub booking reaches the centre within one sync interval "
                f"after the link comes back: worst {worst:.2f} s (interval {interval:g} s)"
            )
        finally:
            proxy.close()


if __name__ == "__main__":
    main()
