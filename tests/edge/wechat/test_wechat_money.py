"""Issue 14 through the real app: a money order ("十块钱的香菜") stays an amount from the
paste to the order line and the desk; corrections show struck through in the preview; a
paste's absurd numbers are refused, never a 500."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from centre_world import Centre

TOKEN_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _sign_in(c: Centre) -> None:
    token = TOKEN_RE.findall(c.client.get("/signin").text)[0]
    r = c.client.post(
        "/signin",
        data={"name": "manager", "pin": "1234", "_csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _parse(c: Centre, text: str) -> Any:
    r = c.client.post("/api/v1/wechat/parse", json={"text": text}, headers=c.headers())
    assert r.status_code == 200, r.text
    return r.json()


def _confirm(c: Centre, items: list[dict[str, Any]], text: str = "十块钱的香菜") -> Any:
    return c.client.post(
        "/api/v1/wechat/confirm",
        json={
            "sender": "张阿姨",
            "text": text,
            "household_id": c.households["张桂兰"],
            "items": items,
        },
        headers=c.headers(),
    )


def _line(c: Centre, order_id: str) -> sqlite3.Row:
    conn = sqlite3.connect(c.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT * FROM order_items WHERE order_id = ? ORDER BY line", (order_id,)
        ).fetchone()
    finally:
        conn.close()


def test_a_money_order_is_kept_as_money_to_the_desk(centre: Centre) -> None:
    c = centre
    (item,) = _parse(c, "十块钱的苹果")["items"]
    assert (item["product_name"], item["amount_fen"]) == ("苹果", 1000)
    body = {k: item[k] for k in ("product_id", "quantity", "unit", "amount_fen")}
    r = _confirm(c, [body], "十块钱的苹果")
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    line = _line(c, order_id)
    assert (line["amount_fen"], line["estimated_fen"]) == (1000, 1000)
    order = c.client.get(f"/api/v1/orders/{order_id}", headers=c.headers()).json()
    assert order["estimated_fen"] == 1000 and order["items"][0]["amount_fen"] == 1000
    # The desk weighs to about the amount and charges the amount, not the weight's price.
    r = c.client.post(
        f"/api/v1/orders/{order_id}/weights",
        json={"weights": [{"item_id": order["items"][0]["id"], "grams": 880}]},
        headers=c.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["final_fen"] == 1000
    _sign_in(c)
    assert "¥10.00 (≈" in c.client.get(f"/orders/{order_id}").text
    assert "¥10.00 (≈" in c.client.get(f"/desk/{order_id}").text


def test_a_bad_amount_is_refused_naming_the_field(centre: Centre) -> None:
    c = centre
    (item,) = _parse(c, "十块钱的苹果")["items"]
    body = {"product_id": item["product_id"], "quantity": 1, "unit": "斤"}
    for bad in (0, -5, 10**12, "ten"):
        r = _confirm(c, [{**body, "amount_fen": bad}])
        assert r.status_code == 400, r.text
        assert "amount_fen" in r.text
    conn = sqlite3.connect(c.db_path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0
    finally:
        conn.close()


def test_corrections_come_back_struck(centre: Centre) -> None:
    got = _parse(centre, "土豆2斤，鸡蛋1斤。土豆改成3斤吧，黄瓜3斤，不，2斤")
    assert [(i["product_name"], i["quantity"]) for i in got["items"]] == [
        ("土豆", 3),
        ("鸡蛋", 1),
        ("黄瓜", 2),
    ]
    assert [(i["product_name"], i["quantity"], i["struck"]) for i in got["struck"]] == [
        ("土豆", 2, "corrected"),
        ("黄瓜", 3, "corrected"),
    ]
    (draft,) = got["drafts"]
    assert [i["product_name"] for i in draft["struck"]] == ["土豆", "黄瓜"]


def test_the_preview_strikes_corrected_and_cancelled_lines(centre: Centre) -> None:
    c = centre
    _sign_in(c)
    token = TOKEN_RE.findall(c.client.get("/wechat").text)[0]
    text = "张阿姨 18:03\n西红柿3斤 鸡蛋2斤\n张阿姨 18:20\n西红柿不要了，鸡蛋改成3斤"
    page = c.client.post("/wechat/preview", data={"text": text, "_csrf_token": token})
    assert page.status_code == 200, page.text
    struck = re.findall(r'<del title="([^"]+)">([^<]+)</del>', page.text)
    assert [(t, s.split()[0]) for t, s in struck] == [("已取消", "西红柿"), ("已改", "鸡蛋")]


def test_absurd_numbers_in_a_paste_are_not_understood(centre: Centre) -> None:
    got = _parse(centre, "土豆" + "9" * 400 + "斤\n黄瓜0斤\n白菜999999999斤\n茄子2斤")
    assert [(i["product_name"], i["quantity"]) for i in got["items"]] == [("茄子", 2)]
    assert len(got["unparsed"]) == 3


def test_a_long_paste_is_bounded_per_sender(centre: Centre) -> None:
    got = _parse(centre, "\n".join(["土豆1斤"] * 600))
    assert len(got["items"]) == 50
    assert len(got["drafts"][0]["items"]) == 50
