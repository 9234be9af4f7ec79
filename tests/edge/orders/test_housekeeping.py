"""The centre's clockwork runs by itself: the consolidated order locks at cut-off."""

from __future__ import annotations

import copy
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from centre_world import SUNDAY_MORNING, Clock, count
from litestar.testing import TestClient

from edge.settings import Settings
from edge.web.app import create_app


def test_consolidated_order_locks_when_the_cutoff_passes(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    db_path = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db_path)  # build_centre's, made once per process
    _, tokens, products, households = copy.deepcopy(centre_template[1])
    clock = Clock(SUNDAY_MORNING)
    settings = Settings(
        db_path=db_path, sync_enabled=False, housekeeping_interval_s=0.05, now=clock
    )
    locked = "SELECT COUNT(*) FROM supply_consolidated WHERE delivery_date = '2026-11-30'"
    with TestClient(app=create_app(settings)) as client:
        r = client.post(
            "/api/v1/orders",
            headers={"Authorization": f"Bearer {tokens['staff']}"},
            json={
                "household_id": households["张桂兰"],
                "items": [{"product_id": products["土豆"], "quantity": 3, "unit": "斤"}],
            },
        )
        assert r.status_code == 201
        time.sleep(0.3)
        assert count(db_path, locked) == 0  # before the cut-off nothing locks
        clock.now = datetime(2026, 11, 29, 20, 1)  # Sunday, just past the 20:00 cut-off
        deadline = time.monotonic() + 10
        while count(db_path, locked) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count(db_path, locked) == 1
        time.sleep(0.3)
        assert count(db_path, locked) == 1  # nothing changed: no amendment
