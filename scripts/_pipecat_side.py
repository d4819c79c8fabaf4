"""The Pipecat half of `scripts/bench_vs_pipecat`: runs INSIDE the pipecat venv (.venv-pipecat).

Not for direct use. Started once by the benchmark with a JSON config file as its argument:

    {"model_dir": ".../whisper-base", "voice_onnx": ".../en_US-joe-medium.onnx",
     "keywords": {"agent": ["agent", ...], ...}, "replies": {"agent": "Certainly. ...", ...},
     "no_match_reply": "Sorry, I didn't understand that.", "tail_silence_s": 6.0,
     "compute_type": "int8", "language": "en", "tts": "piper"}

or, for the Mandarin caller, `"language": "zh"` (Whisper's Language.ZH), `"tts": "espeak",
"espeak_gain_db": -3.0` (no voice_onnx) and `"vad_stop_secs": 0.7` (VADParams.stop_secs; absent:
Pipecat's default 0.2).

It prints `{"ready": true, ...parameters}` once loaded, then reads one JSON line per round
from stdin, `{"turns": [{"wav": path, "speech_end_s": 1.93, "expected": "agent"}, ...]}`,
runs one Pipecat pipeline per turn, all turns of a round concurrently (4 turns = 4
concurrent pipelines in this one process), and prints one JSON line with a result per turn.

Each pipeline, built per turn as a Pipecat bot builds one per session:
    caller audio (the same 8 kHz recording, resampled to 16 kHz, queued in 20 ms
    InputAudioRawFrames at real-time pace, then `tail_silence_s` of silence)
    -> VADProcessor(SileroVADAnalyzer())       Silero ONNX shipped in the pipecat wheel,
                                               VADParams at Pipecat's defaults (but
                                               stop_secs if given)
    -> WhisperSTTService(model=<local dir>,    faster-whisper, language EN (or ZH), Pipecat
                         compute_type=...)     defaults except the compute type given (int8 =
                                               ours)
    -> ReplyProcessor                          transcript -> intent (our keywords) -> reply
    -> PiperTTSService(voice=joe, local file)  in-process Piper, no download; for Mandarin
       or EspeakTTSService                     our espeak-ng engine (below)
    -> FirstAudioSink                          timestamps the first non-silent reply sample

Pipecat has no espeak-ng service, and our Mandarin voice is espeak-ng reading pypinyin's
tone-numbered pinyin. `EspeakTTSService` is a minimal TTSService (shaped like Pipecat's own
PiperTTSService: synthesis in a thread, `_stream_audio_frames_from_iterator` resamples to the
output rate) around OUR `audio_models.tts_espeak.EspeakTTS` itself, imported, not copied: the
same pinyin conversion (`mandarin_to_pinyin`), the same `espeak-ng -v cmn-latn-pinyin -s 150
--stdout --stdin` command and the same gain (ours: tts.espeak_gain_db). `audio_models/__init__`
imports engines this venv lacks (webrtcvad), so the package is registered bare (its
submodules load, its __init__ does not); the venv gets pypinyin at our locked version.

"End of speech" is the time the last speech sample of the recording was due on the
real-time clock (start + speech_end_s); "first reply audio" is the arrival time of the first
reply audio frame plus the offset of its first non-silent sample, as if played from then.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
from loguru import logger

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipecat.audio.vad.silero import SileroVADAnalyzer  # noqa: E402
from pipecat.audio.vad.vad_analyzer import VADParams  # noqa: E402
from pipecat.frames.frames import (  # noqa: E402
    EndFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.audio.vad_processor import VADProcessor  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.services.piper.tts import PiperTTSService  # noqa: E402
from pipecat.services.settings import TTSSettings  # noqa: E402
from pipecat.services.tts_service import TTSService  # noqa: E402
from pipecat.services.whisper.stt import WhisperSTTService  # noqa: E402
from pipecat.transcriptions.language import Language  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

from testkit.bench.measure import first_sound_s, keyword_intent  # noqa: E402

IN_RATE = 16000  # what Silero and Whisper take
OUT_RATE = 8000  # a phone line, as our callers hear it
FRAME_S = 0.020


class ReplyProcessor(FrameProcessor):
    """Transcript -> the reply text our hotline would say (keyword match, no LLM)."""

    def __init__(self, keywords: dict[str, list[str]], replies: dict[str, str],
                 no_match: str) -> None:
        super().__init__()
        self.keywords, self.replies, self.no_match = keywords, replies, no_match
        self.text = ""
        self.intent: str | None = None
        self.t_transcript: float | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and self.t_transcript is None:
            self.t_transcript = time.monotonic()
            self.text = frame.text.strip()
            self.intent = keyword_intent(self.text, self.keywords)
            await self.push_frame(TTSSpeakFrame(self.replies.get(self.intent or "",
                                                                 self.no_match)))
            return
        await self.push_frame(frame, direction)


def load_espeak_engine(voice: str, gain_db: float) -> Any:
    """Our `EspeakTTS` (audio_models/tts_espeak.py) without `audio_models/__init__`, whose
    imports (webrtcvad, ...) this venv does not have: the package is registered bare, so only
    tts_espeak and the light modules it imports (frames, languages, pinyin_phrases,
    protocols: numpy, soundfile, pypinyin) load."""
    if "audio_models" not in sys.modules:
        package = types.ModuleType("audio_models")
        package.__path__ = [str(REPO / "audio_models")]
        sys.modules["audio_models"] = package
    from audio_models.tts_espeak import EspeakTTS

    return EspeakTTS(voice, gain_db=gain_db)


class EspeakTTSService(TTSService):
    """Our Mandarin voice in a Pipecat pipeline: `EspeakTTS.synthesize_sync` (pinyin, then one
    espeak-ng process) in a thread, its 22.05 kHz audio resampled by TTSService to the output
    rate, as PiperTTSService does with Piper's."""

    def __init__(self, engine: Any, **kwargs: Any) -> None:
        super().__init__(push_start_frame=True, push_stop_frames=True,
                         settings=TTSSettings(model=None, voice=engine.voice_id, language=None),
                         **kwargs)
        self._engine = engine

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        await self.start_tts_usage_metrics(text)
        audio = await asyncio.to_thread(self._engine.synthesize_sync, text)

        async def pcm() -> AsyncIterator[bytes]:
            yield audio.pcm

        async for frame in self._stream_audio_frames_from_iterator(
                pcm(), in_sample_rate=audio.sample_rate, context_id=context_id):
            await self.stop_ttfb_metrics()
            yield frame


