"""Typed slot values (`ivr.understanding.slots`): amounts, dates, times, phones, ID cards,
regex, yes/no, and values keyed on the phone pad."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.dialplan.nodes import Slot
from ivr.understanding.slots import (
    extract_amount,
    extract_date,
    extract_id_card,
    extract_phone,
    extract_slot,
    extract_time,
    id_card_valid,
    keyed_slot,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=SH)  # a Saturday
MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=SH)
ID = "11010519491231002X"  # valid checksum, born 1949-12-31


def slot(type_: str, **kw) -> Slot:
    return Slot(name="v", type=type_, **kw)


def test_fixed_now_is_a_saturday():
    assert NOW.weekday() == 5
    assert MONDAY.weekday() == 0


# ---------------------------------------------------------------- amount
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("58.20", "zh-CN", 58.2),
        ("58.20", "en-US", 58.2),
        ("五十八元二角", "zh-CN", 58.2),
        ("五十八元二角五分", "zh-CN", 58.25),
        ("五十八块五", "zh-CN", 58.5),
        ("十二块五毛", "zh-CN", 12.5),
        ("一百块", "zh-CN", 100.0),
        ("一百元", "zh-CN", 100.0),
        ("一百", "zh-CN", 100.0),
        ("58元", "zh-CN", 58.0),
        ("twelve dollars and fifty cents", "en-US", 12.5),
        ("twelve dollars fifty", "en-US", 12.5),
        ("one hundred dollars", "en-US", 100.0),
        ("fifty eight point two", "en-US", 58.2),
        ("$12.50", "en-US", 12.5),
        ("100 yuan", "en-US", 100.0),
    ],
)
def test_amount(text, language, expected):
    value = extract_amount(text, language)
    assert value == expected
    assert isinstance(value, float)


def test_amount_nothing_said():
    assert extract_amount("你好", "zh-CN") is None
    assert extract_amount("hello there", "en-US") is None


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [("58.20元", "zh-CN", 58.2), ("58.5块", "zh-CN", 58.5), ("12.50 dollars", "en-US", 12.5)],
)
def test_amount_decimal_with_currency_word(text, language, expected):
    assert extract_amount(text, language) == expected


@pytest.mark.parametrize(("text", "language"), [("五毛", "zh-CN"), ("fifty cents", "en-US")])
def test_amount_cents_only(text, language):
    assert extract_amount(text, language) == 0.5


def test_amount_range_via_slot():
    s = slot("amount", min_value=10, max_value=100)
    assert extract_slot(s, "五十八块五", "zh-CN", NOW) == 58.5
    assert extract_slot(s, "五块", "zh-CN", NOW) is None
    assert extract_slot(s, "two hundred dollars", "en-US", NOW) is None


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


# ---------------------------------------------------------------- phone
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("幺三八零零幺三八零零零", "zh-CN", "13800138000"),
        ("我的手机是幺三八 零零幺三 八零零零", "zh-CN", "13800138000"),
        ("13800138000", "en-US", "13800138000"),
        ("+86 138 0013 8000", "en-US", "13800138000"),
        ("+8613800138000", "zh-CN", "13800138000"),
        ("八六幺三八零零幺三八零零零", "zh-CN", "13800138000"),
        ("one three eight double oh one three eight triple oh", "en-US", "13800138000"),
        ("19912345678", "en-US", "19912345678"),
        ("12345678901", "en-US", None),  # 11 digits but not 13x-19x
        ("10012345678", "en-US", None),
        ("87654321", "en-US", "87654321"),  # 8-digit landline
        ("八七六五四三二一", "zh-CN", "87654321"),
        ("1234", "en-US", None),  # too short
        ("", "en-US", None),
    ],
)
def test_phone(text, language, expected):
    assert extract_phone(text, language, 1, 20) == expected
    assert extract_slot(slot("phone"), text, language, NOW) == expected


def test_phone_landline_with_area_code():
    assert extract_phone("010-87654321", "en-US", 1, 20) == "01087654321"


# ---------------------------------------------------------------- id card
def test_id_card_valid():
    assert id_card_valid(ID) is True
    assert id_card_valid("440301200002291237") is True  # 2000-02-29 exists
    assert id_card_valid("110105194912310021") is False  # checksum
    assert id_card_valid("110105194902300020") is False  # 1949-02-30, checksum right
    assert id_card_valid("440301190002291230") is False  # 1900 was not a leap year
    assert id_card_valid("110105194913310021") is False  # month 13, checksum right
    assert id_card_valid("11010519491231002x") is False  # lower-case x is not normalised here
    assert id_card_valid("1101051949123100") is False


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("11010519491231002X", "en-US"),
        ("11010519491231002x", "en-US"),
        ("110105 19491231 002 X", "en-US"),
        ("一一零一零五一九四九一二三一零零二叉", "zh-CN"),
        ("幺幺零幺零五幺九四九幺二三幺零零二叉", "zh-CN"),
        ("11010519491231002叉", "zh-CN"),
        ("one one zero one zero five one nine four nine one two three one zero zero two x",
         "en-US"),
    ],
)
def test_id_card_spoken(text, language):
    assert extract_id_card(text, language) == ID
    assert extract_slot(slot("id_card"), text, language, NOW) == ID


@pytest.mark.parametrize(
    "text",
    [
        "110105194912310021",  # wrong checksum
        "110105194902300020",  # impossible birth date (checksum right)
        "1101051949123100",  # too short
        "",
    ],
)
def test_id_card_rejected(text):
    assert extract_id_card(text, "en-US") is None


# ---------------------------------------------------------------- regex
def test_regex_without_group_returns_whole_match():
    s = slot("regex", pattern=r"[A-Z]{2}\d{4}")
    assert extract_slot(s, "order AB1234 please", "en-US", NOW) == "AB1234"
    assert extract_slot(s, "order ab1234", "en-US", NOW) is None


def test_regex_with_group_returns_first_group():
    s = slot("regex", pattern=r"order (\d+)")
    assert extract_slot(s, "my order 42 is late", "en-US", NOW) == "42"
    assert extract_slot(s, "nothing", "en-US", NOW) is None


def test_regex_chinese_ignores_spaces():
    s = slot("regex", pattern=r"订单(\d+)")
    assert extract_slot(s, "我的订单 1 2 3 4 号", "zh-CN", NOW) == "1234"


def test_regex_slot_needs_valid_pattern():
    with pytest.raises(ValueError, match="needs `pattern`"):
        Slot(name="v", type="regex")
    with pytest.raises(ValueError, match="invalid pattern"):
        Slot(name="v", type="regex", pattern="(")


# ---------------------------------------------------------------- yes / no, text
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("是的", "zh-CN", True),
        ("对", "zh-CN", True),
        ("好的", "zh-CN", True),
        ("不是", "zh-CN", False),
        ("不对", "zh-CN", False),
        ("不用了", "zh-CN", False),
        ("yes", "en-US", True),
        ("Yes please", "en-US", True),
        ("that's right", "en-US", True),
        ("no", "en-US", False),
        ("not really", "en-US", False),
        ("hmm", "en-US", None),
        ("天气", "zh-CN", None),
    ],
)
def test_yes_no(text, language, expected):
    assert extract_slot(slot("yes_no"), text, language, NOW) is expected


def test_text_slot():
    assert extract_slot(slot("text"), "  hi there ", "en-US", NOW) == "hi there"
    assert extract_slot(slot("text"), "   ", "en-US", NOW) is None


def test_digits_slot_length():
    s = slot("digits", min_length=6, max_length=8)
    assert extract_slot(s, "幺二三四五六", "zh-CN", NOW) == "123456"
    assert extract_slot(s, "one two three", "en-US", NOW) is None
    assert extract_slot(s, "123456789", "en-US", NOW) is None


def test_number_slot_range():
    s = slot("number", min_value=10, max_value=5000)
    assert extract_slot(s, "一千五", "zh-CN", NOW) == 1500
    assert extract_slot(s, "five", "en-US", NOW) is None


# ---------------------------------------------------------------- keyed
def test_keyed_digits():
    s = slot("digits", min_length=6, max_length=12)
    assert keyed_slot(s, "123456") == "123456"
    assert keyed_slot(s, "12345") is None
    assert keyed_slot(s, "1234567890123") is None
    assert keyed_slot(s, "12*456") is None


def test_keyed_number_and_amount():
    n = slot("number", min_value=10, max_value=5000)
    assert keyed_slot(n, "500") == 500
    assert type(keyed_slot(n, "500")) is int
    assert keyed_slot(n, "5") is None
    assert keyed_slot(n, "6000") is None
    a = slot("amount")
    assert keyed_slot(a, "58") == 58.0
    assert type(keyed_slot(a, "58")) is float


def test_keyed_phone():
    s = slot("phone")
    assert keyed_slot(s, "13800138000") == "13800138000"
    assert keyed_slot(s, "87654321") == "87654321"
    assert keyed_slot(s, "12345678901") is None
    assert keyed_slot(s, "1234") is None


def test_keyed_id_card():
    s = slot("id_card")
    assert keyed_slot(s, "11010519491231002*") == ID
    assert keyed_slot(s, ID) == ID
    assert keyed_slot(s, "110105194912310021") is None
    assert keyed_slot(s, "110105194902300020") is None
    assert keyed_slot(s, "1101051949123100") is None


def test_keyed_yes_no():
    s = slot("yes_no")
    assert keyed_slot(s, "1") is True
    assert keyed_slot(s, "2") is False
    assert keyed_slot(s, "3") is None


def test_keyed_text_and_regex():
    assert keyed_slot(slot("text"), "42") == "42"
    assert keyed_slot(slot("regex", pattern=r"\d+"), "42") == "42"


def test_keyed_date_and_time_are_normalised():
    assert keyed_slot(slot("date"), "20261122") == "2026-11-22"
    assert keyed_slot(slot("time"), "1530") == "15:30"


def test_keyed_regex_checks_pattern():
    s = slot("regex", pattern=r"^9\d{3}$")
    assert keyed_slot(s, "9123") == "9123"
    assert keyed_slot(s, "1234") is None
