"""What the test_slot_* modules share: a fixed clock in Shanghai (a Saturday), a valid
resident ID card number and a `Slot` of a given type."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ivr.dialplan.nodes import Slot

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=SH)  # a Saturday
ID = "11010519491231002X"  # valid checksum, born 1949-12-31


def slot(type_: str, **kw) -> Slot:
    return Slot(name="v", type=type_, **kw)
