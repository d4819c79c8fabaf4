"""Protocols and result types of every engine, with their declared capabilities.

Engines are loaded once per process and are safe to call from several worker threads;
per-call state (endpointer, resampler) lives in small per-call objects.
Blocking `*_sync` methods are what executors run; async callers go through the engine's
own bounded executor (see each engine's `recognize` / `synthesize`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from audio_models.frames import AudioFrame
from audio_models.grammar import Grammar, GrammarResult


class ModelError(RuntimeError):
    """A model is missing, corrupt or failed. `retryable` tells whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


# ---------------------------------------------------------------- ASR
@dataclass(frozen=True, slots=True)
class ASRCapabilities:
    languages: tuple[str, ...]  # Whisper language codes, e.g. ("zh", "en")
    sample_rate: int = 16000
    streaming: bool = False
    model_name: str = ""


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    confidence: float  # 0..1, exp(mean avg_logprob) weighted by segment length
    avg_logprob: float
    no_speech_prob: float
    audio_duration: float  # seconds of audio recognised
    processing_time: float  # seconds spent in the model
    language_probability: float = 1.0  # of `language` among those detected (1: not detected)
    grammar: GrammarResult | None = None  # asked with a `grammar`: what it recognised

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


@runtime_checkable
class ASREngine(Protocol):
    capabilities: ASRCapabilities

    def transcribe_sync(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        detect: Mapping[str, str | None] | None = None, full_window: bool = False,
        grammar: Grammar | None = None,
    ) -> Transcript:
        """Recognise one utterance (any rate; resampled to the model's rate). Blocking.
        `detect` (language -> initial prompt): recognise it in the most likely of these
        languages instead, identified from the same encoder pass. `full_window`: no shortened
        encoder window (a digit string). `grammar`: also recognise it under this grammar from
        the same encoder output (`Transcript.grammar`)."""
        ...

    async def recognize(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        priority: int = 0, deadline: float | None = None,
        detect: Mapping[str, str | None] | None = None, full_window: bool = False,
        grammar: Grammar | None = None,
    ) -> Transcript:
        """Same as `transcribe_sync`, off the event loop; `priority` (0: final, 1:
        speculative) and `deadline` (monotonic) order it among the machine's model calls."""
        ...


# ---------------------------------------------------------------- TTS
@dataclass(frozen=True, slots=True)
class TTSCapabilities:
    languages: tuple[str, ...]  # BCP-47-ish prefixes this engine speaks: ("en",), ("zh", "yue")
    sample_rate: int
    streaming: bool = False


@runtime_checkable
class TTSEngine(Protocol):
    capabilities: TTSCapabilities

    def synthesize_sync(self, text: str, language: str) -> AudioFrame:
        """Render text to audio at `capabilities.sample_rate`. Blocking."""
        ...


# ---------------------------------------------------------------- VAD
@dataclass(frozen=True, slots=True)
class VADCapabilities:
    sample_rates: tuple[int, ...] = (8000, 16000, 32000, 48000)
    frame_ms: tuple[int, ...] = (10, 20, 30)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    timestamp: float  # monotonic time of the first voiced frame


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """An utterance is complete: speech followed by `end_silence_ms` of silence (or max length)."""

    audio: AudioFrame  # the utterance, with pre-roll, at the input rate
    speech_start: float  # monotonic time speech started
    speech_end: float  # monotonic time of the end of the last voiced frame
    detected_at: float  # monotonic time the endpointer decided (speech_end + silence)
    truncated: bool = False  # True when cut at max_utterance


VADEvent = SpeechStarted | SpeechEnded


@dataclass(slots=True)
class EndpointerConfig:
    aggressiveness: int = 2  # webrtcvad 0..3
    start_speech_ms: int = 120  # voiced audio needed to declare speech started
    end_silence_ms: int = 700  # silence that ends an utterance
    pre_roll_ms: int = 300  # audio kept before speech start
    max_utterance_s: float = 15.0
    min_utterance_ms: int = 200  # shorter bursts are discarded as noise
    # within an utterance, a chunk this far below its loudest chunk (or below
    # SILENCE_FLOOR_DBFS) is silence even when webrtcvad votes voiced (its hangover on the
    # fading tail); 0 leaves the decision to webrtcvad alone
    tail_drop_db: float = 35.0
    extra: dict[str, float] = field(default_factory=dict)
