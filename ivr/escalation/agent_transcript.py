"""The conversation with the agent, transcribed from the call's recording after the call
(issue 21).

Once caller and agent are bridged, nothing listens any more (the call's recognition stops at
the bridge, `ivr.call.audio_pump`), so the conversation the caller came for was missing from
the call's record. The recording has it: stereo, the caller on the left channel and what the
caller heard on the right, which after the bridge is the agent's leg mixed in
(`ivr.call.recorder`, `AudioPump.attach_agent`). After the call has ended, each channel of the
bridged span (from ``agent_connected`` to ``agent_disconnected``, or the end of the call) is cut
into utterances by the call's own endpointer (webrtcvad) and recognised with the call's ASR
(its language profile's model, language and prompt); the lines are redacted like everything
else the call stored and saved as ``transcript_lines`` (`ivr.storage.transcript`).

Off the call path and bounded: the service's task (`ivr.service_tasks.agent_transcript_loop`)
does one call at a time, one utterance at a time; decoding and endpointing run in a thread,
and each recognition is queued at `BACKGROUND` priority, below every call's final and
speculative recognitions (the process's inference scheduler, or the machine's inference
server), so a caller waiting for an answer is always served first. A leg longer than
`MAX_LEG_S` is transcribed up to it.
Encrypted recordings (``.wav.enc``) are decrypted in memory (`ivr.privacy.crypto`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audio_models.frames import AudioFrame
from audio_models.inference import DeadlineMissed
from audio_models.protocols import EndpointerConfig, SpeechEnded
from audio_models.vad import Endpointer
from ivr.privacy.crypto import SUFFIX, decrypt_to_wav

__all__ = ["BACKGROUND", "AgentLegTranscriber", "LegSpan", "background_recognizer", "leg_span",
           "read_channels", "utterances"]

log = logging.getLogger("ivr.agent_transcript")

BACKGROUND = 2  # scheduler priority: after final (0) and speculative (1) recognitions
MAX_LEG_S = 1800.0  # the longest agent conversation transcribed (the rest is left out)
MAX_UTTERANCE_S = 25.0  # one recognition (Whisper's window is 30 s)
RETRY_S, ATTEMPTS = 2.0, 60  # a busy inference server is asked again for up to 2 minutes
CHANNEL_SPEAKER = ("caller", "agent")  # left, right
VAD_RATE = 16000  # webrtcvad rates: 8, 16, 32, 48 kHz; other recordings are resampled
# a silence of 0.6 s ends a line; a bleep shorter than 0.3 s is no line
LEG_ENDPOINTER = EndpointerConfig(end_silence_ms=600, min_utterance_ms=300,
                                  max_utterance_s=MAX_UTTERANCE_S, pre_roll_ms=200)

Recognize = Callable[[AudioFrame], Awaitable[Any]]  # an utterance -> `Transcript`


@dataclass(frozen=True, slots=True)
class LegSpan:
    """Where the agent conversation is in the recording: `start_s`..`end_s` seconds into
    it, and `origin`, the UNIX time of its first sample."""

    origin: float
    start_s: float
    end_s: float


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def leg_span(call: Mapping[str, Any]) -> LegSpan | None:
    """The bridged span of a stored call (`CallStore.get_call`), or None when no agent was
    connected. The recording starts at the answer, or when the caller consented to it."""
    events = [e for e in call.get("events") or [] if isinstance(e, Mapping)]
    origin = _num(call.get("answered_at")) or _num(call.get("started_at"))
    for e in events:
        if e.get("type") == "recording_consented" and _num(e.get("ts")) is not None:
            origin = float(e["ts"])
    connected = next((float(e["ts"]) for e in events if e.get("type") == "agent_connected"
                      and _num(e.get("ts")) is not None), None)
    if origin is None or connected is None:
        return None
    ended = next((float(e["ts"]) for e in events if e.get("type") == "agent_disconnected"
                  and _num(e.get("ts")) is not None and float(e["ts"]) >= connected),
                 _num(call.get("ended_at")))
    end_s = (ended - origin) if ended is not None else connected - origin + MAX_LEG_S
    start_s = max(0.0, connected - origin)
    return LegSpan(origin, start_s, min(end_s, start_s + MAX_LEG_S))


def read_channels(path: Path, key: bytes | None = None) -> tuple[np.ndarray, int]:
    """The recording as int16 samples (frames x channels) and its rate; a ``.wav.enc`` is
    decrypted in memory with `key` (its authenticated part, if a crash cut it short)."""
    if path.name.endswith(SUFFIX):
        if key is None:
            raise ValueError("the recording is encrypted and no recording key is configured")
        source: Path | io.BytesIO = io.BytesIO(decrypt_to_wav(path, key, allow_truncated=True))
    else:
        source = path
    data, rate = sf.read(source, dtype="int16", always_2d=True)
    return data, int(rate)


def _to_vad_rate(pcm: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    if rate in (8000, 16000, 32000, 48000):
        return pcm, rate
    n = round(len(pcm) * VAD_RATE / rate)
    out = np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm.astype(np.float32))
    return out.astype(np.int16), VAD_RATE


def utterances(pcm: np.ndarray, rate: int, start_s: float = 0.0,
               end_s: float | None = None) -> list[tuple[float, float, AudioFrame]]:
    """The utterances of one channel between `start_s` and `end_s` (seconds into it):
    (start, end, audio) with times in seconds into the channel. Blocking: ~0.5 ms of work
    per second of 8 kHz audio (measured, 2 cores) plus 1 ms of rest, so a long leg never holds
    the GIL for long; run it in a thread."""
    pcm, rate = _to_vad_rate(np.ascontiguousarray(pcm, dtype=np.int16), rate)
    first = max(0, int(start_s * rate))
    last = len(pcm) if end_s is None else min(len(pcm), int(end_s * rate))
    endpointer = Endpointer(LEG_ENDPOINTER, sample_rate=rate)
    found: list[SpeechEnded] = []
    step = rate // 50  # 20 ms
    for n, at in enumerate(range(first, last, step)):
        if n % 50 == 49:
            time.sleep(0.001)  # a pause a second of audio: the media clock's thread goes first
        chunk = pcm[at:min(at + step, last)]
        frame = AudioFrame(chunk.tobytes(), rate, at / rate)
        found += [e for e in endpointer.push_frame(frame) if isinstance(e, SpeechEnded)]
    if (tail := endpointer.flush()) is not None:
        found.append(tail)
    return [(e.speech_start, e.speech_end, e.audio) for e in found]


class AgentLegTranscriber:
    """Transcribes the agent leg of stored calls. `recognizer(call)` gives the call's
    recogniser (an utterance -> its `Transcript`, at background priority); `redact(text)`
    masks what the call's rules mask; `key` decrypts ``.wav.enc`` recordings; `in_thread`
    runs blocking work off the event loop (`asyncio.to_thread`)."""

    def __init__(self, recognizer: Callable[[Mapping[str, Any]], Recognize],
                 redact: Callable[[str], str], key: bytes | None,
                 in_thread: Callable[..., Awaitable[Any]]) -> None:
        self._recognizer = recognizer
        self._redact = redact
        self._key = key
        self._in_thread = in_thread

    async def transcribe(self, call: Mapping[str, Any]
                         ) -> tuple[list[dict[str, Any]], str, str | None]:
        """(lines, status, detail) for one call: status ``done``, ``no_speech`` (nothing
        said, or no bridged span) or ``failed`` (no recording file, unreadable, recogniser
        error: `detail` says which)."""
        span = leg_span(call)
        path = Path(str(call.get("recording_path") or ""))
        if span is None:
            return [], "no_speech", "no agent was connected"
        if not call.get("recording_path") or not await self._in_thread(path.is_file):
            return [], "failed", "no recording file"
        try:
            data, rate = await self._in_thread(read_channels, path, self._key)
        except (OSError, ValueError, RuntimeError) as e:  # sf.LibsndfileError is a RuntimeError
            return [], "failed", f"cannot read the recording: {type(e).__name__}"
        recognize = self._recognizer(call)
        lines: list[dict[str, Any]] = []
        for channel, speaker in enumerate(CHANNEL_SPEAKER[:data.shape[1]]):
            said = await self._in_thread(utterances, data[:, channel], rate, span.start_s,
                                         span.end_s)
            for start, end, audio in said:
                try:
                    result = await recognize(audio)
                except Exception as e:  # noqa: BLE001 - the call's record says so; next call
                    log.warning("call=%s agent leg: recognition failed: %s", call.get("id"), e)
                    return [], "failed", f"recognition failed: {type(e).__name__}"
                text = (getattr(result, "text", "") or "").strip()
                if text:
                    lines.append({"ts": round(span.origin + start, 3),
                                  "end_ts": round(span.origin + end, 3), "speaker": speaker,
                                  "text": self._redact(text),
                                  "confidence": round(float(getattr(result, "confidence", 0)
                                                            or 0), 3)})
        lines.sort(key=lambda r: r["ts"])
        return lines, ("done" if lines else "no_speech"), None


def background_recognizer(asr: Any, language: str, prompt: str | None,
                          scheduler: Any | None = None, *, retry_s: float = RETRY_S,
                          attempts: int = ATTEMPTS) -> Recognize:
    """Recognise at `BACKGROUND` priority on whichever queue serves `asr`: a local model's
    `InferenceScheduler` (`scheduler`, default `asr.scheduler`: never dropped, it waits for a
    machine slot behind every call's work), else the recogniser's own `recognize` (the
    machine's inference server queues it after final and speculative work, and may refuse it
    when busy: it is asked again `retry_s` later, up to `attempts` times)."""
    queue = scheduler if scheduler is not None else getattr(asr, "scheduler", None)

    async def recognize(audio: AudioFrame) -> Any:
        if queue is not None:
            return await queue.run(lambda: asr.transcribe_sync(audio, language, prompt),
                                   priority=BACKGROUND, droppable=False, what="agent leg")
        for _ in range(attempts - 1):
            try:
                return await asr.recognize(audio, language, prompt, priority=BACKGROUND)
            except DeadlineMissed:  # busy with calls: later
                await asyncio.sleep(retry_s)
        return await asr.recognize(audio, language, prompt, priority=BACKGROUND)

    return recognize
