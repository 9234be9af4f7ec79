"""A hub restored from a backup gets back the commands it had sent (README, "Restoring the hub").

Commands are the hub's rows: a centre never writes them in a push (`sync.merge`
rule 1), and the hub refuses an answer to a command it does not hold. A hub
restored from a backup older than some of its commands no longer holds them,
so their addressees' answers were refused for good (403). The addressee holds
every command it pulled, so it hands those back here, and only those: a
command of this hub, addressed to the centre that returns it, that the hub
no longer holds. The hub writes it again through its change log, as it wrote
it the first time, and the answer that waited is accepted at the next push.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from edge.store import Tx
from sync.errors import BadBatch, ForeignRow
from sync.merge import COMMANDS_TABLE

log = logging.getLogger("linli.hub")

MAX_RETURNED = 1000
# A command row as the hub wrote it (`hub.operations.send_command`), with bounds.
COMMAND_FIELDS = {
    "id": 64,
    "site_id": 64,
    "target_site": 64,
    "name": 64,
    "args": 64 * 1024,
    "issued_by": 200,
    "created_at": 64,
}


def returned_commands(doc: Any) -> list[dict[str, str]]:
    """The command rows of a `POST /sync/v1/commands/returned` body, checked for shape."""
    if not isinstance(doc, dict) or not isinstance(doc.get("commands"), list):
        raise BadBatch('the body is {"commands": [command rows]}', field="commands")
    rows = doc["commands"]
    if len(rows) > MAX_RETURNED:
        raise BadBatch(f"at most {MAX_RETURNED} commands at once", field="commands")
    out = []
    for i, row in enumerate(rows):
        where = f"commands[{i}]"
        if not isinstance(row, dict) or set(row) != set(COMMAND_FIELDS):
            raise BadBatch(f"{where} must have exactly {', '.join(COMMAND_FIELDS)}", field=where)
        for key, limit in COMMAND_FIELDS.items():
            value = row[key]
            if not isinstance(value, str) or len(value) > limit or not value.isprintable():
                raise BadBatch(f"{where}.{key} must be text of at most {limit}", field=where)
        try:
            args = json.loads(row["args"])
        except json.JSONDecodeError:
            args = None
        if not isinstance(args, dict):
            raise BadBatch(f"{where}.args must be a JSON object", field=f"{where}.args")
        out.append(row)
    return out


def take_back(
    tx: Tx, hub_site: str, centre_site: str, rows: list[dict[str, str]]
) -> dict[str, int]:
    """Write again the returned commands the hub no longer holds; all or nothing."""
    written = 0
    for i, row in enumerate(rows):
        if row["site_id"] != hub_site:
            raise ForeignRow(f"commands[{i}] is not this hub's", field=f"commands[{i}].site_id")
        if row["target_site"] != centre_site:
            raise ForeignRow(
                f"commands[{i}] is addressed to {row['target_site']}: a centre returns only "
                "the commands it was sent",
                field=f"commands[{i}].target_site",
            )
        if tx.one(f"SELECT 1 FROM {COMMANDS_TABLE} WHERE id = ?", (row["id"],)) is None:
            tx.insert(COMMANDS_TABLE, dict(row))
            written += 1
    if written:
        log.warning(
            "centre %s returned %d command(s) this hub no longer held (restored from a backup)",
            centre_site,
            written,
        )
    return {"returned": written, "held": len(rows) - written}
