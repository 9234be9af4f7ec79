"""The hotline desk's forms (`hub.hotline`), as typed structs litestar decodes from the
posted form (`URLEncodedBody[...]`), and the booking form's checks.

Refusals carry English msgids (`N_`), shown through the catalogs (edge/locale).
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge.errors import BadRequest
from edge.web.forms import parse_int
from hub.hotline_desk import N_

# msgids of the catalogs
WHO_IS_CALLING = N_("Who is calling?")  # 请填写来电人
CALL_BACK_NUMBER = N_("Give a call-back number.")  # 请填写回拨电话
CHOOSE_WEEKDAYS = N_("To repeat, choose the weekdays.")  # 重复预约请勾选星期
UNTIL_WHICH_DAY = N_("To repeat, say until which day.")  # 重复预约请填写截止日期


# --- the forms, as posted ------------------------------------------------------------
# Every field is text, blank when left out, as a browser posts it; the checks that give a
# refusal its field and words stay in the code that uses them.


class BookForm(msgspec.Struct):
    caller: str = ""
    caller_relation: str = ""
    callback_phone: str = ""
    service_id: str = ""
    day: str = ""
    start: str = ""
    note: str = ""
    # checkboxes: one ticked comes as a text, several as a list
    weekday: list[str] | str = msgspec.field(default_factory=list)
    until: str = ""


class CancelForm(msgspec.Struct):
    booking_id: str = ""
    request_id: str = ""
    reason: str = ""


class SeriesStepForm(msgspec.Struct):
    from_day: str = ""
    reason: str = ""


class ReturnVisitForm(msgspec.Struct):
    satisfaction: str = ""
    note: str = ""
    complaint: str = ""


class ComplaintForm(msgspec.Struct):
    follow_up: str = ""
    back: str = ""  # "returns": the return-visit list posted it


def book_fields(form: BookForm) -> dict[str, Any]:
    """The `care_book` command's fields from the booking form, or the refusal naming
    the field to fix."""
    caller = form.caller.strip()
    callback = form.callback_phone.strip()
    if not caller:
        raise BadRequest(WHO_IS_CALLING, field="caller")
    if not callback:
        raise BadRequest(CALL_BACK_NUMBER, field="callback_phone")
    fields: dict[str, Any] = {
        "service_id": form.service_id,
        "day": form.day,
        "start": form.start,
        "note": form.note,
        "channel": "hotline",
        "requested_by": caller,
        "caller": caller,
        "caller_relation": form.caller_relation.strip(),
        "callback_phone": callback,
    }
    ticked = [form.weekday] if isinstance(form.weekday, str) else form.weekday
    weekdays = [parse_int(text, "weekdays", maximum=6) for text in ticked]
    until = form.until.strip()
    if weekdays or until:
        if not weekdays:
            raise BadRequest(CHOOSE_WEEKDAYS, field="weekdays")
        if not until:
            raise BadRequest(UNTIL_WHICH_DAY, field="until")
        fields["weekdays"], fields["until"] = weekdays, until
    return fields
