"""Care end to end over real sockets: `linli serve --role hub` and a `linli demo` centre
(`linli serve --role centre`), its link to the hub through the fault proxy, which we
cut and heal on purpose.

A family links to 王秀英 by the printed code and books 陪诊 while the centre is
offline (the booking waits at the hub) -> the link comes back and the centre answers
-> the manager confirms and assigns a volunteer -> the visit is started and done
with the link down again -> the family sees 已完成 and rates it (the rating reaches
the centre). The 12349 hotline books 送餐 Monday to Friday for a caller, and the
centre skips its closed Wednesday. A family cancel after the start is refused, and
the family page says why. The month's statement at the hub balances to the fen and
agrees with the centre's own.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from live_server import Procs, free_port, grab, linli_many
from sync_fixtures import FaultProxy

from edge.domain.care import statement

TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
STAFF_ADD = ("staff", "add", "--name", "站长2", "--pin", "2468")
WITHIN_S = 30.0  # a bound, not a timing assertion: how long a sync may take to show


def _rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _until(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WITHIN_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {WITHIN_S:.0f} s: {what}")


def _post(client: httpx.Client, path: str, data: dict[str, Any], page: str) -> httpx.Response:
    token = TOKEN.search(client.get(page).text)
    assert token, page
    return client.post(path, data={**data, "_csrf_token": token.group(1)})


def _link(proxy: FaultProxy, up: bool) -> None:
    """Cut the centre's link (every sync request dropped) or heal it."""
    proxy.rate = 0.0 if up else 1.0


def _dropped(proxy: FaultProxy, at_least: int) -> None:
    """Until the cut link has dropped `at_least` more sync requests (the centre tried and
    got nothing through), rather than a fixed sleep of a few sync intervals."""
    start = proxy.faults["drop_before"]
    _until(
        f"{at_least} sync requests dropped",
        lambda: proxy.faults["drop_before"] >= start + at_least,
    )


