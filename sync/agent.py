"""The centre's sync agent: pushes the box's change log to the hub, pulls what the hub has for it.

One run (`sync_once`) is a small state machine whose progress lives in the
centre's own database (`sync_state`), so a kill -9 at any instant resumes
where it stopped:

    POSITION  ask the hub where it stands for this site (it may have been
              restored: then its position is lower, and we resend from it);
              this call and every pull carry the end of the box's log (seq and
              digest), which the hub checks against its copy: a cloned box is
              held at its first contact, even with nothing to push
    PUSH      batches after the hub's position, until nothing waits;
              pushed := the hub's answer (a 409 gap also answers a position)
    PULL      hub rows after `pulled`, applied with `pulled := next_after`
              in one centre transaction, commands run by their handlers
    IDLE      last_success, clock offset recorded

Every request is idempotent (a push is keyed by seq on the hub), so each is
retried with bounded exponential backoff and jitter; the batch size halves
after a failure and doubles after a quick success. The HTTP client is the
caller's: tests put a hub behind `ASGITransport`, a faulty transport, or a
fault proxy. Beside this module: `sync.hub_client` (one request and the retry
policy), `sync.state` (what `sync_state` holds), `sync.commands` (running a hub
command and recording its outcome).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from edge.store import Store, Tx, changelog, get_meta
from edge.store.hlc import wall_clock_ms
from edge.store.migrations import SCHEMA_VERSION
from sync import schema as sync_schema
from sync.commands import CommandHandler, run_command
from sync.enrol import META_HUB_SITE, now_iso
from sync.errors import (
    RECOVER_HINT,
    Diverged,
    ForeignRow,
    Gap,
    HubUnavailable,
    SyncError,
    TooLarge,
)
from sync.hub_client import HubClient, Retry, SyncReport, describe_failure
from sync.merge import RESULTS_TABLE, Schema, apply_hub_changes
from sync.protocol import MAX_BATCH_CHANGES, Batch, PackedChanges, pack_log_changes
from sync.pull import parse_pull
from sync.seam import as_stored, seam_digest
from sync.state import describe_offset, read_state, write_state

log = logging.getLogger("linli.sync")


# The longest wait between failed runs: the badge tells the truth within this
# long after the link returns (it was 10 minutes, ~8 at the default interval).
MAX_IDLE_S = 60.0


def next_wait(interval: float, failures: int) -> float:
    """Seconds to the next run (before jitter): the interval, or after `failures`
    failed runs in a row the interval doubled per failure, capped at `MAX_IDLE_S`."""
    if failures <= 0:
        return interval
    return min(interval * 2 ** min(failures, 10), max(MAX_IDLE_S, interval))


MAX_ROUNDS = 10_000  # batches in one run: bounds a run even if the log grows while it runs
# A backlog past this goes first in a quarter of it: the hub starts on those while the
# box packs the next batch, twice the size (`_size_for_backlog`, `_pack_ahead`).
PIPELINE_FROM = 4_000
PULL_LIMIT = 5000


class SyncAgent:
    """Background sync of one centre with its hub."""

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        hub_url: str,
        token: str,
        *,
        hub_site_id: str | None = None,
        wall_ms: Callable[[], int] = wall_clock_ms,
        batch_size: int = 1000,
        min_batch: int = 50,
        max_batch: int = MAX_BATCH_CHANGES,
        attempts: int = 5,
        retry_for_s: float = 60.0,
        timeout_s: float = 30.0,
        interval_s: float = 15.0,
        backoff_s: float = 0.2,
        backoff_max_s: float = 5.0,
    ) -> None:
        sync_schema.ensure(store.path)
        self.store = store
        self.hub = HubClient(
            client,
            hub_url,
            token,
            attempts=attempts,
            retry_for_s=retry_for_s,
            timeout_s=timeout_s,
            backoff_s=backoff_s,
            backoff_max_s=backoff_max_s,
            on_retry=self._halve_batch,
        )
        self.hub_url = self.hub.hub_url
        self.wall_ms = wall_ms
        self.batch_size = batch_size
        self.min_batch = min_batch
        self.max_batch = max_batch
        self.interval_s = interval_s
        self._handlers: dict[str, CommandHandler] = {}
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._next_try: float | None = None  # wall time of the next run after a failure
        self._struggling = False  # the last run failed: its batch size stands
        # The next batch being packed while a push is out: (after seq, limit, its task).
        self._ahead: tuple[int, int, asyncio.Future[PackedChanges]] | None = None
        meta = store.read_sync(lambda c: {k: get_meta(c, k) for k in ("install_id", META_HUB_SITE)})
        self.install_id = meta["install_id"] or ""
        self.hub_site_id = hub_site_id or meta[META_HUB_SITE] or ""
        self.schema = store.read_sync(Schema.load)
        self._status: dict[str, Any] = {}
        self._refresh_status_sync()

    def _halve_batch(self) -> None:
        """Between retries: a smaller batch has a better chance on a poor link."""
        self.batch_size = max(self.min_batch, self.batch_size // 2)

    # --- commands --------------------------------------------------------------
    def register_command(self, name: str, handler: CommandHandler) -> None:
        """`handler(tx, args)` applies a hub command in the centre's write transaction.

        Raising refuses the command (its writes are rolled back, the refusal
        and its reason go back to the hub); returning applies it.
        """
        self._handlers[name] = handler

    # --- one run -----------------------------------------------------------------
    async def sync_once(self) -> SyncReport:
        """Push everything waiting, then pull everything meant for this centre.

        Raises a `SyncError` when the hub is out of reach or refuses, and
        whatever else broke the run (a reply that is JSON but not the protocol,
        a disk error); either way after recording it as the last error, so the
        badge never shows a failed run as online. The report of a successful
        run otherwise.
        """
        async with self._lock:
            report = SyncReport()
            started = time.monotonic()
            try:
                await self._push_all(report)
                await self._pull_all(report)
            except Exception as exc:  # not only SyncError: the badge must see every failure
                self._struggling = True
                report.error = describe_failure(exc)
                await self._record_failure(report.error)
                raise
            self._struggling = False
            report.ok = True
            report.seconds = time.monotonic() - started
            await self.store.write(
                lambda tx: write_state(
                    tx, last_attempt=now_iso(), last_success=now_iso(), last_error=""
                )
            )
            await self._refresh_status()
            return report

    async def _record_failure(self, error: str) -> None:
        try:
            await self.store.write(
                lambda tx: write_state(tx, last_attempt=now_iso(), last_error=error)
            )
            await self._refresh_status()
        except Exception:  # the store failed too: the badge still shows the run's error
            log.exception("could not record the sync error %r", error)
            self._status = {**self._status, "online": False, "last_error": error}

    async def run_forever(self, interval: float | None = None) -> None:
        """Sync every `interval` seconds; back off (to `MAX_IDLE_S`, with jitter) while
        failing, and tell the badge when the next try is."""
        interval = self.interval_s if interval is None else interval
        self._wake = asyncio.Event()
        failures = 0
        while True:
            try:
                await self.sync_once()
                failures = 0
            except (SyncError, changelog.LogTrimmed) as exc:
                failures += 1
                log.warning("sync failed (%d in a row): %s", failures, exc.detail)
            except Exception:  # a bug must not stop the background sync for good
                failures += 1
                log.exception("sync run crashed")
            delay = next_wait(interval, failures) * random.uniform(0.8, 1.2)
            self._next_try = time.time() + delay if failures else None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()

    def wake(self) -> None:
        """Start a run now (the "sync now" button); no-op without a running loop."""
        if self._wake is not None:
            self._wake.set()

    # --- status for the badge ------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The badge dict, from memory (refreshed after every run and by `fresh_status`);
        `next_try`: the local time of the next try while runs are failing, else None."""
        out = dict(self._status)
        out["next_try"] = (
            time.strftime("%H:%M:%S", time.localtime(self._next_try))
            if self._next_try is not None and out.get("last_error")
            else None
        )
        return out

    async def fresh_status(self) -> dict[str, Any]:
        await self.store.read(self._read_status)
        return self.status()

    def _refresh_status_sync(self) -> None:
        self.store.read_sync(self._read_status)

    async def _refresh_status(self) -> None:
        await self.store.read(self._read_status)

    def _read_status(self, conn: sqlite3.Connection) -> None:
        state = read_state(conn)
        site = self.store.site_id
        waiting = changelog.last_seq(conn, site) - int(state.get("pushed") or 0)
        offset = int(state.get("clock_offset_ms") or 0)
        last_attempt = state.get("last_attempt") or None
        online = bool(last_attempt) and not state.get("last_error")
        self._status = {
            "enrolled": True,
            "online": online,
            "waiting": max(waiting, 0),
            "last_sync": state.get("last_success") or None,
            "clock_warning": describe_offset(offset) if state.get("clock_offset_ms") else None,
            "last_error": state.get("last_error") or None,
        }

    # --- push ---------------------------------------------------------------------------
    async def _log_end(self) -> dict[str, Any]:
        """`last_seq` and `last_digest` of this box's log, sent with every contact:
        the hub compares them with its copy (a clone is held at its first contact)."""
        site = self.store.site_id

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            last = changelog.last_seq(conn, site)
            found = changelog.read_after(conn, site, last - 1, 1) if last > 0 else []
            end: dict[str, Any] = {"last_seq": last}
            if found:
                end["last_digest"] = seam_digest(as_stored(found[0]))
            return end

        return await self.store.read(read)

    async def _push_all(self, report: SyncReport) -> None:
        site = self.store.site_id
        end = await self._log_end()
        local_last = int(end["last_seq"])
        acked = await self.store.read(lambda c: int(read_state(c).get("pushed") or 0))
        sent_ms = self.wall_ms()
        _, doc = await self.hub.call(
            report,
            "GET",
            "/sync/v1/position",
            params={**end, "waiting": max(local_last - acked, 0), "wall_ms": sent_ms},
        )
        self._note_clock(doc, sent_ms)
        position = int(doc["position"])
        if position > local_last:
            raise Diverged(
                f"the hub holds seq {position} of this site but this box's log ends "
                f"at {local_last}: restored from an old backup, or a cloned disk. "
                f"{RECOVER_HINT}"
            )
        if position != acked:
            await self.store.write(lambda tx: write_state(tx, pushed=position))
        acked = position
        self._size_for_backlog(local_last - acked)
        try:
            for _ in range(MAX_ROUNDS):
                local_last = await self.store.read(lambda c: changelog.last_seq(c, site))
                if acked >= local_last:
                    break
                acked = await self._push_batch(report, site, acked, local_last)
        finally:
            self._drop_ahead()
        report.position = acked
        report.waiting = max(local_last - acked, 0)
        # What the hub has acknowledged it keeps (recover reads it back): slim the box's log.
        await self.store.write(lambda tx: changelog.trim_acked(tx.conn, site, acked))

    def _size_for_backlog(self, waiting: int) -> None:
        """A large backlog after a good run goes in few batches: one up to `PIPELINE_FROM`
        changes, and a larger one in a first batch of a quarter of it (the hub applies it
        while the box packs the next, twice the size: `_pack_ahead`), never past the
        hub's limit (`MAX_BATCH_CHANGES`, `max_batch`); not 1,000 doubling per push (six
        round trips, each waiting for the hub's apply, for 32,000 changes; two for 1,280,
        where one does). 32,000 changes go in three pushes, and the clean 10,000-order
        sync measured 1.16-1.39 s against 1.33-1.64 s in two (`bench/sync_offline.py`,
        alternated). After a failed run the halved size stands: the link earns its
        growth again."""
        if not self._struggling and waiting > self.batch_size:
            first = waiting if waiting <= PIPELINE_FROM else max(PIPELINE_FROM, waiting // 4)
            self.batch_size = max(self.batch_size, min(self.max_batch, first))

    async def _push_batch(self, report: SyncReport, site: str, acked: int, local_last: int) -> int:
        returned = 0
        try:
            async for attempt in self.hub.retrying():
                with attempt:
                    limit = self.batch_size
                    # Resend the hub's last seq: stage 8 then checks the seam, so a box
                    # restored from a backup (or a cloned disk) cannot append its own
                    # history after the hub's.
                    seam = 1 if acked > 0 else 0
                    packed = await self._packed(site, acked - seam, limit)
                    head = Batch(
                        SCHEMA_VERSION,
                        site,
                        self.install_id,
                        acked + 1 - seam,
                        self.wall_ms(),
                        max(local_last - acked - packed.count + seam, 0),
                    )
                    body = packed.body(head)
                    if packed.last_seq < local_last:  # the next batch, packed meanwhile,
                        # as large as it will be if this push is quick (it doubles below)
                        grown = limit * 2 if packed.count >= limit else limit
                        self._pack_ahead(site, packed.last_seq - 1, min(self.max_batch, grown))
                    started = time.monotonic()
                    sent_ms = self.wall_ms()
                    try:
                        _, doc = await self.hub.request(
                            report, "POST", "/sync/v1/push", body=body, ok_statuses=(200,)
                        )
                    except TooLarge:
                        if self.batch_size <= self.min_batch:
                            raise
                        raise Retry("batch too large for the hub") from None
                    except ForeignRow as refused:
                        # A hub restored from a backup lost a command this box answered:
                        # hand back the commands it answered since, once, then push again.
                        if "missing_command" not in refused.extra or returned:
                            raise
                        returned = await self._return_commands(report, acked - seam)
                        if not returned:
                            raise
                        raise Retry("commands handed back to the hub") from None
                    except Gap as gap:
                        # The hub is behind or ahead of what we thought: restart from it.
                        position = gap.position
                        if position > local_last:
                            raise Diverged(
                                f"hub holds seq {position}, box ends at {local_last}. "
                                f"{RECOVER_HINT}"
                            ) from gap
                        await self._save_pushed(position)
                        return position
                    self._note_clock(doc, sent_ms)
                    position = int(doc["position"])
                    elapsed = time.monotonic() - started
                    if elapsed < 2.0 and packed.count >= self.batch_size:
                        self.batch_size = min(self.max_batch, self.batch_size * 2)
                    elif elapsed > 10.0:
                        self.batch_size = max(self.min_batch, self.batch_size // 2)
                    await self._save_pushed(position)
                    report.pushed += max(position - acked, 0)
                    return position
        except (httpx.TransportError, Retry) as exc:
            raise HubUnavailable(f"push to {self.hub_url} failed: {exc!r}") from exc
        raise AssertionError("unreachable")

    async def _pack(self, site: str, after: int, limit: int) -> PackedChanges:
        """This box's changes after seq `after`, at most `limit`, packed for a push."""
        rows = await self.store.read(
            partial(changelog.read_after_raw, site_id=site, after_seq=after, limit=limit)
        )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, pack_log_changes, site, rows)

    def _pack_ahead(self, site: str, after: int, limit: int) -> None:
        """Start packing the batch after seq `after` while the hub applies this one: a
        large backlog then goes to the hub push after push with no wait between them
        (a third of a 32,000-change push's time was the box reading and packing)."""
        self._drop_ahead()
        self._ahead = (after, limit, asyncio.ensure_future(self._pack(site, after, limit)))

    async def _packed(self, site: str, after: int, limit: int) -> PackedChanges:
        """The batch after seq `after`: packed ahead if that is the one, else now."""
        ahead = self._ahead
        if ahead is not None and ahead[0] == after and ahead[1] <= limit:
            self._ahead = None
            try:
                return await ahead[2]
            except Exception:  # packed again below, where it raises as it should
                log.debug("packing ahead failed; packing again", exc_info=True)
        self._drop_ahead()
        return await self._pack(site, after, limit)

    def _drop_ahead(self) -> None:
        """Forget the batch packed ahead (the hub answered otherwise, or the run ended)."""
        if self._ahead is not None:
            task = self._ahead[2]
            self._ahead = None
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a failed read is not reported as lost
            task.cancel()

    async def _return_commands(self, report: SyncReport, after: int) -> int:
        """Hand the hub back the commands this box answered after its seq `after`
        (README, "Restoring the hub"); how many the hub wrote again."""
        site = self.store.site_id

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT m.id, m.site_id, m.target_site, m.name, m.args, m.issued_by,"
                " m.created_at FROM changes l JOIN sync_commands m ON m.id = l.row_id"
                " WHERE l.site_id = ? AND l.seq > ? AND l.tbl = ? AND l.op = 'insert'"
                " AND m.target_site = ? ORDER BY l.seq LIMIT 1000",
                (site, after, RESULTS_TABLE, site),
            ).fetchall()
            return [dict(r) for r in rows]

        commands = await self.store.read(read)
        if not commands:
            return 0
        _, doc = await self.hub.request(
            report,
            "POST",
            "/sync/v1/commands/returned",
            body=json.dumps({"commands": commands}, ensure_ascii=False).encode(),
            plain=True,
        )
        returned = int(doc.get("returned") or 0)
        log.warning("handed %d command(s) back to the hub (restored from a backup)", returned)
        return returned

    async def _save_pushed(self, position: int) -> None:
        await self.store.write(lambda tx: write_state(tx, pushed=position))

    # --- pull ---------------------------------------------------------------------------
    async def _pull_all(self, report: SyncReport) -> None:
        state = await self.store.read(read_state)
        after = int(state.get("pulled") or 0)
        after_hlc: int | None = int(state["pulled_hlc"]) if state.get("pulled_hlc") else None
        for _ in range(MAX_ROUNDS):
            end = await self._log_end()
            params: dict[str, Any] = {"after": after, "limit": PULL_LIMIT, **end}
            if after_hlc is not None and after > 0:
                params["after_hlc"] = after_hlc
            _, doc = await self.hub.call(report, "GET", "/sync/v1/pull", params=params)
            changes, next_after, more = parse_pull(doc, self.hub_site_id)
            if doc.get("restart"):
                log.warning(
                    "the hub no longer holds its seq %d as this box pulled it (restored from "
                    "a backup): pulling its rows again from the start",
                    after,
                )
            next_hlc = doc.get("next_hlc")
            after_hlc = next_hlc if isinstance(next_hlc, int) else None
            hub_hlc = doc.get("hub_hlc")
            if isinstance(hub_hlc, int) and hub_hlc > 0:
                self.store.clock.observe(hub_hlc)
            if changes or next_after != after or doc.get("restart"):
                ran = await self.store.write(
                    partial(
                        self._apply_pulled,
                        changes=changes,
                        next_after=next_after,
                        next_hlc=after_hlc,
                    )
                )
                report.pulled += len(changes)
                report.commands += ran
            after = next_after
            if not more:
                break

    def _apply_pulled(
        self, tx: Tx, changes: list[Any], next_after: int, next_hlc: int | None = None
    ) -> int:
        commands = apply_hub_changes(tx.conn, self.schema, self.hub_site_id, changes)
        ran = 0
        for command in commands:
            if command.fields.get("target_site") != tx.site_id:
                continue
            if tx.one(f"SELECT 1 FROM {RESULTS_TABLE} WHERE id = ?", (command.row_id,)):
                continue
            run_command(tx, self._handlers, command.row_id, command.fields)
            ran += 1
        write_state(tx, pulled=next_after, pulled_hlc=next_hlc)
        return ran

    # --- clocks ---------------------------------------------------------------------------
    def _note_clock(self, doc: dict[str, Any], sent_ms: int) -> None:
        hub_ms = doc.get("hub_time_ms")
        if not isinstance(hub_ms, int):
            return
        received = self.wall_ms()
        offset = (sent_ms + received) // 2 - hub_ms
        try:
            self.store.submit(
                lambda tx: write_state(tx, clock_offset_ms=offset, hub_time_ms=hub_ms)
            )
        except Exception:  # the store is closing: the next run records it
            log.debug("clock offset not recorded", exc_info=True)
