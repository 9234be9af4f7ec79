"""What hub operators do to shared data: commands to a centre, and the district catalog.

Both are hub writes that go into the hub's change log, and so flow down on
the next pull: a command row addressed to one centre (applied there by its
owner, see `sync.merge` rule 3), catalog rows owned by the hub (every centre
stores them). Calendars belong to their centre, so an operator changes one
by command (`set_calendar`, `add_calendar_exception`).
"""

from __future__ import annotations

import json
from typing import Any

from edge import products
from edge.ids import new_id
from edge.store import Tx
from sync.enrol import now_iso
from sync.errors import BadBatch, NotFound
from sync.merge import COMMANDS_TABLE

KNOWN_COMMANDS = ("cancel_order", "set_calendar", "add_calendar_exception")


def send_command(
    tx: Tx, target_site: str, name: str, args: dict[str, Any], issued_by: str = ""
) -> str:
    if name not in KNOWN_COMMANDS:
        raise BadBatch(f"command must be one of {', '.join(KNOWN_COMMANDS)}")
    if tx.one("SELECT 1 FROM sync_centres WHERE site_id = ?", (target_site,)) is None:
        raise NotFound(f"no centre {target_site}")
    command_id = new_id()
    tx.insert(
        COMMANDS_TABLE,
        {
            "id": command_id,
            "site_id": tx.site_id,
            "target_site": target_site,
            "name": name,
            "args": json.dumps(args, ensure_ascii=False, separators=(",", ":")),
            "issued_by": issued_by,
            "created_at": now_iso(),
        },
    )
    return command_id


def cancel_order(tx: Tx, order_id: str, issued_by: str = "") -> str:
    row = tx.one("SELECT site_id FROM orders WHERE id = ?", (order_id,))
    if row is None:
        raise NotFound(f"no order {order_id}")
    return send_command(tx, row["site_id"], "cancel_order", {"order_id": order_id}, issued_by)


def create_product(tx: Tx, fields: dict[str, Any]) -> str:
    """A product of the district catalog (owned by the hub)."""
    return products.create_product(tx, fields)


def update_product(tx: Tx, product_id: str, fields: dict[str, Any]) -> None:
    row = tx.one("SELECT site_id FROM products WHERE id = ?", (product_id,))
    if row is None:
        raise NotFound(f"no product {product_id}")
    if row["site_id"] != tx.site_id:
        raise BadBatch("that product belongs to a centre; only the centre edits it")
    products.update_product(tx, product_id, fields)
