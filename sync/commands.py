"""Hub commands on the centre: the handlers a box registers by name, and running one
pulled command with its outcome recorded for the hub."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from edge.store import Tx
from sync.enrol import now_iso
from sync.merge import RESULTS_TABLE

log = logging.getLogger("linli.sync")

CommandHandler = Callable[[Tx, dict[str, Any]], Any]


def run_command(
    tx: Tx, handlers: dict[str, CommandHandler], command_id: str, fields: dict[str, Any]
) -> None:
    """Run one hub command in the pull's transaction, inside a savepoint: a handler that
    raises refuses it (its writes rolled back, the reason kept); either way the outcome
    is written to the results table, which goes back to the hub with the next push."""
    name = str(fields.get("name") or "")
    try:
        args = json.loads(fields.get("args") or "{}")
    except json.JSONDecodeError:
        args = None
    handler = handlers.get(name)
    outcome, detail = "applied", ""
    if handler is None:
        outcome, detail = "refused", f"this centre has no handler for {name!r}"
    elif not isinstance(args, dict):
        outcome, detail = "refused", "command arguments are not an object"
    else:
        tx.execute("SAVEPOINT command")
        try:
            result = handler(tx, args)
        except Exception as exc:
            tx.execute("ROLLBACK TO command")
            outcome = "refused"
            detail = str(getattr(exc, "detail", None) or exc)[:300]
            if not hasattr(exc, "detail"):
                log.exception("command %s (%s) failed", command_id, name)
        else:
            detail = "" if result is None else str(result)[:300]
        tx.execute("RELEASE command")
    tx.insert(
        RESULTS_TABLE,
        {
            "id": command_id,
            "site_id": tx.site_id,
            "name": name,
            "outcome": outcome,
            "detail": detail,
            "applied_at": now_iso(),
        },
    )
