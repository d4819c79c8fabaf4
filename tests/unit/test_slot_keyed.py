"""Slot values keyed on the phone pad (`ivr.understanding.slots.keyed_slot`): digits,
numbers and amounts within bounds, phones, ID cards with * for X, yes/no as 1/2, dates and
times normalised, regex patterns checked."""

from __future__ import annotations

from ivr.understanding.slots import keyed_slot
from tests.unit.slot_examples import ID, slot


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
