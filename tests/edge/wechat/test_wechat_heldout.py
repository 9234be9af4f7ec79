"""Generalisation gate for the WeChat parser: messages written apart from the parser.

`wechat_heldout.jsonl` was written (as residents, their children and hotline staff type) before
the parser was looked at, measured, and only then used to fix the failure classes it showed, so
it now guards those fixes. `wechat_heldout_final.jsonl` was written after the fixes and never
tuned on: it is the honest figure for messages we have not seen, kept at the same thresholds.

Issue 14 did the same once more: `wechat_heldout_issue14.jsonl` (90 messages: corrections,
re-mentions, pasted headers, unknown products, price phrases, fallbacks, money, limits) was
written before the parser changed and measured P 0.54 / R 0.79 on it;
`wechat_heldout_issue14_after.jsonl` was written after the changes and scored once, untuned.

Round 2 did it again for a second opinion: `wechat_heldout_round2.jsonl` (155 messages, 233
items: Traditional characters, dictation homophones, Qingdao dialect names, corrections,
neighbours' orders, descriptors, unknown products, long lists, money, either/or, pasted
headers) was written before reading the reworked parser and measured P 0.934 / R 0.906 on it
(2 non-orders read as orders). `wechat_heldout_round3.jsonl` (60 messages) was written after
the round-2 fixes and scored once, untuned: P 0.976 / R 0.953 (one label corrected to the
sets' fallback convention first; P 0.964 / R 0.941 as first written). Both were then used to
fix the kinds they showed, so they now guard those fixes.

Round 4: `wechat_heldout_round4.jsonl` (95 messages, 120 items; southern names, heard
homophones, bare take-backs, "我要3斤" restatements, parts and cuts of a product, neighbours'
quantities, unknown products between list items) was written before reading the parser and
scored once, untuned: P 0.898 / R 0.883, 7 non-orders read as orders. After the round-4
fixes: P 0.992 / R 0.975, none. Still missed: 柿子 (tomato in the north-east, persimmon
elsewhere: left unknown), "生菜一斤，再加一斤" (adding to a line), "我和对门各要一个西瓜".
`wechat_heldout_round5.jsonl` (45 messages, 55 items) was written after those fixes and
scored once, untuned: P 0.946 / R 0.964, 1 non-order read as an order ("冬瓜两斤。算了。");
after fixing its kinds (a take-back clause, 土豆条, "藕两斤 茄子一斤") P 1.000 / R 0.982.

Round 6: `wechat_heldout_round6.jsonl` (98 messages, 146 items; Traditional characters,
dictation homophones glued to order words, dialect names, additions to a line, 各 after
people, fallbacks with no first choice, 柿子, pasted headers, money, chit-chat) was written
before reading the parser and scored once, untuned: P 0.944 / R 0.918, no non-order read as
an order. After fixing its kinds (test_wechat_round6.py) P 1.000 / R 1.000, and every
earlier set at P 1.000 / R 1.000. `wechat_heldout_round6_after.jsonl` (59 messages, 85 items)
was written after those fixes and scored once, untuned: P 1.000 / R 0.976 (a relative named
with 我, "给我妈也来一斤"; 一挂 of bananas); after fixing those two kinds P 1.000 / R 1.000.
`wechat_heldout_round6_third.jsonl` (58 messages, 91 items) was written after that, scored
once, untuned: P 0.978 / R 0.989 ("茄子要长的，三斤": a descriptor before the quantity;
"豆角多要点 两斤吧"); after fixing those kinds P 1.000 / R 1.000.
`wechat_heldout_round6_fourth.jsonl` (49 messages, 61 items: numbered lists, ×, full-width
digits, 仨/俩, southern names, dish purposes, phone numbers and times beside an order), the
same way: untuned P 0.968 / R 0.984, one question to the group read as an order ("有人要团
鸡蛋吗，30个一箱"); "一斤二" read as 1斤. After: P 1.000 / R 1.000.
`wechat_heldout_round6_fifth.jsonl` (34 messages, 38 items, mostly pasted chat blocks) the
same way: untuned P 0.897 / R 0.921 (a later turn "再来一斤"; "西红柿不要了 换成茄子"; "搞错
了，是挂面一袋"; "西蓝花一颗就行"). After: P 1.000 / R 0.974; still missed: "都要了" that
accepts what the staff offered in their reply ("还有3斤").
`wechat_heldout_round6_sixth.jsonl` (36 messages, 36 items: Traditional, homophones, foods
holding a product's name, money orders, odd amounts) the same way: untuned P 0.971 / R 0.944,
one non-order read as an order ("韭菜盒子十个"); "西瓜多少钱一个，要一个". After: P 1.000 /
R 0.972; still missed: "黄话" for 黄瓜.
`wechat_heldout_round6_seventh.jsonl` (38 messages, 59 items: neighbours ordering for each
other, descriptors, long lists, money) the same way: untuned P 0.983 / R 0.966 ("我和邻居一人
一个西瓜"; "土豆要沙一点的，三斤"). After: P 1.000 / R 1.000.
`wechat_heldout_round6_eighth.jsonl` (40 messages, 59 items: dictation without punctuation,
heard homophones, dialect names) the same way: untuned P 1.000 / R 0.932 (切子, 九菜, 百菜;
"帮我带两斤鸡蛋，我婆婆也要两斤"). After: P 1.000 / R 1.000.
`wechat_heldout_round6_ninth.jsonl` (38 messages, 45 items: container units, a lone 个, 斤
heard as 金/进/今, corrections, money) the same way: untuned P 0.956 / R 0.956 ("不好意思，是
三斤"; "大米1袋，要10斤装的" taken as a restatement). After: P 1.000 / R 1.000.
`wechat_heldout_round6_tenth.jsonl` (36 messages, 37 items: ranges, question-form orders,
descriptors, chat blocks, foods the centre does not sell) the same way: untuned P 0.923 /
R 0.973 ("土豆再多要一斤"; a breakdown in brackets read as lines). After: P 1.000 / R 1.000.
`wechat_heldout_round6_eleventh.jsonl` (26 messages, 39 items: 接龙 lists, price posts pasted
back, sectioned lists, products the centre does not sell) scored once, untuned: P 1.000 /
R 1.000; nothing changed for it. `wechat_heldout_round6_twelfth.jsonl` (24 messages, 40 items:
the issue's known kinds in new wordings) the same way: untuned P 0.971 / R 0.850 ("我们三家各
要", "楼上楼下各一个", a comma before 各; "如果没有排骨，就要…", "没有西兰花的话就来…"). After:
P 1.000 / R 1.000. `wechat_heldout_round6_thirteenth.jsonl` (27 messages, 40 items) the same
way: untuned P 1.000 / R 0.975 (a chain of neighbours, "鸡蛋2斤，我姐也要2斤，我妈要1斤").
After: P 1.000 / R 1.000. `wechat_heldout_round6_fourteenth.jsonl` (25 messages, 34 items: bare
numbers by line, 斤 and 两, list markers, chit-chat turns) scored once, untuned: P 1.000 /
R 1.000.

Round 7: `wechat_heldout_round7.jsonl` (105 messages, 124 items, 20 non-orders; 一打/十几斤,
emoji as products, a pack size as the only quantity, "都要了" after staff's offer, 黄话 both
as 黄瓜 and as talk, fallbacks after a question, relatives and neighbours, Traditional,
homophones, dialect, money, limits) was written before reading the parser and scored once,
untuned: P 0.937 / R 0.718, no non-order read as an order. After fixing its kinds
(test_wechat_round7.py) P 1.000 / R 0.984. Still missed: cheque numerals ("菠菜壹斤",
which wechat_heldout_final.jsonl and the corpus labelled as not understood; round 8 reads them).
`wechat_heldout_round7b.jsonl` (66 messages, 78 items, 10 non-orders: new wordings of the
round-7 kinds, ranges, 十几个, 半斤八两, offers taken as "剩下的我都要") was written after
those fixes and scored once, untuned: P 1.000 / R 0.974 ("我二姨要三斤" after a space;
"香菜别放太多，一两就够"). After fixing the first (ranked relatives, a neighbour's part after
a space) P 1.000 / R 0.987.

Round 8: `wechat_heldout_round8.jsonl` (114 messages, 153 items, 26 non-orders; Traditional
characters, 金/今/筋/亮 for 斤 and 两, regional names, corrections in many shapes and from a
later turn of the same sender, neighbours, descriptors, numbered and mixed lists, money,
pasted headers, cheque numerals, 一两, restatements) was written before reading the parser
and scored once, untuned: P 0.946 / R 0.908, 2 non-orders read as orders (a later "刚才的都
不要了"; "订了两斤" about an order already placed). After fixing its kinds
(test_wechat_round8.py) P 1.000 / R 1.000. By the lead's decision cheque numerals next to a
unit are numbers: "土豆伍斤" in the corpus and "土豆伍斤，黄瓜贰斤" in
wechat_heldout_final.jsonl were relabelled from no item to their items.
`wechat_heldout_round8b.jsonl` (61 messages, 84 items, 9 non-orders: new wordings of the
round-8 kinds) was written after those fixes and scored once, untuned: P 0.943 / R 0.976,
1 non-order read as an order ("上次那两斤排骨全炖了"). After fixing its kinds (今 before 黄瓜,
"换成两斤茄子", "哦不对", an amount after a turn naming one product, a look-back with 那, a
product named again with the amount) P 1.000 / R 1.000.
`wechat_heldout_round8c.jsonl` (57 messages, 86 items, 7 non-orders: long lists, relatives,
conditions and fallbacks, container units, totals, limits, chat turns) was written after the
8b fixes and scored once, untuned: P 0.988 / R 0.942, no non-order read as an order ("香菜，
葱，姜，蒜，各来一点"; "鸡蛋改成3斤 土豆不变" in a later turn). After: P 1.000 / R 1.000.
`wechat_heldout_round8d.jsonl` (54 messages, 68 items, 7 non-orders: corrections in
Traditional characters and later turns, heard units, regional and variety names) the same
way: untuned P 0.912 / R 0.912, none read as an order ("要不八个吧", "去掉一个", "减两斤",
"豆角多加一斤 茄子少要一斤", "这次还要两斤", a chain of amounts). After: P 1.000 / R 1.000.
`wechat_heldout_round8e.jsonl` (47 messages, 48 items, 6 non-orders: issue 14's kinds in new
wordings) the same way: untuned P 1.000 / R 0.896 ("把葱切好，要两把"; a 接龙 titled by its
product; "给我三楼的邻居也带1斤"). After: P 1.000 / R 1.000.
`wechat_heldout_round8f.jsonl` (46 messages, 73 items, 10 non-orders: dictation without
punctuation, Traditional lists, line-by-line lists, later turns, neighbours, notices) the same
way: untuned P 1.000 / R 1.000; nothing changed for it.
`wechat_heldout_round8g.jsonl` (38 messages, 49 items, 4 non-orders: wishes with 不要/别,
packing and cutting instructions, totals) the same way: untuned P 0.957 / R 0.898, none read
as an order ("土豆不要太多，两斤就行"; "冬瓜一块 大概3斤"; "还是一样，两斤"). After: P 1.000 /
R 1.000. `wechat_heldout_round8h.jsonl` (32 messages, 45 items: Traditional lists and
corrections, dictation with particles, variety and unsold names, phone numbers beside an order)
the same way: untuned P 0.956 / R 0.956 ("牛奶要四瓶吧不要了三瓶就够"). After: P 0.978 /
R 0.978; still missed: "排骨再加一斤，剛才說兩斤" (the line's earlier amount said after the
addition, in the same message), fixed in round 9: P 1.000 / R 1.000 since.

Round 9: `wechat_heldout_round9.jsonl` (101 messages, 172 items, 11 non-orders; Traditional
lists, dictation homophones of products as well as units (稀红柿, 吐豆, 芹才, 排古, 豆付, 青交),
dialect names (地蛋, 山药蛋, 包谷), corrections, pasted multi-sender blocks, neighbours,
descriptors, lists of 10-12 items, money, non-orders with numbers) was written before reading
the parser and scored once, untuned: P 0.977 / R 0.977, no non-order read as an order (吐豆;
"打错了，是大白菜" with no amount of its own; "鸡蛋再加一斤，之前订了两斤"; "西兰花带个";
"葱要大葱，两根"). After fixing those kinds (test_wechat_round9.py) P 1.000 / R 1.000.
`wechat_heldout_round9b.jsonl` (68 messages, 108 items, 8 non-orders: Traditional lists,
product homophones of other characters, headers with dates and 下午 times, corrections across
turns, neighbours, varieties) was written after those fixes and scored once, untuned: P 0.944
/ R 0.953 as first written, 1 non-order read as an order; three labels went against the sets'
conventions (馍 is 馒头; "有排骨吗？没有就来两斤五花" orders 排骨; 俩 of a weighed product is
个) and were corrected first: P 0.972 / R 0.972. After fixing its kinds ("哦" alone between
amounts, "黄瓜不要三根了，两根", "排骨要精排，两斤", "上周还25一斤") P 1.000 / R 1.000.
`wechat_heldout_round9c.jsonl` (59 messages, 86 items, 8 non-orders: dictation fillers, heard
measure words, money before the product, corrections with 不是/多了/还是, neighbours, emoji
and 接龙 lists, varieties after 要) the same way: untuned P 0.977 / R 0.965, 1 non-order read
as an order (两平/两跟/三各; "我那2斤排骨放你那"). After: P 1.000 / R 1.000.
`wechat_heldout_round9d.jsonl` (48 messages, 69 items, 8 non-orders: variant characters,
斤半/半打/克/公斤, later-turn corrections, 都改成, neighbours, varieties, fallbacks, prices
beside orders, limits) the same way: untuned P 0.956 / R 0.942, none read as an order ("都改成
两斤"; "给我妈留一斤鸡蛋，给我婆婆也留一斤"; "排骨买五十"). After: P 0.986 / R 0.986; still
missed: "土豆买十块钱的，排骨买五十" (a money amount without 块 after a money line).
`wechat_heldout_round9e.jsonl` (36 messages, 49 items, 5 non-orders) the same way: untuned
P 0.961 / R 1.000, 1 non-order read as an order ("土豆两斤黄瓜两根都不要了"). After fixing it
and round 8's "芹菜两斤不要了" (a take-back glued to the last amount): P 1.000 / R 1.000.

Round 10: `wechat_heldout_round10.jsonl` (82 messages, 197 items, 7 non-orders; whole
messages in Traditional characters, homophones of products and units, dialect names,
corrections in the middle of long lists, several neighbours in one message, descriptors,
lists of 10-11 items with mixed separators) was written before reading the parser and scored
once, untuned: P 0.974 / R 0.959, no non-order read as an order (胡萝卜三更; 窝瓜; "我妈家两斤"
with no order word; "沙瓤的 不要太生 三斤"; "带刺的那种，顶花带刺，四根"; "五花买三十" after
a money line; "…都不要了，换两斤豆角" mid-clause; "鸡蛋两斤 哦 三斤吧"). After fixing its kinds
(test_wechat_round10.py) P 1.000 / R 1.000.
`wechat_heldout_round10b.jsonl` (70 messages, 150 items, 9 non-orders: Traditional, homophones
of products and units, dialect names, corrections inside lists of 5-12 items, flats and
neighbours, descriptors, money, limits) was written after those fixes and scored once,
untuned: P 0.993 / R 0.973, none read as an order ("牛奶两平酸奶两和": a heard measure glued
to the next product, 和 for 盒; "我们单元的孙阿姨也要一个"; "肥瘦相间的，两斤"). After: P 1.000 /
R 1.000. `wechat_heldout_round10c.jsonl` (59 messages, 115 items, 9 non-orders) the same way:
untuned P 1.000 / R 0.974, none read as an order (茄紫, 一巴, 两代: dictation homophones). After:
P 1.000 / R 1.000. `wechat_heldout_round10d.jsonl` (44 messages, 88 items, 8 non-orders) the
same way: untuned P 1.000 / R 0.989 ("青椒三个，黄瓜两根，青椒不要了，换成一斤西红柿" struck
黄瓜). After: P 1.000 / R 1.000. `wechat_heldout_round10e.jsonl` (39 messages, 76 items, 6
non-orders) the same way: untuned P 0.974 / R 1.000, none read as an order ("土豆三斤 哦 土豆
四斤"; "刚才肉馅不要了" in a spaced list). After: P 1.000 / R 1.000.
`wechat_heldout_round10f.jsonl` (39 messages, 74 items, 6 non-orders) the same way: untuned
P 1.000 / R 0.973 ("黃瓜兩根給我，三根給樓下張姐"; "给我婆婆留一袋米，给我妈留两袋"). After:
P 1.000 / R 1.000. `wechat_heldout_round10g.jsonl` (28 messages, 47 items, 4 non-orders) the
same way: untuned P 0.978 / R 0.957 ("土豆吃完了，再來五斤"; "黄瓜要直一点的，不要弯的，三根").
After: P 1.000 / R 1.000. `wechat_heldout_round10h.jsonl` (25 messages, 52 items, 3
non-orders) the same way: untuned P 1.000 / R 0.942 (西虹市, 一投, 青叫). After: P 1.000 /
R 0.981; still missed: "西虹市两斤" (two characters of a 3-character name heard wrong, and
市两 read as the old unit). Eight short lines of
rounds 10 and 10b ("番瓜一个", "土豆0斤", "韭菜斤半", ...) repeat messages of earlier sets,
written apart; they count in both.
"""

