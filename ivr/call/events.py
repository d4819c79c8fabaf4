"""What happens during a call, as small frozen values: one class per event type.

An event is stored as a row of the `events` table: `TYPE` (the type string) and `data()` (a
JSON object). Rows written before these classes existed hold the same strings and keys, and must
keep reading the same: so `TYPE` and the field names are the stored contract, and the fields are
declared in the order the keys are stored (the JSON text is byte for byte what `event(type_,
**data)` wrote). A key an emitter only sometimes writes is declared with `omitted(default)`:
`data()` leaves it out at that default. Two events carry an open set of keys (`Variables`, the
dialplan's; `EscalationSummary`, the summary's): one dict field each, stored unchanged.

The hand-over's events (queue, agents, call backs, voicemail) are in `ivr.escalation.events`;
`ivr.call.event_rows.parse(row)` reads a stored row of either back, never raising on what an older
(or newer) version wrote: an unknown type is None, unknown keys are ignored, a missing key reads
as its default (or None); values are not checked (a reader compares what it compared before).

Adding an event: a class here (or in `ivr.escalation.events`), its `TYPE` the new string and its
name that string in CamelCase (`hangup_by_ivr` -> `HangupByIvr`); `tests/unit/test_call_events.py`
fails for a type string emitted anywhere in `ivr/` without a class, and for keys the class lacks.
Four names are also in `ivr.dialplan.actions` (`Listen`, `NoInput`, `Transfer`, `Webhook`): a
module using both imports this one whole (`from ivr.call import events as ev`, `ev.Transfer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from ivr.call.event_base import CallEvent, Emit, Emitter, omitted

__all__ = ["CallEvent", "Emit", "Emitter", "omitted"]  # the base, re-exported: callers import here


# ---------------------------------------------------------------- the call
@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(CallEvent):
    TYPE: ClassVar[str] = "call_answered"
    caller: str
    callee: str
    dialplan: str  # name@version


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(CallEvent):
    TYPE: ClassVar[str] = "call_ended"
    reason: str
    duration_s: float
    cpu_ms: dict[str, float] | None = omitted(None)  # CPU by stage (`ivr.call.stage_cpu`)


@dataclass(frozen=True, slots=True, kw_only=True)
class MaxDurationReached(CallEvent):
    TYPE: ClassVar[str] = "max_duration_reached"
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupByIvr(CallEvent):
    TYPE: ClassVar[str] = "hangup_by_ivr"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Error(CallEvent):
    """A failure the call survived (or the failed start of its session)."""
    TYPE: ClassVar[str] = "error"
    where: str  # dialog, tts, asr, asr_early, audio, emotion, summary, bridge, ...
    text: str | None = omitted(None)  # only a prompt that could not be rendered (tts)
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InputDropped(CallEvent):
    TYPE: ClassVar[str] = "input_dropped"
    kind: str


# ---------------------------------------------------------------- consent and recording
@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingConsented(CallEvent):
    TYPE: ClassVar[str] = "recording_consented"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingDeclined(CallEvent):
    TYPE: ClassVar[str] = "recording_declined"
    answer: str  # no, none
    then: str  # the consent's `refuse`: hangup or continue


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(CallEvent):
    TYPE: ClassVar[str] = "recording_failed"  # the call's recording or a voicemail
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingPaused(CallEvent):
    TYPE: ClassVar[str] = "recording_paused"
    reason: str
    node: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingResumed(CallEvent):
    TYPE: ClassVar[str] = "recording_resumed"
    node: str
    paused_s: float


# ---------------------------------------------------------------- the dialogue
@dataclass(frozen=True, slots=True, kw_only=True)
class Listen(CallEvent):
    TYPE: ClassVar[str] = "listen"
    node: str
    language: str
    sensitive: bool = omitted(False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn(CallEvent):
    TYPE: ClassVar[str] = "turn"
    seq: int
    node: str
    outcome: str | None = None
    intent: str | None = None
    score: float | None = None
    slots: dict[str, Any] | None = None
    text: str | None = None  # the caller's words or keys
    answer: str | None = omitted(None)  # the knowledge entry answered (`answer` nodes)
    next: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Language(CallEvent):
    TYPE: ClassVar[str] = "language"
    language: str
    profile: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Variables(CallEvent):
    """The dialplan's `set` values, stored as its keys."""
    TYPE: ClassVar[str] = "variables"
    values: dict[str, Any]

    def data(self) -> dict[str, Any]:
        return dict(self.values)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(values=dict(data))


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook(CallEvent):
    TYPE: ClassVar[str] = "webhook"
    node: str
    method: str
    url: str
    ok: bool
    status: int | None = None
    error: str | None = None
    ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(CallEvent):
    TYPE: ClassVar[str] = "transfer"
    target: str  # queue:NAME or a SIP URI
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferUnavailable(CallEvent):
    TYPE: ClassVar[str] = "transfer_unavailable"
    target: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationSummary(CallEvent):
    """The agent's summary (`ivr.escalation.summary`: fields, `text`, `whisper`) as stored."""
    TYPE: ClassVar[str] = "escalation_summary"
    summary: dict[str, Any]

    def data(self) -> dict[str, Any]:
        return dict(self.summary)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(summary=dict(data))


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationSummaryLlm(CallEvent):
    TYPE: ClassVar[str] = "escalation_summary_llm"
    text: str
    ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmSummaryFailed(CallEvent):
    TYPE: ClassVar[str] = "llm_summary_failed"
    ms: int
    detail: str


