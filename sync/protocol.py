"""The sync protocol: what travels between a centre and the hub, and how the hub checks it.

A push carries a centre's own change-log rows after the hub's acknowledged
position (and that last acknowledged row again, so stage 8 checks the seam
between the hub's history and the box's), as one gzip-compressed JSON batch.
The hub runs every stage below before anything is written; any refusal leaves
the hub exactly as it was and answers `{"error", "detail"}` with a 4xx status.
Only the last stage writes,
in one SQLite transaction that also moves the centre's position, so a batch
is applied whole or not at all, and a batch sent twice applies once.
Stage 4 checks every value as SQLite will store it (UTF-8 text, so no lone
surrogate; integers in 64 bits; finite numbers, NaN and Infinity being no
JSON), and a change the hub's constraints refuse at stage 10 (a NOT NULL
column left out, a reference to a row the hub lacks) is a 400 `bad_batch`
that rolls the whole batch back. Refusals name the part at fault (`field`).

    centre (sync.agent)                hub (hub.push)
    ───────────────────                ──────────────
    read changes after acked ──┐
    compact → JSON → gzip      │ POST /sync/v1/push
                               └───▶  1 credential  bearer → enrolled centre  401
                                      2 revoked?    credential withdrawn      403
                                      3 size        compressed, inflated      413
                                      4 decode      gzip, JSON, shape, values 400 bad_batch
                                      5 version     current or previous       400 unsupported_v.
                                      6 identity    batch site = credential   403
                                      ── writer transaction (BEGIN IMMEDIATE) ──
                                      7 continuity  from_seq ≤ position + 1   409 gap {position}
                                      8 history     resent seqs match stored  409 diverged
                                      9 ownership   every row is the site's,  403 foreign_row
                                                    and every row it names
                                                    (sync.merge rule 7)
                                     10 apply       merge rules (sync.merge),
                                                    log copy, new position    COMMIT
    acked := position ◀──────────────  200 {"position", "applied", "skipped", "hub_time_ms"}

    GET /sync/v1/pull?after=N ───────▶ hub change-log rows meant for this centre
    apply in one centre transaction,   (hub catalog, commands addressed to it):
    pulled := next_after ◀───────────  {"changes", "next_after", "more"}

    GET /sync/v1/history?after=N ────▶ this centre's own changes as the hub stored
    (`linli centre recover`, after      them, up to its position: a box restored
     restoring an old backup) ◀──────  from a backup reads back what it had sent

Every contact (GET position and GET pull) carries `last_seq` and `last_digest`,
the `seam_digest` (`sync/seam.py`) of the box's last change. A push checks the seam
by resending the hub's last seq, but a box with nothing to push never pushes; so when the hub
holds exactly `last_seq`, it compares the digest with its own copy of that
change, and a box whose log is as long as the hub's but ends otherwise (a cloned
disk whose twin pushed first) is held as diverged at its first contact, before
it takes another order.

A batch (the JSON before gzip; the hub takes its keys in any order, and a box
sends the changes first, compressed before the head is known: `PackedChanges`):

    {"changes": [[41, 7289…, "orders", "01H…", "insert", {…fields…}], …],
     "schema_version": 1, "site_id": "01H…", "install_id": "01H…",
     "from_seq": 41, "wall_ms": 1718000000000, "waiting": 0}

A change is an array `[seq, hlc, tbl, row_id, op, fields]` to keep bytes
down; `fields` omits `id` (= row_id) and `site_id` when it equals the
batch's site, and the hub puts them back. Local-only fields (a staff PIN
hash) never leave the box.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from edge.store.changelog import Change
from edge.store.migrations import SCHEMA_VERSION
from sync.errors import BadBatch, TooLarge, UnsupportedVersion

# The hub accepts the current schema and the one before it, so boxes can be
# upgraded one at a time after the hub.
ACCEPTED_VERSIONS = frozenset({SCHEMA_VERSION, SCHEMA_VERSION - 1})
MAX_BODY_BYTES = 4 * 1024 * 1024  # compressed, as received
# Inflated, checked while inflating: a gzip bomb stops here. A change is a few
# hundred bytes, so 20,000 of them fit; a batch past it is a 413 and the agent
# halves its batch. Parsing costs several times the JSON's size in memory, so
# this bounds what one push can take of the hub (48 MiB took 1.3 GB).
MAX_INFLATED_BYTES = 16 * 1024 * 1024
INFLATE_CHUNK = 1024 * 1024
MAX_BATCH_CHANGES = 20_000
# A batch is one object holding one list of changes, each a list and an object
# of fields (values are never containers): more arrays and objects than this is
# no batch, and parsing them would cost ~24 bytes of memory per byte of "[],".
MAX_CONTAINERS = 2 + 2 * MAX_BATCH_CHANGES
_STRING_OR_CONTAINER_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]', re.DOTALL)
MAX_FIELD_CHARS = 64 * 1024
# Table and column names already found well-formed (a few dozen in practice; bounded).
_GOOD_KEYS: set[str] = set()
MAX_GOOD_KEYS = 4096
# The ways a lone surrogate gets into a parsed string: a JSON escape \uD800 to \uDFFF,
# or one encoded in the bytes (`json.loads` decodes a bytes body with "surrogatepass").
_SURROGATE_RE = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]")
OPS = frozenset({"insert", "update", "delete"})
IDENT_RE = re.compile(r"\A[a-z_][a-z0-9_]{0,62}\Z")  # \Z: "$" would let "orders\n" by
ROW_ID_MAX = 64
# SQLite stores integers in 64 bits; a larger one would fail the write, not the check.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_SEQ = INT64_MAX - MAX_BATCH_CHANGES

# Fields that stay on the box; the hub stores the default instead.
LOCAL_FIELDS: dict[str, dict[str, Any]] = {"staff": {"pin_hash": ""}}


@dataclass(frozen=True, slots=True)
class Batch:
    schema_version: int
    site_id: str
    install_id: str
    from_seq: int
    wall_ms: int
    waiting: int
    # A list, but for a hub's push decoded in a process (`hub.decoding.DeferredChanges`).
    changes: Sequence[Change] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        return self.from_seq + len(self.changes) - 1


# --- centre side: building a batch -------------------------------------------


def compact(change: Change) -> list[Any]:
    fields = change.fields
    drop = set(LOCAL_FIELDS.get(change.tbl, ()))
    if fields.get("id") == change.row_id:
        drop.add("id")
    if fields.get("site_id") == change.site_id:
        drop.add("site_id")
    if drop:
        fields = {k: v for k, v in fields.items() if k not in drop}
    return [change.seq, change.hlc, change.tbl, change.row_id, change.op, fields]


def encode_batch(batch: Batch, *, level: int = 6) -> bytes:
    """The gzip-compressed JSON body of a push: the changes first, then the head
    (`PackedChanges`: a box compresses the changes before the head is known)."""
    doc = {"changes": [compact(c) for c in batch.changes], **_head_doc(batch)}
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=level, mtime=0)


def _head_doc(head: Batch) -> dict[str, Any]:
    return {
        "schema_version": head.schema_version,
        "site_id": head.site_id,
        "install_id": head.install_id,
        "from_seq": head.from_seq,
        "wall_ms": head.wall_ms,
        "waiting": head.waiting,
    }


class PackedChanges:
    """A push's changes encoded and compressed before its head is known: the body
    starts with them (`{"changes": [...], "schema_version": ...}`), so the box packs
    the next batch while the hub applies this one, and still stamps each push with
    the clock and the count waiting as it goes out (`body`)."""

    def __init__(self, rows: list[tuple[int, int, str, str, str, str]], text: str, level: int):
        self.count = len(rows)
        self.last_seq = rows[-1][0] if rows else 0
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: a gzip member
        self._start = self._deflate.compress(text.encode())

    def body(self, head: Batch) -> bytes:
        """The whole gzip body with `head` (its changes are these); may be called again."""
        deflate = self._deflate.copy()
        tail = json.dumps(_head_doc(head), ensure_ascii=False, separators=(",", ":"))
        return self._start + deflate.compress(tail[1:].encode()) + deflate.flush()


def encode_log_batch(
    head: Batch, rows: list[tuple[int, int, str, str, str, str]], *, level: int = 6
) -> bytes:
    """`encode_batch` of the change-log rows as stored (`changelog.read_after_raw`),
    `head` giving the batch's other keys (`pack_log_changes`)."""
    return pack_log_changes(head.site_id, rows, level=level).body(head)


