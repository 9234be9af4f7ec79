"""The hub's grouped apply (`sync.ingest`) and the box's raw batch encoding give what the
change-by-change reference gives (`sync.merge.apply_one_by_one`, `encode_batch`)."""

from __future__ import annotations

import atexit
import copy
import gzip
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sync_fixtures import (
    Centre,
    add_household,
    add_order,
    canonical,
    closing_stores,
    connect_any,
    enrol_centre,
    open_hub_store,
    set_status,
)

from edge.store import Store, Tx, changelog, connect
from edge.store.changelog import Change
from edge.store.dialect import is_postgres_url
from edge.store.ids import new_id
from edge.store.migrations import SCHEMA_VERSION
from edge.store.pg import connect_url
from hub import operations
from hub.pg_migrate import migrate_hub
from sync import ingest
from sync.errors import BadBatch, ForeignRow
from sync.merge import Schema, apply_one_by_one, apply_owner_changes
from sync.protocol import Batch, decode_batch, encode_batch, encode_log_batch


def _staff(tx: Tx, name: str) -> str:
    sid = new_id()
    tx.insert(
        "staff",
        {
            "id": sid,
            "site_id": tx.site_id,
            "name": name,
            "role": "staff",
            "pin_hash": "argon2-secret",
            "created_at": "2030-01-06T08:00:00+00:00",
        },
    )
    return sid


def _busy_day(centre: Centre, product_id: str) -> None:
    """Inserts of every kind, updates, a status that would move back, deletes."""

    def write(tx: Tx) -> None:
        staff = _staff(tx, "小陈")
        orders = []
        for i in range(40):
            hh = add_household(tx, f"住户{i}", f"139{i:08d}")
            orders.append(add_order(tx, hh, items=2, product_id=product_id))
            if i % 3 == 0:
                set_status(tx, orders[-1], "packed")
            if i % 7 == 0:
                tx.update("households", hh, {"notes": 'says "id": 7, 不要香菜'})
        for oid in orders[::5]:
            set_status(tx, oid, "picked_up")
        for oid in orders[1::9]:
            item = tx.one("SELECT id FROM order_items WHERE order_id = ? LIMIT 1", (oid,))
            assert item is not None
            tx.delete("order_items", item["id"])
        tx.update("staff", staff, {"name": "小陈师傅"})

    centre.store.write_sync(write)


def _received(centre: Centre) -> list[Change]:
    """The centre's log as the hub decodes it from a push."""
    rows = centre.store.read_sync(lambda c: changelog.read_after_raw(c, centre.site_id, 0, 10**6))
    body = encode_log_batch(Batch(SCHEMA_VERSION, centre.site_id, "", 1, 0, 0), rows)
    return decode_batch(body).changes


def _late_changes(centre: Centre, changes: list[Change]) -> list[Change]:
    """A change that would move a picked-up order back (its status is kept, its notes
    applied), and one stamped before a change already applied to its row (skipped)."""
    picked = next(c for c in changes if c.fields.get("status") == "picked_up")
    last = changes[-1]
    back = {"status": "placed", "notes": "late"}
    site = centre.site_id
    return [
        Change(site, last.seq + 1, last.hlc + 1, "orders", picked.row_id, "update", back),
        Change(
            site, last.seq + 2, picked.hlc - 1, "orders", picked.row_id, "update", {"notes": "x"}
        ),
    ]


# The day below, built once per test process (a hub and a centre migrated, enrolled and
# written): its folder, the centre (name, site id, token), the hub's site id, its schema
# and the changes the hub receives. Each test gets its own copy of the files.
_DAY: list[tuple[Path, tuple[str, str, str], str, Schema, list[Change]]] = []


def _built_day() -> tuple[Path, tuple[str, str, str], str, Schema, list[Change]]:
    if not _DAY:
        folder = Path(tempfile.mkdtemp(prefix="linli-ingest-day-"))
        atexit.register(shutil.rmtree, folder, True)
        hub_store = open_hub_store(folder / "hub.db")
        centre = enrol_centre(hub_store, folder / "c.db", "金沙路社区")
        fields = {"name": "土豆", "sold_by": "weight", "unit": "斤", "price_fen": 150}
        product = hub_store.write_sync(lambda tx: operations.create_product(tx, fields))
        hub_site = hub_store.site_id
        schema = hub_store.read_sync(Schema.load)
        hub_store.close()
        with closing_stores(centre.store):
            _busy_day(centre, product)
            changes = _received(centre)
            changes.extend(_late_changes(centre, changes))
        made = (centre.name, centre.site_id, centre.token)
        _DAY.append((folder, made, hub_site, schema, changes))
    return _DAY[0]


