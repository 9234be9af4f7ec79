"""A pull answer: the hub's change-log rows for one centre, and the centre's check of
its shape (the centre trusts the hub, not the wire)."""

from __future__ import annotations

from typing import Any

from edge.store.changelog import Change
from edge.store.migrations import SCHEMA_VERSION
from sync.errors import BadBatch
from sync.protocol import IDENT_RE, OPS


def pull_doc(
    hub_site: str,
    changes: list[Change],
    next_after: int,
    more: bool,
    hub_time_ms: int,
    hub_hlc: int,
) -> dict[str, Any]:
    """A pull answer: hub change-log rows for one centre, fields in full."""
    return {
        "schema_version": SCHEMA_VERSION,
        "hub_site_id": hub_site,
        "changes": [[c.seq, c.hlc, c.tbl, c.row_id, c.op, c.fields] for c in changes],
        "next_after": next_after,
        "more": more,
        "hub_time_ms": hub_time_ms,
        "hub_hlc": hub_hlc,
    }


def parse_pull(doc: Any, hub_site: str) -> tuple[list[Change], int, bool]:
    """Check a pull answer's shape (the centre trusts the hub, not the wire)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("changes"), list):
        raise BadBatch("pull answer is not a batch")
    if doc.get("hub_site_id") != hub_site:
        raise BadBatch(f"pull answer comes from hub {doc.get('hub_site_id')!r}, not {hub_site!r}")
    out = []
    for i, item in enumerate(doc["changes"]):
        if not isinstance(item, list) or len(item) != 6 or not isinstance(item[5], dict):
            raise BadBatch(f"pull changes[{i}] is malformed")
        seq, hlc, tbl, row_id, op, fields = item
        if op not in OPS or not isinstance(tbl, str) or not IDENT_RE.fullmatch(tbl):
            raise BadBatch(f"pull changes[{i}] is malformed")
        out.append(Change(hub_site, int(seq), int(hlc), tbl, str(row_id), op, fields))
    next_after = doc.get("next_after")
    if not isinstance(next_after, int):
        raise BadBatch("pull answer has no next_after")
    return out, next_after, bool(doc.get("more"))
