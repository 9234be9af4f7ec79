"""Sign-in, bearer tokens, roles and the sign-in rate limit."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from centre_world import Centre, count
from page_forms import csrf

from edge.domain import auth
from edge.errors import TooManyRequests, Unauthorized
from edge.store import open_store
from edge.web.pages import configure_templates


def test_health_and_schema_need_no_auth(centre: Centre) -> None:
    assert centre.client.get("/healthz").json() == {"status": "ok"}
    schema = centre.client.get("/schema/openapi.json").json()
    assert "/api/v1/orders" in schema["paths"]
    assert "/api/v1/orders/{order_id}/pickup" in schema["paths"]


def test_api_needs_a_valid_bearer_token(centre: Centre) -> None:
    assert centre.client.get("/api/v1/orders").status_code == 401
    r = centre.client.get("/api/v1/orders", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert centre.client.get("/api/v1/orders", headers=centre.headers()).status_code == 200


def test_pin_sign_in_gives_a_working_token(centre: Centre) -> None:
    r = centre.client.post("/api/v1/auth/token", json={"name": "staff", "pin": "1234"})
    assert r.status_code == 200 and r.json()["staff"]["role"] == "staff"
    token = r.json()["token"]
    assert (
        centre.client.get(
            "/api/v1/products", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )


def test_wrong_pins_are_rate_limited(centre: Centre) -> None:
    for _ in range(5):
        r = centre.client.post("/api/v1/auth/token", json={"name": "staff", "pin": "0000"})
        assert r.status_code == 401
    r = centre.client.post("/api/v1/auth/token", json={"name": "staff", "pin": "1234"})
    assert r.status_code == 429 and "try again" in r.json()["detail"]
    # another name from the same tablet is not locked out
    ok = centre.client.post("/api/v1/auth/token", json={"name": "manager", "pin": "1234"})
    assert ok.status_code == 200


def test_only_managers_change_prices_and_calendar(centre: Centre) -> None:
    pid = centre.products["土豆"]
    assert (
        centre.client.patch(
            f"/api/v1/products/{pid}", json={"price_fen": 200}, headers=centre.headers("volunteer")
        ).status_code
        == 403
    )
    r = centre.client.patch(
        f"/api/v1/products/{pid}", json={"price_fen": 200}, headers=centre.headers()
    )
    assert r.status_code == 200 and r.json()["price_fen"] == 200
    assert (
        centre.client.put(
            "/api/v1/calendar", json={"weekdays": [1, 3]}, headers=centre.headers("staff")
        ).status_code
        == 403
    )


def test_district_catalog_rows_are_changed_on_the_hub_only(centre: Centre) -> None:
    """A centre that edited a hub-owned product would have its whole sync refused."""
    from edge.store import open_store

    centre.client.__exit__(None, None, None)  # let go of the file while we add the hub's row
    with open_store(centre.db_path) as store:
        store.write_sync(
            lambda tx: tx.insert(
                "products",
                {
                    "id": "hub-p1",
                    "site_id": "HUBSITE",
                    "name": "山药",
                    "sold_by": "weight",
                    "unit": "斤",
                    "price_fen": 600,
                },
                log=False,
            )
        )
    centre.client.__enter__()
    r = centre.client.patch(
        "/api/v1/products/hub-p1", json={"price_fen": 1}, headers=centre.headers()
    )
    assert r.status_code == 403 and "hub" in r.json()["detail"]
    assert count(centre.db_path, "SELECT COUNT(*) FROM changes WHERE row_id = 'hub-p1'") == 0


def test_limiter_forgets_expired_failures() -> None:
    from edge.domain.signin import MAX_TRACKED, LoginLimiter

    limiter = LoginLimiter(max_failures=3, window_s=0)
    for i in range(MAX_TRACKED + 5):
        limiter.failed("tablet", f"made-up-{i}")
    assert len(limiter._failures) < 10  # window 0: every old failure has expired


def _spy_on_verify(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """Record each hash verified, failing if it ran on the event loop; the real check still runs."""
    verified: list[str] = []
    real = getattr(module, name)

    def spy(stored_hash: str, secret: str) -> bool:
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()  # a worker thread has none
        verified.append(stored_hash)
        return bool(real(stored_hash, secret))

    monkeypatch.setattr(module, name, spy)
    return verified


def test_an_unknown_name_fails_like_a_wrong_pin(
    centre: Centre, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = _spy_on_verify(monkeypatch, auth, "_verify")
    wrong_pin = centre.client.post("/api/v1/auth/token", json={"name": "staff", "pin": "0000"})
    unknown = centre.client.post("/api/v1/auth/token", json={"name": "nobody", "pin": "0000"})
    assert wrong_pin.status_code == unknown.status_code == 401
    assert (
        wrong_pin.json()
        == unknown.json()
        == {
            "error": "unauthorized",
            "detail": "wrong name or PIN",
        }
    )
    # Both paid for an argon2 check (the unknown name against a stand-in hash), off the loop.
    assert len(verified) == 2 and all(h.startswith("$argon2id$") for h in verified)
    assert verified[0] != verified[1]


def test_an_unknown_name_on_the_sign_in_page(centre: Centre) -> None:
    configure_templates(centre.client.app.template_engine)
    for name in ("staff", "nobody"):
        r = centre.client.post(
            "/signin",
            data={"name": name, "pin": "0000", "_csrf_token": csrf(centre.client)},
            follow_redirects=False,
        )
        assert r.status_code == 401 and "名字或密码不对，请再试一次。" in r.text


def test_sign_ins_sent_at_once_cannot_slip_past_the_limit(
    tmp_path: Path, centre_template: tuple[Path, tuple[Any, ...]]
) -> None:
    db_path = tmp_path / "centre.db"
    shutil.copyfile(centre_template[0], db_path)  # build_centre's, made once per process

    async def burst() -> list[Any]:
        with open_store(db_path) as store:
            signer = auth.Auth(store, auth.LoginLimiter(max_failures=5, window_s=60))
            attempts = [signer.sign_in("tablet", "staff", "0000", "api") for _ in range(8)]
            return await asyncio.gather(*attempts, return_exceptions=True)

    results = asyncio.run(burst())
    assert [type(r) for r in results] == [Unauthorized] * 5 + [TooManyRequests] * 3
