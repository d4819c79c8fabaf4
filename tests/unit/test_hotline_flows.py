"""The shipped hotline dialplan through the pure dialogue engine: the greeting and the
main menu, switching to English, no input / no match and the transfer when attempts run
out, the agent choice, digits and number slots, and anything else?"""

from __future__ import annotations

import pytest

from audio_models.grammar import DigitGrammar
from ivr.dialplan import load_dialplan
from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    Listen,
    NoInput,
    Say,
    SetLanguage,
    SetVariables,
    Transfer,
    Understanding,
    Unintelligible,
)
from ivr.dialplan.engine import DialogEngine, DialogState
from tests.unit.call_runner import MENU_EN, MENU_ZH
from tests.unit.hotline_prompts import (
    ACCOUNT_ZH,
    BILL_ZH,
    ELSE_ZH,
    HOTLINE,
    NO_INPUT_1_ZH,
    NO_INPUT_2_ZH,
    NO_MATCH_1_EN,
    NO_MATCH_1_ZH,
    NO_MATCH_2_ZH,
    OFFER,
    TOPUP_ZH,
    WELCOME_ZH,
)


@pytest.fixture(scope="module")
def engine() -> DialogEngine:
    return DialogEngine(load_dialplan(HOTLINE).plan)


def _menu_listen(language: str = "zh-CN") -> Listen:
    return Listen("main_menu", language, 6.0, max_digits=1, min_digits=1, digits_slot=False,
                  dtmf_choices=("1", "2", "3", "4", "9", "8", "0"))


def _at(engine: DialogEngine, *inputs: str | CallerInput) -> DialogState:
    """State after start and the given inputs (plain strings are DTMF)."""
    state = engine.start({"caller": "1000"}).state
    for i in inputs:
        event = CallerInput("dtmf", i) if isinstance(i, str) else i
        state = engine.step(state, event).state
    return state


def speech(text: str) -> CallerInput:
    return CallerInput("speech", text, 0.9)


# ---------------------------------------------------------------- engine: hotline flows
def test_start_actions(engine):
    step = engine.start({"caller": "1000"})
    assert step.actions == [
        Say(WELCOME_ZH, "zh-CN", None, "welcome"),
        Say(OFFER, "en-US", None, "welcome_english_offer"),  # prompt_language
        Say(MENU_ZH, "zh-CN", None, "main_menu"),
        _menu_listen(),
    ]
    # `history: false`: the hotline's first-time caller (a returning one has their calls)
    assert step.state == DialogState("main_menu", "zh-CN", {"history": False, "caller": "1000"},
                                     profile="zh-CN")
    assert step.understanding is None


def test_dtmf_9_switches_to_english(engine):
    step = engine.step(_at(engine), CallerInput("dtmf", "9"))
    assert step.actions == [
        SetLanguage("en-US", "en-US"),
        Say(MENU_EN, "en-US", None, "main_menu"),
        _menu_listen("en-US"),
    ]
    assert step.state.language == "en-US"
    assert step.state.node == "main_menu"
    assert step.understanding == Understanding("match", "english", 1.0, choice="main_menu")


def test_saying_english_switches_language(engine):
    step = engine.step(_at(engine), speech("English please"))
    assert step.actions[0] == SetLanguage("en-US", "en-US")
    assert step.state.language == "en-US"


def test_speech_bill_enquiry_then_deny_hangs_up(engine):
    step = engine.step(_at(engine), speech("我想查一下话费"))
    assert step.understanding.outcome == "match"
    assert step.understanding.intent == "bill_enquiry"
    assert step.understanding.choice == "bill_info"
    assert step.understanding.score == pytest.approx(0.89)
    assert step.actions == [
        Say(BILL_ZH, "zh-CN", None, "bill_info"),
        Say(ELSE_ZH, "zh-CN", None, "anything_else"),
        Listen("anything_else", "zh-CN", 6.0, 1, 1, False, ("1", "2", "0")),
    ]
    assert step.state.node == "anything_else"

    survey = engine.step(step.state, speech("不是"))
    assert survey.understanding.intent == "deny" and survey.state.node == "satisfaction"
    bye = engine.step(survey.state, CallerInput("dtmf", "5"))
    assert bye.actions[1:] == [Say("谢谢您的评价。", "zh-CN", None, "satisfaction"),
                               Say("感谢您的来电，再见。", "zh-CN", None, "goodbye"),
                               Hangup("completed")]
    assert bye.state.ended is True
    assert bye.state.node == "goodbye"
    # an ended dialogue ignores further input
    assert engine.step(bye.state, CallerInput("dtmf", "1")).actions == []


