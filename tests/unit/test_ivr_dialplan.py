"""The shipped hotline dialplan through the pure dialogue engine, and loader error messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr.config import REPO_ROOT
from ivr.dialplan import DialplanError, load_dialplan
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
from ivr.dialplan.loader import yaml_load
from tests.unit.call_runner import MENU_EN, MENU_ZH

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"

WELCOME_ZH = "欢迎致电星河通信客服热线。"
WELCOME_EN = "Welcome to Xinghe Telecom."
OFFER = "For English, press 9 or say English."
BILL_ZH = "您本月的账单为九十八元，当前余额为五十八元二角。"
ELSE_ZH = "请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。"
ELSE_EN = "Is there anything else I can help you with? Say yes or press 1, or say no or press 2."
NO_INPUT_1_ZH = "不好意思，我没有听到您的声音。"
NO_INPUT_2_ZH = "还是没有听到，请您大声一点，或者直接按键。"
NO_MATCH_1_ZH = "抱歉，我没有听懂。"
NO_MATCH_2_ZH = "抱歉，还是没有听懂，您也可以直接按键选择。"
NO_MATCH_1_EN = "Sorry, I didn't understand that."
ACCOUNT_EN = ("Please say or key in your broadband account number, then press the hash key.")
ACCOUNT_ZH = "请说出或输入您的宽带账号，按井号键结束。"
TOPUP_ZH = "请说出或输入充值金额，十元到五千元，按井号键结束。"


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


# ---------------------------------------------------------------- loading
def test_load_hotline():
    loaded = load_dialplan(HOTLINE)
    plan = loaded.plan
    assert plan.name == "xinghe-telecom-hotline"
    assert plan.languages == ["zh-CN", "en-US"]
    assert plan.default_language == "zh-CN"
    assert plan.start == "welcome"
    assert loaded.path == HOTLINE.resolve()
    assert loaded.base_dir == HOTLINE.resolve().parent
    assert len(loaded.version) == 12 and int(loaded.version, 16) >= 0
    assert set(plan.intents) == {"self_harm", "chest_pain", "breathing",
                                 "bill_enquiry", "broadband_fault", "top_up", "question", "agent",
                                 "english", "chinese", "affirm", "deny"}
    assert plan.nodes["main_menu"].verb == "menu"
    assert plan.nodes["goodbye"].verb == "hangup"
    assert plan.defaults.max_attempts == 3
    assert plan.defaults.on_failure == "escalate"


def test_version_follows_content(tmp_path):
    copy = tmp_path / "h.yaml"
    copy.write_bytes(HOTLINE.read_bytes())
    (tmp_path / "knowledge").symlink_to(HOTLINE.parent / "knowledge")
    assert load_dialplan(copy).version == load_dialplan(HOTLINE).version
    copy.write_bytes(HOTLINE.read_bytes() + b"\n# changed\n")
    assert load_dialplan(copy).version != load_dialplan(HOTLINE).version


# ---------------------------------------------------------------- engine: hotline flows
def test_start_actions(engine):
    step = engine.start({"caller": "1000"})
    assert step.actions == [
        Say(WELCOME_ZH, "zh-CN", None, "welcome"),
        Say(OFFER, "en-US", None, "welcome_english_offer"),  # prompt_language
        Say(MENU_ZH, "zh-CN", None, "main_menu"),
        _menu_listen(),
    ]
    assert step.state == DialogState("main_menu", "zh-CN", {"caller": "1000"}, profile="zh-CN")
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

    bye = engine.step(step.state, speech("不是"))
    assert bye.understanding.intent == "deny"
    assert bye.actions == [Say("感谢您的来电，再见。", "zh-CN", None, "goodbye"),
                           Hangup("completed")]
    assert bye.state.ended is True
    assert bye.state.node == "goodbye"
    # an ended dialogue ignores further input
    assert engine.step(bye.state, CallerInput("dtmf", "1")).actions == []


def test_english_goodbye(engine):
    state = _at(engine, "9", "1")
    assert state.node == "anything_else"
    bye = engine.step(state, speech("no thanks"))
    assert bye.actions == [Say("Thank you for calling Xinghe Telecom. Goodbye.", "en-US", None,
                               "goodbye"), Hangup("completed")]


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
        Transfer("queue:general", "repeated_failure"),
    ]
    assert third.state.node == "escalate"
    assert third.state.ended is True
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
    assert s3.actions[-1] == Transfer("queue:general", "repeated_failure")
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
            Transfer("queue:general", "caller_request"),
        ]
        assert step.understanding == Understanding("match", "agent", 1.0, choice="agent")
        assert step.state.ended


def test_agent_by_english_speech(engine):
    step = engine.step(_at(engine, "9"), speech("Waiting to speak with a representative."))
    assert step.understanding.intent == "agent"
    assert step.actions == [
        Say("Certainly. Connecting you to an agent, please hold.", "en-US", None, "agent"),
        Transfer("queue:general", "caller_request"),
    ]


def test_gather_digits_by_dtmf(engine):
    state = _at(engine, "2")
    assert state.node == "broadband_account"
    step = engine.step(state, CallerInput("dtmf", "12345678#"))
    assert step.understanding == Understanding("match", None, 1.0, {"account": "12345678"})
    assert step.actions[0] == SetVariables({"account": "12345678"})
    assert step.actions[1] == Say(
        "已为您登记宽带报修，账号12345678。维修人员将在二十四小时内与您联系。",
        "zh-CN", None, "broadband_logged")
    assert step.state.variables == {"caller": "1000", "account": "12345678"}
    assert step.state.node == "anything_else"


def test_gather_listen_asks_for_digits(engine):
    step = engine.step(_at(engine), CallerInput("dtmf", "2"))
    assert step.actions == [Say(ACCOUNT_ZH, "zh-CN", None, "broadband_account"),
                            Listen("broadband_account", "zh-CN", 6.0, 12, 6, True)]


def test_gather_digits_by_english_speech(engine):
    state = _at(engine, "9", "2")
    step = engine.step(state, speech("one two three four five six"))
    assert step.understanding.slots == {"account": "123456"}
    assert step.actions[1] == Say(
        "I have logged a broadband fault for account 123456. An engineer will contact you "
        "within 24 hours.", "en-US", None, "broadband_logged")


@pytest.mark.parametrize("event", [CallerInput("dtmf", "123#"), speech("一二三"),
                                   CallerInput("dtmf", "1234567890123")])
def test_gather_digits_wrong_length_is_no_match(engine, event):
    state = _at(engine, "2")
    step = engine.step(state, event)
    assert step.understanding.outcome == "no_match"
    assert step.actions == [Say(NO_MATCH_1_ZH, "zh-CN", None, "broadband_account"),
                            Say(ACCOUNT_ZH, "zh-CN", None, "broadband_account"),
                            Listen("broadband_account", "zh-CN", 6.0, 12, 6, True)]
    assert step.state.no_match == 1
    assert "account" not in step.state.variables


def test_number_slot_chinese(engine):
    state = _at(engine, "3")
    assert state.node == "topup_amount"
    step = engine.step(state, speech("五十"))
    assert step.understanding.slots == {"amount": 50}
    assert step.actions == [
        SetVariables({"amount": 50}),
        Say("您要充值50元，确认请说是或按1，取消请说不或按2。", "zh-CN", None, "topup_confirm"),
        Listen("topup_confirm", "zh-CN", 6.0, 1, 1, False, ("1", "2", "0")),
    ]
    done = engine.step(step.state, speech("是的"))
    assert done.actions[0] == Say("充值成功，50元已到账。", "zh-CN", None, "topup_done")


def test_number_slot_english(engine):
    step = engine.step(_at(engine, "9", "3"), speech("one hundred"))
    assert step.understanding.slots == {"amount": 100}
    assert step.actions[1] == Say(
        "You want to top up 100 yuan. Say yes or press 1 to confirm, or say no or press 2 to "
        "cancel.", "en-US", None, "topup_confirm")


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
    assert engine.step(state, speech("不是")).state.node == "goodbye"
    assert engine.step(state, speech("是的")).state.node == "main_menu"


def test_static_prompts(engine):
    prompts = engine.static_prompts()
    for item in [(WELCOME_ZH, "zh-CN"), (WELCOME_EN, "en-US"), (OFFER, "en-US"),
                 (MENU_ZH, "zh-CN"), (MENU_EN, "en-US"), (ELSE_EN, "en-US"),
                 (NO_INPUT_1_ZH, "zh-CN"), (NO_MATCH_2_ZH, "zh-CN"),
                 ("感谢您的来电，再见。", "zh-CN"),
                 ("Thank you for calling Xinghe Telecom. Goodbye.", "en-US")]:
        assert item in prompts
    assert (OFFER, "zh-CN") not in prompts  # prompt_language: en-US only
    assert not [t for t, _ in prompts if "{" in t]
    assert {lang for _, lang in prompts} == {"zh-CN", "en-US"}
    # the prompts with variables are left to run time
    assert not any(t.startswith("您要充值") or t.startswith("充值成功") for t, _ in prompts)


# ---------------------------------------------------------------- loader errors
MINIMAL = """\
name: t
languages: [en-US]
default_language: en-US
start: a
nodes:
  a:
    say: hello
    next: b
  b:
    hangup: {reason: done}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_dialplan(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(DialplanError) as exc:
        _load(tmp_path, text)
    return str(exc.value)


def test_minimal_plan_runs(tmp_path):
    engine = DialogEngine(_load(tmp_path, MINIMAL).plan)
    step = engine.start()
    assert step.actions == [Say("hello", "en-US", None, "a"), Hangup("done")]
    assert step.state.ended


def test_node_barge_in_is_passed_on(tmp_path):
    text = MINIMAL.replace("    say: hello\n", "    say: hello\n    barge_in: false\n")
    text = text.replace("    hangup: {reason: done}\n",
                        "    hangup: {reason: done, say: bye}\n    barge_in: true\n")
    engine = DialogEngine(_load(tmp_path, text).plan)
    assert engine.start().actions == [Say("hello", "en-US", False, "a"),
                                      Say("bye", "en-US", True, "b"), Hangup("done")]


def test_invalid_yaml_reports_line_and_column(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("    next: b\n", "    next: b: c\n"))
    path = tmp_path / "plan.yaml"
    assert msg == f"{path}:8:12: error: invalid YAML: mapping values are not allowed here [yaml]"


def test_tab_indentation_reports_position(tmp_path):
    msg = _error(tmp_path, "name: t\nnodes:\n\ta: 1\n")
    assert msg.startswith(f"{tmp_path / 'plan.yaml'}:3:1: error: invalid YAML")


def test_unknown_field(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("    say: hello\n", "    say: hello\n    sya: x\n"))
    assert msg == (f"{tmp_path / 'plan.yaml'}:8:5: error: nodes.a.sya: unknown field 'sya'"
                   " [extra_forbidden]")


def test_node_with_two_verbs(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("    hangup: {reason: done}\n",
                                           "    hangup: {reason: done}\n    say: bye\n"))
    assert "nodes.b" in msg
    assert "a node needs exactly one verb" in msg
    assert "['say', 'hangup']" in msg


def test_node_without_verb(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("    hangup: {reason: done}\n", "    next: a\n"))
    assert "nodes.b" in msg and "got []" in msg


def test_say_without_next(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("    next: b\n", ""))
    assert "nodes.a" in msg
    assert "a `say` node needs `next`" in msg


def test_dangling_goto(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("next: b", "next: nowhere"))
    assert ":8:5: error: nodes.a.next: unknown node 'nowhere' [undefined]" in msg


def test_dangling_menu_goto_and_start(tmp_path):
    text = """\
    name: t
    languages: [en-US]
    default_language: en-US
    start: missing
    nodes:
      m:
        menu:
          prompt: pick
          choices:
            - {dtmf: "1", goto: ghost}
    """
    msg = _error(tmp_path, text)
    assert ":4:1: error: start: unknown node 'missing'" in msg
    assert ":10:23: error: nodes.m.menu.choices.0.goto: unknown node 'ghost'" in msg


def test_unknown_intent_in_choice(tmp_path):
    text = """\
    name: t
    languages: [en-US]
    default_language: en-US
    start: m
    intents:
      yes: {keywords: [yes]}
    nodes:
      m:
        menu:
          prompt: pick
          choices:
            - {intent: yes, goto: m}
            - {intent: maybe, goto: m}
    """
    msg = _error(tmp_path, text)
    assert "nodes.m.menu.choices.1.intent: unknown intent 'maybe'" in msg
    assert "'yes'" not in msg


def test_unknown_intent_in_global_choice(tmp_path):
    text = MINIMAL + "global_choices:\n  - {dtmf: '0', intent: agent, goto: b}\n"
    assert ":12:17: error: global_choices.0.intent: unknown intent 'agent'" in _error(
        tmp_path, text)


def test_choice_needs_a_trigger(tmp_path):
    text = """\
    name: t
    languages: [en-US]
    default_language: en-US
    start: m
    nodes:
      m:
        menu:
          prompt: pick
          choices:
            - {goto: m}
    """
    assert "a choice needs `dtmf`, `intent` or both" in _error(tmp_path, text)


def test_default_language_not_in_languages(tmp_path):
    msg = _error(tmp_path, MINIMAL.replace("default_language: en-US", "default_language: zh-CN"))
    assert "default_language 'zh-CN' is not in languages" in msg


def test_yaml_12_booleans():
    data = yaml_load("a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ng: Yes\n")
    assert data == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False,
                    "g": "Yes"}


