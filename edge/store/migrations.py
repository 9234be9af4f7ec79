"""Numbered schema migrations, recorded in the database by sqlite-utils.

Every row a site shares carries `site_id`, its owner (DESIGN invariant 4);
tables marked local-only (sessions, login attempts) never reach the change log.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils import Migrations

from edge.store.changelog import SCHEMA_SQL as CHANGELOG_SQL

# The synced shape, sent in every batch; a hub accepts this one and the one before.
# 2: wechat_turns (m003) travels with the orders it points to.
# 3: order_items.amount_fen (m008): a line ordered as an amount of money;
#    money_corrections (m007): a voided hand-over, payment or walk-in sale.
SCHEMA_VERSION = 3

migrations = Migrations("linli")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(CHANGELOG_SQL)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE staff (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('manager', 'staff', 'volunteer')),
            pin_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX staff_name ON staff (site_id, name);

        -- local only: a signed-in tablet or an API client
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            staff_id TEXT NOT NULL REFERENCES staff (id),
            kind TEXT NOT NULL CHECK (kind IN ('page', 'api')),
            created_at TEXT NOT NULL
        );

        CREATE TABLE products (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            name TEXT NOT NULL,
            aliases TEXT NOT NULL DEFAULT '[]',
            category TEXT NOT NULL DEFAULT '',
            sold_by TEXT NOT NULL CHECK (sold_by IN ('weight', 'piece', 'bundle')),
            unit TEXT NOT NULL,
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
            bundle_size INTEGER NOT NULL DEFAULT 1 CHECK (bundle_size >= 1),
            special_price_fen INTEGER,
            special_from TEXT,
            special_to TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            sort INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX products_name ON products (name);

        CREATE TABLE calendars (
            id TEXT PRIMARY KEY,           -- the centre's site id: one calendar a centre
            site_id TEXT NOT NULL,
            weekdays TEXT NOT NULL DEFAULT '0,2,4',   -- Monday = 0
            cutoff TEXT NOT NULL DEFAULT '20:00',     -- the day before delivery
            pickup_hours TEXT NOT NULL DEFAULT '07:00-11:00'
        );
        CREATE TABLE calendar_exceptions (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            calendar_id TEXT NOT NULL,
            day TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('closed', 'extra')),
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE UNIQUE INDEX calendar_exceptions_day ON calendar_exceptions (calendar_id, day);

        CREATE TABLE households (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            name TEXT NOT NULL,
            phone TEXT NOT NULL DEFAULT '',
            phone_tail TEXT NOT NULL DEFAULT '',
            building TEXT NOT NULL DEFAULT '',
            unit TEXT NOT NULL DEFAULT '',
            room TEXT NOT NULL DEFAULT '',
            wechat_nickname TEXT NOT NULL DEFAULT '',
            home_delivery INTEGER NOT NULL DEFAULT 0,
            notes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX households_phone_tail ON households (phone_tail);
        CREATE INDEX households_phone ON households (phone);
        CREATE INDEX households_name ON households (name);
        CREATE INDEX households_nickname ON households (wechat_nickname);

        CREATE TABLE orders (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            household_id TEXT REFERENCES households (id),
            channel TEXT NOT NULL,
            pickup_date TEXT NOT NULL,
            delivery_mode TEXT NOT NULL CHECK (delivery_mode IN ('pickup', 'home')),
            pickup_code TEXT NOT NULL,
            status TEXT NOT NULL,
            notes TEXT NOT NULL DEFAULT '',
            placed_by TEXT NOT NULL DEFAULT '',
            estimated_fen INTEGER NOT NULL DEFAULT 0,
            final_fen INTEGER,
            paid_fen INTEGER NOT NULL DEFAULT 0,
            payment_method TEXT,
            idempotency_key TEXT,
            staff_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX orders_day ON orders (pickup_date, status);
        CREATE INDEX orders_household ON orders (household_id, pickup_date);
        CREATE UNIQUE INDEX orders_code ON orders (site_id, pickup_date, pickup_code);
        CREATE UNIQUE INDEX orders_idem ON orders (site_id, idempotency_key);

        CREATE TABLE order_items (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            order_id TEXT NOT NULL REFERENCES orders (id),
            line INTEGER NOT NULL,
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            sold_by TEXT NOT NULL,
            qty_unit TEXT NOT NULL CHECK (qty_unit IN ('g', 'piece', 'bundle')),
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            unit_price_fen INTEGER NOT NULL,
            estimated_fen INTEGER,
            actual_grams INTEGER,
            final_fen INTEGER
        );
        CREATE INDEX order_items_order ON order_items (order_id);
        CREATE INDEX order_items_product ON order_items (product_id);

        CREATE TABLE payments (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            order_id TEXT REFERENCES orders (id),
            sale_id TEXT,
            method TEXT NOT NULL CHECK (method IN ('cash', 'wechat', 'other')),
            amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
            staff_id TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX payments_order ON payments (order_id);

        CREATE TABLE walkin_sales (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            sold_on TEXT NOT NULL,
            total_fen INTEGER NOT NULL,
            method TEXT NOT NULL,
            staff_id TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX walkin_sales_day ON walkin_sales (sold_on);
        CREATE TABLE walkin_items (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            sale_id TEXT NOT NULL REFERENCES walkin_sales (id),
            product_id TEXT NOT NULL,
            product_name TEXT NOT NULL,
            qty_unit TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            fen INTEGER NOT NULL
        );
        """
    )


