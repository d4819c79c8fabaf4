"""The echo gate wired into a call: the audio pump hands `Listening` what the IVR sent with
what it received, and `Listening` (with `echo.mode`) keeps the echo of a real Piper prompt
from barging in, while real speech over it still does."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from audio_models.frames import AudioFrame
from ivr.call.audio_pump import AudioPump
from ivr.call.inputs import SpeechBegan
from ivr.call.listening import Listening
from ivr.call.stage_cpu import StageCpu
from ivr.config import Settings
from ivr.dialplan.loader import load_dialplan
from tests.unit.call_runner import HOTLINE
from tests.unit.test_echo_gate import RATE, line_echo, pad, prompt_audio, speech_audio

N = RATE // 50  # samples per 20 ms frame


@pytest.fixture(scope="module")
def prompt() -> np.ndarray:
    return prompt_audio()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return speech_audio()


class _Unrun:
    """What `spawn` returns here: recognition is not this test's business (never run)."""

    def __init__(self, coro: Any) -> None:
        coro.close()

    def add_done_callback(self, fn: Any) -> None: ...

    def done(self) -> bool:
        return False

    def cancel(self) -> None: ...


async def _never(*args: Any, **kwargs: Any) -> None: ...


def listening(mode: str) -> tuple[Listening, list[tuple[str, Any]]]:
    """A call's listening stage with the hotline and `echo.mode`; what it asked of the call."""
    settings = Settings(echo={"mode": mode})
    deps = SimpleNamespace(settings=settings, dialplan=load_dialplan(HOTLINE), cpu=StageCpu())
    told: list[tuple[str, Any]] = []
    stage = Listening(
        "echo-test", deps, RATE,
        SimpleNamespace(hear=_never, others_recognising=lambda: False),  # type: ignore[arg-type]
        emit=lambda e: told.append(("event", e)), spawn=lambda coro, name: _Unrun(coro),
        put=lambda item: told.append(("put", item)),
        barge_in=lambda cause, onset: told.append(("barge_in", cause)),
        protected=lambda: False, secret=lambda: False, facts=dict,
        voice_for=lambda language: language, wall=lambda t: t)
    return stage, told


def frames_of(x: np.ndarray, i: int) -> bytes:
    return np.clip(x[i * N:(i + 1) * N], -32768, 32767).astype("<i2").tobytes()


def push_call(stage: Listening, played: np.ndarray, received: np.ndarray) -> None:
    """Both directions, one clock tick per push (as the pump drains them)."""
    for i in range(len(received) // N):
        stage.push([AudioFrame(frames_of(received, i), RATE, i * 0.02)], [frames_of(played, i)])


@pytest.mark.parametrize("mode,barges", [("gate", False), ("off", True)])
def test_the_echo_of_a_prompt_barges_in_only_without_the_gate(prompt, mode, barges):
    stage, told = listening(mode)
    played = pad(prompt, 1.0)
    push_call(stage, played, line_echo(played, 80, 0.0))
    assert (("barge_in", "speech") in told) is barges, told[:3]


def test_speech_over_the_echo_barges_in_and_begins_an_utterance(prompt, speech):
    stage, told = listening("gate")
    played = pad(prompt, 1.0)
    received = line_echo(played, 120, -10.0)
    s = 2 * RATE
    received[s:s + len(speech)] += speech[: len(received) - s]
    push_call(stage, played, received)
    assert told[0] == ("barge_in", "speech"), told[:3]
    began = [item for kind, item in told if kind == "put" and isinstance(item, SpeechBegan)]
    assert began and 2.0 <= began[0].at <= 2.5, began


class _Media:
    clock_rate = RATE

    def __init__(self) -> None:
        self.sent = [bytes(2 * N), b"\x01\x00" * N]
        self.frames = [AudioFrame(bytes(2 * N), RATE)]

    def read_frames(self) -> list[AudioFrame]:
        out, self.frames = self.frames, []
        return out

    def read_sent(self) -> list[bytes]:
        out, self.sent = self.sent, []
        return out


def test_the_pump_hands_what_was_sent_to_the_listener_even_when_not_recording():
    heard: list[tuple[list[AudioFrame], list[bytes]]] = []
    media = _Media()
    sent = list(media.sent)
    pump = AudioPump("echo-test", media, SimpleNamespace(active=False),  # type: ignore[arg-type]
                     hear=lambda frames, out: heard.append((frames, out)),
                     emit=lambda e: None, failed=lambda: None)
    pump.drain()
    assert len(heard) == 1 and heard[0][1] == sent and len(heard[0][0]) == 1
    pump.drain()  # drained each time: nothing twice, nothing stale
    assert heard[1] == ([], [])