from __future__ import annotations

import pytest
from paths import WECHAT_SETS
from wechat_scoring import score

HERE = WECHAT_SETS


@pytest.mark.parametrize("name", ["wechat_heldout.jsonl", "wechat_heldout_final.jsonl"])
def test_heldout_precision_and_recall(name: str) -> None:
    precision, recall, wrong_non_orders, _ = score(HERE / name)
    assert precision >= 0.98
    assert recall >= 0.95
    assert wrong_non_orders == 0


@pytest.mark.parametrize(
    "name",
    [
        "wechat_heldout_issue14.jsonl",
        "wechat_heldout_issue14_after.jsonl",
        "wechat_heldout_round2.jsonl",
        "wechat_heldout_round3.jsonl",
        "wechat_heldout_round4.jsonl",
        "wechat_heldout_round5.jsonl",
        "wechat_heldout_round6.jsonl",
        "wechat_heldout_round6_after.jsonl",
        "wechat_heldout_round6_third.jsonl",
        "wechat_heldout_round6_fourth.jsonl",
        "wechat_heldout_round6_fifth.jsonl",
        "wechat_heldout_round6_sixth.jsonl",
        "wechat_heldout_round6_seventh.jsonl",
        "wechat_heldout_round6_eighth.jsonl",
        "wechat_heldout_round6_ninth.jsonl",
        "wechat_heldout_round6_tenth.jsonl",
        "wechat_heldout_round6_eleventh.jsonl",
        "wechat_heldout_round6_twelfth.jsonl",
        "wechat_heldout_round6_thirteenth.jsonl",
        "wechat_heldout_round6_fourteenth.jsonl",
        "wechat_heldout_round7.jsonl",
        "wechat_heldout_round7b.jsonl",
        "wechat_heldout_round8.jsonl",
        "wechat_heldout_round8b.jsonl",
        "wechat_heldout_round8c.jsonl",
        "wechat_heldout_round8d.jsonl",
        "wechat_heldout_round8e.jsonl",
        "wechat_heldout_round8f.jsonl",
        "wechat_heldout_round8g.jsonl",
        "wechat_heldout_round8h.jsonl",
        "wechat_heldout_round9.jsonl",
        "wechat_heldout_round9b.jsonl",
        "wechat_heldout_round9c.jsonl",
        "wechat_heldout_round9d.jsonl",
        "wechat_heldout_round9e.jsonl",
        "wechat_heldout_round10.jsonl",
        "wechat_heldout_round10b.jsonl",
        "wechat_heldout_round10c.jsonl",
        "wechat_heldout_round10d.jsonl",
        "wechat_heldout_round10e.jsonl",
        "wechat_heldout_round10f.jsonl",
        "wechat_heldout_round10g.jsonl",
        "wechat_heldout_round10h.jsonl",
    ],
)
def test_issue14_precision_and_recall(name: str) -> None:
    precision, recall, wrong_non_orders, _ = score(HERE / name)
    assert precision >= 0.98
    assert recall >= 0.97
    assert wrong_non_orders == 0
