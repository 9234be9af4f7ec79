"""Statuses of the hub's own rows (hub-local, never synced), as the database keeps them.

`StrEnum`s like edge.store.statuses: a member *is* its stored text, so rows written
before read the same and a member goes into SQL parameters as plain text.
"""

from __future__ import annotations

from enum import StrEnum


class ComplaintStatus(StrEnum):
    """A complaint recorded on a return visit (`care_return_visits.complaint_status`,
    m115) moves forward only: open -> followed_up -> closed. A visit without a
    complaint keeps the empty text (`NONE`)."""

    NONE = ""
    OPEN = "open"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"


# Complaints the desk lists (every state a complaint can be in), and the ones not closed yet.
COMPLAINTS = (ComplaintStatus.OPEN, ComplaintStatus.FOLLOWED_UP, ComplaintStatus.CLOSED)
COMPLAINT_NOT_CLOSED = (ComplaintStatus.OPEN, ComplaintStatus.FOLLOWED_UP)
