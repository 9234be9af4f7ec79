"""Backups: SQLite's online backup API, safe while the server runs.

Restore refuses a file that is not a Linli database (no `meta` table with a
site id, or no Linli migrations), so a wrong USB stick cannot wipe a centre,
and a hub's database offered as a centre's (it holds every centre's residents).
Restore also refuses while `linli serve` runs on the file: the server holds a
shared lock on `<db>-serve.lock` (the one `centre join` waits for), and a
server left running would go on writing into the file restore just replaced,
so an order answered 201 would be gone after the next restart.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.errors import BadRequest, Conflict
from sync.enrol import lock_path


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


def database_role(path: Path) -> str:
    """ "hub" or "centre" for a Linli database file ("" if it is missing).

    The hub's file says so in `meta`; one without the mark but with enrolled
    centres in `sync_centres` is a hub's too."""
    if not path.is_file():
        return ""
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        role = conn.execute("SELECT value FROM meta WHERE key = 'role'").fetchone()
        if role is not None and role[0] == "hub":
            return "hub"
        try:
            centres = conn.execute("SELECT COUNT(*) FROM sync_centres").fetchone()[0]
        except sqlite3.OperationalError:  # no sync tables: never a hub
            centres = 0
        return "hub" if centres else "centre"
    except sqlite3.DatabaseError:
        return ""
    finally:
        conn.close()


@contextmanager
def not_served(db_path: Path) -> Iterator[None]:
    """Held while the file is replaced; Conflict while `linli serve` runs on it.

    The same exclusive lock `linli centre join` takes (sync.enrol.joining_lock):
    every running centre server holds it shared, and a server starting while the
    restore runs waits for it."""
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"a Linli server is running on {db_path}: stop it (linli serve), restore, "
                "then start it again; nothing was changed"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def restore(backup_path: Path, db_path: Path) -> str:
    """Replace the database with a checked backup; refused while a server runs on it.

    A hub's database is restored only over a hub's: offered as a centre's it would
    put every centre's residents on one box."""
    site_id = check_linli_file(backup_path)
    if database_role(backup_path) == "hub" and database_role(db_path) != "hub":
        raise BadRequest(
            f"{backup_path} is the hub's database, not a centre's: restore a backup "
            "of this centre (linli backup on the centre's box); nothing was changed"
        )
    with not_served(db_path):
        for suffix in ("-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
        tmp = db_path.with_suffix(".restoring")
        shutil.copyfile(backup_path, tmp)
        tmp.replace(db_path)
    return site_id