def pack_log_changes(
    site: str, rows: list[tuple[int, int, str, str, str, str]], *, level: int = 6
) -> PackedChanges:
    """The changes of `encode_batch` from the change-log rows as stored, packed ahead
    of the head: the same bytes as `encode_batch` gives once the head is added, built
    without parsing and writing every change's fields again (that was most of a
    push's cost on the box). A change whose fields are not in the usual shape takes
    `compact`."""
    owner = f',"site_id":{_json_str(site)},'
    parts = []
    for seq, hlc, tbl, row_id, op, fields in rows:
        if tbl not in LOCAL_FIELDS:
            prefix = '{"id":' + _json_str(row_id) + owner
            if fields.startswith(prefix):
                fields = "{" + fields[len(prefix) :]
            elif fields == prefix[:-1] + "}":
                fields = "{}"
            elif '"id":' in fields or '"site_id":' in fields:
                fields = _JSON.encode(_compact_text(site, seq, hlc, tbl, row_id, op, fields))
            parts.append(
                f"[{seq},{hlc},{_json_str(tbl)},{_json_str(row_id)},{_json_str(op)},{fields}]"
            )
        else:
            compacted = _compact_text(site, seq, hlc, tbl, row_id, op, fields)
            parts.append(_JSON.encode([seq, hlc, tbl, row_id, op, compacted]))
    return PackedChanges(rows, '{"changes":[' + ",".join(parts) + "],", level)


