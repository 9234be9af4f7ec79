"""End to end over real sockets: the real hub and three real centre servers.

Everything runs the way it runs in the field: `linli serve --role hub` and three
`linli serve --role centre` processes, each centre made with `linli demo`, given
an API token with `linli staff add --token`, enrolled with
`linli hub add-centre` and `linli centre join` (which re-owns the demo box's rows). Each
centre's link to the hub goes through our fault-injecting proxy (drop before
forwarding, drop the reply after the hub committed, 502, delay, truncated reply,
reset; >= 30 % of sync requests faulted).

A fixed number of random operations (the same on a fast or a busy machine) go
through the same JSON API the tablets use (/api/v1: orders created with an
Idempotency-Key, packed, picked up with weights and payment, cancelled) and
through the hub operators' API (/hub/api/v1: cancel commands, catalog creates
and edits). A centre and then the hub are killed with SIGKILL mid-run and
restarted; requests that got no answer are retried with the same
Idempotency-Key, as a tablet does. Then the links heal, and:

- every replica agrees on every row it shares (canonical hash per table);
- nothing lost: every order a centre acknowledged is at the hub, once, and
  the hub holds every change of every centre's log;
- nothing doubled: one order per Idempotency-Key, one payment per pickup;
- every hub command has an outcome, and a cancel never undid a pickup.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LINLI, Procs, free_port, grab, linli_many
from sync_fixtures import FaultProxy, canonical, count

SYNC_INTERVAL_S = "0.3"
FAULT_RATE = 0.45
# The faulty phase is a fixed amount of work, not a time: each of two tablets per centre
# takes this many steps, and the hub operator one step per share of their progress.
# 90 steps (540 in all; it was 150) keep every fault kind of the proxy, both kill -9s
# (at the same shares of the run), double taps, replays and every check below with room
# to spare (about 100 hand-overs for the 60 asked, the hub's 120 steps unchanged: its
# cancels and catalog edits are as many as before, only denser); they repeat less.
STEPS_PER_TABLET = 90
HUB_STEPS = 120
HEAL_TIMEOUT_S = 60.0
# The kills happen at a share of the tablets' steps, not at a time.
KILL_CENTRE_AT, KILL_HUB_AT, DOWN_S = 0.3, 0.6, 1.5
OPERATOR = ("op", "password1")


def _withdrawn(doc: dict[str, Any], lines: str) -> bool:
    """A 400 that says a line's product is gone (the hub withdrew it): `items[2]: no
    product '01J…'` on field `items[2].product_id` (`lines` for a walk-in sale)."""
    found = re.fullmatch(rf"{lines}\[(\d+)\]: no product '[0-9A-Z]+'", doc.get("detail", ""))
    return (
        doc.get("error") == "bad_request"
        and found is not None
        and doc.get("field") == f"{lines}[{found.group(1)}].product_id"
    )


def _ended_as(doc: dict[str, Any], what: str) -> str:
    """The status a 409 says the order ended in (`order is cancelled; it cannot become
    packed`), or "" when the refusal says anything else."""
    found = re.fullmatch(rf"order is (\w+); it cannot become {what}", doc.get("detail", ""))
    return found.group(1) if doc.get("error") == "conflict" and found else ""


@dataclass
class Box:
    """One centre: its database, server port, proxy, API token and what we did to it."""

    name: str
    db: Path
    port: int
    proxy: FaultProxy
    site_id: str = ""
    token: str = ""
    products: list[dict[str, Any]] = field(default_factory=list)
    households: list[dict[str, Any]] = field(default_factory=list)
    # Idempotency-Key -> order id, for every create the centre answered.
    acked: dict[str, str] = field(default_factory=dict)
    # Creates that got no answer (killed centre, cut connection): retried as-is.
    unanswered: dict[str, dict[str, Any]] = field(default_factory=dict)
    open_orders: dict[str, str] = field(default_factory=dict)  # id -> placed | packed
    picked_up: set[str] = field(default_factory=set)
    walkins: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> sale id
    days: set[str] = field(default_factory=set)
    up: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Driver:
    """Random operations on the centres' tablet API and the hub's operator API."""

    def __init__(
        self, boxes: list[Box], hub_url: str, procs: Procs, hub_db: Path, seed: int
    ) -> None:
        self.boxes = boxes
        self.hub_url = hub_url
        self.procs = procs
        self.hub_db = hub_db
        self.rng = random.Random(seed)
        self.ops: Counter[str] = Counter()
        self.steps = 0  # tablet steps taken (unreachable attempts included)
        self.planned = 0  # tablet steps the run will take in all
        self.hub_up = True
        self.hub_token = ""
        self.catalog: list[str] = []

    # --- centres --------------------------------------------------------------------
    async def centre_worker(self, client: httpx.AsyncClient, box: Box, steps: int) -> None:
        rng = random.Random(self.rng.random())
        last_refresh = 0.0
        for _ in range(steps):
            while not box.up:
                await asyncio.sleep(0.05)
            self.steps += 1
            try:
                if time.monotonic() - last_refresh > 1.5 or not box.products:
                    await self._refresh_products(client, box)
                    last_refresh = time.monotonic()
                if box.unanswered:
                    key, body = box.unanswered.popitem()
                    await self._create(client, box, key, body)
                    continue
                roll = rng.random()
                if roll < 0.45 or not box.open_orders:
                    await self._create(
                        client,
                        box,
                        str(uuid.uuid4()),
                        self._order_body(rng, box),
                        taps=2 if rng.random() < 0.03 else 1,
                    )
                elif roll < 0.5:
                    await self._walkin(client, box, rng)
                elif roll < 0.55:
                    await self._weigh(client, box, rng)
                elif roll < 0.68:
                    await self._move(client, box, rng, "packed")
                elif roll < 0.88:
                    await self._pickup(client, box, rng)
                elif roll < 0.95:
                    await self._move(client, box, rng, "cancel")
                else:
                    day = rng.choice(sorted(box.days)) if box.days else "2030-01-07"
                    r = await client.get(
                        f"{box.url}/api/v1/orders", headers=box.auth, params={"pickup_date": day}
                    )
                    assert r.status_code == 200, r.text
                    self.ops["list"] += 1
            except httpx.TransportError:
                self.ops["centre_unreachable"] += 1
                await asyncio.sleep(0.05)

    async def _refresh_products(self, client: httpx.AsyncClient, box: Box) -> None:
        r = await client.get(f"{box.url}/api/v1/products", headers=box.auth)
        assert r.status_code == 200, r.text
        box.products = r.json()
        self.ops["products"] += 1

    def _order_body(self, rng: random.Random, box: Box) -> dict[str, Any]:
        items = []
        for p in rng.sample(box.products, min(len(box.products), rng.randint(1, 3))):
            if p["sold_by"] == "weight":
                items.append({"product_id": p["id"], "quantity": rng.choice([0.5, 1, 2, 3])})
            else:
                items.append(
                    {
                        "product_id": p["id"],
                        "quantity": rng.randint(1, 3),
                        "unit": "份" if p["sold_by"] == "bundle" else None,
                    }
                )
        n = rng.randint(0, 59)
        household = {
            "name": f"{rng.choice('王李张赵刘陈')}{n}",
            "phone": f"139{n:08d}",
            "building": str(n % 9 + 1),
            "unit": "1",
            "room": f"{n % 6 + 1}01",
        }
        return {
            "items": items,
            "household": household,
            "channel": rng.choice(["wechat", "tablet", "hotline"]),
        }

    async def _create(
        self, client: httpx.AsyncClient, box: Box, key: str, body: dict[str, Any], *, taps: int = 1
    ) -> None:
        """POST an order; `taps` > 1 sends the same request that many times at once."""
        try:
            answers = await asyncio.gather(
                *[
                    client.post(
                        f"{box.url}/api/v1/orders",
                        json=body,
                        headers={**box.auth, "Idempotency-Key": key},
                    )
                    for _ in range(taps)
                ]
            )
        except httpx.TransportError:
            box.unanswered[key] = body  # no answer: the tablet retries with the same key
            raise
        if taps > 1:
            self.ops["create_double_tap"] += 1
        if any(r.status_code == 400 for r in answers):
            # A product the hub just withdrew: every tap is refused, for that reason only
            # (the first to run decides; a later one replays or meets the same catalog).
            for r in answers:
                assert r.status_code == 400, r.text
                assert _withdrawn(r.json(), "items"), r.text
            self.ops["create_refused"] += 1
            return
        for r in answers:
            assert r.status_code in (200, 201), r.text
            # 201 makes the order; a replay of its key answers 200 with replayed: true
            assert r.json()["replayed"] is (r.status_code == 200), r.text
        assert sum(r.status_code == 201 for r in answers) <= 1
        ids = {r.json()["id"] for r in answers}
        assert len(ids) == 1, f"one Idempotency-Key, orders {ids}"
        doc = answers[0].json()
        if key in box.acked:
            assert box.acked[key] == doc["id"], "one Idempotency-Key, two orders"
        box.acked[key] = doc["id"]
        box.open_orders[doc["id"]] = "placed"
        box.days.add(doc["pickup_date"])
        self.ops["create"] += 1
        self.ops["create_replayed"] += sum(bool(a.json().get("replayed")) for a in answers)

    async def _move(
        self, client: httpx.AsyncClient, box: Box, rng: random.Random, what: str
    ) -> None:
        order_id = rng.choice(list(box.open_orders))
        if what == "packed":
            r = await client.post(
                f"{box.url}/api/v1/orders/{order_id}/status",
                json={"status": "packed"},
                headers=box.auth,
            )
        else:
            r = await client.post(f"{box.url}/api/v1/orders/{order_id}/cancel", headers=box.auth)
        if r.status_code == 409:
            # Ended meanwhile: a hub cancel got there first, or a hand-over whose reply
            # was lost. The refusal names the status it ended in, and nothing else.
            ended = _ended_as(r.json(), "packed" if what == "packed" else "cancelled")
            assert ended in ("cancelled", "picked_up", "delivered"), r.text
            box.open_orders.pop(order_id, None)
            self.ops[f"{what}_conflict" if ended == "cancelled" else f"{what}_after_handover"] += 1
            return
        assert r.status_code == 200, r.text
        status = r.json()["status"]
        if status in ("placed", "packed"):
            box.open_orders[order_id] = status
        else:
            box.open_orders.pop(order_id, None)
        self.ops[what] += 1

    async def _walkin(self, client: httpx.AsyncClient, box: Box, rng: random.Random) -> None:
        lines = []
        for p in rng.sample(box.products, min(len(box.products), rng.randint(1, 2))):
            if p["sold_by"] == "weight":
                lines.append(
                    {"product_id": p["id"], "quantity": rng.randint(100, 2000), "unit": "g"}
                )
            else:
                lines.append(
                    {
                        "product_id": p["id"],
                        "quantity": rng.randint(1, 2),
                        "unit": "份" if p["sold_by"] == "bundle" else None,
                    }
                )
        key = str(uuid.uuid4())
        for _ in range(2 if rng.random() < 0.2 else 1):  # a double tap counts once
            r = await client.post(
                f"{box.url}/api/v1/walkin",
                headers={**box.auth, "Idempotency-Key": key},
                json={"lines": lines, "method": "cash"},
            )
            if r.status_code == 400:  # withdrawn by the hub meanwhile, and only that
                assert _withdrawn(r.json(), "lines"), r.text
                return
            assert r.status_code in (200, 201), r.text
            box.walkins.setdefault(key, r.json()["sale_id"])
            assert box.walkins[key] == r.json()["sale_id"]
            self.ops["walkin_replayed" if r.json()["replayed"] else "walkin"] += 1

    async def _weigh(self, client: httpx.AsyncClient, box: Box, rng: random.Random) -> None:
        order_id = rng.choice(list(box.open_orders))
        r = await client.get(f"{box.url}/api/v1/orders/{order_id}", headers=box.auth)
        assert r.status_code == 200, r.text
        weights = [
            {"item_id": i["id"], "grams": rng.randint(200, 1500)}
            for i in r.json()["items"]
            if i["sold_by"] == "weight"
        ]
        if not weights:
            return
        r = await client.post(
            f"{box.url}/api/v1/orders/{order_id}/weights",
            headers=box.auth,
            json={"weights": weights},
        )
        if r.status_code == 409:  # ended meanwhile (a hub cancel), and only that
            found = re.fullmatch(
                r"order is (\w+); weights can no longer change", r.json()["detail"]
            )
            assert found and found.group(1) in ("cancelled", "picked_up", "delivered"), r.text
            box.open_orders.pop(order_id, None)
            return
        assert r.status_code == 200, r.text
        self.ops["weigh"] += 1

    async def _pickup(self, client: httpx.AsyncClient, box: Box, rng: random.Random) -> None:
        order_id = rng.choice(list(box.open_orders))
        r = await client.get(f"{box.url}/api/v1/orders/{order_id}", headers=box.auth)
        assert r.status_code == 200, r.text
        order = r.json()
        if order["status"] not in ("placed", "packed"):
            box.open_orders.pop(order_id, None)
            return
        weights = [
            {
                "item_id": i["id"],
                "grams": max(50, i["quantity"] + rng.randint(-80, 80))
                if i["qty_unit"] == "g"
                else rng.randint(200, 900),
            }
            for i in order["items"]
            if i["sold_by"] == "weight"
        ]
        body = {
            "method": rng.choice(["cash", "wechat"]),
            "amount_fen": rng.randint(0, 6000),
            "weights": weights,
            "on_credit": True,  # a random amount may be short: "pay next time"
        }
        for attempt in range(2):  # a lost reply: the desk taps again
            try:
                r = await client.post(
                    f"{box.url}/api/v1/orders/{order_id}/pickup", json=body, headers=box.auth
                )
                break
            except httpx.TransportError:
                if attempt or not box.up:
                    raise
        if r.status_code == 409:  # cancelled by a hub command meanwhile, and only that
            assert r.json()["detail"] == "order is cancelled; it cannot be handed over", r.text
            box.open_orders.pop(order_id, None)
            self.ops["pickup_conflict"] += 1
            return
        assert r.status_code == 200, r.text
        box.open_orders.pop(order_id, None)
        box.picked_up.add(order_id)
        self.ops["pickup"] += 1

    # --- hub operators -------------------------------------------------------------------
    async def hub_worker(self, client: httpx.AsyncClient, steps: int) -> None:
        """One operator step per 1/steps of the tablets' progress, whatever the speed."""
        rng = random.Random(self.rng.random())
        done = 0
        while done < steps:
            await asyncio.sleep(0.01)
            if not self.hub_up or done * self.planned > self.steps * steps:
                continue
            done += 1
            try:
                if not self.hub_token:
                    r = await client.post(
                        f"{self.hub_url}/hub/api/v1/token",
                        json={"name": OPERATOR[0], "password": OPERATOR[1]},
                    )
                    assert r.status_code == 200, r.text
                    self.hub_token = r.json()["token"]
                auth = {"Authorization": f"Bearer {self.hub_token}"}
                roll = rng.random()
                if roll < 0.35:
                    await self._catalog_edit(client, rng, auth)
                elif roll < 0.45:
                    await self._calendar_command(client, rng, auth)
                else:
                    await self._hub_cancel(client, rng, auth)
            except httpx.TransportError:
                self.ops["hub_unreachable"] += 1

    async def _catalog_edit(
        self, client: httpx.AsyncClient, rng: random.Random, auth: dict[str, str]
    ) -> None:
        if rng.random() < 0.3 or not self.catalog:
            sold_by = rng.choice(["weight", "piece", "bundle"])
            body: dict[str, Any] = {
                "name": f"区{rng.randint(1, 9999)}",
                "sold_by": sold_by,
                "price_fen": rng.randint(50, 900),
                "category": "区配送",
                "confirm_duplicate": True,  # 区12 and 区123 are "likely the same"
            }
            if sold_by == "bundle":
                body["bundle_size"] = 5
            r = await client.post(f"{self.hub_url}/hub/api/v1/products", headers=auth, json=body)
            assert r.status_code == 200, r.text
            self.catalog.append(r.json()["id"])
            self.ops["hub_product_create"] += 1
            return
        fields: dict[str, Any] = {"price_fen": rng.randint(50, 900)}
        if rng.random() < 0.3:
            fields["name"] = f"区{rng.randint(1, 9999)}"
        if rng.random() < 0.15:
            fields["active"] = rng.random() < 0.5
        r = await client.post(
            f"{self.hub_url}/hub/api/v1/products/{rng.choice(self.catalog)}",
            headers=auth,
            json=fields,
        )
        assert r.status_code == 200, r.text
        self.ops["hub_product_edit"] += 1

    async def _calendar_command(
        self, client: httpx.AsyncClient, rng: random.Random, auth: dict[str, str]
    ) -> None:
        """Calendars belong to their centre: the hub changes one by command."""
        box = rng.choice(self.boxes)
        if rng.random() < 0.5:
            body = {
                "site_id": box.site_id,
                "name": "add_calendar_exception",
                "args": {
                    "day": f"2031-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    "kind": rng.choice(["closed", "extra"]),
                    "note": "区里安排",
                },
            }
        else:  # the same delivery days, another pickup window: orders keep their day
            body = {
                "site_id": box.site_id,
                "name": "set_calendar",
                "args": {
                    "weekdays": [0, 2, 4],
                    "cutoff": "20:00",
                    "pickup_hours": rng.choice(["07:00-11:00", "08:00-12:00"]),
                },
            }
        r = await client.post(f"{self.hub_url}/hub/api/v1/commands", headers=auth, json=body)
        assert r.status_code == 200, r.text
        self.ops["hub_calendar"] += 1

    async def _hub_cancel(
        self, client: httpx.AsyncClient, rng: random.Random, auth: dict[str, str]
    ) -> None:
        days = sorted(set().union(*(b.days for b in self.boxes)))
        if not days:
            return
        status = rng.choice(["placed", "placed", "packed", "picked_up"])
        r = await client.get(
            f"{self.hub_url}/hub/api/v1/orders",
            headers=auth,
            params={"day": rng.choice(days), "status": status},
        )
        assert r.status_code == 200, r.text
        found = r.json()["orders"]
        for o in rng.sample(found, min(len(found), 2)):
            try:
                r = await client.post(
                    f"{self.hub_url}/hub/api/v1/orders/{o['id']}/cancel", headers=auth
                )
            except httpx.TransportError:
                # The hub was killed mid-request: the command may or may not be written.
                self.ops["hub_cancel_unanswered"] += 1
                raise
            assert r.status_code == 200, r.text
            self.ops["hub_cancel"] += 1

    # --- chaos ---------------------------------------------------------------------------
    async def _progress(self, share: float) -> None:
        while self.steps < share * self.planned:
            await asyncio.sleep(0.02)

    async def chaos(self) -> None:
        c1 = self.boxes[1]
        await self._progress(KILL_CENTRE_AT)
        self.procs.kill9(c1.name)  # mid-request and mid-sync: it syncs every 0.3 s
        c1.up = False
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(self._start_centre, c1)
        c1.up = True
        await self._progress(KILL_HUB_AT)
        self.procs.kill9("hub")
        self.hub_up = False
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(self._start_hub)
        self.hub_token = ""  # sign in again, as an operator would (sessions outlive restarts)
        self.hub_up = True
        self.ops["kill9"] += 2

    def _start_hub(self) -> None:
        port = self.hub_url.rsplit(":", 1)[1]
        self.procs.start("hub", "--role", "hub", "--db", str(self.hub_db), "--port", port)
        self.procs.wait_healthy("hub", self.hub_url)

    def _start_centre(self, box: Box) -> None:
        self.procs.start(
            box.name,
            "--role",
            "centre",
            "--db",
            str(box.db),
            "--port",
            str(box.port),
            "--sync-interval",
            SYNC_INTERVAL_S,
        )
        self.procs.wait_healthy(box.name, box.url)

    async def run(self, steps_per_tablet: int, hub_steps: int) -> None:
        limits = httpx.Limits(max_connections=20)
        tablets = [b for b in self.boxes for _ in range(2)]
        self.planned = steps_per_tablet * len(tablets)
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            tasks = [self.centre_worker(client, b, steps_per_tablet) for b in tablets]
            tasks += [self.hub_worker(client, hub_steps), self.chaos()]
            await asyncio.gather(*tasks)
            # Whatever got no answer is retried now with its key, as a tablet does.
            for box in self.boxes:
                while box.unanswered:
                    key, body = box.unanswered.popitem()
                    await self._create(client, box, key, body)


# --- checks ---------------------------------------------------------------------------------


def _query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


HUB_OWNED = ("products", "sync_commands")


def _replica_views(hub_db: Path, box: Box, hub_site: str) -> tuple[Any, Any]:
    """(centre's view, hub's view) of every row the two share."""
    own = {box.site_id}
    centre = canonical(box.db, site_ids=own)
    hub = canonical(hub_db, site_ids=own)
    c_hub = canonical(box.db, site_ids={hub_site}, target_site=box.site_id)
    h_hub = canonical(hub_db, site_ids={hub_site}, target_site=box.site_id)
    return ((centre, {t: c_hub[t] for t in HUB_OWNED}), (hub, {t: h_hub[t] for t in HUB_OWNED}))


def _all_agree(hub_db: Path, boxes: list[Box], hub_site: str) -> bool:
    try:
        for box in boxes:
            mine, theirs = _replica_views(hub_db, box, hub_site)
            if mine != theirs:
                return False
        pending = count(
            hub_db,
            "SELECT COUNT(*) FROM sync_commands m LEFT JOIN"
            " sync_command_results r ON r.id = m.id WHERE r.id IS NULL",
        )
        return pending == 0
    except sqlite3.Error:  # a file mid-checkpoint: look again
        return False


def _diff(hub_db: Path, boxes: list[Box], hub_site: str) -> str:
    lines = []
    for box in boxes:
        mine, theirs = _replica_views(hub_db, box, hub_site)
        lines.append(f"{box.name}: centre {mine}\n{'':>{len(box.name)}}  hub    {theirs}")
    return "\n".join(lines)


@pytest.mark.timeout(420)
def test_real_hub_and_three_real_centres_converge_through_faults_and_kill9(tmp_path: Path) -> None:
    t0 = time.monotonic()
    hub_db = tmp_path / "hub.db"
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    seed = int(os.environ.get("LINLI_E2E_SEED", "31"))  # replay a failing run
    boxes = [
        Box(
            f"c{i}",
            tmp_path / f"c{i}.db",
            free_port(),
            FaultProxy(hub_port, rate=0.0, seed=seed + i),
        )
        for i in range(3)
    ]
    procs = Procs(tmp_path)
    driver = Driver(boxes, hub_url, procs, hub_db, seed=seed)
    try:
        # Set up with the real commands: the hub enrols, each box is a demo centre
        # with its own API token, then joins the hub through its (healthy) proxy.
        outs = linli_many(
            [
                [
                    "hub",
                    "add-operator",
                    "--db",
                    str(hub_db),
                    "--name",
                    OPERATOR[0],
                    "--password",
                    OPERATOR[1],
                ],
                *[
                    ["hub", "add-centre", "--db", str(hub_db), "--name", f"社区 {b.name}"]
                    for b in boxes
                ],
            ],
            *[
                [
                    ["demo", "--db", str(b.db)],
                    [
                        "staff",
                        "add",
                        "--db",
                        str(b.db),
                        "--name",
                        "平板",
                        "--role",
                        "staff",
                        "--pin",
                        "2468",
                        "--token",
                    ],
                ]
                for b in boxes
            ],
        )
        issued = re.findall(r"site id: (\S+)\ntoken: (\S+)", outs[0])
        assert len(issued) == 3
        for box, (site_id, _), out in zip(boxes, issued, outs[1:], strict=True):
            box.site_id = site_id
            box.token = grab(r"API token: (\S+)", out)
        driver._start_hub()
        linli_many(
            *[
                [["centre", "join", "--db", str(b.db), "--hub", b.proxy.url, "--token", token]]
                for b, (_, token) in zip(boxes, issued, strict=True)
            ]
        )
        for box in boxes:
            driver._start_centre(box)
            box.up = True
            box.proxy.rate = FAULT_RATE
        hub_site = _query(hub_db, "SELECT value FROM meta WHERE key = 'site_id'")[0][0]
        setup_s = time.monotonic() - t0

        run_started = time.monotonic()
        asyncio.run(driver.run(STEPS_PER_TABLET, HUB_STEPS))
        run_s = time.monotonic() - run_started

        # The faulted share is measured over the faulty phase, then the links heal.
        requests = sum(b.proxy.requests for b in boxes)
        faulted = sum(sum(b.proxy.faults.values()) for b in boxes)
        kinds = {k: sum(b.proxy.faults[k] for b in boxes) for k in FaultProxy.KINDS}
        for box in boxes:
            box.proxy.rate = 0.0
        heal_started = time.monotonic()
        agreed = False
        while time.monotonic() < heal_started + HEAL_TIMEOUT_S and not agreed:
            time.sleep(0.25)  # about a sync interval (0.3 s); each look reads every replica
            agreed = _all_agree(hub_db, boxes, hub_site)
        heal_s = time.monotonic() - heal_started
        assert agreed, _diff(hub_db, boxes, hub_site)
    finally:
        procs.stop_all()
        for box in boxes:
            box.proxy.close()

    ops = sum(v for k, v in driver.ops.items() if not k.endswith("unreachable"))
    print(
        f"\n{ops} operations {dict(driver.ops)}\n{requests} sync requests through the "
        f"proxies, {faulted} faulted ({faulted / max(requests, 1):.0%}): {kinds}\n"
        f"setup {setup_s:.1f} s, run {run_s:.1f} s, healed in {heal_s:.1f} s, "
        f"total {time.monotonic() - t0:.1f} s"
    )
    assert faulted / requests >= 0.30 and all(v > 0 for v in kinds.values()), kinds
    assert driver.steps == driver.planned == 6 * STEPS_PER_TABLET, driver.ops
    assert driver.ops["kill9"] == 2, driver.ops
    assert driver.ops["hub_cancel"] >= 20 and driver.ops["hub_product_edit"] >= 10
    assert driver.ops["pickup"] >= 60 and driver.ops["create_replayed"] >= 1, driver.ops

    for box in boxes:
        # Nothing lost: every acknowledged order is at the hub; the hub holds the whole log.
        at_hub = dict(
            _query(
                hub_db,
                "SELECT idempotency_key, id FROM orders WHERE site_id = ?"
                " AND idempotency_key IS NOT NULL",
                (box.site_id,),
            )
        )
        assert {k: at_hub.get(k) for k in box.acked} == box.acked
        assert count(
            hub_db, "SELECT COUNT(*) FROM sync_log WHERE site_id = ?", (box.site_id,)
        ) == count(box.db, "SELECT COUNT(*) FROM changes")
        # Nothing doubled: one order per key, one payment per order, at both ends.
        for db in (box.db, hub_db):
            assert (
                _query(
                    db,
                    "SELECT idempotency_key, COUNT(*) FROM orders WHERE site_id = ?"
                    " AND idempotency_key IS NOT NULL GROUP BY 1 HAVING COUNT(*) > 1",
                    (box.site_id,),
                )
                == []
            )
            assert (
                _query(
                    db,
                    "SELECT order_id, sale_id FROM payments WHERE site_id = ?"
                    " GROUP BY order_id, sale_id HAVING COUNT(*) > 1",
                    (box.site_id,),
                )
                == []
            )
        walkins = dict(
            _query(
                hub_db,
                "SELECT idempotency_key, id FROM walkin_sales WHERE site_id = ?",
                (box.site_id,),
            )
        )
        assert {k: walkins.get(k) for k in box.walkins} == box.walkins
        # A cancel never undid a pickup: every handed-over order stays picked up.
        statuses = dict(
            _query(hub_db, "SELECT id, status FROM orders WHERE site_id = ?", (box.site_id,))
        )
        assert {statuses[o] for o in box.picked_up} <= {"picked_up"}
    assert (
        count(
            hub_db,
            "SELECT COUNT(*) FROM sync_commands m LEFT JOIN sync_command_results r"
            " ON r.id = m.id WHERE m.name != 'cancel_order' AND r.outcome IS NOT 'applied'",
        )
        == 0
    )
    # Every hub command has an outcome; an applied cancel cancelled, a refused one
    # names the status that won (a pickup, never undone).
    outcomes = _query(
        hub_db,
        "SELECT m.id, r.outcome, r.detail, o.status FROM sync_commands m"
        " LEFT JOIN sync_command_results r ON r.id = m.id"
        " LEFT JOIN orders o ON o.id = json_extract(m.args, '$.order_id')"
        " WHERE m.name = 'cancel_order'",
    )
    print("cancel commands:", dict(Counter(f"{o[1]} ({o[3]})" for o in outcomes)))
    answered, unanswered = driver.ops["hub_cancel"], driver.ops["hub_cancel_unanswered"]
    assert answered <= len(outcomes) <= answered + unanswered
    for command_id, outcome, detail, status in outcomes:
        assert outcome in ("applied", "refused"), command_id
        if outcome == "applied":
            assert status == "cancelled", (command_id, detail, status)
        else:
            assert detail == f"order is {status}; it cannot become cancelled", (detail, status)
            assert status in ("picked_up", "delivered", "no_show")


def test_sync_interval_option() -> None:
    from edge.cli import build_parser

    args = build_parser().parse_args(["serve", "--db", "x.db", "--sync-interval", "0.5"])
    assert args.sync_interval == 0.5
    assert build_parser().parse_args(["serve", "--db", "x.db"]).sync_interval == 15.0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--db", "x.db", "--sync-interval", "0"])


@pytest.mark.timeout(120)
def test_a_demo_box_joins_only_with_its_server_stopped_and_then_loses_nothing(
    tmp_path: Path,
) -> None:
    """The regression with real processes: a demo box serving tablets, then joined.

    Before the fix, `linli centre join` re-owned the rows under the running
    server, which went on writing new orders under the old site id: answered
    201, never pushed. Now the join is refused until the server stops.
    """
    hub_db, db = tmp_path / "hub.db", tmp_path / "c.db"
    hub_port, port = free_port(), free_port()
    hub_url, url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{port}"
    procs = Procs(tmp_path)
    try:
        enrolled, made = linli_many(
            [["hub", "add-centre", "--db", str(hub_db), "--name", "金沙路"]],
            [
                ["demo", "--db", str(db)],
                ["staff", "add", "--db", str(db), "--name", "平板", "--pin", "2468", "--token"],
            ],
        )
        token = grab(r"token: (\S+)", enrolled)
        site_id = grab(r"site id: (\S+)", enrolled)
        auth = {"Authorization": "Bearer " + grab(r"API token: (\S+)", made)}
        procs.start("hub", "--role", "hub", "--db", str(hub_db), "--port", str(hub_port))
        serve = ["--role", "centre", "--db", str(db), "--port", str(port), "--sync-interval", "0.2"]
        procs.start("c", *serve)
        procs.wait_healthy("hub", hub_url)
        procs.wait_healthy("c", url)
        join = ["centre", "join", "--db", str(db), "--hub", hub_url, "--token", token]
        refused = subprocess.run([LINLI, *join], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "stop it" in refused.stderr, refused.stderr
        product = httpx.get(f"{url}/api/v1/products", headers=auth).json()[0]["id"]
        body = {
            "items": [{"product_id": product, "quantity": 1}],
            "household": {"name": "王阿姨", "phone": "13812345678"},
        }
        before = httpx.post(
            f"{url}/api/v1/orders", json=body, headers={**auth, "Idempotency-Key": "before"}
        )
        assert before.status_code == 201
        server = procs.procs.pop("c")
        server.terminate()
        server.wait(10)
        linli_many([join])
        procs.start("c", *serve)
        procs.wait_healthy("c", url)
        after = httpx.post(
            f"{url}/api/v1/orders", json=body, headers={**auth, "Idempotency-Key": "after"}
        )
        assert after.status_code == 201
        again = httpx.post(
            f"{url}/api/v1/orders", json=body, headers={**auth, "Idempotency-Key": "before"}
        )
        assert again.json()["id"] == before.json()["id"]  # re-owned, still found by its key
        wanted = {before.json()["id"], after.json()["id"]}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            at_hub = {
                r[0] for r in _query(hub_db, "SELECT id FROM orders WHERE site_id = ?", (site_id,))
            }
            if wanted <= at_hub:
                break
            time.sleep(0.2)
        assert wanted <= at_hub
        assert _query(db, "SELECT DISTINCT site_id FROM orders") == [(site_id,)]
        assert count(hub_db, "SELECT COUNT(*) FROM sync_log") == count(
            db, "SELECT COUNT(*) FROM changes"
        )
    finally:
        procs.stop_all()
