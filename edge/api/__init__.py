"""The JSON API under /api/v1, one controller per domain concept."""

from __future__ import annotations

from edge.api.auth import AuthController
from edge.api.corrections import CorrectionController
from edge.api.desk import DeskController
from edge.api.households import HouseholdController
from edge.api.orders import OrderController
from edge.api.products import CalendarController, ProductController
from edge.api.wechat import WechatController

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
