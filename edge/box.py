"""The long-running box's chores, beside the web server.

- systemd: `READY=1` once the server answers, then `WATCHDOG=1` only while the box is
  healthy (its own /healthz answers over loopback, the store answers a read and its
  writer takes a unit of work). A hung event loop, reader pool or writer stops the pings
  and systemd restarts the service (`Type=notify`, `WatchdogSec=` in the unit). The
  sd_notify protocol is one datagram on the AF_UNIX socket named by $NOTIFY_SOCKET.
- mDNS: the box announces `<name>.local` and an `_http._tcp` service on the centre
  Wi-Fi with python-zeroconf, so a tablet can open http://jinshalu.local:8000/.
  Without zeroconf, or when it fails, the box logs it and carries on.
- Its LAN IPv4 addresses, for the poster the manager prints for the tablets.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import re
import socket
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

log = logging.getLogger("linli.box")

# Interfaces that are not the centre's network (containers, VPN bridges).
_SKIP_IFACES = ("lo", "docker", "br-", "veth", "virbr", "tun", "tap", "wg")


# --- sd_notify ---------------------------------------------------------------------------


def sd_notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one sd_notify datagram ("READY=1", "WATCHDOG=1", ...) to $NOTIFY_SOCKET.
    False when not run by systemd (no socket) or the send failed; never raises."""
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("sd_notify %s failed: %s", message.split("=", 1)[0], exc)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of systemd's WatchdogSec), or None when
    systemd asked for no watchdog or the watchdog is meant for another process."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000


# --- addresses and names ----------------------------------------------------------------


def lan_ipv4() -> list[str]:
    """The box's IPv4 addresses on its networks, private (LAN) ones first; no loopback,
    no link-local, no container bridges."""
    import psutil

    found: list[tuple[int, str, str]] = []
    for iface, addrs in psutil.net_if_addrs().items():
        if iface.startswith(_SKIP_IFACES):
            continue
        for a in addrs:
            if a.family != socket.AF_INET:
                continue
            ip = ipaddress.IPv4Address(a.address)
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
                continue
            found.append((0 if ip.is_private else 1, iface, a.address))
    return [addr for _, _, addr in sorted(found)]


def slug(text: str) -> str:
    """A host label (a-z, 0-9, '-', at most 63) from a name; "" when nothing is ASCII
    (a Chinese centre name: give --mdns-name, e.g. jinshalu)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return label[:63].strip("-")


def mdns_label(requested: str | None, centre_name: str, role: str) -> str | None:
    """The `<label>.local` to announce: None (off), the given label, or for "auto" one
    made from the centre's name, else the host name, else linli / linli-hub."""
    if not requested or requested.lower() in ("off", "no", "none", "0"):
        return None
    if requested.lower() != "auto":
        label = slug(requested.removesuffix(".local"))
        if not label:
            raise ValueError(f"{requested!r} is not a host name (use a-z, 0-9 and -)")
        return label
    fallback = "linli-hub" if role == "hub" else "linli"
    return slug(centre_name) or slug(socket.gethostname().split(".")[0]) or fallback


# --- USB backups ------------------------------------------------------------------------

# File systems a USB stick carries; a mount of anything else (tmpfs, the SD card's own
# partitions outside the media folders) is never taken for a stick.
USB_FS_TYPES = {
    "vfat",
    "exfat",
    "ntfs",
    "ntfs3",
    "fuseblk",
    "ext2",
    "ext3",
    "ext4",
    "btrfs",
    "f2fs",
}


def usb_mounts(
    media_roots: list[Path], mounts_file: Path = Path("/proc/self/mounts")
) -> list[Path]:
    """Writable USB sticks: block devices mounted read-write at or under a media folder
    (/media/<label>, /media/<user>/<label>, /run/media/<user>/<label>, /mnt)."""
    roots = [r.resolve() for r in media_roots]
    found: list[Path] = []
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        device, where, fstype, options = fields[:4]
        # /proc/mounts escapes spaces and tabs in paths as octal (\040, \011).
        mount = Path(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), where))
        if not device.startswith("/dev/") or fstype not in USB_FS_TYPES:
            continue
        if "rw" not in options.split(","):
            continue
        if any(mount.is_relative_to(r) for r in roots) and mount.is_dir():
            if mount not in found:
                found.append(mount)
    return found


