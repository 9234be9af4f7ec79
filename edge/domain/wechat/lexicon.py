"""The small closed vocabularies of a grocery order message: units, money words, connectors,
politeness and greetings, question and negation markers.

They live apart from the parser so a centre can see, and we can review, exactly which words
the parser treats as meaningful and which it deliberately skips. All entries are Simplified and
lower-case, because the parser folds the message to that form before looking anything up.
"""

from __future__ import annotations

import re

from . import product_words as _names

# What residents write for a product's name (product_words.py), read from here like the rest.
CONFUSABLE = _names.CONFUSABLE
DISH_SUFFIXES = _names.DISH_SUFFIXES
FOOD_EMOJI = _names.FOOD_EMOJI
FOOD_SUFFIXES = _names.FOOD_SUFFIXES
HEARD_AS_WORDS = _names.HEARD_AS_WORDS
MEAT_CHARS = _names.MEAT_CHARS
OTHER_ANIMALS = _names.OTHER_ANIMALS
OTHER_FOODS = _names.OTHER_FOODS
REGIONAL_BY_CUE = _names.REGIONAL_BY_CUE
REGIONAL_NAMES = _names.REGIONAL_NAMES


def _words(text: str) -> frozenset[str]:
    """Vocabularies are written as space-separated words: easier to review than literals."""
    return frozenset(text.split())


#: Weight units -> grams. 1 斤 = 500 g, 1 两 = 50 g (the market units residents think in).
WEIGHT_UNITS: dict[str, int] = {
    "斤": 500,
    "两": 50,
    "公斤": 1000,
    "千克": 1000,
    "kg": 1000,
    "克": 1,
    "g": 1,
}

#: Count units. 块 is also money; the parser decides by context (see parse._item).
PIECE_UNITS: frozenset[str] = _words(
    "个 只 把 袋 包 盒 块 份 瓶 桶 捆 根 头 颗 棵 条 串 板 箱 提 听 罐 枚 兜 扎 网 束 支 盘 筐 挂 "
    "节 段 卷 托 穗 张 瓣"
)

#: Units that, for a product sold in bundles, count whole bundles rather than pieces.
BUNDLE_UNITS: frozenset[str] = _words("份 袋 包 兜 组 套 提")

#: Units that hold other units: "牛奶24瓶一箱" is one 箱.
CONTAINERS: frozenset[str] = _words("箱 盒 袋 包 提 板 桶 兜 筐 网")

#: Money words -> fen per 1. "块" is handled separately because it is also a count unit.
MONEY_UNITS: dict[str, int] = {
    "元钱": 100,
    "块钱": 100,
    "元": 100,
    "rmb": 100,
    "毛钱": 10,
    "毛": 10,
    "角": 10,
}

ALL_UNITS: dict[str, str] = {
    **{u: "w" for u in WEIGHT_UNITS},
    **{u: "p" for u in PIECE_UNITS},
    **{u: "m" for u in MONEY_UNITS},
    "块": "k",
}

#: Characters that end a clause: a question or a negation never reaches across them.
HARD_STOPS = frozenset("。！!？?；;\n…")

#: List separators inside a clause. A quantity never pairs with a product across one,
#: except through 各 ("黄瓜、西红柿各2斤").
SOFT_SEPS = frozenset("、，,")

#: Punctuation that carries no meaning between a product and its quantity ("土豆：5斤").
TRANSPARENT = frozenset(" \t\r\u3000\u2005\u00a0:：/-—~～()（）[]【】「」“”\"'‘’*×·.《》<>_=+|#")

#: Words that join list items like a comma does.
CONNECTORS: frozenset[str] = _words(
    "和 跟 还有 再来 还要 另外 加上 外加 以及 及 再要 再加 再买 然后 与 同 加 多加 再多加 另加 "
    "再要点 再来点 再买点 再拿点 多要 多来 多拿 再多要 再多来 再多拿"
)

#: "Each": the next quantity applies to every product listed just before it.
EACH_WORDS: frozenset[str] = _words(
    "各 各要 各来 各买 每样 每种 一样 都要 都来 都是 都 各自 分别 一人 每人 一家 每家 一户 每户"
)

