"""What a WeChat card posts back, as one Struct: the sender and their message turns,
the household chosen or typed, and the rows as edited (`p_N` product, `q_N` quantity,
`u_N` unit, `c_N` confidence, `f_N` fragment, `a_N` amount asked for, by row number N).

Every card handler (re-draw, edit, link, confirm) decodes it once; the numbers in the
rows are read where the rows are built (rows.py), so their refusals name the input.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from edge.domain.wechat.drafts import MAX_TURNS
from edge.web.forms import Prefixed, Text

Hh = Annotated[str, Text(limit=40)]
Ids = Annotated[str, Text(limit=64 * (MAX_TURNS + 1))]  # comma-separated ids or keys


class CardForm(msgspec.Struct, kw_only=True):
    sender: Annotated[str, Text(strip=True)] = ""  # the card's sender: its first 40 characters
    turns: str = ""  # [[sent_at, text], ...] as JSON (turns_from_form checks it)
    text: str = ""  # a card drawn before turns were remembered: its text as one turn
    link_to: str = ""  # a suggested household tapped to link
    household_id: str = ""  # the household picked in the list or matched by nickname
    new: Ids = ""  # the turns that were new when the card was drawn
    ack: Ids = ""  # open orders of the household the card showed
    notes: Annotated[str, Text(limit=500)] = ""
    delivery_mode: str = ""
    hh_name: Hh = ""
    hh_phone: Hh = ""
    hh_building: Hh = ""
    hh_unit: Hh = ""
    hh_room: Hh = ""
    hh_wechat_nickname: Hh = ""
    hh_home_delivery: bool = False
    op: str = ""  # edit: "add", "del:<row>", "skip"
    products: Annotated[dict[str, str], Prefixed("p_")] = {}
    quantities: Annotated[dict[str, str], Prefixed("q_"), Text(limit=12, strip=True)] = {}
    units: Annotated[dict[str, str], Prefixed("u_"), Text(limit=4, strip=True)] = {}
    confidences: Annotated[dict[str, str], Prefixed("c_")] = {}
    fragments: Annotated[dict[str, str], Prefixed("f_"), Text(limit=200)] = {}
    amounts: Annotated[dict[str, str], Prefixed("a_")] = {}

    def hh(self) -> dict[str, str]:
        """The household typed on the card (name, phone, building, unit, room, nickname)."""
        return {
            "name": self.hh_name,
            "phone": self.hh_phone,
            "building": self.hh_building,
            "unit": self.hh_unit,
            "room": self.hh_room,
            "wechat_nickname": self.hh_wechat_nickname,
        }
