"""An intent named in passing whichever way it was reached (issue 17, H2): by a keyword, an
example's likeness or the meaning; the locative skip of `off_topic.owner_elsewhere`; the
figures of speech with 到 and 想 of `negation`. The meaning is a fake classifier."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.actions import CallerInput
from ivr.dialplan.in_passing import named_in_passing
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import understand
from ivr.understanding.intents import normalise, score_intent
from ivr.understanding.negation import figurative, negated_at
from ivr.understanding.off_topic import kindred_elsewhere, owner_elsewhere
from tests.unit.meaning_fakes import Sure

NOW = dt.datetime(2026, 12, 7, 10, 0)


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def heard(plan: Dialplan, text: str, language: str, intent: str) -> tuple[str | None, Any]:
    from ivr.understanding.semantic import SemanticIndex

    ix = SemanticIndex({}, {}, {language: Sure(intent)})  # type: ignore[dict-item]
    choice, u = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text), language,
                           None, NOW, np.zeros(384, np.float32), ix)
    return (choice.intent if choice else None), u


@pytest.mark.parametrize(("text", "intent"), [
    ("交通卡怎么在手机上充值", "top_up"),  # the card owns the top-up, not the phone
    ("物业费一年多少钱", "bill_enquiry"),  # another provider's fee, by meaning only
    ("我嘞个电费怎么这么贵", "bill_enquiry"),
])
def test_another_business_is_asked_about_however_it_was_reached(plan: Dialplan, text: str,
                                                                intent: str) -> None:
    assert named_in_passing(plan, "zh-CN", None, text, intent)
    got, u = heard(plan, text, "zh-CN", intent)
    assert got is None and u.outcome == "no_match" and u.intent == intent
    assert u.score < plan.defaults.intent_threshold


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("我的话费怎么这么贵", "zh-CN", "bill_enquiry"),
    ("路由器一直闪红灯", "zh-CN", "broadband_fault"),
    ("用支付宝充值", "zh-CN", "top_up"),  # a means of paying owns nothing
    ("手机卡没钱了", "zh-CN", "top_up"),
    ("宽带费怎么这么贵", "zh-CN", "bill_enquiry"),
    ("the router keeps rebooting itself", "en-US", "broadband_fault"),  # a generic word
])
def test_the_hotline_s_own_business_is_taken(plan: Dialplan, text: str, language: str,
                                             intent: str) -> None:
    assert not named_in_passing(plan, language, None, text, intent)
    got, _ = heard(plan, text, language, intent)
    assert got == intent


def test_a_place_or_means_is_skipped_to_the_owner_before_it() -> None:
    zh = ("查话费", "充值", "手机", "余额")
    assert owner_elsewhere("交通卡怎么在手机上充值", "充值", zh, True) == "交通卡"
    assert owner_elsewhere("用支付宝充值", "充值", zh, True) is None
    assert owner_elsewhere("我在营业厅里充值了", "充值", zh, True) is None
    assert kindred_elsewhere("物业费一年多少钱", ["话费"], zh) == "物业费"
    assert kindred_elsewhere("话费一年多少钱", ["话费"], zh) is None


@pytest.mark.parametrize("text", ["条网慢到我想死", "这网卡得我想跳河", "这网速气得我想跳楼"])
def test_a_wish_after_an_everyday_cause_is_a_figure_of_speech(plan: Dialplan, text: str) -> None:
    scores = [score_intent(text, plan.intents[i], "zh-CN")[0]
              for i in ("self_harm", "chest_pain", "breathing")]
    assert max(scores) < plan.defaults.confirm_threshold  # type: ignore[operator]


def test_to_as_a_complement_counts_only_right_before_the_phrase() -> None:
    for text, phrase in [("我跑到楼顶想跳楼", "跳楼"), ("我等到现在想死", "想死")]:
        norm = normalise(text, "zh-CN")
        assert not negated_at(norm, norm.find(phrase), True)
        assert not figurative(norm, True)
    assert negated_at("慢到我想死", 3, True)