#: Words that show the resident is ordering; a product named with no quantity becomes an item
#: (quantity 1) only when one of these is in its clause or the message has other items.
ORDER_VERBS: frozenset[str] = _words(
    "要 来 买 订 留 预订 预定 下单 帮我 给我 帮忙 拿 想要 需要 要点 来点 买点 帮留 给留 代购 "
    "留点 拿点 称 称点 带点 捎点 整点 弄点 带 捎 带上 捎上 挑 挑点"
)

#: Politeness, greetings, address terms and particles: skipped, never reported as unparsed.
POLITE: frozenset[str] = _words(
    "谢谢 谢谢你 谢谢您 谢啦 谢了 多谢 感谢 麻烦 麻烦你 麻烦您 麻烦了 辛苦 辛苦了 辛苦啦 "
    "你好 您好 大家好 早上好 上午好 下午好 晚上好 早安 在吗 在不在 各位 亲 "
    "姐 姐姐 大姐 哥 大哥 阿姨 叔 叔叔 妹 妹妹 老师 站长 奶奶 爷爷 "
    "哈 哈哈 哈哈哈 呀 啊 哦 噢 喔 吧 呢 嘛 啦 了 哟 咯 呗 哒 嗯 嗯嗯 滴 么 "
    "好 好的 好滴 好嘞 行 ok okay 收到 可以 没问题 拜托 拜托了 感恩 "
)

#: Address terms: a short unknown word right before one is a name ("小玮姐", "王阿姨").
ADDRESS_TERMS: frozenset[str] = _words(
    "姐 姐姐 大姐 哥 大哥 阿姨 叔 叔叔 妹 妹妹 老师 站长 奶奶 爷爷"
)

#: Connectors that also say "and I want": they let a product without a quantity count.
ORDERING_CONNECTORS: frozenset[str] = _words(
    "还要 再来 再要 再加 加上 外加 再买 加 多加 再多加 另加 再要点 再来点 再买点 再拿点 "
    "多要 多来 多拿 再多要 再多来 再多拿"
)

#: "生菜一斤，再加一斤", "馒头再来五个": a quantity after one of these adds to the line of
#: the same product already ordered, it is not a second line nor a correction.
ADDITIVE: frozenset[str] = _words(
    "再来 再要 再加 加上 外加 再买 加 多加 再多加 另加 还要 多要 多来 多拿 再多要 再多来 再多拿"
)
#: Any additive word in a text: one search per clause before looking token by token.
ADDITIVE_RE = re.compile("|".join(sorted(ADDITIVE, key=len, reverse=True)))

#: Other words that carry no order content: pronouns, time words, measure fillers.
FILLERS: frozenset[str] = _words(
    "我 我家 我们 咱 咱家 俺 你 您 给 帮 请 再 也 还 就 先 共 一共 总共 "
    "的 得 个吧 自己 要不要 "
    "明天 明早 今天 后天 早上 上午 中午 下午 晚上 明儿 "
    "一下 一些 一点 一点儿 点儿 些 就行 就好 就可以 即可 就够 够了 "
    "新鲜 新鲜的 大个 大个的 大点 小点 嫩点 嫩的 好点 小个 小个的 个大的 个小的 "
    # A wish about the size, not a cancellation ("土豆要小个的，别太大，三斤").
    "别太大 别太小 别太老 别太肥 不要太大 不要太小 不要太老 不要太肥 别太大的 不要太大的 "
    "取 送 接龙 订单 "
    # Words that contain a negation or order character but mean neither.
    "特别 特别是 别的 区别 分别是 "
    "能 能不能 可以吗 行吗 好吗 吗 有 有的话 的话 还有没有 还有没 有没 还有吗 还有么 还有的话 "
    "有没有 那种 "
    "左右 大概 大约 差不多 上下 "
    "要是 如果 假如 万一 顺便 回来 过来 一起 "
    "不变 照旧 照常 不动 保持不变 还是一样 还跟以前一样 老样子 老规矩"
)


# "鸡蛋一盒几个": 几 before a measure word asks a count, it does not order one.
COUNT_QUESTIONS: tuple[str, ...] = tuple("几" + u for u in "斤两个只把袋包盒块份瓶根颗棵")

#: A clause containing one of these (or ending in ?) is a question.
QUESTION_MARKERS: tuple[str, ...] = (
    "吗",
    "几点",
    "几号",
    "几时",
    "多少",
    "什么",
    "怎么",
    "哪",
    "有没有",
    "有没",  # "排骨还有没": 还有没有, with the last 有 swallowed
    "能不能",
    "可不可以",
    "是不是",
    "啥",
    "咋",
    "几块",
    "几钱",
    "有么",
    "请问",
    "想问",
    "问一下",
    "问下",
    "谁",
    "有人",
    "多重",
    "多大",
    "多沉",
    *COUNT_QUESTIONS,
)

