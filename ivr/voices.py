"""The service's voices: Piper for English, espeak-ng for Mandarin (via pinyin) and
Cantonese, behind one prompt cache per output rate. Shared by `ivr serve` and
`ivr simulate --mic` so both sound the same and share the on-disk cache."""

from __future__ import annotations

from audio_models.prompt_cache import PromptCache
from audio_models.tts import EspeakTTS, PiperTTS, TTSRouter
from ivr.config import Settings


def prompt_cache(settings: Settings, rate: int = 16000) -> PromptCache:
    gain = settings.tts.espeak_gain_db
    router = TTSRouter([PiperTTS(settings.tts.piper_voice), EspeakTTS("zh", gain_db=gain),
                        EspeakTTS("yue", gain_db=gain)])
    return PromptCache(router, rate, settings.cache_dir / "prompts")
