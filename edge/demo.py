"""The demo centre 金沙路社区: the catalog from the report and a few households.

`make run` calls this on a new file so a fresh machine shows a working day.
Prices are in fen, per 斤 for produce sold by weight.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from edge.domain import calendar, orders
from edge.domain.auth import add_staff, issue_token
from edge.domain.care import demo as care_demo
from edge.domain.centre import init_centre
from edge.domain.households import HouseholdInput, create_household
from edge.domain.products import create_product
from edge.settings import local_now
from edge.store import Tx, open_store

DEMO_CENTRE = "金沙路社区"
DEMO_STAFF = (("小玮", "manager", "1234"), ("王姐", "staff", "2345"), ("小李", "volunteer", "3456"))

# name, category, sold_by, unit, price_fen, aliases, bundle_size
CATALOG: list[tuple[str, str, str, str, int, list[str], int]] = [
    ("土豆", "蔬菜", "weight", "斤", 180, ["马铃薯", "洋芋"], 1),
    ("黄瓜", "蔬菜", "weight", "斤", 300, ["青瓜"], 1),
    ("西红柿", "蔬菜", "weight", "斤", 400, ["番茄"], 1),
    ("青椒", "蔬菜", "weight", "斤", 350, ["圆青椒", "柿子椒", "甜椒"], 1),
    ("尖椒", "蔬菜", "weight", "斤", 400, ["辣椒"], 1),
    ("茄子", "蔬菜", "weight", "斤", 300, ["长茄子"], 1),
    ("大白菜", "蔬菜", "weight", "斤", 120, ["白菜"], 1),
    ("小白菜", "蔬菜", "weight", "斤", 300, ["青菜"], 1),
    ("菠菜", "蔬菜", "weight", "斤", 400, [], 1),
    ("芹菜", "蔬菜", "weight", "斤", 250, [], 1),
    ("韭菜", "蔬菜", "weight", "斤", 350, [], 1),
    ("胡萝卜", "蔬菜", "weight", "斤", 200, ["红萝卜"], 1),
    ("白萝卜", "蔬菜", "weight", "斤", 150, ["萝卜"], 1),
    ("洋葱", "蔬菜", "weight", "斤", 200, ["圆葱"], 1),
    ("大葱", "蔬菜", "weight", "斤", 300, ["葱"], 1),
    ("生姜", "蔬菜", "weight", "斤", 800, ["姜"], 1),
    ("大蒜", "蔬菜", "weight", "斤", 700, ["蒜"], 1),
    ("豆角", "蔬菜", "weight", "斤", 500, ["芸豆", "扁豆"], 1),
    ("西兰花", "蔬菜", "piece", "个", 450, ["西蓝花", "花菜"], 1),
    ("冬瓜", "蔬菜", "weight", "斤", 150, [], 1),
    ("香菜", "蔬菜", "piece", "把", 200, ["芫荽"], 1),
    ("橙子", "水果", "piece", "个", 150, ["橙", "脐橙"], 1),
    ("苹果", "水果", "weight", "斤", 600, [], 1),
    ("香蕉", "水果", "weight", "斤", 400, [], 1),
    ("梨", "水果", "weight", "斤", 400, ["雪梨", "鸭梨"], 1),
    ("鸡蛋", "蛋奶", "weight", "斤", 550, ["蛋", "笨鸡蛋"], 1),
    ("牛奶", "蛋奶", "piece", "袋", 250, ["鲜奶"], 1),
    ("豆腐", "豆制品", "piece", "块", 250, ["卤水豆腐"], 1),
    ("馒头", "主食", "bundle", "个", 500, ["大馒头", "白馒头"], 5),
    ("花卷", "主食", "bundle", "个", 500, [], 5),
    ("手擀面", "主食", "weight", "斤", 400, ["面条", "鲜面条"], 1),
    ("挂面", "主食", "piece", "袋", 600, [], 1),
    ("大米", "粮油", "piece", "袋", 3500, ["米"], 1),
]

HOUSEHOLDS = [
    ("张桂兰", "13805321234", "3", "1", "201", "张阿姨", False),
    ("李建国", "13953245678", "3", "2", "502", "老李", False),
    ("王秀英", "15863219876", "5", "1", "101", "王奶奶", True),
    ("赵德明", "13012348765", "5", "2", "302", "赵大爷", True),
    ("刘淑芬", "18653201122", "7", "1", "602", "刘姐", False),
    ("陈玉珍", "13698765432", "7", "3", "401", "陈阿姨🌸", False),
    ("孙志强", "15166887799", "9", "1", "202", "强子", False),
    ("周凤兰", "13589012345", "9", "2", "101", "周姨", True),
]


def add_catalog(tx: Tx) -> dict[str, str]:
    """The demo catalog in display order; returns product ids by name."""
    ids = {}
    for i, (name, cat, sold_by, unit, price, aliases, size) in enumerate(CATALOG):
        ids[name] = create_product(
            tx,
            {
                "name": name,
                "category": cat,
                "sold_by": sold_by,
                "unit": unit,
                "price_fen": price,
                "aliases": aliases,
                "bundle_size": size,
                "sort": i,
            },
        )
    return ids


def create_demo(db_path: Path) -> str:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open_store(db_path) as store:
        if store.site_id:
            return f"demo centre already in {db_path}; sign in as 小玮 with PIN 1234"
        init_centre(store, DEMO_CENTRE)
        rng = random.Random(7)

        def write(tx: Tx) -> dict[str, Any]:
            tokens, staff_ids, household_ids = {}, {}, {}
            for name, role, pin in DEMO_STAFF:
                staff = add_staff(tx, name, role, pin)
                tokens[name], staff_ids[name] = issue_token(tx, staff.id), staff.id
            product_ids = list(add_catalog(tx).values())
            now = local_now()
            today = now.date()
            yesterday_morning = now.replace(hour=9, minute=0) - timedelta(days=1)
            cal = calendar.load(tx.conn, tx.site_id)
            if not cal.is_delivery_day(today):  # so the demo always has a day to show
                calendar.add_exception(tx, today, "extra", "演示 demo")
            next_day = calendar.load(tx.conn, tx.site_id).next_delivery_day(now)
            for hh in HOUSEHOLDS:
                household_id = household_ids[hh[0]] = create_household(
                    tx,
                    HouseholdInput(
                        name=hh[0],
                        phone=hh[1],
                        building=hh[2],
                        unit=hh[3],
                        room=hh[4],
                        wechat_nickname=hh[5],
                        home_delivery=hh[6],
                    ),
                )
                picks = rng.sample(product_ids[:30], 3)
                items = [orders.ItemInput(p, rng.choice([1, 2, 3]), None) for p in picks]
                for day in (today, next_day):
                    orders.create_order(
                        tx,
                        orders.OrderInput(
                            items=items,
                            household_id=household_id,
                            channel="wechat",
                            pickup_date=day.isoformat(),
                        ),
                        yesterday_morning,
                    )
            care_demo.seed(tx, household_ids, staff_ids, today)
            return tokens

        tokens = store.write_sync(write)
    return (
        f"demo centre {DEMO_CENTRE} created in {db_path}\n"
        f"sign in on a tablet as 小玮 (manager) with PIN 1234; 王姐 (staff) 2345; "
        f"小李 (volunteer) 3456\nAPI token for 小玮: {tokens['小玮']}"
    )
