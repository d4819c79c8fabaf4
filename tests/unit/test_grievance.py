"""A grievance naming another intent's object goes to the complaint intent (issue 17, round
10): the form test (ivr.understanding.grievance), the complaint intent found by its label and
examples, and the hook in recognition (ivr.dialplan.complaints). Wordings here are not those
of the benchmark sets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.actions import CallerInput
from ivr.dialplan.complaints import plan_complaint_intent
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import OFF_TOPIC, understand
from ivr.understanding.grievance import complaint_intent, is_grievance
from tests.unit.meaning_fakes import Sure

NOW = dt.datetime(2026, 12, 7, 10, 0)


@pytest.mark.parametrize(("text", "language"), [
    ("修电的师傅把我家院墙撞塌了一块还骂人", "zh-CN"),
    ("停水五天了到现在还没有人来看一眼", "zh-CN"),
    ("这个月催了四回了每回都说明天来", "zh-CN"),
    ("说好的周三上门结果又没来", "zh-CN"),
    ("你们那个送件的态度太恶劣了", "zh-CN"),
    ("the engineer you sent was shouting at my wife", "en-US"),
    ("this is the fourth time I've called about it and nobody has come", "en-US"),
    ("you promised a callback yesterday and I've heard nothing back", "en-US"),
    ("the way this was handled is a disgrace", "en-US"),
])
def test_grievances_are_told_by_their_form(text: str, language: str) -> None:
    assert is_grievance(text, language)


@pytest.mark.parametrize(("text", "language"), [
    ("我们这一片停电了", "zh-CN"),
    ("停电了什么时候来电", "zh-CN"),
    ("我的电表读数好像不对", "zh-CN"),
    ("包裹到哪了", "zh-CN"),
    ("箱子送到的时候压坏了", "zh-CN"),  # damaged, nobody blamed: the lost-or-damaged intent
    ("快递好几天了还没到", "zh-CN"),  # the parcel's journey, not a neglected act
    ("我想再报一次读数", "zh-CN"),  # once is not repeatedly
    ("my power is off", "en-US"),
    ("my meter reading looks wrong", "en-US"),
    ("why is my bill so high this month", "en-US"),
    ("the box arrived squashed and the plate inside is broken", "en-US"),
    ("they left a card saying they tried to deliver", "en-US"),
])
def test_plain_requests_and_questions_are_not(text: str, language: str) -> None:
    assert not is_grievance(text, language)


def test_the_complaint_intent_is_the_one_mostly_of_grievances() -> None:
    intents = {
        "outage": ("停电了", "家里没水"),
        "complaint": ("投诉", "你们的人态度很差", "我对结果不满意"),
        "agent": ("转人工", "找客服", "我有投诉要找人", "接线员"),
    }
    assert complaint_intent(intents, "zh-CN") == "complaint"
    del intents["complaint"]
    assert complaint_intent(intents, "zh-CN") is None  # one complaint among asking for a person


def _plan(name: str) -> Dialplan:
    folder = "dialplans" if name in ("hotline", "bank", "clinic") else "benchmarks/dialplans"
    return load_dialplan(REPO_ROOT / folder / f"{name}.yaml").plan


@pytest.mark.parametrize(("name", "language", "want"), [
    ("utility", "zh-CN", "complaint"), ("utility", "en-US", "complaint"),
    ("parcel", "zh-CN", "complaint"), ("parcel", "en-US", "complaint"),
    ("hotline", "zh-CN", None), ("hotline", "en-US", None),
    ("bank", "zh-CN", None), ("clinic", "en-US", None), ("insurance", "en-US", None),
])
def test_complaint_intent_of_the_dialplans(name: str, language: str, want: str | None) -> None:
    plan = _plan(name)
    menu = plan.nodes["main_menu"].menu
    assert menu is not None
    names = [c.intent for c in menu.choices if c.intent]
    assert plan_complaint_intent(plan, language, names) == want


def _heard(plan: Dialplan, text: str, language: str, meant: str) -> str | None:
    from ivr.understanding.semantic import SemanticIndex

    ix = SemanticIndex({}, {}, {language: Sure(meant)})  # type: ignore[dict-item]
    choice, _ = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text),
                           language, None, NOW, np.zeros(384, np.float32), ix)
    return choice.intent if choice else None


@pytest.mark.parametrize(("text", "language", "meant", "want"), [
    ("停电一个礼拜了打了三次电话都没人来", "zh-CN", "outage", "complaint"),
    ("the meter man was really rude to my dad", "en-US", "meter_reading", "complaint"),
    ("家里停电了", "zh-CN", "outage", "outage"),  # a plain fault report stays the fault
    ("客服答应回电话，等了三天也没回", "zh-CN", "agent", "complaint"),  # 客服: who did wrong
])
def test_a_grievance_goes_to_the_complaint_intent(text: str, language: str, meant: str,
                                                  want: str) -> None:
    assert _heard(_plan("utility"), text, language, meant) == want


class _OffTopic:
    """A classifier sure the caller means something the dialplan does not do."""

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return {OFF_TOPIC: 0.95, "complaint": 0.05}


def test_a_grievance_meant_elsewhere_is_not_taken() -> None:
    from ivr.understanding.semantic import SemanticIndex

    plan = _plan("utility")
    ix = SemanticIndex({}, {}, {"en-US": _OffTopic()})  # type: ignore[dict-item]
    choice, _ = understand(plan, plan.nodes["main_menu"],
                           CallerInput("speech", "the taxi driver was rude to me"), "en-US",
                           None, NOW, np.zeros(384, np.float32), ix)
    assert choice is None or choice.intent != "complaint"
