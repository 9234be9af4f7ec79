"""WeChat pastes to orders through the real API: preview, confirm, duplicates, nicknames."""

from __future__ import annotations

from datetime import datetime

from centre_world import Centre, count

REPORT_MESSAGE = "@小瑋 姐,,5斤土豆、黃瓜2斤,、饅頭5元5個的、橙子6個,、圓青椒4個,。謝謝!"

BLOCK = """张阿姨 2026-11-29 08:01:12
@小玮 5斤土豆、黄瓜2斤
张阿姨 2026-11-29 08:02:40
再来6个橙子
老李 2026-11-29 08:10:03
西红柿3斤，谢谢
新邻居 2026-11-29 09:00:00
明天几点开门?
"""


def test_parse_the_report_message(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/wechat/parse", json={"text": REPORT_MESSAGE}, headers=centre.headers()
    )
    assert r.status_code == 200, r.text
    got = {(i["product_name"], i["quantity"], i["unit"]) for i in r.json()["items"]}
    assert got == {
        ("土豆", 5, "斤"),
        ("黄瓜", 2, "斤"),
        ("馒头", 5, "个"),
        ("橙子", 6, "个"),
        ("青椒", 4, "个"),
    }
    assert r.json()["is_order"] is True


def test_block_splits_per_sender_and_matches_nicknames(centre: Centre) -> None:
    r = centre.client.post("/api/v1/wechat/parse", json={"text": BLOCK}, headers=centre.headers())
    drafts = {d["sender"]: d for d in r.json()["drafts"]}
    assert set(drafts) == {"张阿姨", "老李", "新邻居"}
    assert drafts["张阿姨"]["household"]["name"] == "张桂兰"
    assert {i["product_name"] for i in drafts["张阿姨"]["items"]} == {"土豆", "黄瓜", "橙子"}
    assert drafts["老李"]["household"] is None
    assert drafts["新邻居"]["is_order"] is False and drafts["新邻居"]["items"] == []
    assert drafts["张阿姨"]["pickup_date"] == "2026-11-30"


def test_confirm_twice_makes_one_order(centre: Centre) -> None:
    drafts = centre.client.post(
        "/api/v1/wechat/parse", json={"text": BLOCK}, headers=centre.headers()
    ).json()["drafts"]
    zhang = next(d for d in drafts if d["sender"] == "张阿姨")
    body = {
        "sender": "张阿姨",
        "text": zhang["text"],
        "household_id": zhang["household"]["id"],
        "items": [
            {"product_id": i["product_id"], "quantity": i["quantity"], "unit": i["unit"]}
            for i in zhang["items"]
        ],
    }
    first = centre.client.post("/api/v1/wechat/confirm", json=body, headers=centre.headers())
    assert first.status_code == 201, first.text
    second = centre.client.post("/api/v1/wechat/confirm", json=body, headers=centre.headers())
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders WHERE channel='wechat'") == 1
    again = centre.client.post(
        "/api/v1/wechat/parse", json={"text": BLOCK}, headers=centre.headers()
    ).json()["drafts"]
    assert (
        next(d for d in again if d["sender"] == "张阿姨")["already_ordered"] == (first.json()["id"])
    )


def test_confirm_needs_a_household(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/wechat/confirm",
        json={
            "sender": "老李",
            "text": "西红柿3斤",
            "items": [{"product_id": centre.products["西红柿"], "quantity": 3, "unit": "斤"}],
        },
        headers=centre.headers(),
    )
    assert r.status_code == 400 and r.json()["field"] == "household_id"
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == 0


def test_link_unknown_nickname_then_it_matches(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/wechat/link",
        json={"nickname": "老李", "household_id": centre.households["王秀英"]},
        headers=centre.headers(),
    )
    assert r.status_code == 200
    drafts = centre.client.post(
        "/api/v1/wechat/parse", json={"text": BLOCK}, headers=centre.headers()
    ).json()["drafts"]
    assert next(d for d in drafts if d["sender"] == "老李")["household"]["name"] == "王秀英"
    bad = centre.client.post(
        "/api/v1/wechat/link",
        json={"nickname": "x", "household_id": "nobody"},
        headers=centre.headers(),
    )
    assert bad.status_code == 404


def test_price_post_lists_prices_specials_and_cutoff(centre: Centre) -> None:
    centre.client.patch(
        f"/api/v1/products/{centre.products['西红柿']}",
        json={"special_price_fen": 350, "special_from": "2026-11-30", "special_to": "2026-11-30"},
        headers=centre.headers(),
    )
    r = centre.client.get("/api/v1/wechat/price-post", headers=centre.headers())
    assert r.status_code == 200
    text = r.json()["text"]
    assert r.json()["delivery_date"] == "2026-11-30"
    assert "11月30日(周一)" in text
    assert "土豆1.8元/斤" in text and "馒头5元5个" in text and "橙子1.5元/个" in text
    assert "西红柿3.5元/斤(原价4元)" in text
    assert "今天20:00前" in text and "07:00-11:00" in text


def test_not_an_order(centre: Centre) -> None:
    r = centre.client.post(
        "/api/v1/wechat/parse", json={"text": "明天几点开门?"}, headers=centre.headers()
    ).json()
    assert r["items"] == [] and r["is_order"] is False and r["note"]


def test_staff_replies_in_a_paste_are_not_orders(centre: Centre) -> None:
    block = "张阿姨: 5斤土豆\nmanager: 土豆5斤给您留好了\n"
    drafts = {
        d["sender"]: d
        for d in centre.client.post(
            "/api/v1/wechat/parse", json={"text": block}, headers=centre.headers()
        ).json()["drafts"]
    }
    assert drafts["张阿姨"]["is_order"] is True
    assert drafts["manager"]["from_staff"] is True and drafts["manager"]["is_order"] is False


def test_api_confirm_after_the_cut_off_is_the_same_order(centre: Centre) -> None:
    body = {
        "sender": "张阿姨",
        "text": "5斤土豆",
        "household_id": centre.households["张桂兰"],
        "items": [{"product_id": centre.products["土豆"], "quantity": 5, "unit": "斤"}],
    }
    first = centre.client.post("/api/v1/wechat/confirm", json=body, headers=centre.headers())
    assert first.status_code == 201, first.text
    centre.clock.now = datetime(2026, 11, 29, 20, 1)  # the next delivery day is Wednesday now
    again = centre.client.post("/api/v1/wechat/confirm", json=body, headers=centre.headers())
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["pickup_date"] == "2026-11-30"
    drafts = centre.client.post(
        "/api/v1/wechat/parse",
        json={"text": "张阿姨 2026-11-29 09:00:00\n5斤土豆\n张阿姨 2026-11-29 19:00:00\n黄瓜2斤"},
        headers=centre.headers(),
    ).json()["drafts"]
    assert [t["ordered"] is not None for t in drafts[0]["turns"]] == [True, False]
    assert [i["product_name"] for i in drafts[0]["items"]] == ["黄瓜"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == 1
