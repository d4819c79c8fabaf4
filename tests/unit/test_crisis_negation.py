"""Negated crisis phrases (issue 17): a phrase-rule intent is not heard right after a
negation ("我不是想自杀", "I'm not suicidal"), while negative crisis wording ("不想活",
"I don't want to live", "there's no reason for me to be alive") and a negation elsewhere
in the sentence leave the crisis heard."""

from __future__ import annotations

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.understanding.intents import normalise, score_intent
from ivr.understanding.negation import figurative, heard_plainly, negated_at, starts

CRISIS = ("self_harm", "chest_pain", "breathing")


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / "hotline.yaml").plan


def crisis_score(plan: Dialplan, text: str) -> float:
    language = "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en-US"
    return max(score_intent(text, plan.intents[i], language)[0] for i in CRISIS)


@pytest.mark.parametrize("text", [
    "我不是想自杀，我是想问话费", "我没有想要自杀", "我从来没想过自杀", "我不会自杀的，放心",
    "I'm not suicidal, I just want my bill", "I'm not going to kill myself over a bill",
    "I'm never going to hurt myself", "I don't want to kill myself, I want my wifi back",
])
def test_a_negated_crisis_phrase_is_not_a_crisis(plan: Dialplan, text: str) -> None:
    assert crisis_score(plan, text) < plan.defaults.confirm_threshold  # type: ignore[operator]


@pytest.mark.parametrize("text", [
    "我想自杀", "我不想活了", "我没事，就是想死", "我没钱了，想死", "不是开玩笑，我想自杀",
    "I want to kill myself", "I don't want to live anymore", "I can't go on",
    "there's no reason for me to be alive", "I won't be around much longer",
    "I can't stop thinking about killing myself", "I'm not joking, I want to die",
    "I'm not going to be around much longer", "I can't breathe", "I'm not ok, my chest hurts",
])
def test_crisis_wording_with_a_negation_of_its_own_still_is_one(plan: Dialplan,
                                                                 text: str) -> None:
    assert crisis_score(plan, text) >= 0.85


def test_negation_looks_only_right_before_the_phrase() -> None:
    assert negated_at("我不是想自杀", 4, True)
    assert not negated_at("我没钱了想死", 4, True)  # 钱了 are no fillers
    words = "i m not going to kill myself"
    assert starts(words, "kill myself", False) == [5]
    assert negated_at(words, 5, False)
    assert not negated_at("i can t stop thinking about killing myself", 6, False)
    assert negated_at("i don t want to die", 3, False)  # n't, then the filler "want"
    assert not heard_plainly("i m not suicidal", "suicidal", False)
    assert heard_plainly("not suicidal but i feel suicidal", "suicidal", False)


@pytest.mark.parametrize(("text", "intent"), [
    ("我刚才吞了好多片药", "self_harm"), ("我把家里的药都攒起来了", "self_harm"),
    ("我不想再拖累家人了", "self_harm"),
    ("I just swallowed a bunch of sleeping pills", "self_harm"),
    ("I'm standing on the bridge right now", "self_harm"),
    ("I'm going to top myself", "self_harm"),
    ("老人摔倒了一动不动", "breathing"),
])
def test_round_3_crisis_wording(plan: Dialplan, text: str, intent: str) -> None:
    language = "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en-US"
    assert score_intent(text, plan.intents[intent], language)[0] >= 0.85


@pytest.mark.parametrize("text", [
    "我吞了一片维生素", "攒钱买药", "I nearly choked on my tea",
    "I'm suffocating under these bills", "that view took my breath away",
])
def test_round_3_everyday_wording_is_no_crisis(plan: Dialplan, text: str) -> None:
    assert crisis_score(plan, text) < plan.defaults.confirm_threshold  # type: ignore[operator]


@pytest.mark.parametrize("text", [
    "排队等得我都快窒息了", "这套餐贵得人上不来气", "网慢得我简直喘不过气", "气得我快喘不上气了",
])
def test_an_everyday_cause_s_degree_complement_is_a_figure_of_speech(plan: Dialplan,
                                                                     text: str) -> None:
    assert crisis_score(plan, text) < plan.defaults.confirm_threshold  # type: ignore[operator]
    assert figurative(normalise(text, "zh-CN"), True)


@pytest.mark.parametrize("text", [
    "胸口闷得喘不过气", "憋得我上不来气", "疼得我喘不过气来", "我紧张得喘不过气",
])
def test_a_bodily_cause_keeps_the_crisis(plan: Dialplan, text: str) -> None:
    assert crisis_score(plan, text) >= 0.85


@pytest.mark.parametrize(("text", "intent"), [
    ("我吸一口气都特别费劲", "breathing"), ("他把炭拿到车里烧了", "self_harm"),
    ("my brother has collapsed in the kitchen", "breathing"),
    ("I'm thinking about jumping off the car park", "self_harm"),
    ("I feel like my heart is giving out on me", "chest_pain"),
])
def test_round_5_crisis_wording(plan: Dialplan, text: str, intent: str) -> None:
    language = "zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en-US"
    assert score_intent(text, plan.intents[intent], language)[0] >= 0.85


@pytest.mark.parametrize("text", [
    "my internet connection collapsed again", "these charges are choking my finances",
    "I'm thinking of jumping ship to another network", "今天冻死我了", "买了点炭准备烧烤",
])
def test_round_5_everyday_wording_is_no_crisis(plan: Dialplan, text: str) -> None:
    assert crisis_score(plan, text) < plan.defaults.confirm_threshold  # type: ignore[operator]