#: A question containing one of these asks a price or a fact ("馒头是5元5个吗", "大米一袋
#:多少斤"): its quantities describe, they do not order. "请问"/"问一下" are only politeness:
#: "问下有没有排骨，有的话留三斤" is an availability question that leads into an order.
PRICE_MARKERS: tuple[str, ...] = (
    "是不是",
    "多少",
    "多重",
    "多大",
    "多沉",
    *COUNT_QUESTIONS,
    "几块",
    "几钱",
    "几毛",
    "怎么卖",
    "价格",
    "价钱",
    "贵不贵",
    "咋卖",
    "什么价",
    "啥价",
    "多钱",
    # Asking the group, not the centre: "有人要团鸡蛋吗，30个一箱" orders nothing.
    "有人",
    "有没有人",
    "谁",
)
ASKS_THE_GROUP: tuple[str, ...] = ("有人", "有没有人", "谁")

#: Words that cancel the product right next to them ("不要土豆了", "土豆取消").
NEGATIONS: frozenset[str] = _words(
    "不要 别要 别 取消 不用 算了 去掉 删掉 删了 不买 不来 免了 退掉 唔要 唔使 不需要 不拿 甭要 撤了"
)

#: "土豆改成3斤": the quantity after one of these replaces the product's earlier one.
CHANGES: frozenset[str] = _words(
    "改成 改为 换成 换 变成 改 减 减去 减掉 加到 减到 改到 调成 调到 还是 减成 减为 减少到 "
    "增加到 改要 "
    "少要 少来 少拿 少买 少要点 少来点 少拿点 少点 多要点 多来点 多拿点"
)

#: "黄瓜3斤，不，2斤": a word that takes back the quantity just said; the next quantity
#: replaces it.
RESTATES: frozenset[str] = _words(
    "不 不对 不是 哦不 噢不 喔不 额不 呃不 哦不对 噢不对 喔不对 额不对 呃不对 啊不对 "
    "说错了 打错了 写错了 搞错了 弄错了 发错了 错了 "
    "更正 纠正 应该是 我是说 重说 不好意思 抱歉 "
    "多了 太多了 要多了 少了 太少了"
)

#: "大米一袋。搞错了，是挂面一袋": after one of these, another product with its own quantity
#: takes the place of the line just said. ("不"/"不是" alone are too common for that.)
WRONG_ITEM: frozenset[str] = _words(
    "不对 哦不对 噢不对 喔不对 额不对 呃不对 啊不对 "
    "说错了 打错了 写错了 搞错了 弄错了 发错了 错了 更正 纠正 应该是 我是说"
)

#: "西兰花两颗…西兰花一颗就行": a quantity these follow says how much in all, not more.
ENOUGH: frozenset[str] = _words("就行 就好 就够 够了 就可以 即可")
ENOUGH_RE = re.compile("|".join(sorted(ENOUGH, key=len, reverse=True)))

#: "没有就来1斤五花", "或者菠菜": what follows is the fallback if the first choice is missing,
#: not a second item. "菠菜也行": the product before is the fallback.
FALLBACK_OPENERS: frozenset[str] = _words(
    "没有 没有的话 没的话 没货 没货的话 要是没有 如果没有 或者 或 要不然 不然 不行的话 实在没有 "
    "要不 要不就"
)
FALLBACK_CLOSERS: frozenset[str] = _words(
    "也行 也可以 也好 也成 也没事 也没关系 都行 都可以 都成 随便 随便哪个 哪个都行 哪样都行"
)
#: Closers that leave the choice among the products listed before them ("排骨五花都行"):
#: the first is the item, the others fallbacks; after a single product they mean nothing.
ANY_OF: frozenset[str] = _words("都行 都可以 都成 随便 随便哪个 哪个都行 哪样都行")

#: 斤 typed or heard as a homophone right after a number ("土豆5金", "黄瓜两进").
JIN_HOMOPHONES = "金进今近筋"
#: ...unless the next character makes a word of it (进口, 今天, 金针菇, 金桔).
JIN_NOT_BEFORE = "口天针桔黄色"
#: ...but a product's name that starts with one of those is no such word ("两今黄瓜").
JIN_THEN_PRODUCT: tuple[str, ...] = ("黄瓜", "黄豆", "黄花菜", "黄牛肉", "黄鱼", "桔子")

