"""Settings of one running Linli process, built by the CLI or by tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db_path: Path
    # The hub on PostgreSQL: `--db postgresql://...` (db_path is then unused); "" = SQLite.
    db_url: str = ""
    role: str = "centre"  # "centre" | "hub"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 256 * 1024
    # Sign-in rate limit: this many failures per window (seconds) per client and name
    # (the hub's operator sign-in). At a centre, wrong PINs count per staff name from
    # any address: login_max_failures are free, then a wait of login_delay_s doubling
    # with each more (up to login_max_delay_s), and at login_lock_failures the name is
    # locked until a manager lifts it.
    login_max_failures: int = 5
    login_window_s: int = 300
    login_delay_s: float = 30.0
    login_max_delay_s: float = 900.0
    login_lock_failures: int = 10
    # A tablet's session ends after this long unused, and after the working day in all
    # (0: never). API tokens for machines last until a PIN change, removal or sign-out.
    session_idle_s: int = 4 * 3600
    session_max_age_s: int = 14 * 3600
    # Addresses of reverse proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Secure cookies only when served over TLS (a box on the centre LAN is plain HTTP).
    secure_cookies: bool = False
    # Background sync with the hub (centre role); off in most tests.
    sync_enabled: bool = True
    sync_interval_s: float = 15.0
    # Lock consolidated orders at cut-off, every this many seconds (0: off, for tests).
    housekeeping_interval_s: float = 60.0
    # A SQLite hub decodes pushes in this many processes of its own while others are
    # in (`hub.decoding`); 0: in threads only, as tests and in-process apps do.
    decode_processes: int = 0
    # The hub's local time zone (IANA name): times and "today" on the operator pages.
    timezone: str = "Asia/Shanghai"
    # What "now" is for cut-offs and "today"; tests pass a fixed clock.
    now: Callable[[], datetime] = field(default=lambda: local_now())
    templates_dir: Path = field(default_factory=lambda: default_templates_dir())

    @property
    def db_target(self) -> str | Path:
        """What the store opens: the PostgreSQL URL, or else the SQLite file."""
        return self.db_url or self.db_path


def default_templates_dir() -> Path:
    """Templates and static files: inside the package when installed from the wheel,
    the checkout's top-level templates/ when run from source (editable install)."""
    package = Path(__file__).resolve().parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def local_now() -> datetime:
    """The box's local wall time (the centre's time zone, set on the box)."""
    return datetime.now()
