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
fault proxy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from edge.store import Store, Tx, changelog, get_meta
from edge.store.hlc import wall_clock_ms
from edge.store.migrations import SCHEMA_VERSION
from sync import schema as sync_schema
from sync.enrol import META_HUB_SITE, now_iso
from sync.errors import (
    RECOVER_HINT,
    BadBatch,
    Diverged,
    Forbidden,
    ForeignRow,
    Gap,
    HubUnavailable,
    SyncError,
    TooLarge,
    Unauthorized,
)
from sync.merge import RESULTS_TABLE, Schema, apply_hub_changes
from sync.protocol import Batch, as_stored, encode_log_batch, parse_pull, seam_digest

log = logging.getLogger("linli.sync")

CommandHandler = Callable[[Tx, dict[str, Any]], Any]

CLOCK_WARN_MS = 5 * 60 * 1000


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
PULL_LIMIT = 5000


@dataclass
class SyncReport:
    ok: bool = False
    pushed: int = 0
    pulled: int = 0
    commands: int = 0
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    position: int = 0
    waiting: int = 0
    error: str | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _Retry(Exception):
    """An answer worth retrying: 5xx, 429, or a reply cut short."""


def _state(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM sync_state")}


def _set_state(tx: Tx, **values: Any) -> None:
    for key, value in values.items():
        tx.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, "" if value is None else str(value)),
        )


