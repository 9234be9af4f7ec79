"""The hub's sync service: the push and pull pipeline behind /sync/v1.

`Hub` runs every stage of a push (credential, decode, continuity, history,
ownership, apply: drawn in `sync.protocol`) and answers position, pull and
history calls; `hub.app` is the thin HTTP layer around it. The merge rules are
in `sync.merge`, the grouped apply of a batch in `sync.ingest`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from edge.errors import BadRequest
from edge.store import Store, Tx
from edge.store.changelog import Change
from edge.store.dialect import is_postgres_url
from edge.store.hlc import wall_clock_ms
from edge.store.migrations import SCHEMA_VERSION
from edge.web.forms import parse_int
from hub.decoding import DecodeProcesses, decode_here
from hub.restore import returned_commands, take_back
from sync.enrol import hash_token, init_hub, now_iso
from sync.errors import RECOVER_HINT, BadBatch, Diverged, Forbidden, Gap, Unauthorized
from sync.ingest import NewRows
from sync.merge import COMMANDS_TABLE, SUPPLIER_TABLES, Schema, apply_owner_changes
from sync.protocol import INT64_MAX, Batch
from sync.pull import pull_doc
from sync.seam import SEAM_DIGEST_CHARS, changes_digest_equal, seam_digest

log = logging.getLogger("linli.hub")
PULL_LIMIT_DEFAULT = 2000
PULL_LIMIT_MAX = 10_000
DECODERS = 2  # pushes decoded at the same time
# The SQLite hub's page cache per connection and its file mapped in memory
# (`Store.hold_in_memory`): allocated as pages are read, up to these.
HUB_CACHE_MIB = 64
HUB_MAP_MIB = 2047  # under SQLite's usual cap, 2 GiB less 64 KiB (SQLITE_MAX_MMAP_SIZE)
# Shown on the box's sync badge and the hub's sync page with every `diverged`.


@dataclass(frozen=True, slots=True)
class Centre:
    site_id: str
    name: str


class Hub:
    """The hub's sync service over its store; the HTTP layer is thin around it."""

    def __init__(
        self, store: Store, now_ms: Any = wall_clock_ms, *, decode_processes: int = 0
    ) -> None:
        self.store = store
        # Pushes dirty many pages: the WAL is copied back off the writer's path, and
        # the indexes they touch stay in memory.
        store.checkpoint_in_background()
        store.hold_in_memory(cache_mib=HUB_CACHE_MIB, map_mib=HUB_MAP_MIB)
        self.site_id = init_hub(store)
        self.schema = store.read_sync(Schema.load)
        # New rows' values laid out for SQLite's statements beside the writer (not
        # for PostgreSQL, which copies the rows as they are).
        self._lay_out = not is_postgres_url(str(store.path))
        # Pushes decoded in processes of their own while others are in (SQLite only).
        self.decoders = (
            DecodeProcesses(self.schema, decode_processes)
            if self._lay_out and decode_processes > 0
            else None
        )
        self._pushes_in = 0
        self.now_ms = now_ms
        # Pushes inflated and parsed at once: each may take MAX_INFLATED_BYTES and
        # several times that parsed, so a burst of large pushes waits its turn.
        self._decoding = asyncio.Semaphore(max(DECODERS, decode_processes))

    # --- authentication (stages 1-2) ---------------------------------------
    async def centre_for(self, token: str | None) -> Centre:
        if not token:
            raise Unauthorized("send Authorization: Bearer <centre credential>")
        key = hash_token(token)
        row = await self.store.read(
            lambda c: c.execute(
                "SELECT site_id, name, revoked FROM sync_centres WHERE token_hash = ?", (key,)
            ).fetchone()
        )
        if row is None:
            raise Unauthorized("unknown centre credential")
        if row["revoked"]:
            raise Forbidden(f"the credential of centre {row['site_id']} was revoked")
        return Centre(row["site_id"], row["name"])

    # --- push ----------------------------------------------------------------
    async def push(self, centre: Centre, body: bytes, encoding: str | None) -> dict[str, Any]:
        self._pushes_in += 1
        try:
            async with self._decoding:
                batch, ready = await self._decode_push(body, encoding)
            if batch.site_id != centre.site_id:
                raise Forbidden(
                    f"this credential is centre {centre.site_id}'s; the batch says {batch.site_id}"
                )
            try:
                return await self.store.write(
                    lambda tx: self._apply(tx, batch, ready), only=batch.site_id
                )
            except Diverged as exc:
                detail = exc.detail
                await self.store.write(lambda tx: _mark_diverged(tx, centre.site_id, detail))
                log.error("centre %s diverged: %s", centre.site_id, detail)
                raise
        finally:
            self._pushes_in -= 1

    async def _decode_push(self, body: bytes, encoding: str | None) -> tuple[Batch, NewRows | None]:
        """In a decode process when other pushes are in (`hub.decoding`), else in a thread."""
        if self._pushes_in > 1 and self.decoders is not None:
            decoded = await self.decoders.decode(body, encoding)
            if decoded is not None:
                return decoded
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._decode, body, encoding)

    def _decode(self, body: bytes, encoding: str | None) -> tuple[Batch, NewRows | None]:
        return decode_here(self.schema, body, encoding, lay_out=self._lay_out)

    async def start_decoding(self) -> None:
        """Start the decode processes, if this hub has them."""
        if self.decoders is not None:
            await self.decoders.start()

    async def close(self) -> None:
        """Stop the decode processes (the store is the caller's)."""
        if self.decoders is not None:
            await self.decoders.close()

    def _apply(self, tx: Tx, batch: Batch, ready: NewRows | None = None) -> dict[str, Any]:
        state = tx.one(
            "SELECT acked_seq, revoked, diverged, install_id FROM sync_centres WHERE site_id = ?",
            (batch.site_id,),
        )
        if state is None:
            raise Unauthorized(f"centre {batch.site_id} is not enrolled")
        if state["revoked"]:
            raise Forbidden(f"the credential of centre {batch.site_id} was revoked")
        if state["diverged"]:
            raise _held(batch.site_id, state["diverged"])
        if state["install_id"] and batch.install_id and state["install_id"] != batch.install_id:
            raise Diverged(
                f"install id {batch.install_id} is not {state['install_id']}: a second box "
                f"is using the site id {batch.site_id}"
            )
        position = int(state["acked_seq"])
        if batch.changes and batch.from_seq > position + 1:
            raise Gap(
                f"the hub has up to seq {position}; this batch starts at "
                f"{batch.from_seq}; resend from {position + 1}",
                position,
            )
        # Seqs are dense from from_seq (stage 4): those up to the position are resent.
        resent_count = min(len(batch.changes), max(0, position - batch.from_seq + 1))
        resent = list(batch.changes[:resent_count])
        fresh = batch.changes[resent_count:]
        if resent:
            _check_history(tx.conn, batch.site_id, resent)
        if ready is not None and not (fresh and ready.first_seq == position + 1):
            ready = None  # made ready from another seq than the hub's position: not these
        applied = apply_owner_changes(
            tx.conn, self.schema, batch.site_id, fresh, hub_site=self.site_id, ready=ready
        )
        new_position = max(position, batch.last_seq) if batch.changes else position
        now = self.now_ms()
        tx.execute(
            "UPDATE sync_centres SET acked_seq = ?, waiting = ?, last_contact = ?,"
            " last_push = ?, schema_version = ?, clock_offset_ms = ?,"
            " install_id = COALESCE(install_id, NULLIF(?, '')) WHERE site_id = ?",
            (
                new_position,
                batch.waiting,
                now_iso(),
                now_iso(),
                batch.schema_version,
                batch.wall_ms - now,
                batch.install_id,
                batch.site_id,
            ),
        )
        return {
            "position": new_position,
            "applied": applied,
            "skipped": len(resent),
            "hub_time_ms": now,
            "hub_hlc": self.store.clock.now(),
        }

    # --- position ------------------------------------------------------------
    async def position(self, centre: Centre, params: dict[str, str]) -> dict[str, Any]:
        contact = contact_params(params)
        waiting = opt_int(params, "waiting")
        wall_ms = opt_int(params, "wall_ms")
        now = self.now_ms()

        def write(tx: Tx) -> dict[str, Any]:
            acked = _check_contact(tx, centre.site_id, *contact)
            tx.execute(
                "UPDATE sync_centres SET last_contact = ?, waiting = COALESCE(?, waiting),"
                " clock_offset_ms = COALESCE(?, clock_offset_ms) WHERE site_id = ?",
                (now_iso(), waiting, None if wall_ms is None else wall_ms - now, centre.site_id),
            )
            return {
                "position": acked,
                "hub_time_ms": now,
                "hub_hlc": self.store.clock.now(),
                "hub_site_id": self.site_id,
                "schema_version": SCHEMA_VERSION,
            }

        return await self._contact(centre, contact, write)

    async def _contact(
        self, centre: Centre, contact: tuple[int | None, str | None], fn: Any
    ) -> Any:
        """Run a contact's write; a box found diverged by it is held from now on."""
        try:
            return await self.store.write(fn)
        except Diverged as exc:
            detail = exc.detail
            if contact[0] is not None:
                await self.store.write(lambda tx: _mark_diverged(tx, centre.site_id, detail))
                log.error("centre %s diverged: %s", centre.site_id, detail)
            raise

    # --- history (recovery of a restored box) ---------------------------------
    async def history(self, centre: Centre, after: int, limit: int) -> dict[str, Any]:
        """The centre's own change log as the hub stores it, after seq `after`.

        Read-only, and answered while the centre is held as diverged: a box
        restored from an old backup reads back what it had already sent
        (`sync.recover`). Only the calling centre's rows, never another site's.
        """
        limit = max(1, min(limit, PULL_LIMIT_MAX))
        site = centre.site_id

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute("BEGIN")  # one snapshot: the position and the rows agree
            try:
                state = conn.execute(
                    "SELECT acked_seq, diverged FROM sync_centres WHERE site_id = ?", (site,)
                ).fetchone()
                if state is None:
                    raise Unauthorized(f"centre {site} is not enrolled")
                rows = conn.execute(
                    "SELECT seq, hlc, tbl, row_id, op, fields FROM sync_log"
                    " WHERE site_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                    (site, after, state["acked_seq"], limit),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            changes = [
                [r["seq"], r["hlc"], r["tbl"], r["row_id"], r["op"], json.loads(r["fields"])]
                for r in rows
            ]
            next_after = rows[-1]["seq"] if rows else after
            return {
                "schema_version": SCHEMA_VERSION,
                "site_id": site,
                "hub_site_id": self.site_id,
                "position": int(state["acked_seq"]),
                "held": state["diverged"],
                "changes": changes,
                "next_after": next_after,
                "more": next_after < int(state["acked_seq"]),
            }

        return await self.store.read(read)

    # --- pull ----------------------------------------------------------------
    async def pull(
        self,
        centre: Centre,
        after: int,
        limit: int,
        contact: tuple[int | None, str | None] = (None, None),
        after_hlc: int | None = None,
    ) -> dict[str, Any]:
        """Hub rows for the centre after hub seq `after`. Like a position call, the
        contact is checked first (`_check_contact`): a held or cloned box pulls nothing.

        `after_hlc`, the stamp the box holds for hub seq `after`: when the hub holds
        no such change (a hub restored from a backup, its log shorter than what the
        box pulled, or grown again under the same seqs), the answer starts over from
        seq 0 and says `restart`; the box applies it all again (idempotent)."""
        limit = max(1, min(limit, PULL_LIMIT_MAX))
        hub_site = self.site_id

        def contacted(tx: Tx) -> None:
            _check_contact(tx, centre.site_id, *contact)
            tx.execute(
                "UPDATE sync_centres SET pulled_seq = MAX(pulled_seq, ?), last_contact = ?"
                " WHERE site_id = ?",
                (after, now_iso(), centre.site_id),
            )

        await self._contact(centre, contact, contacted)

        def read(conn: sqlite3.Connection) -> tuple[list[Change], int, bool, bool, int | None]:
            start, restart, start_hlc = after, False, None
            if after > 0:
                held = conn.execute(
                    "SELECT hlc FROM changes WHERE site_id = ? AND seq = ?", (hub_site, after)
                ).fetchone()
                if held is None or (after_hlc is not None and held[0] != after_hlc):
                    start, restart = 0, True
                else:
                    start_hlc = int(held[0])
            rows = conn.execute(
                "SELECT seq, hlc, tbl, row_id, op, fields FROM changes"
                " WHERE site_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (hub_site, start, limit),
            ).fetchall()
            out = []
            for r in rows:
                fields = json.loads(r["fields"])
                if not _addressed(conn, r, fields, centre.site_id):
                    continue
                out.append(
                    Change(hub_site, r["seq"], r["hlc"], r["tbl"], r["row_id"], r["op"], fields)
                )
            next_after = rows[-1]["seq"] if rows else start
            next_hlc = int(rows[-1]["hlc"]) if rows else start_hlc
            return out, next_after, len(rows) == limit, restart, next_hlc

        changes, next_after, more, restart, next_hlc = await self.store.read(read)
        if restart:
            log.warning(
                "centre %s pulled up to hub seq %d, which this hub does not hold as it sent "
                "it (restored from a backup?): it pulls again from the start",
                centre.site_id,
                after,
            )
        doc = pull_doc(hub_site, changes, next_after, more, self.now_ms(), self.store.clock.now())
        doc["next_hlc"] = next_hlc
        doc["restart"] = restart
        return doc

    # --- commands handed back after a restore (`hub.restore`) -------------------
    async def return_commands(self, centre: Centre, doc: Any) -> dict[str, int]:
        rows = returned_commands(doc)

        def write(tx: Tx) -> dict[str, int]:
            _check_contact(tx, centre.site_id, None, None)  # a held box hands back nothing
            return take_back(tx, self.site_id, centre.site_id, rows)

        result: dict[str, int] = await self.store.write(write)
        return result


