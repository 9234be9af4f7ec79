"""The change log: the transactional outbox every mutation writes into.

Each row says which site made the change, its per-site sequence number, its
HLC stamp, and which fields of which row changed. The domain writes it in
the same SQLite transaction as the data (`record`), so a committed change is
always in the log and a rolled-back one never is. Sync ships these rows.

Once the hub has acknowledged a change it holds it for good (`sync_log`, the
history `sync.recover` reads back), so the box does not keep it forever:
`trim_acked` deletes the acknowledged changes but the last `KEEP_ACKED`, and
never the last acknowledged one, which every push resends so the hub can
check the seam (a cloned or restored box). The log then starts after
`trimmed_upto`; asking it for a seq it no longer holds raises `LogTrimmed`
rather than sending a change it cannot rebuild. The change log was half of
a year's database (~940 of ~1,900 bytes an order, `bench/centre_startup.py`).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import msgspec

from edge.errors import EdgeError
from edge.store.hlc import HybridClock

# Acknowledged changes kept in full on the box, newest first: a hub restored from
# its nightly backup asks for the last day or so again (a busy centre writes ~600
# changes a day), and the box can only resend what it still holds.
KEEP_ACKED = 10_000
# At most this many rows deleted by one `trim_acked` call (one short transaction
# on the writer, a bounded WAL); at least this many waiting, or it waits for more.
TRIM_LIMIT = 5_000
TRIM_MIN = 500

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS changes (
    site_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    tbl TEXT NOT NULL,
    row_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    fields TEXT NOT NULL,
    PRIMARY KEY (site_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_row ON changes (tbl, row_id);
"""


class Change(msgspec.Struct, frozen=True, gc=False):
    """One row of a change log. A msgspec struct, not a dataclass: the hub builds one
    per change of every push, and a frozen dataclass took 1.2 us to build against
    0.1 (`gc=False`: it never holds itself, and the collector need not walk it)."""

    site_id: str
    seq: int
    hlc: int
    tbl: str
    row_id: str
    op: str
    fields: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "seq": self.seq,
            "hlc": self.hlc,
            "tbl": self.tbl,
            "row_id": self.row_id,
            "op": self.op,
            "fields": self.fields,
        }


def last_seq(conn: sqlite3.Connection, site_id: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE site_id = ?", (site_id,)
    ).fetchone()
    return int(row[0])


def last_hlc(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(hlc), 0) FROM changes").fetchone()
    return int(row[0])


def record(
    conn: sqlite3.Connection,
    site_id: str,
    clock: HybridClock,
    tbl: str,
    row_id: str,
    op: str,
    fields: dict[str, Any],
) -> Change:
    """Append one change; call inside the transaction that made it."""
    change = Change(
        site_id=site_id,
        seq=last_seq(conn, site_id) + 1,
        hlc=clock.now(),
        tbl=tbl,
        row_id=row_id,
        op=op,
        fields=fields,
    )
    conn.execute(
        "INSERT INTO changes (site_id, seq, hlc, tbl, row_id, op, fields)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            site_id,
            change.seq,
            change.hlc,
            tbl,
            row_id,
            op,
            json.dumps(fields, ensure_ascii=False, separators=(",", ":")),
        ),
    )
    return change


class LogTrimmed(EdgeError):
    """A seq the box acknowledged-and-trimmed was asked for again."""

    status_code = 409
    error = "log_trimmed"


def read_after(conn: sqlite3.Connection, site_id: str, after_seq: int, limit: int) -> list[Change]:
    """The site's own changes after `after_seq`, in order: what a push sends.

    Raises `LogTrimmed` when the box no longer holds seq `after_seq + 1`
    (trimmed after the hub acknowledged it): a batch must never skip a seq.
    """
    rows = read_after_raw(conn, site_id, after_seq, limit)
    return [Change(site_id, r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def read_after_raw(
    conn: sqlite3.Connection, site_id: str, after_seq: int, limit: int
) -> list[tuple[int, int, str, str, str, str]]:
    """`read_after` with each change as stored: (seq, hlc, tbl, row_id, op, fields as
    JSON text). A push copies the text into its batch instead of parsing and
    writing it again (`sync.protocol.encode_log_batch`)."""
    rows = conn.execute(
        "SELECT seq, hlc, tbl, row_id, op, fields FROM changes"
        " WHERE site_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (site_id, after_seq, limit),
    ).fetchall()
    if rows and rows[0][0] != after_seq + 1:
        raise LogTrimmed(
            f"this box no longer holds seq {after_seq + 1} of its change log: it keeps the "
            f"changes from seq {rows[0][0]} on, the older ones were acknowledged by the hub "
            "and trimmed. Something asks for them again: a hub restored from a backup older "
            "than those acknowledgements cannot get them back from this box"
        )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def trimmed_upto(conn: sqlite3.Connection, site_id: str) -> int:
    """The last seq of the site's log the box no longer holds; 0 if it holds it from seq 1.

    `sync.recover` starts the hub's history after it: the seqs both hold are the ones
    it can compare.
    """
    row = conn.execute("SELECT MIN(seq) FROM changes WHERE site_id = ?", (site_id,)).fetchone()
    return 0 if row[0] is None else max(int(row[0]) - 1, 0)


def trim_acked(
    conn: sqlite3.Connection,
    site_id: str,
    acked: int,
    *,
    keep: int = KEEP_ACKED,
    limit: int = TRIM_LIMIT,
    min_rows: int = TRIM_MIN,
) -> int:
    """Delete the site's own changes up to `acked` (the hub's answered position) but
    the last `keep` of them; call in a write transaction after a push the hub answered.

    The last acknowledged change always stays: the next push resends it and the
    hub compares it with what it holds (the seam check against clones and old
    backups), and the log's last seq and last stamp stay those of the box. Deletes
    nothing until `min_rows` are due and at most `limit` rows a call (later calls
    carry on), then hands the freed pages back to the file system when the
    database is in incremental auto-vacuum (migration m004). Returns the rows deleted.
    """
    keep = max(keep, 1)
    upto = min(acked, last_seq(conn, site_id)) - keep
    floor = trimmed_upto(conn, site_id)
    if upto - floor < max(min_rows, 1):
        return 0
    upto = min(upto, floor + limit)
    deleted = conn.execute(
        "DELETE FROM changes WHERE site_id = ? AND seq > ? AND seq <= ?", (site_id, floor, upto)
    ).rowcount
    release_free_pages(conn)
    return int(deleted)


def release_free_pages(conn: sqlite3.Connection) -> int:
    """Give the database's free pages back to the file system (incremental auto-vacuum
    only; otherwise they stay free for the next rows). Works inside a transaction."""
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        return 0
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    # Python's sqlite3 steps a statement without result columns once, and one step of
    # incremental_vacuum frees one page: one statement per page (~20 us each).
    for _ in range(free):
        conn.execute("PRAGMA incremental_vacuum(1)")
    return free
