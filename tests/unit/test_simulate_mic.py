"""`ivr simulate --mic`: without an input device (a fake pyaudio, and this machine's real
one), without pyaudio, a conversation through a fake device, and silence with prompts only
printed when there is no output device."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from audio_models.frames import AudioFrame
from audio_models.resample import resample
from audio_models.tts import load_audio_file
from ivr.config import REPO_ROOT
from ivr.dialplan.mic import MicAudio, _quiet_stderr
from tests.unit.simulate_console import (
    AUDIO,
    HOTLINE,
    Script,
    ScriptedASR,
    simulate,
    write_plan,
)

NO_DEVICE = ("ivr simulate: no audio input device found (pyaudio: No Default Input Device "
             "Available); use --audio or type instead")


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
    assert simulate(s, str(HOTLINE), "--mic", mic_factory=lambda: MicAudio(fake)) == 2
    assert s.err.getvalue() == NO_DEVICE + "\n"
    assert s.text == ""  # nothing started


def test_mic_without_pyaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyaudio", None)
    s = Script()
    assert simulate(s, str(HOTLINE), "--mic") == 2
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
    asr = ScriptedASR("转人工")
    s = Script()
    code = simulate(s, str(HOTLINE), "--mic", mic_factory=lambda: MicAudio(fake),
                     asr_factory=lambda spec: asr, prompts=prompts)
    assert code == 0, s.err.getvalue()
    text = s.text
    assert "Speak after each prompt (Ctrl-C ends)." in text
    assert "  (listening, 6 s ...)\ncaller: 转人工    [confidence 0.87]\n" in text
    assert text.endswith("*** transfer to queue:general (reason: caller_request); "
                         "the call has ended\n")
    assert [t for t, _ in prompts.rendered][-1] == "好的，正在为您转接人工客服，请稍候。"
    # the disclosure (Mandarin, English), 3 greeting prompts and the reply
    assert len(prompts.rendered) == 6 and len(fake.played) == 6
    assert asr.languages == ["zh"]


def test_mic_silence_is_no_input_and_prompts_print_without_speakers(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, """\
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
    code = simulate(s, plan, "--mic", mic_factory=lambda: MicAudio(fake),
                     asr_factory=lambda spec: ScriptedASR())
    assert code == 0, s.err.getvalue()
    text = s.text
    assert "(no audio output device (No Default Output Device Available); prompts are only " \
           "printed)" in text
    assert "  (listening, 0.2 s ...)\ncaller: (silence)\n  no input\nIVR [en-US]: Bye." in text
    assert text.endswith("*** the IVR hung up (reason: no_answer); the call has ended\n")
    assert fake.played == []
