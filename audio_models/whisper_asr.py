"""Whisper ASR (faster-whisper / CTranslate2) behind the `ASREngine` protocol.

Loaded once per process. Each recognition is one blocking `transcribe_sync` call that also
consumes faster-whisper's lazy segment generator, so no model work ever runs on the event
loop; `recognize` runs it through the service's `InferenceScheduler` (priorities, deadlines,
machine-wide slots) or, without one, in the engine's own bounded executor. CTranslate2
releases the GIL.

Short encoder window (`short_window_s`, audio_models/whisper_window.py): an utterance of
1.5 s up to half of `short_window_s` is encoded in that window instead of Whisper's 30 s
(about 3x faster for 10 s, error rates unchanged on the measured sets); a doubtful result is
redone in the full window, except a speculative one (`DoubtfulGuess`).

`grammar=` (issue 19): the same encoder output is also decoded under a digit or choice
grammar (audio_models/whisper_grammar.py, whisper_choices.py), decoder time only.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from audio_models.frames import AudioFrame
from audio_models.grammar import DigitGrammar, Grammar
from audio_models.inference import FINAL, SPECULATIVE, InferenceScheduler
from audio_models.languages import ModelLanguages
from audio_models.model_store import validate_model_dir
from audio_models.protocols import ASRCapabilities, ModelError, Transcript
from audio_models.resample import to_float32
from audio_models.whisper_grammar import GrammarRecogniser
from audio_models.whisper_window import (  # (the window names are also read from here)
    FULL_WINDOW_FRAMES,
    SHORT_WINDOW_MAX_FILL,  # noqa: F401 - re-exported
    SHORT_WINDOW_MIN_S,
    DoubtfulGuess,
    _doubtful,
    _install_encode_reuse,
    _install_window_hook,
    _token_cap,
    _window,
    window_frames,
)

T = TypeVar("T")

_in_flight: dict[int, int] = {}  # recognitions submitted and not yet answered, per queue
# (`WhisperASR.in_flight`: the process's scheduler, shared by its models, or an engine's own)

_SCRIPT_NORMALISED = frozenset({"zh"})  # Whisper flips between Traditional and Simplified


class WhisperASR(ModelLanguages):
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
        short_window_s: float = 0.0,
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
        self.short_window_s = short_window_s  # 0: always Whisper's 30 s window
        self.last_window_frames = FULL_WINDOW_FRAMES  # of the last recognition (for tests)
        if short_window_s:
            _install_window_hook()
        _install_encode_reuse(self._model)
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
        self._grammars = GrammarRecogniser(self._model, path)

    def _where(self) -> str:
        return str(self.model_dir)

    # ------------------------------------------------------------ recognition
    def transcribe_sync(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        detect: Mapping[str, str | None] | None = None, full_window: bool = False,
        grammar: Grammar | None = None, speculative: bool = False,
    ) -> Transcript:
        """Recognise one utterance in `language` (any sample rate). Blocking.

        `speculative`: a pass begun at a pause; a doubtful short-window result raises
        `DoubtfulGuess` instead of being redone in the full window.

        `full_window`: Whisper's 30 s window whatever the length (a digit string: the short
        window lost digits of spoken 4- and 8-digit strings; a `DigitGrammar` implies it).

        `grammar`: also recognise the utterance under this grammar, from the encoder output
        the free transcript decodes (`Transcript.grammar`, None for empty audio; see
        audio_models/whisper_grammar.py). The free decode is then greedy with a token cap.

        `detect` (Whisper language -> initial prompt): identify the language among these
        first, from the same encoder output that recognition then decodes (one encoder pass,
        not two); the transcript is in the most likely of them and carries its probability
        among them (`language_probability`)."""
        lang = self.check_language(language)
        if audio.samples == 0:
            return Transcript("", lang, 0.0, float("-inf"), 1.0, 0.0, 0.0)
        samples = to_float32(audio, self.capabilities.sample_rate)
        t0 = time.perf_counter()
        frames = window_frames(audio.duration, self.short_window_s,
                               full_window or isinstance(grammar, DigitGrammar))
        probability = 1.0
        candidates = [c for c in (detect or {}) if c in self.capabilities.languages]
        encoded = None
        if len(candidates) > 1:
            lang, probability, encoded = self._identify(samples, frames, candidates)
            initial_prompt = (detect or {}).get(lang, initial_prompt)
        elif grammar is not None or getattr(_window, "encoded", None) is not None:
            encoded = self._encode(samples, frames)  # (or the batch's: inference_batch.py)
        _window.encoded = encoded  # the free transcript decodes this encoder output
        capped = grammar is not None
        segments = self._transcribe(samples, lang, initial_prompt, frames, audio.duration,
                                    capped=capped)
        if frames < FULL_WINDOW_FRAMES and _doubtful(segments, audio.duration, initial_prompt):
            if speculative:
                raise DoubtfulGuess("speculative: doubtful in the short window, not redone")
            frames = FULL_WINDOW_FRAMES  # the short window misled the decoder: do it properly
            segments = self._transcribe(samples, lang, initial_prompt, frames, audio.duration,
                                        capped=capped)
        self.last_window_frames = frames
        elapsed = time.perf_counter() - t0
        if lang in _SCRIPT_NORMALISED:
            text = "".join(s.text.strip() for s in segments)
            text = self._to_simplified(text)
        else:
            text = " ".join(s.text.strip() for s in segments).strip()
        heard = None
        if grammar is not None and encoded is not None:
            heard = self._grammars.recognise(encoded, lang, grammar, text)
            elapsed = time.perf_counter() - t0
        if not segments:
            return Transcript("", lang, 0.0, float("-inf"), 1.0, audio.duration, elapsed,
                              probability, heard)
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
            language_probability=probability,
            grammar=heard,
        )

    def _identify(self, samples: Any, frames: int, candidates: list[str]
                  ) -> tuple[str, float, Any]:
        """(language, its probability among `candidates`, the encoder output) of the first
        window of `samples`, padded exactly as recognition pads it (`frames`), so that
        recognition can decode this encoder output instead of computing it again."""
        encoded = self._encode(samples, frames)
        try:
            ranked = self._model.model.detect_language(encoded)[0]
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"language detection failed: {exc}", retryable=True) from exc
        probs = {token[2:-2]: p for token, p in ranked if token[2:-2] in candidates}
        total = sum(probs.values()) or 1.0
        best = max(candidates, key=lambda c: probs.get(c, 0.0))
        return best, probs.get(best, 0.0) / total, encoded

    def _encode(self, samples: Any, frames: int) -> Any:
        """Encoder output of the first window of `samples`, padded exactly as recognition
        pads it (`frames`), for recognition to decode instead of computing it again."""
        from faster_whisper.audio import pad_or_trim

        fe = self._model.feature_extractor
        features = fe(samples)
        segment = pad_or_trim(features[:, :min(features.shape[-1] - 1, fe.nb_max_frames)],
                              frames)
        try:
            return self._model.encode(segment)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"ASR '{self.name}' failed: {exc}", retryable=True) from exc

    def _transcribe(self, samples: Any, lang: str, initial_prompt: str | None, frames: int,
                    duration_s: float, *, capped: bool = False) -> list[Any]:
        """One decoding in a `frames` window. In a short window, or `capped` (a grammar
        decides the answer): greedy at temperature 0 only, at most `_token_cap` tokens (a
        doubtful short-window result is redone in the full window rather than resampled;
        under a grammar the free transcript is not worth a repetition loop's 20 s)."""
        short = frames < FULL_WINDOW_FRAMES
        extra: dict[str, Any] = ({"temperature": 0.0, "max_new_tokens": _token_cap(duration_s)}
                                 if short or capped else {})
        _window.frames = frames if short else 0
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
                **extra,
            )
            return list(segments)  # the generator does the decoding: consume it here
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"ASR '{self.name}' failed: {exc}", retryable=True) from exc
        finally:
            _window.frames = 0
            _window.encoded = None  # never reused by another recognition

    async def recognize(
        self, audio: AudioFrame, language: str, initial_prompt: str | None = None, *,
        priority: int = FINAL, deadline: float | None = None,
        detect: Mapping[str, str | None] | None = None, full_window: bool = False,
        grammar: Grammar | None = None,
    ) -> Transcript:
        """`transcribe_sync` off the event loop: through the process's `InferenceScheduler`
        when there is one (`priority`, `deadline`: see audio_models/inference.py; late
        speculative work raises `DeadlineMissed`), else in this engine's own executor."""
        call = functools.partial(self.transcribe_sync, audio, language, initial_prompt,
                                 detect=detect, full_window=full_window, grammar=grammar,
                                 speculative=priority == SPECULATIVE)
        return await self._off_loop(call, priority, deadline)

    async def detect_language(self, audio: AudioFrame) -> tuple[str, float]:
        """`detect_language_sync` off the event loop (a call is waiting for it)."""
        return await self._off_loop(functools.partial(self.detect_language_sync, audio),
                                    FINAL, None)

    def in_flight(self) -> int:
        """Recognitions of this process queued or running where this engine's run (the
        process's `InferenceScheduler`, shared by its models, else this engine's executor):
        the call's speculation policy (`ivr.call.hearing`) guesses only on idle capacity."""
        return _in_flight.get(self._queue_id(), 0)

    def _queue_id(self) -> int:
        return id(self.scheduler) if self.scheduler is not None else id(self)

    async def _off_loop(self, call: Callable[[], T], priority: int,
                        deadline: float | None) -> T:
        if self._closed:
            raise ModelError(f"ASR '{self.name}' is closed")
        key = self._queue_id()
        _in_flight[key] = _in_flight.get(key, 0) + 1
        try:
            if self.scheduler is not None:
                return await self.scheduler.run(call, priority=priority, deadline=deadline,
                                                what=f"asr {self.name}")
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:
            _in_flight[key] -= 1

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
        took = self.transcribe_sync(AudioFrame.silence(1.0, 16000), lang).processing_time
        frames = window_frames(SHORT_WINDOW_MIN_S, self.short_window_s)
        if frames < FULL_WINDOW_FRAMES:  # the short window's shapes, one pass (silence would
            t0 = time.perf_counter()     # count as doubtful and be redone in the full window)
            silence = to_float32(AudioFrame.silence(SHORT_WINDOW_MIN_S, 16000), 16000)
            self._transcribe(silence, lang, None, frames, SHORT_WINDOW_MIN_S)
            took += time.perf_counter() - t0
        return took

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
