"""The `linli` command: init a centre, add staff, back up and restore.

Each command is `edge.cli.main` run in this process (`linli_in_process`: its exit status,
stdout and stderr as a process gives them): a Python started per command spent most of
its ~0.3 s of CPU importing. The installed command as a process: tests/box/test_deploy.py
and the end-to-end tests."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from sync_fixtures import linli_in_process


def linli(*args: str) -> subprocess.CompletedProcess[str]:
    return linli_in_process(*args)


def test_init_staff_backup_restore(tmp_path: Path) -> None:
    db = tmp_path / "centre.db"
    r = linli("centre", "init", "--db", str(db), "--name", "金沙路社区")
    assert r.returncode == 0 and "site id" in r.stdout
    assert linli("centre", "init", "--db", str(db), "--name", "again").returncode == 2
    r = linli(
        "staff",
        "add",
        "--db",
        str(db),
        "--name",
        "小玮",
        "--role",
        "manager",
        "--pin",
        "1234",
        "--token",
    )
    assert r.returncode == 0 and "API token:" in r.stdout
    assert linli("staff", "add", "--db", str(db), "--name", "x", "--pin", "12").returncode == 2
    set_pin = ["staff", "set-pin", "--db", str(db), "--name"]
    assert linli(*set_pin, "小玮", "--pin", "5678").returncode == 0
    assert linli(*set_pin, "nobody", "--pin", "5678").returncode != 0
    assert linli(*set_pin, "小玮", "--pin", "56").returncode != 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0  # token revoked
    pin_hash = conn.execute("SELECT pin_hash FROM staff").fetchone()[0]
    conn.close()
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(pin_hash, "5678")

    r = linli("backup", "--db", str(db), "--to", str(tmp_path))
    assert r.returncode == 0
    backup = tmp_path / "centre-backup.db"
    assert backup.exists()

    # damage the live database's staff, then restore
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM staff")
    conn.commit()
    conn.close()
    r = linli("restore", "--db", str(db), str(backup))
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT name FROM staff").fetchall() == [("小玮",)]
    conn.close()


def test_restore_refuses_a_file_that_is_not_linli(tmp_path: Path) -> None:
    db = tmp_path / "centre.db"
    linli("centre", "init", "--db", str(db), "--name", "金沙路社区")
    other = tmp_path / "photos.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE photos (id)")
    conn.commit()
    conn.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    missing = tmp_path / "missing.db"
    for wrong, why in (
        (other, f"{other} is not a Linli database (no such table: meta)"),
        (junk, f"{junk} is not a Linli database (file is not a database)"),
        (missing, f"{missing} does not exist"),
    ):
        r = linli("restore", "--db", str(db), str(wrong))
        assert r.returncode == 2
        assert r.stderr == f"linli: {why}\n"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key='centre_name'").fetchone() == (
        "金沙路社区",
    )
    conn.close()


def test_hub_add_supplier_prints_a_token_once(tmp_path: Path) -> None:
    hub = tmp_path / "hub.db"
    r = linli("hub", "add-supplier", "--db", str(hub), "--name", "胶州合作社")
    assert r.returncode == 0 and "token: sup_" in r.stdout
    again = linli("hub", "add-supplier", "--db", str(hub), "--name", "胶州合作社")
    assert again.returncode == 2 and "exists" in again.stderr


def test_staff_remove_ends_the_persons_tokens(tmp_path: Path) -> None:
    db = tmp_path / "centre.db"
    assert linli("centre", "init", "--db", str(db), "--name", "金沙路社区").returncode == 0
    add = ["staff", "add", "--db", str(db), "--role", "staff", "--pin", "2345", "--token"]
    assert linli(*add, "--name", "王姐").returncode == 0
    assert linli(*add, "--name", "李叔").returncode == 0
    r = linli("staff", "remove", "--db", str(db), "--name", "王姐")
    assert r.returncode == 0 and "王姐" in r.stdout, r.stderr
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT s.name, s.active, COUNT(x.staff_id) FROM staff s"
        " LEFT JOIN sessions x ON x.staff_id = s.id GROUP BY s.id ORDER BY s.name"
    ).fetchall()
    conn.close()
    assert sorted(rows) == [("李叔", 1, 1), ("王姐", 0, 0)]
    again = linli("staff", "remove", "--db", str(db), "--name", "王姐")
    assert again.returncode != 0 and "no staff member" in again.stderr
