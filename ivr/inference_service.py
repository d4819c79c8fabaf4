"""Where a worker's recognitions run (`asr.service`), and the machine's inference server.

- **local**: the worker loads its own Whisper models and orders its calls' model work in its
  own `InferenceScheduler` (machine-wide flock slots keep workers from running more model
  calls at once than the cores hold). The default of a single `ivr serve`.
- **shared**: one inference server per machine (`audio_models.inference_server`) holds the
  models once and recognises for every worker: one queue ordered by how long each caller has
  waited, batched encoder calls, speculative work on idle capacity. The worker holds only an
  `InferenceClient` (no model memory). `ivr serve --workers N` (`asr.service: auto`) starts
  the server under its supervisor (`ivr.cluster.inference_process`) and its workers in
  shared mode. The server also computes the callers' emotion features (`emotion.enabled`)
  and renders the English Piper prompts (`tts.piper_voice`) for them, so a shared worker
  loads neither librosa nor the Piper voice (`served_emotion_model`, `english_voice`; each
  falls back to local work, logged, while the server is down).

`python -m ivr.inference_service [--config F] [--data-dir D] [--asr-model M] ...` runs the
server with the settings an `ivr serve` with the same flags would have.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio_models.inference import InferenceScheduler, MachineSlots, default_slots
from audio_models.model_store import resolve_asr_model
from ivr.config import Settings

log = logging.getLogger("ivr.asr")


def socket_path(s: Settings) -> Path:
    return Path(s.asr.service_socket or s.data_dir / "inference.sock")


def uses_shared(s: Settings, cluster: bool = False) -> bool:
    """Whether recognition runs in the machine's inference server (`asr.service`)."""
    return s.asr.service == "shared" or (s.asr.service == "auto" and cluster)


def served_models(s: Settings) -> list[str]:
    """Every model a worker may ask for: `asr.model`, `asr.english_model` and the models the
    configured profiles name (loaded once, at the server's start)."""
    from ivr.understanding.profiles import resolve_profiles

    specs = [s.asr.model, s.asr.english_model or ""]
    specs += [p.model for p in resolve_profiles(s.profiles).values() if p.model]
    return [x for x in dict.fromkeys(specs) if x]


def server_argv(s: Settings) -> list[str]:
    """The arguments of `audio_models.inference_server` for these settings."""
    a = s.asr
    threads = a.machine_slots or default_slots(a.cpu_threads)
    argv = ["--socket", str(socket_path(s)), "--models-dir", str(s.models_dir),
            "--compute-type", a.compute_type, "--cpu-threads", str(a.cpu_threads),
            "--beam-size", str(a.beam_size), "--short-window-s", str(a.short_window_s),
            "--threads", str(threads), "--max-batch", str(a.max_batch),
            "--batch-window-ms", str(a.batch_window_ms)]
    for spec in served_models(s):
        argv += ["--model", spec]
    if s.emotion.enabled:
        argv.append("--emotion")
    argv += ["--tts-voice", str(s.tts.piper_voice or "default")]
    return argv


def served_emotion_model(s: Settings, stack: AsrStack) -> Any:
    """The worker's emotion model: features from the server when recognition is shared
    (`audio_models.remote_extras`), else the local model (features warmed up here)."""
    if stack.mode == "shared":
        from audio_models.remote_extras import ServedEmotionModel

        return ServedEmotionModel(stack.client, *([s.emotion.model_dir]
                                                  if s.emotion.model_dir else []))
    from audio_models.emotion import EmotionModel, warm_up

    model = EmotionModel(s.emotion.model_dir) if s.emotion.model_dir else EmotionModel()
    warm_up()  # the first feature call would be slow
    return model


def english_voice(s: Settings, stack: AsrStack) -> Any:
    """The Piper engine of the worker's prompt cache: rendered by the server when recognition
    is shared, else None (the prompt cache loads its own `PiperTTS`)."""
    if stack.mode != "shared":
        return None
    from audio_models.remote_extras import ServedPiper

    return ServedPiper(stack.client, s.tts.piper_voice)


@dataclass
class AsrStack:
    """A worker's recognisers: the default one and a loader for profiles' own models."""

    default: Any  # WhisperASR or RemoteWhisper
    load: Callable[[str], Any]
    mode: str
    _close: list[Callable[[], Any]] = field(default_factory=list)
    client: Any = None  # the InferenceClient of a shared stack (readiness asks it)

    async def aclose(self) -> None:
        for fn in reversed(self._close):
            result = fn()
            if hasattr(result, "__await__"):
                await result


async def open_asr(s: Settings) -> AsrStack:
    """The recognisers `asr.service` asks for (a single `ivr serve`: `auto` is local)."""
    if uses_shared(s):
        from audio_models.inference_client import InferenceClient

        path = socket_path(s)
        t0 = time.monotonic()
        client = await InferenceClient(path, retry_s=s.asr.service_retry_s).start()
        log.info("ASR: shared inference server at %s (models %s), connected in %.1f s", path,
                 ",".join(client.models), time.monotonic() - t0)
        return AsrStack(client.recognizer(s.asr.model), client.recognizer, "shared",
                        [client.aclose], client)
    from audio_models.whisper_asr import WhisperASR

    scheduler = _inference_scheduler(s)
    a = s.asr

    def load(spec: str) -> WhisperASR:
        return WhisperASR(resolve_asr_model(spec, s.models_dir), compute_type=a.compute_type,
                          cpu_threads=a.cpu_threads, beam_size=a.beam_size,
                          max_workers=a.workers, name=spec, scheduler=scheduler,
                          short_window_s=a.short_window_s)

    t0 = time.monotonic()
    default = load(a.model)
    log.info("ASR model %s loaded from %s in %.1f s", a.model, default.model_dir,
             time.monotonic() - t0)
    return AsrStack(default, load, "local", [scheduler.close, default.close])


def _inference_scheduler(s: Settings) -> InferenceScheduler:
    """This process's model-call queue; with `asr.machine_slots` > 0 (default: cores /
    `asr.cpu_threads`) at most that many model calls run at once on the machine, across
    every worker sharing the data directory."""
    n = s.asr.machine_slots if s.asr.machine_slots is not None else default_slots(
        s.asr.cpu_threads)
    slots = MachineSlots(s.cache_dir / "inference-slots", n) if n > 0 else None
    log.info("inference: %d thread(s), machine-wide slots %s", s.asr.workers, n or "off")
    return InferenceScheduler(threads=s.asr.workers, slots=slots, name="asr")


def settings_for(serve_args: list[str]) -> Settings:
    """The settings `ivr serve` reads from these flags (and the environment)."""
    from ivr.cli import build_parser, settings_from_args

    return settings_from_args(build_parser().parse_args(["serve", *serve_args]))


def main(argv: list[str] | None = None) -> int:
    """Run the inference server with the settings `ivr serve` would read from these flags."""
    from audio_models import inference_server
    from ivr.logs import setup_logging

    settings = settings_for(sys.argv[1:] if argv is None else argv)
    setup_logging(settings.log_level, settings.log_format)
    return inference_server.run(inference_server.build_parser().parse_args(server_argv(settings)))


if __name__ == "__main__":
    sys.exit(main())
