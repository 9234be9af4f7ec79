"""The 12349 hotline desk on the hub (/hub/hotline), with a real centre syncing in process:
find an elder by name, phone tail (a family member's too) or address; book for a caller
(caller, relation and call-back number reach the centre), a recurring 送餐 skipping the
centre's closed day; the return visit after a finished service, with a complaint; and
the guard that keeps a hotline operator to the desk."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from care_hub_world import DESK
from paths import CHECKOUT
from sync_fixtures import closing_stores, enrolled_with_operators, hub_client

from edge.domain import calendar
from edge.domain.care import bookings, catalog, providers, recipients
from edge.domain.households import HouseholdInput, create_household
from edge.store import Store, Tx
from edge.sync_hooks import make_agent
from sync import schema as sync_schema

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')
MONDAY = date.today() + timedelta(days=7 - date.today().weekday())  # next Monday


def seed(store: Store) -> dict[str, str]:
    def write(tx: Tx) -> dict[str, str]:
        services = catalog.seed_demo(tx)
        home = create_household(
            tx,
            HouseholdInput(name="王秀英", phone="15863219876", building="5", unit="2", room="301"),
        )
        elder = recipients.create_recipient(
            tx,
            home,
            {
                "name": "王秀英",
                "care_notes": "右手无力",
                "subsidy": True,
                "family": [{"name": "王明", "relation": "儿子", "phone": "13912345678"}],
            },
        )
        other = create_household(
            tx, HouseholdInput(name="李大爷", phone="13600001111", building="7")
        )
        recipients.create_recipient(tx, other, {"name": "李建国"})
        volunteer = providers.create_provider(tx, {"name": "小李", "kind": "volunteer"})
        return {**services, "elder": elder, "volunteer": volunteer}

    return store.write_sync(write)


@pytest.fixture
async def world(tmp_path: Path, hub_target: Path | str) -> Any:
    operators = [("12349小张", "password1", "hotline"), ("op", "password2", "operator")]
    app, (centre,) = enrolled_with_operators(tmp_path, ["金沙路"], operators, hub=hub_target)
    hub_store: Store = app.state.store
    async with hub_client(app) as client:
        with closing_stores(centre.store):
            ids = seed(centre.store)
            agent = make_agent(centre.store, client)
            assert agent is not None
            await agent.sync_once()
            yield client, hub_store, centre, agent, ids


async def post(client: Any, path: str, data: dict[str, Any], page: str) -> Any:
    got = await client.get(page)
    token = TOKEN.search(got.text)
    assert token, got.text[:300]
    return await client.post(path, data={**data, "_csrf_token": token.group(1)})


async def sign_in(client: Any, name: str, password: str) -> Any:
    return await post(client, "/hub/login", {"name": name, "password": password}, "/hub/login")


async def test_find_book_for_a_caller_and_a_recurring_meal(world: Any) -> None:
    client, _hub_store, centre, agent, ids = world
    r = await sign_in(client, "12349小张", "password1")
    r = await client.get(r.headers["location"])  # /hub/orders sends the hotline to its desk
    assert r.status_code == 303 and r.headers["location"] == "/hub/hotline"
    for q in ("秀英", "9876", "5678", "5号楼2单元301", "5-2-301"):
        found = await client.get("/hub/hotline", params={"q": q})
        assert "王秀英" in found.text and "李建国" not in found.text, q
    found = await client.get("/hub/hotline", params={"q": "7号楼"})
    assert "李建国" in found.text and "王秀英" not in found.text
    found = await client.get("/hub/hotline", params={"q": "秀英"})
    assert "15863219876" in found.text  # the hotline calls back: phones whole
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    page = await client.get(page_url)
    assert "陪诊" in page.text and "右手无力" not in page.text
    booking = {"service_id": ids["陪诊"], "day": MONDAY.isoformat(), "start": "09:00"}
    r = await post(client, f"{page_url}/book", booking, page_url)
    assert r.status_code == 400 and "来电人" in r.text
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "139 1234 5678"}
    r = await post(client, f"{page_url}/book", {**booking, **call, "note": "市立医院"}, page_url)
    assert r.status_code == 303
    assert "等待服务站接收，自" in (await client.get(page_url)).text
    # a recurring 送餐, Monday to Friday, over a day the centre is closed
    closed = MONDAY + timedelta(days=2)
    centre.store.write_sync(lambda tx: calendar.add_exception(tx, closed, "closed", "停水"))
    meal = {**call, "service_id": ids["送餐"], "day": MONDAY.isoformat(), "start": "11:00"}
    r = await post(client, f"{page_url}/book", {**meal, "weekday": ["0", "1"]}, page_url)
    assert r.status_code == 400 and "截止日期" in r.text
    until = (MONDAY + timedelta(days=4)).isoformat()
    weekdays = ["0", "1", "2", "3", "4"]
    r = await post(
        client, f"{page_url}/book", {**meal, "weekday": weekdays, "until": until}, page_url
    )
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    page = await client.get(page_url)
    assert "等待服务站接收" not in page.text and "待确认" in page.text
    assert f"skipped: {closed.isoformat()}" in page.text
    rows = centre.store.read_sync(
        lambda c: c.execute(
            "SELECT s.name, b.day, b.caller, b.caller_relation, b.callback_phone, b.channel"
            " FROM care_bookings b JOIN care_services s ON s.id = b.service_id ORDER BY b.day"
        ).fetchall()
    )
    assert {tuple(r)[2:] for r in rows} == {("王明", "儿子", "13912345678", "hotline")}
    meals = [r["day"] for r in rows if r["name"] == "送餐"]
    assert len(meals) == 4 and closed.isoformat() not in meals


async def test_the_return_visit_after_a_finished_service(world: Any) -> None:
    client, _hub_store, centre, agent, ids = world
    await sign_in(client, "12349小张", "password1")
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    today = date.today().isoformat()
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "13912345678"}
    booking = {**call, "service_id": ids["陪聊"], "day": today, "start": "08:00"}
    await post(client, f"{page_url}/book", booking, page_url)
    await agent.sync_once()
    bid = centre.store.read_sync(lambda c: c.execute("SELECT id FROM care_bookings").fetchone()[0])
    for step in (
        lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK),
        lambda tx: bookings.start(tx, bid, DESK),
        lambda tx: bookings.finish(tx, bid, DESK, minutes=50),
    ):
        centre.store.write_sync(step)
    returns = await client.get("/hub/hotline/returns")
    assert f'id="r-{bid}"' not in returns.text  # the hub does not know it is done yet
    await agent.sync_once()
    returns = await client.get("/hub/hotline/returns")
    assert f'id="r-{bid}"' in returns.text and "13912345678" in returns.text
    r = await post(
        client, f"/hub/hotline/returns/{bid}", {"satisfaction": "9"}, "/hub/hotline/returns"
    )
    assert r.status_code == 400 and "1 到 5" in r.text
    visit = {"satisfaction": "2", "note": "来晚了", "complaint": "志愿者迟到半小时"}
    r = await post(client, f"/hub/hotline/returns/{bid}", visit, "/hub/hotline/returns")
    assert r.status_code == 303
    returns = await client.get("/hub/hotline/returns")
    assert f'id="r-{bid}"' not in returns.text and "志愿者迟到半小时" in returns.text
    r = await post(client, f"/hub/hotline/returns/{bid}", visit, "/hub/hotline/returns")
    assert r.status_code == 409 and "已回访" in r.text
    # the unrated visit takes the satisfaction as its rating, at the centre
    await agent.sync_once()
    await agent.sync_once()
    rated = centre.store.read_sync(lambda c: bookings.get_booking(c, bid, None))
    assert rated["rating"] == 2 and "12349回访" in rated["rating_note"]


async def test_a_hotline_operator_may_use_the_desk_only(world: Any) -> None:
    client, _hub_store, _centre, _agent, ids = world
    await sign_in(client, "12349小张", "password1")
    for path in ("/hub/orders", "/hub/sync", "/hub/catalog", "/hub/reconciliation", "/"):
        r = await client.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/hub/hotline"), path
    r = await post(client, "/hub/catalog", {"name": "x"}, "/hub/hotline")
    assert r.status_code == 403 and "热线" in r.text
    token = (
        await client.post("/hub/api/v1/token", json={"name": "12349小张", "password": "password1"})
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.get("/hub/api/v1/orders", headers=auth)
    assert r.status_code == 403 and "hotline" in r.json()["detail"]
    r = await client.post("/hub/api/v1/commands", headers=auth, json={})
    assert r.status_code == 403
    # another operator may use the desk too, and sees phones masked there
    await post(client, "/hub/logout", {}, "/hub/hotline")
    await sign_in(client, "op", "password2")
    assert (await client.get("/hub/orders")).status_code == 200
    found = await client.get("/hub/hotline", params={"q": "秀英"})
    assert "158****9876" in found.text and "15863219876" not in found.text
    assert (await client.get(f"/hub/hotline/elders/{ids['elder']}")).status_code == 200


async def test_the_booking_form_takes_one_weekday_or_several_and_keeps_what_was_typed(
    world: Any,
) -> None:
    """One ticked weekday is posted as a single value, several as a list: both reach the
    form's checks (the refusal names what is missing, the page keeps what was typed);
    a weekday out of range is refused naming the field, and nothing is booked."""
    client, hub_store, _centre, _agent, ids = world
    await sign_in(client, "12349小张", "password1")
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "13912345678"}
    meal = {**call, "service_id": ids["送餐"], "day": MONDAY.isoformat(), "start": "11:00"}
    for ticked in ("2", ["2", "3"]):
        r = await post(client, f"{page_url}/book", {**meal, "weekday": ticked}, page_url)
        assert r.status_code == 400 and "重复预约请填写截止日期" in r.text, ticked
        assert 'value="王明"' in r.text and 'value="13912345678"' in r.text
    until = (MONDAY + timedelta(days=4)).isoformat()
    r = await post(client, f"{page_url}/book", {**meal, "weekday": "9", "until": until}, page_url)
    assert r.status_code == 400 and "weekdays must be a whole number from 0 to 6" in r.text
    r = await post(client, f"{page_url}/book", {**meal, "until": until}, page_url)
    assert r.status_code == 400 and "重复预约请勾选星期" in r.text
    client.cookies.set("linli_lang", "en")
    r = await post(client, f"{page_url}/book", {**meal, "caller": " "}, page_url)
    assert r.status_code == 400 and "Who is calling?" in r.text and "来电人" not in r.text
    client.cookies.delete("linli_lang")
    count = hub_store.read_sync(
        lambda c: c.execute(
            "SELECT COUNT(*) FROM sync_commands WHERE name = 'care_book'"
        ).fetchone()
    )
    assert count[0] == 0


async def test_a_complaint_is_followed_up_then_closed(world: Any) -> None:
    """open -> followed up (who, when, what was done) -> closed, forward only; the desk
    lists the complaints not closed yet."""
    client, hub_store, centre, agent, ids = world
    await sign_in(client, "12349小张", "password1")
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "13912345678"}
    booking = {**call, "service_id": ids["陪聊"], "day": date.today().isoformat()}
    await post(client, f"{page_url}/book", {**booking, "start": "08:00"}, page_url)
    await agent.sync_once()
    bid = centre.store.read_sync(lambda c: c.execute("SELECT id FROM care_bookings").fetchone()[0])
    for step in (
        lambda tx: bookings.assign(tx, bid, ids["volunteer"], DESK),
        lambda tx: bookings.start(tx, bid, DESK),
        lambda tx: bookings.finish(tx, bid, DESK, minutes=50),
    ):
        centre.store.write_sync(step)
    await agent.sync_once()
    visit = {"satisfaction": "2", "note": "来晚了", "complaint": "志愿者迟到半小时"}
    r = await post(client, f"/hub/hotline/returns/{bid}", visit, "/hub/hotline/returns")
    assert r.status_code == 303
    vid = hub_store.read_sync(
        lambda c: c.execute(
            "SELECT id, complaint_status FROM care_return_visits WHERE booking_id = ?", (bid,)
        ).fetchone()
    )
    assert vid["complaint_status"] == "open"
    row = f'id="c-{vid["id"]}"'
    desk = (await client.get("/hub/hotline")).text
    assert row in desk and "志愿者迟到半小时" in desk and "待跟进" in desk
    close = f"/hub/hotline/complaints/{vid['id']}/close"
    follow = f"/hub/hotline/complaints/{vid['id']}/follow-up"
    r = await post(client, close, {}, "/hub/hotline")
    assert r.status_code == 409 and "先记录跟进" in r.text  # not closed before a follow-up
    r = await post(client, follow, {"follow_up": "  "}, "/hub/hotline")
    assert r.status_code == 400 and "做了什么" in r.text
    r = await post(client, follow, {"follow_up": "已与服务站站长沟通，志愿者道歉"}, "/hub/hotline")
    assert (r.status_code, r.headers["location"]) == (303, "/hub/hotline#complaints")
    got = hub_store.read_sync(
        lambda c: c.execute(
            "SELECT * FROM care_return_visits WHERE id = ?", (vid["id"],)
        ).fetchone()
    )
    assert (got["complaint_status"], got["followed_by"]) == ("followed_up", "12349小张")
    assert got["follow_up"] == "已与服务站站长沟通，志愿者道歉" and got["followed_at"]
    desk = (await client.get("/hub/hotline")).text
    assert row in desk and "已跟进" in desk and "志愿者道歉" in desk
    r = await post(client, follow, {"follow_up": "再说一次"}, "/hub/hotline")
    assert r.status_code == 409  # forward only
    r = await post(client, close, {"back": "returns"}, "/hub/hotline/returns")
    assert (r.status_code, r.headers["location"]) == (303, "/hub/hotline/returns#complaints")
    assert row not in (await client.get("/hub/hotline")).text  # closed: off the desk's list
    returns = (await client.get("/hub/hotline/returns")).text
    assert row in returns and "已结案" in returns
    r = await post(client, close, {}, "/hub/hotline")
    assert r.status_code == 409 and "已结案" in r.text
    r = await post(client, "/hub/hotline/complaints/nosuch/close", {}, "/hub/hotline")
    assert r.status_code == 404


def test_m115_opens_the_complaints_recorded_before_it(tmp_path: Path) -> None:
    """A hub upgraded with complaints already recorded: each starts open, a return
    visit without a complaint has none, and running the migration again changes nothing."""
    path = tmp_path / "hub.db"
    sync_schema.ensure(path)
    conn = sqlite3.connect(path)
    for vid, complaint in (("v1", "志愿者迟到"), ("v2", "")):
        conn.execute(
            "INSERT INTO care_return_visits (id, booking_id, centre_id, satisfaction,"
            " complaint, operator, created_at, complaint_status)"
            " VALUES (?, ?, 'c', 3, ?, 'op', '2030-01-07T08:00:00+00:00', '')",
            (vid, f"b-{vid}", complaint),
        )
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm115_complaint_follow_up'")
    conn.commit()
    conn.close()
    for _ in range(2):
        sync_schema.ensure(path)
        conn = sqlite3.connect(path)
        got = conn.execute(
            "SELECT id, complaint_status FROM care_return_visits ORDER BY id"
        ).fetchall()
        conn.close()
        assert got == [("v1", "open"), ("v2", "")]


async def test_the_desk_pauses_and_resumes_a_recurring_meal(world: Any) -> None:
    """The elder goes into hospital: the desk pauses her 送餐 series from a day (a command
    the centre applies on its next sync, cancelling the open visits from then on), then
    resumes it, and the centre books the days again."""
    client, _hub_store, centre, agent, ids = world
    await sign_in(client, "12349小张", "password1")
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    call = {"caller": "王明", "caller_relation": "儿子", "callback_phone": "13912345678"}
    until = (MONDAY + timedelta(days=4)).isoformat()
    meal = {**call, "service_id": ids["送餐"], "day": MONDAY.isoformat(), "start": "11:00"}
    weekdays = ["0", "1", "2", "3", "4"]
    r = await post(
        client, f"{page_url}/book", {**meal, "weekday": weekdays, "until": until}, page_url
    )
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    series_id = centre.store.read_sync(
        lambda c: c.execute("SELECT id FROM care_series").fetchone()[0]
    )
    page = (await client.get(page_url)).text
    assert f'id="s-{series_id}"' in page and "进行中" in page

    def open_days() -> list[str]:
        return centre.store.read_sync(
            lambda c: [
                r[0]
                for r in c.execute(
                    "SELECT day FROM care_bookings WHERE series_id = ? AND status = 'requested'"
                    " ORDER BY day",
                    (series_id,),
                )
            ]
        )

    assert len(open_days()) == 5
    wednesday = (MONDAY + timedelta(days=2)).isoformat()
    pause = f"{page_url}/series/{series_id}/pause"
    r = await post(client, pause, {"from_day": "someday"}, page_url)
    assert r.status_code == 400
    r = await post(client, pause, {"from_day": wednesday, "reason": "住院"}, page_url)
    assert (r.status_code, r.headers["location"]) == (303, f"{page_url}#series")
    page = (await client.get(page_url)).text
    assert "暂停等待服务站接收" in page and "从这天起暂停" not in page  # no second pause
    await agent.sync_once()
    await agent.sync_once()
    assert open_days() == [MONDAY.isoformat(), (MONDAY + timedelta(days=1)).isoformat()]
    page = (await client.get(page_url)).text
    assert "已暂停" in page and f"暂停自 {wednesday}" in page and "暂停等待" not in page
    r = await post(client, pause, {"from_day": wednesday}, page_url)
    assert r.status_code == 409 and "已暂停" in r.text
    resume = f"{page_url}/series/{series_id}/resume"
    thursday = (MONDAY + timedelta(days=3)).isoformat()
    r = await post(client, resume, {"from_day": thursday}, page_url)
    assert r.status_code == 303
    await agent.sync_once()
    await agent.sync_once()
    assert open_days()[2:] == [thursday, until]
    page = (await client.get(page_url)).text
    assert "进行中" in page
    other = f"/hub/hotline/elders/{ids['volunteer']}/series/{series_id}/pause"
    r = await post(client, other, {"from_day": wednesday}, page_url)
    assert r.status_code == 404


def test_the_hotline_templates_speak_through_the_catalogs() -> None:
    """No Chinese written into the desk's templates (only the 中文 language link): every
    label is a msgid with a Chinese translation in the catalogs."""
    root = CHECKOUT / "templates" / "hub" / "hotline"
    han = re.compile(r"[\u3400-\u9fff]+")
    for path in root.glob("*.html"):
        words = [w for w in han.findall(path.read_text(encoding="utf-8")) if w != "中文"]
        assert not words, (path.name, words)


def test_the_desks_refusals_speak_through_the_catalogs() -> None:
    """The desk's own refusals are English msgids (N_) with a Chinese translation, in
    both catalogs; no "中文 / English" pair is left in its code."""
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    import hub
    from edge.web.pages.i18n import LOCALE_DIR, translations

    zh = translations("zh")
    with (LOCALE_DIR / "en/LC_MESSAGES/messages.po").open("rb") as fh:
        en = read_po(fh, locale="en")
    pair = re.compile(r"[\u3400-\u9fff][^\"\n]* / [A-Za-z]")
    for name in ("hotline.py", "hotline_desk.py", "hotline_forms.py"):
        path = Path(hub.__file__).resolve().parent / name
        msgids = [m for _l, m, _c, _x in extract_from_file("python", path, keywords={"N_": None})]
        assert msgids, name
        assert not [m for m in msgids if zh.gettext(m) == m or m not in en], name
        assert not pair.findall(path.read_text(encoding="utf-8")), name


async def test_the_desk_in_chinese_by_default_and_in_english_on_request(world: Any) -> None:
    client, _hub_store, _centre, _agent, ids = world
    await sign_in(client, "12349小张", "password1")
    page_url = f"/hub/hotline/elders/{ids['elder']}"
    zh = (await client.get(page_url)).text
    assert "代为预约" in zh and "回拨电话" in zh and "补贴对象" in zh and "热线坐席" in zh
    assert "Book for the caller" not in zh and 'lang="zh-CN"' in zh
    client.cookies.set("linli_lang", "en")
    en = (await client.get(page_url)).text
    assert "Book for the caller" in en and "Call-back number" in en and "代为预约" not in en
    assert "Return visits" in (await client.get("/hub/hotline/returns")).text
    client.cookies.delete("linli_lang")
