"""What every tablet page shares: who is signed in, rendering, and form errors.

Pages call the domain directly (never the API over HTTP). A page that needs
a signed-in staff member asks for the `me` dependency; without a session
cookie the tablet is sent to the sign-in page and back afterwards.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect, Template

from edge.domain.auth import Staff
from edge.errors import EdgeError, Forbidden
from edge.settings import Settings
from edge.sync_hooks import NOT_ENROLLED
from edge.web.pages.i18n import configure_templates, gettext_for, locale_of
from edge.web.shared import page_staff

AnyRequest = Request[Any, Any, Any]
MeDep = NamedDependency[Staff]  # the signed-in staff member, from `require_staff`


def N_(msgid: str) -> str:
    """Marks a msgid for the catalog; translated later, where the request is known."""
    return msgid


class SignInRequired(NotAuthorizedException):
    """No valid session cookie on a page that needs one."""


async def require_staff(request: AnyRequest) -> Staff:
    staff = await page_staff(request)
    if staff is None:
        raise SignInRequired()
    return staff


def to_signin(request: AnyRequest, exc: SignInRequired) -> Response[Any]:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/signin" if back == "/" else f"/signin?next={quote(back)}"
    if is_htmx(request):  # htmx would swap the redirect into a fragment; go whole-page
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def need_manager(me: MeDep) -> None:
    if not me.is_manager:
        raise Forbidden("only the station manager may open this page")


def need_staff(me: MeDep) -> None:
    if not me.sees_phones:  # the same line: staff and managers, not volunteers
        raise Forbidden("only staff or the station manager may do this")


def is_htmx(request: AnyRequest) -> bool:
    return request.headers.get("hx-request") == "true"


def today(request: AnyRequest) -> date:
    settings: Settings = request.app.state.settings
    return settings.now().date()


def badge_status(app_state: Any) -> dict[str, Any]:
    """The sync badge, from the agent's memory: rendering never waits on the database."""
    agent = getattr(app_state, "sync", None)
    return agent.status() if agent is not None else dict(NOT_ENROLLED)


def page(
    request: AnyRequest,
    template: str,
    me: Staff | None = None,
    *,
    status: int = 200,
    **context: Any,
) -> Template:
    """Render a page with what the layout needs (who, where, which language)."""
    configure_templates(request.app.template_engine)  # no-op once the app has done it
    return Template(
        template_name=template,
        context={
            "me": me,
            "centre_name": getattr(request.app.state, "centre_name", "Linli"),
            "locale": locale_of(request),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "sync_status": badge_status(request.app.state),
            **context,
        },
        status_code=status,
    )


# Plain-language hints per field; the domain's own detail is shown under them.
FIELD_HINTS = {
    "pin": N_("The PIN is 4 to 8 digits."),
    "add_to": N_(
        "That order changed or was packed since it was shown. Open it to look, or make a"
        " separate order."
    ),
    "name": N_("Please enter a name."),
    "phone": N_("Check the phone number: an 11-digit mobile or a landline."),
    "items": N_("Choose at least one product and give a quantity."),
    "product_id": N_("That product is no longer on sale."),
    "quantity": N_("Check the quantity: a number above zero, whole numbers for pieces."),
    "unit": N_("That unit does not fit this product."),
    "household": N_("Choose a household or enter the resident's name."),
    "household_id": N_("Choose a household or enter the resident's name."),
    "pickup_date": N_("That day is not open for orders."),
    "delivery_mode": N_("Choose pick-up or home delivery."),
    "channel": N_("Choose how the order came in."),
    "notes": N_("The note is too long."),
    "amount": N_("Enter the amount paid in yuan, for example 12.50."),
    "amount_fen": N_("Enter the amount paid in yuan, for example 12.50."),
    "given": N_("Enter the amount paid in yuan, for example 12.50."),
    "weights": N_("Weigh every item sold by weight and enter it in jin, for example 2.3."),
    "grams": N_("Enter weights in jin, between 0.1 and 100."),
    "method": N_("Choose how they paid."),
    "lines": N_("Choose at least one product and give a quantity."),
    "price_fen": N_("Enter a price in yuan, for example 3.50."),
    "price": N_("Enter a price in yuan, for example 3.50."),
    "special_price_fen": N_("Enter a price in yuan, for example 3.50."),
    "special_price": N_("Enter a price in yuan, for example 3.50."),
    "special_from": N_("Enter dates as YYYY-MM-DD."),
    "special_to": N_("Enter dates as YYYY-MM-DD."),
    "day": N_("Enter dates as YYYY-MM-DD."),
    "sold_by": N_("Choose how the product is sold."),
    "bundle_size": N_("A bundle holds 1 to 100 pieces."),
    "cutoff": N_("Enter a time as HH:MM, for example 20:00."),
    "weekdays": N_("Choose at least one delivery weekday."),
    "kind": N_("Choose closed or extra delivery day."),
    "idempotency_key": N_("Please reload the form and try again."),
}


def field_key(field: str | None) -> str:
    """`items[2].quantity` → `quantity`: the part a person can act on."""
    if not field:
        return ""
    last = field.rsplit(".", 1)[-1]
    return last.split("[", 1)[0]


def form_error(request: AnyRequest, exc: EdgeError) -> dict[str, str]:
    _ = gettext_for(request)
    key = field_key(exc.field)
    hint = FIELD_HINTS.get(key, N_("Please check the form."))
    return {"field": exc.field or "", "key": key, "hint": _(hint), "detail": exc.detail}
