"""The call driver: the one interpreter of a dialplan's actions, whatever carries the call.

`CallDriver.run()` says the opening (the AI disclosure, then the dialplan's consent question),
starts the pure `DialogEngine`, performs each step's actions and feeds the caller's answers
back to `engine.step`, until the call ends. A phone call (`ivr.call.session.CallSession`),
`ivr simulate` and `ivr test` (`ivr.dialplan.conversation.Conversation`) all run this code;
they differ only in their `CallIO`: how a prompt is played (or collected), where caller input
comes from (RTP and Whisper, typed lines, scripted steps on a virtual clock), and what a
transfer does (a live agent, or a note in the test's result).

    engine.start -> [Say..., Listen]  --CallIO.say-->  prompts
                                      --TurnTaking.take(Listen, CallIO.inputs)--> answer
    engine.step(state, answer) -> [Say..., Webhook]  --CallIO.webhook--> WebhookResult
    engine.step(state, result) -> [Say..., Transfer | Hangup | Listen] ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ivr.call.inputs import InputSource
from ivr.call.stage_cpu import StageCpu
from ivr.call.turn_taking import Answer, TurnTaking
from ivr.dialplan.actions import (
    CALL_RESULTS,
    AgentLeft,
    BookCallback,
    CallerInput,
    DialogEvent,
    Hangup,
    Listen,
    MessageRecorded,
    RecordingConsent,
    RecordMessage,
    Say,
    SetLanguage,
    SetVariables,
    Transfer,
    TransferFailed,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.engine import DialogEngine, DialogState, Step
from ivr.privacy.disclosure import disclosure_languages, disclosure_lines


class CallIO(Protocol):
    """What a transport does for the driver (the phone, the terminal, a test script)."""

    inputs: InputSource

    @property
    def hung_up(self) -> bool: ...

    def event(self, type_: str, **data: Any) -> None: ...

    def facts(self) -> dict[str, Any]:
        """What the engine may not fetch itself: now, the caller's emotion, a detected
        profile."""
        ...

    async def say(self, say: Say, sensitive: bool = False) -> None:
        """Queue a prompt (it may still be playing when this returns)."""
        ...

    async def wait_playout(self) -> None:
        """Until every queued prompt has played (or the caller hung up)."""
        ...

    def listening(self, listen: Listen | None, step: Step | None) -> None:
        """The call now waits for an answer to `listen` (None: no longer)."""
        ...

    def turn(self, before: Step, answer: Answer, after: Step) -> None:
        """The caller's answer moved the dialogue from `before` to `after`."""
        ...

    def stepped(self, step: Step) -> None:
        """A step that was not the caller's doing (the start, a webhook's result)."""
        ...

    def set_language(self, action: SetLanguage) -> None: ...

    async def webhook(self, hook: Webhook) -> WebhookResult: ...

    async def transfer(self, action: Transfer,
                       step: Step) -> TransferFailed | AgentLeft | None:
        """Hand the call over (returns when the call is over or handed away); with
        `action.fallback`, `TransferFailed` when nobody could take it; with
        `action.after_agent`, `AgentLeft` when the agent hung up first."""
        ...

    async def book_callback(self, action: BookCallback) -> None: ...

    async def record_message(self, action: RecordMessage) -> MessageRecorded:
        """Beep, then the caller's message until '#', silence or `action.max_s`."""
        ...

    def hang_up(self, reason: str, step: Step | None) -> None: ...

    def consented(self, answer: bool | None) -> None:
        """The caller's answer to a consent question (None: none understood)."""
        ...


