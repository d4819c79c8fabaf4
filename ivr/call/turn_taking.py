"""Turn taking: when the caller's input is a whole answer, and what it is.

One `TurnTaking` per call, the same for a phone call, `ivr simulate` and `ivr test` (only the
`InputSource` differs). It decides:

- which keys count: a '#' right after keys that completed a digit slot by its length ends
  nothing and answers nothing (callers told to "press the hash key" press it anyway); this is
  decided when the key arrives (`key`), before it may interrupt the read-back;
- when keys are a whole answer (`dtmf_complete`: a menu choice, a slot's length or '#'), and
  that keys then silence for `interdigit_timeout_s` are judged as they are;
- when silence is a no-input: the timer runs only while nothing plays, the caller is not
  speaking and no utterance is being recognised (a slow recognition is no silence);
- what recognised speech is (`judge_speech`): noise is ignored and listening goes on, low
  confidence is not understood.

Waiting costs nothing while the call is busy: `source.next(None)` sets no timer and returns
when an input arrives or `quiet()` may have changed (the source is told: `InputQueue.settled`);
once a timer runs, `next` waits exactly until its deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr.call.inputs import (
    CallerHungUp,
    InputSource,
    KeyPressed,
    SpeechBegan,
    SpeechHeard,
)
from ivr.dialplan.actions import CallerInput, DialogEvent, Listen, NoInput, Unintelligible
from ivr.privacy import SECRET_MASK
from ivr.understanding.input_rules import (
    dtmf_complete,
    expects_terminator,
    hallucination,
    judge_speech,
)

EventSink = Callable[..., None]  # event(type, **data)
Answer = tuple[DialogEvent, dict[str, Any]]  # the event for the engine, what the turn stores


@dataclass(frozen=True, slots=True)
class TurnRules:
    """The service settings turn taking follows (`dialog.*`, `asr.*`)."""

    no_input_timeout_s: float = 6.0
    interdigit_timeout_s: float = 3.0
    min_confidence: float = 0.25
    max_no_speech_prob: float = 0.7

    @classmethod
    def from_settings(cls, settings: Any) -> TurnRules:
        d, a = settings.dialog, settings.asr
        return cls(d.no_input_timeout_s, d.interdigit_timeout_s, a.min_confidence,
                   a.max_no_speech_prob)


class TurnTaking:
    """The caller's answers to the call's questions (see the module docstring)."""

    def __init__(self, rules: TurnRules, event: EventSink,
                 ignored: Callable[[], None] | None = None) -> None:
        self.rules = rules
        self.event = event
        self.ignored = ignored  # speech judged noise: the call may withdraw its barge-in
        self.listen: Listen | None = None  # the question being answered
        self.sensitive = False  # its answer is a secret: masked in events
        self.waiting = False  # the no-input timer runs, no keys in hand: the caller's turn
        self._terminator_until: float | None = None  # a '#' before then ends nothing
        self._keyed: tuple[Listen | None, str] = (None, "")  # keys so far of a digit slot

    # ------------------------------------------------------------ arrival of keys
    def key(self, digit: str, now: float) -> bool:
        """A key arrives: False when it is a '#' ending a digit answer already complete
        (dropped: no barge-in on the read-back, no input). The keys of the slot being
        answered are followed here as they arrive, before the dialogue consumes them."""
        until, self._terminator_until = self._terminator_until, None
        if digit == "#" and until is not None and now < until:
            self.event("dtmf_ignored", digit="#", why="ends_a_complete_answer")
            return False
        listen = self.listen
        if listen is None or not listen.digits_slot:
            return True
        if self._keyed[0] is not listen:
            self._keyed = (listen, "")
        keyed = self._keyed[1] + digit
        if expects_terminator(listen, keyed):
            self._terminator_until = now + self.rules.interdigit_timeout_s
        self._keyed = (listen, "" if dtmf_complete(listen, keyed) else keyed)
        return True

    # ------------------------------------------------------------ one answer
    async def take(self, listen: Listen, source: InputSource) -> Answer | None:
        """The caller's answer to `listen`; None when they hung up."""
        self.listen, self.sensitive = listen, listen.sensitive
        try:
            return await self._take(listen, source)
        finally:
            self.listen, self.sensitive = None, False

    async def _take(self, listen: Listen, source: InputSource) -> Answer | None:
        timeout = listen.timeout_s or self.rules.no_input_timeout_s
        digits = ""
        deadline: float | None = None
        while True:
            if deadline is None and source.quiet():
                deadline = source.now() + (self.rules.interdigit_timeout_s if digits
                                           else timeout)
            wait = None if deadline is None else max(0.0, deadline - source.now())
            self.waiting = deadline is not None and not digits
            try:
                item = await source.next(wait)
            finally:
                self.waiting = False
            if item is None:
                if deadline is None or source.now() < deadline:
                    continue
                if digits:  # keys then silence: the engine judges them (too few = no match)
                    return CallerInput("dtmf", digits), {"input_mode": "dtmf", "dtmf": digits}
                self.event("no_input", node=listen.node, timeout_s=timeout)
                return NoInput(), {"input_mode": "none"}
            if isinstance(item, CallerHungUp):
                return None
            if isinstance(item, SpeechBegan):
                deadline = None
                continue
            if isinstance(item, KeyPressed):
                key = item.digit
                if key == "#" and not digits and not listen.digits_slot and (
                        "#" not in listen.dtmf_choices):
                    continue  # a stray '#' (e.g. ending digits already complete) is ignored
                digits += key
                if dtmf_complete(listen, digits):
                    keyed = digits[:-1] if digits.endswith("#") and len(digits) > 1 else digits
                    if keyed != "#" or not listen.digits_slot:
                        return CallerInput("dtmf", keyed), {"input_mode": "dtmf", "dtmf": keyed}
                    digits = ""  # a lone '#' in a slot: ignore it
                deadline = source.now() + self.rules.interdigit_timeout_s
                continue
            answer = self.speech(item)
            if answer is None:
                deadline = None  # noise: keep listening
                continue
            return answer

    def speech(self, heard: SpeechHeard) -> Answer | None:
        """Recognised speech as the engine's event; None for noise (ignored)."""
        t = heard.transcript
        info = {"input_mode": "speech", "caller_text": t.text,
                "asr_confidence": round(t.confidence, 3),
                "no_speech_prob": round(t.no_speech_prob, 3), **heard.info}
        verdict = judge_speech(t, self.rules.min_confidence, self.rules.max_no_speech_prob)
        if verdict == "noise":
            self.event("speech_ignored", text=SECRET_MASK if self.sensitive else t.text,
                       why=hallucination(t), no_speech_prob=round(t.no_speech_prob, 2))
            if self.ignored is not None:
                self.ignored()
            return None
        if verdict == "unintelligible":
            return Unintelligible(t.text, t.confidence), info
        return CallerInput("speech", t.text, t.confidence), info
