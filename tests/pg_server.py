"""A real PostgreSQL for the hub's tests: started with initdb/pg_ctl in a temp folder,
once per test process (each xdist worker has its own), listening only on a unix
socket in that folder (no port to collide on), stopped at the session's end.

Each test gets a fresh database copied from a migrated template
(`CREATE DATABASE ... TEMPLATE`, milliseconds). `make test` installs Debian's
postgresql when initdb is missing (Makefile target `postgres`).

As root (CI, this machine) the server runs as the `postgres` user that Debian's
package creates: PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_numbers = itertools.count(1)


def pg_bin(name: str) -> str:
    """A PostgreSQL program: on PATH, else Debian's /usr/lib/postgresql/N/bin (newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: `make test` installs Debian's postgresql "
            "(or: apt-get install postgresql)"
        )
    return candidates[-1]


@dataclass
class PgServer:
    folder: Path
    user: str = "linli"
    template: str = "linli_template"
    # False (tests): no fsync, no waiting on the WAL. True (benchmarks): PostgreSQL's
    # durable defaults, as a hub would run, to compare with SQLite's synchronous=FULL.
    durable: bool = False
    _stopped: bool = field(default=False)

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        data = self.folder / "data"
        self.run(
            pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = f"-k {self.socket_dir} -c listen_addresses='' -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.run(
            pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self.run(pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def make_template(self) -> None:
        """Migrate a database once (every migration set the hub runs) as the template."""
        import psycopg

        from edge.store.pg import PgStore
        from sync import schema as sync_schema

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.template}")
        url = self.url(self.template)
        sync_schema.ensure(url)
        PgStore(url, size=1).close()
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {self.template} WITH ALLOW_CONNECTIONS false")

    def fresh_database(self) -> str:
        """A new database, migrated (a copy of the template): its URL."""
        import psycopg

        name = f"hub_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a test's database (its pools may still be open: FORCE closes them), so a
        session of hundreds of tests does not fill the temp folder with copies."""
        import psycopg

        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_server(*, durable: bool = False) -> PgServer:
    folder = Path(tempfile.mkdtemp(prefix="linli-pg-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    (folder / "run").mkdir()
    if os.geteuid() == 0:
        os.chown(folder / "run", pw.pw_uid, pw.pw_gid)
    server = PgServer(folder, durable=durable)
    atexit.register(server.stop)  # also when the session ends without the fixture's teardown
    server.start()
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_server()
    try:
        server.make_template()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test (dropped after it)."""
    url = pg_server.fresh_database()
    yield url
    pg_server.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def hub_target(
    hub_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str | Path]:
    """Where the test's hub keeps its store: a SQLite file, or a PostgreSQL database
    (dropped after the test)."""
    if hub_backend != "postgresql":
        yield tmp_path / "hub.db"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.fresh_database()
    yield url
    server.drop(url)