def test_english_goodbye(engine):
    state = _at(engine, "9", "1")
    assert state.node == "anything_else"
    survey = engine.step(state, speech("no thanks"))
    assert survey.state.node == "satisfaction"
    bye = engine.step(survey.state, speech("five"))
    assert bye.actions[1:] == [Say("Thank you for your feedback.", "en-US", None, "satisfaction"),
                               Say("Thank you for calling Xinghe Telecom. Goodbye.", "en-US",
                                   None, "goodbye"), Hangup("completed")]


def test_no_input_escalates_prompts_then_transfers(engine):
    state = _at(engine)
    first = engine.step(state, NoInput())
    assert first.understanding == Understanding("no_input")
    assert first.actions == [Say(NO_INPUT_1_ZH, "zh-CN", None, "main_menu"),
                             Say(MENU_ZH, "zh-CN", None, "main_menu"), _menu_listen()]
    assert (first.state.no_input, first.state.no_match) == (1, 0)

    second = engine.step(first.state, NoInput())
    assert [a.text for a in second.actions if isinstance(a, Say)] == [NO_INPUT_2_ZH, MENU_ZH]
    assert second.state.no_input == 2

    third = engine.step(second.state, NoInput())  # max_attempts: 3 -> on_failure: escalate
    assert third.actions == [
        Say("抱歉没能帮到您，正在为您转接人工客服，请稍候。", "zh-CN", None, "escalate"),
        Transfer("queue:general", "repeated_failure", after_agent=True),
    ]
    assert third.state.node == "escalate"
    assert third.state.ended is False  # after_agent: the survey may follow the agent
    assert third.state.variables["failure_reason"] == "no_input"


def test_no_match_and_no_input_share_the_attempt_budget(engine):
    state = _at(engine)
    s1 = engine.step(state, speech("今天天气怎么样"))
    assert s1.understanding.outcome == "no_match"
    assert s1.actions[0] == Say(NO_MATCH_1_ZH, "zh-CN", None, "main_menu")
    s2 = engine.step(s1.state, Unintelligible("嗯", 0.1))
    assert s2.understanding.outcome == "unintelligible"
    assert s2.actions[0] == Say(NO_MATCH_2_ZH, "zh-CN", None, "main_menu")
    s3 = engine.step(s2.state, NoInput())
    assert s3.actions[-1] == Transfer("queue:general", "repeated_failure", after_agent=True)
    assert s3.state.variables["failure_reason"] == "no_input"


def test_counters_reset_after_moving_on(engine):
    s1 = engine.step(_at(engine), NoInput())
    s2 = engine.step(s1.state, NoInput())
    moved = engine.step(s2.state, CallerInput("dtmf", "1"))
    assert (moved.state.node, moved.state.no_input, moved.state.no_match) == (
        "anything_else", 0, 0)


def test_global_agent_choice(engine):
    for state in (_at(engine), _at(engine, "2")):  # a menu and a gather node
        step = engine.step(state, CallerInput("dtmf", "0"))
        assert step.actions == [
            Say("好的，正在为您转接人工客服，请稍候。", "zh-CN", None, "agent"),
            Transfer("queue:general", "caller_request", after_agent=True),
        ]
        assert step.understanding == Understanding("match", "agent", 1.0, choice="agent")
        assert not step.state.ended  # after_agent: the survey may follow


def test_agent_by_english_speech(engine):
    step = engine.step(_at(engine, "9"), speech("Waiting to speak with a representative."))
    assert step.understanding.intent == "agent"
    assert step.actions == [
        Say("Certainly. Connecting you to an agent, please hold.", "en-US", None, "agent"),
        Transfer("queue:general", "caller_request", after_agent=True),
    ]


