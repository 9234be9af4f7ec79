"""Whole numbers and compound keys from posted forms, refused with a 400 naming the field.

`int()` is too lenient for what a browser (or anything else) posts: it takes
"٣" and "１２", and raises a bare `ValueError`, a 500, on "²", "abc" or more
than 4,300 digits. Here only ASCII digits within the caller's bounds pass;
anything else is `BadRequest` with the field, which a page shows on its form
and the error handlers answer as 400.
"""

from __future__ import annotations

from litestar.datastructures import FormMultiDict

from edge.errors import BadRequest

# Far below int()'s digit limit and SQLite's 64-bit INTEGER; callers bound tighter.
MAX_DIGITS = 18


def parse_int(text: str, field: str, *, minimum: int = 0, maximum: int) -> int:
    """ASCII digits ("12", not "-1", "1.0", "٣" or "²") between the bounds, inclusive."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        value = int(text)
        if minimum <= value <= maximum:
            return value
    raise BadRequest(f"{field} must be a whole number from {minimum} to {maximum}", field=field)


def form_int(
    form: FormMultiDict, name: str, *, minimum: int = 0, maximum: int, field: str | None = None
) -> int | None:
    """The whole number posted as `name`, or None if it is missing or blank."""
    value = form.get(name)
    text = "" if value is None else str(value)
    if not text.strip():
        return None
    return parse_int(text, field or name, minimum=minimum, maximum=maximum)


def form_ints(
    form: FormMultiDict, name: str, *, minimum: int = 0, maximum: int, field: str | None = None
) -> list[int]:
    """Every whole number posted as `name` (checkboxes); none is an empty list."""
    return [
        parse_int(str(value), field or name, minimum=minimum, maximum=maximum)
        for value in form.getall(name, [])
    ]


def key_parts(key: str, count: int) -> list[str]:
    """`arrived:<product>:<unit>` → its `count` colon-separated parts, none of them empty."""
    parts = key.split(":", count - 1)
    if len(parts) != count or not all(parts):
        raise BadRequest(f"the form field {key[:60]!r} is malformed", field=key[:60])
    return parts
