"""Fixtures for the browser tests: a real `linli serve` on a free loopback port, and Chromium.

Import them explicitly in a test module (`from tests.browser_fixtures import ...`).
The server runs the demo centre from a temp file, with sync off; Chromium is
Debian's (/usr/bin/chromium), driven headless by Playwright, never downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TABLET_LANDSCAPE = {"width": 1280, "height": 800}
TABLET_PORTRAIT = {"width": 800, "height": 1280}
# axe-core, vendored: the tablet fixture serves it at this path (never from a CDN).
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test__/axe.min.js"
AXE_JS = AXE.read_bytes()  # 650 KB, read once per test process, not once per page checked
# Every rule runs and every violation comes back whole (all its nodes); `resultTypes`
# only spares axe building selectors and snippets for every node that *passed* (or was
# inapplicable or incomplete), which nobody reads (axe-core's documented option for it).
_AXE_RUN = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
MIN_TARGET_PX = 44
# Every control a finger may aim at, as it stands on the page; a radio or checkbox
# inside its label is aimed at through the label (the label is measured instead).
_SMALL_TARGETS = """() => [...document.querySelectorAll(
  'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]')]
  .map(e => (e.type === 'radio' || e.type === 'checkbox') && e.closest('label')
    ? e.closest('label') : e)
  .filter(e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
      && !e.closest('.sr-only') && !(e.type === 'radio' || e.type === 'checkbox'); })
  .filter(e => { const r = e.getBoundingClientRect(); return r.width < MIN || r.height < MIN; })
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' '
    + Math.round(e.getBoundingClientRect().width) + 'x'
    + Math.round(e.getBoundingClientRect().height) + ' '
    + (e.innerText || e.name || '').slice(0, 20))
"""


def serve_axe(route: Any) -> None:
    """Answer the test's request for axe-core (AXE_PATH) from memory."""
    route.fulfill(body=AXE_JS, content_type="application/javascript")


def keep_on_the_box(context: Any, origin: str) -> list[str]:
    """Abort, and list, every request the context makes anywhere but `origin` (the box);
    answer AXE_PATH there with axe-core. Only those requests are routed (the patterns
    are matched in the browser's driver): the box's own pages, scripts and styles load
    as they would, without a round trip through this test process each."""
    offsite: list[str] = []

    def refuse(route: Any) -> None:
        offsite.append(route.request.url)
        route.abort()

    context.route(re.compile("^(?!" + re.escape(origin.rstrip("/") + "/") + ")"), refuse)
    context.route(origin.rstrip("/") + AXE_PATH, serve_axe)
    return offsite


def axe_violations(page: Any) -> list[Any]:
    """axe-core's violations on the page as it stands (every rule it has).

    The first check in a browser context loads axe-core into the page from AXE_PATH (the
    page's own origin, so its Content-Security-Policy allows it) and has the context
    load it into every page it opens from then on, before the page's own scripts (an
    init script: not fetched through this test process again per page checked)."""
    context = page.context
    if not getattr(context, "_linli_axe", False):
        context.add_init_script(script=AXE_JS.decode())
        context._linli_axe = True
    if not page.evaluate("() => typeof axe === 'object'"):
        page.add_script_tag(url=AXE_PATH)
    found: list[Any] = page.evaluate(_AXE_RUN)
    return found


def assert_accessible(page: Any, name: str) -> None:
    """axe-core on the page as it stands: no violations at all (contrast, labels,
    names, landmarks...), and every touch target at least 44x44 px."""
    found = axe_violations(page)
    summary = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in found]
    assert not found, f"{name}: {summary}"
    small = page.evaluate(_SMALL_TARGETS.replace("MIN", str(MIN_TARGET_PX)))
    assert not small, f"{name}: touch targets under {MIN_TARGET_PX} px: {small}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def linli_command() -> list[str]:
    script = Path(sys.executable).with_name("linli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "edge.cli"]


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"linli serve exited with {proc.returncode}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"linli serve did not answer on {url} within {timeout_s} s")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real centre server on the demo database."""
    from sync_fixtures import linli_in_process  # `linli demo` here: no Python started for it

    folder = tmp_path_factory.mktemp("live")
    db = folder / "centre.db"
    demo = linli_in_process("demo", "--db", str(db))
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *linli_command(),
                "serve",
                "--role",
                "centre",
                "--db",
                str(db),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-sync",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make browser` (installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tablet(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh tablet (browser context) in landscape, with no request allowed off the box."""
    context = browser.new_context(
        viewport=TABLET_LANDSCAPE,
        base_url=live_server,
        locale="zh-CN",
        device_scale_factor=1,
        has_touch=True,
    )
    offsite = keep_on_the_box(context, live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused: list[str] = []  # what the Content-Security-Policy stopped in our own pages
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    try:
        yield page
    finally:
        context.close()
    assert not offsite, f"pages asked for something off the box: {offsite}"
    assert not refused, f"the pages' CSP refused their own scripts or styles: {refused}"


PORTRAIT = {"width": 800, "height": 1280}


class Taps:
    """Counts what a thumb touches; typing on the keyboard is not a tap."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.n = 0

    def __call__(self, selector: str | Any) -> None:
        target = self.page.locator(selector) if isinstance(selector, str) else selector
        target.tap()
        self.n += 1


def sign_in(page: Any, name: str, pin: str) -> None:
    page.goto("/signin")
    page.locator(".staff-pick label.choice", has_text=name).tap()  # a name from the list
    for digit in pin:
        page.tap(f".keypad button[data-key='{digit}']")
    page.tap("form.signin button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
