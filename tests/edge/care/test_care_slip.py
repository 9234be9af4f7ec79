"""The family's link slip at the centre (/care/elders, manager): the code in large print
and a QR of the hub's family page with the code filled in; a new code retires the old
slip. On the hub the code from the QR is filled in, and a signed-in family member links
a second elder with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from care_fixtures import seed_care
from care_hub_world import link, seed, send
from centre_world import Centre
from page_forms import post_form, sign_in
from sync_fixtures import closing_stores, enrol_centre, hub_app, hub_client

from edge.domain.care import recipients
from edge.store import set_meta
from edge.sync_hooks import make_agent


def test_the_manager_prints_a_slip_with_the_code_and_its_qr(centre: Centre) -> None:
    store = centre.client.app.state.store
    care = seed_care(store, centre.households)
    elder = care.elders["王秀英"]
    code = store.read_sync(lambda c: recipients.get_recipient(c, elder, sees_notes=False))[
        "link_code"
    ]
    sign_in(centre.client, "volunteer")
    assert centre.client.get("/care/elders").status_code == 403
    assert centre.client.get(f"/care/elders/{elder}/slip").status_code == 403
    sign_in(centre.client)
    listing = centre.client.get("/care/elders")
    assert listing.status_code == 200 and "王秀英" in listing.text and code in listing.text
    slip = centre.client.get(f"/care/elders/{elder}/slip")
    assert slip.status_code == 200 and code in slip.text and "<svg" in slip.text
    assert "尚未接入中心平台" in slip.text  # not joined: the code alone
    store.write_sync(lambda tx: set_meta(tx.conn, "sync_hub_url", "https://hub.example.cn/"))
    slip = centre.client.get(f"/care/elders/{elder}/slip")
    assert f"https://hub.example.cn/family?code={code}" in slip.text
    r = post_form(centre, f"/care/elders/{elder}/new-code", {}, f"/care/elders/{elder}/slip")
    assert r.status_code == 303
    fresh = store.read_sync(lambda c: recipients.get_recipient(c, elder, sees_notes=False))
    assert (
        fresh["link_code"] != code
        and fresh["link_code"] in centre.client.get(f"/care/elders/{elder}/slip").text
    )
    assert centre.client.get("/care/elders/nope/slip").status_code == 404


@pytest.mark.anyio
async def test_the_hub_fills_in_the_code_and_links_a_second_elder(tmp_path: Path) -> None:
    app = hub_app(tmp_path / "hub.db")
    async with hub_client(app) as client:
        centre = enrol_centre(app.state.store, tmp_path / "a.db", "金沙路")
        with closing_stores(centre.store):
            ids = seed(centre.store)
            second = centre.store.write_sync(
                lambda tx: recipients.create_recipient(tx, None, {"name": "王德贵"})
            )
            agent = make_agent(centre.store, client)
            assert agent is not None
            await agent.sync_once()
            codes: dict[str, Any] = dict(
                centre.store.read_sync(
                    lambda c: c.execute("SELECT id, link_code FROM care_recipients").fetchall()
                )
            )
            page = await client.get("/family", params={"code": codes[ids["elder"]].lower()})
            assert f'name="code" value="{codes[ids["elder"]]}"' in page.text
            assert (await link(client, codes[ids["elder"]])).status_code == 303
            home = await client.get("/family", params={"code": codes[second]})
            assert "绑定另一位老人" in home.text and f'value="{codes[second]}"' in home.text
            wrong = await send(
                client,
                "/family/link",
                {
                    "code": codes[second],
                    "phone": "13912345678",
                    "password": "not-mine1",
                    "name": "王明",
                },
            )
            assert wrong.status_code == 401 and "密码不对" in wrong.text
            r = await send(
                client,
                "/family/link",
                {
                    "code": codes[second],
                    "phone": "13912345678",
                    "password": "mima1234",
                    "name": "王明",
                },
            )
            assert r.status_code == 303 and r.headers["location"] == f"/family/elders/{second}"
            home = await client.get("/family")
            assert "王秀英" in home.text and "王德贵" in home.text
            assert '<details class="card" open>' not in home.text  # no code: folded
