"""Undoing a money step over the API: a hand-over, a payment, a walk-in sale.

The same rules as the tablet (edge/domain/corrections.py): a reason, and a station
manager's name and PIN when money goes back out of the drawer. The answer is
the correction rows written; a step already undone is a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody

from edge.domain import corrections
from edge.domain.auth import Auth
from edge.domain.calendar import iso_day
from edge.domain.signin import SignInPolicy, client_address
from edge.errors import BadRequest
from edge.web.api.replies import HandoverVoided, PaymentVoided, SaleVoided
from edge.web.shared import SettingsDep, StaffDep, StoreDep


class CorrectionBody(msgspec.Struct, forbid_unknown_fields=True):
    kind: Annotated[
        str,
        msgspec.Meta(
            description="void_handover (target: an order id), void_payment (a payment id)"
            " or void_sale (a walk-in sale id)."
        ),
    ]
    target_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reason: Annotated[str, msgspec.Meta(max_length=200)]
    manager_name: str = ""
    manager_pin: Annotated[
        str,
        msgspec.Meta(
            max_length=16,
            description="Needed when money goes back out of the drawer (a 403 on"
            " manager_pin without it); wrong PINs count against the manager's name.",
        ),
    ] = ""


VOIDS = {
    "void_handover": corrections.void_handover,
    "void_payment": corrections.void_payment,
    "void_sale": corrections.void_sale,
}
VOIDED: dict[str, type[HandoverVoided | PaymentVoided | SaleVoided]] = {
    "void_handover": HandoverVoided,
    "void_payment": PaymentVoided,
    "void_sale": SaleVoided,
}


class CorrectionController(Controller):
    path = "/api/v1/corrections"
    tags = ["desk"]

    @post("/", status_code=201)
    async def undo(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        staff: StaffDep,
        settings: SettingsDep,
        data: JSONBody[CorrectionBody],
    ) -> HandoverVoided | PaymentVoided | SaleVoided:
        """Void a hand-over (the order goes back to packed and its payments are
        reversed), one payment (the amount is owed again) or a walk-in sale."""
        run = VOIDS.get(data.kind)
        if run is None:
            raise BadRequest(f"kind must be one of {', '.join(VOIDS)}", field="kind")
        manager = None
        if data.manager_name or data.manager_pin:
            auth: Auth = request.app.state.auth
            client = client_address(request, settings.trusted_proxies)
            approved = await auth.approving_manager(
                client, data.manager_name, data.manager_pin, SignInPolicy.of(settings)
            )
            manager = approved.id
        done = await store.write(
            lambda tx: run(
                tx, data.target_id, reason=data.reason, staff_id=staff.id, manager_id=manager
            )
        )
        return VOIDED[data.kind](**done)

    @get("/")
    async def day(
        self, store: StoreDep, staff: StaffDep, day: FromQuery[str]
    ) -> list[dict[str, Any]]:
        """The day's corrections (the day whose takings they change), oldest first."""
        d = iso_day(day, "day")
        return await store.read(lambda c: corrections.for_day(c, d))
