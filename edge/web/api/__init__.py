"""The JSON API under /api/v1, one controller per domain concept."""

from __future__ import annotations

from edge.web.api.auth import AuthController
from edge.web.api.corrections import CorrectionController
from edge.web.api.desk import DeskController
from edge.web.api.households import HouseholdController
from edge.web.api.orders import OrderController
from edge.web.api.products import CalendarController, ProductController
from edge.web.api.wechat import WechatController

CONTROLLERS = [
    AuthController,
    ProductController,
    CalendarController,
    HouseholdController,
    OrderController,
    DeskController,
    CorrectionController,
    WechatController,
]

__all__ = ["CONTROLLERS"]
