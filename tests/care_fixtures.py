"""Care data on top of the test centre (conftest's `centre_template`): the demo's
services, two elders, providers linked to the template's staff, and a second
volunteer. Shared by the tests/edge/care/ and tests/hub/test_care_*.py files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.domain.auth import issue_token
from edge.domain.care import catalog, providers, recipients
from edge.domain.care.common import Actor
from edge.store import Store, Tx
from edge.store.ids import new_id

MONDAY = "2026-11-30"  # conftest's clock is Sunday 2026-11-29 10:00


@dataclass
class Care:
    services: dict[str, str]
    elders: dict[str, str]
    providers: dict[str, str]
    staff: dict[str, str]  # name -> staff id
    actors: dict[str, Actor]
    tokens: dict[str, str]


def seed_care(store: Store, households: dict[str, str]) -> Care:
    def write(tx: Tx) -> Care:
        staff = {
            r["name"]: r["id"]
            for r in tx.execute("SELECT id, name FROM staff WHERE site_id = ?", (tx.site_id,))
        }
        other = new_id()  # a second volunteer; no PIN needed, a token is enough
        tx.insert(
            "staff",
            {
                "id": other,
                "site_id": tx.site_id,
                "name": "volunteer2",
                "role": "volunteer",
                "pin_hash": "-",
                "created_at": "2026-01-01T00:00:00+00:00",
            },
        )
        staff["volunteer2"] = other
        services = catalog.seed_demo(tx)
        elders = {
            "王秀英": recipients.create_recipient(
                tx,
                households["王秀英"],
                {
                    "name": "王秀英",
                    "birth_date": "1938-04-12",
                    "mobility": "wheelchair",
                    "care_notes": "右手无力",
                    "subsidy": True,
                    "day_care": True,
                    "family": [{"name": "王明", "relation": "儿子", "phone": "13912345678"}],
                },
            ),
            "张桂兰": recipients.create_recipient(
                tx, households["张桂兰"], {"name": "张桂兰", "day_care": True}
            ),
        }
        people = {
            "volunteer": providers.create_provider(
                tx, {"name": "小李", "kind": "volunteer", "staff_id": staff["volunteer"]}
            ),
            "volunteer2": providers.create_provider(
                tx, {"name": "小赵", "kind": "volunteer", "staff_id": other}
            ),
            "staff": providers.create_provider(
                tx, {"name": "王姐", "kind": "staff", "staff_id": staff["staff"]}
            ),
        }
        roles = {"manager": "manager", "staff": "staff", "volunteer": "volunteer"}
        actors = {n: Actor(n, staff[n], r) for n, r in roles.items()}
        actors["volunteer2"] = Actor("volunteer2", other, "volunteer")
        tokens = {"volunteer2": issue_token(tx, other)}
        return Care(services, elders, people, staff, actors, tokens)

    return store.write_sync(write)


def open_care_store(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> Iterator[tuple[Store, Care]]:
    """A store on a copy of the test centre, with care data; no web app. A test module
    makes it its `care_store` fixture (see tests/edge/care/test_care_bookings.py)."""
    template, built = centre_template
    shutil.copyfile(template, tmp_path / "centre.db")
    store = Store(tmp_path / "centre.db")
    try:
        yield store, seed_care(store, built[3])
    finally:
        store.close()
