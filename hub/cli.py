"""`linli hub` subcommands: enrol centres, operators and co-ops on the hub's database.

`edge.cli` calls `register(subparsers)`; every subcommand sets `func(args)`.

    linli hub add-centre    --db HUB.db --name 金沙路社区 [--site-id ID]   prints site id + token
    linli hub revoke-centre --db HUB.db --site-id ID
    linli hub new-token     --db HUB.db --site-id ID          re-issue (old token stops working)
    linli hub release-centre --db HUB.db --site-id ID         clear a "diverged" hold
    linli hub add-operator  --db HUB.db --name N --password P [--role supervisor]
    linli hub add-supplier  --db HUB.db --name N [--centre ID ...]   (default: every centre now)
    linli hub supplier-centres --db HUB.db --name N [--add ID ...] [--remove ID ...]
    linli hub migrate --from HUB.db --to postgresql://...   move a stopped hub to PostgreSQL

Every --db takes a SQLite file or a PostgreSQL URL (postgresql://user@host/db).
"""

from __future__ import annotations

import argparse
from typing import Any

from sync.cli import _group, _guard


def _hub_store(path: str) -> Any:
    from edge.store import open_db
    from sync import enrol
    from sync import schema as sync_schema

    sync_schema.ensure(path)
    store = open_db(path)
    enrol.init_hub(store)
    return store


def _add_centre(args: argparse.Namespace) -> None:
    from sync import enrol

    store = _hub_store(args.db)
    try:
        e = store.write_sync(lambda tx: enrol.add_centre(tx, args.name, args.site_id))
    finally:
        store.close()
    print(f"centre {e.name} enrolled")
    print(f"site id: {e.site_id}")
    print(f"token: {e.token}")
    print(f"at the box: linli centre join --db CENTRE.db --hub http://HUB:8100 --token {e.token}")


def _revoke_centre(args: argparse.Namespace) -> None:
    from sync import enrol

    store = _hub_store(args.db)
    try:
        store.write_sync(lambda tx: enrol.revoke_centre(tx, args.site_id))
    finally:
        store.close()
    print(f"centre {args.site_id}: credential revoked")


def _new_token(args: argparse.Namespace) -> None:
    from sync import enrol

    store = _hub_store(args.db)
    try:
        token = store.write_sync(lambda tx: enrol.new_token(tx, args.site_id))
    finally:
        store.close()
    print(f"token: {token}")


def _release_centre(args: argparse.Namespace) -> None:
    store = _hub_store(args.db)
    try:
        store.write_sync(
            lambda tx: tx.execute(
                "UPDATE sync_centres SET diverged = NULL, install_id = NULL WHERE site_id = ?",
                (args.site_id,),
            )
        )
    finally:
        store.close()
    print(f"centre {args.site_id}: hold released; its next push is checked afresh")


def _add_operator(args: argparse.Namespace) -> None:
    from sync import enrol

    store = _hub_store(args.db)
    try:
        op_id = store.write_sync(
            lambda tx: enrol.add_operator(tx, args.name, args.password, args.role)
        )
    finally:
        store.close()
    print(f"operator {args.name} ({args.role}) added: {op_id}")


def _print_supplied(name: str, supplied: list[tuple[str, str]]) -> None:
    if not supplied:
        print(f"supplies no centre yet: linli hub supplier-centres --name {name} --add ID")
    for site, centre in supplied:
        print(f"supplies: {centre} ({site})")


def _add_supplier(args: argparse.Namespace) -> None:
    from hub.supplier import create_supplier, supplied_centres

    store = _hub_store(args.db)

    def create(tx: Any) -> tuple[str, list[tuple[str, str]]]:
        token = create_supplier(tx, args.name, args.centre or None)
        row = tx.one("SELECT id FROM supply_suppliers WHERE name = ?", (args.name.strip(),))
        return token, supplied_centres(tx.conn, row["id"])

    try:
        token, supplied = store.write_sync(create)
    finally:
        store.close()
    print(f"supplier {args.name} added")
    _print_supplied(args.name, supplied)
    print(f"token: {token}")
    print("the co-op uses it as: Authorization: Bearer <token> on /supplier/v1/")


def _supplier_centres(args: argparse.Namespace) -> None:
    from hub.supplier import link_centres

    store = _hub_store(args.db)
    try:
        supplied = store.write_sync(
            lambda tx: link_centres(tx, args.name, args.add or (), args.remove or ())
        )
    finally:
        store.close()
    print(f"supplier {args.name}")
    _print_supplied(args.name, supplied)


def _migrate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from hub.pg_migrate import migrate_hub

    print(migrate_hub(Path(args.source), args.to).summary())


def register(subparsers: Any) -> None:
    hub = _group(subparsers, "hub", "enrol centres and operators on the hub")
    p = hub.add_parser("add-centre", help="enrol a centre; prints its site id and token")
    p.add_argument("--db", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--site-id", default=None, help="adopt the box's own site id")
    p.set_defaults(func=_guard(_add_centre))
    p = hub.add_parser("revoke-centre", help="refuse a centre's credential from now on")
    p.add_argument("--db", required=True)
    p.add_argument("--site-id", required=True)
    p.set_defaults(func=_guard(_revoke_centre))
    p = hub.add_parser("new-token", help="issue a centre a fresh credential")
    p.add_argument("--db", required=True)
    p.add_argument("--site-id", required=True)
    p.set_defaults(func=_guard(_new_token))
    p = hub.add_parser(
        "release-centre",
        help="lift a 'diverged' hold after checking the box (a restored box: after "
        "`linli centre recover` succeeded on it)",
    )
    p.add_argument("--db", required=True)
    p.add_argument("--site-id", required=True)
    p.set_defaults(func=_guard(_release_centre))
    p = hub.add_parser("add-operator", help="an operator account for the hub pages")
    p.add_argument("--db", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", choices=["operator", "supervisor", "hotline"], default="operator")
    p.set_defaults(func=_guard(_add_operator))

    p = hub.add_parser("add-supplier", help="a co-op account for the supplier API")
    p.add_argument("--db", required=True)
    p.add_argument("--name", required=True)
    p.add_argument(
        "--centre",
        action="append",
        metavar="SITE_ID",
        help="a centre it supplies (repeat for more); default: every centre enrolled now",
    )
    p.set_defaults(func=_guard(_add_supplier))
    p = hub.add_parser("supplier-centres", help="change which centres a co-op supplies; lists them")
    p.add_argument("--db", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--add", action="append", metavar="SITE_ID", help="a centre it now supplies")
    p.add_argument("--remove", action="append", metavar="SITE_ID", help="one it no longer does")
    p.set_defaults(func=_guard(_supplier_centres))
    p = hub.add_parser(
        "migrate",
        help="move a stopped hub from its SQLite file into an empty PostgreSQL database; "
        "checks row counts and change positions",
    )
    p.add_argument("--from", dest="source", required=True, metavar="HUB.db")
    p.add_argument("--to", required=True, metavar="postgresql://...")
    p.set_defaults(func=_guard(_migrate))
