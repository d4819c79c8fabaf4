"""Which recogniser, Whisper language and prompt serve a caller's profile.

A profile may name its own model (a Cantonese profile needs one with a `<|yue|>` token, such as
a large-v3 conversion); otherwise the service's model serves it. When the model lacks the
profile's language the profile falls back to a language the model has (Cantonese -> Mandarin),
and the service says so once, clearly, at start-up. `english_model` (setting
`asr.english_model`, e.g. the English-only tiny.en, about twice as fast as base) serves English
profiles that name no model of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from audio_models.inference_client import RemoteWhisper
from audio_models.whisper_asr import WhisperASR
from ivr.understanding.profiles import LanguageProfile, hotword_prompt

log = logging.getLogger("ivr.asr")
FALLBACK = {"yue": "zh"}  # when the model lacks the language
Recogniser = WhisperASR | RemoteWhisper  # in this process, or the machine's inference server


@dataclass(frozen=True)
class Recognition:
    asr: Recogniser
    language: str  # the Whisper language to decode with
    prompt: str | None


class Recognizers:
    def __init__(self, default: Recogniser, load: Callable[[str], Recogniser],
                 hotwords: bool = False, english_model: str | None = None) -> None:
        self.default = default
        self.english_model = english_model or None
        self._load = load
        self._models: dict[str, Recogniser] = {}
        self.hotwords = hotwords
        self._warned: set[str] = set()

    def prepare(self, profiles: Iterable[LanguageProfile]) -> list[str]:
        """Load the models the profiles name; returns the warnings logged (once each)."""
        notes = []
        for p in profiles:
            asr = self._model(p)
            if not asr.supports_language(p.whisper_language):
                fallback = FALLBACK.get(p.whisper_language, asr.capabilities.languages[0])
                note = (f"profile {p.id}: ASR model '{asr.name}' has no <|{p.whisper_language}|> "
                        f"token, so {p.id} callers are recognised as '{fallback}'; set "
                        f"profiles.{p.id}.model to a model that has it (e.g. a large-v3 "
                        f"CTranslate2 conversion)")
                if note not in self._warned:
                    self._warned.add(note)
                    log.warning(note)
                    notes.append(note)
        return notes

    def _model(self, profile: LanguageProfile) -> Recogniser:
        spec = profile.model
        if not spec and self.english_model and profile.whisper_language == "en":
            spec = self.english_model
        if not spec or spec == self.default.name:
            return self.default
        if spec not in self._models:
            asr = self._models[spec] = self._load(spec)
            warmup = getattr(asr, "warmup", None)
            if warmup is not None:  # at start-up (prepare), so the first caller does not pay
                log.info("ASR model %s warmed up in %.2f s", spec, warmup())
        return self._models[spec]

    def for_profile(self, profile: LanguageProfile, vocabulary: Iterable[str] = ()
                    ) -> Recognition:
        asr = self._model(profile)
        language = profile.whisper_language
        if not asr.supports_language(language):
            language = FALLBACK.get(language, asr.capabilities.languages[0])
        prompt = profile.initial_prompt
        if self.hotwords:
            prompt = hotword_prompt(prompt, vocabulary)
        return Recognition(asr, language, prompt or None)

    def close(self) -> None:
        for asr in self._models.values():
            asr.close()
