"""Hostile dialplan inputs (issue 15): YAML alias bombs, deep nesting and huge files in every
YAML we read from outside; goto loops that never wait for the caller; audio files whose header
declares an absurd rate, channel count or length."""

from __future__ import annotations

import argparse
import struct
import textwrap
import wave
from pathlib import Path
from typing import Any

import pytest
import yaml

from audio_models.tts import AudioFileError, load_audio_file
from ivr.cli import main as cli_main
from ivr.config import ConfigError, load_settings
from ivr.dialplan.case_spec import MalformedTestFile, load_test_file
from ivr.dialplan.console import Console
from ivr.dialplan.lint import lint_file, run_lint
from ivr.dialplan.loader import DialplanError, load_dialplan
from ivr.dialplan.simulate import run_simulate
from ivr.reload import check
from ivr.safe_yaml import UnsafeYaml, safe_load

HEAD = """\
name: t
languages: [en]
default_language: en
start: menu
"""
ALIASES = "YAML aliases are not allowed in"
DEEP = 50_000


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _plan(path: Path, nodes: str) -> Path:
    """A dialplan: HEAD, then `nodes` (an indented block is dedented)."""
    path.write_text(HEAD + textwrap.dedent(nodes), encoding="utf-8")
    return path


def _bomb(levels: int) -> str:
    """`levels` anchors, each a list of ten aliases of the one before: 10**levels leaves."""
    lines = ['l0: &l0 "lol"']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- aliases
def test_alias_bomb_is_refused_at_its_first_alias(tmp_path: Path) -> None:
    # small enough that the old loader survives it; the point is where and how it is refused
    plan = _write(tmp_path / "bomb.yaml", HEAD + "nodes: {menu: {hangup: {}}}\n" + _bomb(4))
    with pytest.raises(DialplanError) as info:
        load_dialplan(plan)
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.column) == (str(plan), 7, 10)  # the first `*l0`
    assert str(issue).startswith(f"{plan}:7:10: error: {ALIASES} dialplans")


def test_aliases_are_refused_while_composing_before_anything_expands() -> None:
    # 10**9 leaves: had anything walked the tree it would take minutes and gigabytes
    with pytest.raises(UnsafeYaml) as info:
        safe_load(_bomb(9), "dialplans")
    assert info.value.located("x.yaml") == f"x.yaml:2:10: {ALIASES} dialplans"


def test_a_working_plan_using_an_alias_is_refused_by_lint_and_hot_reload(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "plan.yaml", """\
        nodes:
          menu: &bye {hangup: {}}
          other: *bye
        """)
    assert [i.code for i in lint_file(plan)] == ["yaml-unsafe"]
    with pytest.raises(DialplanError, match=f"{ALIASES} dialplans"):
        check(plan)  # what the running service's watcher calls on every edit


def test_alias_in_a_dialplan_test_file_is_refused(tmp_path: Path) -> None:
    suite = _write(tmp_path / "plan.test.yaml", """\
        dialplan: plan.yaml
        tests:
          - &case {name: a, steps: [{expect: {node: menu}}]}
          - *case
        """)
    with pytest.raises(MalformedTestFile) as info:
        load_test_file(suite)
    assert [str(i) for i in info.value.issues] == [
        f"{suite}:4:5: error: {ALIASES} dialplan tests"]


