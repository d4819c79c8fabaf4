"""Keywords said in passing (issue 17): a keyword that belongs to another business (a gas
bill, a bank card's balance, a game's top-up) is asked about, not taken; the same keyword as
the head of the request is taken. The meaning is a fake classifier that agrees with the words,
so only the words' own evidence (foreign words, another owner) is tested here."""

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
from ivr.understanding.off_topic import foreign_words, heard_foreign, owner_elsewhere
from ivr.understanding.semantic import SemanticIndex

NOW = dt.datetime(2026, 12, 7, 10, 0)


@dataclass(frozen=True)
class Agreeing:
    """A classifier that puts 0.8 on `intent` (the meaning agrees with the words)."""

    intent: str

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return {self.intent: 0.8, OFF_TOPIC: 0.2}


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def heard(plan: Dialplan, text: str, language: str, intent: str) -> tuple[str | None, Any]:
    ix = SemanticIndex({}, {}, {language: Agreeing(intent)})  # type: ignore[dict-item]
    choice, u = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text), language,
                           None, NOW, np.zeros(384, np.float32), ix)
    return (choice.intent if choice else None), u


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("银行卡的余额怎么查", "zh-CN", "bill_enquiry"),  # 银行卡: an off-topic request's word
    ("我的公交卡余额不够了", "zh-CN", "bill_enquiry"),  # another owner: 公交卡
    ("游戏里充值了没到账", "zh-CN", "top_up"),
    ("how much do I owe on my student loan", "en-US", "bill_enquiry"),
    ("the wifi at the library keeps dropping", "en-US", "broadband_fault"),
    ("my bank says I owe them money", "en-US", "bill_enquiry"),  # bank: off-topic's word
    # round 5: across a question word or an adverb, a thing (not a person) after 给,
    # a keyword verb's object, a noun between a determiner and the keyword
    ("健身卡在哪充值", "zh-CN", "top_up"),
    ("给健身卡充值", "zh-CN", "top_up"),
    ("what's the balance remaining on my prepaid mastercard", "en-US", "bill_enquiry"),
    ("can I recharge my transit card here", "en-US", "top_up"),
    ("my dental bill is too high", "en-US", "bill_enquiry"),
])
def test_a_keyword_of_another_business_is_asked_about(plan: Dialplan, text: str,
                                                      language: str, intent: str) -> None:
    got, u = heard(plan, text, language, intent)
    assert got is None and u.outcome == "no_match" and u.intent == intent
    assert u.score < plan.defaults.intent_threshold  # "did you mean ...?", when it asks


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("帮我查一下话费", "zh-CN", "bill_enquiry"),
    ("我手机话费还有多少", "zh-CN", "bill_enquiry"),
    ("给女儿充值", "zh-CN", "top_up"),  # a beneficiary is no owner
    ("我要给我妈的手机充点钱", "zh-CN", "top_up"),
    ("我的宽带速度特别慢", "zh-CN", "broadband_fault"),
    ("帮我往卡里存点钱", "zh-CN", "top_up"),
    ("what is my phone bill", "en-US", "bill_enquiry"),
    ("I want to top up for my son", "en-US", "top_up"),
    ("my bill for march is wrong", "en-US", "bill_enquiry"),
    ("the internet at my place is down", "en-US", "broadband_fault"),
    ("the internet in my bedroom is slow", "en-US", "broadband_fault"),
    # a word between a determiner and the keyword is no owner: an adjective looks the same
    ("put me through to a proper person", "en-US", "agent"),
    ("my net connection is not coming since morning", "en-US", "broadband_fault"),
    # round 5: a person after 给 is a beneficiary; the plan's own words start a compound;
    # devices, amounts and adjectives own nothing; a noun phrase ends at a determiner
    ("给我老爸充值", "zh-CN", "top_up"),
    ("我要给手机号码充值", "zh-CN", "top_up"),
    ("我的宽带账号欠费了", "zh-CN", "bill_enquiry"),
    ("top up my iphone please", "en-US", "top_up"),
    ("top up my dad's phone with ten quid", "en-US", "top_up"),
    ("I got a huge bill", "en-US", "bill_enquiry"),
    ("what did I spend on my phone this month then", "en-US", "bill_enquiry"),
])
def test_the_same_keywords_heading_the_request_are_taken(plan: Dialplan, text: str,
                                                         language: str, intent: str) -> None:
    got, _ = heard(plan, text, language, intent)
    assert got == intent


