"""WeChat parser, round 2: the rules a second held-out set (wechat_heldout_round2.jsonl,
written before these changes) showed missing. One test group per rule, each with wordings
other than the held-out ones, and the near misses each rule must leave alone."""

from __future__ import annotations

import pytest
from wechat_catalog import CATALOG

from edge.domain.wechat import Catalog, CatalogEntry, ParseResult, parse_message

CAT = Catalog(CATALOG)


def parse(text: str) -> ParseResult:
    return parse_message(text, CAT)


def triples(text: str) -> list[tuple[str, float, str]]:
    return [(i.product_name, i.quantity, i.unit) for i in parse(text).items]


# --------------------------------------------------------------------------- regional names


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("给俺留三斤地蛋", [("土豆", 3, "斤")]),
        ("饽饽二十个", [("馒头", 20, "个")]),
        ("大饽饽两个，要开花的", [("馒头", 2, "个")]),
        ("棒子两根 苞米一根", [("玉米", 2, "根"), ("玉米", 1, "根")]),
        ("鸡子三斤", [("鸡蛋", 3, "斤")]),
        ("圆葱一个", [("洋葱", 1, "个")]),
        ("肉末半斤", [("猪肉馅", 0.5, "斤")]),
    ],
)
def test_regional_names_mean_the_standard_product(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


def test_a_regional_name_needs_its_standard_product_and_never_shadows_a_catalog_name() -> None:
    no_potato = Catalog([e for e in CATALOG if e.name != "土豆"])
    assert parse_message("地蛋五斤", no_potato).items == ()
    own = CatalogEntry("z1", "地蛋", (), "weight", "斤", 100)
    got = parse_message("地蛋五斤", Catalog([*CATALOG, own])).items
    assert [(i.product_id, i.quantity) for i in got] == [("z1", 5)]


def test_regional_names_get_no_typo_tolerance() -> None:
    # "大柿子" (persimmons) is one character from 洋柿子, but only catalog words are fuzzy.
    tomato = CatalogEntry("t1", "西红柿", ("番茄",), "weight", "斤", 350)
    cat = Catalog([tomato])
    assert [(i.product_id, i.quantity) for i in parse_message("洋柿子3斤", cat).items] == [
        ("t1", 3)
    ]
    assert parse_message("大柿子3斤", cat).items == ()


# --------------------------------------------------------------------------- other foods


@pytest.mark.parametrize(
    "text",
    [
        "玉米面3斤",
        "鸡蛋糕两盒",
        "番茄酱一瓶",
        "西瓜子半斤",
        "豆腐干两块",
        "山药豆二斤",
        "牛奶糖",
        "土豆粉两袋",
        "圆白菜两个",
        "洋白菜一个",
        "羊排骨两斤",
        "牛肉馅一斤",
    ],
)
def test_foods_that_hold_a_product_name_are_unknown(text: str) -> None:
    r = parse(text)
    assert r.items == ()
    assert not r.is_order
    assert r.unparsed  # reported for a person, never dropped


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("豆腐皮一张，豆腐两块", [("豆腐", 2, "块")]),
        ("玉米面2斤 玉米3根", [("玉米", 3, "根")]),
        # The suffix rule needs a quantity or a break after it: these describe the product.
        ("黄瓜皮薄的来两斤", [("黄瓜", 2, "斤")]),
        ("西红柿粉的来两斤", [("西红柿", 2, "斤")]),
        ("土豆豆角各一斤", [("土豆", 1, "斤"), ("豆角", 1, "斤")]),
        ("猪排骨两斤", [("排骨", 2, "斤")]),
        ("大白菜两棵", [("大白菜", 2, "棵")]),
    ],
)
def test_products_next_to_other_foods_keep_their_own_lines(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


def test_a_catalog_that_sells_the_other_food_gets_it() -> None:
    cabbage = CatalogEntry("z2", "圆白菜", ("包菜",), "weight", "斤", 150)
    got = parse_message("圆白菜两斤", Catalog([*CATALOG, cabbage])).items
    assert [(i.product_id, i.quantity) for i in got] == [("z2", 2)]


# --------------------------------------------------------------------------- dictation


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("生财两斤", [("生菜", 2, "斤")]),
        ("大算三头", [("蒜", 3, "头")]),
        ("羊葱一个", [("洋葱", 1, "个")]),
        ("男瓜半个", [("南瓜", 0.5, "个")]),
    ],
)
def test_dictated_homophones_next_to_a_quantity(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


def test_a_homophone_without_a_quantity_is_not_an_item() -> None:
    assert triples("祝大家生财有道") == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("西红柿。两斤。茄子。一斤。", [("西红柿", 2, "斤"), ("茄子", 1, "斤")]),
        ("菠菜\n两斤", [("菠菜", 2, "斤")]),
        ("给我留土豆。五斤。谢谢", [("土豆", 5, "斤")]),
    ],
)
def test_a_quantity_alone_after_a_product_alone_is_its_quantity(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    r = parse(text)
    assert [(i.product_name, i.quantity, i.unit) for i in r.items] == want
    assert r.unparsed == ()


def test_a_product_alone_then_thanks_orders_nothing() -> None:
    r = parse("土豆。谢谢")
    assert r.items == ()
    assert r.unparsed == ("土豆",)


# --------------------------------------------------------------------------- lists


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "黄瓜两根 粉条一斤 豆腐两块 海带一斤 大葱一根",
            [("黄瓜", 2, "根"), ("豆腐", 2, "块"), ("大葱", 1, "根")],
        ),
        ("红薯三斤 土豆两斤", [("土豆", 2, "斤")]),
        ("地瓜两斤 茄子一斤", [("茄子", 1, "斤")]),
        # Quantities first: unchanged.
        ("老李5斤土豆2斤黄瓜", [("土豆", 5, "斤"), ("黄瓜", 2, "斤")]),
        ("土豆5斤 2斤黄瓜 3斤西红柿", [("土豆", 5, "斤"), ("黄瓜", 2, "斤"), ("西红柿", 3, "斤")]),
    ],
)
def test_in_a_names_first_list_an_unknown_word_keeps_its_quantity(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


# --------------------------------------------------------------------------- corrections


@pytest.mark.parametrize(
    ("text", "want", "gone"),
    [
        ("排骨3斤，排骨少要点，两斤就行", [("排骨", 2, "斤")], ("排骨", 3)),
        ("豆角两斤，豆角少来点，一斤吧", [("豆角", 1, "斤")], ("豆角", 2)),
        ("挂面三袋，挂面减成两袋", [("挂面", 2, "袋")], ("挂面", 3)),
        ("橙子十个，算了五个就行", [("橙子", 5, "个")], ("橙子", 10)),
        ("牛奶四瓶，算了，两瓶吧", [("牛奶", 2, "瓶")], ("牛奶", 4)),
    ],
)
def test_less_and_never_mind_restate_the_quantity(
    text: str, want: list[tuple[str, float, str]], gone: tuple[str, float]
) -> None:
    r = parse(text)
    assert [(i.product_name, i.quantity, i.unit) for i in r.items] == want
    assert [(i.product_name, i.quantity, i.struck) for i in r.struck] == [(*gone, "corrected")]


def test_never_mind_before_another_product_still_cancels() -> None:
    assert triples("土豆算了，来2斤洋葱吧") == [("洋葱", 2, "斤")]


# --------------------------------------------------------------------------- either/or


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("芹菜或者韭菜都行，来一斤", [("芹菜", 1, "斤")]),
        ("梨苹果随便哪个，来三斤", [("梨", 3, "斤")]),
        ("排骨五花哪个都行，要两斤", [("排骨", 2, "斤")]),
        ("洋芋土豆都行，要五斤", [("土豆", 5, "斤")]),
        ("有山药给我留两斤，要不就来两斤土豆", [("山药", 2, "斤")]),
    ],
)
def test_the_first_choice_takes_the_quantity_after_the_choices(
    text: str, want: list[tuple[str, float, str]]
) -> None:
    assert triples(text) == want


