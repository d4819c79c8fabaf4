"""`ivr simulate`: a scripted REPL session, --audio through an ASR, --mic with and without a
device (fake pyaudio, and this machine's real pyaudio)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio_models.frames import AudioFrame
from audio_models.protocols import Transcript
from audio_models.resample import resample
from audio_models.tts import load_audio_file
from ivr.cli import build_parser
from ivr.config import REPO_ROOT
from ivr.dialplan.console import Console
from ivr.dialplan.fake_webhooks import FakeResponse, FakeWebhookServer
from ivr.dialplan.mic import MicAudio, _quiet_stderr
from ivr.dialplan.simulate import run_simulate

HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"
AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "dialplan_tests" / "audio"
MENU_ZH = ("请问您需要办理什么业务？您可以说查话费、宽带报修、充值，或者转人工。"
           "也可以按键：查话费请按1，宽带报修请按2，充值请按3，人工服务请按0。")
NO_DEVICE = ("ivr simulate: no audio input device found (pyaudio: No Default Input Device "
             "Available); use --audio or type instead")


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


def _simulate(script: Script, *argv: str, **kw: Any) -> int:
    args = build_parser().parse_args(["simulate", *argv])
    return run_simulate(args, console=script.console, **kw)


def _plan(tmp_path: Path, text: str) -> str:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- typed sessions
def test_scripted_session(tmp_path: Path) -> None:
    s = Script("我想查一下话费", "/vars", "/emotion anger=0.8 calm=0.1", "/emotion", "",
               "#x", "/nope", "/help", "#2")
    assert _simulate(s, str(HOTLINE)) == 0
    text = s.text
    assert text.startswith("ivr simulate: xinghe-telecom-hotline (")
    assert "caller 13800138000, language zh-CN\n" in text
    expected = """\
IVR [zh-CN]: 您好，您正在与智能语音助手通话，本次通话将被录音。
IVR [zh-CN]: 欢迎致电星河通信客服热线。
IVR [en-US]: For English, press 9 or say English.
IVR [zh-CN]: <MENU>
  node: welcome -> welcome_english_offer -> main_menu
Type what the caller says; #123 presses keys; an empty line is silence; /help for more.
caller> 我想查一下话费
  understood: bill_enquiry 0.89    top: bill_enquiry 0.89, top_up 0.45, self_harm 0.20
IVR [zh-CN]: 您本月的账单为九十八元，当前余额为五十八元二角。
IVR [zh-CN]: 请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。
  node: main_menu -> bill_info -> anything_else
caller> /vars
  caller=13800138000
  language=zh-CN, node=anything_else
caller> /emotion anger=0.8 calm=0.1
  emotion: anger=0.8, calm=0.1
caller> /emotion
  emotion: anger=0.8, calm=0.1
caller><SP>
  no input
IVR [zh-CN]: 不好意思，我没有听到您的声音。
IVR [zh-CN]: 请问还有其他可以帮您的吗？有请说是或按1，没有请说没有或按2。
caller> #x
  keys must be digits, * or #, got 'x'
caller> /nope
  unknown command /nope; /help lists them
caller> /help
""".replace("<MENU>", MENU_ZH).replace("<SP>", " ")
    assert expected in text
    assert text.endswith("""\
caller> #2
  understood: deny 1.00
IVR [zh-CN]: 感谢您的来电，再见。
  node: anything_else -> goodbye
