"""Row ids: ULIDs, generated locally so sites never collide (DESIGN invariant 4)."""

from __future__ import annotations

import secrets

from ulid import ULID


def new_id() -> str:
    return str(ULID())


PICKUP_CODE_ALPHABET = "23456789"  # digits only: easy to read out and type on a keypad


def new_pickup_code() -> str:
    """A short code a grandparent can read out at the desk; unique per day by retry."""
    return "".join(secrets.choice(PICKUP_CODE_ALPHABET) for _ in range(4))
