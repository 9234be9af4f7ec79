"""The hub's SQL is written once, for SQLite, and translated here for PostgreSQL.

Hub and sync code keep SQLite's text (`?` placeholders, `INSERT OR IGNORE`,
`json_extract`, `json_each`): `to_postgres` rewrites a statement into what
PostgreSQL accepts, once per distinct text (cached). The few things a rewrite
cannot express (the catalog: which tables and columns exist) are small helpers
here that ask each engine its own way (`table_names`, `table_columns`).

A connection says which engine it talks to with its `dialect` attribute
(`edge.store.pg.PgConn` has "postgresql"); a plain `sqlite3.Connection` has none.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import Any

POSTGRESQL = "postgresql"
SQLITE = "sqlite"


def dialect_of(conn: Any) -> str:
    return str(getattr(conn, "dialect", SQLITE))


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def _placeholders(sql: str, named: bool) -> str:
    """`?` -> `%s` (and `:name` -> `%(name)s` for named parameters), `%` -> `%%`,
    outside quoted text; psycopg reads every `%` as a placeholder, quoted or not."""
    out: list[str] = []
    quote = ""
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif named and ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            if i > 0 and sql[i - 1] == ":":  # a `::type` cast
                out.append(ch)
            else:
                m = re.match(r":(\w+)", sql[i:])
                assert m is not None
                out.append(f"%({m.group(1)})s")
                i += len(m.group(0))
                continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)", re.I)
_JSON_EACH = re.compile(r"json_each\(\s*%s\s*\)", re.I)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_OR_REPLACE = re.compile(r"\bINSERT\s+OR\s+REPLACE\b", re.I)
_IS_PARAM = re.compile(r"\bIS\s+(NOT\s+)?%s", re.I)
_SCALAR_MAX = re.compile(r"\b(max|min)\(([^()]*,[^()]*)\)", re.I)
_LIKE = re.compile(r"\bLIKE\b", re.I)
_EMPTY_IN = re.compile(r"\bIN\s*\(\s*\)", re.I)
_DDL = re.compile(r"^\s*(CREATE|ALTER)\s", re.I)
_DDL_TYPES = [
    (re.compile(r"\)\s*WITHOUT\s+ROWID", re.I), ")"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
]


@lru_cache(maxsize=4096)
def to_postgres(sql: str, named: bool = False) -> str:
    """One SQLite statement as PostgreSQL text (placeholders for psycopg)."""
    if _OR_REPLACE.search(sql):
        raise ValueError(f"INSERT OR REPLACE has no PostgreSQL form; use ON CONFLICT: {sql}")
    out = _placeholders(sql, named)
    if _OR_IGNORE.match(out):
        out = _OR_IGNORE.sub("INSERT INTO", out, count=1).rstrip().rstrip(";")
        out += " ON CONFLICT DO NOTHING"
    out = _JSON_EXTRACT.sub(lambda m: f"({m.group(1)}::jsonb ->> '{m.group(2)}')", out)
    out = _JSON_EACH.sub("jsonb_array_elements_text(%s::jsonb)", out)
    out = _IS_PARAM.sub(
        lambda m: "IS DISTINCT FROM %s" if m.group(1) else "IS NOT DISTINCT FROM %s", out
    )
    out = _SCALAR_MAX.sub(
        lambda m: f"{'greatest' if m.group(1).lower() == 'max' else 'least'}({m.group(2)})", out
    )
    # `IN ()` (an empty list built in Python): SQLite's false, `NOT IN ()` true.
    out = _EMPTY_IN.sub("IN (SELECT NULL WHERE FALSE)", out)
    # SQLite's LIKE ignores the case of ASCII letters; PostgreSQL's ILIKE does the same.
    out = _LIKE.sub("ILIKE", out)
    if _DDL.match(out):
        for pattern, repl in _DDL_TYPES:
            out = pattern.sub(repl, out)
    return out


def split_script(script: str) -> list[str]:
    """The statements of a DDL script (no `;` inside its quoted text), comments dropped."""
    text = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def quote(name: str) -> str:
    """A table or column name as a quoted identifier (the same in both engines)."""
    return '"' + name.replace('"', '""') + '"'


def table_names(conn: Any) -> list[str]:
    """The database's own tables (not the engine's, not the migration records)."""
    if dialect_of(conn) == POSTGRESQL:
        rows = conn.execute(  # tables and partitioned tables, not their partitions
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
            " AND NOT c.relispartition ORDER BY c.relname"
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
    return [str(r[0]) for r in rows if not str(r[0]).startswith(("sqlite_", "_"))]


def table_columns(conn: Any, table: str) -> list[tuple[str, str]]:
    """(name, declared type upper-cased) of each column, in order."""
    if dialect_of(conn) == POSTGRESQL:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return [(str(r[0]), _PG_TYPES.get(str(r[1]), str(r[1]).upper())) for r in rows]
    cur: sqlite3.Cursor = conn.execute(f"PRAGMA table_info({quote(table)})")
    return [(str(r[1]), str(r[2] or "").upper()) for r in cur.fetchall()]


_PG_TYPES = {"text": "TEXT", "bigint": "INTEGER", "double precision": "REAL", "bytea": "BLOB"}
