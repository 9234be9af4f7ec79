"""The box deployment, for real: the offline bundle, the installer in a throwaway root,
the installed command serving, systemd's sd_notify protocol on a real socket, mDNS,
the poster for the tablets and the backup to a USB stick.

The bundle is built for this machine's architecture only (ARCHES); its third-party
wheels are fetched from the index the first time, then from the last bundle's wheels
(WHEELS_CACHE, hash-checked against the lock as ever). Nothing here needs root: the
installer's --root mode skips useradd, apt-get, timedatectl and systemctl.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import free_port, stop, wait_healthy
from paths import CHECKOUT

from edge.backup import check_linli_file
from edge.box import backup_to_usb, lan_ipv4, mdns_label, sd_notify, slug, usb_mounts

VENV_BIN = Path(sys.executable).parent
ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower(), ""
)
TOKEN_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
# The bundle's third-party wheels, kept between runs (filled from the index the first time).
WHEELS_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "linli-tests"
    / "bundle-wheels"
)


def _sh(*args: str, env: dict[str, str] | None = None, cwd: Path = CHECKOUT) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)}\n{out[-4000:]}"
    return done.stdout


def _run(*args: str, env: dict[str, str]) -> str:
    """Like _sh, but a failure is returned (its output), not raised."""
    done = subprocess.run(
        args, cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return "" if done.returncode == 0 else (done.stdout + done.stderr)[-4000:] or "failed"


def _clean_env(**more: str) -> dict[str, str]:
    """No systemd, mDNS or Python settings of this shell leak into a started process."""
    drop = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LINLI_MDNS_NAME", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(more)
    return env


@dataclass
class Box:
    root: Path
    bundle: Path

    @property
    def linli(self) -> str:
        return str(self.root / "opt" / "linli" / ".venv" / "bin" / "linli")

    def db(self, name: str) -> Path:
        return self.root / "var" / "lib" / "linli" / name


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Box:
    """`make wheel` + `make bundle` for this machine, unpacked, then install-box.sh --root
    for a centre, and again for a hub in the same root (the same bundle: the venv is kept)."""
    assert ARCH, f"boxes are amd64 or arm64; no bundle is made for {platform.machine()}"
    work = tmp_path_factory.mktemp("deploy")
    wheel_dir = work / "wheel"
    # The wheel `make wheel` makes (the same hatchling build, without build isolation),
    # built by the locked uv: a second, where pip takes four.
    _sh(
        str(VENV_BIN / "uv"),
        "build",
        "-q",
        "--wheel",
        "--no-build-isolation",
        "--python",
        sys.executable,
        "-o",
        str(wheel_dir),
        str(CHECKOUT),
    )
    env = _clean_env(
        ARCHES=ARCH,
        WHEEL_DIR=str(wheel_dir),
        OUT_DIR=str(work),
        PIP=str(VENV_BIN / "pip"),
        PY=sys.executable,
    )
    make_bundle = ["bash", str(CHECKOUT / "deploy" / "make-bundle.sh")]
    # The last bundle's wheels first, with no index (pip's own cache still asks the index
    # about every pin: most of a minute): pip checks each against the lock's hashes all
    # the same (--require-hashes). A lock that moved on (a pin not there) uses the index.
    offline = WHEELS_CACHE.is_dir() and any(WHEELS_CACHE.glob("*.whl"))
    if not offline or _run(
        *make_bundle, env={**env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELS_CACHE)}
    ):
        _sh(*make_bundle, env=env)
    tarball = work / f"linli-bundle-{ARCH}.tar.gz"
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        tar.extractall(work / "unpacked", filter="tar")
    bundle = work / "unpacked" / f"linli-bundle-{ARCH}"
    WHEELS_CACHE.mkdir(parents=True, exist_ok=True)
    for wheel in (bundle / "wheels").glob("*.whl"):
        if not wheel.name.startswith("linli-") and not (WHEELS_CACHE / wheel.name).exists():
            shutil.copyfile(wheel, WHEELS_CACHE / wheel.name)
    assert (bundle / "install-box.sh").exists() and (bundle / "BUNDLE").exists()
    assert any(n.endswith(".whl") and "/linli-0" in n for n in names)
    assert not [n for n in names if n.endswith((".tar.gz", ".zip"))], "an sdist in the bundle"

    root = work / "root"
    installer = str(bundle / "install-box.sh")
    python = shutil.which("python3") or sys.executable
    install_env = _clean_env(PYTHON=python, PATH=os.environ.get("PATH", ""))
    out = _sh(
        installer,
        "--root",
        str(root),
        "centre",
        "金沙路社区",
        "小玮",
        "1234",
        "--mdns-name",
        "jinshalu",
        env=install_env,
    )
    assert "installed the centre box" in out
    out = _sh(installer, "--root", str(root), "hub", "老周", "hub-password-1", env=install_env)
    assert "already from this bundle" in out
    return Box(root, bundle)


@pytest.fixture
def serve() -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(linli: str, role: str, db: Path, *more: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        port = free_port()
        log = db.parent / f"serve-{role}-{port}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [
                    linli,
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
                    *more,
                ],
                env=env or _clean_env(),
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        return url, proc, log

    yield start
    stop(procs)


def _sign_in(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    form = client.get(path)
    token = TOKEN_RE.search(form.text)
    assert token, form.text[:500]
    return client.post(path, data={**data, "_csrf_token": token.group(1)})


# --- the bundle and the installer ------------------------------------------------------------


def test_installed_centre_box_serves_in_chinese(box: Box, serve: Any) -> None:
    settings = (box.root / "etc" / "default" / "linli").read_text()
    assert "LINLI_MDNS_NAME=linli-hub" in settings  # the hub install came last
    units = box.root / "etc" / "systemd" / "system"
    centre_unit = (units / "linli-centre.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "LimitNOFILE=8192",
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=always",
    ):
        assert line in centre_unit
    assert {p.name for p in units.iterdir()} >= {
        "linli-centre.service",
        "linli-hub.service",
        "linli-backup.service",
        "linli-backup.timer",
        "linli-usb-backup@.service",
    }
    journald = box.root / "etc" / "systemd" / "journald.conf.d" / "linli.conf"
    assert "Storage=volatile" in journald.read_text()
    assert (box.root / "etc" / "udev" / "rules.d" / "99-linli-usb.rules").exists()
    assert os.access(box.root / "opt" / "linli" / "bin" / "usb-backup.sh", os.X_OK)
    if shutil.which("systemd-analyze"):  # the units parse: only the absent /opt paths complain
        done = subprocess.run(
            ["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        complaints = [
            line
            for line in (done.stdout + done.stderr).splitlines()
            if line.strip() and "is not executable" not in line
        ]
        assert complaints == []

    url, _, _ = serve(box.linli, "centre", box.db("centre.db"))
    assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
    with httpx.Client(base_url=url, timeout=10, follow_redirects=True) as tablet:
        signin = tablet.get("/signin")
        assert signin.status_code == 200 and "登录" in signin.text and "金沙路社区" in signin.text
        today = _sign_in(tablet, "/signin", {"name": "小玮", "pin": "1234"})
        assert today.status_code == 200 and 'href="/poster"' in today.text
        poster = tablet.get("/poster")
        assert poster.status_code == 200 and "<svg" in poster.text
        assert "平板地址海报" in poster.text


def test_installed_hub_box_serves(box: Box, serve: Any) -> None:
    url, _, _ = serve(box.linli, "hub", box.db("hub.db"))
    assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok", "role": "hub"}
    with httpx.Client(base_url=url, timeout=10) as browser:
        login = browser.get("/hub/login")
        assert login.status_code == 200 and "登录" in login.text
        done = _sign_in(browser, "/hub/login", {"name": "老周", "password": "hub-password-1"})
        assert done.status_code in (302, 303) and done.headers["location"] == "/hub/orders"


def test_the_wheel_carries_subpackages_templates_static_and_compiled_catalogs(box: Box) -> None:
    """A setuptools wheel once shipped only `edge` and `sync`: every box failed at demo."""
    (wheel,) = box.bundle.rglob("linli-0*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("edge", "sync", "hub"):
        for path in CHECKOUT.joinpath(package).rglob("*.py"):
            assert str(path.relative_to(CHECKOUT)) in names
    for path in CHECKOUT.joinpath("templates").rglob("*"):
        if path.is_file():
            assert f"edge/templates/{path.relative_to(CHECKOUT / 'templates')}" in names
    assert "edge/locale/zh_CN/LC_MESSAGES/messages.mo" in names
    assert not [n for n in names if n.endswith(".po") or "__pycache__" in n]


def test_installed_linli_runs_from_its_venv_not_the_checkout(box: Box) -> None:
    python = str(Path(box.linli).parent / "python")
    where = subprocess.run(
        [python, "-c", "import edge, sync, hub; print(edge.__file__, sync.__file__, hub.__file__)"],
        cwd=box.root,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert str(CHECKOUT) not in where.stdout
    assert where.stdout.count(str(box.root / "opt" / "linli")) == 3


def test_installed_demo_centre_speaks_chinese_and_english(
    box: Box, serve: Any, tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    demo = subprocess.run(
        [box.linli, "demo", "--db", str(db)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0 and "PIN 1234" in demo.stdout, demo.stderr
    url, _, _ = serve(box.linli, "centre", db)
    with httpx.Client(base_url=url, timeout=10, follow_redirects=True) as tablet:
        assert tablet.get("/static/app.css").status_code == 200
        today = _sign_in(tablet, "/signin", {"name": "小玮", "pin": "1234"})
        assert today.status_code == 200 and "金沙路社区" in today.text
        english = tablet.get("/lang/en", params={"next": "/"})
        assert english.status_code == 200
        assert "Sign out" in english.text and "登录" not in english.text


def test_installer_refuses_a_damaged_bundle(box: Box, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(box.bundle, copy)
    (copy / "requirements.txt").write_text("faker==0.0.1\n")  # tampered after it was made
    done = subprocess.run(
        [str(copy / "install-box.sh"), "--root", str(tmp_path / "root"), "hub"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "damaged" in done.stderr
    assert not (tmp_path / "root" / "opt" / "linli" / ".venv").exists()


# --- systemd: sd_notify --------------------------------------------------------------------


def _notify_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    return sock


def _messages(sock: socket.socket, until: Any, timeout_s: float = 60) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not until(got):
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
    return got


def test_a_real_server_tells_systemd_it_is_ready_and_alive(
    tmp_path: Path, serve: Any, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    db = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db)  # conftest's build_centre, once per process
    sock = _notify_socket(tmp_path / "notify.sock")
    env = _clean_env(NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="400000")
    try:
        _, proc, log = serve(str(VENV_BIN / "linli"), "centre", db, env=env)
        got = _messages(sock, lambda m: sum(x == "WATCHDOG=1" for x in m) >= 3)
        assert got and got[0].startswith("READY=1\n"), (got, log.read_text()[-2000:])
        assert f"MAINPID={proc.pid}" in got[0]
        assert got.count("WATCHDOG=1") >= 3
        proc.terminate()
        assert proc.wait(timeout=30) in (0, -15)
        rest = _messages(sock, lambda m: "STOPPING=1" in m, timeout_s=10)
        assert "STOPPING=1" in rest
    finally:
        sock.close()


def test_no_watchdog_ping_while_the_box_is_unhealthy(tmp_path: Path) -> None:
    """Nothing answers on the port and there is no store: no READY, no WATCHDOG."""
    from types import SimpleNamespace

    from edge.box import Box as BoxChores

    path = tmp_path / "notify.sock"
    sock = _notify_socket(path)
    app = SimpleNamespace(state=SimpleNamespace(store=None))
    server = SimpleNamespace(started=True, should_exit=False)
    chores = BoxChores(
        app,
        server,
        host="127.0.0.1",
        port=free_port(),
        role="centre",
        env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "200000"},
    )
    try:
        chores.start()
        assert _messages(sock, lambda m: bool(m), timeout_s=2) == []
        server.should_exit = True
        chores.stop()
        assert _messages(sock, lambda m: bool(m), timeout_s=5) == ["STOPPING=1"]
    finally:
        sock.close()


def test_sd_notify_abstract_socket_and_no_socket() -> None:
    name = f"linli-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()
    assert not sd_notify("READY=1", {})
    assert not sd_notify("READY=1", {"NOTIFY_SOCKET": "@" + name})  # gone: False, no raise


# --- mDNS ----------------------------------------------------------------------------------


def test_names_for_mdns() -> None:
    assert slug("金沙路社区") == "" and slug("Jinshalu 社区") == "jinshalu"
    assert mdns_label(None, "金沙路社区", "centre") is None
    assert mdns_label("off", "x", "centre") is None
    assert mdns_label("JinShaLu.local", "", "centre") == "jinshalu"
    assert mdns_label("auto", "Golden Sand Road", "centre") == "golden-sand-road"
    assert mdns_label("auto", "金沙路社区", "centre") == (
        slug(socket.gethostname().split(".")[0]) or "linli"
    )
    with pytest.raises(ValueError):
        mdns_label("社区", "", "centre")


def test_a_real_server_announces_its_name(
    tmp_path: Path, serve: Any, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    import zeroconf

    assert lan_ipv4(), "this machine has no LAN address for the box to announce on"
    db = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db)  # conftest's build_centre, once per process
    label = f"linli-test-{uuid.uuid4().hex[:8]}"
    _, _, log = serve(str(VENV_BIN / "linli"), "centre", db, "--mdns-name", label)
    zc = zeroconf.Zeroconf(ip_version=zeroconf.IPVersion.V4Only)
    try:
        resolver = zeroconf.AddressResolver(f"{label}.local.")
        deadline = time.monotonic() + 30
        while not resolver.request(zc, 2000) and time.monotonic() < deadline:
            pass
        assert set(resolver.parsed_addresses()) & set(lan_ipv4()), log.read_text()[-2000:]
    finally:
        zc.close()


# --- the poster ----------------------------------------------------------------------------


def test_the_manager_prints_a_poster_with_the_address_and_a_qr_code(centre: Any) -> None:
    client = centre.client

    def sign_in(name: str) -> None:
        token = TOKEN_RE.search(client.get("/signin").text)
        assert token
        data = {"name": name, "pin": "1234", "_csrf_token": token.group(1)}
        assert client.post("/signin", data=data, follow_redirects=False).status_code == 303

    assert client.get("/poster", follow_redirects=False).status_code in (302, 303)
    sign_in("staff")
    assert client.get("/poster").status_code == 403
    client.cookies.clear()
    sign_in("manager")
    client.app.state.mdns_host = "jinshalu.local"
    page = client.get("/poster")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and "平板地址海报" in text and "测试社区" in text
    assert "http://jinshalu.local:8000/" in text
    for ip in lan_ipv4():
        assert f"http://{ip}:8000/" in text
    qr_url = re.search(r'class="qr" data-url="([^"]+)"', text)
    assert qr_url and qr_url.group(1).startswith("http://")
    if lan_ipv4():
        assert qr_url.group(1) == f"http://{lan_ipv4()[0]}:8000/"
    assert 'href="/poster"' in client.get("/").text


# --- backups to a USB stick ----------------------------------------------------------------


def test_backup_to_a_usb_stick(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    db = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db)  # conftest's build_centre, once per process
    media = tmp_path / "media"
    stick = media / "KINGSTON"
    stick.mkdir(parents=True)
    (media / "RAMDISK").mkdir()
    (media / "READONLY").mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n"
        f"tmpfs {media / 'RAMDISK'} tmpfs rw 0 0\n"
        f"/dev/sdb1 {media / 'READONLY'} vfat ro 0 0\n"
        f"/dev/sda1 {stick} vfat rw,nosuid,nodev,relatime,uid=999 0 0\n"
    )
    assert usb_mounts([media], mounts) == [stick]

    def linli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "edge.cli", "backup", "--db", str(db), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = linli("--usb", "--media", str(media), "--mounts", str(mounts))
    assert done.returncode == 0, done.stderr
    (copy,) = (stick / "linli-backups").glob("centre-*.db")
    assert re.fullmatch(r"centre-\d{4}-\d{2}-\d{2}\.db", copy.name)
    assert check_linli_file(copy)
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("SELECT COUNT(*) FROM staff").fetchone()[0] == 3
    finally:
        conn.close()
    assert [p.name for p in (stick / "linli-backups").iterdir()] == [copy.name]

    # No stick: nothing to do, and not an error for the nightly unit.
    mounts.write_text("/dev/mmcblk0p2 / ext4 rw 0 0\n")
    done = linli("--usb", "--media", str(media), "--mounts", str(mounts))
    assert done.returncode == 0 and "no USB stick" in done.stdout

    # One dated copy a day, the last `keep` kept.
    other = media / "SANDISK"
    other.mkdir()
    for day in ("2026-11-01", "2026-11-02", "2026-11-02", "2026-11-03", "2026-11-04"):
        backup_to_usb(db, other, keep=3, today=day)
    kept = sorted(p.name for p in (other / "linli-backups").iterdir())
    assert kept == ["centre-2026-11-02.db", "centre-2026-11-03.db", "centre-2026-11-04.db"]
