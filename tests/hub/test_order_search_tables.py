"""The operator's order search reads tables its triggers keep (m404: household name
grams, each centre's day totals) and reads only the centres that fill the day's page.
Whatever is written (a household renamed or deleted, an order cancelled, moved,
repriced or deleted), it answers exactly what the plain queries over every order and
household answer, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import open_hub_store

from edge.store import Store, Tx
from hub.order_pages import orders_for_day
from sync import enrol

DAY, NEXT = "2030-03-04", "2030-03-05"
LONG = "欧" * 70 + "秀英"  # grams past SQLite's trigger positions


@pytest.fixture
def hub(hub_target: Path | str) -> Iterator[Store]:
    store = open_hub_store(hub_target)
    yield store
    store.close()


def household(tx: Tx, hid: str, site: str, name: str, room: int) -> None:
    tx.conn.execute(
        "INSERT INTO households (id, site_id, name, phone, phone_tail, building, unit, room,"
        " created_at) VALUES (?, ?, ?, ?, ?, '1', '1', ?, '2030-01-01T00:00:00')",
        (hid, site, name, f"1390000{room:04d}", f"{room:04d}", str(room)),
    )


def order(tx: Tx, oid: str, site: str, hid: str, day: str, status: str, fen: int) -> None:
    tx.conn.execute(
        "INSERT INTO orders (id, site_id, household_id, channel, pickup_date, delivery_mode,"
        " pickup_code, status, estimated_fen, created_at, updated_at) VALUES"
        " (?, ?, ?, 'wechat', ?, 'pickup', ?, ?, ?, '2030-01-01T09:00', '2030-01-01T09:00')",
        (oid, site, hid, day, oid[-4:], status, fen),
    )


def plain_names(conn: Any, q: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT o.id FROM orders o JOIN households h ON h.id = o.household_id"
            " WHERE h.name LIKE ?",
            (f"%{q}%",),
        )
    }


def plain_totals(conn: Any, day: str) -> list[dict[str, Any]]:
    """The totals as the page summed them before m404."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT c.name AS centre_name, o.site_id, COUNT(*) AS orders,"
            " SUM(CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,"
            " SUM(CASE WHEN o.status IN ('picked_up', 'delivered') THEN 1 ELSE 0 END) AS done,"
            " SUM(CASE WHEN o.status = 'cancelled' THEN 0 ELSE o.estimated_fen END)"
            " AS estimated_fen FROM orders o LEFT JOIN sync_centres c ON c.site_id = o.site_id"
            " WHERE o.pickup_date = ? GROUP BY o.site_id, c.name ORDER BY c.name, o.site_id",
            (day,),
        )
    ]


def plain_page(conn: Any, day: str, limit: int) -> list[tuple[Any, ...]]:
    """The page's first `limit` orders' sort keys (orders of one household tie)."""
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT c.name, h.building, h.unit, h.room FROM orders o"
            " LEFT JOIN households h ON h.id = o.household_id"
            " LEFT JOIN sync_centres c ON c.site_id = o.site_id WHERE o.pickup_date = ?"
            " ORDER BY c.name, h.building, h.unit, h.room LIMIT ?",
            (day, limit),
        )
    ]


def plain_search(conn: Any, q: str, limit: int) -> list[tuple[Any, ...]]:
    """Every day's orders of households named with `q`, newest first: sort keys."""
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT o.pickup_date, c.name, h.building, h.unit, h.room FROM orders o"
            " JOIN households h ON h.id = o.household_id"
            " LEFT JOIN sync_centres c ON c.site_id = o.site_id WHERE h.name LIKE ?"
            " ORDER BY o.pickup_date DESC, c.name, h.building, h.unit, h.room LIMIT ?",
            (f"%{q}%", limit),
        )
    ]


def check(hub: Store) -> None:
    def fn(conn: Any) -> None:
        for q in ("秀英", "王秀英", "英", "欧欧欧", "anna", "NNA W", "张三", "无此人"):
            found = orders_for_day(conn, DAY, q=q, all_days=True)["orders"]
            assert {o["id"] for o in found} == plain_names(conn, q), q
            for limit in range(1, 6):  # the newest `limit`: read from their first day on
                newest = orders_for_day(conn, DAY, q=q, all_days=True, limit=limit)["orders"]
                keys = [
                    (o["pickup_date"], o["centre_name"], o["building"], o["unit"], o["room"])
                    for o in newest
                ]
                assert keys == plain_search(conn, q, limit), (q, limit)
        for day in (DAY, NEXT):
            page = orders_for_day(conn, day)["totals"]
            assert sorted(page, key=lambda t: (t["centre_name"], t["site_id"])) == plain_totals(
                conn, day
            )
            for limit in range(1, 8):
                page_rows = orders_for_day(conn, day, limit=limit)["orders"]
                got = [(o["centre_name"], o["building"], o["unit"], o["room"]) for o in page_rows]
                assert got == plain_page(conn, day, limit), (day, limit)

    hub.read_sync(fn)


def test_search_and_totals_answer_what_the_plain_queries_do(hub: Store) -> None:
    def setup(tx: Tx) -> list[str]:
        # two centres share a name: the day's page must read both or neither
        sites = [enrol.add_centre(tx, n).site_id for n in ("东社区", "南社区", "南社区", "西社区")]
        names = ("王秀英", "李秀英", LONG, "Anna Wang", "王建国", "赵秀兰")
        for i, name in enumerate(names):
            household(tx, f"h{i}", sites[i % 4], name, 100 + i)
        statuses = ("placed", "cancelled", "picked_up", "delivered", "placed")
        for i in range(14):
            order(
                tx, f"o{i:04d}", sites[i % 4], f"h{i % len(names)}",
                DAY if i % 3 else NEXT, statuses[i % 5], 100 * i,
            )  # fmt: skip
        return sites

    sites = hub.write_sync(setup)
    check(hub)

    def change(tx: Tx) -> None:
        c = tx.conn
        c.execute("UPDATE households SET name = '张三' WHERE id = 'h1'")
        c.execute("UPDATE households SET site_id = ? WHERE id = 'h0'", (sites[3],))
        c.execute("UPDATE orders SET status = 'cancelled' WHERE id = 'o0001'")
        c.execute("UPDATE orders SET status = 'placed' WHERE id = 'o0002'")
        c.execute("UPDATE orders SET estimated_fen = 7777 WHERE id = 'o0004'")
        c.execute("UPDATE orders SET pickup_date = ? WHERE id = 'o0005'", (NEXT,))
        c.execute("UPDATE orders SET site_id = ? WHERE id = 'o0007'", (sites[0],))
        c.execute("DELETE FROM orders WHERE household_id = 'h2'")
        c.execute("DELETE FROM households WHERE id = 'h2'")
        household(tx, "h9", sites[1], "钱秀英", 109)
        order(tx, "o0099", sites[1], "h9", DAY, "placed", 500)

    hub.write_sync(change)
    check(hub)
    # every order of a centre gone: its totals row stays out of the page
    hub.write_sync(lambda tx: tx.conn.execute("DELETE FROM orders WHERE site_id = ?", (sites[2],)))
    check(hub)
