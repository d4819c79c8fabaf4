"""Escalation summary: what a human agent reads (and hears, as a whisper) before taking a call
the IVR hands over.

`summarise(call, history, plan)` is deterministic and extractive: it only reorganises what the
call store recorded (turns, events, earlier calls of the same number, see `summary_facts`)
and names things in the dialplan's own words (its `summary` section and intent labels, see
`summary_phrasebook`); nothing is invented and nothing is masked (redaction is a separate
feature). `render_text(summary, language)` writes the agent-screen paragraph in Mandarin or
English; `render_text(..., whisper=True)` the one-breath version spoken to the agent before
connecting (see `summary_text`).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any

from ivr.escalation import summary_facts as facts
from ivr.escalation.summary_facts import EarlierCalls, EmotionPoint, SlotValue, Step
from ivr.escalation.summary_phrasebook import GENERIC, Phrasebook, is_zh, phrasebook_for
from ivr.escalation.summary_text import escalation_text, next_action, render_text, render_whisper
from ivr.storage.transcript import with_played_prompts

if TYPE_CHECKING:
    from ivr.dialplan.models import Dialplan

__all__ = ["CallSummary", "EarlierCalls", "EmotionPoint", "SlotValue", "Step", "render_text",
           "render_whisper", "summarise"]


@dataclass
class CallSummary:
    call_id: str
    caller: str | None
    dialplan: str | None
    earlier_calls: EarlierCalls
    language: str
    profile: str | None
    dialect: str | None
    intent: str | None
    intent_label: str | None  # in the call's language
    intent_labels: dict[str, str]  # "zh" and "en" labels, for rendering in either language
    slots: list[SlotValue]
    identity_verified: bool | None  # `verified` variable of the dialplan; None: never asked
    steps: list[Step]
    path: list[str]
    answers: list[str]  # what the IVR already told the caller (not questions), shortened
    emotion: list[EmotionPoint]
    peak_anger: float
    peak_distress: float
    escalation_reason: str  # caller_request, repeated_failure, caller_upset, dissatisfaction,
    # crisis, dialplan, none
    escalation_detail: str | None  # the dialplan's own reason or the transfer node
    escalation_text: str  # plain words, in the call's language
    transfer_target: str | None
    failures: int  # no-match and no-input turns
    next_action: str  # in the call's language
    key_utterances: list[str] = field(default_factory=list)
    dissatisfied_turns: int = 0  # turns where the caller was dissatisfied (words or anger)
    completed: bool = False  # the IVR itself finished what the caller wanted
    # the dialplan's words, to render the summary in the other language too (not a fact:
    # left out of `as_dict`)
    phrasebook: Phrasebook = field(default=GENERIC, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The facts as plain data (JSON-serialisable), without the phrasebook."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)
                if f.name != "phrasebook"}

    @property
    def chinese(self) -> bool:
        return is_zh(self.language)


def _plain(value: Any) -> Any:
    """`dataclasses.asdict` of one field's value."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return copy.deepcopy(value)


def summarise(call: dict[str, Any], history: list[dict[str, Any]],
              plan: Dialplan | None) -> CallSummary:
    """Summary of a call row from `CallStore.get_call` (with turns and events); `history` are
    rows of `CallStore.list_calls(caller=...)` (this call among them is ignored). Without
    `plan`, the dialplan's words come from the shipped dialplan of the call's `dialplan`."""
    book = phrasebook_for(plan, call.get("dialplan"))
    crisis = book.crisis_intents
    turns = with_played_prompts(call)  # what the IVR said after each turn (issue 21)
    events = call.get("events") or []
    language, profile, dialect = facts.language_of(call, turns, events, plan)
    variables = facts.variables(events)

    slots = facts.slots_of(turns, plan)
    intent = facts.main_intent(turns)
    slots += facts.chosen_values(book.intent(intent), variables, plan)
    emotion = [facts.emotion_point(t) for t in turns if isinstance(t.get("emotion"), dict)]
    peak_anger = max([p.anger for p in emotion] + [float(call.get("peak_anger") or 0.0)])
    peak_distress = max((p.distress for p in emotion), default=0.0)
    failures = sum(1 for t in turns if t.get("outcome") in ("no_match", "no_input"))
    dissatisfied = sum(1 for t in turns if isinstance(t.get("emotion"), dict)
                       and t["emotion"].get("dissatisfied"))
    verified = variables.get("verified")
    identity = None if verified is None else verified is True or str(verified).lower() == "true"

    code, detail, target = facts.escalation(call, turns, events, crisis)
    if code == "crisis" and intent not in crisis:
        urgent = [t.get("intent") for t in turns if t.get("intent") in crisis]
        intent = urgent[-1] if urgent else intent
    answers = facts.answers_given(turns, plan)
    completed = facts.completed(book.intent(intent), slots, answers)
    apologise = facts.needs_apology(peak_anger, code)

    return CallSummary(
        call_id=str(call.get("id")), caller=call.get("caller"), dialplan=call.get("dialplan"),
        earlier_calls=facts.earlier_calls(call, history, plan), language=language,
        profile=profile, dialect=dialect, intent=intent,
        intent_label=book.intent_label(intent, language),
        intent_labels=book.intent_labels(intent),
        slots=slots, identity_verified=identity, steps=[facts.step(t) for t in turns],
        path=facts.path_of(turns, events), answers=answers, emotion=emotion,
        peak_anger=round(peak_anger, 3), peak_distress=round(peak_distress, 3),
        escalation_reason=code, escalation_detail=detail,
        escalation_text=escalation_text(code, detail, failures, peak_anger, language,
                                        dissatisfied, book),
        transfer_target=target, failures=failures,
        next_action=next_action(intent, slots, identity, language, apologise, completed, book),
        key_utterances=facts.key_utterances(turns, crisis), dissatisfied_turns=dissatisfied,
        completed=completed, phrasebook=book,
    )
