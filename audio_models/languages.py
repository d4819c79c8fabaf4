"""Language codes as the engines see them.

Dialplans and callers speak BCP-47-ish tags ("en-US", "zh-CN", "yue", "zh-HK"); Whisper and
the TTS router want a short key ("en", "zh", "yue"). `language_key` is the one place that maps
one to the other, so ASR and TTS agree on what "zh-HK" means.
"""

from __future__ import annotations

# Tags whose meaning is not their prefix. zh-HK / zh-MO follow the common TTS convention
# (Cantonese); zh-TW stays Mandarin. "cmn" is the ISO 639-3 code for Mandarin.
_ALIASES: dict[str, str] = {
    "cmn": "zh",
    "zh-cmn": "zh",
    "zh-yue": "yue",
    "zh-hk": "yue",
    "zh-mo": "yue",
    "cantonese": "yue",
    "mandarin": "zh",
    "english": "en",
}


def language_key(language: str) -> str:
    """Short engine key of a language tag: "en-US" -> "en", "zh-CN" -> "zh", "zh-HK" -> "yue".

    Raises ValueError on an empty tag.
    """
    tag = language.strip().lower().replace("_", "-")
    if not tag:
        raise ValueError("language tag is empty")
    if tag in _ALIASES:
        return _ALIASES[tag]
    prefix = tag.split("-", 1)[0]
    return _ALIASES.get(prefix, prefix)
