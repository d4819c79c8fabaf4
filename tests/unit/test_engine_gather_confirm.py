"""`gather` with `confirm: true`: the engine reads the value back and waits for yes or
no (spoken or keyed), asks again on no, and counts silence and unclear answers."""

from __future__ import annotations

import pytest

from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    Listen,
    NoInput,
    Say,
    SetVariables,
    Understanding,
)
from ivr.dialplan.engine import DialogState
from tests.unit.inline_plans import DEFAULTS_HEAD, FACTS, engine

# ---------------------------------------------------------------- gather confirmation
CONFIRM = """
s:
  gather:
    prompt: {zh-CN: 请说金额, en-US: Say the amount}
    slot: {name: amount, type: amount}
    confirm: true
    next: done
done: {hangup: {say: "got {amount}"}}
"""
YES_NO_LISTEN = Listen("s", "zh-CN", None, 1, 1, dtmf_choices=("1", "2"))
AMOUNT_LISTEN = Listen("s", "zh-CN", None, 20, 1, digits_slot=True)


@pytest.fixture
def confirming(tmp_path):
    e = engine(tmp_path, CONFIRM, DEFAULTS_HEAD)
    first = e.start({}, FACTS)
    assert first.actions == [Say("请说金额", "zh-CN", None, "s"), AMOUNT_LISTEN]
    step = e.step(first.state, CallerInput("speech", "五十八块五"), FACTS)
    assert step.actions == [Say("您说的是五十八元五角，对吗？", "zh-CN", None, "s"), YES_NO_LISTEN]
    assert step.state.confirming == ("amount", 58.5)
    assert step.state.variables == {}
    return e, step.state


@pytest.mark.parametrize("event", [CallerInput("speech", "是的"), CallerInput("dtmf", "1")])
def test_confirm_yes_goes_next_with_value(confirming, event):
    e, state = confirming
    step = e.step(state, event, FACTS)
    assert step.actions == [SetVariables({"amount": 58.5}),
                            Say("got 五十八元五角", "zh-CN", None, "done"), Hangup("completed")]
    assert step.understanding == Understanding("match", None, 1.0, {"amount": 58.5})
    assert step.state.variables == {"amount": 58.5}
    assert step.state.confirming is None


@pytest.mark.parametrize("event", [CallerInput("speech", "不是"), CallerInput("dtmf", "2")])
def test_confirm_no_asks_again(confirming, event):
    e, state = confirming
    step = e.step(state, event, FACTS)
    assert step.actions == [Say("请说金额", "zh-CN", None, "s"), AMOUNT_LISTEN]
    assert step.state.confirming is None
    assert step.state.node == "s"
    assert step.state.variables == {}
    assert step.understanding == Understanding("match", "deny", 1.0)
    # and the new value is confirmed in turn
    again = e.step(step.state, CallerInput("dtmf", "60#"), FACTS)
    assert again.actions == [Say("您说的是六十元，对吗？", "zh-CN", None, "s"), YES_NO_LISTEN]


def test_silence_during_confirmation_is_no_input(confirming):
    e, state = confirming
    step = e.step(state, NoInput(), FACTS)
    assert step.actions[0] == Say("没听到", "zh-CN", None, "s")
    assert step.understanding.outcome == "no_input"
    assert step.state.no_input == 1
    assert step.state.history.no_input == 1
    assert step.state.history.failures == 1


def test_unclear_answer_during_confirmation_is_no_match(confirming):
    e, state = confirming
    step = e.step(state, CallerInput("speech", "天气晴朗"), FACTS)
    assert step.actions[0] == Say("没听懂", "zh-CN", None, "s")
    assert step.understanding.outcome == "no_match"
    assert step.state.no_match == 1
    step3 = e.step(state, CallerInput("dtmf", "3"), FACTS)
    assert step3.understanding.outcome == "no_match"


def test_silence_during_confirmation_repeats_the_question(confirming):
    e, state = confirming
    step = e.step(state, NoInput(), FACTS)
    assert step.actions == [Say("没听到", "zh-CN", None, "s"),
                            Say("您说的是五十八元五角，对吗？", "zh-CN", None, "s"), YES_NO_LISTEN]
    assert step.state.confirming == ("amount", 58.5)


def test_confirm_prompt_english_default(tmp_path):
    e = engine(tmp_path, CONFIRM, DEFAULTS_HEAD)
    state = DialogState("s", "en-US")
    step = e.step(state, CallerInput("speech", "twelve dollars and fifty cents"), FACTS)
    assert step.actions[0] == Say("I heard twelve yuan fifty. Is that right?", "en-US", None, "s")


def test_custom_confirm_prompt(tmp_path):
    e = engine(tmp_path, """
        s:
          gather:
            prompt: 请输入手机号
            slot: {name: phone, type: phone}
            confirm: true
            confirm_prompt: {zh-CN: "号码是{value}，{caller}对吗", en-US: "Number {value}?"}
            next: done
        done: {hangup: {}}
    """)
    first = e.start({"caller": "张三"}, FACTS)
    step = e.step(first.state, CallerInput("dtmf", "13800138000#"), FACTS)
    assert step.actions == [Say("号码是幺三八，零零幺三，八零零零，张三对吗", "zh-CN", None, "s"),
                            YES_NO_LISTEN]
