"""After an outage the badge tells the truth soon and says when the next try is.

Issue 12, item 15: the wait between failed runs is capped at a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from page_forms import sign_in
from sync_fixtures import HUB_URL, enrolled

from edge.domain.auth import add_staff
from edge.settings import Settings
from edge.web.app import create_app
from hub.app import Hub
from sync.agent import MAX_IDLE_S, next_wait

pytestmark = pytest.mark.anyio


def test_the_wait_between_failed_runs_is_capped() -> None:
    assert next_wait(15, 0) == 15
    assert next_wait(15, 1) == 30
    assert next_wait(15, 2) == 60
    assert next_wait(15, 5) == MAX_IDLE_S == 60  # was 480 s at the default interval
    assert next_wait(15, 50) == 60
    assert next_wait(120, 3) == 120  # a long interval is never shortened by the cap


class Down(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the link is down", request=request)


async def test_a_failing_agent_says_when_it_tries_next(tmp_path: Path) -> None:
    _app, (a,) = enrolled(tmp_path, ["金沙路社区"])
    try:
        async with httpx.AsyncClient(transport=Down(), base_url=HUB_URL) as client:
            agent = a.agent(client, hub_site_id=None, backoff_s=0.001, backoff_max_s=0.001)
            assert agent.status()["next_try"] is None
            task = asyncio.create_task(agent.run_forever(interval=5.0))
            try:
                for _ in range(200):
                    await asyncio.sleep(0.05)
                    if agent.status()["next_try"]:
                        break
                status = agent.status()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        a.store.close()
    assert not status["online"] and status["last_error"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d", status["next_try"] or ""), status


def test_the_badge_shows_the_next_try(tmp_path: Path) -> None:
    """A real enrolled centre whose hub refuses connections (loopback port 9): the
    server's own background sync fails, and the page's badge says when it tries next."""

    app, (a,) = enrolled(tmp_path, ["金沙路社区"], hub_url="http://127.0.0.1:9")
    hub: Hub = app.state.hub
    a.store.write_sync(lambda tx: add_staff(tx, "staff", "staff", "1234"))
    a.store.close()
    hub.store.close()
    settings = Settings(
        db_path=tmp_path / "a.db",
        sync_enabled=True,
        sync_interval_s=0.2,
        housekeeping_interval_s=0,
    )
    with TestClient(app=create_app(settings)) as client:
        assert sign_in(client, "staff").status_code == 303
        page = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page = client.get("/").text
            if "下次重试" in page:
                break
            time.sleep(0.2)
    assert re.search(r"下次重试 \d\d:\d\d:\d\d", page), page[-2000:]
    assert "离线" in page
    assert "next try" not in page and "offline" not in page  # no English on a Chinese page