class CallDriver:
    """One call's dialogue over a `CallIO` (see the module docstring)."""

    def __init__(self, engine: DialogEngine, io: CallIO, turns: TurnTaking, *,
                 variables: Mapping[str, Any] | None = None, language: str | None = None,
                 disclosure: Mapping[str, str] | None = None,
                 disclosure_order: Sequence[str] = (), cpu: StageCpu | None = None) -> None:
        self.engine = engine
        self.cpu = cpu or StageCpu()  # CPU of the dialogue's steps (`ivr.call.stage_cpu`)
        self.plan = engine.plan
        self.io = io
        self.turns = turns
        self.variables = dict(variables or {})
        self.start_language = language
        self.disclosure = dict(disclosure or {})
        self.disclosure_order = tuple(disclosure_order)  # privacy.disclosure_languages
        self.step: Step | None = None  # the dialogue's current step
        self.language = self._first_language()

    def _first_language(self) -> str:
        if not self.start_language:
            return self.plan.default_language
        preview = DialogState(self.plan.start, self.plan.default_language)
        return self.engine.switch(preview, self.start_language)[0].language

    # ------------------------------------------------------------ the call
    async def run(self) -> None:
        if not await self.opening():
            return
        with self.cpu.measure("dialogue"):
            step = self.engine.start(self.variables, self.io.facts(), self.start_language)
        self.io.stepped(step)
        while True:
            self.step = step
            answer = await self.perform(step)
            if answer is None:
                return
            if isinstance(answer[0], CALL_RESULTS):  # an action's outcome, not the caller's
                with self.cpu.measure("dialogue"):
                    step = self.engine.step(step.state, answer[0], self.io.facts())
                self.io.stepped(step)
                continue
            facts = {**self.io.facts(), "meaning": await self.meaning(answer[0], step)}
            with self.cpu.measure("dialogue"):
                new = self.engine.step(step.state, answer[0], facts)
            self.io.turn(step, answer, new)
            step = new

    async def meaning(self, event: DialogEvent, step: Step) -> Any:
        """The vector of a spoken answer when the dialplan matches intents by meaning or the
        caller asks a knowledge question (in a worker thread: ~15 ms of one core); None
        otherwise, or when the encoder fails."""
        if not self.engine.wants_meaning(step.state) or not (
                isinstance(event, CallerInput) and event.kind == "speech" and event.text):
            return None
        try:
            return await asyncio.to_thread(self.cpu.timed, "meaning", self.engine.meaning,
                                           event.text, step.state)
        except Exception as e:  # noqa: BLE001 - the words still count; the call goes on
            self.io.event("error", where="semantic", error=repr(e)[:300])
            return None

    async def perform(self, step: Step) -> Answer | None:
        """Perform `step`'s actions; the caller's answer (or a webhook's result) that ends
        it, None when the call ends."""
        io = self.io
        sensitive = {a.node for a in step.actions if isinstance(a, Listen) and a.sensitive}
        for action in step.actions:
            if io.hung_up:
                return None
            if isinstance(action, Say):
                await io.say(action, sensitive=action.node in sensitive)
            elif isinstance(action, SetLanguage):
                self.language = action.language
                io.set_language(action)
            elif isinstance(action, SetVariables):
                io.event("variables", **action.values)
            elif isinstance(action, Webhook):
                return await io.webhook(action), {}
            elif isinstance(action, Listen):
                return await self.listen(action, step)
            elif isinstance(action, RecordingConsent):
                io.consented(action.given)
                if not action.given:
                    io.event("recording_declined", answer=action.answer, then=action.then)
            elif isinstance(action, BookCallback):
                await io.book_callback(action)
            elif isinstance(action, RecordMessage):
                await io.wait_playout()
                if io.hung_up:
                    return None
                return await io.record_message(action), {}
            elif isinstance(action, Transfer):
                await io.wait_playout()
                failed = None if io.hung_up else await io.transfer(action, step)
                return None if failed is None or io.hung_up else (failed, {})
            elif isinstance(action, Hangup):
                await io.wait_playout()
                if not io.hung_up:
                    io.event("hangup_by_ivr", reason=action.reason)
                    io.hang_up(action.reason, step)
                return None
        return None

    async def listen(self, listen: Listen, step: Step | None) -> Answer | None:
        """The caller's answer to `listen` (None: they hung up)."""
        self.io.event("listen", node=listen.node, language=listen.language,
                      **({"sensitive": True} if listen.sensitive else {}))
        self.io.listening(listen, step)
        try:
            return await self.turns.take(listen, self.io.inputs)
        finally:
            self.io.listening(None, None)

    # ------------------------------------------------------------ opening
    async def opening(self) -> bool:
        """The disclosure (the dialplan's consent question is its first node); False when the
        caller hung up. It is said in the caller's language when that is known (the call
        started in one), else in each of `disclosure_order` or the dialplan's languages,
        default first. It cannot be interrupted and is heard in full before the
        conversation starts; what the caller says or keys over it is kept: the answer to the
        first question asked (the prompts before that question are cut, `ivr.call.playout`)."""
        io = self.io
        languages = ([self.language] if self.start_language
                     else disclosure_languages(self.plan, self.disclosure_order))
        lines = disclosure_lines(self.disclosure, languages)
        for text, language in lines:
            await io.say(Say(text, language, False, "disclosure"))
        if lines:
            await io.wait_playout()
        return not io.hung_up
