"""What the centre's sync agent keeps in its own database (`sync_state`): the positions
pushed and pulled, the last attempt, success and error, the clock offset to the hub, and
the clock warning the badge shows from it."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.store import Tx

CLOCK_WARN_MS = 5 * 60 * 1000


def read_state(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM sync_state")}


def write_state(tx: Tx, **values: Any) -> None:
    for key, value in values.items():
        tx.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, "" if value is None else str(value)),
        )


def describe_offset(offset_ms: int) -> str | None:
    """A warning for the tablet when the box's clock disagrees with the hub's."""
    if abs(offset_ms) < CLOCK_WARN_MS:
        return None
    ahead = offset_ms > 0
    minutes = abs(offset_ms) / 60_000
    if minutes >= 2 * 24 * 60:
        amount_zh, amount_en = f"{minutes / 1440:.0f} 天", f"{minutes / 1440:.0f} days"
    elif minutes >= 120:
        amount_zh, amount_en = f"{minutes / 60:.0f} 小时", f"{minutes / 60:.0f} hours"
    else:
        amount_zh, amount_en = f"{minutes:.0f} 分钟", f"{minutes:.0f} minutes"
    return (
        f"本机时钟比中心{'快' if ahead else '慢'} {amount_zh},请校准时间 / "
        f"this box's clock is {amount_en} {'ahead of' if ahead else 'behind'} the hub"
    )
