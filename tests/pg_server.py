"""A real PostgreSQL for the hub's tests: started with initdb/pg_ctl in a temp folder,
once per test process (each xdist worker has its own), listening only on a unix
socket in that folder (no port to collide on), stopped at the session's end.

Each test gets a fresh database copied from a migrated template
(`CREATE DATABASE ... TEMPLATE`; STRATEGY FILE_COPY was measured and is not faster
here: each copy and drop then waits for a checkpoint). A test that puts a hub world into
its database (`load_hub`: the copy `linli hub migrate` makes of a SQLite hub file) gets
it from a template holding that world, migrated once per test process. `hub_target`'s
database is made when first used (`ensure_database`), so a test that loads a world
pays for one copy, the world's. `make test`
installs Debian's postgresql when initdb is missing (Makefile target `postgres`).

As root (CI, this machine) the server runs as the `postgres` user that Debian's
package creates: PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_numbers = itertools.count(1)
# The test process's server (the `pg_server` fixture's), by its socket folder: `load_hub`
# finds it from a database URL.
_SERVERS: dict[str, PgServer] = {}


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
    # (SQLite hub file, its mtime and size) -> the template database holding it migrated.
    _worlds: dict[tuple[str, int, int], str] = field(default_factory=dict)
    # Names of databases to drop, and the thread dropping them (`drop`).
    _drops: queue.Queue[str | None] | None = None
    _dropper: threading.Thread | None = None
    _drop_errors: list[str] = field(default_factory=list)
    # Databases `reserve` named and nobody made yet (`ensure`, `load_hub` make them).
    _pending: set[str] = field(default_factory=set)

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
            if self._dropper is not None and self._drops is not None:
                self._drops.put(None)  # no wait: the whole folder goes below
                self._dropper.join(timeout=30)
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

    def fresh_database(self, template: str | None = None) -> str:
        """A new database, migrated (a copy of the template): its URL."""
        import psycopg

        name = f"hub_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template or self.template}")
        return self.url(name)

    def reserve(self) -> str:
        """The URL of a database made when first needed (`ensure`): as a copy of the
        migrated template, or by `load_hub` straight from a hub world's template (a test
        that loads a world then makes one copy, not two)."""
        name = f"hub_{os.getpid()}_{next(_numbers)}"
        self._pending.add(name)
        return self.url(name)

    def ensure(self, url: str) -> None:
        """Make the database `reserve` named, a copy of the migrated template, if it is
        not made yet."""
        import psycopg

        name = _database_name(url)
        if name not in self._pending:
            return
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        self._pending.discard(name)

    def load_hub(self, hub_file: Path, url: str, source: Path) -> None:
        """What `migrate_hub(hub_file, url)` makes of the fresh, empty database at `url`,
        where `hub_file` is a copy of `source`: migrated once per source file into a
        template database (`migrate_hub` itself, with all its checks), then the test's
        database is made anew as a copy of that template under the same name."""
        import psycopg

        from hub.pg_migrate import migrate_hub

        stat = source.stat()
        key = (str(source.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in self._worlds:
            world = f"world_{os.getpid()}_{next(_numbers)}"
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {world} TEMPLATE {self.template}")
            migrate_hub(hub_file, self.url(world))  # closes its connection: a template now
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {world} WITH ALLOW_CONNECTIONS false")
            self._worlds[key] = world
        name = _database_name(url)
        if name in self._pending:  # reserved, not made yet: made as the world's copy
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE {self._worlds[key]}")
            self._pending.discard(name)
            return
        with psycopg.connect(self.url(), autocommit=True) as conn:
            # The empty copy out of the way (renamed: no checkpoint), dropped in the background.
            conn.execute(f"ALTER DATABASE {name} RENAME TO {name}_empty")
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self._worlds[key]}")
        self.drop(self.url(f"{name}_empty"))

    def drop(self, url: str) -> None:
        """Drop a test's database (its pools may still be open: FORCE closes them), so a
        session of hundreds of tests does not fill the temp folder with copies (7 MB each).

        In the background, on one connection of its own: a DROP forces a checkpoint, and
        the next test need not wait for it (no test reuses a name). `stop` waits for the
        drops asked for and raises the first that failed."""
        if _database_name(url) in self._pending:  # never made
            self._pending.discard(_database_name(url))
            return
        if self._drops is None:
            self._drops = queue.Queue()
            self._dropper = threading.Thread(target=self._drop_all, name="pg-drop", daemon=True)
            self._dropper.start()
        self._drops.put(_database_name(url))

    def _drop_all(self) -> None:
        import psycopg

        assert self._drops is not None
        with psycopg.connect(self.url(), autocommit=True) as conn:
            while (name := self._drops.get()) is not None:
                try:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                except psycopg.Error as e:
                    self._drop_errors.append(f"{name}: {e}")

    def wait_for_drops(self) -> None:
        """Every drop asked for done (the background thread ended); raise if one failed."""
        if self._drops is not None and self._dropper is not None:
            self._drops.put(None)
            self._dropper.join(timeout=120)
            self._drops = self._dropper = None
        if self._drop_errors:
            raise RuntimeError(f"databases not dropped: {self._drop_errors[:3]}")


def _database_name(url: str) -> str:
    """postgresql://linli@/NAME?host=/tmp/linli-pg-…/run -> NAME (the host has slashes)."""
    return url.split("?", 1)[0].rsplit("/", 1)[1]


def ensure_database(target: Path | str) -> None:
    """Make the PostgreSQL database `hub_target` reserved for the test, if `target` is
    one not made yet (`PgServer.reserve`): the helpers that open a hub's store call it."""
    target = str(target)
    if not target.startswith("postgresql://"):
        return
    server = _SERVERS.get(target.rsplit("host=", 1)[-1])
    if server is not None:
        server.ensure(target)


def load_hub(hub_file: Path, url: str, source: Path) -> None:
    """A SQLite hub file (a copy of `source`, a file that does not change during the
    session) into the fresh database at `url`: from a template when the URL is this test
    process's server's (`PgServer.load_hub`), else `migrate_hub` itself."""
    server = _SERVERS.get(url.rsplit("host=", 1)[-1])
    if server is None:
        from hub.pg_migrate import migrate_hub

        migrate_hub(hub_file, url)
        return
    server.load_hub(hub_file, url, source)


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
        _SERVERS[str(server.socket_dir)] = server
        yield server
        server.wait_for_drops()
    finally:
        _SERVERS.pop(str(server.socket_dir), None)
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
    (dropped after the test). The database is made when first used (`ensure_database`,
    which the helpers that open a hub call): a test that loads a hub world into it
    (`load_hub`) gets it made once, as that world's copy."""
    if hub_backend != "postgresql":
        yield tmp_path / "hub.db"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.reserve()
    yield url
    server.drop(url)
