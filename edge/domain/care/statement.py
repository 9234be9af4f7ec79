"""Month end: per centre, per elder, per service and per provider — visits, hours,
not-at-home, satisfaction, and the amounts charged and subsidised, to the fen.

A visit counts in its month when it happened: `done` or `not_at_home` (declined,
cancelled and open bookings are not visits). Only a done visit is charged: its price
was fixed when it was booked (`charged_fen` + `subsidy_fen` = `price_fen`, see
`bookings`); a not-at-home visit costs nothing. Hours are the recorded minutes of done
visits. Satisfaction is the families' (and return visits') 1-5 ratings: their count
and sum, the average shown once. Each grouping adds up to the same total: every
figure is an integer summed once per booking, never a rounded share. The same code
reads a centre's file and the hub's, which holds every centre's rows.
"""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edge.domain.spreadsheet import writer
from edge.errors import BadRequest
from edge.store.statuses import BOOKING_VISITED, sql_in

GROUPS = ("centre", "elder", "service", "provider")
GROUP_ZH = {"centre": "服务站", "elder": "老人", "service": "服务", "provider": "服务人员"}
COUNTED = BOOKING_VISITED
SUMMED = (
    "visits",
    "done",
    "not_at_home",
    "minutes",
    "ratings",
    "rating_sum",
    "price_fen",
    "charged_fen",
    "subsidy_fen",
)


@dataclass(slots=True)
class Line:
    key: str
    name: str
    visits: int = 0
    done: int = 0
    not_at_home: int = 0
    minutes: int = 0
    ratings: int = 0
    rating_sum: int = 0
    price_fen: int = 0
    charged_fen: int = 0
    subsidy_fen: int = 0
    detail: str = ""  # the elder's centre, a provider's kind

    def add(self, row: sqlite3.Row) -> None:
        self.visits += 1
        if row["status"] == "done":
            self.done += 1
            self.minutes += row["actual_minutes"] or row["minutes"]
            self.price_fen += row["price_fen"]
            self.charged_fen += row["charged_fen"]
            self.subsidy_fen += row["subsidy_fen"]
            if row["rating"] is not None:
                self.ratings += 1
                self.rating_sum += row["rating"]
        else:
            self.not_at_home += 1

    @property
    def hours(self) -> str:
        return str((Decimal(self.minutes) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP))

    @property
    def satisfaction(self) -> str:
        if not self.ratings:
            return ""
        avg = Decimal(self.rating_sum) / self.ratings
        return str(avg.quantize(Decimal("0.1"), ROUND_HALF_UP))

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        return d | {"hours": self.hours, "satisfaction": self.satisfaction}


def month_range(month: str) -> tuple[str, str]:
    """'2030-01' -> ('2030-01-01', '2030-02-01'): the first day and the next month's."""
    try:
        if len(month) != 7 or month[4] != "-":
            raise ValueError
        first = date(int(month[:4]), int(month[5:]), 1)
    except (ValueError, TypeError):
        raise BadRequest("month must be YYYY-MM, e.g. 2030-01", field="month") from None
    if not 2000 <= first.year <= 2100:
        raise BadRequest("month must be between 2000 and 2100", field="month")
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.isoformat(), after.isoformat()


SQL = (
    "SELECT b.site_id, b.recipient_id, b.provider_id, b.status, b.minutes, b.actual_minutes,"
    " b.price_fen, b.charged_fen, b.subsidy_fen, b.rating, r.name AS recipient_name,"
    " s.name AS service_name, p.name AS provider_name, p.kind AS provider_kind"
    " FROM care_bookings b JOIN care_recipients r ON r.id = b.recipient_id"
    " JOIN care_services s ON s.id = b.service_id"
    " LEFT JOIN care_providers p ON p.id = b.provider_id"
    f" WHERE b.day >= ? AND b.day < ? AND b.status IN {sql_in(COUNTED)}"
)


def statement(
    conn: sqlite3.Connection,
    month: str,
    centre_names: dict[str, str],
    *,
    site_id: str | None = None,
) -> dict[str, Any]:
    """The month's statement; `centre_names` by site id (the centre's own, or the hub's
    `sync_centres`), `site_id` to keep one centre's rows."""
    first, after = month_range(month)
    sql, params = SQL, [first, after]
    if site_id is not None:
        sql += " AND b.site_id = ?"
        params.append(site_id)
    total = Line("", "合计 Total")
    groups: dict[str, dict[str, Line]] = {g: {} for g in GROUPS}
    for row in conn.execute(sql, params):
        centre = centre_names.get(row["site_id"], row["site_id"])
        keys = {
            "centre": (row["site_id"], centre, ""),
            "elder": (row["recipient_id"], row["recipient_name"], centre),
            "service": (row["service_name"], row["service_name"], ""),
            "provider": (
                row["provider_id"] or "",
                row["provider_name"] or "未派人 none",
                row["provider_kind"] or "",
            ),
        }
        total.add(row)
        for group, (key, name, detail) in keys.items():
            line = groups[group].get(key)
            if line is None:
                line = groups[group][key] = Line(key, name, detail=detail)
            line.add(row)
    return {
        "month": month,
        "first": first,
        "total": total,
        "groups": {
            g: sorted(lines.values(), key=lambda ln: (ln.detail, ln.name, ln.key))
            for g, lines in groups.items()
        },
    }


def unbalanced(doc: dict[str, Any]) -> list[str]:
    """What does not add up (empty when the statement balances to the fen): each
    grouping's lines sum to the total, and charged + subsidy = full price everywhere."""
    total: Line = doc["total"]
    out = []
    for group, lines in doc["groups"].items():
        for name in SUMMED:
            summed = sum(getattr(ln, name) for ln in lines)
            if summed != getattr(total, name):
                out.append(f"{group}.{name}: {summed} != {getattr(total, name)}")
    for line in [total, *(ln for lines in doc["groups"].values() for ln in lines)]:
        if line.charged_fen + line.subsidy_fen != line.price_fen:
            out.append(f"{line.name}: charged + subsidy != price")
    return out


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


CSV_HEAD = (
    "分组 grouping",
    "名称 name",
    "说明 detail",
    "服务次数 visits",
    "完成 done",
    "上门未遇 not at home",
    "时长(小时) hours",
    "分钟 minutes",
    "评价数 ratings",
    "满意度 satisfaction",
    "原价(元) full price",
    "收费(元) charged",
    "补贴(元) subsidy",
    "原价(分) price_fen",
    "收费(分) charged_fen",
    "补贴(分) subsidy_fen",
)


def as_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    w = writer(out)
    w.writerow(CSV_HEAD)
    rows = [(g, ln) for g in GROUPS for ln in doc["groups"][g]] + [("total", doc["total"])]
    for group, ln in rows:
        w.writerow(
            (
                group,
                ln.name,
                ln.detail,
                ln.visits,
                ln.done,
                ln.not_at_home,
                ln.hours,
                ln.minutes,
                ln.ratings,
                ln.satisfaction,
                yuan(ln.price_fen),
                yuan(ln.charged_fen),
                yuan(ln.subsidy_fen),
                ln.price_fen,
                ln.charged_fen,
                ln.subsidy_fen,
            )
        )
    return out.getvalue()
