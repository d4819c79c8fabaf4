"""Number-like slots (`ivr.understanding.slots`) as callers say them: amounts of money, phone
numbers, resident ID cards (checksum and birth date), digits and numbers within bounds."""

from __future__ import annotations

import pytest

from ivr.understanding.slots import (
    extract_amount,
    extract_id_card,
    extract_phone,
    extract_slot,
    id_card_valid,
)
from tests.unit.slot_examples import ID, NOW, slot


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


# ---------------------------------------------------------------- digits, number
def test_digits_slot_length():
    s = slot("digits", min_length=6, max_length=8)
    assert extract_slot(s, "幺二三四五六", "zh-CN", NOW) == "123456"
    assert extract_slot(s, "one two three", "en-US", NOW) is None
    assert extract_slot(s, "123456789", "en-US", NOW) is None


def test_number_slot_range():
    s = slot("number", min_value=10, max_value=5000)
    assert extract_slot(s, "一千五", "zh-CN", NOW) == 1500
    assert extract_slot(s, "five", "en-US", NOW) is None
