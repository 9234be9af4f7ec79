"""What residents write for a product: typos and heard homophones of its name, regional
names, names that hold a product's name but are other foods. Kept apart from the rest of
the lexicon (edge/domain/wechat/lexicon.py re-exports it) because it is about names only."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Characters residents type in place of a product's character: same or near pinyin (旦/蛋,
#: 付/腐, 才/菜) or a look-alike (爪/瓜, 内/肉). Used for 2-character names, which one-edit
#: fuzzy matching cannot cover safely, and for a longer name only where the word would
#: otherwise be an unknown food ending in an alias: "葫萝卜" is 胡萝卜, "青萝卜" stays unknown.
#: Digits, units, order words and characters of other products' names are deliberately left out.
CONFUSABLE: dict[str, str] = {
    "瓜": "爪刮呱挂话",
    "蛋": "旦淡但弹",
    "腐": "付府富附夫",
    "菜": "才采彩材蔡财",
    "骨": "谷古股鼓",
    "豆": "逗斗痘",
    "馒": "慢蛮曼漫满",
    "头": "投",
    "芹": "琴勤秦",
    "菠": "波玻拨",
    "椒": "胶焦交叫",
    "萝": "罗箩逻",
    "胡": "葫湖糊",
    "卜": "葡补",
    "苹": "平萍评",
    "蕉": "焦胶交",
    "橙": "澄程",
    "柿": "市事式",
    "肉": "内",
    "花": "化华",
    "卷": "圈券倦",
    "奶": "乃",
    "蘑": "磨摩",
    "菇": "姑估",
    "排": "牌",
    "鸡": "机基",
    "角": "脚饺",
    "子": "字仔紫",
    "冬": "东",
    "馅": "陷",
    "洋": "阳羊杨扬",
    # Heard, not typed: what phone dictation writes for a grocery word said with an accent.
    "蒜": "算",
    "葱": "聪匆冲",
    "南": "男难",
    "香": "乡相",
    "生": "声",
    "药": "钥耀",
    "茄": "切且",
    "韭": "九久酒",
    "白": "百柏",
    "果": "过国",
    "土": "吐图涂",
    "黄": "皇煌",
    "青": "清轻",
    "西": "稀希吸",
    "玉": "遇预",
    "米": "迷谜",
}

#: Heard, and written as a common word: dictation writes "山药二斤" as "山要二斤", "土豆三斤"
#: as "土都三斤". These characters are order or 各 words, so they make a name only glued
#: to the rest of it, in a leftover the catalog lacks, right before a quantity.
HEARD_AS_WORDS: dict[str, str] = {
    "药": "要",
    "豆": "都",
}

#: Regional names for common products (Shandong and the north, where the centres are, and a few
#: residents bring from the south), by the
#: standard name they mean. A catalog that has the standard name (as a name or an alias) but
#: not the regional one gets it as an alias; a catalog's own names always win.
REGIONAL_NAMES: dict[str, str] = {
    "地蛋": "土豆",
    "山药蛋": "土豆",
    "洋柿子": "西红柿",
    "火柿子": "西红柿",
    "饽饽": "馒头",
    "大饽饽": "馒头",
    "馍": "馒头",
    "馍馍": "馒头",
    "蒸馍": "馒头",
    "棒子": "玉米",
    "苞米": "玉米",
    "包米": "玉米",
    "苞谷": "玉米",
    "包谷": "玉米",
    "玉米棒": "玉米",
    "玉米棒子": "玉米",
    "鸡子": "鸡蛋",
    "鸡子儿": "鸡蛋",
    "芫荽": "香菜",
    "盐荽": "香菜",
    "芸豆": "豆角",
    "豆橛子": "豆角",
    "架豆": "豆角",
    "四季豆": "豆角",
    "圆葱": "洋葱",
    "葱头": "洋葱",
    "洋葱头": "洋葱",
    "番瓜": "南瓜",
    "倭瓜": "南瓜",
    "窝瓜": "南瓜",
    "菜椒": "青椒",
    "甜椒": "青椒",
    "柿子椒": "青椒",
    "灯笼椒": "青椒",
    "青花菜": "西兰花",
    "肉末": "猪肉馅",
    "肉沫": "猪肉馅",
    "小排": "排骨",
    "酸牛奶": "酸奶",
    # "一袋米": rice. One character, so only as a whole word: "小米", "米线", "糯米" are not.
    "米": "大米",
    # Names residents bring from elsewhere (the south, Shanghai, Guangdong, Hunan).
    "洋山芋": "土豆",
    "薯仔": "土豆",
    "荷兰薯": "土豆",
    "矮瓜": "茄子",
    "包粟": "玉米",
    "粟米": "玉米",
    "芫茜": "香菜",
    "鸡春": "鸡蛋",
}

#: Names that mean different foods by region: "柿子" is the tomato in the north-east and the
#: persimmon elsewhere. Read as the product only when the message says which, by a word
#: that fits only it ("柿子三斤，要沙的", "炒鸡蛋用的柿子"); otherwise left unknown.
REGIONAL_BY_CUE: dict[str, tuple[str, tuple[str, ...]]] = {
    "柿子": ("西红柿", ("沙", "炒", "番茄", "西红柿", "做汤", "打卤", "蘸糖", "酸甜", "生吃")),
}

#: Common foods whose names hold a product's name but are other foods ("圆白菜" is cabbage,
#: not 白菜). Read as unknown products unless the catalog sells them by that name.
OTHER_FOODS: frozenset[str] = _words("圆白菜 洋白菜 奶白菜 包心白菜 卷心白菜")

#: A character glued right after a product's name that makes another food of it: "玉米面",
#: "鸡蛋糕", "番茄酱", "豆腐皮", "山药豆" are not 玉米, 鸡蛋, 西红柿, 豆腐, 山药. (After a name
#: ending in 瓜, 子 makes seeds: "南瓜子".) Checked only when a quantity, a break or the end of
#: the text follows, so "黄瓜皮薄的" still describes 黄瓜.
FOOD_SUFFIXES = "面粉糕酱汁油籽仁皮干乳脑泡粒醋糖酒饼粥汤苗薹芽茶膏须泥豆花丝片心叶条"

#: Dishes named by what is in them: "韭菜盒子十个", "白菜包子", "芹菜饺子" are not the
#: vegetable (盒 would otherwise count it). Checked right after a product's name.
DISH_SUFFIXES: tuple[str, ...] = ("盒子", "合子", "包子", "饺子", "馅饼", "馄饨", "丸子")

#: Other animals before a meat product's name make another meat: "羊排骨", "牛肉馅".
OTHER_ANIMALS = "牛羊鸡鸭鹅鱼驴兔"
MEAT_CHARS = "肉骨排馅蹄肠肝腿翅"

#: Emoji residents type for a product ("🍅2斤", "🥚两斤"), by the standard names they stand
#: for. A catalog that sells one of those names (as a name or an alias) reads the emoji as
#: it; an emoji that could be several products (🥬, 🌶) or that no name fits stays a picture.
FOOD_EMOJI: dict[str, tuple[str, ...]] = {
    "\U0001f345": ("西红柿", "番茄"),  # tomato
    "\U0001f954": ("土豆", "马铃薯"),  # potato
    "\U0001f952": ("黄瓜",),  # cucumber
    "\U0001f34e": ("苹果",),  # red apple
    "\U0001f34f": ("青苹果", "苹果"),  # green apple
    "\U0001f34c": ("香蕉",),  # banana
    "\U0001f95a": ("鸡蛋",),  # egg
    "\U0001f33d": ("玉米",),  # ear of maize
    "\U0001f955": ("胡萝卜",),  # carrot
    "\U0001f349": ("西瓜",),  # watermelon
    "\U0001f9c5": ("洋葱",),  # onion
    "\U0001f350": ("梨",),  # pear
    "\U0001f95b": ("牛奶",),  # glass of milk
    "\U0001f344": ("蘑菇", "香菇"),  # mushroom
    "\U0001f9c4": ("蒜", "大蒜"),  # garlic
    "\U0001f346": ("茄子",),  # aubergine
    "\U0001f966": ("西兰花", "西蓝花"),  # broccoli
    "\U0001fad1": ("青椒", "菜椒"),  # bell pepper
    "\U0001f34a": ("橘子", "桔子", "橙子"),  # tangerine
    "\U0001f353": ("草莓",),  # strawberry
    "\U0001f347": ("葡萄",),  # grapes
    "\U0001f351": ("桃子", "桃"),  # peach
    "\U0001f352": ("樱桃",),  # cherries
    "\U0001f34d": ("菠萝",),  # pineapple
    "\U0001f96d": ("芒果",),  # mango
    "\U0001f34b": ("柠檬",),  # lemon
    "\U0001f95d": ("猕猴桃",),  # kiwi
    "\U0001f360": ("红薯", "地瓜"),  # roasted sweet potato
    "\U0001f965": ("椰子",),  # coconut
    "\U0001fad0": ("蓝莓",),  # blueberries
    "\U0001f35e": ("面包",),  # bread
    "\U0001f35a": ("大米", "米"),  # cooked rice
    "\U0001fadb": ("豌豆", "毛豆"),  # pea pod
    "\U0001fada": ("姜", "生姜"),  # ginger root
}
