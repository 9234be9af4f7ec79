"""The supply tablet pages through the real app: sign-in, CSRF, forms, print views."""

from __future__ import annotations

import re
import sqlite3

from centre_world import Centre
from page_forms import csrf
from supply_world import AFTER_CUTOFF, MONDAY, MONDAY_0600, place, signed_in


def test_pages_need_sign_in(sc: Centre) -> None:
    r = sc.client.get("/supply/receiving", follow_redirects=False)
    assert r.status_code in (302, 303) and "/signin" in r.headers["location"]


def test_order_sheet_text_buffer_and_sent_by_hand(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    signed_in(sc)
    r = sc.client.get("/supply/order", params={"day": MONDAY})
    assert r.status_code == 200 and "未截单" in r.text and "土豆" in r.text
    token = csrf(sc.client, f"/supply/order?day={MONDAY}")
    r = sc.client.post(
        "/supply/order/buffer",
        data={
            "_csrf_token": token,
            "day": MONDAY,
            "product_id": sc.products["土豆"],
            "quantity": "2.5",
        },
    )
    assert r.status_code == 200 and "7.5斤" in r.text
    sc.clock.now = AFTER_CUTOFF
    r = sc.client.get("/supply/order")  # default: the next delivery day
    assert "第1版" in r.text and "已用微信/短信发送" in r.text
    r = sc.client.post(
        "/supply/order/sent-by-hand",
        data={"_csrf_token": csrf(sc.client, "/supply/order"), "day": MONDAY, "version": "1"},
    )
    assert r.status_code == 200 and "已手工发送" in r.text
    r = sc.client.post("/supply/order/sent-by-hand", data={"day": MONDAY, "version": "1"})
    assert r.status_code == 403  # no CSRF token


def test_staff_may_not_set_the_buffer(sc: Centre) -> None:
    signed_in(sc, "staff")
    token = csrf(sc.client, f"/supply/order?day={MONDAY}")
    r = sc.client.post(
        "/supply/order/buffer",
        data={
            "_csrf_token": token,
            "day": MONDAY,
            "product_id": sc.products["土豆"],
            "quantity": "1",
        },
    )
    assert r.status_code == 403 and "只有站长可以这样做" in r.text


def test_order_sheet_and_receiving_speak_english_when_chosen(sc: Centre) -> None:
    place(sc, [("土豆", 5, "斤")])
    signed_in(sc)
    sc.client.get("/lang/en")
    r = sc.client.get("/supply/order", params={"day": MONDAY})
    assert r.status_code == 200 and 'lang="en"' in r.text
    # the text for the co-op stays Chinese, as the co-op reads it; the page around it is English
    html = re.sub(r"<textarea.*?</textarea>", "", r.text, flags=re.S)
    for en in ("Order to the co-op", "Open; locks at", "Residents' orders", "Buffer", "Receiving"):
        assert en in html, en
    for zh in ("订货单", "未截单", "居民订", "备货", "零售备货", "收货", "对账"):
        assert zh not in html, zh
    sc.clock.now = MONDAY_0600
    r = sc.client.get("/supply/receiving")
    assert "Receiving at 06:00" in r.text and "Save what arrived" in r.text
    assert "Expected from: the order. Weights in jin." in r.text
    for zh in ("早6点收货", "保存实到数量", "应到", "按斤输入重量"):
        assert zh not in r.text, zh
    token = csrf(sc.client, "/supply/receiving")
    bad = sc.client.post(
        "/supply/receiving",
        data={"_csrf_token": token, "day": MONDAY, f"arrived:{sc.products['土豆']}:g": "x"},
    )
    assert bad.status_code == 400 and "Enter what arrived" in bad.text


def test_receiving_returns_and_reconciliation_pages(sc: Centre) -> None:
    first = place(sc, [("土豆", 5, "斤"), ("橙子", 6, None)])
    place(sc, [("橙子", 6, None)], who="王秀英")
    sc.clock.now = AFTER_CUTOFF
    sc.client.get("/api/v1/consolidated", params={"delivery_date": MONDAY}, headers=sc.headers())
    sc.clock.now = MONDAY_0600
    signed_in(sc, "staff")
    r = sc.client.get("/supply/receiving")
    assert r.status_code == 200 and "土豆" in r.text and 'value="5"' in r.text
    token = csrf(sc.client, "/supply/receiving")
    r = sc.client.post(
        "/supply/receiving",
        data={
            "_csrf_token": token,
            "day": MONDAY,
            f"arrived:{sc.products['土豆']}:g": "5",
            f"arrived:{sc.products['橙子']}:piece": "8",
        },
    )
    assert r.status_code == 200 and "缺货的订单" in r.text and "橙子: 6个 → 2个" in r.text
    bad = sc.client.post(
        "/supply/receiving",
        data={"_csrf_token": token, "day": MONDAY, f"arrived:{sc.products['橙子']}:piece": "x"},
    )
    assert bad.status_code == 400
    r = sc.client.get("/supply/returns")
    assert r.status_code == 200 and "退回" in r.text
    r = sc.client.post(
        "/supply/returns",
        data={
            "_csrf_token": csrf(sc.client, "/supply/returns"),
            "day": MONDAY,
            f"left:{sc.products['土豆']}:g": "0.5",
            f"left:{sc.products['橙子']}:piece": "0",
        },
    )
    assert r.status_code == 200 and "退货单已保存" in r.text
    conn = sqlite3.connect(sc.db_path)
    try:
        back = conn.execute("SELECT product_name, quantity FROM supply_return_lines").fetchall()
    finally:
        conn.close()
    assert back == [("土豆", 250)]
    r = sc.client.get("/supply/reconciliation")
    assert r.status_code == 200 and "当日对账" in r.text and "无价格" in r.text
    r = sc.client.get("/supply/reconciliation.csv")
    assert r.headers["content-type"].startswith("text/csv") and "土豆" in r.content.decode()
    assert first
