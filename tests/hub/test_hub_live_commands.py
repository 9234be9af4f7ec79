"""Commands with an outcome, against a real hub process and a centre whose server is stopped.

The operator sees the centre's own calendar (a Saturday it added) in the form,
sends a calendar that would strand orders and a cancel; both wait, pending, while
the centre is silent; after the centre's `linli sync --once` runs, the list says
which was done and why the other was refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from hub_world import District, district, sign_in


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[District]:
    """The district built with the CLI, its hub served on a SQLite file and on PostgreSQL
    (`linli hub ... --db postgresql://...`, `linli serve --role hub --db postgresql://...`)."""
    hub = (
        request.getfixturevalue("pg_server").fresh_database() if request.param != "sqlite" else None
    )
    with district(tmp_path_factory.mktemp("hublive"), hub) as w:
        yield w


def _card(html: str, site_id: str) -> str:
    start = html.index(f'id="centre-{site_id}"')
    end = html.find('<section class="card centre', start + 10)
    return html[start : end if end > 0 else len(html)]


def test_commands_wait_for_a_stopped_centre_then_show_done_or_refused_with_the_reason(
    world: District, tmp_path: Path
) -> None:
    with httpx.Client(base_url=world.url, timeout=30) as client:
        csrf = sign_in(client)
        card = _card(client.get("/hub/sync").text, world.a_site)
        assert set(re.findall(r'name="weekday" value="(\d)" checked', card)) == {"0", "2", "4", "5"}
        assert 'name="cutoff" value="19:30"' in card and "周一、周三、周五、周六" in card

        # A calendar of Saturdays only strands the orders of the demo's next delivery day.
        r = client.post(
            f"/hub/centres/{world.a_site}/calendar",
            data={"_csrf_token": csrf, "weekday": ["5"], "cutoff": "19:30"},
        )
        assert r.status_code in (302, 303)
        (order_id, day), *_ = world.hub_rows(
            "SELECT id, pickup_date FROM orders WHERE site_id = ? AND status = 'placed'"
            " ORDER BY pickup_date DESC",
            (world.a_site,),
        )
        assert date.fromisoformat(str(day)).weekday() in (0, 2, 4)
        r = client.post(f"/hub/orders/{order_id}/cancel", data={"_csrf_token": csrf})
        assert r.status_code in (302, 303)

        listed = client.get("/hub/commands").text
        assert listed.count('<li class="cmd cmd-pending"') == 2
        assert 'hx-get="/hub/commands/part?' in listed and "站点拒绝" not in listed

        world.sync(world.a_db)  # pulls both and runs them
        world.sync(world.a_db)  # pushes the answers
        listed = client.get("/hub/commands").text
        assert "cmd-pending" not in listed and "hx-get" not in listed
        refused = listed[listed.index('<li class="cmd cmd-refused"') :]
        refused = refused[: refused.index("</li>")]
        assert "配送日 周六，截单 19:30" in refused
        assert (
            f"{day} (" in refused
            and "还有订单未完成：请先把这些订单改到别的配送日，或取消它们。" in refused
        )
        assert "orders are still waiting for" in refused  # the centre's own words beside
        done = listed[listed.index('<li class="cmd cmd-applied"') :]
        assert "站点已执行" in done and "取消订单" in done
        assert world.hub_rows("SELECT status FROM orders WHERE id = ?", (order_id,)) == [
            ("cancelled",)
        ]
        # The calendar the centre kept is still what the form shows.
        card = _card(client.get("/hub/sync").text, world.a_site)
        assert set(re.findall(r'name="weekday" value="(\d)" checked', card)) == {"0", "2", "4", "5"}
