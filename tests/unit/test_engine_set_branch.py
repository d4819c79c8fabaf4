"""The `set` and `branch` verbs through the pure dialogue engine, on small inline
dialplans, and the loop guard that hangs up a plan going round without waiting for the
caller."""

from __future__ import annotations

import pytest

from ivr.dialplan import DialplanError, load_dialplan
from ivr.dialplan.actions import (
    CallerInput,
    Hangup,
    NoInput,
    Say,
    SetVariables,
    Transfer,
)
from tests.unit.inline_plans import FACTS, NOW, engine, plan_file


# ---------------------------------------------------------------- set
def test_set_literals_templates_and_expressions(tmp_path):
    e = engine(tmp_path, """
        s:
          set:
            a: 1
            greeting: "Hi {caller}"
            c: "=a + 1"
            n: "=len(caller)"
            vip: "=caller in ['10086', '10010']"
            flag: true
            ratio: 0.5
            empty: null
            lang: "{language}"
          next: x
        x:
          hangup: {say: "{a}|{greeting}|{c}|{n}|{vip}"}
    """, "variables: {a: 5}\n")
    step = e.start({"caller": "10086"}, FACTS)
    values = {"a": 1, "greeting": "Hi 10086", "c": 6, "n": 5, "vip": True, "flag": True,
              "ratio": 0.5, "empty": None, "lang": "zh-CN"}
    assert step.actions == [
        SetVariables(values),
        Say("1|Hi 10086|6|5|yes", "zh-CN", None, "x"),
        Hangup("completed"),
    ]
    # expressions read the variables from before the node (a was 5)
    assert step.state.variables == {"a": 1, "caller": "10086", **values}
    assert step.state.ended is True


def test_set_counts_up_across_nodes(tmp_path):
    e = engine(tmp_path, """
        s: {set: {tries: "=tries + 1"}, next: t}
        t: {set: {tries: "=tries * 10"}, next: x}
        x: {hangup: {}}
    """, "variables: {tries: 0}\n")
    step = e.start({}, FACTS)
    assert step.state.variables == {"tries": 10}
    assert [a for a in step.actions if isinstance(a, SetVariables)] == [
        SetVariables({"tries": 1}), SetVariables({"tries": 10})]


def test_set_rejects_bad_expression_at_load(tmp_path):
    path = plan_file(tmp_path, """
        s: {set: {x: "=1 +"}, next: y}
        y: {hangup: {}}
    """)
    with pytest.raises(DialplanError) as exc:
        load_dialplan(path)
    assert "bad expression '1 +' at column 4" in str(exc.value)


# ---------------------------------------------------------------- branch
BRANCH = """
s:
  branch:
    - {if: "emotion.anger >= 0.7", goto: angry}
    - {if: "amount > 1000", goto: big}
  next: normal
angry: {hangup: {reason: angry}}
big: {hangup: {reason: big}}
normal: {hangup: {reason: normal}}
"""


@pytest.mark.parametrize(
    ("variables", "emotion", "reason"),
    [
        ({"amount": 2000}, {"anger": 0.8}, "angry"),  # first case wins
        ({"amount": 2000}, {"anger": 0.2}, "big"),
        ({"amount": 500}, {"anger": 0.2}, "normal"),
        ({"amount": 500}, {"anger": 0.7}, "angry"),
        ({}, {}, "normal"),  # no emotion, no amount: null comparisons are false
        ({"amount": "lots"}, {}, "normal"),  # "lots" > 1000: false, no crash
    ],
)
def test_branch_on_variables_and_emotion(tmp_path, variables, emotion, reason):
    e = engine(tmp_path, BRANCH)
    step = e.start(variables, {"now": NOW, "emotion": emotion})
    assert step.actions == [Hangup(reason)]


def test_branch_on_turns_failures(tmp_path):
    e = engine(tmp_path, """
        s:
          menu:
            prompt: 请按1
            max_attempts: 2
            on_failure: route
            choices: [{dtmf: "1", goto: route}]
        route:
          branch:
            - {if: "turns.failures >= 2", goto: agent}
          next: bye
        agent: {transfer: {target: "queue:general", reason: failures}}
        bye: {hangup: {}}
    """)
    first = e.start({}, FACTS)
    s1 = e.step(first.state, NoInput(), FACTS)
    s2 = e.step(s1.state, CallerInput("dtmf", "7"), FACTS)
    assert s2.actions == [Transfer("queue:general", "failures")]
    assert s2.state.history.failures == 2
    assert s2.state.variables == {"failure_reason": "no_match"}
    ok = e.step(first.state, CallerInput("dtmf", "1"), FACTS)
    assert ok.actions == [Hangup("completed")]


# ---------------------------------------------------------------- loop guard
def test_say_loop_hangs_up(tmp_path):
    e = engine(tmp_path, "s: {say: loop, next: s}\n")
    step = e.start({}, FACTS)
    assert len(step.actions) == 201
    assert step.actions[:2] == [Say("loop", "zh-CN", None, "s")] * 2
    assert step.actions[-1] == Hangup("dialplan_loop")
    assert step.state.ended is True


def test_set_loop_hangs_up(tmp_path):
    e = engine(tmp_path, "s: {set: {n: \"=n + 1\"}, next: s}\n", "variables: {n: 0}\n")
    step = e.start({}, FACTS)
    assert step.actions[-1] == Hangup("dialplan_loop")
    assert step.state.variables == {"n": 200}


def test_ended_call_ignores_events(tmp_path):
    e = engine(tmp_path, "s: {hangup: {}}\n")
    step = e.start({}, FACTS)
    assert e.step(step.state, CallerInput("dtmf", "1"), FACTS).actions == []
