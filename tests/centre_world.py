"""The centre world the tests share: a real centre database with staff, the demo
catalog and two households, a settable clock, and small helpers to read it.

Plain module (fixtures live in conftest.py): test modules import from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.demo import add_catalog
from edge.domain.auth import add_staff, issue_token
from edge.domain.centre import init_centre
from edge.domain.households import HouseholdInput, create_household
from edge.store import Tx, open_store

# A Sunday morning: the next delivery day is Monday 2026-11-30 (cut-off Sunday 20:00).
SUNDAY_MORNING = datetime(2026, 11, 29, 10, 0)


class Clock:
    """A settable "now" for cut-off rules."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Centre:
    db_path: Path
    site_id: str
    tokens: dict[str, str]
    products: dict[str, str]
    households: dict[str, str]
    clock: Clock
    client: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: str = "manager", **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **more}


def build_centre(db_path: Path) -> tuple[str, dict[str, str], dict[str, str], dict[str, str]]:
    with open_store(db_path) as store:
        site_id = init_centre(store, "测试社区")

        def write(tx: Tx) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
            tokens = {}
            for name, role in (
                ("manager", "manager"),
                ("staff", "staff"),
                ("volunteer", "volunteer"),
            ):
                staff = add_staff(tx, name, role, "1234")
                tokens[name] = issue_token(tx, staff.id)
            products = add_catalog(tx)
            households = {
                "张桂兰": create_household(
                    tx,
                    HouseholdInput(
                        name="张桂兰",
                        phone="13805321234",
                        building="3",
                        unit="1",
                        room="201",
                        wechat_nickname="张阿姨",
                    ),
                ),
                "王秀英": create_household(
                    tx,
                    HouseholdInput(
                        name="王秀英",
                        phone="15863219876",
                        building="5",
                        unit="1",
                        room="101",
                        wechat_nickname="王奶奶",
                        home_delivery=True,
                    ),
                ),
            }
            return tokens, products, households

        tokens, products, households = store.write_sync(write)
    return site_id, tokens, products, households


def order_body(c: Centre, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_id": c.households["张桂兰"],
        "channel": "wechat",
        "items": [
            {"product_id": c.products["土豆"], "quantity": 5, "unit": "斤"},
            {"product_id": c.products["橙子"], "quantity": 6},
            {"product_id": c.products["馒头"], "quantity": 1, "unit": "份"},
        ],
    }
    body.update(over)
    return body


def count(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()