#: Preparation verbs: "要把葱切好" asks to cut the 葱, it does not order a 把 of it; a
#: one-character name followed by one is still that product ("葱切段").
PREP_CHARS = "切剁择洗剥削去拍绞砍斩剪打磨剖刮"

#: A measure word right after one of these is "this/that/each" ("这个西瓜"), not "one".
DEMONSTRATIVES = "这那哪每几某各整半"

#: Everything the tokenizer matches as a word, with its role.
WORD_ROLES: dict[str, str] = {
    **{w: "fill" for w in FILLERS},
    **{w: "polite" for w in POLITE},
    **{w: "verb" for w in ORDER_VERBS},
    **{w: "sep" for w in CONNECTORS},
    **{w: "each" for w in EACH_WORDS},
    **{w: "neg" for w in NEGATIONS},
    **{w: "change" for w in CHANGES},
    **{w: "fix" for w in RESTATES},
    **{w: "alt" for w in FALLBACK_OPENERS},
    **{w: "alt_end" for w in FALLBACK_CLOSERS},
}


#: Words that look back ("上次买的3斤排骨真不错", "我昨天订的土豆还没拿"): a product they
#: introduce, through a 的, is talked about, not ordered again.
PAST_WORDS: tuple[str, ...] = (
    "上次",
    "上回",
    "上周",
    "上礼拜",
    "上星期",
    "昨天",
    "前天",
    "之前",
    "以前",
    "那天",
    "刚才",
    "刚刚",
    "已经",
)

#: "帮楼下李奶奶带两斤鸡蛋，我自己要一斤": a line ordered for someone else, then a quantity
#: the resident orders for themself, is a second line of the same product.
THIRD_PARTY: tuple[str, ...] = (
    "帮",
    "替",
    "代",
    "他",
    "她",
    "隔壁",
    "对门",
    "邻居",
    "楼上",
    "楼下",
    "奶奶",
    "爷爷",
    "阿姨",
    "大爷",
    "大娘",
    "大妈",
    "叔",
    "姨",
    "老太太",
    "老头",
)
FIRST_PERSON: tuple[str, ...] = ("我", "俺", "咱", "自己", "自家")
#: Family a resident orders for: "给我妈也来一斤" names someone else, though it says 我.
KIN: tuple[str, ...] = (
    "妈",
    "爸",
    "婆婆",
    "公公",
    "老伴",
    "爱人",
    "对象",
    "儿子",
    "女儿",
    "闺女",
    "孩子",
    "老人",
    "姥姥",
    "姥爷",
    "外婆",
    "外公",
    "哥",
    "姐",
    "弟",
    "妹",
)


# "我妈", "我二姨", "俺大舅", "咱小姑": the resident's relative, ranked or not.
_MY_KIN = re.compile(
    "(?:我|俺|咱)(?:们家|家)?[大二三四五六小老]?(?:"
    + "|".join(sorted((*KIN, "姨", "姑", "舅", "叔", "伯", "婶", "嫂"), key=len, reverse=True))
    + ")"
)


def names_someone_else(said: str) -> bool:
    """Does the text name another person ("帮对门", "给我妈", "我二姨")? "帮我带" is for the
    resident."""
    if _MY_KIN.search(said):
        return True
    for mine in ("帮我", "帮俺", "帮咱", "替我", "代我"):
        said = said.replace(mine, "")
    return any(w in said for w in THIRD_PARTY)


# "给我三楼的邻居", "我对门": the resident's neighbour, not the resident.
# "我们单元的孙阿姨", "我们楼的王姐", "咱小区的李叔": a neighbour by where they live.
_MY_NEIGHBOUR = re.compile(
    "(?:我|俺|咱)(?:们)?(?:[^\\s，,。]{0,4}?(?=邻居|对门|隔壁|楼上|楼下)"
    "|(?:这个)?(?:单元|楼|栋|小区|院)的?(?=[^\\s，,。我]))"
)


def names_self(said: str) -> bool:
    """Does the text name the resident ("我自己要"), not only as "my" of a relative or
    neighbour?"""
    said = _MY_NEIGHBOUR.sub("", _MY_KIN.sub("", said.replace("我家老人", "")))
    return any(w in said for w in FIRST_PERSON)
