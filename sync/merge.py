"""Merge rules: how a change from one site lands in another site's copy.

Rules (DESIGN invariants 3-6); every one is enforced here, in one place:

1. **One writer per row.** Every shared row has an owner, its `site_id`. Only
   the owner's change log may insert, update or delete it. The hub refuses a
   whole batch that touches a row of another site (`ForeignRow`, 403), and a
   centre ignores a pulled row that the hub does not own. A row never changes
   owner.
2. **Hub-owned shared rows** (the district catalog and prices, operator
   commands, later supplier notes) carry the hub's site id; the hub writes
   them, every centre pulls them and stores them without logging them again.
   A centre's own products and calendar stay the centre's.
3. **Operators act on a centre's rows through commands.** A command is a hub
   row of `sync_commands` addressed to one site (`target_site`, `name`,
   `args`). The owner pulls it and applies it through a handler registered
   for its name, in its own write transaction; the handler's writes go into
   the owner's change log like any local edit and flow back up, together with
   a `sync_command_results` row (id = the command's id) saying "applied" or
   "refused" and why. A command is applied at most once. A centre answers
   only the commands addressed to it: the hub refuses a whole batch holding
   a result whose command it does not have, or has for another site (else
   one centre could answer, and so block, another's command).
4. **Order status only moves forward** (a care booking's too: `CARE_STATUS_RANK`):
   rank placed (0) < packed (1) <
   terminal (picked_up, delivered, cancelled, no_show: 2). A change that
   would lower the rank, or swap one terminal status for another, keeps the
   status already held (and applies its other fields). So a cancel that
   reaches the centre after the pickup is refused there ("already
   picked_up"), and even a replayed stale change cannot move a copy back.
5. **Last writer wins per row by hybrid logical clock** for every other
   field. Within one owner the change log is causal (seq order) and its HLC
   only grows, so in practice the owner's later change wins; a change whose
   HLC is older than one already applied to the row is skipped. Wall time
   is never used to order anything.
6. **Order of delivery.** The hub applies each site's log densely in seq
   order (a gap is refused, a resent seq is skipped once its content is
   checked), so any interleaving, duplication or reordering of batches
   between sites ends in the same state.
7. **A centre's rows refer only to its own rows** (or to the hub's district
   catalog). Every reference column a centre writes (`REFERENCES`: an order's
   household, an order line's order, a payment's sale, ...) must name a row
   the centre owns, so the whole chain from a line up to its household is
   one centre's. A batch that points one of its rows at another centre's row
   (an order line under another centre's order, an order for another
   centre's household) is refused whole (`ForeignRow`, 403), naming the
   column and the row it named. A reference to a row the hub does not hold
   is left to the database (a declared foreign key refuses it).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.store.changelog import Change
from edge.store.dialect import table_columns, table_names
from edge.store.statuses import (
    BOOKING_RANK,
    ORDER_HANDED_OVER,
    ORDER_RANK,
    OrderStatus,
)
from sync.errors import BadBatch, ForeignRow, SyncError
from sync.protocol import LOCAL_FIELDS

if TYPE_CHECKING:
    from sync.ingest import NewRows

log = logging.getLogger("linli.sync")

# The same ranks the centre moves statuses by (edge.store.statuses): placed < packed < the
# ends; a care booking's requested < confirmed < assigned < started < the ends.
STATUS_RANK = ORDER_RANK
CARE_STATUS_RANK = BOOKING_RANK
STATUS_RANKS = {"orders": STATUS_RANK, "care_bookings": CARE_STATUS_RANK}
# Shared by shape (id + site_id) but never written by a centre's push.
# Rows the co-op sends through the hub, addressed to one centre by `centre_id`.
SUPPLIER_TABLES = frozenset(
    {
        "supply_dispatch_notes",
        "supply_dispatch_lines",
        "supply_price_lists",
        "supply_prices",
        "supply_return_confirmations",
    }
)
HUB_ONLY_TABLES = frozenset({"sync_commands"}) | SUPPLIER_TABLES
NEVER_SHARED = frozenset(
    {
        "meta",
        "sessions",
        "changes",
        "sync_log",
        "sync_state",
        "sync_centres",
        "sync_operators",
        "sync_operator_sessions",
    }
)
COMMANDS_TABLE = "sync_commands"
RESULTS_TABLE = "sync_command_results"
# Rule 7: per centre-written table, each column that names another row, and the
# table of that row. Every `*_id` column of a centre's shared tables is here
# (tests/sync/test_sync_scoping.py checks it against the schema).
REFERENCES: dict[str, dict[str, str]] = {
    "orders": {"household_id": "households", "staff_id": "staff"},
    "order_items": {"order_id": "orders", "product_id": "products"},
    "payments": {"order_id": "orders", "sale_id": "walkin_sales", "staff_id": "staff"},
    "walkin_sales": {"staff_id": "staff"},
    "walkin_items": {"sale_id": "walkin_sales", "product_id": "products"},
    "wechat_turns": {"order_id": "orders"},
    "calendar_exceptions": {"calendar_id": "calendars"},
    "supply_buffers": {"product_id": "products"},
    "supply_consolidated_lines": {
        "consolidated_id": "supply_consolidated",
        "product_id": "products",
    },
    "supply_receipts": {"product_id": "products", "staff_id": "staff"},
    "supply_return_notes": {"staff_id": "staff"},
    "supply_return_lines": {"note_id": "supply_return_notes", "product_id": "products"},
    "money_corrections": {
        "order_id": "orders",
        "sale_id": "walkin_sales",
        "payment_id": "payments",
        "staff_id": "staff",
        "manager_id": "staff",
    },
    "care_recipients": {"household_id": "households"},
    "care_providers": {"organisation_id": "care_providers", "staff_id": "staff"},
    "care_series": {
        "recipient_id": "care_recipients",
        "service_id": "care_services",
        "request_id": "sync_commands",
    },
    "care_bookings": {
        "recipient_id": "care_recipients",
        "service_id": "care_services",
        "series_id": "care_series",
        "provider_id": "care_providers",
        "request_id": "sync_commands",  # the hub's booking command it answers
    },
    "care_booking_steps": {"booking_id": "care_bookings", "staff_id": "staff"},
    "care_checkins": {"recipient_id": "care_recipients", "staff_id": "staff"},
    "care_walkin_lunches": {"staff_id": "staff"},
    "care_signups": {"activity_id": "care_activities", "recipient_id": "care_recipients"},
}
# A handed-over order moves back to this status only when its owner voided the
# hand-over: a `void_handover` row for it (sent before the order's update) says so.
REOPENED_BY_CORRECTION = OrderStatus.PACKED
# Tables whose hub-owned rows (the district catalog) a centre's rows may name.
HUB_REFERABLE = frozenset({"products", "care_services", "sync_commands"})


@dataclass(frozen=True)
class Schema:
    """The shared tables of one database and their columns."""

    columns: dict[str, frozenset[str]]

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Schema:
        cols: dict[str, frozenset[str]] = {}
        for name in table_names(conn):
            if name in NEVER_SHARED:
                continue
            names = frozenset(c for c, _ in table_columns(conn, name))
            if {"id", "site_id"} <= names:
                cols[name] = names
        return cls(cols)

    def check(self, change: Change, *, lenient: bool = False) -> dict[str, Any]:
        """The change's fields restricted to known columns; BadBatch unless lenient."""
        cols = self.columns.get(change.tbl)
        if cols is None:
            raise BadBatch(f"seq {change.seq}: table {change.tbl!r} is not shared")
        if change.fields.keys() <= cols:
            return change.fields
        unknown = [k for k in change.fields if k not in cols]
        if unknown:
            if not lenient:
                raise BadBatch(f"seq {change.seq}: {change.tbl} has no column {unknown[0]!r}")
            return {k: v for k, v in change.fields.items() if k in cols}
        return change.fields