def _addressed(
    conn: sqlite3.Connection, row: sqlite3.Row, fields: dict[str, Any], site_id: str
) -> bool:
    """Whether a hub change is meant for this centre: commands go to their target,
    supplier notes to their centre (or to all when `centre_id` is NULL), the rest
    (district catalog) to everyone."""
    column = ADDRESS_COLUMN.get(row["tbl"])
    if column is None:
        return True
    if column in fields:
        target = fields[column]
    else:  # an update or delete: look the row up
        found = conn.execute(
            f"SELECT {column} FROM {row['tbl']} WHERE id = ?", (row["row_id"],)
        ).fetchone()
        target = found[0] if found else None
    if column == "centre_id" and target is None:
        return True
    return bool(target == site_id)


def _check_history(conn: sqlite3.Connection, site_id: str, resent: list[Change]) -> None:
    """Stage 8: a resent seq must be the very change the hub already holds."""
    rows = conn.execute(
        "SELECT seq, hlc, tbl, row_id, op, fields FROM sync_log"
        " WHERE site_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
        (site_id, resent[0].seq, resent[-1].seq),
    ).fetchall()
    stored = {r[0]: Change(site_id, r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows}
    for change in resent:
        held = stored.get(change.seq)
        if held is None or not changes_digest_equal(held, change):
            raise Diverged(
                f"seq {change.seq} of centre {site_id} differs from the change the hub "
                "already holds: two boxes share this site id (a cloned disk), or the box was "
                "restored from a backup. Nothing was applied; the centre is held until an "
                f"operator resolves it. {RECOVER_HINT}"
            )


def _check_contact(tx: Tx, site_id: str, last_seq: int | None, digest: str | None) -> int:
    """Every contact of a box (position, pull): refused while the centre is held, and
    checked against the end of the box's log; returns the hub's position.

    A log shorter than the hub's position is an old backup or a clone. A log as
    long as it must end with the very change the hub holds under that seq: a push
    would check that seam, but a box with nothing to push never pushes, so a clone
    whose twin pushed first would report "ok, 0 waiting" while its own orders
    never reached the hub.
    """
    row = tx.one("SELECT acked_seq, diverged FROM sync_centres WHERE site_id = ?", (site_id,))
    if row is None:
        raise Unauthorized(f"centre {site_id} is not enrolled")
    if row["diverged"]:
        raise _held(site_id, row["diverged"])
    acked = int(row["acked_seq"])
    if last_seq is None:
        return acked
    if last_seq < acked:
        raise Diverged(
            f"the box says its log ends at seq {last_seq} but the hub holds up to "
            f"{acked}: restored from an old backup, or a cloned disk. {RECOVER_HINT}"
        )
    if digest is not None and last_seq == acked and acked > 0:
        held = tx.one(
            "SELECT seq, hlc, tbl, row_id, op, fields FROM sync_log WHERE site_id = ? AND seq = ?",
            (site_id, acked),
        )
        if held is not None:
            stored = Change(
                site_id,
                held["seq"],
                held["hlc"],
                held["tbl"],
                held["row_id"],
                held["op"],
                json.loads(held["fields"]),
            )
            if seam_digest(stored) != digest:
                raise Diverged(
                    f"the box's seq {acked} differs from the change the hub holds under it: "
                    f"two boxes share the site id {site_id} (a cloned disk), and the other "
                    "one sent its own first. This box's changes from that seq on are not on "
                    f"the hub; the centre is held until an operator resolves it. {RECOVER_HINT}"
                )
    return acked


def contact_params(params: Any) -> tuple[int | None, str | None]:
    """`last_seq` and `last_digest` of a position or pull call (both optional)."""
    last_seq = opt_int(params, "last_seq")
    digest = params.get("last_digest") or None
    if digest is not None and (
        len(digest) != SEAM_DIGEST_CHARS or not all(c in "0123456789abcdef" for c in digest)
    ):
        raise BadBatch(
            f"query parameter last_digest: {SEAM_DIGEST_CHARS} lowercase hex digits",
            field="last_digest",
        )
    return last_seq, digest


def _held(site_id: str, why: str) -> Diverged:
    hint = "" if RECOVER_HINT in why else f" {RECOVER_HINT}"  # `why` may be cut short
    return Diverged(f"centre {site_id} is held as diverged: {why}{hint}")


def _mark_diverged(tx: Tx, site_id: str, detail: str) -> None:
    tx.execute(
        "UPDATE sync_centres SET diverged = ? WHERE site_id = ? AND diverged IS NULL",
        (f"{now_iso()} {detail}"[:500], site_id),
    )


def opt_int(params: Any, name: str) -> int | None:
    """Query parameter `name` as a whole number in ASCII digits (not "٣" or "１２",
    which `int()` takes), or None when it is missing or blank."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_int(str(value), name, maximum=INT64_MAX)
    except BadRequest as exc:
        raise BadBatch(f"query parameter {exc.detail}", field=name) from None


# Hub tables whose rows are addressed to one centre, and the column that says which.
ADDRESS_COLUMN = {
    COMMANDS_TABLE: "target_site",
    **{t: "centre_id" for t in SUPPLIER_TABLES},
}
