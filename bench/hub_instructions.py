"""Instructions a change costs the hub to decode and to apply a push (SQLite), counted.

    .venv/bin/python bench/hub_instructions.py [--centres 10] [--orders-each 400]
        [--same-length] [--group 8]

Wall-clock figures on this shared two-core machine move by a third between runs
minutes apart (`bench/hub_scale.py`), which hides a change of a few per cent.
Instructions do not move: valgrind's callgrind counts every instruction a process
runs, the same for the same code and input whatever else the machine is doing.

The pushes are `bench/hub_scale.py`'s (one real centre's log, ids made each
centre's own, each cut short by up to a twentieth unless `--same-length`). One
process opens the hub's SQLite store and reads the pushes; a second also
decodes them as the hub does (`Hub._decode`: inflate, parse, check, the new
rows made ready); a third also applies them, `--group` pushes to a
transaction, as the hub's writer groups pushes that arrive together. Each runs
under callgrind; the differences, per change, are what decoding and applying
cost. Needs valgrind (`apt-get install valgrind`); takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("open", "decode", "apply")


def prepare(work: Path, args: argparse.Namespace) -> int:
    """The hub (centres enrolled) and the pushes, written to `work`; how many changes."""
    import hub_scale

    site, rows = hub_scale.template_log(work, args.orders_each)
    target = work / "hub.db"
    pushes = hub_scale.bodies(str(target), site, rows, args.centres, cut=not args.same_length)
    with open(work / "pushes.pkl", "wb") as f:
        pickle.dump([body for _, body, _ in pushes], f)
    shutil.copy(target, work / "base.db")
    return sum(n for _, _, n in pushes)


def child(work: Path, stage: str, group: int) -> None:
    """One stage, run under callgrind by `main`."""
    sys.path.insert(0, str(ROOT / "tests"))
    from sync_fixtures import open_hub_store

    from edge.server import tune_interpreter
    from edge.store.database import Store
    from hub.push import Hub

    # No checkpointing thread: it runs when it likes, and the count would move with it.
    Store.checkpoint_in_background = lambda self: None  # type: ignore[method-assign]
    db = work / f"{stage}.db"
    shutil.copy(work / "base.db", db)
    store = open_hub_store(str(db))
    hub = Hub(store)
    tune_interpreter()
    with open(work / "pushes.pkl", "rb") as f:
        bodies = pickle.load(f)
    if stage in ("decode", "apply"):
        batches = [hub._decode(body, "gzip") for body in bodies]
    if stage == "apply":
        for i in range(0, len(batches), group):

            def apply(tx: Any, some: Any = batches[i : i + group]) -> None:
                for batch, ready in some:
                    hub._apply(tx, batch, ready)

            store.write_sync(apply)
    store.close()


def instructions(work: Path, stage: str, group: int) -> int:
    """What callgrind counts for the whole process of one stage."""
    out = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
            *(sys.executable, __file__, "--child", stage, "--work", str(work)),
            *("--group", str(group)),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--centres", type=int, default=10)
    ap.add_argument("--orders-each", type=int, default=400)
    ap.add_argument("--group", type=int, default=8, help="pushes to a transaction")
    ap.add_argument("--same-length", action="store_true", help="every push the whole log")
    ap.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.work, args.child, args.group)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    sys.path.insert(0, str(ROOT / "bench"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        changes = prepare(work, args)
        print(
            f"{args.centres} pushes, {changes:,} changes"
            f" ({'all of one length' if args.same_length else 'lengths differ'}),"
            f" {args.group} pushes to a transaction; counting under callgrind...",
            flush=True,
        )
        counts = {stage: instructions(work, stage, args.group) for stage in STAGES}
    decode = (counts["decode"] - counts["open"]) / changes
    apply = (counts["apply"] - counts["decode"]) / changes
    print(f"decode: {decode:,.0f} instructions a change (inflate, parse, check, made ready)")
    print(f"apply:  {apply:,.0f} instructions a change (the writer: rules, SQLite, commit)")


if __name__ == "__main__":
    main()
