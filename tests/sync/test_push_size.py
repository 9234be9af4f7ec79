"""A push body is limited after inflating as well as before: a small gzip body that
inflates to tens of MiB is a 413 before any of it is parsed, and a body of nothing
but empty arrays under that limit is refused before parsing too. Memory is measured
with tracemalloc (allocations, not time)."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sync_fixtures import (
    add_household,
    add_order,
    count,
    enrolled,
    hub_client,
)

from edge.store.changelog import Change
from edge.store.migrations import SCHEMA_VERSION
from sync.errors import BadBatch, SyncError, TooLarge
from sync.protocol import (
    MAX_BATCH_CHANGES,
    MAX_BODY_BYTES,
    MAX_CONTAINERS,
    MAX_INFLATED_BYTES,
    Batch,
    decode_batch,
    encode_batch,
)

pytestmark = pytest.mark.anyio
MIB = 1024 * 1024


def _bomb(site_id: str, size: int, unit: bytes = b"[],") -> bytes:
    """A batch head, then `unit` repeated to `size` bytes of JSON, gzip'd as tight as it goes."""
    head = (
        json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "site_id": site_id,
                "install_id": "",
                "from_seq": 1,
                "wall_ms": 0,
                "waiting": 0,
            }
        )[:-1].encode()
        + b',"changes":['
    )
    n = (size - len(head) - 2) // len(unit)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = squeeze.compress(head)
    chunk = unit * (MIB // len(unit))
    left = n
    while left > 0:
        part = chunk if left * len(unit) >= len(chunk) else unit * left
        left -= len(part) // len(unit)
        if left == 0:
            part = part[:-1]  # no trailing comma
        body += squeeze.compress(part)
    return body + squeeze.compress(b"]}") + squeeze.flush()


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """What `fn` returned or raised, and the peak of Python allocations meanwhile."""
    tracemalloc.start()
    try:
        try:
            out: Any = fn()
        except SyncError as exc:
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_49_kb_body_inflating_to_48_mib_is_refused_while_inflating() -> None:
    body = _bomb("SITE", 48 * MIB)
    assert len(body) < 64 * 1024  # ~49 KB on the wire, well under MAX_BODY_BYTES
    assert MAX_INFLATED_BYTES < 48 * MIB
    refused, peak = _peak(lambda: decode_batch(body))
    assert isinstance(refused, TooLarge), refused
    assert "inflates past" in refused.detail and refused.extra["field"] == "body"
    # Inflating stopped at the limit: it never held the 48 MiB, let alone parsed them.
    assert peak < MAX_INFLATED_BYTES + 8 * MIB


def test_empty_arrays_under_the_limit_are_refused_before_parsing() -> None:
    """16 MiB of "[]," parse to ~1/3 GB of lists: no batch holds that many containers."""
    assert MAX_INFLATED_BYTES // 3 > MAX_CONTAINERS
    body = _bomb("SITE", MAX_INFLATED_BYTES - 1024)
    refused, peak = _peak(lambda: decode_batch(body))
    assert isinstance(refused, TooLarge), refused
    assert "arrays and objects" in refused.detail
    assert peak < MAX_INFLATED_BYTES + 8 * MIB
    # The same with changes of the right shape, as small as they come.
    body = _bomb("SITE", MAX_INFLATED_BYTES - 1024, b'[1,1,"a","a","insert",{}],')
    refused, peak = _peak(lambda: decode_batch(body))
    assert isinstance(refused, TooLarge), refused
    assert peak < MAX_INFLATED_BYTES + 8 * MIB


def test_a_large_real_batch_under_the_limit_is_decoded() -> None:
    """Near the limit, but real: long text (brackets and all) in few changes."""
    text = "【备注】[1]{2}" * 5000  # 55,000 characters, 10,000 brackets
    changes = [
        Change("SITE", seq, 1000 + seq, "orders", f"o{seq}", "update", {"notes": text})
        for seq in range(1, 161)
    ]
    body = encode_batch(Batch(SCHEMA_VERSION, "SITE", "", 1, 0, 0, changes))
    assert len(body) < MAX_BODY_BYTES
    assert MAX_INFLATED_BYTES * 0.6 < len(gzip.decompress(body)) < MAX_INFLATED_BYTES
    batch = decode_batch(body)
    assert len(batch.changes) == 160 and batch.changes[-1].fields["notes"] == text


def test_a_gzip_body_cut_short_or_followed_by_more_is_a_400() -> None:
    good = encode_batch(Batch(SCHEMA_VERSION, "SITE", "", 1, 0, 0, []))
    assert decode_batch(good).changes == []
    for body in (good[:-8], good + b"more", good + good):
        with pytest.raises(BadBatch) as refused:
            decode_batch(body)
        assert refused.value.extra["field"] == "body"


async def test_the_hub_answers_413_and_applies_nothing(tmp_path: Path) -> None:
    app, (a,) = enrolled(tmp_path, ["金沙路社区"])
    try:
        async with hub_client(app) as client:
            headers = {"Authorization": f"Bearer {a.token}", "Content-Encoding": "gzip"}
            for body in (_bomb(a.site_id, 48 * MIB), _bomb(a.site_id, MAX_INFLATED_BYTES - 1024)):
                r = await client.post("/sync/v1/push", content=body, headers=headers)
                assert r.status_code == 413, r.text
                assert r.json()["error"] == "payload_too_large" and r.json()["field"] == "body"
            assert count(tmp_path / "hub.db", "SELECT acked_seq FROM sync_centres") == 0
            # The box itself syncs as before.
            a.store.write_sync(lambda tx: add_order(tx, add_household(tx)))
            report = await a.agent(client).sync_once()
            assert report.ok and report.waiting == 0
    finally:
        a.store.close()
    assert count(tmp_path / "hub.db", "SELECT COUNT(*) FROM orders") == 1


def test_the_limits_fit_a_batch_of_the_most_changes() -> None:
    """The most changes a batch may carry, each a typical order line, inflate under the limit."""
    line = {
        "order_id": "01J" + "X" * 23,
        "line": 3,
        "product_id": "01J" + "Y" * 23,
        "product_name": "土豆",
        "sold_by": "weight",
        "qty_unit": "g",
        "quantity": 2500,
        "unit_price_fen": 150,
        "estimated_fen": 750,
        "actual_grams": None,
        "final_fen": None,
    }
    changes = [
        Change("SITE", seq, 10**15 + seq, "order_items", f"01J{seq:023d}", "insert", line)
        for seq in range(1, MAX_BATCH_CHANGES + 1)
    ]
    body = encode_batch(Batch(SCHEMA_VERSION, "SITE", "", 1, 0, 0, changes))
    assert len(gzip.decompress(body)) < MAX_INFLATED_BYTES
    assert len(decode_batch(body).changes) == MAX_BATCH_CHANGES
