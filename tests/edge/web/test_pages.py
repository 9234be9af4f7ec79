"""The tablet pages through the real app: sign-in, CSRF, escaping, roles, the order and desk flow.

Uses the `centre` fixture from conftest (a real temp database, clock fixed on
Sunday 2026-11-29 10:00, so new orders are for Monday 2026-11-30).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from centre_world import count
from page_forms import TOKEN_RE, csrf, order_form, sign_in
from paths import CHECKOUT

from edge.errors import BadRequest
from edge.web.pages import configure_templates
from edge.web.pages.formats import jin, parse_jin, parse_yuan, yuan
from edge.web.pages.i18n import translations

MONDAY = "2026-11-30"
ROOT = CHECKOUT


@pytest.fixture
def pages(centre: Any) -> Any:
    configure_templates(centre.client.app.template_engine)  # harmless if app.py already did
    return centre


# --- sign-in -----------------------------------------------------------------


def test_pages_need_sign_in(pages: Any) -> None:
    client = pages.client
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    r = client.get("/orders/new", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=/orders/new"
    r = client.get("/desk", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.headers["HX-Redirect"].startswith("/signin")


def test_sign_in_sets_long_lived_cookie_and_goes_back(pages: Any) -> None:
    client = pages.client
    token = csrf(client)
    r = client.post(
        "/signin",
        data={"name": "staff", "pin": "1234", "_csrf_token": token, "next": "/orders"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/orders"
    cookie = next(
        v
        for k, v in r.headers.multi_items()
        if k == "set-cookie" and v.startswith("linli_session=")
    )
    assert "Max-Age=31536000" in cookie and "HttpOnly" in cookie
    assert client.get("/").status_code == 200
    r = client.post("/signout", data={"_csrf_token": csrf(client, "/")}, follow_redirects=False)
    assert r.headers["location"] == "/signin"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_refuses_offsite_next(pages: Any) -> None:
    client = pages.client
    r = client.post(
        "/signin",
        data={
            "name": "staff",
            "pin": "1234",
            "_csrf_token": csrf(client),
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/x"  # the path only: it stays on this box


def test_wrong_pin_says_so(pages: Any) -> None:
    r = sign_in(pages.client, pin="9999")
    assert r.status_code == 401
    assert "名字或密码不对" in r.text
    assert "linli_session" not in r.headers.get("set-cookie", "")


def test_sign_in_rate_limit_shows_message(pages: Any) -> None:
    client = pages.client
    for _ in range(5):
        assert sign_in(client, pin="0000").status_code == 401
    r = sign_in(client, pin="1234")  # even the right PIN waits now
    assert r.status_code == 429
    assert "密码错误次数太多" in r.text


def test_post_without_csrf_token_is_refused(pages: Any) -> None:
    client = pages.client
    r = client.post("/signin", data={"name": "manager", "pin": "1234"}, follow_redirects=False)
    assert r.status_code == 403
    assert sign_in(client).status_code == 303
    before = count(pages.db_path, "SELECT COUNT(*) FROM orders")
    data = order_form(pages, "x")
    del data["_csrf_token"]
    r = client.post("/orders/new", data=data, follow_redirects=False)
    assert r.status_code == 403
    assert count(pages.db_path, "SELECT COUNT(*) FROM orders") == before


# --- orders --------------------------------------------------------------------


def test_double_submit_makes_one_order(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    first = client.post(
        "/orders/new", data=order_form(pages, token, key="tap-1"), follow_redirects=False
    )
    second = client.post(
        "/orders/new", data=order_form(pages, token, key="tap-1"), follow_redirects=False
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].split("?")[0] == second.headers["location"].split("?")[0]
    assert count(pages.db_path, "SELECT COUNT(*) FROM orders WHERE idempotency_key = 'tap-1'") == 1
    detail = client.get(first.headers["location"])
    assert "订单已保存" in detail.text and MONDAY in detail.text
    assert "<svg" in detail.text  # the QR of the pickup code, drawn on the box


def test_each_form_render_gets_a_fresh_key(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    keys = {
        re.search(r'name="idempotency_key" value="([^"]+)"', client.get("/orders/new").text).group(
            1
        )
        for _ in range(2)
    }  # type: ignore[union-attr]
    assert len(keys) == 2


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("qty", "0", "请检查数量"),
        ("qty", "abc", "请检查数量"),
        ("hh_phone", "12345", "请检查电话号码"),
    ],
)
def test_bad_order_input_rerenders_and_writes_nothing(
    pages: Any, field: str, value: str, hint: str
) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    data = order_form(pages, token, key=f"bad-{field}-{value}")
    if field == "qty":
        data[f"qty_{pages.products['土豆']}"] = value
    else:
        del data["household_id"]
        data.update(hh_name="新居民", hh_phone=value)
    before = count(pages.db_path, "SELECT COUNT(*) FROM orders")
    households = count(pages.db_path, "SELECT COUNT(*) FROM households")
    r = client.post("/orders/new", data=data, follow_redirects=False)
    assert r.status_code == 400
    assert hint in r.text
    assert f'value="bad-{field}-{value}"' in r.text  # the same key: a retry stays one order
    assert count(pages.db_path, "SELECT COUNT(*) FROM orders") == before
    assert count(pages.db_path, "SELECT COUNT(*) FROM households") == households


def test_order_without_household_or_items_is_refused(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    r = client.post(
        "/orders/new",
        data={"_csrf_token": token, "idempotency_key": "e1", "channel": "wechat"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "请至少选一样商品" in r.text
    data = order_form(pages, token, key="e2")
    del data["household_id"]
    r = client.post("/orders/new", data=data, follow_redirects=False)
    assert r.status_code == 400 and "请选择住户" in r.text


def test_resident_name_with_script_is_text(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    data = order_form(pages, token, key="xss")
    del data["household_id"]
    data.update(
        hh_name="<script>alert(1)</script>",
        hh_phone="13900001111",
        notes='"><img src=x onerror=alert(2)>',
    )
    r = client.post("/orders/new", data=data)
    assert r.status_code == 200
    for page in (
        r.text,
        client.get(f"/orders?day={MONDAY}").text,
        client.get("/households/search?q=script").text,
    ):
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_order_list_search_and_filter(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    r = client.post("/orders/new", data=order_form(pages, token, key="s1"))
    code = re.search(r'id="pickup-code">(\d+)<', r.text).group(1)  # type: ignore[union-attr]
    for q in (code, "1234", "张桂", "张阿姨"):
        page = client.get(f"/orders?day={MONDAY}&q={q}")
        assert code in page.text, q
    packed = client.get(f"/orders?day={MONDAY}&status=packed")
    assert packed.status_code == 200 and code not in packed.text
    assert 'value="packed" selected' in packed.text
    fragment = client.get(f"/orders?day={MONDAY}&q=张", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and code in fragment.text


def test_late_order_is_told_its_day(pages: Any) -> None:
    from datetime import datetime

    client = pages.client
    sign_in(client)
    pages.clock.now = datetime(2026, 11, 29, 21, 0)  # after Sunday's 20:00 cut-off
    form = client.get("/orders/new")
    assert "已过 2026-11-30 的截单时间" in form.text and "2026-12-02" in form.text
    token = TOKEN_RE.search(form.text).group(1)  # type: ignore[union-attr]
    r = client.post("/orders/new", data=order_form(pages, token, key="late"))
    assert "已过截单时间" in r.text and "2026-12-02" in r.text


# --- pack, desk, dashboard -----------------------------------------------------


def test_pickup_flow_weigh_pay_hand_over(pages: Any) -> None:
    client = pages.client
    sign_in(client, "staff")
    token = csrf(client, "/orders/new")
    r = client.post(
        "/orders/new", data=order_form(pages, token, key="flow"), follow_redirects=False
    )
    order_id = r.headers["location"].split("/")[2].split("?")[0]
    # 2 斤 土豆 at 1.80 = 3.60 estimated, 6 橙子 at 1.50 = 9.00
    detail = client.get(f"/orders/{order_id}")
    assert "12.60" in detail.text
    client.post(f"/orders/{order_id}/packed", data={"_csrf_token": token})
    assert (
        count(
            pages.db_path,
            "SELECT COUNT(*) FROM orders WHERE id = ? AND status = 'packed'",
            (order_id,),
        )
        == 1
    )

    desk = client.get(f"/desk/{order_id}")
    item = re.search(r'name="w_([0-9A-Z]+)"', desk.text).group(1)  # type: ignore[union-attr]
    # weigh 2.3 斤: 1150 g × 1.80 元/斤 = 4.14 → total 13.14, +0.54 from the estimate
    panel = client.post(
        f"/desk/{order_id}/weights",
        data={"_csrf_token": token, f"w_{item}": "2.3"},
        headers={"HX-Request": "true"},
    )
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "13.14" in panel.text and "+0.54" in panel.text

    bad = client.post(
        f"/desk/{order_id}/complete",
        data={"_csrf_token": token, "method": "cash", "amount": "12.345"},
    )
    assert bad.status_code == 400 and "请输入实收金额" in bad.text
    assert count(pages.db_path, "SELECT COUNT(*) FROM payments") == 0

    done = client.post(
        f"/desk/{order_id}/complete",
        data={"_csrf_token": token, "method": "cash", "amount": "20", "shown_due": "1314"},
    )
    assert done.status_code == 200
    assert "已取货" in done.text and "6.86" in done.text  # change from 20 元
    dash = client.get(f"/?day={MONDAY}")
    assert re.search(r'id="tile-picked"><b>1</b>', dash.text)
    assert "¥13.14" in dash.text  # takings are the price, not the cash handed over


def test_weighing_and_paying_in_one_tap_asks_again_if_price_moved(pages: Any) -> None:
    client = pages.client
    sign_in(client, "staff")
    token = csrf(client, "/orders/new")
    r = client.post(
        "/orders/new", data=order_form(pages, token, key="one-tap"), follow_redirects=False
    )
    order_id = r.headers["location"].split("/")[2].split("?")[0]
    desk = client.get(f"/desk/{order_id}")
    item = re.search(r'name="w_([0-9A-Z]+)"', desk.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        f"/desk/{order_id}/complete",
        data={
            "_csrf_token": token,
            "method": "cash",
            "amount": "12.60",
            "shown_due": "1260",
            f"w_{item}": "2.3",
        },
    )
    # Nothing saved; the new total is said, and the typed amount is never replaced.
    assert r.status_code == 409
    assert "价格现在是 ¥13.14，不是刚才显示的 ¥12.60" in r.text and 'value="12.60"' in r.text
    assert re.search(r'id="due">¥13.14<', r.text)
    assert count(pages.db_path, "SELECT COUNT(*) FROM payments") == 0


def test_cancel_needs_confirm_and_close_day(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    r = client.post("/orders/new", data=order_form(pages, token, key="c1"), follow_redirects=False)
    order_id = r.headers["location"].split("/")[2].split("?")[0]
    confirm = client.get(f"/orders/{order_id}/cancel")
    assert "确定取消" in confirm.text
    client.post(f"/orders/{order_id}/cancel", data={"_csrf_token": token})
    assert "已取消" in client.get(f"/orders/{order_id}").text
    client.post("/orders/new", data=order_form(pages, token, key="c2"))
    pages.clock.now = pages.clock.now.replace(day=30, hour=12)  # Monday noon: the day has come
    r = client.post("/close-day", data={"_csrf_token": token, "day": MONDAY})
    assert "1 单标为未取" in r.text


def test_volunteer_sees_masked_phones_on_delivery_list(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    client.post(
        "/orders/new",
        data=order_form(pages, token, key="home", household_id=pages.households["王秀英"]),
    )
    assert "15863219876" in client.get(f"/lists/delivery?day={MONDAY}").text
    client.post("/signout", data={"_csrf_token": token})
    sign_in(client, "volunteer")
    page = client.get(f"/lists/delivery?day={MONDAY}")
    assert "王秀英" in page.text
    assert "15863219876" not in page.text and "158****9876" in page.text
    assert client.get("/catalog").status_code == 403  # managers only


def test_packing_list_groups_by_building(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/orders/new")
    client.post(
        "/orders/new",
        data=order_form(pages, token, key="p1", household_id=pages.households["王秀英"]),
    )
    client.post("/orders/new", data=order_form(pages, token, key="p2"))
    page = client.get(f"/lists/packing?day={MONDAY}").text
    assert page.index("3号楼1单元201") < page.index("5号楼1单元101")
    assert "2 斤" in page and 'href="/static/print.css" media="print"' in page


def test_manager_edits_price_and_special(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    token = csrf(client, "/catalog")
    pid = pages.products["黄瓜"]
    r = client.post(
        f"/catalog/{pid}",
        data={
            "_csrf_token": token,
            "price": "3.20",
            "special_price": "2.50",
            "special_from": MONDAY,
            "special_to": MONDAY,
            "active": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert count(pages.db_path, "SELECT price_fen FROM products WHERE id = ?", (pid,)) == 320
    bad = client.post(f"/catalog/{pid}", data={"_csrf_token": token, "price": "-1"})
    assert bad.status_code == 400 and "请输入价格" in bad.text
    assert count(pages.db_path, "SELECT price_fen FROM products WHERE id = ?", (pid,)) == 320
    form = client.get("/orders/new").text  # Monday's special shows on the order form
    assert "2.50" in form
    cal = client.post(
        "/calendar",
        data={
            "_csrf_token": token,
            "weekday": ["0", "3"],
            "cutoff": "19:00",
            "pickup_hours": "07:00-11:00",
        },
        follow_redirects=False,
    )
    assert cal.status_code == 303
    bad = client.post(
        "/calendar", data={"_csrf_token": token, "cutoff": "19:00", "pickup_hours": "x"}
    )
    assert bad.status_code == 400 and "请至少选一个配送日" in bad.text


def test_walk_in_sale_once_per_form(pages: Any) -> None:
    client = pages.client
    sign_in(client, "staff")
    page = client.get("/walkin").text
    token = TOKEN_RE.search(page).group(1)  # type: ignore[union-attr]
    form_token = re.search(r'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {
        "_csrf_token": token,
        "token": form_token,
        "method": "wechat",
        f"qty_{pages.products['土豆']}": "1.5",
        f"unit_{pages.products['土豆']}": "斤",
    }
    first = client.post("/walkin", data=data)
    second = client.post("/walkin", data=data)
    assert "已售：¥2.70" in first.text and "已售：¥2.70" in second.text
    assert count(pages.db_path, "SELECT COUNT(*) FROM walkin_sales") == 1


def test_english_is_a_tap_away(pages: Any) -> None:
    client = pages.client
    sign_in(client)
    r = client.get("/lang/en?next=/orders", follow_redirects=False)
    assert r.headers["location"] == "/orders"
    page = client.get("/")
    assert "Takings" in page.text and 'lang="en"' in page.text
    client.get("/lang/zh")
    assert "今日收入" in client.get("/").text


# --- the bits under the pages ------------------------------------------------


def test_money_and_weight_formats() -> None:
    assert yuan(1260) == "12.60" and yuan(5) == "0.05" and yuan(-54) == "-0.54"
    assert jin(1150) == "2.3" and jin(500) == "1"
    assert parse_yuan("12.5元") == 1250 and parse_jin("2.3") == 1150
    for bad in ("", "abc", "-1", "1.234", "NaN", "1e9"):
        with pytest.raises(BadRequest):
            parse_yuan(bad)
    with pytest.raises(BadRequest):
        parse_jin("0")


def page_msgids() -> dict[str, set[str]]:
    """Every msgid the tablet pages use, with the files that use it."""
    found: dict[str, set[str]] = {}
    for fn, _line, msg, _c, _x in extract_from_dir(
        str(ROOT / "templates"),
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.setdefault(msg if isinstance(msg, str) else msg[0], set()).add(f"templates/{fn}")
    for fn, _line, msg, _c, _x in extract_from_dir(
        str(ROOT / "edge" / "web" / "pages"),
        method_map=[("**.py", "python")],
        keywords={"_": None, "N_": None},
    ):
        found.setdefault(msg if isinstance(msg, str) else msg[0], set()).add(f"edge/web/pages/{fn}")
    return found


def test_every_msgid_has_a_chinese_translation() -> None:
    found = page_msgids()
    used_in = set().union(*found.values())
    for part in (
        "templates/supply/",
        "templates/wechat/",
        "edge/web/pages/supply.py",
        "edge/web/pages/wechat/",
    ):
        assert any(f.startswith(part) for f in used_in), f"no msgids found under {part}"
    zh = translations("zh")
    missing = sorted(m for m in found if zh.gettext(m) == m)
    assert not missing
    with (ROOT / "edge/locale/en/LC_MESSAGES/messages.po").open("rb") as fh:
        en = read_po(fh, locale="en")
    assert not sorted(m for m in found if m not in en)


def test_supply_and_wechat_templates_have_no_inline_chinese() -> None:
    """Their words go through the catalogs; only unit names (斤, 个, 份) may stay, as data.

    supply/loading_list.html is the hub's printed van sheet, rendered without the catalogs.
    """
    expression = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
    literal = re.compile(r"\"([^\"]*)\"|'([^']*)'")
    han = re.compile(r"[\u3400-\u9fff]")
    units = {"斤", "个", "份"}
    for folder in ("supply", "wechat"):
        for path in (ROOT / "templates" / folder).glob("*.html"):
            if path.name == "loading_list.html":
                continue
            source = path.read_text(encoding="utf-8")
            words = han.findall(expression.sub("", source))
            for part in expression.findall(source):
                for a, b in literal.findall(part):
                    if han.search(a or b) and (a or b) not in units:
                        words.append(a or b)
            assert not [w for w in words if w not in units], (path.name, words)


def test_no_external_urls_in_pages() -> None:
    pattern = re.compile(r"(src|href)\s*=\s*[\"']?(https?:)?//", re.I)
    for path in [*(ROOT / "templates").glob("*.html"), *(ROOT / "templates" / "static").glob("*")]:
        if path.name == "htmx.min.js":
            continue
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_short_delivery_shows_at_the_desk_and_on_the_packing_list(pages: Any) -> None:
    c = pages
    made = []
    for who in ("张桂兰", "王秀英"):
        r = c.client.post(
            "/api/v1/orders",
            headers=c.headers(),
            json={
                "household_id": c.households[who],
                "items": [{"product_id": c.products["橙子"], "quantity": 6}],
            },
        )
        made.append(r.json()["id"])
    c.clock.now = datetime(2026, 11, 30, 6, 0)  # Monday 06:00: the van is here, 8 of 12 came
    r = c.client.post(
        "/api/v1/receiving",
        headers=c.headers(),
        json={
            "delivery_date": "2026-11-30",
            "lines": [{"product_id": c.products["橙子"], "qty_unit": "piece", "arrived": 8}],
        },
    )
    assert r.status_code == 200, r.text
    assert sign_in(c.client).status_code == 303
    first = c.client.get(f"/desk/{made[0]}")
    assert "到货不足" not in first.text  # ordered first, filled first
    second = c.client.get(f"/desk/{made[1]}")
    assert "到货不足" in second.text and "橙子" in second.text
    packing_page = c.client.get("/lists/packing", params={"day": "2026-11-30"})
    assert packing_page.text.count("到货不足") == 1
