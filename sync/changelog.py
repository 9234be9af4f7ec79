"""The change log: the transactional outbox every mutation writes into.

Each row says which site made the change, its per-site sequence number, its
HLC stamp, and which fields of which row changed. The domain writes it in
the same SQLite transaction as the data (`record`), so a committed change is
always in the log and a rolled-back one never is. Sync ships these rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from sync.hlc import HybridClock

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


@dataclass(frozen=True, slots=True)
class Change:
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


def read_after(conn: sqlite3.Connection, site_id: str, after_seq: int, limit: int) -> list[Change]:
    """The site's own changes after `after_seq`, in order: what a push sends."""
    rows = conn.execute(
        "SELECT site_id, seq, hlc, tbl, row_id, op, fields FROM changes"
        " WHERE site_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (site_id, after_seq, limit),
    ).fetchall()
    return [Change(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in rows]
