"""The `linli` command: one entry point for every role and every chore."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edge.errors import EdgeError


def _serve(args: argparse.Namespace) -> None:
    from edge import memory
    from edge.domain.wechat import parse_pool
    from edge.server import Limits, serve
    from edge.settings import Settings

    if args.role == "hub":
        memory.return_big_blocks_to_os(
            memory.HUB_MMAP_THRESHOLD_BYTES, memory.HUB_TRIM_THRESHOLD_BYTES
        )
    else:
        memory.return_big_blocks_to_os()

    # Slow clients: header and body timeouts, connections capped below the open-files
    # limit (edge/server.py). Checked before the database is opened.
    body_timeout = args.body_timeout
    if body_timeout is None:
        body_timeout = 120.0 if args.role == "hub" else 30.0
    limits = Limits(
        header_timeout_s=args.header_timeout,
        body_timeout_s=body_timeout,
        max_connections=args.max_connections,
    )
    # A centre reads WeChat pastes in worker processes, each within a deadline (not on
    # the store's reader threads); started now, so the first paste does not wait for them.
    if args.role != "hub":
        parse_pool.configure(args.paste_workers, args.paste_deadline, warm=True)
    on_postgres = args.db.startswith(("postgresql://", "postgres://"))
    if on_postgres and args.role != "hub":
        sys.exit("a centre keeps its SQLite file: --db postgresql://... is for --role hub")
    settings = Settings(
        db_path=Path("postgresql") if on_postgres else Path(args.db),
        db_url=args.db if on_postgres else "",
        role=args.role,
        host=args.host,
        port=args.port,
        sync_enabled=not args.no_sync,
        sync_interval_s=args.sync_interval,
        timezone=args.timezone,
        decode_processes=args.decode_processes if args.role == "hub" and not on_postgres else 0,
    )
    if args.role == "hub":
        from hub.app import create_hub_app

        app = create_hub_app(settings)
    else:
        from edge.web.app import create_app

        app = create_app(settings)
    # READY=1 and watchdog pings for systemd when it asks ($NOTIFY_SOCKET, $WATCHDOG_USEC),
    # and the box's name over mDNS when --mdns-name (or $LINLI_MDNS_NAME) says so.
    started = serve(
        app,
        host=args.host,
        port=args.port,
        role=args.role,
        log_level=args.log_level,
        mdns_name=args.mdns_name,
        limits=limits,
    )
    if not started:
        sys.exit(3)  # as uvicorn.run: the server never started (port taken, bad database)


def _centre_init(args: argparse.Namespace) -> None:
    from edge.domain.centre import init_centre
    from edge.store import open_store

    with open_store(args.db) as store:
        site_id = init_centre(store, args.name)
    print(f"centre {args.name!r} created with site id {site_id}")


def _staff_set_pin(args: argparse.Namespace) -> None:
    from edge.domain.auth import set_pin
    from edge.store import open_store

    with open_store(args.db) as store:
        staff = store.write_sync(lambda tx: set_pin(tx, args.name, args.pin))
    print(f"new PIN set for {staff.role} {staff.name}")


def _staff_remove(args: argparse.Namespace) -> None:
    from edge.domain.auth import remove_staff
    from edge.store import open_store

    with open_store(args.db) as store:
        staff = store.write_sync(lambda tx: remove_staff(tx, args.name))
    print(f"removed {staff.role} {staff.name}: every tablet and token of theirs is signed out")


def _staff_add(args: argparse.Namespace) -> None:
    from edge.domain.auth import add_staff, issue_token
    from edge.store import open_store

    with open_store(args.db) as store:
        if not store.site_id:
            raise EdgeError("run `linli centre init` first")

        def write(tx):  # type: ignore[no-untyped-def]
            staff = add_staff(tx, args.name, args.role, args.pin)
            return staff, (issue_token(tx, staff.id) if args.token else None)

        staff, token = store.write_sync(write)
    print(f"added {staff.role} {staff.name} ({staff.id})")
    if token:
        print(f"API token: {token}")


def _backup(args: argparse.Namespace) -> None:
    if args.usb:
        _backup_usb(args)
        return
    from edge.backup import backup

    print(f"backed up to {backup(Path(args.db), Path(args.to))}")


def _backup_usb(args: argparse.Namespace) -> None:
    from edge.box import backup_to_usb, usb_mounts

    media = args.media or ["/media", "/run/media", "/mnt"]
    mounts = usb_mounts([Path(m) for m in media], Path(args.mounts))
    if not mounts:
        print("no USB stick mounted: nothing to do")
        return
    for mount in mounts:
        print(f"backed up to {backup_to_usb(Path(args.db), mount, keep=args.keep)}")


def _restore(args: argparse.Namespace) -> None:
    from edge.backup import restore

    site_id = restore(Path(args.backup_file), Path(args.db))
    print(f"restored centre {site_id} into {args.db}")


def _demo(args: argparse.Namespace) -> None:
    from edge.demo import create_demo

    print(create_demo(Path(args.db)))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.05 <= value <= 86_400:
        raise argparse.ArgumentTypeError("the sync interval is 0.05 to 86400 seconds")
    return value


def _processes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes") from None
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError("0 to 16 decode processes")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linli", description="Linli (邻里) centre and hub")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a centre or the hub")
    serve.add_argument("--role", choices=["centre", "hub"], default="centre")
    serve.add_argument("--db", required=True)
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-sync", action="store_true", help="do not sync with the hub")
    serve.add_argument(
        "--sync-interval",
        type=_seconds,
        default=15.0,
        metavar="SECONDS",
        help="seconds between background syncs with the hub (centre role; default 15)",
    )
    serve.add_argument(
        "--timezone",
        default=os.environ.get("LINLI_TIMEZONE") or "Asia/Shanghai",
        metavar="ZONE",
        help="the hub's local time zone for the operator pages (default: $LINLI_TIMEZONE, "
        "else Asia/Shanghai)",
    )
    serve.add_argument(
        "--mdns-name",
        default=os.environ.get("LINLI_MDNS_NAME") or None,
        metavar="NAME|auto|off",
        help="announce http://NAME.local:PORT/ on the LAN over mDNS; auto: from the "
        "centre's name or the host name (default: $LINLI_MDNS_NAME, else off)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection that has not sent its whole request line and headers "
        "in this time (default 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="cut a request whose body has not all come in this time after its headers "
        "(default: 30 for a centre, 120 for the hub)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="open connections at most (default and ceiling: from the open-files limit, "
        "less a margin, at most 4096)",
    )
    serve.add_argument(
        "--decode-processes",
        type=_processes,
        default=2,
        metavar="N",
        help="processes a SQLite hub decodes pushes in while others are being applied "
        "(hub role; 0: in threads; default 2)",
    )
    serve.add_argument(
        "--paste-workers",
        type=int,
        default=None,
        metavar="N",
        help="processes that read WeChat pastes (default: 1, or 2 with more than 2 cores)",
    )
    serve.add_argument(
        "--paste-deadline",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest wait for a paste reader, and longest read of one paste (default 10)",
    )
    serve.set_defaults(func=_serve)

    centre = sub.add_parser("centre", help="set up this box's centre").add_subparsers(
        dest="centre_command", required=True
    )
    init = centre.add_parser("init", help="create a new centre database")
    init.add_argument("--db", required=True)
    init.add_argument("--name", required=True)
    init.set_defaults(func=_centre_init)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(
        dest="staff_command", required=True
    )
    add = staff.add_parser("add", help="add a staff member with a PIN")
    add.add_argument("--db", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=["manager", "staff", "volunteer"], default="staff")
    add.add_argument("--pin", required=True)
    add.add_argument("--token", action="store_true", help="also print an API token")
    add.set_defaults(func=_staff_add)

    pin = staff.add_parser("set-pin", help="a new PIN (signs the person out everywhere)")
    pin.add_argument("--db", required=True)
    pin.add_argument("--name", required=True)
    pin.add_argument("--pin", required=True)
    pin.set_defaults(func=_staff_set_pin)

    rm = staff.add_parser("remove", help="a person leaves (signs them out everywhere)")
    rm.add_argument("--db", required=True)
    rm.add_argument("--name", required=True)
    rm.set_defaults(func=_staff_remove)

    bk = sub.add_parser("backup", help="online backup of a database")
    bk.add_argument("--db", required=True)
    where = bk.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", help="a file or a folder")
    where.add_argument(
        "--usb",
        action="store_true",
        help="a dated copy in linli-backups/ on each mounted USB stick (none: nothing to do)",
    )
    bk.add_argument("--keep", type=int, default=14, help="with --usb: dated copies kept")
    bk.add_argument(
        "--media",
        action="append",
        default=None,
        help="with --usb: where sticks are mounted (default /media, /run/media, /mnt)",
    )
    bk.add_argument("--mounts", default="/proc/self/mounts", help=argparse.SUPPRESS)
    bk.set_defaults(func=_backup)

    rs = sub.add_parser("restore", help="restore a backup (stop the server first)")
    rs.add_argument("--db", required=True)
    rs.add_argument("backup_file")
    rs.set_defaults(func=_restore)

    demo = sub.add_parser("demo", help="create the demo centre 金沙路社区 if the file is new")
    demo.add_argument("--db", required=True)
    demo.set_defaults(func=_demo)

    # The composition root: the box's sync commands and the hub's own.
    from hub.cli import register as register_hub
    from sync.cli import register as register_sync

    register_sync(sub)
    register_hub(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except EdgeError as exc:
        print(f"linli: {exc.detail}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
