"""Care data for the demo centre: the report's services, elders, providers, a few visits."""

from __future__ import annotations

from datetime import date
from typing import Any

from edge.domain.care import bookings, catalog, providers, recipients
from edge.domain.care.common import Actor
from edge.store import Tx

# household name -> elder's details
ELDERS: dict[str, dict[str, Any]] = {
    "王秀英": {
        "birth_date": "1938-04-12",
        "mobility": "wheelchair",
        "diet_notes": "低盐，软食",
        "care_notes": "右手无力，洗澡需两人扶",
        "subsidy": True,
        "day_care": True,
        "family": [{"name": "王明", "relation": "儿子", "phone": "13912345678"}],
        "emergency_contacts": [{"name": "王明", "relation": "儿子", "phone": "13912345678"}],
    },
    "赵德明": {
        "birth_date": "1941-09-30",
        "mobility": "cane",
        "diet_notes": "糖尿病，少糖",
        "care_notes": "每周三去市立医院复查",
        "subsidy": True,
        "day_care": True,
        "family": [{"name": "赵丽", "relation": "女儿", "phone": "13687654321"}],
    },
    "周凤兰": {
        "birth_date": "1945-01-08",
        "diet_notes": "对花生过敏",
        "day_care": True,
        "family": [{"name": "周强", "relation": "儿子", "phone": "15012345678"}],
    },
}


def seed(tx: Tx, households: dict[str, str], staff: dict[str, str], today: date) -> dict[str, Any]:
    """Services, the elders of `households` named in ELDERS, providers (the demo's staff by
    `staff` name -> id, an organisation and its worker) and today's visits."""
    services = catalog.seed_demo(tx)
    elders = {
        name: recipients.create_recipient(tx, households[name], fields | {"name": name})
        for name, fields in ELDERS.items()
        if name in households
    }
    people = {
        "小李": providers.create_provider(
            tx,
            {
                "name": "小李",
                "kind": "volunteer",
                "staff_id": staff.get("小李"),
                "skills": ["陪诊", "送餐"],
            },
        ),
        "王姐": providers.create_provider(
            tx,
            {
                "name": "王姐",
                "kind": "staff",
                "staff_id": staff.get("王姐"),
                "skills": ["助浴", "送餐"],
            },
        ),
    }
    org = providers.create_provider(tx, {"name": "康乐家政服务社", "kind": "organisation"})
    people["刘师傅"] = providers.create_provider(
        tx, {"name": "刘师傅", "kind": "worker", "organisation_id": org, "skills": ["助浴"]}
    )
    desk = Actor("小玮", staff.get("小玮"), "manager")
    day = today.isoformat()
    if "王秀英" in elders:
        bath = bookings.create_booking(
            tx, bookings.BookingInput(elders["王秀英"], services["助浴"], day, "09:30"), desk
        )
        bookings.assign(tx, bath, people["王姐"], desk)
    if "赵德明" in elders:
        bookings.create_booking(
            tx,
            bookings.BookingInput(
                elders["赵德明"],
                services["陪诊"],
                day,
                "13:30",
                channel="family",
                requested_by="赵丽",
                note="市立医院内分泌科复查",
            ),
            Actor("赵丽"),
        )
    for name in elders:
        bookings.create_booking(
            tx, bookings.BookingInput(elders[name], services["助餐"], day, "11:30"), desk
        )
    return {"services": services, "elders": elders, "providers": people}
