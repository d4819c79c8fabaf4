"""Per-call endpointing on webrtcvad: caller audio in, `SpeechStarted` / `SpeechEnded` out.

Runs on the asyncio loop for every 20 ms frame, so it does nothing but one webrtcvad call and
a little bookkeeping per analysis chunk (see the measured cost in the tests / README).

Decisions, with `EndpointerConfig` names:
- an utterance begins after `start_speech_ms` of consecutive voiced audio; its start time is
  the first voiced chunk, and `pre_roll_ms` of audio before it is kept;
- it is confirmed (and `SpeechStarted` emitted) once its voiced span reaches
  `min_utterance_ms`; shorter bursts are dropped silently, so every `SpeechStarted` is
  followed by exactly one `SpeechEnded` (or by `flush` / `reset`);
- silence within an utterance is what webrtcvad calls unvoiced, and also what it calls voiced
  but is `tail_drop_db` below the utterance's loudest chunk or below `SILENCE_FLOOR_DBFS`:
  webrtcvad keeps voting "voiced" for 100-200 ms on the fading tail of a word, which delayed
  every end of speech (and every pause) by that much;
- it ends after `end_silence_ms` of silence, keeping min(pre_roll_ms, end_silence_ms) of
  trailing audio, or is cut at `max_utterance_s` (`truncated=True`);
- with `early_silence_ms` set (shorter than `end_silence_ms`), a confirmed utterance that pauses
  that long emits `SpeechPaused` with the audio so far (for speculative recognition), and
  `SpeechResumed` if voice comes back before the end; `commit()` ends the utterance at once
  (the caller's answer is already known to be complete).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

from audio_models.frames import SAMPLE_WIDTH, AudioFrame
from audio_models.protocols import (
    EndpointerConfig,
    SpeechEnded,
    SpeechStarted,
    VADCapabilities,
    VADEvent,
)

_CAPS = VADCapabilities()
SILENCE_FLOOR_DBFS = -50.0  # quieter chunks are never speech (telephone speech: -35..-10)


def level_dbfs(chunk: bytes) -> float:
    """RMS level of 16-bit PCM in dB relative to full scale (about -210 for digital zeros)."""
    x = np.frombuffer(chunk, dtype=np.int16).astype(np.float32)
    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    return 20.0 * np.log10(max(rms, 1e-6) / 32768.0)


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """A confirmed utterance has paused for `early_silence_ms`: its audio so far. If no voice
    follows, the `SpeechEnded` that comes has the same `speech_start` / `speech_end`."""

    audio: AudioFrame
    speech_start: float
    speech_end: float  # end of the last voiced chunk (monotonic)
    detected_at: float


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    """Voice came back after a `SpeechPaused`: the paused audio is not the whole utterance."""

    timestamp: float


def _ceil_div(a: float, b: float) -> int:
    return max(1, int(-(-a // b)))


class Endpointer:
    """Endpointer state for one call. Not thread-safe: feed it from one task."""

    capabilities = _CAPS

    def __init__(
        self,
        config: EndpointerConfig | None = None,
        sample_rate: int = 16000,
        *,
        analysis_ms: int = 20,
        early_silence_ms: int = 0,
    ) -> None:
        if sample_rate not in _CAPS.sample_rates:
            raise ValueError(f"webrtcvad needs one of {_CAPS.sample_rates} Hz, got {sample_rate}")
        if analysis_ms not in _CAPS.frame_ms:
            raise ValueError(f"analysis_ms must be one of {_CAPS.frame_ms}, got {analysis_ms}")
        cfg = dataclasses.replace(config) if config is not None else EndpointerConfig()
        if not 0 <= cfg.aggressiveness <= 3:
            raise ValueError(f"aggressiveness must be 0..3, got {cfg.aggressiveness}")
        if cfg.max_utterance_s * 1000 <= cfg.min_utterance_ms:
            raise ValueError("max_utterance_s must be longer than min_utterance_ms")
        if cfg.tail_drop_db < 0:
            raise ValueError(f"tail_drop_db must be >= 0, got {cfg.tail_drop_db}")
        self.config = cfg
        self.sample_rate = sample_rate
        self.analysis_ms = analysis_ms
        self._vad = webrtcvad.Vad(cfg.aggressiveness)
        self._chunk_bytes = sample_rate * analysis_ms // 1000 * SAMPLE_WIDTH
        self._chunk_s = analysis_ms / 1000
        self._start_chunks = _ceil_div(cfg.start_speech_ms, analysis_ms)
        self._pre_chunks = int(cfg.pre_roll_ms // analysis_ms)
        self._min_span = cfg.min_utterance_ms / 1000
        self._max_span = cfg.max_utterance_s
        self.early_silence_ms = 0
        self._early_chunks = 0
        self.set_end_silence_ms(cfg.end_silence_ms)
        self.set_early_silence_ms(early_silence_ms)
        self.reset()

    # ------------------------------------------------------------ public API
    @property
    def in_speech(self) -> bool:
        """True between `SpeechStarted` and the matching `SpeechEnded`."""
        return self._confirmed

    def set_end_silence_ms(self, ms: int) -> None:
        """Change the silence that ends an utterance; applies to the current one too."""
        if ms < self.analysis_ms:
            raise ValueError(f"end_silence_ms must be at least {self.analysis_ms}, got {ms}")
        self.config.end_silence_ms = int(ms)
        self._end_chunks = _ceil_div(ms, self.analysis_ms)
        self._tail_chunks = int(min(self.config.pre_roll_ms, ms) // self.analysis_ms)

    def set_early_silence_ms(self, ms: int) -> None:
        """Silence after which a `SpeechPaused` is emitted; 0 turns it off. Only pauses shorter
        than the end silence can be reported."""
        if ms < 0:
            raise ValueError(f"early_silence_ms must be >= 0, got {ms}")
        self.early_silence_ms = int(ms)
        self._early_chunks = _ceil_div(ms, self.analysis_ms) if ms else 0

    def commit(self) -> SpeechEnded | None:
        """End the confirmed utterance in progress now (its answer is complete); None when
        there is none. Audio that follows starts a new utterance."""
        if not self._confirmed:
            return None
        event = self._finish(self._last_end, truncated=False)
        self._to_idle(keep_tail=True)
        return event

    def reset(self) -> None:
        """Forget everything (buffered audio, current utterance)."""
        self._pending = b""
        self._pending_ts = 0.0
        self._recent: deque[tuple[float, bytes]] = deque(
            maxlen=self._pre_chunks + self._start_chunks
        )
        self._run = 0  # consecutive voiced chunks while idle
        self._active = False  # an utterance (confirmed or not) is being collected
        self._confirmed = False
        self._chunks: list[tuple[float, bytes]] = []
        self._speech_start = 0.0
        self._last_voiced_end = 0.0
        self._last_voiced_idx = 0
        self._silence = 0
        self._last_end = 0.0
        self._paused = False  # a SpeechPaused was emitted for the current pause
        self._peak_db = SILENCE_FLOOR_DBFS  # loudest chunk of the current utterance

    def push_frame(self, frame: AudioFrame) -> list[VADEvent]:
        """Feed caller audio (any length; 20 ms frames are cheapest). Returns new events."""
        if frame.sample_rate != self.sample_rate:
            raise ValueError(
                f"frame at {frame.sample_rate} Hz given to a {self.sample_rate} Hz endpointer"
            )
        size = self._chunk_bytes
        if self._pending:
            pcm = self._pending + frame.pcm
            ts = self._pending_ts
        else:
            pcm = frame.pcm
            ts = frame.timestamp
        events: list[VADEvent] = []
        n = len(pcm) // size
        for i in range(n):
            self._step(pcm[i * size : (i + 1) * size], ts + i * self._chunk_s, events)
        rest = len(pcm) - n * size
        self._pending = pcm[n * size :] if rest else b""
        self._pending_ts = ts + n * self._chunk_s
        return events

    def flush(self) -> SpeechEnded | None:
        """End of the call: return the confirmed utterance in progress, if any, and reset."""
        event = self._finish(self._last_end, truncated=False) if self._confirmed else None
        self.reset()
        return event

    # ------------------------------------------------------------ internals
    def _step(self, chunk: bytes, ts: float, events: list[VADEvent]) -> None:
        voiced = self._vad.is_speech(chunk, self.sample_rate)
        end = ts + self._chunk_s
        self._last_end = end
        if not self._active:
            self._recent.append((ts, chunk))
            self._run = self._run + 1 if voiced else 0
            if self._run >= self._start_chunks:
                self._begin()
                if self._confirmed:
                    events.append(SpeechStarted(self._speech_start))
            return
        self._chunks.append((ts, chunk))
        if voiced and self.config.tail_drop_db:
            voiced = self._loud_enough(chunk)
        if voiced:
            self._silence = 0
            self._last_voiced_end = end
            self._last_voiced_idx = len(self._chunks)
            if self._paused:
                self._paused = False
                events.append(SpeechResumed(ts))
            if not self._confirmed and end - self._speech_start >= self._min_span:
                self._confirmed = True
                events.append(SpeechStarted(self._speech_start))
        else:
            self._silence += 1
            if (self._silence == self._early_chunks and self._confirmed
                    and self._early_chunks < self._end_chunks):
                self._paused = True
                events.append(self._pause(end))
        if end - self._speech_start >= self._max_span:
            if self._confirmed:
                events.append(self._finish(end, truncated=True))
            self._to_idle(keep_tail=False)
        elif self._silence >= self._end_chunks:
            if self._confirmed:
                events.append(self._finish(end, truncated=False))
            self._to_idle(keep_tail=True)

    def _loud_enough(self, chunk: bytes) -> bool:
        """A voiced chunk is speech unless it is far below the utterance's peak (a tail)."""
        db = level_dbfs(chunk)
        if db > self._peak_db:
            self._peak_db = db
        return db >= max(SILENCE_FLOOR_DBFS, self._peak_db - self.config.tail_drop_db)

    def _begin(self) -> None:
        recent = list(self._recent)
        first_voiced = len(recent) - self._run
        self._peak_db = max(level_dbfs(c) for _, c in recent[first_voiced:])
        self._chunks = recent[max(0, first_voiced - self._pre_chunks) :]
        self._speech_start = recent[first_voiced][0]
        self._last_voiced_end = recent[-1][0] + self._chunk_s
        self._last_voiced_idx = len(self._chunks)
        self._silence = 0
        self._active = True
        if self._last_voiced_end - self._speech_start >= self._min_span:
            self._confirmed = True  # start_speech_ms >= min_utterance_ms: confirmed at once

    def _pause(self, detected_at: float) -> SpeechPaused:
        chunks = self._chunks[: self._last_voiced_idx + self._tail_chunks]
        audio = AudioFrame(b"".join(c for _, c in chunks), self.sample_rate, chunks[0][0])
        return SpeechPaused(audio, self._speech_start, self._last_voiced_end, detected_at)

    def _finish(self, detected_at: float, *, truncated: bool) -> SpeechEnded:
        keep = len(self._chunks) if truncated else self._last_voiced_idx + self._tail_chunks
        chunks = self._chunks[:keep]
        audio = AudioFrame(b"".join(c for _, c in chunks), self.sample_rate, chunks[0][0])
        return SpeechEnded(
            audio=audio,
            speech_start=self._speech_start,
            speech_end=self._last_voiced_end,
            detected_at=detected_at,
            truncated=truncated,
        )

    def _to_idle(self, *, keep_tail: bool) -> None:
        tail = self._chunks[-self._recent.maxlen :] if keep_tail and self._recent.maxlen else []
        self._recent.clear()
        self._recent.extend(tail)
        self._chunks = []
        self._run = 0
        self._active = False
        self._confirmed = False
        self._paused = False
        self._silence = 0
        self._peak_db = SILENCE_FLOOR_DBFS
