"""Small inline dialplans for the dialogue engine's verb tests (tests/unit/test_engine_*.py):
a plan is written from its nodes (and extra top-level keys) under a common head, loaded and
run with fixed facts (Friday 10:00 in Shanghai, no emotion)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from ivr.dialplan import load_dialplan
from ivr.dialplan.actions import Say
from ivr.dialplan.engine import DialogEngine

HEAD = "name: t\nlanguages: [zh-CN, en-US]\ndefault_language: zh-CN\nstart: s\n"
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # Friday 10:00 in Shanghai
FACTS = {"now": NOW, "emotion": {}}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def plan_file(tmp_path: Path, nodes: str, head: str = "", name: str = "main.yaml") -> Path:
    text = (HEAD + textwrap.dedent(head) + "nodes:\n"
            + textwrap.indent(textwrap.dedent(nodes), "  "))
    return write(tmp_path / name, text)


def engine(tmp_path: Path, nodes: str, head: str = "") -> DialogEngine:
    return DialogEngine(load_dialplan(plan_file(tmp_path, nodes, head)).plan)


def says(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


# the defaults' retry prompts in both languages (confirmation tests, static prompts)
DEFAULTS_HEAD = """
defaults:
  no_input: [{zh-CN: 没听到, en-US: Did not hear}]
  no_match: [{zh-CN: 没听懂, en-US: Did not understand}]
"""


# a menu whose `questions` is the answer node `ask` over the knowledge base folder `kb`
# (`questions_plan` writes a one-entry base per language there); `extra` adds choices
QUESTIONS_NODES = """
s:
  menu:
    prompt: {{zh-CN: 请问办理什么业务, en-US: How can I help}}
    choices:
      - {{dtmf: "1", intent: bill, goto: bill}}
      - {{dtmf: "4", intent: question, goto: ask}}
{extra}    questions: ask
ask:
  answer:
    prompt: {{zh-CN: 请说出您的问题, en-US: Please ask your question}}
    knowledge: kb
    next: bye
bill:
  hangup: {{say: 账单九十八元}}
bye:
  hangup: {{say: 再见}}
agent:
  transfer: {{target: "queue:general"}}
"""
KB = "language: {lang}\nentries:\n  - {{id: x, title: x, questions: [x], answer: x}}\n"


def questions_plan(tmp_path: Path, nodes: str, head: str) -> Path:
    """The plan file of `nodes` under `head`, with a one-entry knowledge base per language
    in `kb` (the tests script what it finds)."""
    for lang in ("zh-CN", "en-US"):
        write(tmp_path / "kb" / f"{lang}.yaml", KB.format(lang=lang))
    return plan_file(tmp_path, nodes, head)