def test_gather_digits_by_dtmf(engine):
    state = _at(engine, "2")
    assert state.node == "broadband_account"
    step = engine.step(state, CallerInput("dtmf", "12345678#"))
    assert step.understanding == Understanding("match", None, 1.0, {"account": "12345678"})
    assert step.actions[0] == SetVariables({"account": "12345678"})
    assert step.actions[1] == Say(
        "已为您登记宽带报修，账号幺二三四五六七八。维修人员将在二十四小时内与您联系。",
        "zh-CN", None, "broadband_logged")
    assert step.state.variables == {"history": False, "caller": "1000", "account": "12345678"}
    assert step.state.node == "anything_else"


def test_gather_listen_asks_for_digits(engine):
    step = engine.step(_at(engine), CallerInput("dtmf", "2"))
    assert step.actions == [Say(ACCOUNT_ZH, "zh-CN", None, "broadband_account"),
                            Listen("broadband_account", "zh-CN", 6.0, 8, 8, True,
                                   grammar=DigitGrammar(8, 8))]


def test_gather_digits_by_english_speech(engine):
    state = _at(engine, "9", "2")
    step = engine.step(state, speech("one two three four five six seven eight"))
    assert step.understanding.slots == {"account": "12345678"}
    assert step.actions[1] == Say(
        "I have logged a broadband fault for account one two three four five six seven eight. "
        "An engineer will contact you within 24 hours.", "en-US", None, "broadband_logged")


@pytest.mark.parametrize("event", [CallerInput("dtmf", "123#"), speech("一二三"),
                                   CallerInput("dtmf", "1234567890123")])
def test_gather_digits_wrong_length_is_no_match(engine, event):
    state = _at(engine, "2")
    step = engine.step(state, event)
    assert step.understanding.outcome == "no_match"
    assert step.actions == [Say(NO_MATCH_1_ZH, "zh-CN", None, "broadband_account"),
                            Say(ACCOUNT_ZH, "zh-CN", None, "broadband_account"),
                            Listen("broadband_account", "zh-CN", 6.0, 8, 8, True,
                                   grammar=DigitGrammar(8, 8))]
    assert step.state.no_match == 1
    assert "account" not in step.state.variables


def test_number_slot_chinese(engine):
    state = _at(engine, "3")
    assert state.node == "topup_amount"
    step = engine.step(state, speech("五十"))
    assert step.understanding.slots == {"amount": 50}
    assert step.actions == [
        SetVariables({"amount": 50}),
        Say("您要充值五十元，确认请说是或按1，取消请说不或按2。", "zh-CN", None, "topup_confirm"),
        Listen("topup_confirm", "zh-CN", 6.0, 1, 1, False, ("1", "2", "0")),
    ]
    done = engine.step(step.state, speech("是的"))
    assert done.actions[0] == Say("充值成功，五十元已到账。", "zh-CN", None, "topup_done")


def test_number_slot_english(engine):
    step = engine.step(_at(engine, "9", "3"), speech("one hundred"))
    assert step.understanding.slots == {"amount": 100}
    assert step.actions[1] == Say(
        "You want to top up one hundred yuan. Say yes or press 1 to confirm, or say no or "
        "press 2 to cancel.", "en-US", None, "topup_confirm")


def test_number_slot_keyed_in(engine):
    step = engine.step(_at(engine, "3"), CallerInput("dtmf", "200#"))
    assert step.understanding.slots == {"amount": 200}
    assert step.state.variables["amount"] == 200


@pytest.mark.parametrize("event", [speech("五"), CallerInput("dtmf", "5"),
                                   speech("一万"), CallerInput("dtmf", "9999")])
def test_number_out_of_range_is_no_match(engine, event):
    step = engine.step(_at(engine, "3"), event)
    assert step.understanding.outcome == "no_match"
    assert step.actions[0] == Say(NO_MATCH_1_ZH, "zh-CN", None, "topup_amount")
    assert step.actions[1] == Say(TOPUP_ZH, "zh-CN", None, "topup_amount")
    assert "amount" not in step.state.variables


def test_unknown_dtmf_in_menu_is_no_match(engine):
    step = engine.step(_at(engine, "9"), CallerInput("dtmf", "7"))
    assert step.understanding == Understanding("no_match")
    assert step.actions[0] == Say(NO_MATCH_1_EN, "en-US", None, "main_menu")


def test_deny_beats_affirm_at_anything_else(engine):
    state = _at(engine, "1")
    assert engine.step(state, speech("不是")).state.node == "satisfaction"
    assert engine.step(state, speech("是的")).state.node == "main_menu"
