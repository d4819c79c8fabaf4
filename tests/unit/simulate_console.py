"""`ivr simulate` driven from a test (tests/unit/test_simulate_*.py): a console whose caller
types scripted lines, one run of the simulator on it, a dialplan written for the test and an
ASR that answers scripted texts."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

from audio_models.protocols import Transcript
from ivr.cli import build_parser
from ivr.config import REPO_ROOT
from ivr.dialplan.console import Console
from ivr.dialplan.simulate import run_simulate

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "dialplan_tests" / "audio"


class Script:
    """A console whose caller types the given lines (an exception instance is raised)."""

    def __init__(self, *lines: str | BaseException, interactive: bool = False) -> None:
        self.lines = list(lines)
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.console = Console(self.read, self.out, self.err, interactive)

    def read(self, prompt: str) -> str:
        self.out.write(prompt)
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        if isinstance(line, BaseException):
            raise line
        self.out.write(line + "\n")
        return line

    @property
    def text(self) -> str:
        return self.out.getvalue()


def simulate(script: Script, *argv: str, **kw: Any) -> int:
    """`ivr simulate *argv` on the console of `script`: its exit status."""
    args = build_parser().parse_args(["simulate", *argv])
    return run_simulate(args, console=script.console, **kw)


def write_plan(tmp_path: Path, text: str) -> str:
    """The path of a dialplan of `text` (dedented) written for the test."""
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


class ScriptedASR:
    """Answers each utterance with the next of `texts` (confidence 0.87) in the language
    asked for, and remembers the languages (and the grammars asked for: it recognises
    nothing under them)."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.languages: list[str] = []
        self.closed = False
        self.grammars: list[object] = []

    def transcribe_sync(self, audio, language, prompt=None, grammar=None):  # type: ignore[no-untyped-def]
        self.languages.append(language)
        self.grammars.append(grammar)
        return Transcript(self.texts.pop(0), language, 0.87, -0.14, 0.01, audio.duration, 0.1)

    def close(self) -> None:
        self.closed = True
