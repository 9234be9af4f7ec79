"""Pasting overlapping stretches of the group chat: each message turn is ordered once.

The station manager copies the chat since 18:00 at 18:30 and again at 19:30; what was
confirmed at 18:30 shows greyed with its order code, and only the follow-up is offered.
Real temp database and the real app through the pages, as in test_wechat_pages.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from typing import Any

from page_forms import csrf
from wechat_paste import HX, MONDAY, card_forms, card_html, preview, wechat_orders

P1 = "张阿姨 2026-11-29 18:03:12\n@小玮 姐,5斤土豆,谢谢!"
P2 = P1 + "\n张阿姨 2026-11-29 19:10:40\n再加2斤黄瓜"
CODE = re.compile(r'class="bigcode wx-code">(\d+)<')


def rows(form: dict[str, str]) -> dict[str, tuple[str, str]]:
    n = sum(1 for k in form if k.startswith("p_"))
    return {form[f"p_{i}"]: (form[f"q_{i}"], form[f"u_{i}"]) for i in range(n)}


def household_items(c: Any, who: str = "张桂兰") -> list[tuple[str, str, int]]:
    conn = sqlite3.connect(c.db_path)
    try:
        return conn.execute(
            "SELECT o.pickup_code, i.product_name, i.quantity FROM orders o"
            " JOIN order_items i ON i.order_id = o.id WHERE o.household_id = ?"
            " ORDER BY o.created_at, i.line",
            (c.households[who],),
        ).fetchall()
    finally:
        conn.close()


def confirm(c: Any, form: dict[str, str]) -> str:
    r = c.client.post("/wechat/confirm", data=form, headers=HX)
    assert r.status_code == 200, r.text
    found = CODE.search(r.text)
    assert found, r.text
    return found.group(1)


def test_the_follow_up_is_the_only_thing_offered_the_second_time(wx: Any) -> None:
    wx.clock.now = datetime(2026, 11, 29, 18, 30)
    first = card_forms(preview(wx, P1).text)["张阿姨"]
    assert rows(first) == {wx.products["土豆"]: ("5", "斤")}
    code = confirm(wx, first)

    wx.clock.now = datetime(2026, 11, 29, 19, 30)
    page = preview(wx, P2).text
    html = card_html(page, "张阿姨")
    # 18:03 is greyed with the order it became; only 19:10 is drafted
    assert "wx-ordered" in html and f"已下单（取货码 {code}）" in html
    # the one line marked is the follow-up's item ("再加" is not part of it)
    assert re.findall(r"<mark[^>]*>[^<]*</mark>", html) == ['<mark class="ok">2斤黄瓜</mark>']
    second = card_forms(page)["张阿姨"]
    assert rows(second) == {wx.products["黄瓜"]: ("2", "斤")}
    # the household has an order for Monday already: said on the card, before confirming
    assert "这户 2026-11-30 已经有一个订单了" in html and f">{code}</b>" in html
    assert "土豆 5 斤" in html and "仍然另下一单" in html and "取消" in html

    code2 = confirm(wx, second)
    assert code2 != code
    assert household_items(wx) == [(code, "土豆", 2500), (code2, "黄瓜", 1000)]

    # a third paste of the same stretch has nothing new, and cannot be confirmed again
    page = preview(wx, P2).text
    html = card_html(page, "张阿姨")
    assert "已经下过单" in html and "没有新的要确认" in html
    assert "确认下单" not in html and "仍然另下一单" not in html
    assert wx.client.post("/wechat/confirm", data=card_forms(page)["张阿姨"]).status_code == 400
    assert wechat_orders(wx) == 2


def test_turns_are_in_the_change_log_with_their_order(wx: Any) -> None:
    confirm(wx, card_forms(preview(wx, P2).text)["张阿姨"])
    conn = sqlite3.connect(wx.db_path)
    try:
        logged = [
            json.loads(f)
            for (f,) in conn.execute("SELECT fields FROM changes WHERE tbl = 'wechat_turns'")
        ]
        order_id = conn.execute("SELECT id FROM orders").fetchone()[0]
    finally:
        conn.close()
    assert len(logged) == 2
    assert {t["sent_at"] for t in logged} == {"2026-11-29 18:03:12", "2026-11-29 19:10:40"}
    assert {t["order_id"] for t in logged} == {order_id}
    assert all("土豆" not in json.dumps(t, ensure_ascii=False) for t in logged)  # hashes only


def test_the_same_block_after_the_cut_off_has_nothing_new(wx: Any) -> None:
    wx.clock.now = datetime(2026, 11, 29, 19, 30)
    form = card_forms(preview(wx, P2).text)["张阿姨"]
    confirm(wx, form)
    wx.clock.now = datetime(2026, 11, 29, 20, 1)  # past Monday's cut-off: now for Wednesday
    page = preview(wx, P2).text
    html = card_html(page, "张阿姨")
    assert "已经下过单" in html and "确认下单" not in html
    wx.client.post("/wechat/confirm", data=card_forms(page)["张阿姨"], headers=HX)
    assert wechat_orders(wx) == 1
    # the card confirmed before the cut-off, tapped again after it: the same Monday order
    r = wx.client.post("/wechat/confirm", data=form, headers=HX)
    assert r.status_code == 200 and "同一个订单" in r.text and MONDAY in r.text
    assert wechat_orders(wx) == 1


def test_a_message_pasted_alone_then_in_a_block_is_ordered_once(wx: Any) -> None:
    alone = card_forms(preview(wx, "5斤土豆").text)[""]
    alone["household_id"] = wx.households["张桂兰"]
    code = confirm(wx, alone)
    # the same text pasted alone again: the existing guarantee
    assert "已经下过单" in card_html(preview(wx, "5斤土豆").text, "")
    # the same message in a copied block, with its name and time: the household's, greyed
    block = "张阿姨 2026-11-29 09:58:00\n5斤土豆\n张阿姨 2026-11-29 10:20:00\n橙子6个"
    page = preview(wx, block).text
    assert f"已下单（取货码 {code}）" in card_html(page, "张阿姨")
    assert rows(card_forms(page)["张阿姨"]) == {wx.products["橙子"]: ("6", "个")}
    assert wechat_orders(wx) == 1


def test_next_week_the_same_words_are_a_new_order(wx: Any) -> None:
    confirm(wx, card_forms(preview(wx, "张阿姨: 5斤土豆\n王奶奶: 鸡蛋2斤").text)["张阿姨"])
    assert "已经下过单" in card_html(preview(wx, "张阿姨: 5斤土豆\n王奶奶: 鸡蛋2斤").text, "张阿姨")
    wx.clock.now = datetime(2026, 12, 6, 10, 0)  # Monday's order is past
    wx.extra["token"] = csrf(wx.client, "/wechat")
    page = preview(wx, "张阿姨: 5斤土豆\n王奶奶: 鸡蛋2斤").text
    assert "已经下过单" not in card_html(page, "张阿姨")
    confirm(wx, card_forms(page)["张阿姨"])
    assert wechat_orders(wx) == 2


def test_an_open_order_for_the_day_warns_and_asks(wx: Any) -> None:
    r = wx.client.post(
        "/api/v1/orders",
        json={
            "household_id": wx.households["张桂兰"],
            "channel": "hotline",
            "items": [{"product_id": wx.products["橙子"], "quantity": 6}],
        },
        headers=wx.headers(),
    )
    assert r.status_code == 201, r.text
    code = r.json()["pickup_code"]
    page = preview(wx, "张阿姨 2026-11-29 09:30:00\n西红柿3斤").text
    html = card_html(page, "张阿姨")
    assert "这户 2026-11-30 已经有一个订单了" in html and f">{code}</b>" in html
    assert "橙子 6 个" in html and "确认下单" not in html
    form = card_forms(page)["张阿姨"]

    # Cancel: nothing saved
    skipped = wx.client.post("/wechat/edit", data={**form, "op": "skip"}, headers=HX)
    assert skipped.status_code == 200 and "没有下单" in skipped.text
    assert wechat_orders(wx) == 0

    # a card that did not show the warning (drawn before that order) is stopped, and shows it
    blind = {**form, "ack": ""}
    stopped = wx.client.post("/wechat/confirm", data=blind, headers=HX)
    assert stopped.status_code == 409 and "当天已经有订单了" in stopped.text
    assert f">{code}</b>" in stopped.text and "仍然另下一单" in stopped.text
    assert wechat_orders(wx) == 0

    # "make a separate order anyway", from the card as it came back
    confirm(wx, card_forms(stopped.text)["张阿姨"])
    assert wechat_orders(wx) == 1
    assert count_orders_for(wx, "张桂兰") == 2


def test_a_card_overtaken_by_another_tablet_is_redrawn_not_ordered_twice(wx: Any) -> None:
    both = card_forms(preview(wx, P2).text)["张阿姨"]  # tablet A: 土豆 and 黄瓜 both new
    confirm(wx, card_forms(preview(wx, P1).text)["张阿姨"])  # tablet B orders 土豆
    r = wx.client.post("/wechat/confirm", data=both, headers=HX)
    assert r.status_code == 400 and "刚才已经下单了" in r.text
    assert wechat_orders(wx) == 1
    again = card_forms(r.text)["张阿姨"]
    assert rows(again) == {wx.products["黄瓜"]: ("2", "斤")}
    confirm(wx, again)
    assert [(name, q) for _, name, q in household_items(wx)] == [("土豆", 2500), ("黄瓜", 1000)]


def count_orders_for(c: Any, who: str) -> int:
    conn = sqlite3.connect(c.db_path)
    try:
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM orders WHERE household_id = ?", (c.households[who],)
            ).fetchone()[0]
        )
    finally:
        conn.close()
