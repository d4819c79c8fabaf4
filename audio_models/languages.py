"""Language codes as the engines see them.

Dialplans and callers speak BCP-47-ish tags ("en-US", "zh-CN", "yue", "zh-HK"); Whisper and
the TTS router want a short key ("en", "zh", "yue"). `language_key` is the one place that maps
one to the other, so ASR and TTS agree on what "zh-HK" means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audio_models.protocols import ASRCapabilities

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


class ModelLanguages:
    """The language questions a recogniser answers from its `capabilities`: `WhisperASR` in
    this process and `RemoteWhisper` through the inference server give the same answers.
    `_where()` says where the model is, for the error message."""

    capabilities: ASRCapabilities
    name: str

    def _where(self) -> str:
        return "inference server"

    @property
    def identifies_languages(self) -> bool:
        """Can tell its languages apart (`transcribe_sync(detect=...)`): a multilingual model."""
        return len(self.capabilities.languages) > 1

    def supports_language(self, code: str) -> bool:
        """True when the model has a language token for `code` ("zh-CN" counts as "zh")."""
        return language_key(code) in self.capabilities.languages

    def check_language(self, code: str) -> str:
        """Whisper code for `code`; raises ModelError naming the model when it lacks it."""
        from audio_models.protocols import ModelError

        key = language_key(code)
        if key not in self.capabilities.languages:
            hint = " (Cantonese needs a large-v3 conversion)" if key == "yue" else ""
            langs = self.capabilities.languages
            shown = ", ".join(langs[:12]) + (", ..." if len(langs) > 12 else "")
            raise ModelError(
                f"ASR model '{self.name}' ({self._where()}) cannot recognise language "
                f"'{code}': it has no <|{key}|> token{hint}; it knows {shown}"
            )
        return key
