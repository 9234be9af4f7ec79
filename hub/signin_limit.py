"""The hub's sign-in limiter, kept in the hub's database (`hub_signin_failures`), not in
one process's memory: with several hub processes behind a load balancer, failures
sent to each count together. Same rule as `edge.domain.auth.LoginLimiter`: at most
`max_failures` failed sign-ins per client address and name in a sliding window of
`window_s` seconds; an attempt counts as failed until `succeeded` clears it, in
one write, so sign-ins sent all at once cannot slip past the limit.
"""

from __future__ import annotations

import time
from typing import Any

from edge.errors import TooManyRequests
from edge.store import Store, Tx


class HubLoginLimiter:
    def __init__(
        self, store: Store, max_failures: int, window_s: int, now: Any = time.time
    ) -> None:
        self.store = store
        self.max_failures = max_failures
        self.window_s = window_s
        self.now = now

    async def attempt(self, client: str, name: str) -> None:
        now = float(self.now())

        def write(tx: Tx) -> float | None:
            tx.execute("DELETE FROM hub_signin_failures WHERE at < ?", (now - self.window_s,))
            rows = tx.execute(
                "SELECT at FROM hub_signin_failures WHERE client = ? AND name = ? ORDER BY at",
                (client, name),
            ).fetchall()
            if len(rows) >= self.max_failures:
                return float(rows[0][0])
            tx.execute(
                "INSERT INTO hub_signin_failures (client, name, at) VALUES (?, ?, ?)",
                (client, name, now),
            )
            return None

        oldest = await self.store.write(write)
        if oldest is not None:
            wait = int(self.window_s - (now - oldest)) + 1
            raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s")

    async def succeeded(self, client: str, name: str) -> None:
        await self.store.write(
            lambda tx: tx.execute(
                "DELETE FROM hub_signin_failures WHERE client = ? AND name = ?", (client, name)
            )
        )
