"""A push body decodes straight into typed structs (`protocol._decode_typed`) when it is
the usual kind; every other body goes the reference way (`_decode_reference`). The
typed path must give exactly the reference's batch (field order included) or step
aside: never accept what the reference refuses, never read a value otherwise."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import add_household, add_order, enrol_centre, open_hub_store

from edge.store import changelog
from edge.store.migrations import SCHEMA_VERSION
from sync.errors import BadBatch, SyncError, TooLarge, UnsupportedVersion
from sync.protocol import (
    MAX_FIELD_CHARS,
    Batch,
    _decode_reference,
    _decode_typed,
    decode_batch,
    encode_log_batch,
)

SITE = "01HSITE00000000000000000AB"


def _body(changes: list[Any], **head: Any) -> bytes:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "site_id": SITE,
        "install_id": "",
        "from_seq": 1,
        "wall_ms": 5,
        "waiting": 0,
        **head,
        "changes": changes,
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def _order(seq: int = 1, **fields: Any) -> list[Any]:
    return [seq, 7_000_000 + seq, "orders", f"o{seq}", "insert", {"status": "placed", **fields}]


def _reference(raw: bytes) -> Batch | type[SyncError]:
    try:
        return _decode_reference(raw)
    except SyncError as exc:
        return type(exc)


def _same(a: Batch, b: Batch) -> bool:
    """Equal, and every change's fields in the same order (the log's text follows it)."""
    return a == b and all(
        list(x.fields.items()) == list(y.fields.items())
        for x, y in zip(a.changes, b.changes, strict=True)
    )


def test_a_real_centres_batch_takes_the_typed_path_and_gives_the_reference_batch(
    tmp_path: Path,
) -> None:
    hub = open_hub_store(tmp_path / "hub.db")
    centre = enrol_centre(hub, tmp_path / "c.db", "金沙路社区")

    def write(tx: Any) -> None:
        hh = add_household(tx, "王阿姨 3栋", "13812345678")
        for _ in range(5):
            add_order(tx, hh, items=2)

    centre.store.write_sync(write)
    site = centre.site_id
    rows = centre.store.read_sync(
        lambda c: changelog.read_after_raw(c, site_id=site, after_seq=0, limit=100)
    )
    body = encode_log_batch(Batch(SCHEMA_VERSION, site, "inst", 1, 9, 0), rows)
    raw = gzip.decompress(body)
    typed = _decode_typed(raw)
    assert typed is not None and len(typed.changes) == len(rows) > 10
    reference = _decode_reference(raw)
    assert _same(typed, reference)
    assert _same(decode_batch(body), reference)
    hub.close()
    centre.store.close()


# Bodies the typed path must give exactly as the reference does.
SAME: dict[str, Any] = {
    "usual": [_order(1), _order(2, note="二楼", total_fen=1234)],
    "update and delete": [
        _order(1),
        [2, 9, "orders", "o1", "update", {"status": "packed", "staff_id": None}],
        [3, 10, "orders", "o1", "delete", {}],
    ],
    "an insert naming its own id and site": [_order(1, id="o1", site_id=SITE)],
    "a key twice (the last value wins, the first place stays)": None,  # raw below
    "a table no hub has (refused later, by the schema)": [
        [1, 1, "no_such_table", "r", "insert", {"some_column": 1}]
    ],
    "64-bit edges": [_order(1, a=2**63 - 1, b=-(2**63)), [2, 2**63 - 1, "t", "r", "delete", {}]],
    "a field at its length limit": [_order(1, note="x" * MAX_FIELD_CHARS)],
    "non-ASCII text, escaped and not": None,  # raw below
    "an empty batch": [],
}
RAW_SAME = {
    "a key twice (the last value wins, the first place stays)": (
        '[[1,1,"orders","o1","insert",{"note":"a","status":"placed","note":"b"}]]'
    ),
    "non-ASCII text, escaped and not": (
        '[[1,1,"orders","o1","insert",{"note":"\\u738b\\ud83d\\ude00 王阿姨","status":"placed"}]]'
    ),
}


@pytest.mark.parametrize("case", sorted(SAME))
def test_the_typed_path_gives_the_reference_batch(case: str) -> None:
    if case in RAW_SAME:
        raw = _body([]).replace(b'"changes": []', b'"changes": ' + RAW_SAME[case].encode())
    else:
        raw = _body(SAME[case])
    typed = _decode_typed(raw)
    reference = _reference(raw)
    assert typed is not None, "the usual kind of batch decodes on the typed path"
    assert isinstance(reference, Batch) and _same(typed, reference)


# Bodies the typed path leaves to the reference: some the reference takes (values
# the typed structs do not hold), most it refuses; either way its answer stands.
ASIDE: dict[str, tuple[bytes, type[SyncError] | None]] = {
    "a seventh element": (_body([[*_order(1), 7]]), BadBatch),
    "five elements": (_body([_order(1)[:5]]), BadBatch),
    "a gap in seqs": (_body([_order(1), _order(3)]), BadBatch),
    "seq as a float": (_body([[1.0, *_order(1)[1:]]]), BadBatch),
    "seq as true": (_body([[True, *_order(1)[1:]]]), BadBatch),
    "a negative hlc": (_body([[1, -1, "orders", "o1", "insert", {}]]), BadBatch),
    "an hlc past 64 bits": (_body([[1, 2**63, "orders", "o1", "insert", {}]]), BadBatch),
    "a bool value (taken)": (_body([_order(1, needs_delivery=True)]), None),
    "a float value (taken)": (_body([_order(1, weight=1.5)]), None),
    "an integer past 64 bits": (_body([_order(1, total_fen=2**63)]), BadBatch),
    "a list as a value": (_body([_order(1, note=[1])]), BadBatch),
    "a field past its length": (_body([_order(1, note="x" * (MAX_FIELD_CHARS + 1))]), TooLarge),
    "a bad column name": (_body([_order(1, **{"Bad-Name": 1})]), BadBatch),
    "a column name with a newline": (_body([_order(1, **{"note\n": 1})]), BadBatch),
    "a bad table name": (_body([[1, 1, "orders;", "o1", "insert", {}]]), BadBatch),
    "an empty row id": (_body([[1, 1, "orders", "", "insert", {}]]), BadBatch),
    "a row id past 64": (_body([[1, 1, "orders", "o" * 65, "insert", {}]]), BadBatch),
    "an unknown op": (_body([[1, 1, "orders", "o1", "upsert", {}]]), BadBatch),
    "fields as a list": (_body([[1, 1, "orders", "o1", "insert", []]]), BadBatch),
    "an unknown schema version": (_body([_order(1)], schema_version=-5), UnsupportedVersion),
    "no site id": (_body([_order(1)], site_id=""), BadBatch),
    "from_seq 0": (_body([[0, *_order(1)[1:]]], from_seq=0), BadBatch),
    "a lone surrogate": (
        _body([]).replace(
            b'"changes": []', b'"changes": [[1,1,"orders","o1","insert",{"note":"\\ud800"}]]'
        ),
        BadBatch,
    ),
    "not an object": (b"[1, 2]", BadBatch),
    "no changes": (_body([]).replace(b'"changes"', b'"changed"'), BadBatch),
}


@pytest.mark.parametrize("case", sorted(ASIDE))
def test_anything_else_goes_the_reference_way(case: str) -> None:
    raw, refused = ASIDE[case]
    assert _decode_typed(raw) is None
    reference = _reference(raw)
    if refused is None:
        assert isinstance(reference, Batch)
        assert _same(decode_batch(raw, None), reference)
    else:
        assert reference is refused
        with pytest.raises(refused):
            decode_batch(raw, None)
