"""Care through a hub, in process: the seeded centre (services, an elder, a provider),
and a family account linked by the slip's code."""

from __future__ import annotations

from typing import Any

from page_forms import TOKEN_RE as TOKEN

from edge.domain.care import catalog, providers, recipients
from edge.domain.care.common import Actor
from edge.domain.households import HouseholdInput, create_household
from edge.store import Store, Tx

MONDAY = "2030-01-07"


DESK = Actor("站长", None, "manager")


def seed(store: Store) -> dict[str, str]:
    def write(tx: Tx) -> dict[str, str]:
        services = catalog.seed_demo(tx)
        household = create_household(
            tx, HouseholdInput(name="王秀英", phone="15863219876", building="5")
        )
        elder = recipients.create_recipient(
            tx, household, {"name": "王秀英", "care_notes": "右手无力"}
        )
        volunteer = providers.create_provider(tx, {"name": "小李", "kind": "volunteer"})
        return {**services, "elder": elder, "volunteer": volunteer}

    return store.write_sync(write)


async def send(client: Any, path: str, data: dict[str, str], page: str = "/family") -> Any:
    got = await client.get(page)
    token = TOKEN.search(got.text)
    assert token, got.text[:300]
    return await client.post(path, data={**data, "_csrf_token": token.group(1)})


async def link(
    client: Any, code: str, phone: str = "13912345678", password: str = "mima1234"
) -> Any:
    return await send(
        client,
        "/family/link",
        {
            "code": code.lower(),
            "name": "王明",
            "relation": "儿子",
            "phone": phone,
            "password": password,
        },
    )
