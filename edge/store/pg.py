"""The hub's store on PostgreSQL: the interface of `edge.store.Store` over a psycopg 3
connection pool, for a hub that outgrew one SQLite file (`--db postgresql://...`).

- `PgConn` wraps one pooled connection so the hub's SQLite-flavoured SQL runs
  unchanged: each statement goes through `dialect.to_postgres`, rows answer by
  name and by position (like `sqlite3.Row`), integrity errors surface as
  `sqlite3.IntegrityError` (what the sync code catches), booleans are stored as
  0/1 and integral `numeric` results come back as `int`.
- `PgStore.write` runs a unit of work in its own transaction that first takes one
  transaction-scoped advisory lock: the writes of every hub process against the
  database are serialised, as SQLite's one writer serialised them, so the hub's
  read-then-write rules (next seq, "applied once") hold across processes. A push
  (`write(fn, only=site_id)`) touches one centre's rows and its position alone: it
  takes that centre's lock instead, so pushes of different centres run side by
  side, and two of one centre (a retry sent to another process) one after the other.
- Reads run on autocommit connections from the same pool.

psycopg is imported here only: the centre, and a hub on SQLite, never load it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from edge.errors import EdgeError
from edge.store import changelog
from edge.store.database import Store, Tx, get_meta
from edge.store.dialect import POSTGRESQL, split_script, to_postgres
from edge.store.hlc import HybridClock

T = TypeVar("T")

# pg_advisory_xact_lock key of the hub's writes ("linli" in ASCII), and the first key of
# the per-centre locks a push takes (two int4 keys: a space of their own).
WRITE_LOCK = 0x6C696E6C69
CENTRE_LOCK = 0x6C696E6C


class PgRow(tuple[Any, ...]):
    """A result row by position and by column name, as `sqlite3.Row` is."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


_ROW_CLASSES: dict[tuple[str, ...], type[PgRow]] = {}


def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    cls = _ROW_CLASSES.get(names)
    if cls is None:
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            index.setdefault(name, i)
        cls = type("PgRow", (PgRow,), {"__slots__": (), "_names": names, "_index": index})
        _ROW_CLASSES[names] = cls
    return cls


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    desc = cursor.description
    cls = _row_class(tuple(c.name for c in desc) if desc else ())
    return lambda values: cls(values)


class _BoolAsInt(Dumper):
    """SQLite keeps booleans as 0/1 in INTEGER columns; so does the hub's PostgreSQL."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsNumber(Loader):
    """sum() of integers is `numeric` in PostgreSQL: back as int (float if fractional)."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        if "." in text or "e" in text.lower() or "N" in text:
            return float(text)
        return int(text)


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


_KINDS = (
    (psycopg.errors.ForeignKeyViolation, "FOREIGN KEY"),
    (psycopg.errors.NotNullViolation, "NOT NULL"),
    (psycopg.errors.UniqueViolation, "UNIQUE"),
    (psycopg.errors.CheckViolation, "CHECK"),
)


def _integrity(exc: psycopg.IntegrityError) -> sqlite3.IntegrityError:
    """The error as SQLite words it ("FOREIGN KEY constraint failed: ..."), the type the
    sync code catches, so a refusal reads the same on both engines."""
    kind = next((name for cls, name in _KINDS if isinstance(exc, cls)), "")
    detail = exc.diag.message_primary or str(exc)
    return sqlite3.IntegrityError(f"{kind} constraint failed: {detail}" if kind else detail)


