"""The hub's grouped apply of one site's batch: the rules of `sync.merge`, a batch at a time.

Applying change by change cost the hub a lookup or two and a statement per
change (the owner of every row named, the latest stamp of every row updated,
the upsert itself), and that was most of its ingest time (`bench/sync_offline.py`).
Here the owners of the rows a batch touches or names are fetched in one query
(and the latest stamps and order statuses in one more each, when it has
updates), every rule is checked against them in seq order (they are updated as
the batch goes: a row inserted earlier is the site's, a row deleted earlier is
gone). A row the batch first inserts is not looked up at all: ids are unique, so
one the hub already holds fails its INSERT, and the reference path decides. The
writes go out as a few statements per table and run of changes (`statement_sizes`;
new rows and the log copy as one COPY on PostgreSQL, `insert_rows`):

- a run of inserts (no row twice) is written table by table, the tables a
  row names before the tables naming them (`REFERENCES`), so every declared
  foreign key still finds its row;
- updates and deletes keep their order; consecutive ones of one table and
  the same columns share a statement (updates on SQLite: `update_rows`).

A push of new rows only is made ready before the writer takes it (`new_rows`, in the
thread that decodes it): grouped per table, the log copy encoded; the writer then looks
up only the owners of the rows they name and runs the statements (`apply_new_rows`).

Nothing here decides anything `sync.merge` does not: any refusal, any
constraint the database raises, anything unusual (`OneByOne`) rolls back to
the caller's savepoint and the batch is applied again change by change
(`merge.apply_one_by_one`), which is the reference and names the change at fault.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import chain
from typing import Any

import msgspec

from edge.store.changelog import Change
from sync.errors import ForeignRow
from sync.merge import (
    _SQL,
    HUB_ONLY_TABLES,
    HUB_REFERABLE,
    REFERENCES,
    REOPENED_BY_CORRECTION,
    RESULTS_TABLE,
    STATUS_RANK,
    STATUS_RANKS,
    Schema,
)
from sync.protocol import LOCAL_FIELDS

log = logging.getLogger("linli.sync")

# A change's fields as `sync_log` keeps them: compact JSON, text as UTF-8 (what
# `json.dumps(ensure_ascii=False, separators=(",", ":"))` gives), several times faster.
_ENCODE = msgspec.json.Encoder().encode
_ABSENT = object()
_INSERTS = frozenset({"insert", "upsert"})


class OneByOne(Exception):
    """Something the grouped path leaves to the change-by-change one."""


def _depth(tbl: str) -> int:
    """How many tables deep `tbl`'s references go (0: it names no other table)."""
    return _depth_from(tbl, frozenset())


@cache
def _depth_from(tbl: str, path: frozenset[str]) -> int:
    named = [t for t in REFERENCES.get(tbl, {}).values() if t != tbl and t not in path]
    return 1 + max(_depth_from(t, path | {tbl}) for t in named) if named else 0


_RANK = {tbl: _depth(tbl) for tbl in REFERENCES}
_depth_from.cache_clear()
# Each table's references as (column, table) pairs, looked up once per change.
_REFS: dict[str, tuple[tuple[str, str], ...]] = {t: tuple(r.items()) for t, r in REFERENCES.items()}
_LOG_COLUMNS = ("site_id", "seq", "hlc", "tbl", "row_id", "op", "fields")


def write_log(
    conn: sqlite3.Connection, site_id: str, changes: Sequence[Change], ready: NewRows | None = None
) -> None:
    """The hub's copy of the site's log (`sync_log`): history, seam checks, recovery.
    `ready`: the same changes made ready, their log rows encoded already."""
    if ready is not None:
        insert_rows(conn, "sync_log", _LOG_COLUMNS, ready.log_rows, ready.log_chunks)
        return
    encode = _ENCODE
    rows = [
        (site_id, c.seq, c.hlc, c.tbl, c.row_id, c.op, encode(c.fields).decode()) for c in changes
    ]
    insert_rows(conn, "sync_log", _LOG_COLUMNS, rows)