def vad_params(cfg: dict[str, Any]) -> VADParams:
    """Pipecat's default VADParams, but `vad_stop_secs` when given: the pipeline has no turn
    analyzer, so the VAD's stop is the end of the caller's turn (see bench_vs_pipecat)."""
    if cfg.get("vad_stop_secs") is None:
        return VADParams()
    return VADParams(stop_secs=float(cfg["vad_stop_secs"]))


def make_tts(cfg: dict[str, Any]) -> TTSService:
    if cfg.get("tts", "piper") == "espeak":
        return EspeakTTSService(load_espeak_engine("zh", cfg.get("espeak_gain_db", -3.0)))
    return PiperTTSService(settings=PiperTTSService.Settings(
        voice=Path(cfg["voice_onnx"]).stem), download_dir=Path(cfg["voice_onnx"]).parent)


class FirstAudioSink(FrameProcessor):
    """Notes when the first non-silent reply sample would be heard."""

    def __init__(self) -> None:
        super().__init__()
        self.t_first_frame: float | None = None
        self.t_first_sound: float | None = None
        self.samples_before = 0  # reply samples received before the current frame
        self.heard = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame) and self.t_first_sound is None:
            now = time.monotonic()
            if self.t_first_frame is None:
                self.t_first_frame = now
            pcm = np.frombuffer(frame.audio, dtype=np.int16)
            offset = first_sound_s(pcm, frame.sample_rate)
            if offset is not None:
                # played from the first frame's arrival on: sample k is heard k/rate later
                self.t_first_sound = max(now, self.t_first_frame + (
                    self.samples_before / frame.sample_rate + offset))
                self.heard.set()
            self.samples_before += len(pcm)
        await self.push_frame(frame, direction)


