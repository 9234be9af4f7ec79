"""Numbers and keys in posted page forms: a 400 naming the field, and nothing written.

`edge.web.forms` on its own, then every tablet page handler that reads a number
or a compound key from its form, driven through the real app on a real temp
database (conftest's `centre`, the supply `sc`, the WeChat `wx`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from centre_world import Centre, order_body
from litestar.datastructures import FormMultiDict
from page_forms import csrf, sign_in
from supply_world import AFTER_CUTOFF, MONDAY, MONDAY_0600, place
from wechat_paste import HX, card_forms, preview

from edge.errors import BadRequest
from edge.web.forms import (
    Parse,
    Prefixed,
    Text,
    Whole,
    decode_form,
    key_parts,
    parse_int,
)
from edge.web.pages import configure_templates

# What int() takes or chokes on: superscripts raise, other scripts' digits pass,
# 5,000 digits trip its length limit, 20 digits overflow SQLite's INTEGER.
BAD_NUMBERS = ["²", "abc", "٣", "１２", "-1", "1.5", "1e3", "99999999999999999999", "9" * 5000]


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but sign-in sessions: what "nothing was written" means."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in tables
            if t != "sessions"
        }
    finally:
        conn.close()


def _signed_in(c: Centre, who: str) -> None:
    configure_templates(c.client.app.template_engine)
    assert sign_in(c.client, who).status_code == 303


# --- the helpers -----------------------------------------------------------------


@pytest.mark.parametrize("text", [*BAD_NUMBERS, "", "  ", "101"])
def test_parse_int_refuses_with_the_field(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_int(text, "bundle_size", minimum=1, maximum=100)
    assert caught.value.field == "bundle_size"
    assert caught.value.detail == "bundle_size must be a whole number from 1 to 100"


def test_parse_int_takes_ascii_digits_in_bounds() -> None:
    assert parse_int("0", "n", maximum=5) == 0
    assert parse_int(" 07 ", "n", maximum=10) == 7
    assert parse_int("100", "n", minimum=1, maximum=100) == 100


def test_key_parts() -> None:
    assert key_parts("arrived:P1:g", 3) == ["arrived", "P1", "g"]
    assert key_parts("arrived:P1:a:b", 3) == ["arrived", "P1", "a:b"]
    for key in ("arrived:P1", "arrived::g", "arrived:P1:", "arrived"):
        with pytest.raises(BadRequest) as caught:
            key_parts(key, 3)
        assert caught.value.field == key


Lower = Annotated[str, Parse(lambda text, field: text.lower())]


class Sample(msgspec.Struct, kw_only=True):
    """Every kind of field `decode_form` reads."""

    name: Annotated[str, Text(limit=4, strip=True)] = ""
    method: str = "cash"
    unit: str | None = None
    delivered: bool = False
    product_id: list[str] = []
    weekday: Annotated[list[int], Whole(maximum=6)] = []
    count: Annotated[int, Whole(minimum=1, maximum=9)] = 1
    upper: Annotated[str | None, Parse(lambda text, field: text.upper())] = None
    lower: Lower | None = None  # markers inside an optional alias count too
    w: Annotated[dict[str, str], Prefixed("w_")] = {}
    arrived: Annotated[list[tuple[str, str]], Prefixed("arrived:")] = []


class Blank(msgspec.Struct):
    """Optional texts whose default is not None: blank is still None."""

    note: str | None = "none given"
    hint: Annotated[str | None, Text(strip=True)] = "none given"


def test_decode_form_blank_optional_text_is_none() -> None:
    assert decode_form(FormMultiDict([("note", ""), ("hint", "  ")]), Blank) == Blank(None, None)
    assert decode_form(FormMultiDict([]), Blank) == Blank()


class Needs(msgspec.Struct):
    token: str
    seats: Annotated[int, Whole(maximum=500)]


def test_decode_form_reads_each_kind_of_field() -> None:
    form = FormMultiDict(
        [
            ("name", "  王小明同学 "),
            ("method", "wechat"),
            ("unit", "斤"),
            ("delivered", "1"),
            ("product_id", "P1"),
            ("product_id", "P2"),
            ("weekday", "1"),
            ("weekday", "6"),
            ("count", " 3 "),
            ("upper", "ab"),
            ("lower", "CD"),
            ("w_I1", "2.3"),
            ("w_I2", ""),
            ("w_I1", "9"),
            ("arrived:P1:g", "2"),
            ("arrived:P1:g", "3"),
            ("unknown", "x"),
        ]
    )
    got = decode_form(form, Sample)
    assert got == Sample(
        name="王小明同",
        method="wechat",
        unit="斤",
        delivered=True,
        product_id=["P1", "P2"],
        weekday=[1, 6],
        count=3,
        upper="AB",
        lower="cd",
        w={"I1": "2.3", "I2": ""},
        arrived=[("arrived:P1:g", "2"), ("arrived:P1:g", "3")],
    )


def test_decode_form_blank_and_missing_take_the_default() -> None:
    blank = FormMultiDict(
        [("name", "   "), ("method", ""), ("unit", ""), ("delivered", "yes"), ("count", " ")]
    )
    assert decode_form(blank, Sample) == Sample()
    assert decode_form(FormMultiDict([]), Sample) == Sample()
    assert decode_form({"product_id": "P9", "count": "2"}, Sample) == Sample(
        product_id=["P9"], count=2
    )  # a plain mapping (values echoed back to a page) reads alike


@pytest.mark.parametrize("text", ["０", "٣", "三", "１２", "-1", "1.5", "10", "9" * 5000])
def test_decode_form_refuses_numbers_with_the_field(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_form(FormMultiDict([("count", text)]), Sample)
    assert caught.value.field == "count"
    assert caught.value.detail == "count must be a whole number from 1 to 9"
    with pytest.raises(BadRequest) as caught:
        decode_form(FormMultiDict([("weekday", "2"), ("weekday", text)]), Sample)
    assert caught.value.field == "weekday"


def test_decode_form_refuses_a_missing_required_field() -> None:
    with pytest.raises(BadRequest) as caught:
        decode_form(FormMultiDict([("other", "1"), ("seats", "2")]), Needs)
    assert (caught.value.field, caught.value.detail) == ("token", "token is missing")
    for seats in ([], [("seats", " ")]):  # a number without a default: the parser's words
        with pytest.raises(BadRequest) as caught:
            decode_form(FormMultiDict([("token", "t"), *seats]), Needs)
        assert (caught.value.field, caught.value.detail) == (
            "seats",
            "seats must be a whole number from 0 to 500",
        )
    assert decode_form(FormMultiDict([("token", "t"), ("seats", "2")]), Needs) == Needs("t", 2)


# --- the pickup desk ---------------------------------------------------------------


@pytest.fixture
def desk(centre: Centre) -> tuple[Centre, str, str]:
    """An order on the desk, staff signed in; the order and its 土豆 (by weight) line."""
    r = centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    conn = sqlite3.connect(centre.db_path)
    try:
        item = conn.execute(
            "SELECT id FROM order_items WHERE order_id = ? AND product_name = '土豆'", (order_id,)
        ).fetchone()[0]
    finally:
        conn.close()
    _signed_in(centre, "staff")
    return centre, order_id, item


@pytest.mark.parametrize("shown", BAD_NUMBERS)
def test_desk_complete_refuses_a_bad_shown_due(desk: tuple[Centre, str, str], shown: str) -> None:
    c, order_id, item = desk
    token = csrf(c.client, f"/desk/{order_id}")
    before = snapshot(c.db_path)
    r = c.client.post(
        f"/desk/{order_id}/complete",
        data={
            "_csrf_token": token,
            "method": "cash",
            "amount": "20",
            "shown_due": shown,
            f"w_{item}": "2.3",
        },
    )
    assert r.status_code == 400, r.text
    assert "shown_due must be a whole number" in r.text  # the desk page, with the error on it
    assert 'role="alert"' in r.text
    assert snapshot(c.db_path) == before


def test_desk_complete_without_shown_due_still_pays(desk: tuple[Centre, str, str]) -> None:
    c, order_id, item = desk
    token = csrf(c.client, f"/desk/{order_id}")
    r = c.client.post(
        f"/desk/{order_id}/complete",
        data={
            "_csrf_token": token,
            "method": "cash",
            "amount": "50",
            "shown_due": "",
            f"w_{item}": "2.3",
        },
    )
    assert r.status_code == 200, r.text
    assert "已取货" in r.text


# --- the manager's catalog and calendar ----------------------------------------------


@pytest.mark.parametrize("size", [*BAD_NUMBERS, "0", "101"])
def test_add_product_refuses_a_bad_bundle_size(manager_centre: Centre, size: str) -> None:
    centre = manager_centre
    configure_templates(centre.client.app.template_engine)
    token = csrf(centre.client, "/catalog")
    before = snapshot(centre.db_path)
    r = centre.client.post(
        "/catalog",
        data={
            "_csrf_token": token,
            "name": "花卷",
            "category": "主食",
            "sold_by": "bundle",
            "unit": "个",
            "price": "5",
            "bundle_size": size,
        },
        follow_redirects=False,
    )
    assert r.status_code == 400, r.text
    assert "bundle_size must be a whole number from 1 to 100" in r.text
    assert snapshot(centre.db_path) == before


@pytest.mark.parametrize("weekdays", [[d] for d in [*BAD_NUMBERS, "", "7"]] + [["1", "²"]])
def test_save_calendar_refuses_bad_weekdays(manager_centre: Centre, weekdays: list[str]) -> None:
    centre = manager_centre
    configure_templates(centre.client.app.template_engine)
    token = csrf(centre.client, "/calendar")
    before = snapshot(centre.db_path)
    r = centre.client.post(
        "/calendar",
        data={"_csrf_token": token, "weekday": weekdays, "cutoff": "20:00"},
        follow_redirects=False,
    )
    assert r.status_code == 400, r.text
    assert "weekdays must be a whole number from 0 to 6" in r.text
    assert snapshot(centre.db_path) == before


# --- supply: the order sheet, receiving, returns ---------------------------------------


@pytest.mark.parametrize("quantity", BAD_NUMBERS)
def test_order_buffer_refuses_a_bad_count(manager_centre: Centre, quantity: str) -> None:
    sc = manager_centre  # a centre (the supply pages are part of every centre app)
    configure_templates(sc.client.app.template_engine)
    token = csrf(sc.client, f"/supply/order?day={MONDAY}")
    before = snapshot(sc.db_path)
    r = sc.client.post(
        "/supply/order/buffer",
        data={
            "_csrf_token": token,
            "day": MONDAY,
            "product_id": sc.products["橙子"],  # by the piece: whole numbers
            "quantity": quantity,
        },
        follow_redirects=False,
    )
    assert r.status_code == 400, r.text
    assert "quantity must be a whole number from 0 to 100000" in r.text
    assert snapshot(sc.db_path) == before


@pytest.mark.parametrize("version", [*BAD_NUMBERS, "0"])
def test_sent_by_hand_refuses_a_bad_version(sc: Centre, version: str) -> None:
    place(sc, [("橙子", 6, None)])
    sc.clock.now = AFTER_CUTOFF
    _signed_in(sc, "manager")
    token = csrf(sc.client, "/supply/order")  # drawing the sheet after the cut-off locks it
    before = snapshot(sc.db_path)
    r = sc.client.post(
        "/supply/order/sent-by-hand",
        data={"_csrf_token": token, "day": MONDAY, "version": version},
        follow_redirects=False,
    )
    assert r.status_code == 400, r.text
    assert "version must be a whole number from 1 to" in r.text
    assert snapshot(sc.db_path) == before


def _supply_post(sc: Centre, path: str, fields: dict[str, str]) -> Any:
    sc.clock.now = MONDAY_0600
    _signed_in(sc, "staff")
    token = csrf(sc.client, f"/supply/{path}?day={MONDAY}")
    return sc.client.post(
        f"/supply/{path}",
        data={"_csrf_token": token, "day": MONDAY, **fields},
        follow_redirects=False,
    )


@pytest.mark.parametrize(("path", "prefix"), [("receiving", "arrived"), ("returns", "left")])
@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_supply_counts_are_refused(sc: Centre, path: str, prefix: str, value: str) -> None:
    before = snapshot(sc.db_path)
    r = _supply_post(sc, path, {f"{prefix}:{sc.products['橙子']}:piece": value})
    assert r.status_code == 400, r.text
    field = "arrived" if path == "receiving" else "quantity"
    assert f"{field} must be a whole number from 0 to 100000" in r.text
    assert snapshot(sc.db_path) == before


@pytest.mark.parametrize(("path", "prefix"), [("receiving", "arrived"), ("returns", "left")])
@pytest.mark.parametrize("shape", ["{p}:{id}", "{p}::piece", "{p}:{id}:", "{p}:"])
def test_malformed_supply_keys_are_refused(sc: Centre, path: str, prefix: str, shape: str) -> None:
    key = shape.format(p=prefix, id=sc.products["橙子"])
    before = snapshot(sc.db_path)
    r = _supply_post(sc, path, {key: "3"})
    assert r.status_code == 400, r.text
    assert f"the form field &#39;{key}&#39; is malformed" in r.text
    assert snapshot(sc.db_path) == before


# --- WeChat cards -------------------------------------------------------------------


def _card_with(wx: Any, sender: str, **changes: str) -> dict[str, str]:
    form = card_forms(preview(wx).text)[sender]
    form["_csrf_token"] = wx.extra["token"]
    form.update(changes)
    return form


CARD_GARBAGE = [
    *({"p_" + n: ""} for n in ["²", "abc", "٣", "", "99999999999999999999"]),
    *({"a_0": n} for n in BAD_NUMBERS),
    *({"c_0": n} for n in ["inf", "-inf", "nan", "2", "-0.5", "abc", "²"]),
]


@pytest.mark.parametrize("garbage", CARD_GARBAGE, ids=repr)
@pytest.mark.parametrize("path", ["/wechat/confirm", "/wechat/edit"])
def test_card_fields_are_refused(wx: Any, path: str, garbage: dict[str, str]) -> None:
    form = _card_with(wx, "张阿姨", **garbage)
    before = snapshot(wx.db_path)
    r = wx.client.post(path, data=form, headers=HX)
    assert r.status_code == 400, r.text
    (name,) = garbage
    assert name[:20] in r.text and "must be a" in r.text
    assert snapshot(wx.db_path) == before


@pytest.mark.parametrize("garbage", CARD_GARBAGE[:3], ids=repr)
def test_link_with_a_malformed_card_links_nothing(wx: Any, garbage: dict[str, str]) -> None:
    form = _card_with(wx, "老李", household_id=wx.households["王秀英"], **garbage)
    before = snapshot(wx.db_path)
    r = wx.client.post("/wechat/link", data=form, headers=HX)
    assert r.status_code == 400, r.text
    assert snapshot(wx.db_path) == before


@pytest.mark.parametrize("op", ["del:²", "del:abc", "del:٣", "del:", "del:-1", "del:9" * 30])
def test_edit_refuses_a_bad_row_to_delete(wx: Any, op: str) -> None:
    r = wx.client.post("/wechat/edit", data=_card_with(wx, "张阿姨", op=op), headers=HX)
    assert r.status_code == 400, r.text
    assert "op must be a whole number" in r.text