@migrations()
def m002_walkin_idempotency(db: sqlite_utils.Database) -> None:
    """A double-tapped walk-in sale records once, like orders."""
    db.execute("ALTER TABLE walkin_sales ADD COLUMN idempotency_key TEXT")
    db.execute("CREATE UNIQUE INDEX walkin_sales_idem ON walkin_sales (site_id, idempotency_key)")


@migrations()
def m003_wechat_turns(db: sqlite_utils.Database) -> None:
    """Which WeChat message turns already became which order, so a re-paste orders only news.

    Shared like the orders it points to (it is part of where an order came from, and a box
    recovered from the hub must not offer those messages again); the text stays in the chat,
    only its hash is kept.
    """
    db.executescript(
        """
        CREATE TABLE wechat_turns (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            order_id TEXT NOT NULL REFERENCES orders (id),
            sender TEXT NOT NULL,           -- the WeChat name, '' for a message pasted alone
            sent_at TEXT,                   -- the timestamp as WeChat printed it, if any
            text_hash TEXT NOT NULL,        -- sha256 of the whitespace-folded text
            created_at TEXT NOT NULL
        );
        CREATE INDEX wechat_turns_text ON wechat_turns (site_id, text_hash);
        CREATE INDEX wechat_turns_order ON wechat_turns (order_id);
        """
    )


@migrations(transactional=False)
def m004_slim_change_log(db: sqlite_utils.Database) -> None:
    """The change log stops growing forever (`edge.store.changelog.trim_acked`).

    `changes_row` (tbl, row_id) is read by no query and took ~230 bytes an order.
    Incremental auto-vacuum lets the pages the trimming frees go back to the file
    system; an existing file switches only through a VACUUM, so this migration
    runs outside a transaction and VACUUMs once: instant on a new database, seconds
    on a year-old box (~2 s for 100,000 orders here), and it needs the file's size
    free on the disk while it runs. Killed halfway, it simply runs again.
    """
    db.execute("DROP INDEX IF EXISTS changes_row")
    if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@migrations()
def m005_session_lifetimes_and_signin_failures(db: sqlite_utils.Database) -> None:
    """Sessions end on the server, and wrong PINs are counted per name (local only).

    A tablet session (kind 'page') ends `idle_s` after its last use or `max_age_s`
    after sign-in; NULL means never (API tokens for machines). Sessions from before
    get the default working day, so one signed in long ago ends at its next use.
    `signin_failures` counts wrong PINs per typed name from any address: `failures`
    since the last right PIN (the wait and the lock), `unseen` since a manager last
    cleared it (the Today page alert). No id or site_id: never synced.
    """
    db.executescript(
        """
        ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
        ALTER TABLE sessions ADD COLUMN idle_s INTEGER;
        ALTER TABLE sessions ADD COLUMN max_age_s INTEGER;
        UPDATE sessions SET idle_s = 14400, max_age_s = 50400 WHERE kind = 'page';
        CREATE INDEX sessions_staff ON sessions (staff_id);

        CREATE TABLE signin_failures (
            name TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            unseen INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_from TEXT NOT NULL DEFAULT ''
        );
        """
    )


@migrations()
def m006_drop_order_items_product(db: sqlite_utils.Database) -> None:
    """No query looks order lines up by product alone (receiving narrows by day and
    order first), and the index cost 77 bytes an order: the SD card keeps the space."""
    db.execute("DROP INDEX IF EXISTS order_items_product")


