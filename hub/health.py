"""Sync health per centre, as the hub knows it: what is current and what is not.

The hub learns about a centre only when the centre calls (every 15 s while
its link is up). So a centre that has not called for `ONLINE_WITHIN_S` is
offline, and what it reported at its last call (changes waiting, how far
behind) is history, not the present: the page says "unknown" for those
rather than a 0 that looks current. The clock offset is the centre box's
clock minus the hub's, measured at its last call; 5 minutes or more is
worth fixing at the box.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, tzinfo
from typing import Any

from hub.humane import Gettext, local_time, parse_stamp, span

ONLINE_WITHIN_S = 60  # four missed syncs at the default 15 s
CLOCK_WARNING_MS = 5 * 60_000
API_FIELDS = (
    "site_id",
    "name",
    "acked_seq",
    "waiting",
    "schema_version",
    "revoked",
    "diverged",
    "last_contact",
    "pulled_seq",
)


def state_of(c: dict[str, Any], since: float | None) -> str:
    if c["revoked"]:
        return "revoked"
    if c["diverged"]:
        return "diverged"
    if since is None:
        return "never"
    return "online" if since < ONLINE_WITHIN_S else "offline"


def sync_health(
    conn: sqlite3.Connection, now: datetime | None = None, tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """Per enrolled centre, by name: the stored figures and what they mean now."""
    now = now or datetime.now(UTC)
    out = []
    for c in (dict(r) for r in conn.execute("SELECT * FROM sync_centres ORDER BY name")):
        last = parse_stamp(c["last_contact"])
        last_push = parse_stamp(c["last_push"])
        since = (now - last).total_seconds() if last else None
        state = state_of(c, since)
        current = state == "online"
        if not current:
            lag: float | None = None
        elif c["waiting"] and last_push:
            lag = max(0.0, (now - last_push).total_seconds())
        else:
            lag = 0.0
        offset = c["clock_offset_ms"]
        out.append(
            {
                **{k: c[k] for k in API_FIELDS},
                "since_contact_s": since,
                "lag_s": lag,
                "clock_offset_ms": offset or 0,
                "clock_offset": _human_ms(offset or 0),
                "clock_warning": offset is not None and abs(offset) >= CLOCK_WARNING_MS,
                "online": current,
                "state": state,
                "current": current,
                "last_contact_local": local_time(last, tz, now.astimezone(tz).date()),
            }
        )
    return out


def clock_advice(c: dict[str, Any], _: Gettext) -> str:
    """The clock warning in words: whose clock is off, by how much, and what to do."""
    if not c["clock_warning"]:
        return ""
    amount = span(abs(c["clock_offset_ms"]) / 1000, _)
    if c["clock_offset_ms"] > 0:
        text = _(
            "The box at %(centre)s is %(amount)s ahead of the hub's clock.",
            centre=c["name"],
            amount=amount,
        )
    else:
        text = _(
            "The box at %(centre)s is %(amount)s behind the hub's clock.",
            centre=c["name"],
            amount=amount,
        )
    advice = _(
        "Set the time on that box (turn on automatic time): "
        "cut-offs and pickup days follow its clock."
    )
    return text + ("" if text.endswith("。") else " ") + advice


def _human_ms(ms: int) -> str:
    sign = "+" if ms >= 0 else "−"
    s = abs(ms) / 1000
    if s < 120:
        return f"{sign}{s:.0f} s"
    if s < 7200:
        return f"{sign}{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} d"
