"""A push's body is parsed straight into the shape a box sends (`protocol._usual_batch`),
and anything else is parsed and checked step by step (`protocol._checked_batch`), which
names what is wrong. The two must agree: on every body the quick path takes, the step by
step one gives the very same batch, and a body the step by step path refuses the quick
one never takes. Hypothesis draws batches near and across every bound."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.errors import SyncError
from sync.protocol import (
    INT64_MAX,
    INT64_MIN,
    MAX_FIELD_CHARS,
    MAX_SEQ,
    ROW_ID_MAX,
    _checked_batch,
    _usual_batch,
    decode_batch,
)

SITE = "01HSITE0000000000000000000"
NAMES = ["orders", "order_items", "households", "status", "qty_fen", "note"]

_ints = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.sampled_from([INT64_MIN, INT64_MAX, INT64_MIN - 1, INT64_MAX + 1, 2**70]),
)
_texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["土豆", "a" * MAX_FIELD_CHARS, "a" * (MAX_FIELD_CHARS + 1), "\ud800", "x\udfffy"]
    ),
)
_good_values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=12))
_odd_values = st.one_of(
    st.booleans(),
    _ints,
    st.floats(allow_nan=False, allow_infinity=False),
    _texts,
    st.just([1]),
    st.just({"a": 1}),
)
_values = st.one_of(*[_good_values] * 6, _odd_values)
_odd_names = st.sampled_from(["Bad-Name", "", "orders\n", "x" * 70, "unseen_name"])
_names = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES), _odd_names)
# One part of a batch set otherwise, now and then: (where, what).
_ODD_HEAD = {
    "schema_version": [1, True, "3", 0, None],
    "site_id": ["", "s" * 65, 7, "\ud800"],
    "install_id": [None, 0, "i" * 65, "\udbff", ""],
    "from_seq": [0, MAX_SEQ, MAX_SEQ + 1, -3, "9", 2.0],
    "wall_ms": [-1, INT64_MAX + 1, 1.5, None],
    "waiting": [-1, None, "0", INT64_MAX],
    "changes": [None, {}, "[]"],
}


@st.composite
def _change(draw: Any, seq: int) -> Any:
    if draw(st.integers(0, 40)) == 0:  # now and then not a change at all
        return draw(st.sampled_from([[], [seq], "change", None, [seq, 1, "orders", "r", "insert"]]))
    odd = draw(st.integers(0, 40))
    hlc = draw(st.integers(0, 2**50))
    row_id = draw(st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=1, max_size=26))
    tbl = draw(st.sampled_from(NAMES[:3]))
    op = draw(st.sampled_from(["insert", "update", "delete"]))
    fields = draw(st.dictionaries(st.sampled_from(NAMES), _values, max_size=4))
    if odd == 1:
        seq = draw(st.sampled_from([seq + 1, seq - 1, True, str(seq), float(seq)]))
    elif odd == 2:
        hlc = draw(st.sampled_from([-1, INT64_MAX, INT64_MAX + 1, 1.0]))
    elif odd == 3:
        row_id = draw(st.sampled_from(["", "r" * ROW_ID_MAX, "r" * (ROW_ID_MAX + 1), "\udc00", 5]))
    elif odd == 4:
        op = draw(st.sampled_from(["upsert", "INSERT", 1, None]))
    elif odd == 5:
        tbl = draw(_odd_names)
    elif odd == 6:
        fields = draw(st.dictionaries(_names, _odd_values, min_size=1, max_size=3))
    elif odd == 7:
        fields = draw(st.sampled_from([[], None, "{}"]))
    return [seq, hlc, tbl, row_id, op, fields]


@st.composite
def _body(draw: Any) -> bytes:
    from_seq = draw(st.integers(1, 1000))
    doc: dict[str, Any] = {
        "schema_version": draw(st.sampled_from([2, 3])),
        "site_id": SITE,
        "install_id": draw(st.sampled_from(["01HINSTALL0000000000000000", ""])),
        "from_seq": from_seq,
        "wall_ms": draw(st.integers(0, 2_000_000_000_000)),
        "waiting": draw(st.integers(0, 50)),
        "changes": [draw(_change(from_seq + i)) for i in range(draw(st.integers(0, 6)))],
    }
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(_ODD_HEAD)))
        if draw(st.integers(0, 5)) == 0:
            del doc[key]
        else:
            doc[key] = draw(st.sampled_from(_ODD_HEAD[key]))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


def _decoded(body: bytes) -> Any:
    try:
        return _checked_batch(body)
    except SyncError as exc:
        return type(exc)


@pytest.fixture(scope="module", autouse=True)
def _known_names() -> None:
    """The names a hub has seen well-formed before (its first push learns them)."""
    ops = [(name, op) for name in NAMES for op in ("insert", "update", "delete")]
    first = {
        "schema_version": 3,
        "site_id": SITE,
        "from_seq": 1,
        "wall_ms": 0,
        "waiting": 0,
        "changes": [
            [i, 1, t, "r", op, dict.fromkeys(NAMES, 1)] for i, (t, op) in enumerate(ops, 1)
        ],
    }
    assert len(_checked_batch(json.dumps(first).encode()).changes) == len(ops)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_body())
def test_the_quick_path_takes_only_what_the_checked_path_gives_alike(body: bytes) -> None:
    quick = _usual_batch(body)
    checked = _decoded(body)
    if quick is not None:
        assert quick == checked
    if not isinstance(checked, type):  # a batch: what a push of this body decodes to
        assert decode_batch(body, None) == checked


def test_a_box_batch_takes_the_quick_path_and_puts_back_id_and_site() -> None:
    doc = {
        "schema_version": 2,
        "site_id": SITE,
        "install_id": "01HINSTALL",
        "from_seq": 7,
        "wall_ms": 1_718_000_000_000,
        "waiting": 2,
        "changes": [
            [
                7,
                99,
                "orders",
                "o1",
                "insert",
                {"status": "open", "qty_fen": 1200, "note": "葱要大葱"},
            ],
            [8, 100, "orders", "o1", "update", {"status": None, "note": True, "qty_fen": 0.5}],
            [9, 101, "orders", "o1", "delete", {}],
        ],
    }
    body = json.dumps(doc, ensure_ascii=False).encode()
    quick = _usual_batch(body)
    assert quick is not None
    assert quick == _checked_batch(body)
    inserted = quick.changes[0]
    assert inserted.fields == {
        "id": "o1",
        "site_id": SITE,
        "status": "open",
        "qty_fen": 1200,
        "note": "葱要大葱",
    }
    assert [c.seq for c in quick.changes] == [7, 8, 9]
    assert quick.last_seq == 9 and quick.install_id == "01HINSTALL" and quick.waiting == 2
