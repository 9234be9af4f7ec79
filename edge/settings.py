"""Settings of one running Linli process, built by the CLI or by tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db_path: Path
    role: str = "centre"  # "centre" | "hub"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 256 * 1024
    # Sign-in rate limit: this many failures per window (seconds) per client and name.
    login_max_failures: int = 5
    login_window_s: int = 300
    # Secure cookies only when served over TLS (a box on the centre LAN is plain HTTP).
    secure_cookies: bool = False
    # Background sync with the hub (centre role); off in most tests.
    sync_enabled: bool = True
    sync_interval_s: float = 15.0
    # Lock consolidated orders at cut-off, every this many seconds (0: off, for tests).
    housekeeping_interval_s: float = 60.0
    # What "now" is for cut-offs and "today"; tests pass a fixed clock.
    now: Callable[[], datetime] = field(default=lambda: local_now())
    templates_dir: Path = field(default_factory=lambda: default_templates_dir())


def default_templates_dir() -> Path:
    """Templates and static files: inside the package when installed from the wheel,
    the checkout's top-level templates/ when run from source (editable install)."""
    package = Path(__file__).resolve().parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def local_now() -> datetime:
    """The box's local wall time (the centre's time zone, set on the box)."""
    return datetime.now()
