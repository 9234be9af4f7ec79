"""What hub operators do to shared data: commands to a centre, and the district catalog.

Both are hub writes that go into the hub's change log, and so flow down on
the next pull: a command row addressed to one centre (applied there by its
owner, see `sync.merge` rule 3), catalog rows owned by the hub (every centre
stores them). Calendars belong to their centre, so an operator changes one
by command (`set_calendar`, `add_calendar_exception`), and so are a centre's
own products (`set_product_price`, `link_product`: see `hub.centre_products`).

A command's args are checked here, before it is queued, against what its
handler on the centre (`edge.sync_hooks.DEFAULT_COMMANDS`) reads: a
malformed one is the operator's 400 now, not a refusal a centre reports on
its next pull.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from edge.domain import calendar, products
from edge.errors import BadRequest
from edge.store import Tx
from edge.store.ids import new_id
from hub.care_commands import CARE_ARG_CHECKS
from hub.care_orders import ARG_CHECKS as FAMILY_ORDER_CHECKS
from sync.enrol import now_iso
from sync.errors import BadBatch, NotFound
from sync.merge import COMMANDS_TABLE

HHMM_RE = re.compile(r"\A(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z")
PICKUP_HOURS_MAX = 40
NOTE_MAX = 100
ID_MAX = 64


def _text(args: dict[str, Any], key: str, max_len: int, *, required: bool = True) -> str | None:
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value) or len(value) > max_len:
        need = "1" if required else "0"
        raise BadRequest(
            f"args.{key} must be text of {need} to {max_len} characters", field=f"args.{key}"
        )
    return value


def _day(args: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = args.get(key)
    if not required and value in (None, ""):
        return None
    return calendar.iso_day(value, f"args.{key}")


def _cancel_order_args(args: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": _text(args, "order_id", ID_MAX)}


def _set_calendar_args(args: dict[str, Any]) -> dict[str, Any]:
    weekdays = args.get("weekdays")
    if (
        not isinstance(weekdays, list)
        or not 0 < len(weekdays) <= 7
        or any(type(d) is not int or not 0 <= d <= 6 for d in weekdays)
    ):
        raise BadRequest(
            "args.weekdays must list 1 to 7 numbers, 0 (Mon) to 6 (Sun)", field="args.weekdays"
        )
    cutoff = args.get("cutoff")
    if not isinstance(cutoff, str) or not HHMM_RE.fullmatch(cutoff):
        raise BadRequest("args.cutoff must be a time as HH:MM", field="args.cutoff")
    out: dict[str, Any] = {"weekdays": sorted(set(weekdays)), "cutoff": cutoff}
    hours = _text(args, "pickup_hours", PICKUP_HOURS_MAX, required=False)
    if hours is not None:
        out["pickup_hours"] = hours
    return out


def _add_calendar_exception_args(args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"day": _day(args, "day")}
    kind = args.get("kind")
    if kind not in ("closed", "extra"):
        raise BadRequest("args.kind must be 'closed' or 'extra'", field="args.kind")
    out["kind"] = kind
    note = _text(args, "note", NOTE_MAX, required=False)
    if note is not None:
        out["note"] = note
    move_to = _day(args, "move_orders_to", required=False)
    if move_to is not None:
        out["move_orders_to"] = move_to
    return out


def _set_product_price_args(args: dict[str, Any]) -> dict[str, Any]:
    price = args.get("price_fen")
    if type(price) is not int or not 0 <= price <= products.MAX_PRICE_FEN:
        raise BadRequest(
            "args.price_fen must be a whole number of fen, 0 to 1000000", field="args.price_fen"
        )
    return {"product_id": _text(args, "product_id", ID_MAX), "price_fen": price}


def _link_product_args(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": _text(args, "product_id", ID_MAX),
        "district_id": _text(args, "district_id", ID_MAX),
    }


# Per command: the check of its args, and the keys it takes.
ARG_CHECKS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], frozenset[str]]] = {
    "cancel_order": (_cancel_order_args, frozenset({"order_id"})),
    "set_calendar": (_set_calendar_args, frozenset({"weekdays", "cutoff", "pickup_hours"})),
    "add_calendar_exception": (
        _add_calendar_exception_args,
        frozenset({"day", "kind", "note", "move_orders_to"}),
    ),
    **CARE_ARG_CHECKS,
    **FAMILY_ORDER_CHECKS,
    "set_product_price": (_set_product_price_args, frozenset({"product_id", "price_fen"})),
    "link_product": (_link_product_args, frozenset({"product_id", "district_id"})),
}
KNOWN_COMMANDS = tuple(ARG_CHECKS)


def check_command(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """The args of command `name` as its centre handler reads them, or a BadRequest
    naming the field at fault (`name`, `args.weekdays`, …)."""
    found = ARG_CHECKS.get(name)
    if found is None:
        raise BadRequest(f"command must be one of {', '.join(KNOWN_COMMANDS)}", field="name")
    check, keys = found
    unknown = sorted(k for k in args if k not in keys)
    if unknown:
        key = unknown[0][:40]  # said back, so kept short and ASCII (!a)
        raise BadRequest(
            f"{name} takes no argument {key!a}; it takes {', '.join(sorted(keys))}",
            field=f"args.{key}" if key.isascii() and key.isprintable() else "args",
        )
    return check(args)


def send_command(
    tx: Tx,
    target_site: str,
    name: str,
    args: dict[str, Any],
    issued_by: str = "",
    command_id: str | None = None,
) -> str:
    """Queue a command for `target_site`; `command_id` when the args must name it
    (a care booking's `request_id`)."""
    args = check_command(name, args)
    if tx.one("SELECT 1 FROM sync_centres WHERE site_id = ?", (target_site,)) is None:
        raise NotFound(f"no centre {target_site[:64]!r}", field="site_id")
    command_id = command_id or new_id()
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
