"""Times as a district operator reads them: the hub's local time and ages in words.

The hub stores UTC ISO stamps; an operator in Qingdao reads "12-04 09:15" in
the hub's configured zone (`Settings.timezone`, Asia/Shanghai by default) and
"3 天前" rather than "4320.0 min ago". The words come from the same gettext
catalogs as the centre's pages (`edge.web.pages.i18n`), in the request's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.web.pages.base import N_

Gettext = Callable[..., str]
CHINA = timezone(timedelta(hours=8), "CST")


def zone(name: str) -> tzinfo:
    """The named zone; China Standard Time when the box has no zone data for it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return CHINA


def parse_stamp(stamp: str | None) -> datetime | None:
    """A stored ISO stamp as an aware datetime (naive stamps are UTC), or None."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def local_time(stamp: str | datetime | None, tz: tzinfo, today: date | None = None) -> str:
    """ "09:15" today, "12-04 09:15" this year, "2029-12-04 09:15" before; "" for none."""
    when = parse_stamp(stamp) if not isinstance(stamp, datetime) else stamp
    if when is None:
        return ""
    local = when.astimezone(tz)
    today = today or datetime.now(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


AGE_WORDS = {
    "now": N_("just now"),
    "s": N_("%(n)s s ago"),
    "min": N_("%(n)s min ago"),
    "h": N_("%(n)s h ago"),
    "d": N_("%(n)s days ago"),
}
SPAN_WORDS = {
    "s": N_("%(n)s s"),
    "min": N_("%(n)s min"),
    "h": N_("%(n)s h"),
    "d": N_("%(n)s days"),
}


def _unit(seconds: float) -> tuple[str, int]:
    s = abs(seconds)
    if s < 90:
        return "s", round(s)
    if s < 90 * 60:
        return "min", round(s / 60)
    if s < 36 * 3600:
        return "h", round(s / 3600)
    return "d", round(s / 86400)


def age(seconds: float | None, _: Gettext) -> str:
    """How long ago, in words: "刚刚", "5 分钟前", "3 天前"; "" when never."""
    if seconds is None:
        return ""
    if seconds < 10:
        return _(AGE_WORDS["now"])
    unit, n = _unit(seconds)
    return _(AGE_WORDS[unit], n=n)


def span(seconds: float, _: Gettext) -> str:
    """A length of time in words: "9 分钟", "2 小时"."""
    unit, n = _unit(seconds)
    return _(SPAN_WORDS[unit], n=n)


def today_in(tz: tzinfo) -> date:
    return datetime.now(tz).date()


def as_context(tz: tzinfo, _: Gettext) -> dict[str, Any]:
    """What templates need to show times: `when(stamp)`, `ago(seconds)`, `span(seconds)`
    and the zone's name."""
    today = today_in(tz)
    return {
        "when": lambda stamp: local_time(stamp, tz, today),
        "ago": lambda seconds: age(seconds, _),
        "span": lambda seconds: span(seconds, _),
        "tz_name": str(tz),
    }
