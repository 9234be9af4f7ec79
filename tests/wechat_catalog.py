"""A realistic centre catalog for the WeChat parser tests, and a 300-product one for the bench.

Names are chosen to set the traps real catalogs have: 白菜/大白菜/小白菜, 葱/大葱/洋葱,
胡萝卜/白萝卜 (with 萝卜 as an alias of 白萝卜), 牛奶/酸奶, 面条/挂面.
"""

from __future__ import annotations

from edge.domain.wechat import CatalogEntry


def _w(pid: str, name: str, price: int, *aliases: str) -> CatalogEntry:
    return CatalogEntry(pid, name, aliases, "weight", "斤", price)


def _p(pid: str, name: str, unit: str, price: int, *aliases: str) -> CatalogEntry:
    return CatalogEntry(pid, name, aliases, "piece", unit, price)


CATALOG: tuple[CatalogEntry, ...] = (
    _w("p01", "土豆", 150, "马铃薯", "洋芋", "土豆儿"),
    _w("p02", "黄瓜", 300, "青瓜"),
    CatalogEntry("p03", "馒头", ("大馒头", "白馒头"), "bundle", "个", 500, 5),
    _p("p04", "橙子", "个", 200, "脐橙", "橙"),
    _w("p05", "青椒", 400, "圆青椒", "柿子椒", "菜椒"),
    _w("p06", "西红柿", 350, "番茄", "洋柿子"),
    _w("p07", "白菜", 120),
    _w("p08", "大白菜", 80),
    _w("p09", "小白菜", 300, "小青菜"),
    _w("p10", "菠菜", 400),
    _w("p11", "芹菜", 300),
    _w("p12", "韭菜", 350),
    _w("p13", "香菜", 800, "芫荽"),
    _w("p14", "葱", 400, "小葱", "香葱"),
    _w("p15", "大葱", 300),
    _w("p16", "姜", 800, "生姜", "老姜"),
    _w("p17", "蒜", 700, "大蒜", "蒜头"),
    _w("p18", "茄子", 350, "长茄子"),
    _w("p19", "豆角", 500, "芸豆", "扁豆"),
    _w("p20", "胡萝卜", 200, "红萝卜"),
    _w("p21", "白萝卜", 120, "萝卜"),
    _w("p22", "洋葱", 200, "葱头"),
    _w("p23", "西兰花", 600, "西蓝花", "绿菜花"),
    _w("p24", "冬瓜", 100),
    _w("p25", "南瓜", 150),
    _w("p26", "苹果", 500, "红富士"),
    _w("p27", "香蕉", 350),
    _w("p28", "梨", 400, "梨子", "雪梨", "鸭梨"),
    _w("p29", "鸡蛋", 550, "笨鸡蛋", "鸡子儿"),
    _p("p30", "豆腐", "块", 250, "卤水豆腐", "老豆腐"),
    _w("p31", "面条", 300, "切面", "手擀面"),
    _p("p32", "挂面", "袋", 650),
    _p("p33", "牛奶", "瓶", 350, "鲜奶"),
    _w("p34", "排骨", 2800, "肋排"),
    _w("p35", "五花肉", 1800, "五花"),
    CatalogEntry("p36", "花卷", (), "bundle", "个", 600, 5),
    _p("p37", "酸奶", "盒", 450),
    _p("p38", "玉米", "根", 200, "甜玉米", "苞米"),
    _p("p39", "西瓜", "个", 2500),
    _w("p40", "生菜", 400, "球生菜"),
    _w("p41", "山药", 600, "铁棍山药"),
    _w("p42", "蘑菇", 700, "香菇"),
    _p("p43", "大米", "袋", 5500),
    _w("p44", "猪肉馅", 1600, "肉馅"),
)

# Syllables for made-up but plausible product names that pad the catalog to bench size.
_PAD_HEADS = "东西南北红黄绿紫金银甜脆嫩鲜老新香翠野农"
_PAD_TAILS = (
    "豆芽",
    "油菜",
    "莴笋",
    "苦瓜",
    "丝瓜",
    "木耳",
    "海带",
    "粉条",
    "腐竹",
    "藕",
    "芋头",
    "葡萄",
    "柚子",
    "桔子",
)


def padded_catalog(size: int = 300) -> tuple[CatalogEntry, ...]:
    """CATALOG plus generated products (3-4 character names) up to `size` entries."""
    out = list(CATALOG)
    n = 0
    for tail in _PAD_TAILS:
        for head in _PAD_HEADS:
            if len(out) >= size:
                return tuple(out)
            n += 1
            out.append(_w(f"x{n:03d}", head + tail, 300 + n, head + "牌" + tail))
    return tuple(out)
