"""How a phone call recognises one utterance: its language profile, ASR, prosody, emotion.

`Hearing` is the recognising half of the listening stage (`ivr.call.listening` decides when
and what to recognise and turns the result into caller input):
- `hear(utterance)` recognises its audio with the recogniser of the call's language profile
  (`ivr.understanding.recognizers`), scheduled by urgency: a speculative pass (at a pause) is
  worth doing only until the end-of-speech silence would end the utterance anyway, a final one
  is ordered by how long the caller has been waiting; with the question's grammar (issue 19)
  the recogniser also decodes the answer under it from the same encoder output. The prosody
  model runs alongside;
- the first utterance of a dialplan with `language_detection` is recognised in the most likely
  of the plan's languages, identified from the same encoder pass that recognition decodes (one
  pass, speculative or final); `assess` adopts that language's profile, then looks for dialect
  words; the engine adopts the `detected` profile at its next step;
- `assess(heard)` fuses prosody and words into the caller's emotion (`EmotionTracker`, with
  the call's `emotion`, `soothing` and `emotion_escalation` events and peak anger stored).

Threads: on the call's event loop; recognition and language detection run in the ASR
engines' executors (ordered by deadline, `audio_models/inference.py`), the prosody model in
a worker thread. Utterances of one call are recognised one at a time, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audio_models.emotion.model import TurnProsody
from audio_models.grammar import Grammar
from audio_models.inference import FINAL, SPECULATIVE, DeadlineMissed
from audio_models.protocols import SpeechEnded, Transcript
from audio_models.vad import SpeechPaused
from ivr.call import events as ev
from ivr.call.deps import SessionDeps, Spawn
from ivr.understanding.chinese_text import to_simplified
from ivr.understanding.emotion import EmotionPolicy, EmotionTracker
from ivr.understanding.profiles import LanguageProfile, detect_dialect
from ivr.understanding.recognizers import Recognition

__all__ = ["FINAL_ASR_DEADLINE_S", "Heard", "Hearing"]

FINAL_ASR_DEADLINE_S = 2.0  # a final recognition's deadline after the end of speech (EDF order)


@dataclass
class Heard:
    """What recognition of one utterance produced, before the call acts on it."""

    transcript: Transcript
    prosody: TurnProsody | None  # features; judged in `assess`, in the call's language
    profile: LanguageProfile
    detected: bool  # a first utterance: its language (if `identified`), then dialect words
    identified: bool = False  # the language was identified in this pass


class Hearing:
    """One call's recognition (see the module docstring). `language()` is the call's language
    and profile id."""

    def __init__(self, call_id: str, deps: SessionDeps, *, emit: ev.Emit, spawn: Spawn,
                 language: Callable[[], tuple[str, str | None]]) -> None:
        self.call_id = call_id
        self.deps = deps
        self.settings = deps.settings
        self._emit, self._spawn, self._language = emit, spawn, language
        e = deps.settings.emotion
        self.tracker = EmotionTracker(EmotionPolicy(
            angry=e.angry_threshold, soothing=e.soothing_threshold,
            escalate_turns=e.escalate_turns, prosody_weight=e.prosody_weight,
            dissatisfied_turns=e.dissatisfied_turns,
            sensitivity=deps.dialplan.plan.emotion.sensitivity))
        self._baseline = deps.emotion_model.new_baseline() if deps.emotion_model else None
        self._asr_lock = asyncio.Lock()
        self._in_flight = 0  # this call's recognitions submitted and not yet answered
        self._profile_fixed = False  # chosen by the caller or detected: no more detection
        self.detected: str | None = None  # a profile detected, for the engine to adopt

    def language_set(self) -> None:
        """The call's language was set (the caller chose, or a detection was adopted)."""
        self._profile_fixed = True
        self.detected = None

    def detection_pending(self) -> bool:
        return (self.deps.dialplan.plan.language_detection and not self._profile_fixed
                and self.detected is None)

    # ------------------------------------------------------------ recognition
    async def hear(self, e: SpeechEnded | SpeechPaused, *, digits: bool = False,
                   grammar: Grammar | None = None, full_window: bool = False) -> Heard:
        """Recognise `e`'s audio (with prosody alongside); no effect on the call yet (a
        language detected here is adopted by `assess`, so a speculative pass may detect too).
        `digits`: a digit string is expected (Whisper's full encoder window: a short one
        lost digits); `full_window` asks for it too (the same audio was doubtful in the short
        window as a speculative pass). `grammar`: what the question expects, also recognised
        from the same encoder output (`Transcript.grammar`); not while the language is being
        identified (the grammar is in the call's language)."""
        async with self._asr_lock:  # utterances of one call are recognised in order
            profile = self._profile()
            rec = self._recognition(profile)
            first = self.detection_pending()
            options = self._detection_options(profile, rec) if first else {}
            prosody = self._spawn(self._prosody(e), "emotion")  # alongside recognition
            self._in_flight += 1
            try:
                transcript = await self._recognize(e, rec, options, digits or full_window,
                                                   grammar)
            finally:
                self._in_flight -= 1
            identified = bool(options) and transcript.language in options
            if identified:
                profile = options[transcript.language][0]
            return Heard(transcript, await prosody, profile, first, identified)

    async def _recognize(self, e: SpeechEnded | SpeechPaused, rec: Recognition,
                         options: dict[str, tuple[LanguageProfile, str | None]],
                         digits: bool, grammar: Grammar | None = None) -> Transcript:
        """One recognition; with detection `options` (Whisper language -> profile, prompt)
        the language is identified from the same encoder pass (multilingual model)."""
        asr, urgency = rec.asr, self._urgency(e)
        if digits:
            urgency["full_window"] = True
        if options:
            asr = self._multilingual(asr)
            detect = {lang: prompt for lang, (_p, prompt) in options.items()}
            try:
                return await asr.recognize(e.audio, rec.language, rec.prompt, detect=detect,
                                           **urgency)
            except DeadlineMissed:
                raise  # speculative work the machine had no time for: recognised again at EOS
            except Exception as x:  # the call goes on in its language, recognised plainly
                self._emit(ev.Error(where="language_detection", error=str(x)))
        if grammar is not None:  # (only when asked: a recogniser may not know grammars)
            urgency["grammar"] = grammar
        try:
            return await rec.asr.recognize(e.audio, rec.language, rec.prompt, **urgency)
        except DeadlineMissed:
            raise
        except Exception as x:
            self._emit(ev.Error(where="asr", error=str(x)))
            return Transcript("", rec.language, 0.0, -10.0, 1.0, e.audio.duration, 0.0)

    def others_recognising(self) -> bool:
        """Another call's recognition is queued or running where this call's would run (a
        recogniser in this process: `WhisperASR.in_flight`). A speculative pass then waits
        behind it, and once started it holds the inference thread that the other calls'
        finals need, for a guess that is thrown away whenever the caller goes on (about a
        third of a Mandarin utterance's ASR CPU, docs/loadtest.md): guesses are made on idle
        capacity only. Unknown (False) for the shared inference server, whose queue runs
        speculative work only when no final one waits."""
        rec = self._recognition(self._profile())
        asr = self._multilingual(rec.asr) if self.detection_pending() else rec.asr
        count = getattr(asr, "in_flight", None)
        return callable(count) and count() - self._in_flight > 0

    def _urgency(self, e: SpeechEnded | SpeechPaused) -> dict[str, Any]:
        """Scheduling of a recognition: a speculative pass is useful only until the
        end-of-speech silence would end the utterance anyway; a final one is ordered by how
        long the caller has been waiting (see audio_models/inference.py)."""
        if isinstance(e, SpeechPaused):
            return {"priority": SPECULATIVE,
                    "deadline": e.speech_end + self.settings.vad.end_silence_ms / 1000}
        return {"priority": FINAL, "deadline": e.speech_end + FINAL_ASR_DEADLINE_S}

    def _profile(self) -> LanguageProfile:
        language, profile_id = self._language()
        profiles = self.deps.engine.profiles
        return profiles.get(profile_id or "") or profiles.get(language) or (
            LanguageProfile(language, language.split("-")[0], language, language.split("-")[0]))

    def _recognition(self, profile: LanguageProfile) -> Recognition:
        if self.deps.recognizers is not None:
            vocabulary = self.deps.engine.vocabulary(profile.prompt_language)
            return self.deps.recognizers.for_profile(profile, vocabulary)
        return Recognition(self.deps.asr, profile.whisper_language,  # type: ignore[arg-type]
                           profile.initial_prompt or None)

    # ------------------------------------------------------------ what the caller said tells
    def assess(self, heard: Heard) -> dict[str, Any] | None:
        """A recognised utterance about to become the caller's input: its dialect (after a
        language detection), then the caller's emotion (None: not estimated)."""
        if heard.identified:
            self._adopt_language(heard)
        if heard.detected:
            self._detect_dialect(heard.transcript.text, heard.profile)
        return self._fuse(self._judge(heard), heard.transcript)

    async def _prosody(self, e: SpeechEnded | SpeechPaused) -> TurnProsody | None:
        """The utterance's prosody features (off the event loop), or None."""
        model = self.deps.emotion_model
        if model is None or self._baseline is None or not self.settings.emotion.enabled:
            return None
        try:
            return await asyncio.to_thread(self.deps.cpu.timed, "emotion", model.measure, e.audio)
        except Exception as x:  # a model failure costs the estimate, not the call
            self._emit(ev.Error(where="emotion", error=str(x)))
            return None

    def _judge(self, heard: Heard) -> dict[str, Any] | None:
        """How the caller sounded, against their earlier turns and, for a first turn, calm
        speakers of the call's language (known now, after any detection); None: no audio
        estimate or too little voiced speech to judge. ~50 us, on the loop."""
        model, baseline = self.deps.emotion_model, self._baseline
        if heard.prosody is None or model is None or baseline is None:
            return None
        try:
            with self.deps.cpu.measure("emotion"):
                est = model.judge(heard.prosody, baseline,
                                  language=heard.profile.whisper_language)
        except Exception as x:
            self._emit(ev.Error(where="emotion", error=str(x)))
            return None
        if not est.reliable:
            return None
        return {"anger": est.anger, "distress": est.distress, "arousal": est.arousal,
                "label": est.label, "ms": round(est.processing_time * 1000, 1)}

    def _fuse(self, prosody: dict[str, Any] | None, t: Transcript) -> dict[str, Any] | None:
        if not self.settings.emotion.enabled or t.is_empty:
            return None
        was_soothing = self.tracker.soothing
        turn = self.tracker.add(prosody, t.text)
        data = turn.as_dict()
        if prosody is not None:
            data["prosody_ms"] = prosody["ms"]
        self._emit(ev.Emotion(**data))
        peak = max(x.anger for x in self.tracker.turns)
        self.deps.store.update_call(self.call_id, peak_anger=round(peak, 3))
        if self.tracker.soothing and not was_soothing:
            self._emit(ev.Soothing(anger=data["anger"], distress=data["distress"]))
        if self.tracker.escalate:
            facts = self.tracker.facts()
            self._emit(ev.EmotionEscalation(angry_turns=facts["angry_turns"],
                                            why=facts["escalate_why"]))
        return data

    # ------------------------------------------------------------ language and dialect
    def _multilingual(self, asr: Any) -> Any:
        """`asr`, or the service's default model when `asr` knows one language only (an
        English-only model cannot tell languages apart)."""
        caps = getattr(asr, "capabilities", None)
        if caps is not None and len(caps.languages) == 1 and self.deps.recognizers is not None:
            return self.deps.recognizers.default
        return asr

    def _detection_options(self, current: LanguageProfile, rec: Recognition
                           ) -> dict[str, tuple[LanguageProfile, str | None]]:
        """The languages a first utterance may be in: Whisper language -> (the profile the
        call would go on with, its recognition prompt), for every language of the dialplan
        (the current profile for its own language; a plan language's own profile before a
        variant, en-US before en-GB). Fewer than two, or a recogniser that cannot tell
        languages apart: nothing to identify."""
        if not getattr(self._multilingual(rec.asr), "identifies_languages", False):
            return {}
        plan_langs = self.deps.dialplan.plan.languages
        profiles = sorted((p for p in self.deps.engine.profiles.values()
                           if p.prompt_language in plan_langs),
                          key=lambda p: (p.id != current.id, p.id not in plan_langs, p.id))
        options: dict[str, tuple[LanguageProfile, str | None]] = {}
        for p in profiles:
            rec = self._recognition(p)
            options.setdefault(rec.language, (p, rec.prompt))
        return options if len(options) > 1 else {}

    def switches_language(self, heard: Heard) -> bool:
        """`heard` detected a language other than the call's."""
        return heard.identified and heard.profile.id != self._profile().id

    def _adopt_language(self, heard: Heard) -> None:
        """A first utterance's detected language: a profile other than the call's becomes
        the call's (the engine adopts it at its next step)."""
        t = heard.transcript
        if self.switches_language(heard):
            self.detected = heard.profile.id
        self._emit(ev.LanguageDetected(language=t.language,
                                       probability=round(t.language_probability, 2),
                                       profile=heard.profile.id, same_pass=True))

    def _detect_dialect(self, text: str, current: LanguageProfile) -> None:
        """First utterance: dialect words (啥子, 嘎哈, 唔...) pick a dialect profile."""
        same = [p for p in self.deps.engine.profiles.values()
                if p.whisper_language == current.whisper_language and p.cues]
        found = detect_dialect(to_simplified(text) if current.chinese else text, same)
        if found is not None and found.id != current.id:
            self.detected = found.id
            self._emit(ev.DialectDetected(profile=found.id))
        if self.detected is None:
            self._profile_fixed = True  # nothing else found: keep the current profile
