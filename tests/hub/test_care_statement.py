"""The month's care statement: per elder, service, provider and centre it balances to the
fen (each grouping sums to the total; charged + subsidy = full price); only done visits
are charged, not-at-home ones counted; cancelled visits and other months left out.
Printable and CSV at the centre (the manager only) and at the hub over all centres."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from care_fixtures import MONDAY, Care, open_care_store, seed_care
from centre_world import Centre
from page_forms import sign_in

from edge.domain.care import bookings, statement
from edge.domain.care.bookings import BookingInput
from edge.domain.care.common import Actor
from edge.errors import BadRequest
from edge.store import Store, get_meta

DESK = Actor("站长", None, "manager")
MONTH = MONDAY[:7]  # 2026-11


@pytest.fixture(name="care_store")
def _care_store(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> Iterator[tuple[Store, Care]]:
    yield from open_care_store(tmp_path, centre_template)


def visit(
    store: Store,
    care: Care,
    elder: str,
    service: str,
    *,
    day: str = MONDAY,
    start: str = "09:00",
    outcome: str = "done",
    minutes: int | None = None,
    rating: int | None = None,
    provider: str = "volunteer",
) -> str:
    """Book, assign, start and finish (or cancel) one visit, all at the desk."""
    data = BookingInput(care.elders[elder], care.services[service], day, start)

    def write(tx: Any) -> str:
        bid = bookings.create_booking(tx, data, DESK, allow_clash=True)
        if outcome == "cancelled":
            bookings.cancel(tx, bid, DESK, "不用了")
            return bid
        bookings.assign(tx, bid, care.providers[provider], DESK, allow_clash=True)
        bookings.start(tx, bid, DESK)
        bookings.finish(tx, bid, DESK, outcome=outcome, minutes=minutes)
        if rating:
            bookings.rate(tx, bid, rating, Actor("王明"))
        return bid

    return store.write_sync(write)


def month_of_visits(store: Store, care: Care) -> None:
    """王秀英 is subsidised (陪诊 100.00, she pays 50.00); 张桂兰 is not."""
    visit(store, care, "王秀英", "陪诊", minutes=150, rating=5)
    visit(store, care, "王秀英", "助浴", start="14:00", provider="staff", rating=4)
    visit(store, care, "王秀英", "送餐", day="2026-11-03", outcome="not_at_home")
    visit(store, care, "张桂兰", "陪诊", day="2026-11-10", minutes=200, rating=2)
    visit(store, care, "张桂兰", "陪聊", day="2026-11-11", provider="volunteer2")
    visit(store, care, "张桂兰", "代购", day="2026-11-12", outcome="cancelled")
    visit(store, care, "张桂兰", "陪聊", day="2026-12-01", provider="volunteer2")  # December


def doc_of(store: Store, month: str = MONTH) -> dict[str, Any]:
    def read(conn: Any) -> dict[str, Any]:
        site = get_meta(conn, "site_id")
        return statement.statement(conn, month, {site: "测试站"}, site_id=site)

    return store.read_sync(read)


def test_the_statement_balances_to_the_fen(care_store: tuple[Store, Care]) -> None:
    store, care = care_store
    month_of_visits(store, care)
    doc = doc_of(store)
    t = doc["total"]
    # 陪诊 10000 (王 pays 5000), 助浴 8000 (王 pays 4000), 陪诊 10000, 陪聊 3000 (full)
    assert (t.visits, t.done, t.not_at_home) == (5, 4, 1)
    assert (t.price_fen, t.charged_fen, t.subsidy_fen) == (31000, 22000, 9000)
    assert t.minutes == 150 + 90 + 200 + 60 and t.hours == "8.3"
    assert (t.ratings, t.rating_sum, t.satisfaction) == (3, 11, "3.7")
    assert statement.unbalanced(doc) == []
    by_elder = {ln.name: ln for ln in doc["groups"]["elder"]}
    assert (by_elder["王秀英"].charged_fen, by_elder["王秀英"].subsidy_fen) == (9000, 9000)
    assert (by_elder["王秀英"].visits, by_elder["王秀英"].not_at_home) == (3, 1)
    assert by_elder["张桂兰"].charged_fen == 13000 and by_elder["张桂兰"].subsidy_fen == 0
    by_service = {ln.name: ln for ln in doc["groups"]["service"]}
    assert "代购" not in by_service  # cancelled: no visit
    assert (by_service["送餐"].visits, by_service["送餐"].charged_fen) == (1, 0)
    by_provider = {ln.name: ln for ln in doc["groups"]["provider"]}
    assert by_provider["小李"].satisfaction == "3.5" and by_provider["王姐"].minutes == 90
    assert [ln.name for ln in doc["groups"]["centre"]] == ["测试站"]
    # the check can fail: a grouping that lost a fen, a price that does not split
    doc["groups"]["elder"][0].charged_fen -= 1
    assert statement.unbalanced(doc) == [
        "elder.charged_fen: 21999 != 22000",
        f"{doc['groups']['elder'][0].name}: charged + subsidy != price",
    ]
    assert doc_of(store, "2026-12")["total"].visits == 1


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-11", "", "2026-11-01", "1999-12"])
def test_a_bad_month_names_the_field(month: str) -> None:
    with pytest.raises(BadRequest) as caught:
        statement.month_range(month)
    assert caught.value.field == "month"


def test_the_centre_page_and_csv_are_the_managers(centre: Centre) -> None:
    store = centre.client.app.state.store
    care = seed_care(store, centre.households)
    visit(store, care, "王秀英", "陪诊", minutes=150, rating=5)
    visit(store, care, "张桂兰", "陪聊", provider="volunteer2")
    sign_in(centre.client, "volunteer")
    r = centre.client.get(f"/care/statement?month={MONTH}")
    assert r.status_code == 403
    sign_in(centre.client)
    r = centre.client.get(f"/care/statement?month={MONTH}")
    assert r.status_code == 200 and "月度结算" in r.text and "按服务人员" in r.text
    assert "130.00" in r.text and "50.00" in r.text and "80.00" in r.text  # price, subsidy
    r = centre.client.get(f"/care/statement.csv?month={MONTH}")
    assert r.status_code == 200 and r.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    total = rows[-1]
    assert total[0] == "total" and total[-3:] == ["13000", "8000", "5000"]
    assert total[10:13] == ["130.00", "80.00", "50.00"]
    for group in statement.GROUPS:  # each grouping's charged fen sum to the total's
        assert sum(int(r[14]) for r in rows[1:-1] if r[0] == group) == 8000, group
    r = centre.client.get("/care/statement.csv?month=2026-13")
    assert r.status_code == 400 and "month" in r.text


def test_desk_bookings_keep_the_price_split(care_store: tuple[Store, Care]) -> None:
    """A subsidy turned on after booking does not move a booked price: fixed when booked."""
    store, care = care_store
    visit(store, care, "张桂兰", "助浴", minutes=80)
    store.write_sync(lambda tx: tx.update("care_recipients", care.elders["张桂兰"], {"subsidy": 1}))
    visit(store, care, "张桂兰", "助浴", start="14:00", minutes=80)
    doc = doc_of(store)
    line = next(ln for ln in doc["groups"]["elder"] if ln.name == "张桂兰")
    assert (line.price_fen, line.charged_fen, line.subsidy_fen) == (16000, 12000, 4000)
    assert statement.unbalanced(doc) == []


@pytest.mark.anyio
async def test_the_hub_adds_up_every_centre(tmp_path: Path, hub_target: Path | str) -> None:
    import re

    from care_hub_world import seed
    from sync_fixtures import closing_stores, enrolled, hub_client

    from sync import enrol

    app, (a, b) = enrolled(tmp_path, ["金沙路", "银河路"], hub=hub_target)
    hub_store: Store = app.state.store
    hub_store.write_sync(lambda tx: enrol.add_operator(tx, "op", "password1", "operator"))
    async with hub_client(app) as client:
        with closing_stores(a.store, b.store):
            for centre, minutes in ((a, 150), (b, 170)):
                ids = seed(centre.store)

                def write(tx: Any, ids: dict[str, str] = ids, minutes: int = minutes) -> None:
                    data = BookingInput(ids["elder"], ids["陪诊"], "2030-01-07", "09:00")
                    bid = bookings.create_booking(tx, data, DESK)
                    bookings.assign(tx, bid, ids["volunteer"], DESK)
                    bookings.start(tx, bid, DESK)
                    bookings.finish(tx, bid, DESK, minutes=minutes)

                centre.store.write_sync(write)
                agent = centre.agent(client)
                await agent.sync_once()
            doc = hub_store.read_sync(
                lambda c: statement.statement(
                    c, "2030-01", {a.site_id: "金沙路", b.site_id: "银河路"}
                )
            )
            assert [ln.name for ln in doc["groups"]["centre"]] == ["金沙路", "银河路"]
            assert (doc["total"].visits, doc["total"].price_fen, doc["total"].minutes) == (
                2,
                20000,
                320,
            )
            assert statement.unbalanced(doc) == []
            page = await client.get("/hub/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert token
            await client.post(
                "/hub/login",
                data={"name": "op", "password": "password1", "_csrf_token": token.group(1)},
            )
            r = await client.get("/hub/care/statement?month=2030-01")
            assert r.status_code == 200 and "金沙路" in r.text and "银河路" in r.text
            assert "200.00" in r.text and "5.3" in r.text  # 320 minutes
            r = await client.get(f"/hub/care/statement.csv?month=2030-01&centre={b.site_id}")
            total = r.text.strip().splitlines()[-1].split(",")
            assert total[0] == "total" and total[-3:] == ["10000", "10000", "0"]
            r = await client.get("/hub/care/statement.csv?month=2030-1")
            assert r.status_code == 400 and "month" in r.text
