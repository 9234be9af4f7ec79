"""`linli` subcommands of the sync package at the box: joining a hub, recovering, one sync.

`edge.cli` calls `register(subparsers)`; every subcommand sets `func(args)`. The hub's
own commands (enrolment, operators, co-ops) are in `hub.cli`.

    linli centre join       --db CENTRE.db --hub URL --token T   (with the server stopped)
    linli centre recover    --db CENTRE.db [--dry-run]   after a restore (server stopped)
    linli sync --once       --db CENTRE.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from sync.errors import SyncError


def _join(args: argparse.Namespace) -> None:
    import httpx

    from edge.store import open_store
    from sync import enrol
    from sync import schema as sync_schema

    hub_url = args.hub.rstrip("/")
    with enrol.joining_lock(args.db):  # refused while `linli serve` runs on this file
        try:
            resp = httpx.get(
                f"{hub_url}/sync/v1/hello",
                headers={"Authorization": f"Bearer {args.token}"},
                timeout=15,
            )
        except httpx.HTTPError as exc:
            raise SyncError(f"cannot reach the hub at {hub_url}: {exc}") from exc
        if resp.status_code != 200:
            raise SyncError(f"the hub refused the token ({resp.status_code}): {resp.text[:200]}")
        hello = resp.json()
        sync_schema.ensure(args.db)
        with open_store(args.db) as store:
            site = store.write_sync(
                lambda tx: enrol.join(
                    tx,
                    hub_url=hub_url,
                    token=args.token,
                    site_id=hello["site_id"],
                    hub_site_id=hello["hub_site_id"],
                    name=hello["name"],
                )
            )
            store.set_site(site)
    print(f"joined hub {hub_url} as centre {hello['name']} ({site})")


def _recover(args: argparse.Namespace) -> None:
    from pathlib import Path

    import httpx

    from edge.backup import check_linli_file
    from edge.store import open_store
    from edge.sync_hooks import enrolment
    from sync import schema as sync_schema
    from sync.enrol import META_HUB_SITE, META_HUB_URL, META_TOKEN
    from sync.recover import RecoverReport, recover, server_stopped

    check_linli_file(Path(args.db))  # never creates an empty database on a typo
    with server_stopped(args.db):
        sync_schema.ensure(args.db)
        with open_store(args.db) as store:
            found = enrolment(store)
            if found is None:
                raise SyncError("this box has not joined a hub (linli centre join)")

            async def run() -> RecoverReport:
                async with httpx.AsyncClient() as client:
                    return await recover(
                        store,
                        client,
                        found[META_HUB_URL],
                        found[META_TOKEN],
                        hub_site_id=found[META_HUB_SITE],
                        dry_run=args.dry_run,
                    )

            report = asyncio.run(run())
    for line in report.lines():
        print(line)


def _sync_once(args: argparse.Namespace) -> None:
    import httpx

    from edge.store import open_store
    from edge.sync_hooks import make_agent

    async def run(store: Any) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            agent = make_agent(store, client)
            if agent is None:
                raise SyncError("this box has not joined a hub (linli centre join)")
            return (await agent.sync_once()).as_json()

    with open_store(args.db) as store:
        report = asyncio.run(run(store))
    print(json.dumps(report, ensure_ascii=False))


def _guard(fn: Any) -> Any:
    """`edge.cli.main` prints EdgeError cleanly; sync errors become one."""

    def run(args: argparse.Namespace) -> None:
        from edge.errors import EdgeError

        try:
            fn(args)
        except SyncError as exc:
            raise EdgeError(exc.detail) from exc

    return run


def _subparsers_of(parser: argparse.ArgumentParser) -> Any:
    for action in parser._actions:  # argparse has no public way to reach them
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _group(subparsers: Any, name: str, help_text: str) -> Any:
    existing = subparsers.choices.get(name)
    if existing is not None:
        found = _subparsers_of(existing)
        if found is not None:
            return found
    return subparsers.add_parser(name, help=help_text).add_subparsers(
        dest=f"{name}_command", required=True
    )


def register(subparsers: Any) -> None:
    centre = _group(subparsers, "centre", "set up this box's centre")
    p = centre.add_parser("join", help="enrol this box with a hub using the token it issued")
    p.add_argument("--db", required=True)
    p.add_argument("--hub", required=True, help="the hub's URL, e.g. http://hub.local:8100")
    p.add_argument("--token", required=True)
    p.set_defaults(func=_guard(_join))
    p = centre.add_parser(
        "recover",
        help="after `linli restore`: bring back from the hub what this box had already synced",
    )
    p.add_argument("--db", required=True)
    p.add_argument("--dry-run", action="store_true", help="check and count; write nothing")
    p.set_defaults(func=_guard(_recover))

    p = subparsers.add_parser("sync", help="sync this box with its hub")
    p.add_argument("--db", required=True)
    p.add_argument("--once", action="store_true", required=True, help="one run, then exit")
    p.set_defaults(func=_guard(_sync_once))