def backup_to_usb(db_path: Path, mount: Path, *, keep: int = 14, today: str | None = None) -> Path:
    """A dated, checked copy of the database in <stick>/linli-backups/, keeping the last
    `keep` days. Written beside and renamed, so a pulled stick never holds half a file."""
    from datetime import date

    from edge.backup import backup, check_linli_file

    folder = mount / "linli-backups"
    folder.mkdir(exist_ok=True)
    day = today or date.today().isoformat()
    dest = folder / f"{db_path.stem}-{day}.db"
    partial = folder / f"{db_path.stem}-{day}.partial"
    partial.unlink(missing_ok=True)
    backup(db_path, partial)
    # One self-contained file (no -wal/-shm beside it on the stick), flushed, then checked.
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    with partial.open("rb") as fh:
        os.fsync(fh.fileno())
    check_linli_file(partial)
    os.replace(partial, dest)
    dated = sorted(folder.glob(f"{db_path.stem}-????-??-??.db"))
    for old in dated[: max(0, len(dated) - max(1, keep))]:
        old.unlink(missing_ok=True)
    os.sync()
    return dest


# --- mDNS ----------------------------------------------------------------------------------


class Announcer:
    """`<label>.local` and an `_http._tcp` service for the box, via python-zeroconf."""

    def __init__(self, label: str, port: int, title: str) -> None:
        self.label = label
        self.port = port
        self.title = title
        self.addresses: list[str] = []
        self._zc: Any = None
        self._info: Any = None

    @property
    def host(self) -> str:
        return f"{self.label}.local"

    def _service_info(self, addresses: list[str]) -> Any:
        from zeroconf import ServiceInfo

        instance = self.title.encode()[:63].decode("utf-8", "ignore") or self.label
        return ServiceInfo(
            "_http._tcp.local.",
            f"{instance}._http._tcp.local.",
            port=self.port,
            properties={"path": "/"},
            server=f"{self.label}.local.",
            parsed_addresses=addresses,
        )

    def start(self, addresses: list[str]) -> bool:
        """Announce; False (logged) when zeroconf is missing or the network refuses."""
        if not addresses:
            log.warning("mDNS: no LAN address yet; %s is not announced", self.host)
            return False
        try:
            from zeroconf import IPVersion, Zeroconf

            self._zc = Zeroconf(ip_version=IPVersion.V4Only)
            self._info = self._service_info(addresses)
            self._zc.register_service(self._info, allow_name_change=True)
        except ImportError:
            log.warning("mDNS: python-zeroconf is not installed; %s is not announced", self.host)
            self.close()
            return False
        except Exception as exc:  # noqa: BLE001 - mDNS is a convenience: log and carry on
            log.warning("mDNS: could not announce %s: %s", self.host, exc)
            self.close()
            return False
        self.addresses = addresses
        log.info("mDNS: announced http://%s:%s/ (%s)", self.host, self.port, ", ".join(addresses))
        return True

    def refresh(self, addresses: list[str]) -> None:
        """Re-announce when the box's addresses changed (a new DHCP lease)."""
        if self._zc is None or not addresses or addresses == self.addresses:
            return
        try:
            new = self._service_info(addresses)
            new.name = self._info.name
            self._zc.update_service(new)
            self._info, self.addresses = new, addresses
        except Exception as exc:  # noqa: BLE001
            log.warning("mDNS: could not update %s: %s", self.host, exc)

    def close(self) -> None:
        zc, self._zc = self._zc, None
        if zc is None:
            return
        try:
            if self._info is not None:
                zc.unregister_service(self._info)
            zc.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("mDNS: closing: %s", exc)


# --- the chores thread ---------------------------------------------------------------------