class _Sql:
    """Statement text cached per table and column set (the hot path of ingest)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, tuple[str, ...]], str] = {}

    def upsert(self, tbl: str, cols: tuple[str, ...]) -> str:
        key = ("upsert", tbl, cols)
        sql = self._cache.get(key)
        if sql is None:
            sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
            sql = (
                f"INSERT INTO {tbl} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                f" ON CONFLICT(id) DO UPDATE SET {sets} WHERE {tbl}.site_id = excluded.site_id"
            )
            self._cache[key] = sql
        return sql

    def update(self, tbl: str, cols: tuple[str, ...]) -> str:
        key = ("update", tbl, cols)
        sql = self._cache.get(key)
        if sql is None:
            sets = ", ".join(f"{c} = ?" for c in cols)
            sql = f"UPDATE {tbl} SET {sets} WHERE id = ? AND site_id = ?"
            self._cache[key] = sql
        return sql


_SQL = _Sql()


def _owner(conn: sqlite3.Connection, tbl: str, row_id: str) -> str | None:
    row = conn.execute(f"SELECT site_id FROM {tbl} WHERE id = ?", (row_id,)).fetchone()
    return None if row is None else str(row[0])


def _status_guard(
    conn: sqlite3.Connection, change: Change, fields: dict[str, Any]
) -> dict[str, Any]:
    new = fields.get("status")
    rank = STATUS_RANKS.get(change.tbl)
    if rank is None or new is None:
        return fields
    row = conn.execute(f"SELECT status FROM {change.tbl} WHERE id = ?", (change.row_id,)).fetchone()
    if row is None:
        return fields
    current = row[0]
    if new == current:
        return fields
    if rank.get(new, -1) > rank.get(current, -1):
        return fields
    if _voided_handover(conn, change.row_id, current, new):
        return fields
    log.info(
        "%s %s stays %s (a change to %s would move it back)",
        change.tbl,
        change.row_id,
        current,
        new,
    )
    return {k: v for k, v in fields.items() if k != "status"}


def _voided_handover(conn: sqlite3.Connection, order_id: str, current: str, new: str) -> bool:
    """The one backward move: a hand-over its owner undid (edge/domain/corrections.py)."""
    if current not in ORDER_HANDED_OVER or new != REOPENED_BY_CORRECTION:
        return False
    row = conn.execute(
        "SELECT 1 FROM money_corrections WHERE order_id = ? AND kind = 'void_handover' LIMIT 1",
        (order_id,),
    ).fetchone()
    return row is not None


def apply_owner_changes(
    conn: sqlite3.Connection,
    schema: Schema,
    site_id: str,
    changes: Iterable[Change],
    *,
    hub_site: str | None = None,
    ready: NewRows | None = None,
) -> int:
    """Hub side: apply one site's changes (already checked dense and new) and log them.

    Runs inside the caller's transaction; raises before returning if any
    change breaks a rule, so the caller's rollback leaves nothing applied.
    Returns how many changes were applied (stale ones are logged, not applied).
    `hub_site`: the hub's site id, whose catalog rows a centre's rows may name
    (rule 7); without it a centre's rows may name only its own.

    The batch goes through `sync.ingest` (checked against rows fetched once,
    written a statement per table); any refusal there rolls back to a savepoint
    and the batch is applied again change by change (`apply_one_by_one`), the
    reference, which names the change at fault. `ready`: these very changes as
    `ingest.new_rows` made them ready (all new rows), written as they are.
    """
    from sync import ingest  # builds on this module's rules

    # A sequence stays as it is: a push a decode process made ready is decoded
    # again only if it goes change by change (`hub.decoding.DeferredChanges`).
    changes = changes if isinstance(changes, Sequence) else list(changes)
    conn.execute("SAVEPOINT grouped_apply")
    try:
        if ready is not None:
            applied = ingest.apply_new_rows(conn, site_id, ready, hub_site)
        else:
            applied = ingest.apply_grouped(conn, schema, site_id, changes, hub_site)
    except (SyncError, sqlite3.IntegrityError, ingest.OneByOne):
        conn.execute("ROLLBACK TO grouped_apply")
        conn.execute("RELEASE grouped_apply")
        applied = apply_one_by_one(conn, schema, site_id, changes, hub_site)
    else:
        conn.execute("RELEASE grouped_apply")
    ingest.write_log(conn, site_id, changes, ready)
    return applied


def apply_one_by_one(
    conn: sqlite3.Connection,
    schema: Schema,
    site_id: str,
    changes: Sequence[Change],
    hub_site: str | None = None,
) -> int:
    """`apply_owner_changes` one change and one statement at a time (the log aside)."""
    latest: dict[tuple[str, str], int] = {}
    applied = 0
    for change in changes:
        try:
            applied += _apply_owner_change(conn, schema, site_id, change, latest, hub_site)
        except sqlite3.IntegrityError as exc:
            # A missing NOT NULL column, a reference to a row the hub lacks, a CHECK:
            # the client's fault, and the caller's rollback undoes the whole batch.
            raise BadBatch(
                f"seq {change.seq}: {change.op} of {change.tbl} {change.row_id} breaks "
                f"a constraint of the hub's copy ({exc})",
                field="changes",
                seq=change.seq,
            ) from exc
        key = (change.tbl, change.row_id)
        latest[key] = max(change.hlc, latest.get(key, -1))
    return applied


def _apply_owner_change(
    conn: sqlite3.Connection,
    schema: Schema,
    site_id: str,
    change: Change,
    latest: dict[tuple[str, str], int],
    hub_site: str | None = None,
) -> int:
    """One change of `apply_owner_changes`: 1 if applied, 0 if stale (logged only)."""
    if change.tbl in HUB_ONLY_TABLES:
        raise ForeignRow(f"seq {change.seq}: {change.tbl} rows are written by the hub only")
    fields = schema.check(change)
    if change.op != "delete":
        _refuse_foreign_references(conn, change, fields, site_id, hub_site)
    if change.op == "insert":
        if fields.get("id") != change.row_id or fields.get("site_id") != site_id:
            raise ForeignRow(
                f"seq {change.seq}: inserts {change.tbl} {change.row_id} for site "
                f"{fields.get('site_id')!r}; a centre writes only its own rows"
            )
        if change.tbl == RESULTS_TABLE:
            _refuse_unless_addressed(conn, change, site_id)
        defaults = LOCAL_FIELDS.get(change.tbl)
        if defaults:
            fields = {**defaults, **fields}
        cols = tuple(fields)
        cur = conn.execute(_SQL.upsert(change.tbl, cols), tuple(fields.values()))
        if cur.rowcount == 0:
            raise ForeignRow(
                f"seq {change.seq}: {change.tbl} {change.row_id} belongs to another site"
            )
        return 1
    if "site_id" in fields and fields["site_id"] != site_id:
        raise ForeignRow(f"seq {change.seq}: a row never changes owner")
    # A new id would be a new row that skipped the insert checks above
    # (a command result renamed to another site's command, say).
    if fields.get("id", change.row_id) != change.row_id:
        raise ForeignRow(f"seq {change.seq}: a row never changes id")
    key = (change.tbl, change.row_id)
    seen = latest.get(key)
    if seen is None:
        # The site's own log: a row changes only at its owner, so the latest stamp
        # of a row is in its owner's log, and another site's change is refused below.
        row = conn.execute(
            "SELECT MAX(hlc) FROM sync_log WHERE site_id = ? AND tbl = ? AND row_id = ?",
            (site_id, *key),
        ).fetchone()
        seen = row[0] if row and row[0] is not None else -1
    if change.hlc < seen:
        log.warning(
            "skipping stale change %s/%s to %s %s", site_id, change.seq, change.tbl, change.row_id
        )
        return 0
    if change.op == "update":
        fields = _status_guard(conn, change, fields)
        if fields:
            cols = tuple(fields)
            cur = conn.execute(
                _SQL.update(change.tbl, cols), (*fields.values(), change.row_id, site_id)
            )
            if cur.rowcount == 0:
                _refuse_if_foreign(conn, change, site_id)
        return 1
    cur = conn.execute(
        f"DELETE FROM {change.tbl} WHERE id = ? AND site_id = ?", (change.row_id, site_id)
    )
    if cur.rowcount == 0:
        _refuse_if_foreign(conn, change, site_id)
    return 1


def _refuse_foreign_references(
    conn: sqlite3.Connection,
    change: Change,
    fields: dict[str, Any],
    site_id: str,
    hub_site: str | None,
) -> None:
    """Rule 7: every row this change names belongs to the pushing site (or is the
    hub's catalog). A name the hub does not hold is not checked here."""
    for column, target in REFERENCES.get(change.tbl, {}).items():
        value = fields.get(column)
        if value is None:
            continue
        owner = _owner(conn, target, value)
        if owner is None or owner == site_id:
            continue
        if hub_site is not None and owner == hub_site and target in HUB_REFERABLE:
            continue
        raise ForeignRow(
            f"seq {change.seq}: {change.tbl} {change.row_id} names {target} {value} "
            f"in {column}, a row of site {owner}; a centre's rows refer only to its own "
            "rows. Nothing of this batch was applied",
            field=f"{change.tbl}.{column}",
            seq=change.seq,
        )


def _refuse_if_foreign(conn: sqlite3.Connection, change: Change, site_id: str) -> None:
    owner = _owner(conn, change.tbl, change.row_id)
    if owner is not None and owner != site_id:
        raise ForeignRow(
            f"seq {change.seq}: {change.op}s {change.tbl} {change.row_id} of "
            f"site {owner}; a centre writes only its own rows"
        )
    # The row is gone (or was never shared): the change has nothing left to do.


def _refuse_unless_addressed(conn: sqlite3.Connection, change: Change, site_id: str) -> None:
    """A command result is inserted only by the centre the command is addressed to.

    Commands are written on the hub alone (`HUB_ONLY_TABLES`) and a centre runs
    only the ones it pulled, so the command row is always on the hub before an
    honest result for it can arrive.
    """
    row = conn.execute(
        f"SELECT target_site FROM {COMMANDS_TABLE} WHERE id = ?", (change.row_id,)
    ).fetchone()
    if row is None:
        # `missing_command`: a box whose hub was restored from a backup hands the
        # command back (`hub.restore`) and pushes again.
        raise ForeignRow(
            f"seq {change.seq}: answers command {change.row_id}, which the hub never sent",
            field=f"{RESULTS_TABLE}.id",
            seq=change.seq,
            missing_command=change.row_id,
        )
    if row[0] != site_id:
        raise ForeignRow(
            f"seq {change.seq}: answers command {change.row_id} addressed to site {row[0]}; "
            "a centre answers only its own commands"
        )


def apply_hub_changes(
    conn: sqlite3.Connection, schema: Schema, hub_site: str, changes: Iterable[Change]
) -> list[Change]:
    """Centre side: store pulled hub rows without logging them; return commands to run.

    Lenient where the hub is newer than the box (unknown columns are dropped,
    unknown tables skipped); strict on ownership: a pulled row that the hub
    does not own is ignored, so the hub can never overwrite a centre's row.
    """
    commands = []
    for change in changes:
        if change.tbl not in schema.columns:
            log.warning("pulled change to unknown table %s skipped", change.tbl)
            continue
        fields = schema.check(change, lenient=True)
        if change.op == "insert":
            if fields.get("site_id") != hub_site or fields.get("id") != change.row_id:
                log.warning("pulled %s %s is not the hub's; ignored", change.tbl, change.row_id)
                continue
            cols = tuple(fields)
            cur = conn.execute(_SQL.upsert(change.tbl, cols), tuple(fields.values()))
            if cur.rowcount == 0:
                log.warning(
                    "pulled %s %s would overwrite a local row; ignored", change.tbl, change.row_id
                )
                continue
            if change.tbl == COMMANDS_TABLE:
                commands.append(
                    Change(
                        change.site_id,
                        change.seq,
                        change.hlc,
                        change.tbl,
                        change.row_id,
                        change.op,
                        fields,
                    )
                )
        elif change.op == "update":
            fields = {k: v for k, v in fields.items() if k != "site_id"}
            if fields:
                cols = tuple(fields)
                conn.execute(
                    _SQL.update(change.tbl, cols), (*fields.values(), change.row_id, hub_site)
                )
        else:
            conn.execute(
                f"DELETE FROM {change.tbl} WHERE id = ? AND site_id = ?", (change.row_id, hub_site)
            )
    return commands