@migrations()
def m007_money_corrections(db: sqlite_utils.Database) -> None:
    """Undoing a money step is a row of its own, never an edit of the payment or sale.

    Each row reverses one payment (a hand-over's, a later settlement's, or a walk-in
    sale's) and says who did it, why, and which manager's PIN let money leave the
    drawer (a hand-over whose payments were all reversed already gets one row with
    no payment, so its reopening is still on record). The unique index makes a
    payment or sale reversible once, so a double tap or a replayed push cannot give
    the money back twice. `amount_fen` is what
    the row changes in the day's takings (minus what was given back); `day` is the
    day whose takings it changes (the order's pickup day, the sale's day).
    """
    db.executescript(
        """
        CREATE TABLE money_corrections (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('void_handover', 'void_payment', 'void_sale')),
            day TEXT NOT NULL,
            order_id TEXT REFERENCES orders (id),
            sale_id TEXT REFERENCES walkin_sales (id),
            payment_id TEXT REFERENCES payments (id),   -- NULL: a hand-over that took nothing
            amount_fen INTEGER NOT NULL CHECK (amount_fen <= 0),
            reason TEXT NOT NULL,
            staff_id TEXT NOT NULL,
            manager_id TEXT,
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX money_corrections_payment ON money_corrections (payment_id);
        CREATE INDEX money_corrections_day ON money_corrections (day);
        CREATE INDEX money_corrections_order ON money_corrections (order_id);
        CREATE INDEX money_corrections_sale ON money_corrections (sale_id);
        """
    )


@migrations()
def m008_order_item_amount(db: sqlite_utils.Database) -> None:
    """ "十块钱的香菜": a line ordered as an amount of money keeps it. The desk weighs to
    about that amount and charges the amount; NULL is a line ordered by quantity."""
    db.execute("ALTER TABLE order_items ADD COLUMN amount_fen INTEGER")