*** the IVR hung up (reason: completed); the call has ended
""")
    assert s.err.getvalue() == ""


def test_slots_variables_and_transfer_are_shown() -> None:
    s = Script("#2", "#12345678#", "是", "转人工")
    assert _simulate(s, str(HOTLINE), "--caller", "10086") == 0
    text = s.text
    assert "caller 10086," in text
    assert ("caller> #12345678#\n  understood (slot)\n  slots: account=12345678\n"
            "IVR [zh-CN]: 已为您登记宽带报修，账号12345678。") in text
    assert "  node: broadband_account -> broadband_logged -> anything_else\n" \
           "  set: account=12345678\n" in text
    assert text.endswith("*** transfer to queue:general (reason: caller_request); "
                         "the call has ended\n")


def test_end_of_input_ctrl_c_and_quit() -> None:
    s = Script("#9")
    assert _simulate(s, str(HOTLINE)) == 0
    assert s.text.endswith("caller> \n(end of input)\n")
    s = Script(KeyboardInterrupt())
    assert _simulate(s, str(HOTLINE)) == 0
    assert s.text.endswith("caller> \n(interrupted)\n")
    s = Script("/quit", "#1")
    assert _simulate(s, str(HOTLINE)) == 0
    assert "IVR [zh-CN]: 您本月" not in s.text


def test_no_agents_sends_a_transfer_to_its_fallback_and_a_message_is_left() -> None:
    bank = str(Path(__file__).parents[1] / "fixtures" / "agreement" / "bank.yaml")
    s = Script("#1", "#0", "#2", "我的卡丢了")
    assert _simulate(s, bank, "--no-agents") == 0
    assert "  recording: the caller agreed\n" in s.text
    assert "  node: menu -> agent -> busy\n  set: transfer_failed=no_agent\n" in s.text
    assert "  message recorded: 2.0 s, '我的卡丢了'\n" in s.text
    s = Script("#1", "#0")
    assert _simulate(s, bank) == 0
    assert s.text.endswith("*** transfer to queue:general (reason: caller_request); "
                           "the call has ended\n")


def test_restart_starts_a_new_call() -> None:
    s = Script("#9", "/restart", "/vars")
    assert _simulate(s, str(HOTLINE)) == 0
    after = s.text.split("--- new call ---\n", 1)[1]
    assert after.startswith("IVR [zh-CN]: 您好，您正在与智能语音助手通话")  # the disclosure
    assert "\nIVR [zh-CN]: 欢迎致电" in after
    assert "language=zh-CN, node=main_menu" in after


def test_start_language_time_and_options(tmp_path: Path) -> None:
    s = Script()
    assert _simulate(s, str(HOTLINE), "--language", "en-US",
                     "--time", "2026-11-23T10:00:00+08:00") == 0
    assert "language en-US, time 2026-11-23T10:00:00+08:00" in s.text
    assert "IVR [en-US]: Welcome to Xinghe Telecom." in s.text


@pytest.mark.parametrize(("argv", "message"), [
    (["--language", "fr"], "ivr simulate: --language fr is neither one of the dialplan's "
                          "languages (zh-CN, en-US) nor a profile"),
    (["--time", "tomorrow"], "ivr simulate: --time 'tomorrow' is not an ISO time"),
    (["--time", "2026-11-23T10:00:00"], "needs a UTC offset"),
    (["--mic", "--audio", "a.wav"], "ivr simulate: use either --audio or --mic, not both"),
    (["--audio", "missing.wav"], "ivr simulate: audio file not found: missing.wav"),
])
def test_bad_options_give_one_clear_line(argv: list[str], message: str) -> None:
    s = Script()
    assert _simulate(s, str(HOTLINE), *argv) == 2
    err = s.err.getvalue()
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_broken_dialplan_is_reported(tmp_path: Path) -> None:
    s = Script()
    assert _simulate(s, _plan(tmp_path, "name: x\nstart: nowhere\n")) == 2
    err = s.err.getvalue()
    assert err.startswith("ivr simulate: cannot load the dialplan:\n") and "plan.yaml:1:1" in err


def test_webhooks_are_performed_and_shown(tmp_path: Path) -> None:
    customer = FakeResponse(method="GET", path="/customers",
                            json={"data": {"name": "张三", "balance": 58.2}})
    with FakeWebhookServer([customer]) as server:
        plan = _plan(tmp_path, f"""\
            name: crm
            languages: [zh-CN]
            default_language: zh-CN
            start: lookup
            nodes:
              lookup:
                webhook:
                  url: {server.base_url}/customers?phone={{caller}}
                  save: {{name: data.name}}
                next: hello
              hello:
                hangup: {{say: "{{name}}您好。"}}
            """)
        s = Script()
        assert _simulate(s, plan) == 0
    text = s.text
    assert f"  webhook GET {server.base_url}/customers?phone=13800138000 -> 200 ok (" in text
    assert "IVR [zh-CN]: 张三您好。\n  node: lookup -> hello\n" in text
    assert "*** the IVR hung up (reason: completed)" in text


# ---------------------------------------------------------------- --audio
class _ScriptedASR:
    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.languages: list[str] = []
        self.closed = False

    def transcribe_sync(self, audio, language, prompt=None):  # type: ignore[no-untyped-def]
        self.languages.append(language)
        return Transcript(self.texts.pop(0), language, 0.87, -0.14, 0.01, audio.duration, 0.1)

    def close(self) -> None:
        self.closed = True


def test_audio_files_are_transcribed_in_the_call_language() -> None:
    asr = _ScriptedASR("English", "I want to check my bill.")
    s = Script("should not be read")
    wav = str(AUDIO / "check_my_bill.wav")
    assert _simulate(s, str(HOTLINE), "--audio", wav, wav, asr_factory=lambda spec: asr) == 0
    assert asr.languages == ["zh", "en"]  # the first answer switched the call to English
    assert asr.closed
    text = s.text
    assert "caller (check_my_bill.wav): English    [confidence 0.87]\n" in text
    assert "caller (check_my_bill.wav): I want to check my bill.    [confidence 0.87]\n" \
           "  understood: bill_enquiry" in text
    assert "IVR [en-US]: Your bill for this month is 98 yuan" in text
    assert "caller>" not in text  # not interactive: stop after the files


def test_audio_then_interactive_when_a_person_types() -> None:
    asr = _ScriptedASR("转人工")
    s = Script("never", interactive=True)
    wav = str(AUDIO / "no_thanks.wav")
    assert _simulate(s, str(HOTLINE), "--audio", wav, wav, asr_factory=lambda spec: asr) == 0
    assert "*** transfer to queue:general" in s.text
    assert "(the call has ended; no_thanks.wav and later files not played)" in s.text
    # a person may start again after the end
    assert "  (the call has ended: /restart for a new call, /quit to leave)\ncaller> never\n" \
        in s.text
    s = Script("#1", interactive=True)
    asr = _ScriptedASR("")
    assert _simulate(s, str(HOTLINE), "--audio", wav, asr_factory=lambda spec: asr) == 0
    assert "(nothing recognised)" in s.text and "  no input\n" in s.text
    assert "caller> #1\n" in s.text


def test_audio_with_the_real_asr() -> None:
    s = Script()
    wav = str(AUDIO / "check_my_bill.wav")
    assert _simulate(s, str(HOTLINE), "--language", "en-US", "--audio", wav) == 0, \
        s.err.getvalue()
    assert "caller (check_my_bill.wav): I want to check my bill." in s.text
    assert "understood: bill_enquiry" in s.text


# ---------------------------------------------------------------- --mic
class _FakeStream:
    def __init__(self, pcm: bytes = b"", written: list[bytes] | None = None) -> None:
        self.pcm = pcm
        self.pos = 0
        self.reads = 0
        self.written = written if written is not None else []

    def read(self, n: int, exception_on_overflow: bool = True) -> bytes:
        self.reads += 1
        if self.reads > 200_000:
            raise RuntimeError("the simulator kept listening")
        chunk = self.pcm[self.pos:self.pos + 2 * n]
        self.pos += len(chunk)
        return chunk + bytes(2 * n - len(chunk))

    def get_read_available(self) -> int:
        return 0

    def write(self, pcm: bytes) -> None:
        self.written.append(pcm)

    def stop_stream(self) -> None:
        pass

    def close(self) -> None:
        pass


def _fake_pyaudio(*, input_device: bool = True, output_device: bool = True,
                  speech: bytes = b"") -> types.SimpleNamespace:
    played: list[bytes] = []

    class PyAudio:
        def get_default_input_device_info(self) -> dict[str, Any]:
            if not input_device:
                raise OSError("No Default Input Device Available")
            return {"name": "fake mic"}

        def get_default_output_device_info(self) -> dict[str, Any]:
            if not output_device:
                raise OSError("No Default Output Device Available")
            return {"name": "fake speaker"}

        def open(self, *, format: int, channels: int, rate: int, input: bool = False,
                 output: bool = False, frames_per_buffer: int = 1024) -> _FakeStream:
            assert (format, channels, rate) == (8, 1, 16000)
            return _FakeStream(speech) if input else _FakeStream(written=played)

        def terminate(self) -> None:
            pass

    return types.SimpleNamespace(PyAudio=PyAudio, paInt16=8, played=played)


class _SilentPrompts:
    def __init__(self) -> None:
        self.rendered: list[tuple[str, str]] = []

    def get_sync(self, text: str, language: str, *, private: bool = False) -> AudioFrame:
        self.rendered.append((text, language))
        return AudioFrame.silence(0.01, 16000)

    def close(self) -> None:
        pass


def test_mic_without_an_input_device_says_so_and_exits_2() -> None:
    s = Script()
    fake = _fake_pyaudio(input_device=False)
    assert _simulate(s, str(HOTLINE), "--mic", mic_factory=lambda: MicAudio(fake)) == 2
    assert s.err.getvalue() == NO_DEVICE + "\n"
    assert s.text == ""  # nothing started


def test_mic_without_pyaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    s = Script()
    assert _simulate(s, str(HOTLINE), "--mic") == 2
    err = s.err.getvalue()
    assert err.startswith("ivr simulate: --mic needs pyaudio") and err.count("\n") == 1


def test_mic_on_this_machine() -> None:
    pyaudio = pytest.importorskip("pyaudio")
    with _quiet_stderr():
        pa = pyaudio.PyAudio()
        try:
            pa.get_default_input_device_info()
            has_input = True
        except OSError:
            has_input = False
        finally:
            pa.terminate()
    if has_input:
        pytest.skip("this machine has an audio input device")
    proc = subprocess.run([sys.executable, "-m", "ivr.cli", "simulate", str(HOTLINE), "--mic"],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ivr simulate: no audio input device found (pyaudio: ")
    assert proc.stderr.endswith("); use --audio or type instead\n")
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_mic_conversation_with_a_fake_device() -> None:
    clip = resample(load_audio_file(AUDIO / "check_my_bill.wav"), 16000)
    speech = bytes(16000) + clip.pcm  # half a second of silence, then speech
    fake = _fake_pyaudio(speech=speech)
    prompts = _SilentPrompts()
    asr = _ScriptedASR("转人工")
    s = Script()
    code = _simulate(s, str(HOTLINE), "--mic", mic_factory=lambda: MicAudio(fake),
                     asr_factory=lambda spec: asr, prompts=prompts)
    assert code == 0, s.err.getvalue()
    text = s.text
    assert "Speak after each prompt (Ctrl-C ends)." in text
    assert "  (listening, 6 s ...)\ncaller: 转人工    [confidence 0.87]\n" in text
    assert text.endswith("*** transfer to queue:general (reason: caller_request); "
                         "the call has ended\n")
    assert [t for t, _ in prompts.rendered][-1] == "好的，正在为您转接人工客服，请稍候。"
    # the disclosure, 3 greeting prompts and the reply
    assert len(prompts.rendered) == 5 and len(fake.played) == 5
    assert asr.languages == ["zh"]


def test_mic_silence_is_no_input_and_prompts_print_without_speakers(tmp_path: Path) -> None:
    plan = _plan(tmp_path, """\
        name: quiet
        languages: [en-US]
        default_language: en-US
        start: ask
        defaults: {timeout_s: 0.2, max_attempts: 1, on_failure: bye}
        nodes:
          ask:
            menu:
              prompt: Press 1.
              choices: [{dtmf: "1", goto: bye}]
          bye:
            hangup: {say: Bye., reason: no_answer}
        """)
    fake = _fake_pyaudio(output_device=False)
    s = Script()
    code = _simulate(s, plan, "--mic", mic_factory=lambda: MicAudio(fake),
                     asr_factory=lambda spec: _ScriptedASR())
    assert code == 0, s.err.getvalue()
    text = s.text
    assert "(no audio output device (No Default Output Device Available); prompts are only " \
           "printed)" in text
    assert "  (listening, 0.2 s ...)\ncaller: (silence)\n  no input\nIVR [en-US]: Bye." in text
    assert text.endswith("*** the IVR hung up (reason: no_answer); the call has ended\n")
    assert fake.played == []


def test_fixture_clips_are_speech() -> None:
    for name in ("check_my_bill.wav", "no_thanks.wav"):
        audio = load_audio_file(AUDIO / name)
        level = float(np.abs(audio.to_float32()).max())
        assert audio.sample_rate == 8000 and 1.0 < audio.duration < 3.0 and level > 0.1
