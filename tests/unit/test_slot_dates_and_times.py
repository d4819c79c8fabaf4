"""Date and time slots (`ivr.understanding.slots`), Chinese and English: relative days,
weekdays of this and next week, month and day with the year rolled forward, ISO dates, and
clock times with parts of the day, quarters and half hours."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.understanding.slots import extract_date, extract_slot, extract_time
from tests.unit.slot_examples import NOW, SH, slot

MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=SH)


def test_fixed_now_is_a_saturday():
    assert NOW.weekday() == 5
    assert MONDAY.weekday() == 0


# ---------------------------------------------------------------- date
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", "2026-11-21"),
        ("明天", "2026-11-22"),
        ("后天", "2026-11-23"),
        ("大后天", "2026-11-24"),
        ("明天下午", "2026-11-22"),
        ("周三", "2026-11-25"),  # the coming Wednesday
        ("星期三", "2026-11-25"),
        ("礼拜三", "2026-11-25"),
        ("下周三", "2026-11-25"),  # Wednesday of next calendar week (today is Saturday)
        ("下下周三", "2026-12-02"),
        ("周日", "2026-11-22"),
        ("星期天", "2026-11-22"),
        ("3月5号", "2027-03-05"),  # past this year -> next year
        ("三月五号", "2027-03-05"),
        ("12月25号", "2026-12-25"),  # still ahead this year
        ("十一月二十一日", "2026-11-21"),  # today counts as not past
        ("11月20号", "2027-11-20"),  # yesterday -> next year
        ("25号", "2026-11-25"),  # later this month
        ("21号", "2026-11-21"),
        ("2026-12-01", "2026-12-01"),
        ("2027年1月2日", "2027-01-02"),
        ("2026/12/31", "2026-12-31"),
        ("2月30号", None),
        ("2026年2月30日", None),
        ("随便", None),
    ],
)
def test_date_chinese(text, expected):
    assert extract_date(text, "zh-CN", NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-11-21"),
        ("Tomorrow", "2026-11-22"),
        ("the day after tomorrow", "2026-11-23"),
        ("friday", "2026-11-27"),
        ("next friday", "2026-11-27"),
        ("monday", "2026-11-23"),
        ("saturday", "2026-11-28"),  # the coming one, not today
        ("March 3rd", "2027-03-03"),  # past -> next year
        ("3rd of December", "2026-12-03"),
        ("the 3rd of december", "2026-12-03"),
        ("december 25", "2026-12-25"),
        ("May 5th", "2027-05-05"),
        ("2026-12-01", "2026-12-01"),
        ("2027-01-02", "2027-01-02"),
        ("february 30th", None),
        ("2026-02-30", None),
        ("whenever", None),
    ],
)
def test_date_english(text, expected):
    assert extract_date(text, "en-US", NOW) == expected


def test_weekday_this_week_vs_next_week_from_monday():
    assert extract_date("周三", "zh-CN", MONDAY) == "2026-11-18"
    assert extract_date("下周三", "zh-CN", MONDAY) == "2026-11-25"
    assert extract_date("friday", "en-US", MONDAY) == "2026-11-20"
    assert extract_date("next friday", "en-US", MONDAY) == "2026-11-27"
    assert extract_date("monday", "en-US", MONDAY) == "2026-11-23"  # not today


def test_date_year_end():
    eve = dt.datetime(2026, 12, 31, 9, 0, tzinfo=SH)
    assert extract_date("明天", "zh-CN", eve) == "2027-01-01"
    assert extract_date("1月1号", "zh-CN", eve) == "2027-01-01"
    assert extract_date("tomorrow", "en-US", eve) == "2027-01-01"


def test_date_via_slot():
    assert extract_slot(slot("date"), "明天", "zh-CN", NOW) == "2026-11-22"
    assert extract_slot(slot("date"), "next friday", "en-US", NOW) == "2026-11-27"


def test_day_of_month_already_past_means_next_month():
    assert extract_date("20号", "zh-CN", NOW) == "2026-12-20"


# ---------------------------------------------------------------- time
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("下午三点半", "15:30"),
        ("上午九点十五分", "09:15"),
        ("晚上八点", "20:00"),
        ("中午十二点", "12:00"),
        ("凌晨十二点", "00:00"),
        ("早上八点", "08:00"),
        ("下午3点", "15:00"),
        ("三点", "03:00"),
        ("十五点三十分", "15:30"),
        ("15:30", "15:30"),
        ("下午3:30", "15:30"),
        ("15：30", "15:30"),  # full-width colon
        ("25:00", None),
        ("没时间", None),
    ],
)
def test_time_chinese(text, expected):
    assert extract_time(text, "zh-CN") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 pm", "15:00"),
        ("3pm", "15:00"),
        ("3 p.m.", "15:00"),
        ("15:30", "15:30"),
        ("3:30 pm", "15:30"),
        ("half past two in the afternoon", "14:30"),
        ("quarter to nine", "08:45"),
        ("quarter past ten", "10:15"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("ten thirty am", "10:30"),
        ("seven thirty pm", "19:30"),
        ("nine am", "09:00"),
        ("ten o'clock", "10:00"),
        ("12 am", "00:00"),
        ("12 pm", "12:00"),
        ("no idea", None),
    ],
)
def test_time_english(text, expected):
    assert extract_time(text, "en-US") == expected


@pytest.mark.parametrize(("text", "expected"), [("十点一刻", "10:15"), ("下午两点三刻", "14:45")])
def test_time_quarter_hours_chinese(text, expected):
    assert extract_time(text, "zh-CN") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("at 3 pm", "15:00"), ("at 3pm", "15:00"), ("call me at ten am", "10:00")],
)
def test_time_with_leading_words(text, expected):
    assert extract_time(text, "en-US") == expected


def test_time_twelve_at_night():
    assert extract_time("晚上十二点", "zh-CN") == "00:00"
