"""A full or failing disk: writes and sign-ins answer 503 with a clear message, nothing
is half-written, /healthz reports the fault, the box stays readable, and it recovers
by itself when space returns.

The disk fills for real inside SQLite: `PRAGMA max_page_count` on the writer makes the
next page the file needs fail with SQLITE_FULL, as a full SD card does.
"""

from __future__ import annotations

import sqlite3

from centre_world import Centre, count, order_body

from edge.store import Store, storage_fault


def _fill_the_disk(store: Store) -> int:
    pages = store.write_sync(lambda tx: tx.one("PRAGMA page_count")[0])
    store.write_sync(lambda tx: tx.execute(f"PRAGMA max_page_count = {pages}"))
    return int(pages)


def _free_space(store: Store) -> None:
    store.write_sync(lambda tx: tx.execute("PRAGMA max_page_count = 1073741823"))


def test_a_full_disk_is_a_503_that_says_so_and_loses_nothing(centre: Centre) -> None:
    store: Store = centre.client.app.state.store
    placed = centre.client.post("/api/v1/orders", json=order_body(centre), headers=centre.headers())
    assert placed.status_code == 201, placed.text
    _fill_the_disk(store)
    before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    orders_before = count(centre.db_path, "SELECT COUNT(*) FROM orders")

    refused = None
    for i in range(300):  # until the free pages in the file are used up
        r = centre.client.post(
            "/api/v1/households",
            json={"name": f"住户{i}", "notes": "备注" * 90},
            headers=centre.headers(),
        )
        if r.status_code != 201:
            refused = r
            break
        before = count(centre.db_path, "SELECT COUNT(*) FROM changes")
    assert refused is not None, "the disk never filled"
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "storage_fault"
    assert "storage full" in refused.json()["detail"] and "存储已满" in refused.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes") == before  # nothing half-written

    health = centre.client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "fault"
    assert "storage full" in health.json()["detail"]

    # Still readable: today's orders and the product list answer.
    listed = centre.client.get(
        "/api/v1/orders", params={"pickup_date": "2026-11-30"}, headers=centre.headers()
    )
    assert listed.status_code == 200 and len(listed.json()) >= 1
    assert count(centre.db_path, "SELECT COUNT(*) FROM orders") == orders_before

    # A tablet page shows the message instead of a generic error.
    page = centre.client.post(
        "/api/v1/orders", json=order_body(centre), headers=centre.headers(Accept="text/html")
    )
    assert page.status_code == 503

    _free_space(store)
    again = centre.client.post(
        "/api/v1/households", json={"name": "新住户"}, headers=centre.headers()
    )
    assert again.status_code == 201, again.text
    assert centre.client.get("/healthz").json() == {"status": "ok"}


def test_storage_fault_codes() -> None:
    def error(code: int) -> sqlite3.Error:
        exc = sqlite3.OperationalError("x")
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert storage_fault(error(13)) is not None  # SQLITE_FULL
    assert storage_fault(error(8 | (1 << 8))) is not None  # SQLITE_READONLY_RECOVERY
    assert storage_fault(error(10 | (3 << 8))) is not None  # SQLITE_IOERR_WRITE
    assert storage_fault(error(5)) is None  # SQLITE_BUSY: a wait, not a fault
    assert storage_fault(ValueError("x")) is None


def test_an_empty_unit_of_work_does_not_clear_the_fault(centre: Centre) -> None:
    """The watchdog's store check writes nothing; it must not hide a full disk."""
    store: Store = centre.client.app.state.store
    _fill_the_disk(store)
    for i in range(300):
        r = centre.client.post(
            "/api/v1/households",
            json={"name": f"住户{i}", "notes": "备注" * 90},
            headers=centre.headers(),
        )
        if r.status_code == 503:
            break
    assert store.fault is not None
    store.write_sync(lambda tx: None)
    assert centre.client.get("/healthz").status_code == 503
