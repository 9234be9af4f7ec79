"""Errors of the centre, each with the HTTP status it maps to (once, in app.py).

EdgeError (500)
├── BadRequest (400)        input that fails validation; names the field
├── Unauthorized (401)      no or wrong credentials
├── Forbidden (403)         signed in, but the role may not do this
├── NotFound (404)
├── Conflict (409)          e.g. a status that would move backwards
├── PayloadTooLarge (413)
├── TooManyRequests (429)   sign-in rate limit
└── StorageFault (503)      the disk is full, read-only or failing: nothing was saved
"""

from __future__ import annotations


class EdgeError(Exception):
    status_code = 500
    error = "internal_error"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def as_json(self) -> dict[str, str]:
        body = {"error": self.error, "detail": self.detail}
        if self.field:
            body["field"] = self.field
        return body


class BadRequest(EdgeError):
    status_code = 400
    error = "bad_request"


class Unauthorized(EdgeError):
    status_code = 401
    error = "unauthorized"


class Forbidden(EdgeError):
    status_code = 403
    error = "forbidden"


class NotFound(EdgeError):
    status_code = 404
    error = "not_found"


class Conflict(EdgeError):
    status_code = 409
    error = "conflict"


class PayloadTooLarge(EdgeError):
    status_code = 413
    error = "payload_too_large"


class TooManyRequests(EdgeError):
    status_code = 429
    error = "too_many_requests"


class StorageFault(EdgeError):
    status_code = 503
    error = "storage_fault"
