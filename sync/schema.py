"""The sync package's own tables, in their own migration set ("linli-sync").

Kept apart from `edge.store.migrations` so the two sets never collide. Both roles
get every table; a centre leaves the hub-only ones empty. `ensure(path)`
applies pending migrations through a short-lived connection of its own, so
it can run beside a live `Store` (the writer holds no lock between jobs).

- `sync_state`: key/value progress of this box's sync (centre side): pushed
  and pulled positions, last success, last error, clock offset.
- `sync_commands`: operator commands (hub-owned rows, addressed to a site).
- `sync_command_results`: what the addressed centre did with one (centre-owned,
  id = the command's id, so applying twice is impossible).
- `sync_centres`, `sync_log`: the hub's record of each enrolled centre and of
  every change it received (content kept to detect cloned boxes).
- `sync_operators`, `sync_operator_sessions`: hub operator accounts.
- `supply_supplier_centres`: which centres each co-op account supplies (hub-local,
  never synced): the supplier API answers and accepts writes for those alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("linli-sync")


@migrations()
def m101_sync_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE IF NOT EXISTS sync_commands (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,          -- the hub: owner of the command
            target_site TEXT NOT NULL,      -- the centre that must apply it
            name TEXT NOT NULL,
            args TEXT NOT NULL DEFAULT '{}',
            issued_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sync_commands_target ON sync_commands (target_site);

        CREATE TABLE IF NOT EXISTS sync_command_results (
            id TEXT PRIMARY KEY,            -- = sync_commands.id
            site_id TEXT NOT NULL,          -- the centre that applied it
            name TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'refused')),
            detail TEXT NOT NULL DEFAULT '',
            applied_at TEXT NOT NULL
        );

        CREATE TABLE IF NOT EXISTS sync_centres (
            site_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            revoked INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            acked_seq INTEGER NOT NULL DEFAULT 0,
            pulled_seq INTEGER NOT NULL DEFAULT 0,
            waiting INTEGER NOT NULL DEFAULT 0,
            last_contact TEXT,
            last_push TEXT,
            schema_version INTEGER,
            clock_offset_ms INTEGER,
            install_id TEXT,
            diverged TEXT,
            oldest_waiting_ms INTEGER
        );

        CREATE TABLE IF NOT EXISTS sync_log (
            site_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hlc INTEGER NOT NULL,
            tbl TEXT NOT NULL,
            row_id TEXT NOT NULL,
            op TEXT NOT NULL,
            fields TEXT NOT NULL,
            PRIMARY KEY (site_id, seq)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS sync_log_row ON sync_log (tbl, row_id);

        CREATE TABLE IF NOT EXISTS sync_operators (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor')),
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sync_operator_sessions (
            token_hash TEXT PRIMARY KEY,
            operator_id TEXT NOT NULL REFERENCES sync_operators (id),
            created_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m102_supplier_centres(db: sqlite_utils.Database) -> None:
    """A co-op account supplies a set of centres. Accounts made before this kept
    serving every enrolled centre, so they are linked to every one enrolled now."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS supply_supplier_centres (
            supplier_id TEXT NOT NULL,      -- supply_suppliers.id
            centre_id TEXT NOT NULL,        -- sync_centres.site_id
            created_at TEXT NOT NULL,
            PRIMARY KEY (supplier_id, centre_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS supply_supplier_centres_centre
            ON supply_supplier_centres (centre_id);
        """
    )
    if "supply_suppliers" in db.table_names():  # a fresh file gets it after this set
        db.execute(
            "INSERT OR IGNORE INTO supply_supplier_centres (supplier_id, centre_id, created_at)"
            " SELECT s.id, c.site_id, s.created_at FROM supply_suppliers s, sync_centres c"
        )


@migrations()
def m110_care_family(db: sqlite_utils.Database) -> None:
    """Care at the hub, hub-local (never synced: no `site_id`): family accounts, which
    elders each may book for, their sessions, and the hotline's return visits (回访);
    and indexes of the care commands by elder and by booking."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS care_family_accounts (
            id TEXT PRIMARY KEY,
            phone TEXT NOT NULL UNIQUE,     -- what the family member signs in with
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS care_family_links (
            account_id TEXT NOT NULL REFERENCES care_family_accounts (id),
            recipient_id TEXT NOT NULL,     -- care_recipients.id (a centre's row)
            relation TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (account_id, recipient_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS care_family_sessions (
            token_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES care_family_accounts (id),
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS care_return_visits (
            id TEXT PRIMARY KEY,
            booking_id TEXT NOT NULL UNIQUE, -- care_bookings.id
            centre_id TEXT NOT NULL,
            satisfaction INTEGER NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
            note TEXT NOT NULL DEFAULT '',
            complaint TEXT NOT NULL DEFAULT '',
            operator TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        -- An elder's care commands, for the family page and the hotline: found by
        -- index, not by reading every command's JSON.
        CREATE INDEX IF NOT EXISTS sync_commands_care_recipient
            ON sync_commands (json_extract(args, '$.recipient_id')) WHERE name = 'care_book';
        CREATE INDEX IF NOT EXISTS sync_commands_care_booking
            ON sync_commands (coalesce(json_extract(args, '$.booking_id'),
                                       json_extract(args, '$.request_id')))
            WHERE name IN ('care_cancel', 'care_rate');
        """
    )


@migrations(transactional=False)
def m111_hotline_role(db: sqlite_utils.Database) -> None:
    """Operators may have the role `hotline` (the 12349 desk). SQLite cannot change a
    CHECK in place: the table is rebuilt with foreign keys off (sessions point at it),
    in one transaction; killed halfway, it rolls back and runs again. PostgreSQL
    changes the CHECK in place, in the migration's own transaction."""
    if getattr(db, "dialect", "sqlite") == "postgresql":
        db.execute(
            "ALTER TABLE sync_operators DROP CONSTRAINT IF EXISTS sync_operators_role_check,"
            " ADD CONSTRAINT sync_operators_role_check"
            " CHECK (role IN ('operator', 'supervisor', 'hotline'))"
        )
        return
    sql = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sync_operators'"
    ).fetchone()[0]
    if "'hotline'" in sql:
        return
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in (
            "CREATE TABLE sync_operators_new (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
            " role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor', 'hotline')),"
            " password_hash TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,"
            " created_at TEXT NOT NULL)",
            "INSERT INTO sync_operators_new SELECT id, name, role, password_hash, active,"
            " created_at FROM sync_operators",
            "DROP TABLE sync_operators",
            "ALTER TABLE sync_operators_new RENAME TO sync_operators",
        ):
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


@migrations()
def m112_hub_shared_state(db: sqlite_utils.Database) -> None:
    """Hub state that lived in one process's memory moves into the database, so several
    hub processes can share one (PostgreSQL): failed sign-ins per client address and
    name (`hub.signin_limit`), hub-local, never synced."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS hub_signin_failures (
            client TEXT NOT NULL,
            name TEXT NOT NULL,
            at REAL NOT NULL                -- seconds since the epoch
        );
        CREATE INDEX IF NOT EXISTS hub_signin_failures_key
            ON hub_signin_failures (client, name, at);
        CREATE INDEX IF NOT EXISTS hub_signin_failures_at ON hub_signin_failures (at);
        """
    )


SYNC_LOG_PARTITIONS = 16


@migrations()
def m113_sync_log_partitions(db: sqlite_utils.Database) -> None:
    """On PostgreSQL the hub's biggest table, every centre's change log as received
    (`sync_log`), is partitioned by centre (hash of `site_id`, which leads its key):
    a centre's push and its history read touch one partition, and the table can
    later be distributed by the same key. SQLite keeps its one table."""
    if getattr(db, "dialect", "sqlite") != "postgresql":
        return
    db.execute("ALTER TABLE sync_log RENAME TO sync_log_unpartitioned")
    db.execute("ALTER INDEX IF EXISTS sync_log_row RENAME TO sync_log_unpartitioned_row")
    db.execute(
        "CREATE TABLE sync_log (site_id TEXT NOT NULL, seq BIGINT NOT NULL,"
        " hlc BIGINT NOT NULL, tbl TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,"
        " fields TEXT NOT NULL, PRIMARY KEY (site_id, seq)) PARTITION BY HASH (site_id)"
    )
    for i in range(SYNC_LOG_PARTITIONS):
        db.execute(
            f"CREATE TABLE sync_log_p{i:02d} PARTITION OF sync_log"
            f" FOR VALUES WITH (MODULUS {SYNC_LOG_PARTITIONS}, REMAINDER {i})"
        )
    db.execute("CREATE INDEX sync_log_row ON sync_log (tbl, row_id)")
    db.execute(
        "INSERT INTO sync_log (site_id, seq, hlc, tbl, row_id, op, fields)"
        " SELECT site_id, seq, hlc, tbl, row_id, op, fields FROM sync_log_unpartitioned"
    )
    db.execute("DROP TABLE sync_log_unpartitioned")


@migrations()
def m114_family_orders(db: sqlite_utils.Database) -> None:
    """A family's grocery order for their elder, hub-local (never synced: no `site_id`):
    which `family_order` command was whose, so the family page finds an elder's orders
    by index, and the family's `cancel_order` of one. The centre's answer is the
    command's result and, once applied, the order whose `idempotency_key` is the
    command's id. Portable SQL only."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS care_family_orders (
            request_id TEXT PRIMARY KEY,    -- sync_commands.id of the family_order
            recipient_id TEXT NOT NULL,     -- care_recipients.id
            centre_id TEXT NOT NULL,        -- sync_centres.site_id
            account_id TEXT NOT NULL,       -- care_family_accounts.id
            pickup_date TEXT NOT NULL,
            estimated_fen INTEGER NOT NULL, -- the hub's estimate while it waits
            cancel_id TEXT,                 -- sync_commands.id of the family's cancel_order
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS care_family_orders_recipient
            ON care_family_orders (recipient_id, created_at);
        """
    )


@migrations()
def m115_complaint_follow_up(db: sqlite_utils.Database) -> None:
    """A complaint recorded on a return visit (回访) is followed up: open -> followed_up
    (who, when, what was done) -> closed (who, when). Hub-local like the return visit.
    Complaints recorded before this start open. Portable SQL only (ADD COLUMN, UPDATE)."""
    if getattr(db, "dialect", "sqlite") == "postgresql":
        from edge.store.dialect import table_columns

        have = {name for name, _ in table_columns(db.conn, "care_return_visits")}
    else:
        have = set(db["care_return_visits"].columns_dict)
    for column, sql in (
        ("complaint_status", "TEXT NOT NULL DEFAULT ''"),  # '' (none), open, followed_up, closed
        ("followed_by", "TEXT NOT NULL DEFAULT ''"),
        ("followed_at", "TEXT"),
        ("follow_up", "TEXT NOT NULL DEFAULT ''"),  # what was done
        ("closed_by", "TEXT NOT NULL DEFAULT ''"),
        ("closed_at", "TEXT"),
    ):
        if column not in have:
            db.execute(f"ALTER TABLE care_return_visits ADD COLUMN {column} {sql}")
    db.execute(
        "UPDATE care_return_visits SET complaint_status = 'open'"
        " WHERE complaint != '' AND complaint_status = ''"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS care_return_visits_complaints"
        " ON care_return_visits (complaint_status, created_at)"
    )


@migrations()
def m116_cancel_order_index(db: sqlite_utils.Database) -> None:
    """The operator's orders page shows, for each order, the hub's cancel commands for it
    and their results: found by the order id in the command's args (an expression
    index, as m110's care indexes), not by matching every cancel's text (issue 16).
    Runs on both engines; `json_extract` becomes `->>` on PostgreSQL."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS sync_commands_cancel_order
            ON sync_commands (json_extract(args, '$.order_id')) WHERE name = 'cancel_order';
        """
    )


@migrations()
def m117_sync_log_row_by_centre(db: sqlite_utils.Database) -> None:
    """The latest stamp of a row a push updates is looked up in the pushing centre's own
    log (`site_id`, then the row): a row changes only at its owner (DESIGN invariant 4),
    so no other centre's log can hold a later stamp of it. Keyed by the row alone, a
    push's index entries fell across the whole index, among every other centre's rows,
    and the push wrote back most of its pages (issue 16: 50 centres' pushes of 1,280
    changes, `bench/hub_scale.py`'s, dirtied 1.43 WAL pages a change on average and 2.6
    by the last ones); keyed by centre they land in that centre's part. Both engines."""
    db.execute("DROP INDEX IF EXISTS sync_log_row")
    db.execute("CREATE INDEX sync_log_row ON sync_log (site_id, tbl, row_id)")


def apply(conn: sqlite3.Connection) -> None:
    migrations.apply(sqlite_utils.Database(conn))


def ensure(path: str | Path) -> None:
    """Apply pending sync migrations to the database file at `path` (or to the
    PostgreSQL database a `postgresql://` URL names)."""
    from edge.store import connect
    from edge.store.dialect import is_postgres_url

    if is_postgres_url(path):
        from edge.store.pg import apply_set, connect_url

        pg = connect_url(str(path))
        try:
            apply_set(pg, migrations)
        finally:
            pg.raw.close()
        return

    conn = connect(path)
    try:
        apply(conn)
    finally:
        conn.close()
