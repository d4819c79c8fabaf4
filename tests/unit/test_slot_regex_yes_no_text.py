"""Slots read from words (`ivr.understanding.slots`): a dialplan's regex (whole match or
first group, spaces ignored in Chinese, the pattern checked when loaded), yes/no and free
text."""

from __future__ import annotations

import pytest

from ivr.dialplan.nodes import Slot
from ivr.understanding.slots import extract_slot
from tests.unit.slot_examples import NOW, slot


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