def _compact_text(
    site: str, seq: int, hlc: int, tbl: str, row_id: str, op: str, fields: str
) -> dict[str, Any]:
    result: dict[str, Any] = compact(Change(site, seq, hlc, tbl, row_id, op, json.loads(fields)))[5]
    return result


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_json_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


# --- hub side: stages 3 to 5 -------------------------------------------------


def inflate(body: bytes, content_encoding: str | None) -> bytes | bytearray:
    """Stage 3: size limits on the wire and after inflating.

    Inflates a chunk at a time (`max_length`), so a small body that would
    inflate to gigabytes stops at `MAX_INFLATED_BYTES` + one chunk of work:
    a 413, before any of it is parsed.
    """
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"batch body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if (content_encoding or "").strip().lower() != "gzip":
        return body
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    data = body
    try:
        while not inflater.eof:
            room = MAX_INFLATED_BYTES + 1 - len(out)
            chunk = inflater.decompress(data, min(room, INFLATE_CHUNK))
            out += chunk
            if len(out) > MAX_INFLATED_BYTES:
                raise TooLarge(
                    f"batch inflates past {MAX_INFLATED_BYTES} bytes (the limit after "
                    "gzip); send fewer changes per batch",
                    field="body",
                )
            data = inflater.unconsumed_tail
            if not data and not chunk:
                break  # all input used, nothing more comes out: cut short
    except zlib.error as exc:
        raise BadBatch(f"body is not valid gzip: {exc}", field="body") from exc
    if not inflater.eof:
        raise BadBatch("gzip body is truncated", field="body")
    if inflater.unused_data:
        raise BadBatch("data follows the end of the gzip body", field="body")
    return out


