"""The wheel a box installs works on its own: built from this checkout, installed with
the locked dependencies into a fresh venv outside the checkout, and run from there.

A setuptools wheel once shipped only `edge` and `sync` (no subpackages, templates or
catalogs) and every box installed from it failed at `linli demo`; nothing caught it
because the suite ran against the checkout.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
LOCK = CHECKOUT / "requirements" / "box.txt"


@dataclass
class Installed:
    root: Path
    wheel: Path

    @property
    def linli(self) -> str:
        return str(self.root / "venv" / "bin" / "linli")

    @property
    def python(self) -> str:
        return str(self.root / "venv" / "bin" / "python")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PATH"] = f"{self.root / 'venv' / 'bin'}:{env.get('PATH', '')}"
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.linli, *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


def _sh(*args: str, cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("box")
    dist = root / "dist"
    _sh(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(dist),
        str(CHECKOUT),
        cwd=root,
    )
    (wheel,) = dist.glob("linli-*.whl")
    _sh(sys.executable, "-m", "venv", str(root / "venv"), cwd=root)
    pip = str(root / "venv" / "bin" / "pip")
    _sh(pip, "install", "-q", "--no-compile", "--require-hashes", "-r", str(LOCK), cwd=root)
    _sh(pip, "install", "-q", "--no-deps", str(wheel), cwd=root)
    return Installed(root, wheel)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(installed: Installed) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[object] = []

    def start(role: str, db: Path) -> str:
        port = _free_port()
        log = (installed.root / f"{role}-{port}.log").open("wb")
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [
                    installed.linli,
                    "serve",
                    "--role",
                    role,
                    "--db",
                    str(db),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-sync",
                ],
                cwd=installed.root,
                env=installed.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            assert procs[-1].poll() is None, (installed.root / log.name).read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError(f"{role} did not answer /healthz in 60 s")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)
    for log in logs:
        log.close()  # type: ignore[attr-defined]


def test_the_wheel_carries_subpackages_templates_static_and_compiled_catalogs(
    installed: Installed,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for path in CHECKOUT.joinpath("edge").rglob("*.py"):
        assert str(path.relative_to(CHECKOUT)) in names
    for path in [*CHECKOUT.joinpath("sync").rglob("*.py"), *CHECKOUT.joinpath("hub").rglob("*.py")]:
        assert str(path.relative_to(CHECKOUT)) in names
    for path in CHECKOUT.joinpath("templates").rglob("*"):
        if path.is_file():
            assert f"edge/templates/{path.relative_to(CHECKOUT / 'templates')}" in names
    assert "edge/locale/zh_CN/LC_MESSAGES/messages.mo" in names
    assert not [n for n in names if n.endswith(".po") or "__pycache__" in n]


def test_installed_linli_runs_outside_the_checkout(installed: Installed) -> None:
    where = subprocess.run(
        [installed.python, "-c", "import edge, sync; print(edge.__file__, sync.__file__)"],
        cwd=installed.root,
        env=installed.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert str(CHECKOUT) not in where.stdout
    assert str(installed.root / "venv") in where.stdout


def test_installed_centre_demo_serves_tablet_pages_in_chinese_and_english(
    installed: Installed, serve: object, tmp_path: Path
) -> None:
    db = tmp_path / "centre.db"
    demo = installed.run("demo", "--db", str(db))
    assert demo.returncode == 0, demo.stderr
    assert "PIN 1234" in demo.stdout
    url = serve("centre", db)  # type: ignore[operator]
    with httpx.Client(base_url=url, timeout=10) as tablet:
        signin = tablet.get("/signin")
        assert signin.status_code == 200
        assert "登录" in signin.text  # from the compiled catalog in the wheel
        assert "/static/app.css" in signin.text
        assert tablet.get("/static/app.css").status_code == 200
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', signin.text)
        assert csrf, signin.text
        signed_in = tablet.post(
            "/signin",
            data={"name": "小玮", "pin": "1234", "next": "/", "_csrf_token": csrf.group(1)},
        )
        assert signed_in.status_code == 303, signed_in.text
        today = tablet.get("/")
        assert today.status_code == 200
        assert "金沙路社区" in today.text
        english = tablet.get("/lang/en", params={"next": "/"}, follow_redirects=True)
        assert english.status_code == 200
        assert "Sign out" in english.text and "登录" not in english.text


def test_installed_hub_serves_its_sign_in_page(
    installed: Installed, serve: object, tmp_path: Path
) -> None:
    db = tmp_path / "hub.db"
    added = installed.run(
        "hub", "add-operator", "--db", str(db), "--name", "op", "--password", "password1"
    )
    assert added.returncode == 0, added.stderr
    url = serve("hub", db)  # type: ignore[operator]
    health = httpx.get(f"{url}/healthz", timeout=10)
    assert health.json() == {"status": "ok", "role": "hub"}
    login = httpx.get(f"{url}/hub/login", timeout=10)
    assert login.status_code == 200
    assert "/static/" in login.text
