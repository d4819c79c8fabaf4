"""Everyday modifiers are no other business (issue 17 round 9): a small dialplan's own
callers say 纸质账单, 智能水表, "a formal complaint", "the outage on my road", 上门收件, and
those are not refused as said in passing; another business's noun still is."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.loader import load_dialplan
from ivr.understanding.crisis_recall import plan_texts
from ivr.understanding.everyday_modifiers import en_everyday, zh_everyday, zh_same_thing
from ivr.understanding.off_topic import kindred_elsewhere, owner_elsewhere

UTILITY = load_dialplan(REPO_ROOT / "benchmarks" / "dialplans" / "utility.yaml").plan
PARCEL = load_dialplan(REPO_ROOT / "benchmarks" / "dialplans" / "parcel.yaml").plan


def texts(plan, language: str) -> tuple[str, ...]:
    return plan_texts(plan, language)


@pytest.mark.parametrize(("text", "keyword"), [
    ("纸质账单能不能寄一份给我", "账单"),
    ("新换的智能水表读数怎么报给你们", "读数"),
    ("麻烦办理一下老房子的销户手续", "销户"),
    ("我们整个片区大面积停电了", "停电"),
])
def test_a_chinese_attribute_or_the_plan_s_own_thing_owns_nothing(text: str, keyword: str
                                                                   ) -> None:
    assert owner_elsewhere(text, keyword, texts(UTILITY, "zh-CN"), True) is None


@pytest.mark.parametrize(("text", "keyword"), [
    ("i want to lodge a formal complaint", "complaint"),
    ("the digital meter in the cupboard says four five two one", "meter"),
    ("the water outage on my road is still going", "outage"),
])
def test_an_english_attribute_or_the_caller_s_road_owns_nothing(text: str, keyword: str
                                                                ) -> None:
    assert owner_elsewhere(text, keyword, texts(UTILITY, "en-US"), False) is None


@pytest.mark.parametrize(("text", "keyword", "language", "owner"), [
    ("燃气表的读数在哪里报", "读数", "zh-CN", "燃气表"),
    ("where do i send my gas meter reading", "meter", "en-US", "gas"),
    ("my mobile phone bill is too high", "bill", "en-US", "mobile"),
])
def test_another_business_is_still_one(text: str, keyword: str, language: str,
                                       owner: str) -> None:
    chinese = language.startswith("zh")
    assert owner_elsewhere(text, keyword, texts(UTILITY, language), chinese) == owner


def test_a_large_parcel_is_the_courier_s_own() -> None:
    zh = texts(PARCEL, "zh-CN")
    assert kindred_elsewhere("我有个大件想预约上门揽收", ["寄件", "取件"], zh) is None


def test_the_helpers() -> None:
    assert en_everyday("formal") and en_everyday("doorstep")
    assert not en_everyday("gas") and not en_everyday("library")
    assert zh_everyday("智能水表", ["智能水表"], frozenset({"水表"}), frozenset())
    assert zh_everyday("老房子", ["老房子"], frozenset(), frozenset({"房子"}))
    assert not zh_everyday("燃气表", ["燃气表"], frozenset({"水表"}), frozenset())
    assert zh_same_thing("大件") and zh_same_thing("电子账单")
    assert not zh_same_thing("订单") and not zh_same_thing("停车费")  # the shop's, a car park's