def http_ok(host: str, port: int, path: str = "/healthz", timeout: float = 5.0) -> bool:
    """Whether the server itself answers on loopback (no proxies, no redirects): 200, or
    503 for a storage fault, which a restart would not mend (the box keeps serving reads)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status in (200, 503)
    except OSError:
        return False
    finally:
        conn.close()


def store_ok(store: Any) -> bool:
    """The store answers a read and its writer takes a unit of work (nothing is written).
    Blocks while the store is stuck: run it where a timeout bounds it (`Box.healthy`)."""
    if store is None:
        return False
    try:
        store.write_sync(lambda tx: None)
        row = store.read_sync(lambda c: c.execute("SELECT 1").fetchone())
        return row is not None and row[0] == 1
    except Exception:  # noqa: BLE001 - any failure is "not healthy"
        return False


class Box:
    """Runs beside uvicorn: tells systemd when the server is up and, while it is healthy,
    pings the watchdog; announces the box over mDNS. `server` is the uvicorn.Server."""

    ADDRESS_CHECK_S = 60.0

    def __init__(
        self,
        app: Any,
        server: Any,
        *,
        host: str,
        port: int,
        role: str,
        mdns_name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.server = server
        self.host = host
        self.port = port
        self.role = role
        self.mdns_name = mdns_name
        self.env = dict(os.environ if env is None else env)
        self.interval = watchdog_interval(self.env)
        self.announcer: Announcer | None = None
        self._stop = threading.Event()
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linli-health")
        self._thread = threading.Thread(target=self._run, name="linli-box", daemon=True)

    def healthy(self) -> bool:
        """/healthz answers and the store answers; a check stuck longer than the timeout
        counts as a failure (and the next one queues behind it, failing too)."""
        timeout = min(5.0, self.interval or 5.0)

        def check() -> bool:
            store = getattr(self.app.state, "store", None)
            return http_ok(self.host, self.port, timeout=timeout) and store_ok(store)

        try:
            return self._checker.submit(check).result(timeout=2 * timeout + 1)
        except FutureTimeout:
            return False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """The server is shutting down: no more pings, STOPPING=1, mDNS goodbyes.
        Called from the app's shutdown (uvicorn ends the process with the signal it
        caught right after, so nothing after `server.run()` is sure to run)."""
        if self._stop.is_set():
            return
        self._stop.set()
        sd_notify("STOPPING=1", self.env)
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.announcer is not None:
            self.announcer.close()
        self._checker.shutdown(wait=False, cancel_futures=True)

    def _stopping(self) -> bool:
        return self._stop.is_set() or bool(getattr(self.server, "should_exit", False))

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the server began to stop meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._stopping():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._stop.wait(min(left, 0.2))
        return True

    def _run(self) -> None:
        while not (getattr(self.server, "started", False) and self.healthy()):
            if self._wait(0.1):
                return
        sd_notify(f"READY=1\nSTATUS=serving on port {self.port}\nMAINPID={os.getpid()}", self.env)
        self._announce()
        last_address_check = time.monotonic()
        tick = self.interval or self.ADDRESS_CHECK_S
        was_healthy = True
        while not self._wait(tick):
            if self.interval is not None:
                ok = self.healthy()
                if self._stopping():
                    return
                if ok:
                    sd_notify("WATCHDOG=1", self.env)
                if ok != was_healthy:
                    status = "serving" if ok else "health check failing: no watchdog ping"
                    (log.info if ok else log.error)("box: %s", status)
                    sd_notify(f"STATUS={status}", self.env)
                    was_healthy = ok
            if (
                self.announcer is not None
                and time.monotonic() - last_address_check >= self.ADDRESS_CHECK_S
            ):
                last_address_check = time.monotonic()
                self.announcer.refresh(lan_ipv4())

    def _announce(self) -> None:
        centre_name = str(getattr(self.app.state, "centre_name", "") or "")
        try:
            label = mdns_label(self.mdns_name, centre_name, self.role)
        except ValueError as exc:
            log.warning("mDNS: %s", exc)
            return
        if label is None:
            return
        title = f"Linli {centre_name}".strip() if self.role != "hub" else "Linli hub"
        announcer = Announcer(label, self.port, title)
        if announcer.start(lan_ipv4()):
            self.announcer = announcer
            self.app.state.mdns_host = announcer.host
