"""The agent leg transcribed from a real stereo recording (`ivr.escalation.agent_transcript`).

The fixture is written by the call's own recorder (`ivr.call.recorder.CallRecorder`,
encrypted at rest as in production) from real speech (AISHELL-1, 8 kHz): before the bridge
the IVR reads a prompt on the right channel (it must not become the agent's words); after the
bridge at 9 s the caller speaks on the left channel and the agent answers on the right. The
real whisper-base model recognises it through an `InferenceScheduler` at background
priority, as the service does. Reference texts: the clips' AISHELL transcripts."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio_models.inference import FINAL, DeadlineMissed, InferenceScheduler
from audio_models.whisper_asr import WhisperASR
from ivr.call.recorder import CallRecorder
from ivr.escalation.agent_transcript import (
    BACKGROUND,
    AgentLegTranscriber,
    background_recognizer,
    leg_span,
    read_channels,
    utterances,
)
from ivr.privacy import Redactor
from ivr.understanding.fuzzy import edit_distance
from tests.audio_data import hanzi, load_clip, manifest

MODEL_DIR = Path(__file__).resolve().parents[2] / "var" / "cache" / "models"
RATE = 8000
T0 = 1_790_000_000.0
BRIDGE_S, END_S = 9.0, 21.0
PROMPT = ("audio/S0150/BAC009S0150W0123.flac", 0.5)  # the IVR, before the bridge (right)
CALLER = ("audio/S0150/BAC009S0150W0121.flac", 9.5)  # left, after the bridge
AGENT = ("audio/S0150/BAC009S0150W0124.flac", 14.5)  # right, after the bridge
KEY = os.urandom(32)


def _reference(rel: str) -> str:
    return next(r["transcript_raw"] for r in manifest("asr_zh_aishell") if r["path"] == rel)


def _cer(said: str, reference: str) -> float:
    ref = hanzi(reference)
    return edit_distance(hanzi(said), ref) / len(ref)


def _channel(*clips: tuple[str, float]) -> np.ndarray:
    out = np.zeros(int(END_S * RATE) + RATE, dtype=np.int16)
    for rel, at in clips:
        frame = load_clip("asr_zh_aishell", rel)
        assert frame.sample_rate == RATE
        pcm = np.frombuffer(frame.pcm, dtype=np.int16)
        out[int(at * RATE):int(at * RATE) + len(pcm)] = pcm
    return out


def write_call_recording(path: Path) -> Path:
    """The stereo recording of the call, 20 ms at a time as the media clock feeds it."""
    left, right = _channel(CALLER), _channel(PROMPT, AGENT)
    recorder = CallRecorder(path, RATE, key=KEY)
    step = RATE // 50
    for at in range(0, len(left), step):
        recorder.add_caller(left[at:at + step].tobytes())
        recorder.add_ivr(right[at:at + step].tobytes())
        recorder.flush()
    recorder.close()
    return recorder.path


def call_row(recording: Path) -> dict[str, Any]:
    return {"id": "c-agent", "answered_at": T0, "started_at": T0, "ended_at": T0 + END_S + 1,
            "language": "zh-CN", "agent_id": "8001", "recording_path": str(recording),
            "events": [{"ts": T0 + 7.8, "type": "agent_answered", "data": {}},
                       {"ts": T0 + BRIDGE_S, "type": "agent_connected", "data": {}},
                       {"ts": T0 + END_S, "type": "agent_disconnected", "data": {}}]}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_call_recording(tmp_path_factory.mktemp("agent-leg") / "c-agent.wav")


@pytest.fixture(scope="module")
def base() -> Iterator[WhisperASR]:
    from audio_models.model_store import resolve_asr_model

    asr = WhisperASR(resolve_asr_model("base", MODEL_DIR), name="base", short_window_s=10.0)
    yield asr
    asr.close()


def transcriber(asr: Any, scheduler: InferenceScheduler | None, key: bytes | None = KEY
                ) -> AgentLegTranscriber:
    return AgentLegTranscriber(
        lambda call: background_recognizer(asr, "zh", "以下是普通话的句子。", scheduler),
        Redactor(True).redact_text, key, asyncio.to_thread)


def test_both_speakers_of_the_bridged_span_are_transcribed(recording: Path,
                                                            base: WhisperASR) -> None:
    assert recording.name.endswith(".wav.enc")  # encrypted at rest, read in memory
    scheduler = InferenceScheduler(1)
    try:
        lines, status, detail = asyncio.run(transcriber(base, scheduler).transcribe(
            call_row(recording)))
    finally:
        scheduler.close()
    assert (status, detail) == ("done", None)
    by = {who: "".join(r["text"] for r in lines if r["speaker"] == who)
          for who in ("caller", "agent")}
    first = {who: min(r["ts"] for r in lines if r["speaker"] == who) for who in by}
    for who, at in (("caller", CALLER[1]), ("agent", AGENT[1])):  # the clips start quietly
        assert T0 + at - 0.1 < first[who] < T0 + at + 1.0, (who, first[who] - T0)
    assert [r["speaker"] for r in lines] == sorted((r["speaker"] for r in lines),
                                                   key=lambda s: s != "caller")  # in time
    # whisper-base on 8 kHz Mandarin news: ~29% CER on average (FIELD_NOTES); measured here
    # 0.10 (caller: 其中有两个是内音的指标) and 0.36 (agent: 用军民部门处讯上一年立习支出).
    # The wrong channel or span would be near 1.0.
    assert _cer(by["caller"], _reference(CALLER[0])) <= 0.3, by
    assert _cer(by["agent"], _reference(AGENT[0])) <= 0.45, by
    assert "保障" not in by["agent"]  # the IVR's prompt before the bridge is no agent line


def test_the_span_starts_at_the_bridge_and_ends_when_the_agent_left(recording: Path) -> None:
    span = leg_span(call_row(recording))
    assert span is not None and (span.origin, span.start_s, span.end_s) == (T0, BRIDGE_S, END_S)
    consented = call_row(recording)
    consented["events"].insert(0, {"ts": T0 + 2.0, "type": "recording_consented", "data": {}})
    span = leg_span(consented)
    assert span is not None and span.start_s == BRIDGE_S - 2.0
    assert leg_span({"answered_at": T0, "events": []}) is None  # no agent connected


def test_utterances_of_one_channel_are_cut_by_the_endpointer(recording: Path) -> None:
    data, rate = read_channels(recording, KEY)
    assert data.shape[1] == 2 and rate == RATE
    before = utterances(data[:, 1], rate, 0.0, BRIDGE_S)  # the IVR's prompt
    after = utterances(data[:, 1], rate, BRIDGE_S, END_S)  # the agent
    assert before and all(0.3 < s < BRIDGE_S for s, _, _ in before)
    assert after and all(AGENT[1] - 0.3 < s < END_S for s, _, _ in after)


def test_a_recording_that_cannot_be_read_is_a_failure_not_a_crash(recording: Path,
                                                                   tmp_path: Path) -> None:
    never = transcriber(None, None)  # no recognition is reached
    call = call_row(recording)
    assert asyncio.run(transcriber(None, None, key=os.urandom(32)).transcribe(call))[1:] == (
        "failed", "cannot read the recording: RecordingDecryptError")
    assert asyncio.run(transcriber(None, None, key=None).transcribe(call))[1] == "failed"
    call["recording_path"] = str(tmp_path / "gone.wav")
    assert asyncio.run(never.transcribe(call))[1:] == ("failed", "no recording file")
    call["events"] = []
    assert asyncio.run(never.transcribe(call))[1] == "no_speech"


def test_background_recognition_waits_behind_the_calls() -> None:
    """Queued together, a call's final recognition runs before the agent leg's."""
    scheduler = InferenceScheduler(1)
    gate, order = threading.Event(), []
    try:
        scheduler.submit(gate.wait)  # the thread is busy
        leg = scheduler.submit(lambda: order.append("leg"), priority=BACKGROUND,
                               droppable=False)
        call = scheduler.submit(lambda: order.append("call"), priority=FINAL)
        gate.set()
        leg.result(5)
        call.result(5)
    finally:
        scheduler.close()
    assert order == ["call", "leg"]


class _BusyServer:
    """The machine's inference server's surface (`RemoteWhisper.recognize`), busy twice."""

    def __init__(self) -> None:
        self.priorities: list[int] = []

    async def recognize(self, audio: Any, language: str, prompt: str | None = None, *,
                        priority: int = FINAL) -> str:
        self.priorities.append(priority)
        if len(self.priorities) <= 2:
            raise DeadlineMissed("busy")
        return f"{language}:{prompt}"


def test_a_busy_inference_server_is_asked_again_at_background_priority() -> None:
    server = _BusyServer()
    recognize = background_recognizer(server, "zh", "p", retry_s=0.0, attempts=5)
    assert asyncio.run(recognize(None)) == "zh:p"
    assert server.priorities == [BACKGROUND] * 3
    never = background_recognizer(_BusyServer(), "zh", None, retry_s=0.0, attempts=2)
    with pytest.raises(DeadlineMissed):
        asyncio.run(never(None))
