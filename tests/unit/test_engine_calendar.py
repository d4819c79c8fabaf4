"""Time in the dialplan: the `hours` verb against calendars (time zone, lunch breaks,
holidays as local dates) and date slots read on the caller's local day."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    SetVariables,
)
from ivr.dialplan.engine import DialogState
from tests.unit.inline_plans import FACTS, engine

# ---------------------------------------------------------------- hours
HOURS = """
calendars:
  office:
    timezone: Asia/Shanghai
    weekly: {mon-fri: "09:00-18:00", sat: ["09:00-12:00", "14:00-17:00"]}
    holidays: [2026-10-01]
  always:
    weekly: {mon-sun: "00:00-24:00"}
    holidays: [2026-10-01]
"""
HOURS_NODES = """
s:
  hours: {calendar: office, open: open, closed: closed}
open: {hangup: {reason: open}}
closed: {hangup: {reason: closed}}
a:
  hours: {calendar: always, open: open, closed: closed}
"""


@pytest.mark.parametrize(
    ("utc", "reason"),
    [
        (dt.datetime(2026, 11, 20, 2, 0), "open"),  # Fri 10:00 Shanghai
        (dt.datetime(2026, 11, 20, 1, 0), "open"),  # Fri 09:00 Shanghai (01:00 UTC)
        (dt.datetime(2026, 11, 20, 0, 59), "closed"),  # Fri 08:59 Shanghai
        (dt.datetime(2026, 11, 20, 9, 59), "open"),  # Fri 17:59
        (dt.datetime(2026, 11, 20, 10, 0), "closed"),  # Fri 18:00: end is exclusive
        (dt.datetime(2026, 11, 19, 23, 30), "closed"),  # Fri 07:30 (Thu in UTC)
        (dt.datetime(2026, 11, 21, 3, 0), "open"),  # Sat 11:00
        (dt.datetime(2026, 11, 21, 5, 0), "closed"),  # Sat 13:00: lunch break
        (dt.datetime(2026, 11, 21, 6, 30), "open"),  # Sat 14:30
        (dt.datetime(2026, 11, 22, 2, 0), "closed"),  # Sunday
        (dt.datetime(2026, 10, 1, 2, 0), "closed"),  # holiday (a Thursday)
    ],
)
def test_hours_calendar_time_zone(tmp_path, utc, reason):
    e = engine(tmp_path, HOURS_NODES, HOURS)
    assert e.start({}, {"now": utc.replace(tzinfo=dt.UTC)}).actions == [Hangup(reason)]


@pytest.mark.parametrize(
    ("utc", "reason"),
    [
        (dt.datetime(2026, 9, 30, 15, 30), "open"),  # Sep 30 23:30 in Shanghai
        (dt.datetime(2026, 9, 30, 16, 30), "closed"),  # Oct 1 00:30 in Shanghai: holiday
        (dt.datetime(2026, 10, 1, 16, 0), "open"),  # Oct 2 00:00 in Shanghai (Oct 1 UTC)
    ],
)
def test_hours_holiday_is_a_local_date(tmp_path, utc, reason):
    e = engine(tmp_path, HOURS_NODES, HOURS)
    state = DialogState("a", "zh-CN")
    step = e._run(state, [], None, {"now": utc.replace(tzinfo=dt.UTC)})
    assert step.actions == [Hangup(reason)]


# ---------------------------------------------------------------- date slots and time zone
DATE_PLAN = """
        s:
          gather:
            prompt: 哪天
            slot: {name: day, type: date}
            next: done
        done: {hangup: {}}
    """


def test_date_slot_uses_the_callers_local_day(tmp_path):
    e = engine(tmp_path, DATE_PLAN)
    first = e.start({}, FACTS)
    late = {"now": dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC)}
    step = e.step(first.state, CallerInput("speech", "明天"), late)
    assert step.state.variables == {"day": "2026-11-23"}


def test_date_slot_in_engine(tmp_path):
    e = engine(tmp_path, DATE_PLAN)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("speech", "明天"), FACTS)
    assert step.state.variables == {"day": "2026-11-21"}
    assert step.actions == [SetVariables({"day": "2026-11-21"}), Hangup("completed")]