def test_alias_in_the_settings_file_is_refused(tmp_path: Path) -> None:
    config = _write(tmp_path / "ivr.yaml", "sip: &s {port: 5070}\nhttp: *s\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    assert str(info.value) == f"{config}:2:7: {ALIASES} settings files"


# ---------------------------------------------------------------- depth
def test_deep_nesting_is_a_located_error_not_a_recursion_error(tmp_path: Path) -> None:
    # the root mapping is level 1, so the 64th `[` is level 65
    plan = _write(tmp_path / "deep.yaml", HEAD + "description: " + "[" * DEEP + "]" * DEEP)
    with pytest.raises(DialplanError) as info:
        load_dialplan(plan)
    assert [str(i) for i in info.value.issues] == [
        f"{plan}:5:77: error: YAML nested more than 64 levels deep is not allowed in dialplans "
        "[yaml-unsafe]"]


def test_ivr_lint_reports_deep_nesting_and_exits_1(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plan = _write(tmp_path / "deep.yaml", "nodes: " + "{a: " * DEEP + "1" + "}" * DEEP)
    assert cli_main(["lint", str(plan)]) == 1
    out = capsys.readouterr()
    assert "nested more than 64 levels deep" in out.out
    assert "Traceback" not in out.out + out.err


def test_deep_settings_file_and_environment_value(tmp_path: Path) -> None:
    config = _write(tmp_path / "ivr.yaml", "sip: " + "[" * DEEP + "]" * DEEP)
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        load_settings(environ={"IVR_SIP": "[" * DEEP + "]" * DEEP})


def test_nesting_up_to_the_bound_still_loads() -> None:
    assert safe_load("[" * 64 + "]" * 64, "dialplans") is not None
    with pytest.raises(yaml.YAMLError):
        safe_load("[" * 65 + "]" * 65, "dialplans")


# ---------------------------------------------------------------- size
def test_dialplan_over_1_mb_is_refused_unread(tmp_path: Path) -> None:
    plan = _write(tmp_path / "big.yaml", HEAD + "nodes: {menu: {hangup: {}}}\n"
                  + "# padding\n" * 110_000)
    with pytest.raises(DialplanError, match=r"larger than 1,000,000 bytes"):
        load_dialplan(plan)
    issues = lint_file(plan)
    assert [(i.line, i.code) for i in issues] == [(1, "invalid")]


def test_settings_file_over_1_mb_is_refused(tmp_path: Path) -> None:
    config = _write(tmp_path / "ivr.yaml", "sip: {port: 5070}\n" + "#\n" * 600_000)
    with pytest.raises(ConfigError, match=r"larger than 1,000,000 bytes"):
        load_settings(config, environ={})


# ---------------------------------------------------------------- goto loops without input
LOOPS = HEAD + """\
variables: {vip: false, i: 0}
nodes:
  menu:
    menu:
      prompt: "1 hours, 2 VIP, 3 count, 4 status"
      choices:
        - {dtmf: "1", goto: hours}
        - {dtmf: "2", goto: vip}
        - {dtmf: "3", goto: count}
        - {dtmf: "4", goto: status}
      on_failure: bye
  hours:
    say: "We are open nine to five."
    next: again
  again:
    say: "Once more:"
    next: hours
  vip:
    branch: [{if: "vip", goto: vip_hello}]
    next: bye
  vip_hello:
    say: "Hello, VIP."
    next: vip
  count:
    set: {i: "=i + 1"}
    next: tick
  tick:
    say: "{i}"
    next: count_done
  count_done:
    branch: [{if: "i < 3", goto: count}]
    next: bye
  status:
    webhook: {url: "https://example.com/status", save: {done: "done"}, on_failure: bye}
    next: status_done
  status_done:
    branch: [{if: "done", goto: bye}]
    next: still
  still:
    say: "Still checking."
    next: status
  bye:
    hangup: {}
"""


def test_lint_reports_loops_the_call_cannot_leave(tmp_path: Path) -> None:
    plan = _write(tmp_path / "loops.yaml", LOOPS)
    found = [(i.line, i.severity, i.message.split(" loop ")[0])
             for i in lint_file(plan) if i.code == "input-free-loop"]
    # `vip` can leave, but never changes its mind: once round with vip, forever round.
    # The counter (i changes) and the webhook poll (it waits) are not reported.
    assert found == [(16, "error", "nodes hours -> again -> hours"),
                     (22, "error", "nodes vip -> vip_hello -> vip")]
    args = argparse.Namespace(paths=[plan], strict=False, format="text")
    assert run_lint(args) == 1


def test_loop_left_by_the_clock_or_a_return_is_not_reported(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "ok.yaml", """\
        calendars: {office: {weekly: {mon-fri: "09:00-18:00"}}}
        nodes:
          menu:
            menu:
              prompt: "1 wait, 2 help"
              choices: [{dtmf: "1", goto: wait}, {dtmf: "2", goto: help}]
              on_failure: bye
          wait:
            hours: {calendar: office, open: bye, closed: wait_say}
          wait_say:
            say: "Closed."
            next: late
          late:
            branch: [{if: "now.hour < 9", goto: wait}]
            next: bye
          help:
            flow: help_say
            next: menu
          help_say:
            say: "Help."
            next: help_back
          help_back:
            return: true
          bye:
            hangup: {}
        """)
    assert [i for i in lint_file(plan) if i.severity == "error"] == []


def test_self_loop_and_hot_reload_refuses_it(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "self.yaml", """\
        nodes:
          menu:
            menu:
              prompt: "1 news"
              choices: [{dtmf: "1", goto: news}]
              on_failure: news
          news:
            say: "News."
            next: news
        """)
    with pytest.raises(DialplanError, match=r"nodes news -> news loop without waiting"):
        check(plan)


# ---------------------------------------------------------------- audio headers
def _wav(path: Path, rate: int, channels: int, frames: int) -> Path:
    """A 16-bit PCM WAV whose header says `rate` and `channels` (written by hand: the wave
    module would accept them too, but this keeps the bytes obvious)."""
    align = 2 * channels
    data = b"\0" * (frames * align)
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, channels, rate,
                      (rate * align) & 0xFFFFFFFF, align, 16)
    body = b"WAVE" + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(("rate", "channels", "frames", "message"), [
    (1, 1, 2000, "declares 1 Hz: sample rates from 8000 to 48000 Hz"),
    (4_000_000, 1, 2000, "declares 4000000 Hz"),
    (16000, 1000, 16, "declares 1000 channels: mono or stereo"),
    (8000, 1, 8000 * 601, "lasts 601 s: at most 600 s"),
])
def test_absurd_audio_headers_are_refused_before_reading(tmp_path: Path, rate: int,
                                                         channels: int, frames: int,
                                                         message: str) -> None:
    path = _wav(tmp_path / "x.wav", rate, channels, frames)
    with pytest.raises(AudioFileError, match=message):
        load_audio_file(path)


def test_plausible_audio_still_loads(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "ok.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\1\0" * 2 * 4800)
    frame = load_audio_file(tmp_path / "ok.wav")
    assert frame.sample_rate == 48000
    assert len(frame.pcm) == 2 * 4800


class _NoASR:
    def __init__(self) -> None:
        self.heard: list[Any] = []

    def transcribe_sync(self, audio: Any, language: str, prompt: str | None) -> Any:
        self.heard.append(audio)  # the real one resampled 1 Hz to 16 kHz: 12.8 GB, a crash
        raise AssertionError("the ASR must not get this audio")

    def close(self) -> None:
        """Nothing to release: the fake holds no model."""


def test_simulate_audio_at_1_hz_is_a_clear_error(tmp_path: Path) -> None:
    import io

    from ivr.cli import build_parser

    plan = _plan(tmp_path / "plan.yaml", """\
        nodes:
          menu:
            menu:
              prompt: "Say something."
              choices: [{dtmf: "1", goto: bye}]
              on_failure: bye
          bye:
            hangup: {}
        """)
    wav = _wav(tmp_path / "one_hz.wav", 1, 1, 200_000)
    asr = _NoASR()
    out, err = io.StringIO(), io.StringIO()
    console = Console(lambda prompt: "", out, err, False)
    args = build_parser().parse_args(["simulate", str(plan), "--audio", str(wav)])
    assert run_simulate(args, console=console, asr_factory=lambda spec: asr) == 2
    assert asr.heard == []
    assert f"ivr simulate: audio file {wav} declares 1 Hz" in err.getvalue()
