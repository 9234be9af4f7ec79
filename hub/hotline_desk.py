"""The 12349 hotline desk's records and queries (its pages are `hub.hotline`).

Finding an elder across all centres by name, phone tail (the elder's or a family
member's) or address; what the desk shows of an elder (never the care notes); the
finished visits waiting for a return visit (回访) and recording one, kept at the hub
(`care_return_visits`, m110): satisfaction 1-5, a note, and a complaint to follow up;
an unrated visit gets the satisfaction as its rating (a `care_rate` command). A
complaint moves forward only: open -> followed up (who, when, what was done) -> closed
(m115, `hub.statuses.ComplaintStatus`).

Refusals carry English msgids (`N_`): the desk's pages show them through the
catalogs (edge/locale), in Chinese unless the operator chose English.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from typing import Any

from edge.domain.care.recipients import address
from edge.domain.households import normalise_phone
from edge.errors import BadRequest, Conflict, NotFound
from edge.store import Tx
from edge.store.ids import new_id
from edge.store.statuses import BookingStatus
from hub import care_commands
from hub.statuses import COMPLAINTS, ComplaintStatus
from sync.enrol import now_iso

RETURN_DAYS = 14  # finished visits this many days back wait for a return visit
ADDRESS_RE = re.compile(r"\A(\d+)\D*?(?:-|号楼|栋|幢)\D*?(\d+)?\D*?(?:-|单元)?\D*?(\d+)?")
FOLLOW_UP_MAX = 500
SATISFACTION = ("1", "2", "3", "4", "5")
# A visit still to come (or under way), as the elder's page lists them.
UPCOMING = frozenset(
    {
        BookingStatus.REQUESTED,
        BookingStatus.CONFIRMED,
        BookingStatus.ASSIGNED,
        BookingStatus.STARTED,
    }
)


def N_(msgid: str) -> str:
    """Marks a msgid for the catalog; the page translates it."""
    return msgid


# The desk's refusals, msgids of the catalogs (zh in the comment).
SAY_WHAT_WAS_DONE = N_("Say what was done.")  # 请写明做了什么
ALREADY_FOLLOWED_UP = N_("This complaint was already followed up.")  # 这条投诉已跟进
FOLLOW_UP_FIRST = N_("Follow the complaint up before closing it.")  # 先记录跟进再结案
ALREADY_CLOSED = N_("This complaint is already closed.")  # 这条投诉已结案
ONLY_FINISHED = N_("Only a finished visit gets a return visit.")  # 只回访已完成的服务
SATISFACTION_1_TO_5 = N_("Satisfaction must be 1 to 5.")  # 满意度请选 1 到 5
ALREADY_VISITED = N_("This visit already had its return visit.")  # 这次服务已回访


def search(conn: sqlite3.Connection, q: str, limit: int = 50) -> list[dict[str, Any]]:
    """Elders of every centre by name, phone tail (the elder's household or a family
    member's), a whole phone, or an address such as 5号楼2单元301 or 5-2-301."""
    q = q.strip()[:40]
    if not q:
        return []
    where, params = ["r.name LIKE ?"], [f"%{q}%"]
    digits = re.sub(r"\D", "", q)
    if digits and len(digits) == len(q.replace(" ", "")) and len(digits) >= 4:
        where += ["h.phone_tail = ?", "r.family LIKE ?"]
        params += [digits[-4:], f'%{digits[-4:]}"%']
        if len(digits) >= 7:
            try:
                where.append("h.phone = ?")
                params.append(normalise_phone(digits))
            except BadRequest:
                where.pop()
    found = ADDRESS_RE.match(q.replace(" ", ""))
    if found:
        building, unit, room = found.groups()
        clause, extra = "h.building = ?", [building]
        if unit:
            clause, extra = clause + " AND h.unit = ?", [*extra, unit]
        if room:
            clause, extra = clause + " AND h.room = ?", [*extra, room]
        where.append(f"({clause})")
        params += extra
    rows = conn.execute(
        "SELECT r.id, r.name, r.site_id, r.birth_date, r.mobility, r.subsidy, r.family,"
        " h.phone, h.building, h.unit, h.room, c.name AS centre_name FROM care_recipients r"
        " LEFT JOIN households h ON h.id = r.household_id"
        " LEFT JOIN sync_centres c ON c.site_id = r.site_id"
        f" WHERE r.active = 1 AND ({' OR '.join(where)}) ORDER BY r.name LIMIT ?",
        (*params, limit),
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["address"] = address(d)
        d["family"] = json.loads(d["family"] or "[]")
        out.append(d)
    return out


def elder_view(conn: sqlite3.Connection, recipient_id: str, hub_site: str) -> dict[str, Any]:
    row = care_commands.recipient(conn, recipient_id)
    elder = dict(row)
    elder.pop("care_notes", None)  # for the centre's manager and the assignee only
    elder["address"] = address(elder)
    for key in ("family", "emergency_contacts"):
        elder[key] = json.loads(elder[key] or "[]")
    elder["services"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, name, minutes, price_fen, subsidised_fen FROM care_services"
            " WHERE site_id IN (?, ?) AND active = 1 ORDER BY sort, name",
            (elder["site_id"], hub_site),
        )
    ]
    elder["series_results"] = [
        {**json.loads(r["args"]), "outcome": r["outcome"], "detail": r["detail"]}
        for r in conn.execute(
            "SELECT m.args, r.outcome, r.detail FROM sync_commands m"
            " JOIN sync_command_results r ON r.id = m.id WHERE m.name = 'care_book'"
            " AND json_extract(m.args, '$.recipient_id') = ?"
            " AND json_extract(m.args, '$.weekdays') IS NOT NULL ORDER BY m.created_at DESC"
            " LIMIT 10",
            (recipient_id,),
        )
    ]
    return elder


def to_call_back(conn: sqlite3.Connection, today: date, days: int = RETURN_DAYS) -> dict[str, Any]:
    """Finished visits of the last `days` days without a return visit, oldest first,
    with whom to call; and the complaints recorded to follow up."""
    since = (today - timedelta(days=days)).isoformat()
    due = []
    for r in conn.execute(
        "SELECT b.id, b.day, b.start, b.site_id, b.rating, b.caller, b.caller_relation,"
        " b.callback_phone, b.channel, r.id AS recipient_id, r.name AS recipient_name,"
        " r.family, h.phone, s.name AS service_name, p.name AS provider_name,"
        " c.name AS centre_name FROM care_bookings b"
        " JOIN care_recipients r ON r.id = b.recipient_id"
        " JOIN care_services s ON s.id = b.service_id"
        " LEFT JOIN households h ON h.id = r.household_id"
        " LEFT JOIN care_providers p ON p.id = b.provider_id"
        " LEFT JOIN sync_centres c ON c.site_id = b.site_id"
        " WHERE b.status = ? AND b.day >= ? AND b.day <= ?"
        " AND NOT EXISTS (SELECT 1 FROM care_return_visits v WHERE v.booking_id = b.id)"
        " ORDER BY b.day, b.start LIMIT 200",
        (BookingStatus.DONE, since, today.isoformat()),
    ):
        d = dict(r)
        d["family"] = json.loads(d["family"] or "[]")
        due.append(d)
    complaints = complaint_list(conn, COMPLAINTS)
    done = conn.execute(
        "SELECT COUNT(*), COALESCE(AVG(satisfaction), 0) FROM care_return_visits"
        " WHERE created_at >= ?",
        (since,),
    ).fetchone()
    return {"due": due, "complaints": complaints, "recorded": done[0], "average": done[1]}


def complaint_list(
    conn: sqlite3.Connection, statuses: tuple[str, ...], limit: int = 100
) -> list[dict[str, Any]]:
    """Complaints recorded on return visits in these states, the oldest open first
    (closed ones: the latest first)."""
    marks = ",".join("?" * len(statuses))
    rows = conn.execute(
        "SELECT v.*, b.day, b.start, r.id AS recipient_id, r.name AS recipient_name,"
        " s.name AS service_name, p.name AS provider_name, c.name AS centre_name"
        " FROM care_return_visits v"
        " JOIN care_bookings b ON b.id = v.booking_id"
        " JOIN care_recipients r ON r.id = b.recipient_id"
        " JOIN care_services s ON s.id = b.service_id"
        " LEFT JOIN care_providers p ON p.id = b.provider_id"
        " LEFT JOIN sync_centres c ON c.site_id = v.centre_id"
        f" WHERE v.complaint_status IN ({marks})"
        " ORDER BY CASE WHEN v.complaint_status = 'closed' THEN 1 ELSE 0 END,"
        " CASE WHEN v.complaint_status = 'closed' THEN v.closed_at END DESC,"
        " v.created_at, v.id LIMIT ?",
        (*statuses, limit),
    ).fetchall()
    return [dict(r) for r in rows]


def _complaint(tx: Tx, visit_id: str) -> Any:
    row = tx.one("SELECT id, complaint_status FROM care_return_visits WHERE id = ?", (visit_id,))
    if row is None or not row["complaint_status"]:
        raise NotFound(f"no complaint {visit_id[:64]!r}", field="visit_id")
    return row


def follow_up(tx: Tx, visit_id: str, action: str, operator: str, at: str) -> None:
    """open -> followed_up: who followed it up, when, and what was done."""
    row = _complaint(tx, visit_id)
    action = action.strip()
    if not action:
        raise BadRequest(SAY_WHAT_WAS_DONE, field="follow_up")
    if len(action) > FOLLOW_UP_MAX:
        raise BadRequest(f"at most {FOLLOW_UP_MAX} characters", field="follow_up")
    if row["complaint_status"] != ComplaintStatus.OPEN:
        raise Conflict(ALREADY_FOLLOWED_UP, "status")
    tx.execute(
        "UPDATE care_return_visits SET complaint_status = ?, followed_by = ?,"
        " followed_at = ?, follow_up = ? WHERE id = ? AND complaint_status = ?",
        (ComplaintStatus.FOLLOWED_UP, operator, at, action, visit_id, ComplaintStatus.OPEN),
    )


def close_complaint(tx: Tx, visit_id: str, operator: str, at: str) -> None:
    """followed_up -> closed; an open complaint must be followed up first."""
    row = _complaint(tx, visit_id)
    if row["complaint_status"] != ComplaintStatus.FOLLOWED_UP:
        raise Conflict(
            FOLLOW_UP_FIRST if row["complaint_status"] == ComplaintStatus.OPEN else ALREADY_CLOSED,
            field="status",
        )
    tx.execute(
        "UPDATE care_return_visits SET complaint_status = ?, closed_by = ?,"
        " closed_at = ? WHERE id = ? AND complaint_status = ?",
        (ComplaintStatus.CLOSED, operator, at, visit_id, ComplaintStatus.FOLLOWED_UP),
    )


def record_return_visit(
    tx: Tx, booking_id: str, satisfaction: str, note: str, complaint: str, operator: str
) -> str:
    """One return visit per finished booking; an unrated visit takes its satisfaction
    as the rating (a command to the centre)."""
    row = tx.one(
        "SELECT id, site_id, status, rating FROM care_bookings WHERE id = ?", (booking_id,)
    )
    if row is None:
        raise NotFound(f"no booking {booking_id[:64]!r}", field="booking_id")
    if row["status"] != BookingStatus.DONE:
        raise Conflict(ONLY_FINISHED)
    if satisfaction not in SATISFACTION:
        raise BadRequest(SATISFACTION_1_TO_5, field="satisfaction")
    note, complaint = note.strip(), complaint.strip()
    if len(note) > 300 or len(complaint) > 500:
        raise BadRequest("note: 300, complaint: 500 characters at most", field="note")
    if tx.one("SELECT 1 FROM care_return_visits WHERE booking_id = ?", (booking_id,)):
        raise Conflict(ALREADY_VISITED)
    tx.execute(
        "INSERT INTO care_return_visits (id, booking_id, centre_id, satisfaction, note,"
        " complaint, complaint_status, operator, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id(),
            booking_id,
            row["site_id"],
            int(satisfaction),
            note,
            complaint,
            ComplaintStatus.OPEN if complaint else ComplaintStatus.NONE,
            operator,
            now_iso(),
        ),
    )
    pending = tx.one(
        "SELECT 1 FROM sync_commands m LEFT JOIN sync_command_results r ON r.id = m.id"
        " WHERE m.name IN ('care_cancel', 'care_rate') AND m.name = 'care_rate'"
        " AND r.id IS NULL AND coalesce(json_extract(m.args, '$.booking_id'),"
        " json_extract(m.args, '$.request_id')) = ?",
        (booking_id,),
    )
    if row["rating"] is None and pending is None:
        care_commands.rate(tx, booking_id, int(satisfaction), f"12349回访 {note}"[:200], operator)
    return booking_id
