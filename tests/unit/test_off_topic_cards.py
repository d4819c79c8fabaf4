"""Another business named in a Mandarin request (issue 17, round 7, H3):
`off_topic_cards.other_card` finds 饭卡 / 油卡 / 电卡 by their 卡 in a money request (not the
telephone company's own cards, not 卡 as lag), `other_business` a kind of business (淘宝,
银行, 会员, 公积金) the dialplan does not use; a request naming either is asked about, not
taken. The meaning is a fake classifier sure of the intent, so the words decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.actions import CallerInput
from ivr.dialplan.in_passing import foreign_heard, named_in_passing
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.recognition import understand
from ivr.understanding.off_topic_cards import other_business, other_card
from tests.unit.meaning_fakes import Sure

NOW = dt.datetime(2026, 12, 7, 10, 0)


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def heard(plan: Dialplan, text: str, intent: str) -> tuple[str | None, Any]:
    from ivr.understanding.semantic import SemanticIndex

    ix = SemanticIndex({}, {}, {"zh-CN": Sure(intent)})  # type: ignore[dict-item]
    choice, u = understand(plan, plan.nodes["main_menu"], CallerInput("speech", text), "zh-CN",
                           None, NOW, np.zeros(384, np.float32), ix)
    return (choice.intent if choice else None), u


@pytest.mark.parametrize(("text", "card"), [
    ("饭卡没有钱了怎么充", "饭卡"),  # jieba knows it
    ("油卡余额怎么查", "油卡"),  # jieba only guesses it
    ("电卡里的钱用完了去哪里充", "电卡"),  # jieba cuts it: 电 / 卡里
    ("我家电卡怎么充值啊", "家电卡"),  # ... or 家电 / 卡
    ("水卡没钱了", "水卡"),
    ("公交卡余额不够了去哪充", "公交卡"),
])
def test_another_business_s_card_in_a_money_request(text: str, card: str) -> None:
    assert other_card(text, "查话费\n充值\n手机卡丢了") == card


@pytest.mark.parametrize("text", [
    "我手机卡没钱了", "用充值卡充话费", "我的移动卡没钱了", "帮我把卡充一下", "副卡怎么交费",
    "这张卡的账单帮我查下", "给我老婆的卡充五十", "电话卡里没钱了", "流量卡怎么充值",
    "网卡得要命交了钱也没用",  # lag, not a card
    "饭卡丢了",  # no money asked about: not this rule's
])
def test_our_own_cards_lag_and_moneyless_requests_name_no_other_card(text: str) -> None:
    assert other_card(text, "查话费\n充值\n手机卡丢了") is None


def test_a_card_the_dialplan_itself_names_is_its_own() -> None:
    assert other_card("公交卡怎么充值", "公交卡充值") is None
    assert other_card("公交卡怎么充值", "充值") == "公交卡"


def test_a_kind_of_business_counts_unless_the_dialplan_uses_it() -> None:
    assert other_business("淘宝的东西找人工退款", "转人工") == "淘宝"
    assert other_business("淘宝的东西找人工退款", "转人工\n淘宝店铺充值") is None
    assert other_business("用支付宝充话费", "充值") is None  # a means of paying is no business
    assert other_business("我想查话费", "查话费") is None


@pytest.mark.parametrize(("text", "intent"), [
    ("食堂饭卡没钱了怎么充", "top_up"),
    ("加油卡的余额还剩多少", "bill_enquiry"),
    ("淘宝的东西找人工退款", "agent"),  # 淘宝: a name only the off-topic requests use
    ("帮我找农业银行的人工", "agent"),
    ("会员自动续费怎么关掉", "top_up"),
    ("公积金还剩多少钱", "bill_enquiry"),
])
def test_a_request_naming_another_business_is_asked_about(plan: Dialplan, text: str,
                                                          intent: str) -> None:
    assert named_in_passing(plan, "zh-CN", None, text, intent)
    got, u = heard(plan, text, intent)
    assert got is None and u.outcome == "no_match" and u.intent == intent


@pytest.mark.parametrize(("text", "intent"), [
    ("我的副卡没钱了帮我充一下", "top_up"), ("用充值卡充五十块话费", "top_up"),
    ("手机卡里还有多少钱", "bill_enquiry"), ("转人工", "agent"), ("宽带断了", "broadband_fault"),
    ("话费太贵了", "bill_enquiry"),
])
def test_the_hotline_s_own_requests_are_taken(plan: Dialplan, text: str, intent: str) -> None:
    assert not named_in_passing(plan, "zh-CN", None, text, intent)
    assert foreign_heard(plan, "zh-CN", text) is None
    got, _ = heard(plan, text, intent)
    assert got == intent
