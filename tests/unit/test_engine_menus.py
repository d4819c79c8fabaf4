"""Choosing and language through the pure dialogue engine: the `language` verb, global
choices, multi-key menus, the turn history and env() that expressions read, static
prompts and a node's prompt_language."""

from __future__ import annotations

import datetime as dt

import pytest

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
from ivr.dialplan.engine import DialogState, History
from tests.unit.inline_plans import DEFAULTS_HEAD, FACTS, NOW, engine, says


# ---------------------------------------------------------------- language
def test_language_verb(tmp_path):
    e = engine(tmp_path, """
        s: {language: en-US, next: hello}
        hello:
          say: {zh-CN: 你好, en-US: Hello}
          next: ask
        ask:
          menu:
            prompt: {zh-CN: 请按1, en-US: Press 1}
            choices: [{dtmf: "1", goto: bye}]
        bye: {hangup: {}}
    """)
    step = e.start({}, FACTS)
    assert step.actions == [
        SetLanguage("en-US", "en-US"),
        Say("Hello", "en-US", None, "hello"),
        Say("Press 1", "en-US", None, "ask"),
        Listen("ask", "en-US", None, 1, 1, dtmf_choices=("1",)),
    ]
    assert step.state.language == "en-US"
    assert e.env(step.state, FACTS)["language"] == "en-US"


# ---------------------------------------------------------------- global choices, menus
GLOBAL_HEAD = """
intents:
  agent: {keywords: {zh-CN: [人工, 转人工], en-US: [agent]}}
  billing: {keywords: {zh-CN: [话费], en-US: [bill]}}
global_choices:
  - {dtmf: "0", intent: agent, goto: agent}
  - {dtmf: "*9", goto: secret}
"""
GLOBAL_NODES = """
s:
  gather:
    prompt: {zh-CN: 请讲, en-US: Go ahead}
    slot: {name: note, type: text}
    next: got
got: {hangup: {say: "note={note}"}}
agent: {transfer: {target: "queue:general", say: 转人工}}
secret: {hangup: {say: secret}}
menu:
  menu:
    prompt: 菜单
    max_attempts: 5
    choices:
      - {dtmf: "1", intent: billing, goto: got}
      - {dtmf: "12", goto: twelve}
      - {dtmf: "123", goto: got}
twelve: {hangup: {reason: twelve}}
welcome:
  say: For English, press 9.
  prompt_language: en-US
  next: menu
"""


@pytest.mark.parametrize("text", ["转人工", "我想要转人工服务"])
def test_global_agent_keyword_wins_over_text_slot(tmp_path, text):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("speech", text), FACTS)
    assert step.actions == [Say("转人工", "zh-CN", None, "agent"),
                            Transfer("queue:general", "dialplan")]
    assert step.understanding.intent == "agent"
    assert step.understanding.choice == "agent"
    assert "note" not in step.state.variables


def test_text_slot_takes_other_speech(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("speech", "我的宽带坏了", 0.8), FACTS)
    assert step.actions == [SetVariables({"note": "我的宽带坏了"}),
                            Say("note=我的宽带坏了", "zh-CN", None, "got"), Hangup("completed")]
    assert step.understanding == Understanding("match", None, 0.8, {"note": "我的宽带坏了"})


@pytest.mark.parametrize(("keys", "said"), [("0", "转人工"), ("*9", "secret")])
def test_global_dtmf_in_gather(tmp_path, keys, said):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    first = e.start({}, FACTS)
    step = e.step(first.state, CallerInput("dtmf", keys), FACTS)
    assert says(step.actions) == [said]


