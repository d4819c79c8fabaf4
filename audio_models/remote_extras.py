"""A worker's emotion features and English voice, served by the machine's inference server.

With `asr.service: shared` a worker holds no Whisper model; these two keep it from holding the
other heavy models too (issue 22: <= 150 MB per extra worker):

- `ServedEmotionModel` is an `EmotionModel` whose `measure` (the prosody features of a turn:
  librosa and numba's compiled yin, ~110 MB per process) asks the server. The small ONNX
  classifier and the caller's baseline stay in the worker (`judge`, ~50 us on the loop).
- `ServedPiper` is a TTS engine with the Piper voice's identity and capabilities (read from the
  voice's .onnx.json, so prompt cache keys are the same as a local `PiperTTS`'s) that asks
  the server to render (the voice's weights in onnxruntime: ~105 MB per process). A private
  prompt (a caller's digits read back) crosses the 0600 socket and is rendered in the
  server's memory only: the server caches and logs no text (an error answer names the
  exception's class, never its message).

Both are called from worker threads (`asyncio.to_thread`, the prompt cache's renderers) and
reach the client on its event loop. Neither ever fails because the server does: when the
server is down, restarting, busy, or does not offer the work, the worker computes it itself
with the same code (loading librosa or the Piper voice then, once) and says so in its log,
once per outage; when the server is back it is used again. The results are the same either
way: the same function on the same PCM.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from audio_models.emotion.model import MODEL_DIR, EmotionModel, TurnProsody
from audio_models.frames import AudioFrame
from audio_models.inference_client import InferenceClient
from audio_models.protocols import ModelError
from audio_models.tts_piper import piper_identity

log = logging.getLogger("ivr.inference")

ANSWER_TIMEOUT_S = 10.0  # a turn's features take ~10 ms, a prompt < 1 s: a stuck server
CONNECT_S = 1.0  # waited for a server that is restarting before doing the work here


class _Outage:
    """Logs "doing X here" once when the server stops serving, and once when it is back."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.local_since: float | None = None
        self._lock = threading.Lock()

    def served(self) -> None:
        with self._lock:
            since, self.local_since = self.local_since, None
        if since is not None:
            log.warning("%s on the inference server again after %.1f s", self.what,
                        time.monotonic() - since)

    def local(self, why: str) -> None:
        with self._lock:
            first, self.local_since = self.local_since is None, self.local_since or time.monotonic()
        if first:
            log.warning("%s in this worker: the inference server %s", self.what, why)


def _ask(client: InferenceClient, header: dict[str, Any], payload: bytes) -> dict[str, Any]:
    """`client.request` from a worker thread (RuntimeError on the client's own loop)."""
    loop = client.loop
    if loop is None or loop.is_closed():
        raise ModelError("inference client not started")
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None  # a worker thread: as intended
    if running is loop:  # waiting here would block the loop that must answer
        raise RuntimeError("a served model called on the event loop thread")
    fut = asyncio.run_coroutine_threadsafe(
        client.request(header, payload, retry=True, deadline=None, connect_s=CONNECT_S), loop)
    try:
        return fut.result(ANSWER_TIMEOUT_S)
    except TimeoutError:
        fut.cancel()
        raise ModelError(f"no answer within {ANSWER_TIMEOUT_S:.0f} s", retryable=True) from None


class ServedEmotionModel(EmotionModel):
    """The emotion model with its features computed by the inference server."""

    def __init__(self, client: InferenceClient, model_dir: Path | str = MODEL_DIR) -> None:
        super().__init__(model_dir)
        self.client = client
        self._outage = _Outage("emotion features computed")

    def measure(self, frame: AudioFrame) -> TurnProsody:
        t0 = time.perf_counter()
        features = self._served(frame)
        if features is None:
            from audio_models.emotion.features import prosody_features  # librosa loads here

            features = prosody_features(frame)
        return TurnProsody(features, frame.duration, time.perf_counter() - t0)

    def _served(self, frame: AudioFrame) -> np.ndarray | None:
        if not self.client.extras.get("prosody"):
            self._outage.local("offers no prosody features")
            return None
        try:
            answer = _ask(self.client, {"op": "prosody", "rate": frame.sample_rate}, frame.pcm)
        except (ModelError, RuntimeError, ConnectionError) as e:
            self._outage.local(f"is unavailable ({e})")
            return None
        values = answer.get("features")
        n = self.capabilities.n_features
        if (not answer.get("ok") or not isinstance(values, list) or len(values) != n
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in values)):
            self._outage.local(f"answered {answer.get('error') or 'no feature vector'}")
            return None
        self._outage.served()
        return np.asarray(values, dtype=np.float32)


class ServedPiper:
    """The Piper voice at `voice` (None: the bundled one), rendered by the inference server;
    a local `PiperTTS` is loaded only when the server cannot render."""

    def __init__(self, client: InferenceClient, voice: Path | str | None = None) -> None:
        self.client = client
        self.voice = voice
        self.voice_id, self.capabilities = piper_identity(voice)
        self._local: Any = None
        self._lock = threading.Lock()
        self._outage = _Outage("Piper prompts rendered")

    def synthesize_sync(self, text: str, language: str = "en") -> AudioFrame:
        frame = self._served(text, language)
        return frame if frame is not None else self._local_voice().synthesize_sync(text, language)

    def _served(self, text: str, language: str) -> AudioFrame | None:
        offer = self.client.extras.get("speak")
        if not isinstance(offer, dict) or offer.get("voice_id") != self.voice_id:
            self._outage.local("has not this Piper voice")
            return None
        try:
            answer = _ask(self.client, {"op": "speak", "text": text, "language": language}, b"")
        except (ModelError, RuntimeError, ConnectionError) as e:
            self._outage.local(f"is unavailable ({e})")
            return None
        pcm = answer.get("_payload")
        if (not answer.get("ok") or answer.get("rate") != self.capabilities.sample_rate
                or not isinstance(pcm, bytes) or not pcm or len(pcm) % 2):
            self._outage.local(f"answered {answer.get('error') or 'no audio'}")
            return None
        self._outage.served()
        return AudioFrame(pcm, self.capabilities.sample_rate)

    def _local_voice(self) -> Any:
        with self._lock:
            if self._local is None:
                from audio_models.tts_piper import PiperTTS

                self._local = PiperTTS(self.voice)
            return self._local
