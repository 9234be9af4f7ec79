"""The family's link slip (/care/elders, manager): each elder's link code, printed with a
QR code the son or daughter scans to open the hub's family page with the code filled in.

The QR holds `<hub>/family?code=<code>`: the hub address this centre joined (its public
address). A centre not joined yet prints the code alone. A lost slip is replaced by a
new code: the old one links no one from then on (`recipients.new_code`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from edge.domain.care import recipients
from edge.store import get_meta
from edge.web.pages.base import AnyRequest, MeDep, need_manager, page
from edge.web.pages.poster import qr
from edge.web.shared import StoreDep

HUB_URL_META = "sync_hub_url"  # set by `linli centre join` (sync.enrol.META_HUB_URL)


def family_url(hub_url: str | None, code: str) -> str | None:
    return f"{hub_url.rstrip('/')}/family?code={quote(code)}" if hub_url else None


@get("/elders")
async def elders_page(request: AnyRequest, me: MeDep, store: StoreDep) -> Template:
    need_manager(me)
    found = await store.read(lambda c: recipients.list_recipients(c, sees_notes=False))
    return page(request, "care/elders.html", me, elders=found)


@get("/elders/{recipient_id:str}/slip")
async def slip_page(
    request: AnyRequest, me: MeDep, store: StoreDep, recipient_id: FromPath[str]
) -> Template:
    need_manager(me)

    def read(conn: Any) -> tuple[dict[str, Any], str | None]:
        elder = recipients.get_recipient(conn, recipient_id, sees_notes=False)
        return elder, get_meta(conn, HUB_URL_META)

    elder, hub_url = await store.read(read)
    url = family_url(hub_url, elder["link_code"])
    return page(
        request,
        "care/slip.html",
        me,
        elder=elder,
        hub_url=hub_url,
        url=url,
        qr=qr(url or elder["link_code"]),
    )


@post("/elders/{recipient_id:str}/new-code")
async def new_code(
    request: AnyRequest, me: MeDep, store: StoreDep, recipient_id: FromPath[str]
) -> Redirect:
    need_manager(me)
    await store.write(lambda tx: recipients.new_code(tx, recipient_id))
    return Redirect(path=f"/care/elders/{recipient_id}/slip", status_code=303)


SLIP_HANDLERS = [elders_page, slip_page, new_code]
