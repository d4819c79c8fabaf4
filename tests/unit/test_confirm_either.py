""""Did you mean X or Y?" (issue 17): two labelled intents heard about equally are both
offered (key 1 or 2, "the second", or the words of one choose; no is a failed attempt;
anything else is a new request); a crisis intent is never offered this way; a tie of the
words that the meaning does not break either is asked about rather than guessed
(`tie_undecided`)."""

from __future__ import annotations

from typing import Any

from ivr.dialplan.actions import CallerInput, Listen
from ivr.dialplan.confirmation import INTENT
from ivr.dialplan.loader import load_dialplan
from ivr.dialplan.recognition import tie_undecided
from ivr.understanding.intents import IntentMatch
from tests.unit.inline_plans import FACTS, engine, plan_file, says

NODES = """
s:
  menu:
    prompt: {zh-CN: 请讲, en-US: Go ahead}
    choices:
      - {intent: bill, goto: bill}
      - {intent: topup, goto: topup}
      - {intent: breath, goto: urgent}
bill: {hangup: {say: {zh-CN: 账单, en-US: Bill}}}
topup: {hangup: {say: {zh-CN: 充值, en-US: Top-up}}}
urgent: {hangup: {say: {zh-CN: 急救, en-US: Urgent}}}
"""

HEAD = """
defaults:
  intent_threshold: 0.9
  no_input: [{zh-CN: 没听到, en-US: Did not hear}]
  no_match: [{zh-CN: 没听懂, en-US: Did not understand}]
intents:
  bill:
    label: {zh-CN: 查询话费, en-US: check your bill}
    keywords: {zh-CN: [账单], en-US: [bill]}
  topup:
    label: {zh-CN: 充值话费, en-US: top up}
    keywords: {zh-CN: [充值], en-US: [cash]}
  breath:
    label: {zh-CN: 呼吸困难, en-US: difficulty breathing}
    keywords: {zh-CN: [喘不上气], en-US: [can't breathe]}
    fuzzy: false
    semantic: false
  deny: {keywords: {zh-CN: [都不是, 不是], en-US: [neither, no]}}
"""


def asked(tmp_path: Any, text: str = "账单充值") -> tuple[Any, Any]:
    e = engine(tmp_path, NODES, HEAD)
    step = e.step(e.start({}, FACTS).state, CallerInput("speech", text), FACTS)
    return e, step


def test_two_intents_heard_alike_are_both_offered(tmp_path: Any) -> None:
    _, step = asked(tmp_path)
    assert step.state.confirming == (INTENT, "bill|topup")
    assert step.state.node == "s" and step.understanding.outcome == "no_match"
    assert says(step.actions) == [
        "请问您是要查询话费，还是充值话费？查询话费请按1，充值话费请按2。"]
    listen = next(a for a in step.actions if isinstance(a, Listen))
    assert listen.dtmf_choices == ("1", "2") and listen.max_digits == 1


def test_a_key_an_ordinal_or_the_words_choose(tmp_path: Any) -> None:
    for answer, goes in ((CallerInput("dtmf", "2"), "充值"), (CallerInput("dtmf", "1"), "账单"),
                         (CallerInput("speech", "第二个"), "充值"),
                         (CallerInput("speech", "我要充值"), "充值")):
        e, step = asked(tmp_path)
        took = e.step(step.state, answer, FACTS)
        assert says(took.actions) == [goes], answer
        assert took.understanding.outcome == "match"


def test_neither_is_a_failed_attempt_and_a_new_request_is_heard(tmp_path: Any) -> None:
    e, step = asked(tmp_path)
    no = e.step(step.state, CallerInput("speech", "都不是"), FACTS)
    assert no.state.node == "s" and no.state.confirming is None
    assert "没听懂" in says(no.actions)
    e, step = asked(tmp_path)
    other = e.step(step.state, CallerInput("speech", "我喘不上气"), FACTS)  # a crisis, heard
    assert says(other.actions) == ["急救"]


def test_the_english_question(tmp_path: Any) -> None:
    from dataclasses import replace

    e = engine(tmp_path, NODES, HEAD.replace("intent_threshold: 0.9", "intent_threshold: 0.95"))
    start = replace(e.start({}, FACTS).state, language="en-US")
    step = e.step(start, CallerInput("speech", "bill cash"), FACTS)  # 0.93 each
    assert says(step.actions) == ["Did you want to check your bill, or to top up? Press 1 to "
                                  "check your bill, or 2 to top up."]
    took = e.step(step.state, CallerInput("speech", "the second one"), FACTS)
    assert says(took.actions) == ["Top-up"]


def test_a_crisis_intent_is_never_offered(tmp_path: Any) -> None:
    e = engine(tmp_path, NODES, HEAD.replace("intent_threshold: 0.9", "intent_threshold: 0.95"))
    step = e.step(e.start({}, FACTS).state, CallerInput("speech", "账单 喘不上气"), FACTS)
    assert step.state.confirming is None  # 0.93 and 0.89: no "bill or breathing?"
    assert not any("还是" in t for t in says(step.actions))


class _Index:
    def __init__(self, p: dict[str, float]) -> None:
        self.p = p

    def probabilities(self, meaning: Any, language: str) -> list[tuple[str, float]]:
        return list(self.p.items())


def test_a_tie_the_meaning_does_not_break_is_undecided(tmp_path: Any) -> None:
    plan = load_dialplan(plan_file(tmp_path, NODES, HEAD)).plan
    tie = [IntentMatch("bill", 0.89, "账单"), IntentMatch("topup", 0.89, "充值")]
    even = _Index({"bill": 0.45, "topup": 0.48})
    assert tie_undecided(plan, even, None, "zh-CN", tie)  # type: ignore[arg-type]
    lead = _Index({"bill": 0.2, "topup": 0.7})
    assert not tie_undecided(plan, lead, None, "zh-CN", tie)  # type: ignore[arg-type]
    apart = [IntentMatch("bill", 0.89, "账单"), IntentMatch("topup", 0.5, "充")]
    assert not tie_undecided(plan, even, None, "zh-CN", apart)  # type: ignore[arg-type]
    crisis = [IntentMatch("bill", 0.89, "账单"), IntentMatch("breath", 0.89, "喘不上气")]
    assert not tie_undecided(plan, even, None, "zh-CN", crisis)  # type: ignore[arg-type]