@pytest.fixture
def day(tmp_path: Path) -> Any:
    """A centre's busy day and the hub it joined: hub.db and c.db in tmp_path (the tests
    copy and open hub.db themselves), the centre's store open on c.db."""
    folder, (name, site_id, token), hub_site, schema, changes = _built_day()
    for f in folder.iterdir():
        shutil.copyfile(f, tmp_path / f.name)
    centre = Centre(name, Store(tmp_path / "c.db"), site_id, token)
    with closing_stores(centre.store):
        yield centre, hub_site, copy.deepcopy(schema), copy.deepcopy(changes)


class _Counting:
    """A connection that counts the writing statements it is handed (an executemany is one)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.writes = 0

    def _count(self, sql: str) -> None:
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            self.writes += 1

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self._count(sql)
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, params: Any) -> sqlite3.Cursor:
        self._count(sql)
        return self.conn.executemany(sql, params)


def _apply(path: Path | str, fn: Any) -> Any:
    """`fn` in one write transaction on the hub's SQLite file or PostgreSQL database."""
    if is_postgres_url(path):
        pg = connect_url(str(path))
        counting = _Counting(pg)  # type: ignore[arg-type]
        try:
            with pg.raw.transaction():
                result = fn(counting)
        finally:
            pg.raw.close()
        return result, counting.writes
    conn = connect(path)
    counting = _Counting(conn)
    try:
        conn.execute("BEGIN IMMEDIATE")
        result = fn(counting)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return result, counting.writes


def _log(path: Path | str) -> list[tuple[Any, ...]]:
    with connect_any(path) as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM sync_log ORDER BY site_id, seq")]


def _hub_copies(
    tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest, n: int
) -> list[Path | str]:
    """`n` copies of the test's hub.db: files, or PostgreSQL databases it was moved into
    (`hub_target` and fresh ones from the same server)."""
    out: list[Path | str] = []
    if not is_postgres_url(hub_target):
        for i in range(n):
            shutil.copyfile(tmp_path / "hub.db", tmp_path / f"copy{i}.db")
            out.append(tmp_path / f"copy{i}.db")
        return out
    server = request.getfixturevalue("pg_server")
    server.ensure(str(hub_target))
    out = [hub_target, *(server.fresh_database() for _ in range(n - 1))]
    for url in out:
        migrate_hub(tmp_path / "hub.db", str(url))
    return out


