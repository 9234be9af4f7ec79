"""Recovery of a box restored from an old backup: it reads back from the hub what it had sent.

The hub keeps every change a centre pushed (`sync_log`). A box restored from
last night's backup ends its log at seq N_b while the hub holds up to N_h, so
the hub refuses it as diverged. `linli centre recover` (server stopped) runs:

    LOCK      the server's lock file, exclusive: refused while `linli serve` runs
    VERIFY    GET /sync/v1/history from seq 1, page by page: every seq both the
              box and the hub hold must be the very same change  ── else refuse
    FETCH     the hub's entries after the box's last seq, up to the hub's position
    APPLY     one centre transaction: each entry's row effect, the entry into the
              change log with its own seq and hlc (as the hub stores it),
              pushed := position, the clock past the last stamp
    REPORT    what came back; if the hub holds the centre as diverged, the
              command that lifts the hold

Refused, with nothing changed: a box whose log differs from the hub's at a seq
both hold. That is a cloned disk, or a restored box that already took orders
before recovery (its new seqs collide with the ones the hub holds); which
history to keep is a person's decision, not this command's. A kill at any
instant leaves the box as it was or fully recovered; running it twice changes
nothing.

The hub does not lift a diverged hold by itself once the history matches: it
cannot tell a recovered box from a clone that ran `recover` too (same
credential, same install id, same log), and the hold is its only loud signal
of a clone. Whoever restored the box knows; `linli hub release-centre` is one
command.

A restored box whose log already outgrew the hub's before it first synced is
caught by the agent: every push resends the hub's last seq, so stage 8 of the
protocol checks the seam.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from edge.store import Store, Tx, changelog
from edge.store.changelog import Change
from sync import enrol
from sync.errors import BadBatch, Diverged, Forbidden, HubUnavailable, SyncError, Unauthorized
from sync.merge import Schema
from sync.protocol import IDENT_RE, LOCAL_FIELDS, OPS, compact
from sync.seam import changes_digest_equal

PAGE = 2000


@dataclass
class RecoverReport:
    site_id: str
    local_last: int  # the box's last seq before recovery
    hub_position: int  # the last seq the hub holds of this site
    verified: int = 0  # seqs both hold, checked equal
    recovered: int = 0  # entries written into the box (0 in a dry run)
    tables: dict[str, int] = field(default_factory=dict)
    held: str | None = None  # the hub's diverged hold, if any
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """What `linli centre recover` prints."""
        out = [
            f"centre {self.site_id}: this box's log ended at seq {self.local_last}, "
            f"the hub holds up to {self.hub_position}; seqs 1-"
            f"{min(self.local_last, self.hub_position)} match"
        ]
        missing = max(self.hub_position - self.local_last, 0)
        if missing == 0:
            out.append("nothing to recover: this box already has everything the hub holds")
        elif self.dry_run:
            out.append(f"would recover {missing} changes ({_tables(self.tables)}); nothing written")
        else:
            out.append(
                f"recovered {self.recovered} changes ({_tables(self.tables)}); "
                f"new changes continue from seq {self.hub_position + 1}"
            )
        if self.held:
            out.append(
                "the hub holds this centre as diverged. If no other box uses this site id "
                "(a restored box, not a copied disk), ask the hub operator to run: "
                f"linli hub release-centre --db HUB.db --site-id {self.site_id}"
            )
        elif not self.dry_run:
            out.append("start the server again: it syncs on its own")
        return out


def _tables(counts: dict[str, int]) -> str:
    return ", ".join(f"{tbl} {n}" for tbl, n in sorted(counts.items())) or "none"


@contextmanager
def server_stopped(db_path: str | Path) -> Iterator[None]:
    """Held while recovering; refused while a centre server runs on the file.

    The same lock `linli centre join` takes (`sync.enrol.joining_lock`): a
    running server holds it shared, and would go on writing seqs that collide
    with the ones recovery brings back.
    """
    fd = os.open(enrol.lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError(
                f"a Linli server is running on {db_path}: stop it (linli serve), run "
                "`linli centre recover` again, then start it; nothing was changed"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class _Retry(Exception):
    """An answer worth asking again: 5xx, 429, or a reply cut short."""


class _History:
    """Pages of the calling centre's own log, from `GET /sync/v1/history`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        hub_url: str,
        token: str,
        *,
        attempts: int,
        backoff_s: float,
        timeout_s: float,
    ) -> None:
        self.client = client
        self.url = hub_url.rstrip("/") + "/sync/v1/history"
        self.token = token
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))

    async def page(self, after: int, limit: int) -> dict[str, Any]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(120),
            wait=wait_exponential(multiplier=self.backoff_s, max=10)
            + wait_random(0, self.backoff_s),
            retry=retry_if_exception_type((httpx.TransportError, _Retry)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get(after, limit)
        except (httpx.TransportError, _Retry) as exc:
            raise HubUnavailable(f"hub {self.url} out of reach: {exc!r}; nothing changed") from exc
        raise AssertionError("unreachable")

    async def _get(self, after: int, limit: int) -> dict[str, Any]:
        resp = await self.client.get(
            self.url,
            params={"after": after, "limit": limit},
            headers={"Authorization": f"Bearer {self.token}", "Accept-Encoding": "gzip"},
            timeout=self.timeout,
        )
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retry(f"hub answered {resp.status_code}")
        try:
            doc = resp.json()
        except ValueError as exc:
            raise _Retry(f"hub reply cut short ({resp.status_code})") from exc
        detail = str(doc.get("detail") if isinstance(doc, dict) else doc)
        if resp.status_code == 401:
            raise Unauthorized(f"the hub refused this box's credential: {detail}")
        if resp.status_code == 403:
            raise Forbidden(f"the hub refused this box's credential: {detail}")
        if resp.status_code != 200 or not isinstance(doc, dict):
            raise BadBatch(f"hub answered {resp.status_code}: {detail[:300]}")
        return doc


def _parse(
    doc: dict[str, Any], site: str, hub_site: str | None, after: int
) -> tuple[list[Change], int, bool, int, str | None]:
    """A history page, checked: this site's, dense from `after + 1`, well formed."""
    if doc.get("site_id") != site:
        raise SyncError(
            f"the hub says this credential is centre {doc.get('site_id')!r}, but this box "
            f"is {site}; nothing changed"
        )
    if hub_site and doc.get("hub_site_id") != hub_site:
        raise SyncError(
            f"the answer comes from hub {doc.get('hub_site_id')!r}, not {hub_site!r}, "
            "the hub this box joined; nothing changed"
        )
    position, next_after, items = doc.get("position"), doc.get("next_after"), doc.get("changes")
    if not isinstance(position, int) or not isinstance(next_after, int):
        raise BadBatch("history answer has no position or next_after")
    if not isinstance(items, list):
        raise BadBatch("history answer has no changes")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, list) or len(item) != 6:
            raise BadBatch(f"history changes[{i}] is malformed")
        seq, hlc, tbl, row_id, op, fields = item
        if seq != after + 1 + i:
            raise BadBatch(f"the hub's history skips from seq {after + i} to {seq}")
        if not isinstance(hlc, int) or not isinstance(fields, dict) or op not in OPS:
            raise BadBatch(f"history seq {seq} is malformed")
        if not isinstance(tbl, str) or not IDENT_RE.match(tbl) or not isinstance(row_id, str):
            raise BadBatch(f"history seq {seq} is malformed")
        out.append(Change(site, seq, hlc, tbl, row_id, op, fields))
    if out and next_after != out[-1].seq:
        raise BadBatch("history next_after does not follow its changes")
    held = doc.get("held")
    return out, next_after, bool(doc.get("more")), position, str(held) if held else None


