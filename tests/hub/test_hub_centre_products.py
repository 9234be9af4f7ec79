"""The centres' own products on the hub's catalog page (issue 13, item 7), through the
real hub app in process and real centres syncing with it.

Each centre's price beside the district catalog, the likely-duplicate warning that
needs a confirm, a centre's price changed by command with its outcome, and a centre
product adopted into the district catalog: it reaches every centre, and the centres
that sold it as their own take theirs off sale instead of showing two.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from sync_fixtures import HUB_URL, Centre, enrolled

from edge.domain import products
from edge.store import Tx
from edge.sync_hooks import DEFAULT_COMMANDS
from hub.app import Hub
from hub.centre_products import core_name, likely_same
from sync import enrol
from sync.agent import SyncAgent

pytestmark = pytest.mark.anyio
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _add(tx: Tx, name: str, price_fen: int, sold_by: str = "weight", **more: Any) -> str:
    return products.create_product(
        tx, {"name": name, "sold_by": sold_by, "price_fen": price_fen, "category": "蔬菜", **more}
    )


class World:
    """A hub with district 山东大葱 (3.20), and three centres: A sells its own 大葱
    (3.00) and 土豆, B its own 大葱 (2.80) and 香菜 by the bunch, C nothing of its own."""

    def __init__(self, app: Any, client: httpx.AsyncClient, centres: list[Centre]) -> None:
        self.app, self.client = app, client
        self.hub: Hub = app.state.hub
        self.a, self.b, self.c = centres
        self.agents = {c.name: self._agent(c) for c in centres}
        self.ids: dict[str, str] = {}
        self.csrf = ""

    def _agent(self, centre: Centre) -> SyncAgent:
        agent = centre.agent(self.client)
        for name, handler in DEFAULT_COMMANDS.items():
            agent.register_command(name, handler)
        return agent

    async def sync(self, *centres: Centre) -> None:
        """Each centre pulls (running its commands) and pushes the answers."""
        for centre in centres:
            await self.agents[centre.name].sync_once()
            await self.agents[centre.name].sync_once()

    def hub_one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.hub.store.read_sync(lambda c: c.execute(sql, params).fetchone())

    def own(self, centre: Centre, name: str) -> list[tuple[str, int, int]]:
        """(owner, price, active) of every product called `name` at the centre."""
        return centre.store.read_sync(
            lambda c: [
                ("own" if r[0] == centre.site_id else "district", r[1], r[2])
                for r in c.execute(
                    "SELECT site_id, price_fen, active FROM products WHERE name = ?"
                    " ORDER BY site_id = ? DESC",
                    (name, centre.site_id),
                )
            ]
        )

    async def post(self, path: str, **data: Any) -> httpx.Response:
        return await self.client.post(path, data={"_csrf_token": self.csrf, **data})


NAMES = ["金沙路社区", "海泊河社区", "四方路社区"]
# The files of the world below after its setup (products made, every centre synced),
# and the ids it made: once per test process, each test gets a copy (`enrolled`).
_SYNCED: list[tuple[Path, dict[str, str]]] = []


async def _synced() -> tuple[Path, dict[str, str]]:
    if _SYNCED:
        return _SYNCED[0]
    folder = Path(tempfile.mkdtemp(prefix="linli-centre-products-"))
    atexit.register(shutil.rmtree, folder, True)
    app, centres = enrolled(folder, NAMES)
    hub: Hub = app.state.hub
    hub.store.write_sync(lambda tx: enrol.add_operator(tx, "op", "password1", "operator"))
    district = hub.store.write_sync(lambda tx: _add(tx, "山东大葱", 320))
    a, b, _c = centres
    ids = a.store.write_sync(
        lambda tx: {"a大葱": _add(tx, "大葱", 300, aliases=["葱"]), "a土豆": _add(tx, "土豆", 180)}
    )
    ids |= b.store.write_sync(
        lambda tx: {
            "b大葱": _add(tx, "大葱", 280),
            "b香菜": _add(tx, "香菜", 200, sold_by="piece", unit="把"),
        }
    )
    async with app.lifespan():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=HUB_URL
        ) as client:
            await World(app, client, centres).sync(*centres)
    for c in centres:
        c.store.close()
    _SYNCED.append((folder, {**ids, "山东大葱": district}))
    return _SYNCED[0]


@pytest.fixture
async def world(tmp_path: Path, hub_target: Path | str) -> Any:
    source, ids = await _synced()
    app, centres = enrolled(tmp_path, NAMES, hub=hub_target, source=source)
    async with app.lifespan():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=HUB_URL
        ) as client:
            w = World(app, client, centres)
            w.ids = dict(ids)
            page = await client.get("/hub/login")
            w.csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
            signed = await w.post("/hub/login", name="op", password="password1")
            assert signed.status_code in (302, 303), signed.text[:300]
            yield w
    for c in centres:
        c.store.close()


async def api_token(w: World) -> dict[str, str]:
    r = await w.client.post("/hub/api/v1/token", json={"name": "op", "password": "password1"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def row_html(page: str, product_id: str) -> str:
    start = page.index(f'id="row-{product_id}"')
    return page[start : page.index("</tr>", start)]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("山东大葱", "大葱", True),  # an origin prefix left out
        ("土鸡蛋", "鸡蛋", True),
        ("本地 西红柿", "西红柿", True),
        ("大白菜", "白菜", True),  # one inside the other
        ("土豆", "豆角", False),  # 土豆 keeps its 土: only one character would remain
        ("洋葱", "葱", False),  # a one-character name inside another is not enough
        ("大白菜", "小白菜", False),
        ("胡萝卜", "白萝卜", False),
    ],
)
def test_the_likely_duplicate_rule(a: str, b: str, same: bool) -> None:
    assert likely_same(a, [], b, []) is same
    assert likely_same(b, [], a, []) is same


def test_aliases_make_names_likely_the_same() -> None:
    assert likely_same("番茄", [], "西红柿", ["番茄", "洋柿子"])
    assert likely_same("洋芋", ["马铃薯"], "土豆", ["马铃薯"])
    assert not likely_same("番茄", [], "西红柿", ["洋柿子"])
    assert core_name("土豆") == "土豆" and core_name("东北 大米") == "大米"


async def test_the_catalog_shows_each_centres_price_and_whether_it_is_a_district_product(
    world: World,
) -> None:
    w = world
    page = (await w.client.get("/hub/catalog")).text
    assert "各站点在卖的商品与价格" in page
    dacong = row_html(page, w.ids["a大葱"])  # the row of 大葱 takes A's id (A comes first)
    assert re.search(r'data-label="海泊河社区" class="num at cell-own">\s*2\.80', dacong)
    assert re.search(r'data-label="金沙路社区" class="num at cell-own">\s*3\.00', dacong)
    assert re.search(r'data-label="四方路社区" class="num at cell-none">\s*<span[^>]*>不卖', dacong)
    assert "站点自有" in dacong and "可能与以下商品相同：" in dacong and "山东大葱" in dacong
    shandong = row_html(page, w.ids["山东大葱"])
    assert shandong.count("cell-district") == 3 and "3.20 · 区域" in shandong
    assert "区域商品" in shandong
    assert "每把" in row_html(page, w.ids["b香菜"])

    api = await w.client.get("/hub/api/v1/catalog", headers=await api_token(w))
    assert api.status_code == 200, api.text
    doc = api.json()
    assert [c["name"] for c in doc["centres"]] == ["四方路社区", "海泊河社区", "金沙路社区"]
    rows = {r["name"]: r for r in doc["rows"]}
    assert [c["kind"] for c in rows["大葱"]["cells"]] == ["none", "own", "own"]
    assert [c.get("price_fen") for c in rows["大葱"]["cells"]] == [None, 280, 300]
    assert rows["大葱"]["sold_at"] == ["海泊河社区", "金沙路社区"]
    assert rows["大葱"]["district"] is None and rows["山东大葱"]["district"]["price_fen"] == 320
    assert [x["name"] for x in rows["大葱"]["likely"]] == ["山东大葱"]
    assert rows["土豆"]["likely"] == [] and rows["土豆"]["sold_at"] == ["金沙路社区"]


async def test_a_likely_duplicate_is_added_only_once_the_operator_confirms(world: World) -> None:
    w = world

    def count() -> int:
        return int(
            w.hub_one("SELECT COUNT(*) FROM products WHERE site_id = ?", (w.hub.site_id,))[0]
        )

    before = count()
    form = {"name": "本地大葱", "sold_by": "weight", "unit": "", "category": "蔬菜", "price": "3"}
    r = await w.post("/hub/catalog", **form)
    assert r.status_code == 409
    warning = r.text[
        r.text.index("dup-warning") : r.text.index("</div>", r.text.index("dup-warning"))
    ]
    assert "这很可能是已经在卖的商品：" in warning
    assert "山东大葱" in warning and "区域商品" in warning  # the district one
    assert "站点自有： 海泊河社区 2.80 ¥、金沙路社区 3.00 ¥" in warning
    assert 'name="confirm_duplicate" value="1" required' in warning
    assert 'name="name" required value="本地大葱"' in r.text  # what was typed stays
    assert count() == before

    r = await w.post("/hub/catalog", **form, confirm_duplicate="1")
    assert r.status_code in (302, 303) and "saved=" in r.headers["location"]
    assert count() == before + 1

    auth = await api_token(w)
    body = {"name": "大葱", "sold_by": "weight", "price_fen": 300}
    r = await w.client.post("/hub/api/v1/products", json=body, headers=auth)
    assert r.status_code == 409 and r.json()["field"] == "confirm_duplicate"
    assert {e["name"] for e in r.json()["existing"]} == {"大葱", "山东大葱", "本地大葱"}
    r = await w.client.post(
        "/hub/api/v1/products", json={**body, "confirm_duplicate": "yes"}, headers=auth
    )
    assert r.status_code == 400 and r.json()["field"] == "confirm_duplicate"
    r = await w.client.post("/hub/api/v1/products", json={**body, "price_fen": -1}, headers=auth)
    assert r.status_code == 400 and r.json()["field"] == "price_fen"  # bad input comes first
    assert count() == before + 1
    r = await w.client.post(
        "/hub/api/v1/products",
        json={"name": "韭黄", "sold_by": "weight", "price_fen": 600},
        headers=auth,
    )
    assert r.status_code == 200  # nothing like it on sale: no question asked


async def test_a_centres_price_changes_by_command_with_a_visible_outcome(world: World) -> None:
    w = world
    pid = w.ids["b大葱"]
    r = await w.post(f"/hub/catalog/products/{pid}/price", price="2.5元")
    assert r.status_code in (302, 303) and "sent=" in r.headers["location"]
    page = await w.client.get(r.headers["location"])
    assert "等待站点执行" in page.text and "大葱 的价格：2.50 元" in page.text
    assert "新价格等待站点执行： 2.50 ¥" in page.text
    assert 'hx-get="/hub/commands/part?id=' in page.text  # the outcome arrives by itself
    catalog = (await w.client.get("/hub/catalog")).text
    assert "→ 2.50 等待执行" in row_html(catalog, w.ids["a大葱"])
    assert w.own(w.b, "大葱") == [("own", 280, 1)]  # nothing changes before the centre syncs

    await w.sync(w.b)
    assert w.own(w.b, "大葱") == [("own", 250, 1)]
    listed = (await w.client.get("/hub/commands")).text
    assert "站点已执行" in listed and "大葱 的价格：2.50 元" in listed
    catalog = (await w.client.get("/hub/catalog")).text
    assert re.search(r'data-label="海泊河社区" class="num at cell-own">\s*2\.50\s*</td>', catalog)


async def test_bad_prices_and_products_are_refused_naming_the_field(world: World) -> None:
    w = world
    sent = "SELECT COUNT(*) FROM sync_commands"
    before = w.hub_one(sent)[0]
    r = await w.post(f"/hub/catalog/products/{w.ids['a大葱']}/price", price="三块")
    assert r.status_code == 400 and "请输入价格（元），例如 3.50。" in r.text
    assert 'value="三块"' in r.text and 'aria-invalid="true"' in r.text
    r = await w.post(f"/hub/catalog/products/{w.ids['山东大葱']}/price", price="3")
    assert r.status_code == 400 and "that is a district product" in r.text
    r = await w.post("/hub/catalog/products/nope/price", price="3")
    assert r.status_code == 404
    assert (await w.client.get("/hub/catalog/products/nope")).status_code == 404
    r = await w.post(f"/hub/catalog/products/{w.ids['b香菜']}/link", district_id=w.ids["山东大葱"])
    assert r.status_code == 400 and "cannot be linked" in r.text  # by the bunch vs by weight
    r = await w.post(f"/hub/catalog/products/{w.ids['a大葱']}/adopt", price="-1")
    assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    auth = await api_token(w)
    r = await w.client.post(
        f"/hub/api/v1/products/{w.ids['a大葱']}/price", json={"price_fen": 2.5}, headers=auth
    )
    assert r.status_code == 400 and r.json()["field"] == "price_fen"
    r = await w.client.post(
        f"/hub/api/v1/products/{w.ids['a大葱']}/adopt", json={"price_fen": True}, headers=auth
    )
    assert r.status_code == 400 and r.json()["field"] == "price_fen"
    r = await w.client.post(
        "/hub/api/v1/commands",
        json={"site_id": w.a.site_id, "name": "set_product_price", "args": {"product_id": "x"}},
        headers=auth,
    )
    assert r.status_code == 400 and r.json()["field"] == "args.price_fen"
    r = await w.client.post(
        "/hub/api/v1/products/nope/adopt", json={"price_fen": 300}, headers=auth
    )
    assert r.status_code == 404 and r.json()["field"] == "product_id"
    r = await w.client.post(f"/hub/api/v1/products/{w.ids['a大葱']}/link", json={}, headers=auth)
    assert r.status_code == 400 and r.json()["field"] == "district_id"
    r = await w.client.post(
        f"/hub/api/v1/products/{w.ids['a大葱']}/link",
        json={"district_id": w.ids["b大葱"]},  # a centre's product is no district product
        headers=auth,
    )
    assert r.status_code == 404 and r.json()["field"] == "district_id"
    assert w.hub_one(sent)[0] == before


async def test_adopting_a_centre_product_reaches_every_centre_without_a_second_one(
    world: World,
) -> None:
    w = world
    page = (await w.client.get(f"/hub/catalog/products/{w.ids['b大葱']}")).text
    assert 'name="price" required inputmode="decimal" value="2.80"' in page  # the lower on a tie
    r = await w.post(f"/hub/catalog/products/{w.ids['b大葱']}/adopt", price="2.9")
    assert r.status_code == 409  # 山东大葱 is likely the same: asked first
    assert "这很可能是已经在卖的商品：" in r.text and "山东大葱" in r.text
    assert w.hub_one("SELECT COUNT(*) FROM sync_commands")[0] == 0

    r = await w.post(
        f"/hub/catalog/products/{w.ids['b大葱']}/adopt", price="2.9", confirm_duplicate="1"
    )
    assert r.status_code in (302, 303), r.text[:400]
    district_id = r.headers["location"].split("/")[-1].split("?")[0]
    made = w.hub_one(
        "SELECT site_id, name, sold_by, unit, price_fen, aliases FROM products WHERE id = ?",
        (district_id,),
    )
    assert tuple(made) == (w.hub.site_id, "大葱", "weight", "斤", 290, '["葱"]')
    page = (await w.client.get(r.headers["location"])).text
    assert page.count("用区域商品 大葱 替换站点自有的 大葱") == 2  # one command to A, one to B
    assert "等待站点执行" in page

    await w.sync(w.a, w.b, w.c)
    for centre in (w.a, w.b):
        mine = w.own(centre, "大葱")
        assert mine[0][0] == "own" and mine[0][2] == 0  # taken off sale, kept for past orders
        assert mine[1] == ("district", 290, 1)
        on_sale = centre.store.read_sync(products.list_products)
        assert [p.site_id for p in on_sale if p.name == "大葱"] == [w.hub.site_id]
    assert w.own(w.c, "大葱") == [("district", 290, 1)]  # like any district product
    page = (await w.client.get(r.headers["location"])).text
    assert page.count("站点已执行") == 2 and "等待站点执行" not in page
    doc = (await w.client.get("/hub/api/v1/catalog", headers=await api_token(w))).json()
    rows = {x["name"]: x for x in doc["rows"]}
    assert [c["kind"] for c in rows["大葱"]["cells"]] == ["district"] * 3
    assert rows["大葱"]["own_beside_district"] is False


async def test_a_centres_own_product_links_to_a_district_product_of_another_name(
    world: World,
) -> None:
    w = world
    r = await w.post(f"/hub/catalog/products/{w.ids['a大葱']}/link", district_id=w.ids["山东大葱"])
    assert r.status_code in (302, 303)
    assert r.headers["location"].startswith(f"/hub/catalog/products/{w.ids['山东大葱']}?sent=")
    aliases = w.hub_one("SELECT aliases FROM products WHERE id = ?", (w.ids["山东大葱"],))[0]
    assert aliases == '["大葱", "葱"]'  # residents' words for it still find it
    await w.sync(w.a)
    assert w.own(w.a, "大葱") == [("own", 300, 0)]
    page = (await w.client.get(r.headers["location"])).text
    assert "站点已执行" in page and "用区域商品 山东大葱 替换站点自有的 大葱" in page
    assert w.own(w.b, "大葱") == [("own", 280, 1)]  # B was not asked


async def test_a_centre_refuses_a_link_when_it_now_sells_the_product_differently(
    world: World,
) -> None:
    w = world
    auth = await api_token(w)
    r = await w.client.post(
        f"/hub/api/v1/products/{w.ids['a大葱']}/adopt",
        json={"price_fen": 300, "confirm_duplicate": True},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["command_ids"]) == 2
    # Before it syncs, centre A starts selling its 大葱 by the bunch.
    w.a.store.write_sync(
        lambda tx: products.update_product(tx, w.ids["a大葱"], {"sold_by": "piece", "unit": "把"})
    )
    await w.sync(w.a)
    listed = (await w.client.get("/hub/commands")).text
    assert "站点拒绝" in listed
    assert "站点的卖法（按斤、按个或按份）不同：没有关联。" in listed
    assert "is sold piece here and weight in the district catalog" in listed
    assert [x[0] for x in w.own(w.a, "大葱") if x[2]] == ["own", "district"]