def test_foreign_words_come_from_the_off_topic_requests_only() -> None:
    off = ("how do I pay my gas bill", "I lost my bank card", "what's the weather like")
    plan_texts = ("check my bill", "I lost my phone", "top up my card")
    words = foreign_words(off, plan_texts, False)
    assert {"gas", "bank", "weather"} <= words
    assert not {"bill", "lost", "card", "pay", "my"} & words  # the plan's own, or generic
    assert heard_foreign("my gas bills are high", words, False) == "gas"
    assert heard_foreign("check my bill", words, False) is None


def test_chinese_foreign_words_are_nouns_the_plan_does_not_use() -> None:
    words = foreign_words(("银行卡丢了怎么挂失", "今天天气怎么样"), ("查话费", "我的卡丢了"), True)
    assert "银行卡" in words
    assert not {"怎么", "今天", "丢了"} & words
    assert heard_foreign("银行卡的余额怎么查", words, True) == "银行卡"


def test_owner_elsewhere_reads_the_words_around_the_keyword() -> None:
    plan = ("check my bill", "my phone bill", "what is my balance")
    assert owner_elsewhere("whats the balance on my gift card", "balance", plan, False) == "gift"
    assert owner_elsewhere("whats the balance on my phone", "balance", plan, False) is None
    assert owner_elsewhere("my bill for last month", "bill", plan, False) is None
    zh = ("查话费", "我的余额还有多少")
    assert owner_elsewhere("帮我查一下水电费账单", "账单", zh, True) == "水电费"
    assert owner_elsewhere("帮我查一下话费账单", "账单", zh, True) is None
    assert owner_elsewhere("", "", zh, True) is None


@pytest.mark.parametrize(("text", "intent"), [
    ("我要找课服", "agent"),  # 客服 heard by sound
    ("我想查一下话妃", "bill_enquiry"),
])
def test_an_off_topic_meaning_does_not_overrule_a_misheard_keyword(plan: Dialplan, text: str,
                                                                   intent: str) -> None:
    ix = SemanticIndex({}, {}, {"zh-CN": OffTopic()})  # type: ignore[dict-item]
    choice, _ = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text), "zh-CN",
                           None, NOW, np.zeros(384, np.float32), ix)
    assert choice is not None and choice.intent == intent


@dataclass(frozen=True)
class OffTopic:
    """A classifier that finds the sentence off-topic (a misheard one reads so)."""

    def probabilities(self, meaning: Any) -> dict[str, float]:
        return {OFF_TOPIC: 0.8, "agent": 0.1, "bill_enquiry": 0.1}


def test_pairs_of_the_plan_s_words_only_off_topic_requests_say_are_foreign() -> None:
    off = ("raise my credit card limit", "my fridge has stopped working")
    plan_texts = ("add credit", "my sim card", "my internet stopped working")
    words = foreign_words(off, plan_texts, False)
    assert "credit card" in words
    assert "stopped working" not in words  # a verb and its state: no compound noun
    assert heard_foreign("my credit card bill is late", words, False) == "credit card"
    assert heard_foreign("add credit to my card", words, False) is None


def test_owner_elsewhere_round_5_rules() -> None:
    plan = ("check my bill", "top up my phone", "what is my balance", "prepaid")
    assert owner_elsewhere("my pet insurance bill", "bill", plan, False) == "pet"
    assert owner_elsewhere("my monthly bill", "bill", plan, False) is None  # an adjective
    assert owner_elsewhere("top up my library account", "top up", plan, False) == "library"
    assert owner_elsewhere("top up my phone", "top up", plan, False) is None
    assert owner_elsewhere("the balance left on my prepaid visa", "balance", plan,
                           False) == "visa"
    zh = ("查话费", "我的余额还有多少", "宽带")
    assert owner_elsewhere("图书馆卡怎么充值", "充值", zh, True) == "图书馆卡"
    assert owner_elsewhere("给我女儿充值", "充值", zh, True) is None
