"""The WeChat paste pages through the real app: paste → preview → confirm, links, price post.

Uses the `centre` fixture from conftest (real temp database, clock on Sunday
2026-11-29 10:00, so orders are for Monday 2026-11-30) and signs in through
the real sign-in page. Each card's form is read back out of the preview HTML
and posted as a tablet would post it.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from centre_world import count
from wechat_paste import BLOCK, HX, MONDAY, card_forms, card_html, preview, wechat_orders

from edge.web.pages.wechat import segments

# --- pages and sign-in ---------------------------------------------------------


def test_pages_need_sign_in(centre: Any) -> None:
    r = centre.client.get("/wechat", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/wechat"
    r = centre.client.get("/wechat/price-post", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=/wechat/price-post"


def test_paste_page_is_chinese_with_a_big_textarea(wx: Any) -> None:
    r = wx.client.get("/wechat")
    assert r.status_code == 200
    assert 'name="text"' in r.text and "<textarea" in r.text
    assert "解析" in r.text and "粘贴微信群消息" in r.text
    assert 'action="/wechat/preview"' in r.text


def test_empty_paste_says_so(wx: Any) -> None:
    r = wx.client.post("/wechat/preview", data={"text": "  ", "_csrf_token": wx.extra["token"]})
    assert r.status_code == 400 and "请先粘贴消息" in r.text


# --- preview -------------------------------------------------------------------


def test_preview_shows_items_per_sender_and_highlights_unparsed(wx: Any) -> None:
    r = preview(wx)
    forms = card_forms(r.text)
    assert set(forms) == {"张阿姨", "老李", "新邻居", "manager"}
    zhang = forms["张阿姨"]
    rows = {zhang[f"p_{i}"]: (zhang[f"q_{i}"], zhang[f"u_{i}"]) for i in range(3)}
    assert rows == {
        wx.products["土豆"]: ("5", "斤"),
        wx.products["黄瓜"]: ("2", "斤"),
        wx.products["橙子"]: ("6", "个"),
    }
    assert zhang["household_id"] == wx.households["张桂兰"]
    html = card_html(r.text, "张阿姨")
    assert '<mark class="ok">5斤土豆</mark>' in html
    assert '<mark class="bad">那个紫色的东西</mark>' in html
    assert "张桂兰" in html and MONDAY in html


def test_staff_replies_and_non_orders_are_collapsed_with_their_note(wx: Any) -> None:
    r = preview(wx)
    staff = card_html(r.text, "manager")
    assert '<details class="wx-fold">' in staff and "工作人员回复" in staff
    asking = card_html(r.text, "新邻居")
    assert '<details class="wx-fold">' in asking and "不是订单" in asking
    assert '<details class="wx-fold">' not in card_html(r.text, "张阿姨")


def test_unknown_sender_gets_search_link_and_new_household_form(wx: Any) -> None:
    html = card_html(preview(wx).text, "老李")
    assert 'hx-get="/households/search"' in html
    assert 'formaction="/wechat/link"' in html and "老李" in html
    assert 'name="hh_name"' in html and 'name="hh_wechat_nickname" value="老李"' in html


def test_low_confidence_rows_are_flagged(wx: Any) -> None:
    # A product named without a quantity comes with confidence 0.6.
    html = preview(wx, "土豆5斤，再要点香菜").text
    assert "wx-low" in html and "请核对" in html


# --- confirm -------------------------------------------------------------------


def test_confirm_makes_one_wechat_order_and_again_shows_the_same(wx: Any) -> None:
    form = card_forms(preview(wx).text)["张阿姨"]
    first = wx.client.post("/wechat/confirm", data=form, headers=HX)
    assert first.status_code == 200, first.text
    assert "订单已保存" in first.text and MONDAY in first.text
    code = re.search(r'class="bigcode wx-code">(\d+)<', first.text)
    assert code
    assert wechat_orders(wx) == 1
    row = (
        sqlite3.connect(wx.db_path)
        .execute("SELECT household_id, pickup_date, pickup_code FROM orders WHERE channel='wechat'")
        .fetchone()
    )
    assert row == (wx.households["张桂兰"], MONDAY, code.group(1))
    assert count(wx.db_path, "SELECT COUNT(*) FROM order_items") == 3

    second = wx.client.post("/wechat/confirm", data=form, headers=HX)
    assert second.status_code == 200
    assert f'class="bigcode wx-code">{code.group(1)}<' in second.text
    assert "同一个订单" in second.text
    assert wechat_orders(wx) == 1

    # pasting the same block again says it was already ordered; confirming still makes none
    again = preview(wx)
    assert "已经下过单" in card_html(again.text, "张阿姨")
    wx.client.post("/wechat/confirm", data=card_forms(again.text)["张阿姨"])
    assert wechat_orders(wx) == 1


def test_confirm_without_htmx_shows_a_whole_page(wx: Any) -> None:
    form = card_forms(preview(wx).text)["张阿姨"]
    r = wx.client.post("/wechat/confirm", data=form)
    assert r.status_code == 200 and "<!doctype html>" in r.text and "订单已保存" in r.text


def test_edited_rows_are_what_gets_ordered(wx: Any) -> None:
    form = card_forms(preview(wx).text)["张阿姨"]
    form["q_0"] = "3"  # 土豆 5 → 3 斤
    form["q_2"] = ""  # a blanked quantity drops 橙子
    assert wx.client.post("/wechat/confirm", data=form, headers=HX).status_code == 200
    items = (
        sqlite3.connect(wx.db_path)
        .execute("SELECT product_name, qty_unit, quantity FROM order_items ORDER BY line")
        .fetchall()
    )
    assert items == [("土豆", "g", 1500), ("黄瓜", "g", 1000)]


def test_add_and_remove_rows(wx: Any) -> None:
    form = card_forms(preview(wx).text)["张阿姨"]
    added = wx.client.post("/wechat/edit", data={**form, "op": "add"}, headers=HX)
    assert added.status_code == 200 and 'name="p_3"' in added.text
    assert added.text.lstrip().startswith("<section")  # the card alone, swapped in place
    removed = wx.client.post("/wechat/edit", data={**form, "op": "del:0"}, headers=HX)
    fields = card_forms(removed.text)["张阿姨"]
    assert "p_2" not in fields and fields["p_0"] == wx.products["黄瓜"]


def test_a_quantity_without_a_product_is_refused(wx: Any) -> None:
    form = card_forms(preview(wx).text)["张阿姨"]
    form["p_2"] = ""
    r = wx.client.post("/wechat/confirm", data=form, headers=HX)
    assert r.status_code == 400 and "第3行：请选择商品" in r.text
    assert wechat_orders(wx) == 0


def test_confirm_needs_a_household(wx: Any) -> None:
    form = card_forms(preview(wx).text)["老李"]
    r = wx.client.post("/wechat/confirm", data=form, headers=HX)
    assert r.status_code == 400 and "请选择住户" in r.text
    assert wechat_orders(wx) == 0


def test_confirm_with_a_new_household(wx: Any) -> None:
    form = card_forms(preview(wx).text)["老李"]
    form.update(hh_name="李建国", hh_phone="13912345678", hh_building="7")
    r = wx.client.post("/wechat/confirm", data=form, headers=HX)
    assert r.status_code == 200, r.text
    assert count(wx.db_path, "SELECT COUNT(*) FROM households WHERE wechat_nickname='老李'") == 1
    assert wechat_orders(wx) == 1


# --- linking a nickname --------------------------------------------------------


def test_link_nickname_in_one_tap(wx: Any) -> None:
    form = card_forms(preview(wx).text)["老李"]
    search = wx.client.get("/households/search", params={"hq": "王"}, headers=HX)
    assert wx.households["王秀英"] in search.text  # the picker the card loads
    form["household_id"] = wx.households["王秀英"]
    r = wx.client.post("/wechat/link", data=form, headers=HX)
    assert r.status_code == 200, r.text
    assert "已关联" in r.text and "王秀英" in r.text
    assert (
        count(
            wx.db_path,
            "SELECT COUNT(*) FROM households WHERE id = ? AND wechat_nickname = '老李'",
            (wx.households["王秀英"],),
        )
        == 1
    )
    # the next paste from 老李 finds the household by itself
    assert card_forms(preview(wx).text)["老李"]["household_id"] == wx.households["王秀英"]


def test_link_without_a_chosen_household_asks_for_one(wx: Any) -> None:
    form = card_forms(preview(wx).text)["老李"]
    r = wx.client.post("/wechat/link", data=form, headers=HX)
    assert r.status_code == 400 and "请先在列表里点选一户" in r.text


# --- price post ----------------------------------------------------------------


def test_price_post_page_has_the_text_and_a_copy_button(wx: Any) -> None:
    r = wx.client.get("/wechat/price-post")
    assert r.status_code == 200
    assert "到货菜单" in r.text and "测试社区" in r.text and "土豆" in r.text
    assert 'id="post-text" readonly' in r.text and 'id="copy-post"' in r.text
    assert "navigator.clipboard" in r.text and "execCommand" in r.text
    assert MONDAY in r.text and "11月29日 20:00" in r.text


# --- safety --------------------------------------------------------------------


def test_csrf_is_enforced_on_every_post(wx: Any) -> None:
    form = card_forms(preview(wx).text)["张阿姨"]
    del form["_csrf_token"]
    for path, data in (
        ("/wechat/preview", {"text": BLOCK}),
        ("/wechat/confirm", form),
        ("/wechat/link", {**form, "household_id": wx.households["王秀英"]}),
        ("/wechat/edit", {**form, "op": "add"}),
    ):
        r = wx.client.post(path, data=data)
        assert r.status_code == 403, path
    assert wechat_orders(wx) == 0


def test_script_in_a_sender_or_message_is_escaped(wx: Any) -> None:
    text = "<svg onload=alert(1)> 2026-11-29 08:01:12\n5斤土豆<script>alert(1)</script>"
    r = preview(wx, text)
    assert "<script>alert(1)</script>" not in r.text and "<svg onload" not in r.text
    assert "&lt;svg onload=alert(1)&gt;" in r.text
    form = card_forms(r.text)["<svg onload=alert(1)>"]
    form["sender"] = "<script>alert(1)</script>"
    r = wx.client.post("/wechat/edit", data=form, headers=HX)
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


# --- helpers -------------------------------------------------------------------


def test_segments_mark_understood_and_not_understood() -> None:
    runs = segments("黄瓜、西红柿各2斤，紫色的", ["黄瓜、西红柿各2斤", "西红柿各2斤"], ["紫色的"])
    assert runs == [(1, "黄瓜、西红柿各2斤"), (0, "，"), (2, "紫色的")]


def test_preview_and_price_post_speak_english_when_chosen(wx: Any) -> None:
    wx.client.get("/lang/en")
    r = preview(wx)
    assert "WeChat orders" in r.text and "Check each order, then tap Confirm." in r.text
    assert "Confirm order" in r.text and "Not understood:" in r.text
    assert "senders," in r.text and "orders to check." in r.text
    for zh in ("微信接龙", "确认下单", "逐单核对", "没看懂的部分", "再粘贴一段", "选择商品"):
        assert zh not in r.text, zh
    r = wx.client.post("/wechat/preview", data={"text": " ", "_csrf_token": wx.extra["token"]})
    assert r.status_code == 400 and "Paste a message first." in r.text
    r = wx.client.get("/wechat/price-post")
    assert "Next delivery day" in r.text and "Order cut-off" in r.text
    assert "11/29 20:00" in r.text and "下一个配送日" not in r.text and "截单时间" not in r.text
    assert "到货菜单" in r.text  # the post itself is for the group, in Chinese either way


# --- round 6: plain words, one-tap link from a suggestion, chat headers ----------


def test_rows_say_in_words_how_sure_the_reading_is(wx: Any) -> None:
    html = preview(wx, "土豆5斤，再要点香菜").text
    assert "把握" not in html and "%</span>" not in html
    assert "写得清楚" in html  # 土豆5斤: the name and the quantity, as written
    assert "是猜的" in html  # 香菜 with no quantity: a default amount


def test_an_unknown_name_links_to_a_suggested_household_in_one_tap(wx: Any) -> None:
    r = preview(wx, "老王 09:00\n5号楼的，土豆2斤")
    html = card_html(r.text, "老王")
    assert 'name="link_to"' in html and "王秀英" in html
    form = card_forms(r.text)["老王"]
    form["link_to"] = wx.households["王秀英"]  # the one tap: the suggestion's button
    linked = wx.client.post("/wechat/link", data=form, headers=HX)
    assert linked.status_code == 200, linked.text
    assert "已关联" in linked.text
    assert (
        count(
            wx.db_path,
            "SELECT COUNT(*) FROM households WHERE id = ? AND wechat_nickname = '老王'",
            (wx.households["王秀英"],),
        )
        == 1
    )
    assert (
        card_forms(preview(wx, "老王 10:00\n黄瓜1斤").text)["老王"]["household_id"]
        == (wx.households["王秀英"])
    )


def test_no_suggestion_without_a_hint(wx: Any) -> None:
    html = card_html(preview(wx).text, "老李")  # no 李 household, no address
    assert 'name="link_to"' not in html
    assert 'hx-get="/households/search"' in html


@pytest.mark.parametrize(
    "header", ["老隋 18:05", "老隋 下午 6:05", "老隋 早上7:05", "老隋 18：05", "老隋 (18:05)"]
)
def test_chat_header_lines_are_never_not_understood(wx: Any, header: str) -> None:
    r = preview(wx, f"{header}\n土豆2斤\n{header.replace('老隋', '小周')}\n黄瓜1斤")
    assert set(card_forms(r.text)) == {"老隋", "小周"}
    for sender in ("老隋", "小周"):
        html = card_html(r.text, sender)
        assert "没看懂" not in html and '<mark class="bad">' not in html
