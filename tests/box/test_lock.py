"""One lock: uv.lock (what `uv lock` resolved for pyproject.toml's bounds) and the pinned,
hashed requirement files the installs use (made from it by `uv export`) name the same
versions, so a fresh machine installs exactly what the tests ran against."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from paths import CHECKOUT

ROOT = CHECKOUT
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.M)


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    return {_name(m.group(1)): m.group(2) for m in PIN.finditer(path.read_text())}


def test_requirement_files_pin_what_uv_lock_resolved() -> None:
    locked = {
        _name(p["name"]): p["version"]
        for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]
        if p["name"] != "linli"
    }
    for name in ("box.txt", "dev.txt", "hub-pg.txt"):
        pins = _pins(ROOT / "requirements" / name)
        assert pins, name
        assert {k: v for k, v in pins.items() if locked.get(k) != v} == {}, name
        assert all("--hash=sha256:" in line for line in _blocks(ROOT / "requirements" / name))
    # The dev set is the box set plus the tools.
    assert (
        _pins(ROOT / "requirements" / "box.txt").items()
        <= _pins(ROOT / "requirements" / "dev.txt").items()
    )


def _blocks(path: Path) -> list[str]:
    """Each pinned requirement with its continuation lines (its hashes)."""
    text = path.read_text()
    return [b for b in re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text) if PIN.match(b)]