class PgConn:
    """One PostgreSQL connection that takes the hub's SQLite-flavoured SQL."""

    dialect = POSTGRESQL

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        named = isinstance(params, dict)
        query = to_postgres(sql, named)
        try:
            return self.raw.execute(query, params if named else tuple(params))
        except psycopg.IntegrityError as exc:
            raise _integrity(exc) from exc

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A read whose rows are plain tuples (by position only): thousands of rows
        without a `PgRow` each, as `views._tuples` does on SQLite."""
        cur = self.raw.cursor(row_factory=tuple_row)
        return cur.execute(to_postgres(sql), tuple(params))

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Any:
        query = to_postgres(sql)
        cur = self.raw.cursor()
        try:
            cur.executemany(query, [tuple(p) for p in seq])
        except psycopg.IntegrityError as exc:
            raise _integrity(exc) from exc
        return cur

    def copy_rows(self, table: str, cols: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """INSERT of new rows as one COPY (`sync.ingest.insert_rows`): several times
        faster than an INSERT per row. Returns how many rows went in. A row the
        database refuses raises `sqlite3.IntegrityError` (a value COPY cannot read
        as its column's type too, so the caller's reference path decides, as an
        INSERT would); the caller rolls back to its savepoint."""
        cur = self.raw.cursor()
        try:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.IntegrityError as exc:
            raise _integrity(exc) from exc
        except psycopg.DataError as exc:
            raise sqlite3.IntegrityError(f"COPY refused a value: {exc}") from exc
        return int(cur.rowcount)

    def executescript(self, script: str) -> None:
        for statement in split_script(script):
            self.execute(statement)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


class PgStore(Store):
    """`Store` on a PostgreSQL database: the same write/read interface, a pool of
    connections instead of one writer thread and per-thread readers."""

    def __init__(self, url: str, *, size: int = 8) -> None:
        self.path = url  # type: ignore[assignment]  # where it lives, for messages
        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            configure=_configure,
            open=True,
            name="linli-hub",
        )
        self._pool_threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="linli-pg")
        self._closed = False
        self.fault = None
        with self.pool.connection() as raw:
            conn = PgConn(raw)
            migrate_postgres(conn)
            self.site_id = get_meta(conn, "site_id") or ""  # type: ignore[arg-type]
            self.clock = HybridClock(last=changelog.last_hlc(conn))  # type: ignore[arg-type]

    @property
    def closed(self) -> bool:
        """True once `close` ran: a hub app's next lifespan opens its store again."""
        return self._closed

    # --- writing -----------------------------------------------------------
    def _run_write(self, fn: Callable[[Tx], T], only: str | None = None) -> T:
        with self.pool.connection() as raw:
            with raw.transaction():
                conn = PgConn(raw)
                if only is not None:  # one centre's rows: that centre's lock alone
                    raw.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (CENTRE_LOCK, only)
                    )
                    return fn(Tx(conn, self.site_id, self.clock))  # type: ignore[arg-type]
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                if self.site_id:  # another hub process may have stamped a change since
                    last = raw.execute(
                        "SELECT hlc FROM changes WHERE site_id = %s ORDER BY seq DESC LIMIT 1",
                        (self.site_id,),
                    ).fetchone()
                    if last is not None:
                        self.clock.observe(int(last[0]))
                return fn(Tx(conn, self.site_id, self.clock))  # type: ignore[arg-type]

    def submit(self, fn: Callable[[Tx], T]) -> Future[T]:
        if self._closed:
            raise EdgeError("store is closed")
        return self._pool_threads.submit(self._run_write, fn)

    async def write(self, fn: Callable[[Tx], T], *, only: str | None = None) -> T:
        if self._closed:
            raise EdgeError("store is closed")
        return await asyncio.wrap_future(self._pool_threads.submit(self._run_write, fn, only))

    def write_sync(self, fn: Callable[[Tx], T]) -> T:
        if self._closed:
            raise EdgeError("store is closed")
        return self._run_write(fn)

    def checkpoint_in_background(self) -> None:
        """Nothing to do: PostgreSQL's checkpointer is a process of its own."""

    def hold_in_memory(self, *, cache_mib: int, map_mib: int) -> None:
        """Nothing to do: PostgreSQL's cache is the server's (`shared_buffers`)."""

    # --- reading -----------------------------------------------------------
    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self.pool.connection() as raw:
            return fn(PgConn(raw))  # type: ignore[arg-type]

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool_threads, self._run_read, fn)

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._run_read(fn)

    # --- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool_threads.shutdown(wait=True)
        self.pool.close()


# --- migrations ---------------------------------------------------------------
MIGRATIONS_TABLE = "_linli_migrations"
MIGRATE_LOCK = WRITE_LOCK + 1


class PgMigrationDb:
    """What a migration function uses of `sqlite_utils.Database`, on PostgreSQL.

    The migrations are written once (SQLite DDL); this runs them translated. A
    migration that SQLite cannot express in DDL alone (m111 rebuilds a table to
    change a CHECK) asks `db.dialect` and takes PostgreSQL's one-statement way.
    """

    dialect = POSTGRESQL

    def __init__(self, conn: PgConn) -> None:
        self.conn = conn

    def executescript(self, script: str) -> None:
        self.conn.executescript(script)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        head = sql.lstrip().upper()
        if head.startswith("PRAGMA AUTO_VACUUM"):
            return _Answer([(2,)])  # nothing to switch: PostgreSQL vacuums by itself
        if head.startswith(("PRAGMA", "VACUUM")):
            return _Answer([])
        return self.conn.execute(sql, params)

    def table_names(self) -> list[str]:
        from edge.store.dialect import table_names

        return table_names(self.conn)


class _Answer:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


def apply_set(conn: PgConn, migrations: Any) -> None:
    """Apply one `sqlite_utils.Migrations` set's pending migrations, each in its own
    transaction with its record (DDL is transactional in PostgreSQL). Hub processes
    starting together take turns on an advisory lock."""
    raw = conn.raw
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (migration_set TEXT NOT NULL,"
        " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
        " PRIMARY KEY (migration_set, name))"
    )
    db = PgMigrationDb(conn)
    applied = {
        r[0]
        for r in raw.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = %s", (migrations.name,)
        ).fetchall()
    }
    for migration in migrations._migrations:
        if migration.name in applied:
            continue
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            done = raw.execute(
                f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE migration_set = %s AND name = %s",
                (migrations.name, migration.name),
            ).fetchone()
            if done:
                continue
            migration.fn(db)
            raw.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (migration_set, name) VALUES (%s, %s)",
                (migrations.name, migration.name),
            )


def migrate_postgres(conn: PgConn) -> None:
    """The centre's schema sets (the hub keeps the same tables), as `migrations.migrate`."""
    from edge.store import supply_schema
    from edge.store.migrations import migrations

    apply_set(conn, migrations)
    apply_set(conn, supply_schema.migrations)


def connect_url(url: str) -> PgConn:
    """One connection of its own (migrations, the CLI's short jobs); close `.raw` after."""
    raw = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
    _configure(raw)
    return PgConn(raw)


__all__ = ["PgConn", "PgRow", "PgStore", "apply_set", "connect_url", "migrate_postgres"]
