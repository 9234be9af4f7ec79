"""What decoding beside the SQLite hub's writer costs the writer: the apply timed alone,
with a thread decoding pushes meanwhile, and with a process doing the same.

    .venv/bin/python bench/hub_gil.py [--centres 20] [--orders-each 400] [--rounds 3]

The hub decodes pushes in threads (`hub.push.DECODERS`) while its one writer
applies others. Python lets one thread run Python code at a time (the GIL); the
writer lets go of it inside every SQLite call and then waits to get it back from a
thread that is decoding, in one long msgspec call or between bytecodes. So the
writer's time per change is measured three ways, in alternated rounds of the same
pushes (`bench/hub_scale.py`'s, one real centre's log per simulated centre): with
nothing beside it; with a thread decoding the same pushes over and over; with a
process doing it (no GIL shared, the same two cores). The ratios to "alone" are
what the writer loses to the GIL and what it loses to the cores. Then the whole
ingest in one process both ways: each push decoded and applied in turn, and
decoded in two threads while the writer applies. Wall time, on a shared machine:
compare the ratios within a run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from sync_fixtures import open_hub_store  # noqa: E402

from edge.server import tune_interpreter  # noqa: E402
from edge.store.database import Store  # noqa: E402
from hub.push import Hub  # noqa: E402
from sync.protocol import decode_batch  # noqa: E402

MODES = ("alone", "thread", "process")
GROUP = 4  # pushes to a transaction


def busy_decoding(bodies: list[bytes], stop: Any) -> None:
    """Decode the pushes again and again until `stop` is set."""
    while not stop.is_set():
        for body in bodies[:4]:
            decode_batch(body, "gzip")


def fresh_hub(work: Path, name: str) -> tuple[Store, Hub]:
    db = work / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(work / "base.db", db)
    store = open_hub_store(str(db))
    return store, Hub(store)


def apply_all(store: Store, hub: Hub, batches: list[Any]) -> None:
    for i in range(0, len(batches), GROUP):

        def job(tx: Any, some: list[Any] = batches[i : i + GROUP]) -> None:
            for batch, ready in some:
                hub._apply(tx, batch, ready)

        store.write_sync(job)


def writer_alone_or_not(work: Path, bodies: list[bytes], mode: str) -> float:
    """Seconds the writer takes to apply every push, with `mode` decoding beside it."""
    store, hub = fresh_hub(work, mode)
    batches = [hub._decode(body, "gzip") for body in bodies]
    spawn = multiprocessing.get_context("spawn")
    stop: Any = threading.Event() if mode != "process" else spawn.Event()
    beside: Any = None
    if mode == "thread":
        beside = threading.Thread(target=busy_decoding, args=(bodies, stop))
    elif mode == "process":
        beside = spawn.Process(target=busy_decoding, args=(bodies, stop))
    if beside is not None:
        beside.start()
        time.sleep(1.0 if mode == "process" else 0.2)  # started and decoding
    try:
        started = time.perf_counter()
        apply_all(store, hub, batches)
        return time.perf_counter() - started
    finally:
        stop.set()
        if beside is not None:
            beside.join()
        store.close()


def ingest(work: Path, bodies: list[bytes], overlapped: bool) -> float:
    """Seconds to decode and apply every push: in turn, or decoded in two threads."""
    store, hub = fresh_hub(work, f"ingest-{overlapped}")
    started = time.perf_counter()
    try:
        if not overlapped:
            for i in range(0, len(bodies), GROUP):

                def job(tx: Any, some: list[bytes] = bodies[i : i + GROUP]) -> None:
                    for body in some:
                        hub._apply(tx, *hub._decode(body, "gzip"))

                store.write_sync(job)
            return time.perf_counter() - started
        decoded: queue.Queue[Any] = queue.Queue()

        def decode(part: list[bytes]) -> None:
            for body in part:
                decoded.put(hub._decode(body, "gzip"))

        threads = [threading.Thread(target=decode, args=(bodies[k::2],)) for k in range(2)]
        for t in threads:
            t.start()
        for i in range(0, len(bodies), GROUP):
            apply_all(store, hub, [decoded.get() for _ in bodies[i : i + GROUP]])
        for t in threads:
            t.join()
        return time.perf_counter() - started
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--centres", type=int, default=20)
    ap.add_argument("--orders-each", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import hub_scale

    Store.checkpoint_in_background = lambda self: None  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site, rows = hub_scale.template_log(work, args.orders_each)
        pushes = hub_scale.bodies(str(work / "hub.db"), site, rows, args.centres)
        shutil.copy(work / "hub.db", work / "base.db")
        bodies = [body for _, body, _ in pushes]
        changes = sum(n for _, _, n in pushes)
        tune_interpreter()
        for body in bodies:  # the names well-formed, as on a hub that has served a while
            decode_batch(body, "gzip")
        print(f"{len(bodies)} pushes, {changes:,} changes; {os.cpu_count()} cores", flush=True)
        took: dict[str, list[float]] = {m: [] for m in (*MODES, "in turn", "overlapped")}
        for _ in range(args.rounds):
            for mode in MODES:
                took[mode].append(writer_alone_or_not(work, bodies, mode) / changes * 1e6)
            took["in turn"].append(ingest(work, bodies, False) / changes * 1e6)
            took["overlapped"].append(ingest(work, bodies, True) / changes * 1e6)
        alone = sorted(took["alone"])[len(took["alone"]) // 2]
        labels = ("nothing beside it", "a thread decoding", "a process decoding")
        for mode, label in zip(MODES, labels, strict=True):
            runs = " / ".join(f"{us:.1f}" for us in took[mode])
            median = sorted(took[mode])[len(took[mode]) // 2]
            print(f"writer, {label:<20} {runs} us a change (median {median / alone:.2f}x alone)")
        for mode in ("in turn", "overlapped"):
            runs = " / ".join(f"{us:.1f}" for us in took[mode])
            print(f"decode and apply, {mode:<11} {runs} us a change")


if __name__ == "__main__":
    main()
