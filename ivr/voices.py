"""The service's voices: Piper for English, espeak-ng for Mandarin (via pinyin) and
Cantonese, behind one prompt cache per output rate. Shared by `ivr serve` and
`ivr simulate --mic` so both sound the same and share the on-disk cache.

The cache names its files with a keyed hash (issue 15): the key is `prompt_cache_secret` in
the data directory (32 random bytes, mode 600, created once; workers starting together agree
on one). Without it a file name is no clue to the words inside."""

from __future__ import annotations

import secrets

from audio_models.prompt_cache import PromptCache
from audio_models.protocols import TTSEngine
from audio_models.tts import EspeakTTS, PiperTTS, TTSRouter
from ivr.config import Settings
from ivr.files import read_or_create

SECRET_FILE = "prompt_cache_secret"


def prompt_cache_secret(settings: Settings) -> bytes:
    """The installation's key of prompt cache file names (made on first use)."""
    return read_or_create(settings.data_dir / SECRET_FILE, lambda: secrets.token_bytes(32),
                          valid=lambda data: len(data) >= 16)


def prompt_cache(settings: Settings, rate: int = 16000,
                 english: TTSEngine | None = None) -> PromptCache:
    """`english`: the Piper engine to use (a worker on the shared inference server passes
    one that renders there, `audio_models.remote_extras.ServedPiper`); None loads the voice
    in this process."""
    gain = settings.tts.espeak_gain_db
    router = TTSRouter([english or PiperTTS(settings.tts.piper_voice),
                        EspeakTTS("zh", gain_db=gain), EspeakTTS("yue", gain_db=gain)])
    return PromptCache(router, rate, settings.cache_dir / "prompts",
                       secret=prompt_cache_secret(settings))