def _too_many_containers(raw: bytes | bytearray) -> bool:
    """Whether `raw` holds more than `MAX_CONTAINERS` JSON arrays and objects.

    Counting every bracket is quick and settles it for any real batch; only
    when that count is over (brackets inside strings count there too) does a
    scan skip the strings, and it stops at the first container past the limit.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_CONTAINERS:
        return False
    found = 0
    for match in _STRING_OR_CONTAINER_RE.finditer(raw):
        if match.end() - match.start() == 1:  # a bracket, not a string
            found += 1
            if found > MAX_CONTAINERS:
                return True
    return False


def decode_batch(body: bytes, content_encoding: str | None = "gzip") -> Batch:
    """Stages 3-5: size, decode and shape, version. Raises a `SyncError`; writes nothing."""
    raw = inflate(body, content_encoding)
    if _too_many_containers(raw):
        raise TooLarge(
            f"the body holds more than {MAX_CONTAINERS} JSON arrays and objects: more "
            f"than {MAX_BATCH_CHANGES} changes, or values that are not scalars",
            field="body",
        )
    usual = _usual_batch(raw)
    return usual if usual is not None else _checked_batch(raw)


def _checked_batch(raw: bytes | bytearray) -> Batch:
    """Stages 4-5 step by step: the reference `_usual_batch` gives the same batch as,
    and the refusal that names what is wrong."""
    try:
        doc = _parse(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadBatch(f"body is not JSON: {exc}", field="body") from exc
    except RecursionError:
        raise BadBatch("body is nested too deep to be a batch", field="body") from None
    if not isinstance(doc, dict):
        raise BadBatch("a batch is a JSON object", field="body")
    version = doc.get("schema_version")
    if not _is_int(version):
        raise BadBatch("schema_version is missing", field="schema_version")
    if version not in ACCEPTED_VERSIONS:
        raise UnsupportedVersion(
            f"schema version {version} is not accepted; the hub takes "
            f"{sorted(ACCEPTED_VERSIONS)} (upgrade the box)"
        )
    site_id = _str(doc, "site_id", 64)
    install_id = doc.get("install_id") or ""
    if not isinstance(install_id, str) or len(install_id) > 64 or not _utf8(install_id):
        raise BadBatch("install_id must be a short string", field="install_id")
    from_seq = _int(doc, "from_seq", minimum=1, maximum=MAX_SEQ)
    wall_ms = _int(doc, "wall_ms", minimum=0)
    waiting = _int(doc, "waiting", minimum=0)
    items = doc.get("changes")
    if not isinstance(items, list):
        raise BadBatch("changes must be a list", field="changes")
    if len(items) > MAX_BATCH_CHANGES:
        raise TooLarge(f"{len(items)} changes in one batch; the limit is {MAX_BATCH_CHANGES}")
    surrogates = _may_hold_surrogates(raw)
    changes = [_change(site_id, from_seq, i, item, surrogates) for i, item in enumerate(items)]
    return Batch(version, site_id, install_id, from_seq, wall_ms, waiting, changes)


_Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
_Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_Text = Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)]
_Value = bool | _Int64 | float | _Text | None
_WireChange = tuple[
    int,
    _Count,
    str,
    Annotated[str, msgspec.Meta(min_length=1, max_length=ROW_ID_MAX)],
    str,
    dict[str, _Value],
]


class _WireBatch(msgspec.Struct):
    """A batch in the shape the boxes send, every value within the bounds the checks
    below hold it to. msgspec checks it all as it parses, in C: the Python checks of
    `_change` cost more than the parse itself."""

    schema_version: int
    site_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    from_seq: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
    wall_ms: _Count
    waiting: _Count
    changes: list[_WireChange]
    install_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


_WIRE = msgspec.json.Decoder(_WireBatch)


def _usual_batch(raw: bytes | bytearray) -> Batch | None:
    """The batch, when it is as a box sends it: parsed straight into its shape, then
    the checks a shape cannot say (seqs in a row, names already known well-formed).
    None for anything else, which `decode_batch` then parses and checks step by step,
    so that its refusal names what is wrong; whatever this takes, that path takes
    too, and gives the same batch. msgspec refuses the text that could hold a lone
    surrogate (an escape, or invalid UTF-8), and NaN, Infinity and any number past
    a double, as the step-by-step checks do."""
    try:
        wire = _WIRE.decode(raw)
    except msgspec.MsgspecError:
        return None
    site_id, from_seq, items = wire.site_id, wire.from_seq, wire.changes
    if wire.schema_version not in ACCEPTED_VERSIONS or len(items) > MAX_BATCH_CHANGES:
        return None
    good = _GOOD_KEYS
    changes: list[Change] = []
    append = changes.append
    expected = from_seq
    for seq, hlc, tbl, row_id, op, fields in items:
        if seq != expected or tbl not in good or op not in OPS or not good.issuperset(fields):
            return None
        expected += 1
        if op == "insert":
            fields = {"id": row_id, "site_id": site_id, **fields}
        append(Change(site_id, seq, hlc, tbl, row_id, op, fields))
    install_id = wire.install_id or ""
    return Batch(
        wire.schema_version, site_id, install_id, from_seq, wire.wall_ms, wire.waiting, changes
    )


def _change(site_id: str, from_seq: int, index: int, item: Any, surrogates: bool = True) -> Change:
    """One change of a batch, checked. The usual change passes the quick test here
    (this runs for every change of every push); anything else gets `_checked_change`,
    which names what is wrong. `surrogates`: whether the body may hold a lone
    surrogate at all (`_may_hold_surrogates`); without one, no non-ASCII string
    needs its own check."""
    good = _GOOD_KEYS
    if type(item) is list and len(item) == 6:
        seq, hlc, tbl, row_id, op, fields = item
        if (
            type(seq) is int
            and seq == from_seq + index
            and type(hlc) is int
            and 0 <= hlc <= INT64_MAX
            and type(tbl) is str
            and tbl in good
            and type(row_id) is str
            and 0 < len(row_id) <= ROW_ID_MAX
            and (row_id.isascii() or not surrogates)
            and type(op) is str
            and op in OPS
            and type(fields) is dict
        ):
            for key, value in fields.items():
                if key not in good:
                    break
                kind = type(value)
                if kind is str:
                    if len(value) > MAX_FIELD_CHARS or not (value.isascii() or not surrogates):
                        break
                elif kind is int:
                    if not INT64_MIN <= value <= INT64_MAX:
                        break
                elif value is not None:
                    break
            else:
                if op == "insert":
                    fields = {"id": row_id, "site_id": site_id, **fields}
                return Change(site_id, seq, hlc, tbl, row_id, op, fields)
    return _checked_change(site_id, from_seq, index, item)


def _checked_change(site_id: str, from_seq: int, index: int, item: Any) -> Change:
    """`_change` checked step by step: raises naming the part at fault."""
    where = f"changes[{index}]"
    if not isinstance(item, list) or len(item) != 6:
        raise BadBatch(f"{where} must be [seq, hlc, tbl, row_id, op, fields]", field=where)
    seq, hlc, tbl, row_id, op, fields = item
    if not _is_int(seq) or seq != from_seq + index:
        raise BadBatch(
            f"{where}: seq must be {from_seq + index}; a batch is dense and ordered",
            field=f"{where}.seq",
        )
    if not _is_int(hlc) or not 0 <= hlc <= INT64_MAX:
        raise BadBatch(
            f"{where}: hlc must be an integer from 0 to {INT64_MAX}", field=f"{where}.hlc"
        )
    if not isinstance(tbl, str) or not IDENT_RE.fullmatch(tbl):
        raise BadBatch(f"{where}: bad table name", field=f"{where}.tbl")
    _known_name(tbl)
    if not isinstance(row_id, str) or not 0 < len(row_id) <= ROW_ID_MAX or not _utf8(row_id):
        raise BadBatch(f"{where}: bad row_id", field=f"{where}.row_id")
    if not isinstance(op, str) or op not in OPS:  # a list or object is not hashable
        raise BadBatch(f"{where}: op must be insert, update or delete", field=f"{where}.op")
    if not isinstance(fields, dict):
        raise BadBatch(f"{where}: fields must be an object", field=f"{where}.fields")
    for key, value in fields.items():
        if not IDENT_RE.fullmatch(key):
            # !a and cut short: the key may be long, or hold a lone surrogate
            raise BadBatch(f"{where}: bad column name {key[:64]!a}", field=f"{where}.fields")
        _known_name(key)
        _check_value(f"{where}.{key}", value)
    if op == "insert":
        fields = {"id": row_id, "site_id": site_id, **fields}
    return Change(site_id, seq, hlc, tbl, row_id, op, fields)


def _known_name(name: str) -> None:
    """Remember a table or column name found well-formed (`IDENT_RE`)."""
    if len(_GOOD_KEYS) < MAX_GOOD_KEYS:
        _GOOD_KEYS.add(name)


def _may_hold_surrogates(raw: bytes | bytearray) -> bool:
    """Whether a parsed string of this body may hold a lone surrogate: a body in
    UTF-16 or UTF-32 (which `json.loads` also reads) may; a UTF-8 one only through
    an escape or encoded bytes in the surrogate range, found without a regex scan
    of the whole body in the common case."""
    if b"\x00" in raw[:4] or raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    if raw.find(b"\\u") < 0 and raw.find(b"\xed") < 0:
        return False
    return _SURROGATE_RE.search(raw) is not None


def _check_value(where: str, value: Any) -> None:
    """A field value SQLite can store as sent: text that is UTF-8, a 64-bit integer,
    a finite float, or null."""
    if isinstance(value, str):
        if len(value) > MAX_FIELD_CHARS:
            raise TooLarge(f"{where} is longer than {MAX_FIELD_CHARS} characters", field=where)
        if not _utf8(value):
            raise BadBatch(f"{where}: text must be valid Unicode (a lone surrogate?)", field=where)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise BadBatch(
                f"{where}: integers are 64-bit ({INT64_MIN} to {INT64_MAX})", field=where
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadBatch(f"{where}: numbers must be finite", field=where)
    else:
        raise BadBatch(f"{where}: values are strings, numbers or null", field=where)


def _parse(raw: bytes | bytearray) -> Any:
    """The JSON of a body. msgspec parses UTF-8 JSON twice as fast as `json`, and
    where it parses a body at all it gives the same values; what it refuses (NaN,
    a number past a double, an escaped lone surrogate, UTF-16, a byte-order mark)
    goes to `json.loads`, whose answer, value or error, stays the reference."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    """`json.loads` takes NaN and Infinity, which are not JSON: refuse them."""
    raise BadBatch(f"body is not JSON: {name} is not a number JSON allows", field="body")


def _utf8(text: str) -> bool:
    """Whether the text can be stored and answered: JSON's \\ud800 escapes (and
    Python's decoder of a bytes body) let through lone surrogates, which cannot."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(doc: dict[str, Any], key: str, *, minimum: int, maximum: int = INT64_MAX) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise BadBatch(f"{key} must be an integer from {minimum} to {maximum}", field=key)
    return value


def _str(doc: dict[str, Any], key: str, max_len: int) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= max_len or not _utf8(value):
        raise BadBatch(f"{key} must be a non-empty string of at most {max_len}", field=key)
    return value
