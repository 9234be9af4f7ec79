"""The centre's side of the HTTP link to the hub: one request (gzip, bearer token, the
reply checked and turned into a `SyncError` when the hub refuses) and the retry policy
around it (bounded exponential backoff with jitter, for transport errors, 5xx, 429 and
replies cut short). `SyncAgent` holds one; what to do between retries (halve the batch)
is the agent's `on_retry`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
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

from edge.store import changelog
from sync.errors import (
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


class Retry(Exception):
    """An answer worth retrying: 5xx, 429, or a reply cut short."""


class HubClient:
    """Requests to one hub with one centre's token, counted in the run's `SyncReport`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        hub_url: str,
        token: str,
        *,
        attempts: int,
        retry_for_s: float,
        timeout_s: float,
        backoff_s: float,
        backoff_max_s: float,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.attempts = attempts
        self.retry_for_s = retry_for_s
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.on_retry = on_retry

    def retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.retry_for_s),
            wait=(
                wait_exponential(multiplier=self.backoff_s, max=self.backoff_max_s)
                + wait_random(0, self.backoff_s)
            ),
            retry=retry_if_exception_type((httpx.TransportError, Retry)),
            before_sleep=self._after_failure,
            reraise=True,
        )

    def _after_failure(self, state: RetryCallState) -> None:
        self.on_retry()

    async def request(
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
            raise Retry(f"hub answered {resp.status_code}")
        try:
            doc = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Retry(f"hub reply cut short ({resp.status_code})") from exc
        if not isinstance(doc, dict):
            raise Retry("hub reply is not an object")
        if resp.status_code not in ok_statuses:
            raise hub_error(resp.status_code, doc)
        return resp.status_code, doc

    async def call(
        self, report: SyncReport, method: str, path: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        try:
            async for attempt in self.retrying():
                with attempt:
                    return await self.request(report, method, path, **kwargs)
        except (httpx.TransportError, Retry) as exc:
            raise HubUnavailable(f"hub {self.hub_url} out of reach: {exc!r}") from exc
        raise AssertionError("unreachable")


def describe_failure(exc: Exception) -> str:
    """A short line for the badge and `sync_state.last_error`."""
    if isinstance(exc, (SyncError, changelog.LogTrimmed)):
        return f"{exc.error}: {exc.detail}"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"sync_failed: {text}"[:300]


def hub_error(status: int, doc: dict[str, Any]) -> SyncError:
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