# ---------------------------------------------------------------- what the caller hears
@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt(CallEvent):
    TYPE: ClassVar[str] = "prompt"  # a prompt started playing
    node: str
    language: str
    text: str  # its first 80 characters
    barge_in: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptEnd(CallEvent):
    TYPE: ClassVar[str] = "prompt_end"
    node: str
    interrupted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstAudio(CallEvent):
    TYPE: ClassVar[str] = "first_audio"
    answer_to_audio_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BargeIn(CallEvent):
    TYPE: ClassVar[str] = "barge_in"
    cause: str  # dtmf, speech
    node: str
    latency_ms: int | None = None  # from the start of speech; None for keys and deferred
    deferred: bool = omitted(False)  # the input came over a protected prompt: this cut, at
    # its end, the prompts queued behind it (see ivr.call.playout)


# ---------------------------------------------------------------- what the caller does
@dataclass(frozen=True, slots=True, kw_only=True)
class Dtmf(CallEvent):
    TYPE: ClassVar[str] = "dtmf"
    digit: str  # '*' while sensitive input is taken


@dataclass(frozen=True, slots=True, kw_only=True)
class DtmfIgnored(CallEvent):
    TYPE: ClassVar[str] = "dtmf_ignored"
    digit: str
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoInput(CallEvent):
    TYPE: ClassVar[str] = "no_input"
    node: str
    timeout_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Utterance(CallEvent):
    TYPE: ClassVar[str] = "utterance"
    text: str  # masked while sensitive input is taken
    confidence: float
    audio_s: float
    asr_ms: int
    eos_to_asr_ms: int
    early: bool  # recognised while the end-of-speech silence ran


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechIgnored(CallEvent):
    TYPE: ClassVar[str] = "speech_ignored"  # judged noise (`ivr.understanding.input_rules`)
    text: str
    why: str | None = None
    no_speech_prob: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechDuringProtectedPrompt(CallEvent):
    TYPE: ClassVar[str] = "speech_during_protected_prompt"
    seconds: float
    kept: bool = omitted(False)  # recognised and answered once the prompt ended (issue 18);
    # rows without it are from before, when such speech was dropped


@dataclass(frozen=True, slots=True, kw_only=True)
class GrammarResult(CallEvent):
    TYPE: ClassVar[str] = "grammar_result"  # recognition by grammar (ivr.call.grammar_fusion)
    node: str
    kind: str  # digits, yes_no, menu
    value: str  # the digits or the choice's id; masked while a secret is taken
    confidence: float
    used: bool  # believed: the dialogue was given it (else the free transcript)
    why: str  # agree, confident, unsure, disagree, global, other_choice, long, no_speech...
    free_text: str  # the free transcript; masked while a secret is taken
    ms: int  # the grammar's time beyond the free transcript


@dataclass(frozen=True, slots=True, kw_only=True)
class EarlyCommit(CallEvent):
    TYPE: ClassVar[str] = "early_commit"
    silence_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AsrEarlyDiscarded(CallEvent):
    TYPE: ClassVar[str] = "asr_early_discarded"
    why: str  # speech_resumed, new_pause, machine_busy, doubtful (short window), not_idle


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoverInput(CallEvent):
    TYPE: ClassVar[str] = "handover_input"
    mode: str | None = None
    text: str | None = None


# ---------------------------------------------------------------- emotion and language
@dataclass(frozen=True, slots=True, kw_only=True)
class Emotion(CallEvent):
    """One turn's estimate (`TurnEmotion.as_dict()`), then `prosody_ms` if the voice was heard."""
    TYPE: ClassVar[str] = "emotion"
    anger: float
    distress: float
    arousal: float
    label: str
    prosody_anger: float | None = None
    text_anger: float
    cues: list[str]
    dissatisfied: bool
    prosody_ms: float | None = omitted(None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Soothing(CallEvent):
    TYPE: ClassVar[str] = "soothing"
    anger: float
    distress: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EmotionEscalation(CallEvent):
    TYPE: ClassVar[str] = "emotion_escalation"
    angry_turns: int
    why: str | None = omitted(None)  # anger or dissatisfaction (rows before 2026-12 lack it)


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageDetected(CallEvent):
    TYPE: ClassVar[str] = "language_detected"
    language: str  # Whisper's code
    probability: float  # among the dialplan's languages
    profile: str  # the profile the call goes on with
    same_pass: bool | None = omitted(None)  # from recognition's own encoder pass (rows before
    # 2026-12-06 lack it: a separate detection pass)


@dataclass(frozen=True, slots=True, kw_only=True)
class DialectDetected(CallEvent):
    TYPE: ClassVar[str] = "dialect_detected"
    profile: str
