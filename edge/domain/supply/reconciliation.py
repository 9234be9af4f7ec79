"""The day's reconciliation: where every 斤, piece and fen of a delivery went.

Per centre, day and product line: ordered (the latest version of the locked
order), dispatched (the co-op's note; 0 for a line the note leaves out,
such as one a substitute replaced), received (entered at 06:00; the
dispatch note, else the order, when nothing was entered — flagged
`received_assumed`), sold through orders (handed over: weighed grams or the
allocated count; a voided hand-over reopens the order, so it drops out),
sold walk-in (less voided sales), returned (the co-op's accepted quantities
once it confirmed the note), and lost = received − sold − returned
(negative when more was sold than arrived: a generous scale).

Money: sales are the takings (retail fen). Everything the co-op is paid for
is at the co-op price list in effect that day; what is owed is
`cost(received) − cost(returned)` per line. `lost_fen` at cost is the
remainder, `cost(received) − cost(sold via orders) − cost(sold walk-in) −
cost(returned)`, so the columns add up to the fen. A line with no co-op
price shows `price_fen: null` and is listed under `unpriced`; the owed total
then says it is incomplete.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable
from typing import Any

from edge.domain import spreadsheet
from edge.domain.supply import consolidated, receiving, returns
from edge.domain.supply.lines import Key, co_op_unit, cost_fen, product_infos, say, unit_label_for
from edge.domain.supply.sold import sold_by_orders, sold_walkin

FEN_COLUMNS = (
    "ordered_fen",
    "dispatched_fen",
    "received_fen",
    "sold_orders_cost_fen",
    "sold_walkin_cost_fen",
    "returned_fen",
    "lost_fen",
    "owed_fen",
)


class PriceBook:
    """The co-op's prices in effect on one day for one centre (latest list wins).

    A price may come by product id (copied from the consolidated JSON) or by
    name (typed from a text); whichever way, the row of the latest list in
    effect wins, so each entry keeps its place in that order.
    """

    def __init__(self, conn: sqlite3.Connection, site_id: str, day: str) -> None:
        self.by_id: dict[Key, tuple[int, int]] = {}  # -> (rank, price_fen)
        self.by_name: dict[tuple[str, str], tuple[int, int]] = {}
        for rank, r in enumerate(
            conn.execute(
                "SELECT product_id, product_name, qty_unit, price_fen FROM supply_prices"
                " WHERE effective_from <= ? AND (centre_id IS NULL OR centre_id = ?)"
                " ORDER BY effective_from, centre_id IS NOT NULL, created_at, id",
                (day, site_id),
            )
        ):
            entry = (rank, int(r["price_fen"]))
            if r["product_id"]:
                self.by_id[(r["product_id"], r["qty_unit"])] = entry
            self.by_name[(r["product_name"], r["qty_unit"])] = entry

    def price(self, key: Key, name: str) -> int | None:
        found = [
            x for x in (self.by_id.get(key), self.by_name.get((name, key[1]))) if x is not None
        ]
        return max(found)[1] if found else None


def reconcile(conn: sqlite3.Connection, site_id: str, day: str) -> dict[str, Any]:
    infos = product_infos(conn)
    head = consolidated.latest(conn, site_id, day)
    ordered_lines = (
        consolidated.version_lines(conn, head["id"])
        if head
        else consolidated.live_lines(conn, site_id, day)
    )
    note = receiving.latest_dispatch(conn, site_id, day)
    dispatched: dict[Key, int] = {}
    names: dict[Key, str] = {k: v.product_name for k, v in ordered_lines.items()}
    for r in (note or {}).get("lines", []):
        key = (r["product_id"], r["qty_unit"])
        dispatched[key] = dispatched.get(key, 0) + int(r["shipped_qty"])
        names.setdefault(key, r["product_name"])
    received: dict[Key, int] = {}
    for r in conn.execute(
        "SELECT product_id, product_name, qty_unit, arrived_qty FROM"
        " supply_receipts WHERE site_id = ? AND delivery_date = ?",
        (site_id, day),
    ):
        received[(r["product_id"], r["qty_unit"])] = int(r["arrived_qty"])
        names.setdefault((r["product_id"], r["qty_unit"]), r["product_name"])
    sold_o = sold_by_orders(conn, site_id, day)
    sold_w = sold_walkin(conn, site_id, day)
    returned, confirmed = returns.returned_quantities(conn, site_id, day)
    prices = PriceBook(conn, site_id, day)

    keys = (
        ordered_lines.keys()
        | dispatched.keys()
        | received.keys()
        | sold_o.keys()
        | sold_w.keys()
        | returned.keys()
    )
    lines = []
    for key in keys:
        info = infos.get(key[0])
        name = info.name if info else names.get(key, key[0])
        label = unit_label_for(info, key[1])
        ordered = ordered_lines[key].total if key in ordered_lines else 0
        assumed = key not in received
        if assumed:  # not entered: as dispatched (0 when the note leaves it out), else ordered
            got = dispatched.get(key, 0) if note is not None else ordered
        else:
            got = received[key]
        so_q, so_fen = sold_o.get(key, (0, 0))
        sw_q, sw_fen = sold_w.get(key, (0, 0))
        ret = returned.get(key, 0)
        line: dict[str, Any] = {
            "product_id": key[0],
            "product_name": name,
            "qty_unit": key[1],
            "co_op_unit": co_op_unit(key[1], label),
            "unit_label": label,
            "ordered": ordered,
            "dispatched": dispatched.get(key, 0) if note is not None else None,
            "received": got,
            "received_assumed": assumed,
            "sold_orders": so_q,
            "sold_walkin": sw_q,
            "returned": ret,
            "lost": got - so_q - sw_q - ret,
            "sold_orders_fen": so_fen,
            "sold_walkin_fen": sw_fen,
        }
        price = prices.price(key, name)
        line["price_fen"] = price
        if price is None:
            line.update(dict.fromkeys(FEN_COLUMNS))
        else:

            def cost(q: int, unit: str = key[1], p: int = price) -> int:
                return cost_fen(unit, q, p)

            received_fen, returned_fen = cost(got), cost(ret)
            so_cost, sw_cost = cost(so_q), cost(sw_q)
            line.update(
                ordered_fen=cost(ordered),
                dispatched_fen=cost(line["dispatched"]) if line["dispatched"] is not None else None,
                received_fen=received_fen,
                sold_orders_cost_fen=so_cost,
                sold_walkin_cost_fen=sw_cost,
                returned_fen=returned_fen,
                lost_fen=received_fen - so_cost - sw_cost - returned_fen,
                owed_fen=received_fen - returned_fen,
            )
        line["text"] = {
            k: say(key[1], line[k], label)
            for k in ("ordered", "received", "sold_orders", "sold_walkin", "returned")
        }
        line["text"]["dispatched"] = (
            say(key[1], line["dispatched"], label) if line["dispatched"] is not None else ""
        )
        lost = line["lost"]
        line["text"]["lost"] = ("-" if lost < 0 else "") + say(key[1], abs(lost), label)
        lines.append(line)
    lines.sort(key=lambda x: (x["product_name"], x["qty_unit"]))
    return {
        "centre_id": site_id,
        "delivery_date": day,
        "version": head["version"] if head else None,
        "dispatch_note": note is not None,
        "returns_confirmed": confirmed,
        "lines": lines,
        "totals": totals(lines),
    }


def totals(lines: Iterable[dict[str, Any]]) -> dict[str, Any]:
    lines = list(lines)
    out: dict[str, Any] = {c: sum(x[c] or 0 for x in lines) for c in FEN_COLUMNS}
    out["takings_fen"] = sum(x["sold_orders_fen"] + x["sold_walkin_fen"] for x in lines)
    unpriced = sorted(
        {
            x["product_name"]
            for x in lines
            if x["price_fen"] is None and (x["received"] or x["returned"])
        }
    )
    out["unpriced"] = unpriced
    out["owed_complete"] = not unpriced
    out["unpriced_note"] = (
        "" if not unpriced else "没有合作社价格:" + "、".join(unpriced) + "(应付金额不含这些)"
    )
    return out


def reconcile_centres(
    conn: sqlite3.Connection, day: str, centres: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """The hub's view: every centre's reconciliation and the grand totals in fen."""
    per = []
    for site_id, name in centres:
        doc = reconcile(conn, site_id, day)
        if doc["lines"]:
            per.append({"centre_name": name, **doc})
    grand = totals(line for doc in per for line in doc["lines"])
    return {"delivery_date": day, "centres": per, "totals": grand}


CSV_COLUMNS = (
    "centre_id",
    "delivery_date",
    "product_id",
    "product_name",
    "qty_unit",
    "ordered",
    "dispatched",
    "received",
    "received_assumed",
    "sold_orders",
    "sold_walkin",
    "returned",
    "lost",
    "price_fen",
    "ordered_fen",
    "dispatched_fen",
    "received_fen",
    "sold_orders_fen",
    "sold_walkin_fen",
    "sold_orders_cost_fen",
    "sold_walkin_cost_fen",
    "returned_fen",
    "lost_fen",
    "owed_fen",
)


def as_csv(docs: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = spreadsheet.writer(buf)
    w.writerow(CSV_COLUMNS)
    docs = list(docs)
    for doc in docs:
        for line in doc["lines"]:
            row = {**line, "centre_id": doc["centre_id"], "delivery_date": doc["delivery_date"]}
            w.writerow(
                [
                    "" if row[c] is None else int(row[c]) if isinstance(row[c], bool) else row[c]
                    for c in CSV_COLUMNS
                ]
            )
    grand = totals(line for doc in docs for line in doc["lines"])
    w.writerow(
        [
            "TOTAL",
            docs[0]["delivery_date"] if docs else "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            grand["ordered_fen"],
            grand["dispatched_fen"],
            grand["received_fen"],
            sum(x["sold_orders_fen"] for d in docs for x in d["lines"]),
            sum(x["sold_walkin_fen"] for d in docs for x in d["lines"]),
            grand["sold_orders_cost_fen"],
            grand["sold_walkin_cost_fen"],
            grand["returned_fen"],
            grand["lost_fen"],
            grand["owed_fen"],
        ]
    )
    return buf.getvalue()
