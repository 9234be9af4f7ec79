"""The one day parser (edge.domain.calendar) and the one bearer reader (edge.web.shared)
that the centre's API and pages and the hub's APIs all use."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from litestar import Request

from edge.domain import calendar
from edge.errors import BadRequest
from edge.web.shared import bearer_token


@pytest.mark.parametrize(
    "value",
    ["2026-1-05", "20260105", "2026-01-05T00:00", " 2026-01-05", "2026-02-30", "", None, 20260105],
)
def test_a_day_is_exactly_yyyy_mm_dd(value: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        calendar.iso_day(value, "args.day")
    assert caught.value.detail == "args.day must be a date as YYYY-MM-DD"
    assert caught.value.field == "args.day"


@pytest.mark.parametrize("value", ["1999-12-31", "2101-01-01"])
def test_a_day_outside_the_years_is_a_typo(value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        calendar.iso_day(value, "day")
    assert caught.value.detail == "day must be a date between 2000 and 2100"


def test_day_or_takes_the_default_only_when_nothing_was_asked() -> None:
    today = date(2026, 12, 3)
    assert calendar.day_or(None, today) == "2026-12-03"
    assert calendar.day_or("", today) == "2026-12-03"
    assert calendar.day_or("2026-12-07", today) == "2026-12-07"
    with pytest.raises(BadRequest) as caught:
        calendar.day_or("next tuesday", today)
    assert caught.value.field == "day"


def _request(*headers: tuple[bytes, bytes]) -> Request[Any, Any, Any]:
    scope: Any = {"type": "http", "method": "GET", "path": "/", "headers": list(headers)}
    return Request(scope)


def test_bearer_token_reads_the_scheme_in_any_case_and_nothing_else() -> None:
    assert bearer_token(_request((b"authorization", b"Bearer abc"))) == "abc"
    assert bearer_token(_request((b"authorization", b"bearer  abc "))) == "abc"
    assert bearer_token(_request((b"authorization", b"BEARER abc"))) == "abc"
    assert bearer_token(_request((b"authorization", b"Basic YWJjOmRlZg=="))) is None
    assert bearer_token(_request((b"authorization", b"Bearerabc"))) is None
    assert bearer_token(_request()) is None
