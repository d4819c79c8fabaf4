"""The dialplan loader on small inline plans: a minimal plan runs, error messages with
file:line:column (bad YAML, unknown fields, dangling gotos and intents), YAML 1.2
booleans, unreadable and non-mapping files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr.dialplan import DialplanError, load_dialplan
from ivr.dialplan.actions import CallerInput, Hangup, Say
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import yaml_load

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
    assert engine.step(state, CallerInput("speech", "no", 0.9)).actions == [Hangup("no")]
    assert engine.step(state, CallerInput("speech", "yes", 0.9)).actions == [Hangup("yes")]


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