def test_yes_no_keywords_stay_strings(tmp_path):
    text = """\
    name: t
    languages: [en-US]
    default_language: en-US
    start: m
    intents:
      affirm: {keywords: [yes, on]}
      deny: {keywords: [no, off]}
    nodes:
      m:
        menu:
          prompt: ok?
          choices:
            - {intent: affirm, goto: y}
            - {intent: deny, goto: n}
      y:
        hangup: {reason: yes}
      n:
        hangup: {reason: no}
    """
    plan = _load(tmp_path, text).plan
    assert plan.intents["affirm"].keywords == ["yes", "on"]
    assert plan.intents["deny"].keywords == ["no", "off"]
    engine = DialogEngine(plan)
    state = engine.start().state
    assert engine.step(state, speech("no")).actions == [Hangup("no")]
    assert engine.step(state, speech("yes")).actions == [Hangup("yes")]


def test_non_utf8_file(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes(MINIMAL.replace("hello", "caf\xe9").encode("latin-1"))
    with pytest.raises(DialplanError) as exc:
        load_dialplan(path)
    assert str(exc.value).startswith(f"{path}: not UTF-8 text (invalid continuation byte)")


def test_missing_file(tmp_path):
    with pytest.raises(DialplanError, match="cannot read dialplan: No such file or directory"):
        load_dialplan(tmp_path / "none.yaml")


def test_non_mapping_file(tmp_path):
    assert "a dialplan must be a mapping" in _error(tmp_path, "- a\n- b\n")


def test_several_problems_one_line_each(tmp_path):
    msg = _error(tmp_path, "name: t\nlanguages: []\n")
    path = tmp_path / "plan.yaml"
    lines = msg.splitlines()
    assert all(line.startswith(f"{path}:") and ": error: " in line for line in lines)
    fields = {line.split(": ")[2] for line in lines}
    assert {"languages", "default_language", "start", "nodes"} <= fields