def test_multi_key_menu_choices(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    step = e._run(DialogState("menu", "zh-CN"), [], None, FACTS)
    assert step.actions == [Say("菜单", "zh-CN", None, "menu"),
                            Listen("menu", "zh-CN", None, 3, 1,
                                   dtmf_choices=("1", "12", "123", "0", "*9"))]
    assert e.step(step.state, CallerInput("dtmf", "12"), FACTS).actions == [Hangup("twelve")]
    assert e.step(step.state, CallerInput("dtmf", "*9"), FACTS).actions[-1] == Hangup(
        "completed")
    miss = e.step(step.state, CallerInput("dtmf", "13"), FACTS)
    assert miss.understanding.outcome == "no_match"


# ---------------------------------------------------------------- history and env
def test_turn_history_counters(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    state = e._run(DialogState("menu", "zh-CN"), [], None, FACTS).state
    assert state.history == History()
    s1 = e.step(state, NoInput(), FACTS).state
    assert s1.history == History(count=1, failures=1, no_match=0, no_input=1)
    s2 = e.step(s1, CallerInput("speech", "blah blah"), FACTS).state
    assert s2.history == History(count=2, failures=2, no_match=1, no_input=1)
    s3 = e.step(s2, Unintelligible("mumble", 0.1), FACTS).state
    assert s3.history == History(count=3, failures=3, no_match=2, no_input=1)
    s4 = e.step(s3, CallerInput("speech", "话费"), FACTS)
    # success resets consecutive failures but not the totals, and records the intent
    assert s4.state.history == History(count=4, failures=0, no_match=2, no_input=1,
                                       last_intent="billing")
    assert s4.understanding.intent == "billing"


def test_failures_count_across_nodes(tmp_path):
    e = engine(tmp_path, """
        s:
          menu:
            prompt: 一
            max_attempts: 1
            on_failure: t
            choices: [{dtmf: "1", goto: t}]
        t:
          menu:
            prompt: 二
            choices: [{dtmf: "1", goto: s}]
    """)
    first = e.start({}, FACTS)
    s1 = e.step(first.state, NoInput(), FACTS)
    assert s1.state.node == "t"
    assert s1.state.no_input == 0  # per-node counter reset on moving
    assert s1.state.history.failures == 1  # consecutive failures carry on
    s2 = e.step(s1.state, NoInput(), FACTS)
    assert s2.state.history.failures == 2


def test_env_contents(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    state = DialogState("menu", "en-US", {"caller": "10086", "amount": 50},
                        history=History(3, 1, 2, 1, "billing"))
    facts = {"now": dt.datetime(2026, 11, 22, 23, 5, tzinfo=dt.UTC),
             "emotion": {"anger": 0.5}}
    assert e.env(state, facts) == {
        "caller": "10086",
        "amount": 50,
        "language": "en-US",
        "node": "menu",
        "turns": {"count": 3, "failures": 1, "no_match": 2, "no_input": 1,
                  "last_intent": "billing"},
        "emotion": {"anger": 0.5},
        # 23:05 UTC on Sunday is 07:05 on Monday in the dialplan's Asia/Shanghai
        "now": {"hour": 7, "minute": 5, "weekday": 1, "date": "2026-11-23"},
    }


def test_env_without_emotion(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    env = e.env(DialogState("menu", "zh-CN"), {"now": NOW})
    assert env["emotion"] == {}
    assert env["now"] == {"hour": 10, "minute": 0, "weekday": 5, "date": "2026-11-20"}


def test_static_prompts(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD + DEFAULTS_HEAD)
    assert e.static_prompts() == {
        ("请讲", "zh-CN"), ("Go ahead", "en-US"),
        ("转人工", "zh-CN"), ("转人工", "en-US"),
        ("secret", "zh-CN"), ("secret", "en-US"),
        ("菜单", "zh-CN"), ("菜单", "en-US"),
        ("For English, press 9.", "en-US"),  # only in the node's prompt_language
        ("没听到", "zh-CN"), ("Did not hear", "en-US"),
        ("没听懂", "zh-CN"), ("Did not understand", "en-US"),
    }


def test_prompt_language_node_speaks_its_language(tmp_path):
    e = engine(tmp_path, GLOBAL_NODES, GLOBAL_HEAD)
    step = e._run(DialogState("welcome", "zh-CN"), [], None, FACTS)
    assert step.actions[0] == Say("For English, press 9.", "en-US", None, "welcome")
    assert step.state.language == "zh-CN"
