"""Errors of the sync package, each with the HTTP status the hub answers with.

    SyncError (500)
    ├── BadBatch (400)            malformed body, unknown table or column, a value
    │                             out of range, a change the database refuses
    │   └── UnsupportedVersion (400)  schema version neither current nor previous
    ├── Unauthorized (401)        no or unknown centre / operator credential
    ├── Forbidden (403)           revoked credential, or a row of another site
    ├── NotFound (404)
    ├── Gap (409)                 a batch starts after the hub's position; carries it
    ├── Diverged (409)            a cloned or restored box: history differs from the hub's
    ├── TooLarge (413)            body over the limit, compressed or inflated
    └── HubUnavailable (503)      client side: the hub could not be reached in time

The hub turns every one of them into `{"error": ..., "detail": ...}` JSON in
one place (`hub.app`); the centre's agent raises them from hub answers.
"""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    status_code = 500
    error = "internal_error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, **self.extra}


class BadBatch(SyncError):
    status_code = 400
    error = "bad_batch"


class UnsupportedVersion(BadBatch):
    error = "unsupported_version"


class Unauthorized(SyncError):
    status_code = 401
    error = "unauthorized"


class Forbidden(SyncError):
    status_code = 403
    error = "forbidden"


class ForeignRow(Forbidden):
    error = "foreign_row"


class NotFound(SyncError):
    status_code = 404
    error = "not_found"


class Gap(SyncError):
    status_code = 409
    error = "gap"

    def __init__(self, detail: str, position: int) -> None:
        super().__init__(detail, position=position)
        self.position = position


class Diverged(SyncError):
    status_code = 409
    error = "diverged"


class TooLarge(SyncError):
    status_code = 413
    error = "payload_too_large"


class HubUnavailable(SyncError):
    status_code = 503
    error = "hub_unavailable"


# Said wherever a box is held as diverged: the one way out after restoring a backup.
RECOVER_HINT = (
    "If the box was restored from a backup: stop its server, run `linli centre recover "
    "--db <centre db>`, then `linli hub release-centre` (not before)"
)