def as_held(change: Change) -> Change:
    """A box's log entry as the hub stores it once pushed (`sync.protocol`: the
    batch drops local-only fields; an insert gets its id and site id back)."""
    fields = compact(change)[5]
    if change.op == "insert":
        fields = {"id": change.row_id, "site_id": change.site_id, **fields}
    return Change(
        change.site_id, change.seq, change.hlc, change.tbl, change.row_id, change.op, fields
    )


def _collision(conn: sqlite3.Connection, site: str, seq: int, local_last: int) -> str:
    """Why recovery refuses: the box's entries from `seq` on, summed per table."""
    rows = conn.execute(
        "SELECT tbl, op, COUNT(*) FROM changes WHERE site_id = ? AND seq >= ?"
        " GROUP BY tbl, op ORDER BY tbl, op",
        (site, seq),
    ).fetchall()
    what = ", ".join(f"{r[0]} {r[1]} {r[2]}" for r in rows) or "none"
    return (
        f"seq {seq} of this box differs from the change the hub holds under that seq. "
        f"This box wrote seqs {seq}-{local_last} ({what}) that the hub does not have, "
        "under seqs the hub already holds with other content: either this disk was "
        "copied and both boxes wrote (a clone), or this box took orders after the "
        "restore, before recovery. Recovery would have to throw one history away, so it "
        "refuses; nothing was changed. For a restored box: restore the backup again, run "
        "`linli centre recover` before starting the server, then enter the orders taken "
        "since again. For a clone: take one box out of service."
    )


