"""Posted forms decoded into Structs, and whole numbers refused with a 400 naming the field.

A page declares what its form holds as a `msgspec.Struct` (fields named as the
inputs, defaults for what may be left out) and calls `decode_form`; markers in
`Annotated[...]` say how each text is read:

- `str`: the first value posted; blank or missing takes the default;
  `Text(limit, strip)` cuts it to `limit` characters (after stripping);
- `str | None`: blank or missing is None;
- `bool`: a checkbox or button posting "1";
- `list[str]`: every value posted under the name (several `product_id` lines);
- `Whole(minimum, maximum)` / `Parse(fn)`: a number read by `parse_int` or by `fn(text, field)`
  (元, 斤, days); blank or missing takes the default, or without one is refused by the parser;
- `Prefixed("w_")`: every input named `w_<key>`, as `{key: text}` (the first of repeats), or
  on a `list[tuple[str, str]]` as `(name, text)` pairs in posted order, repeats kept.

`int()` is too lenient for what a browser (or anything else) posts: it takes
"٣" and "１２", and raises a bare `ValueError`, a 500, on "²", "abc" or more
than 4,300 digits. Here only ASCII digits within the caller's bounds pass;
anything else is `BadRequest` with the field, which a page shows on its form
and the error handlers answer as a 400 page in Chinese, never a 500. Decoding
runs inside the handler (not as a Litestar `Body`) so that a page that shows
its own form again with the error can catch that `BadRequest` like any other.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec
from litestar import Request

from edge.errors import BadRequest

F = TypeVar("F", bound=msgspec.Struct)
UNIONS = (Union, types.UnionType)  # `Optional[X]` and `X | None`


@dataclass(frozen=True)
class Text:
    """A text input cut to `limit` characters, stripped of surrounding spaces first if `strip`."""

    limit: int | None = None
    strip: bool = False


@dataclass(frozen=True)
class Parse:
    """A non-blank input read by `parse(text, field)`, which raises `BadRequest` naming it."""

    parse: Callable[[str, str], Any]


@dataclass(frozen=True)
class Prefixed:
    """Every input whose name starts with `prefix`, keyed by the rest of its name."""

    prefix: str


def Whole(*, minimum: int = 0, maximum: int, field: str | None = None) -> Parse:
    """A whole number in ASCII digits between the bounds (see `parse_int`), refused
    naming `field` if given (`weekday` boxes are refused as `weekdays`)."""
    return Parse(functools.partial(_whole, minimum=minimum, maximum=maximum, named=field))


def _whole(text: str, field: str, *, minimum: int, maximum: int, named: str | None) -> int:
    return parse_int(text, named or field, minimum=minimum, maximum=maximum)


def _values(form: Mapping[str, Any], name: str) -> list[str]:
    getall = getattr(form, "getall", None)
    if getall is not None:
        return [str(v) for v in getall(name, [])]
    return [str(form[name])] if name in form else []


def _read(form: Mapping[str, Any], name: str, hint: Any, required: bool) -> Any:
    """The value for one field, or `msgspec.UNSET` for "take the default"."""
    marks: tuple[Any, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *rest = get_args(hint)
        marks = tuple(rest)
    elif get_origin(hint) in UNIONS:  # `Yuan | None`: the markers of the Annotated member
        marks = tuple(
            m for a in get_args(hint) if get_origin(a) is Annotated for m in a.__metadata__
        )
    text_mark = next((m for m in marks if isinstance(m, Text)), Text())
    parse = next((m.parse for m in marks if isinstance(m, Parse)), None)
    prefixed = next((m for m in marks if isinstance(m, Prefixed)), None)

    def clean(raw: str) -> str:
        raw = raw.strip() if text_mark.strip else raw
        return raw[: text_mark.limit] if text_mark.limit is not None else raw

    if prefixed is not None and get_origin(hint) is list:
        return [(k, clean(str(v))) for k, v in form.items() if k.startswith(prefixed.prefix)]
    if prefixed is not None:
        found: dict[str, str] = {}
        for key, value in form.items():
            if key.startswith(prefixed.prefix):
                found.setdefault(key[len(prefixed.prefix) :], clean(str(value)))
        return found
    if get_origin(hint) is list:
        return [parse(v, name) if parse else clean(v) for v in _values(form, name)]
    posted = _values(form, name)
    if hint is bool:
        return bool(posted) and posted[0] == "1"
    if parse is not None:  # a required number left blank is refused in the parser's words
        text = posted[0].strip() if posted else ""
        return parse(text, name) if text or required else msgspec.UNSET
    if not posted:
        return msgspec.UNSET
    text = clean(posted[0])
    if not text:
        optional = get_origin(hint) in UNIONS and type(None) in get_args(hint)
        return None if optional else msgspec.UNSET
    return text


@functools.cache
def _hints(into: type[msgspec.Struct]) -> dict[str, Any]:
    return get_type_hints(into, include_extras=True)


def decode_form(form: Mapping[str, Any], into: type[F]) -> F:
    """The form (or query) as an `into` Struct; `BadRequest` naming the field if a value
    does not read. Inputs the Struct does not name are ignored."""
    hints = _hints(into)
    given: dict[str, Any] = {}
    for field in msgspec.structs.fields(into):
        value = _read(form, field.encode_name, hints[field.name], field.required)
        if value is not msgspec.UNSET:
            given[field.name] = value
        elif field.required:
            raise BadRequest(f"{field.encode_name} is missing", field=field.encode_name)
    return into(**given)


async def read_form(request: Request[Any, Any, Any], into: type[F]) -> F:
    """The posted form as an `into` Struct (see `decode_form`)."""
    return decode_form(await request.form(), into)


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


def key_parts(key: str, count: int) -> list[str]:
    """`arrived:<product>:<unit>` → its `count` colon-separated parts, none of them empty."""
    parts = key.split(":", count - 1)
    if len(parts) != count or not all(parts):
        raise BadRequest(f"the form field {key[:60]!r} is malformed", field=key[:60])
    return parts
