"""Words and meaning together (issue 17): a tie between two intents' words, weak words and
meaning agreeing, and weak words that mean something off-topic. The meaning is a fake
classifier (fixed probabilities), so each rule is tested alone on the shipped hotline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.actions import CallerInput
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import OFF_TOPIC, understand
from ivr.understanding.semantic import SemanticIndex

NOW = dt.datetime(2026, 12, 7, 10, 0)


@dataclass(frozen=True)
class FixedMeaning:
    """A classifier whose answer is given: class -> probability."""

    probs: dict[str, float]

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return self.probs


def index(language: str, **probs: float) -> SemanticIndex:
    probs = {OFF_TOPIC if k == "off_topic" else k: v for k, v in probs.items()}
    return SemanticIndex({}, {}, {language: FixedMeaning(probs)})  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def heard(plan: Dialplan, text: str, language: str, ix: SemanticIndex) -> tuple[str, Any]:
    choice, u = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text), language,
                           None, NOW, np.zeros(384, np.float32), ix)
    return (choice.intent if choice else None), u


def test_a_tie_of_words_is_decided_by_the_meaning(plan: Dialplan) -> None:
    # 预存 (top_up) and 话费 (bill_enquiry) are both heard at 0.89
    got, _ = heard(plan, "我要预存两百元话费", "zh-CN",
                   index("zh-CN", top_up=0.8, bill_enquiry=0.15, off_topic=0.05))
    assert got == "top_up"
    got, _ = heard(plan, "我要预存两百元话费", "zh-CN",
                   index("zh-CN", top_up=0.1, bill_enquiry=0.85, off_topic=0.05))
    assert got == "bill_enquiry"


def test_a_tie_the_meaning_cannot_split_is_asked_about(plan: Dialplan) -> None:
    """Neither a coin toss nor a failure: "did you mean X or Y?" (ivr.dialplan.confirmation)
    gets an unsure no-match just under the threshold."""
    got, u = heard(plan, "我要预存两百元话费", "zh-CN",
                   index("zh-CN", top_up=0.45, bill_enquiry=0.4, off_topic=0.15))
    assert got is None and u.outcome == "no_match"
    assert u.intent in ("top_up", "bill_enquiry")
    assert plan.defaults.confirm_threshold is not None
    assert plan.defaults.confirm_threshold <= u.score < plan.defaults.intent_threshold


def test_a_clear_winner_by_words_is_not_a_tie(plan: Dialplan) -> None:
    got, _ = heard(plan, "我要充值", "zh-CN",
                   index("zh-CN", bill_enquiry=0.75, top_up=0.2, off_topic=0.05))
    assert got == "top_up"


def test_weak_words_and_meaning_agreeing_take_the_intent(plan: Dialplan) -> None:
    text = "往我这个号里打点钱进去"  # the words: top_up 0.36, below the threshold
    alone, u = heard(plan, text, "zh-CN", index("zh-CN", off_topic=0.6, top_up=0.3))
    assert alone is None
    got, u = heard(plan, text, "zh-CN", index("zh-CN", top_up=0.45, off_topic=0.25,
                                                bill_enquiry=0.3))
    assert (got, u.outcome) == ("top_up", "match")
    assert u.score >= plan.defaults.intent_threshold


def test_agreement_close_to_off_topic_is_asked_about(plan: Dialplan) -> None:
    got, u = heard(plan, "往我这个号里打点钱进去", "zh-CN",
                   index("zh-CN", top_up=0.47, off_topic=0.42, bill_enquiry=0.11))
    assert got is None and u.outcome == "no_match" and u.intent == "top_up"
    d = plan.defaults
    assert d.confirm_threshold is not None
    assert d.confirm_threshold <= u.score < d.intent_threshold  # "您是要充值话费吗？"


def test_weak_likeness_with_an_off_topic_meaning_is_not_taken(plan: Dialplan) -> None:
    text = "帮我查一下明天的航班"  # like 帮我查一下账单 by its characters only
    got, u = heard(plan, text, "zh-CN", index("zh-CN", off_topic=0.9, bill_enquiry=0.1))
    assert got is None and u.score < plan.defaults.intent_threshold
    got, _ = heard(plan, "帮我查一下明天的账", "zh-CN",
                   index("zh-CN", off_topic=0.5, bill_enquiry=0.5))
    assert got == "bill_enquiry"  # the meaning not clearly off-topic: the words stand


def test_a_keyword_stands_unless_the_meaning_clearly_says_off_topic(plan: Dialplan) -> None:
    got, _ = heard(plan, "帮我查一下话费", "zh-CN", index("zh-CN", off_topic=0.45,
                                                       bill_enquiry=0.1, top_up=0.45))
    assert got == "bill_enquiry"  # off-topic below OFF_TOPIC_LEADS: the keyword stands
    got, _ = heard(plan, "帮我查一下话费", "zh-CN", index("zh-CN", off_topic=0.52,
                                                       bill_enquiry=0.48))
    assert got == "bill_enquiry"  # off-topic not ahead by the probability margin
    got, u = heard(plan, "帮我查一下话费", "zh-CN", index("zh-CN", off_topic=0.9,
                                                       bill_enquiry=0.1))
    assert got is None and u.intent == "bill_enquiry"  # asked: "您是要查询话费吗？"
    assert u.score < plan.defaults.intent_threshold


def test_crisis_words_are_never_overruled_by_meaning(plan: Dialplan) -> None:
    got, _ = heard(plan, "我想自杀，话费也不够了", "zh-CN",
                   index("zh-CN", top_up=0.99, off_topic=0.01))
    assert got == "self_harm"
    got, _ = heard(plan, "I can't breathe", "en-US", index("en-US", off_topic=0.99))
    assert got == "breathing"