def describe_offset(offset_ms: int) -> str | None:
    """A warning for the tablet when the box's clock disagrees with the hub's."""
    if abs(offset_ms) < CLOCK_WARN_MS:
        return None
    ahead = offset_ms > 0
    minutes = abs(offset_ms) / 60_000
    if minutes >= 2 * 24 * 60:
        amount_zh, amount_en = f"{minutes / 1440:.0f} 天", f"{minutes / 1440:.0f} days"
    elif minutes >= 120:
        amount_zh, amount_en = f"{minutes / 60:.0f} 小时", f"{minutes / 60:.0f} hours"
    else:
        amount_zh, amount_en = f"{minutes:.0f} 分钟", f"{minutes:.0f} minutes"
    return (
        f"本机时钟比中心{'快' if ahead else '慢'} {amount_zh},请校准时间 / "
        f"this box's clock is {amount_en} {'ahead of' if ahead else 'behind'} the hub"
    )


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
        max_batch: int = 10_000,
        attempts: int = 5,
        retry_for_s: float = 60.0,
        timeout_s: float = 30.0,
        interval_s: float = 15.0,
        backoff_s: float = 0.2,
        backoff_max_s: float = 5.0,
    ) -> None:
        sync_schema.ensure(store.path)
        self.store = store
        self.client = client
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.wall_ms = wall_ms
        self.batch_size = batch_size
        self.min_batch = min_batch
        self.max_batch = max_batch
        self.attempts = attempts
        self.retry_for_s = retry_for_s
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.interval_s = interval_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._handlers: dict[str, CommandHandler] = {}
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._next_try: float | None = None  # wall time of the next run after a failure
        meta = store.read_sync(lambda c: {k: get_meta(c, k) for k in ("install_id", META_HUB_SITE)})
        self.install_id = meta["install_id"] or ""
        self.hub_site_id = hub_site_id or meta[META_HUB_SITE] or ""
        self.schema = store.read_sync(Schema.load)
        self._status: dict[str, Any] = {}
        self._refresh_status_sync()

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
                report.error = _describe(exc)
                await self._record_failure(report.error)
                raise
            report.ok = True
            report.seconds = time.monotonic() - started
            await self.store.write(
                lambda tx: _set_state(
                    tx, last_attempt=now_iso(), last_success=now_iso(), last_error=""
                )
            )
            await self._refresh_status()
            return report

    async def _record_failure(self, error: str) -> None:
        try:
            await self.store.write(
                lambda tx: _set_state(tx, last_attempt=now_iso(), last_error=error)
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
        state = _state(conn)
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

    # --- HTTP ------------------------------------------------------------------------
    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.retry_for_s),
            wait=(
                wait_exponential(multiplier=self.backoff_s, max=self.backoff_max_s)
                + wait_random(0, self.backoff_s)
            ),
            retry=retry_if_exception_type((httpx.TransportError, _Retry)),
            before_sleep=self._after_failure,
            reraise=True,
        )

    def _after_failure(self, state: RetryCallState) -> None:
        self.batch_size = max(self.min_batch, self.batch_size // 2)

    async def _request(
        self,
        report: SyncReport,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        ok_statuses: tuple[int, ...] = (200,),
        plain: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept-Encoding": "gzip"}
        if body is not None:
            if not plain:
                headers["Content-Encoding"] = "gzip"
            headers["Content-Type"] = "application/json"
        report.requests += 1
        resp = await self.client.request(
            method,
            self.hub_url + path,
            params=params,
            content=body,
            headers=headers,
            timeout=self.timeout,
        )
        report.bytes_sent += len(body or b"")
        report.bytes_received += int(resp.headers.get("content-length") or len(resp.content))
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retry(f"hub answered {resp.status_code}")
        try:
            doc = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retry(f"hub reply cut short ({resp.status_code})") from exc
        if not isinstance(doc, dict):
            raise _Retry("hub reply is not an object")
        if resp.status_code not in ok_statuses:
            raise _hub_error(resp.status_code, doc)
        return resp.status_code, doc

    async def _call(
        self, report: SyncReport, method: str, path: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        try:
            async for attempt in self._retrying():
                with attempt:
                    return await self._request(report, method, path, **kwargs)
        except (httpx.TransportError, _Retry) as exc:
            raise HubUnavailable(f"hub {self.hub_url} out of reach: {exc!r}") from exc
        raise AssertionError("unreachable")

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
        acked = await self.store.read(lambda c: int(_state(c).get("pushed") or 0))
        sent_ms = self.wall_ms()
        _, doc = await self._call(
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
            await self.store.write(lambda tx: _set_state(tx, pushed=position))
        acked = position
        for _ in range(MAX_ROUNDS):
            local_last = await self.store.read(lambda c: changelog.last_seq(c, site))
            if acked >= local_last:
                break
            acked = await self._push_batch(report, site, acked, local_last)
        report.position = acked
        report.waiting = max(local_last - acked, 0)
        # What the hub has acknowledged it keeps (recover reads it back): slim the box's log.
        await self.store.write(lambda tx: changelog.trim_acked(tx.conn, site, acked))

    async def _push_batch(self, report: SyncReport, site: str, acked: int, local_last: int) -> int:
        returned = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    limit = self.batch_size
                    # Resend the hub's last seq: stage 8 then checks the seam, so a box
                    # restored from a backup (or a cloned disk) cannot append its own
                    # history after the hub's.
                    seam = 1 if acked > 0 else 0
                    rows = await self.store.read(
                        partial(
                            changelog.read_after_raw,
                            site_id=site,
                            after_seq=acked - seam,
                            limit=limit,
                        )
                    )
                    head = Batch(
                        SCHEMA_VERSION,
                        site,
                        self.install_id,
                        acked + 1 - seam,
                        self.wall_ms(),
                        max(local_last - acked - len(rows) + seam, 0),
                    )
                    loop = asyncio.get_running_loop()
                    body = await loop.run_in_executor(None, encode_log_batch, head, rows)
                    started = time.monotonic()
                    sent_ms = self.wall_ms()
                    try:
                        _, doc = await self._request(
                            report, "POST", "/sync/v1/push", body=body, ok_statuses=(200,)
                        )
                    except TooLarge:
                        if self.batch_size <= self.min_batch:
                            raise
                        raise _Retry("batch too large for the hub") from None
                    except ForeignRow as refused:
                        # A hub restored from a backup lost a command this box answered:
                        # hand back the commands it answered since, once, then push again.
                        if "missing_command" not in refused.extra or returned:
                            raise
                        returned = await self._return_commands(report, acked - seam)
                        if not returned:
                            raise
                        raise _Retry("commands handed back to the hub") from None
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
                    if elapsed < 2.0 and len(rows) >= self.batch_size:
                        self.batch_size = min(self.max_batch, self.batch_size * 2)
                    elif elapsed > 10.0:
                        self.batch_size = max(self.min_batch, self.batch_size // 2)
                    await self._save_pushed(position)
                    report.pushed += max(position - acked, 0)
                    return position
        except (httpx.TransportError, _Retry) as exc:
            raise HubUnavailable(f"push to {self.hub_url} failed: {exc!r}") from exc
        raise AssertionError("unreachable")

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
        _, doc = await self._request(
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
        await self.store.write(lambda tx: _set_state(tx, pushed=position))

    # --- pull ---------------------------------------------------------------------------
    async def _pull_all(self, report: SyncReport) -> None:
        state = await self.store.read(_state)
        after = int(state.get("pulled") or 0)
        after_hlc: int | None = int(state["pulled_hlc"]) if state.get("pulled_hlc") else None
        for _ in range(MAX_ROUNDS):
            end = await self._log_end()
            params: dict[str, Any] = {"after": after, "limit": PULL_LIMIT, **end}
            if after_hlc is not None and after > 0:
                params["after_hlc"] = after_hlc
            _, doc = await self._call(report, "GET", "/sync/v1/pull", params=params)
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
            self._run_command(tx, command.row_id, command.fields)
            ran += 1
        _set_state(tx, pulled=next_after, pulled_hlc=next_hlc)
        return ran

    def _run_command(self, tx: Tx, command_id: str, fields: dict[str, Any]) -> None:
        name = str(fields.get("name") or "")
        try:
            args = json.loads(fields.get("args") or "{}")
        except json.JSONDecodeError:
            args = None
        handler = self._handlers.get(name)
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

    # --- clocks ---------------------------------------------------------------------------
    def _note_clock(self, doc: dict[str, Any], sent_ms: int) -> None:
        hub_ms = doc.get("hub_time_ms")
        if not isinstance(hub_ms, int):
            return
        received = self.wall_ms()
        offset = (sent_ms + received) // 2 - hub_ms
        try:
            self.store.submit(lambda tx: _set_state(tx, clock_offset_ms=offset, hub_time_ms=hub_ms))
        except Exception:  # the store is closing: the next run records it
            log.debug("clock offset not recorded", exc_info=True)


def _describe(exc: Exception) -> str:
    """A short line for the badge and `sync_state.last_error`."""
    if isinstance(exc, (SyncError, changelog.LogTrimmed)):
        return f"{exc.error}: {exc.detail}"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"sync_failed: {text}"[:300]


def _hub_error(status: int, doc: dict[str, Any]) -> SyncError:
    detail = str(doc.get("detail") or doc)
    error = doc.get("error")
    if status == 409 and error == "gap":
        return Gap(detail, int(doc.get("position") or 0))
    if status == 409 and error == "diverged":
        return Diverged(detail)
    if status == 401:
        return Unauthorized(detail)
    if status == 403 and error == "foreign_row" and isinstance(doc.get("missing_command"), str):
        return ForeignRow(detail, missing_command=doc["missing_command"])
    if status == 403:
        return Forbidden(detail)
    if status == 413:
        return TooLarge(detail)
    return BadBatch(f"hub answered {status} {error}: {detail}")
