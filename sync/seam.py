"""The seam between a box's log and the hub's: a change as the hub stores it, and the
short fingerprint of the last one a box sends with every contact, so that a cloned or
restored box is told apart from the one the hub knows (README, "Sync")."""

from __future__ import annotations

import hashlib
import json

from edge.store.changelog import Change
from sync.protocol import compact


def as_stored(change: Change) -> Change:
    """A box's log entry as the hub stores it once pushed: the batch drops
    local-only fields, and an insert gets its id and site id back."""
    fields = compact(change)[5]
    if change.op == "insert":
        fields = {"id": change.row_id, "site_id": change.site_id, **fields}
    return Change(
        change.site_id, change.seq, change.hlc, change.tbl, change.row_id, change.op, fields
    )


SEAM_DIGEST_CHARS = 32


def seam_digest(stored: Change) -> str:
    """A short fingerprint of one change as the hub stores it (`as_stored` on the box):
    what a box sends with every contact so the hub compares the end of its log."""
    doc = [stored.seq, stored.hlc, stored.tbl, stored.row_id, stored.op, stored.fields]
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:SEAM_DIGEST_CHARS]


def changes_digest_equal(stored: Change, incoming: Change) -> bool:
    """Whether a resent change is the one the hub already holds (clone detection)."""
    return (
        stored.hlc == incoming.hlc
        and stored.tbl == incoming.tbl
        and stored.row_id == incoming.row_id
        and stored.op == incoming.op
        and stored.fields == incoming.fields
    )
