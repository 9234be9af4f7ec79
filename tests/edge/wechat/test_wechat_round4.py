"""Round 4 of the WeChat parser: the kinds wechat_heldout_round4.jsonl (scored once,
untuned) showed, each rule with the near misses it must leave alone."""

from __future__ import annotations

import pytest
from wechat_scoring import parse, triples

# --------------------------------------------------------------------------- take-backs


@pytest.mark.parametrize(
    "text",
    ["土豆3斤，算了", "黄瓜两斤，算了不要了", "西瓜一个，算了，家里还有", "菠菜一斤，不要了"],
)
def test_a_lone_negation_takes_back_the_line_just_said(text: str) -> None:
    r = parse(text)
    assert r.items == ()
    assert not r.is_order
    assert len(r.struck) == 1
    assert r.struck[0].struck == "cancelled"


def test_a_take_back_strikes_only_the_last_line() -> None:
    r = parse("茄子2斤，豆角1斤，算了")
    assert triples("茄子2斤，豆角1斤，算了") == [("茄子", 2, "斤")]
    assert [i.product_name for i in r.struck] == ["豆角"]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A wish, not a cancellation: words follow the negation.
        ("黄瓜2斤，不要老的", [("黄瓜", 2, "斤")]),
        ("土豆3斤，不要太大的", [("土豆", 3, "斤")]),
        # A fallback: "没有就算了" only says what to do if there is none.
        ("西瓜有的话带一个，没有就算了", [("西瓜", 1, "个")]),
        # A take-back followed by a new quantity is a restatement, as before.
        ("西红柿来三斤，算了还是两斤吧", [("西红柿", 2, "斤")]),
        # The negation names its own product: only that one goes.
        ("土豆3斤 黄瓜2斤 黄瓜不要了", [("土豆", 3, "斤")]),
    ],
)
def test_near_misses_of_a_take_back(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


def test_a_take_back_with_nothing_said_is_no_order() -> None:
    r = parse("算了")
    assert r.items == () and r.struck == ()
    assert not r.is_order


# --------------------------------------------------------------------------- "我要3斤"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("鸡蛋2斤，我要3斤", ("鸡蛋", 3, "斤")),
        ("茄子两斤，我要一斤就够了", ("茄子", 1, "斤")),
        ("排骨1斤，要2斤", ("排骨", 2, "斤")),
    ],
)
def test_an_order_word_and_a_quantity_restate_the_line(
    text: str, want: tuple[str, float, str]
) -> None:
    r = parse(text)
    assert triples(text) == [want]
    assert [i.struck for i in r.struck] == ["corrected"]
    assert r.unparsed == ()


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A neighbour's line, then mine: two lines.
        ("帮对门王姨带2斤鸡蛋，我要3斤", [("鸡蛋", 2, "斤"), ("鸡蛋", 3, "斤")]),
        # Its own product: a new line.
        ("鸡蛋2斤，我要3斤土豆", [("鸡蛋", 2, "斤"), ("土豆", 3, "斤")]),
        # A product named without a quantity takes it, nothing is restated.
        ("土豆，我要3斤", [("土豆", 3, "斤")]),
    ],
)
def test_near_misses_of_a_restatement(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


# --------------------------------------------------------------------------- 换 alone


def test_huan_alone_swaps_the_product() -> None:
    assert triples("苹果2斤香蕉2斤，香蕉换梨") == [("苹果", 2, "斤"), ("梨", 2, "斤")]
    assert triples("香蕉换成梨，3斤") == [("梨", 3, "斤")]


# --------------------------------------------------------------------------- other foods


@pytest.mark.parametrize("text", ["土豆丝一斤", "馒头片一袋", "白菜心两个", "芹菜叶半斤"])
def test_a_part_or_cut_after_a_name_is_another_food(text: str) -> None:
    r = parse(text)
    assert r.items == ()
    assert not r.is_order


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("馒头片一袋，馒头五个", [("馒头", 5, "个")]),
        # Not glued to a quantity, a break or the end: the word describes the product.
        ("土豆3斤，切丝", [("土豆", 3, "斤")]),
        ("芹菜一斤 叶子别摘", [("芹菜", 1, "斤")]),
    ],
)
def test_near_misses_of_other_foods(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


# --------------------------------------------------------------------------- regional names


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("洋山芋两斤", ("土豆", 2, "斤")),
        ("薯仔三斤", ("土豆", 3, "斤")),
        ("矮瓜一斤", ("茄子", 1, "斤")),
        ("包粟两根", ("玉米", 2, "根")),
        ("芫茜一把", ("香菜", 1, "把")),
        ("鸡春两斤", ("鸡蛋", 2, "斤")),
        ("香交三斤", ("香蕉", 3, "斤")),
    ],
)
def test_southern_names_and_heard_spellings(text: str, want: tuple[str, float, str]) -> None:
    assert triples(text) == [want]


