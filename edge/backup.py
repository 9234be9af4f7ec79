"""Backups: SQLite's online backup API, safe while the server runs.

Restore refuses a file that is not a Linli database (no `meta` table with a
site id, or no Linli migrations), so a wrong USB stick cannot wipe a centre.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from edge.errors import BadRequest


def backup(db_path: Path, dest: Path) -> Path:
    if dest.is_dir():
        dest = dest / f"{db_path.stem}-backup.db"
    src = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    return dest


def check_linli_file(path: Path) -> str:
    """The site id inside a Linli database file; BadRequest if it is anything else."""
    if not path.is_file():
        raise BadRequest(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()
            conn.execute("SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'linli'")
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BadRequest(f"{path} is not a Linli database ({exc})") from exc
    if row is None:
        raise BadRequest(f"{path} is not a Linli database (no site id)")
    if ok != "ok":
        raise BadRequest(f"{path} is damaged: {ok}")
    return str(row[0])


def restore(backup_path: Path, db_path: Path) -> str:
    """Replace the database with a checked backup; the server must be stopped."""
    site_id = check_linli_file(backup_path)
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    tmp = db_path.with_suffix(".restoring")
    shutil.copyfile(backup_path, tmp)
    tmp.replace(db_path)
    return site_id