def load_caller_audio(path: str, tail_silence_s: float) -> np.ndarray:
    """The 8 kHz caller recording resampled to 16 kHz int16, with trailing silence."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = soxr.resample(data.mean(axis=1), rate, IN_RATE) if rate != IN_RATE \
        else data.mean(axis=1)
    mono = np.concatenate([mono, np.zeros(int(tail_silence_s * IN_RATE), np.float32)])
    return (np.clip(mono, -1.0, 32767 / 32768) * 32768).astype(np.int16)


async def run_turn(cfg: dict[str, Any], turn: dict[str, Any]) -> dict[str, Any]:
    """One pipeline, one caller utterance; returns timings (ms) and the recognised intent."""
    stt = WhisperSTTService(settings=WhisperSTTService.Settings(
        model=cfg["model_dir"], language=Language(cfg.get("language", "en"))),
        compute_type=cfg.get("compute_type", "default"))
    tts = make_tts(cfg)
    reply = ReplyProcessor(cfg["keywords"], cfg["replies"], cfg["no_match_reply"])
    sink = FirstAudioSink()
    vad = SileroVADAnalyzer(params=vad_params(cfg))
    pipeline = Pipeline([VADProcessor(vad_analyzer=vad), stt, reply, tts,
                         sink])
    worker = PipelineWorker(pipeline, params=PipelineParams(
        audio_in_sample_rate=IN_RATE, audio_out_sample_rate=OUT_RATE),
        enable_rtvi=False, idle_timeout_secs=None)
    runner = WorkerRunner(handle_sigint=False)
    audio = load_caller_audio(turn["wav"], cfg["tail_silence_s"])
    step = int(IN_RATE * FRAME_S)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    await asyncio.sleep(0.5)  # let the StartFrame reach every processor
    t0 = time.monotonic()
    for k, i in enumerate(range(0, len(audio), step)):
        # sample i..i+step is complete (captured) at t0 + (i + step)/rate: send it then
        due = t0 + (k + 1) * FRAME_S
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await worker.queue_frame(InputAudioRawFrame(
            audio=audio[i : i + step].tobytes(), sample_rate=IN_RATE, num_channels=1))
        if sink.heard.is_set() and time.monotonic() - t0 > turn["speech_end_s"] + 1.0:
            break
    try:
        await asyncio.wait_for(sink.heard.wait(), 20.0)
    except TimeoutError:
        logger.error(f"no reply audio for {turn['wav']}")
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(run, 30.0)
    eos = t0 + turn["speech_end_s"]
    return {
        "wav": turn["wav"], "expected": turn.get("expected"), "intent": reply.intent,
        "text": reply.text,
        "eos_to_reply_audio_ms": None if sink.t_first_sound is None
        else (sink.t_first_sound - eos) * 1000.0,
        "eos_to_transcript_ms": None if reply.t_transcript is None
        else (reply.t_transcript - eos) * 1000.0,
    }


async def serve(cfg: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    vad = vad_params(cfg)
    info = {"ready": True, "vad_params": vad.model_dump(), "whisper_model": cfg["model_dir"],
            "whisper_compute_type": cfg.get("compute_type", "default"),
            "stt_trailing_silence_s": 0.5, "piper_voice": cfg.get("voice_onnx"),
            "in_rate": IN_RATE, "out_rate": OUT_RATE}
    if cfg.get("tts", "piper") == "espeak":
        del info["piper_voice"]
        engine = load_espeak_engine("zh", cfg.get("espeak_gain_db", -3.0))
        info.update(whisper_language=cfg.get("language"), tts_voice=engine.voice_id)
    print(json.dumps(info), flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        job = json.loads(line)
        results = await asyncio.gather(*(run_turn(cfg, t) for t in job["turns"]))
        print(json.dumps({"results": results}), flush=True)


def main() -> int:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    logger.remove()
    logger.add(sys.stderr, level=cfg.get("log_level", "WARNING"))
    asyncio.run(serve(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