def test_the_grouped_apply_ends_where_the_one_by_one_apply_does(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    centre, hub_site, schema, changes = day
    assert {c.op for c in changes} == {"insert", "update", "delete"}
    grouped, one_by_one = _hub_copies(tmp_path, hub_target, request, 2)
    site = centre.site_id

    applied, writes = _apply(
        grouped, lambda c: apply_owner_changes(c, schema, site, changes, hub_site=hub_site)
    )

    def reference(conn: sqlite3.Connection) -> int:
        n = apply_one_by_one(conn, schema, site, changes, hub_site)
        ingest.write_log(conn, site, changes)
        return n

    expected, _ = _apply(one_by_one, reference)
    assert applied == expected == len(changes) - 1  # the stale change is logged only
    assert canonical(grouped) == canonical(one_by_one)
    assert _log(grouped) == _log(one_by_one)
    # And the hub's copy is the centre's (a PIN never leaves the box), but for the two
    # late changes to one order: its status kept, the first one's notes applied.
    hub_rows, box_rows = (
        canonical(grouped, site_ids={site}),
        canonical(centre.store.path, site_ids={site}),
    )
    assert hub_rows.pop("orders") != box_rows.pop("orders")
    assert hub_rows == box_rows
    with connect_any(grouped) as conn:
        late = conn.execute(
            "SELECT status, notes FROM orders WHERE id = ?", (changes[-1].row_id,)
        ).fetchone()
    assert tuple(late) == ("picked_up", "late")
    # A statement per table and run of changes, not one per change: no fallback.
    assert writes < len(changes) // 2, writes  # the fallback writes one per change


def test_a_refused_batch_names_the_change_at_fault_and_applies_nothing(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    centre, hub_site, schema, changes = day
    (hub,) = _hub_copies(tmp_path, hub_target, request, 1)
    foreign = new_id()  # another site's household, already on the hub
    _apply(
        hub,
        lambda c: c.execute(
            "INSERT INTO households (id, site_id, name, phone, phone_tail, created_at)"
            " VALUES (?, 'ANOTHER-SITE', '别人', '13900000000', '0000', '2030-01-06')",
            (foreign,),
        ),
    )
    at = next(i for i in range(30, len(changes)) if changes[i].tbl == "orders")
    bad = changes[at]
    changes[at] = _with_fields(bad, household_id=foreign)
    refused = _refused_whole(
        hub,
        ForeignRow,
        lambda c: apply_owner_changes(c, schema, centre.site_id, changes, hub_site=hub_site),
    )
    assert f"seq {bad.seq}:" in refused.detail
    assert refused.extra["field"] == "orders.household_id"


def test_the_raw_batch_is_the_parsed_one_byte_for_byte(day: Any) -> None:
    centre, _hub_site, _schema, _changes = day
    site = centre.site_id
    head = Batch(SCHEMA_VERSION, site, "install", 1, 1_700_000_000_000, 3)
    rows = centre.store.read_sync(lambda c: changelog.read_after_raw(c, site, 0, 10**6))
    parsed = centre.store.read_sync(lambda c: changelog.read_after(c, site, 0, 10**6))
    assert any(r[2] == "staff" for r in rows) and any('\\"id\\": 7' in r[5] for r in rows)
    reference = encode_batch(_with(head, parsed))
    assert gzip.decompress(encode_log_batch(head, rows)) == gzip.decompress(reference)
    assert "argon2" not in gzip.decompress(encode_log_batch(head, rows)).decode()


def _with(head: Batch, changes: list[Change]) -> Batch:
    return Batch(
        head.schema_version,
        head.site_id,
        head.install_id,
        head.from_seq,
        head.wall_ms,
        head.waiting,
        changes,
    )


def _apply_real(path: Path | str, fn: Any) -> Any:
    """`fn` in one write transaction on the hub's own connection (PostgreSQL's with its
    COPY path, `PgConn.copy_rows`), rolled back if it raises."""
    if is_postgres_url(path):
        pg = connect_url(str(path))
        try:
            with pg.raw.transaction():
                return fn(pg)
        finally:
            pg.raw.close()
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result
    finally:
        conn.close()


def _with_fields(change: Change, **fields: Any) -> Change:
    """The change with some of its fields set otherwise (a bad one, to be refused)."""
    return msgspec.structs.replace(change, fields={**change.fields, **fields})


def _refused_whole(hub: Path | str, error: type[Exception], apply: Any) -> Any:
    """`apply` on the hub raises `error` and leaves its rows and log as they were; the
    error, for what it names."""
    before, log_before = canonical(hub), _log(hub)
    with pytest.raises(error) as refused:
        _apply_real(hub, apply)
    assert canonical(hub) == before
    assert _log(hub) == log_before
    return refused.value


def test_the_hubs_own_connection_applies_as_the_reference_does(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """Through the hub's own connection (on PostgreSQL new rows and the log go in by
    COPY), the grouped apply still ends where the change-by-change one does."""
    centre, hub_site, schema, changes = day
    grouped, one_by_one = _hub_copies(tmp_path, hub_target, request, 2)
    site = centre.site_id

    def reference(conn: sqlite3.Connection) -> int:
        n = apply_one_by_one(conn, schema, site, changes, hub_site)
        ingest.write_log(conn, site, changes)
        return n

    applied = _apply_real(
        grouped, lambda c: apply_owner_changes(c, schema, site, changes, hub_site=hub_site)
    )
    assert applied == _apply_real(one_by_one, reference) == len(changes) - 1
    assert canonical(grouped) == canonical(one_by_one)
    assert _log(grouped) == _log(one_by_one)


def test_a_row_the_database_refuses_in_a_grouped_insert_falls_back_and_is_named(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """An order line naming an order the hub does not hold: the grouped insert (COPY on
    PostgreSQL) is refused by the foreign key, the batch is applied again change by
    change, and the refusal names that change; nothing of the batch stays."""
    centre, hub_site, schema, changes = day
    (hub,) = _hub_copies(tmp_path, hub_target, request, 1)
    at = next(i for i in range(20, len(changes)) if changes[i].tbl == "order_items")
    bad = changes[at]
    assert bad.op == "insert"
    changes[at] = _with_fields(bad, order_id=new_id())
    refused = _refused_whole(
        hub,
        BadBatch,
        lambda c: apply_owner_changes(c, schema, centre.site_id, changes, hub_site=hub_site),
    )
    assert refused.detail.startswith(f"seq {bad.seq}: insert of order_items {bad.row_id}")
    assert "FOREIGN KEY" in refused.detail


def _reference_of(schema: Schema, site: str, changes: list[Change], hub_site: str) -> Any:
    def reference(conn: sqlite3.Connection) -> int:
        n = apply_one_by_one(conn, schema, site, changes, hub_site)
        ingest.write_log(conn, site, changes)
        return n

    return reference


def test_a_batch_inserting_rows_the_hub_already_holds_ends_as_the_reference_does(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """The grouped apply does not look up the rows a batch inserts: one the hub already
    holds (the site's own, sent again by a box restored from a backup) makes its plain
    INSERT fail, and the batch is applied change by change, where such an insert
    overwrites the site's own row. The end is the reference's, on both engines."""
    centre, hub_site, schema, changes = day
    grouped, one_by_one = _hub_copies(tmp_path, hub_target, request, 2)
    site = centre.site_id
    first, again = changes[:60], changes[60:]
    for hub in (grouped, one_by_one):
        _apply_real(hub, lambda c: apply_owner_changes(c, schema, site, first, hub_site=hub_site))
    held = next(c for c in first if c.tbl == "households" and c.op == "insert")
    last = again[-1]
    resent = Change(
        site, last.seq + 1, last.hlc + 1, "households", held.row_id, "insert",
        {**held.fields, "name": "王阿姨(又)"},
    )  # fmt: skip
    fresh = [*again, resent]
    applied = _apply_real(
        grouped, lambda c: apply_owner_changes(c, schema, site, fresh, hub_site=hub_site)
    )
    assert applied == _apply_real(one_by_one, _reference_of(schema, site, fresh, hub_site))
    assert canonical(grouped) == canonical(one_by_one)
    assert _log(grouped) == _log(one_by_one)
    with connect_any(grouped) as conn:
        name = conn.execute("SELECT name FROM households WHERE id = ?", (held.row_id,))
        assert tuple(name.fetchone()) == ("王阿姨(又)",)


def test_a_batch_inserting_another_sites_row_is_refused_whole(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """A batch that inserts a row under an id another site holds (and names it from its
    own order) is refused whole, the insert named, though the grouped apply never looked
    that id up: its INSERT fails and the change-by-change reference decides."""
    centre, hub_site, schema, changes = day
    (hub,) = _hub_copies(tmp_path, hub_target, request, 1)
    at = next(i for i in range(10, len(changes)) if changes[i].tbl == "households")
    bad = changes[at]
    assert bad.op == "insert"
    _apply(
        hub,
        lambda c: c.execute(
            "INSERT INTO households (id, site_id, name, phone, phone_tail, created_at)"
            " VALUES (?, 'ANOTHER-SITE', '别人', '13900000000', '0000', '2030-01-06')",
            (bad.row_id,),
        ),
    )
    assert any(c.fields.get("household_id") == bad.row_id for c in changes[at + 1 :])
    refused = _refused_whole(
        hub,
        ForeignRow,
        lambda c: apply_owner_changes(c, schema, centre.site_id, changes, hub_site=hub_site),
    )
    assert refused.detail.startswith(f"seq {bad.seq}: households {bad.row_id}")


def test_rows_new_in_a_batch_and_rows_already_held_follow_the_rules_alike(
    day: Any, tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """The grouped apply looks up only the rows a batch does not insert first. In one
    batch: a new order changed twice, then a change stamped before those (skipped),
    then one moving it back (its status kept); and the same to an order the hub already
    holds, checked against the hub's stamps and status. Both ends are the reference's,
    reached without falling back, on both engines."""
    centre, hub_site, schema, changes = day
    grouped, one_by_one = _hub_copies(tmp_path, hub_target, request, 2)
    site = centre.site_id
    first = [c for c in changes if c.seq <= 60]
    for hub in (grouped, one_by_one):
        _apply_real(hub, lambda c: apply_owner_changes(c, schema, site, first, hub_site=hub_site))
    held = next(c for c in first if c.tbl == "orders" and c.op == "insert")
    held_stamp = max(c.hlc for c in first if c.row_id == held.row_id)
    new = next(c for c in changes if c.seq > 60 and c.tbl == "orders" and c.op == "insert")
    seq, hlc = changes[-1].seq + 1, changes[-1].hlc + 10
    batch: list[Change] = []

    def change(row: str, stamp: int, fields: dict[str, Any], op: str = "update") -> None:
        batch.append(Change(site, seq + len(batch), stamp, "orders", row, op, fields))

    home = next(c for c in changes if c.row_id == new.fields["household_id"])
    batch.append(Change(site, seq, hlc - 1, "households", home.row_id, "insert", home.fields))
    batch.append(Change(site, seq + 1, hlc, "orders", new.row_id, "insert", new.fields))
    change(new.row_id, hlc + 1, {"notes": "一", "status": "picked_up"})
    change(new.row_id, hlc + 2, {"notes": "二"})
    change(new.row_id, hlc + 1, {"notes": "older"})  # stamped before the last: skipped
    change(new.row_id, hlc + 3, {"status": "placed", "notes": "三"})  # status kept
    change(held.row_id, held_stamp - 1, {"notes": "older"})  # before the hub's: skipped
    change(held.row_id, hlc + 4, {"status": "picked_up", "notes": "四"})
    change(held.row_id, hlc + 5, {"status": "packed"})  # would move it back: kept

    applied, writes = _apply(
        grouped, lambda c: apply_owner_changes(c, schema, site, batch, hub_site=hub_site)
    )
    assert writes < len(batch)  # grouped: no fallback to a statement per change
    assert applied == _apply_real(one_by_one, _reference_of(schema, site, batch, hub_site))
    assert applied == len(batch) - 2
    assert canonical(grouped) == canonical(one_by_one)
    assert _log(grouped) == _log(one_by_one)
    with connect_any(grouped) as conn:
        got = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT id, status, notes FROM orders WHERE id IN (?, ?)",
                (new.row_id, held.row_id),
            )
        }
    assert got == {new.row_id: ("picked_up", "三"), held.row_id: ("picked_up", "四")}


def test_a_large_batch_goes_in_several_statements_and_a_bad_row_late_in_it_undoes_all(
    tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """On SQLite new rows go in a few hundred per INSERT (`ingest.insert_rows`), and
    updates a few hundred per `UPDATE ... FROM` (`ingest.update_rows`). A push of 600
    orders (1,200 order lines: three statements) ends where the reference ends, and so
    does the next push, which packs and then hands over 200 orders (one run of 400
    updates, each order twice); the first push with a line near its end naming an
    order the hub lacks is refused, that line named, and nothing of the statements
    already run stays."""
    hub_store = open_hub_store(tmp_path / "hub.db")
    centre = enrol_centre(hub_store, tmp_path / "c.db", "金沙路社区")
    hub_site = hub_store.site_id
    schema = hub_store.read_sync(Schema.load)
    hub_store.close()
    with closing_stores(centre.store):

        def write(tx: Tx) -> None:
            hh = ""
            for i in range(600):
                if i % 4 == 0:
                    hh = add_household(tx, f"住户{i}", f"139{i:08d}")
                add_order(tx, hh, items=2, code=f"{i:06d}")

        centre.store.write_sync(write)
        changes = _received(centre)

        def hand_over(tx: Tx) -> None:
            ids = [r[0] for r in tx.execute("SELECT id FROM orders ORDER BY pickup_code")]
            for status in ("packed", "picked_up"):
                for oid in ids[:200]:
                    set_status(tx, oid, status)

        centre.store.write_sync(hand_over)
        updates = _received(centre)[len(changes) :]
    site = centre.site_id
    lines = [c for c in changes if c.tbl == "order_items"]
    assert len(lines) > 2 * ingest._ROWS_PER_INSERT
    assert len(updates) == 400 and {c.op for c in updates} == {"update"}
    grouped, one_by_one, refused_hub, made_ready = _hub_copies(tmp_path, hub_target, request, 4)

    for batch in (changes, updates):
        applied = _apply_real(
            grouped,
            lambda c, batch=batch: apply_owner_changes(c, schema, site, batch, hub_site=hub_site),
        )
        expected = _apply_real(one_by_one, _reference_of(schema, site, batch, hub_site))
        assert applied == expected == len(batch)
        assert canonical(grouped) == canonical(one_by_one)
        assert _log(grouped) == _log(one_by_one)
    # The first push made ready beside the writer (`ingest.new_rows`, its values laid out
    # a statement's rows at a time) ends where the reference ended after it.
    ready = ingest.new_rows(schema, site, changes)
    assert ready is not None and ready.log_chunks is not None and len(ready.log_chunks) > 3
    _, writes = _apply(
        made_ready,
        lambda c: apply_owner_changes(c, schema, site, changes, hub_site=hub_site, ready=ready),
    )
    assert writes < len(changes) // 10  # statements of many rows: no fallback
    _apply_real(
        made_ready, lambda c: apply_owner_changes(c, schema, site, updates, hub_site=hub_site)
    )
    assert canonical(made_ready) == canonical(one_by_one)
    assert _log(made_ready) == _log(one_by_one)
    with connect_any(grouped) as conn:
        statuses = conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status")
        assert sorted(tuple(r) for r in statuses) == [("picked_up", 200), ("placed", 400)]

    bad = lines[-3]
    at = changes.index(bad)
    changes[at] = _with_fields(bad, order_id=new_id())
    refused = _refused_whole(
        refused_hub,
        BadBatch,
        lambda c: apply_owner_changes(c, schema, site, changes, hub_site=hub_site),
    )
    assert refused.detail.startswith(f"seq {bad.seq}: insert of order_items {bad.row_id}")


def _orders_push(centre: Centre, orders: int, household: str | None = None) -> list[Change]:
    """The changes of `orders` new orders (two lines each) as the hub decodes them, a
    new household for every third one, or `household` (held already) for all."""
    before = len(_received(centre))

    def write(tx: Tx) -> None:
        hh = household or ""
        for i in range(orders):
            if household is None and i % 3 == 0:
                hh = add_household(tx, f"新住户{before}-{i}", f"137{before + i:08d}")
            add_order(tx, hh, items=2)

    centre.store.write_sync(write)
    return _received(centre)[before:]


def test_new_rows_made_ready_beside_the_writer_end_where_the_reference_ends(
    tmp_path: Path, hub_target: Path | str, request: pytest.FixtureRequest
) -> None:
    """A push of new rows only is made ready before the writer takes it
    (`ingest.new_rows`: grouped per table, the log encoded), and the writer looks up
    only the rows they name that the push does not insert. A first push, and a second
    naming a household of the first, end where the reference ends, without falling
    back; a push naming another centre's household, or an order the hub lacks, is
    refused whole and the change named, as the reference names it."""
    hub_store = open_hub_store(tmp_path / "hub.db")
    centre = enrol_centre(hub_store, tmp_path / "c.db", "金沙路社区")
    hub_site = hub_store.site_id
    schema = hub_store.read_sync(Schema.load)
    hub_store.close()
    site = centre.site_id
    with closing_stores(centre.store):
        first = _orders_push(centre, 30)
        home = next(c.row_id for c in first if c.tbl == "households")
        second = _orders_push(centre, 5, household=home)
        late = _orders_push(centre, 6)
    grouped, one_by_one, refused_hub = _hub_copies(tmp_path, hub_target, request, 3)

    for batch in (first, second):
        ready = ingest.new_rows(schema, site, batch)
        assert ready is not None and ready.count == len(batch)
        # Named and not in the push: the catalog's product, the first push's household.
        named = {"products": {"p1"}, **({"households": {home}} if batch is second else {})}
        assert ready.named == named
        applied, writes = _apply(
            grouped,
            lambda c, b=batch, r=ready: apply_owner_changes(
                c, schema, site, b, hub_site=hub_site, ready=r
            ),
        )
        assert applied == _apply_real(one_by_one, _reference_of(schema, site, batch, hub_site))
        assert applied == len(batch)
        # Households (the first push), orders, lines and the log, each in the few
        # statements of the lengths `statement_sizes` gives: no statement per change.
        tables = [rows for _, _, rows, _ in ready.groups] + [ready.log_rows]
        per = ingest._ROWS_PER_INSERT
        assert writes == sum(len(ingest.statement_sizes(len(t), per)) for t in tables)
        assert writes < len(batch) // 2
        assert canonical(grouped) == canonical(one_by_one)
        assert _log(grouped) == _log(one_by_one)

    _apply_real(
        refused_hub, lambda c: apply_owner_changes(c, schema, site, first, hub_site=hub_site)
    )
    foreign = new_id()
    _apply(
        refused_hub,
        lambda c: c.execute(
            "INSERT INTO households (id, site_id, name, phone, phone_tail, created_at)"
            " VALUES (?, 'ANOTHER-SITE', '别人', '13900000000', '0000', '2030-01-06')",
            (foreign,),
        ),
    )
    at = next(i for i, c in enumerate(late) if c.tbl == "orders" and i > 5)
    naming_foreign = [*late]
    naming_foreign[at] = _with_fields(late[at], household_id=foreign)
    line = next(i for i, c in enumerate(late) if c.tbl == "order_items" and i > 8)
    naming_missing = [*late]
    naming_missing[line] = _with_fields(late[line], order_id=new_id())
    for batch, error, named in (
        (naming_foreign, ForeignRow, f"seq {late[at].seq}:"),
        (naming_missing, BadBatch, f"seq {late[line].seq}: insert of order_items"),
    ):
        ready = ingest.new_rows(schema, site, batch)
        assert ready is not None
        refused = _refused_whole(
            refused_hub,
            error,
            lambda c, b=batch, r=ready: apply_owner_changes(
                c, schema, site, b, hub_site=hub_site, ready=r
            ),
        )
        assert refused.detail.startswith(named)


def test_only_new_rows_of_shared_tables_are_made_ready(day: Any) -> None:
    """An update or delete, a row inserted twice, a column the hub lacks, another site's
    row: `ingest.new_rows` leaves the batch to the writer's grouped apply."""
    centre, _hub_site, schema, changes = day
    site = centre.site_id
    inserts = [c for c in changes if c.op == "insert"]
    assert ingest.new_rows(schema, site, inserts) is not None
    assert ingest.new_rows(schema, site, changes) is None  # updates and deletes
    assert ingest.new_rows(schema, site, [*inserts, inserts[3]]) is None
    unknown = _with_fields(inserts[4], no_such_column=1)
    assert ingest.new_rows(schema, site, [*inserts[:4], unknown]) is None
    other = _with_fields(inserts[2], site_id="ANOTHER-SITE")
    assert ingest.new_rows(schema, site, [other]) is None
    assert ingest.new_rows(schema, site, []) is None


def test_pushes_of_any_length_share_a_few_statement_lengths() -> None:
    """A push's rows of a table go in statements of at most 500 rows (fewer where the
    SQLite build allows fewer parameters), and however long the pushes are, their
    statements come in a few lengths only: each is compiled once, then taken from the
    connection's statement cache, not compiled again for every push."""
    for per in (500, 49):
        lengths: set[int] = set()
        for count in range(3 * per):
            sizes = ingest.statement_sizes(count, per)
            assert sum(sizes) == count and all(0 < s <= per for s in sizes)
            assert len(sizes) <= count // per + per.bit_length() + 1
            lengths.update(sizes)
        assert len(lengths) <= per.bit_length() + 8  # the full one, powers of two, 1-7
