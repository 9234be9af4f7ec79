"""The supply loop's tables, in their own migration set ("linli-supply").

Applied by `edge.store.migrations.migrate` after the "linli" set, on centres and on
the hub alike (the hub's merged store has the same schema). Every table with
`id` and `site_id` is shared by sync; who owns its rows decides which way it
flows:

- centre-owned, flowing up: `supply_buffers` (the manager's walk-in buffer),
  `supply_consolidated` + `_lines` (the locked order, version 1, and its
  numbered amendments), `supply_receipts` (what arrived at 06:00),
  `supply_return_notes` + `_lines` (leftovers going back at noon); plus
  `orders.short` and `order_items.allocated_qty` (shortage shares).
- hub-owned, flowing down: `supply_dispatch_notes` + `_lines`,
  `supply_price_lists` + `supply_prices`, `supply_return_confirmations`.
  Each carries `centre_id`, the centre it is addressed to (NULL = every
  centre); a centre reads only rows addressed to it or to all.
- hub-local (no `site_id`, never shared): `supply_suppliers`, the co-op's
  accounts with their bearer tokens stored hashed.

Quantities are integers in the base unit of the line's `qty_unit`: grams
('g'), pieces ('piece') or bundles ('bundle'); money is integer fen.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("linli-supply")


@migrations()
def m401_supply_initial(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE orders ADD COLUMN short INTEGER NOT NULL DEFAULT 0")
    # NULL: the item is filled in full; a number: what a shortage left it (base units).
    db.execute("ALTER TABLE order_items ADD COLUMN allocated_qty INTEGER")
    db.executescript(
        """
        CREATE TABLE supply_buffers (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            delivery_date TEXT NOT NULL,
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            quantity INTEGER NOT NULL CHECK (quantity >= 0),
            updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX supply_buffers_key
            ON supply_buffers (site_id, delivery_date, product_id, qty_unit);

        CREATE TABLE supply_consolidated (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            delivery_date TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            kind TEXT NOT NULL CHECK (kind IN ('locked', 'amendment')),
            cutoff_at TEXT NOT NULL,
            locked_at TEXT NOT NULL,
            diff TEXT NOT NULL DEFAULT '[]',
            sent_by_hand_at TEXT,
            sent_by_hand_by TEXT
        );
        CREATE UNIQUE INDEX supply_consolidated_key
            ON supply_consolidated (delivery_date, site_id, version);

        CREATE TABLE supply_consolidated_lines (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            consolidated_id TEXT NOT NULL,
            delivery_date TEXT NOT NULL,
            version INTEGER NOT NULL,
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            unit_label TEXT NOT NULL DEFAULT '',
            bundle_size INTEGER NOT NULL DEFAULT 1,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            ordered_qty INTEGER NOT NULL,
            buffer_qty INTEGER NOT NULL,
            total_qty INTEGER NOT NULL
        );
        CREATE INDEX supply_consolidated_lines_head ON supply_consolidated_lines (consolidated_id);

        CREATE TABLE supply_receipts (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            delivery_date TEXT NOT NULL,
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            expected_qty INTEGER NOT NULL,
            expected_from TEXT NOT NULL,
            arrived_qty INTEGER NOT NULL CHECK (arrived_qty >= 0),
            staff_id TEXT,
            recorded_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX supply_receipts_key
            ON supply_receipts (site_id, delivery_date, product_id, qty_unit);

        CREATE TABLE supply_return_notes (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            delivery_date TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            staff_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX supply_return_notes_key ON supply_return_notes (site_id, delivery_date);
        CREATE TABLE supply_return_lines (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            note_id TEXT NOT NULL,
            delivery_date TEXT NOT NULL,
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            quantity INTEGER NOT NULL CHECK (quantity >= 0)
        );
        CREATE UNIQUE INDEX supply_return_lines_key
            ON supply_return_lines (note_id, product_id, qty_unit);

        -- hub-owned, addressed by centre_id (NULL = every centre)
        CREATE TABLE supply_dispatch_notes (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            centre_id TEXT,
            delivery_date TEXT NOT NULL,
            revision INTEGER NOT NULL,
            supplier TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            idempotency_key TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX supply_dispatch_notes_day
            ON supply_dispatch_notes (delivery_date, centre_id, revision);
        CREATE TABLE supply_dispatch_lines (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            note_id TEXT NOT NULL,
            centre_id TEXT,
            delivery_date TEXT NOT NULL,
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            shipped_qty INTEGER NOT NULL CHECK (shipped_qty >= 0),
            short_qty INTEGER NOT NULL DEFAULT 0 CHECK (short_qty >= 0),
            substitute_for TEXT,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX supply_dispatch_lines_note ON supply_dispatch_lines (note_id);

        CREATE TABLE supply_price_lists (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            centre_id TEXT,
            effective_from TEXT NOT NULL,
            supplier TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            idempotency_key TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE supply_prices (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            price_list_id TEXT NOT NULL,
            centre_id TEXT,
            effective_from TEXT NOT NULL,
            created_at TEXT NOT NULL,
            product_id TEXT,
            product_name TEXT NOT NULL,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0)
        );
        CREATE INDEX supply_prices_lookup ON supply_prices (product_name, qty_unit, effective_from);

        CREATE TABLE supply_return_confirmations (
            id TEXT PRIMARY KEY,              -- = the return note's id: confirmed at most once
            site_id TEXT NOT NULL,
            centre_id TEXT,
            delivery_date TEXT NOT NULL,
            supplier TEXT NOT NULL DEFAULT '',
            accepted TEXT NOT NULL DEFAULT '[]',  -- [[product_id, qty_unit, quantity], ...]
            note TEXT NOT NULL DEFAULT '',
            confirmed_at TEXT NOT NULL
        );

        -- hub-local: never shared (no site_id)
        CREATE TABLE supply_suppliers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL UNIQUE,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m402_hub_scale_indexes(db: sqlite_utils.Database) -> None:
    """Indexes for the hub's reads across every centre (issue 16; bench/hub_scale.py):

    - the co-op's consolidated order reads one delivery day's locked lines of every
      centre, in product order, from the index alone (`supply_consolidated_lines_day`
      holds every column that read takes);
    - the operator's day page adds up each centre's orders of the day from the index
      alone (`orders_day_totals`: day, centre, status, estimate);
    - a pickup code searched on every day and every centre (`orders_pickup_code`).

    A name searched anywhere in a household's name reads every household: a
    trigram index (pg_trgm) was measured and dropped, it keeps no trigram of
    Chinese text under the C locale and a two-character name has none at all, so
    it returned every row and misled the planner.

    In the supply set because it runs after the edge set on both roles and engines
    (the sync set runs first on a fresh hub, before these tables exist). A centre
    gets the same indexes: its tables are small."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS supply_consolidated_lines_day
            ON supply_consolidated_lines (delivery_date, product_name, qty_unit,
                                          consolidated_id, product_id, unit_label, total_qty);
        CREATE INDEX IF NOT EXISTS orders_day_totals
            ON orders (pickup_date, site_id, status, estimated_fen);
        CREATE INDEX IF NOT EXISTS orders_pickup_code ON orders (pickup_code);
        """
    )


# What the consolidated read keys its cache on (hub.supplier.views): per centre and day,
# a counter and a random stamp, both renewed by every write to that centre's locked
# versions or their lines. `_`-named: not shared, not copied by `hub migrate` (the
# triggers fill it as the rows arrive).
_MARKS_TABLE = """
CREATE TABLE IF NOT EXISTS _supply_consolidated_marks (
    delivery_date TEXT NOT NULL,
    site_id TEXT NOT NULL,
    gen INTEGER NOT NULL,
    stamp INTEGER NOT NULL,
    PRIMARY KEY (delivery_date, site_id)
) WITHOUT ROWID;
"""
_MARKED = ("supply_consolidated", "supply_consolidated_lines")


def _sqlite_mark(row: str) -> str:
    return (
        "INSERT INTO _supply_consolidated_marks (site_id, delivery_date, gen, stamp)"
        f" VALUES ({row}.site_id, {row}.delivery_date, 1, abs(random() % 2147483648))"
        " ON CONFLICT (delivery_date, site_id) DO UPDATE SET gen = gen + 1,"
        " stamp = abs(random() % 2147483648);"
    )


_PG_MARK_FUNCTION = """
CREATE OR REPLACE FUNCTION _supply_consolidated_mark() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO _supply_consolidated_marks AS m (site_id, delivery_date, gen, stamp)
        VALUES (OLD.site_id, OLD.delivery_date, 1, floor(random() * 2147483648)::bigint)
        ON CONFLICT (delivery_date, site_id) DO UPDATE
        SET gen = m.gen + 1, stamp = floor(random() * 2147483648)::bigint;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO _supply_consolidated_marks AS m (site_id, delivery_date, gen, stamp)
        VALUES (NEW.site_id, NEW.delivery_date, 1, floor(random() * 2147483648)::bigint)
        ON CONFLICT (delivery_date, site_id) DO UPDATE
        SET gen = m.gen + 1, stamp = floor(random() * 2147483648)::bigint;
    END IF;
    RETURN NULL;
END
$$
"""


@migrations()
def m403_consolidated_marks(db: sqlite_utils.Database) -> None:
    """Marks for the consolidated order's cache (issue 16): the co-op's consolidated
    order for a city (5,000 centres, 60,000 lines) takes a second to build, and is
    read far more often than a locked version arrives. Triggers on
    `supply_consolidated` and `_lines` renew a (counter, random stamp) per centre
    and day on every insert, update or delete, whoever writes (a push, `hub
    migrate`'s COPY, the operator). The read sums the day's marks (an index of a
    row per centre) and rebuilds only when the sums moved; the random stamp keeps
    a restored backup that reaches the same counters again from matching.

    The triggers are written for each engine (SQLite's trigger body, PostgreSQL's
    plpgsql function); the table and its index are the same text."""
    pg = getattr(db, "dialect", "sqlite") == "postgresql"
    db.executescript(_MARKS_TABLE)
    if pg:
        raw = db.conn.raw  # type: ignore[attr-defined]  # PgMigrationDb: plpgsql as written
        raw.execute(_PG_MARK_FUNCTION)
        for table in _MARKED:
            raw.execute(
                f"CREATE TRIGGER {table}_mark AFTER INSERT OR UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION _supply_consolidated_mark()"
            )
    else:
        for table in _MARKED:
            db.executescript(
                f"CREATE TRIGGER IF NOT EXISTS {table}_mark_insert AFTER INSERT ON {table}"
                f" BEGIN {_sqlite_mark('NEW')} END;"
                f"CREATE TRIGGER IF NOT EXISTS {table}_mark_update AFTER UPDATE ON {table}"
                f" BEGIN {_sqlite_mark('OLD')} {_sqlite_mark('NEW')} END;"
                f"CREATE TRIGGER IF NOT EXISTS {table}_mark_delete AFTER DELETE ON {table}"
                f" BEGIN {_sqlite_mark('OLD')} END;"
            )
    # Rows already held (an existing hub): a mark for each centre and day.
    db.execute(
        "INSERT INTO _supply_consolidated_marks (site_id, delivery_date, gen, stamp)"
        " SELECT DISTINCT site_id, delivery_date, 1, 0 FROM supply_consolidated WHERE 1 = 1"
        " ON CONFLICT (delivery_date, site_id) DO NOTHING"
    )


# The trigger-kept tables are WITHOUT ROWID with their key's columns first: SQLite
# 3.40's integrity_check (run on every restore) reports a false "NULL value" in a
# WITHOUT ROWID table whose key is not its leading columns.

# m404: what the operator's order search reads instead of every order of a day and
# every household (hub.order_pages). `_`-named like the marks: derived, kept by
# triggers, not shared, not copied by `hub migrate`.
GRAM_POSITIONS = 64  # SQLite's triggers index a name's first 65 characters (see m404)
_SEARCH_TABLES = f"""
CREATE TABLE IF NOT EXISTS _household_grams (
    gram TEXT NOT NULL,
    household_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    PRIMARY KEY (gram, household_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _household_grams_household ON _household_grams (household_id);
CREATE TABLE IF NOT EXISTS _gram_positions (i INTEGER PRIMARY KEY);
INSERT INTO _gram_positions (i) SELECT * FROM (VALUES
    {", ".join(f"({i})" for i in range(1, GRAM_POSITIONS + 1))}) AS p WHERE 1 = 1
    ON CONFLICT (i) DO NOTHING;
CREATE TABLE IF NOT EXISTS _orders_day_totals (
    pickup_date TEXT NOT NULL,
    site_id TEXT NOT NULL,
    orders INTEGER NOT NULL,
    cancelled INTEGER NOT NULL,
    done INTEGER NOT NULL,
    estimated_fen INTEGER NOT NULL,
    PRIMARY KEY (pickup_date, site_id)
) WITHOUT ROWID;
"""

# A household's grams: every two characters of its name in a row; a name longer than
# the positions SQLite's trigger walks gets the empty gram too (always a candidate).
_SQLITE_GRAMS = """
INSERT OR IGNORE INTO _household_grams (site_id, gram, household_id)
SELECT NEW.site_id, substr(NEW.name, i, 2), NEW.id FROM _gram_positions
WHERE i < length(NEW.name);
INSERT OR IGNORE INTO _household_grams (site_id, gram, household_id)
SELECT NEW.site_id, '', NEW.id WHERE length(NEW.name) > {limit};
""".replace("{limit}", str(GRAM_POSITIONS + 1))


# A household's grams go when it is renamed or deleted: found by its centre first
# (`_household_grams_household`, m405).
_DROP_GRAMS = "DELETE FROM _household_grams WHERE site_id = OLD.site_id AND household_id = OLD.id;"
_SQLITE_GRAMS_CHANGE = (
    "CREATE TRIGGER IF NOT EXISTS households_grams_update"
    f" AFTER UPDATE OF name, site_id ON households BEGIN {_DROP_GRAMS} {_SQLITE_GRAMS} END;"
    "CREATE TRIGGER IF NOT EXISTS households_grams_delete AFTER DELETE ON households"
    f" BEGIN {_DROP_GRAMS} END;"
)


def _sqlite_count(row: str, sign: str) -> str:
    """Add (`+`) or take away (`-`) one order's row from its centre's day totals."""
    return (
        "INSERT INTO _orders_day_totals (site_id, pickup_date, orders, cancelled, done,"
        f" estimated_fen) VALUES ({row}.site_id, {row}.pickup_date, {sign}1,"
        f" {sign}({row}.status = 'cancelled'),"
        f" {sign}({row}.status IN ('picked_up', 'delivered')),"
        f" {sign}(CASE WHEN {row}.status = 'cancelled' THEN 0 ELSE {row}.estimated_fen END))"
        " ON CONFLICT (pickup_date, site_id) DO UPDATE SET orders = orders + excluded.orders,"
        " cancelled = cancelled + excluded.cancelled, done = done + excluded.done,"
        " estimated_fen = estimated_fen + excluded.estimated_fen;"
    )


_PG_UPSERT_TOTALS = """
    ON CONFLICT (pickup_date, site_id) DO UPDATE SET orders = t.orders + EXCLUDED.orders,
    cancelled = t.cancelled + EXCLUDED.cancelled, done = t.done + EXCLUDED.done,
    estimated_fen = t.estimated_fen + EXCLUDED.estimated_fen;
"""
_PG_SEARCH_FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION _household_grams_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        INSERT INTO _household_grams (site_id, gram, household_id)
        SELECT n.site_id, substr(n.name, i, 2), n.id
        FROM new_rows n, generate_series(1, length(n.name) - 1) AS i
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        """
    + _DROP_GRAMS
    + """
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO _household_grams (site_id, gram, household_id)
        SELECT NEW.site_id, substr(NEW.name, i, 2), NEW.id
        FROM generate_series(1, length(NEW.name) - 1) AS i
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE OR REPLACE FUNCTION _orders_day_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        INSERT INTO _orders_day_totals AS t
            (site_id, pickup_date, orders, cancelled, done, estimated_fen)
        SELECT site_id, pickup_date, count(*),
            count(*) FILTER (WHERE status = 'cancelled'),
            count(*) FILTER (WHERE status IN ('picked_up', 'delivered')),
            coalesce(sum(estimated_fen) FILTER (WHERE status <> 'cancelled'), 0)
        FROM new_rows GROUP BY site_id, pickup_date
    """
    + _PG_UPSERT_TOTALS
    + """
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO _orders_day_totals AS t
            (site_id, pickup_date, orders, cancelled, done, estimated_fen)
        VALUES (OLD.site_id, OLD.pickup_date, -1, -(OLD.status = 'cancelled')::int,
            -(OLD.status IN ('picked_up', 'delivered'))::int,
            -(CASE WHEN OLD.status = 'cancelled' THEN 0 ELSE OLD.estimated_fen END))
    """
    + _PG_UPSERT_TOTALS
    + """
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO _orders_day_totals AS t
            (site_id, pickup_date, orders, cancelled, done, estimated_fen)
        VALUES (NEW.site_id, NEW.pickup_date, 1, (NEW.status = 'cancelled')::int,
            (NEW.status IN ('picked_up', 'delivered'))::int,
            CASE WHEN NEW.status = 'cancelled' THEN 0 ELSE NEW.estimated_fen END)
    """
    + _PG_UPSERT_TOTALS
    + """
    END IF;
    RETURN NULL;
END
$$
""",
)
_PG_SEARCH_TRIGGERS = (
    # A COPY or a many-row INSERT (a push) is one statement: its new rows at once.
    "CREATE TRIGGER households_grams_insert AFTER INSERT ON households"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION _household_grams_keep()",
    "CREATE TRIGGER households_grams_change AFTER UPDATE OF name, site_id OR DELETE"
    " ON households FOR EACH ROW EXECUTE FUNCTION _household_grams_keep()",
    "CREATE TRIGGER orders_day_insert AFTER INSERT ON orders"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION _orders_day_count()",
    "CREATE TRIGGER orders_day_change AFTER UPDATE OF site_id, pickup_date, status,"
    " estimated_fen OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION _orders_day_count()",
)


@migrations()
def m404_order_search_tables(db: sqlite_utils.Database) -> None:
    """What the operator's order search reads at city scale (issue 16: 2,000,000 orders
    over 1,000 centres), kept by triggers on both engines whoever writes the rows:

    - `_household_grams`: every two characters in a row of each household's name. A
      name searched anywhere in a name (`LIKE '%王秀英%'`) was a read of every
      household; its grams find the few households that hold them all, and the LIKE
      then decides exactly as before. (pg_trgm keeps no trigram of Chinese text under
      the C locale and none of a two-character name, see m402.)
    - `_orders_day_totals`: each centre's orders of a day, cancelled, done and the
      estimate, as the orders page sums them, added to and taken from as orders
      arrive and change, instead of adding up a day's 20,000 orders per search.

    SQLite's triggers are row triggers; PostgreSQL adds a push's rows (one COPY) in
    one statement trigger over its new rows, and an update or delete per row."""
    pg = getattr(db, "dialect", "sqlite") == "postgresql"
    db.executescript(_SEARCH_TABLES)
    if pg:
        raw = db.conn.raw  # type: ignore[attr-defined]  # PgMigrationDb: plpgsql as written
        for sql in (*_PG_SEARCH_FUNCTIONS, *_PG_SEARCH_TRIGGERS):
            raw.execute(sql)
        grams = "generate_series(1, length(h.name) - 1) AS i"
    else:
        db.executescript(
            "CREATE TRIGGER IF NOT EXISTS households_grams_insert AFTER INSERT ON households"
            f" BEGIN {_SQLITE_GRAMS} END;"
            f"{_SQLITE_GRAMS_CHANGE}"
            "CREATE TRIGGER IF NOT EXISTS orders_day_insert AFTER INSERT ON orders"
            f" BEGIN {_sqlite_count('NEW', '')} END;"
            "CREATE TRIGGER IF NOT EXISTS orders_day_update"
            " AFTER UPDATE OF site_id, pickup_date, status, estimated_fen ON orders"
            f" BEGIN {_sqlite_count('OLD', '-')} {_sqlite_count('NEW', '')} END;"
            "CREATE TRIGGER IF NOT EXISTS orders_day_delete AFTER DELETE ON orders"
            f" BEGIN {_sqlite_count('OLD', '-')} END;"
        )
        grams = "_gram_positions WHERE i < length(h.name)"
        db.execute(
            "INSERT INTO _household_grams (site_id, gram, household_id) SELECT site_id, '', id"
            f" FROM households WHERE length(name) > {GRAM_POSITIONS + 1}"
            " ON CONFLICT DO NOTHING"
        )
    # What an existing store already holds.
    db.execute(
        "INSERT INTO _household_grams (site_id, gram, household_id)"
        f" SELECT h.site_id, substr(h.name, i, 2), h.id FROM households h, {grams}"
        " ON CONFLICT DO NOTHING"
    )
    db.execute(
        "INSERT INTO _orders_day_totals (site_id, pickup_date, orders, cancelled, done,"
        " estimated_fen) SELECT site_id, pickup_date, COUNT(*),"
        " SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status IN ('picked_up', 'delivered') THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status = 'cancelled' THEN 0 ELSE estimated_fen END)"
        " FROM orders WHERE 1 = 1 GROUP BY site_id, pickup_date ON CONFLICT DO NOTHING"
    )


@migrations()
def m405_grams_by_centre(db: sqlite_utils.Database) -> None:
    """A household's grams are found for a rename or a delete by its centre, then its id:
    keyed by the id alone, every new household's entries fell across the whole index,
    among every other centre's, and a push wrote back most of its pages (issue 16,
    as m117 for `sync_log`). Both engines: the index again, and the triggers that
    delete a household's grams (m404's, which now say the centre too)."""
    db.execute("DROP INDEX IF EXISTS _household_grams_household")
    db.execute(
        "CREATE INDEX _household_grams_household ON _household_grams (site_id, household_id)"
    )
    if getattr(db, "dialect", "sqlite") == "postgresql":
        db.conn.raw.execute(_PG_SEARCH_FUNCTIONS[0])  # type: ignore[attr-defined]
        return
    db.execute("DROP TRIGGER IF EXISTS households_grams_update")
    db.execute("DROP TRIGGER IF EXISTS households_grams_delete")
    db.executescript(_SQLITE_GRAMS_CHANGE)


def apply(conn: sqlite3.Connection) -> None:
    migrations.apply(sqlite_utils.Database(conn))
