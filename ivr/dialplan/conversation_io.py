"""The driver's `CallIO` for a `Conversation` (`ivr test`, `ivr simulate`).

Prompts are collected into the turn's `TurnResult` instead of played; caller input comes from
`ScriptedInputs` on a virtual clock; webhooks are real HTTP requests (rewritten to a test's
fake server); a transfer reaches an agent unless the test says none is available; a booked
call back and a recorded message are noted in the result.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ivr.call.inputs import SpeechHeard
from ivr.dialplan.actions import (
    BookCallback,
    CallerInput,
    DialogEvent,
    Listen,
    MessageRecorded,
    RecordMessage,
    Say,
    SetLanguage,
    Transfer,
    TransferFailed,
    Unintelligible,
    Webhook,
    WebhookResult,
)
from ivr.dialplan.state import Step
from ivr.dialplan.turn_result import (
    SaidPrompt,
    TransferInfo,
    TurnResult,
    WebhookCall,
    finish_partial,
    label,
    visit,
)

if TYPE_CHECKING:
    from ivr.dialplan.conversation import Conversation


class ConversationIO:
    """The driver's `CallIO` for a `Conversation`: prompts are collected into the turn's
    result instead of played, input comes from `ScriptedInputs`, webhooks are real HTTP."""

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.inputs = conv.inputs

    @property
    def _results(self) -> list[TurnResult]:
        return self.conv._results

    def facts(self) -> dict[str, Any]:
        return self.conv.facts()

    @property
    def hung_up(self) -> bool:
        return self.conv.hangup is not None

    def event(self, type_: str, **data: Any) -> None:
        self.conv.events.append((type_, data))

    async def say(self, say: Say, sensitive: bool = False) -> None:
        r = self._results[-1]
        r.prompts.append(SaidPrompt(say.text, say.language, say.node, say.private))
        if say.node != "disclosure":  # the service's opening line, not a dialplan node
            visit(r, say.node)

    async def wait_playout(self) -> None:
        return None

    def listening(self, listen: Listen | None, step: Step | None) -> None:
        self.conv.listening = listen
        if listen is not None:
            visit(self._results[-1], listen.node)
        else:
            self.inputs.answered()

    def stepped(self, step: Step) -> None:
        self.conv.state = step.state

    def turn(self, before: Step, answer: tuple[DialogEvent, dict[str, Any]], new: Step) -> None:
        event = answer[0]
        said = label(event)
        conv = self.conv
        if conv._pending_label:
            conv._pending_label = False
            r = self._results[-1]
            r.input, r.node_before, r.understanding = said, before.state.node, new.understanding
        else:
            finish_partial(self._results[-1], before)
            r = TurnResult(said, before.state.node, new.state.node,
                           understanding=new.understanding)
            r.before = dict(before.state.variables)
            self._results.append(r)
        if isinstance(event, (CallerInput, Unintelligible)) and getattr(
                event, "kind", "speech") == "speech":
            r.intent_scores = conv._scores(event.text, before.state)
        conv.state = new.state

    def set_language(self, action: SetLanguage) -> None:
        return None  # the state carries the language

    async def webhook(self, hook: Webhook) -> WebhookResult:
        rewrite = self.conv.url_rewrite
        sent = replace(hook, url=rewrite(hook.url)) if rewrite else hook
        started = time.monotonic()
        outcome = await self._request(sent)
        call = WebhookCall(hook.node, hook.method, hook.url, sent.url, dict(hook.headers),
                           hook.body, outcome, round((time.monotonic() - started) * 1000))
        self._results[-1].webhooks.append(call)
        visit(self._results[-1], hook.node)
        self.conv.webhooks.append(call)
        return outcome

    async def _request(self, hook: Webhook) -> WebhookResult:
        import aiohttp

        from ivr.call.webhooks import perform

        if self.conv._http is None:
            self.conv._http = aiohttp.ClientSession()
        return await perform(hook, self.conv._http)

    async def transfer(self, action: Transfer, step: Step) -> TransferFailed | None:
        """Agents answer unless the test says none is available (`agents: unavailable`);
        then a transfer with a fallback node goes back to the dialplan."""
        conv = self.conv
        if action.fallback and not conv.agents_available:
            conv.events.append(("queue_timeout", {"target": action.target}))
            return TransferFailed("no_agent")
        conv.transfer = self._results[-1].transfer = TransferInfo(action.target, action.reason)
        visit(self._results[-1], step.state.node)
        return None

    def hang_up(self, reason: str, step: Step | None) -> None:
        self.conv.hangup = self._results[-1].hangup = reason
        visit(self._results[-1], step.state.node if step else "consent")

    def consented(self, answer: bool | None) -> None:
        self.conv.recording = self._results[-1].recording = bool(answer)
        if answer:
            self.event("recording_consented")

    async def book_callback(self, action: BookCallback) -> None:
        booked = {"number": action.number, "queue": action.queue}
        self.conv.callbacks.append(booked)
        self._results[-1].callback = booked
        visit(self._results[-1], action.node)

    async def record_message(self, action: RecordMessage) -> MessageRecorded:
        """The caller's next scripted input is the message: speech is recorded, keys or
        silence leave it empty."""
        visit(self._results[-1], action.node)
        item = await self.inputs.next(action.max_s)
        self.inputs.answered()
        if isinstance(item, SpeechHeard) and item.transcript.text.strip():
            t = item.transcript
            recorded = MessageRecorded(round(min(t.audio_duration, action.max_s), 1), t.text)
        else:
            recorded = MessageRecorded(0.0, "")
        message = {"seconds": recorded.seconds, "text": recorded.text}
        self.conv.voicemails.append(message)
        self._results[-1].voicemail = message
        return recorded
