"""What the machine's inference server does for workers besides recognition (issue 22).

A worker that recognises through the server still held, before this, ~110 MB of emotion
feature code (librosa, numba's compiled yin) and ~105 MB of Piper voice (onnxruntime's copy of
the weights) of its own: per worker, not per machine. The server holds them once instead:

- `prosody`: the emotion features of one caller turn (`prosody_features`, the same function
  on the same PCM a worker would run: the vector is identical, only where it is computed
  moves). The worker keeps the small ONNX classifier and the per-caller baseline
  (`judge`), which cost microseconds and ~10 MB.
- `speak`: a prompt rendered by the server's Piper voice, PCM at the voice's rate; the worker
  resamples and caches it as before (the disk prompt cache is shared anyway).

This work runs on one thread of its own, beside the recognition queue (a turn's features take
~10 ms, a prompt ~0.1-0.5 s), and at most `MAX_PENDING` items wait: above that a request is
answered `busy`, and the worker does the work itself (`audio_models.remote_extras`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from audio_models.frames import AudioFrame

log = logging.getLogger("ivr.inference")

MAX_PENDING = 16  # prosody and speech requests waiting or running, machine-wide


class Busy(RuntimeError):
    """More than MAX_PENDING extra requests are waiting."""


class ExtraWork:
    """The optional models (`prosody`: the emotion features; `voice`: a PiperTTS) and the
    one thread that runs them."""

    def __init__(self, *, prosody: Callable[[AudioFrame], np.ndarray] | None = None,
                 voice: Any = None) -> None:
        self.prosody_fn = prosody
        self.voice = voice
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="extras")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def offers(self) -> dict[str, Any]:
        """What `hello` announces: {"prosody": true, "speak": {"voice_id", "languages",
        "sample_rate"}} for what is loaded."""
        out: dict[str, Any] = {}
        if self.prosody_fn is not None:
            out["prosody"] = True
        if self.voice is not None:
            caps = self.voice.capabilities
            out["speak"] = {"voice_id": self.voice.voice_id, "languages": list(caps.languages),
                            "sample_rate": caps.sample_rate}
        return out

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        with self._lock:
            if self._pending >= MAX_PENDING:
                raise Busy(f"{MAX_PENDING} prosody/speech requests already waiting")
            self._pending += 1
        fut = self._pool.submit(fn)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    def prosody(self, audio: AudioFrame) -> concurrent.futures.Future[list[float]]:
        if self.prosody_fn is None:
            raise LookupError("this inference server computes no prosody (emotion off)")
        fn = self.prosody_fn
        return self.submit(lambda: [float(x) for x in fn(audio)])

    def speak(self, text: str, language: str) -> concurrent.futures.Future[AudioFrame]:
        if self.voice is None or language.split("-")[0].lower() not in {
                lang.split("-")[0].lower() for lang in self.voice.capabilities.languages}:
            raise LookupError(f"this inference server has no voice for {language!r}")
        return self.submit(lambda: self.voice.synthesize_sync(text, language))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def load_extras(emotion: bool, voice: str | None) -> ExtraWork:
    """The emotion features (warmed up: numba compiles yin on the first call) when `emotion`,
    the Piper voice at `voice` ("default": the bundled one; None: none)."""
    prosody = None
    if emotion:
        from audio_models.emotion.features import prosody_features, warm_up

        log.info("inference: emotion features ready (warm-up %.1f s)", warm_up())
        prosody = prosody_features
    piper = None
    if voice is not None:
        from audio_models.tts_piper import PiperTTS

        t0 = time.monotonic()
        piper = PiperTTS(None if voice == "default" else Path(voice))
        log.info("inference: Piper voice %s loaded in %.1f s", piper.voice_id,
                 time.monotonic() - t0)
    return ExtraWork(prosody=prosody, voice=piper)