async def recover(
    store: Store,
    client: httpx.AsyncClient,
    hub_url: str,
    token: str,
    *,
    hub_site_id: str | None = None,
    page: int = PAGE,
    dry_run: bool = False,
    attempts: int = 5,
    backoff_s: float = 0.5,
    timeout_s: float = 60.0,
) -> RecoverReport:
    """Bring a restored box's log and rows up to what the hub holds of its site.

    Raises `Diverged` (nothing changed) when the box's log and the hub's
    differ at a seq both hold, another `SyncError` when the hub is out of
    reach or answers out of protocol (nothing changed either).
    """
    site = store.site_id
    if not site:
        raise SyncError("this database has no site id: it is not a Linli centre")
    history = _History(
        client, hub_url, token, attempts=attempts, backoff_s=backoff_s, timeout_s=timeout_s
    )
    local_last = await store.read(lambda c: changelog.last_seq(c, site))
    report = RecoverReport(site, local_last, 0, dry_run=dry_run)
    missing: list[Change] = []
    # A box keeps only the tail of its acknowledged log (changelog.trim_acked): compare
    # from where it still holds rows.
    after = await store.read(lambda c: changelog.trimmed_upto(c, site))
    while True:
        doc = await history.page(after, page)
        changes, next_after, more, position, held = _parse(doc, site, hub_site_id, after)
        report.hub_position, report.held = position, held
        shared = [c for c in changes if c.seq <= local_last]
        if shared:
            await store.read(partial(_verify, site=site, held=shared, local_last=local_last))
            report.verified += len(shared)
        missing.extend(c for c in changes if c.seq > local_last)
        if not more:
            break
        if next_after <= after:
            raise BadBatch(f"the hub's history does not move past seq {after}")
        after = next_after
    if next_after < report.hub_position:
        raise BadBatch(
            f"the hub's history stops at seq {next_after}, short of its position "
            f"{report.hub_position}; nothing changed, run it again"
        )
    report.tables = dict(Counter(c.tbl for c in missing))
    if missing and not dry_run:
        try:
            await store.write(lambda tx: _apply(tx, missing, local_last, report.hub_position))
        except sqlite3.IntegrityError as exc:
            raise SyncError(
                f"the hub's history does not apply to this box ({exc}); nothing changed"
            ) from exc
        report.recovered = len(missing)
    return report


def _verify(conn: sqlite3.Connection, site: str, held: list[Change], local_last: int) -> None:
    mine = {
        c.seq: c
        for c in changelog.read_after(conn, site, held[0].seq - 1, held[-1].seq - held[0].seq + 1)
    }
    for change in held:
        local = mine.get(change.seq)
        if local is None or not changes_digest_equal(change, as_held(local)):
            raise Diverged(_collision(conn, site, change.seq, local_last))


def _apply(tx: Tx, missing: list[Change], local_last: int, position: int) -> None:
    """One transaction: the row effects, the log entries, the positions, the clock."""
    site = tx.site_id
    if changelog.last_seq(tx.conn, site) != local_last:
        raise SyncError("this box's log changed while recovering; nothing changed, run it again")
    # Rows are written in log order, the order the box first wrote them, so
    # every foreign key holds as it did then.
    schema = Schema.load(tx.conn)
    for change in missing:
        _apply_own(tx.conn, schema, site, change)
    tx.conn.executemany(
        "INSERT INTO changes (site_id, seq, hlc, tbl, row_id, op, fields)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [_log_row(c) for c in missing],
    )
    tx.execute(
        "INSERT INTO sync_state (key, value) VALUES ('pushed', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (str(position),),
    )
    # The box has no real-time clock: its next stamp must still follow the last one.
    tx.clock.observe(max(c.hlc for c in missing))


def _log_row(change: Change) -> tuple[Any, ...]:
    return (
        change.site_id,
        change.seq,
        change.hlc,
        change.tbl,
        change.row_id,
        change.op,
        json.dumps(change.fields, ensure_ascii=False, separators=(",", ":")),
    )


def _apply_own(conn: sqlite3.Connection, schema: Schema, site: str, change: Change) -> None:
    """Replay one of the box's own changes onto its rows.

    Unlike a merge (`sync.merge`), nothing competes: these are the owner's
    changes in the owner's order, so each is applied as written. A table or
    column this box does not have refuses the whole recovery.
    """
    fields = schema.check(change)
    tbl = change.tbl
    if change.op == "insert":
        if fields.get("id") != change.row_id or fields.get("site_id") != site:
            raise BadBatch(f"history seq {change.seq} inserts a row of another site")
        row = {**LOCAL_FIELDS.get(tbl, {}), **fields}
        cols = ", ".join(row)
        sets = ", ".join(f"{c} = excluded.{c}" for c in row if c != "id")
        conn.execute(
            f"INSERT INTO {tbl} ({cols}) VALUES ({', '.join('?' * len(row))})"
            f" ON CONFLICT(id) DO UPDATE SET {sets} WHERE {tbl}.site_id = excluded.site_id",
            tuple(row.values()),
        )
    elif change.op == "update":
        if fields:
            sets = ", ".join(f"{c} = ?" for c in fields)
            conn.execute(
                f"UPDATE {tbl} SET {sets} WHERE id = ? AND site_id = ?",
                (*fields.values(), change.row_id, site),
            )
    else:
        conn.execute(f"DELETE FROM {tbl} WHERE id = ? AND site_id = ?", (change.row_id, site))
