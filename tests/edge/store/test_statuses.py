"""Statuses as enums: the stored text stays what it was, the schema allows exactly the enum,
and the ranks sync merges by agree with the moves the centre allows. The same for an
activity sign-up's status, and the hub's complaint status (no CHECK in the hub's schema:
held to the column's default and to the desk's labels)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from edge.domain import orders
from edge.domain.care import bookings
from edge.domain.centre import init_centre
from edge.store import open_store
from edge.store.statuses import (
    BOOKING_RANK,
    ORDER_HANDED_OVER,
    ORDER_OPEN,
    ORDER_RANK,
    ORDER_TERMINAL,
    SIGNUP_HOLDING,
    BookingStatus,
    OrderStatus,
    SeriesStatus,
    SignupStatus,
    sql_in,
)
from hub.hotline import COMPLAINT_LABELS, SERIES_LABELS
from hub.statuses import COMPLAINT_NOT_CLOSED, COMPLAINTS, ComplaintStatus
from sync import merge
from sync import schema as sync_schema


def test_members_are_the_stored_text() -> None:
    assert [s.value for s in OrderStatus] == [
        "placed",
        "packed",
        "picked_up",
        "delivered",
        "cancelled",
        "no_show",
    ]
    assert OrderStatus.NO_SHOW == "no_show"
    assert f"{OrderStatus.PICKED_UP}" == "picked_up"
    assert json.dumps({"status": BookingStatus.NOT_AT_HOME}) == '{"status": "not_at_home"}'
    assert sorted(ORDER_OPEN) == ["packed", "placed"]
    assert sorted(ORDER_HANDED_OVER) == ["delivered", "picked_up"]
    assert sorted(ORDER_TERMINAL) == ["cancelled", "delivered", "no_show", "picked_up"]


def test_a_status_written_as_a_member_reads_back_as_its_text(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        init_centre(store, "测试")
        got = store.read_sync(
            lambda c: c.execute(
                "SELECT ?, typeof(?)", (OrderStatus.PACKED, OrderStatus.PACKED)
            ).fetchone()
        )
        assert tuple(got) == ("packed", "text")


def _checked_statuses(tmp_path: Path, table: str) -> set[str]:
    """The texts the CHECK on `table.status` allows, in a centre's fresh schema."""
    with open_store(tmp_path / "s.db") as store:
        init_centre(store, "测试")
        sql = store.read_sync(
            lambda c: c.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
            ).fetchone()[0]
        )
    listed = re.search(r"status IN \(([^)]*)\)", sql)
    assert listed is not None
    return set(re.findall(r"'(\w+)'", listed.group(1)))


def test_the_booking_schema_allows_exactly_the_enum(tmp_path: Path) -> None:
    assert _checked_statuses(tmp_path, "care_bookings") == set(BookingStatus)


def test_the_series_schema_allows_exactly_the_enum_and_the_desk_labels_each(
    tmp_path: Path,
) -> None:
    assert [s.value for s in SeriesStatus] == ["active", "paused", "ended"]
    assert _checked_statuses(tmp_path, "care_series") == set(SeriesStatus)
    assert set(SERIES_LABELS) == set(SeriesStatus)


def test_the_signup_schema_allows_exactly_the_enum(tmp_path: Path) -> None:
    assert [s.value for s in SignupStatus] == ["booked", "waiting", "cancelled"]
    assert _checked_statuses(tmp_path, "care_signups") == set(SignupStatus)
    assert sql_in(SIGNUP_HOLDING) == "('booked', 'waiting')"


def test_the_complaint_status_is_the_hub_column_text_and_every_state_has_a_label(
    tmp_path: Path,
) -> None:
    """care_return_visits.complaint_status (m115) has no CHECK: its default is the enum's
    NONE, and the desk has a label for every state a complaint can be in."""
    assert [s.value for s in ComplaintStatus] == ["", "open", "followed_up", "closed"]
    path = tmp_path / "hub.db"
    sync_schema.ensure(path)
    conn = sqlite3.connect(path)
    try:
        columns = {r[1]: r for r in conn.execute("PRAGMA table_info(care_return_visits)")}
    finally:
        conn.close()
    assert columns["complaint_status"][4] == "''" and ComplaintStatus.NONE == ""
    assert set(COMPLAINTS) == set(ComplaintStatus) - {ComplaintStatus.NONE}
    assert set(COMPLAINT_NOT_CLOSED) == set(COMPLAINTS) - {ComplaintStatus.CLOSED}
    assert set(COMPLAINT_LABELS) == set(COMPLAINTS)


def test_every_allowed_move_goes_up_in_rank_and_merge_uses_the_same_ranks() -> None:
    for current, nexts in orders.NEXT.items():
        for new in nexts:
            assert ORDER_RANK[new] > ORDER_RANK[current], (current, new)
    for current, nexts in bookings.FORWARD.items():
        for new in nexts:
            # assigned → assigned is a re-assignment: the one move that keeps its rank
            assert BOOKING_RANK[new] >= BOOKING_RANK[current], (current, new)
            assert BOOKING_RANK[new] > BOOKING_RANK[current] or new == current
    assert merge.STATUS_RANKS == {"orders": ORDER_RANK, "care_bookings": BOOKING_RANK}
    assert {ORDER_RANK[s] for s in ORDER_TERMINAL} == {2}


def test_sql_in_lists_members_sorted_and_refuses_anything_else() -> None:
    assert sql_in(ORDER_OPEN) == "('packed', 'placed')"
    assert sql_in((BookingStatus.DONE,)) == "('done')"
    with pytest.raises(ValueError):
        sql_in(())