def test_either_or_is_no_question() -> None:
    r = parse("菠菜小白菜随便哪个，来一斤")
    assert [(i.product_name, i.quantity) for i in r.items] == [("菠菜", 1)]
    assert r.unparsed == ("小白菜随便哪个",)  # the fallback, for the manager to read
    # A real question with 哪 still is one.
    assert triples("哪个菠菜新鲜？") == []


def test_a_suggestion_with_yaobu_is_an_order() -> None:
    assert triples("要不来两斤排骨吧") == [("排骨", 2, "斤")]


# --------------------------------------------------------------------------- neighbours


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("替对门刘姨订2斤排骨，我自己要1斤", [("排骨", 2, "斤"), ("排骨", 1, "斤")]),
        ("帮隔壁王姨订3斤土豆，我也要2斤", [("土豆", 3, "斤"), ("土豆", 2, "斤")]),
        ("楼下张大爷要十个馒头，俺要五个", [("馒头", 10, "个"), ("馒头", 5, "个")]),
    ],
)
def test_a_neighbours_line_then_my_own(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


def test_my_second_quantity_without_a_neighbour_is_no_second_line() -> None:
    # Round 4: "我要3斤" restates the line just said (the last figure counts); the first is
    # kept struck, so the manager sees the change.
    r = parse("鸡蛋2斤，我要3斤")
    assert [(i.product_name, i.quantity) for i in r.items] == [("鸡蛋", 3)]
    assert [(i.product_name, i.quantity) for i in r.struck] == [("鸡蛋", 2)]
    assert r.unparsed == ()


# --------------------------------------------------------------------------- round 3
# Kinds the round-3 set (tests/edge/wechat/wechat_heldout_round3.jsonl, scored once untuned) showed.


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("玉米两穗", [("玉米", 2, "穗")]),
        ("蒜三瓣", [("蒜", 3, "瓣")]),
    ],
)
def test_more_count_units(text: str, want: list[tuple[str, float, str]]) -> None:
    assert triples(text) == want


@pytest.mark.parametrize(
    ("text", "want", "gone"),
    [
        ("排骨三斤 多了 两斤就够", ("排骨", 2, "斤"), ("排骨", 3)),
        ("香蕉一斤，太少了，三斤吧", ("香蕉", 3, "斤"), ("香蕉", 1)),
    ],
)
def test_too_much_or_too_little_restates(
    text: str, want: tuple[str, float, str], gone: tuple[str, float]
) -> None:
    r = parse(text)
    assert [(i.product_name, i.quantity, i.unit) for i in r.items] == [want]
    assert [(i.product_name, i.quantity, i.struck) for i in r.struck] == [(*gone, "corrected")]


def test_flowers_and_sauces_of_a_product_are_other_foods() -> None:
    assert triples("韭菜花两瓶 韭菜一斤") == [("韭菜", 1, "斤")]
    assert triples("馒头花卷各五个") == [("馒头", 5, "个"), ("花卷", 5, "个")]


def test_a_one_character_name_before_a_question_is_that_product() -> None:
    r = parse("姜多少钱一斤？来半斤")
    assert [(i.product_name, i.quantity) for i in r.items] == [("姜", 0.5)]
    assert r.unparsed == ("姜多少钱一斤？",)


def test_an_unknown_fallback_does_not_stop_the_quantity_after_it() -> None:
    assert triples("排骨或者羊排都行，来两斤") == [("排骨", 2, "斤")]