def test_family_hotline_and_centre_through_a_cut_link(tmp_path: Path) -> None:
    hub_db, db = tmp_path / "hub.db", tmp_path / "centre.db"
    hub_port, port = free_port(), free_port()
    hub_url, url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{port}"
    procs = Procs(tmp_path)
    proxy = FaultProxy(hub_port, rate=0.0, kinds=("drop_before",))
    clients = ExitStack()
    try:
        hub_cli = ["hub", "add-operator", "--db", str(hub_db)]
        enrolled, made = linli_many(
            [
                ["hub", "add-centre", "--db", str(hub_db), "--name", "金沙路"],
                [*hub_cli, "--name", "op", "--password", "p" * 8],
                [*hub_cli, "--name", "12349小张", "--password", "h" * 8, "--role", "hotline"],
            ],
            [
                ["demo", "--db", str(db)],
                [*STAFF_ADD, "--db", str(db), "--role", "manager", "--token"],
            ],
        )
        site_id = grab(r"site id: (\S+)", enrolled)
        api = {"Authorization": "Bearer " + grab(r"API token: (\S+)", made)}
        procs.start("hub", "--role", "hub", "--db", str(hub_db), "--port", str(hub_port))
        procs.wait_healthy("hub", hub_url)
        join = ["centre", "join", "--db", str(db), "--hub", proxy.url, "--token"]
        linli_many([[*join, grab(r"token: (\S+)", enrolled)]])
        serve = ["--role", "centre", "--db", str(db), "--port", str(port)]
        procs.start("centre", *serve, "--sync-interval", "0.2")
        procs.wait_healthy("centre", url)
        elder, code = _rows(db, "SELECT id, link_code FROM care_recipients WHERE name = '王秀英'")[
            0
        ]
        _until(
            "the centre's elders at the hub",
            lambda: _rows(hub_db, "SELECT 1 FROM care_recipients WHERE id = ?", (elder,)),
        )
        centre = clients.enter_context(
            httpx.Client(base_url=f"{url}/api/v1/care", headers=api, timeout=10)
        )
        family = clients.enter_context(httpx.Client(base_url=hub_url, timeout=10))
        page = f"/family/elders/{elder}"

        # 1. the family links and books 陪诊 while the centre is offline
        r = _post(
            family,
            "/family/link",
            {
                "code": code,
                "name": "王明",
                "relation": "儿子",
                "phone": "13912345678",
                "password": "mima1234",
            },
            "/family",
        )
        assert r.status_code == 303 and r.headers["location"] == page
        _link(proxy, up=False)
        day = (date.today() + timedelta(days=1)).isoformat()
        escort = _rows(
            hub_db, "SELECT id FROM care_services WHERE site_id = ? AND name = '陪诊'", (site_id,)
        )[0][0]
        r = _post(
            family,
            f"{page}/book",
            {"service_id": escort, "day": day, "start": "09:00", "note": "市立医院"},
            page,
        )
        assert r.status_code == 303
        _dropped(proxy, 2)  # sync requests after the booking, all dropped
        assert "等待服务站接收，自" in family.get(page).text

        # 2. the link comes back: the centre answers with its own booking
        _link(proxy, up=True)
        _until("the centre's answer on the family page", lambda: "待确认" in family.get(page).text)
        assert "等待服务站接收" not in family.get(page).text
        bid = _rows(
            db,
            "SELECT id FROM care_bookings WHERE channel = 'family'"
            " AND recipient_id = ? AND day = ?",
            (elder, day),
        )[0][0]

        # 3. the manager confirms and assigns a volunteer
        volunteer = next(p["id"] for p in centre.get("/providers").json() if p["name"] == "小李")
        assert centre.post(f"/bookings/{bid}/confirm", json={}).json()["status"] == "confirmed"
        assert (
            centre.post(f"/bookings/{bid}/assign", json={"provider_id": volunteer}).json()["status"]
            == "assigned"
        )
        _until("已派人 at the hub", lambda: "已派人" in family.get(page).text)

        # 4. the visit is done with the link down again
        _link(proxy, up=False)
        assert centre.post(f"/bookings/{bid}/start").json()["status"] == "started"
        r = centre.post(f"/bookings/{bid}/finish", json={"minutes": 150, "note": "血压偏高"})
        assert r.json()["status"] == "done"
        _dropped(proxy, 2)
        assert "已完成" not in family.get(page).text

        # 5. back online: the family sees 已完成 and rates it
        _link(proxy, up=True)
        _until("已完成 on the family page", lambda: "已完成" in family.get(page).text)
        assert "血压偏高" not in family.get(page).text  # the visit note is not the family's
        r = _post(
            family, f"{page}/rate", {"booking_id": bid, "rating": "5", "note": "很细心"}, page
        )
        assert r.status_code == 303
        _until(
            "the rating at the centre",
            lambda: _rows(db, "SELECT 1 FROM care_bookings WHERE id = ? AND rating = 5", (bid,)),
        )
        _until("★★★★★ on the family page", lambda: "★★★★★" in family.get(page).text)

        # 6. the hotline books 送餐 Monday to Friday; the centre is closed on Wednesday
        monday = date.today() + timedelta(days=7 - date.today().weekday())
        wednesday = monday + timedelta(days=2)
        r = httpx.post(
            f"{url}/api/v1/calendar/exceptions",
            headers=api,
            json={"day": wednesday.isoformat(), "kind": "closed", "note": "停水"},
        )
        assert r.status_code in (200, 201), r.text
        hotline = clients.enter_context(httpx.Client(base_url=hub_url, timeout=10))
        r = _post(hotline, "/hub/login", {"name": "12349小张", "password": "h" * 8}, "/hub/login")
        assert hotline.get("/hub/orders").headers["location"] == "/hub/hotline"
        assert "王秀英" in hotline.get("/hub/hotline", params={"q": "5678"}).text  # 王明's phone
        meal = _rows(
            hub_db, "SELECT id FROM care_services WHERE site_id = ? AND name = '送餐'", (site_id,)
        )[0][0]
        desk = f"/hub/hotline/elders/{elder}"
        r = _post(
            hotline,
            f"{desk}/book",
            {
                "caller": "王明",
                "caller_relation": "儿子",
                "callback_phone": "13912345678",
                "service_id": meal,
                "day": monday.isoformat(),
                "start": "11:00",
                "weekday": ["0", "1", "2", "3", "4"],
                "until": (monday + timedelta(days=4)).isoformat(),
            },
            desk,
        )
        assert r.status_code == 303
        _until(
            "the series answered",
            lambda: "skipped: " + wednesday.isoformat() in hotline.get(desk).text,
        )

        def four_meals() -> list[sqlite3.Row] | None:
            found = _rows(
                hub_db,
                "SELECT id, day, caller, callback_phone FROM care_bookings"
                " WHERE service_id = ? AND recipient_id = ? ORDER BY day",
                (meal, elder),
            )
            return found if len(found) == 4 else None

        meals = _until("four 送餐 at the hub", four_meals)
        assert wednesday.isoformat() not in [m["day"] for m in meals]
        assert {(m["caller"], m["callback_phone"]) for m in meals} == {("王明", "13912345678")}

        # 7. a family cancel after the visit started (the hub did not know yet) is refused
        first = meals[0]["id"]
        centre.post(f"/bookings/{first}/assign", json={"provider_id": volunteer})
        _until(
            "the meal assigned at the hub",
            lambda: _rows(
                hub_db, "SELECT 1 FROM care_bookings WHERE id = ? AND status = 'assigned'", (first,)
            ),
        )
        _link(proxy, up=False)
        assert centre.post(f"/bookings/{first}/start").json()["status"] == "started"
        r = _post(family, f"{page}/cancel", {"booking_id": first, "reason": "临时有事"}, page)
        assert r.status_code == 303  # the hub thinks it is still assigned: sent
        _link(proxy, up=True)
        refused = _until(
            "the refusal on the family page",
            lambda: "不能取消" in (t := family.get(page).text) and t,
        )
        assert "服务中" in refused
        assert _rows(db, "SELECT status FROM care_bookings WHERE id = ?", (first,))[0][0] == (
            "started"
        )

        # 8. the month's statement at the hub balances to the fen and matches the centre's
        month = day[:7]
        op = clients.enter_context(httpx.Client(base_url=hub_url, timeout=10))
        _post(op, "/hub/login", {"name": "op", "password": "p" * 8}, "/hub/login")
        r = op.get("/hub/care/statement.csv", params={"month": month})
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))[1:]
        total = rows[-1]
        assert total[0] == "total" and int(total[3]) >= 1
        price, charged, subsidy = (int(v) for v in total[13:16])
        assert charged + subsidy == price and price >= 10000  # the 陪诊 at least
        for group in statement.GROUPS:
            lines = [r for r in rows if r[0] == group]
            for col in (3, 4, 5, 7, 8, 13, 14, 15):
                assert sum(int(r[col]) for r in lines) == int(total[col]), (group, col)
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            own = statement.statement(conn, month, {site_id: "金沙路"})
        finally:
            conn.close()
        assert (own["total"].price_fen, own["total"].charged_fen, own["total"].visits) == (
            price,
            charged,
            int(total[3]),
        )
    finally:
        clients.close()
        procs.stop_all()
        proxy.close()
