"""Whisper ASR (faster-whisper / CTranslate2) behind the `ASREngine` protocol.

Loaded once per process. Each recognition is one blocking `transcribe_sync` call that also
consumes faster-whisper's lazy segment generator, so no model work ever runs on the event
loop; `recognize` runs it through the service's `InferenceScheduler` (priorities, deadlines,
machine-wide slots) or, without one, in the engine's own bounded executor. CTranslate2
releases the GIL.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from audio_models.frames import AudioFrame
from audio_models.inference import FINAL, InferenceScheduler
from audio_models.languages import language_key
from audio_models.model_store import validate_model_dir
from audio_models.protocols import ASRCapabilities, ModelError, Transcript
from audio_models.resample import to_float32

T = TypeVar("T")

_SCRIPT_NORMALISED = frozenset({"zh"})  # Whisper flips between Traditional and Simplified


class WhisperASR:
    """A faster-whisper model with fixed decoding options tuned for short IVR utterances."""

    def __init__(
        self,
        model_dir: Path | str,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 2,
        beam_size: int = 1,
        max_workers: int = 1,
        name: str = "",
        scheduler: InferenceScheduler | None = None,
    ) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        path = validate_model_dir(Path(model_dir))
        if max_workers < 1 or beam_size < 1:
            raise ValueError("max_workers and beam_size must be at least 1")
        try:
            # A directory path never triggers a hub download (validate_model_dir checked
            # tokenizer.json, whose absence would make faster-whisper fetch one).
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=max_workers,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load Whisper model from {path}: {exc}") from exc
        self.model_dir = path
        self.name = name or path.name
        self.beam_size = beam_size
        if self._model.model.is_multilingual:
            tok = self._model.hf_tokenizer
            langs = tuple(c for c in _LANGUAGE_CODES if tok.token_to_id(f"<|{c}|>") is not None)
        else:
            langs = ("en",)
        self.capabilities = ASRCapabilities(
            languages=langs,
            sample_rate=self._model.feature_extractor.sampling_rate,
            streaming=False,
            model_name=self.name,
        )
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix=f"asr-{self.name}")
        self.scheduler = scheduler  # when set, every model call goes through it (priorities)
        self._closed = False
        self._t2s_lock = threading.Lock()
        self._t2s = None

    # ------------------------------------------------------------ languages
    def supports_language(self, code: str) -> bool:
        """True when the model has a language token for `code` ("zh-CN" counts as "zh")."""
        return language_key(code) in self.capabilities.languages

    def check_language(self, code: str) -> str:
        """Whisper code for `code`; raises ModelError naming the model when it lacks it."""
        key = language_key(code)
        if key not in self.capabilities.languages:
            hint = " (Cantonese needs a large-v3 conversion)" if key == "yue" else ""
            langs = self.capabilities.languages
            shown = ", ".join(langs[:12]) + (", ..." if len(langs) > 12 else "")
            raise ModelError(
                f"ASR model '{self.name}' ({self.model_dir}) cannot recognise language "
                f"'{code}': it has no <|{key}|> token{hint}; it knows {shown}"
            )
        return key

    # ------------------------------------------------------------ recognition
    def transcribe_sync(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None
    ) -> Transcript:
        """Recognise one utterance in `language` (any sample rate). Blocking."""
        lang = self.check_language(language)
        if audio.samples == 0:
            return Transcript("", lang, 0.0, float("-inf"), 1.0, 0.0, 0.0)
        samples = to_float32(audio, self.capabilities.sample_rate)
        t0 = time.perf_counter()
        try:
            segments, _info = self._model.transcribe(
                samples,
                language=lang,
                task="transcribe",
                beam_size=self.beam_size,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                initial_prompt=initial_prompt,
            )
            segments = list(segments)  # the generator does the decoding: consume it here
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"ASR '{self.name}' failed: {exc}", retryable=True) from exc
        elapsed = time.perf_counter() - t0
        if lang in _SCRIPT_NORMALISED:
            text = "".join(s.text.strip() for s in segments)
            text = self._to_simplified(text)
        else:
            text = " ".join(s.text.strip() for s in segments).strip()
        if not segments:
            return Transcript("", lang, 0.0, float("-inf"), 1.0, audio.duration, elapsed)
        weights = [max(s.end - s.start, 0.0) for s in segments]
        if sum(weights) <= 0:
            weights = [float(max(len(s.tokens), 1)) for s in segments]
        total = sum(weights)
        avg_logprob = sum(w * s.avg_logprob for w, s in zip(weights, segments, strict=True)) / total
        return Transcript(
            text=text,
            language=lang,
            confidence=min(1.0, math.exp(avg_logprob)),
            avg_logprob=avg_logprob,
            no_speech_prob=max(s.no_speech_prob for s in segments),
            audio_duration=audio.duration,
            processing_time=elapsed,
        )

    async def recognize(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        priority: int = FINAL, deadline: float | None = None,
    ) -> Transcript:
        """`transcribe_sync` off the event loop: through the process's `InferenceScheduler`
        when there is one (`priority`, `deadline`: see audio_models/inference.py; late
        speculative work raises `DeadlineMissed`), else in this engine's own executor."""
        call = functools.partial(self.transcribe_sync, audio, language, initial_prompt)
        return await self._off_loop(call, priority, deadline)

    async def detect_language(self, audio: AudioFrame) -> tuple[str, float]:
        """`detect_language_sync` off the event loop (a call is waiting for it)."""
        return await self._off_loop(functools.partial(self.detect_language_sync, audio),
                                    FINAL, None)

    async def _off_loop(self, call: Callable[[], T], priority: int,
                        deadline: float | None) -> T:
        if self._closed:
            raise ModelError(f"ASR '{self.name}' is closed")
        if self.scheduler is not None:
            return await self.scheduler.run(call, priority=priority, deadline=deadline,
                                            what=f"asr {self.name}")
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def detect_language_sync(self, audio: AudioFrame) -> tuple[str, float]:
        """Most likely language of `audio` and its probability (one extra encoder pass)."""
        if len(self.capabilities.languages) == 1:
            return self.capabilities.languages[0], 1.0
        samples = to_float32(audio, self.capabilities.sample_rate)
        try:
            lang, prob, _all = self._model.detect_language(audio=samples)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"language detection failed: {exc}", retryable=True) from exc
        return lang, float(prob)

    def warmup(self) -> float:
        """Run one recognition of silence so the first caller does not pay for it; seconds."""
        lang = "en" if "en" in self.capabilities.languages else self.capabilities.languages[0]
        return self.transcribe_sync(AudioFrame.silence(1.0, 16000), lang).processing_time

    def close(self) -> None:
        """Stop accepting work and wait for the running recognition to finish."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _to_simplified(self, text: str) -> str:
        with self._t2s_lock:
            if self._t2s is None:
                import opencc

                self._t2s = opencc.OpenCC("t2s")
            return self._t2s.convert(text)
