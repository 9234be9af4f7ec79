"""The poster the manager prints for the tablets: the box's address and a QR code.

The addresses are the box's own: `http://<name>.local:<port>/` when it announces itself
over mDNS (`linli serve --mdns-name`), and `http://<LAN IP>:<port>/` on each network it
is on. The QR code holds the IP address: every tablet opens it, while some older
Android tablets do not look up `.local` names.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import segno
from litestar import get
from litestar.response import Template
from markupsafe import Markup

from edge.box import lan_ipv4
from edge.web.pages.base import AnyRequest, MeDep, need_manager, page


def _lan_host(host: str | None) -> str | None:
    """The address this tablet reached the box on, when it is a LAN IPv4 address."""
    try:
        ip = ipaddress.IPv4Address(host or "")
    except ValueError:
        return None
    return str(ip) if ip.is_private and not ip.is_loopback else None


def box_addresses(request: AnyRequest) -> dict[str, Any]:
    """The name URL (or None), the IP URLs (the one this tablet used first) and the port."""
    settings = request.app.state.settings
    port = int(getattr(request.app.state, "box_port", None) or settings.port)
    ips = lan_ipv4()
    here = _lan_host(request.url.hostname)
    if here:
        ips = [here, *(ip for ip in ips if ip != here)]
    mdns_host = getattr(request.app.state, "mdns_host", None)
    return {
        "port": port,
        "name_url": f"http://{mdns_host}:{port}/" if mdns_host else None,
        "ip_urls": [f"http://{ip}:{port}/" for ip in ips],
    }


def qr(url: str) -> Markup:
    svg = segno.make(url, error="m", micro=False).svg_inline(scale=8, border=2)
    return Markup(svg)  # segno's own output around the box's own address


@get("/poster", include_in_schema=False)
async def poster(request: AnyRequest, me: MeDep) -> Template:
    need_manager(me)
    where = box_addresses(request)
    ip_urls: list[str] = where["ip_urls"]
    target = ip_urls[0] if ip_urls else where["name_url"] or str(request.base_url)
    return page(request, "poster.html", me, qr_url=target, qr=qr(target), **where)


HANDLERS: list[Any] = [poster]
