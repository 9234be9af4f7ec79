"""`linli restore` never runs under a live server, and never takes a hub's database.

Real processes: `linli serve` on a real file, `linli restore` beside it.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_fixtures import free_port, linli_command
from sync_fixtures import linli_in_process


def linli(*args: str) -> subprocess.CompletedProcess[str]:
    """A `linli` command run in the test process (`linli_in_process`: a Python started per
    command spent its time importing); the server the tests attack is a real process."""
    return linli_in_process(*args)


def households(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in conn.execute("SELECT name FROM households"))
    finally:
        conn.close()


class Server:
    def __init__(self, db: Path, folder: Path) -> None:
        self.db = db
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                *linli_command(),
                "serve",
                "--db",
                str(self.db),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-sync",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("linli serve did not come up")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def centre_db(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    db = tmp_path / "centre.db"
    assert linli("centre", "init", "--db", str(db), "--name", "金沙路社区").returncode == 0
    add = ["staff", "add", "--db", str(db), "--name", "小玮", "--role", "manager"]
    r = linli(*add, "--pin", "1234", "--token")
    assert r.returncode == 0, r.stderr
    token = r.stdout.split("API token:")[1].strip()
    yield db, token


def test_restore_is_refused_while_the_server_runs(
    tmp_path: Path, centre_db: tuple[Path, str]
) -> None:
    db, token = centre_db
    assert linli("backup", "--db", str(db), "--to", str(tmp_path / "backup.db")).returncode == 0
    server = Server(db, tmp_path)
    server.start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        before = httpx.post(
            f"{server.url}/api/v1/households", json={"name": "张桂兰"}, headers=auth
        )
        assert before.status_code == 201, before.text

        r = linli("restore", "--db", str(db), str(tmp_path / "backup.db"))
        assert r.returncode == 2
        assert "server is running" in r.stderr and "nothing was changed" in r.stderr

        # The server still writes into the file restore left alone.
        after = httpx.post(f"{server.url}/api/v1/households", json={"name": "王秀英"}, headers=auth)
        assert after.status_code == 201, after.text
    finally:
        server.stop()

    # Both answered writes survive a restart.
    server.start()
    try:
        got = httpx.get(
            f"{server.url}/api/v1/households", headers={"Authorization": f"Bearer {token}"}
        )
        assert got.status_code == 200
        assert households(db) == ["张桂兰", "王秀英"]
    finally:
        server.stop()

    # With the server stopped, the restore goes through (and gives back the backup).
    r = linli("restore", "--db", str(db), str(tmp_path / "backup.db"))
    assert r.returncode == 0, r.stderr
    assert households(db) == []


def test_a_hub_database_is_not_restored_as_a_centre(
    tmp_path: Path, centre_db: tuple[Path, str]
) -> None:
    db, _token = centre_db
    hub = tmp_path / "hub.db"
    assert linli("hub", "add-centre", "--db", str(hub), "--name", "金沙路社区").returncode == 0
    for target in (db, tmp_path / "t.db"):
        r = linli("restore", "--db", str(target), str(hub))
        assert r.returncode == 2
        assert "hub's database" in r.stderr and "nothing was changed" in r.stderr
    assert not (tmp_path / "t.db").exists()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'role'").fetchone() == ("centre",)
        assert conn.execute("SELECT COUNT(*) FROM staff").fetchone() == (1,)
    finally:
        conn.close()

    # A hub's own backup still restores over the hub.
    assert (
        linli("backup", "--db", str(hub), "--to", str(tmp_path / "hub-backup.db")).returncode == 0
    )
    r = linli("restore", "--db", str(hub), str(tmp_path / "hub-backup.db"))
    assert r.returncode == 0, r.stderr
