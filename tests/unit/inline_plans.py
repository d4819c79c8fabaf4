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
