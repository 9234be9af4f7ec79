"""The centre's OpenAPI document lists the error answers a route can give, in the
shape the app really sends."""

from __future__ import annotations

from typing import Any

from centre_world import Centre


def _responses(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(doc["paths"][path][method]["responses"])


def test_every_api_route_lists_its_errors_in_the_real_shape(centre: Centre) -> None:
    doc = centre.client.get("/schema/openapi.json").json()
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["properties"]) == {"error", "detail", "field"}
    assert set(error["required"]) == {"error", "detail"}
    api = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/v1/")}
    assert len(api) > 20
    for path, ops in api.items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "401"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method != "get":
                assert {"409", "503"} <= codes, (method, path)
            ref = op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody")
    assert "429" in _responses(doc, "post", "/api/v1/auth/token")
    assert "403" in _responses(doc, "post", "/api/v1/close-day")  # managers only


def test_a_real_error_answer_has_the_documented_shape(centre: Centre) -> None:
    r = centre.client.get("/api/v1/orders/NOPE", headers=centre.headers())
    assert r.status_code == 404
    assert set(r.json()) <= {"error", "detail", "field"} and {"error", "detail"} <= set(r.json())
    r = centre.client.post(
        "/api/v1/close-day", json={"day": "2026-11-29"}, headers=centre.headers("volunteer")
    )
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "detail": "only a manager may do this"}


def _success_schema(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = _responses(doc, method, path)
    ok = next(code for code in ("200", "201") if code in responses)
    ref = responses[ok]["content"]["application/json"]["schema"]["$ref"]
    return dict(doc["components"]["schemas"][ref.rsplit("/", 1)[1]])


def test_typed_replies_show_their_fields(centre: Centre) -> None:
    """Endpoints answering a fixed shape document it (edge.web.api.replies), and the body
    the app sends has exactly those fields."""
    doc = centre.client.get("/schema/openapi.json").json()
    expected = {
        ("post", "/api/v1/auth/token"): {"token", "staff"},
        ("post", "/api/v1/orders"): {
            "id",
            "pickup_date",
            "pickup_code",
            "status",
            "notice",
            "replayed",
        },
        ("post", "/api/v1/orders/{order_id}/cancel"): {"id", "status"},
        ("post", "/api/v1/close-day"): {"day", "no_show"},
        ("get", "/api/v1/packing-list"): {"day", "orders", "totals"},
        ("post", "/api/v1/care/bookings/{booking_id}/confirm"): {"id", "status"},
        ("post", "/api/v1/care/daycare/walkin-lunch"): {"day", "total"},
        ("get", "/api/v1/shortages"): {"delivery_date", "orders"},
        ("post", "/api/v1/calendar/exceptions"): {"id", "moved"},
        ("get", "/api/v1/products/{product_id}"): PRODUCT_FIELDS,
        ("patch", "/api/v1/products/{product_id}"): PRODUCT_FIELDS,
        ("get", "/api/v1/calendar"): CALENDAR_FIELDS,
        ("get", "/api/v1/households/{household_id}"): HOUSEHOLD_FIELDS,
        ("get", "/api/v1/dashboard"): DASHBOARD_FIELDS,
        ("post", "/api/v1/orders/{order_id}/settle"): {"paid_fen", "change_due_fen", "owed_fen"},
        ("put", "/api/v1/consolidated/buffer"): {
            "delivery_date",
            "product_id",
            "qty_unit",
            "quantity",
            "amended_version",
        },
        ("post", "/api/v1/consolidated/sent-by-hand"): {
            "delivery_date",
            "version",
            "sent_by_hand_at",
            "replayed",
        },
        ("post", "/api/v1/receiving"): {"delivery_date", "recorded", "shortages"},
        ("get", "/api/v1/returns"): {"delivery_date", "note", "suggested"},
        ("get", "/api/v1/receiving"): {
            "centre_id",
            "delivery_date",
            "lines",
            "dispatch_note",
            "dispatch_note_text",
            "shortages",
        },
        ("get", "/api/v1/care/daycare"): {"day", "grid", "lunch"},
        ("post", "/api/v1/wechat/confirm"): {"id", "pickup_date", "pickup_code", "replayed"},
        ("post", "/api/v1/wechat/link"): {"nickname", "household_id"},
    }
    for (method, path), fields in expected.items():
        schema = _success_schema(doc, method, path)
        assert set(schema["properties"]) == fields, (method, path)
        assert set(schema["required"]) == fields, (method, path)
    r = centre.client.get("/api/v1/packing-list", headers=centre.headers())
    assert r.status_code == 200
    assert set(r.json()) == {"day", "orders", "totals"}
    for path, fields in (
        ("/api/v1/calendar", CALENDAR_FIELDS),
        ("/api/v1/dashboard", DASHBOARD_FIELDS),
    ):
        r = centre.client.get(path, headers=centre.headers())
        assert r.status_code == 200, r.text
        assert set(r.json()) == fields, path
    r = centre.client.get("/api/v1/products", headers=centre.headers())
    assert r.status_code == 200
    assert r.json() and all(set(p) == PRODUCT_FIELDS for p in r.json())


def test_an_undo_documents_each_kind_of_answer(centre: Centre) -> None:
    """POST /api/v1/corrections answers one of three shapes, by the kind undone."""
    doc = centre.client.get("/schema/openapi.json").json()
    ok = _responses(doc, "post", "/api/v1/corrections")["201"]
    kinds = ok["content"]["application/json"]["schema"]["oneOf"]
    fields = [
        set(doc["components"]["schemas"][k["$ref"].rsplit("/", 1)[1]]["properties"]) for k in kinds
    ]
    assert sorted(fields, key=sorted) == sorted(
        [
            {"order_id", "status", "given_back_fen", "corrections"},
            {"order_id", "given_back_fen", "owed_fen", "correction"},
            {"sale_id", "given_back_fen", "correction"},
        ],
        key=sorted,
    )


PRODUCT_FIELDS = {
    "id",
    "name",
    "aliases",
    "category",
    "sold_by",
    "unit",
    "price_fen",
    "bundle_size",
    "special_price_fen",
    "special_from",
    "special_to",
    "active",
}
CALENDAR_FIELDS = {"weekdays", "cutoff", "pickup_hours", "closed", "extra", "next_delivery_day"}
HOUSEHOLD_FIELDS = {
    "id",
    "name",
    "building",
    "unit",
    "room",
    "wechat_nickname",
    "notes",
    "home_delivery",
    "phone",
}
DASHBOARD_FIELDS = {
    "day",
    "orders",
    "placed",
    "packed",
    "picked_up",
    "delivered",
    "cancelled",
    "no_show",
    "waiting",
    "done",
    "orders_takings_fen",
    "walkin_takings_fen",
    "walkin_sales",
    "takings_fen",
    "owed_fen",
    "owing",
    "corrections",
    "given_back_fen",
}
