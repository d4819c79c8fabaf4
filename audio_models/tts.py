"""Text to speech: engines per language behind one router, and recorded prompt files.

- `PiperTTS` (English, neural, 22.05 kHz) lives in `tts_piper`;
- `EspeakTTS` (Mandarin via pinyin, Cantonese) lives in `tts_espeak`;
- `TTSRouter` picks the engine by language prefix ("en-US" -> en, "zh-CN" -> zh, "yue");
- `load_audio_file` reads a recorded prompt (WAV/FLAC) into an `AudioFrame`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from audio_models.frames import AudioFrame
from audio_models.languages import language_key
from audio_models.protocols import TTSEngine
from audio_models.tts_espeak import EspeakTTS, mandarin_to_pinyin
from audio_models.tts_piper import PiperTTS, default_piper_voice

__all__ = [
    "EspeakTTS",
    "PiperTTS",
    "TTSRouter",
    "default_piper_voice",
    "engine_id",
    "load_audio_file",
    "mandarin_to_pinyin",
]


class AudioFileError(ValueError):
    """A prompt file is missing, unreadable, truncated or empty. The message names the file."""


# What a caller's recording or a recorded prompt may declare. The header alone decides what
# reading costs: a WAV declaring 1 Hz holds 16,000 times as many 16 kHz samples as its
# bytes (`ivr simulate --audio` resampled one to 12.8 GB and crashed), and libsndfile reads
# up to 1,024 channels. Checked before any sample is read.
MIN_RATE, MAX_RATE = 8000, 48000
MAX_CHANNELS = 2
MAX_SECONDS = 600.0


def _check_shape(path: Path, rate: int, channels: int, frames: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFileError(f"audio file {path} declares {rate} Hz: sample rates from "
                             f"{MIN_RATE} to {MAX_RATE} Hz are accepted")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(f"audio file {path} declares {channels} channels: mono or "
                             "stereo is accepted")
    if frames / rate > MAX_SECONDS:
        raise AudioFileError(f"audio file {path} lasts {frames / rate:.0f} s: at most "
                             f"{MAX_SECONDS:.0f} s is accepted")


def _wav_shortfall(path: Path) -> int:
    """Bytes missing from a RIFF/WAVE data chunk (0 if complete or not a WAV).

    libsndfile silently shortens a truncated WAV; this compares the header with the file.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                if length in (0, 0xFFFFFFFF, 0x7FFFFFFF) or length >= 0x7FFF0000:
                    return 0  # streaming writers (espeak --stdout) leave a placeholder
                return max(0, pos + 8 + length - size)
            pos += 8 + length + (length & 1)
    return 0


def load_audio_file(path: Path | str) -> AudioFrame:
    """Read a WAV/FLAC (anything libsndfile reads) as mono 16-bit; channels are averaged.
    Refuses, before reading, a file outside 8-48 kHz, with more than 2 channels, or longer
    than 10 minutes (MIN_RATE, MAX_RATE, MAX_CHANNELS, MAX_SECONDS)."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"audio file {path} does not exist")
    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            declared = f.frames
            _check_shape(path, rate, f.channels, declared)
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {exc}") from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"audio file {path} holds no samples")
    if missing := _wav_shortfall(path):
        raise AudioFileError(f"audio file {path} is truncated: {missing} bytes of audio missing")
    if 0 < data.shape[0] < declared:
        raise AudioFileError(
            f"audio file {path} is truncated: {data.shape[0]} of {declared} samples readable"
        )
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    return AudioFrame.from_float32(np.ascontiguousarray(mono), rate)


def engine_id(engine: TTSEngine) -> str:
    """Stable identity of an engine and voice, for cache keys."""
    return getattr(engine, "voice_id", None) or type(engine).__name__


class TTSRouter:
    """Language -> engine. The first engine declaring a language wins."""

    def __init__(self, engines: Iterable[TTSEngine]) -> None:
        self.engines: tuple[TTSEngine, ...] = tuple(engines)
        self._by_lang: dict[str, TTSEngine] = {}
        for engine in self.engines:
            for lang in engine.capabilities.languages:
                self._by_lang.setdefault(language_key(lang), engine)
        if not self._by_lang:
            raise ValueError("TTSRouter needs at least one engine with a language")

    @property
    def languages(self) -> tuple[str, ...]:
        """Language keys some engine speaks."""
        return tuple(self._by_lang)

    def engine_for(self, language: str) -> TTSEngine:
        """The engine for `language`; ValueError listing what is available otherwise."""
        key = language_key(language)
        try:
            return self._by_lang[key]
        except KeyError:
            raise ValueError(
                f"no TTS engine speaks '{language}' (as '{key}'); available: "
                f"{', '.join(self._by_lang)}"
            ) from None

    def synthesize_sync(self, text: str, language: str) -> AudioFrame:
        """Render `text` with the engine for `language`, at that engine's sample rate."""
        return self.engine_for(language).synthesize_sync(text, language)