def insert_rows(
    conn: sqlite3.Connection,
    tbl: str,
    cols: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    chunks: list[list[Any]] | None = None,
) -> int:
    """Plain INSERTs of new rows: on SQLite up to `_ROWS_PER_INSERT` rows per statement,
    in the lengths `statement_sizes` gives; where the connection has it
    (`edge.store.pg.PgConn.copy_rows`) PostgreSQL's COPY. Returns how many rows went
    in; a constraint raises `sqlite3.IntegrityError` and the failing statement writes
    nothing.

    Not `executemany`, one statement run per row: a table with triggers (the hub's
    search and day totals, m404) opens and closes a statement journal every run,
    and binding row by row costs as much again. Measured on a push of 10,000 orders
    (`bench/sync_offline.py`), the rows went in in under half the time.
    `chunks`: the rows' values already laid out a statement at a time (`flat_chunks`,
    beside the writer), used where the connection takes `_ROWS_PER_INSERT` rows."""
    copy = getattr(conn, "copy_rows", None)
    if copy is not None:
        return int(copy(tbl, cols, rows))
    width = len(cols)
    per = max(1, min(_ROWS_PER_INSERT, _max_variables(conn) // width))
    if chunks is None or per != _ROWS_PER_INSERT:
        chunks = flat_chunks(rows, per)
    written = 0
    for values in chunks:
        written += conn.execute(_insert_sql(tbl, cols, len(values) // width), values).rowcount
    return written


def flat_chunks(rows: Sequence[tuple[Any, ...]], per: int = 0) -> list[list[Any]]:
    """The rows' values in one list per statement (`statement_sizes`, at most `per` rows,
    `_ROWS_PER_INSERT` by default): the parameters of `insert_rows`' statements on SQLite."""
    out, start = [], 0
    for size in statement_sizes(len(rows), per or _ROWS_PER_INSERT):
        out.append(list(chain.from_iterable(rows[start : start + size])))
        start += size
    return out


def statement_sizes(count: int, per: int) -> list[int]:
    """How many rows each statement takes of `count` rows, at most `per`: full statements,
    then the rest in powers of two down to `_FEWEST_ROWS`, and what is left of it in
    one last statement (300 rows: 256, 32, 8 and 4).

    A statement of many rows takes milliseconds to compile (a 500-row INSERT of 20
    columns: 5.6 ms, ten times its run), and the connection keeps it compiled by its
    text. With the rest in one statement of its own length, nearly every push compiled
    its last statement of each table anew: pushes that differ in length (as real ones
    do) cost the hub 18,000 instructions a change more in compiling than pushes of one
    length, a fifth of the apply (callgrind, 20 pushes of 1,280 changes less 7 per
    centre). With these lengths each table's statements are compiled once, and a few
    rows cost little to compile."""
    sizes = [per] * (count // per)
    rest = count % per
    while rest >= _FEWEST_ROWS:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    if rest:
        sizes.append(rest)
    return sizes


_FEWEST_ROWS = 8  # a statement of fewer rows compiles in under 0.1 ms (11 us a row)


@lru_cache(maxsize=256)
def _insert_sql(tbl: str, cols: tuple[str, ...], count: int) -> str:
    """`INSERT INTO tbl (cols) VALUES` with `count` rows of parameters: the same text
    object each time, so the statement cache finds it without hashing it again."""
    one = f"({', '.join('?' * len(cols))})"
    return f"INSERT INTO {tbl} ({', '.join(cols)}) VALUES " + ", ".join([one] * count)


# Rows per multi-row INSERT: past a few hundred the statement's compile and its
# parameter list cost more than the runs they save.
_ROWS_PER_INSERT = 500


def _max_variables(conn: sqlite3.Connection) -> int:
    """How many `?` one statement may hold (32,766 by SQLite's default build)."""
    try:
        return int(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):  # not a plain sqlite3 connection
        return 999  # the oldest SQLite's limit


@dataclass(frozen=True, slots=True)
class NewRows:
    """A batch of new rows made ready before the writer takes it (`new_rows`).

    Most of a push is new rows (an evening's orders, their lines, new households),
    and everything about them but the owners of the rows they name can be decided
    from the batch alone: the columns, the ids, the rows grouped per table in the
    order their references need, the log copy encoded. The hub does that in the
    thread that decodes the push, beside the writer, so that the writer only looks
    up those owners and runs the statements (`apply_new_rows`); on SQLite it is
    the one writer, and its time per change is the hub's ingest rate."""

    first_seq: int  # the first change these are: the batch's seqs from here to its end
    count: int
    # (table, columns, rows, their values laid out for SQLite's statements or None)
    groups: tuple[
        tuple[str, tuple[str, ...], Sequence[tuple[Any, ...]], list[list[Any]] | None], ...
    ]
    named: dict[str, set[str]]  # rows the new rows name that the batch does not insert
    log_rows: Sequence[tuple[Any, ...]]
    log_chunks: list[list[Any]] | None


def new_rows(
    schema: Schema, site_id: str, changes: Sequence[Change], *, lay_out: bool = True
) -> NewRows | None:
    """`changes` made ready as `NewRows` when every one inserts a row of a shared table
    once, as the site's and under its own id; None for anything else (an update, a
    delete, an answered command, a row inserted twice, a column the hub lacks), which
    `apply_grouped` then decides in the writer, as it decides a batch whose new rows
    turn out to be held already (their INSERT fails) or to name another site's.
    `lay_out`: lay the values out for SQLite's statements too (`flat_chunks`); a
    PostgreSQL hub copies the rows as they are."""
    if not changes:
        return None
    columns = schema.columns
    refs_of, encode = _REFS, _ENCODE
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    inserted: dict[str, set[str]] = defaultdict(set)
    named: dict[str, set[str]] = defaultdict(set)
    log_rows = []
    for c in changes:
        tbl, row_id, fields = c.tbl, c.row_id, c.fields
        cols = columns.get(tbl)
        if (
            c.op != "insert"
            or cols is None
            or tbl in HUB_ONLY_TABLES
            or tbl == RESULTS_TABLE
            or not fields.keys() <= cols
            or fields.get("id") != row_id
            or fields.get("site_id") != site_id
            or row_id in inserted[tbl]
        ):
            return None
        inserted[tbl].add(row_id)
        refs = refs_of.get(tbl)
        if refs:
            for column, target in refs:
                value = fields.get(column)
                if value is None:
                    continue
                if type(value) is not str:
                    return None  # compared as SQLite does: the writer's path decides
                named[target].add(value)
        defaults = LOCAL_FIELDS.get(tbl)
        row = {**defaults, **fields} if defaults else fields
        key = (tbl, tuple(row))
        group = groups.get(key)
        if group is None:
            group = groups[key] = []
        group.append(tuple(row.values()))
        log_rows.append((site_id, c.seq, c.hlc, tbl, row_id, "insert", encode(fields).decode()))
    for tbl, wanted in named.items():
        wanted -= inserted.get(tbl, set())
    ordered = sorted(groups, key=lambda g: _RANK.get(g[0], 0))
    return NewRows(
        changes[0].seq,
        len(changes),
        tuple(
            (tbl, cols, groups[(tbl, cols)], flat_chunks(groups[(tbl, cols)]) if lay_out else None)
            for tbl, cols in ordered
        ),
        {tbl: wanted for tbl, wanted in named.items() if wanted},
        log_rows,
        flat_chunks(log_rows) if lay_out else None,
    )


def apply_new_rows(
    conn: sqlite3.Connection, site_id: str, ready: NewRows, hub_site: str | None
) -> int:
    """Write rows `new_rows` made ready, as `apply_grouped` would write them: the rows
    they name must be the site's, the hub's shared ones (`HUB_REFERABLE`) or not on
    the hub (a foreign key then decides); anything else raises `OneByOne`, and so does
    an INSERT the database refuses, for the reference path to name. Returns how many."""
    for (tbl, _row_id), owner in _owners(conn, ready.named).items():
        if owner is None or owner == site_id:
            continue
        if hub_site is not None and owner == hub_site and tbl in HUB_REFERABLE:
            continue
        raise OneByOne  # names another site's row: the reference says which
    for tbl, cols, rows, chunks in ready.groups:
        if insert_rows(conn, tbl, cols, rows, chunks) != len(rows):
            raise OneByOne
    return ready.count


class _Rows:
    """What the database holds of the rows a batch touches or names, as of now,
    kept up to date as the batch's changes are checked."""

    def __init__(
        self, conn: sqlite3.Connection, schema: Schema, site_id: str, changes: Sequence[Change]
    ) -> None:
        ids: dict[str, set[str]] = defaultdict(set)
        # Rows the batch first inserts: not looked up (see below).
        fresh: dict[str, set[str]] = defaultdict(set)
        touched: set[tuple[str, str]] = set()
        stamped: dict[str, set[str]] = defaultdict(set)
        statuses: set[str] = set()
        columns = schema.columns
        refs_of = _REFS
        for c in changes:
            tbl, op = c.tbl, c.op
            if tbl not in columns or tbl in HUB_ONLY_TABLES:
                raise OneByOne  # refused below, with the reason
            key = (tbl, c.row_id)
            if key not in touched:
                touched.add(key)
                if op == "insert":
                    fresh[tbl].add(c.row_id)
            if op != "insert":
                ids[tbl].add(c.row_id)
                stamped[tbl].add(c.row_id)
                if op == "update" and "status" in c.fields:
                    if tbl != "orders" and tbl in STATUS_RANKS:
                        raise OneByOne  # care bookings' statuses: the reference path rules
                    if tbl == "orders":
                        statuses.add(c.row_id)
            if op != "delete":
                refs = refs_of.get(tbl)
                if refs:
                    fields = c.fields
                    for column, target in refs:
                        value = fields.get(column)
                        if value is None:
                            continue
                        if isinstance(value, str):
                            ids[target].add(value)
                        else:
                            raise OneByOne  # not text: compared as SQLite does
        # A row the batch first inserts is not looked up (its owner, its latest stamp,
        # an order's status), wherever the batch names or changes it: every shared
        # table's id is unique, so if the row is on the hub already (the site's, sent
        # again, or another site's) its plain INSERT is refused and the batch goes one
        # by one (`merge.apply_one_by_one`), which decides; else the row is new, and
        # no lookup could have found anything. What the batch does to it after the
        # insert is tracked as the batch goes.
        for tbl, new in fresh.items():
            for wanted in (ids.get(tbl), stamped.get(tbl)):
                if wanted:
                    wanted -= new
        if "orders" in fresh:
            statuses -= fresh["orders"]
        # (table, id) -> owner site, for rows that exist: one query for every table
        self.owner: dict[tuple[str, str], str | None] = _owners(conn, ids)
        # (table, id) -> the latest stamp the site's log holds for the row (a row
        # changes only at its owner: another site's change to it is refused below)
        self.stamp: dict[tuple[str, str], int] = {}
        for tbl, wanted in stamped.items():
            if not wanted:
                continue
            for row_id, hlc in _where_in(
                conn,
                "SELECT row_id, MAX(hlc) FROM sync_log WHERE site_id = ? AND tbl = ? AND",
                "row_id",
                wanted,
                (site_id, tbl),
                " GROUP BY row_id",
            ):
                self.stamp[(tbl, row_id)] = hlc
        # order id -> its status, for orders that exist
        self.status: dict[str, Any] = dict(
            _where_in(conn, "SELECT id, status FROM orders", "id", statuses) if statuses else ()
        )


def _owners(conn: sqlite3.Connection, ids: dict[str, set[str]]) -> dict[tuple[str, str], Any]:
    """(table, id) -> owner site of the rows `ids` names that exist: one query."""
    tables = sorted(tbl for tbl, wanted in ids.items() if wanted)
    if not tables:
        return {}
    sql = " UNION ALL ".join(
        f"SELECT '{tbl}', id, site_id FROM {tbl} WHERE id IN (SELECT value FROM json_each(?))"
        for tbl in tables
    )
    params = [json.dumps(sorted(ids[tbl])) for tbl in tables]
    return {(tbl, row_id): site for tbl, row_id, site in conn.execute(sql, params).fetchall()}


def _where_in(
    conn: sqlite3.Connection,
    select: str,
    column: str,
    values: set[str],
    params: tuple[Any, ...] = (),
    tail: str = "",
) -> list[Any]:
    """`select` restricted to `column IN values`, the values passed as one JSON array."""
    joiner = " " if select.endswith(" AND") else " WHERE "
    sql = f"{select}{joiner}{column} IN (SELECT value FROM json_each(?)){tail}"
    return conn.execute(sql, (*params, json.dumps(sorted(values)))).fetchall()


def apply_grouped(
    conn: sqlite3.Connection,
    schema: Schema,
    site_id: str,
    changes: Sequence[Change],
    hub_site: str | None,
) -> int:
    """Apply the batch as `merge.apply_one_by_one` would; raise if it would refuse."""
    rows = _Rows(conn, schema, site_id, changes)
    plan: list[tuple[str, str, tuple[str, ...], tuple[Any, ...], str]] = []
    latest: dict[tuple[str, str], int] = {}
    stale: list[Change] = []
    applied = 0
    # The usual change, a new row, checked here with `_plan`'s insert rules (the
    # rest go to `_plan`): the per-change cost of a push is mostly this loop.
    owner, status, check, refs_of, append = (
        rows.owner,
        rows.status,
        schema.check,
        _REFS,
        plan.append,
    )
    for change in changes:
        tbl, row_id, hlc = change.tbl, change.row_id, change.hlc
        key = (tbl, row_id)
        if change.op == "insert" and tbl != RESULTS_TABLE:
            fields = check(change)
            refs = refs_of.get(tbl)
            if refs:
                _check_references(owner, refs, fields, site_id, hub_site)
            if fields.get("id") != row_id or fields.get("site_id") != site_id:
                raise ForeignRow("inserts another site's row")
            held = owner.get(key)
            if held is not None and held != site_id:
                raise ForeignRow("belongs to another site")
            defaults = LOCAL_FIELDS.get(tbl)
            if defaults:
                fields = {**defaults, **fields}
            kind = "insert" if held is None else "upsert"
            append((kind, tbl, tuple(fields), tuple(fields.values()), row_id))
            owner[key] = site_id
            if tbl == "orders":
                if "status" in fields:
                    status[row_id] = fields["status"]
                elif held is None:
                    status[row_id] = _ABSENT
            applied += 1
        else:
            applied += _plan(rows, schema, site_id, hub_site, change, latest, plan, stale)
        seen = latest.get(key)
        if seen is None or hlc > seen:
            latest[key] = hlc
    _execute(conn, plan)
    for c in stale:
        log.warning("skipping stale change %s/%s to %s %s", site_id, c.seq, c.tbl, c.row_id)
    return applied


def _check_references(
    owner: dict[tuple[str, str], str | None],
    refs: Iterable[tuple[str, str]],
    fields: dict[str, Any],
    site_id: str,
    hub_site: str | None,
) -> None:
    """A row may name its own site's rows, rows the hub has not seen, and the hub's
    shared rows (`HUB_REFERABLE`); naming another centre's row refuses the batch."""
    for column, target in refs:
        value = fields.get(column)
        if value is None:
            continue
        named = owner.get((target, value))
        if named is None or named == site_id:
            continue
        if hub_site is not None and named == hub_site and target in HUB_REFERABLE:
            continue
        raise ForeignRow("names another site's row")


def _plan(
    rows: _Rows,
    schema: Schema,
    site_id: str,
    hub_site: str | None,
    change: Change,
    latest: dict[tuple[str, str], int],
    plan: list[tuple[str, str, tuple[str, ...], tuple[Any, ...], str]],
    stale: list[Change],
) -> int:
    """Check one change against the rows as they stand, and queue its write: 1 if it
    applies, 0 if it is stale. Mirrors `merge._apply_owner_change` rule for rule."""
    tbl, row_id, op = change.tbl, change.row_id, change.op
    key = (tbl, row_id)
    fields = schema.check(change)
    owner = rows.owner
    if op != "delete":
        _check_references(owner, REFERENCES.get(tbl, {}).items(), fields, site_id, hub_site)
    if op == "insert":
        if fields.get("id") != row_id or fields.get("site_id") != site_id:
            raise ForeignRow("inserts another site's row")
        if tbl == RESULTS_TABLE:
            raise OneByOne  # answered commands are checked one by one
        held = owner.get(key)
        if held is not None and held != site_id:
            raise ForeignRow("belongs to another site")
        defaults = LOCAL_FIELDS.get(tbl)
        if defaults:
            fields = {**defaults, **fields}
        # A plain INSERT where the row is new: an upsert costs twice as much.
        kind = "insert" if held is None else "upsert"
        plan.append((kind, tbl, tuple(fields), tuple(fields.values()), row_id))
        owner[key] = site_id
        if tbl == "orders":
            if "status" in fields:
                rows.status[row_id] = fields["status"]
            elif held is None:
                rows.status[row_id] = _ABSENT  # the column's default: not known here
        return 1
    if "site_id" in fields and fields["site_id"] != site_id:
        raise ForeignRow("a row never changes owner")
    if fields.get("id", row_id) != row_id:
        raise ForeignRow("a row never changes id")
    seen = latest.get(key)
    if seen is None:
        seen = rows.stamp.get(key, -1)
    if change.hlc < seen:
        stale.append(change)
        return 0
    held = owner.get(key)
    if op == "update":
        new = fields.get("status")
        if tbl == "orders" and new is not None and row_id in rows.status:
            current = rows.status[row_id]
            if current is _ABSENT:
                raise OneByOne
            if new != current and not STATUS_RANK.get(new, -1) > STATUS_RANK.get(current, -1):
                if new == REOPENED_BY_CORRECTION:
                    # Perhaps a voided hand-over (its correction row perhaps in this very
                    # batch): the reference path decides, change by change.
                    raise OneByOne
                log.info(
                    "order %s stays %s (a change to %s would move it back)", row_id, current, new
                )
                fields = {k: v for k, v in fields.items() if k != "status"}
        if fields:
            if held is not None and held != site_id:
                raise ForeignRow("updates another site's row")
            if held is not None:
                cols = tuple(fields)
                plan.append(("update", tbl, cols, (*fields.values(), row_id, site_id), row_id))
                if tbl == "orders" and "status" in fields:
                    rows.status[row_id] = fields["status"]
        return 1
    if held is not None and held != site_id:
        raise ForeignRow("deletes another site's row")
    if held is not None:
        plan.append(("delete", tbl, (), (row_id, site_id), row_id))
        owner[key] = None
        rows.status.pop(row_id, None)
    return 1


def _execute(
    conn: sqlite3.Connection, plan: list[tuple[str, str, tuple[str, ...], tuple[Any, ...], str]]
) -> None:
    """Write the queued changes: runs of inserts table by table, the rest in order."""
    i = 0
    while i < len(plan):
        op, tbl, cols, _params, _row = plan[i]
        j = i + 1
        if op in _INSERTS:
            inserted = {(tbl, plan[i][4])}
            while j < len(plan) and plan[j][0] in _INSERTS:
                k = (plan[j][1], plan[j][4])
                if k in inserted:
                    break  # a row inserted twice: its second insert starts the next run
                inserted.add(k)
                j += 1
            groups: dict[tuple[str, tuple[str, ...], str], list[tuple[Any, ...]]]
            groups = defaultdict(list)
            for kind, t, c, params, _r in plan[i:j]:
                groups[(t, c, kind)].append(params)
            for t, c, kind in sorted(groups, key=lambda g: _RANK.get(g[0], 0)):
                rows = groups[(t, c, kind)]
                if kind == "insert":
                    written = insert_rows(conn, t, c, rows)
                else:
                    written = conn.executemany(_SQL.upsert(t, c), rows).rowcount
                if written != len(rows):
                    raise OneByOne  # a row of another site after all: say which, one by one
        else:
            while j < len(plan) and plan[j][:3] == plan[i][:3]:
                j += 1
            run = [p[3] for p in plan[i:j]]
            if op == "update":
                update_rows(conn, tbl, cols, run)
            else:
                conn.executemany(f"DELETE FROM {tbl} WHERE id = ? AND site_id = ?", run)
        i = j


def update_rows(
    conn: sqlite3.Connection, tbl: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """UPDATEs of `cols` on rows by (id, site_id), each row's params its new values, then
    its id and site id, applied in order. On SQLite a few hundred rows per statement,
    joined to a VALUES list (`UPDATE ... FROM`, SQLite 3.33 on; Debian 11 has 3.34),
    for the reason `insert_rows` gives: the
    orders' triggers made one run per row cost a statement journal each (an order's
    status update cost 60 us, three times its insert). A row twice in a run starts the
    next statement, so each row's updates still land in order. PostgreSQL runs the
    row-by-row statement in one pipeline (psycopg's `executemany`)."""
    if getattr(conn, "copy_rows", None) is not None:
        conn.executemany(_SQL.update(tbl, cols), rows)
        return
    width = len(cols) + 2
    per = max(1, min(_ROWS_PER_INSERT, _max_variables(conn) // width))
    chunk: list[tuple[Any, ...]] = []
    ids: set[Any] = set()
    for row in rows:
        row_id = row[-2]
        if len(chunk) == per or row_id in ids:
            _update_chunk(conn, tbl, cols, chunk, per)
            chunk, ids = [], set()
        chunk.append(row)
        ids.add(row_id)
    if chunk:
        _update_chunk(conn, tbl, cols, chunk, per)


def _update_chunk(
    conn: sqlite3.Connection,
    tbl: str,
    cols: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    per: int,
) -> None:
    """`UPDATE ... FROM (VALUES ...)` of rows that are all different (at most `per`), in
    statements of the lengths `statement_sizes` gives: each compiled once."""
    width = len(cols) + 2
    for values in flat_chunks(rows, per):
        conn.execute(_update_sql(tbl, cols, len(values) // width), values)


@lru_cache(maxsize=256)
def _update_sql(tbl: str, cols: tuple[str, ...], count: int) -> str:
    """`UPDATE tbl SET cols ... FROM (VALUES ...)` joining `count` rows by id and site."""
    width = len(cols) + 2
    sets = ", ".join(f"{c} = v.column{k}" for k, c in enumerate(cols, 1))
    one = f"({', '.join('?' * width)})"
    return (
        f"UPDATE {tbl} SET {sets} FROM (VALUES {', '.join([one] * count)}) AS v"
        f" WHERE {tbl}.id = v.column{width - 1} AND {tbl}.site_id = v.column{width}"
    )
