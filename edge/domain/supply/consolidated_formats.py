"""A consolidated order (`consolidated.view`) written out for people: the CSV the
manager downloads and the plain Chinese message pasted into WeChat or an SMS when the
hub is out of reach."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from edge.domain import calendar, spreadsheet
from edge.domain.supply.lines import say

WEEKDAYS_ZH = calendar.WEEKDAY_NAMES_ZH


CSV_COLUMNS = (
    "delivery_date",
    "version",
    "product_id",
    "product_name",
    "qty_unit",
    "ordered",
    "buffer",
    "total",
    "co_op_quantity",
    "co_op_unit",
)


def as_csv(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = spreadsheet.writer(buf)
    w.writerow(CSV_COLUMNS)
    for line in doc["lines"]:
        w.writerow(
            [
                doc["delivery_date"],
                doc["version"] or "",
                line["product_id"],
                line["product_name"],
                line["qty_unit"],
                line["ordered"],
                line["buffer"],
                line["total"],
                line["co_op_quantity"],
                line["co_op_unit"],
            ]
        )
    return buf.getvalue()


def as_text(doc: dict[str, Any], centre_name: str) -> str:
    """The order as a plain WeChat / SMS message in Chinese, ready to paste."""
    d = date.fromisoformat(doc["delivery_date"])
    version = doc["version"]
    head = f"【{centre_name}】{d.month}月{d.day}日({WEEKDAYS_ZH[d.weekday()]})订货"
    if version:
        head += f" 第{version}版"
        if version > 1:
            head += f"(更正第{version - 1}版)"
    else:
        head += "(未截单,预览)"
    out = [head]
    for line in doc["lines"]:
        text = f"{line['product_name']} {line['co_op_quantity']}{line['co_op_unit']}"
        if line["qty_unit"] == "bundle" and line["bundle_size"] > 1:
            text += f"(每份{line['bundle_size']}个)"
        out.append(text)
    if doc["amendments"]:
        last = doc["amendments"][-1]
        changes = "、".join(
            f"{c['product_name']} {say(c['qty_unit'], c['before'], c['unit_label'])}"
            f"→{say(c['qty_unit'], c['after'], c['unit_label'])}"
            for c in last["diff"]
        )
        out.append(f"改动:{changes}")
    out.append(f"共{len(doc['lines'])}项。{d.month}月{d.day}日早6点送到,谢谢!")
    return "\n".join(out)
