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
answered `busy`, and the worker does the work itself (`audio_models.remote_extras`). Loading
(numba compiling yin, the Piper voice: ~13 s on this host) is that thread's first job, so a
restarted server recognises again as soon as Whisper is loaded; the first requests wait for
the load instead.
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
from audio_models.protocols import ModelError

log = logging.getLogger("ivr.inference")

MAX_PENDING = 16  # prosody and speech requests waiting or running, machine-wide


class Busy(RuntimeError):
    """More than MAX_PENDING extra requests are waiting."""


class ExtraWork:
    """The optional models (`prosody`: the emotion features; `voice`: a PiperTTS) and the
    one thread that runs them."""

    def __init__(self, *, prosody: Callable[[AudioFrame], np.ndarray] | None = None,
                 voice: Any = None, offers: dict[str, Any] | None = None,
                 load: Callable[[], tuple[Any, Any]] | None = None) -> None:
        self.prosody_fn = prosody
        self.voice = voice
        self._offers = offers
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="extras")
        self._pending = 0
        self._lock = threading.Lock()
        if load is not None:  # the thread's first job: requests queue behind it
            self._pool.submit(self._load, load)

    def _load(self, load: Callable[[], tuple[Any, Any]]) -> None:
        try:
            self.prosody_fn, self.voice = load()
        except Exception:  # requests then fail with "model": workers do the work
            log.exception("inference: extras could not be loaded")

    @property
    def offers(self) -> dict[str, Any]:
        """What `hello` announces: {"prosody": true, "speak": {"voice_id", "languages",
        "sample_rate"}} for what is (or is being) loaded."""
        if self._offers is not None:
            return self._offers
        out: dict[str, Any] = {}
        if self.prosody_fn is not None:
            out["prosody"] = True
        if self.voice is not None:
            out["speak"] = _voice_offer(self.voice.voice_id, self.voice.capabilities)
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
        if not self.offers.get("prosody"):
            raise LookupError("this inference server computes no prosody (emotion off)")
        return self.submit(lambda: [float(x) for x in self._loaded(self.prosody_fn)(audio)])

    def speak(self, text: str, language: str) -> concurrent.futures.Future[AudioFrame]:
        voice = self.offers.get("speak") or {}
        if language.split("-")[0].lower() not in {
                lang.split("-")[0].lower() for lang in voice.get("languages", ())}:
            raise LookupError(f"this inference server has no voice for {language!r}")
        return self.submit(lambda: self._loaded(self.voice).synthesize_sync(text, language))

    @staticmethod
    def _loaded(thing: Any) -> Any:
        if thing is None:
            raise RuntimeError("not loaded (see the inference server's log)")
        return thing

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _voice_offer(voice_id: str, caps: Any) -> dict[str, Any]:
    return {"voice_id": voice_id, "languages": list(caps.languages),
            "sample_rate": caps.sample_rate}


def load_extras(emotion: bool, voice: str | None) -> ExtraWork:
    """Extras offering the emotion features when `emotion` and the Piper voice at `voice`
    ("default": the bundled one; None: none), loaded on the extras thread (the features
    warmed up: numba compiles yin on the first call). The offer is known at once (the voice's
    identity comes from its .onnx.json)."""
    from audio_models.tts_piper import piper_identity

    path = None if voice in (None, "default") else Path(str(voice))
    offers: dict[str, Any] = {"prosody": True} if emotion else {}
    if voice is not None:
        try:
            offers["speak"] = _voice_offer(*piper_identity(path))
        except ModelError as e:  # recognition must not depend on the voice: workers render
            log.warning("inference: no Piper voice served (%s)", e)
            voice = None

    def load() -> tuple[Any, Any]:
        prosody = piper = None
        if emotion:
            from audio_models.emotion.features import prosody_features, warm_up

            log.info("inference: emotion features ready (warm-up %.1f s)", warm_up())
            prosody = prosody_features
        if voice is not None:
            from audio_models.tts_piper import PiperTTS

            t0 = time.monotonic()
            piper = PiperTTS(path)
            log.info("inference: Piper voice %s loaded in %.1f s", piper.voice_id,
                     time.monotonic() - t0)
        return prosody, piper

    return ExtraWork(offers=offers, load=load)