def test_a_southern_name_the_centre_does_not_stock_stays_unknown() -> None:
    # 山芋 is sweet potato in Jiangsu: not 土豆 (only 洋山芋 is).
    r = parse("山芋两斤")
    assert r.items == ()


# --------------------------------------------------------------------------- heard homophones


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("葫萝卜两斤", [("胡萝卜", 2, "斤")]),
        ("要一根湖萝卜", [("胡萝卜", 1, "根")]),
        # Near misses: another radish, and a real word ending in 萝卜, stay unknown.
        ("青萝卜两斤", []),
        ("水萝卜一把", []),
    ],
)
def test_a_longer_name_heard_with_a_homophone(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


# --------------------------------------------------------------------------- for them too


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("给我留两袋牛奶，帮502的老周也留两袋", [("牛奶", 2, "袋"), ("牛奶", 2, "袋")]),
        ("鸡蛋两斤，隔壁刘姐也要一斤", [("鸡蛋", 2, "斤"), ("鸡蛋", 1, "斤")]),
        # The other way round is the older rule, unchanged.
        ("帮楼下李奶奶带两斤鸡蛋，我自己要一斤", [("鸡蛋", 2, "斤"), ("鸡蛋", 1, "斤")]),
        # Near misses: 帮我 is the resident (ambiguous, left to the manager), and a part
        # with its own product is its own line.
        ("土豆3斤，帮我带2斤", [("土豆", 3, "斤")]),
        ("土豆3斤，帮对门带2斤黄瓜", [("土豆", 3, "斤"), ("黄瓜", 2, "斤")]),
    ],
)
def test_my_line_then_a_neighbours_quantity(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


def test_a_neighbours_quantity_keeps_who_it_is_for_for_the_manager() -> None:
    r = parse("土豆3斤，帮对门也带2斤")
    assert triples("土豆3斤，帮对门也带2斤") == [("土豆", 3, "斤"), ("土豆", 2, "斤")]
    # Who it is for is part of the neighbour's line (round 7: not "not understood").
    assert r.items[1].fragment == "帮对门也带2斤"
    assert r.unparsed == ()


# --------------------------------------------------------------------------- round 5
# Kinds the round-5 set (tests/edge/wechat/wechat_heldout_round5.jsonl, scored once untuned) showed.


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A clause that is only a take-back strikes the line before it, across a full stop.
        ("冬瓜两斤。算了。", []),
        ("土豆3斤 黄瓜2斤。不要了", [("土豆", 3, "斤")]),
        # Near miss: a take-back opening the clause, before a line, takes nothing back.
        ("算了，土豆2斤", [("土豆", 2, "斤")]),
    ],
)
def test_a_take_back_clause(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("土豆条一袋 土豆两斤", [("土豆", 2, "斤")]),
        # Near miss: 条 as a count unit after a quantity is still the product's.
        ("黄瓜两条", [("黄瓜", 2, "条")]),
    ],
)
def test_tiao_after_a_name_is_another_food(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("藕两斤 茄子一斤", [("茄子", 1, "斤")]),
        ("笋一斤，黄瓜两斤", [("黄瓜", 2, "斤")]),
        # Near misses: a particle between items is no word, and a known one-character
        # name keeps its own quantity.
        ("土豆三斤 的 黄瓜2斤", [("土豆", 3, "斤"), ("黄瓜", 2, "斤")]),
        ("姜两块 茄子一斤", [("姜", 2, "块"), ("茄子", 1, "斤")]),
        ("梨两斤 茄子一斤", [("梨", 2, "斤"), ("茄子", 1, "斤")]),
    ],
)
def test_a_one_character_unknown_word_opening_its_part_keeps_its_quantity(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "土豆3斤，不用送了",
        "土豆3斤，不用送，我自己去拿",
        "黄瓜2斤，别的不要了",
        "黄瓜2斤，就这些，别的不用了",
    ],
)
def test_declining_something_else_takes_nothing_back(text: str) -> None:
    r = parse(text)
    assert len(r.items) == 1
    assert r.struck == ()


def test_a_double_take_back_is_explained_whole() -> None:
    r = parse("黄瓜两斤，算了不要了")
    assert r.items == ()
    assert r.unparsed == ()
