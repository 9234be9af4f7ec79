"""The hub: receives every centre's changes into one merged store and serves them back.

`create_hub_app(settings)` builds the Litestar app of `linli serve --role
hub`: the sync API under /sync/v1 (centre credentials), the operator pages
under /hub and their JSON twin under /hub/api/v1 (operator accounts). The
merged store is an `edge.store.Store` on the hub's own file: the same tables
as a centre, holding every centre's rows under their owner's site id, plus
the sync tables (`sync.schema`). The stages a push goes through are drawn in
`sync.protocol`; the merge rules are in `sync.merge`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_200_OK

from edge.errors import BadRequest
from edge.settings import Settings
from edge.store import Store, Tx, open_db
from edge.store.changelog import Change
from edge.store.hlc import wall_clock_ms
from edge.store.migrations import SCHEMA_VERSION
from edge.web.forms import parse_int
from edge.web.hardening import add_security_headers, escape_log_records, refuse_control_characters
from edge.web.openapi_errors import document_errors
from hub.family import FAMILY_HANDLERS
from hub.restore import returned_commands, take_back
from hub.supplier import SUPPLIER_HANDLERS
from sync import schema as sync_schema
from sync.enrol import hash_token, init_hub, now_iso, try_serving_lock
from sync.errors import RECOVER_HINT, BadBatch, Diverged, Forbidden, Gap, SyncError, Unauthorized
from sync.merge import COMMANDS_TABLE, SUPPLIER_TABLES, Schema, apply_owner_changes
from sync.protocol import (
    INT64_MAX,
    MAX_BODY_BYTES,
    SEAM_DIGEST_CHARS,
    Batch,
    changes_digest_equal,
    decode_batch,
    pull_doc,
    seam_digest,
)

log = logging.getLogger("linli.hub")
PULL_LIMIT_DEFAULT = 2000
PULL_LIMIT_MAX = 10_000
DECODERS = 2  # pushes decoded at the same time
# Shown on the box's sync badge and the hub's sync page with every `diverged`.


@dataclass(frozen=True, slots=True)
class Centre:
    site_id: str
    name: str


class Hub:
    """The hub's sync service over its store; the HTTP layer is thin around it."""

    def __init__(self, store: Store, now_ms: Any = wall_clock_ms) -> None:
        self.store = store
        self.site_id = init_hub(store)
        self.schema = store.read_sync(Schema.load)
        self.now_ms = now_ms
        # Pushes inflated and parsed at once: each may take MAX_INFLATED_BYTES and
        # several times that parsed, so a burst of large pushes waits its turn.
        self._decoding = asyncio.Semaphore(DECODERS)

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
        loop = asyncio.get_running_loop()
        async with self._decoding:
            batch = await loop.run_in_executor(None, decode_batch, body, encoding)
        if batch.site_id != centre.site_id:
            raise Forbidden(
                f"this credential is centre {centre.site_id}'s; the batch says {batch.site_id}"
            )
        try:
            return await self.store.write(lambda tx: self._apply(tx, batch), only=batch.site_id)
        except Diverged as exc:
            detail = exc.detail
            await self.store.write(lambda tx: _mark_diverged(tx, centre.site_id, detail))
            log.error("centre %s diverged: %s", centre.site_id, detail)
            raise

    def _apply(self, tx: Tx, batch: Batch) -> dict[str, Any]:
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
        resent = [c for c in batch.changes if c.seq <= position]
        fresh = [c for c in batch.changes if c.seq > position]
        if resent:
            _check_history(tx.conn, batch.site_id, resent)
        applied = apply_owner_changes(
            tx.conn, self.schema, batch.site_id, fresh, hub_site=self.site_id
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
        contact = _contact_params(params)
        waiting = _opt_int(params, "waiting")
        wall_ms = _opt_int(params, "wall_ms")
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


def _contact_params(params: Any) -> tuple[int | None, str | None]:
    """`last_seq` and `last_digest` of a position or pull call (both optional)."""
    last_seq = _opt_int(params, "last_seq")
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


def _opt_int(params: Any, name: str) -> int | None:
    """Query parameter `name` as a whole number in ASCII digits (not "٣" or "１２",
    which `int()` takes), or None when it is missing or blank."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_int(str(value), name, maximum=INT64_MAX)
    except BadRequest as exc:
        raise BadBatch(f"query parameter {exc.detail}", field=name) from None


# --- HTTP --------------------------------------------------------------------


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _hub(request: Request[Any, Any, Any]) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


@post("/sync/v1/push", status_code=HTTP_200_OK, include_in_schema=True)
async def push_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Apply one gzip-compressed batch of a centre's changes; answers the new position."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    body = await request.body()
    return await hub.push(centre, body, request.headers.get("content-encoding"))


@get("/sync/v1/position")
async def position_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The hub's acknowledged position for the calling centre."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    return await hub.position(centre, dict(request.query_params))


@get("/sync/v1/pull")
async def pull_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Hub change-log rows meant for the calling centre, after hub seq `after`."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    after = _opt_int(request.query_params, "after") or 0
    limit = _opt_int(request.query_params, "limit") or PULL_LIMIT_DEFAULT
    contact = _contact_params(request.query_params)
    after_hlc = _opt_int(request.query_params, "after_hlc")
    return await hub.pull(centre, after, limit, contact, after_hlc)


@post("/sync/v1/commands/returned", status_code=HTTP_200_OK)
async def returned_commands_handler(request: Request[Any, Any, Any]) -> dict[str, int]:
    """Commands a centre was sent and hands back to a hub restored from a backup."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadBatch(f"the body is over {MAX_BODY_BYTES} bytes", field="body")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadBatch("the body is not JSON", field="body") from None
    return await hub.return_commands(centre, doc)


@get("/sync/v1/history")
async def history_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The calling centre's own change log as the hub holds it, after seq `after`
    (paged by `limit`): what `linli centre recover` reads back after a restore."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    after = _opt_int(request.query_params, "after") or 0
    limit = _opt_int(request.query_params, "limit") or PULL_LIMIT_DEFAULT
    return await hub.history(centre, after, limit)


@get("/sync/v1/hello")
async def hello_handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who this credential belongs to: what `linli centre join` needs."""
    hub = _hub(request)
    centre = await hub.centre_for(_bearer(request))
    return {
        "site_id": centre.site_id,
        "name": centre.name,
        "hub_site_id": hub.site_id,
        "schema_version": SCHEMA_VERSION,
        "hub_time_ms": hub.now_ms(),
    }


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 while the hub can save; 503 naming the storage fault while writes fail."""
    store: Store | None = getattr(request.app.state, "store", None)
    fault = store.fault if store is not None else None
    if fault is None:
        return Response({"status": "ok", "role": "hub"})
    return Response({"status": "fault", "role": "hub", "detail": fault.detail}, status_code=503)


def sync_error(request: Request[Any, Any, Any], exc: SyncError) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("sync error on %s: %s", request.url.path, exc.detail)
    return Response(content=exc.as_json(), status_code=exc.status_code)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    from edge.web.shared import unreadable_body
    from hub.pages import error_page, wants_html

    body = unreadable_body(exc) or {
        "error": _ERROR_NAMES.get(exc.status_code, "error"),
        "detail": exc.detail,
    }
    if isinstance(exc, ValidationException) and "field" not in body:
        body.update(_named_field(exc))
    if wants_html(request):
        return error_page(request, exc.status_code, str(body["detail"]), body.get("field"))
    return Response(content=body, status_code=exc.status_code)


def _named_field(exc: ValidationException) -> dict[str, str]:
    """The field a Litestar validation error is about, and a detail that says it:
    from `extra` for a bad parameter or body field, from the message for a missing
    parameter (Litestar names it only there)."""
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        field = str(extra[0].get("key") or "body")
        return {"field": field, "detail": f"{field}: {extra[0].get('message', exc.detail)}"}
    missing = _MISSING_PARAMETER.match(str(exc.detail))
    if missing:
        kind, field = missing.groups()
        return {"field": field, "detail": f"{field}: the {kind} parameter is required"}
    return {}


_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def _raised_decoding_the_body(exc: BaseException) -> bool:
    """Whether the error came from Litestar turning the request body into data (a body
    that is not UTF-8, or nested too deep to decode), not from the hub's own code."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "decode_json":
            return True
        tb = tb.tb_next
    return False


def undecodable_body(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """UnicodeDecodeError and RecursionError: a 400 naming the body when the request
    body could not be decoded, a 500 (logged) when the hub's own code raised them."""
    if not _raised_decoding_the_body(exc):
        return internal_error(request, exc)
    why = "is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "is nested too deep"
    from hub.pages import error_page, wants_html

    detail = f"the JSON body {why}"
    if wants_html(request):
        return error_page(request, 400, detail, "body")
    return Response(
        content={"error": "bad_request", "detail": detail, "field": "body"}, status_code=400
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    from hub.pages import error_page, wants_html

    if wants_html(request):
        return error_page(request, 500, "the hub logged it")
    return Response(
        content={"error": "internal_error", "detail": "the hub logged it"}, status_code=500
    )


# Hub tables whose rows are addressed to one centre, and the column that says which.
ADDRESS_COLUMN = {
    COMMANDS_TABLE: "target_site",
    **{t: "centre_id" for t in SUPPLIER_TABLES},
}

SYNC_HANDLERS = [
    push_handler,
    position_handler,
    pull_handler,
    returned_commands_handler,
    history_handler,
    hello_handler,
    healthz,
]


def create_hub_app(settings: Settings) -> Litestar:
    """The hub's ASGI app. The store opens here (tests reach it as `app.state.hub`)
    and closes when the lifespan ends."""
    sync_schema.ensure(settings.db_target)
    store = open_db(settings.db_target)
    hub = Hub(store)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.db_url:  # PostgreSQL: several hub processes share it by design
            try:
                yield
            finally:
                store.close()
            return
        # The serving lock, as a centre server holds it: `linli restore` refuses while
        # the hub runs (it would go on writing into the file restore replaced).
        lock = try_serving_lock(store.path)
        if lock is None:
            store.close()
            raise SyncError(f"{store.path} is being restored or joined: start the hub after")
        try:
            yield
        finally:
            store.close()
            os.close(lock)

    from hub.care_statement import HANDLERS as CARE_STATEMENT_HANDLERS
    from hub.hotline import HOTLINE_HANDLERS, hotline_guard
    from hub.pages import page_app_config

    handlers, extra = page_app_config(settings, store)
    handlers_by_exc: dict[Any, Any] = {
        SyncError: sync_error,
        HTTPException: http_error,
        UnicodeDecodeError: undecodable_body,
        RecursionError: undecodable_body,
        Exception: internal_error,
    }
    handlers_by_exc.update(extra.pop("extra_exception_handlers", {}))
    page_state = extra.pop("state", {})
    escape_log_records()
    app = Litestar(
        route_handlers=[
            *SYNC_HANDLERS,
            *handlers,
            *SUPPLIER_HANDLERS,
            *FAMILY_HANDLERS,
            *HOTLINE_HANDLERS,
            *CARE_STATEMENT_HANDLERS,
        ],
        lifespan=[lifespan],
        exception_handlers=handlers_by_exc,
        middleware=[refuse_control_characters],
        before_request=hotline_guard,
        before_send=[add_security_headers],
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=6
        ),
        request_max_body_size=max(settings.max_body_bytes, MAX_BODY_BYTES),
        state=State({"hub": hub, "store": store, "settings": settings, **page_state}),
        debug=False,
        **extra,
    )
    document_errors(app)
    return app
