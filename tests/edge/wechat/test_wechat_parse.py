"""Tests for edge.domain.wechat: one test group per language rule, a corpus precision/recall gate,
and the chat-block splitter."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import WECHAT_CORPUS, WECHAT_SETS
from wechat_catalog import CATALOG, padded_catalog
from wechat_scoring import parse, score, triples

from edge.domain.wechat import (
    Catalog,
    CatalogEntry,
    ChatMessage,
    ParsedItem,
    fold,
    group_by_sender,
    parse_message,
    split_chat_block,
)

CAT = Catalog(CATALOG)
CORPUS = WECHAT_CORPUS


def only(text: str) -> ParsedItem:
    items = parse(text).items
    assert len(items) == 1, items
    return items[0]


# --------------------------------------------------------------------------- the real message


def test_message_from_the_report() -> None:
    text = "@小玮 姐,5斤土豆、黄瓜2斤、馒头5元5个的、橙子6个、圆青椒4个。谢谢!"
    r = parse(text)
    assert triples(text) == [
        ("土豆", 5, "斤"),
        ("黄瓜", 2, "斤"),
        ("馒头", 5, "个"),
        ("橙子", 6, "个"),
        ("青椒", 4, "个"),
    ]
    assert r.unparsed == ()
    assert r.is_order
    bun = r.items[2]
    assert (bun.pieces, bun.amount_fen, bun.grams) == (5, 500, None)
    assert r.items[0].grams == 2500 and r.items[0].pieces is None
    pepper = r.items[4]
    assert (pepper.product_id, pepper.pieces, pepper.grams) == ("p05", 4, None)


def test_traditional_with_stray_punctuation_quotes_original_text() -> None:
    text = "@小瑋 姐,,5斤土豆、黃瓜2斤,、饅頭5元5個的、橙子6個,、圓青椒4個,。謝謝!"
    r = parse(text)
    assert triples(text) == [
        ("土豆", 5, "斤"),
        ("黄瓜", 2, "斤"),
        ("馒头", 5, "个"),
        ("橙子", 6, "个"),
        ("青椒", 4, "个"),
    ]
    assert [i.fragment for i in r.items] == [
        "5斤土豆",
        "黃瓜2斤",
        "饅頭5元5個的",
        "橙子6個",
        "圓青椒4個",
    ]
    assert r.items[2].amount_fen == 500
    assert r.unparsed == ()


def test_fold_keeps_length_and_simplifies() -> None:
    text = "饅頭５個，蔥一把😊[玫瑰]ＫＧ"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded.startswith("馒头5个,葱一把")
    assert folded.endswith("kg")
    assert "玫瑰" not in folded


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fold_length_and_parse_total_on_any_text(text: str) -> None:
    assert len(fold(text)) == len(text)
    r = parse(text)
    for item in r.items:
        assert item.fragment in text
        assert 0 < item.confidence <= 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(list("土豆黄瓜5斤两半个块钱元的各、，和 ?吗不要谢@小玮1.２五十")),
        max_size=30,
    )
)
def test_parse_total_on_order_like_noise(chars: list[str]) -> None:
    text = "".join(chars)
    r = parse(text)
    assert r.is_order == bool(r.items)
    assert all(i.fragment and i.fragment in text for i in r.items)


def _pieces_of_every_labelled_message() -> list[str]:
    """Every labelled message cut into runs of 1 to 6 characters, plus chat-block headers:
    word salad made of them reaches the rules a narrow alphabet never does (a message
    ending in 把 once answered 500)."""
    pieces = ["\n", "张阿姨 08:01\n", "[图片]", "撤回了一条消息", "9" * 30, "0"]
    for path in sorted(WECHAT_SETS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            for n in (1, 2, 3, 4, 6):
                pieces += [text[i : i + n] for i in range(0, max(1, len(text) - n + 1), n)]
    return sorted(set(pieces))


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(_pieces_of_every_labelled_message()), min_size=3, max_size=16))
def test_parse_and_chat_split_total_on_word_salad(pieces: list[str]) -> None:
    text = "".join(pieces)
    r = parse(text)
    assert r.is_order == bool(r.items)
    assert all(i.fragment and i.fragment in text for i in r.items)
    assert all(0 < i.quantity and 0 < i.confidence <= 1 for i in r.items)
    for said in group_by_sender(split_chat_block(text)).values():
        parse("\n".join(m.text for m in said))


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "qty"),
    [
        ("土豆5斤", 5),
        ("土豆５斤", 5),
        ("土豆１２斤", 12),
        ("土豆一斤", 1),
        ("土豆二斤", 2),
        ("土豆两斤", 2),
        ("土豆三斤", 3),
        ("土豆四斤", 4),
        ("土豆六斤", 6),
        ("土豆七斤", 7),
        ("土豆八斤", 8),
        ("土豆九斤", 9),
        ("土豆十斤", 10),
        ("土豆十五斤", 15),
        ("土豆二十斤", 20),
        ("土豆二十五斤", 25),
        ("土豆半斤", 0.5),
    ],
)
def test_numerals(text: str, qty: float) -> None:
    assert triples(text) == [("土豆", qty, "斤")]


@pytest.mark.parametrize(
    ("text", "pieces"), [("要俩西瓜", 2), ("西瓜仨", 3), ("俩西瓜", 2), ("来个西瓜", 1)]
)
def test_colloquial_counts(text: str, pieces: int) -> None:
    item = only(text)
    assert (item.product_name, item.pieces, item.unit) == ("西瓜", pieces, "个")


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("text", "grams"),
    [
        ("排骨2斤", 1000),
        ("排骨1公斤", 1000),
        ("排骨1kg", 1000),
        ("排骨1KG", 1000),
        ("排骨1千克", 1000),
        ("排骨500克", 500),
        ("排骨500g", 500),
        ("排骨3两", 150),
        ("排骨1.5kg", 1500),
        ("排骨5斤装的", 2500),
    ],
)
def test_weight_units_become_jin_and_grams(text: str, grams: int) -> None:
    item = only(text)
    assert (item.unit, item.grams, item.pieces) == ("斤", grams, None)
    assert item.quantity == pytest.approx(grams / 500)


@pytest.mark.parametrize(
    ("text", "product", "unit", "pieces"),
    [
        ("橙子6个", "橙子", "个", 6),
        ("香菜一把", "香菜", "把", 1),
        ("挂面2袋", "挂面", "袋", 2),
        ("酸奶3盒", "酸奶", "盒", 3),
        ("豆腐一块", "豆腐", "块", 1),
        ("花卷1份", "花卷", "份", 5),
        ("牛奶2瓶", "牛奶", "瓶", 2),
        ("牛奶1桶", "牛奶", "桶", 1),
        ("芹菜一捆", "芹菜", "捆", 1),
        ("玉米3根", "玉米", "根", 3),
        ("蒜两头", "蒜", "头", 2),
        ("白菜一颗", "白菜", "颗", 1),
        ("大白菜一棵", "大白菜", "棵", 1),
        ("黄瓜3条", "黄瓜", "条", 3),
        ("西瓜1只", "西瓜", "只", 1),
        ("香菜一小把", "香菜", "把", 1),
    ],
)
def test_piece_units(text: str, product: str, unit: str, pieces: int) -> None:
    item = only(text)
    assert (item.product_name, item.unit, item.pieces, item.grams) == (product, unit, pieces, None)


def test_by_weight_product_in_pieces_is_weighed_at_the_desk() -> None:
    item = only("西红柿3个")
    assert (item.unit, item.quantity, item.pieces, item.grams) == ("个", 3, 3, None)


def test_bundle_units() -> None:
    assert (only("馒头10个").pieces, only("馒头10个").unit) == (10, "个")
    two = only("馒头两份")
    assert (two.quantity, two.unit, two.pieces) == (2, "份", 10)


# --------------------------------------------------------------------------- word order


@pytest.mark.parametrize(
    "text", ["5斤土豆", "土豆5斤", "土豆 五斤", "土豆五斤", "土豆：5斤", "五斤的土豆"]
)
def test_quantity_before_or_after(text: str) -> None:
    assert triples(text) == [("土豆", 5, "斤")]


@pytest.mark.parametrize(
    "text",
    ["5斤土豆2斤黄瓜", "土豆5斤黄瓜2斤", "5斤土豆黄瓜2斤", "土豆5斤 2斤黄瓜", "土豆 5斤 黄瓜 2斤"],
)
def test_pairs_without_separators(text: str) -> None:
    assert triples(text) == [("土豆", 5, "斤"), ("黄瓜", 2, "斤")]


def test_quantity_never_jumps_a_comma_to_the_wrong_product() -> None:
    assert triples("黄瓜2斤，5斤土豆") == [("黄瓜", 2, "斤"), ("土豆", 5, "斤")]


def test_quantity_in_its_own_list_item_belongs_to_the_product_before() -> None:
    assert triples("土豆，5斤；黄瓜，2斤") == [("土豆", 5, "斤"), ("黄瓜", 2, "斤")]


# --------------------------------------------------------------------------- halves and 两


@pytest.mark.parametrize(
    ("text", "jin"),
    [
        ("半斤韭菜", 0.5),
        ("一斤半韭菜", 1.5),
        ("2斤半韭菜", 2.5),
        ("1.5斤韭菜", 1.5),
        ("两斤半韭菜", 2.5),
        ("韭菜斤半", 1.5),
        ("韭菜1斤2两", 1.2),
    ],
)
def test_halves(text: str, jin: float) -> None:
    assert triples(text) == [("韭菜", jin, "斤")]


@pytest.mark.parametrize(
    ("text", "grams"),
    [("两斤姜", 1000), ("三两姜", 150), ("二两姜", 100), ("一两姜", 50), ("两两姜", 100)],
)
def test_liang_is_two_or_fifty_grams(text: str, grams: int) -> None:
    assert only(text).grams == grams


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("text", "product", "fen"),
    [
        ("10块钱的香菜", "香菜", 1000),
        ("香菜5元", "香菜", 500),
        ("买20元的排骨", "排骨", 2000),
        ("二十块钱的五花肉", "五花肉", 2000),
        ("韭菜来5块钱的", "韭菜", 500),
        ("香菜5块", "香菜", 500),
        ("香菜¥3", "香菜", 300),
        ("香菜5块5", "香菜", 550),
    ],
)
def test_money_denominated(text: str, product: str, fen: int) -> None:
    item = only(text)
    assert (item.product_name, item.amount_fen) == (product, fen)
    assert item.unit == "斤"
    # The desk weighs up to the amount: the estimate follows the catalog price.
    price = next(e.price_fen for e in CATALOG if e.name == product)
    assert item.quantity == pytest.approx(fen / price, abs=0.01)
    assert item.confidence < 1


def test_money_with_count() -> None:
    item = only("馒头5元5个的")
    assert (item.quantity, item.unit, item.pieces, item.amount_fen) == (5, "个", 5, 500)


def test_price_statement_is_not_a_quantity() -> None:
    assert triples("5元一斤的土豆来2斤") == [("土豆", 2, "斤")]
    assert triples("土豆一斤1.5元，来5斤") == [("土豆", 5, "斤")]


@pytest.mark.parametrize(
    ("text", "unit", "fen"),
    [
        ("一块豆腐", "块", None),
        ("豆腐两块", "块", None),
        ("冬瓜一块", "块", None),
        ("10块的豆腐", "块", 1000),
        ("3块钱的豆腐", "块", 300),
    ],
)
def test_kuai_is_a_piece_or_money_by_context(text: str, unit: str, fen: int | None) -> None:
    item = only(text)
    assert item.amount_fen == fen
    assert item.unit == unit


# --------------------------------------------------------------------------- lists


def test_each_applies_to_every_listed_product() -> None:
    assert triples("黄瓜、西红柿各2斤") == [("黄瓜", 2, "斤"), ("西红柿", 2, "斤")]
    assert triples("土豆5斤，苹果 梨 各3斤") == [
        ("土豆", 5, "斤"),
        ("苹果", 3, "斤"),
        ("梨", 3, "斤"),
    ]
    assert triples("茄子和豆角各来半斤") == [("茄子", 0.5, "斤"), ("豆角", 0.5, "斤")]


@pytest.mark.parametrize(
    "sep", ["、", "，", ",", "；", ";", " ", "\n", "和", "跟", "还有", "再来", "还要", "另外", "加"]
)
def test_separators(sep: str) -> None:
    assert triples(f"土豆5斤{sep}黄瓜2斤") == [("土豆", 5, "斤"), ("黄瓜", 2, "斤")]


def test_numbered_list_markers_are_not_quantities() -> None:
    text = "1. 土豆5斤\n2、黄瓜2斤\n(3) 鸡蛋1.5斤"
    assert triples(text) == [("土豆", 5, "斤"), ("黄瓜", 2, "斤"), ("鸡蛋", 1.5, "斤")]


# --------------------------------------------------------------------------- noise


@pytest.mark.parametrize(
    "text",
    [
        "@小玮 姐 土豆5斤 谢谢",
        "@小玮\u2005土豆5斤",
        "小玮姐您好，麻烦帮我留土豆5斤，辛苦了！",
        "土豆5斤哈",
        "土豆5斤呀",
        "土豆5斤啊",
        "土豆5斤哦",
        "土豆5斤吧",
        "😊🙏土豆5斤👍",
        "[玫瑰]土豆5斤[抱拳]",
        "谢谢姐\n土豆5斤",
    ],
)
def test_greetings_mentions_politeness_emoji_are_skipped(text: str) -> None:
    r = parse(text)
    assert triples(text) == [("土豆", 5, "斤")]
    assert r.unparsed == ()


def test_mention_does_not_swallow_the_order() -> None:
    assert triples("@小玮姐土豆5斤") == [("土豆", 5, "斤")]


# --------------------------------------------------------------------------- products


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("圆青椒2斤", "青椒"),
        ("柿子椒2斤", "青椒"),
        ("青椒2斤", "青椒"),
        ("番茄2斤", "西红柿"),
        ("马铃薯2斤", "土豆"),
        ("洋芋2斤", "土豆"),
    ],
)
def test_aliases(text: str, product: str) -> None:
    item = only(text)
    assert item.product_name == product
    assert item.confidence >= 0.9


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("白菜2斤", "白菜"),
        ("大白菜2斤", "大白菜"),
        ("小白菜2斤", "小白菜"),
        ("葱2斤", "葱"),
        ("大葱2斤", "大葱"),
        ("洋葱2斤", "洋葱"),
        ("胡萝卜2斤", "胡萝卜"),
        ("白萝卜2斤", "白萝卜"),
        ("萝卜2斤", "白萝卜"),
    ],
)
def test_longest_name_wins(text: str, product: str) -> None:
    assert only(text).product_name == product


def test_one_typo_in_a_long_name_is_matched_with_lower_confidence() -> None:
    item = only("西红事2斤")
    assert (item.product_name, item.quantity, item.fragment) == ("西红柿", 2, "西红事2斤")
    assert item.confidence < 0.9
    assert triples("胡箩卜3斤") == [("胡萝卜", 3, "斤")]


def test_typo_without_quantity_is_not_guessed() -> None:
    r = parse("西红事")
    assert r.items == () and r.unparsed == ("西红事",)


def test_product_without_quantity_defaults_to_one_with_low_confidence() -> None:
    item = only("要点香菜")
    assert (item.quantity, item.unit, item.grams, item.confidence) == (1, "斤", 500, 0.6)
    bun = only("还要馒头")
    assert (bun.quantity, bun.unit, bun.pieces) == (1, "份", 5)


def test_product_mentioned_in_chat_is_not_an_order() -> None:
    r = parse("昨天的黄瓜很新鲜")
    assert r.items == () and not r.is_order
    assert "黄瓜" in " ".join(r.unparsed)


def test_cancelled_products_are_not_ordered() -> None:
    assert triples("不要土豆了") == []
    assert triples("小白菜2斤，大白菜就不要了") == [("小白菜", 2, "斤")]
    assert parse("土豆取消").unparsed


# --------------------------------------------------------------------------- non-orders


@pytest.mark.parametrize(
    "text", ["明天几点开门?", "谢谢小玮", "收到", "好的，谢谢姐", "👍", "[强]", "土豆多少钱一斤？"]
)
def test_not_an_order(text: str) -> None:
    r = parse(text)
    assert r.items == ()
    assert not r.is_order
    assert r.note.startswith("不是订单")


def test_questions_are_listed_but_greetings_are_not() -> None:
    assert parse("明天几点开门?").unparsed == ("明天几点开门?",)
    assert parse("谢谢小玮").unparsed == ()
    assert parse("小玮姐在吗").unparsed == ()


def test_question_mixed_with_order_keeps_items() -> None:
    r = parse("土豆5斤，明天几点开门？黄瓜2斤")
    assert triples("土豆5斤，明天几点开门？黄瓜2斤") == [("土豆", 5, "斤"), ("黄瓜", 2, "斤")]
    assert r.unparsed == ("明天几点开门？",)
    assert r.is_order and "人工" in r.note


def test_answer_to_own_question() -> None:
    assert triples("有鸡蛋吗？来3斤") == [("鸡蛋", 3, "斤")]
    assert triples("香菜怎么卖？先要一把") == [("香菜", 1, "把")]


def test_unknown_content_is_reported_not_dropped() -> None:
    r = parse("土豆5斤，橘子3斤")
    assert triples("土豆5斤，橘子3斤") == [("土豆", 5, "斤")]
    assert r.unparsed == ("橘子3斤",)


# --------------------------------------------------------------------------- generalisation
# Failure classes found by the held-out set (tests/edge/wechat/wechat_heldout.jsonl).


@pytest.mark.parametrize(
    ("text", "product", "qty", "unit"),
    [
        ("黄爪2斤", "黄瓜", 2, "斤"),
        ("鸡旦3斤", "鸡蛋", 3, "斤"),
        ("豆付两块", "豆腐", 2, "块"),
        ("慢头10个", "馒头", 10, "个"),
        ("土逗3斤", "土豆", 3, "斤"),
        ("东瓜一块", "冬瓜", 1, "块"),
    ],
)
def test_homophone_typo_in_two_character_name(
    text: str, product: str, qty: float, unit: str
) -> None:
    item = only(text)
    assert (item.product_name, item.quantity, item.unit) == (product, qty, unit)
    assert item.confidence < 0.8


@pytest.mark.parametrize("text", ["鸭蛋2斤", "黄豆2斤", "柿子2斤", "辣椒半斤", "要鸡旦"])
def test_near_names_that_are_other_things_stay_unparsed(text: str) -> None:
    r = parse(text)
    assert r.items == () and r.unparsed


@pytest.mark.parametrize(
    "text",
    [
        "大米一袋多少斤？",
        "鸡蛋一盒几个",
        "西瓜一个多重",
        "上次买的3斤排骨真不错",
        "上周买了5斤土豆吃完了",
        "我昨天订的土豆还没拿，今天还能拿吗",
        "谢谢小玮姐，东西都拿到了，黄瓜特别新鲜👍",
        "这次的黄瓜2块5一斤挺便宜",
        "谁家要西瓜，我家多了两个",
    ],
)
def test_questions_and_talk_about_products_are_not_orders(text: str) -> None:
    r = parse(text)
    assert r.items == () and not r.is_order and r.unparsed


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("十来个馒头", [("馒头", 10, "个")]),
        ("三斤多土豆", [("土豆", 3, "斤")]),
        ("要个南瓜", [("南瓜", 1, "个")]),
        ("土豆 5 斤、牛奶 2 箱", [("土豆", 5, "斤"), ("牛奶", 2, "箱")]),
        ("明天早上给我留点小白菜和菠菜", [("小白菜", 1, "斤"), ("菠菜", 1, "斤")]),
        ("土豆，黄瓜，都是2斤", [("土豆", 2, "斤"), ("黄瓜", 2, "斤")]),
        ("土豆黄瓜分别2斤", [("土豆", 2, "斤"), ("黄瓜", 2, "斤")]),
        ("土豆不要了 黄瓜还是2斤 西红柿加到3斤", [("黄瓜", 2, "斤"), ("西红柿", 3, "斤")]),
        ("帮我问下明天有没有排骨，有的话给我留三斤", [("排骨", 3, "斤")]),
        ("土豆还有吗？来3斤", [("土豆", 3, "斤")]),
    ],
)
def test_generalisation_cases(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


def test_approximate_quantity_has_lower_confidence() -> None:
    assert only("十来个馒头").confidence < only("十个馒头").confidence


# --------------------------------------------------------------------------- API


def test_accepts_a_plain_sequence_of_entries() -> None:
    assert parse_message("土豆5斤", list(CATALOG)).items == parse("土豆5斤").items


def test_fragment_always_quotes_the_original() -> None:
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        for item in parse(text).items:
            assert item.fragment in text


def test_big_catalog_gives_same_result() -> None:
    big = Catalog(padded_catalog(300))
    assert len(big) == 300
    text = "@小玮 姐,5斤土豆、黄瓜2斤、馒头5元5个的、橙子6个、圆青椒4个。谢谢!"
    assert parse_message(text, big).items == parse(text).items


def test_traditional_catalog_names_are_folded() -> None:
    cat = Catalog([CatalogEntry("t1", "饅頭", (), "bundle", "個", 500, 5)])
    assert [i.product_id for i in parse_message("馒头5个", cat).items] == ["t1"]


# --------------------------------------------------------------------------- corpus


def test_corpus_precision_and_recall() -> None:
    cases = CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(cases) >= 170
    assert sum(1 for c in cases if not json.loads(c)["items"]) >= 15
    precision, recall, wrong_non_orders, _ = score(CORPUS)
    assert precision >= 0.98
    assert recall >= 0.95
    assert wrong_non_orders == 0


# --------------------------------------------------------------------------- chat blocks

BLOCK = """张阿姨 2026-11-27 18:03:12
@小玮 姐,5斤土豆、黄瓜2斤
馒头5元5个的
李叔 2026-11-27 18:04:40
西红柿3斤，鸡蛋2斤
王奶奶 2026-11-27 18:05:02
明天几点开门?
张阿姨 2026-11-27 18:06:15
再加一把香菜
李叔 2026-11-27 18:06:30
谢谢
"""


def test_split_desktop_block_with_three_senders() -> None:
    msgs = split_chat_block(BLOCK)
    assert [m.sender for m in msgs] == ["张阿姨", "李叔", "王奶奶", "张阿姨", "李叔"]
    assert msgs[0].sent_at == "2026-11-27 18:03:12"
    assert msgs[0].text == "@小玮 姐,5斤土豆、黄瓜2斤\n馒头5元5个的"
    groups = group_by_sender(msgs)
    assert list(groups) == ["张阿姨", "李叔", "王奶奶"]
    zhang = "\n".join(m.text for m in groups["张阿姨"])
    assert triples(zhang) == [
        ("土豆", 5, "斤"),
        ("黄瓜", 2, "斤"),
        ("馒头", 5, "个"),
        ("香菜", 1, "把"),
    ]
    assert not parse(groups["王奶奶"][0].text).is_order


def test_split_bracket_and_colon_forms() -> None:
    block = "[18:03] 张阿姨: 5斤土豆\n[18:04] 李叔：黄瓜2斤\n[18:05] 李叔：鸡蛋1斤\n"
    assert split_chat_block(block) == [
        ChatMessage("张阿姨", "18:03", "5斤土豆"),
        ChatMessage("李叔", "18:04", "黄瓜2斤\n鸡蛋1斤"),
    ]
    colon = "张阿姨: 5斤土豆\n李叔：黄瓜2斤\n土豆再加2斤"
    assert [(m.sender, m.text) for m in split_chat_block(colon)] == [
        ("张阿姨", "5斤土豆"),
        ("李叔", "黄瓜2斤\n土豆再加2斤"),
    ]


def test_split_time_only_header() -> None:
    block = "张阿姨 18:03\n5斤土豆\n李叔 下午6:04\n黄瓜2斤"
    assert [(m.sender, m.sent_at, m.text) for m in split_chat_block(block)] == [
        ("张阿姨", "18:03", "5斤土豆"),
        ("李叔", "下午6:04", "黄瓜2斤"),
    ]


def test_plain_message_is_one_message_without_sender() -> None:
    assert split_chat_block("5斤土豆\n黄瓜2斤") == [ChatMessage("", None, "5斤土豆\n黄瓜2斤")]
    # "土豆：5斤" lines are an order, not two senders called 土豆 and 黄瓜.
    msgs = split_chat_block("土豆：5斤\n黄瓜：2斤", not_senders=("土豆", "黄瓜"))
    assert msgs == [ChatMessage("", None, "土豆：5斤\n黄瓜：2斤")]


# --------------------------------------------------------------------------- harder language


def test_ranges_take_the_upper_end_with_lower_confidence() -> None:
    item = only("排骨来个两三斤")
    assert (item.quantity, item.unit) == (3, "斤") and item.confidence < 0.9
    assert triples("橙子3-4个") == [("橙子", 4, "个")]
    assert triples("一两姜") == [("姜", 0.1, "斤")]  # one 两, not "one or two"


def test_container_of_many_is_one_container() -> None:
    assert triples("牛奶24瓶一箱") == [("牛奶", 1, "箱")]
    assert triples("鸡蛋5斤装的一盒") == [("鸡蛋", 1, "盒")]


def test_changed_quantity_replaces_the_old_one() -> None:
    assert triples("土豆5斤，改成3斤") == [("土豆", 3, "斤")]
    r = parse("我订了土豆5斤，能改成3斤吗")
    assert triples("我订了土豆5斤，能改成3斤吗") == [("土豆", 3, "斤")]
    assert r.unparsed  # the question still needs an answer


def test_fact_questions_order_nothing() -> None:
    assert parse("我想问一下馒头是5元5个吗？").items == ()
    assert parse("请问西瓜多少钱一个").items == ()


def test_product_in_chatter_is_not_defaulted() -> None:
    assert triples("土豆5斤，上次的土豆很好吃") == [("土豆", 5, "斤")]
    assert triples("土豆5斤，黄瓜") == [("土豆", 5, "斤"), ("黄瓜", 1, "斤")]


def test_same_product_named_twice_is_one_item() -> None:
    assert triples("西红柿（番茄）2斤") == [("西红柿", 2, "斤")]


def test_preparation_words_do_not_break_the_pair_but_are_reported() -> None:
    r = parse("五花肉切成片 2斤")
    assert triples("五花肉切成片 2斤") == [("五花肉", 2, "斤")]
    assert r.unparsed == ("切成片",)


def test_each_before_the_list() -> None:
    assert triples("每样一斤：土豆、黄瓜") == [("土豆", 1, "斤"), ("黄瓜", 1, "斤")]


def test_addresses_and_phone_numbers_are_not_quantities() -> None:
    assert triples("2单元301 西红柿2斤") == [("西红柿", 2, "斤")]
    assert triples("电话13912345678，土豆5斤") == [("土豆", 5, "斤")]
    assert triples("3号楼王阿姨：土豆5斤") == [("土豆", 5, "斤")]


def test_a_price_next_to_a_product_is_not_an_order_for_it() -> None:
    r = parse("黄瓜3元一斤，土豆1.5元一斤")
    assert r.items == () and not r.is_order
    assert r.unparsed == ("黄瓜", "土豆")