@migrations()
def m009_care(db: sqlite_utils.Database) -> None:
    """Care services (edge.domain.care): the catalog, elders, providers, bookings and their steps,
    recurring series, day-care check-ins and walk-in lunches. All shared like orders:
    each row is its centre's; the hub's own `care_services` rows are the district catalog.
    `care_recipients.link_code` is what a family types on the hub; not unique in the
    index, so a chance clash between two centres can never block a sync."""
    db.executescript(
        """
        CREATE TABLE care_services (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('at_centre', 'at_home', 'escort')),
            minutes INTEGER NOT NULL CHECK (minutes > 0),
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
            subsidised_fen INTEGER NOT NULL CHECK (subsidised_fen >= 0),
            skills TEXT NOT NULL DEFAULT '[]',
            capacity INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),  -- per slot; 0: none
            meal INTEGER NOT NULL DEFAULT 0,        -- counts for the kitchen (助餐, 送餐)
            day_care INTEGER NOT NULL DEFAULT 0,    -- the day-care room (check-in grid)
            active INTEGER NOT NULL DEFAULT 1,
            sort INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );

        CREATE TABLE care_recipients (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            household_id TEXT REFERENCES households (id),
            name TEXT NOT NULL,
            birth_date TEXT,
            mobility TEXT NOT NULL DEFAULT 'independent',
            diet_notes TEXT NOT NULL DEFAULT '',
            care_notes TEXT NOT NULL DEFAULT '',     -- managers and the assignee only
            emergency_contacts TEXT NOT NULL DEFAULT '[]',
            family TEXT NOT NULL DEFAULT '[]',
            subsidy INTEGER NOT NULL DEFAULT 0,
            day_care INTEGER NOT NULL DEFAULT 0,
            link_code TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE INDEX care_recipients_code ON care_recipients (link_code);
        CREATE INDEX care_recipients_household ON care_recipients (household_id);
        CREATE INDEX care_recipients_name ON care_recipients (name);

        CREATE TABLE care_providers (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind IN ('staff', 'volunteer', 'organisation', 'worker')),
            organisation_id TEXT REFERENCES care_providers (id),
            staff_id TEXT REFERENCES staff (id),
            phone TEXT NOT NULL DEFAULT '',
            skills TEXT NOT NULL DEFAULT '[]',
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );

        CREATE TABLE care_series (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            recipient_id TEXT NOT NULL REFERENCES care_recipients (id),
            service_id TEXT NOT NULL REFERENCES care_services (id),
            weekdays TEXT NOT NULL,                 -- Monday = 0, as in calendars
            start TEXT NOT NULL,
            from_day TEXT NOT NULL,
            to_day TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
            paused_from TEXT,
            channel TEXT NOT NULL,
            request_id TEXT,
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );

        CREATE TABLE care_bookings (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            recipient_id TEXT NOT NULL REFERENCES care_recipients (id),
            service_id TEXT NOT NULL REFERENCES care_services (id),
            series_id TEXT REFERENCES care_series (id),
            provider_id TEXT REFERENCES care_providers (id),
            day TEXT NOT NULL,
            start TEXT NOT NULL,
            minutes INTEGER NOT NULL CHECK (minutes > 0),
            status TEXT NOT NULL CHECK (status IN ('requested', 'confirmed', 'declined',
                'assigned', 'started', 'done', 'not_at_home', 'cancelled')),
            channel TEXT NOT NULL,
            request_id TEXT,                        -- the hub command it answers
            requested_by TEXT NOT NULL DEFAULT '',
            caller TEXT NOT NULL DEFAULT '',
            caller_relation TEXT NOT NULL DEFAULT '',
            callback_phone TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',          -- what was asked for
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
            charged_fen INTEGER NOT NULL CHECK (charged_fen >= 0),
            subsidy_fen INTEGER NOT NULL CHECK (subsidy_fen >= 0),
            reason TEXT NOT NULL DEFAULT '',        -- why declined or cancelled
            visit_note TEXT NOT NULL DEFAULT '',    -- managers and the assignee only
            actual_minutes INTEGER,
            rating INTEGER CHECK (rating BETWEEN 1 AND 5),
            rating_note TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX care_bookings_day ON care_bookings (day, start);
        CREATE INDEX care_bookings_recipient ON care_bookings (recipient_id, day);
        CREATE INDEX care_bookings_provider ON care_bookings (provider_id, day);
        CREATE INDEX care_bookings_request ON care_bookings (request_id);
        CREATE INDEX care_bookings_series ON care_bookings (series_id, day);

        CREATE TABLE care_booking_steps (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            booking_id TEXT NOT NULL REFERENCES care_bookings (id),
            status TEXT NOT NULL,
            by_name TEXT NOT NULL,
            staff_id TEXT REFERENCES staff (id),
            note TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        );
        CREATE INDEX care_booking_steps_booking ON care_booking_steps (booking_id);

        CREATE TABLE care_checkins (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            recipient_id TEXT NOT NULL REFERENCES care_recipients (id),
            day TEXT NOT NULL,
            in_at TEXT NOT NULL,
            out_at TEXT,
            lunch INTEGER NOT NULL DEFAULT 1,
            staff_id TEXT REFERENCES staff (id)
        );
        CREATE UNIQUE INDEX care_checkins_day ON care_checkins (site_id, day, recipient_id);

        CREATE TABLE care_walkin_lunches (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            day TEXT NOT NULL,
            count INTEGER NOT NULL,                 -- a correction is a row of -1
            staff_id TEXT REFERENCES staff (id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX care_walkin_lunches_day ON care_walkin_lunches (day);
        """
    )


@migrations()
def m010_care_activities(db: sqlite_utils.Database) -> None:
    """Neighbourhood activities (优惠帮, 结伴行, 邻里情) with a capacity, and their sign-ups:
    `booked` up to the capacity, then `waiting` in the order they came; a cancelled
    place goes to the first waiting. Part of care (issue 15's number), shared like m009.
    And an index of the bookings still waiting for the manager."""
    db.executescript(
        """
        CREATE TABLE care_activities (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            title TEXT NOT NULL,
            day TEXT NOT NULL,
            start TEXT NOT NULL,
            minutes INTEGER NOT NULL CHECK (minutes > 0),
            place TEXT NOT NULL DEFAULT '',
            capacity INTEGER NOT NULL CHECK (capacity > 0),
            note TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX care_activities_day ON care_activities (day, start);

        CREATE TABLE care_signups (
            id TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            activity_id TEXT NOT NULL REFERENCES care_activities (id),
            recipient_id TEXT REFERENCES care_recipients (id),  -- an elder, or just a name
            name TEXT NOT NULL,
            phone TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('booked', 'waiting', 'cancelled')),
            promoted_at TEXT,                       -- moved from the waiting list
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX care_signups_activity ON care_signups (activity_id, status, created_at);
        -- The manager's new requests, without walking a year of bookings to find them.
        CREATE INDEX care_bookings_requested ON care_bookings (day, start)
            WHERE status = 'requested';
        """
    )


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations; safe to call at every start."""
    migrations.apply(sqlite_utils.Database(conn))
    from edge.store import supply_schema  # after the linli set: it alters its tables

    supply_schema.apply(conn)
