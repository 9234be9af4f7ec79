"""The day's price post: the text the manager pastes into the WeChat group.

It lists what is on sale for the next delivery day, price per 斤 or per
piece, the specials, the cut-off and the pickup hours, in the short plain
style the station manager writes herself.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

from edge.domain import calendar, products
from edge.domain.calendar import WEEKDAY_NAMES_ZH


def yuan(fen: int) -> str:
    """1.80 -> "1.8", 300 -> "3": how prices are written in the group."""
    text = f"{fen / 100:.2f}".rstrip("0").rstrip(".")
    return text


def price_label(p: products.Product, day: date) -> str:
    price = p.price_on(day)
    if p.sold_by == "weight":
        return f"{p.name}{yuan(price)}元/斤"
    if p.sold_by == "bundle":
        return f"{p.name}{yuan(price)}元{p.bundle_size}{p.unit}"
    return f"{p.name}{yuan(price)}元/{p.unit}"


def price_post(
    conn: sqlite3.Connection, site_id: str, centre_name: str, now: datetime
) -> dict[str, str]:
    cal = calendar.load(conn, site_id)
    day = cal.next_delivery_day(now)
    cutoff = cal.cutoff_for(day)
    catalog = products.list_products(conn)
    when = f"{day.month}月{day.day}日({WEEKDAY_NAMES_ZH[day.weekday()]})"
    lines = [f"【{centre_name}】{when}到货菜单", ""]
    by_category: dict[str, list[str]] = {}
    specials = []
    for p in catalog:
        by_category.setdefault(p.category or "其他", []).append(price_label(p, day))
        if p.price_on(day) != p.price_fen:
            specials.append(f"{price_label(p, day)}(原价{yuan(p.price_fen)}元)")
    for category, labels in by_category.items():
        lines.append(f"{category}：" + "、".join(labels))
    if specials:
        lines += ["", "🔥特价：" + "、".join(specials)]
    cutoff_day = "今天" if cutoff.date() == now.date() else (f"{cutoff.month}月{cutoff.day}日")
    lines += [
        "",
        f"请{cutoff_day}{cutoff.strftime('%H:%M')}前在群里下单，写清楼号和要的斤数。",
        f"取货时间：{when} {cal.pickup_hours}，在社区服务中心。",
        "行动不便的老人可以送货上门，请备注。谢谢大家！",
    ]
    return {"delivery_date": day.isoformat(), "text": "\n".join(lines)}
